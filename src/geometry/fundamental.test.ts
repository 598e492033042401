import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Intrinsics } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { essentialFromPose, normalizePixels, recoverPoseFromEssential } from './essential.ts';
import {
  eightPointFundamental, essentialFromFundamental, estimateFundamental, hartleyNormalization, realCubicRoots,
  sampsonErrorSquared, sevenPointFundamental,
} from './fundamental.ts';
import { angleBetweenDeg, det3, invert3, mul3, normalize3, rotationAngleDeg, rotationFromAxisAngle, transpose3, type Mat3 } from './mat3.ts';
import { createRng, type Rng } from './random.ts';
import type { RigidPose } from './rigid.ts';

const K0: Intrinsics = { fxPx: 700, fyPx: 690, cxPx: 330, cyPx: 245, width: 640, height: 480 };
const K1: Intrinsics = { fxPx: 520, fyPx: 525, cxPx: 310, cyPx: 235, width: 640, height: 480 };
const kMatrix = (k: Intrinsics): Mat3 => Float64Array.of(k.fxPx, 0, k.cxPx, 0, k.fyPx, k.cyPx, 0, 0, 1);

/** Two cameras with different intrinsics, depths 3..10, pixel noise and uniform outliers in image 1. */
function makePair(rng: Rng, count: number, noisePx: number, outlierRatio: number) {
  const axis = normalize3([rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()]);
  const angle = (15 * Math.PI) / 180 * rng.next();
  const pose: RigidPose = {
    rotation: rotationFromAxisAngle([axis[0]! * angle, axis[1]! * angle, axis[2]! * angle]),
    translation: normalize3([1, 0.3 * rng.nextGaussian(), 0.3 * rng.nextGaussian()]),
  };
  const r = pose.rotation, t = pose.translation;
  const pixels0 = new Float64Array(2 * count), pixels1 = new Float64Array(2 * count);
  const isInlier = new Uint8Array(count);
  let i = 0;
  while (i < count) {
    const u = rng.next() * 640, v = rng.next() * 480, depth = 3 + 7 * rng.next();
    const X = [((u - K0.cxPx) / K0.fxPx) * depth, ((v - K0.cyPx) / K0.fyPx) * depth, depth];
    const Y = [0, 1, 2].map((k) => r[3 * k]! * X[0]! + r[3 * k + 1]! * X[1]! + r[3 * k + 2]! * X[2]! + t[k]!);
    if (Y[2]! < 0.5) continue;
    const u1 = (K1.fxPx * Y[0]!) / Y[2]! + K1.cxPx, v1 = (K1.fyPx * Y[1]!) / Y[2]! + K1.cyPx;
    if (u1 < 0 || u1 >= 640 || v1 < 0 || v1 >= 480) continue;
    pixels0[2 * i] = u + noisePx * rng.nextGaussian();
    pixels0[2 * i + 1] = v + noisePx * rng.nextGaussian();
    if (rng.next() < outlierRatio) {
      pixels1[2 * i] = rng.next() * 640; pixels1[2 * i + 1] = rng.next() * 480;
    } else {
      pixels1[2 * i] = u1 + noisePx * rng.nextGaussian(); pixels1[2 * i + 1] = v1 + noisePx * rng.nextGaussian();
      isInlier[i] = 1;
    }
    i++;
  }
  // F = K1^-T [t]x R K0^-1.
  const truth = mul3(mul3(transpose3(invert3(kMatrix(K1))), essentialFromPose(pose)), invert3(kMatrix(K0)));
  return { pose, pixels0, pixels1, isInlier, truth };
}

/** Distance between two matrices up to scale and sign. */
function distanceUpToScale(a: Mat3, b: Mat3): number {
  const na = Math.hypot(...a), nb = Math.hypot(...b);
  let plus = 0, minus = 0;
  for (let i = 0; i < 9; i++) { plus += (a[i]! / na - b[i]! / nb) ** 2; minus += (a[i]! / na + b[i]! / nb) ** 2; }
  return Math.sqrt(Math.min(plus, minus));
}

