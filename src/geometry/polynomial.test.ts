import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { evaluatePolynomial, realPolynomialRoots } from './polynomial.ts';
import { createRng } from './random.ts';

/** Ascending coefficients of prod (t - r) over the real roots times prod (t^2 - 2 re t + re^2 + im^2) over the complex pairs. */
function fromRoots(real: readonly number[], complex: readonly (readonly [number, number])[] = [], lead = 1): number[] {
  let c = [lead];
  const times = (factor: readonly number[]): void => {
    const out = new Array<number>(c.length + factor.length - 1).fill(0);
    for (let i = 0; i < c.length; i++) for (let j = 0; j < factor.length; j++) out[i + j]! += c[i]! * factor[j]!;
    c = out;
  };
  for (const r of real) times([-r, 1]);
  for (const [re, im] of complex) times([re * re + im * im, -2 * re, 1]);
  return c;
}

/** Real eigenvalues of the companion matrix (ml-matrix): the peer for random polynomials. */
function companionRealRoots(c: readonly number[]): number[] {
  const n = c.length - 1;
  const m = Matrix.zeros(n, n);
  for (let i = 1; i < n; i++) m.set(i, i - 1, 1);
  for (let i = 0; i < n; i++) m.set(i, n - 1, -c[i]! / c[n]!);
  const e = new EigenvalueDecomposition(m);
  return e.realEigenvalues.filter((_, i) => Math.abs(e.imaginaryEigenvalues[i]!) < 1e-9).sort((a, b) => a - b);
}

test('realPolynomialRoots: known real roots among complex pairs, to machine precision', () => {
  const roots = realPolynomialRoots(fromRoots([-3.5, 0.25, 1, 7], [[0.5, 2], [-1, 0.1], [4, 3]], -2.5));
  const expected = [-3.5, 0.25, 1, 7];
  assert.equal(roots.length, 4);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(roots[i]! - expected[i]!) < 1e-12, `${roots[i]} vs ${expected[i]}`);
  // Close but distinct roots are separated; a complex-only polynomial has none; linear and constant cases.
  const close = realPolynomialRoots(fromRoots([1, 1 + 1e-6, 2]));
  assert.equal(close.length, 3);
  assert.ok(Math.abs(close[1]! - (1 + 1e-6)) < 1e-9);
  assert.deepEqual(realPolynomialRoots(fromRoots([], [[0, 1], [2, 0.5]])), []);
  assert.deepEqual(realPolynomialRoots([6, -3]), [2]);
  assert.deepEqual(realPolynomialRoots([5]), []);
  assert.deepEqual(realPolynomialRoots([0, 0, 0]), []);
  // A negligible leading coefficient lowers the degree instead of creating a root near infinity.
  assert.deepEqual(realPolynomialRoots([-2, 1, 1e-20]), [2]);
});

test('realPolynomialRoots: a double root is found once, between its simple neighbours', () => {
  const roots = realPolynomialRoots(fromRoots([-1, 2, 2, 5]));
  assert.equal(roots.length, 3);
  assert.ok(Math.abs(roots[1]! - 2) < 1e-6, `double root at ${roots[1]}`);
  assert.ok(Math.abs(roots[0]! + 1) < 1e-12 && Math.abs(roots[2]! - 5) < 1e-12);
});

test('realPolynomialRoots matches the real eigenvalues of the companion matrix on random degree-10 polynomials', () => {
  const rng = createRng(7);
  let worst = 0, total = 0;
  for (let trial = 0; trial < 300; trial++) {
    const c = Array.from({ length: 11 }, () => rng.nextGaussian() * Math.pow(10, 2 * rng.next() - 1));
    const ours = realPolynomialRoots(c);
    const peer = companionRealRoots(c);
    assert.equal(ours.length, peer.length, `trial ${trial}: ${ours} vs ${peer}`);
    for (let i = 0; i < ours.length; i++) {
      worst = Math.max(worst, Math.abs(ours[i]! - peer[i]!) / Math.max(1, Math.abs(peer[i]!)));
      // Ours are polished: the residual is at rounding level of the terms.
      let termSize = 0;
      for (let k = 0; k < c.length; k++) termSize += Math.abs(c[k]! * Math.pow(ours[i]!, k));
      assert.ok(Math.abs(evaluatePolynomial(c, ours[i]!)) <= 1e-12 * termSize, `residual at ${ours[i]}`);
    }
    total += ours.length;
  }
  assert.ok(worst < 1e-8, `largest difference from the companion eigenvalues ${worst}`);
  assert.ok(total > 300, `${total} real roots over 300 polynomials`);
});
