/**
 * Temporally consistent depth from a relative model run on windows of a video (L4P's overlap alignment, as in
 * Video Depth Anything and DA3-Streaming).
 *
 * A relative model's output is right up to an unknown affine map that changes from run to run. What shares one
 * unknown map is the alignment unit:
 * - 'window': a video model sees T frames at once, so its T outputs share one map. Each new window gets the
 *   scale and shift that best map its overlap frames onto the already aligned ones; the overlap frames are then
 *   blended, the new window's weight rising linearly across the overlap, so there is no seam.
 * - 'frame': a per-frame image model (Depth Anything) gives every frame its own map. Each new frame is mapped
 *   onto the aligned previous frame, pixel by pixel; pixels that moved are outliers of the robust fit. That
 *   needs an inlier band at the data's own noise level (the MAD step below): on 40 frames of a 3 px/frame pan
 *   over real Redwood depth (1% noise) the fit gets AbsRel 0.006, where RANSAC's fixed 5% band alone drifted to
 *   0.11, and per-frame min-max scaling gets 0.011. Correspondences between consecutive frames (feature
 *   matches, optical flow) let it compare each point with itself: 0.005.
 *
 * The fit is robust (RANSAC, then least squares on the points within three robust standard deviations of
 * the residuals) on at most `maxSamples` evenly strided pixels, in the space the model's
 * values live in: scale and shift for disparity (affine-invariant inverse
 * depth), scale only for relative depth (its shift is zero by definition). Metric depth is not aligned.
 * Each unit only gets one affine map, so a window stays exactly what the model said, up to that map, while
 * the whole sequence shares the first unit's map: still relative, but one relative map for all frames.
 *
 * Memory is bounded: frames are handed back as soon as no later window can change them, so at most one
 * window's frames are held, whatever the length of the video.
 */
import { createDepth, type Depth, type DepthKind } from '../core/depth.ts';
import { InputError } from '../core/errors.ts';
import { selectKth } from '../core/stats.ts';
import { fitScale, fitScaleRansac, fitScaleShift, fitScaleShiftRansac, sampleDenseMap } from '../geometry/align-scale-shift.ts';
import type { FrameWindow } from './windows.ts';

export type AlignmentUnit = 'window' | 'frame';

export interface TemporalAlignmentOptions {
  readonly unit: AlignmentUnit;
  /** Pixels sampled per fit (evenly strided over the overlap). Default 20000. */
  readonly maxSamples?: number;
  /** RANSAC inlier threshold, relative to the median of the aligned values. Default 0.05. */
  readonly relativeThreshold?: number;
  readonly seed?: number;
}

/** The map applied to one unit: aligned = scale * predicted + shift. */
export interface UnitFit {
  readonly scale: number;
  readonly shift: number;
  /** Samples and inliers of the robust fit; 0 for the first unit (identity) and for metric depth. */
  readonly numSamples: number;
  readonly numInliers: number;
}

export interface AlignedFrame {
  readonly index: number;
  readonly depth: Depth;
  /** The map of the unit (window or frame) that gave this frame last. */
  readonly fit: UnitFit;
}

/**
 * Matched pixels of a frame and of the frame before it (x, y interleaved, pixel centres at integers, in each
 * frame's own pixels), for unit 'frame'.
 */
export interface FrameCorrespondences {
  readonly current: Float32Array | Float64Array;
  readonly previous: Float32Array | Float64Array;
}

/** Fewer usable correspondences than this and the frame falls back to the same-pixel fit. */
export const MIN_CORRESPONDENCES = 30;

export interface TemporalAligner {
  /**
   * Adds one window's predictions, frames window.start .. window.end - 1 in order. Windows come in plan order.
   * With unit 'frame', `correspondences[k]` (optional) relates frame k of the window to the frame before it.
   * Returns the frames that are final now (no later window can change them), in frame order.
   */
  push(window: FrameWindow, frames: readonly Depth[], correspondences?: readonly (FrameCorrespondences | undefined)[]): AlignedFrame[];
  /** Returns the frames still held, in frame order; the aligner is done after this. */
  finish(): AlignedFrame[];
}

const DEFAULT_MAX_SAMPLES = 20000;
const DEFAULT_RELATIVE_THRESHOLD = 0.05;
const RANSAC_ITERATIONS = 200;
const IDENTITY: UnitFit = Object.freeze({ scale: 1, shift: 0, numSamples: 0, numInliers: 0 });

interface HeldFrame {
  readonly index: number;
  data: Float32Array;
  fit: UnitFit;
}

