/**
 * Sub-pixel refinement of point correspondences by image alignment at full resolution.
 *
 * Learned keypoints come from a network run on a downscaled copy of the image, so a match (p in image A,
 * q in image B) is only good to a pixel or two of the original. Here p is held fixed and q is moved so that the
 * patch around q in B matches the patch around p in A: inverse-compositional Lucas-Kanade (Baker & Matthews
 * 2004) on a square grey window, sampled bilinearly, with a translation-only or an affine warp. Each patch is
 * normalised to zero mean and unit variance before comparison, so a gain/offset change of exposure between
 * views does not bias the fit. Matches whose template has no texture (or only an edge: the aperture problem),
 * whose refinement leaves the image, moves too far, degenerates, or ends at a low normalised cross-correlation
 * are reported as failed and left where they were.
 */

/** One grey channel, row-major; values on any scale (codes 0..255 for Uint8). */
export interface GreyImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Float32Array;
}

export type SubpixelWarp = 'translation' | 'affine';

export interface SubpixelOptions {
  /** Window is (2h+1) x (2h+1) pixels. */
  readonly halfWindowPx: number;
  readonly warp: SubpixelWarp;
  readonly maxIterations: number;
  /** Refinements that move q further than this (pixels) are failures: the match was wrong or LK diverged. */
  readonly maxShiftPx: number;
  /** Normalised cross-correlation of the aligned patches below this is a failure. */
  readonly minNcc: number;
  /** Template standard deviation (image units) below this is textureless. */
  readonly minStd: number;
  /**
   * Smaller over larger eigenvalue of the template's gradient structure tensor below this is an edge (the
   * position along it is undetermined).
   */
  readonly minEigenRatio: number;
  /**
   * Before the gradient steps, the window is placed at the best normalised cross-correlation among whole-pixel
   * offsets up to this radius: Lucas-Kanade alone converges only from about a pixel away on fine texture.
   * 0 skips the search.
   */
  readonly searchRadiusPx: number;
  /**
   * A window whose best whole-pixel NCC (after the search) is below this fails as 'lowNcc' without gradient
   * steps. Such windows rarely align (occlusions, wrong matches) and cost the most iterations. -Infinity: none
   * is skipped.
   */
  readonly minSearchNcc: number;
  /** Gradient steps stop when no window corner moves more than this (pixels). */
  readonly convergencePx: number;
}

export const DEFAULT_SUBPIXEL_OPTIONS: SubpixelOptions = Object.freeze({
  halfWindowPx: 7,
  warp: 'affine',
  maxIterations: 30,
  maxShiftPx: 6,
  minNcc: 0.8,
  minStd: 2,
  minEigenRatio: 0.05,
  searchRadiusPx: 3,
  minSearchNcc: Number.NEGATIVE_INFINITY,
  convergencePx: 0.01,
});

export type SubpixelFailure = 'outside' | 'textureless' | 'edge' | 'diverged' | 'tooFar' | 'lowNcc' | 'notConverged';
/** Status codes per match in `SubpixelResult.status`: 0 refined, else the index + 1 of the failure. */
export const SUBPIXEL_FAILURES: readonly SubpixelFailure[] = ['outside', 'textureless', 'edge', 'diverged', 'tooFar', 'lowNcc', 'notConverged'];

export interface SubpixelResult {
  /** Refined target points (x, y interleaved); a failed match keeps its input position. */
  readonly points: Float64Array;
  /** 0 = refined; k > 0 = failed with SUBPIXEL_FAILURES[k - 1]. */
  readonly status: Uint8Array;
  /** Final normalised cross-correlation (NaN where not computed). */
  readonly ncc: Float32Array;
}

/** Luma (Rec. 601 weights) of an interleaved 8-bit image, as 8-bit codes. */
export function greyFromInterleaved(width: number, height: number, channels: number, data: Uint8Array): GreyImage {
  const n = width * height;
  const out = new Uint8Array(n);
  if (channels < 3) {
    for (let i = 0; i < n; i++) out[i] = data[i * channels]!;
  } else {
    for (let i = 0, o = 0; i < n; i++, o += channels) {
      out[i] = Math.round(0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]!);
    }
  }
  return { width, height, data: out };
}

/** Bilinear sample at (x, y); the caller guarantees 0 <= x <= w-1 and 0 <= y <= h-1. */
function sample(data: Uint8Array | Float32Array, width: number, height: number, x: number, y: number): number {
  let x0 = Math.floor(x), y0 = Math.floor(y);
  if (x0 >= width - 1) x0 = width - 2;
  if (y0 >= height - 1) y0 = height - 2;
  const fx = x - x0, fy = y - y0;
  const o = y0 * width + x0;
  const a = data[o]!, b = data[o + 1]!, c = data[o + width]!, d = data[o + width + 1]!;
  return (a + (b - a) * fx) + ((c + (d - c) * fx) - (a + (b - a) * fx)) * fy;
}

