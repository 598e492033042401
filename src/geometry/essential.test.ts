import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Intrinsics } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import {
  decomposeEssential, essentialFromPose, estimateEssential, estimateRelativePose, fivePointEssential, normalizePixels,
  recoverPoseFromEssential, refineEssentialSampson,
} from './essential.ts';
import { sampsonErrorSquared } from './fundamental.ts';
import { homographyInlierRatio, PLANAR_OR_ROTATION_INLIER_RATIO } from './homography.ts';
import { angleBetweenDeg, det3, invert3, mul3, normalize3, rotationAngleDeg, rotationFromAxisAngle, transpose3, type Mat3 } from './mat3.ts';
import { createRng, type Rng } from './random.ts';
import type { RigidPose } from './rigid.ts';

const K: Intrinsics = { fxPx: 600, fyPx: 600, cxPx: 319.5, cyPx: 239.5, width: 640, height: 480 };

interface Scene {
  readonly pose1From0: RigidPose;
  readonly pixels0: Float64Array;
  readonly pixels1: Float64Array;
  /** 1 where the correspondence is a true (noisy) projection, 0 for an outlier. */
  readonly isInlier: Uint8Array;
  /** For 'planar': the plane n . X = 8 in camera-0 coordinates. */
  readonly planeNormal: Float64Array;
}

interface SceneOptions {
  readonly count: number;
  readonly noisePx: number;
  readonly outlierRatio: number;
  /** 'general': depths 4..12; 'planar': all points on one tilted plane; 'rotation': zero translation. */
  readonly structure?: 'general' | 'planar' | 'rotation';
  readonly rotationDeg?: number;
}

function randomUnit(rng: Rng): Float64Array {
  return normalize3([rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()]);
}

/**
 * A synthetic calibrated pair: camera 0 at the origin, camera 1 = (R, t) with |t| = 1 (camera 1's centre one
 * unit away), points that project inside both 640x480 images, Gaussian pixel noise, uniform outliers in image 1.
 */
function makeScene(rng: Rng, options: SceneOptions): Scene {
  const structure = options.structure ?? 'general';
  const axis = randomUnit(rng);
  const angle = ((options.rotationDeg ?? 10) * Math.PI) / 180;
  const rotation = rotationFromAxisAngle([axis[0]! * angle, axis[1]! * angle, axis[2]! * angle]);
  // Mostly sideways motion, as a hand-held camera: x dominant with some forward component.
  const translation = structure === 'rotation' ? new Float64Array(3) : normalize3([1, 0.3 * rng.nextGaussian(), 0.3 * rng.nextGaussian()]);
  const pose1From0: RigidPose = { rotation, translation };
  const planeNormal = normalize3([0.2 * rng.nextGaussian(), 0.2 * rng.nextGaussian(), 1]);
  const pixels0 = new Float64Array(2 * options.count), pixels1 = new Float64Array(2 * options.count);
  const isInlier = new Uint8Array(options.count);
  let i = 0;
  while (i < options.count) {
    const u = rng.next() * K.width, v = rng.next() * K.height;
    const ray = [(u - K.cxPx) / K.fxPx, (v - K.cyPx) / K.fyPx, 1];
    // On the plane n . X = 8 for 'planar', else a random depth.
    const depth = structure === 'planar' ? 8 / (planeNormal[0]! * ray[0]! + planeNormal[1]! * ray[1]! + planeNormal[2]!) : 4 + 8 * rng.next();
    const X = [ray[0]! * depth, ray[1]! * depth, depth];
    const Y = [
      rotation[0]! * X[0]! + rotation[1]! * X[1]! + rotation[2]! * X[2]! + translation[0]!,
      rotation[3]! * X[0]! + rotation[4]! * X[1]! + rotation[5]! * X[2]! + translation[1]!,
      rotation[6]! * X[0]! + rotation[7]! * X[1]! + rotation[8]! * X[2]! + translation[2]!,
    ];
    if (Y[2]! <= 0.5) continue;
    const u1 = K.fxPx * Y[0]! / Y[2]! + K.cxPx, v1 = K.fyPx * Y[1]! / Y[2]! + K.cyPx;
    if (u1 < 0 || u1 >= K.width || v1 < 0 || v1 >= K.height) continue;
    pixels0[2 * i] = u + options.noisePx * rng.nextGaussian();
    pixels0[2 * i + 1] = v + options.noisePx * rng.nextGaussian();
    if (rng.next() < options.outlierRatio) {
      pixels1[2 * i] = rng.next() * K.width;
      pixels1[2 * i + 1] = rng.next() * K.height;
    } else {
      pixels1[2 * i] = u1 + options.noisePx * rng.nextGaussian();
      pixels1[2 * i + 1] = v1 + options.noisePx * rng.nextGaussian();
      isInlier[i] = 1;
    }
    i++;
  }
  return { pose1From0, pixels0, pixels1, isInlier, planeNormal };
}

