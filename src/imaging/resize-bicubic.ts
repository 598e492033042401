/**
 * Bicubic resize that reproduces OpenCV's `cv2.resize(img, (W, H), interpolation=cv2.INTER_CUBIC)` on float
 * images, the resize in the official Depth Anything preprocessing:
 * - Keys cubic with a = -0.75, separable, no antialiasing (a downscale still uses 4 taps per axis);
 * - half-pixel-centre mapping: source x = (dx + 0.5) * (srcW / dstW) - 0.5, computed like OpenCV
 *   (double, then rounded to float32) and split into floor + fraction;
 * - tap weights computed in float32 arithmetic exactly as OpenCV's `interpolateCubic`;
 * - borders: taps outside the image are clamped to the edge pixel (replicate), on both axes, for up- and
 *   downscaling (measured against cv2 4.6 for float32 and float64 inputs; reflect and zero padding differ by 1e-2..0.5);
 * - horizontal pass first, then vertical, each 4-term sum taken left to right in double, as OpenCV's float64
 *   path does: on float32 inputs the result equals cv2.resize of the input widened to float64 (bit for bit in
 *   test/parity), and differs from cv2's own float32 arithmetic by ~1e-7;
 * - same size on both axes returns a copy (OpenCV copies too).
 * NaN/Infinity in the input spread to every output pixel whose 4x4 stencil touches them, even through a
 * zero weight (as in OpenCV, apart from the copy case).
 */
import { InputError } from '../core/errors.ts';
import { checkHwc, checkMeanStd, UNIT_FROM_CODE, type HwcImage } from './normalize.ts';
import type { ResizeWorkspace } from './kernels/resize-kernels.ts';

/** A float32 HWC image with any number of channels (core Image<Float32Array> fits). */
export type HwcFloatImage = HwcImage<Float32Array>;

/** Per-output taps along one axis: output i reads source `index[4i..4i+3]` with `weight[4i..4i+3]`. */
export interface BicubicTaps {
  /** Source indices, already clamped to 0..srcSize-1 (replicated border). */
  readonly index: Int32Array;
  /** Float32-valued weights (stored in double); each group of 4 sums to 1 up to float32 rounding. */
  readonly weight: Float64Array;
}

const A = -0.75;
const F5A = Math.fround(5 * A);
const F8A = Math.fround(8 * A);
const F4A = Math.fround(4 * A);

/** OpenCV `interpolateCubic(x)` in float32 arithmetic: the 4 weights for fractional offset x in [0, 1). */
export function cubicWeights(x: number, out: Float64Array = new Float64Array(4), at = 0): Float64Array {
  const f = Math.fround;
  const x1 = f(x + 1);
  const w0 = f(f(f(f(f(f(A * x1) - F5A) * x1) + F8A) * x1) - F4A);
  const w1 = f(f(f(f(f(1.25 * x) - 2.25) * x) * x) + 1);
  const y = f(1 - x);
  const w2 = f(f(f(f(f(1.25 * y) - 2.25) * y) * y) + 1);
  const w3 = f(f(f(1 - w0) - w1) - w2);
  out[at] = w0;
  out[at + 1] = w1;
  out[at + 2] = w2;
  out[at + 3] = w3;
  return out;
}

/** The taps OpenCV INTER_CUBIC uses to resize an axis of srcSize samples to dstSize samples. */
export function bicubicTaps(srcSize: number, dstSize: number): BicubicTaps {
  const index = new Int32Array(dstSize * 4);
  const weight = new Float64Array(dstSize * 4);
  const scale = 1 / (dstSize / srcSize); // OpenCV: scale_x = 1. / inv_scale_x
  const last = srcSize - 1;
  for (let d = 0; d < dstSize; d++) {
    const pos = Math.fround((d + 0.5) * scale - 0.5);
    const s = Math.floor(pos);
    cubicWeights(Math.fround(pos - s), weight, d * 4);
    for (let k = 0; k < 4; k++) {
      const i = s - 1 + k;
      index[d * 4 + k] = i < 0 ? 0 : i > last ? last : i;
    }
  }
  return { index, weight };
}

