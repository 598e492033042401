/**
 * XFeat (Potje et al., CVPR 2024) sparse keypoints and descriptors from its static-size ONNX exports, with the
 * pre- and post-processing of the authors' `XFeat.detectAndCompute` (verlab/accelerated_features,
 * modules/xfeat.py and modules/interpolator.py) reproduced step by step:
 *
 * 1. Resize to the network's fixed W x H with bilinear interpolation, half-pixel centres and no antialiasing
 *    (torch `F.interpolate(mode='bilinear', align_corners=False)`, = cv2.resize INTER_LINEAR as the authors'
 *    infer.py uses), divide by 255, NCHW float32. No mean/std: the network converts to grey and
 *    instance-normalises inside.
 * 2. The network gives, by position: dense descriptors M [1,64,H/8,W/8], keypoint logits K [1,65,H/8,W/8],
 *    reliability R [1,1,H/8,W/8]. M is L2-normalised per cell (`F.normalize(M1, dim=1)`), before any sampling.
 * 3. Heatmap: softmax over K's 65 channels, drop the 65th ("dustbin"), pixel-shuffle each cell's 64 values
 *    (channel r*8+c -> row r, column c of the 8x8 block) into a W x H map.
 * 4. Keypoints: 5x5 non-maximum suppression (max-pool with -inf padding; every pixel equal to its window's maximum
 *    and above 0.05 is kept, so plateaus keep all their pixels).
 * 5. Score = heatmap sampled "nearest" x R sampled bilinearly; keep the top k (stable: ties in raster order), then
 *    only scores > 0. Descriptors: M sampled bicubically (A = -0.75), then L2-normalised.
 *    All three samplings are torch `F.grid_sample(..., align_corners=False, padding_mode='zeros')` at grid
 *    coordinates normalised by the *network input* size, g = 2 x / (W - 1) - 1, exactly as InterpolateSparse2d
 *    does: on a map of width w this reads source column x * w / (W - 1) - 0.5, i.e. roughly x / 8 - 0.5 plus a
 *    drift of up to half a cell across the image. Taps outside the map read 0 (zeros padding), so samples near
 *    the border are attenuated; "nearest" at the last row or column of the heatmap reads outside (639.5 rounds
 *    half-to-even to 640) and gives score 0, so such keypoints are dropped, as upstream.
 * 6. Keypoints back to the original image: x0 = (x + 0.5) * W0 / W - 0.5 (and y alike). Upstream multiplies by
 *    W0 / W, which shifts every keypoint by (W0/W - 1) / 2 px (0.75 px for 1600 -> 640); we map pixel centres
 *    consistently with the half-pixel resize of step 1 and the project's pixel convention.
 *
 * Upstream also gives score -1 to a keypoint at exactly (0, 0) (its padding marker for batched NMS); a real
 * detection there is kept here.
 */
import type { RunContext } from '../core/context.ts';
import { InputError, ModelError, throwIfAborted } from '../core/errors.ts';
import type { Image } from '../core/image.ts';
import { bilinearTaps } from '../imaging/resize-bilinear.ts';
import type { InferenceBackend, ModelSession, SessionOptions, Tensor } from './backend.ts';

/**
 * Keypoints and descriptors of one image: structurally geometry's ImageFeatures (src/geometry/features.ts),
 * which the models layer may not import; values pass between the layers unchanged.
 */
export interface LocalFeatures {
  readonly width: number;
  readonly height: number;
  readonly count: number;
  /** x, y interleaved, original-image pixels (pixel centres at integers). */
  readonly keypoints: Float32Array;
  /** Detection score (heatmap x reliability), descending. */
  readonly scores: Float32Array;
  readonly descriptorSize: number;
  /** L2-normalised, count * descriptorSize. */
  readonly descriptors: Float32Array;
}

export interface XFeatOptions {
  /** Keep at most this many keypoints, best scores first. Default 4096 (upstream top_k). */
  readonly maxKeypoints?: number;
  /** Heatmap threshold of the detector. Default 0.05. */
  readonly detectionThreshold?: number;
  /** Odd side of the non-maximum-suppression window. Default 5. */
  readonly nmsKernel?: number;
  /** Network input size, only for exports with a dynamic height/width (the registry's files are static). */
  readonly inputSize?: { readonly width: number; readonly height: number };
}

export const XFEAT_DEFAULTS = Object.freeze({ maxKeypoints: 4096, detectionThreshold: 0.05, nmsKernel: 5 });

/** Ratio of network input pixels to keypoint-logit cells (the 8x8 pixel-shuffle). */
export const XFEAT_CELL = 8;

/**
 * Keypoints and scores of one image, exactly as `extract` gives them, with the descriptors sampled only on
 * request: a caller that keeps a few of them (the best of several tiles) pays the bicubic sampling for those only.
 */
