/**
 * Full-reference image quality: PSNR and SSIM (Wang, Bovik, Sheikh, Simoncelli 2004), the metrics novel-view
 * synthesis papers report. Values are compared in 0..1 (Uint8 codes / 255; Float32 images already hold 0..1), so
 * the data range L is 1. SSIM follows the paper's reference code: an 11x11 Gaussian window with sigma 1.5
 * (normalised), K1 = 0.01, K2 = 0.03, population (weighted) statistics, the map computed where the window lies
 * inside the image ('valid'), averaged over that map and then over channels. skimage's structural_similarity
 * with gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1 gives the same numbers.
 */
import { InputError } from '../core/errors.ts';
import type { Image } from '../core/image.ts';

export const SSIM_WINDOW_RADIUS = 5;
export const SSIM_SIGMA = 1.5;
export const SSIM_K1 = 0.01;
export const SSIM_K2 = 0.03;

/** Channels compared: all of them, or RGB only (an RGBA render's alpha ignored). */
export type MetricChannels = 'all' | 'rgb';

export interface ImageMetricOptions {
  readonly channels?: MetricChannels;
  /**
   * Pixels to score (width*height, nonzero = scored): MSE averages over them; SSIM averages its map over the window
   * centres inside the mask (windows still read the unmasked neighbours). Default every pixel.
   */
  readonly mask?: Uint8Array;
}

function checkMask(mask: Uint8Array | undefined, width: number, height: number, what: string): void {
  if (mask !== undefined && mask.length !== width * height) throw new InputError(`${what}: mask has ${mask.length} values for ${width}x${height} pixels.`);
}

function scaleOf(image: Image): number {
  return image.data instanceof Uint8Array ? 1 / 255 : 1;
}

function comparedChannels(a: Image, b: Image, channels: MetricChannels, what: string): number {
  if (a.width !== b.width || a.height !== b.height) {
    throw new InputError(`${what}: images are ${a.width}x${a.height} and ${b.width}x${b.height}; they must be the same size.`);
  }
  if (channels === 'rgb') {
    if (a.channels < 3 || b.channels < 3) throw new InputError(`${what}: 'rgb' needs 3 or 4 channels, got ${a.channels} and ${b.channels}.`);
    return 3;
  }
  if (a.channels !== b.channels) throw new InputError(`${what}: images have ${a.channels} and ${b.channels} channels.`);
  return a.channels;
}

/** Mean squared error over the compared channels, values in 0..1. */
export function meanSquaredError(a: Image, b: Image, options: ImageMetricOptions = {}): number {
  const n = comparedChannels(a, b, options.channels ?? 'all', 'MSE');
  const { mask } = options;
  checkMask(mask, a.width, a.height, 'MSE');
  const sa = scaleOf(a);
  const sb = scaleOf(b);
  let sum = 0;
  let counted = 0;
  const pixels = a.width * a.height;
  for (let p = 0; p < pixels; p++) {
    if (mask !== undefined && mask[p] === 0) continue;
    counted++;
    for (let c = 0; c < n; c++) {
      const d = a.data[p * a.channels + c]! * sa - b.data[p * b.channels + c]! * sb;
      sum += d * d;
    }
  }
  if (counted === 0) throw new InputError('MSE: the mask selects no pixel.');
  return sum / (counted * n);
}

/** PSNR in dB with peak 1: 10 log10(1 / MSE); Infinity for identical images. */
export function psnr(a: Image, b: Image, options: ImageMetricOptions = {}): number {
  const mse = meanSquaredError(a, b, options);
  return mse === 0 ? Infinity : -10 * Math.log10(mse);
}

/** The normalised 1-D Gaussian of the SSIM window (separable: the 2-D window is its outer product). */
export function ssimWindow1d(): Float64Array {
  const w = new Float64Array(2 * SSIM_WINDOW_RADIUS + 1);
  let sum = 0;
  for (let i = 0; i < w.length; i++) {
    const x = i - SSIM_WINDOW_RADIUS;
    w[i] = Math.exp((-0.5 * x * x) / (SSIM_SIGMA * SSIM_SIGMA));
    sum += w[i]!;
  }
  for (let i = 0; i < w.length; i++) w[i]! /= sum;
  return w;
}

