import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../core/errors.ts';
import { createOverwriteMerger, ownerWindows, type MergedFrame } from './overwrite-merge.ts';
import { planWindows } from './windows.ts';

/** Streams a plan's windows through a merger; each output is `window:frame` so the kept window can be read. */
function stream(numFrames: number, length: number, stride: number): { frames: MergedFrame<string>[]; maxHeld: number; releasedAfter: number[][] } {
  const merger = createOverwriteMerger<string>();
  const frames: MergedFrame<string>[] = [];
  const releasedAfter: number[][] = [];
  let maxHeld = 0;
  for (const w of planWindows(numFrames, length, stride)) {
    const out = merger.push(w, Array.from({ length: w.end - w.start }, (_, k) => `${w.index}:${w.start + k}`));
    releasedAfter.push(out.map((f) => f.index));
    frames.push(...out);
    maxHeld = Math.max(maxHeld, merger.held);
  }
  const rest = merger.finish();
  releasedAfter.push(rest.map((f) => f.index));
  frames.push(...rest);
  return { frames, maxHeld, releasedAfter };
}

test('T=8, S=4 over 14 frames (a tail window moved back to 6-13): the later window keeps every overlap', () => {
  const plan = planWindows(14, 8, 4);
  assert.deepEqual(plan.map((w) => [w.start, w.end]), [[0, 8], [4, 12], [6, 14]]);
  // Written out by hand from the plan: frames 0-3 only in window 0; 4-5 in windows 0 and 1; 6-13 last in window 2.
  const expected = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2];
  assert.deepEqual([...ownerWindows(plan, 14)], expected);
  const { frames, maxHeld, releasedAfter } = stream(14, 8, 4);
  assert.deepEqual(frames.map((f) => f.index), Array.from({ length: 14 }, (_, i) => i), 'in frame order, each once');
  assert.deepEqual(frames.map((f) => f.window), expected);
  assert.deepEqual(frames.map((f) => f.value), expected.map((w, i) => `${w}:${i}`), 'the value is that window\'s output for that frame');
  // Frames leave as soon as no later window covers them; never more than one window (8 frames) held.
  assert.deepEqual(releasedAfter, [[], [0, 1, 2, 3], [4, 5], [6, 7, 8, 9, 10, 11, 12, 13]]);
  assert.equal(maxHeld, 8);
});

test('T=8, S=4 with no tail shift (16 frames), a video shorter than a window, stride = window', () => {
  assert.deepEqual([...ownerWindows(planWindows(16, 8, 4), 16)], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]);
  for (const [n, t, s] of [[16, 8, 4], [5, 8, 4], [24, 8, 8], [57, 10, 3]] as const) {
    const plan = planWindows(n, t, s);
    const { frames, maxHeld } = stream(n, t, s);
    assert.deepEqual(frames.map((f) => f.window), [...ownerWindows(plan, n)], `(${n}, ${t}, ${s}): streaming and whole-plan decisions agree`);
    // Independent check: the kept window is the last window whose span contains the frame.
    frames.forEach((f) => assert.equal(f.window, plan.filter((w) => w.start <= f.index && f.index < w.end).at(-1)!.index));
    assert.ok(maxHeld <= Math.min(n, t));
  }
});

test('misuse is an InputError: wrong count, out of order, a gap, use after finish, a frame in no window', () => {
  const m = createOverwriteMerger<number>();
  assert.throws(() => m.push({ index: 0, start: 0, end: 4 }, [1, 2, 3]), (e: unknown) => e instanceof InputError && /3 outputs/.test(e.message));
  m.push({ index: 0, start: 0, end: 4 }, [1, 2, 3, 4]);
  assert.throws(() => m.push({ index: 1, start: 0, end: 4 }, [1, 2, 3, 4]), /out of order/);
  assert.throws(() => m.push({ index: 1, start: 5, end: 9 }, [1, 2, 3, 4]), /gap/);
  m.finish();
  assert.throws(() => m.push({ index: 1, start: 2, end: 6 }, [1, 2, 3, 4]), /finished/);
  assert.throws(() => ownerWindows([{ index: 0, start: 0, end: 4 }], 6), /frame 4 is in no window/);
});
