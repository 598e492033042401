/**
 * Standard monocular depth metrics (Eigen et al. 2014; the set MiDaS, ZoeDepth, Depth Anything and Video Depth
 * Anything report), computed in metres over the evaluation mask of one image, and averaged over images.
 *
 * Protocol (matches Video-Depth-Anything benchmark/eval/metric.py and ZoeDepth compute_metrics):
 * - Evaluation mask = GT finite and minDepth < gt < maxDepth (strict), inside the crop when one is given.
 * - Predictions are clipped to [minDepth, maxDepth] before the metrics (unless clipPrediction is false).
 * - A NaN prediction inside the mask is excluded from the metrics and counted in numInvalidPredictions.
 * - Every metric is computed per image; a dataset score is the mean over images of the per-image values
 *   (so RMSE is the mean of per-image RMSEs, not a pooled RMSE).
 */
import { InputError } from '../core/errors.ts';

export interface DepthMetrics {
  /** mean |d - d*| / d* */
  readonly absRel: number;
  /** mean (d - d*)^2 / d* (metres) */
  readonly sqRel: number;
  /** sqrt(mean (d - d*)^2) (metres) */
  readonly rmse: number;
  /** sqrt(mean (ln d - ln d*)^2) */
  readonly rmseLog: number;
  /** mean |log10 d - log10 d*| */
  readonly log10: number;
  /** fraction with max(d / d*, d* / d) < 1.25 */
  readonly delta1: number;
  /** ... < 1.25^2 */
  readonly delta2: number;
  /** ... < 1.25^3 */
  readonly delta3: number;
}

export const DEPTH_METRIC_NAMES = ['absRel', 'sqRel', 'rmse', 'rmseLog', 'log10', 'delta1', 'delta2', 'delta3'] as const satisfies readonly (keyof DepthMetrics)[];

export interface ImageDepthMetrics extends DepthMetrics {
  /** Pixels the metrics were computed over. */
  readonly numValid: number;
  /** Pixels inside the evaluation mask whose prediction was NaN (excluded from the metrics). */
  readonly numInvalidPredictions: number;
}

/**
 * An evaluation crop, rows [top, bottom) and columns [left, right).
 * 'pixels' crops are defined for one image size (`forWidth` x `forHeight`) and are an error on any other size;
 * 'fraction' crops scale with the image: row bounds are floor(fraction * height), column bounds floor(fraction * width).
 */
export type CropSpec =
  | { readonly kind: 'pixels'; readonly name: string; readonly top: number; readonly bottom: number; readonly left: number; readonly right: number; readonly forWidth: number; readonly forHeight: number }
  | { readonly kind: 'fraction'; readonly name: string; readonly top: number; readonly bottom: number; readonly left: number; readonly right: number };

/** NYUv2 Eigen crop: rows 45..470, columns 41..600 of the 640x480 image ([45:471, 41:601]). */
export const EIGEN_CROP_NYU: CropSpec = Object.freeze({ kind: 'pixels', name: 'eigen-nyu', top: 45, bottom: 471, left: 41, right: 601, forWidth: 640, forHeight: 480 });

/** KITTI Garg crop (Garg et al. 2016), as fractions of the image size (ZoeDepth / BTS / Monodepth2). */
export const GARG_CROP_KITTI: CropSpec = Object.freeze({ kind: 'fraction', name: 'garg-kitti', top: 0.40810811, bottom: 0.99189189, left: 0.03594771, right: 0.96405229 });

/** KITTI Eigen crop, as fractions of the image size. */
export const EIGEN_CROP_KITTI: CropSpec = Object.freeze({ kind: 'fraction', name: 'eigen-kitti', top: 0.3324324, bottom: 0.91351351, left: 0.0359477, right: 0.96405229 });

/** The crop in pixel bounds for an image size; throws InputError for a pixel crop defined for another size. */
export function cropBounds(crop: CropSpec, width: number, height: number): { top: number; bottom: number; left: number; right: number } {
  if (crop.kind === 'pixels') {
    if (width !== crop.forWidth || height !== crop.forHeight) {
      throw new InputError(`Crop "${crop.name}" is defined for ${crop.forWidth}x${crop.forHeight} images, not ${width}x${height}; pass crop: null or a crop for this size.`);
    }
    return { top: crop.top, bottom: crop.bottom, left: crop.left, right: crop.right };
  }
  return {
    top: Math.floor(crop.top * height),
    bottom: Math.floor(crop.bottom * height),
    left: Math.floor(crop.left * width),
    right: Math.floor(crop.right * width),
  };
}

/** A width*height mask with 1 inside the crop. */
export function cropMask(crop: CropSpec, width: number, height: number): Uint8Array {
  const b = cropBounds(crop, width, height);
  const mask = new Uint8Array(width * height);
  for (let y = Math.max(0, b.top); y < Math.min(height, b.bottom); y++) {
    mask.fill(1, y * width + Math.max(0, b.left), y * width + Math.min(width, b.right));
  }
  return mask;
}

export interface EvalMaskOptions {
  readonly minDepthMeters: number;
  readonly maxDepthMeters: number;
  /** Crop to apply; undefined or null = whole image. */
  readonly crop?: CropSpec | null;
  /** An extra mask (nonzero = keep), e.g. a sky or object mask. */
  readonly mask?: ArrayLike<number | boolean>;
}

function checkRange(minDepthMeters: number, maxDepthMeters: number): void {
  if (!(minDepthMeters >= 0) || !(maxDepthMeters > minDepthMeters) || !Number.isFinite(maxDepthMeters)) {
    throw new InputError(`Depth range [${minDepthMeters}, ${maxDepthMeters}] m is invalid: need 0 <= min < max < Infinity.`);
  }
}