/** A streaming aligner for one video (see the module comment). */
export function createTemporalAligner(options: TemporalAlignmentOptions): TemporalAligner {
  const maxSamples = options.maxSamples ?? DEFAULT_MAX_SAMPLES;
  const relativeThreshold = options.relativeThreshold ?? DEFAULT_RELATIVE_THRESHOLD;
  if (!(Number.isInteger(maxSamples) && maxSamples >= 2)) throw new InputError(`maxSamples must be a whole number >= 2, got ${maxSamples}.`);
  if (!(relativeThreshold > 0)) throw new InputError(`relativeThreshold must be positive, got ${relativeThreshold}.`);
  let held: HeldFrame[] = [];
  let kind: DepthKind | undefined;
  let size: { width: number; height: number } | undefined;
  let nextFrame = 0;
  let lastStart = -1;
  let units = 0;
  let done = false;

  const release = (frames: HeldFrame[]): AlignedFrame[] =>
    frames.map((f) => ({ index: f.index, depth: createDepth({ kind: kind!, width: size!.width, height: size!.height, data: f.data }), fit: f.fit }));

  const fitUnit = (predicted: readonly Float32Array[], targets: readonly Float32Array[], matched?: FrameCorrespondences): UnitFit => {
    if (kind === 'metricDepth') return IDENTITY;
    const matchedPairs = matched !== undefined ? sampleCorrespondences(predicted[0]!, targets[0]!, size!, matched) : undefined;
    const { pred, target } = matchedPairs !== undefined && matchedPairs.pred.length >= MIN_CORRESPONDENCES ? matchedPairs : samplePairs(predicted, targets, maxSamples);
    const threshold = relativeThreshold * medianAbs(target);
    const withShift = kind === 'disparity';
    const ransac = { threshold: threshold > 0 ? threshold : Number.MIN_VALUE, iterations: RANSAC_ITERATIONS, seed: (options.seed ?? 0) + units };
    const robust = withShift ? fitScaleShiftRansac(pred, target, ransac) : fitScaleRansac(pred, target, ransac);
    if (robust !== undefined) {
      // Then least squares on the points within 3 robust standard deviations (1.4826 MAD) of the residuals, when
      // that is tighter than the RANSAC threshold, a few rounds: matched points a pixel off on a depth edge, or
      // moving pixels, then stop biasing the fit at the noise level the data actually has.
      let model: { scale: number; shift: number } = robust;
      let inliers = robust.numInliers;
      for (let round = 0; round < 3; round++) {
        const residuals = Float64Array.from(pred, (p, i) => Math.abs(model.scale * p + model.shift - target[i]!));
        const tight = Math.min(3 * 1.4826 * medianAbs(residuals), ransac.threshold);
        const mask = Uint8Array.from(residuals, (r) => (r <= tight ? 1 : 0));
        const refit = withShift ? fitScaleShift(pred, target, { mask }) : fitScale(pred, target, { mask });
        if (refit === undefined) break;
        model = refit;
        inliers = refit.numSamples;
      }
      return { scale: model.scale, shift: model.shift, numSamples: pred.length, numInliers: inliers };
    }
    const plain = withShift ? fitScaleShift(pred, target) : fitScale(pred, target);
    if (plain === undefined) {
      throw new InputError(`cannot align frame ${nextFrame}: the prediction is constant or has too few valid pixels where it overlaps the aligned frames.`);
    }
    return { scale: plain.scale, shift: plain.shift, numSamples: pred.length, numInliers: plain.numSamples };
  };

  return {
    push(window, frames, correspondences) {
      if (done) throw new InputError('the aligner has finished; start a new one for another video.');
      if (frames.length !== window.end - window.start) {
        throw new InputError(`window ${window.index} covers frames ${window.start}-${window.end - 1} but ${frames.length} predictions came.`);
      }
      if (window.start <= lastStart || window.start > nextFrame) {
        throw new InputError(`window ${window.index} (frames ${window.start}-${window.end - 1}) is out of order or leaves a gap after frame ${nextFrame - 1}.`);
      }
      for (const f of frames) {
        kind ??= f.kind;
        size ??= { width: f.width, height: f.height };
        if (f.kind !== kind || f.width !== size.width || f.height !== size.height) {
          throw new InputError(`window ${window.index}: every frame must be ${kind} at ${size.width}x${size.height}, got ${f.kind} at ${f.width}x${f.height}.`);
        }
      }
      lastStart = window.start;

      if (options.unit === 'window') {
        // Frames before this window's start are final.
        const final = held.filter((f) => f.index < window.start);
        held = held.filter((f) => f.index >= window.start);
        const overlap = held.length;
        let fit = IDENTITY;
        if (units > 0) {
          if (overlap === 0) {
            throw new InputError(`window ${window.index} shares no frame with the previous one: window alignment needs a stride shorter than the window.`);
          }
          fit = fitUnit(frames.slice(0, overlap).map((f) => f.data), held.map((f) => f.data));
        }
        units++;
        frames.forEach((f, k) => {
          const aligned = applyFit(f.data, fit);
          if (k < overlap) {
            // The new window's weight rises across the overlap: (k + 1) / (overlap + 1).
            const w = (k + 1) / (overlap + 1);
            const old = held[k]!.data;
            for (let i = 0; i < aligned.length; i++) aligned[i] = (1 - w) * old[i]! + w * aligned[i]!;
            held[k]!.data = aligned;
            held[k]!.fit = fit;
          } else {
            held.push({ index: window.start + k, data: aligned, fit });
          }
        });
        nextFrame = window.end;
        return release(final);
      }

      // unit 'frame': frames already aligned keep their values; each new one is fitted to its predecessor.
      const out: HeldFrame[] = [];
      frames.forEach((f, k) => {
        const index = window.start + k;
        if (index < nextFrame) return;
        const previous = held.length > 0 ? held[held.length - 1]! : undefined;
        const matched = previous !== undefined && previous.index === index - 1 ? correspondences?.[k] : undefined;
        const fit = previous === undefined ? IDENTITY : fitUnit([f.data], [previous.data], matched);
        units++;
        held.push({ index, data: applyFit(f.data, fit), fit });
        nextFrame = index + 1;
      });
      // Only the latest frame is needed as the next reference.
      out.push(...held.slice(0, -1));
      held = held.slice(-1);
      return release(out);
    },
    finish() {
      done = true;
      const out = release(held);
      held = [];
      return out;
    },
  };
}

