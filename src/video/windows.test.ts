import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../core/errors.ts';
import { defaultStride, planWindows } from './windows.ts';

const spans = (n: number, t: number, s?: number) => planWindows(n, t, s).map((w) => [w.start, w.end]);

test('windows of T frames every T/2 frames; the last one ends at the last frame, full length', () => {
  assert.equal(defaultStride(32), 16);
  assert.equal(defaultStride(1), 1);
  assert.deepEqual(spans(10, 4), [[0, 4], [2, 6], [4, 8], [6, 10]]);
  assert.deepEqual(spans(11, 4), [[0, 4], [2, 6], [4, 8], [6, 10], [7, 11]]);
  assert.deepEqual(spans(5, 4, 2), [[0, 4], [1, 5]]);
  assert.deepEqual(spans(7, 3, 3), [[0, 3], [3, 6], [4, 7]]);
  assert.deepEqual(spans(6, 1, 1), [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]);
});

test('a video no longer than one window is one window', () => {
  assert.deepEqual(spans(3, 8), [[0, 3]]);
  assert.deepEqual(spans(8, 8), [[0, 8]]);
  assert.deepEqual(planWindows(1, 32), [{ index: 0, start: 0, end: 1 }]);
});

test('every frame is covered, consecutive windows overlap, indices count up', () => {
  for (const [n, t, s] of [[100, 32, 16], [57, 10, 3], [33, 32, 31], [1000, 16, 16]] as const) {
    const windows = planWindows(n, t, s);
    const covered = new Uint8Array(n);
    windows.forEach((w, i) => {
      assert.equal(w.index, i);
      assert.equal(w.end - w.start, t);
      for (let f = w.start; f < w.end; f++) covered[f] = 1;
      if (i > 0) assert.ok(w.start < windows[i - 1]!.end || s === t, `windows ${i - 1} and ${i} of (${n}, ${t}, ${s}) overlap`);
    });
    assert.ok(covered.every((c) => c === 1));
  }
});

test('bad plans are InputErrors that say why', () => {
  assert.throws(() => planWindows(0, 4), (e: unknown) => e instanceof InputError && /at least one frame/.test(e.message));
  assert.throws(() => planWindows(10, 0), InputError);
  assert.throws(() => planWindows(10, 4, 5), (e: unknown) => e instanceof InputError && /skip frames/.test(e.message));
  assert.throws(() => planWindows(10, 4, 0), InputError);
});
