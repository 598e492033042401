/**
 * Bilinear resize of a single-channel float32 map (depth, disparity, confidence), as torch
 * `F.interpolate(x, size=(H, W), mode='bilinear', align_corners=...)` does it:
 * - alignCorners true (the official Depth Anything postprocess): source x = dx * (srcW - 1) / (dstW - 1)
 *   (0 when dstW = 1), so the corner pixels map exactly onto the corner pixels;
 * - alignCorners false (half-pixel): source x = max((dx + 0.5) * srcW / dstW - 0.5, 0);
 * - x0 = floor(x) (at most srcW - 1), x1 = min(x0 + 1, srcW - 1), weights 1 - t and t with t = x - x0;
 *   the same on y. Rows are interpolated first, then the two rows are blended:
 *   out = (1 - ty) * ((1 - tx) * v00 + tx * v01) + ty * ((1 - tx) * v10 + tx * v11), in double, rounded once.
 * Coordinates are computed in double where torch uses float32: results agree to float32 rounding.
 *
 * NaN: plain arithmetic, as in torch. A NaN (or Infinity) source pixel makes NaN every output pixel whose
 * 2x2 stencil contains it, even when its weight is 0 (0 * NaN = NaN): an output that lands exactly on a
 * finite pixel next to a NaN is NaN too. So invalid (NaN) regions grow by up to one source pixel; replace NaN
 * first if that is not wanted.
 */
import { InputError } from '../core/errors.ts';
import type { ResizeWorkspace } from './kernels/resize-kernels.ts';

/** A row-major single-channel float map (core Depth fits). */
export interface ScalarMap {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export interface BilinearOptions {
  /** true: torch align_corners=True (corner pixel centres coincide); false: half-pixel centres. */
  readonly alignCorners: boolean;
  /** Run on the WebAssembly SIMD kernels of this workspace (bit-identical results). */
  readonly workspace?: ResizeWorkspace | undefined;
}

/** Per-output taps along one axis: output i blends source i0[i] and i1[i] with weight t[i] on i1. */
export interface BilinearTaps {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly t: Float64Array;
}

/** The taps along one axis of srcSize samples resized to dstSize samples. */
export function bilinearTaps(srcSize: number, dstSize: number, alignCorners: boolean): BilinearTaps {
  const i0 = new Int32Array(dstSize);
  const i1 = new Int32Array(dstSize);
  const t = new Float64Array(dstSize);
  const last = srcSize - 1;
  for (let d = 0; d < dstSize; d++) {
    let x: number;
    if (alignCorners) x = dstSize > 1 ? (d * last) / (dstSize - 1) : 0;
    else x = Math.max(((d + 0.5) * srcSize) / dstSize - 0.5, 0);
    const x0 = Math.min(Math.floor(x), last);
    i0[d] = x0;
    i1[d] = x0 < last ? x0 + 1 : x0;
    t[d] = Math.min(Math.max(x - x0, 0), 1);
  }
  return { i0, i1, t };
}

/** Resize a single-channel map to outWidth x outHeight with bilinear interpolation (see the file header). */
export function resizeBilinear(map: ScalarMap, outWidth: number, outHeight: number, options: BilinearOptions): ScalarMap {
  const { width, height, data } = map;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new InputError(`Map size ${width}x${height} is invalid: width and height must be positive integers.`);
  }
  if (data.length !== width * height) {
    throw new InputError(`Map data length (${data.length}) does not match width*height (${width}*${height} = ${width * height}).`);
  }
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth <= 0 || outHeight <= 0) {
    throw new InputError(`Resize target ${outWidth}x${outHeight} is invalid: width and height must be positive integers.`);
  }
  const xt = bilinearTaps(width, outWidth, options.alignCorners);
  const yt = bilinearTaps(height, outHeight, options.alignCorners);
  const out = new Float32Array(outWidth * outHeight);
  if (options.workspace !== undefined) resizeRowsWasm(options.workspace, data, width, xt, yt, out, outWidth, outHeight);
  else resizeRows(data, width, xt, yt, out, outWidth, outHeight);
  return { width: outWidth, height: outHeight, data: out };
}

/**
 * The resize proper, a kernel of its own: V8 then optimises it whole, where a loop inside the validating caller
 * would run on-stack-replaced code that deoptimises after the loop and boxes every value on the next call.
 */
