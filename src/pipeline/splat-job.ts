/**
 * `anyview splat`: Gaussian splats from what the other commands write.
 *
 *   image + depth file            -> one splat file (pixel-aligned Gaussians, from-depth.ts)
 *   `anyview depth` output folder -> one splat file per image (no poses between images, so no merge)
 *   `anyview views` output folder -> one splat file from points.ply (isotropic, k-NN spacing: from-points.ts)
 *   `anyview video` output folder -> a 4D sequence folder with in-between sets (splat-sequence-job.ts)
 *
 * Optional semantics: DeepLabV3 (VOC) labels each image's pixels and every Gaussian takes its source pixel's class;
 * `query` keeps one class. Every file is encoded in memory and written atomically, with a JSON sidecar
 * (`<file>.json`) saying how it was made (depth interpretation, intrinsics, counts), so a failure leaves no
 * half-written output.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createCamera, createIntrinsics, intrinsicsFromFov, type Intrinsics } from '../core/camera.ts';
import type { RunContext } from '../core/context.ts';
import { FormatError, InputError, OutputError, throwIfAborted } from '../core/errors.ts';
import type { GaussianSet } from '../core/gaussians.ts';
import type { Image } from '../core/image.ts';
import { ensureWritableDir, writeFileAtomic } from '../io/atomic-write.ts';
import { readCamerasJson } from '../io/formats/cameras-json.ts';
import { decodeImage } from '../io/decode-image.ts';
import { decodePly } from '../io/formats/ply.ts';
import { getSplatFormat, SPLAT_FORMATS, type SplatFormatId } from '../io/formats/splat-formats.ts';
import type { InferenceBackend } from '../models/backend.ts';
import { resolveSegmentationModel, DEEPLABV3_MNV2_VOC_257 } from '../models/segmentation-models.ts';
import { createClassSegmenter, openSegmentationSession, type ClassSegmenter } from '../models/segmentation.ts';
import { gaussiansFromDepth, type GaussiansFromDepthStats } from '../splat/from-depth.ts';
import { gaussiansFromPoints } from '../splat/from-points.ts';
import { attachSemantics, queryByClass } from '../splat/semantics.ts';
import type { ModelLocations } from './depth-estimator.ts';
import { SIDECAR_SUFFIX } from './depth-outputs.ts';
import { readDepthInput, readDepthSidecar, zDepthOf, type DepthSidecar } from './splat-depth-input.ts';
import { type SplatInput, type SplatJobOptions } from './splat-options.ts';
import {
  extensionFormat, intrinsicsForDepth, resolveOutputFile, type SemanticsStep, type SplatBuildDetails,
} from './splat-build.ts';
import { runSplatSequenceJob, type SplatSequenceSummary } from './splat-sequence-job.ts';

export type SplatJobMode = 'imageDepth' | 'depthFolder' | 'views' | 'video';

export interface SplatFileRecord {
  /** What the set was built from (image, depth file, or points.ply). */
  readonly source: string;
  readonly file: string;
  readonly metadata: string;
  readonly format: SplatFormatId;
  readonly count: number;
  readonly details: SplatBuildDetails;
}


/** Where the segmentation network is found (ANYVIEW_MODEL_DIR, the cache) and whether it may be downloaded. */
export interface SplatModelLocations extends ModelLocations {
  readonly allowDownload: boolean;
}

export interface SplatJobSummary {
  readonly input: string;
  readonly mode: SplatJobMode;
  readonly files: readonly SplatFileRecord[];
  readonly sequence: SplatSequenceSummary | null;
  readonly totalMs: number;
}


export async function openSemanticsStep(
  options: SplatJobOptions, backend: InferenceBackend, locations: SplatModelLocations, context: RunContext,
): Promise<SemanticsStep | undefined> {
  if (options.semantics === undefined) return undefined;
  const spec = DEEPLABV3_MNV2_VOC_257; // the one 'voc' model
  const resolved = await resolveSegmentationModel(spec.id, locations, context);
  const segmenter: ClassSegmenter = createClassSegmenter(await openSegmentationSession(backend, resolved.path), spec);
  return {
    modelId: spec.id,
    async label(set, pixelIndices, image, ctx) {
      const segmentation = await segmenter.segment(image, ctx);
      return attachSemantics(set, pixelIndices, segmentation);
    },
  };
}