/**
 * 'valid' separable filtering of a plane (width x height) with w: out is (width - 2r) x (height - 2r).
 * `tmp` holds the horizontal pass, (width - 2r) x height.
 */
function filterValid(plane: Float64Array, width: number, height: number, w: Float64Array, tmp: Float64Array, out: Float64Array): void {
  const r = (w.length - 1) / 2;
  const ow = width - 2 * r;
  const oh = height - 2 * r;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < w.length; k++) s += w[k]! * plane[row + x + k]!;
      tmp[y * ow + x] = s;
    }
  }
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < w.length; k++) s += w[k]! * tmp[(y + k) * ow + x]!;
      out[y * ow + x] = s;
    }
  }
}

/**
 * Mean SSIM (see the module comment) over channels; 1 for identical images. Images must be at least 11x11.
 * Returns the per-channel means too.
 */
export function ssim(a: Image, b: Image, options: ImageMetricOptions = {}): { readonly mean: number; readonly perChannel: readonly number[] } {
  const n = comparedChannels(a, b, options.channels ?? 'all', 'SSIM');
  const { width, height } = a;
  const size = 2 * SSIM_WINDOW_RADIUS + 1;
  if (width < size || height < size) throw new InputError(`SSIM: images are ${width}x${height}; the ${size}x${size} window needs at least ${size}x${size}.`);
  const c1 = (SSIM_K1 * 1) ** 2;
  const c2 = (SSIM_K2 * 1) ** 2;
  const w = ssimWindow1d();
  const pixels = width * height;
  const ow = width - 2 * SSIM_WINDOW_RADIUS;
  const oh = height - 2 * SSIM_WINDOW_RADIUS;
  const x = new Float64Array(pixels);
  const y = new Float64Array(pixels);
  const prod = new Float64Array(pixels);
  const tmp = new Float64Array(ow * height);
  const maps = Array.from({ length: 5 }, () => new Float64Array(ow * oh));
  const [muX, muY, xx, yy, xy] = maps as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  const sa = scaleOf(a);
  const sb = scaleOf(b);
  const { mask } = options;
  checkMask(mask, width, height, 'SSIM');
  let counted = 0;
  if (mask !== undefined) {
    for (let yy0 = 0; yy0 < oh; yy0++) for (let xx0 = 0; xx0 < ow; xx0++) if (mask[(yy0 + SSIM_WINDOW_RADIUS) * width + xx0 + SSIM_WINDOW_RADIUS] !== 0) counted++;
    if (counted === 0) throw new InputError('SSIM: the mask selects no pixel at least 5 px inside the image.');
  }
  const perChannel: number[] = [];
  for (let c = 0; c < n; c++) {
    for (let p = 0; p < pixels; p++) {
      x[p] = a.data[p * a.channels + c]! * sa;
      y[p] = b.data[p * b.channels + c]! * sb;
    }
    filterValid(x, width, height, w, tmp, muX);
    filterValid(y, width, height, w, tmp, muY);
    for (let p = 0; p < pixels; p++) prod[p] = x[p]! * x[p]!;
    filterValid(prod, width, height, w, tmp, xx);
    for (let p = 0; p < pixels; p++) prod[p] = y[p]! * y[p]!;
    filterValid(prod, width, height, w, tmp, yy);
    for (let p = 0; p < pixels; p++) prod[p] = x[p]! * y[p]!;
    filterValid(prod, width, height, w, tmp, xy);
    let sum = 0;
    for (let i = 0; i < ow * oh; i++) {
      if (mask !== undefined && mask[(Math.floor(i / ow) + SSIM_WINDOW_RADIUS) * width + (i % ow) + SSIM_WINDOW_RADIUS] === 0) continue;
      const mx = muX[i]!;
      const my = muY[i]!;
      const vx = xx[i]! - mx * mx;
      const vy = yy[i]! - my * my;
      const cxy = xy[i]! - mx * my;
      sum += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
    }
    perChannel.push(sum / (mask === undefined ? ow * oh : counted));
  }
  return { mean: perChannel.reduce((s, v) => s + v, 0) / n, perChannel };
}
