/**
 * Runs a single-image depth network the way its family defines it, driven by the spec's data:
 * size rule -> bicubic resize + normalise (fused) -> session.run -> bilinear align_corners upsample to the
 * image size -> a core Depth of the right kind. This is the official Depth Anything chain
 * (shared/docs/DEPTH_REFERENCE.md), step for step; DA3 differs only in data (size rule, target, output kind).
 */
import type { RunContext } from '../core/context.ts';
import { createDepth, type Depth, type DepthKind } from '../core/depth.ts';
import type { Image } from '../core/image.ts';
import type { Intrinsics } from '../core/camera.ts';
import { InputError, ModelError } from '../core/errors.ts';
import { resizeNormalizeToNchw } from '../imaging/resize-bicubic.ts';
import { resizeBilinear } from '../imaging/resize-bilinear.ts';
import type { ResizeWorkspace } from '../imaging/kernels/resize-kernels.ts';
import type { ModelSession } from './backend.ts';
import { depthPlaneFromOutput, depthPlanesFromOutput, type DepthContract, type DepthPlane } from './contract.ts';
import { DEPTH_ANYTHING_PREPROCESS } from './depth-anything.ts';
import { DA3_METRIC_SCALE } from './depth-anything-3.ts';
import type { DepthModelSpec, DepthOutputSpec, ImagePreprocessSpec } from './model-spec.ts';
import { networkInputSize } from './size-rule.ts';

export interface DepthRunTimings {
  readonly preprocess: number;
  readonly inference: number;
  readonly postprocess: number;
}

export interface DepthRunRequest {
  readonly image: Image<Uint8Array>;
  /** Intrinsics of `image` (its own resolution); needed only by focal-scaled metric models. */
  readonly intrinsics: Intrinsics | undefined;
  /** The model's preprocessing; models given by path use Depth Anything's. */
  readonly preprocess: ImagePreprocessSpec | undefined;
  /** Overrides the spec's target size (the `--size` flag). */
  readonly processSizePx: number | undefined;
  readonly output: DepthOutputSpec;
  /**
   * Reusable network-input buffers: one is borrowed for the run when its length fits and returned after it, so
   * consecutive images skip a fresh multi-MB allocation (and its page faults and GC); concurrent runs allocate.
   */
  readonly inputPool?: Float32Array[];
  /** WebAssembly SIMD resize kernels to run the pre- and postprocessing resizes on (bit-identical results). */
  readonly resizeWorkspace?: ResizeWorkspace | undefined;
}

export interface DepthRunResult {
  readonly depth: Depth;
  readonly network: { readonly width: number; readonly height: number };
  readonly timingsMs: DepthRunTimings;
}

/** The output meaning: the registry's, or for a model given by path the user's `--output-kind` (default disparity). */
export function depthOutputSpecFor(spec: DepthModelSpec | undefined, override: DepthKind | undefined): DepthOutputSpec {
  if (spec !== undefined) return spec.output;
  switch (override ?? 'disparity') {
    case 'disparity':
      return { kind: 'disparity' };
    case 'relativeDepth':
      return { kind: 'relativeDepth' };
    case 'metricDepth':
      return { kind: 'metricDepth', scaling: 'direct' };
  }
}

/** Network input size for an image, honouring a static model size and the `--size` override. */
export function chooseNetworkSize(
  image: { readonly width: number; readonly height: number },
  contract: Pick<DepthContract, 'staticInput'>,
  preprocess: ImagePreprocessSpec,
  processSizePx: number | undefined,
): { width: number; height: number } {
  if (contract.staticInput !== undefined) return networkInputSize(image.width, image.height, { ...preprocess, sizeRule: 'static' }, contract.staticInput);
  const spec = processSizePx !== undefined ? { ...preprocess, targetPx: processSizePx } : preprocess;
  if (spec.targetPx % spec.multipleOf !== 0) {
    throw new InputError(`Processing size ${spec.targetPx} px must be a multiple of ${spec.multipleOf} (the model's patch size); try ${Math.round(spec.targetPx / spec.multipleOf) * spec.multipleOf}.`);
  }
  return networkInputSize(image.width, image.height, spec);
}

/** Turns the upsampled raw output into a core Depth of the spec's kind (metres where the model is metric). */
export function interpretDepthOutput(
  data: Float32Array,
  width: number,
  height: number,
  output: DepthOutputSpec,
  focalPxAtNetwork: number | undefined,
): Depth {
  if (output.kind === 'disparity') return createDepth({ kind: 'disparity', width, height, data });
  let factor = 1;
  if (output.kind === 'metricDepth' && output.scaling === 'focalOver300') {
    if (focalPxAtNetwork === undefined) throw new InputError('This metric model needs the camera focal length: pass --intrinsics (or --fov-deg).');
    factor = focalPxAtNetwork / DA3_METRIC_SCALE;
  }
  // Depth kinds: non-positive values are not depths.
  for (let i = 0; i < data.length; i++) {
    const v = data[i]! * factor;
    data[i] = v > 0 ? v : NaN;
  }
  return createDepth({ kind: output.kind, width, height, data });
}

