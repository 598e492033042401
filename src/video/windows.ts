/**
 * The window plan of L4P (and Video Depth Anything, DA3-Streaming): a video of N frames is processed in
 * windows of T frames that start every S frames (S = T/2 by default), so that consecutive windows share
 * T - S frames, on which each new window is aligned to the previous ones.
 *
 * The last window is moved back to end at the last frame, so every window has T frames when N >= T (a video
 * model needs its full input), at the price of a larger overlap at the end. N <= T gives one window.
 */
import { InputError } from '../core/errors.ts';

/** Frames [start, end) of one window; index is its position in the plan. */
export interface FrameWindow {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

/** The default stride: half the window, at least 1. */
export function defaultStride(length: number): number {
  return Math.max(1, Math.floor(length / 2));
}

/** Windows of `length` frames every `stride` frames over `numFrames` frames (see the module comment). */
export function planWindows(numFrames: number, length: number, stride: number = defaultStride(length)): FrameWindow[] {
  if (!Number.isInteger(numFrames) || numFrames < 1) throw new InputError(`a video needs at least one frame, got ${numFrames}.`);
  if (!Number.isInteger(length) || length < 1) throw new InputError(`the window length must be a positive whole number of frames, got ${length}.`);
  if (!Number.isInteger(stride) || stride < 1 || stride > length) {
    throw new InputError(`the window stride must be 1 to the window length (${length}) frames, got ${stride}: a larger stride would skip frames.`);
  }
  if (numFrames <= length) return [{ index: 0, start: 0, end: numFrames }];
  const windows: FrameWindow[] = [];
  for (let start = 0; ; start += stride) {
    if (start + length >= numFrames) {
      windows.push({ index: windows.length, start: numFrames - length, end: numFrames });
      break;
    }
    windows.push({ index: windows.length, start, end: start + length });
  }
  return windows;
}