/** Resize a float32 HWC image (any channels) to outWidth x outHeight like cv2.resize INTER_CUBIC. */
export function resizeBicubic(image: HwcFloatImage, outWidth: number, outHeight: number): HwcFloatImage {
  checkHwc(image);
  checkOutSize(outWidth, outHeight);
  const { width, height, channels } = image;
  if (width === outWidth && height === outHeight) {
    return { width, height, channels, data: image.data.slice() };
  }
  const xt = bicubicTaps(width, outWidth);
  const yt = bicubicTaps(height, outHeight);
  const rowLen = outWidth * channels;
  const srcRowLen = width * channels;
  const off = tapOffsets(xt, channels);
  const xw = xt.weight;
  const src = image.data;
  // Ring of 4 horizontally resized rows: the taps of one output row are 4 consecutive (clamped) source
  // rows, so source row r can live in slot r & 3; rows arrive in increasing order.
  const ring = new Float64Array(4 * rowLen);
  const slotRow = new Int32Array(4).fill(-1);
  const out = new Float32Array(outHeight * rowLen);
  const yi = yt.index;
  const yw = yt.weight;
  for (let dy = 0; dy < outHeight; dy++) {
    const k = dy * 4;
    for (let j = 0; j < 4; j++) {
      const r = yi[k + j]!;
      const slot = r & 3;
      if (slotRow[slot] === r) continue;
      slotRow[slot] = r;
      const sRow = r * srcRowLen;
      let t = slot * rowLen;
      for (let dx = 0; dx < outWidth; dx++) {
        const q = dx * 4;
        const i0 = sRow + off[q]!;
        const i1 = sRow + off[q + 1]!;
        const i2 = sRow + off[q + 2]!;
        const i3 = sRow + off[q + 3]!;
        const w0 = xw[q]!;
        const w1 = xw[q + 1]!;
        const w2 = xw[q + 2]!;
        const w3 = xw[q + 3]!;
        for (let c = 0; c < channels; c++, t++) {
          ring[t] = src[i0 + c]! * w0 + src[i1 + c]! * w1 + src[i2 + c]! * w2 + src[i3 + c]! * w3;
        }
      }
    }
    const r0 = (yi[k]! & 3) * rowLen;
    const r1 = (yi[k + 1]! & 3) * rowLen;
    const r2 = (yi[k + 2]! & 3) * rowLen;
    const r3 = (yi[k + 3]! & 3) * rowLen;
    const w0 = yw[k]!;
    const w1 = yw[k + 1]!;
    const w2 = yw[k + 2]!;
    const w3 = yw[k + 3]!;
    const o = dy * rowLen;
    for (let i = 0; i < rowLen; i++) {
      out[o + i] = ring[r0 + i]! * w0 + ring[r1 + i]! * w1 + ring[r2 + i]! * w2 + ring[r3 + i]! * w3;
    }
  }
  return { width: outWidth, height: outHeight, channels, data: out };
}

/**
 * The fused hot path: uint8 HWC codes -> float32 NCHW network input, bit-identical to the unfused chain
 * `normalizeToNchw(resizeBicubic(toFloatImage(image), W, H), mean, std)`:
 * v = float32(code / 255), bicubic resize as resizeBicubic (rounded to float32), then (v - mean[c]) / std[c].
 * Those two float32 roundings put it within ~5e-7 (2 float32 steps) of the official float64 chain
 * (`cv2.resize(rgb / 255.0, ..., INTER_CUBIC)`, normalise, cast). `mean` and `std` need one entry per channel.
 * Returns C*outHeight*outWidth values (N = 1), in `into` when given (it must have exactly that length: reusing
 * one buffer across images spares a fresh multi-MB allocation, its page faults and the GC it triggers).
 * Memory beyond the output: one source row and 4 resized rows. With a `workspace` (RGB images), the WebAssembly
 * SIMD kernels do the work, with bit-identical results.
 */