/** NCC of the target window under the warp against a zero-mean unit-variance template; -Infinity if outside. */
function windowNcc(
  data: Uint8Array | Float32Array, width: number, height: number, tmpl: Float64Array, h: number,
  m00: number, m01: number, m02: number, m10: number, m11: number, m12: number,
): number {
  const ex = Math.abs(m00) * h + Math.abs(m01) * h, ey = Math.abs(m10) * h + Math.abs(m11) * h;
  if (!(m02 - ex >= 0 && m12 - ey >= 0 && m02 + ex <= width - 1 && m12 + ey <= height - 1)) return -Infinity;
  const side = 2 * h + 1;
  let s = 0, ss = 0, st = 0;
  for (let v = 0; v < side; v++) {
    const y = v - h;
    for (let u = 0; u < side; u++) {
      const x = u - h;
      const val = sample(data, width, height, m00 * x + m01 * y + m02, m10 * x + m11 * y + m12);
      s += val; ss += val * val; st += val * tmpl[v * side + u]!;
    }
  }
  const m = side * side;
  const variance = ss - (s * s) / m;
  // The template has zero mean, so sum (val - mean) t = sum val t.
  return variance > 1e-12 ? st / Math.sqrt(variance * m) : -Infinity;
}

/** Cholesky factor (lower triangle, in place) of the symmetric positive definite n x n matrix a; false if singular. */
function choleskyFactor(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j]!;
    for (let k = 0; k < j; k++) s -= a[j * n + k]! * a[j * n + k]!;
    if (!(s > 1e-12)) return false;
    const d = Math.sqrt(s);
    a[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j]!;
      for (let k = 0; k < j; k++) t -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = t / d;
    }
  }
  return true;
}

/** Solves l l^T z = g in place, l from choleskyFactor. */
function choleskySolve(l: Float64Array, g: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    let t = g[i]!;
    for (let k = 0; k < i; k++) t -= l[i * n + k]! * g[k]!;
    g[i] = t / l[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let t = g[i]!;
    for (let k = i + 1; k < n; k++) t -= l[k * n + i]! * g[k]!;
    g[i] = t / l[i * n + i]!;
  }
}

const FAIL_OUTSIDE = 1, FAIL_TEXTURELESS = 2, FAIL_EDGE = 3, FAIL_DIVERGED = 4, FAIL_TOO_FAR = 5, FAIL_LOW_NCC = 6, FAIL_NOT_CONVERGED = 7;

/**
 * Working buffers of one refineMatchesSubpixel call, sized for its window (side = 2h + 1, m = side^2 samples)
 * and search radius R; every window reuses them, so aligning a window allocates nothing.
 */
interface AlignmentScratch {
  readonly h: number;
  readonly side: number;
  readonly m: number;
  /** Template with a one-pixel border for central-difference gradients, (side + 2)^2. */
  readonly border: Float64Array;
  /** Per border column / row: the bilinear base (column, row x width) and fraction, as sample() computes them. */
  readonly borderColumnBase: Int32Array;
  readonly borderColumnFraction: Float64Array;
  readonly borderRowBase: Int32Array;
  readonly borderRowFraction: Float64Array;
  /** Zero-mean unit-variance template. */
  readonly tmpl: Float64Array;
  /** Steepest-descent images: 6 per sample (affine Jacobian times template gradient). */
  readonly sd: Float64Array;
  /** Gauss-Newton Hessian of the affine warp, 6 x 6. */
  readonly hess: Float64Array;
  /** Cholesky factor of the Hessian block of one pass. */
  readonly chol: Float64Array;
  readonly warped: Float64Array;
  readonly g: Float64Array;
  /** Whole-pixel search: per sample, the bilinear base index and fractions at the unshifted warp. */
  readonly searchBase: Int32Array;
  readonly searchFx: Float64Array;
  readonly searchFy: Float64Array;
  /** NCC of each whole-pixel shift, (2R + 1)^2. */
  readonly shiftNcc: Float64Array;
  /** The warp a pass ends with: m00, m01, m02, m10, m11, m12. */
  readonly warp: Float64Array;
}

function createAlignmentScratch(h: number, searchRadius: number): AlignmentScratch {
  const side = 2 * h + 1, m = side * side, bs = side + 2, span = 2 * searchRadius + 1;
  return {
    h, side, m,
    border: new Float64Array(bs * bs),
    borderColumnBase: new Int32Array(bs), borderColumnFraction: new Float64Array(bs),
    borderRowBase: new Int32Array(bs), borderRowFraction: new Float64Array(bs),
    tmpl: new Float64Array(m), sd: new Float64Array(m * 6), hess: new Float64Array(36), chol: new Float64Array(36),
    warped: new Float64Array(m), g: new Float64Array(6),
    searchBase: new Int32Array(m), searchFx: new Float64Array(m), searchFy: new Float64Array(m),
    shiftNcc: new Float64Array(span * span),
    warp: new Float64Array(6),
  };
}

/**
 * Samples the template with its border, at (px + u - h - 1, py + v - h - 1) for u, v in 0..side+1, exactly as
 * sample() would. The window is a pure translation, so the bilinear base and fraction of a sample depend on its
 * column and row alone and are computed once per column and row. The caller guarantees the border is inside.
 */
