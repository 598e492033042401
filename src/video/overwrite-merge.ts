/**
 * Overwrite merge of per-frame outputs that are not aligned (optical flow, motion masks, tracks' visibility):
 * where windows overlap, the LATER window's output is kept, as L4P does. Such outputs have no unknown affine
 * map to undo, and a blend of two flow fields or two masks is neither; the later window has also seen more of
 * what follows the overlap.
 *
 * ownerWindows gives the decision for a whole plan at once; createOverwriteMerger makes the same decision as
 * windows stream in, handing frames out in frame order as soon as no later window can overwrite them, so that
 * it holds at most one window's outputs.
 */
import { InputError } from '../core/errors.ts';
import type { FrameWindow } from './windows.ts';

/** For each of `numFrames` frames, the index of the window whose output is kept: the last window that covers it. */
export function ownerWindows(plan: readonly FrameWindow[], numFrames: number): Int32Array {
  const owners = new Int32Array(numFrames).fill(-1);
  for (const w of plan) for (let f = w.start; f < Math.min(w.end, numFrames); f++) owners[f] = w.index;
  const missing = owners.indexOf(-1);
  if (missing >= 0) throw new InputError(`frame ${missing} is in no window of the plan.`);
  return owners;
}

/** One frame's kept output and the window that gave it. */
export interface MergedFrame<T> {
  readonly index: number;
  readonly window: number;
  readonly value: T;
}

export interface OverwriteMerger<T> {
  /**
   * Adds one window's outputs, frames window.start .. window.end - 1 in order; windows come in plan order.
   * Returns the frames that are final now (before this window's start), in frame order.
   */
  push(window: FrameWindow, outputs: readonly T[]): MergedFrame<T>[];
  /** Returns the frames still held, in frame order; the merger is done after this. */
  finish(): MergedFrame<T>[];
  /** Frames held now: at most one window. */
  readonly held: number;
}

export function createOverwriteMerger<T>(): OverwriteMerger<T> {
  // The latest window's outputs: every frame not yet handed out lies in it.
  let held: MergedFrame<T>[] = [];
  let lastStart = -1;
  let nextFrame = 0;
  let done = false;
  return {
    push(window, outputs) {
      if (done) throw new InputError('the merger has finished; start a new one for another video.');
      if (outputs.length !== window.end - window.start) {
        throw new InputError(`window ${window.index} covers frames ${window.start}-${window.end - 1} but ${outputs.length} outputs came.`);
      }
      if (window.start <= lastStart || window.start > nextFrame) {
        throw new InputError(`window ${window.index} (frames ${window.start}-${window.end - 1}) is out of order or leaves a gap after frame ${nextFrame - 1}.`);
      }
      lastStart = window.start;
      // Frames before the new window's start: no later window covers them (windows start in increasing order).
      const final = held.filter((f) => f.index < window.start);
      held = outputs.map((value, k) => ({ index: window.start + k, window: window.index, value }));
      nextFrame = Math.max(nextFrame, window.end);
      return final;
    },
    finish() {
      done = true;
      const out = held;
      held = [];
      return out;
    },
    get held() {
      return held.length;
    },
  };
}
