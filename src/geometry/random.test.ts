import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from './random.ts';

test('same seed gives the same sequence; different seeds differ', () => {
  const a = createRng(42);
  const b = createRng(42);
  const c = createRng(43);
  const seqA = Array.from({ length: 50 }, () => a.next());
  const seqB = Array.from({ length: 50 }, () => b.next());
  const seqC = Array.from({ length: 50 }, () => c.next());
  assert.deepEqual(seqA, seqB);
  assert.notDeepEqual(seqA, seqC);
});

test('next() is in [0, 1) with mean ~0.5; nextInt covers [0, n) evenly', () => {
  const rng = createRng(7);
  let sum = 0;
  const counts = new Array<number>(10).fill(0);
  const n = 100000;
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    assert.ok(u >= 0 && u < 1);
    sum += u;
    const k = rng.nextInt(10);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 10);
    counts[k]!++;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.005, `mean ${sum / n}`);
  for (const c of counts) assert.ok(Math.abs(c / n - 0.1) < 0.005, `bucket ${c / n}`);
});

test('nextGaussian has mean ~0 and standard deviation ~1', () => {
  const rng = createRng(3);
  const n = 100000;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const g = rng.nextGaussian();
    assert.ok(Number.isFinite(g));
    sum += g;
    sumSq += g * g;
  }
  const mean = sum / n;
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(sumSq / n - mean * mean) - 1) < 0.02);
});
