/**
 * Reads a measured depth map (ground truth, a sensor, a depth-to-align-to) into metres:
 * a 16-bit single-channel PNG (value / valuesPerMeter, 0 = unknown) or a float .npy (value / valuesPerMeter,
 * NaN or <= 0 = unknown). Unknown pixels become NaN.
 */
import { readFile } from 'node:fs/promises';
import { decode as decodePng } from 'fast-png';
import { FormatError, InputError } from '../core/errors.ts';
import { decodeNpy, sniffNpy } from './formats/npy.ts';

export interface MetricDepthFile {
  readonly width: number;
  readonly height: number;
  /** Row-major metres, NaN where unknown. */
  readonly depthMeters: Float32Array;
}

function checkValuesPerMeter(valuesPerMeter: number): void {
  if (!(valuesPerMeter > 0 && Number.isFinite(valuesPerMeter))) {
    throw new InputError(`valuesPerMeter (${valuesPerMeter}) must be a positive number (1000 for millimetre PNGs).`);
  }
}

/** Decodes a 16-bit single-channel PNG depth map (bytes) to metres. */
export function decodeDepthPngMeters(bytes: Uint8Array, valuesPerMeter: number, file: string): MetricDepthFile {
  checkValuesPerMeter(valuesPerMeter);
  let png: ReturnType<typeof decodePng>;
  try {
    png = decodePng(bytes);
  } catch (error) {
    throw new FormatError(`cannot decode the depth PNG: ${(error as Error).message}`, { file, cause: error });
  }
  if (png.depth !== 16 || png.channels !== 1) {
    throw new FormatError(`a depth PNG must be 16-bit single-channel, got ${png.depth}-bit with ${png.channels} channel(s).`, { file });
  }
  const raw = png.data;
  const depthMeters = new Float32Array(png.width * png.height);
  for (let i = 0; i < depthMeters.length; i++) {
    const v = raw[i]!;
    depthMeters[i] = v === 0 ? Number.NaN : v / valuesPerMeter;
  }
  return { width: png.width, height: png.height, depthMeters };
}

/** Decodes a (H, W) or (1, H, W) float .npy to metres. */
export function decodeDepthNpyMeters(bytes: Uint8Array, valuesPerMeter: number, file: string): MetricDepthFile {
  checkValuesPerMeter(valuesPerMeter);
  const array = decodeNpy(bytes, file);
  const shape = array.shape.length === 3 && array.shape[0] === 1 ? array.shape.slice(1) : array.shape;
  if (shape.length !== 2) {
    throw new FormatError(`expected a (height, width) depth array, got shape (${array.shape.join(', ')}).`, { file });
  }
  const depthMeters = new Float32Array(array.data.length);
  for (let i = 0; i < depthMeters.length; i++) {
    const v = Number(array.data[i]!) / valuesPerMeter;
    depthMeters[i] = v > 0 && Number.isFinite(v) ? v : Number.NaN;
  }
  return { width: shape[1]!, height: shape[0]!, depthMeters };
}

export async function readMetricDepthFile(file: string, valuesPerMeter: number): Promise<MetricDepthFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new InputError(`cannot read the depth file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, { file, cause: error });
  }
  if (sniffNpy(bytes)) return decodeDepthNpyMeters(bytes, valuesPerMeter, file);
  if (bytes[0] === 0x89 && bytes[1] === 0x50) return decodeDepthPngMeters(bytes, valuesPerMeter, file);
  throw new FormatError('not a 16-bit PNG or .npy depth map.', { file, byteOffset: 0 });
}
