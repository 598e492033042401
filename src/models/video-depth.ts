/**
 * Video depth models (Video Depth Anything style): one run takes a window of T frames, [1, T, 3, H, W], and
 * gives T depth maps, [1, T, H, W] (or [1, T, 1, H, W]), that share one unknown affine map. Every frame is
 * preprocessed exactly as for the image models (size rule, bicubic, ImageNet normalisation) and every output
 * upsampled back with bilinear align_corners.
 */
import type { RunContext } from '../core/context.ts';
import type { Depth } from '../core/depth.ts';
import { InputError, ModelError } from '../core/errors.ts';
import type { Image } from '../core/image.ts';
import { resizeNormalizeToNchw } from '../imaging/resize-bicubic.ts';
import { resizeBilinear } from '../imaging/resize-bilinear.ts';
import type { ModelSession, TensorInfo } from './backend.ts';
import { chooseNetworkSize, interpretDepthOutput } from './depth-adapter.ts';
import { DEPTH_ANYTHING_PREPROCESS } from './depth-anything.ts';
import type { DepthOutputSpec, ImagePreprocessSpec } from './model-spec.ts';

export interface VideoDepthContract {
  readonly modelPath: string;
  readonly inputName: string;
  readonly outputName: string;
  /** The window length when the model fixes it; undefined when T is dynamic. */
  readonly windowFrames: number | undefined;
  readonly staticInput: { readonly width: number; readonly height: number } | undefined;
}

const fixed = (d: number | string | undefined): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);

/** Whether an opened model takes a window of frames (a rank-5 float input) rather than one image. */
export function isVideoDepthModel(session: Pick<ModelSession, 'inputs'>): boolean {
  return session.inputs.length === 1 && session.inputs[0]!.dims?.length === 5;
}

/** The contract of a video depth model; ModelError naming the file when it does not fit. */
export function detectVideoDepthContract(session: Pick<ModelSession, 'modelPath' | 'inputs' | 'outputs'>): VideoDepthContract {
  const file = session.modelPath;
  const describe = (t: TensorInfo) => `"${t.name}" ${t.dtype} [${(t.dims ?? []).map((d) => d ?? '?').join(', ')}]`;
  const input = session.inputs[0];
  if (session.inputs.length !== 1 || input === undefined || input.dims?.length !== 5 || input.dtype !== 'float32'
    || (fixed(input.dims[2]) ?? 3) !== 3 || (fixed(input.dims[0]) ?? 1) !== 1) {
    throw new ModelError(`is not a video depth model: expected one float32 input [1, T, 3, height, width], got ${session.inputs.map(describe).join(', ')}.`, { file });
  }
  const output = session.outputs.find((o) => o.dtype === 'float32' && (o.dims?.length === 4 || (o.dims?.length === 5 && (fixed(o.dims[2]) ?? 1) === 1)));
  if (output === undefined) {
    throw new ModelError(`has no depth output [1, T, height, width]: outputs are ${session.outputs.map(describe).join(', ')}.`, { file });
  }
  const h = fixed(input.dims[3]), w = fixed(input.dims[4]);
  return {
    modelPath: file, inputName: input.name, outputName: output.name, windowFrames: fixed(input.dims[1]),
    staticInput: h !== undefined && w !== undefined ? { width: w, height: h } : undefined,
  };
}

export interface VideoDepthRequest {
  readonly frames: readonly Image<Uint8Array>[];
  readonly preprocess: ImagePreprocessSpec | undefined;
  readonly processSizePx: number | undefined;
  readonly output: DepthOutputSpec;
}

/** Runs one window: T frames of one size in, T depth maps at that size out. */
export async function runVideoDepthModel(
  session: ModelSession, contract: VideoDepthContract, request: VideoDepthRequest, context: RunContext = {},
): Promise<{ depths: Depth[]; network: { width: number; height: number }; timingsMs: { preprocess: number; inference: number; postprocess: number } }> {
  const { frames } = request;
  const first = frames[0];
  if (first === undefined) throw new InputError('a video model window needs at least one frame.');
  if (contract.windowFrames !== undefined && frames.length !== contract.windowFrames) {
    throw new InputError(`this video model takes windows of exactly ${contract.windowFrames} frames, got ${frames.length}.`, { file: contract.modelPath });
  }
  const spec = request.preprocess ?? DEPTH_ANYTHING_PREPROCESS;
  const t0 = performance.now();
  const net = chooseNetworkSize(first, contract, spec, request.processSizePx);
  const frameSize = 3 * net.width * net.height;
  const input = new Float32Array(frames.length * frameSize);
  frames.forEach((frame, t) => {
    if (frame.width !== first.width || frame.height !== first.height) throw new InputError(`window frame ${t} is ${frame.width}x${frame.height}, not ${first.width}x${first.height}.`);
    input.set(resizeNormalizeToNchw(frame, net.width, net.height, spec.mean, spec.std), t * frameSize);
  });
  const t1 = performance.now();
  const outputs = await session.run({ [contract.inputName]: { dtype: 'float32', dims: [1, frames.length, 3, net.height, net.width], data: input } }, context);
  const t2 = performance.now();
  const tensor = outputs[contract.outputName];
  if (tensor === undefined || tensor.dtype !== 'float32') throw new ModelError(`the run gave no float32 output "${contract.outputName}".`, { file: contract.modelPath });
  const dims = tensor.dims;
  const outH = dims[dims.length - 2]!, outW = dims[dims.length - 1]!;
  if (dims[0] !== 1 || dims[1] !== frames.length || tensor.data.length !== frames.length * outH * outW) {
    throw new ModelError(`output "${contract.outputName}" has shape [${dims.join(', ')}]; expected [1, ${frames.length}, height, width].`, { file: contract.modelPath });
  }
  const data = tensor.data as Float32Array;
  const depths = frames.map((frame, t) => {
    const plane = data.slice(t * outH * outW, (t + 1) * outH * outW);
    const full = outW === frame.width && outH === frame.height ? plane
      : resizeBilinear({ width: outW, height: outH, data: plane }, frame.width, frame.height, { alignCorners: true }).data;
    return interpretDepthOutput(full, frame.width, frame.height, request.output, undefined);
  });
  return { depths, network: net, timingsMs: { preprocess: t1 - t0, inference: t2 - t1, postprocess: performance.now() - t2 } };
}
