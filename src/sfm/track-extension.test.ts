import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Intrinsics } from '../core/camera.ts';
import { rotationFromAxisAngle } from '../geometry/mat3.ts';
import type { RigidPose } from '../geometry/rigid.ts';
import { DEFAULT_TRACK_EXTENSION, proposeTrackExtensions } from './track-extension.ts';
import type { Reconstruction, SfmPoint } from './types.ts';

const K: Intrinsics = { fxPx: 500, fyPx: 500, cxPx: 320, cyPx: 240, width: 640, height: 480 };
const SIZE = { width: 640, height: 480 };
/** Two observations are enough here: the tests' points are exact. */
const OPTIONS = { ...DEFAULT_TRACK_EXTENSION, minObservations: 2 };

/** Camera centred at (cx, 0, 0), turned by `yaw` radians about y (cameraFromWorld = R (x - c)). */
function camera(cx: number, yaw = 0): RigidPose {
  const rotation = rotationFromAxisAngle([0, yaw, 0]);
  return { rotation, translation: Float64Array.of(-(rotation[0]! * cx), -(rotation[3]! * cx), -(rotation[6]! * cx)) };
}

function point(xyz: [number, number, number], observers: number[], keypoint = 7): SfmPoint {
  return {
    xyz: Float64Array.from(xyz), color: [0, 0, 0], meanReprojectionErrorPx: 0,
    track: Uint32Array.from(observers.flatMap((v, i) => [v, keypoint + i])),
  };
}

test('proposeTrackExtensions: a point lacking a view it projects into is proposed there, at its exact projection', () => {
  const reconstruction: Reconstruction = {
    cameraFromWorld: [camera(0), camera(1), camera(2), null],
    intrinsics: [K, K, K, K],
    points: [point([1.2, -0.4, 10], [1, 2], 30)],
  };
  const groups = proposeTrackExtensions(reconstruction, [SIZE, SIZE, SIZE, SIZE], OPTIONS);
  assert.deepEqual(proposeTrackExtensions(reconstruction, [SIZE, SIZE, SIZE, SIZE]), [], 'by default a point needs three observations');
  assert.equal(groups.length, 1, 'only view 0 lacks the point; view 3 has no pose');
  const [g] = groups;
  assert.equal(g!.referenceView, 1, 'the reference is the lowest-index observing view');
  assert.equal(g!.view, 0);
  assert.deepEqual([...g!.referenceKeypoints], [30]);
  assert.deepEqual([...g!.points], [0]);
  // u = cx + f X / Z, v = cy + f Y / Z for the camera at the origin.
  assert.ok(Math.abs(g!.predicted[0]! - (320 + (500 * 1.2) / 10)) < 1e-9);
  assert.ok(Math.abs(g!.predicted[1]! - (240 - (500 * 0.4) / 10)) < 1e-9);
});

test('proposeTrackExtensions: no proposal behind a camera, near the border, through a wide angle, or from a one-view point', () => {
  const reconstruction: Reconstruction = {
    // View 2 is turned 180 degrees (every point is behind it); view 3 sits at x = 12, turned 69 degrees towards
    // the points, so its rays meet view 0's and view 1's at 45-52 degrees.
    cameraFromWorld: [camera(0), camera(1), camera(0, Math.PI), camera(12, 1.2)],
    intrinsics: [K, K, K, K],
    points: [
      point([0, 0, 10], [1]), // one observation: not reliable enough
      point([6.2, 0, 10], [1, 3]), // u = 630 in view 0: inside the frame but within the 12 px margin
      point([0.5, 0, 10], [0, 1]), // view 3 sees it, 52 degrees from the reference view 0
    ],
  };
  const sizes = [SIZE, SIZE, SIZE, SIZE];
  const summary = (groups: ReturnType<typeof proposeTrackExtensions>) => groups.map((g) => [g.referenceView, g.view, [...g.points]]);
  assert.deepEqual(summary(proposeTrackExtensions(reconstruction, sizes, OPTIONS)), []);
  assert.deepEqual(summary(proposeTrackExtensions(reconstruction, sizes, { ...OPTIONS, maxViewingAngleDeg: 60 })), [[0, 3, [2]]]);
  // With one observation enough, the first point goes to view 0 (6 degrees from view 1) and view 3 (44.5 degrees).
  assert.deepEqual(summary(proposeTrackExtensions(reconstruction, sizes, { ...OPTIONS, minObservations: 1 })), [[1, 0, [0]], [1, 3, [0]]]);
});

test('proposeTrackExtensions: over the per-view cap, the points seen by the most views are proposed, in point order', () => {
  const reconstruction: Reconstruction = {
    cameraFromWorld: [camera(0), camera(1), camera(2), camera(3), camera(4)],
    intrinsics: [K, K, K, K, K],
    points: [
      point([0.1, 0, 10], [1, 2]),
      point([0.2, 0, 10], [1, 2, 3, 4]),
      point([0.3, 0, 10], [1, 2, 3]),
      point([0.4, 0, 10], [1, 2, 3, 4]),
    ],
  };
  const sizes = Array.from({ length: 5 }, () => SIZE);
  const intoView0 = (maxProposalsPerView: number) => proposeTrackExtensions(reconstruction, sizes, { ...OPTIONS, maxProposalsPerView })
    .filter((g) => g.view === 0).flatMap((g) => [...g.points]);
  assert.deepEqual(intoView0(10), [0, 1, 2, 3]);
  assert.deepEqual(intoView0(3), [1, 2, 3], 'the two-view point goes first');
  assert.deepEqual(intoView0(2), [1, 3]);
});