export function resizeNormalizeToNchw(
  image: HwcImage<Uint8Array>,
  outWidth: number,
  outHeight: number,
  mean: readonly number[],
  std: readonly number[],
  into?: Float32Array,
  workspace?: ResizeWorkspace,
): Float32Array {
  checkHwc(image);
  checkOutSize(outWidth, outHeight);
  const { width, height, channels } = image;
  checkMeanStd(channels, mean, std);
  const plane = outWidth * outHeight;
  if (into !== undefined && into.length !== plane * channels) {
    throw new InputError(`resize output buffer holds ${into.length} values, expected ${plane * channels} (${channels}x${outHeight}x${outWidth}).`);
  }
  const out = into ?? new Float32Array(plane * channels);
  const src = image.data;
  const lut = UNIT_FROM_CODE;
  if (width === outWidth && height === outHeight) {
    // resizeBicubic copies in this case; normalise the float32 values directly.
    for (let c = 0; c < channels; c++) {
      const m = mean[c]!;
      const s = std[c]!;
      for (let i = 0, j = c; i < plane; i++, j += channels) out[c * plane + i] = (lut[src[j]!]! - m) / s;
    }
    return out;
  }
  const xt = bicubicTaps(width, outWidth);
  const yt = bicubicTaps(height, outHeight);
  if (workspace !== undefined && channels === 3) {
    resizeNormalizeRgbWasm(workspace, src, width, height, xt, yt, outWidth, outHeight, mean, std, out);
    return out;
  }
  const srcRowLen = width * channels;
  const off = tapOffsets(xt, channels);
  const xw = xt.weight;
  // One source row as 0..1 values, and a ring of 4 resized rows stored planar: slot s, channel c at
  // (s * channels + c) * outWidth, so that the vertical pass writes each NCHW plane contiguously.
  const row = new Float64Array(srcRowLen);
  const rowStride = channels * outWidth;
  const ring = new Float64Array(4 * rowStride);
  const slotRow = new Int32Array(4).fill(-1);
  const yi = yt.index;
  const yw = yt.weight;
  for (let dy = 0; dy < outHeight; dy++) {
    const k = dy * 4;
    for (let j = 0; j < 4; j++) {
      const r = yi[k + j]!;
      const slot = r & 3;
      if (slotRow[slot] === r) continue;
      slotRow[slot] = r;
      unitRow(src, r * srcRowLen, srcRowLen, lut, row);
      if (channels === 3) horizontalRgbPlanar(row, off, xw, ring, slot * rowStride, outWidth);
      else horizontalPlanar(row, off, xw, channels, ring, slot * rowStride, outWidth);
    }
    for (let c = 0; c < channels; c++) {
      verticalNormalized(
        ring,
        (yi[k]! & 3) * rowStride + c * outWidth,
        (yi[k + 1]! & 3) * rowStride + c * outWidth,
        (yi[k + 2]! & 3) * rowStride + c * outWidth,
        (yi[k + 3]! & 3) * rowStride + c * outWidth,
        yw[k]!, yw[k + 1]!, yw[k + 2]!, yw[k + 3]!,
        out, c * plane + dy * outWidth, outWidth, mean[c]!, std[c]!,
      );
    }
  }
  return out;
}

/** resizeNormalizeToNchw's RGB loop on the WebAssembly kernels: same ring of 4 planar rows, same arithmetic. */
function resizeNormalizeRgbWasm(
  workspace: ResizeWorkspace, src: Uint8Array, width: number, height: number, xt: BicubicTaps, yt: BicubicTaps,
  outWidth: number, outHeight: number, mean: readonly number[], std: readonly number[], out: Float32Array,
): void {
  const rowLen = width * 3;
  const plane = outWidth * outHeight;
  const rowStrideBytes = 3 * outWidth * 8;
  const [lutAt, offAt, weightAt, rowAt, ringAt, srcAt, outAt] = workspace.layout([
    256 * 8, outWidth * 4 * 4, outWidth * 4 * 8, rowLen * 8, 4 * rowStrideBytes, src.length, 3 * plane * 4,
  ]) as [number, number, number, number, number, number, number];
  const buffer = workspace.kernels.memory.buffer;
  new Float64Array(buffer, lutAt, 256).set(UNIT_FROM_CODE);
  const off = new Int32Array(buffer, offAt, outWidth * 4);
  for (let i = 0; i < off.length; i++) off[i] = xt.index[i]! * 3 * 8; // byte offsets into the float64 row
  new Float64Array(buffer, weightAt, outWidth * 4).set(xt.weight);
  new Uint8Array(buffer, srcAt, src.length).set(src);
  const k = workspace.kernels;
  const slotRow = [-1, -1, -1, -1];
  const yi = yt.index;
  const yw = yt.weight;
  for (let dy = 0; dy < outHeight; dy++) {
    const q = dy * 4;
    for (let j = 0; j < 4; j++) {
      const r = yi[q + j]!;
      const slot = r & 3;
      if (slotRow[slot] === r) continue;
      slotRow[slot] = r;
      k.unitRow(srcAt + r * rowLen, rowLen, lutAt, rowAt);
      k.horizontalRgb(rowAt, offAt, weightAt, ringAt + slot * rowStrideBytes, outWidth);
    }
    for (let c = 0; c < 3; c++) {
      const channelAt = ringAt + c * outWidth * 8;
      k.verticalNormalized(
        channelAt + (yi[q]! & 3) * rowStrideBytes, channelAt + (yi[q + 1]! & 3) * rowStrideBytes,
        channelAt + (yi[q + 2]! & 3) * rowStrideBytes, channelAt + (yi[q + 3]! & 3) * rowStrideBytes,
        yw[q]!, yw[q + 1]!, yw[q + 2]!, yw[q + 3]!,
        outAt + (c * plane + dy * outWidth) * 4, outWidth, mean[c]!, std[c]!,
      );
    }
  }
  out.set(new Float32Array(buffer, outAt, 3 * plane));
}