function sampleTemplateWithBorder(data: Uint8Array | Float32Array, width: number, height: number, px: number, py: number, s: AlignmentScratch): void {
  const { h, border, borderColumnBase: colBase, borderColumnFraction: colFrac, borderRowBase: rowBase, borderRowFraction: rowFrac } = s;
  const bs = s.side + 2;
  for (let u = 0; u < bs; u++) {
    const x = px + u - h - 1;
    let x0 = Math.floor(x);
    if (x0 >= width - 1) x0 = width - 2;
    colBase[u] = x0; colFrac[u] = x - x0;
  }
  for (let v = 0; v < bs; v++) {
    const y = py + v - h - 1;
    let y0 = Math.floor(y);
    if (y0 >= height - 1) y0 = height - 2;
    rowBase[v] = y0 * width; rowFrac[v] = y - y0;
  }
  for (let v = 0; v < bs; v++) {
    const row = rowBase[v]!, fy = rowFrac[v]!;
    for (let u = 0; u < bs; u++) {
      const o = row + colBase[u]!, fx = colFrac[u]!;
      const a = data[o]!, b = data[o + 1]!, c = data[o + width]!, d = data[o + width + 1]!;
      border[v * bs + u] = (a + (b - a) * fx) + ((c + (d - c) * fx) - (a + (b - a) * fx)) * fy;
    }
  }
}

/**
 * Normalises the sampled template (s.border) into s.tmpl and its steepest-descent images s.sd; returns 0, or
 * FAIL_TEXTURELESS / FAIL_EDGE for a template the fit cannot lock onto.
 */
function prepareTemplate(s: AlignmentScratch, minStd: number, minEigenRatio: number): number {
  const { h, side, m, border, tmpl, sd } = s;
  const bs = side + 2;
  let mean = 0;
  for (let v = 0; v < side; v++) for (let u = 0; u < side; u++) mean += border[(v + 1) * bs + u + 1]!;
  mean /= m;
  let varSum = 0;
  for (let v = 0; v < side; v++) for (let u = 0; u < side; u++) { const d = border[(v + 1) * bs + u + 1]! - mean; varSum += d * d; }
  const std = Math.sqrt(varSum / m);
  if (std < minStd) return FAIL_TEXTURELESS;
  const inv = 1 / std;
  let sxx = 0, sxy = 0, syy = 0;
  for (let v = 0; v < side; v++) {
    for (let u = 0; u < side; u++) {
      const k = v * side + u, b = (v + 1) * bs + u + 1;
      tmpl[k] = (border[b]! - mean) * inv;
      const gx = 0.5 * (border[b + 1]! - border[b - 1]!) * inv;
      const gy = 0.5 * (border[b + bs]! - border[b - bs]!) * inv;
      sxx += gx * gx; sxy += gx * gy; syy += gy * gy;
      const x = u - h, y = v - h, o = k * 6;
      // Warp W(x; p) = [[1+p0, p2, p4], [p1, 1+p3, p5]] (x, y, 1): Jacobian at p = 0. Translation uses p4, p5.
      sd[o] = gx * x; sd[o + 1] = gy * x; sd[o + 2] = gx * y; sd[o + 3] = gy * y; sd[o + 4] = gx; sd[o + 5] = gy;
    }
  }
  const tr = sxx + syy, det = sxx * syy - sxy * sxy;
  const disc = Math.sqrt(Math.max(0, tr * tr / 4 - det));
  const eMax = tr / 2 + disc, eMin = tr / 2 - disc;
  if (!(eMax > 0) || eMin < minEigenRatio * eMax) return FAIL_EDGE;
  return 0;
}

/** Gauss-Newton Hessian sum sd sd^T over the samples (6 x 6, symmetric), accumulated entry by entry in sample order. */
function gaussNewtonHessian(sd: Float64Array, m: number, hess: Float64Array): void {
  let h00 = 0, h10 = 0, h11 = 0, h20 = 0, h21 = 0, h22 = 0, h30 = 0, h31 = 0, h32 = 0, h33 = 0;
  let h40 = 0, h41 = 0, h42 = 0, h43 = 0, h44 = 0, h50 = 0, h51 = 0, h52 = 0, h53 = 0, h54 = 0, h55 = 0;
  for (let o = 0; o < 6 * m; o += 6) {
    const a0 = sd[o]!, a1 = sd[o + 1]!, a2 = sd[o + 2]!, a3 = sd[o + 3]!, a4 = sd[o + 4]!, a5 = sd[o + 5]!;
    h00 += a0 * a0;
    h10 += a1 * a0; h11 += a1 * a1;
    h20 += a2 * a0; h21 += a2 * a1; h22 += a2 * a2;
    h30 += a3 * a0; h31 += a3 * a1; h32 += a3 * a2; h33 += a3 * a3;
    h40 += a4 * a0; h41 += a4 * a1; h42 += a4 * a2; h43 += a4 * a3; h44 += a4 * a4;
    h50 += a5 * a0; h51 += a5 * a1; h52 += a5 * a2; h53 += a5 * a3; h54 += a5 * a4; h55 += a5 * a5;
  }
  hess.set([
    h00, h10, h20, h30, h40, h50,
    h10, h11, h21, h31, h41, h51,
    h20, h21, h22, h32, h42, h52,
    h30, h31, h32, h33, h43, h53,
    h40, h41, h42, h43, h44, h54,
    h50, h51, h52, h53, h54, h55,
  ]);
}

