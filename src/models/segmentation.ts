/**
 * Semantic segmentation of one image, and the seam that lets closed- and open-vocabulary segmenters share callers.
 *
 * Two kinds of result, told apart by `kind`:
 * - 'classes' (closed vocabulary, e.g. DeepLabV3 on PASCAL VOC): one label per pixel into `classNames`, and
 *   optionally the winning class's softmax probability.
 * - 'features' (open vocabulary, e.g. LSeg or a CLIP-based dense head; none is registered yet): one L2-normalised
 *   embedding per pixel, to be compared by cosine similarity with the embedding of a text query produced by a
 *   TextEmbedder of the same `embeddingSpace`. Labels for a text query are then a threshold on that similarity
 *   (src/splat/semantics.ts queryByFeature does it per Gaussian).
 * A SemanticSegmenter is either kind; narrowing on `segmenter.kind` narrows the result type of `segment`.
 *
 * DeepLabV3-MobileNetV2 (the TF-Hub lite model as ONNX), as the original project runs it:
 * 1. Resize the RGB image to the network size (257 x 257) by bilinear interpolation with half-pixel centres and
 *    no antialiasing (cv2.resize INTER_LINEAR), computed in floating point (cv2 rounds to bytes first: < 0.5/127.5
 *    per value); value = byte / 127.5 - 1; NHWC float32 [1, H, W, 3].
 * 2. The network outputs class logits NHWC [1, H, W, C] (it upsamples its 33 x 33 logits inside).
 * 3. Resize the C logits bilinearly (half-pixel centres) to the image size and take the arg max per pixel (the
 *    lowest class on ties, as numpy argmax). The score is the softmax of the resized logits at the arg max.
 */
import type { RunContext } from '../core/context.ts';
import { InputError, ModelError, throwIfAborted } from '../core/errors.ts';
import type { Image } from '../core/image.ts';
import { bilinearTaps } from '../imaging/resize-bilinear.ts';
import type { InferenceBackend, ModelSession, SessionOptions, Tensor } from './backend.ts';
import { DEEPLABV3_MNV2_VOC_257, type SegmentationModelSpec } from './segmentation-models.ts';

/** Per-pixel classes over a closed vocabulary. Pixel (x, y) is at index y * width + x. */
export interface ClassSegmentation {
  readonly kind: 'classes';
  readonly width: number;
  readonly height: number;
  /** Class index per pixel into `classNames` (Uint8Array when there are at most 256 classes). */
  readonly labels: Uint8Array | Uint16Array;
  /** Softmax probability of the chosen class per pixel, when asked for. */
  readonly scores?: Float32Array;
  readonly classNames: readonly string[];
}

/**
 * Per-pixel embeddings for open-vocabulary queries (LSeg / CLIP-style). Pixel (x, y) owns
 * data[(y * width + x) * dims .. + dims], L2-normalised, so a dot product with a normalised text embedding of the
 * same `embeddingSpace` is the cosine similarity.
 */
export interface FeatureSegmentation {
  readonly kind: 'features';
  readonly width: number;
  readonly height: number;
  readonly dims: number;
  readonly data: Float32Array;
  /** Names the joint image-text space (e.g. 'clip-vit-b32'); a text embedding must come from the same one. */
  readonly embeddingSpace: string;
}

export type SemanticSegmentation = ClassSegmentation | FeatureSegmentation;

/** A closed-vocabulary segmenter: its classes are known before any image is seen. */
export interface ClassSegmenter {
  readonly kind: 'classes';
  readonly classNames: readonly string[];
  segment(image: Image<Uint8Array>, context?: RunContext): Promise<ClassSegmentation>;
}

/** An open-vocabulary segmenter: per-pixel embeddings, queried later with a TextEmbedder of the same space. */
export interface FeatureSegmenter {
  readonly kind: 'features';
  readonly dims: number;
  readonly embeddingSpace: string;
  segment(image: Image<Uint8Array>, context?: RunContext): Promise<FeatureSegmentation>;
}

