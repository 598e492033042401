/**
 * The contract of a depth evaluation dataset, plus the small readers the loaders share
 * (16-bit depth PNGs, RGB images, intrinsics files, layout discovery under a root folder).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { decode as decodePng } from 'fast-png';
import { type Intrinsics, createIntrinsics } from '../../core/camera.ts';
import { FormatError, InputError } from '../../core/errors.ts';
import type { Image } from '../../core/image.ts';
import { decodeImage, readImageHeader } from '../../io/decode-image.ts';
import type { CropSpec } from '../depth-metrics.ts';

/** One evaluation sample, as listed from disk (nothing decoded yet). */
export interface DatasetSample {
  readonly dataset: string;
  /** Stable id, unique within the dataset listing, e.g. 'metric3d/rgb_00050'. */
  readonly id: string;
  readonly rgbPath: string;
  readonly depthPath: string;
  /** Stored depth value per metre (1000 for millimetres, 256 for KITTI, 5000 for TUM); stored 0 = invalid. */
  readonly depthUnitsPerMeter: number;
  readonly intrinsics: Intrinsics;
}

export interface LoadedSample {
  readonly image: Image<Uint8Array>;
  /** Row-major GT depth in metres, NaN = invalid. */
  readonly depthMeters: Float32Array;
  readonly width: number;
  readonly height: number;
  readonly intrinsics: Intrinsics;
}

export interface DepthDataset {
  readonly name: string;
  readonly description: string;
  /** The crop of the standard protocol, or null for none. */
  readonly defaultCrop: CropSpec | null;
  readonly minDepthMeters: number;
  readonly maxDepthMeters: number;
  /**
   * Lists the samples under `root`: the dataset folder itself or any parent the loader knows the layout of.
   * Throws InputError naming every place it looked when nothing matches.
   */
  list(root: string): Promise<DatasetSample[]>;
  load(sample: DatasetSample): Promise<LoadedSample>;
}

// ---------------------------------------------------------------------------------------------------------
// Shared readers

/**
 * Decodes an image file to 8-bit sRGB RGB (EXIF orientation applied). The one place loaders decode colour.
 */
export async function readRgbImage(filePath: string): Promise<Image<Uint8Array>> {
  return decodeImage({ path: filePath });
}

/**
 * Reads a single-channel 16-bit PNG depth map and converts it to metres: value / unitsPerMeter, stored 0 -> NaN.
 * Decoded with fast-png (exact 16-bit values; sharp would convert greyscale to 3-channel sRGB).
 */
export async function readDepthPng16(filePath: string, unitsPerMeter: number): Promise<{ width: number; height: number; depthMeters: Float32Array }> {
  const bytes = await readFile(filePath);
  let png: ReturnType<typeof decodePng>;
  try {
    png = decodePng(bytes);
  } catch (error) {
    throw new FormatError(`cannot decode the depth PNG: ${(error as Error).message}`, { file: filePath, cause: error });
  }
  if (png.depth !== 16 || png.channels !== 1) {
    throw new FormatError(`depth PNG must be 16-bit single-channel, got ${png.depth}-bit with ${png.channels} channel(s).`, { file: filePath });
  }
  const raw = png.data;
  const depthMeters = new Float32Array(png.width * png.height);
  for (let i = 0; i < depthMeters.length; i++) {
    const v = raw[i]!;
    depthMeters[i] = v === 0 ? Number.NaN : v / unitsPerMeter;
  }
  return { width: png.width, height: png.height, depthMeters };
}

/** Reads a .npy file holding a little-endian float32/float64 C-order array; returns the values and shape. */
export async function readNpyFloat(filePath: string): Promise<{ shape: number[]; data: Float64Array }> {
  const bytes = await readFile(filePath);
  const magic = bytes.subarray(0, 6).toString('latin1');
  if (magic !== '\x93NUMPY') throw new FormatError('not a .npy file (bad magic).', { file: filePath, byteOffset: 0 });
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.subarray(headerStart, headerStart + headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new FormatError(`cannot parse the .npy header "${header.trim()}".`, { file: filePath, byteOffset: headerStart });
  }
  if (fortran === 'True') throw new FormatError('Fortran-order .npy arrays are not supported.', { file: filePath });
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = headerStart + headerLength;
  const itemSize = descr === '<f4' ? 4 : descr === '<f8' ? 8 : 0;
  if (itemSize === 0) throw new FormatError(`.npy dtype ${descr} is not supported (need <f4 or <f8).`, { file: filePath });
  if (bytes.length < offset + count * itemSize) {
    throw new FormatError(`.npy file is truncated: need ${count * itemSize} data bytes.`, { file: filePath, byteOffset: offset });
  }
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    data[i] = itemSize === 4 ? bytes.readFloatLE(offset + i * 4) : bytes.readDoubleLE(offset + i * 8);
  }
  return { shape, data };
}

/** Intrinsics from (fx, fy, cx, cy) for an image size. */
export function intrinsicsFromParams(params: readonly number[], width: number, height: number): Intrinsics {
  const [fxPx, fyPx, cxPx, cyPx] = params;
  if (fxPx === undefined || fyPx === undefined || cxPx === undefined || cyPx === undefined) {
    throw new FormatError(`intrinsics need 4 values (fx, fy, cx, cy), got ${params.length}.`);
  }
  return createIntrinsics({ fxPx, fyPx, cxPx, cyPx, width, height });
}

export async function isFile(filePath: string): Promise<boolean> {
  try {
    return (await stat(filePath)).isFile();
  } catch {
    return false;
  }
}

