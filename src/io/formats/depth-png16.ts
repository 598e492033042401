/**
 * depth-png16: a depth map as a 16-bit greyscale PNG, linearly quantised, with the value mapping in a JSON sidecar
 * (and, redundantly, in a PNG tEXt chunk under the keyword 'anyview.depth').
 *
 * Code 0 is invalid (NaN or infinite). Codes 1..65535 map linearly onto [minValue, maxValue] of the valid values:
 *   value = minValue + (code - 1) / 65534 * (maxValue - minValue)
 * so the worst-case quantisation error is (maxValue - minValue) / 131068. When every valid value is the same,
 * all valid pixels get code 1 (value = minValue); with no valid pixel at all, minValue and maxValue are null.
 * The values keep the depth's own units and meaning (`kind`): metres for metricDepth, unitless otherwise.
 */
import { decode as decodePng } from 'fast-png';
import { encodeGrey16Png, encodePng, looksCompressible } from '../png.ts';
import { depthCodeKernels } from '../kernels/depth-codes-kernels.ts';
import { FormatError, InputError } from '../../core/errors.ts';
import { createDepth, type Depth, type DepthKind } from '../../core/depth.ts';
import type { DepthOutputFormat } from './index.ts';

export const DEPTH_PNG16_TEXT_KEY = 'anyview.depth';
const MAX_CODE = 65535;
const STEPS = MAX_CODE - 1; // 65534 steps between code 1 and code 65535

/** The sidecar JSON: everything needed to turn codes back into values. */
export interface DepthPng16Mapping {
  readonly format: 'anyview-depth-png16';
  readonly version: 1;
  readonly encoding: 'linear-uint16';
  readonly invalidCode: 0;
  readonly minValue: number | null;
  readonly maxValue: number | null;
  readonly kind: DepthKind;
  /** 'm' for metricDepth; null for relative depth and disparity (unitless, up to an unknown scale/shift). */
  readonly unit: 'm' | null;
  readonly width: number;
  readonly height: number;
  readonly formula: string;
}

const FORMULA = 'value = minValue + (code - 1) / 65534 * (maxValue - minValue); code 0 = invalid';

/**
 * Linear 16-bit codes of a map (see the module comment), with the range used. On every image's path: the two
 * passes are separate small kernels so that V8 optimises each whole (a loop inside a once-per-image function
 * runs on-stack-replaced code that deoptimises at the next, never-run statement, boxing every value).
 */
export function quantizeToUint16(data: Float32Array): { codes: Uint16Array; min: number; max: number } {
  const kernels = depthCodeKernels();
  if (kernels !== undefined) return kernels.quantize(data, STEPS);
  return quantizeToUint16Loops(data);
}

/** quantizeToUint16 in TypeScript (the reference for the WebAssembly kernels, and their fallback). */
export function quantizeToUint16Loops(data: Float32Array): { codes: Uint16Array; min: number; max: number } {
  const range = new Float64Array(2);
  finiteRange(data, range);
  const min = range[0]!;
  const max = range[1]!;
  const codes = new Uint16Array(data.length);
  if (min <= max) linearCodes(data, codes, min, max > min ? STEPS / (max - min) : 0);
  return { codes, min, max };
}

/** The smallest and largest finite values into out[0], out[1] (Infinity, -Infinity when there are none). */
export function finiteRange(data: Float32Array, out: Float64Array): void {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v === 0) { // finite
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  out[0] = min;
  out[1] = max;
}

/** codes[i] = 1 + round((data[i] - min) * scale) for finite values, 0 otherwise. */
function linearCodes(data: Float32Array, codes: Uint16Array, min: number, scale: number): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // (x + 0.5) | 0 is Math.round for the non-negative x here.
    codes[i] = v - v === 0 ? 1 + (((v - min) * scale + 0.5) | 0) : 0;
  }
}

export async function encodeDepthPng16(depth: Depth): Promise<{ bytes: Uint8Array; mapping: DepthPng16Mapping }> {
  const { data, width, height } = depth;
  const { codes, min, max } = quantizeToUint16(data);
  const anyValid = min <= max;
  const mapping: DepthPng16Mapping = {
    format: 'anyview-depth-png16',
    version: 1,
    encoding: 'linear-uint16',
    invalidCode: 0,
    minValue: anyValid ? min : null,
    maxValue: anyValid ? max : null,
    kind: depth.kind,
    unit: depth.kind === 'metricDepth' ? 'm' : null,
    width,
    height,
    formula: FORMULA,
  };
  const text = { [DEPTH_PNG16_TEXT_KEY]: JSON.stringify(mapping) };
  // Smooth maps: fixed Sub filter + zlib. Noise-like maps do not compress, so sharp stores them (~5 ms).
  const bytes = isSmooth(codes, width, height)
    ? await encodeGrey16Png(codes, width, height, { text })
    : await encodePng(codes, width, height, 1, { compressionLevel: 0, filtered: false, text });
  return { bytes, mapping };
}