export type SemanticSegmenter = ClassSegmenter | FeatureSegmenter;

/** Maps a text query into a FeatureSegmenter's space (e.g. a CLIP text tower); returns an L2-normalised vector. */
export interface TextEmbedder {
  readonly dims: number;
  readonly embeddingSpace: string;
  embed(text: string, context?: RunContext): Promise<Float32Array>;
}

export interface SegmentationOptions {
  /** Also return the softmax probability of the chosen class per pixel (C exps per pixel). Default false. */
  readonly withScores?: boolean;
}

/** How a DeepLab-style file's tensors are found: NHWC input [1,H,W,3] and NHWC logits [1,H,W,C]. */
export interface SegmentationContract {
  readonly inputName: string;
  readonly outputName: string;
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly classCount: number;
}

function staticDim(dims: readonly (number | string | undefined)[] | undefined, index: number): number | undefined {
  const dim = dims?.[index];
  return typeof dim === 'number' && dim > 0 ? dim : undefined;
}

/**
 * Checks a session against the spec's contract (one float32 input [1,H,W,3], one output [1,H,W,C] with C the
 * spec's class count, where declared) and names its tensors. Throws ModelError naming the file otherwise.
 */
export function detectSegmentationContract(
  session: Pick<ModelSession, 'modelPath' | 'inputs' | 'outputs'>,
  spec: SegmentationModelSpec = DEEPLABV3_MNV2_VOC_257,
): SegmentationContract {
  const file = session.modelPath;
  const classCount = spec.output.classNames.length;
  const { width, height } = spec.preprocess;
  const fail = (why: string): never => {
    throw new ModelError(`not a ${spec.displayName} model: ${why} (expected input float32 [1,${height},${width},3] `
      + `and output class logits [1,${height},${width},${classCount}]).`, { file });
  };
  if (session.inputs.length !== 1) fail(`it has ${session.inputs.length} inputs`);
  if (session.outputs.length !== 1) fail(`it has ${session.outputs.length} outputs`);
  const input = session.inputs[0]!;
  const output = session.outputs[0]!;
  if (input.dtype !== 'float32') fail(`its input is ${input.dtype}`);
  const matches = (dims: readonly (number | string | undefined)[] | undefined, expected: readonly number[]): boolean =>
    dims === undefined || (dims.length === 4 && expected.every((e, k) => typeof dims[k] !== 'number' || dims[k] === e));
  if (!matches(input.dims, [1, height, width, 3])) fail(`its input has shape [${input.dims!.join(',')}]`);
  if (!matches(output.dims, [1, height, width, classCount])) fail(`its output has shape [${output.dims!.join(',')}]`);
  // A dynamic declared size is accepted: the spec's size is what the network was trained at.
  const inputWidth = staticDim(input.dims, 2) ?? width;
  const inputHeight = staticDim(input.dims, 1) ?? height;
  return { inputName: input.name, outputName: output.name, inputWidth, inputHeight, classCount };
}

/**
 * Step 1 of the file header: `image` (1, 3 or 4 channels; grey repeated, alpha ignored) resized to width x height
 * (bilinear, half-pixel centres), value * scale + offset, NHWC float32 [1, height, width, 3].
 */