function poseErrorsDeg(truth: RigidPose, estimate: RigidPose): { rotation: number; translation: number } {
  return {
    rotation: rotationAngleDeg(mul3(transpose3(truth.rotation), estimate.rotation)),
    translation: angleBetweenDeg(truth.translation, estimate.translation),
  };
}

/** Distance between two essential matrices up to scale and sign (both unit Frobenius). */
function essentialDistance(a: Mat3, b: Mat3): number {
  const unit = (m: Mat3): number[] => { const n = Math.hypot(...m); return Array.from(m, (v) => v / n); };
  const ua = unit(a), ub = unit(b);
  let plus = 0, minus = 0;
  for (let i = 0; i < 9; i++) { plus += (ua[i]! - ub[i]!) ** 2; minus += (ua[i]! + ub[i]!) ** 2; }
  return Math.sqrt(Math.min(plus, minus));
}

test('five-point: the true E is among the solutions on exact data, and every solution is a valid essential matrix', () => {
  const rng = createRng(1);
  let maxTrueDistance = 0, maxCubic = 0, maxDet = 0, maxEpipolar = 0, totalSolutions = 0;
  for (let trial = 0; trial < 100; trial++) {
    const scene = makeScene(rng, { count: 5, noisePx: 0, outlierRatio: 0, rotationDeg: 5 + 20 * rng.next() });
    const x0 = normalizePixels(scene.pixels0, K), x1 = normalizePixels(scene.pixels1, K);
    const solutions = fivePointEssential(x0, x1);
    assert.ok(solutions.length >= 1 && solutions.length <= 10 && solutions.length % 2 === 0, `${solutions.length} solutions`);
    totalSolutions += solutions.length;
    const truth = essentialFromPose(scene.pose1From0);
    maxTrueDistance = Math.max(maxTrueDistance, Math.min(...solutions.map((e) => essentialDistance(e, truth))));
    for (const e of solutions) {
      // 2 E E^T E - trace(E E^T) E = 0 and det E = 0 (E has unit Frobenius norm).
      const eet = mul3(e, transpose3(e));
      const trace = eet[0]! + eet[4]! + eet[8]!;
      const eeteT = mul3(eet, e);
      for (let i = 0; i < 9; i++) maxCubic = Math.max(maxCubic, Math.abs(2 * eeteT[i]! - trace * e[i]!));
      maxDet = Math.max(maxDet, Math.abs(det3(e)));
      for (let k = 0; k < 5; k++) {
        const l = [e[0]! * x0[2 * k]! + e[1]! * x0[2 * k + 1]! + e[2]!, e[3]! * x0[2 * k]! + e[4]! * x0[2 * k + 1]! + e[5]!, e[6]! * x0[2 * k]! + e[7]! * x0[2 * k + 1]! + e[8]!];
        maxEpipolar = Math.max(maxEpipolar, Math.abs(x1[2 * k]! * l[0]! + x1[2 * k + 1]! * l[1]! + l[2]!));
      }
    }
  }
  assert.ok(maxTrueDistance < 1e-8, `true E found to ${maxTrueDistance}`);
  assert.ok(maxCubic < 1e-9, `cubic constraint residual ${maxCubic}`);
  assert.ok(maxDet < 1e-10, `det ${maxDet}`);
  assert.ok(maxEpipolar < 1e-10, `epipolar residual ${maxEpipolar}`);
  // Real solutions come in a number of 2..10, typically ~4 on average.
  assert.ok(totalSolutions / 100 >= 2 && totalSolutions / 100 <= 10);
  assert.throws(() => fivePointEssential(new Float64Array(8), new Float64Array(10)), RangeError);
});

test('decomposeEssential and recoverPoseFromEssential: exact data gives the true pose and keeps every point', () => {
  const rng = createRng(3);
  for (let trial = 0; trial < 20; trial++) {
    const scene = makeScene(rng, { count: 200, noisePx: 0, outlierRatio: 0, rotationDeg: 30 * rng.next() });
    const truth = essentialFromPose(scene.pose1From0);
    for (const candidate of decomposeEssential(truth)) {
      assert.ok(Math.abs(det3(candidate.rotation) - 1) < 1e-12);
      assert.ok(essentialDistance(essentialFromPose(candidate), truth) < 1e-12);
    }
    const x0 = normalizePixels(scene.pixels0, K), x1 = normalizePixels(scene.pixels1, K);
    const recovered = recoverPoseFromEssential(truth, x0, x1);
    assert.ok(recovered !== null);
    for (let i = 0; i < 9; i++) assert.ok(Math.abs(recovered.pose1From0.rotation[i]! - scene.pose1From0.rotation[i]!) < 1e-12);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(recovered.pose1From0.translation[i]! - scene.pose1From0.translation[i]!) < 1e-12);
    assert.equal(recovered.numInliers, 200);
    // Depths 4..12 over a unit baseline: triangulation angles of several degrees.
    assert.ok(recovered.medianTriangulationAngleDeg > 2 && recovered.medianTriangulationAngleDeg < 15);
    // The inlier mask restricts the vote.
    const mask = new Uint8Array(200).fill(0);
    mask.fill(1, 0, 50);
    assert.equal(recoverPoseFromEssential(truth, x0, x1, mask)!.numInliers, 50);
  }
});

