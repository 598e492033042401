import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { InputError } from '../core/errors.ts';
import { DEBIAN_PYTHON } from '../../test/helpers/paths.ts';
import {
  alignDepthToDepth, alignDisparityToDepth, fitScale, fitScaleRansac, fitScaleShift, fitScaleShiftRansac, sampleDenseMap,
} from './align-scale-shift.ts';
import { createRng } from './random.ts';

const close = (actual: number, expected: number, tol: number, what = ''): void => {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} != ${expected} (tol ${tol})`);
};

test('fitScaleShift: exact line pred [1,2,3,4] -> target [3,5,7,9] gives scale 2, shift 1', () => {
  const fit = fitScaleShift([1, 2, 3, 4], [3, 5, 7, 9]);
  assert.ok(fit);
  close(fit.scale, 2, 1e-12);
  close(fit.shift, 1, 1e-12);
  assert.equal(fit.numSamples, 4);
});

test('fitScaleShift: hand-computed least squares', () => {
  // pred [0,1,2], target [0,2,1]: mean p = 1, mean t = 1;
  // Spp = 1 + 0 + 1 = 2; Spt = (-1)(-1) + 0*1 + (1)(0) = 1 -> scale = 1/2, shift = 1 - 0.5*1 = 0.5.
  const fit = fitScaleShift([0, 1, 2], [0, 2, 1]);
  assert.ok(fit);
  close(fit.scale, 0.5, 1e-12);
  close(fit.shift, 0.5, 1e-12);
});

test('fitScaleShift: weights', () => {
  // weights [2,1,1]: sumW = 4, mean p = (0 + 1 + 2)/4 = 0.75, mean t = (0 + 2 + 1)/4 = 0.75;
  // Spp = 2(0.75^2) + (0.25^2) + (1.25^2) = 1.125 + 0.0625 + 1.5625 = 2.75
  // Spt = 2(-0.75)(-0.75) + (0.25)(1.25) + (1.25)(0.25) = 1.125 + 0.3125 + 0.3125 = 1.75
  // scale = 1.75 / 2.75 = 7/11; shift = 0.75 - (7/11)(0.75) = 3/11.
  const fit = fitScaleShift([0, 1, 2], [0, 2, 1], { weights: [2, 1, 1] });
  assert.ok(fit);
  close(fit.scale, 7 / 11, 1e-12);
  close(fit.shift, 3 / 11, 1e-12);
  // A zero weight excludes the sample: only (0,0), (1,2) remain -> scale 2, shift 0.
  const two = fitScaleShift([0, 1, 2], [0, 2, 1], { weights: [1, 1, 0] });
  assert.ok(two);
  close(two.scale, 2, 1e-12);
  close(two.shift, 0, 1e-12);
  assert.equal(two.numSamples, 2);
});

test('fitScaleShift: mask and NaN exclude samples', () => {
  const pred = [1, 2, Number.NaN, 4, 5];
  const target = [3, 5, 100, Number.NaN, -50];
  // Only samples 0 and 1 are usable (2: NaN pred, 3: NaN target, 4: masked out).
  const fit = fitScaleShift(pred, target, { mask: [1, 1, 1, 1, 0] });
  assert.ok(fit);
  close(fit.scale, 2, 1e-12);
  close(fit.shift, 1, 1e-12);
  assert.equal(fit.numSamples, 2);
  const boolMask = fitScaleShift(pred, target, { mask: [true, true, false, false, false] });
  assert.equal(boolMask?.numSamples, 2);
});

test('fitScaleShift: degenerate inputs return undefined; malformed ones throw InputError', () => {
  assert.equal(fitScaleShift([5, 5, 5], [1, 2, 3]), undefined, 'constant prediction');
  assert.equal(fitScaleShift([1e6 + 0.1, 1e6 + 0.1, 1e6 + 0.1], [1, 2, 3]), undefined, 'constant with a large offset');
  assert.equal(fitScaleShift([1], [2]), undefined, 'one sample');
  assert.equal(fitScaleShift([], []), undefined, 'no samples');
  assert.throws(() => fitScaleShift([1, 2], [1]), InputError);
  assert.throws(() => fitScaleShift([1, 2], [1, 2], { mask: [1] }), InputError);
  assert.throws(() => fitScaleShift([1, 2], [1, 2], { weights: [1, -1] }), /Weight 1 \(-1\)/);
});

test('fitScaleShift: stable with a large common offset (centred normal equations)', () => {
  // pred = 1e6 + i/100, target = 3 * (i/100) - 2 (so target = 3*pred - 3e6 - 2).
  const pred = Float64Array.from({ length: 1000 }, (_, i) => 1e6 + i / 100);
  const target = Float64Array.from({ length: 1000 }, (_, i) => 3 * (i / 100) - 2);
  const fit = fitScaleShift(pred, target);
  assert.ok(fit);
  close(fit.scale, 3, 1e-7);
  close(fit.shift, -3e6 - 2, 1e-1);
});

test('fitScale: scale only, sum(pt)/sum(p^2)', () => {
  // pred [1,2], target [2,5]: sum pt = 2 + 10 = 12, sum p^2 = 1 + 4 = 5 -> 2.4.
  const fit = fitScale([1, 2], [2, 5]);
  assert.ok(fit);
  close(fit.scale, 2.4, 1e-12);
  assert.equal(fit.shift, 0);
  assert.equal(fitScale([0, 0], [1, 2]), undefined);
});

test('fitScaleShift matches numpy lstsq on random data', (t) => {
  if (!existsSync(DEBIAN_PYTHON)) {
    t.skip(`no reference python at ${DEBIAN_PYTHON}`);
    return;
  }
  const rng = createRng(11);
  const n = 500;
  const pred = Array.from({ length: n }, () => rng.next() * 10);
  const target = pred.map((p) => 0.7 * p + 2 + rng.nextGaussian());
  const weights = Array.from({ length: n }, () => rng.next());
  // Reference: weighted lstsq via sqrt(w) row scaling.
  const script = [
    'import json, sys, numpy as np',
    'd = json.load(sys.stdin); p = np.array(d["p"]); t = np.array(d["t"]); w = np.sqrt(np.array(d["w"]))',
    'A = np.stack([p, np.ones_like(p)], 1)',
    'x = np.linalg.lstsq(A, t, rcond=None)[0]; xw = np.linalg.lstsq(A * w[:, None], t * w, rcond=None)[0]',
    'print(json.dumps([float(x[0]), float(x[1]), float(xw[0]), float(xw[1])]))',
  ].join('\n');
  const out = spawnSync(DEBIAN_PYTHON, ['-c', script], { input: JSON.stringify({ p: pred, t: target, w: weights }), encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const [s, b, sw, bw] = JSON.parse(out.stdout) as number[];
  const fit = fitScaleShift(pred, target);
  const weighted = fitScaleShift(pred, target, { weights });
  assert.ok(fit && weighted);
  close(fit.scale, s!, 1e-10, 'scale');
  close(fit.shift, b!, 1e-10, 'shift');
  close(weighted.scale, sw!, 1e-10, 'weighted scale');
  close(weighted.shift, bw!, 1e-10, 'weighted shift');
});

/** target = 3 * pred - 0.5 + N(0, 0.01), with `outlierRatio` of the targets replaced by gross errors. */
function outlierProblem(n: number, outlierRatio: number, seed: number): { pred: Float64Array; target: Float64Array; isOutlier: Uint8Array } {
  const rng = createRng(seed);
  const pred = new Float64Array(n);
  const target = new Float64Array(n);
  const isOutlier = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    pred[i] = rng.next();
    target[i] = 3 * pred[i]! - 0.5 + 0.01 * rng.nextGaussian();
    if (rng.next() < outlierRatio) {
      isOutlier[i] = 1;
      target[i] = 5 + 10 * rng.next(); // far above the line (max inlier value ~2.5)
    }
  }
  return { pred, target, isOutlier };
}

test('fitScaleShiftRansac recovers the line under 20% gross outliers where least squares does not', () => {
  const { pred, target, isOutlier } = outlierProblem(2000, 0.2, 5);
  const ls = fitScaleShift(pred, target);
  assert.ok(ls);
  assert.ok(Math.abs(ls.scale - 3) > 0.3 || Math.abs(ls.shift + 0.5) > 0.3, `LS unexpectedly fine: ${ls.scale}, ${ls.shift}`);
  const robust = fitScaleShiftRansac(pred, target, { threshold: 0.05, iterations: 200, seed: 1 });
  assert.ok(robust);
  close(robust.scale, 3, 0.01, 'scale');
  close(robust.shift, -0.5, 0.01, 'shift');
  let agree = 0;
  for (let i = 0; i < pred.length; i++) if (robust.inlierMask[i] === 1 - isOutlier[i]!) agree++;
  assert.ok(agree / pred.length > 0.99, `inlier mask agreement ${agree / pred.length}`);
  assert.equal(robust.numValid, 2000);
  assert.equal(robust.numSamples, robust.numInliers);
});

test('fitScaleShiftRansac is deterministic for a seed; minInlierRatio and bad options', () => {
  const { pred, target } = outlierProblem(500, 0.3, 9);
  const opts = { threshold: 0.05, iterations: 50, seed: 123, refine: false } as const;
  const a = fitScaleShiftRansac(pred, target, opts);
  const b = fitScaleShiftRansac(pred, target, opts);
  assert.ok(a && b);
  assert.equal(a.scale, b.scale);
  assert.equal(a.shift, b.shift);
  assert.deepEqual(a.inlierMask, b.inlierMask);
  assert.equal(a.numSamples, 2, 'unrefined: the minimal sample');
  assert.equal(fitScaleShiftRansac(pred, target, { ...opts, minInlierRatio: 0.9 }), undefined);
  assert.throws(() => fitScaleShiftRansac(pred, target, { ...opts, threshold: 0 }), InputError);
  assert.throws(() => fitScaleShiftRansac(pred, target, { ...opts, iterations: 0 }), InputError);
  // Scoring on a small subset still finds the model.
  const sub = fitScaleShiftRansac(pred, target, { threshold: 0.05, iterations: 50, seed: 4, maxScoringSamples: 50 });
  assert.ok(sub);
  close(sub.scale, 3, 0.02);
});

test('fitScaleRansac: scale only with outliers', () => {
  const rng = createRng(2);
  const pred = Array.from({ length: 1000 }, () => 1 + rng.next());
  const target = pred.map((p, i) => (i % 4 === 0 ? 50 : 2.5 * p));
  const fit = fitScaleRansac(pred, target, { threshold: 0.01, iterations: 20, seed: 0 });
  assert.ok(fit);
  close(fit.scale, 2.5, 1e-9);
  assert.equal(fit.shift, 0);
  assert.equal(fit.numInliers, 750);
});

test('sampleDenseMap: nearest and bilinear reads; outside and NaN give NaN', () => {
  // 3x2 map, value = x + 10 y.
  const map = { width: 3, height: 2, data: Float32Array.from([0, 1, 2, 10, 11, Number.NaN]) };
  const samples = [
    { x: 0.5, y: 0.5, value: 1 }, // bilinear: (0 + 1 + 10 + 11)/4 = 5.5
    { x: 1, y: 0, value: 2 },     // exactly on pixel (1,0): 1
    { x: 1.6, y: 0.4, value: 3 }, // touches the NaN pixel (2,1)
    { x: -0.1, y: 0, value: 4 },  // outside
  ];
  const bilinear = sampleDenseMap(map, samples);
  close(bilinear.pred[0]!, 5.5, 1e-6);
  close(bilinear.pred[1]!, 1, 1e-6);
  assert.ok(Number.isNaN(bilinear.pred[2]!));
  assert.ok(Number.isNaN(bilinear.pred[3]!));
  assert.deepEqual(Array.from(bilinear.target), [1, 2, 3, 4]);
  const nearest = sampleDenseMap(map, samples, 'nearest');
  assert.equal(nearest.pred[0], 11); // round(0.5) = 1, round(0.5) = 1 -> (1,1)
  assert.equal(nearest.pred[2], 2);  // round(1.6), round(0.4) -> (2, 0) = 2
  assert.equal(nearest.pred[3], 0);  // round(-0.1) = -0 -> (0, 0)
});

function syntheticDepth(width: number, height: number): Float32Array {
  const depth = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) depth[y * width + x] = 1 + 4 * (x / width) + 2 * (y / height);
  return depth;
}

test('alignDisparityToDepth: disparity = a/depth + b is recovered exactly in disparity space', () => {
  const width = 32;
  const height = 24;
  const gt = syntheticDepth(width, height);
  const a = 2.5;
  const b = -0.1; // disparity = a / depth + b stays positive for depth <= 7
  const disparity = Float32Array.from(gt, (d) => a / d + b);
  gt[5] = Number.NaN; // invalid GT is ignored
  const aligned = alignDisparityToDepth({ width, height, data: disparity }, gt);
  assert.ok(aligned);
  close(aligned.scale, 1 / a, 1e-6);
  close(aligned.shift, -b / a, 1e-6);
  assert.equal(aligned.numSamples, width * height - 1);
  for (let i = 0; i < gt.length; i++) if (i !== 5) close(aligned.depthMeters[i]!, gt[i]!, 1e-4);
  // The same from sparse measurements at a handful of pixels.
  const samples = [3, 40, 100, 333, 600].map((i) => ({ x: i % width, y: Math.floor(i / width), value: gt[i]! }));
  const sparse = alignDisparityToDepth({ width, height, data: disparity }, { samples });
  assert.ok(sparse);
  close(sparse.scale, 1 / a, 1e-5);
  assert.equal(sparse.numSamples, 5);
});

test('alignDisparityToDepth: non-positive aligned disparity is NaN, or the cap with depthCapMeters', () => {
  // pred disparity [0, 1, 2] vs depth [1, 0.5, 1/3] (disparity 1, 2, 3): scale 1, shift 1. Pixel 3 (pred -2)
  // aligns to disparity -1 (invalid) and is left out of the fit by a NaN GT.
  const pred = { width: 4, height: 1, data: Float32Array.from([0, 1, 2, -2]) };
  const gt = [1, 0.5, 1 / 3, Number.NaN];
  const plain = alignDisparityToDepth(pred, gt);
  assert.ok(plain);
  assert.ok(Number.isNaN(plain.depthMeters[3]!));
  const capped = alignDisparityToDepth(pred, gt, { depthCapMeters: 10 });
  assert.equal(capped?.depthMeters[3], 10);
  assert.throws(() => alignDisparityToDepth(pred, [1, 2]), InputError);
});

test('alignDepthToDepth: relative depth to metres in depth space, scale-only and RANSAC variants', () => {
  const width = 20;
  const height = 10;
  const gt = syntheticDepth(width, height);
  const relative = Float32Array.from(gt, (d) => 0.25 * d + 0.3);
  const aligned = alignDepthToDepth({ width, height, data: relative }, gt);
  assert.ok(aligned);
  close(aligned.scale, 4, 1e-5);
  close(aligned.shift, -1.2, 1e-5);
  for (let i = 0; i < gt.length; i++) close(aligned.depthMeters[i]!, gt[i]!, 1e-4);

  const scaleOnly = alignDepthToDepth({ width, height, data: Float32Array.from(gt, (d) => d / 3) }, gt, { scaleOnly: true });
  assert.ok(scaleOnly);
  close(scaleOnly.scale, 3, 1e-5);
  assert.equal(scaleOnly.shift, 0);

  const corrupted = Float32Array.from(gt);
  for (let i = 0; i < corrupted.length; i += 5) corrupted[i] = 50; // 20% gross outliers in the target
  const ransac = alignDepthToDepth({ width, height, data: relative }, corrupted, { ransac: { threshold: 0.01, iterations: 100, seed: 3 } });
  assert.ok(ransac?.inlierMask);
  close(ransac.scale, 4, 1e-4);
  assert.equal(ransac.numSamples, 160);
});