/** NCC from the sums of the samples, their squares and their products with a zero-mean template; -Infinity if flat. */
function nccFromSums(sum: number, sumSq: number, sumT: number, m: number): number {
  const variance = sumSq - (sum * sum) / m;
  // The template has zero mean, so sum (val - mean) t = sum val t.
  return variance > 1e-12 ? sumT / Math.sqrt(variance * m) : -Infinity;
}

/**
 * NCC of the window shifted by whole pixels (ox, oy), from the bilinear bases and fractions of the unshifted warp
 * (s.searchBase, s.searchFx, s.searchFy). The caller guarantees the shifted samples stay clear of the last row and
 * column, where sample() would clamp.
 */
function shiftedWindowNcc(data: Uint8Array | Float32Array, width: number, s: AlignmentScratch, ox: number, oy: number): number {
  const { m, tmpl, searchBase, searchFx, searchFy } = s;
  const shift = oy * width + ox;
  let sum = 0, sumSq = 0, sumT = 0;
  for (let k = 0; k < m; k++) {
    const o = searchBase[k]! + shift, fx = searchFx[k]!, fy = searchFy[k]!;
    const a = data[o]!, b = data[o + 1]!, c = data[o + width]!, d = data[o + width + 1]!;
    const top = a + (b - a) * fx;
    const val = top + ((c + (d - c) * fx) - top) * fy;
    sum += val; sumSq += val * val; sumT += val * tmpl[k]!;
  }
  return nccFromSums(sum, sumSq, sumT, m);
}

/**
 * shiftedWindowNcc for the seven shifts (ox, oy0) .. (ox, oy0 + 6) in one pass over the samples, into s.shiftNcc
 * from index n0 on, one row of shifts apart. Vertically adjacent shifts share rows of horizontal interpolations
 * (the bottom row of one is the top row of the next), so a pass reads 8 rows of pixel pairs for 7 windows instead
 * of 14, and reads each sample's base, fractions and template value once; the arithmetic per window is the same.
 */
function sevenShiftColumnNcc(data: Uint8Array | Float32Array, width: number, s: AlignmentScratch, ox: number, oy0: number, n0: number, span: number): void {
  const { m, tmpl, searchBase, searchFx, searchFy, shiftNcc } = s;
  const shift = oy0 * width + ox;
  const w2 = 2 * width, w3 = 3 * width, w4 = 4 * width, w5 = 5 * width, w6 = 6 * width, w7 = 7 * width;
  let s0 = 0, q0 = 0, t0 = 0, s1 = 0, q1 = 0, t1 = 0, s2 = 0, q2 = 0, t2 = 0, s3 = 0, q3 = 0, t3 = 0;
  let s4 = 0, q4 = 0, t4 = 0, s5 = 0, q5 = 0, t5 = 0, s6 = 0, q6 = 0, t6 = 0;
  for (let k = 0; k < m; k++) {
    const o = searchBase[k]! + shift, fx = searchFx[k]!, fy = searchFy[k]!, t = tmpl[k]!;
    let a = data[o]!, b = data[o + 1]!;
    const r0 = a + (b - a) * fx;
    a = data[o + width]!; b = data[o + width + 1]!; const r1 = a + (b - a) * fx;
    a = data[o + w2]!; b = data[o + w2 + 1]!; const r2 = a + (b - a) * fx;
    a = data[o + w3]!; b = data[o + w3 + 1]!; const r3 = a + (b - a) * fx;
    a = data[o + w4]!; b = data[o + w4 + 1]!; const r4 = a + (b - a) * fx;
    a = data[o + w5]!; b = data[o + w5 + 1]!; const r5 = a + (b - a) * fx;
    a = data[o + w6]!; b = data[o + w6 + 1]!; const r6 = a + (b - a) * fx;
    a = data[o + w7]!; b = data[o + w7 + 1]!; const r7 = a + (b - a) * fx;
    let v = r0 + (r1 - r0) * fy; s0 += v; q0 += v * v; t0 += v * t;
    v = r1 + (r2 - r1) * fy; s1 += v; q1 += v * v; t1 += v * t;
    v = r2 + (r3 - r2) * fy; s2 += v; q2 += v * v; t2 += v * t;
    v = r3 + (r4 - r3) * fy; s3 += v; q3 += v * v; t3 += v * t;
    v = r4 + (r5 - r4) * fy; s4 += v; q4 += v * v; t4 += v * t;
    v = r5 + (r6 - r5) * fy; s5 += v; q5 += v * v; t5 += v * t;
    v = r6 + (r7 - r6) * fy; s6 += v; q6 += v * v; t6 += v * t;
  }
  shiftNcc[n0] = nccFromSums(s0, q0, t0, m);
  shiftNcc[n0 + span] = nccFromSums(s1, q1, t1, m);
  shiftNcc[n0 + 2 * span] = nccFromSums(s2, q2, t2, m);
  shiftNcc[n0 + 3 * span] = nccFromSums(s3, q3, t3, m);
  shiftNcc[n0 + 4 * span] = nccFromSums(s4, q4, t4, m);
  shiftNcc[n0 + 5 * span] = nccFromSums(s5, q5, t5, m);
  shiftNcc[n0 + 6 * span] = nccFromSums(s6, q6, t6, m);
}

