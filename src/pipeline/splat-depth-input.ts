/**
 * Depth files as `anyview splat` reads them, and the z-depth Gaussians need:
 * - files written by `anyview depth` / `anyview video` (`<stem>_depth16.png`, `<stem>_depth.npy`), with the JSON
 *   sidecar `<stem>_depth.json` beside them (kind, intrinsics, the 16-bit PNG's value mapping); a 16-bit PNG
 *   without a sidecar still carries its mapping and kind in its 'anyview.depth' text chunk;
 * - any other 16-bit PNG or float .npy is a measured metric depth map, as `anyview depth --align` reads it:
 *   value / valuesPerMeter metres (default 1000 for a PNG: millimetres; 1 for a .npy: metres), 0 / NaN unknown.
 * Disparity (inverse depth up to an unknown scale and shift) is never guessed into depth: it is refused unless the
 * caller states a shift, and then depth = 1 / (disparity + shift), a relative depth, recorded as an assumption.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decode as decodePng } from 'fast-png';
import { createIntrinsics, type Intrinsics } from '../core/camera.ts';
import { createDepth, type Depth, type DepthKind, type MetricDepthMap, type RelativeDepthMap } from '../core/depth.ts';
import { FormatError, InputError } from '../core/errors.ts';
import { DEPTH_PNG16_TEXT_KEY, decodeDepthPng16, type DepthPng16Mapping } from '../io/formats/depth-png16.ts';
import { decodeNpyDepth, sniffNpy } from '../io/formats/npy.ts';
import { decodeDepthNpyMeters, decodeDepthPngMeters } from '../io/read-metric-depth.ts';
import { OUTPUT_SUFFIX, SIDECAR_SUFFIX } from './depth-outputs.ts';

const KINDS: readonly DepthKind[] = ['disparity', 'relativeDepth', 'metricDepth'];

/** What `anyview splat` uses from a depth sidecar (depth-outputs.ts writes more). */
export interface DepthSidecar {
  readonly file: string;
  /** The image the depth was estimated from, as recorded (resolved against the sidecar's folder when relative). */
  readonly input: string | undefined;
  readonly width: number;
  readonly height: number;
  readonly kind: DepthKind;
  readonly intrinsics: Intrinsics | undefined;
  readonly png16: DepthPng16Mapping | undefined;
  /** Depth files listed by the sidecar, as paths beside it. */
  readonly depthFiles: { readonly png16?: string; readonly npy?: string };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks a `<stem>_depth.json` sidecar; FormatError naming the file and the field otherwise. */
export function parseDepthSidecar(text: string, file: string): DepthSidecar {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FormatError(`not valid JSON (${(error as Error).message}); expected the sidecar written by \`anyview depth\`.`, { file, cause: error });
  }
  if (!isObject(json)) throw new FormatError('a depth sidecar must be a JSON object.', { file });
  const bad = (field: string, expected: string): never => {
    throw new FormatError(`field "${field}" must be ${expected}, got ${JSON.stringify(json[field as keyof typeof json]) ?? 'nothing'}.`, { file });
  };
  const { width, height, kind } = json;
  if (!(Number.isInteger(width) && (width as number) > 0)) bad('width', 'a positive integer');
  if (!(Number.isInteger(height) && (height as number) > 0)) bad('height', 'a positive integer');
  if (!KINDS.includes(kind as DepthKind)) bad('kind', `one of ${KINDS.join(', ')}`);
  let intrinsics: Intrinsics | undefined;
  if (json['intrinsics'] !== undefined) {
    const k = json['intrinsics'];
    if (!isObject(k) || !['fxPx', 'fyPx', 'cxPx', 'cyPx'].every((key) => Number.isFinite(k[key]))) bad('intrinsics', 'an object with numbers fxPx, fyPx, cxPx, cyPx');
    const ki = k as Record<string, number>;
    try {
      intrinsics = createIntrinsics({ fxPx: ki['fxPx']!, fyPx: ki['fyPx']!, cxPx: ki['cxPx']!, cyPx: ki['cyPx']!, width: width as number, height: height as number });
    } catch (error) {
      throw new FormatError(`bad intrinsics: ${(error as Error).message}`, { file, cause: error });
    }
  }
  const files = isObject(json['files']) ? json['files'] : {};
  const dir = path.dirname(file);
  const listed = (key: 'png16' | 'npy'): string | undefined => (typeof files[key] === 'string' ? path.join(dir, path.basename(files[key] as string)) : undefined);
  const png16 = isObject(json['png16']) ? (json['png16'] as unknown as DepthPng16Mapping) : undefined;
  const input = typeof json['input'] === 'string' ? json['input'] : undefined;
  const png16File = listed('png16'), npyFile = listed('npy');
  return {
    file, input, width: width as number, height: height as number, kind: kind as DepthKind, intrinsics, png16,
    depthFiles: { ...(png16File !== undefined ? { png16: png16File } : {}), ...(npyFile !== undefined ? { npy: npyFile } : {}) },
  };
}

export async function readDepthSidecar(file: string): Promise<DepthSidecar> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read the depth sidecar: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, { file, cause: error });
  }
  return parseDepthSidecar(text, file);
}

/** The sidecar path `anyview depth` writes beside a depth file, or undefined when the name is not one of its. */
export function sidecarPathFor(depthFile: string): string | undefined {
  for (const suffix of [OUTPUT_SUFFIX.png16, OUTPUT_SUFFIX.npy]) {
    if (depthFile.endsWith(suffix)) return `${depthFile.slice(0, -suffix.length)}${SIDECAR_SUFFIX}`;
  }
  return undefined;
}

