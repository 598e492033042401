/**
 * Pixel-value conversions for network inputs: uint8 codes to 0..1 floats, and HWC to NCHW with
 * per-channel mean/std. Float32 results are rounded once per step, in the order documented on each function.
 */
import { InputError } from '../core/errors.ts';
import type { Image } from '../core/image.ts';

/** ImageNet RGB mean and std on 0..1 values (torchvision; Depth Anything V1/V2 and DA3). */
export const IMAGENET_MEAN: readonly [number, number, number] = Object.freeze([0.485, 0.456, 0.406] as const);
export const IMAGENET_STD: readonly [number, number, number] = Object.freeze([0.229, 0.224, 0.225] as const);

/** An HWC interleaved image with any channel count (core Image fits). */
export interface HwcImage<TData extends Uint8Array | Float32Array = Uint8Array | Float32Array> {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: TData;
}

/**
 * code / 255 for every uint8 code, computed in double and rounded to float32 (what toFloatImage stores).
 * Shared with resize-bicubic.ts; not part of the public surface (index.ts), never written after creation.
 */
export const UNIT_FROM_CODE: Float32Array = (() => {
  const table = new Float32Array(256);
  for (let code = 0; code < 256; code++) table[code] = code / 255;
  return table;
})();

/** uint8 codes to 0..1 float32 values (code / 255), same layout and channels. */
export function toFloatImage(image: Image<Uint8Array>): Image<Float32Array> {
  checkHwc(image);
  const src = image.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = UNIT_FROM_CODE[src[i]!]!;
  return { width: image.width, height: image.height, channels: image.channels, colorSpace: image.colorSpace, data: out };
}

/**
 * HWC -> planar NCHW (N = 1) float32 with out = (v - mean[c]) / std[c], v the 0..1 value: Float32 data as is,
 * uint8 codes as float32(code / 255). The subtraction and division run in double and round once.
 * `mean` and `std` need one entry per channel.
 */
export function normalizeToNchw(image: HwcImage, mean: readonly number[], std: readonly number[]): Float32Array {
  checkHwc(image);
  checkMeanStd(image.channels, mean, std);
  const { width, height, channels } = image;
  const plane = width * height;
  const out = new Float32Array(plane * channels);
  const src = image.data;
  const isCodes = src instanceof Uint8Array;
  for (let c = 0; c < channels; c++) {
    const m = mean[c]!;
    const s = std[c]!;
    const base = c * plane;
    if (isCodes) {
      for (let i = 0, j = c; i < plane; i++, j += channels) out[base + i] = (UNIT_FROM_CODE[src[j]!]! - m) / s;
    } else {
      for (let i = 0, j = c; i < plane; i++, j += channels) out[base + i] = (src[j]! - m) / s;
    }
  }
  return out;
}

export function checkMeanStd(channels: number, mean: readonly number[], std: readonly number[]): void {
  if (mean.length !== channels || std.length !== channels) {
    throw new InputError(`Normalisation needs one mean and std per channel: image has ${channels} channels, mean ${mean.length}, std ${std.length}.`);
  }
  for (let c = 0; c < channels; c++) {
    if (!Number.isFinite(mean[c]) || !Number.isFinite(std[c]) || std[c] === 0) {
      throw new InputError(`Normalisation mean (${mean[c]}) and std (${std[c]}) of channel ${c} must be finite, std non-zero.`);
    }
  }
}

/** Checks an HWC image's dimensions and data length (channels may be any positive integer). */
export function checkHwc(image: HwcImage): void {
  const { width, height, channels } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new InputError(`Image size ${width}x${height} is invalid: width and height must be positive integers.`);
  }
  if (!Number.isInteger(channels) || channels <= 0) {
    throw new InputError(`Image channels (${channels}) must be a positive integer.`);
  }
  const expected = width * height * channels;
  if (image.data.length !== expected) {
    throw new InputError(`Image data length (${image.data.length}) does not match width*height*channels (${width}*${height}*${channels} = ${expected}).`);
  }
}
