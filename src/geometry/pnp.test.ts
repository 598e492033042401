import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Intrinsics } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { DEBIAN_PYTHON } from '../../test/helpers/paths.ts';
import { createSyntheticScene } from '../../test/helpers/synthetic-scene.ts';
import { axisAngleFromRotation, mul3, rotationAngleDeg, rotationFromAxisAngle, transpose3 } from './mat3.ts';
import { estimateAbsolutePose, refineAbsolutePose, solveP3P, squaredReprojectionErrorPx } from './pnp.ts';
import { createRng, type Rng } from './random.ts';
import type { RigidPose } from './rigid.ts';

function poseDistance(a: RigidPose, b: RigidPose): number {
  let d = 0;
  for (let i = 0; i < 9; i++) d += (a.rotation[i]! - b.rotation[i]!) ** 2;
  for (let i = 0; i < 3; i++) d += (a.translation[i]! - b.translation[i]!) ** 2;
  return Math.sqrt(d);
}

/** Three camera-frame points in front of a random camera, as world points and unit bearings. */
function randomTriplet(rng: Rng): { truth: RigidPose; world: Float64Array; bearings: Float64Array } {
  const rotation = rotationFromAxisAngle([rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()]);
  const translation = Float64Array.of(rng.nextGaussian(), rng.nextGaussian(), 4 + 4 * rng.next());
  const world = new Float64Array(9), bearings = new Float64Array(9);
  for (let k = 0; k < 3; k++) {
    const pc = [(rng.next() - 0.5) * 4, (rng.next() - 0.5) * 3, 3 + 5 * rng.next()];
    const n = Math.hypot(pc[0]!, pc[1]!, pc[2]!);
    const d = [pc[0]! - translation[0]!, pc[1]! - translation[1]!, pc[2]! - translation[2]!];
    for (let a = 0; a < 3; a++) {
      bearings[3 * k + a] = pc[a]! / n;
      world[3 * k + a] = rotation[a]! * d[0]! + rotation[3 + a]! * d[1]! + rotation[6 + a]! * d[2]!;
    }
  }
  return { truth: { rotation, translation }, world, bearings };
}

test('solveP3P: one solution is the true pose, and every solution explains the three bearings', () => {
  const rng = createRng(11);
  let maxCount = 0;
  for (let trial = 0; trial < 500; trial++) {
    const { truth, world, bearings } = randomTriplet(rng);
    const solutions = solveP3P(world, bearings);
    assert.ok(solutions.length >= 1 && solutions.length <= 4);
    maxCount = Math.max(maxCount, solutions.length);
    const best = Math.min(...solutions.map((s) => poseDistance(s, truth)));
    assert.ok(best < 1e-7, `trial ${trial}: closest solution is ${best} away`);
    for (const s of solutions) {
      for (let k = 0; k < 3; k++) {
        const p = [0, 1, 2].map((r) => s.rotation[3 * r]! * world[3 * k]! + s.rotation[3 * r + 1]! * world[3 * k + 1]! + s.rotation[3 * r + 2]! * world[3 * k + 2]! + s.translation[r]!);
        const n = Math.hypot(p[0]!, p[1]!, p[2]!);
        assert.ok(p[2]! > 0);
        for (let a = 0; a < 3; a++) assert.ok(Math.abs(p[a]! / n - bearings[3 * k + a]!) < 1e-7);
      }
      assert.ok(Math.abs(mul3(s.rotation, transpose3(s.rotation))[0]! - 1) < 1e-9);
    }
  }
  assert.ok(maxCount >= 3, 'some configurations have several solutions');
  // Collinear world points have no unique pose.
  assert.deepEqual(solveP3P([0, 0, 5, 1, 0, 5, 2, 0, 5], [0, 0, 1, 0.196, 0, 0.98, 0.371, 0, 0.928]), []);
});

