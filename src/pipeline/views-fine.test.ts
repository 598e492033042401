import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Intrinsics } from '../core/camera.ts';
import { mul3, rotationFromAxisAngle } from '../geometry/mat3.ts';
import type { RigidPose } from '../geometry/rigid.ts';
import type { Reconstruction, SfmPoint } from '../sfm/types.ts';
import { covisiblePairs, maxRelativeRotationChangeDeg } from './views-fine.ts';

const K: Intrinsics = { fxPx: 500, fyPx: 500, cxPx: 320, cyPx: 240, width: 640, height: 480 };
const SIZE = { width: 640, height: 480 };

/** Camera at x = cx looking down +z (cameraFromWorld: translation -cx). */
function cameraAt(cx: number): RigidPose {
  return { rotation: rotationFromAxisAngle([0, 0, 0]), translation: Float64Array.of(-cx, 0, 0) };
}

function point(x: number, observers: number[]): SfmPoint {
  return {
    xyz: Float64Array.of(x, 0, 10), color: [0, 0, 0], meanReprojectionErrorPx: 0,
    track: Uint32Array.from(observers.flatMap((v) => [v, 0])),
  };
}

test('covisiblePairs: a point observed in one view counts for every other view whose frame it projects into', () => {
  // Cameras at x = 0, 4, 8 and 40 looking down +z: a point (X, 0, 10) lands at u = 320 + 50 (X - cx), inside
  // a 640 px frame for |X - cx| < 6.4.
  const reconstruction: Reconstruction = {
    cameraFromWorld: [cameraAt(0), cameraAt(4), cameraAt(8), cameraAt(40), null],
    intrinsics: [K, K, K, K, K],
    points: [
      // Observed in view 0 only, inside views 0, 1, 2: counts for (0,1) and (0,2), though no track links them.
      ...Array.from({ length: 5 }, () => point(3, [0])),
      // Observed in views 1 and 2, inside view 0 too (u = 620): (0,1), (0,2) and (1,2), each pair once per point.
      ...Array.from({ length: 5 }, () => point(6, [1, 2])),
      // Only camera 3 sees it: no pair.
      point(40, [3]),
    ],
  };
  const sizes = [SIZE, SIZE, SIZE, SIZE, SIZE];
  assert.deepEqual(covisiblePairs(reconstruction, sizes, 5), [[0, 1], [0, 2], [1, 2]]);
  assert.deepEqual(covisiblePairs(reconstruction, sizes, 10), [[0, 1], [0, 2]]);
  // A 600 px wide view 0 no longer contains x = 6 (u = 620): (0,1) and (0,2) keep only the 5 points at x = 3.
  assert.deepEqual(covisiblePairs(reconstruction, [{ width: 600, height: 480 }, SIZE, SIZE, SIZE, SIZE], 10), []);
  assert.deepEqual(covisiblePairs(reconstruction, [{ width: 600, height: 480 }, SIZE, SIZE, SIZE, SIZE], 5), [[0, 1], [0, 2], [1, 2]]);
  // One partner per view: view 0 keeps (0,1) (10 points, the tie with (0,2) goes to the lower index), view 1
  // keeps (0,1), view 2 keeps (0,2) (10 against 5 for (1,2)); (1,2) is nobody's first choice.
  assert.deepEqual(covisiblePairs(reconstruction, sizes, 5, 1), [[0, 1], [0, 2]]);
  assert.deepEqual(covisiblePairs(reconstruction, sizes, 5, 2), [[0, 1], [0, 2], [1, 2]]);
});

test('maxRelativeRotationChangeDeg: the largest change of a relative rotation, blind to a common rotation of the world', () => {
  const a: (RigidPose | null)[] = [
    { rotation: rotationFromAxisAngle([0, 0, 0]), translation: new Float64Array(3) },
    { rotation: rotationFromAxisAngle([0, 0.3, 0]), translation: new Float64Array(3) },
    { rotation: rotationFromAxisAngle([0.2, 0, 0]), translation: new Float64Array(3) },
  ];
  // The same cameras in a world rotated by 30 degrees: every relative rotation is unchanged.
  const world = rotationFromAxisAngle([0.1, 0.5, -0.2]);
  const rotated = a.map((p) => ({ rotation: mul3(p!.rotation, world), translation: p!.translation }));
  assert.ok(maxRelativeRotationChangeDeg(a, rotated) < 1e-9);
  // Camera 2 turned by 4 degrees: pairs (0,2) and (1,2) change by 4.
  const turned = [...rotated];
  turned[2] = { rotation: mul3(rotationFromAxisAngle([0, 0, (4 * Math.PI) / 180]), rotated[2]!.rotation), translation: new Float64Array(3) };
  assert.ok(Math.abs(maxRelativeRotationChangeDeg(a, turned) - 4) < 1e-9);
  // Views missing from either side are skipped.
  assert.ok(maxRelativeRotationChangeDeg(a, [turned[0]!, turned[1]!, null]) < 1e-9);
});