/** Applies --query, encodes, and writes the file and its metadata sidecar atomically (both encoded first). */
async function writeSplat(
  set: GaussianSet, target: { file: string; format: SplatFormatId }, source: string, details: SplatBuildDetails, options: SplatJobOptions,
): Promise<SplatFileRecord> {
  let out = set;
  const query = options.semantics?.query;
  if (query !== undefined) {
    out = queryByClass(set, query);
    if (out.count === 0) throw new InputError(`no Gaussian has the class "${query}" (nothing to write).`, { file: source });
  }
  const format = getSplatFormat(target.format);
  const bytes = await format.encode(out);
  const withSemantics: SplatBuildDetails = details.semantics !== undefined
    ? { ...details, semantics: { ...details.semantics, kept: format.keepsSemantics, ...(query !== undefined ? { query } : {}) } }
    : details;
  const metadataFile = `${target.file}.json`;
  const metadata = {
    format: 'anyview-splat-metadata', version: 1, source, file: path.basename(target.file), splatFormat: target.format,
    count: out.count, frame: out.frame, axes: 'OpenCV (x right, y down, z forward); the file stores its format\'s axes',
    ...withSemantics,
  };
  await ensureWritableDir(path.dirname(path.resolve(target.file)));
  await writeFileAtomic(target.file, bytes);
  await writeFileAtomic(metadataFile, `${JSON.stringify(metadata, null, 2)}\n`);
  return { source, file: target.file, metadata: metadataFile, format: target.format, count: out.count, details: withSemantics };
}

/** One image and its depth file -> one world-frame (= camera-frame, identity pose) set. */
export async function buildFromImageAndDepth(
  imagePath: string, depthPath: string, sidecar: DepthSidecar | undefined, options: SplatJobOptions,
  semantics: SemanticsStep | undefined, context: RunContext,
): Promise<{ set: GaussianSet; details: SplatBuildDetails }> {
  const loaded = await readDepthInput(depthPath, {
    ...(options.depth.valuesPerMeter !== undefined ? { valuesPerMeter: options.depth.valuesPerMeter } : {}),
    ...(sidecar !== undefined ? { sidecar } : {}),
  });
  const z = zDepthOf(loaded, options.depth.disparityShift);
  const image = await decodeImage({ path: imagePath });
  const { width, height } = z.depth;
  if (image.width !== width || image.height !== height) {
    throw new InputError(`the image ${imagePath} is ${image.width}x${image.height} but the depth map ${depthPath} is ${width}x${height}; they must match.`, { file: depthPath });
  }
  const intrinsics = intrinsicsForDepth(width, height, options.camera, loaded.intrinsics);
  const { source: _source, ...k } = intrinsics;
  let built;
  try {
    built = gaussiansFromDepth(z.depth, createCamera(k), image, {
      stride: options.build.stride, ...(options.build.maxGaussians !== undefined ? { maxGaussians: options.build.maxGaussians } : {}),
    });
  } catch (error) {
    if (error instanceof InputError) throw new InputError(error.message, { file: depthPath, cause: error });
    throw error;
  }
  if (built.gaussians.count === 0) throw new InputError('every valid pixel was dropped (depth edges or zero opacity): no Gaussians to write.', { file: depthPath });
  let set = built.gaussians;
  let semanticDetails: SplatBuildDetails['semantics'];
  if (semantics !== undefined) {
    set = await semantics.label(set, built.pixelIndices, image, context);
    semanticDetails = { model: semantics.modelId, classNames: set.semantics!.classNames, kept: true };
  }
  return {
    set,
    details: {
      depth: { file: depthPath, kind: loaded.depth.kind, conversion: z.conversion, source: loaded.source },
      intrinsics, stats: built.stats, ...(semanticDetails !== undefined ? { semantics: semanticDetails } : {}),
    },
  };
}

const stemOf = (file: string): string => path.basename(file, path.extname(file));

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}

/** The image a sidecar names: as recorded (relative to the working folder), else beside the sidecar. */
async function imageOfSidecar(sidecar: DepthSidecar): Promise<string> {
  const recorded = sidecar.input;
  if (recorded === undefined) throw new FormatError('the sidecar does not name its input image ("input").', { file: sidecar.file });
  for (const candidate of [recorded, path.join(path.dirname(sidecar.file), path.basename(recorded))]) {
    if (await isFile(candidate)) return candidate;
  }
  throw new InputError(`the image this depth was made from (${recorded}) is not found, neither as recorded nor beside the sidecar.`, { file: sidecar.file });
}

function depthFileOfSidecar(sidecar: DepthSidecar): string {
  const file = sidecar.depthFiles.png16 ?? sidecar.depthFiles.npy;
  if (file === undefined) throw new FormatError('the sidecar lists no png16 or npy depth file (run `anyview depth --format png16`).', { file: sidecar.file });
  return file;
}