export function segmentationInputTensor(image: Image<Uint8Array>, width: number, height: number, scale: number, offset: number): Float32Array {
  const { width: w0, height: h0, channels, data } = image;
  if (data.length !== w0 * h0 * channels) throw new InputError(`Image data length ${data.length} does not match ${w0}x${h0}x${channels}.`);
  const xt = bilinearTaps(w0, width, false);
  const yt = bilinearTaps(h0, height, false);
  const out = new Float32Array(width * height * 3);
  const g = channels === 1 ? 0 : 1;
  const b = channels === 1 ? 0 : 2;
  const lanes = [0, g, b];
  for (let y = 0; y < height; y++) {
    const top = yt.i0[y]! * w0 * channels;
    const bottom = yt.i1[y]! * w0 * channels;
    const ty = yt.t[y]!;
    for (let x = 0; x < width; x++) {
      const l = xt.i0[x]! * channels;
      const r = xt.i1[x]! * channels;
      const tx = xt.t[x]!;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const lane = lanes[c]!;
        const u = data[top + l + lane]! + (data[top + r + lane]! - data[top + l + lane]!) * tx;
        const v = data[bottom + l + lane]! + (data[bottom + r + lane]! - data[bottom + l + lane]!) * tx;
        out[o + c] = (u + (v - u) * ty) * scale + offset;
      }
    }
  }
  return out;
}

/** Horizontal bilinear pass of one NHWC source row into `rows` at `base` (outWidth x channels, float64). */
function horizontalRow(
  logits: Float32Array, rowStart: number, channels: number, xt: ReturnType<typeof bilinearTaps>,
  rows: Float64Array, base: number, outWidth: number,
): void {
  for (let x = 0; x < outWidth; x++) {
    const l = rowStart + xt.i0[x]! * channels;
    const r = rowStart + xt.i1[x]! * channels;
    const t = xt.t[x]!;
    const o = base + x * channels;
    for (let c = 0; c < channels; c++) {
      const a = logits[l + c]!;
      rows[o + c] = a + (logits[r + c]! - a) * t;
    }
  }
}

/**
 * Step 3 of the file header: NHWC logits (netWidth x netHeight x classCount) resized bilinearly (half-pixel
 * centres) to outWidth x outHeight and arg-maxed per pixel, without materialising the resized logits.
 */
export function decodeClassLogits(
  logits: Float32Array,
  net: { readonly width: number; readonly height: number; readonly classCount: number },
  out: { readonly width: number; readonly height: number },
  options: SegmentationOptions = {},
): { labels: Uint8Array | Uint16Array; scores?: Float32Array } {
  const { width: nw, height: nh, classCount: C } = net;
  if (!(C >= 1 && C <= 0x10000)) throw new InputError(`Class count ${C} must be in 1..65536.`);
  if (logits.length !== nw * nh * C) throw new InputError(`Logits length ${logits.length} does not match ${nw}x${nh}x${C}.`);
  if (!Number.isInteger(out.width) || !Number.isInteger(out.height) || out.width < 1 || out.height < 1) {
    throw new InputError(`Output size ${out.width}x${out.height} must be positive integers.`);
  }
  const W = out.width;
  const H = out.height;
  const xt = bilinearTaps(nw, W, false);
  const yt = bilinearTaps(nh, H, false);
  const labels = C <= 256 ? new Uint8Array(W * H) : new Uint16Array(W * H);
  const scores = options.withScores === true ? new Float32Array(W * H) : undefined;
  // Two horizontally resized source rows, source row r in slot r & 1 (as resizeBilinear does), each computed once.
  const rowSize = W * C;
  const rows = new Float64Array(2 * rowSize);
  const slotRow = new Int32Array([-1, -1]);
  const pixel = new Float64Array(C);
  for (let y = 0; y < H; y++) {
    const y0 = yt.i0[y]!;
    const y1 = yt.i1[y]!;
    if (slotRow[y0 & 1] !== y0) {
      horizontalRow(logits, y0 * nw * C, C, xt, rows, (y0 & 1) * rowSize, W);
      slotRow[y0 & 1] = y0;
    }
    if (slotRow[y1 & 1] !== y1) {
      horizontalRow(logits, y1 * nw * C, C, xt, rows, (y1 & 1) * rowSize, W);
      slotRow[y1 & 1] = y1;
    }
    const ty = yt.t[y]!;
    const b0 = (y0 & 1) * rowSize;
    const b1 = (y1 & 1) * rowSize;
    for (let x = 0; x < W; x++) {
      const o0 = b0 + x * C;
      const o1 = b1 + x * C;
      let best = 0;
      let bestValue = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < C; c++) {
        const u = rows[o0 + c]!;
        const v = u + (rows[o1 + c]! - u) * ty;
        pixel[c] = v;
        if (v > bestValue) {
          bestValue = v;
          best = c;
        }
      }
      const p = y * W + x;
      labels[p] = best;
      if (scores !== undefined) {
        // exp of a gap beyond -40 is below float32 resolution next to the winner's 1: skipped.
        let sum = 0;
        for (let c = 0; c < C; c++) {
          const d = pixel[c]! - bestValue;
          if (d > -40) sum += Math.exp(d);
        }
        scores[p] = 1 / sum;
      }
    }
  }
  return scores !== undefined ? { labels, scores } : { labels };
}