function unitRow(src: Uint8Array, start: number, n: number, lut: Float32Array, row: Float64Array): void {
  for (let i = 0; i < n; i++) row[i] = lut[src[start + i]!]!;
}

/** Horizontal taps of one interleaved RGB row into 3 planar rows at ring[base + c*outWidth + dx]. */
function horizontalRgbPlanar(row: Float64Array, off: Int32Array, xw: Float64Array, ring: Float64Array, base: number, outWidth: number): void {
  const b1 = base + outWidth;
  const b2 = base + 2 * outWidth;
  for (let dx = 0; dx < outWidth; dx++) {
    const q = dx * 4;
    const i0 = off[q]!;
    const i1 = off[q + 1]!;
    const i2 = off[q + 2]!;
    const i3 = off[q + 3]!;
    const w0 = xw[q]!;
    const w1 = xw[q + 1]!;
    const w2 = xw[q + 2]!;
    const w3 = xw[q + 3]!;
    ring[base + dx] = row[i0]! * w0 + row[i1]! * w1 + row[i2]! * w2 + row[i3]! * w3;
    ring[b1 + dx] = row[i0 + 1]! * w0 + row[i1 + 1]! * w1 + row[i2 + 1]! * w2 + row[i3 + 1]! * w3;
    ring[b2 + dx] = row[i0 + 2]! * w0 + row[i1 + 2]! * w1 + row[i2 + 2]! * w2 + row[i3 + 2]! * w3;
  }
}

function horizontalPlanar(
  row: Float64Array, off: Int32Array, xw: Float64Array, channels: number, ring: Float64Array, base: number, outWidth: number,
): void {
  for (let dx = 0; dx < outWidth; dx++) {
    const q = dx * 4;
    const i0 = off[q]!;
    const i1 = off[q + 1]!;
    const i2 = off[q + 2]!;
    const i3 = off[q + 3]!;
    const w0 = xw[q]!;
    const w1 = xw[q + 1]!;
    const w2 = xw[q + 2]!;
    const w3 = xw[q + 3]!;
    for (let c = 0; c < channels; c++) {
      ring[base + c * outWidth + dx] = row[i0 + c]! * w0 + row[i1 + c]! * w1 + row[i2 + c]! * w2 + row[i3 + c]! * w3;
    }
  }
}

/** out[o + i] = (float32(sum_k ring[r_k + i] * w_k) - mean) / std for i < n. */
function verticalNormalized(
  ring: Float64Array, r0: number, r1: number, r2: number, r3: number,
  w0: number, w1: number, w2: number, w3: number,
  out: Float32Array, o: number, n: number, mean: number, std: number,
): void {
  for (let i = 0; i < n; i++) {
    const v = Math.fround(ring[r0 + i]! * w0 + ring[r1 + i]! * w1 + ring[r2 + i]! * w2 + ring[r3 + i]! * w3);
    out[o + i] = (v - mean) / std;
  }
}

/** Tap source indices premultiplied by the channel count (offsets inside one HWC row). */
function tapOffsets(taps: BicubicTaps, channels: number): Int32Array {
  const off = new Int32Array(taps.index.length);
  for (let i = 0; i < off.length; i++) off[i] = taps.index[i]! * channels;
  return off;
}

function checkOutSize(outWidth: number, outHeight: number): void {
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth <= 0 || outHeight <= 0) {
    throw new InputError(`Resize target ${outWidth}x${outHeight} is invalid: width and height must be positive integers.`);
  }
}