export interface DetectedKeypoints {
  readonly width: number;
  readonly height: number;
  readonly count: number;
  /** x, y interleaved, original-image pixels (pixel centres at integers). */
  readonly keypoints: Float32Array;
  /** Detection score (heatmap x reliability), positive, descending. */
  readonly scores: Float32Array;
  readonly descriptorSize: number;
  /**
   * The L2-normalised descriptors of the keypoints at `indices` (into keypoints and scores), in that order:
   * indices.length * descriptorSize values, the same as `extract` gives those keypoints.
   */
  describe(indices: Int32Array): Float32Array;
}

export interface XFeatExtractor {
  /** The network input size every image is resized to. */
  readonly inputWidth: number;
  readonly inputHeight: number;
  extract(image: Image<Uint8Array>, context?: RunContext): Promise<LocalFeatures>;
  /** The first phase of `extract`: keypoints and scores, descriptors on demand (see DetectedKeypoints). */
  detect(image: Image<Uint8Array>, context?: RunContext): Promise<DetectedKeypoints>;
}

/** How an XFeat file's tensors are found: the input name, its size, and the three outputs by position. */
export interface XFeatContract {
  readonly inputName: string;
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** [descriptors, keypoint logits, reliability] output names, in session order. */
  readonly outputNames: readonly [string, string, string];
}

/** The network's three outputs for one image, batch dimension dropped, NCHW. */
export interface XFeatRawOutputs {
  /** Dense descriptors, descriptorSize x gridHeight x gridWidth. */
  readonly descriptors: Float32Array;
  /** Keypoint logits, 65 x gridHeight x gridWidth. */
  readonly keypointLogits: Float32Array;
  /** Reliability, gridHeight x gridWidth. */
  readonly reliability: Float32Array;
  readonly descriptorSize: number;
  readonly gridWidth: number;
  readonly gridHeight: number;
}

interface ResolvedXFeatOptions {
  readonly maxKeypoints: number;
  readonly detectionThreshold: number;
  readonly nmsKernel: number;
}

function resolveOptions(options: XFeatOptions): ResolvedXFeatOptions {
  const maxKeypoints = options.maxKeypoints ?? XFEAT_DEFAULTS.maxKeypoints;
  const detectionThreshold = options.detectionThreshold ?? XFEAT_DEFAULTS.detectionThreshold;
  const nmsKernel = options.nmsKernel ?? XFEAT_DEFAULTS.nmsKernel;
  if (!Number.isInteger(maxKeypoints) || maxKeypoints < 1) throw new InputError(`maxKeypoints (${maxKeypoints}) must be a positive integer.`);
  if (!Number.isFinite(detectionThreshold)) throw new InputError(`detectionThreshold (${detectionThreshold}) must be a finite number.`);
  if (!Number.isInteger(nmsKernel) || nmsKernel < 1 || nmsKernel % 2 === 0) throw new InputError(`nmsKernel (${nmsKernel}) must be an odd positive integer.`);
  return { maxKeypoints, detectionThreshold, nmsKernel };
}

function staticDim(dims: readonly (number | string | undefined)[] | undefined, index: number): number | undefined {
  const dim = dims?.[index];
  return typeof dim === 'number' && dim > 0 ? dim : undefined;
}

/**
 * Checks a session against XFeat's contract (one float image input [1,3,H,W] with H, W multiples of 8; three
 * outputs [1,D,H/8,W/8], [1,65,H/8,W/8], [1,1,H/8,W/8] where declared) and names its tensors. A dynamic
 * height/width needs `inputSize`. Throws ModelError naming the file otherwise.
 */