test('estimateRelativePose: R within 0.5 deg and t within 2 deg with 0.5-1 px noise and 30-60 % outliers', () => {
  const rng = createRng(4);
  const cases = [
    { noisePx: 0.5, outlierRatio: 0.3, thresholdPx: 1 },
    { noisePx: 0.5, outlierRatio: 0.5, thresholdPx: 1 },
    { noisePx: 1, outlierRatio: 0.3, thresholdPx: 2 },
    { noisePx: 1, outlierRatio: 0.5, thresholdPx: 2 },
    { noisePx: 0.5, outlierRatio: 0.6, thresholdPx: 1 },
  ];
  for (const [index, c] of cases.entries()) {
    const scene = makeScene(rng, { count: 600, noisePx: c.noisePx, outlierRatio: c.outlierRatio, rotationDeg: 5 + 15 * rng.next() });
    const result = estimateRelativePose(scene.pixels0, scene.pixels1, K, K, { thresholdPx: c.thresholdPx, seed: index });
    assert.ok(result !== null, `case ${index}`);
    const errors = poseErrorsDeg(scene.pose1From0, result.pose1From0);
    assert.ok(errors.rotation < 0.5, `case ${index}: rotation error ${errors.rotation}`);
    assert.ok(errors.translation < 2, `case ${index}: translation error ${errors.translation}`);
    // The inlier mask finds the true inliers and rejects nearly all outliers.
    let truePositives = 0, falsePositives = 0, trueInliers = 0;
    for (let i = 0; i < 600; i++) {
      trueInliers += scene.isInlier[i]!;
      if (result.inliers[i]) { if (scene.isInlier[i]) truePositives++; else falsePositives++; }
    }
    assert.ok(truePositives > 0.85 * trueInliers, `case ${index}: recall ${truePositives}/${trueInliers}`);
    assert.ok(falsePositives < 0.05 * (600 - trueInliers), `case ${index}: ${falsePositives} outliers kept`);
    assert.ok(result.numInliers <= result.numEssentialInliers);
    assert.ok(result.medianTriangulationAngleDeg > 2);
  }
});

test('estimateEssential: deterministic per seed; local optimisation and refinement lower the Sampson cost', () => {
  const rng = createRng(5);
  const scene = makeScene(rng, { count: 500, noisePx: 1, outlierRatio: 0.4 });
  const x0 = normalizePixels(scene.pixels0, K), x1 = normalizePixels(scene.pixels1, K);
  const options = { thresholdNormalized: 2 / 600, seed: 7 };
  const a = estimateEssential(x0, x1, options)!, b = estimateEssential(x0, x1, options)!;
  assert.deepEqual(a.essential, b.essential);
  assert.deepEqual(a.inliers, b.inliers);
  assert.equal(a.iterations, b.iterations);
  // Sum of Sampson errors over the true inliers: the refined model fits them better than a plain RANSAC one.
  const trueInliers: number[] = [];
  for (let i = 0; i < 500; i++) if (scene.isInlier[i]) trueInliers.push(i);
  const cost = (e: Mat3): number => trueInliers.reduce((s, i) => s + sampsonErrorSquared(e, x0[2 * i]!, x0[2 * i + 1]!, x1[2 * i]!, x1[2 * i + 1]!), 0);
  const plain = estimateEssential(x0, x1, { ...options, localOptimization: false, refine: false })!;
  assert.ok(cost(a.essential) < cost(plain.essential), `${cost(a.essential)} vs plain ${cost(plain.essential)}`);
  // refineEssentialSampson converges from a perturbed start to a cost no higher than the estimate's.
  const perturbed = essentialFromPose({
    rotation: mul3(rotationFromAxisAngle([0.01, -0.01, 0.005]), scene.pose1From0.rotation),
    translation: normalize3([scene.pose1From0.translation[0]! + 0.05, scene.pose1From0.translation[1]!, scene.pose1From0.translation[2]!]),
  });
  const refined = refineEssentialSampson(perturbed, x0, x1, trueInliers);
  assert.ok(cost(refined) < 0.1 * cost(perturbed));
  assert.ok(cost(refined) <= cost(essentialFromPose(scene.pose1From0)) * 1.0000001, 'refined fits at least as well as the truth');
});