function applyFit(data: Float32Array, fit: UnitFit): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = fit.scale * data[i]! + fit.shift;
  return out;
}

/** Pixel pairs (prediction, aligned value) finite in both, at most `maxSamples`, evenly strided over all frames. */
function samplePairs(predicted: readonly Float32Array[], targets: readonly Float32Array[], maxSamples: number): { pred: Float64Array; target: Float64Array } {
  const total = predicted.reduce((n, p) => n + p.length, 0);
  const stride = Math.max(1, Math.ceil(total / maxSamples));
  const pred: number[] = [];
  const target: number[] = [];
  let offset = 0;
  for (let f = 0; f < predicted.length; f++) {
    const p = predicted[f]!, t = targets[f]!;
    for (let i = (stride - (offset % stride)) % stride; i < p.length; i += stride) {
      const a = p[i]!, b = t[i]!;
      if (Number.isFinite(a) && Number.isFinite(b)) { pred.push(a); target.push(b); }
    }
    offset += p.length;
  }
  return { pred: Float64Array.from(pred), target: Float64Array.from(target) };
}

/** Values of the new frame's prediction and of the aligned previous frame at matched points (bilinear), both finite. */
function sampleCorrespondences(
  current: Float32Array, previous: Float32Array, size: { width: number; height: number }, matched: FrameCorrespondences,
): { pred: Float64Array; target: Float64Array } {
  if (matched.current.length !== matched.previous.length || matched.current.length % 2 !== 0) {
    throw new InputError(`correspondences need as many (x, y) points in both frames, got ${matched.current.length / 2} and ${matched.previous.length / 2}.`);
  }
  const n = matched.current.length / 2;
  const toSamples = (xy: ArrayLike<number>) => Array.from({ length: n }, (_, i) => ({ x: xy[2 * i]!, y: xy[2 * i + 1]!, value: 0 }));
  const a = sampleDenseMap({ ...size, data: current }, toSamples(matched.current)).pred;
  const b = sampleDenseMap({ ...size, data: previous }, toSamples(matched.previous)).pred;
  const pred: number[] = [], target: number[] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) { pred.push(a[i]!); target.push(b[i]!); }
  return { pred: Float64Array.from(pred), target: Float64Array.from(target) };
}

/** The upper median of |values| (0 for none), by selection rather than a sort: it runs several times per frame. */
function medianAbs(values: Float64Array): number {
  if (values.length === 0) return 0;
  return selectKth(Float64Array.from(values, Math.abs), values.length >> 1);
}
