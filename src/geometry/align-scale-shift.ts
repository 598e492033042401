/**
 * Least-squares scale (and shift) alignment between a prediction and a target, the step every
 * affine-invariant depth evaluation and every "make this relative depth metric" feature needs.
 *
 * Conventions:
 * - A sample i is used when pred[i] and target[i] are finite (NaN = invalid), mask[i] is truthy (when a mask is
 *   given) and weights[i] > 0 (when weights are given).
 * - Fits solve min sum_i w_i (scale * pred_i + shift - target_i)^2 in float64 (closed form, centred so that large
 *   offsets do not cancel).
 * - Degenerate fits (too few samples, or a constant prediction) return `undefined`; malformed arguments
 *   (length mismatches, negative weights, bad RANSAC settings) throw InputError.
 * - "In which space": `alignDisparityToDepth` fits in disparity space (target = 1 / depth) and returns depth in
 *   metres, as the Depth Anything / MiDaS protocol does; `alignDepthToDepth` fits in depth space.
 */
import { InputError } from '../core/errors.ts';
import { createRng, type Rng } from './random.ts';

/** Per-sample selection: nonzero / true = use. */
export type SampleMask = ArrayLike<number | boolean>;

export interface FitOptions {
  readonly mask?: SampleMask;
  /** Non-negative finite weights; 0 excludes a sample. */
  readonly weights?: ArrayLike<number>;
}

export interface ScaleShift {
  readonly scale: number;
  readonly shift: number;
  /** Samples the (final) fit used. */
  readonly numSamples: number;
}

export interface RansacOptions extends FitOptions {
  /** A sample is an inlier when |scale * pred + shift - target| <= threshold (target units). */
  readonly threshold: number;
  readonly iterations: number;
  /** Seed of the sampler: same inputs and seed, same result. */
  readonly seed: number;
  /** Fail (return undefined) when fewer than this fraction of the usable samples are inliers. Default 0. */
  readonly minInlierRatio?: number;
  /** Refit by least squares on the inliers (and re-select inliers, up to 3 rounds). Default true. */
  readonly refine?: boolean;
  /** Hypotheses are scored on a seeded random subset of at most this many samples. Default 20000. */
  readonly maxScoringSamples?: number;
}

export interface RansacScaleShift extends ScaleShift {
  readonly numInliers: number;
  /** Usable samples (before inlier selection). */
  readonly numValid: number;
  /** 1 where sample i is an inlier of the final model, same length as pred. */
  readonly inlierMask: Uint8Array;
}

const DEFAULT_MAX_SCORING_SAMPLES = 20000;
const MAX_REFINE_ROUNDS = 3;

function checkFitArguments(pred: ArrayLike<number>, target: ArrayLike<number>, options: FitOptions): void {
  if (pred.length !== target.length) {
    throw new InputError(`Prediction length (${pred.length}) does not match target length (${target.length}).`);
  }
  if (options.mask !== undefined && options.mask.length !== pred.length) {
    throw new InputError(`Mask length (${options.mask.length}) does not match prediction length (${pred.length}).`);
  }
  const weights = options.weights;
  if (weights !== undefined) {
    if (weights.length !== pred.length) {
      throw new InputError(`Weights length (${weights.length}) does not match prediction length (${pred.length}).`);
    }
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      if (!(w >= 0) || !Number.isFinite(w)) {
        throw new InputError(`Weight ${i} (${w}) must be a finite number >= 0.`);
      }
    }
  }
}

/** Indices of usable samples (finite pred and target, mask set, weight > 0). */
function usableIndices(pred: ArrayLike<number>, target: ArrayLike<number>, options: FitOptions): Int32Array {
  const { mask, weights } = options;
  const out = new Int32Array(pred.length);
  let n = 0;
  for (let i = 0; i < pred.length; i++) {
    if (mask !== undefined && !mask[i]) continue;
    if (weights !== undefined && !(weights[i]! > 0)) continue;
    if (!Number.isFinite(pred[i]!) || !Number.isFinite(target[i]!)) continue;
    out[n++] = i;
  }
  return out.subarray(0, n);
}

