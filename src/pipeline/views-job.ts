/**
 * `anyview views`: any number of images -> cameras (`worldFromCamera`, OpenCV axes) and one point cloud.
 * Sparse reconstruction always runs (learned features + SfM); with a depth model, each registered view's depth
 * is aligned to the sparse points and the views are fused into a dense cloud.
 */
import type { RunContext } from '../core/context.ts';
import { InputError } from '../core/errors.ts';
import type { InferenceBackend } from '../models/backend.ts';
import type { ModelVariant } from '../models/model-spec.ts';
import { createDepthEstimator, type ModelLocations } from './depth-estimator.ts';
import { DEFAULT_DEPTH_JOB_OPTIONS } from './depth-options.ts';
import { DEFAULT_FEATURE_OPTIONS, DEFAULT_VERIFICATION_OPTIONS } from './views-features.ts';
import { densifyViews, DEFAULT_DENSE_OPTIONS, type DenseOptions, type DenseViewReport } from './views-dense.ts';
import { VIEWS_OUTPUT_FORMATS, writeViewsOutputs, type ViewsOutputFormat } from './views-outputs.ts';
import { knownCamerasForPaths } from './known-cameras.ts';
import { reconstructWithDa3 } from './views-da3.ts';
import { DEFAULT_FINE_PASS } from './views-fine.ts';
import { reconstructSparse, unregisteredWarning, viewNames, type DisambiguationReport, type FinePassReport, type SparseOptions } from './views-sparse.ts';
import { DEFAULT_DISAMBIGUATION } from '../sfm/disambiguate.ts';

export interface ViewsDepthModel {
  readonly idOrPath: string;
  readonly variant: ModelVariant;
  readonly allowNonCommercial: boolean;
}

export interface ViewsJobOptions {
  readonly outDir: string;
  readonly formats: readonly ViewsOutputFormat[];
  readonly sparse: SparseOptions;
  /** A single-image depth model for dense points; none gives cameras and sparse points only. */
  readonly depthModel?: ViewsDepthModel;
  readonly dense: DenseOptions;
  /** Known cameras (transforms.json or a COLMAP model folder): points are triangulated through them. */
  readonly knownCamerasFile?: string;
  /** A multi-view DA3 ONNX export: cameras and points from the network (P = t + D d), no feature matching. */
  readonly da3ModelPath?: string;
  readonly allowDownload: boolean;
  readonly intraOpThreads?: number;
}

const DEFAULT_SPARSE: SparseOptions = {
  features: DEFAULT_FEATURE_OPTIONS,
  verification: DEFAULT_VERIFICATION_OPTIONS,
  pairs: 'auto',
  cameraPrior: {},
  alpha: 'flattenWhite',
  seed: 0,
  finePass: DEFAULT_FINE_PASS,
  disambiguation: DEFAULT_DISAMBIGUATION,
};

export const DEFAULT_VIEWS_OPTIONS: Omit<ViewsJobOptions, 'outDir'> = Object.freeze({
  formats: VIEWS_OUTPUT_FORMATS,
  sparse: DEFAULT_SPARSE,
  dense: DEFAULT_DENSE_OPTIONS,
  allowDownload: true,
});

export interface ViewsJobReport {
  readonly numViews: number;
  readonly numRegistered: number;
  readonly views: readonly {
    readonly name: string;
    readonly registered: boolean;
    readonly intrinsicsSource: string;
    readonly focalPx: number;
    readonly duplicateOf?: string;
  }[];
  /** Names of the views that are not in the reconstruction. */
  readonly unregistered: readonly string[];
  readonly numSparsePoints: number;
  readonly verifiedPairs: number;
  /** Verified pairs left out because their rotation closes no consistent loop (repeated or symmetric structure). */
  readonly loopRejectedPairs: number;
  readonly matchedPairs: number;
  /** The fine pass (features again at a finer resolution): whether the cameras come from it, or why not. */
  readonly finePass: FinePassReport;
  /** The check for groups of views placed through repeated or symmetric structure: what it moved, what is left. */
  readonly disambiguation: DisambiguationReport;
  readonly dense?: { readonly numPoints: number; readonly viewsUsed: number; readonly views: readonly DenseViewReport[] };
  /** What the run could not do and how to get it. */
  readonly notes: readonly string[];
  readonly written: readonly string[];
  readonly timingsMs: Readonly<Record<string, number>>;
}