export async function isDirectory(filePath: string): Promise<boolean> {
  try {
    return (await stat(filePath)).isDirectory();
  } catch {
    return false;
  }
}

/** A layout a loader recognises: relative folders to try under the root, and the test a folder must pass. */
export interface LayoutProbe {
  /** What the layout is, for error messages, e.g. 'Metric3D nyu_demo (test_annotations.json + rgb/ + depth/)'. */
  readonly what: string;
  readonly candidates: readonly string[];
  readonly matches: (folder: string) => Promise<boolean>;
}

/**
 * Layout discovery: for each probe, the candidate folders under `root` that match it (duplicates removed).
 * Throws InputError naming every folder it looked in when nothing matches.
 */
export async function findLayouts(datasetName: string, root: string, probes: readonly LayoutProbe[]): Promise<{ probe: number; folder: string }[]> {
  if (!(await isDirectory(root))) {
    throw new InputError(`${datasetName}: root "${root}" is not a folder.`);
  }
  const found: { probe: number; folder: string }[] = [];
  for (let p = 0; p < probes.length; p++) {
    const seen = new Set<string>();
    for (const relative of probes[p]!.candidates) {
      const folder = path.resolve(root, relative);
      if (seen.has(folder)) continue;
      seen.add(folder);
      if (await probes[p]!.matches(folder)) {
        found.push({ probe: p, folder });
        break;
      }
    }
  }
  if (found.length === 0) {
    const tried = probes.map((probe) => `${probe.what} in ${probe.candidates.map((c) => (c === '.' ? '<root>' : `<root>/${c}`)).join(', ')}`).join('; ');
    throw new InputError(`${datasetName}: no known layout found under "${root}". Looked for ${tried}.`);
  }
  return found;
}

/** Image width and height (as displayed, after EXIF orientation) from the file header, without decoding pixels. */
export async function readImageSize(filePath: string): Promise<{ width: number; height: number }> {
  const header = await readImageHeader({ path: filePath });
  return { width: header.width, height: header.height };
}

interface Metric3dAnnotation {
  readonly cam_in: readonly number[];
  readonly rgb: string;
  readonly depth: string;
  readonly depth_scale: number;
}

/** True for a Metric3D demo folder: test_annotations.json beside rgb/ and depth/. */
export async function isMetric3dFolder(folder: string): Promise<boolean> {
  return (await isFile(path.join(folder, 'test_annotations.json'))) && (await isDirectory(path.join(folder, 'rgb'))) && (await isDirectory(path.join(folder, 'depth')));
}

/**
 * Samples of a Metric3D demo folder (`data/nyu_demo`, `data/kitti_demo`): test_annotations.json lists
 * { cam_in: [fx, fy, cx, cy], rgb, depth, depth_scale } with paths relative to the Metric3D repo root; the last two
 * path components (rgb/<file>, depth/<file>) are resolved inside the folder.
 */
export async function listMetric3dFolder(dataset: string, folder: string, idPrefix: string): Promise<DatasetSample[]> {
  const annotationPath = path.join(folder, 'test_annotations.json');
  let files: unknown;
  try {
    files = (JSON.parse(await readFile(annotationPath, 'utf8')) as { files?: unknown }).files;
  } catch (error) {
    throw new FormatError(`cannot parse: ${(error as Error).message}`, { file: annotationPath, cause: error });
  }
  if (!Array.isArray(files)) throw new FormatError('has no "files" array.', { file: annotationPath });
  const samples: DatasetSample[] = [];
  for (const entry of files as Metric3dAnnotation[]) {
    if (typeof entry.rgb !== 'string' || typeof entry.depth !== 'string' || !Array.isArray(entry.cam_in) || !(entry.depth_scale > 0)) {
      throw new FormatError(`entry ${JSON.stringify(entry)} lacks rgb, depth, cam_in or a positive depth_scale.`, { file: annotationPath });
    }
    const rgbPath = path.join(folder, ...entry.rgb.split('/').slice(-2));
    const depthPath = path.join(folder, ...entry.depth.split('/').slice(-2));
    const size = await readImageSize(rgbPath);
    samples.push({
      dataset,
      id: `${idPrefix}/${path.parse(rgbPath).name}`,
      rgbPath,
      depthPath,
      depthUnitsPerMeter: entry.depth_scale,
      intrinsics: intrinsicsFromParams(entry.cam_in, size.width, size.height),
    });
  }
  return samples.sort((a, b) => a.id.localeCompare(b.id));
}

/** Checks that RGB and depth sizes agree and returns the loaded sample. */
export async function loadRgbAndDepth(sample: DatasetSample): Promise<LoadedSample> {
  const [image, depth] = await Promise.all([readRgbImage(sample.rgbPath), readDepthPng16(sample.depthPath, sample.depthUnitsPerMeter)]);
  if (image.width !== depth.width || image.height !== depth.height) {
    throw new FormatError(`RGB ${sample.rgbPath} is ${image.width}x${image.height} but depth is ${depth.width}x${depth.height}.`, { file: sample.depthPath });
  }
  const { intrinsics } = sample;
  if (intrinsics.width !== image.width || intrinsics.height !== image.height) {
    throw new FormatError(`intrinsics are for ${intrinsics.width}x${intrinsics.height} but the image is ${image.width}x${image.height}.`, { file: sample.rgbPath });
  }
  return { image, depthMeters: depth.depthMeters, width: image.width, height: image.height, intrinsics };
}