/** Weighted least squares over the given indices; undefined when degenerate. */
function fitOnIndices(
  pred: ArrayLike<number>, target: ArrayLike<number>, weights: ArrayLike<number> | undefined,
  indices: ArrayLike<number>, withShift: boolean,
): ScaleShift | undefined {
  const n = indices.length;
  if (n < (withShift ? 2 : 1)) return undefined;
  if (!withShift) {
    let spp = 0;
    let spt = 0;
    for (let k = 0; k < n; k++) {
      const i = indices[k]!;
      const w = weights === undefined ? 1 : weights[i]!;
      const p = pred[i]!;
      spp += w * p * p;
      spt += w * p * target[i]!;
    }
    if (!(spp > 0) || !Number.isFinite(spp)) return undefined;
    return { scale: spt / spp, shift: 0, numSamples: n };
  }
  let sumW = 0;
  let sumP = 0;
  let sumT = 0;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    const w = weights === undefined ? 1 : weights[i]!;
    sumW += w;
    sumP += w * pred[i]!;
    sumT += w * target[i]!;
  }
  const meanP = sumP / sumW;
  const meanT = sumT / sumW;
  let spp = 0;
  let spt = 0;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    const w = weights === undefined ? 1 : weights[i]!;
    const dp = pred[i]! - meanP;
    spp += w * dp * dp;
    spt += w * dp * (target[i]! - meanT);
  }
  // A constant prediction leaves only rounding noise in spp (about (eps * |mean|)^2 per sample).
  const noiseFloor = sumW * (64 * Number.EPSILON * Math.abs(meanP)) ** 2;
  if (!(spp > noiseFloor) || !Number.isFinite(spp)) return undefined;
  const scale = spt / spp;
  return { scale, shift: meanT - scale * meanP, numSamples: n };
}

/**
 * Least-squares scale and shift so that scale * pred + shift ~ target over the usable samples
 * (closed-form 2x2 normal equations, centred, float64). Returns undefined when fewer than 2 samples are usable
 * or the prediction is constant over them. Throws InputError on length mismatches or negative weights.
 */
export function fitScaleShift(pred: ArrayLike<number>, target: ArrayLike<number>, options: FitOptions = {}): ScaleShift | undefined {
  checkFitArguments(pred, target, options);
  return fitOnIndices(pred, target, options.weights, usableIndices(pred, target, options), true);
}

/**
 * Least-squares scale only (shift = 0): scale = sum w p t / sum w p^2. Undefined when no sample is usable
 * or the prediction is zero on all of them.
 */
export function fitScale(pred: ArrayLike<number>, target: ArrayLike<number>, options: FitOptions = {}): ScaleShift | undefined {
  checkFitArguments(pred, target, options);
  return fitOnIndices(pred, target, options.weights, usableIndices(pred, target, options), false);
}

function checkRansacOptions(options: RansacOptions): void {
  if (!(options.threshold > 0) || !Number.isFinite(options.threshold)) {
    throw new InputError(`RANSAC threshold (${options.threshold}) must be a positive finite number (in target units).`);
  }
  if (!Number.isInteger(options.iterations) || options.iterations < 1) {
    throw new InputError(`RANSAC iterations (${options.iterations}) must be a positive integer.`);
  }
  if (!Number.isFinite(options.seed)) throw new InputError(`RANSAC seed (${options.seed}) must be a finite number.`);
  const ratio = options.minInlierRatio ?? 0;
  if (!(ratio >= 0 && ratio <= 1)) throw new InputError(`RANSAC minInlierRatio (${ratio}) must be between 0 and 1.`);
  const maxScoring = options.maxScoringSamples ?? DEFAULT_MAX_SCORING_SAMPLES;
  if (!Number.isInteger(maxScoring) || maxScoring < 2) {
    throw new InputError(`RANSAC maxScoringSamples (${maxScoring}) must be an integer >= 2.`);
  }
}

/** A seeded random subset (partial Fisher-Yates) of at most `count` of the given indices. */
function randomSubset(indices: Int32Array, count: number, rng: Rng): Int32Array {
  if (indices.length <= count) return indices;
  const copy = Int32Array.from(indices);
  for (let k = 0; k < count; k++) {
    const j = k + rng.nextInt(copy.length - k);
    const tmp = copy[k]!;
    copy[k] = copy[j]!;
    copy[j] = tmp;
  }
  return copy.subarray(0, count);
}