/** Which command wrote this folder. */
async function classifyFolder(dir: string): Promise<{ mode: 'views' } | { mode: 'video' } | { mode: 'depthFolder'; sidecars: string[] }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new InputError(`cannot read the input: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, { file: dir, cause: error });
  }
  if (names.includes('frames.jsonl')) return { mode: 'video' };
  if (names.includes('cameras.json')) return { mode: 'views' };
  const sidecars = names.filter((n) => n.endsWith(SIDECAR_SUFFIX)).sort().map((n) => path.join(dir, n));
  if (sidecars.length > 0) return { mode: 'depthFolder', sidecars };
  throw new InputError('is not an output folder of `anyview depth` (*_depth.json), `anyview views` (cameras.json) or `anyview video` (frames.jsonl); '
    + 'for one image pass --image IMAGE --depth DEPTH.', { file: dir });
}

async function runViews(dir: string, options: SplatJobOptions, context: RunContext): Promise<SplatFileRecord> {
  if (options.semantics !== undefined) {
    throw new InputError('--semantics needs pixel-aligned Gaussians (an image with its depth); a views folder has only points.ply.', { file: dir });
  }
  const cameras = await readCamerasJson(path.join(dir, 'cameras.json'));
  const plyFile = path.join(dir, 'points.ply');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(plyFile);
  } catch (error) {
    throw new InputError(`no points.ply in the views folder (run \`anyview views\` with --format including ply): ${(error as NodeJS.ErrnoException).code}.`, { file: plyFile, cause: error });
  }
  const { cloud } = decodePly(bytes, plyFile);
  if (cloud.numPoints === 0) throw new InputError('has no points: nothing to build Gaussians from.', { file: plyFile });
  context.onProgress?.({ stage: 'splat', done: 0, total: 1, unit: 'steps', item: plyFile });
  const set = gaussiansFromPoints(cloud, options.build.maxGaussians !== undefined ? { maxGaussians: options.build.maxGaussians } : {});
  const registered = cameras.views.filter((v) => v.worldFromCamera !== null).length;
  const record = await writeSplat(set, resolveOutputFile(options.output.path, 'points', options.output.format), plyFile, {
    note: `isotropic Gaussians from points.ply (${cloud.numPoints} points, ${registered} registered views, units ${cameras.units}); `
      + 'std dev 0.6 x the mean distance to the 3 nearest points. Per-view depth maps (a depth model run on the views) '
      + 'would give pixel-aligned, surface-aligned thin Gaussians per view, fused with mergeGaussianViews.',
  }, options);
  context.onProgress?.({ stage: 'splat', done: 1, total: 1, unit: 'steps', item: plyFile });
  return record;
}

export async function runSplatJob(
  input: SplatInput, options: SplatJobOptions, backend: InferenceBackend, locations: SplatModelLocations, context: RunContext = {},
): Promise<SplatJobSummary> {
  const started = performance.now();
  if (options.semantics?.query !== undefined && options.semantics.labels === undefined) throw new InputError('--query needs --semantics.');
  if (input.kind === 'imageDepth') {
    const semantics = await openSemanticsStep(options, backend, locations, context);
    context.onProgress?.({ stage: 'splat', done: 0, total: 1, unit: 'images', item: input.image });
    const { set, details } = await buildFromImageAndDepth(input.image, input.depth, undefined, options, semantics, context);
    const record = await writeSplat(set, resolveOutputFile(options.output.path, stemOf(input.image), options.output.format), input.image, details, options);
    context.onProgress?.({ stage: 'splat', done: 1, total: 1, unit: 'images', item: input.image });
    return { input: input.image, mode: 'imageDepth', files: [record], sequence: null, totalMs: performance.now() - started };
  }
  const kind = await classifyFolder(input.dir);
  if (kind.mode === 'views') {
    const record = await runViews(input.dir, options, context);
    return { input: input.dir, mode: 'views', files: [record], sequence: null, totalMs: performance.now() - started };
  }
  if (kind.mode === 'video') {
    const semantics = await openSemanticsStep(options, backend, locations, context);
    const sequence = await runSplatSequenceJob(input.dir, options, semantics, context);
    return { input: input.dir, mode: 'video', files: [], sequence, totalMs: performance.now() - started };
  }
  if (extensionFormat(options.output.path) !== undefined) {
    throw new InputError(`a depth folder gives one splat file per image: --out must be a folder, not ${options.output.path}.`);
  }
  // Read every sidecar first, so a malformed one fails the job before any file is written.
  const sidecars = await Promise.all(kind.sidecars.map(readDepthSidecar));
  const semantics = await openSemanticsStep(options, backend, locations, context);
  const files: SplatFileRecord[] = [];
  for (const [i, sidecar] of sidecars.entries()) {
    throwIfAborted(context.signal);
    const image = await imageOfSidecar(sidecar);
    const { set, details } = await buildFromImageAndDepth(image, depthFileOfSidecar(sidecar), sidecar, options, semantics, context);
    const stem = path.basename(sidecar.file).slice(0, -SIDECAR_SUFFIX.length);
    const target = resolveOutputFile(options.output.path, stem, options.output.format);
    if (files.some((f) => f.file === target.file)) throw new OutputError(`two inputs would both write ${target.file}.`, { file: sidecar.file });
    files.push(await writeSplat(set, target, image, details, options));
    context.onProgress?.({ stage: 'splat', done: i + 1, total: sidecars.length, unit: 'images', item: image });
  }
  return { input: input.dir, mode: 'depthFolder', files, sequence: null, totalMs: performance.now() - started };
}
