import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from './random.ts';
import { ransacIterations, runLoRansac, sampleWithoutReplacement, type RobustProblem } from './robust.ts';

/** A line a x + b y + c = 0 with a^2 + b^2 = 1. */
type Line = readonly [number, number, number];

/** Total least squares line through points (the smallest-eigenvector of the 2x2 scatter matrix, closed form). */
function fitLine(xs: Float64Array, ys: Float64Array, indices: ArrayLike<number>): Line | null {
  const n = indices.length;
  let mx = 0, my = 0;
  for (let k = 0; k < n; k++) { mx += xs[indices[k]!]!; my += ys[indices[k]!]!; }
  mx /= n; my /= n;
  let sxx = 0, sxy = 0, syy = 0;
  for (let k = 0; k < n; k++) {
    const dx = xs[indices[k]!]! - mx, dy = ys[indices[k]!]! - my;
    sxx += dx * dx; sxy += dx * dy; syy += dy * dy;
  }
  if (sxx + syy === 0) return null;
  // Direction of largest spread is at angle theta; the normal is perpendicular to it.
  const theta = 0.5 * Math.atan2(2 * sxy, sxx - syy);
  const a = -Math.sin(theta), b = Math.cos(theta);
  return [a, b, -(a * mx + b * my)];
}

function lineProblem(xs: Float64Array, ys: Float64Array): RobustProblem<Line> {
  return {
    sampleSize: 2,
    numData: xs.length,
    fitMinimal: (sample) => {
      const line = fitLine(xs, ys, sample);
      return line === null ? [] : [line];
    },
    fitNonMinimal: (indices) => fitLine(xs, ys, indices),
    squaredResidual: (line, i) => (line[0] * xs[i]! + line[1] * ys[i]! + line[2]) ** 2,
  };
}

/** Points on y = 0.5 x + 2 with Gaussian noise sigma, then `numOutliers` uniform points in the box. */
function linePoints(numInliers: number, numOutliers: number, sigma: number, seed: number): { xs: Float64Array; ys: Float64Array } {
  const rng = createRng(seed);
  const n = numInliers + numOutliers;
  const xs = new Float64Array(n), ys = new Float64Array(n);
  const normal = [-0.5 / Math.hypot(0.5, 1), 1 / Math.hypot(0.5, 1)];
  for (let i = 0; i < numInliers; i++) {
    const x = rng.next() * 100 - 50;
    const e = sigma * rng.nextGaussian();
    xs[i] = x + e * normal[0]!;
    ys[i] = 0.5 * x + 2 + e * normal[1]!;
  }
  for (let i = numInliers; i < n; i++) {
    xs[i] = rng.next() * 100 - 50;
    ys[i] = rng.next() * 100 - 50;
  }
  return { xs, ys };
}

test('ransacIterations matches log(1 - p) / log(1 - w^s)', () => {
  assert.equal(ransacIterations(0.5, 2, 0.99), Math.ceil(Math.log(0.01) / Math.log(0.75)));
  assert.equal(ransacIterations(0.5, 5, 0.9999), Math.ceil(Math.log(1e-4) / Math.log(1 - 1 / 32)));
  assert.equal(ransacIterations(1, 5, 0.99), 1);
  assert.equal(ransacIterations(0, 5, 0.99), Number.POSITIVE_INFINITY);
  // A tiny all-inlier probability must not round to "never" (log1p keeps it finite).
  assert.ok(Number.isFinite(ransacIterations(0.01, 8, 0.99)));
  assert.ok(ransacIterations(0.01, 8, 0.99) > 1e15);
  assert.throws(() => ransacIterations(0.5, 2, 1), RangeError);
});