export function detectXFeatContract(session: Pick<ModelSession, 'modelPath' | 'inputs' | 'outputs'>, inputSize?: XFeatOptions['inputSize']): XFeatContract {
  const file = session.modelPath;
  const fail = (why: string): never => {
    throw new ModelError(`not an XFeat model: ${why} (expected input float32 [1,3,H,W] and outputs `
      + '[1,64,H/8,W/8] descriptors, [1,65,H/8,W/8] keypoint logits, [1,1,H/8,W/8] reliability).', { file });
  };
  if (session.inputs.length !== 1) fail(`it has ${session.inputs.length} inputs`);
  const input = session.inputs[0]!;
  if (input.dtype !== 'float32') fail(`its input is ${input.dtype}`);
  if (input.dims !== undefined && (input.dims.length !== 4 || (typeof input.dims[1] === 'number' && input.dims[1] !== 3))) {
    fail(`its input has shape [${input.dims.join(',')}]`);
  }
  const declaredHeight = staticDim(input.dims, 2);
  const declaredWidth = staticDim(input.dims, 3);
  const inputWidth = declaredWidth ?? inputSize?.width;
  const inputHeight = declaredHeight ?? inputSize?.height;
  if (inputWidth === undefined || inputHeight === undefined) {
    throw new ModelError('the XFeat model has a dynamic input height/width: pass inputSize (multiples of 32 work best).', { file });
  }
  if (!Number.isInteger(inputWidth) || !Number.isInteger(inputHeight) || inputWidth % XFEAT_CELL !== 0 || inputHeight % XFEAT_CELL !== 0
    || inputWidth < XFEAT_CELL || inputHeight < XFEAT_CELL) {
    fail(`its input size ${inputWidth}x${inputHeight} is not a multiple of ${XFEAT_CELL}`);
  }
  if (session.outputs.length !== 3) fail(`it has ${session.outputs.length} outputs`);
  const gw = inputWidth / XFEAT_CELL;
  const gh = inputHeight / XFEAT_CELL;
  const expectedChannels = [undefined, 65, 1] as const;
  session.outputs.forEach((output, index) => {
    const dims = output.dims;
    if (dims === undefined) return;
    const channels = expectedChannels[index];
    const ok = dims.length === 4
      && (typeof dims[2] !== 'number' || dims[2] === gh) && (typeof dims[3] !== 'number' || dims[3] === gw)
      && (channels === undefined || typeof dims[1] !== 'number' || dims[1] === channels);
    if (!ok) fail(`output ${index} "${output.name}" has shape [${dims.join(',')}] for a ${inputWidth}x${inputHeight} input`);
  });
  const names = session.outputs.map((o) => o.name);
  return { inputName: input.name, inputWidth, inputHeight, outputNames: [names[0]!, names[1]!, names[2]!] };
}

/** Checks the actual output tensors (shapes by position) and drops the batch dimension. */
export function xfeatRawOutputs(outputs: Readonly<Record<string, Tensor>>, contract: XFeatContract, file: string): XFeatRawOutputs {
  const gw = contract.inputWidth / XFEAT_CELL;
  const gh = contract.inputHeight / XFEAT_CELL;
  const get = (index: number, what: string, channels: number | undefined): { data: Float32Array; channels: number } => {
    const name = contract.outputNames[index]!;
    const tensor = outputs[name];
    if (tensor === undefined) throw new ModelError(`XFeat output ${index} "${name}" (${what}) is missing.`, { file });
    const dims = tensor.dims;
    if (tensor.dtype !== 'float32' || dims.length !== 4 || dims[0] !== 1 || dims[2] !== gh || dims[3] !== gw
      || (channels !== undefined && dims[1] !== channels)) {
      throw new ModelError(`XFeat output ${index} "${name}" (${what}) is ${tensor.dtype} [${dims.join(',')}], `
        + `expected float32 [1,${channels ?? 'D'},${gh},${gw}].`, { file });
    }
    return { data: tensor.data as Float32Array, channels: dims[1]! };
  };
  const descriptors = get(0, 'dense descriptors', undefined);
  const logits = get(1, 'keypoint logits', 65);
  const reliability = get(2, 'reliability', 1);
  if (descriptors.channels < 1) throw new ModelError('XFeat descriptors have no channels.', { file });
  return {
    descriptors: descriptors.data,
    keypointLogits: logits.data,
    reliability: reliability.data,
    descriptorSize: descriptors.channels,
    gridWidth: gw,
    gridHeight: gh,
  };
}

/**
 * The network input: `image` (1, 3 or 4 channels; alpha ignored, grey repeated) resized to width x height by
 * bilinear interpolation with half-pixel centres and no antialiasing, / 255, as float32 NCHW [1,3,H,W].
 */
export function xfeatInputTensor(image: Image<Uint8Array>, width: number, height: number): Float32Array {
  const { width: w0, height: h0, channels, data } = image;
  if (data.length !== w0 * h0 * channels) throw new InputError(`Image data length ${data.length} does not match ${w0}x${h0}x${channels}.`);
  if (w0 === width && h0 === height) return unresizedInputTensor(image);
  const xt = bilinearTaps(w0, width, false);
  const yt = bilinearTaps(h0, height, false);
  // Byte offsets of each output column's two source pixels, and the weights, hoisted out of the pixel loop.
  const left = new Int32Array(width);
  const right = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    left[x] = xt.i0[x]! * channels;
    right[x] = xt.i1[x]! * channels;
  }
  const tx = xt.t;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  // Grey repeats channel 0; alpha (channel 3) is never read.
  const g = channels === 1 ? 0 : 1;
  const b = channels === 1 ? 0 : 2;
  for (let y = 0; y < height; y++) {
    const top = yt.i0[y]! * w0 * channels;
    const bottom = yt.i1[y]! * w0 * channels;
    const ty = yt.t[y]!;
    const o = y * width;
    for (let x = 0; x < width; x++) {
      const p0 = top + left[x]!, p1 = top + right[x]!, q0 = bottom + left[x]!, q1 = bottom + right[x]!;
      const t = tx[x]!;
      let u = data[p0]! + (data[p1]! - data[p0]!) * t;
      let v = data[q0]! + (data[q1]! - data[q0]!) * t;
      out[o + x] = (u + (v - u) * ty) / 255;
      u = data[p0 + g]! + (data[p1 + g]! - data[p0 + g]!) * t;
      v = data[q0 + g]! + (data[q1 + g]! - data[q0 + g]!) * t;
      out[plane + o + x] = (u + (v - u) * ty) / 255;
      u = data[p0 + b]! + (data[p1 + b]! - data[p0 + b]!) * t;
      v = data[q0 + b]! + (data[q1 + b]! - data[q0 + b]!) * t;
      out[2 * plane + o + x] = (u + (v - u) * ty) / 255;
    }
  }
  return out;
}