test('solveP3P finds every solution OpenCV solveP3P finds', () => {
  const rng = createRng(12);
  const cases = Array.from({ length: 40 }, () => randomTriplet(rng));
  const intrinsics: Intrinsics = { fxPx: 500, fyPx: 500, cxPx: 320, cyPx: 240, width: 641, height: 481 };
  const input = cases.map((c) => ({
    world: Array.from(c.world),
    pixels: [0, 1, 2].flatMap((k) => [
      intrinsics.fxPx * (c.bearings[3 * k]! / c.bearings[3 * k + 2]!) + intrinsics.cxPx,
      intrinsics.fyPx * (c.bearings[3 * k + 1]! / c.bearings[3 * k + 2]!) + intrinsics.cyPx,
    ]),
  }));
  const script = [
    'import sys, json, numpy as np, cv2',
    'K = np.array([[500, 0, 320], [0, 500, 240], [0, 0, 1]], dtype=np.float64)',
    'out = []',
    'for c in json.load(sys.stdin):',
    '    X = np.array(c["world"], dtype=np.float64).reshape(3, 1, 3); x = np.array(c["pixels"], dtype=np.float64).reshape(3, 1, 2)',
    '    n, rvecs, tvecs = cv2.solveP3P(X, x, K, None, flags=cv2.SOLVEPNP_P3P)',
    '    out.append([{"R": cv2.Rodrigues(r)[0].ravel().tolist(), "t": t.ravel().tolist()} for r, t in zip(rvecs, tvecs)])',
    'print(json.dumps(out))',
  ].join('\n');
  const run = spawnSync(DEBIAN_PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const reference = JSON.parse(run.stdout) as Array<Array<{ R: number[]; t: number[] }>>;
  let compared = 0;
  cases.forEach((c, i) => {
    const ours = solveP3P(c.world, c.bearings);
    for (const ref of reference[i]!) {
      const pose: RigidPose = { rotation: Float64Array.from(ref.R), translation: Float64Array.from(ref.t) };
      // OpenCV's Gao solver can return inexact roots; compare only the solutions that do reproject.
      const pixels = Float64Array.from(input[i]!.pixels);
      const worst = Math.max(...[0, 1, 2].map((k) => squaredReprojectionErrorPx(pose, intrinsics, c.world, pixels, k)));
      if (!(worst < 1e-6)) continue;
      compared++;
      const nearest = Math.min(...ours.map((s) => poseDistance(s, pose)));
      assert.ok(nearest < 1e-5, `case ${i}: OpenCV solution not among ours (nearest ${nearest})`);
    }
  });
  assert.ok(compared >= 40, `compared ${compared} solutions`);
});

/** One view of a synthetic scene: its world points, pixels (some replaced by outliers) and true pose. */
function viewCorrespondences(outlierRatio: number, noisePx: number, seed: number) {
  const scene = createSyntheticScene({ numViews: 6, numPoints: 1500, seed, noisePx, withPairs: false });
  const view = 1;
  const obs = [...scene.observationCamera.keys()].filter((m) => scene.observationCamera[m] === view);
  const world = new Float64Array(3 * obs.length), pixels = new Float64Array(2 * obs.length);
  const isOutlier = new Uint8Array(obs.length);
  const rng = createRng(seed + 100);
  obs.forEach((m, k) => {
    const p = scene.observationPoint[m]!;
    world.set(scene.points.subarray(3 * p, 3 * p + 3), 3 * k);
    if (rng.next() < outlierRatio) {
      isOutlier[k] = 1;
      pixels[2 * k] = rng.next() * (scene.intrinsics.width - 1);
      pixels[2 * k + 1] = rng.next() * (scene.intrinsics.height - 1);
    } else {
      pixels[2 * k] = scene.observationPixels[2 * m]!;
      pixels[2 * k + 1] = scene.observationPixels[2 * m + 1]!;
    }
  });
  return { world, pixels, isOutlier, intrinsics: scene.intrinsics, truth: scene.cameraFromWorld[view]! };
}

test('estimateAbsolutePose recovers the exact pose from exact data', () => {
  const { world, pixels, intrinsics, truth } = viewCorrespondences(0, 0, 1);
  // The scene's pixels are Float32 keypoints; project exactly here instead.
  for (let k = 0; k < world.length / 3; k++) {
    const X = world.subarray(3 * k, 3 * k + 3);
    const p = [0, 1, 2].map((r) => truth.rotation[3 * r]! * X[0]! + truth.rotation[3 * r + 1]! * X[1]! + truth.rotation[3 * r + 2]! * X[2]! + truth.translation[r]!);
    pixels[2 * k] = intrinsics.fxPx * (p[0]! / p[2]!) + intrinsics.cxPx;
    pixels[2 * k + 1] = intrinsics.fyPx * (p[1]! / p[2]!) + intrinsics.cyPx;
  }
  const result = estimateAbsolutePose(world, pixels, intrinsics, { seed: 3 });
  assert.ok(result !== null);
  assert.equal(result.numInliers, world.length / 3);
  assert.ok(poseDistance(result.cameraFromWorld, truth) < 1e-9, `pose error ${poseDistance(result.cameraFromWorld, truth)}`);
});

test('refineAbsolutePose converges from a perturbed start to the exact pose', () => {
  const { world, intrinsics, truth } = viewCorrespondences(0, 0, 2);
  const n = world.length / 3;
  const pixels = new Float64Array(2 * n);
  for (let k = 0; k < n; k++) {
    const X = world.subarray(3 * k, 3 * k + 3);
    const p = [0, 1, 2].map((r) => truth.rotation[3 * r]! * X[0]! + truth.rotation[3 * r + 1]! * X[1]! + truth.rotation[3 * r + 2]! * X[2]! + truth.translation[r]!);
    pixels[2 * k] = intrinsics.fxPx * (p[0]! / p[2]!) + intrinsics.cxPx;
    pixels[2 * k + 1] = intrinsics.fyPx * (p[1]! / p[2]!) + intrinsics.cyPx;
  }
  const start: RigidPose = {
    rotation: mul3(rotationFromAxisAngle([0.03, -0.02, 0.04]), truth.rotation),
    translation: truth.translation.map((t, a) => t + [0.2, -0.1, 0.3][a]!),
  };
  const refined = refineAbsolutePose(start, world, pixels, intrinsics);
  assert.ok(poseDistance(refined, truth) < 1e-9, `pose error ${poseDistance(refined, truth)}`);
});

test('estimateAbsolutePose matches OpenCV solvePnPRansac + LM refinement on noisy data with 30% outliers', () => {
  const { world, pixels, isOutlier, intrinsics, truth } = viewCorrespondences(0.3, 0.7, 3);
  const n = world.length / 3;
  const result = estimateAbsolutePose(world, pixels, intrinsics, { seed: 5, thresholdPx: 4 });
  assert.ok(result !== null);
  const script = [
    'import sys, json, numpy as np, cv2',
    'd = json.load(sys.stdin)',
    'X = np.array(d["world"], dtype=np.float64).reshape(-1, 1, 3); x = np.array(d["pixels"], dtype=np.float64).reshape(-1, 1, 2)',
    'K = np.array(d["K"], dtype=np.float64).reshape(3, 3)',
    'ok, r, t, inl = cv2.solvePnPRansac(X, x, K, None, iterationsCount=10000, reprojectionError=4.0, confidence=0.9999, flags=cv2.SOLVEPNP_AP3P)',
    'inl = inl.ravel()',
    'ok, r, t = cv2.solvePnP(X[inl], x[inl], K, None, r, t, True, cv2.SOLVEPNP_ITERATIVE)',
    'print(json.dumps({"R": cv2.Rodrigues(r)[0].ravel().tolist(), "t": t.ravel().tolist(), "inliers": inl.tolist()}))',
  ].join('\n');
  const K = [intrinsics.fxPx, 0, intrinsics.cxPx, 0, intrinsics.fyPx, intrinsics.cyPx, 0, 0, 1];
  const run = spawnSync(DEBIAN_PYTHON, ['-c', script], { input: JSON.stringify({ world: Array.from(world), pixels: Array.from(pixels), K }), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const ref = JSON.parse(run.stdout) as { R: number[]; t: number[]; inliers: number[] };
  const opencv: RigidPose = { rotation: Float64Array.from(ref.R), translation: Float64Array.from(ref.t) };

  // Both minimise the reprojection error over (nearly) the same inliers: the same optimum.
  const agreementDeg = rotationAngleDeg(mul3(transpose3(opencv.rotation), result.cameraFromWorld.rotation));
  assert.ok(axisAngleFromRotation(mul3(transpose3(opencv.rotation), result.cameraFromWorld.rotation)).every(Number.isFinite));
  assert.ok(agreementDeg < 1e-4, `ours vs OpenCV rotation ${agreementDeg} deg`);
  const dt = Math.hypot(...[0, 1, 2].map((a) => result.cameraFromWorld.translation[a]! - opencv.translation[a]!));
  assert.ok(dt < 1e-5, `ours vs OpenCV translation ${dt}`);
  const ours = [...result.inliers.keys()].filter((i) => result.inliers[i]);
  const common = ours.filter((i) => ref.inliers.includes(i)).length;
  assert.ok(common >= 0.98 * Math.max(ours.length, ref.inliers.length), `inliers: ours ${ours.length}, OpenCV ${ref.inliers.length}, common ${common}`);

  // And close to the truth: every true inlier kept, few outliers accepted.
  const rotationErrorDeg = rotationAngleDeg(mul3(transpose3(truth.rotation), result.cameraFromWorld.rotation));
  assert.ok(rotationErrorDeg < 0.3, `rotation error ${rotationErrorDeg} deg`);
  let missed = 0, accepted = 0, outliers = 0;
  for (let i = 0; i < n; i++) {
    if (isOutlier[i]) { outliers++; if (result.inliers[i]) accepted++; } else if (!result.inliers[i]) missed++;
  }
  assert.ok(missed <= 0.01 * (n - outliers), `missed ${missed} true inliers`);
  assert.ok(accepted <= 0.1 * outliers, `accepted ${accepted}/${outliers} outliers`);
  // Deterministic for a seed.
  assert.deepEqual(estimateAbsolutePose(world, pixels, intrinsics, { seed: 5, thresholdPx: 4 }), result);
  // Local optimisation inside RANSAC ends at the same optimum.
  const withLocalOptimization = estimateAbsolutePose(world, pixels, intrinsics, { seed: 5, thresholdPx: 4, localOptimization: true });
  assert.ok(withLocalOptimization !== null && poseDistance(withLocalOptimization.cameraFromWorld, result.cameraFromWorld) < 1e-7);
  assert.deepEqual(withLocalOptimization.inliers, result.inliers);
});

test('estimateAbsolutePose: too few points give null, malformed input throws', () => {
  const intrinsics: Intrinsics = { fxPx: 500, fyPx: 500, cxPx: 320, cyPx: 240, width: 640, height: 480 };
  assert.equal(estimateAbsolutePose(new Float64Array(9), new Float64Array(6), intrinsics), null);
  assert.throws(() => estimateAbsolutePose(new Float64Array(12), new Float64Array(6), intrinsics), InputError);
  // All points at one place: no pose, no NaN.
  const world = new Float64Array(30).fill(1), pixels = new Float64Array(20).fill(100);
  const result = estimateAbsolutePose(world, pixels, intrinsics);
  assert.ok(result === null || (result.cameraFromWorld.rotation.every(Number.isFinite) && result.cameraFromWorld.translation.every(Number.isFinite)));
});
