/**
 * A depth estimator: a resolved model, an open session and its detected contract, behind one call
 * `estimate(image)` -> core Depth. Tensors stay inside models/.
 */
import type { RunContext } from '../core/context.ts';
import type { Depth, DepthKind } from '../core/depth.ts';
import type { Image } from '../core/image.ts';
import type { Intrinsics } from '../core/camera.ts';
import { InputError, ModelError } from '../core/errors.ts';
import type { InferenceBackend, ModelSession } from '../models/backend.ts';
import type { DepthModelSpec, LicenseInfo } from '../models/model-spec.ts';
import { looksLikePath, resolveModel } from '../models/resolve.ts';
import { assertLicenseAccepted, findModelSpec } from '../models/registry.ts';
import { detectDepthContract, type BatchDimension } from '../models/contract.ts';
import { createResizeWorkspace } from '../imaging/kernels/resize-kernels.ts';
import { runDepthModel, runDepthModelBatch, type DepthBatchResult, type DepthRunTimings, depthOutputSpecFor } from '../models/depth-adapter.ts';
import type { DepthJobOptions } from './depth-options.ts';

export interface DepthEstimate {
  readonly depth: Depth;
  /** The network input size actually used. */
  readonly network: { readonly width: number; readonly height: number };
  readonly timingsMs: DepthRunTimings;
}

export interface DepthEstimator {
  /** Registry id, or the file path for a model given by path. */
  readonly modelId: string;
  readonly modelPath: string;
  readonly spec: DepthModelSpec | undefined;
  readonly outputKind: DepthKind;
  readonly license: LicenseInfo | undefined;
  readonly device: string;
  /** Fixed network input size for static-shape models. */
  readonly staticInput: { readonly width: number; readonly height: number } | undefined;
  estimate(image: Image<Uint8Array>, intrinsics: Intrinsics | undefined, context?: RunContext): Promise<DepthEstimate>;
  /** 'dynamic' when the model takes several images per run (estimateBatch); 'one' otherwise. */
  readonly batch: BatchDimension;
  /**
   * Images of one size (video frames, one camera) in one run; the same results as `estimate` on each. More than
   * one image needs `batch === 'dynamic'` (ModelError otherwise).
   */
  estimateBatch(images: readonly Image<Uint8Array>[], intrinsics: Intrinsics | undefined, context?: RunContext): Promise<DepthBatchResult>;
}

export interface ModelLocations {
  /** ANYVIEW_MODEL_DIR, read by the entry point, never here. */
  readonly modelDir?: string;
  /** Defaults to ~/.cache/anyview. */
  readonly cacheDir?: string;
}

/** A depth model resolved (registry id or path) and opened, before its contract is read. */
export interface OpenedDepthModel {
  readonly path: string;
  readonly spec: DepthModelSpec | undefined;
  readonly session: ModelSession;
}

/** The licence gate, resolution (path, model dir, cache, download) and the session: what every depth job starts with. */
export async function openDepthModel(
  backend: InferenceBackend,
  options: Pick<DepthJobOptions, 'model' | 'runtime'>,
  locations: ModelLocations,
  context: RunContext = {},
): Promise<OpenedDepthModel> {
  // The licence gate comes before any file is looked for or downloaded.
  const known = looksLikePath(options.model.idOrPath) ? undefined : findModelSpec(options.model.idOrPath);
  if (known !== undefined) assertLicenseAccepted(known, { allowNonCommercial: options.model.allowNonCommercial });
  const resolved = await resolveModel(options.model.idOrPath, {
    variant: options.model.variant,
    modelDir: locations.modelDir,
    cacheDir: locations.cacheDir,
    allowDownload: options.model.allowDownload,
  }, context);
  const spec = resolved.spec;
  if (spec !== undefined && options.model.outputKind !== undefined && options.model.outputKind !== spec.output.kind) {
    throw new InputError(`--output-kind ${options.model.outputKind} contradicts model ${spec.id}, which outputs ${spec.output.kind}; drop the flag.`);
  }
  const session = await backend.open(resolved.path, {
    device: options.runtime.device,
    ...(options.runtime.intraOpThreads !== undefined ? { intraOpThreads: options.runtime.intraOpThreads } : {}),
  });
  return { path: resolved.path, spec, session };
}

export async function createDepthEstimator(
  backend: InferenceBackend,
  options: Pick<DepthJobOptions, 'model' | 'runtime' | 'preprocess'>,
  locations: ModelLocations,
  context: RunContext = {},
): Promise<DepthEstimator> {
  return depthEstimatorFor(await openDepthModel(backend, options, locations, context), options, context);
}

/** The single-image estimator over an opened model (its image contract is checked here). */
export function depthEstimatorFor(
  opened: OpenedDepthModel,
  options: Pick<DepthJobOptions, 'model' | 'preprocess'>,
  context: RunContext = {},
): DepthEstimator {
  const { spec, session } = opened;
  const contract = detectDepthContract(session, spec);
  const output = depthOutputSpecFor(spec, options.model.outputKind);
  const modelId = spec?.id ?? opened.path;
  if (output.kind === 'metricDepth' && output.scaling === 'focalOver300' && spec === undefined) {
    throw new ModelError('focal/300 metric scaling needs a registry model.', { file: opened.path });
  }
  // This estimator's reusable network-input buffers (see DepthRunRequest.inputPool).
  const inputPool: Float32Array[] = [];
  // What every run of this estimator passes, single image or batch.
  const shared = { resizeWorkspace: createResizeWorkspace(), preprocess: spec?.preprocess, processSizePx: options.preprocess.processSizePx, output };
  return {
    modelId,
    modelPath: opened.path,
    spec,
    outputKind: output.kind,
    license: spec?.license,
    device: session.device,
    staticInput: contract.staticInput,
    estimate(image, intrinsics, runContext = context) {
      return runDepthModel(session, contract, { ...shared, inputPool, image, intrinsics }, runContext);
    },
    batch: contract.batch,
    estimateBatch(images, intrinsics, runContext = context) {
      return runDepthModelBatch(session, contract, { ...shared, images, intrinsics }, runContext);
    },
  };
}
