import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoPairStrategy, selectPairs } from './pair-selection.ts';

test('exhaustive gives all N(N-1)/2 pairs once, i < j', () => {
  const pairs = selectPairs(6, { kind: 'exhaustive' });
  assert.equal(pairs.length, 15);
  assert.ok(pairs.every(([i, j]) => i < j));
  assert.equal(new Set(pairs.map(([i, j]) => `${i},${j}`)).size, 15);
});

test('sequential links each view to the next `window` views', () => {
  assert.deepEqual(selectPairs(4, { kind: 'sequential', window: 2 }), [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]);
});

test('retrieval keeps each view\'s most similar views and its sequence neighbours', () => {
  // Views on a circle: similarity is high for views close on the circle (wrapping around).
  const n = 12;
  const circular = (i: number, j: number): number => -Math.min(Math.abs(i - j), n - Math.abs(i - j));
  const pairs = selectPairs(n, { kind: 'retrieval', neighbours: 2, sequentialWindow: 0 }, circular);
  const keys = new Set(pairs.map(([i, j]) => `${i},${j}`));
  assert.ok(keys.has('0,11') && keys.has('0,1') && keys.has('10,11'), 'wrap-around neighbours found');
  assert.ok(!keys.has('0,6'), 'far views not matched');
  assert.equal(pairs.length, 12, 'each view has exactly its two circle neighbours');
  assert.throws(() => selectPairs(3, { kind: 'retrieval', neighbours: 1, sequentialWindow: 0 }));
  assert.equal(autoPairStrategy(20).kind, 'exhaustive');
  assert.equal(autoPairStrategy(100).kind, 'retrieval');
});
