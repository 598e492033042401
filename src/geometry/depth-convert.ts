/**
 * Conversions between disparity (inverse depth, larger = nearer) and depth (larger = farther).
 *
 * A relative depth model's disparity d is affine in true inverse depth: 1/depth = scale * d + shift for some
 * scale > 0 and shift, found by aligning to reference depth (least squares in disparity space, as Depth Anything
 * does). Whether the result is metric depends on the reference: aligned to metric ground truth it is metres,
 * aligned to anything else it is still relative. The alignment says which, and the result type follows.
 */
import { InputError } from '../core/errors.ts';
import { createDepth, type DisparityMap, type MetricDepthMap, type RelativeDepthMap } from '../core/depth.ts';

/** 1/depth = scale * disparity + shift. `metric` says whether the reference the fit was made against was in metres. */
export interface DisparityAlignment {
  readonly scale: number;
  readonly shift: number;
  readonly metric: boolean;
}

/**
 * depth = 1 / (scale * disparity + shift), per pixel. Non-positive or non-finite denominators (points at or
 * beyond infinity after alignment) and NaN disparities become NaN. Confidence is carried over unchanged.
 */
export function disparityToDepth(disparity: DisparityMap, alignment: DisparityAlignment & { readonly metric: true }): MetricDepthMap;
export function disparityToDepth(disparity: DisparityMap, alignment: DisparityAlignment & { readonly metric: false }): RelativeDepthMap;
export function disparityToDepth(disparity: DisparityMap, alignment: DisparityAlignment): MetricDepthMap | RelativeDepthMap;
export function disparityToDepth(disparity: DisparityMap, alignment: DisparityAlignment): MetricDepthMap | RelativeDepthMap {
  if ((disparity.kind as string) !== 'disparity') {
    throw new InputError(`disparityToDepth needs a disparity map, got ${disparity.kind}.`);
  }
  const { scale, shift } = alignment;
  if (!Number.isFinite(scale) || !Number.isFinite(shift)) {
    throw new InputError(`Alignment scale (${scale}) and shift (${shift}) must be finite numbers.`);
  }
  const { data } = disparity;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const inverse = scale * data[i]! + shift;
    out[i] = inverse > 0 && inverse < Infinity ? 1 / inverse : NaN;
  }
  const init = {
    width: disparity.width,
    height: disparity.height,
    data: out,
    ...(disparity.confidence !== undefined ? { confidence: disparity.confidence } : {}),
  };
  return alignment.metric ? createDepth({ ...init, kind: 'metricDepth' }) : createDepth({ ...init, kind: 'relativeDepth' });
}

/**
 * disparity = 1 / depth, per pixel (non-positive or non-finite depth -> NaN). The result is true inverse depth,
 * i.e. a disparity with scale 1 and shift 0, so disparityToDepth(.., { scale: 1, shift: 0, metric }) undoes it.
 */
export function depthToDisparity(depth: MetricDepthMap | RelativeDepthMap): DisparityMap {
  const { data } = depth;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const z = data[i]!;
    out[i] = z > 0 && z < Infinity ? 1 / z : NaN;
  }
  return createDepth({
    kind: 'disparity',
    width: depth.width,
    height: depth.height,
    data: out,
    ...(depth.confidence !== undefined ? { confidence: depth.confidence } : {}),
  });
}