/**
 * The evaluation mask: 1 where the GT is finite, minDepth < gt < maxDepth, inside the crop and the extra mask.
 * Predictions are not looked at.
 */
export function evalMask(gtDepthMeters: ArrayLike<number>, width: number, height: number, options: EvalMaskOptions): Uint8Array {
  checkRange(options.minDepthMeters, options.maxDepthMeters);
  if (gtDepthMeters.length !== width * height) {
    throw new InputError(`GT depth length (${gtDepthMeters.length}) does not match width*height (${width}*${height}).`);
  }
  if (options.mask !== undefined && options.mask.length !== width * height) {
    throw new InputError(`Mask length (${options.mask.length}) does not match width*height (${width * height}).`);
  }
  const mask = options.crop ? cropMask(options.crop, width, height) : new Uint8Array(width * height).fill(1);
  const { minDepthMeters: lo, maxDepthMeters: hi } = options;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    const gt = gtDepthMeters[i]!;
    if (!(gt > lo && gt < hi) || (options.mask !== undefined && !options.mask[i])) mask[i] = 0;
  }
  return mask;
}

export interface DepthMetricOptions extends EvalMaskOptions {
  /** Clip predictions to [minDepth, maxDepth] first (the standard protocol). Default true. */
  readonly clipPrediction?: boolean;
}

/**
 * Metrics of one image. `predDepthMeters` and `gtDepthMeters` are row-major width*height depth in metres with
 * NaN = invalid. Returns undefined when no pixel is left to evaluate.
 */
export function computeDepthMetrics(
  predDepthMeters: ArrayLike<number>, gtDepthMeters: ArrayLike<number>, width: number, height: number,
  options: DepthMetricOptions,
): ImageDepthMetrics | undefined {
  if (predDepthMeters.length !== gtDepthMeters.length) {
    throw new InputError(`Prediction length (${predDepthMeters.length}) does not match GT length (${gtDepthMeters.length}).`);
  }
  const mask = evalMask(gtDepthMeters, width, height, options);
  return metricsOverMask(predDepthMeters, gtDepthMeters, mask, options);
}

/** Metrics over a precomputed evaluation mask (see evalMask); undefined when it selects nothing. */
export function metricsOverMask(
  predDepthMeters: ArrayLike<number>, gtDepthMeters: ArrayLike<number>, mask: ArrayLike<number | boolean>,
  options: Pick<DepthMetricOptions, 'minDepthMeters' | 'maxDepthMeters' | 'clipPrediction'>,
): ImageDepthMetrics | undefined {
  checkRange(options.minDepthMeters, options.maxDepthMeters);
  if (predDepthMeters.length !== gtDepthMeters.length || mask.length !== gtDepthMeters.length) {
    throw new InputError(`Prediction (${predDepthMeters.length}), GT (${gtDepthMeters.length}) and mask (${mask.length}) lengths differ.`);
  }
  const clip = options.clipPrediction ?? true;
  const lo = options.minDepthMeters;
  const hi = options.maxDepthMeters;
  let n = 0;
  let numInvalid = 0;
  let sumAbsRel = 0;
  let sumSqRel = 0;
  let sumSq = 0;
  let sumSqLog = 0;
  let sumLog10 = 0;
  let d1 = 0;
  let d2 = 0;
  let d3 = 0;
  const t1 = 1.25;
  const t2 = 1.25 ** 2;
  const t3 = 1.25 ** 3;
  for (let i = 0; i < gtDepthMeters.length; i++) {
    if (!mask[i]) continue;
    let pred = predDepthMeters[i]!;
    if (Number.isNaN(pred)) {
      numInvalid++;
      continue;
    }
    if (clip) pred = Math.min(hi, Math.max(lo, pred));
    const gt = gtDepthMeters[i]!;
    const diff = pred - gt;
    sumAbsRel += Math.abs(diff) / gt;
    sumSqRel += (diff * diff) / gt;
    sumSq += diff * diff;
    const logDiff = Math.log(pred) - Math.log(gt);
    sumSqLog += logDiff * logDiff;
    sumLog10 += Math.abs(Math.log10(pred) - Math.log10(gt));
    const ratio = Math.max(pred / gt, gt / pred);
    if (ratio < t1) d1++;
    if (ratio < t2) d2++;
    if (ratio < t3) d3++;
    n++;
  }
  if (n === 0) return undefined;
  return {
    absRel: sumAbsRel / n,
    sqRel: sumSqRel / n,
    rmse: Math.sqrt(sumSq / n),
    rmseLog: Math.sqrt(sumSqLog / n),
    log10: sumLog10 / n,
    delta1: d1 / n,
    delta2: d2 / n,
    delta3: d3 / n,
    numValid: n,
    numInvalidPredictions: numInvalid,
  };
}

/** Mean over images of per-image metrics (the dataset score). Throws InputError for an empty list. */
export function meanDepthMetrics(perImage: readonly DepthMetrics[]): DepthMetrics {
  if (perImage.length === 0) throw new InputError('Cannot average depth metrics over zero images.');
  const sums: Record<keyof DepthMetrics, number> = { absRel: 0, sqRel: 0, rmse: 0, rmseLog: 0, log10: 0, delta1: 0, delta2: 0, delta3: 0 };
  for (const m of perImage) {
    for (const key of DEPTH_METRIC_NAMES) sums[key] += m[key];
  }
  for (const key of DEPTH_METRIC_NAMES) sums[key] /= perImage.length;
  return sums;
}
