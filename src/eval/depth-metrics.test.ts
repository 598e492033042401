import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../core/errors.ts';
import {
  EIGEN_CROP_NYU, GARG_CROP_KITTI, computeDepthMetrics, cropBounds, cropMask, evalMask, meanDepthMetrics,
} from './depth-metrics.ts';

const close = (actual: number, expected: number, tol = 1e-9, what = ''): void => {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} != ${expected}`);
};
const RANGE = { minDepthMeters: 1e-3, maxDepthMeters: 10 };

test('hand-computed metrics on six pixels', () => {
  // pixel: pred, gt | |d-g|/g | (d-g)^2/g | (d-g)^2 | ln d - ln g   | |log10 d - log10 g| | ratio max(d/g, g/d)
  // 0:    2,   1   | 1       | 1         | 1       | ln 2          | log10 2             | 2   (no delta)
  // 1:    1,   2   | 0.5     | 0.5       | 1       | -ln 2         | log10 2             | 2   (no delta)
  // 2:    4,   4   | 0       | 0         | 0       | 0             | 0                   | 1   (d1 d2 d3)
  // 3:    2.2, 2   | 0.1     | 0.02      | 0.04    | ln 1.1        | log10 1.1           | 1.1 (d1 d2 d3)
  // 4:    1.4, 1   | 0.4     | 0.16      | 0.16    | ln 1.4        | log10 1.4           | 1.4 (d2 d3: 1.25 < 1.4 < 1.5625)
  // 5:    1,   1.8 | 0.8/1.8 | 0.64/1.8  | 0.64    | -ln 1.8       | log10 1.8           | 1.8 (d3: 1.5625 < 1.8 < 1.953125)
  // AbsRel = (1 + 0.5 + 0 + 0.1 + 0.4 + 0.444444)/6 = 0.4074074
  // SqRel  = (1 + 0.5 + 0 + 0.02 + 0.16 + 0.355556)/6 = 0.3392593
  // RMSE   = sqrt((1 + 1 + 0 + 0.04 + 0.16 + 0.64)/6) = sqrt(2.84/6) = 0.6879922
  // RMSElog = sqrt((2 ln^2 2 + ln^2 1.1 + ln^2 1.4 + ln^2 1.8)/6) = sqrt(1.428697/6) = 0.4879715
  // log10  = (2 log10 2 + log10 1.1 + log10 1.4 + log10 1.8)/6 = 1.0448532/6 = 0.1741422
  // delta1 = 2/6, delta2 = 3/6, delta3 = 4/6
  const pred = [2, 1, 4, 2.2, 1.4, 1];
  const gt = [1, 2, 4, 2, 1, 1.8];
  const m = computeDepthMetrics(pred, gt, 6, 1, RANGE);
  assert.ok(m);
  close(m.absRel, (1 + 0.5 + 0 + 0.1 + 0.4 + 0.8 / 1.8) / 6);
  close(m.absRel, 0.4074074, 1e-7);
  close(m.sqRel, (1 + 0.5 + 0 + 0.02 + 0.16 + 0.64 / 1.8) / 6);
  close(m.sqRel, 0.3392593, 1e-7);
  close(m.rmse, Math.sqrt(2.84 / 6));
  close(m.rmse, 0.6879922, 1e-7);
  const ln = Math.log;
  close(m.rmseLog, Math.sqrt((2 * ln(2) ** 2 + ln(1.1) ** 2 + ln(1.4) ** 2 + ln(1.8) ** 2) / 6));
  close(m.rmseLog, 0.4879715, 1e-6);
  close(m.log10, (2 * Math.log10(2) + Math.log10(1.1) + Math.log10(1.4) + Math.log10(1.8)) / 6);
  close(m.log10, 0.1741422, 1e-6);
  close(m.delta1, 2 / 6);
  close(m.delta2, 3 / 6);
  close(m.delta3, 4 / 6);
  assert.equal(m.numValid, 6);
  assert.equal(m.numInvalidPredictions, 0);
});

test('perfect prediction: AbsRel 0, delta1 1', () => {
  const gt = [0.5, 1, 2, 3];
  const m = computeDepthMetrics(gt, gt, 2, 2, RANGE);
  assert.ok(m);
  assert.equal(m.absRel, 0);
  assert.equal(m.rmse, 0);
  assert.equal(m.delta1, 1);
});

test('invalid GT is ignored; NaN predictions are excluded and counted', () => {
  // Pixel 1 has no GT; pixel 2 has no prediction. Only pixels 0 and 3 count: AbsRel = (0 + 0.5)/2.
  const m = computeDepthMetrics([1, 7, Number.NaN, 3], [1, Number.NaN, 2, 2], 4, 1, RANGE);
  assert.ok(m);
  assert.equal(m.numValid, 2);
  assert.equal(m.numInvalidPredictions, 1);
  close(m.absRel, 0.25);
  assert.equal(computeDepthMetrics([1], [Number.NaN], 1, 1, RANGE), undefined);
});

test('depth caps: GT outside (min, max) is excluded and predictions are clipped to the range', () => {
  // gt 12 m is beyond the 10 m cap and is excluded; pred 15 m against gt 9 m is clipped to 10 m:
  // AbsRel = |10 - 9| / 9 = 0.1111 (0.6667 unclipped); pred 0 against gt 1 is clipped to 1e-3: |1e-3 - 1| / 1 = 0.999.
  const capped = computeDepthMetrics([15, 3, 0], [9, 12, 1], 3, 1, RANGE);
  assert.ok(capped);
  assert.equal(capped.numValid, 2);
  close(capped.absRel, (1 / 9 + 0.999) / 2);
  const unclipped = computeDepthMetrics([15, 3, 0], [9, 12, 1], 3, 1, { ...RANGE, clipPrediction: false });
  assert.ok(unclipped);
  close(unclipped.absRel, (6 / 9 + 1) / 2);
  // The range is strict: gt exactly at the cap is excluded (UniDepth's demo GT saturates at 10.000 m).
  assert.equal(computeDepthMetrics([10], [10], 1, 1, RANGE), undefined);
  assert.throws(() => computeDepthMetrics([1], [1], 1, 1, { minDepthMeters: 5, maxDepthMeters: 1 }), InputError);
});

test('crops: Eigen (NYU) and Garg (KITTI) bounds and pixel counts', () => {
  assert.deepEqual(cropBounds(EIGEN_CROP_NYU, 640, 480), { top: 45, bottom: 471, left: 41, right: 601 });
  let n = 0;
  for (const v of cropMask(EIGEN_CROP_NYU, 640, 480)) n += v;
  assert.equal(n, (471 - 45) * (601 - 41)); // 426 * 560 = 238560
  // Garg on 1242x375: rows floor(0.40810811*375)=153 .. floor(0.99189189*375)=371,
  // cols floor(0.03594771*1242)=44 .. floor(0.96405229*1242)=1197.
  assert.deepEqual(cropBounds(GARG_CROP_KITTI, 1242, 375), { top: 153, bottom: 371, left: 44, right: 1197 });
  assert.throws(() => cropMask(EIGEN_CROP_NYU, 320, 240), /defined for 640x480/);
});

test('a crop removes errors outside it (the metric would fail without it)', () => {
  const width = 640;
  const height = 480;
  const gt = new Float32Array(width * height).fill(2);
  const pred = new Float32Array(gt);
  // Wrong by a factor 3 in the top 45 rows, which the Eigen crop leaves out.
  pred.fill(6, 0, 45 * width);
  const cropped = computeDepthMetrics(pred, gt, width, height, { ...RANGE, crop: EIGEN_CROP_NYU });
  const whole = computeDepthMetrics(pred, gt, width, height, RANGE);
  assert.ok(cropped && whole);
  assert.equal(cropped.absRel, 0);
  assert.equal(cropped.delta1, 1);
  close(whole.absRel, (2 * 45) / 480); // 45 of 480 rows have |6-2|/2 = 2
  close(whole.delta1, 1 - 45 / 480);
  // An extra mask works like a crop.
  const masked = evalMask(gt, width, height, { ...RANGE, mask: Uint8Array.from(gt, (_, i) => (i < 45 * width ? 0 : 1)) });
  let count = 0;
  for (const v of masked) count += v;
  assert.equal(count, (480 - 45) * 640);
});

test('dataset score is the mean of per-image metrics (not pooled)', () => {
  const a = computeDepthMetrics([2], [1], 1, 1, RANGE); // RMSE 1, AbsRel 1
  const b = computeDepthMetrics([4, 4], [1, 1], 2, 1, RANGE); // RMSE 3, AbsRel 3
  assert.ok(a && b);
  const mean = meanDepthMetrics([a, b]);
  close(mean.rmse, 2); // pooled over the 3 pixels would be sqrt((1 + 9 + 9)/3) = 2.517
  close(mean.absRel, 2);
  assert.throws(() => meanDepthMetrics([]), InputError);
});