function countInliers(
  pred: ArrayLike<number>, target: ArrayLike<number>, indices: ArrayLike<number>,
  scale: number, shift: number, threshold: number,
): number {
  let count = 0;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (Math.abs(scale * pred[i]! + shift - target[i]!) <= threshold) count++;
  }
  return count;
}

function selectInliers(
  pred: ArrayLike<number>, target: ArrayLike<number>, indices: Int32Array,
  scale: number, shift: number, threshold: number,
): Int32Array {
  const out = new Int32Array(indices.length);
  let n = 0;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (Math.abs(scale * pred[i]! + shift - target[i]!) <= threshold) out[n++] = i;
  }
  return out.subarray(0, n);
}

function ransacFit(
  pred: ArrayLike<number>, target: ArrayLike<number>, options: RansacOptions, withShift: boolean,
): RansacScaleShift | undefined {
  checkFitArguments(pred, target, options);
  checkRansacOptions(options);
  const minimal = withShift ? 2 : 1;
  const valid = usableIndices(pred, target, options);
  if (valid.length < minimal) return undefined;
  const rng = createRng(options.seed);
  const scoring = randomSubset(valid, options.maxScoringSamples ?? DEFAULT_MAX_SCORING_SAMPLES, rng);
  const { threshold } = options;

  let best: { scale: number; shift: number } | undefined;
  let bestCount = -1;
  for (let it = 0; it < options.iterations; it++) {
    const a = scoring[rng.nextInt(scoring.length)]!;
    let scale: number;
    let shift: number;
    if (withShift) {
      const b = scoring[rng.nextInt(scoring.length)]!;
      const dp = pred[b]! - pred[a]!;
      if (a === b || dp === 0) continue;
      scale = (target[b]! - target[a]!) / dp;
      shift = target[a]! - scale * pred[a]!;
    } else {
      if (pred[a] === 0) continue;
      scale = target[a]! / pred[a]!;
      shift = 0;
    }
    if (!Number.isFinite(scale) || !Number.isFinite(shift)) continue;
    const count = countInliers(pred, target, scoring, scale, shift, threshold);
    if (count > bestCount) {
      bestCount = count;
      best = { scale, shift };
    }
  }
  if (best === undefined) return undefined;

  let model = best;
  let inliers = selectInliers(pred, target, valid, model.scale, model.shift, threshold);
  let numSamples = minimal;
  if (options.refine ?? true) {
    for (let round = 0; round < MAX_REFINE_ROUNDS; round++) {
      const refit = fitOnIndices(pred, target, options.weights, inliers, withShift);
      if (refit === undefined) break;
      const next = selectInliers(pred, target, valid, refit.scale, refit.shift, threshold);
      // Keep the refit only if it does not lose support (LS can drift towards a biased inlier set).
      if (next.length < inliers.length) break;
      model = { scale: refit.scale, shift: refit.shift };
      numSamples = refit.numSamples;
      const stable = next.length === inliers.length;
      inliers = next;
      if (stable) break;
    }
  }
  if (inliers.length < (options.minInlierRatio ?? 0) * valid.length) return undefined;
  const inlierMask = new Uint8Array(pred.length);
  for (const i of inliers) inlierMask[i] = 1;
  return { scale: model.scale, shift: model.shift, numSamples, numInliers: inliers.length, numValid: valid.length, inlierMask };
}

/**
 * Robust scale and shift: 2-point minimal samples drawn with a seeded generator, hypotheses scored by inlier
 * count on at most `maxScoringSamples` samples, then (refine, default) least squares on the inliers.
 * Returns undefined when no non-degenerate hypothesis exists or the inlier ratio is below minInlierRatio.
 */
export function fitScaleShiftRansac(pred: ArrayLike<number>, target: ArrayLike<number>, options: RansacOptions): RansacScaleShift | undefined {
  return ransacFit(pred, target, options, true);
}

/** Robust scale only (1-point minimal samples), otherwise as fitScaleShiftRansac; shift is 0. */
export function fitScaleRansac(pred: ArrayLike<number>, target: ArrayLike<number>, options: RansacOptions): RansacScaleShift | undefined {
  return ransacFit(pred, target, options, false);
}

// ---------------------------------------------------------------------------------------------------------
// Dense maps and sparse measurements

/** A dense per-pixel map, row-major (a Depth satisfies this). */
export interface DenseMap {
  readonly width: number;
  readonly height: number;
  readonly data: ArrayLike<number>;
}

