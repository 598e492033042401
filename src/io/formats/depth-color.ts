/**
 * depth-color: a depth map as an 8-bit RGB PNG through a colormap, for looking at, not for reading back.
 *
 * Normalisation: the valid (finite) values are mapped linearly from [low, high] to [0, 1] and clamped, where
 * low/high are the 2nd and 98th percentiles of the valid values by default (numpy's 'linear' percentile; over
 * PERCENTILE_SAMPLE_LIMIT pixels, of an evenly strided subsample, since the colours are for display only),
 * or a fixed `range` (use one range for every frame of a video so colours do not flicker).
 *
 * Direction: near is always the colormap's high end (bright yellow/white for inferno, red for turbo), far its
 * low end, whatever the kind. Disparity is already "larger = nearer", so t maps straight to the colormap;
 * relativeDepth and metricDepth are "larger = farther", so they use 1 - t. Pictures of disparity and of depth
 * from the same scene therefore read the same way (close objects bright/warm), as in Depth Anything's demos.
 * Invalid pixels (NaN, +-Infinity) are black (0, 0, 0). A constant map gets the colormap's middle colour.
 * Colour code = round(255 * t'), looked up in colormaps.ts (equal to OpenCV's applyColorMap LUTs).
 */
import { encodePalettePng, encodePng, looksCompressible } from '../png.ts';
import { depthCodeKernels } from '../kernels/depth-codes-kernels.ts';
import { InputError } from '../../core/errors.ts';
import type { Depth } from '../../core/depth.ts';
import { createImage, type Image } from '../../core/image.ts';
import { selectKth } from '../../core/stats.ts';
import { colormapLut, COLORMAP_IDS, isColormapId, type ColormapId } from '../colormaps.ts';
import type { DepthOutputFormat } from './index.ts';

export interface DepthColorOptions {
  /** Default 'turbo'. */
  readonly colormap?: ColormapId;
  /** Percentiles of the valid values that map to the two ends, default [2, 98]. Ignored when `range` is set. */
  readonly percentiles?: readonly [number, number];
  /** A fixed value range [min, max] in the depth's own units, instead of percentiles. */
  readonly range?: { readonly min: number; readonly max: number };
}

export interface ColorizedDepth {
  readonly image: Image<Uint8Array>;
  readonly colormap: ColormapId;
  /** The values mapped to the ends; null when there is no valid pixel. */
  readonly low: number | null;
  readonly high: number | null;
  /** Whether values were inverted (1 - t) so that near is the high end: true for depth kinds. */
  readonly inverted: boolean;
}

export const DEFAULT_PERCENTILES = Object.freeze([2, 98] as const);

/**
 * The p-th percentile (0..100) of ascending-sorted values, with numpy's default 'linear' method, including its
 * two-sided lerp, so results match np.percentile bit for bit.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const position = (p / 100) * (n - 1);
  const below = Math.min(Math.max(Math.floor(position), 0), n - 1);
  const above = Math.min(below + 1, n - 1);
  const t = position - below;
  const a = sorted[below]!;
  const b = sorted[above]!;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** One colormap code per pixel: the colour image before the lookup (see the module comment). */
export interface DepthColorCodes {
  readonly width: number;
  readonly height: number;
  /** round(255 * t') per pixel; 0 where the value is invalid (those pixels are painted black, not code 0). */
  readonly codes: Uint8Array;
  /** Pixels whose value is NaN or infinite. */
  readonly invalidCount: number;
  readonly colormap: ColormapId;
  readonly low: number | null;
  readonly high: number | null;
  readonly inverted: boolean;
}