/** xfeatInputTensor of an image already at the input size (a tile): the same values, without the resampling. */
function unresizedInputTensor(image: Image<Uint8Array>): Float32Array {
  const { width, height, channels, data } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const g = channels === 1 ? 0 : 1;
  const b = channels === 1 ? 0 : 2;
  for (let i = 0, p = 0; i < plane; i++, p += channels) {
    out[i] = data[p]! / 255;
    out[plane + i] = data[p + g]! / 255;
    out[2 * plane + i] = data[p + b]! / 255;
  }
  return out;
}

/**
 * How far (natural log) below its cell's maximum logit a channel must lie for keypointHeatmap to treat its heat as
 * certainly not above a threshold: a margin far above Math.exp's and Math.log's sub-ulp errors.
 */
const HEAT_SKIP_MARGIN = 1e-6;

/**
 * The full-resolution keypoint heatmap (gridWidth*8 x gridHeight*8): softmax over the 65 logits of each cell
 * (float64, stored as float32), dustbin dropped, channel r*8+c placed at row r, column c of the cell's block.
 *
 * With a `threshold`, a cell none of whose values can exceed it is left 0, without its 65 exps: such values can
 * neither be nor suppress a peak of nonMaximumPeaks with that threshold (only larger values suppress), so the
 * peaks and their heat are the same. A value is exp(l - max) / sum with sum >= 1 (the maximum's own term is
 * exp(0) = 1, the others are >= 0), so it is at most exp(l - max); when every kept logit lies more than
 * ln(threshold) + HEAT_SKIP_MARGIN below the maximum, that exp is below the float32 threshold and so is the
 * rounded value. Without a threshold every cell is computed.
 */
export function keypointHeatmap(logits: Float32Array, gridWidth: number, gridHeight: number, threshold?: number): Float32Array {
  const cells = gridWidth * gridHeight;
  if (logits.length !== 65 * cells) throw new InputError(`keypoint logits: ${logits.length} values, expected 65 x ${gridHeight} x ${gridWidth}.`);
  const width = gridWidth * XFEAT_CELL;
  // ln of a non-positive threshold is NaN or -inf: then no cell is skipped.
  const skipBelow = threshold === undefined ? Number.NEGATIVE_INFINITY : Math.log(Math.fround(threshold)) - HEAT_SKIP_MARGIN;
  const heat = new Float32Array(cells * 64);
  const exps = new Float64Array(64);
  const dustbin = 64 * cells;
  // Cell by cell: the 65 strided logits stay in cache between the max, the exps and the sum; exp dominates.
  for (let cy = 0; cy < gridHeight; cy++) {
    for (let cx = 0; cx < gridWidth; cx++) {
      const cell = cy * gridWidth + cx;
      // The maximum as a running `v > max` scan over channels 0..64 (NaNs ignored), kept channels first.
      let keptMax = Number.NEGATIVE_INFINITY;
      for (let p = cell; p < dustbin; p += cells) {
        const v = logits[p]!;
        keptMax = v > keptMax ? v : keptMax;
      }
      const dustbinLogit = logits[dustbin + cell]!;
      const max = dustbinLogit > keptMax ? dustbinLogit : keptMax;
      if (keptMax - max < skipBelow) continue;
      // The sum adds channels 0..64 in order from 0, as softmax does.
      let sum = 0;
      for (let k = 0, p = cell; k < 64; k++, p += cells) {
        const e = Math.exp(logits[p]! - max);
        exps[k] = e;
        sum += e;
      }
      sum += Math.exp(dustbinLogit - max);
      // Channel r*8+c to row r, column c of the cell's block.
      for (let k = 0, p = cy * XFEAT_CELL * width + cx * XFEAT_CELL; k < 64; k += XFEAT_CELL, p += width) {
        heat[p] = exps[k]! / sum;
        heat[p + 1] = exps[k + 1]! / sum;
        heat[p + 2] = exps[k + 2]! / sum;
        heat[p + 3] = exps[k + 3]! / sum;
        heat[p + 4] = exps[k + 4]! / sum;
        heat[p + 5] = exps[k + 5]! / sum;
        heat[p + 6] = exps[k + 6]! / sum;
        heat[p + 7] = exps[k + 7]! / sum;
      }
    }
  }
  return heat;
}