test('sampleWithoutReplacement draws distinct indices in range, uniformly', () => {
  const rng = createRng(3);
  const counts = new Float64Array(10);
  const out = new Uint32Array(4);
  for (let trial = 0; trial < 20000; trial++) {
    sampleWithoutReplacement(rng, 10, out);
    assert.equal(new Set(out).size, 4);
    for (const i of out) { assert.ok(i < 10); counts[i]!++; }
  }
  // Each index is drawn with probability 4/10 per trial: 8000 +- 4 sigma (sigma ~ 69).
  for (const c of counts) assert.ok(Math.abs(c - 8000) < 280, `count ${c}`);
  // The shuffle path (k > n / 2) too.
  const big = new Uint32Array(90);
  sampleWithoutReplacement(rng, 100, big);
  assert.equal(new Set(big).size, 90);
  assert.throws(() => sampleWithoutReplacement(rng, 3, new Uint32Array(4)), RangeError);
});

test('runLoRansac finds a line among 60 % outliers and labels the inliers', () => {
  const { xs, ys } = linePoints(200, 300, 0.2, 11);
  const result = runLoRansac(lineProblem(xs, ys), { threshold: 1, seed: 5 });
  assert.ok(result !== null);
  const [a, b, c] = result.model;
  // Normalised line: slope -a/b = 0.5, intercept -c/b = 2.
  assert.ok(Math.abs(-a / b - 0.5) < 0.005, `slope ${-a / b}`);
  assert.ok(Math.abs(-c / b - 2) < 0.1, `intercept ${-c / b}`);
  // Every true inlier (noise 0.2, threshold 1 = 5 sigma) is found; few outliers fall within 1 of the line.
  for (let i = 0; i < 200; i++) assert.equal(result.inliers[i], 1, `inlier ${i}`);
  let falsePositives = 0;
  for (let i = 200; i < 500; i++) falsePositives += result.inliers[i]!;
  assert.ok(falsePositives < 20, `${falsePositives} outliers accepted`);
  assert.equal(result.numInliers, 200 + falsePositives);
  // Adaptive stopping: ~40 % inliers with s = 2 needs ~53 samples at 0.9999, far from the 10000 cap.
  assert.ok(result.iterations <= ransacIterations(200 / 500, 2, 0.9999) + 1, `${result.iterations} iterations`);
});

test('runLoRansac is deterministic for a seed, and local optimisation does not worsen the MSAC score', () => {
  const { xs, ys } = linePoints(150, 150, 0.5, 12);
  const problem = lineProblem(xs, ys);
  const options = { threshold: 1.5, seed: 9, minIterations: 50 };
  const first = runLoRansac(problem, options)!;
  const second = runLoRansac(problem, options)!;
  assert.deepEqual(first.model, second.model);
  assert.deepEqual(first.inliers, second.inliers);
  assert.equal(first.iterations, second.iterations);
  assert.ok(first.iterations >= 50);
  const plain = runLoRansac(problem, { ...options, localOptimization: false })!;
  assert.ok(first.score <= plain.score + 1e-9, `LO ${first.score} vs plain ${plain.score}`);
  // The MSAC score is what it says: sum of min(r^2, t^2).
  let expected = 0;
  for (let i = 0; i < xs.length; i++) expected += Math.min(problem.squaredResidual(first.model, i), 1.5 ** 2);
  assert.ok(Math.abs(first.score - expected) < 1e-9 * expected);
});

test('runLoRansac returns null with fewer data than a sample, and rejects bad options', () => {
  const xs = Float64Array.of(1), ys = Float64Array.of(2);
  assert.equal(runLoRansac(lineProblem(xs, ys), { threshold: 1 }), null);
  const { xs: x2, ys: y2 } = linePoints(10, 0, 0, 1);
  assert.throws(() => runLoRansac(lineProblem(x2, y2), { threshold: 0 }), RangeError);
  assert.throws(() => runLoRansac(lineProblem(x2, y2), { threshold: 1, confidence: 1 }), RangeError);
  // Identical points: every minimal sample is degenerate, no model.
  const same = new Float64Array(10).fill(3);
  assert.equal(runLoRansac(lineProblem(same, same), { threshold: 1, maxIterations: 20 }), null);
});