/** The colormap code of every pixel, and the normalisation used (see the module comment). */
export function depthColorCodes(depth: Depth, options: DepthColorOptions = {}): DepthColorCodes {
  const colormap = options.colormap ?? 'turbo';
  if (!isColormapId(colormap)) {
    throw new InputError(`Unknown colormap "${String(colormap)}". Use one of: ${COLORMAP_IDS.join(', ')}.`);
  }
  const { data, width, height } = depth;
  const inverted = depth.kind !== 'disparity';

  let low: number | null;
  let high: number | null;
  if (options.range !== undefined) {
    const { min, max } = options.range;
    if (!(Number.isFinite(min) && Number.isFinite(max) && max >= min)) {
      throw new InputError(`Colour range [${min}, ${max}] must be finite with min <= max.`);
    }
    low = min;
    high = max;
  } else {
    const [pLow, pHigh] = options.percentiles ?? DEFAULT_PERCENTILES;
    if (!(pLow >= 0 && pHigh <= 100 && pLow <= pHigh)) {
      throw new InputError(`Colour percentiles [${pLow}, ${pHigh}] must satisfy 0 <= low <= high <= 100.`);
    }
    const valid = validValues(data);
    const [lo, hi] = percentilesOf(valid, [pLow, pHigh]) as [number, number];
    low = valid.length > 0 ? lo : null;
    high = valid.length > 0 ? hi : null;
  }

  let codes: Uint8Array;
  let invalidCount: number;
  const kernels = depthCodeKernels();
  if (low === null || high === null) {
    codes = new Uint8Array(width * height);
    invalidCount = countInvalid(data);
  } else if (kernels !== undefined) {
    ({ codes, invalidCount } = kernels.colorCodes(data, low, high - low, inverted));
  } else {
    codes = new Uint8Array(width * height);
    invalidCount = colorCodesInto(data, codes, low, high - low, inverted);
  }
  return { width, height, codes, invalidCount, colormap, low, high, inverted };
}

/** Number of NaN or infinite values. */
function countInvalid(data: Float32Array): number {
  let invalid = 0;
  for (let i = 0; i < data.length; i++) if (!(data[i]! - data[i]! === 0)) invalid++;
  return invalid;
}

/**
 * The colormap code of each finite value into `codes` (left 0 where invalid); returns the invalid count: the TypeScript
 * reference for the WebAssembly kernel (io/kernels), and its fallback. A kernel of
 * its own so V8 optimises the whole loop (see quantizeToUint16).
 */
export function colorCodesInto(data: Float32Array, codes: Uint8Array, low: number, span: number, inverted: boolean): number {
  let invalid = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!(v - v === 0)) { // NaN or infinite
      invalid++;
      continue;
    }
    let t = span > 0 ? (v - low) / span : 0.5;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    if (inverted) t = 1 - t;
    codes[i] = (t * 255 + 0.5) | 0; // Math.round for t >= 0, without the call
  }
  return invalid;
}

/** Colourises a depth map (see the module comment for normalisation, direction and invalid pixels). */
export function colorizeDepth(depth: Depth, options: DepthColorOptions = {}): ColorizedDepth {
  const coded = depthColorCodes(depth, options);
  const { colormap, low, high, inverted } = coded;
  return { image: colorCodesToRgb(coded, depth.data), colormap, low, high, inverted };
}

/** RGB through the colormap, black where `data` (the map the codes came from) is invalid. */
export function colorCodesToRgb(coded: DepthColorCodes, data: Float32Array): Image<Uint8Array> {
  const { codes, width, height } = coded;
  const lut = colormapLut(coded.colormap);
  const rgb = new Uint8Array(width * height * 3);
  const allInvalid = coded.invalidCount === codes.length;
  for (let i = 0, o = 0; i < codes.length; i++, o += 3) {
    if (allInvalid || !(data[i]! - data[i]! === 0)) continue;
    const k = codes[i]! * 3;
    rgb[o] = lut[k]!;
    rgb[o + 1] = lut[k + 1]!;
    rgb[o + 2] = lut[k + 2]!;
  }
  return createImage({ width, height, channels: 3, colorSpace: 'srgb', data: rgb });
}

/**
 * The colour PNG of a depth map. With every pixel valid (what a network gives) it is an 8-bit palette PNG whose
 * 256-entry palette is the colormap: the same RGB pixels to any reader, a third of the bytes to compress and
 * write. Black for invalid pixels would be a 257th colour, so maps with invalid pixels are written as RGB.
 */