/**
 * Pixels (raster indices, ascending) that equal the maximum of their kernel x kernel window (clipped at the
 * borders, as max-pooling with -inf padding) and exceed the threshold (compared in float32, as torch compares a
 * float32 tensor with a Python float).
 */
export function nonMaximumPeaks(heat: Float32Array, width: number, height: number, kernel: number, threshold: number): Int32Array {
  const r = (kernel - 1) >> 1;
  const above = Math.fround(threshold);
  const peaks: number[] = [];
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(height - 1, y + r);
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const v = heat[p]!;
      if (!(v > above)) continue;
      // A larger direct neighbour in the row rejects most non-maxima before the whole window is read.
      if (r > 0 && ((x > 0 && heat[p - 1]! > v) || (x + 1 < width && heat[p + 1]! > v))) continue;
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(width - 1, x + r);
      let isMax = true;
      for (let yy = y0; yy <= y1 && isMax; yy++) {
        const row = yy * width;
        for (let xx = x0; xx <= x1; xx++) {
          if (heat[row + xx]! > v) {
            isMax = false;
            break;
          }
        }
      }
      if (isMax) peaks.push(p);
    }
  }
  return Int32Array.from(peaks);
}

/**
 * grid_sample's source coordinate (align_corners=False) on an axis of `mapSize` samples for network pixel
 * coordinate p, with the grid normalised by the network size as XFeat's InterpolateSparse2d does:
 * g = 2 p / (networkSize - 1) - 1, source = ((g + 1) mapSize - 1) / 2.
 */
export function gridSourceCoordinate(p: number, networkSize: number, mapSize: number): number {
  const g = (2 * p) / (networkSize - 1) - 1;
  return ((g + 1) * mapSize - 1) / 2;
}

/** Round half to even (C's nearbyint, which torch's nearest grid_sample uses). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** A map value, 0 outside the map (grid_sample's zeros padding). */
function valueOrZero(map: Float32Array, width: number, height: number, x: number, y: number): number {
  return x >= 0 && x < width && y >= 0 && y < height ? map[y * width + x]! : 0;
}

/** torch grid_sample 'nearest', zeros padding, of a single-channel map at source coordinates (u, v). */
export function sampleNearest(map: Float32Array, width: number, height: number, u: number, v: number): number {
  return valueOrZero(map, width, height, roundHalfEven(u), roundHalfEven(v));
}

/** torch grid_sample 'bilinear', zeros padding, of a single-channel map at source coordinates (u, v). */
export function sampleBilinear(map: Float32Array, width: number, height: number, u: number, v: number): number {
  const x0 = Math.floor(u);
  const y0 = Math.floor(v);
  const tx = u - x0;
  const ty = v - y0;
  return valueOrZero(map, width, height, x0, y0) * (1 - tx) * (1 - ty) + valueOrZero(map, width, height, x0 + 1, y0) * tx * (1 - ty)
    + valueOrZero(map, width, height, x0, y0 + 1) * (1 - tx) * ty + valueOrZero(map, width, height, x0 + 1, y0 + 1) * tx * ty;
}

/** torch's bicubic constant (cubic convolution, Keys 1981 with A = -0.75, as OpenCV INTER_CUBIC). */
export const BICUBIC_A = -0.75;

/** Cubic convolution kernel for 0 <= x <= 1. */
function cubicNear(x: number): number {
  return ((BICUBIC_A + 2) * x - (BICUBIC_A + 3)) * x * x + 1;
}

/** Cubic convolution kernel for 1 < x < 2. */
function cubicFar(x: number): number {
  return ((BICUBIC_A * x - 5 * BICUBIC_A) * x + 8 * BICUBIC_A) * x - 4 * BICUBIC_A;
}

/** The four cubic-convolution weights of taps floor(u) - 1 .. floor(u) + 2 for fraction t (torch's get_cubic_upsample_coefficients). */
export function cubicWeights(t: number, out: Float64Array = new Float64Array(4)): Float64Array {
  out[0] = cubicFar(t + 1);
  out[1] = cubicNear(t);
  out[2] = cubicNear(1 - t);
  out[3] = cubicFar(2 - t);
  return out;
}

/** Reusable buffers of sampleBicubicHwc: the axis weights and the 16 taps' offsets and weights. */
export interface BicubicScratch {
  readonly wx: Float64Array;
  readonly wy: Float64Array;
  readonly offsets: Int32Array;
  readonly weights: Float64Array;
}

export function createBicubicScratch(): BicubicScratch {
  return { wx: new Float64Array(4), wy: new Float64Array(4), offsets: new Int32Array(16), weights: new Float64Array(16) };
}

/**
 * torch grid_sample 'bicubic', zeros padding, of a channels-last map (width x height x channels) at source
 * coordinates (u, v), written into `out` (length channels, float64). Taps outside the map get weight 0; each
 * channel is one 16-term sum (offsets and weights are resolved once per point).
 */