/** One sparse measurement at pixel (x, y) (pixel centres at integer coordinates), e.g. a LiDAR point in metres. */
export interface PixelSample {
  readonly x: number;
  readonly y: number;
  readonly value: number;
}

/** Sparse measurements against a dense map. */
export interface SparseTarget {
  readonly samples: readonly PixelSample[];
}

export type SampleInterpolation = 'nearest' | 'bilinear';

/**
 * Reads a dense map at sparse sample positions. Positions outside the image, or touching a NaN pixel, give NaN.
 * Returns the map values (`pred`) and the sample values (`target`), index-aligned with `samples`.
 */
export function sampleDenseMap(
  map: DenseMap, samples: readonly PixelSample[], interpolation: SampleInterpolation = 'bilinear',
): { pred: Float64Array; target: Float64Array } {
  const { width, height, data } = map;
  const pred = new Float64Array(samples.length);
  const target = new Float64Array(samples.length);
  for (let k = 0; k < samples.length; k++) {
    const s = samples[k]!;
    target[k] = s.value;
    pred[k] = Number.NaN;
    if (!Number.isFinite(s.x) || !Number.isFinite(s.y)) continue;
    if (interpolation === 'nearest') {
      const x = Math.round(s.x);
      const y = Math.round(s.y);
      if (x >= 0 && y >= 0 && x < width && y < height) pred[k] = data[y * width + x]!;
      continue;
    }
    if (s.x < 0 || s.y < 0 || s.x > width - 1 || s.y > height - 1) continue;
    const x0 = Math.min(Math.floor(s.x), width - 1);
    const y0 = Math.min(Math.floor(s.y), height - 1);
    const fx = s.x - x0;
    const fy = s.y - y0;
    // Corners with zero weight are not read, so a sample on a pixel centre ignores NaN neighbours.
    const x1 = fx > 0 ? x0 + 1 : x0;
    const y1 = fy > 0 ? y0 + 1 : y0;
    const v00 = data[y0 * width + x0]!;
    const v10 = data[y0 * width + x1]!;
    const v01 = data[y1 * width + x0]!;
    const v11 = data[y1 * width + x1]!;
    pred[k] = (1 - fy) * ((1 - fx) * v00 + fx * v10) + fy * ((1 - fx) * v01 + fx * v11);
  }
  return { pred, target };
}

export interface AlignOptions {
  /**
   * Which samples the fit may use: per pixel for a dense target, per sample for a sparse one.
   * Weights follow the same indexing.
   */
  readonly mask?: SampleMask;
  readonly weights?: ArrayLike<number>;
  /** Fit robustly instead of by plain least squares; the threshold is in the fitting space's units. */
  readonly ransac?: Omit<RansacOptions, 'mask' | 'weights'>;
  /** How a dense prediction is read at sparse sample positions. Default 'bilinear'. */
  readonly interpolation?: SampleInterpolation;
}

export interface AlignedDepth {
  /** Aligned depth in metres (target units), width*height, NaN where invalid. */
  readonly depthMeters: Float32Array;
  readonly scale: number;
  readonly shift: number;
  readonly numSamples: number;
  /** RANSAC only: inliers, indexed like the fit samples (pixels for dense targets, samples for sparse). */
  readonly inlierMask?: Uint8Array;
}

function isSparse(target: ArrayLike<number> | SparseTarget): target is SparseTarget {
  return (target as SparseTarget).samples !== undefined;
}

/** Builds (pred, target) fit arrays in the fitting space from a dense or sparse target. */
function fitArrays(
  pred: DenseMap, target: ArrayLike<number> | SparseTarget, options: AlignOptions,
  toSpace: (value: number) => number,
): { pred: ArrayLike<number>; target: Float64Array } {
  const n = pred.width * pred.height;
  if (pred.data.length !== n) {
    throw new InputError(`Prediction data length (${pred.data.length}) does not match width*height (${n}).`);
  }
  if (isSparse(target)) {
    const sampled = sampleDenseMap(pred, target.samples, options.interpolation ?? 'bilinear');
    for (let k = 0; k < sampled.target.length; k++) sampled.target[k] = toSpace(sampled.target[k]!);
    return sampled;
  }
  if (target.length !== n) {
    throw new InputError(`Target length (${target.length}) does not match the prediction's width*height (${pred.width}*${pred.height} = ${n}).`);
  }
  const converted = new Float64Array(n);
  for (let i = 0; i < n; i++) converted[i] = toSpace(target[i]!);
  return { pred: pred.data, target: converted };
}