/** |x1^T F x0| with F and points scaled so that it is comparable across matrices (unit F, pixels). */
function maxEpipolarResidual(f: Mat3, pixels0: Float64Array, pixels1: Float64Array, indices: ArrayLike<number>): number {
  const norm = Math.hypot(...f);
  let worst = 0;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    const x0 = pixels0[2 * i]!, y0 = pixels0[2 * i + 1]!, x1 = pixels1[2 * i]!, y1 = pixels1[2 * i + 1]!;
    const l = [0, 1, 2].map((r) => f[3 * r]! * x0 + f[3 * r + 1]! * y0 + f[3 * r + 2]!);
    worst = Math.max(worst, Math.abs(x1 * l[0]! + y1 * l[1]! + l[2]!) / norm);
  }
  return worst;
}

test('realCubicRoots: closed-form roots, including degenerate leading coefficients', () => {
  const sorted = (v: number[]): number[] => [...v].sort((a, b) => a - b);
  // (a - 1)(a - 2)(a - 3) = a^3 - 6a^2 + 11a - 6
  sorted(realCubicRoots(1, -6, 11, -6)).forEach((r, i) => assert.ok(Math.abs(r - (i + 1)) < 1e-12, `${r}`));
  // (a - 2)(a^2 + 1): one real root.
  const one = realCubicRoots(1, -2, 1, -2);
  assert.equal(one.length, 1);
  assert.ok(Math.abs(one[0]! - 2) < 1e-12);
  // Quadratic and linear fallbacks: 2a^2 - 8 = 0, 3a + 6 = 0.
  sorted(realCubicRoots(0, 2, 0, -8)).forEach((r, i) => assert.ok(Math.abs(r - [-2, 2][i]!) < 1e-12));
  assert.deepEqual(realCubicRoots(0, 0, 3, 6), [-2]);
  assert.deepEqual(realCubicRoots(0, 0, 0, 0), []);
  // Widely spread roots keep their relative accuracy: 1e-3, 1, 1e3.
  const spread = sorted(realCubicRoots(1, -(1e3 + 1 + 1e-3), 1e3 * 1 + 1e3 * 1e-3 + 1 * 1e-3, -1));
  assert.equal(spread.length, 3);
  spread.forEach((r, i) => assert.ok(Math.abs(r / [1e-3, 1, 1e3][i]! - 1) < 1e-9, `${r}`));
});

test('hartleyNormalization: centroid to the origin, mean distance sqrt(2)', () => {
  const points = Float64Array.of(10, 20, 30, 20, 30, 60, 10, 60);
  const t = hartleyNormalization(points)!;
  assert.equal(t.cx, 20);
  assert.equal(t.cy, 40);
  // Every point is sqrt(10^2 + 20^2) from the centroid.
  assert.ok(Math.abs(t.scale - Math.SQRT2 / Math.hypot(10, 20)) < 1e-15);
  assert.equal(hartleyNormalization(Float64Array.of(5, 5, 5, 5)), null);
});

test('eight-point: exact data gives the true F (rank 2, epipolar constraint), noise keeps it close', () => {
  const rng = createRng(1);
  for (let trial = 0; trial < 20; trial++) {
    const pair = makePair(rng, 40, 0, 0);
    const f = eightPointFundamental(pair.pixels0, pair.pixels1)!;
    assert.ok(distanceUpToScale(f, pair.truth) < 1e-9, `trial ${trial}: ${distanceUpToScale(f, pair.truth)}`);
    assert.ok(Math.abs(det3(f)) < 1e-12);
    // On 8 points only, too.
    const eight = eightPointFundamental(pair.pixels0, pair.pixels1, [0, 1, 2, 3, 4, 5, 6, 7])!;
    assert.ok(distanceUpToScale(eight, pair.truth) < 1e-7);
  }
  // 0.5 px noise on 300 points: the Sampson error of the fit is at the noise level.
  const noisy = makePair(rng, 300, 0.5, 0);
  const f = eightPointFundamental(noisy.pixels0, noisy.pixels1)!;
  let sum = 0;
  for (let i = 0; i < 300; i++) sum += sampsonErrorSquared(f, noisy.pixels0[2 * i]!, noisy.pixels0[2 * i + 1]!, noisy.pixels1[2 * i]!, noisy.pixels1[2 * i + 1]!);
  assert.ok(Math.sqrt(sum / 300) < 0.6, `RMS Sampson ${Math.sqrt(sum / 300)}`);
  // Too few points, or all on one line: null.
  assert.equal(eightPointFundamental(noisy.pixels0, noisy.pixels1, [0, 1, 2]), null);
  const line = Float64Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? i : 2 * i));
  assert.equal(eightPointFundamental(line, line), null);
});