export function sampleBicubicHwc(
  map: Float32Array, width: number, height: number, channels: number, u: number, v: number, out: Float64Array,
  scratch: BicubicScratch = createBicubicScratch(),
): Float64Array {
  const { wx, wy, offsets, weights } = scratch;
  const x0 = Math.floor(u);
  const y0 = Math.floor(v);
  cubicWeights(u - x0, wx);
  cubicWeights(v - y0, wy);
  for (let j = 0; j < 4; j++) {
    const y = y0 - 1 + j;
    for (let i = 0; i < 4; i++) {
      const x = x0 - 1 + i;
      const inside = x >= 0 && x < width && y >= 0 && y < height;
      offsets[j * 4 + i] = inside ? (y * width + x) * channels : 0;
      weights[j * 4 + i] = inside ? wx[i]! * wy[j]! : 0;
    }
  }
  // The 16 taps held in locals, so that each channel's sum is one expression over registers; it adds the terms
  // from 0 in tap order, exactly as a running sum over t = 0..15 would.
  const o0 = offsets[0]!, o1 = offsets[1]!, o2 = offsets[2]!, o3 = offsets[3]!, o4 = offsets[4]!, o5 = offsets[5]!;
  const o6 = offsets[6]!, o7 = offsets[7]!, o8 = offsets[8]!, o9 = offsets[9]!, o10 = offsets[10]!, o11 = offsets[11]!;
  const o12 = offsets[12]!, o13 = offsets[13]!, o14 = offsets[14]!, o15 = offsets[15]!;
  const w0 = weights[0]!, w1 = weights[1]!, w2 = weights[2]!, w3 = weights[3]!, w4 = weights[4]!, w5 = weights[5]!;
  const w6 = weights[6]!, w7 = weights[7]!, w8 = weights[8]!, w9 = weights[9]!, w10 = weights[10]!, w11 = weights[11]!;
  const w12 = weights[12]!, w13 = weights[13]!, w14 = weights[14]!, w15 = weights[15]!;
  for (let c = 0; c < channels; c++) {
    out[c] = 0 + w0 * map[o0 + c]! + w1 * map[o1 + c]! + w2 * map[o2 + c]! + w3 * map[o3 + c]!
      + w4 * map[o4 + c]! + w5 * map[o5 + c]! + w6 * map[o6 + c]! + w7 * map[o7 + c]!
      + w8 * map[o8 + c]! + w9 * map[o9 + c]! + w10 * map[o10 + c]! + w11 * map[o11 + c]!
      + w12 * map[o12 + c]! + w13 * map[o13 + c]! + w14 * map[o14 + c]! + w15 * map[o15 + c]!;
  }
  return out;
}

/** The L2 normalisation factor of a sum of squares (torch F.normalize, eps 1e-12). */
function inverseNorm(sumOfSquares: number): number {
  return 1 / Math.max(Math.sqrt(sumOfSquares), 1e-12);
}

/** NCHW dense descriptors -> channels-last, each cell L2-normalised (torch F.normalize, eps 1e-12). */
export function normalizedDescriptorCells(descriptors: Float32Array, channels: number, gridWidth: number, gridHeight: number): Float32Array {
  const cells = gridWidth * gridHeight;
  const out = new Float32Array(cells * channels);
  // Four neighbouring cells at a time: each strided read of a channel plane then serves four cells. Each cell's
  // sum of squares still adds its channels in order.
  let cell = 0;
  for (; cell + 4 <= cells; cell += 4) {
    let sq0 = 0, sq1 = 0, sq2 = 0, sq3 = 0;
    for (let c = 0, p = cell; c < channels; c++, p += cells) {
      const v0 = descriptors[p]!, v1 = descriptors[p + 1]!, v2 = descriptors[p + 2]!, v3 = descriptors[p + 3]!;
      sq0 += v0 * v0;
      sq1 += v1 * v1;
      sq2 += v2 * v2;
      sq3 += v3 * v3;
    }
    const inv0 = inverseNorm(sq0), inv1 = inverseNorm(sq1), inv2 = inverseNorm(sq2), inv3 = inverseNorm(sq3);
    const o = cell * channels;
    for (let c = 0, p = cell; c < channels; c++, p += cells) {
      out[o + c] = descriptors[p]! * inv0;
      out[o + channels + c] = descriptors[p + 1]! * inv1;
      out[o + 2 * channels + c] = descriptors[p + 2]! * inv2;
      out[o + 3 * channels + c] = descriptors[p + 3]! * inv3;
    }
  }
  for (; cell < cells; cell++) {
    let sq = 0;
    for (let c = 0; c < channels; c++) {
      const v = descriptors[c * cells + cell]!;
      sq += v * v;
    }
    const inv = inverseNorm(sq);
    for (let c = 0; c < channels; c++) out[cell * channels + c] = descriptors[c * cells + cell]! * inv;
  }
  return out;
}