test('planar scene: E is one of the two motions the plane admits, and the H/E ratio flags the pair', () => {
  // A plane is explained by E = [e]x H for exactly two essential matrices (the true motion and its
  // homography-decomposition twin), both fitting noise-free data exactly, so which one an E-based method
  // returns is decided by the noise; COLMAP flags such pairs by the H/E inlier ratio instead. The estimate must
  // be one of the two: E = [e]x H, i.e. E H^-1 skew-symmetric.
  const rng = createRng(6);
  for (let trial = 0; trial < 6; trial++) {
    const scene = makeScene(rng, { count: 400, noisePx: 0.5, outlierRatio: 0.3, structure: 'planar', rotationDeg: 10 });
    const result = estimateRelativePose(scene.pixels0, scene.pixels1, K, K, { thresholdPx: 1, seed: trial });
    assert.ok(result !== null);
    const { rotation: r, translation: t } = scene.pose1From0;
    const n = scene.planeNormal;
    const h = Float64Array.from(r, (v, i) => v + (t[Math.floor(i / 3)]! * n[i % 3]!) / 8);
    const m = mul3(result.essential, invert3(h));
    let symmetric = 0, total = 0;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) { symmetric += (m[i * 3 + j]! + m[j * 3 + i]!) ** 2; total += m[i * 3 + j]! ** 2; }
    }
    assert.ok(Math.sqrt(symmetric / total) < 0.02, `trial ${trial}: E H^-1 is not skew (${Math.sqrt(symmetric / total)})`);
    const ratio = homographyInlierRatio(scene.pixels0, scene.pixels1, result.numEssentialInliers, { thresholdPx: 2, seed: trial });
    assert.ok(ratio > PLANAR_OR_ROTATION_INLIER_RATIO, `trial ${trial}: H/E ratio ${ratio}`);
  }
});

test('pure rotation is flagged: tiny triangulation angle and a homography explaining the inliers', () => {
  const rng = createRng(7);
  const scene = makeScene(rng, { count: 500, noisePx: 0.5, outlierRatio: 0.3, structure: 'rotation', rotationDeg: 8 });
  const result = estimateRelativePose(scene.pixels0, scene.pixels1, K, K, { thresholdPx: 1, seed: 1 });
  assert.ok(result !== null);
  assert.ok(result.medianTriangulationAngleDeg < 0.5, `median angle ${result.medianTriangulationAngleDeg}`);
  // Nearly every essential inlier is at infinity, and the rotation is still right (cv2.recoverPose, which
  // ignores points at infinity, picks the twisted-pair rotation here).
  assert.ok(result.numAtInfinity > 0.9 * result.numEssentialInliers);
  assert.ok(poseErrorsDeg(scene.pose1From0, result.pose1From0).rotation < 0.2);
  // The transfer error is 2-D and carries both images' noise, the Sampson error ~1-D: H gets twice E's threshold.
  const ratio = homographyInlierRatio(scene.pixels0, scene.pixels1, result.numEssentialInliers, { thresholdPx: 2, seed: 1 });
  assert.ok(ratio > PLANAR_OR_ROTATION_INLIER_RATIO, `H/E inlier ratio ${ratio}`);
  // With a real baseline the same test does not flag.
  const general = makeScene(rng, { count: 500, noisePx: 0.5, outlierRatio: 0.3 });
  const ok = estimateRelativePose(general.pixels0, general.pixels1, K, K, { thresholdPx: 1, seed: 1 })!;
  assert.ok(ok.medianTriangulationAngleDeg > 2);
  const generalRatio = homographyInlierRatio(general.pixels0, general.pixels1, ok.numEssentialInliers, { thresholdPx: 2, seed: 1 });
  assert.ok(generalRatio < 0.5, `general H/E ratio ${generalRatio}`);
});

test('input validation: mismatched or odd arrays throw InputError, too few points give null', () => {
  assert.throws(() => estimateRelativePose(new Float64Array(10), new Float64Array(12), K, K), InputError);
  assert.throws(() => estimateRelativePose(new Float64Array(11), new Float64Array(11), K, K), InputError);
  assert.throws(() => estimateRelativePose(Float64Array.of(Number.NaN, 0), Float64Array.of(0, 0), K, K), InputError);
  assert.throws(() => estimateEssential(new Float64Array(20), new Float64Array(20), { thresholdNormalized: 0 }), InputError);
  assert.equal(estimateRelativePose(new Float64Array(8), new Float64Array(8), K, K), null);
});
