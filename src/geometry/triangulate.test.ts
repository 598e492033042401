import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rotationFromAxisAngle } from './mat3.ts';
import { createRng, type Rng } from './random.ts';
import { cameraCenter, transformByPose, type RigidPose } from './rigid.ts';
import { depthInCamera, triangulateMultiView, triangulateTwoView, triangulationAngleDeg } from './triangulate.ts';

function randomPose(rng: Rng, translationScale: number, offset: readonly number[] = [0, 0, 0]): RigidPose {
  const w = [0.3 * rng.nextGaussian(), 0.3 * rng.nextGaussian(), 0.3 * rng.nextGaussian()];
  return {
    rotation: rotationFromAxisAngle(w),
    translation: Float64Array.of(
      offset[0]! + translationScale * rng.nextGaussian(),
      offset[1]! + translationScale * rng.nextGaussian(),
      offset[2]! + translationScale * rng.nextGaussian(),
    ),
  };
}

/** Normalised projection x = X_cam / Z_cam. */
function project(pose: RigidPose, point: ArrayLike<number>): [number, number] {
  const p = transformByPose(pose, point);
  return [p[0]! / p[2]!, p[1]! / p[2]!];
}

/** A world point in front of camera 0, at depth between 2 and 10 (in units of the baseline scale). */
function pointInFront(rng: Rng, pose: RigidPose, scale: number): Float64Array {
  const depth = scale * (2 + 8 * rng.next());
  const camera = [depth * (rng.next() - 0.5), depth * (rng.next() - 0.5), depth];
  // x_world = R^T (x_cam - t)
  const R = pose.rotation, t = pose.translation;
  const d = [camera[0]! - t[0]!, camera[1]! - t[1]!, camera[2]! - t[2]!];
  return Float64Array.of(
    R[0]! * d[0]! + R[3]! * d[1]! + R[6]! * d[2]!,
    R[1]! * d[0]! + R[4]! * d[1]! + R[7]! * d[2]!,
    R[2]! * d[0]! + R[5]! * d[1]! + R[8]! * d[2]!,
  );
}

const relativeError = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!) / Math.hypot(b[0]!, b[1]!, b[2]!);

test('triangulateTwoView recovers exact points, also with a world origin far from the cameras', () => {
  const rng = createRng(1);
  for (const offset of [[0, 0, 0], [1e4, -3e4, 2e4]]) {
    for (let trial = 0; trial < 200; trial++) {
      const pose0 = randomPose(rng, 1, offset);
      const pose1 = randomPose(rng, 1, offset);
      const point = pointInFront(rng, pose0, Math.hypot(...Array.from(cameraCenter(pose0)).map((c, i) => c - cameraCenter(pose1)[i]!)));
      if (depthInCamera(pose1, point) <= 0) continue;
      const estimate = triangulateTwoView(pose0, pose1, project(pose0, point), project(pose1, point));
      assert.ok(estimate !== null);
      assert.ok(relativeError(estimate, point) < 1e-9, `trial ${trial}: ${estimate} vs ${point}`);
    }
  }
});

test('triangulateMultiView: exact on exact data, and more views average the noise down', () => {
  const rng = createRng(2);
  const errors = new Map<number, number[]>([[2, []], [8, []]]);
  for (let trial = 0; trial < 300; trial++) {
    const poses = Array.from({ length: 8 }, () => randomPose(rng, 0.5, [0, 0, 0]));
    const point = Float64Array.of(rng.nextGaussian(), rng.nextGaussian(), 8 + rng.next());
    // Keep the scene in front of every camera.
    if (poses.some((p) => depthInCamera(p, point) < 1)) continue;
    const exact = poses.flatMap((p) => project(p, point));
    const estimate = triangulateMultiView(poses, exact);
    assert.ok(estimate !== null && relativeError(estimate, point) < 1e-9);
    const noisy = exact.map((v) => v + 1e-3 * rng.nextGaussian());
    for (const views of errors.keys()) {
      const e = triangulateMultiView(poses.slice(0, views), noisy.slice(0, 2 * views));
      assert.ok(e !== null);
      errors.get(views)!.push(relativeError(e, point));
    }
  }
  const median = (v: number[]): number => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const two = median(errors.get(2)!), eight = median(errors.get(8)!);
  assert.ok(errors.get(2)!.length > 100);
  // 1e-3 normalised noise at depth ~8 with baselines ~0.7: errors are a few percent at most.
  assert.ok(two < 0.05, `two-view median error ${two}`);
  assert.ok(eight < two / 1.5, `eight views ${eight} vs two ${two}`);
});

test('triangulation returns null for coincident centres and parallel rays, and a point behind a camera has negative depth', () => {
  const pose0: RigidPose = { rotation: rotationFromAxisAngle([0, 0, 0]), translation: Float64Array.of(0, 0, 0) };
  const rotated: RigidPose = { rotation: rotationFromAxisAngle([0, 0.3, 0]), translation: Float64Array.of(0, 0, 0) };
  const point = Float64Array.of(0.5, 0.2, 4);
  assert.equal(triangulateTwoView(pose0, rotated, project(pose0, point), project(rotated, point)), null);
  // Pure sideways translation with identical observations: the rays are parallel, the point is at infinity.
  const shifted: RigidPose = { rotation: rotationFromAxisAngle([0, 0, 0]), translation: Float64Array.of(-1, 0, 0) };
  assert.equal(triangulateTwoView(pose0, shifted, [0.1, 0.2], [0.1, 0.2]), null);
  assert.equal(triangulateMultiView([pose0], [0.1, 0.2]), null);
  assert.throws(() => triangulateMultiView([pose0, shifted], [0.1, 0.2]), RangeError);
  // A point behind both cameras projects to the same normalised coordinates as its mirror: DLT finds it, and
  // the cheirality helper tells it apart.
  const behind = Float64Array.of(0.3, -0.2, -5);
  const estimate = triangulateTwoView(pose0, shifted, project(pose0, behind), project(shifted, behind));
  assert.ok(estimate !== null && relativeError(estimate, behind) < 1e-12);
  assert.ok(depthInCamera(pose0, estimate) < 0 && depthInCamera(shifted, estimate) < 0);
  assert.equal(depthInCamera(shifted, point), 4);
});

test('triangulationAngleDeg: closed-form angles', () => {
  assert.ok(Math.abs(triangulationAngleDeg([-1, 0, 0], [1, 0, 0], [0, 0, 1]) - 90) < 1e-12);
  assert.ok(Math.abs(triangulationAngleDeg([0, 0, 0], [1, 0, 0], [0, 0, Math.sqrt(3)]) - 30) < 1e-12);
  // Small angles stay accurate: baseline 1e-6 at distance 1 is 1e-6 rad.
  const small = triangulationAngleDeg([0, 0, 0], [1e-6, 0, 0], [0, 0, 1]);
  assert.ok(Math.abs(small - (Math.atan(1e-6) * 180) / Math.PI) < 1e-15);
  assert.equal(triangulationAngleDeg([0, 0, 0], [1, 0, 0], [0, 0, 0]), 0);
});