/** Keypoints and scores of one image before descriptors (steps 3-6 of the file header, less the sampling of M). */
export interface XFeatKeypoints {
  readonly width: number;
  readonly height: number;
  readonly count: number;
  /** x, y interleaved, original-image pixels (pixel centres at integers). */
  readonly keypoints: Float32Array;
  /** Detection score (heatmap x reliability), positive, descending. */
  readonly scores: Float32Array;
  /** Each keypoint's pixel on the network input, as a raster index y * W + x. */
  readonly networkPixels: Int32Array;
}

/** Peak counts up to which rankPositiveScores packs score and index into one float64 key (2^22). */
const PACKED_INDEX_LIMIT = 4194304;

/**
 * Indices of the positive scores, best first, equal scores in index order, at most `limit` of them: the first
 * entries of a stable descending sort, less the non-positive scores, which sort after every positive one.
 */
export function rankPositiveScores(scores: Float32Array, limit: number): Int32Array {
  const count = scores.length;
  if (count >= PACKED_INDEX_LIMIT) {
    const positive = Array.from({ length: count }, (_, n) => n).filter((n) => scores[n]! > 0);
    return Int32Array.from(positive.sort((p, q) => scores[q]! - scores[p]! || p - q).slice(0, limit));
  }
  // A positive float32's bit pattern orders as its value: (bits descending, index ascending) packed into one
  // exact integer key below 2^53 sorts natively, without a comparator call per comparison.
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, count);
  const keys = new Float64Array(count);
  let positives = 0;
  for (let n = 0; n < count; n++) {
    if (scores[n]! > 0) keys[positives++] = (0x7f800000 - bits[n]!) * PACKED_INDEX_LIMIT + n;
  }
  const sorted = keys.subarray(0, positives).sort();
  const ranked = new Int32Array(Math.min(positives, limit));
  for (let m = 0; m < ranked.length; m++) ranked[m] = sorted[m]! % PACKED_INDEX_LIMIT;
  return ranked;
}

/**
 * Steps 3-6 of the file header without the descriptors: raw network outputs -> the kept keypoints in an image of
 * imageWidth x imageHeight, their scores and network pixels (for describeXFeatKeypoints). Pure.
 */
export function detectXFeatKeypoints(
  raw: XFeatRawOutputs,
  image: { readonly width: number; readonly height: number },
  options: XFeatOptions = {},
): XFeatKeypoints {
  const { maxKeypoints, detectionThreshold, nmsKernel } = resolveOptions(options);
  const { gridWidth: gw, gridHeight: gh, descriptorSize: dim } = raw;
  const W = gw * XFEAT_CELL;
  const H = gh * XFEAT_CELL;
  if (raw.descriptors.length !== dim * gw * gh || raw.reliability.length !== gw * gh) {
    throw new InputError(`XFeat raw outputs do not match a ${gw}x${gh} grid with ${dim}-D descriptors.`);
  }
  // The heatmap may leave cells that cannot exceed the threshold at 0: nearest sampling below reads each peak's
  // own pixel (source x W / (W - 1) - 0.5 rounds to x, or past the last column), which NMS found above it.
  const heat = keypointHeatmap(raw.keypointLogits, gw, gh, detectionThreshold);
  const peaks = nonMaximumPeaks(heat, W, H, nmsKernel, detectionThreshold);

  const count = peaks.length;
  const scores = new Float32Array(count); // the float32 score is what is ranked and returned
  for (let n = 0; n < count; n++) {
    const x = peaks[n]! % W;
    const y = (peaks[n]! - x) / W;
    const heatValue = sampleNearest(heat, W, H, gridSourceCoordinate(x, W, W), gridSourceCoordinate(y, H, H));
    const reliability = sampleBilinear(raw.reliability, gw, gh, gridSourceCoordinate(x, W, gw), gridSourceCoordinate(y, H, gh));
    scores[n] = heatValue * reliability;
  }
  const kept = rankPositiveScores(scores, maxKeypoints);
  const k = kept.length;
  const keypoints = new Float32Array(2 * k);
  const outScores = new Float32Array(k);
  const networkPixels = new Int32Array(k);
  const sx = image.width / W;
  const sy = image.height / H;
  for (let m = 0; m < k; m++) {
    const n = kept[m]!;
    const x = peaks[n]! % W;
    const y = (peaks[n]! - x) / W;
    keypoints[2 * m] = (x + 0.5) * sx - 0.5;
    keypoints[2 * m + 1] = (y + 0.5) * sy - 0.5;
    outScores[m] = scores[n]!;
    networkPixels[m] = peaks[n]!;
  }
  return { width: image.width, height: image.height, count: k, keypoints, scores: outScores, networkPixels };
}

/**
 * The descriptors (step 5) at the given network pixels (raster indices y * W + x): M's normalised cells sampled
 * bicubically, then L2-normalised; pixels.length * descriptorSize values. `cells` (normalizedDescriptorCells
 * of raw) can be passed in when several calls share it.
 */