export async function runViewsJob(
  backend: InferenceBackend, paths: readonly string[], options: ViewsJobOptions, locations: ModelLocations, context: RunContext = {},
): Promise<ViewsJobReport> {
  const started = performance.now();
  const threads = options.intraOpThreads !== undefined ? { intraOpThreads: options.intraOpThreads } : {};
  if (options.da3ModelPath !== undefined) return runDa3ViewsJob(backend, paths, options.da3ModelPath, options, context, started);
  const known = options.knownCamerasFile !== undefined ? await knownCamerasForPaths(options.knownCamerasFile, paths) : undefined;
  const sparse = await reconstructSparse(backend, paths, {
    ...options.sparse,
    ...(known ? { knownIntrinsics: known.intrinsics, knownPoses: known.cameraFromWorld } : {}),
    features: { ...options.sparse.features, allowDownload: options.allowDownload, ...threads },
  }, locations, context);
  const { reconstruction, views } = sparse;
  const registered = reconstruction.cameraFromWorld.filter((p) => p !== null).length;
  if (registered < 2) {
    throw new InputError(`Could not reconstruct the cameras: no pair of the ${paths.length} views has enough shared, textured content `
      + 'seen from different positions (pure rotation or too little overlap).');
  }
  const unregistered = sparse.unregistered.map((u) => u.name);
  if (unregistered.length > 0) context.log?.warn(unregisteredWarning(sparse.unregistered));

  const notes: string[] = [];
  if (options.knownCamerasFile !== undefined) {
    notes.push(`Cameras as given in ${options.knownCamerasFile} (poses, intrinsics, world frame and scale); only points were estimated.`);
  }
  let dense: ViewsJobReport['dense'];
  let denseCloud;
  let denseMs = 0;
  if (options.depthModel) {
    const t = performance.now();
    const estimator = await createDepthEstimator(backend, {
      model: { ...options.depthModel, allowDownload: options.allowDownload },
      runtime: { device: 'auto', ...threads },
      preprocess: { maxPixels: DEFAULT_DEPTH_JOB_OPTIONS.preprocess.maxPixels },
    }, locations, context);
    const result = await densifyViews(reconstruction, views.map((v) => ({ path: v.path, keypoints: v.keypoints })),
      async (image, intrinsics, ctx) => (await estimator.estimate(image, intrinsics, ctx)).depth, options.dense, context);
    denseCloud = result.cloud;
    dense = { numPoints: result.cloud.numPoints, viewsUsed: result.views.filter((v) => v.used).length, views: result.views };
    for (const r of result.views.filter((v) => !v.used)) context.log?.warn(`${views[r.view]!.name}: depth not used (${r.reason}).`);
    denseMs = performance.now() - t;
  } else {
    notes.push('No depth model given: cameras and sparse points only. A depth model (--depth-model, e.g. depth-anything-v2-small) '
      + 'adds a dense point cloud aligned to these cameras.');
  }
  const written = await writeViewsOutputs(options.outDir, options.formats, {
    reconstruction, units: 'arbitrary',
    views: views.map((v) => ({ name: v.name, keypoints: v.keypoints })),
    ...(denseCloud ? { denseCloud } : {}),
  });
  return {
    numViews: views.length,
    numRegistered: registered,
    views: views.map((v, i) => ({
      name: v.name, registered: reconstruction.cameraFromWorld[i] !== null, intrinsicsSource: v.intrinsicsSource,
      focalPx: reconstruction.intrinsics[i]!.fxPx, ...(v.duplicateOf ? { duplicateOf: v.duplicateOf } : {}),
    })),
    unregistered,
    numSparsePoints: reconstruction.points.length,
    verifiedPairs: sparse.verifiedPairs,
    loopRejectedPairs: sparse.loopRejectedPairs,
    matchedPairs: sparse.matchedPairs,
    finePass: sparse.finePass,
    disambiguation: sparse.disambiguation,
    ...(dense ? { dense } : {}),
    notes,
    written,
    timingsMs: { ...sparse.timingsMs, dense: denseMs, total: performance.now() - started },
  };
}

/** The DA3 branch of `anyview views`: one network pass, cameras from rays, fused points. */
async function runDa3ViewsJob(
  backend: InferenceBackend, paths: readonly string[], modelPath: string, options: ViewsJobOptions, context: RunContext, started: number,
): Promise<ViewsJobReport> {
  if (options.knownCamerasFile !== undefined || options.depthModel !== undefined) {
    throw new InputError('--da3-model predicts cameras and depth itself: it cannot be combined with --cameras or --depth-model.');
  }
  const result = await reconstructWithDa3(backend, paths, {
    modelPath, dense: options.dense, alpha: options.sparse.alpha,
    ...(options.intraOpThreads !== undefined ? { intraOpThreads: options.intraOpThreads } : {}),
  }, context);
  const { reconstruction } = result;
  const names = viewNames(paths);
  const registered = reconstruction.cameraFromWorld.filter((p) => p !== null).length;
  const unregistered = names.filter((_, i) => reconstruction.cameraFromWorld[i] === null);
  const written = await writeViewsOutputs(options.outDir, options.formats, {
    reconstruction, units: 'arbitrary',
    views: names.map((name) => ({ name, keypoints: new Float32Array(0) })),
    denseCloud: result.cloud,
  });
  return {
    numViews: paths.length,
    numRegistered: registered,
    views: names.map((name, i) => ({
      name, registered: reconstruction.cameraFromWorld[i] !== null,
      intrinsicsSource: result.views[i] ? `da3-${result.views[i]!.cameraSource}` : 'none', focalPx: reconstruction.intrinsics[i]!.fxPx,
    })),
    unregistered,
    numSparsePoints: 0,
    verifiedPairs: 0,
    loopRejectedPairs: 0,
    matchedPairs: 0,
    finePass: { kind: 'off' },
    disambiguation: { kind: 'off' },
    dense: { numPoints: result.cloud.numPoints, viewsUsed: registered, views: [] },
    notes: ['Cameras and points from the DA3 network (P = t + D d); world frame and scale are the network\'s, no sparse points or COLMAP tracks.'],
    written,
    timingsMs: { da3Inference: result.timingsMs.inference, da3Geometry: result.timingsMs.geometry, total: performance.now() - started },
  };
}
