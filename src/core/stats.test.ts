import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median } from './stats.ts';

test('median: odd, even, empty, and the input is left alone', () => {
  const values = [5, 1, 3];
  assert.equal(median(values), 3);
  assert.deepEqual(values, [5, 1, 3]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(median([Infinity, 1, 2]), 2);
});