/**
 * Whole-pixel search: the NCC of the target window under the warp moved by every integer (ox, oy) with
 * |ox|, |oy| <= R, into s.shiftNcc (row-major, oy outer); -Infinity where the window leaves the image.
 *
 * An integer shift moves every sample by whole pixels: the bilinear weights stay, only the base index moves, so
 * they are computed once. Where every shift stays clear of the last row and column (where sample() clamps), the
 * shifts go by columns, seven rows at a time (R = 3, the pipeline's radius, is one pass per column). Otherwise
 * shifts go one by one, those reaching the last row or column through sample().
 */
function wholePixelNcc(
  data: Uint8Array | Float32Array, width: number, height: number, s: AlignmentScratch, R: number,
  s00: number, s01: number, s02: number, s10: number, s11: number, s12: number,
): void {
  const { h, side, tmpl, searchBase, searchFx, searchFy, shiftNcc } = s;
  const span = 2 * R + 1;
  let maxX0 = -Infinity, maxY0 = -Infinity;
  for (let v = 0, k = 0; v < side; v++) {
    const y = v - h;
    for (let u = 0; u < side; u++, k++) {
      const x = u - h;
      const sx = s00 * x + s01 * y + s02, sy = s10 * x + s11 * y + s12;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      searchBase[k] = y0 * width + x0; searchFx[k] = sx - x0; searchFy[k] = sy - y0;
      if (x0 > maxX0) maxX0 = x0; if (y0 > maxY0) maxY0 = y0;
    }
  }
  const ex = Math.abs(s00) * h + Math.abs(s01) * h, ey = Math.abs(s10) * h + Math.abs(s11) * h;
  const inside = (ox: number, oy: number): boolean => {
    const cx = s02 + ox, cy = s12 + oy;
    return cx - ex >= 0 && cy - ey >= 0 && cx + ex <= width - 1 && cy + ey <= height - 1;
  };
  const clearOfLastRowAndColumn = (ox: number, oy: number): boolean => maxX0 + ox <= width - 2 && maxY0 + oy <= height - 2;
  let everyShiftInterior = true;
  for (let oy = -R; oy <= R; oy++) for (let ox = -R; ox <= R; ox++) if (!inside(ox, oy) || !clearOfLastRowAndColumn(ox, oy)) everyShiftInterior = false;

  if (everyShiftInterior) {
    for (let ox = -R; ox <= R; ox++) {
      let oy = -R;
      for (; oy + 6 <= R; oy += 7) sevenShiftColumnNcc(data, width, s, ox, oy, (oy + R) * span + ox + R, span);
      for (; oy <= R; oy++) shiftNcc[(oy + R) * span + ox + R] = shiftedWindowNcc(data, width, s, ox, oy);
    }
    return;
  }
  for (let oy = -R, n = 0; oy <= R; oy++) {
    for (let ox = -R; ox <= R; ox++, n++) {
      shiftNcc[n] = !inside(ox, oy) ? -Infinity
        : clearOfLastRowAndColumn(ox, oy) ? shiftedWindowNcc(data, width, s, ox, oy)
        : windowNcc(data, width, height, tmpl, h, s00, s01, s02 + ox, s10, s11, s12 + oy);
    }
  }
}

/** How one Lucas-Kanade pass ended: 0 converged, else a failure code; the last NCC it computed (or the one given). */
interface PassOutcome {
  readonly fail: number;
  readonly ncc: number;
}

/**
 * One inverse-compositional Lucas-Kanade pass from the start warp (s00..s12) with the affine (np = 6) or
 * translation-only (np = 2) warp; the final warp goes into s.warp. `ncc` is returned unchanged if the pass stops
 * before computing one. Needs s.tmpl, s.sd and s.hess of the window.
 */