function resizeRows(data: Float32Array, width: number, xt: BilinearTaps, yt: BilinearTaps, out: Float32Array, outWidth: number, outHeight: number): void {
  // Two horizontally interpolated rows: source row r lives in slot r & 1 (y0 and y1 = y0 + 1 never share a
  // slot), and is computed once while consecutive output rows read it.
  const rows = new Float64Array(2 * outWidth);
  const slotRow = new Int32Array([-1, -1]);
  for (let dy = 0; dy < outHeight; dy++) {
    const y0 = yt.i0[dy]!;
    const y1 = yt.i1[dy]!;
    if (slotRow[y0 & 1] !== y0) {
      horizontal(data, y0 * width, xt, rows, (y0 & 1) * outWidth, outWidth);
      slotRow[y0 & 1] = y0;
    }
    if (slotRow[y1 & 1] !== y1) {
      horizontal(data, y1 * width, xt, rows, (y1 & 1) * outWidth, outWidth);
      slotRow[y1 & 1] = y1;
    }
    blendRows(rows, (y0 & 1) * outWidth, (y1 & 1) * outWidth, yt.t[dy]!, out, dy * outWidth, outWidth);
  }
}

/** resizeRows on the WebAssembly kernels: the same two-row ring, the same arithmetic. */
function resizeRowsWasm(
  workspace: ResizeWorkspace, data: Float32Array, width: number, xt: BilinearTaps, yt: BilinearTaps,
  out: Float32Array, outWidth: number, outHeight: number,
): void {
  const [srcAt, i0At, i1At, tAt, rowsAt, outAt] = workspace.layout([
    data.length * 4, outWidth * 4, outWidth * 4, outWidth * 8, 2 * outWidth * 8, out.length * 4,
  ]) as [number, number, number, number, number, number];
  const buffer = workspace.kernels.memory.buffer;
  new Float32Array(buffer, srcAt, data.length).set(data);
  const i0 = new Int32Array(buffer, i0At, outWidth);
  const i1 = new Int32Array(buffer, i1At, outWidth);
  for (let x = 0; x < outWidth; x++) {
    i0[x] = xt.i0[x]! * 4; // byte offsets into a float32 row
    i1[x] = xt.i1[x]! * 4;
  }
  new Float64Array(buffer, tAt, outWidth).set(xt.t);
  const k = workspace.kernels;
  const slotRow = [-1, -1];
  const rowBytes = outWidth * 8;
  for (let dy = 0; dy < outHeight; dy++) {
    const y0 = yt.i0[dy]!;
    const y1 = yt.i1[dy]!;
    if (slotRow[y0 & 1] !== y0) {
      k.bilinearRow(srcAt + y0 * width * 4, i0At, i1At, tAt, rowsAt + (y0 & 1) * rowBytes, outWidth);
      slotRow[y0 & 1] = y0;
    }
    if (slotRow[y1 & 1] !== y1) {
      k.bilinearRow(srcAt + y1 * width * 4, i0At, i1At, tAt, rowsAt + (y1 & 1) * rowBytes, outWidth);
      slotRow[y1 & 1] = y1;
    }
    k.blendRows(rowsAt + (y0 & 1) * rowBytes, rowsAt + (y1 & 1) * rowBytes, yt.t[dy]!, outAt + dy * outWidth * 4, outWidth);
  }
  out.set(new Float32Array(buffer, outAt, out.length));
}

/** out[o + x] = top[x] * (1 - ty) + bottom[x] * ty. */
function blendRows(rows: Float64Array, top: number, bottom: number, ty: number, out: Float32Array, o: number, n: number): void {
  const sy = 1 - ty;
  for (let x = 0; x < n; x++) out[o + x] = rows[top + x]! * sy + rows[bottom + x]! * ty;
}

function horizontal(data: Float32Array, rowStart: number, xt: BilinearTaps, dst: Float64Array, at: number, outWidth: number): void {
  const i0 = xt.i0;
  const i1 = xt.i1;
  const t = xt.t;
  for (let x = 0; x < outWidth; x++) {
    const tx = t[x]!;
    dst[at + x] = data[rowStart + i0[x]!]! * (1 - tx) + data[rowStart + i1[x]!]! * tx;
  }
}