function runFit(
  pred: ArrayLike<number>, target: ArrayLike<number>, options: AlignOptions, withShift: boolean,
): (ScaleShift & { inlierMask?: Uint8Array }) | undefined {
  const fitOptions: FitOptions = {
    ...(options.mask !== undefined ? { mask: options.mask } : {}),
    ...(options.weights !== undefined ? { weights: options.weights } : {}),
  };
  if (options.ransac !== undefined) {
    const ransacOptions = { ...options.ransac, ...fitOptions };
    return withShift ? fitScaleShiftRansac(pred, target, ransacOptions) : fitScaleRansac(pred, target, ransacOptions);
  }
  return withShift ? fitScaleShift(pred, target, fitOptions) : fitScale(pred, target, fitOptions);
}

function withInliers<T extends object>(base: T, inlierMask: Uint8Array | undefined): T & { inlierMask?: Uint8Array } {
  return inlierMask === undefined ? base : { ...base, inlierMask };
}

const depthToDisparity = (depth: number): number => (depth > 0 && Number.isFinite(depth) ? 1 / depth : Number.NaN);
const positiveOrNaN = (value: number): number => (value > 0 && Number.isFinite(value) ? value : Number.NaN);

/**
 * Aligns an affine-invariant disparity map to depth in metres, fitting in disparity space:
 * scale * pred + shift ~ 1 / gtDepth over valid samples (gt > 0 and finite), then depth = 1 / (scale * pred + shift).
 * Non-positive aligned disparity becomes NaN, unless `depthCapMeters` is given: then every aligned disparity
 * below 1 / depthCapMeters (negative included) becomes depthCapMeters (the MiDaS evaluation clamp).
 * Returns undefined when the fit is degenerate.
 */
export function alignDisparityToDepth(
  predDisparity: DenseMap, gtDepthMeters: ArrayLike<number> | SparseTarget,
  options: AlignOptions & { readonly depthCapMeters?: number } = {},
): AlignedDepth | undefined {
  const cap = options.depthCapMeters;
  if (cap !== undefined && !(cap > 0 && Number.isFinite(cap))) {
    throw new InputError(`depthCapMeters (${cap}) must be a positive finite number.`);
  }
  const arrays = fitArrays(predDisparity, gtDepthMeters, options, depthToDisparity);
  const fit = runFit(arrays.pred, arrays.target, options, true);
  if (fit === undefined) return undefined;
  const src = predDisparity.data;
  const depthMeters = new Float32Array(src.length);
  const minDisparity = cap === undefined ? 0 : 1 / cap;
  for (let i = 0; i < src.length; i++) {
    const disparity = fit.scale * src[i]! + fit.shift;
    if (Number.isNaN(disparity)) depthMeters[i] = Number.NaN;
    else if (disparity > minDisparity) depthMeters[i] = 1 / disparity;
    else depthMeters[i] = cap === undefined ? Number.NaN : cap;
  }
  return withInliers({ depthMeters, scale: fit.scale, shift: fit.shift, numSamples: fit.numSamples }, fit.inlierMask);
}

/**
 * Aligns a depth-like map (relative depth, or metric depth from another model such as a DA3 teacher) to target
 * depth in metres, fitting in depth space: scale * pred + shift ~ target (or scale only with `scaleOnly`).
 * Non-positive aligned depths become NaN. Returns undefined when the fit is degenerate.
 */
export function alignDepthToDepth(
  predDepth: DenseMap, targetDepthMeters: ArrayLike<number> | SparseTarget,
  options: AlignOptions & { readonly scaleOnly?: boolean } = {},
): AlignedDepth | undefined {
  const arrays = fitArrays(predDepth, targetDepthMeters, options, positiveOrNaN);
  const fit = runFit(arrays.pred, arrays.target, options, !(options.scaleOnly ?? false));
  if (fit === undefined) return undefined;
  const src = predDepth.data;
  const depthMeters = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) depthMeters[i] = positiveOrNaN(fit.scale * src[i]! + fit.shift);
  return withInliers({ depthMeters, scale: fit.scale, shift: fit.shift, numSamples: fit.numSamples }, fit.inlierMask);
}