export async function encodeDepthColorPng(depth: Depth, options: DepthColorOptions = {}): Promise<{ bytes: Uint8Array; codes: DepthColorCodes }> {
  const coded = depthColorCodes(depth, options);
  return { bytes: await encodeColorCodesPng(coded, depth.data), codes: coded };
}

/** encodeDepthColorPng for codes already computed from `data` (e.g. shared with a video frame). */
export async function encodeColorCodesPng(coded: DepthColorCodes, data: Float32Array): Promise<Uint8Array> {
  if (coded.invalidCount > 0) return encodeRgbPng(colorCodesToRgb(coded, data));
  const { codes, width, height } = coded;
  // Display only: fast zlib, and none at all for noise-like images, which do not compress.
  const level = looksCompressible(codes, width, height, 1, 3) ? 1 : 0;
  return encodePalettePng(codes, width, height, colormapLut(coded.colormap), { compressionLevel: level });
}

/**
 * Above this many pixels, display percentiles come from an evenly strided subsample: 65536 samples put the 2nd and
 * 98th percentiles within about 0.06 percentile points (binomial standard error), in a few ms instead of tens.
 */
export const PERCENTILE_SAMPLE_LIMIT = 1 << 16;

/** The finite values of `data` (every `stride`-th pixel), unsorted. */
function validValues(data: Float32Array): Float32Array {
  const stride = Math.max(1, Math.ceil(data.length / PERCENTILE_SAMPLE_LIMIT));
  let count = 0;
  for (let i = 0; i < data.length; i += stride) if (Number.isFinite(data[i]!)) count++;
  // Float32 holds the values exactly and halves the memory traffic of the selection.
  const valid = new Float32Array(count);
  let j = 0;
  for (let i = 0; i < data.length; i += stride) {
    const v = data[i]!;
    if (Number.isFinite(v)) valid[j++] = v;
  }
  return valid;
}

/**
 * numpy 'linear' percentiles of unsorted values, by selection instead of a full sort (O(n) rather than
 * O(n log n): a 1280x720 map takes milliseconds). Same order statistics, so the same results as
 * percentileOfSorted on the sorted values. Reorders `values`.
 */
export function percentilesOf(values: Float64Array | Float32Array, ps: readonly number[]): number[] {
  const n = values.length;
  return ps.map((p) => {
    if (n === 0) return NaN;
    const position = (p / 100) * (n - 1);
    const below = Math.min(Math.max(Math.floor(position), 0), n - 1);
    const above = Math.min(below + 1, n - 1);
    const a = selectKth(values, below);
    // After selecting `below`, the next order statistic is the smallest value to its right.
    let b = a;
    if (above > below) {
      b = Infinity;
      for (let i = below + 1; i < n; i++) if (values[i]! < b) b = values[i]!;
    }
    const t = position - below;
    const diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
  });
}

/** Encodes an 8-bit RGB image as PNG bytes. */
export async function encodeRgbPng(image: Image<Uint8Array>): Promise<Uint8Array> {
  if (image.channels !== 3) throw new InputError(`encodeRgbPng needs a 3-channel image, got ${image.channels}.`);
  // Display only: fast zlib without row filters, and none at all for noise-like images, which do not compress.
  const compressible = looksCompressible(image.data, image.width, image.height, 3, 8);
  return encodePng(image.data, image.width, image.height, 3, { compressionLevel: compressible ? 1 : 0, filtered: false });
}

export const depthColorFormat: DepthOutputFormat<'depth-color', DepthColorOptions> = Object.freeze({
  id: 'depth-color',
  input: 'depth',
  extension: '.png',
  defaultSuffix: '_depth_color.png',
  mimeType: 'image/png',
  description: 'colourised 8-bit RGB PNG (turbo or inferno, 2nd-98th percentile, near = bright, invalid = black); for viewing only',
  sniff: (bytes: Uint8Array) => bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47,
  async encode(depth: Depth, options?: DepthColorOptions) {
    return { bytes: (await encodeDepthColorPng(depth, options)).bytes };
  },
} as const);
