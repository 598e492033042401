/**
 * Depth evaluation over a dataset, following the zero-shot protocol of Depth Anything / MiDaS:
 * per image, predict -> (align) -> clip to the dataset range -> metrics over the evaluation mask
 * (valid GT, minDepth < gt < maxDepth, inside the dataset's crop); the dataset score is the mean of per-image metrics.
 *
 * Alignment ('auto' picks by the prediction's kind):
 * - 'scaleShiftDisparity' (auto for disparity): least-squares scale and shift in disparity space against 1 / gt over
 *   the evaluation mask, then depth = 1 / aligned; aligned disparity below 1 / maxDepth (negative included) becomes
 *   maxDepth (the MiDaS clamp). A depth-kind prediction is inverted (1 / d) first.
 * - 'scaleShiftDepth' (auto for relativeDepth): least squares in depth space against gt over the mask. A disparity
 *   prediction is inverted (1 / d) first. Non-positive aligned depth is clipped to minDepth like any prediction.
 * - 'none' (auto for metricDepth): the prediction is used as metres. Refused for disparity.
 * A constant prediction (degenerate fit) gets scale 0 and shift = mean target, the least-squares optimum for it.
 * Images with fewer than 2 evaluable pixels are skipped and reported.
 */
import { InputError, throwIfAborted } from '../core/errors.ts';
import type { RunContext } from '../core/context.ts';
import type { Depth, DepthKind } from '../core/depth.ts';
import type { Image } from '../core/image.ts';
import {
  type FitOptions, type RansacOptions, type ScaleShift, fitScaleShift, fitScaleShiftRansac,
} from '../geometry/align-scale-shift.ts';
import { getDepthDataset } from '../eval/datasets/index.ts';
import type { DatasetSample, DepthDataset } from '../eval/datasets/types.ts';
import {
  type CropSpec, type DepthMetrics, type ImageDepthMetrics, evalMask, meanDepthMetrics, metricsOverMask,
} from '../eval/depth-metrics.ts';

export type EvalAlignment = 'auto' | 'none' | 'scaleShiftDisparity' | 'scaleShiftDepth';
export type ResolvedAlignment = Exclude<EvalAlignment, 'auto'>;

export type PredictDepth = (image: Image<Uint8Array>, sample: DatasetSample) => Promise<Depth>;

export interface EvaluateDepthOptions {
  readonly alignment: EvalAlignment;
  /** Evaluate only the first `limit` samples of the listing. */
  readonly limit?: number;
  /** Override the dataset's crop; null = no crop. */
  readonly crop?: CropSpec | null;
  /** Override the dataset's depth range (metres). */
  readonly minDepthMeters?: number;
  readonly maxDepthMeters?: number;
  /** Fit the alignment with RANSAC instead of plain least squares; threshold in the fitting space's units. */
  readonly ransac?: Omit<RansacOptions, 'mask' | 'weights'>;
}

export interface PerImageDepthResult {
  readonly id: string;
  readonly predictionKind: DepthKind;
  readonly alignment: ResolvedAlignment;
  /** The fitted alignment (absent for 'none'). */
  readonly scale?: number;
  readonly shift?: number;
  readonly metrics: ImageDepthMetrics;
}

export interface DepthEvalResult {
  readonly dataset: string;
  /** Images that entered the mean. */
  readonly numImages: number;
  /** Mean over images of per-image metrics. */
  readonly metrics: DepthMetrics;
  readonly perImage: PerImageDepthResult[];
  /** The alignment used (one for the whole run). */
  readonly alignment: ResolvedAlignment;
  readonly protocol: { readonly crop: string | null; readonly minDepthMeters: number; readonly maxDepthMeters: number };
  readonly skipped: { readonly id: string; readonly reason: string }[];
}

export function resolveAlignment(alignment: EvalAlignment, kind: DepthKind): ResolvedAlignment {
  if (alignment === 'auto') {
    return kind === 'disparity' ? 'scaleShiftDisparity' : kind === 'relativeDepth' ? 'scaleShiftDepth' : 'none';
  }
  if (alignment === 'none' && kind === 'disparity') {
    throw new InputError("Alignment 'none' cannot evaluate a disparity prediction: disparity is not depth. Use 'auto' or 'scaleShiftDisparity'.");
  }
  return alignment;
}

const invertPositive = (value: number): number => (value > 0 && Number.isFinite(value) ? 1 / value : Number.NaN);