function lucasKanadePass(
  data: Uint8Array | Float32Array, width: number, height: number, s: AlignmentScratch, np: number,
  s00: number, s01: number, s02: number, s10: number, s11: number, s12: number,
  qx0: number, qy0: number, options: SubpixelOptions, ncc: number,
): PassOutcome {
  const { h, side, m, tmpl, sd, hess, chol, warped, g } = s;
  const det0 = s00 * s11 - s01 * s10;
  let m00 = s00, m01 = s01, m02 = s02, m10 = s10, m11 = s11, m12 = s12;
  let fail = 0, converged = false;
  const c0 = 6 - np;
  // The Hessian is constant over the pass: factored once, not at every step.
  for (let a = 0; a < np; a++) for (let b = 0; b < np; b++) chol[a * np + b] = hess[(a + c0) * 6 + b + c0]!;
  const factored = choleskyFactor(chol, np);
  const lastX = width - 1, lastY = height - 1;
  for (let it = 0; it < options.maxIterations; it++) {
    // Corners of the window bound the warped samples (the warp is affine).
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (let corner = 0; corner < 4; corner++) {
      const cx = corner & 1 ? h : -h, cy = corner & 2 ? h : -h;
      const wx = m00 * cx + m01 * cy + m02, wy = m10 * cx + m11 * cy + m12;
      if (wx < minX) minX = wx; if (wx > maxX) maxX = wx; if (wy < minY) minY = wy; if (wy > maxY) maxY = wy;
    }
    if (!(minX >= 0 && minY >= 0 && maxX <= lastX && maxY <= lastY)) { fail = FAIL_OUTSIDE; break; }
    // sample() inlined: bilinear at the warped position, clamped base at the last row and column.
    let wMean = 0;
    for (let v = 0, k = 0; v < side; v++) {
      const y = v - h, rowX = m01 * y, rowY = m11 * y;
      for (let u = 0; u < side; u++, k++) {
        const x = u - h;
        const sx = m00 * x + rowX + m02, sy = m10 * x + rowY + m12;
        let x0 = Math.floor(sx), y0 = Math.floor(sy);
        if (x0 >= lastX) x0 = width - 2;
        if (y0 >= lastY) y0 = height - 2;
        const fx = sx - x0, fy = sy - y0;
        const o = y0 * width + x0;
        const a = data[o]!, b = data[o + 1]!, c = data[o + width]!, d = data[o + width + 1]!;
        const val = (a + (b - a) * fx) + ((c + (d - c) * fx) - (a + (b - a) * fx)) * fy;
        warped[k] = val; wMean += val;
      }
    }
    wMean /= m;
    let wVar = 0;
    for (let k = 0; k < m; k++) { const d = warped[k]! - wMean; wVar += d * d; }
    if (!(wVar > 1e-12)) { fail = FAIL_DIVERGED; break; }
    const wInv = 1 / Math.sqrt(wVar / m);
    let cross = 0;
    if (np === 6) {
      let g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0;
      for (let k = 0, o = 0; k < m; k++, o += 6) {
        const iv = (warped[k]! - wMean) * wInv, t = tmpl[k]!;
        cross += iv * t;
        const e = iv - t;
        g0 += sd[o]! * e; g1 += sd[o + 1]! * e; g2 += sd[o + 2]! * e; g3 += sd[o + 3]! * e; g4 += sd[o + 4]! * e; g5 += sd[o + 5]! * e;
      }
      g[0] = g0; g[1] = g1; g[2] = g2; g[3] = g3; g[4] = g4; g[5] = g5;
    } else {
      let g4 = 0, g5 = 0;
      for (let k = 0, o = 4; k < m; k++, o += 6) {
        const iv = (warped[k]! - wMean) * wInv, t = tmpl[k]!;
        cross += iv * t;
        const e = iv - t;
        g4 += sd[o]! * e; g5 += sd[o + 1]! * e;
      }
      g[0] = g4; g[1] = g5;
    }
    ncc = cross / m;
    if (!factored) { fail = FAIL_DIVERGED; break; }
    choleskySolve(chol, g, np);
    // Inverse compositional update: W <- W o W(dp)^-1.
    let d00: number, d01: number, d02: number, d10: number, d11: number, d12: number;
    if (np === 6) { d00 = 1 + g[0]!; d10 = g[1]!; d01 = g[2]!; d11 = 1 + g[3]!; d02 = g[4]!; d12 = g[5]!; } else { d00 = 1; d10 = 0; d01 = 0; d11 = 1; d02 = g[0]!; d12 = g[1]!; }
    const dd = d00 * d11 - d01 * d10;
    if (!(Math.abs(dd) > 1e-9)) { fail = FAIL_DIVERGED; break; }
    const i00 = d11 / dd, i01 = -d01 / dd, i10 = -d10 / dd, i11 = d00 / dd;
    const i02 = -(i00 * d02 + i01 * d12), i12 = -(i10 * d02 + i11 * d12);
    const n00 = m00 * i00 + m01 * i10, n01 = m00 * i01 + m01 * i11, n02 = m00 * i02 + m01 * i12 + m02;
    const n10 = m10 * i00 + m11 * i10, n11 = m10 * i01 + m11 * i11, n12 = m10 * i02 + m11 * i12 + m12;
    // Largest motion of any window corner in this step: a scale-free convergence test for both warps.
    const step = Math.max(Math.abs(n02 - m02), Math.abs(n12 - m12))
      + h * (Math.abs(n00 - m00) + Math.abs(n01 - m01) + Math.abs(n10 - m10) + Math.abs(n11 - m11));
    m00 = n00; m01 = n01; m02 = n02; m10 = n10; m11 = n11; m12 = n12;
    const linDet = m00 * m11 - m01 * m10;
    if (!(linDet > 0.5 * det0 && linDet < 2 * det0)) { fail = FAIL_DIVERGED; break; }
    if (Math.hypot(m02 - qx0, m12 - qy0) > options.maxShiftPx * 2) { fail = FAIL_TOO_FAR; break; }
    if (step < options.convergencePx) { converged = true; break; }
  }
  if (fail === 0 && !converged) fail = FAIL_NOT_CONVERGED;
  const warp = s.warp;
  warp[0] = m00; warp[1] = m01; warp[2] = m02; warp[3] = m10; warp[4] = m11; warp[5] = m12;
  return { fail, ncc };
}

/**
 * Moves each target point so that its window in `target` best matches the window around the corresponding
 * reference point in `reference` (held fixed). `referencePoints` and `targetPoints` are x, y interleaved, in the
 * pixel coordinates of their images (pixel centres at integers; any consistent convention works, since both
 * images are sampled the same way).
 */