/** How the values of a loaded depth map were interpreted. */
export type DepthSource = 'sidecar' | 'pngText' | 'metricFile';

export interface LoadedDepth {
  readonly file: string;
  readonly depth: Depth;
  readonly source: DepthSource;
  /** The sidecar's intrinsics, when there is one that records them. */
  readonly intrinsics: Intrinsics | undefined;
  readonly sidecar: DepthSidecar | undefined;
}

export interface ReadDepthOptions {
  /** Stored units per metre of a plain metric file; default 1000 for a PNG (mm), 1 for a .npy (m). */
  readonly valuesPerMeter?: number;
  /** An already-read sidecar for this file. */
  readonly sidecar?: DepthSidecar;
}

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new InputError(`cannot read the depth file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, { file, cause: error });
  }
}

async function sidecarIfPresent(file: string): Promise<DepthSidecar | undefined> {
  const candidate = sidecarPathFor(file);
  if (candidate === undefined) return undefined;
  try {
    return parseDepthSidecar(await readFile(candidate, 'utf8'), candidate);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Reads a depth file and works out what its values mean (see the module comment). */
export async function readDepthInput(file: string, options: ReadDepthOptions = {}): Promise<LoadedDepth> {
  const bytes = await readBytes(file);
  const isNpy = sniffNpy(bytes);
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  if (!isNpy && !isPng) throw new FormatError('not a 16-bit PNG or .npy depth map.', { file });
  const sidecar = options.sidecar ?? (await sidecarIfPresent(file));
  let depth: Depth;
  let source: DepthSource;
  if (sidecar !== undefined) {
    depth = isNpy ? decodeNpyDepth(bytes, sidecar.kind, file) : decodeDepthPng16(bytes, sidecar.png16, file);
    if (depth.kind !== sidecar.kind) throw new FormatError(`the PNG's mapping says ${depth.kind} but its sidecar says ${sidecar.kind}.`, { file });
    if (depth.width !== sidecar.width || depth.height !== sidecar.height) {
      throw new FormatError(`the depth map is ${depth.width}x${depth.height} but its sidecar says ${sidecar.width}x${sidecar.height}.`, { file: sidecar.file });
    }
    source = 'sidecar';
  } else if (isPng && hasDepthText(bytes, file)) {
    depth = decodeDepthPng16(bytes, undefined, file);
    source = 'pngText';
  } else {
    const valuesPerMeter = options.valuesPerMeter ?? (isNpy ? 1 : 1000);
    const metric = isNpy ? decodeDepthNpyMeters(bytes, valuesPerMeter, file) : decodeDepthPngMeters(bytes, valuesPerMeter, file);
    depth = createDepth({ kind: 'metricDepth', width: metric.width, height: metric.height, data: metric.depthMeters });
    source = 'metricFile';
  }
  return { file, depth, source, intrinsics: sidecar?.intrinsics, sidecar };
}

function hasDepthText(bytes: Uint8Array, file: string): boolean {
  try {
    return decodePng(bytes).text[DEPTH_PNG16_TEXT_KEY] !== undefined;
  } catch (error) {
    throw new FormatError(`cannot decode the depth PNG: ${(error as Error).message}`, { file, cause: error });
  }
}

export interface ZDepth {
  readonly depth: MetricDepthMap | RelativeDepthMap;
  /** How the stored values became z-depth, for the output's metadata. */
  readonly conversion: string;
}

/**
 * The z-depth Gaussians are built from. Disparity needs an explicit shift (see the module comment); every map
 * needs at least one valid (finite, positive) value.
 */
export function zDepthOf(loaded: LoadedDepth, disparityShift: number | undefined): ZDepth {
  const { depth, file } = loaded;
  let out: ZDepth;
  if (depth.kind === 'disparity') {
    if (disparityShift === undefined) {
      throw new InputError(
        'holds disparity (inverse depth with an unknown scale and shift), which cannot be turned into depth without guessing. '
        + 'Use a metric model (e.g. `anyview depth --model depth-anything-v2-metric-indoor-small`), align to known depth '
        + '(`anyview depth --align D`), or pass --disparity-shift 0 to assume depth = 1 / disparity (a relative depth).',
        { file },
      );
    }
    const data = new Float32Array(depth.data.length);
    for (let i = 0; i < data.length; i++) {
      const d = depth.data[i]! + disparityShift;
      data[i] = d > 0 && Number.isFinite(d) ? 1 / d : Number.NaN;
    }
    out = {
      depth: createDepth({ kind: 'relativeDepth', width: depth.width, height: depth.height, data }),
      conversion: `assumed depth = 1 / (disparity + ${disparityShift}) (--disparity-shift); relative depth, unknown scale`,
    };
  } else {
    out = { depth, conversion: depth.kind === 'metricDepth' ? 'metric z-depth (metres)' : 'relative z-depth (unknown scale)' };
  }
  let valid = 0;
  for (let i = 0; i < out.depth.data.length; i++) if (out.depth.data[i]! > 0 && out.depth.data[i]! < Infinity) valid++;
  if (valid === 0) {
    throw new InputError(`has no valid depth (${out.depth.data.length === 0 ? 'empty' : 'every value is NaN, infinite or <= 0'}): nothing to build Gaussians from.`, { file });
  }
  return out;
}