test('seven-point: the true F is among the 1 or 3 solutions, each rank 2 and exact on the sample', () => {
  const rng = createRng(2);
  let worstTrue = 0, worstResidual = 0, worstDet = 0;
  for (let trial = 0; trial < 100; trial++) {
    const pair = makePair(rng, 7, 0, 0);
    const sample = [0, 1, 2, 3, 4, 5, 6];
    const solutions = sevenPointFundamental(pair.pixels0, pair.pixels1, sample);
    assert.ok(solutions.length === 1 || solutions.length === 3, `${solutions.length} solutions`);
    worstTrue = Math.max(worstTrue, Math.min(...solutions.map((f) => distanceUpToScale(f, pair.truth))));
    for (const f of solutions) {
      worstResidual = Math.max(worstResidual, maxEpipolarResidual(f, pair.pixels0, pair.pixels1, sample));
      worstDet = Math.max(worstDet, Math.abs(det3(f)));
    }
  }
  assert.ok(worstTrue < 1e-7, `true F found to ${worstTrue}`);
  assert.ok(worstResidual < 1e-9, `epipolar residual ${worstResidual}`);
  assert.ok(worstDet < 1e-12, `det ${worstDet}`);
});

test('estimateFundamental: finds the inliers among 40 % outliers; E from F recovers the pose', () => {
  const rng = createRng(3);
  for (let trial = 0; trial < 3; trial++) {
    const pair = makePair(rng, 500, 0.5, 0.4);
    const result = estimateFundamental(pair.pixels0, pair.pixels1, { thresholdPx: 1.5, seed: trial });
    assert.ok(result !== null);
    let recall = 0, falsePositives = 0, trueInliers = 0;
    for (let i = 0; i < 500; i++) {
      trueInliers += pair.isInlier[i]!;
      if (result.inliers[i]) { if (pair.isInlier[i]) recall++; else falsePositives++; }
    }
    assert.ok(recall > 0.9 * trueInliers, `recall ${recall}/${trueInliers}`);
    assert.ok(falsePositives < 0.05 * (500 - trueInliers), `${falsePositives} outliers accepted`);
    assert.ok(Math.abs(det3(result.fundamental)) < 1e-12);
    // The relative pose from K1^T F K0 (projected by recoverPose's SVD) is close to the truth.
    const e = essentialFromFundamental(result.fundamental, K0, K1);
    const recovered = recoverPoseFromEssential(e, normalizePixels(pair.pixels0, K0), normalizePixels(pair.pixels1, K1), result.inliers)!;
    const rotationError = rotationAngleDeg(mul3(transpose3(pair.pose.rotation), recovered.pose1From0.rotation));
    const translationError = angleBetweenDeg(pair.pose.translation, recovered.pose1From0.translation);
    assert.ok(rotationError < 1, `rotation error ${rotationError}`);
    assert.ok(translationError < 5, `translation error ${translationError}`);
  }
  // Deterministic for a seed.
  const pair = makePair(rng, 300, 0.5, 0.3);
  const a = estimateFundamental(pair.pixels0, pair.pixels1, { seed: 4 })!, b = estimateFundamental(pair.pixels0, pair.pixels1, { seed: 4 })!;
  assert.deepEqual(a.fundamental, b.fundamental);
  assert.deepEqual(a.inliers, b.inliers);
});

test('essentialFromFundamental is K1^T F K0 exactly', () => {
  const rng = createRng(5);
  const pair = makePair(rng, 10, 0, 0);
  const e = essentialFromFundamental(pair.truth, K0, K1);
  const expected = mul3(mul3(transpose3(kMatrix(K1)), pair.truth), kMatrix(K0));
  for (let i = 0; i < 9; i++) assert.ok(Math.abs(e[i]! - expected[i]!) <= 1e-15 * Math.hypot(...expected));
  assert.ok(distanceUpToScale(e, essentialFromPose(pair.pose)) < 1e-12);
});

test('estimateFundamental validates its input', () => {
  assert.throws(() => estimateFundamental(new Float64Array(16), new Float64Array(18)), InputError);
  assert.throws(() => estimateFundamental(new Float64Array(16), new Float64Array(16), { thresholdPx: -1 }), InputError);
  assert.equal(estimateFundamental(new Float64Array(14), new Float64Array(14)), null);
});
