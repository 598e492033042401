/**
 * How Depth Anything-style models pick the network input size from the image size (see SizeRule).
 * Pure integer/float maths, written to reproduce the official Python rules to the pixel.
 */
import { InputError } from '../core/errors.ts';
import { checkDimensions } from '../core/image.ts';
import type { ImagePreprocessSpec } from './model-spec.ts';

export interface NetworkInputSize {
  readonly width: number;
  readonly height: number;
}

/**
 * The network input size for an image of imageWidth x imageHeight px.
 *
 * - 'lowerBound': official Depth Anything (V1/V2) `Resize(keep_aspect_ratio=True, ensure_multiple_of=m,
 *   resize_method='lower_bound')` with target t: scale = max(t/h, t/w) for both sides; each side becomes
 *   round(side*scale/m)*m with numpy round-half-to-even, or ceil(side*scale/m)*m if that is below t.
 *   Every side ends >= t (1280x720 -> 924x518, 560x400 -> 728x518).
 * - 'upperBound': Depth Anything 3 `upper_bound_resize`: the longest side is scaled to t, the other to
 *   max(1, round(side*t/longest)) with Python's round (half to even); then each side goes to its nearest
 *   multiple of m, ties rounding up (DA3 `_make_divisible_by_resize`), at least 1.
 * - 'static': exactly `staticSize` (required).
 * Only the final size is modelled: DA3 reaches it in two resizes of a uint8 image (INTER_CUBIC up / INTER_AREA
 * down, then again to the multiple), which is a different pixel chain from Depth Anything's single float resize.
 */
export function networkInputSize(
  imageWidth: number,
  imageHeight: number,
  spec: Pick<ImagePreprocessSpec, 'sizeRule' | 'targetPx' | 'multipleOf'>,
  staticSize?: NetworkInputSize,
): NetworkInputSize {
  checkDimensions('Image', imageWidth, imageHeight);
  const { targetPx, multipleOf } = spec;
  switch (spec.sizeRule) {
    case 'lowerBound': {
      checkRuleNumbers(targetPx, multipleOf);
      const scale = Math.max(targetPx / imageHeight, targetPx / imageWidth);
      return {
        width: constrainToMultipleOf(scale * imageWidth, multipleOf, targetPx),
        height: constrainToMultipleOf(scale * imageHeight, multipleOf, targetPx),
      };
    }
    case 'upperBound': {
      checkRuleNumbers(targetPx, multipleOf);
      const scale = targetPx / Math.max(imageWidth, imageHeight);
      const width = Math.max(1, roundHalfToEven(imageWidth * scale));
      const height = Math.max(1, roundHalfToEven(imageHeight * scale));
      return {
        width: Math.max(1, nearestMultipleTiesUp(width, multipleOf)),
        height: Math.max(1, nearestMultipleTiesUp(height, multipleOf)),
      };
    }
    case 'static': {
      if (staticSize === undefined) {
        throw new InputError("Size rule 'static' needs the network's static input size, but none was given.");
      }
      checkDimensions('Static network input', staticSize.width, staticSize.height);
      return { width: staticSize.width, height: staticSize.height };
    }
    default:
      throw new InputError(`Size rule "${String((spec as { sizeRule: unknown }).sizeRule)}" is not one of lowerBound, upperBound, static.`);
  }
}

/** numpy.round / Python round() for a float to an integer: halves go to the even neighbour. */
export function roundHalfToEven(x: number): number {
  const r = Math.round(x); // halves go up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The official DA `constrain_to_multiple_of(x, min_val)` with no max_val. */
function constrainToMultipleOf(x: number, multipleOf: number, minValue: number): number {
  const y = roundHalfToEven(x / multipleOf) * multipleOf;
  return y < minValue ? Math.ceil(x / multipleOf) * multipleOf : y;
}

/** DA3's nearest multiple of p for an integer x: ties (x exactly between two multiples) go up. */
function nearestMultipleTiesUp(x: number, p: number): number {
  const down = Math.floor(x / p) * p;
  const up = down + p;
  return up - x <= x - down ? up : down;
}

function checkRuleNumbers(targetPx: number, multipleOf: number): void {
  if (!Number.isInteger(targetPx) || targetPx <= 0 || !Number.isInteger(multipleOf) || multipleOf <= 0) {
    throw new InputError(`Preprocess targetPx (${targetPx}) and multipleOf (${multipleOf}) must be positive integers.`);
  }
}