/** Whether compressing will pay: most neighbouring codes differ by less than 1/256 of the range (see looksCompressible). */
export function isSmooth(codes: Uint16Array, width: number, height: number): boolean {
  return looksCompressible(codes, width, height, 1, 256);
}

/**
 * Reads a depth-png16 file back into a Depth. The mapping comes from `mapping` (the sidecar) when given,
 * otherwise from the PNG's own 'anyview.depth' text chunk.
 */
export function decodeDepthPng16(bytes: Uint8Array, mapping?: DepthPng16Mapping, name?: string): Depth {
  const file = name !== undefined ? { file: name } : {};
  let png: ReturnType<typeof decodePng>;
  try {
    png = decodePng(bytes);
  } catch (error) {
    throw new FormatError(`not a readable PNG (${error instanceof Error ? error.message : String(error)}).`, { ...file, cause: error });
  }
  if (png.depth !== 16 || png.channels !== 1) {
    throw new FormatError(`expected a 16-bit greyscale PNG, got ${png.depth}-bit with ${png.channels} channel(s).`, file);
  }
  const map = mapping ?? mappingFromText(png.text[DEPTH_PNG16_TEXT_KEY], name);
  checkMapping(map, name);
  if (map.width !== png.width || map.height !== png.height) {
    throw new FormatError(`mapping is for ${map.width}x${map.height} but the PNG is ${png.width}x${png.height}.`, file);
  }
  const codes = png.data as Uint16Array;
  const out = new Float32Array(codes.length);
  const min = map.minValue ?? 0;
  const step = map.maxValue !== null && map.minValue !== null ? (map.maxValue - map.minValue) / STEPS : 0;
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    out[i] = code === 0 || map.minValue === null ? NaN : min + (code - 1) * step;
  }
  return createDepth({ kind: map.kind, width: png.width, height: png.height, data: out });
}

function mappingFromText(text: string | undefined, name: string | undefined): DepthPng16Mapping {
  if (text === undefined) {
    throw new FormatError(`no value mapping: pass the JSON sidecar (the PNG has no '${DEPTH_PNG16_TEXT_KEY}' text chunk).`,
      name !== undefined ? { file: name } : {});
  }
  try {
    return JSON.parse(text) as DepthPng16Mapping;
  } catch (error) {
    throw new FormatError(`the '${DEPTH_PNG16_TEXT_KEY}' text chunk is not valid JSON.`, { ...(name !== undefined ? { file: name } : {}), cause: error });
  }
}

function checkMapping(map: DepthPng16Mapping, name: string | undefined): void {
  const ok = map.encoding === 'linear-uint16' && map.invalidCode === 0
    && (map.kind === 'metricDepth' || map.kind === 'relativeDepth' || map.kind === 'disparity')
    && ((map.minValue === null && map.maxValue === null)
      || (Number.isFinite(map.minValue) && Number.isFinite(map.maxValue) && map.maxValue! >= map.minValue!));
  if (!ok) {
    throw new FormatError(`unsupported depth mapping ${JSON.stringify({ encoding: map.encoding, kind: map.kind, minValue: map.minValue, maxValue: map.maxValue })}.`,
      name !== undefined ? { file: name } : {});
  }
}

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

function sniffPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

export const depthPng16Format: DepthOutputFormat<'depth-png16'> = Object.freeze({
  id: 'depth-png16',
  input: 'depth',
  extension: '.png',
  defaultSuffix: '_depth16.png',
  mimeType: 'image/png',
  description: '16-bit greyscale PNG, linear over [min, max] of the valid values (0 = invalid), with a JSON sidecar giving the mapping',
  sniff: sniffPng,
  async encode(depth: Depth): Promise<{ bytes: Uint8Array; sidecar: DepthPng16Mapping }> {
    if (depth.width * depth.height !== depth.data.length) throw new InputError('depth data does not match its size.');
    const { bytes, mapping } = await encodeDepthPng16(depth);
    return { bytes, sidecar: mapping };
  },
} as const);