export function describeXFeatKeypoints(
  raw: XFeatRawOutputs, networkPixels: Int32Array,
  cells: Float32Array = normalizedDescriptorCells(raw.descriptors, raw.descriptorSize, raw.gridWidth, raw.gridHeight),
): Float32Array {
  const { gridWidth: gw, gridHeight: gh, descriptorSize: dim } = raw;
  const W = gw * XFEAT_CELL;
  const H = gh * XFEAT_CELL;
  if (cells.length !== dim * gw * gh) throw new InputError(`XFeat descriptor cells do not match a ${gw}x${gh} grid with ${dim}-D descriptors.`);
  const k = networkPixels.length;
  const descriptors = new Float32Array(k * dim);
  const acc = new Float64Array(dim);
  const scratch = createBicubicScratch();
  for (let m = 0; m < k; m++) {
    const pixel = networkPixels[m]!;
    if (!(pixel >= 0 && pixel < W * H)) throw new InputError(`network pixel ${pixel} is outside the ${W}x${H} input.`);
    const x = pixel % W;
    const y = (pixel - x) / W;
    sampleBicubicHwc(cells, gw, gh, dim, gridSourceCoordinate(x, W, gw), gridSourceCoordinate(y, H, gh), acc, scratch);
    let sq = 0;
    for (let c = 0; c < dim; c++) sq += acc[c]! * acc[c]!;
    const inv = inverseNorm(sq);
    for (let c = 0; c < dim; c++) descriptors[m * dim + c] = acc[c]! * inv;
  }
  return descriptors;
}

/**
 * Steps 3-6 of the file header: raw network outputs -> keypoints in an image of imageWidth x imageHeight,
 * scores and descriptors. Pure; the parity test runs it against a numpy implementation.
 */
export function decodeXFeatOutputs(
  raw: XFeatRawOutputs,
  image: { readonly width: number; readonly height: number },
  options: XFeatOptions = {},
): LocalFeatures {
  const { width, height, count, keypoints, scores, networkPixels } = detectXFeatKeypoints(raw, image, options);
  const descriptors = describeXFeatKeypoints(raw, networkPixels);
  return { width, height, count, keypoints, scores, descriptorSize: raw.descriptorSize, descriptors };
}

/** The entries of `values` at `indices`, each checked to lie in range. */
function pickIndices(values: Int32Array, indices: Int32Array): Int32Array {
  const out = new Int32Array(indices.length);
  for (let m = 0; m < indices.length; m++) {
    const i = indices[m]!;
    if (!(i >= 0 && i < values.length)) throw new InputError(`keypoint index ${i} is outside 0..${values.length - 1}.`);
    out[m] = values[i]!;
  }
  return out;
}

/** An extractor over an opened XFeat session (see the file header for what it computes). */
export function createXFeatExtractor(session: ModelSession, options: XFeatOptions = {}): XFeatExtractor {
  resolveOptions(options); // validate early
  const contract = detectXFeatContract(session, options.inputSize);
  const { inputWidth, inputHeight } = contract;
  const runNetwork = async (image: Image<Uint8Array>, context: RunContext): Promise<XFeatRawOutputs> => {
    throwIfAborted(context.signal);
    const input = xfeatInputTensor(image, inputWidth, inputHeight);
    const outputs = await session.run({ [contract.inputName]: { dtype: 'float32', dims: [1, 3, inputHeight, inputWidth], data: input } }, context);
    return xfeatRawOutputs(outputs, contract, session.modelPath);
  };
  return {
    inputWidth,
    inputHeight,
    async extract(image: Image<Uint8Array>, context: RunContext = {}): Promise<LocalFeatures> {
      return decodeXFeatOutputs(await runNetwork(image, context), image, options);
    },
    async detect(image: Image<Uint8Array>, context: RunContext = {}): Promise<DetectedKeypoints> {
      const raw = await runNetwork(image, context);
      const { width, height, count, keypoints, scores, networkPixels } = detectXFeatKeypoints(raw, image, options);
      let cells: Float32Array | undefined; // normalised on the first request, shared by later ones
      return {
        width, height, count, keypoints, scores, descriptorSize: raw.descriptorSize,
        describe(indices: Int32Array): Float32Array {
          cells ??= normalizedDescriptorCells(raw.descriptors, raw.descriptorSize, raw.gridWidth, raw.gridHeight);
          return describeXFeatKeypoints(raw, pickIndices(networkPixels, indices), cells);
        },
      };
    },
  };
}

/** Opens an XFeat file (e.g. resolveFeatureModel(...).path) on a backend; CPU unless told otherwise. */
export async function openXFeatSession(backend: InferenceBackend, modelPath: string, options: SessionOptions = {}): Promise<ModelSession> {
  return backend.open(modelPath, { device: 'cpu', ...options });
}