export function refineMatchesSubpixel(
  reference: GreyImage, target: GreyImage, referencePoints: Float64Array | Float32Array, targetPoints: Float64Array | Float32Array,
  options: SubpixelOptions = DEFAULT_SUBPIXEL_OPTIONS, initialLinear?: Float64Array,
): SubpixelResult {
  const count = referencePoints.length / 2;
  if (!Number.isInteger(count) || targetPoints.length !== referencePoints.length) {
    throw new RangeError(`refineMatchesSubpixel: ${referencePoints.length} reference and ${targetPoints.length} target coordinates; they must be equal and even.`);
  }
  if (initialLinear !== undefined && initialLinear.length !== 4 * count) {
    throw new RangeError(`refineMatchesSubpixel: ${initialLinear.length} initial linear entries for ${count} matches; 4 per match needed.`);
  }
  const h = Math.max(1, Math.round(options.halfWindowPx));
  const R = Math.max(0, Math.round(options.searchRadiusPx));
  const affine = options.warp === 'affine';
  const points = Float64Array.from(targetPoints);
  const status = new Uint8Array(count);
  const ncc = new Float32Array(count).fill(Number.NaN);
  const scratch = createAlignmentScratch(h, R);
  const { width: rw, height: rh, data: rd } = reference;
  const { width: tw, height: th, data: td } = target;

  for (let i = 0; i < count; i++) {
    const px = referencePoints[2 * i]!, py = referencePoints[2 * i + 1]!;
    const qx0 = targetPoints[2 * i]!, qy0 = targetPoints[2 * i + 1]!;
    if (!(px - h - 1 >= 0 && py - h - 1 >= 0 && px + h + 1 <= rw - 1 && py + h + 1 <= rh - 1)) { status[i] = FAIL_OUTSIDE; continue; }
    sampleTemplateWithBorder(rd, rw, rh, px, py, scratch);
    const templateFailure = prepareTemplate(scratch, options.minStd, options.minEigenRatio);
    if (templateFailure !== 0) { status[i] = templateFailure; continue; }
    gaussNewtonHessian(scratch.sd, scratch.m, scratch.hess);

    // Current warp: target point = [[m00, m01, m02], [m10, m11, m12]] (x, y, 1) for window offsets (x, y).
    let s00 = 1, s01 = 0, s02 = qx0, s10 = 0, s11 = 1, s12 = qy0;
    if (initialLinear !== undefined) {
      s00 = initialLinear[4 * i]!; s01 = initialLinear[4 * i + 1]!; s10 = initialLinear[4 * i + 2]!; s11 = initialLinear[4 * i + 3]!;
    }
    if (R > 0) {
      wholePixelNcc(td, tw, th, scratch, R, s00, s01, s02, s10, s11, s12);
      // The first best in row-major order (oy outer), as a strict comparison keeps it.
      let best = -Infinity, bx = 0, by = 0;
      for (let oy = -R, n = 0; oy <= R; oy++) {
        for (let ox = -R; ox <= R; ox++, n++) {
          const c = scratch.shiftNcc[n]!;
          if (c > best) { best = c; bx = ox; by = oy; }
        }
      }
      s02 += bx; s12 += by;
      if (best < options.minSearchNcc) { status[i] = FAIL_LOW_NCC; ncc[i] = best; continue; }
    }
    // The affine fit can wander on weakly textured windows; the translation-only fit (window shape kept from the
    // start) is the fallback when it does not settle.
    let fail = 0, lastNcc = Number.NaN;
    for (let pass = affine ? 0 : 1; pass < 2; pass++) {
      const outcome = lucasKanadePass(td, tw, th, scratch, pass === 0 ? 6 : 2, s00, s01, s02, s10, s11, s12, qx0, qy0, options, lastNcc);
      fail = outcome.fail; lastNcc = outcome.ncc;
      if (fail !== FAIL_DIVERGED && fail !== FAIL_NOT_CONVERGED) break;
    }
    const m02 = scratch.warp[2]!, m12 = scratch.warp[5]!;
    if (fail === 0 && Math.hypot(m02 - qx0, m12 - qy0) > options.maxShiftPx) fail = FAIL_TOO_FAR;
    ncc[i] = lastNcc;
    if (fail === 0 && !(lastNcc >= options.minNcc)) fail = FAIL_LOW_NCC;
    status[i] = fail;
    if (fail === 0) { points[2 * i] = m02; points[2 * i + 1] = m12; }
  }
  return { points, status, ncc };
}

/**
 * Adds candidate j at squared distance d to the `k` nearest found so far (`dist`, `order`: the first `used`
 * entries, ascending by distance, then by index) and returns the new count. Among equal distances the lower index
 * wins, whatever order the candidates come in: the same list as a scan over j in increasing order.
 */
function insertNeighbour(dist: Float64Array, order: Uint32Array, used: number, k: number, d: number, j: number): number {
  if (used === k && (d > dist[used - 1]! || (d === dist[used - 1]! && j > order[used - 1]!))) return used;
  let slot = used < k ? used++ : used - 1;
  while (slot > 0 && (dist[slot - 1]! > d || (dist[slot - 1]! === d && order[slot - 1]! > j))) {
    dist[slot] = dist[slot - 1]!; order[slot] = order[slot - 1]!; slot--;
  }
  dist[slot] = d; order[slot] = j;
  return used;
}

