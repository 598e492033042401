/**
 * `anyview eval poses`: multi-view camera accuracy against ground truth, as DA3 and VGGT report it.
 * GT is a NeRF-style transforms.json (OpenGL-axis camera-to-world; frames whose image is missing are ignored)
 * or a COLMAP model folder. The images are reconstructed (with the GT intrinsics unless told not to), then:
 * pairwise AUC@3 / AUC@30 of max(relative rotation error, relative translation-direction error) over all view
 * pairs, an unregistered view making its pairs failures; and, after a Sim(3) alignment of camera centres,
 * per-view rotation and centre errors.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Intrinsics } from '../core/camera.ts';
import type { RunContext } from '../core/context.ts';
import { InputError } from '../core/errors.ts';
import type { Mat4 } from '../core/mat4.ts';
import { readImageHeader } from '../io/decode-image.ts';
import { intrinsicsFromColmapCamera, readColmapModel, worldFromCameraOfColmapImage } from '../io/formats/colmap.ts';
import { readTransformsJson } from '../io/formats/transforms-json.ts';
import { alignedPoseErrors, pairwiseAuc } from '../eval/pose-metrics.ts';
import { median } from '../core/stats.ts';
import type { InferenceBackend } from '../models/backend.ts';
import type { ModelLocations } from './depth-estimator.ts';
import { worldFromCameras } from './views-outputs.ts';
import { reconstructSparse, type DisambiguationReport, type FinePassReport, type SparseOptions } from './views-sparse.ts';

export interface GroundTruthView {
  readonly imagePath: string;
  readonly intrinsics: Intrinsics;
  readonly worldFromCamera: Mat4;
}

/** Reads GT cameras from a transforms.json file or a COLMAP model folder; images are looked up under imagesDir. */
export async function readGroundTruthCameras(gt: string, imagesDir: string): Promise<{ views: GroundTruthView[]; ignored: number }> {
  const info = await stat(gt).catch(() => undefined);
  if (!info) throw new InputError('ground-truth file or folder not found.', { file: gt });
  if (info.isDirectory()) {
    const { model } = await readColmapModel(gt);
    const cameras = new Map(model.cameras.map((c) => [c.id, c]));
    const views: GroundTruthView[] = [];
    let ignored = 0;
    for (const image of model.images) {
      const imagePath = path.resolve(imagesDir, image.name);
      if (!(await stat(imagePath).catch(() => undefined))?.isFile()) { ignored++; continue; }
      const camera = cameras.get(image.cameraId);
      if (!camera) throw new InputError(`image ${image.name} refers to missing camera ${image.cameraId}.`, { file: gt });
      views.push({ imagePath, intrinsics: intrinsicsFromColmapCamera(camera).intrinsics, worldFromCamera: worldFromCameraOfColmapImage(image) });
    }
    return { views, ignored };
  }
  // transforms.json: image paths are relative to the json; --images may point elsewhere with the same names.
  const { frames, missing } = await readTransformsJson(gt, { imageSize: (p) => readImageHeader({ path: p }) });
  const views = frames.map((f) => ({ imagePath: f.imagePath, intrinsics: f.intrinsics, worldFromCamera: f.worldFromCamera }));
  const inDir = views.filter((v) => path.resolve(path.dirname(v.imagePath)).startsWith(path.resolve(imagesDir)));
  return { views: inDir.length > 0 ? inDir : views, ignored: missing.length + (inDir.length > 0 ? views.length - inDir.length : 0) };
}

export interface PosesEvalOptions {
  readonly imagesDir: string;
  readonly gt: string;
  /** Reconstruct with the GT intrinsics (default) or estimate them from a prior. */
  readonly useGtIntrinsics: boolean;
  readonly sparse: SparseOptions;
}

export interface PosesReport {
  readonly protocol: 'pairwise-auc-da3';
  /** Pairwise AUC in percent. */
  readonly auc3: number;
  readonly auc30: number;
  readonly registered: number;
  /** Views evaluated (GT frames with an image). */
  readonly n: number;
  readonly numPairs: number;
  readonly medianRotationErrorDeg: number | null;
  readonly meanRotationErrorDeg: number | null;
  readonly medianCentreErrorPercent: number | null;
  /**
   * Over the pairs of registered views: median relative rotation error and translation-direction error
   * (degrees). Unlike the aligned errors these need no alignment, so they show the cameras' own precision.
   */
  readonly medianPairRotationErrorDeg: number | null;
  readonly medianPairTranslationErrorDeg: number | null;
  /** Whether the cameras come from the fine pass (features again at a finer resolution), or why not. */
  readonly finePass: FinePassReport;
  /** Groups of views placed again because repeated structure had misplaced them, and conflicts left. */
  readonly disambiguation: DisambiguationReport;
  readonly wallMs: number;
  readonly ignoredGtFrames: number;
  readonly views: readonly { readonly image: string; readonly registered: boolean; readonly rotationErrorDeg: number | null; readonly centreErrorPercent: number | null }[];
}

function medianOrNull(values: readonly number[]): number | null {
  return values.length === 0 ? null : median(values);
}

export async function evaluatePoses(
  backend: InferenceBackend, options: PosesEvalOptions, locations: ModelLocations, context: RunContext = {},
): Promise<PosesReport> {
  const started = performance.now();
  const { views: gtViews, ignored } = await readGroundTruthCameras(options.gt, options.imagesDir);
  if (gtViews.length < 2) throw new InputError(`needs at least 2 ground-truth views with images in ${options.imagesDir}; found ${gtViews.length}.`, { file: options.gt });
  const sparse = await reconstructSparse(backend, gtViews.map((v) => v.imagePath), {
    ...options.sparse,
    ...(options.useGtIntrinsics ? { knownIntrinsics: gtViews.map((v) => v.intrinsics) } : {}),
  }, locations, context);
  const estimates = worldFromCameras(sparse.reconstruction);
  const gt = gtViews.map((v) => v.worldFromCamera);
  const auc = pairwiseAuc(gt, estimates, [3, 30]);
  const aligned = alignedPoseErrors(gt, estimates);
  const registeredPairs = auc.pairs.filter((p) => Number.isFinite(p.errorDeg));
  return {
    protocol: 'pairwise-auc-da3',
    auc3: auc.aucPercent[3]!,
    auc30: auc.aucPercent[30]!,
    registered: estimates.filter((e) => e !== null).length,
    n: gtViews.length,
    numPairs: auc.pairs.length,
    medianRotationErrorDeg: aligned?.medianRotationDeg ?? null,
    meanRotationErrorDeg: aligned?.meanRotationDeg ?? null,
    medianCentreErrorPercent: aligned?.medianCentreErrorPercent ?? null,
    medianPairRotationErrorDeg: medianOrNull(registeredPairs.map((p) => p.rotationDeg)),
    medianPairTranslationErrorDeg: medianOrNull(registeredPairs.map((p) => p.translationDeg)),
    finePass: sparse.finePass,
    disambiguation: sparse.disambiguation,
    wallMs: performance.now() - started,
    ignoredGtFrames: ignored,
    views: gtViews.map((v, i) => ({
      image: path.relative(options.imagesDir, v.imagePath),
      registered: estimates[i] !== null,
      rotationErrorDeg: aligned?.views[i]?.rotationDeg ?? null,
      centreErrorPercent: aligned?.views[i]?.centreErrorPercent ?? null,
    })),
  };
}