export async function runDepthModel(
  session: ModelSession,
  contract: DepthContract,
  request: DepthRunRequest,
  context: RunContext = {},
): Promise<DepthRunResult> {
  const { image } = request;
  const preprocessSpec = request.preprocess ?? DEPTH_ANYTHING_PREPROCESS;
  const t0 = performance.now();
  const net = chooseNetworkSize(image, contract, preprocessSpec, request.processSizePx);
  const pool = request.inputPool;
  const length = 3 * net.width * net.height;
  const slot = pool?.findIndex((buffer) => buffer.length === length) ?? -1;
  const borrowed = slot >= 0 ? pool!.splice(slot, 1)[0] : undefined;
  const input = resizeNormalizeToNchw(image, net.width, net.height, preprocessSpec.mean, preprocessSpec.std, borrowed, request.resizeWorkspace);
  const t1 = performance.now();
  let outputs;
  try {
    outputs = await session.run({ [contract.inputName]: { dtype: 'float32', dims: [1, 3, net.height, net.width], data: input } }, context);
  } finally {
    // Keep one buffer per size (the last used), so a folder of mixed sizes cannot grow the pool without bound.
    if (pool !== undefined) {
      const same = pool.findIndex((buffer) => buffer.length === length);
      if (same >= 0) pool.splice(same, 1);
      pool.push(input);
      if (pool.length > 2) pool.shift();
    }
  }
  const t2 = performance.now();
  const depth = postprocessPlane(depthPlaneFromOutput(contract, outputs), image, net, request);
  const t3 = performance.now();
  return { depth, network: net, timingsMs: { preprocess: t1 - t0, inference: t2 - t1, postprocess: t3 - t2 } };
}

/** The official postprocess of one output plane: back to the image size, then the output's meaning. */
function postprocessPlane(
  plane: DepthPlane,
  image: { readonly width: number; readonly height: number },
  net: { readonly width: number; readonly height: number },
  request: Pick<DepthRunRequest, 'intrinsics' | 'output' | 'resizeWorkspace'>,
): Depth {
  // Bilinear, align_corners=True, from the output size back to the image size.
  const full = plane.width === image.width && plane.height === image.height
    ? plane.data
    : resizeBilinear(plane, image.width, image.height, { alignCorners: true, workspace: request.resizeWorkspace }).data;
  // DA3's focal rule uses the focal length at the processed resolution.
  const focalPxAtNetwork = request.intrinsics !== undefined
    ? ((request.intrinsics.fxPx * net.width) / image.width + (request.intrinsics.fyPx * net.height) / image.height) / 2
    : undefined;
  return interpretDepthOutput(full, image.width, image.height, request.output, focalPxAtNetwork);
}

export interface DepthBatchRequest extends Omit<DepthRunRequest, 'image'> {
  /** Images of one size (video frames), one camera: `intrinsics` holds for all of them. */
  readonly images: readonly Image<Uint8Array>[];
}

export interface DepthBatchResult {
  readonly depths: Depth[];
  readonly network: { readonly width: number; readonly height: number };
  /** For the whole batch. */
  readonly timingsMs: DepthRunTimings;
}

/**
 * Several images in one `session.run` ([N,3,H,W] in, [N,H,W] or [N,1,H,W] out), for a model whose contract has
 * a dynamic batch. Every image is preprocessed and every plane postprocessed exactly as runDepthModel does one,
 * so the results are those of N single runs (up to the runtime's kernels, which may sum in another order).
 */
export async function runDepthModelBatch(
  session: ModelSession,
  contract: DepthContract,
  request: DepthBatchRequest,
  context: RunContext = {},
): Promise<DepthBatchResult> {
  const { images } = request;
  const first = images[0];
  if (first === undefined) throw new InputError('a depth batch needs at least one image.');
  if (images.length > 1 && contract.batch !== 'dynamic') {
    throw new ModelError(`takes one image per run (its input or output declares a batch of 1), so ${images.length} images cannot be batched; run them one by one.`, { file: contract.modelPath });
  }
  const preprocessSpec = request.preprocess ?? DEPTH_ANYTHING_PREPROCESS;
  const t0 = performance.now();
  const net = chooseNetworkSize(first, contract, preprocessSpec, request.processSizePx);
  const planeSize = 3 * net.width * net.height;
  const input = new Float32Array(images.length * planeSize);
  images.forEach((image, n) => {
    if (image.width !== first.width || image.height !== first.height) {
      throw new InputError(`batched images must share one size: image ${n} is ${image.width}x${image.height}, image 0 is ${first.width}x${first.height}.`);
    }
    resizeNormalizeToNchw(image, net.width, net.height, preprocessSpec.mean, preprocessSpec.std, input.subarray(n * planeSize, (n + 1) * planeSize), request.resizeWorkspace);
  });
  const t1 = performance.now();
  const outputs = await session.run({ [contract.inputName]: { dtype: 'float32', dims: [images.length, 3, net.height, net.width], data: input } }, context);
  const t2 = performance.now();
  const planes = depthPlanesFromOutput(contract, outputs, images.length);
  const depths = planes.map((plane, n) => postprocessPlane(plane, images[n]!, net, request));
  const t3 = performance.now();
  return { depths, network: net, timingsMs: { preprocess: t1 - t0, inference: t2 - t1, postprocess: t3 - t2 } };
}