/** The `k` nearest other points to point i by a scan over all of them; returns how many were found. */
function nearestByScan(points: Float64Array, n: number, i: number, k: number, dist: Float64Array, order: Uint32Array): number {
  const px = points[2 * i]!, py = points[2 * i + 1]!;
  let used = 0;
  for (let j = 0; j < n; j++) {
    if (j === i) continue;
    // Squared distances: same order as distances, without a square root per pair.
    const dx = points[2 * j]! - px, dy = points[2 * j + 1]! - py;
    const d = dx * dx + dy * dy;
    if (d < 1e-12) continue;
    used = insertNeighbour(dist, order, used, k, d, j);
  }
  return used;
}

/**
 * nearestByScan for point i, at position `rank` of `byX` (point indices sorted by x, finite coordinates): walks
 * outwards in x, nearer side first, and stops once the x distance alone exceeds the k-th nearest distance (the
 * rounded squared x distance is a lower bound of the rounded squared distance, and grows along each side).
 * Same distances, same ties, same list.
 */
function nearestBySweep(points: Float64Array, byX: Uint32Array, rank: number, k: number, dist: Float64Array, order: Uint32Array): number {
  const n = byX.length, i = byX[rank]!;
  const px = points[2 * i]!, py = points[2 * i + 1]!;
  let used = 0, lo = rank - 1, hi = rank + 1;
  while (lo >= 0 || hi < n) {
    const fromHigh = lo < 0 || (hi < n && points[2 * byX[hi]!]! - px <= px - points[2 * byX[lo]!]!);
    const j = fromHigh ? byX[hi++]! : byX[lo--]!;
    const dx = points[2 * j]! - px, dy = points[2 * j + 1]! - py;
    if (used === k && dx * dx > dist[k - 1]!) break;
    const d = dx * dx + dy * dy;
    if (d < 1e-12) continue;
    used = insertNeighbour(dist, order, used, k, d, j);
  }
  return used;
}

/** Point indices sorted by x. */
function indicesByX(points: Float64Array, n: number): Uint32Array {
  const byX = new Uint32Array(n);
  for (let i = 0; i < n; i++) byX[i] = i;
  return byX.sort((a, b) => points[2 * a]! - points[2 * b]!);
}

/**
 * Local linear map (2x2, row-major, 4 per match) from reference to target around each match, fitted by least
 * squares to the displacements of its `neighbours` nearest matches in the reference image: the starting shape of
 * the affine window where views differ in scale, rotation or slant. Matches with too few neighbours, or a fit
 * that flips or scales by more than 4x, get the identity.
 */
export function localLinearMaps(referencePoints: Float64Array, targetPoints: Float64Array, neighbours = 12): Float64Array {
  const n = referencePoints.length / 2;
  const out = new Float64Array(4 * n);
  const dist = new Float64Array(neighbours);
  const order = new Uint32Array(neighbours);
  // The nearest neighbours by a sweep in x (about O(n sqrt n), not O(n^2)) where coordinates allow sorting.
  const sweep = n >= 4 && Number.isInteger(n) && referencePoints.every(Number.isFinite);
  const byX = sweep ? indicesByX(referencePoints, n) : undefined;
  const rankOf = new Uint32Array(byX ? n : 0);
  if (byX) for (let r = 0; r < n; r++) rankOf[byX[r]!] = r;
  for (let i = 0; i < n; i++) {
    out[4 * i] = 1; out[4 * i + 3] = 1;
    if (n < 4) continue;
    const px = referencePoints[2 * i]!, py = referencePoints[2 * i + 1]!;
    const used = byX ? nearestBySweep(referencePoints, byX, rankOf[i]!, neighbours, dist, order)
      : nearestByScan(referencePoints, n, i, neighbours, dist, order);
    // Normal equations of d_q = L d_p over the neighbours: shared 2x2 design (sum d_p d_p^T), two right-hand sides.
    let sxx = 0, sxy = 0, syy = 0, ux = 0, uy = 0, vx = 0, vy = 0;
    const qx = targetPoints[2 * i]!, qy = targetPoints[2 * i + 1]!;
    for (let r = 0; r < used; r++) {
      const j = order[r]!;
      const dx = referencePoints[2 * j]! - px, dy = referencePoints[2 * j + 1]! - py;
      const ex = targetPoints[2 * j]! - qx, ey = targetPoints[2 * j + 1]! - qy;
      sxx += dx * dx; sxy += dx * dy; syy += dy * dy;
      ux += ex * dx; uy += ex * dy; vx += ey * dx; vy += ey * dy;
    }
    const det = sxx * syy - sxy * sxy;
    if (used < 3 || !(det > 1e-9 * (sxx + syy) * (sxx + syy))) continue;
    const l00 = (ux * syy - uy * sxy) / det, l01 = (uy * sxx - ux * sxy) / det;
    const l10 = (vx * syy - vy * sxy) / det, l11 = (vy * sxx - vx * sxy) / det;
    const ld = l00 * l11 - l01 * l10;
    if (!(ld > 0.25 && ld < 4)) continue;
    out[4 * i] = l00; out[4 * i + 1] = l01; out[4 * i + 2] = l10; out[4 * i + 3] = l11;
  }
  return out;
}
