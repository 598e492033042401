import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Intrinsics } from '../core/camera.ts';
import { fundamentalFromCameras, matchesOnEpipolarLines } from './epipolar.ts';
import { normalize3, rotationFromAxisAngle } from './mat3.ts';
import { createRng } from './random.ts';
import type { RigidPose } from './rigid.ts';

const K0: Intrinsics = { fxPx: 1200, fyPx: 1180, cxPx: 640.5, cyPx: 355, width: 1280, height: 720 };
const K1: Intrinsics = { fxPx: 900, fyPx: 910, cxPx: 500, cyPx: 380, width: 1000, height: 760 };
const POSE0: RigidPose = { rotation: rotationFromAxisAngle([0.05, -0.2, 0.02]), translation: Float64Array.of(0.3, -0.1, 0.5) };
const POSE1: RigidPose = { rotation: rotationFromAxisAngle([-0.1, 0.25, 0.05]), translation: Float64Array.of(-0.8, 0.2, 0.4) };

function project(pose: RigidPose, k: Intrinsics, p: readonly number[]): [number, number] {
  const r = pose.rotation, t = pose.translation;
  const x = r[0]! * p[0]! + r[1]! * p[1]! + r[2]! * p[2]! + t[0]!;
  const y = r[3]! * p[0]! + r[4]! * p[1]! + r[5]! * p[2]! + t[1]!;
  const z = r[6]! * p[0]! + r[7]! * p[1]! + r[8]! * p[2]! + t[2]!;
  return [k.fxPx * (x / z) + k.cxPx, k.fyPx * (y / z) + k.cyPx];
}

/** Projections of random points 3-8 units in front of both cameras. */
function scene(count: number): { kp0: Float64Array; kp1: Float64Array } {
  const rng = createRng(7);
  const kp0 = new Float64Array(2 * count), kp1 = new Float64Array(2 * count);
  for (let i = 0; i < count; i++) {
    const p = [rng.nextGaussian() * 1.5, rng.nextGaussian(), 5 + rng.nextGaussian()];
    [kp0[2 * i], kp0[2 * i + 1]] = project(POSE0, K0, p);
    [kp1[2 * i], kp1[2 * i + 1]] = project(POSE1, K1, p);
  }
  return { kp0, kp1 };
}

test('fundamentalFromCameras: exact projections of any point satisfy x1^T F x0 = 0', () => {
  const { kp0, kp1 } = scene(50);
  const f = fundamentalFromCameras(POSE0, POSE1, K0, K1);
  let scale = 0;
  for (const v of f) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < 50; i++) {
    const x0 = [kp0[2 * i]!, kp0[2 * i + 1]!, 1], x1 = [kp1[2 * i]!, kp1[2 * i + 1]!, 1];
    let residual = 0;
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) residual += x1[r]! * f[3 * r + c]! * x0[c]!;
    // Pixel coordinates are ~1e3, so terms are ~1e6 * |F|: the residual is zero to rounding.
    assert.ok(Math.abs(residual) < 1e-9 * scale * 1e6, `point ${i}: residual ${residual}`);
  }
});

test('matchesOnEpipolarLines: keeps true matches, drops ones moved off their epipolar line by more than the limit', () => {
  const { kp0, kp1 } = scene(40);
  const f = fundamentalFromCameras(POSE0, POSE1, K0, K1);
  const moved = Float64Array.from(kp1);
  const expected: number[] = [];
  for (let i = 0; i < 40; i++) {
    // Every other match: its view-1 pixel moves 6 px across its epipolar line (l = F x0 gives the normal).
    if (i % 2 === 1) {
      const l = [0, 1, 2].map((r) => f[3 * r]! * kp0[2 * i]! + f[3 * r + 1]! * kp0[2 * i + 1]! + f[3 * r + 2]!);
      const n = normalize3([l[0]!, l[1]!, 0]);
      moved[2 * i] = moved[2 * i]! + 6 * n[0]!; moved[2 * i + 1] = moved[2 * i + 1]! + 6 * n[1]!;
    } else {
      expected.push(i);
    }
  }
  // Match m pairs keypoint m with keypoint m.
  const matches: number[] = [];
  for (let i = 0; i < 40; i++) matches.push(i, i);
  assert.deepEqual(matchesOnEpipolarLines(kp0, moved, matches, f, 2), expected);
  // The Sampson distance of a 6 px move across the line in view 1 only is below 6 px: a 6 px limit keeps them all.
  assert.equal(matchesOnEpipolarLines(kp0, moved, matches, f, 6).length, 40);
  // Moved along the line instead, a match still passes: only the perpendicular distance counts.
  const along = Float64Array.from(kp1);
  const l = [0, 1, 2].map((r) => f[3 * r]! * kp0[0]! + f[3 * r + 1]! * kp0[1]! + f[3 * r + 2]!);
  const d = normalize3([-l[1]!, l[0]!, 0]);
  along[0] = along[0]! + 20 * d[0]!; along[1] = along[1]! + 20 * d[1]!;
  assert.deepEqual(matchesOnEpipolarLines(kp0, along, [0, 0], f, 0.01), [0]);
});
