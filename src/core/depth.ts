import { InputError } from './errors.ts';
import { checkDimensions } from './image.ts';

/**
 * What the numbers in a depth map mean. This is part of the type, never a guess:
 * - 'disparity': affine-invariant inverse depth (larger = nearer), equal to a/depth + b for unknown a > 0, b.
 *   What relative Depth Anything models output.
 * - 'relativeDepth': depth up to an unknown scale (and possibly shift); larger = farther. DA3-mono outputs this.
 * - 'metricDepth': z-depth along the optical axis in metres.
 */
export type DepthKind = 'disparity' | 'relativeDepth' | 'metricDepth';

interface DepthBase<TKind extends DepthKind> {
  readonly kind: TKind;
  readonly width: number;
  readonly height: number;
  /** Row-major, one value per pixel; invalid pixels are NaN. */
  readonly data: Float32Array;
  /** Optional per-pixel confidence, same layout; larger = more confident. */
  readonly confidence?: Float32Array;
}

export type DisparityMap = DepthBase<'disparity'>;
export type RelativeDepthMap = DepthBase<'relativeDepth'>;
export type MetricDepthMap = DepthBase<'metricDepth'>;
export type Depth = DisparityMap | RelativeDepthMap | MetricDepthMap;

export function createDepth<TKind extends DepthKind>(init: {
  kind: TKind;
  width: number;
  height: number;
  data: Float32Array;
  confidence?: Float32Array;
}): DepthBase<TKind> {
  const { kind, width, height, data, confidence } = init;
  checkDimensions('Depth', width, height);
  if (kind !== 'disparity' && kind !== 'relativeDepth' && kind !== 'metricDepth') {
    throw new InputError(`Depth kind "${String(kind)}" is not one of disparity, relativeDepth, metricDepth.`);
  }
  if (data.length !== width * height) {
    throw new InputError(`Depth data length (${data.length}) does not match width*height (${width}*${height} = ${width * height}).`);
  }
  if (confidence !== undefined && confidence.length !== width * height) {
    throw new InputError(`Depth confidence length (${confidence.length}) does not match width*height (${width * height}).`);
  }
  return confidence === undefined ? { kind, width, height, data } : { kind, width, height, data, confidence };
}
