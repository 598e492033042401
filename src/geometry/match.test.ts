import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.ts';
import { matchMutualNearest, nearestNeighbours, type DescriptorSet } from './match.ts';
import { createRng } from './random.ts';
import { randomDescriptors } from '../../test/helpers/descriptors.ts';

function set(rows: readonly (readonly number[])[]): DescriptorSet {
  const dim = rows[0]?.length ?? 1;
  return { count: rows.length, descriptorSize: dim, descriptors: Float32Array.from(rows.flat()) };
}

/** The plainest possible reference: the full similarity matrix, argmax both ways (first index on ties), mutual check. */
function bruteForceMutual(a: DescriptorSet, b: DescriptorSet, minSimilarity = Number.NEGATIVE_INFINITY) {
  const d = a.descriptorSize;
  const sim = (i: number, j: number): number => {
    let s = 0;
    for (let k = 0; k < d; k++) s += a.descriptors[i * d + k]! * b.descriptors[j * d + k]!;
    return s;
  };
  const rowBest: number[] = [];
  for (let i = 0; i < a.count; i++) {
    let best = 0;
    for (let j = 1; j < b.count; j++) if (sim(i, j) > sim(i, best)) best = j;
    rowBest.push(best);
  }
  const colBest: number[] = [];
  for (let j = 0; j < b.count; j++) {
    let best = 0;
    for (let i = 1; i < a.count; i++) if (sim(i, j) > sim(best, j)) best = i;
    colBest.push(best);
  }
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < a.count; i++) {
    const j = rowBest[i]!;
    if (colBest[j] === i && sim(i, j) > minSimilarity) pairs.push([i, j, sim(i, j)]);
  }
  return pairs;
}

function pairsOf(m: ReturnType<typeof matchMutualNearest>): [number, number, number][] {
  return Array.from({ length: m.count }, (_, k) => [m.indices0[k]!, m.indices1[k]!, m.similarity[k]!]);
}

describe('matchMutualNearest', () => {
  it('equals a brute-force mutual nearest neighbour search (odd sizes, 64-D and 5-D, with and without a threshold)', () => {
    for (const [n, m, dim, seed] of [[37, 53, 64, 1], [64, 64, 64, 2], [101, 7, 5, 3], [1, 9, 64, 4], [10, 1, 64, 5], [203, 198, 64, 6]] as const) {
      const a = randomDescriptors(n, dim, seed);
      const b = randomDescriptors(m, dim, seed + 100);
      for (const minSimilarity of [undefined, 0.2]) {
        const expected = bruteForceMutual(a, b, minSimilarity).map(([i, j, s]) => [i, j, Math.fround(s)]);
        const got = pairsOf(matchMutualNearest(a, b, minSimilarity === undefined ? {} : { minSimilarity }));
        assert.deepEqual(got, expected, `${n}x${m}x${dim} min ${minSimilarity}`);
      }
      const nn = nearestNeighbours(a, b);
      assert.equal(nn.best1For0.length, n);
      assert.equal(nn.best0For1.length, m);
    }
  });

  it('recovers a known permutation of noisy copies with similarity near 1', () => {
    const n = 150;
    const dim = 64;
    const a = randomDescriptors(n, dim, 11);
    const rng = createRng(12);
    const permutation = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [permutation[i], permutation[j]] = [permutation[j]!, permutation[i]!];
    }
    // b[permutation[i]] = a[i] + small noise, renormalised.
    const b = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      let sq = 0;
      for (let k = 0; k < dim; k++) {
        const v = a.descriptors[i * dim + k]! + 0.01 * rng.nextGaussian();
        b[permutation[i]! * dim + k] = v;
        sq += v * v;
      }
      for (let k = 0; k < dim; k++) b[permutation[i]! * dim + k] = b[permutation[i]! * dim + k]! / Math.sqrt(sq);
    }
    const matches = matchMutualNearest(a, { count: n, descriptorSize: dim, descriptors: b });
    assert.equal(matches.count, n);
    for (let k = 0; k < n; k++) {
      assert.equal(matches.indices0[k], k);
      assert.equal(matches.indices1[k], permutation[k]);
      assert.ok(matches.similarity[k]! > 0.99);
    }
  });

  it('breaks exact ties by the lowest index, both ways', () => {
    const e1 = [1, 0, 0];
    const e2 = [0, 1, 0];
    // b holds e1 twice: a's e1 goes to b[0]; b[1]'s best is a[0] too, but a[0] is taken by b[0] (not mutual).
    let m = matchMutualNearest(set([e1, e2]), set([e1, e1, e2]));
    assert.deepEqual(pairsOf(m), [[0, 0, 1], [1, 2, 1]]);
    // a holds e1 twice: only a[0] is b[0]'s nearest neighbour.
    m = matchMutualNearest(set([e1, e1]), set([e1]));
    assert.deepEqual(pairsOf(m), [[0, 0, 1]]);
  });

  it('applies the threshold strictly (XFeat keeps similarity > min)', () => {
    const a = set([[0.6, 0.8]]);
    const b = set([[1, 0]]);
    const s = Math.fround(0.6);
    assert.equal(matchMutualNearest(a, b, { minSimilarity: s - 1e-6 }).count, 1);
    assert.equal(matchMutualNearest(a, b, { minSimilarity: s }).count, 0);
    assert.equal(matchMutualNearest(a, b, { minSimilarity: 0.82 }).count, 0);
  });

  it('handles empty sets and rejects malformed input', () => {
    const a = randomDescriptors(5, 8, 1);
    const empty: DescriptorSet = { count: 0, descriptorSize: 8, descriptors: new Float32Array(0) };
    assert.equal(matchMutualNearest(a, empty).count, 0);
    assert.equal(matchMutualNearest(empty, a).count, 0);
    assert.throws(() => matchMutualNearest(a, randomDescriptors(5, 9, 2)), InputError);
    assert.throws(() => matchMutualNearest(a, { count: 5, descriptorSize: 8, descriptors: new Float32Array(39) }), InputError);
    assert.throws(() => matchMutualNearest(a, a, { minSimilarity: Number.NaN }), InputError);
  });
});