/** The prediction in metres, aligned as requested; undefined when too few pixels are usable for the fit. */
function alignPrediction(
  prediction: Depth, gtMeters: Float32Array, mask: Uint8Array, alignment: ResolvedAlignment,
  range: { min: number; max: number }, ransac: EvaluateDepthOptions['ransac'],
): { depthMeters: ArrayLike<number>; fit?: ScaleShift } | undefined {
  const n = gtMeters.length;
  const data = prediction.data;
  if (alignment === 'none') return { depthMeters: data };

  const inDisparity = alignment === 'scaleShiftDisparity';
  const predIsDisparity = prediction.kind === 'disparity';
  const pred = inDisparity === predIsDisparity ? data : Float64Array.from(data, invertPositive);
  const target = inDisparity ? Float64Array.from(gtMeters, invertPositive) : gtMeters;

  const fitOptions: FitOptions = { mask };
  let fit: ScaleShift | undefined = ransac === undefined
    ? fitScaleShift(pred, target, fitOptions)
    : fitScaleShiftRansac(pred, target, { ...ransac, ...fitOptions });
  if (fit === undefined) {
    // Degenerate: fewer than 2 usable pixels (skip), or a constant prediction (best fit = mean target).
    let count = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      if (mask[i] && Number.isFinite(pred[i]!) && Number.isFinite(target[i]!)) {
        count++;
        sum += target[i]!;
      }
    }
    if (count < 2) return undefined;
    fit = { scale: 0, shift: sum / count, numSamples: count };
  }
  const out = new Float32Array(n);
  const { scale, shift } = fit;
  if (inDisparity) {
    const minDisparity = 1 / range.max;
    for (let i = 0; i < n; i++) {
      const disparity = scale * pred[i]! + shift;
      out[i] = Number.isNaN(disparity) ? Number.NaN : disparity > minDisparity ? 1 / disparity : range.max;
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = scale * pred[i]! + shift;
  }
  return { depthMeters: out, fit };
}

/**
 * Evaluates `predict` on a dataset (a DepthDataset or its name in DEPTH_DATASETS) under `root`.
 * Predictions must have the GT's width and height (resize before returning them). Emits one 'eval' progress event
 * per image; honours context.signal between images.
 */
export async function evaluateDepth(
  dataset: DepthDataset | string, root: string, predict: PredictDepth, options: EvaluateDepthOptions,
  context: RunContext = {},
): Promise<DepthEvalResult> {
  const ds = typeof dataset === 'string' ? getDepthDataset(dataset) : dataset;
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) {
    throw new InputError(`limit (${options.limit}) must be a positive integer.`);
  }
  const range = { min: options.minDepthMeters ?? ds.minDepthMeters, max: options.maxDepthMeters ?? ds.maxDepthMeters };
  const crop = options.crop === undefined ? ds.defaultCrop : options.crop;
  throwIfAborted(context.signal);
  const all = await ds.list(root);
  const samples = options.limit === undefined ? all : all.slice(0, options.limit);
  const total = samples.length;
  context.onProgress?.({ stage: 'eval', done: 0, total, unit: 'images' });

  const perImage: PerImageDepthResult[] = [];
  const skipped: { id: string; reason: string }[] = [];
  let runAlignment: ResolvedAlignment | undefined;
  for (let k = 0; k < samples.length; k++) {
    throwIfAborted(context.signal);
    const sample = samples[k]!;
    const gt = await ds.load(sample);
    const prediction = await predict(gt.image, sample);
    throwIfAborted(context.signal);
    if (prediction.width !== gt.width || prediction.height !== gt.height) {
      throw new InputError(`Prediction for ${sample.id} is ${prediction.width}x${prediction.height} but its GT is ${gt.width}x${gt.height}; resize the prediction to the GT size before evaluating.`);
    }
    const alignment = resolveAlignment(options.alignment, prediction.kind);
    if (runAlignment === undefined) runAlignment = alignment;
    else if (alignment !== runAlignment) {
      throw new InputError(`Prediction for ${sample.id} is ${prediction.kind} (alignment ${alignment}) but earlier images used ${runAlignment}; one evaluation needs one prediction kind.`);
    }
    const mask = evalMask(gt.depthMeters, gt.width, gt.height, { minDepthMeters: range.min, maxDepthMeters: range.max, crop });
    const aligned = alignPrediction(prediction, gt.depthMeters, mask, alignment, range, options.ransac);
    const metrics = aligned === undefined
      ? undefined
      : metricsOverMask(aligned.depthMeters, gt.depthMeters, mask, { minDepthMeters: range.min, maxDepthMeters: range.max });
    if (aligned === undefined || metrics === undefined) {
      const reason = aligned === undefined ? 'fewer than 2 pixels to fit the alignment' : 'no evaluable pixels';
      skipped.push({ id: sample.id, reason });
      context.log?.warn(`eval ${ds.name}: skipping ${sample.id}: ${reason}.`);
    } else {
      perImage.push({
        id: sample.id,
        predictionKind: prediction.kind,
        alignment,
        ...(aligned.fit !== undefined ? { scale: aligned.fit.scale, shift: aligned.fit.shift } : {}),
        metrics,
      });
    }
    context.onProgress?.({ stage: 'eval', done: k + 1, total, unit: 'images', item: sample.id });
  }
  if (perImage.length === 0 || runAlignment === undefined) {
    throw new InputError(`No image of ${ds.name} under "${root}" could be evaluated (${total} listed, ${skipped.length} skipped).`);
  }
  return {
    dataset: ds.name,
    numImages: perImage.length,
    metrics: meanDepthMetrics(perImage.map((r) => r.metrics)),
    perImage,
    alignment: runAlignment,
    protocol: { crop: crop === null ? null : crop.name, minDepthMeters: range.min, maxDepthMeters: range.max },
    skipped,
  };
}
