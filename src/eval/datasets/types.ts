/**
 * The contract of a depth evaluation dataset, plus the small readers the loaders share
 * (16-bit depth PNGs, RGB images, intrinsics files, layout discovery under a root folder).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeNpy } from '../../io/formats/npy.ts';
import { readMetricDepthFile } from '../../io/read-metric-depth.ts';
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

/** Reads a .npy float array (any float/int dtype numpy writes); returns the values as float64 and the shape. */
export async function readNpyFloat(filePath: string): Promise<{ shape: number[]; data: Float64Array }> {
  const array = decodeNpy(await readFile(filePath), filePath);
  return { shape: [...array.shape], data: Float64Array.from(array.data as ArrayLike<number>) };
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
  const [image, depth] = await Promise.all([readRgbImage(sample.rgbPath), readMetricDepthFile(sample.depthPath, sample.depthUnitsPerMeter)]);
  if (image.width !== depth.width || image.height !== depth.height) {
    throw new FormatError(`RGB ${sample.rgbPath} is ${image.width}x${image.height} but depth is ${depth.width}x${depth.height}.`, { file: sample.depthPath });
  }
  const { intrinsics } = sample;
  if (intrinsics.width !== image.width || intrinsics.height !== image.height) {
    throw new FormatError(`intrinsics are for ${intrinsics.width}x${intrinsics.height} but the image is ${image.width}x${image.height}.`, { file: sample.rgbPath });
  }
  return { image, depthMeters: depth.depthMeters, width: image.width, height: image.height, intrinsics };
}
