import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../core/errors.ts';
import { estimateHomography, homographyDlt, transferErrorSquared } from './homography.ts';
import { invert3, mul3, rotationFromAxisAngle, type Mat3 } from './mat3.ts';
import { createRng, type Rng } from './random.ts';

/** A random, well-conditioned perspective homography of a 640x480 image (H[8] = 1). */
function randomHomography(rng: Rng): Mat3 {
  // K R K^-1 + a little plane-induced parallax, i.e. a real camera motion over a plane.
  const k = Float64Array.of(600, 0, 320, 0, 600, 240, 0, 0, 1);
  const r = rotationFromAxisAngle([0.1 * rng.nextGaussian(), 0.1 * rng.nextGaussian(), 0.1 * rng.nextGaussian()]);
  const t = [0.2 * rng.nextGaussian(), 0.2 * rng.nextGaussian(), 0.1 * rng.nextGaussian()];
  const n = [0.1 * rng.nextGaussian(), 0.1 * rng.nextGaussian(), 1];
  const euclidean = Float64Array.from(r, (v, i) => v + t[Math.floor(i / 3)]! * n[i % 3]!);
  const h = mul3(mul3(k, euclidean), invert3(k));
  return h.map((v) => v / h[8]!);
}

function apply(h: Mat3, x: number, y: number): [number, number] {
  const w = h[6]! * x + h[7]! * y + h[8]!;
  return [(h[0]! * x + h[1]! * y + h[2]!) / w, (h[3]! * x + h[4]! * y + h[5]!) / w];
}

function makeMatches(rng: Rng, h: Mat3, count: number, noisePx: number, outlierRatio: number) {
  const pixels0 = new Float64Array(2 * count), pixels1 = new Float64Array(2 * count);
  const isInlier = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const x = rng.next() * 640, y = rng.next() * 480;
    const [u, v] = apply(h, x, y);
    pixels0[2 * i] = x + noisePx * rng.nextGaussian();
    pixels0[2 * i + 1] = y + noisePx * rng.nextGaussian();
    if (rng.next() < outlierRatio) {
      pixels1[2 * i] = rng.next() * 640; pixels1[2 * i + 1] = rng.next() * 480;
    } else {
      pixels1[2 * i] = u + noisePx * rng.nextGaussian(); pixels1[2 * i + 1] = v + noisePx * rng.nextGaussian();
      isInlier[i] = 1;
    }
  }
  return { pixels0, pixels1, isInlier };
}

const maxAbsDifference = (a: Mat3, b: Mat3): number => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

test('homographyDlt: exact on exact data (4 points and many), weights switch points off', () => {
  const rng = createRng(1);
  for (let trial = 0; trial < 30; trial++) {
    const h = randomHomography(rng);
    const { pixels0, pixels1 } = makeMatches(rng, h, 50, 0, 0);
    assert.ok(maxAbsDifference(homographyDlt(pixels0, pixels1)!, h) < 1e-9 * Math.max(...h.map(Math.abs)));
    assert.ok(maxAbsDifference(homographyDlt(pixels0, pixels1, [3, 17, 29, 41])!, h) < 1e-7 * Math.max(...h.map(Math.abs)));
    // Corrupt ten points and give them zero weight: still exact.
    const corrupted = Float64Array.from(pixels1);
    const weights = new Float64Array(50).fill(1);
    for (let i = 0; i < 10; i++) { corrupted[2 * i] = corrupted[2 * i]! + 50; weights[i] = 0; }
    assert.ok(maxAbsDifference(homographyDlt(pixels0, corrupted, undefined, weights)!, h) < 1e-9 * Math.max(...h.map(Math.abs)));
    assert.ok(maxAbsDifference(homographyDlt(pixels0, corrupted)!, h) > 1e-3, 'without weights the corruption shows');
  }
  // Collinear points do not determine H.
  const line = Float64Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? i * 10 : i * 5 + 3));
  assert.equal(homographyDlt(line, line), null);
  assert.equal(homographyDlt(line, line, [0, 1, 2]), null);
});

test('estimateHomography: exact data gives H to machine precision; noise and 50 % outliers are handled', () => {
  const rng = createRng(2);
  const h = randomHomography(rng);
  const exact = makeMatches(rng, h, 100, 0, 0);
  const fit = estimateHomography(exact.pixels0, exact.pixels1, { thresholdPx: 0.01 })!;
  assert.equal(fit.numInliers, 100);
  assert.ok(maxAbsDifference(fit.homography, h) < 1e-9 * Math.max(...h.map(Math.abs)));
  for (let trial = 0; trial < 3; trial++) {
    const truth = randomHomography(rng);
    const data = makeMatches(rng, truth, 400, 0.5, 0.5);
    const result = estimateHomography(data.pixels0, data.pixels1, { thresholdPx: 2, seed: trial })!;
    let recall = 0, falsePositives = 0, trueInliers = 0;
    for (let i = 0; i < 400; i++) {
      trueInliers += data.isInlier[i]!;
      if (result.inliers[i]) { if (data.isInlier[i]) recall++; else falsePositives++; }
    }
    assert.ok(recall > 0.95 * trueInliers, `recall ${recall}/${trueInliers}`);
    assert.ok(falsePositives <= 3, `${falsePositives} outliers accepted`);
    // Transfer of noise-free points through the estimate: within a fraction of the noise over the image.
    let worst = 0;
    for (let k = 0; k < 100; k++) {
      const x = rng.next() * 640, y = rng.next() * 480;
      const [u, v] = apply(truth, x, y);
      worst = Math.max(worst, Math.sqrt(transferErrorSquared(result.homography, x, y, u, v)));
    }
    assert.ok(worst < 0.5, `max transfer error ${worst} px`);
  }
});

test('estimateHomography is deterministic for a seed and validates its input', () => {
  const rng = createRng(3);
  const data = makeMatches(rng, randomHomography(rng), 200, 1, 0.4);
  const a = estimateHomography(data.pixels0, data.pixels1, { thresholdPx: 3, seed: 11 })!;
  const b = estimateHomography(data.pixels0, data.pixels1, { thresholdPx: 3, seed: 11 })!;
  assert.deepEqual(a.homography, b.homography);
  assert.deepEqual(a.inliers, b.inliers);
  assert.throws(() => estimateHomography(new Float64Array(8), new Float64Array(10)), InputError);
  assert.throws(() => estimateHomography(new Float64Array(8), new Float64Array(8), { thresholdPx: 0 }), InputError);
  assert.equal(estimateHomography(new Float64Array(6), new Float64Array(6)), null);
});
