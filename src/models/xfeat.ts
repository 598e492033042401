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

export interface XFeatExtractor {
  /** The network input size every image is resized to. */
  readonly inputWidth: number;
  readonly inputHeight: number;
  extract(image: Image<Uint8Array>, context?: RunContext): Promise<LocalFeatures>;
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
 * The full-resolution keypoint heatmap (gridWidth*8 x gridHeight*8): softmax over the 65 logits of each cell
 * (float64, stored as float32), dustbin dropped, channel r*8+c placed at row r, column c of the cell's block.
 */
export function keypointHeatmap(logits: Float32Array, gridWidth: number, gridHeight: number): Float32Array {
  const cells = gridWidth * gridHeight;
  if (logits.length !== 65 * cells) throw new InputError(`keypoint logits: ${logits.length} values, expected 65 x ${gridHeight} x ${gridWidth}.`);
  const width = gridWidth * XFEAT_CELL;
  // Channel-major passes over the contiguous NCHW planes: the per-cell max, then exp and the per-cell sum (the
  // unnormalised exps are parked in a float64 copy), then the division into the shuffled positions.
  const max = new Float64Array(cells).fill(Number.NEGATIVE_INFINITY);
  for (let k = 0; k < 65; k++) {
    const o = k * cells;
    for (let cell = 0; cell < cells; cell++) {
      const v = logits[o + cell]!;
      if (v > max[cell]!) max[cell] = v;
    }
  }
  const exps = new Float64Array(64 * cells);
  const sum = new Float64Array(cells);
  for (let k = 0; k < 65; k++) {
    const o = k * cells;
    for (let cell = 0; cell < cells; cell++) {
      const e = Math.exp(logits[o + cell]! - max[cell]!);
      sum[cell] = sum[cell]! + e;
      if (k < 64) exps[o + cell] = e;
    }
  }
  const heat = new Float32Array(cells * 64);
  for (let k = 0; k < 64; k++) {
    const o = k * cells;
    const offset = (k >> 3) * width + (k & 7);
    for (let cy = 0; cy < gridHeight; cy++) {
      const rowBase = cy * XFEAT_CELL * width + offset;
      for (let cx = 0; cx < gridWidth; cx++) {
        const cell = cy * gridWidth + cx;
        heat[rowBase + cx * XFEAT_CELL] = exps[o + cell]! / sum[cell]!;
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
      const v = heat[y * width + x]!;
      if (!(v > above)) continue;
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
      if (isMax) peaks.push(y * width + x);
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
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let t = 0; t < 16; t++) sum += weights[t]! * map[offsets[t]! + c]!;
    out[c] = sum;
  }
  return out;
}

/** NCHW dense descriptors -> channels-last, each cell L2-normalised (torch F.normalize, eps 1e-12). */
export function normalizedDescriptorCells(descriptors: Float32Array, channels: number, gridWidth: number, gridHeight: number): Float32Array {
  const cells = gridWidth * gridHeight;
  const out = new Float32Array(cells * channels);
  for (let cell = 0; cell < cells; cell++) {
    let sq = 0;
    for (let c = 0; c < channels; c++) {
      const v = descriptors[c * cells + cell]!;
      sq += v * v;
    }
    const inv = 1 / Math.max(Math.sqrt(sq), 1e-12);
    const o = cell * channels;
    for (let c = 0; c < channels; c++) out[o + c] = descriptors[c * cells + cell]! * inv;
  }
  return out;
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
  const { maxKeypoints, detectionThreshold, nmsKernel } = resolveOptions(options);
  const { gridWidth: gw, gridHeight: gh, descriptorSize: dim } = raw;
  const W = gw * XFEAT_CELL;
  const H = gh * XFEAT_CELL;
  if (raw.descriptors.length !== dim * gw * gh || raw.reliability.length !== gw * gh) {
    throw new InputError(`XFeat raw outputs do not match a ${gw}x${gh} grid with ${dim}-D descriptors.`);
  }
  const heat = keypointHeatmap(raw.keypointLogits, gw, gh);
  const peaks = nonMaximumPeaks(heat, W, H, nmsKernel, detectionThreshold);

  const count = peaks.length;
  const scores = new Float64Array(count);
  for (let n = 0; n < count; n++) {
    const x = peaks[n]! % W;
    const y = (peaks[n]! - x) / W;
    const heatValue = sampleNearest(heat, W, H, gridSourceCoordinate(x, W, W), gridSourceCoordinate(y, H, H));
    const reliability = sampleBilinear(raw.reliability, gw, gh, gridSourceCoordinate(x, W, gw), gridSourceCoordinate(y, H, gh));
    scores[n] = Math.fround(heatValue * reliability); // the float32 score is what is sorted and returned
  }
  // Best first; equal scores keep raster order (a stable order, so results do not depend on the sort).
  const order = Array.from({ length: count }, (_, n) => n).sort((p, q) => scores[q]! - scores[p]! || p - q);
  const kept = order.slice(0, maxKeypoints).filter((n) => scores[n]! > 0);

  const cells = normalizedDescriptorCells(raw.descriptors, dim, gw, gh);
  const k = kept.length;
  const keypoints = new Float32Array(2 * k);
  const outScores = new Float32Array(k);
  const descriptors = new Float32Array(k * dim);
  const acc = new Float64Array(dim);
  const scratch = createBicubicScratch();
  const sx = image.width / W;
  const sy = image.height / H;
  // Visit the keypoints in raster order (peaks are raster-sorted, so by n) so that neighbouring descriptor cells
  // stay in cache; each result goes to its rank m.
  const rankOf = new Int32Array(count).fill(-1);
  kept.forEach((n, m) => { rankOf[n] = m; });
  for (let n = 0; n < count; n++) {
    const m = rankOf[n]!;
    if (m < 0) continue;
    const x = peaks[n]! % W;
    const y = (peaks[n]! - x) / W;
    sampleBicubicHwc(cells, gw, gh, dim, gridSourceCoordinate(x, W, gw), gridSourceCoordinate(y, H, gh), acc, scratch);
    let sq = 0;
    for (let c = 0; c < dim; c++) sq += acc[c]! * acc[c]!;
    const inv = 1 / Math.max(Math.sqrt(sq), 1e-12);
    for (let c = 0; c < dim; c++) descriptors[m * dim + c] = acc[c]! * inv;
    keypoints[2 * m] = (x + 0.5) * sx - 0.5;
    keypoints[2 * m + 1] = (y + 0.5) * sy - 0.5;
    outScores[m] = scores[n]!;
  }
  return { width: image.width, height: image.height, count: k, keypoints, scores: outScores, descriptorSize: dim, descriptors };
}

/** An extractor over an opened XFeat session (see the file header for what it computes). */
export function createXFeatExtractor(session: ModelSession, options: XFeatOptions = {}): XFeatExtractor {
  resolveOptions(options); // validate early
  const contract = detectXFeatContract(session, options.inputSize);
  const { inputWidth, inputHeight } = contract;
  return {
    inputWidth,
    inputHeight,
    async extract(image: Image<Uint8Array>, context: RunContext = {}): Promise<LocalFeatures> {
      throwIfAborted(context.signal);
      const input = xfeatInputTensor(image, inputWidth, inputHeight);
      const outputs = await session.run({ [contract.inputName]: { dtype: 'float32', dims: [1, 3, inputHeight, inputWidth], data: input } }, context);
      const raw = xfeatRawOutputs(outputs, contract, session.modelPath);
      return decodeXFeatOutputs(raw, image, options);
    },
  };
}

/** Opens an XFeat file (e.g. resolveFeatureModel(...).path) on a backend; CPU unless told otherwise. */
export async function openXFeatSession(backend: InferenceBackend, modelPath: string, options: SessionOptions = {}): Promise<ModelSession> {
  return backend.open(modelPath, { device: 'cpu', ...options });
}