/** Checks the actual output tensor against the contract and returns its data (batch dimension dropped). */
export function segmentationLogits(outputs: Readonly<Record<string, Tensor>>, contract: SegmentationContract, file: string): Float32Array {
  const tensor = outputs[contract.outputName];
  const { inputWidth: w, inputHeight: h, classCount: c } = contract;
  if (tensor === undefined) throw new ModelError(`Segmentation output "${contract.outputName}" is missing.`, { file });
  const d = tensor.dims;
  if (tensor.dtype !== 'float32' || d.length !== 4 || d[0] !== 1 || d[1] !== h || d[2] !== w || d[3] !== c) {
    throw new ModelError(`Segmentation output "${contract.outputName}" is ${tensor.dtype} [${d.join(',')}], expected float32 [1,${h},${w},${c}].`, { file });
  }
  return tensor.data as Float32Array;
}

/**
 * Segments one image with an opened DeepLab-style session (see the file header): class labels at the image's
 * full resolution. `spec` gives the preprocessing and classes (DeepLabV3-MobileNetV2 VOC by default).
 */
export async function runSegmentation(
  session: ModelSession,
  image: Image<Uint8Array>,
  options: SegmentationOptions & { readonly spec?: SegmentationModelSpec } = {},
  context: RunContext = {},
): Promise<ClassSegmentation> {
  const spec = options.spec ?? DEEPLABV3_MNV2_VOC_257;
  return createClassSegmenter(session, spec, options).segment(image, context);
}

/** A closed-vocabulary segmenter over an opened session; the contract is checked once, here. */
export function createClassSegmenter(
  session: ModelSession,
  spec: SegmentationModelSpec = DEEPLABV3_MNV2_VOC_257,
  options: SegmentationOptions = {},
): ClassSegmenter {
  const contract = detectSegmentationContract(session, spec);
  const { scale, offset } = spec.preprocess;
  const classNames = spec.output.classNames;
  return {
    kind: 'classes',
    classNames,
    async segment(image: Image<Uint8Array>, context: RunContext = {}): Promise<ClassSegmentation> {
      throwIfAborted(context.signal);
      const { inputWidth: w, inputHeight: h } = contract;
      const input = segmentationInputTensor(image, w, h, scale, offset);
      const outputs = await session.run({ [contract.inputName]: { dtype: 'float32', dims: [1, h, w, 3], data: input } }, context);
      const logits = segmentationLogits(outputs, contract, session.modelPath);
      throwIfAborted(context.signal);
      const decoded = decodeClassLogits(logits, { width: w, height: h, classCount: contract.classCount }, image, options);
      return { kind: 'classes', width: image.width, height: image.height, ...decoded, classNames };
    },
  };
}

/** Opens a segmentation file (e.g. resolveSegmentationModel(...).path) on a backend; CPU unless told otherwise. */
export async function openSegmentationSession(backend: InferenceBackend, modelPath: string, options: SessionOptions = {}): Promise<ModelSession> {
  return backend.open(modelPath, { device: 'cpu', ...options });
}
