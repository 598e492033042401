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
}

export const DEFAULT_SUBPIXEL_OPTIONS: SubpixelOptions = Object.freeze({
  halfWindowPx: 7,
  warp: 'affine',
  maxIterations: 30,
  maxShiftPx: 4,
  minNcc: 0.8,
  minStd: 2,
  minEigenRatio: 0.05,
});

export type SubpixelFailure = 'outside' | 'textureless' | 'edge' | 'diverged' | 'tooFar' | 'lowNcc';
/** Status codes per match in `SubpixelResult.status`: 0 refined, else the index + 1 of the failure. */
export const SUBPIXEL_FAILURES: readonly SubpixelFailure[] = ['outside', 'textureless', 'edge', 'diverged', 'tooFar', 'lowNcc'];

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

/** Solves the symmetric positive definite n x n system h z = g in place (Cholesky); false if singular. */
function solveSpd(h: Float64Array, g: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let s = h[j * n + j]!;
    for (let k = 0; k < j; k++) s -= h[j * n + k]! * h[j * n + k]!;
    if (!(s > 1e-12)) return false;
    const d = Math.sqrt(s);
    h[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = h[i * n + j]!;
      for (let k = 0; k < j; k++) t -= h[i * n + k]! * h[j * n + k]!;
      h[i * n + j] = t / d;
    }
  }
  for (let i = 0; i < n; i++) {
    let t = g[i]!;
    for (let k = 0; k < i; k++) t -= h[i * n + k]! * g[k]!;
    g[i] = t / h[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let t = g[i]!;
    for (let k = i + 1; k < n; k++) t -= h[k * n + i]! * g[k]!;
    g[i] = t / h[i * n + i]!;
  }
  return true;
}

/**
 * Moves each target point so that its window in `target` best matches the window around the corresponding
 * reference point in `reference` (held fixed). `referencePoints` and `targetPoints` are x, y interleaved, in the
 * pixel coordinates of their images (pixel centres at integers; any consistent convention works, since both
 * images are sampled the same way).
 */
export function refineMatchesSubpixel(
  reference: GreyImage, target: GreyImage, referencePoints: Float64Array | Float32Array, targetPoints: Float64Array | Float32Array,
  options: SubpixelOptions = DEFAULT_SUBPIXEL_OPTIONS,
): SubpixelResult {
  const count = referencePoints.length / 2;
  if (!Number.isInteger(count) || targetPoints.length !== referencePoints.length) {
    throw new RangeError(`refineMatchesSubpixel: ${referencePoints.length} reference and ${targetPoints.length} target coordinates; they must be equal and even.`);
  }
  const h = Math.max(1, Math.round(options.halfWindowPx));
  const side = 2 * h + 1, m = side * side;
  const affine = options.warp === 'affine';
  const np = affine ? 6 : 2;
  const points = Float64Array.from(targetPoints);
  const status = new Uint8Array(count);
  const ncc = new Float32Array(count).fill(Number.NaN);
  // Template with a one-pixel border for central-difference gradients.
  const bs = side + 2;
  const border = new Float64Array(bs * bs);
  const tmpl = new Float64Array(m);
  const sd = new Float64Array(m * np);
  const hess = new Float64Array(np * np);
  const hessWork = new Float64Array(np * np);
  const warped = new Float64Array(m);
  const g = new Float64Array(np);
  const { width: rw, height: rh, data: rd } = reference;
  const { width: tw, height: th, data: td } = target;
  const FAIL_OUTSIDE = 1, FAIL_TEXTURELESS = 2, FAIL_EDGE = 3, FAIL_DIVERGED = 4, FAIL_TOO_FAR = 5, FAIL_LOW_NCC = 6;

  for (let i = 0; i < count; i++) {
    const px = referencePoints[2 * i]!, py = referencePoints[2 * i + 1]!;
    const qx0 = targetPoints[2 * i]!, qy0 = targetPoints[2 * i + 1]!;
    if (!(px - h - 1 >= 0 && py - h - 1 >= 0 && px + h + 1 <= rw - 1 && py + h + 1 <= rh - 1)) { status[i] = FAIL_OUTSIDE; continue; }
    // Template, normalised to zero mean and unit variance.
    for (let v = 0; v < bs; v++) for (let u = 0; u < bs; u++) border[v * bs + u] = sample(rd, rw, rh, px + u - h - 1, py + v - h - 1);
    let mean = 0;
    for (let v = 0; v < side; v++) for (let u = 0; u < side; u++) mean += border[(v + 1) * bs + u + 1]!;
    mean /= m;
    let varSum = 0;
    for (let v = 0; v < side; v++) for (let u = 0; u < side; u++) { const d = border[(v + 1) * bs + u + 1]! - mean; varSum += d * d; }
    const std = Math.sqrt(varSum / m);
    if (std < options.minStd) { status[i] = FAIL_TEXTURELESS; continue; }
    const inv = 1 / std;
    let sxx = 0, sxy = 0, syy = 0;
    for (let v = 0; v < side; v++) {
      for (let u = 0; u < side; u++) {
        const k = v * side + u, b = (v + 1) * bs + u + 1;
        tmpl[k] = (border[b]! - mean) * inv;
        const gx = 0.5 * (border[b + 1]! - border[b - 1]!) * inv;
        const gy = 0.5 * (border[b + bs]! - border[b - bs]!) * inv;
        sxx += gx * gx; sxy += gx * gy; syy += gy * gy;
        const x = u - h, y = v - h, o = k * np;
        if (affine) {
          // Warp W(x; p) = [[1+p0, p2, p4], [p1, 1+p3, p5]] (x, y, 1): Jacobian at p = 0.
          sd[o] = gx * x; sd[o + 1] = gy * x; sd[o + 2] = gx * y; sd[o + 3] = gy * y; sd[o + 4] = gx; sd[o + 5] = gy;
        } else {
          sd[o] = gx; sd[o + 1] = gy;
        }
      }
    }
    const tr = sxx + syy, det = sxx * syy - sxy * sxy;
    const disc = Math.sqrt(Math.max(0, tr * tr / 4 - det));
    const eMax = tr / 2 + disc, eMin = tr / 2 - disc;
    if (!(eMax > 0) || eMin < options.minEigenRatio * eMax) { status[i] = FAIL_EDGE; continue; }
    hess.fill(0);
    for (let k = 0; k < m; k++) {
      const o = k * np;
      for (let a = 0; a < np; a++) for (let b = 0; b <= a; b++) hess[a * np + b] += sd[o + a]! * sd[o + b]!;
    }
    for (let a = 0; a < np; a++) for (let b = 0; b < a; b++) hess[b * np + a] = hess[a * np + b]!;

    // Current warp: target point = [[m00, m01, m02], [m10, m11, m12]] (x, y, 1) for window offsets (x, y).
    let m00 = 1, m01 = 0, m02 = qx0, m10 = 0, m11 = 1, m12 = qy0;
    let fail = 0, converged = false, lastNcc = Number.NaN;
    for (let it = 0; it < options.maxIterations; it++) {
      // Corners of the window bound the warped samples (the warp is affine).
      let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
      for (const [cx, cy] of [[-h, -h], [h, -h], [-h, h], [h, h]] as const) {
        const wx = m00 * cx + m01 * cy + m02, wy = m10 * cx + m11 * cy + m12;
        if (wx < minX) minX = wx; if (wx > maxX) maxX = wx; if (wy < minY) minY = wy; if (wy > maxY) maxY = wy;
      }
      if (!(minX >= 0 && minY >= 0 && maxX <= tw - 1 && maxY <= th - 1)) { fail = FAIL_OUTSIDE; break; }
      let wMean = 0;
      for (let v = 0; v < side; v++) {
        const y = v - h;
        for (let u = 0; u < side; u++) {
          const x = u - h;
          const val = sample(td, tw, th, m00 * x + m01 * y + m02, m10 * x + m11 * y + m12);
          warped[v * side + u] = val; wMean += val;
        }
      }
      wMean /= m;
      let wVar = 0;
      for (let k = 0; k < m; k++) { const d = warped[k]! - wMean; wVar += d * d; }
      if (!(wVar > 1e-12)) { fail = FAIL_DIVERGED; break; }
      const wInv = 1 / Math.sqrt(wVar / m);
      g.fill(0);
      let cross = 0;
      for (let k = 0; k < m; k++) {
        const iv = (warped[k]! - wMean) * wInv;
        cross += iv * tmpl[k]!;
        const e = iv - tmpl[k]!;
        const o = k * np;
        for (let a = 0; a < np; a++) g[a] += sd[o + a]! * e;
      }
      lastNcc = cross / m;
      hessWork.set(hess);
      if (!solveSpd(hessWork, g, np)) { fail = FAIL_DIVERGED; break; }
      // Inverse compositional update: W <- W o W(dp)^-1.
      let d00: number, d01: number, d02: number, d10: number, d11: number, d12: number;
      if (affine) { d00 = 1 + g[0]!; d10 = g[1]!; d01 = g[2]!; d11 = 1 + g[3]!; d02 = g[4]!; d12 = g[5]!; } else { d00 = 1; d10 = 0; d01 = 0; d11 = 1; d02 = g[0]!; d12 = g[1]!; }
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
      if (!(linDet > 0.25 && linDet < 4)) { fail = FAIL_DIVERGED; break; }
      if (Math.hypot(m02 - qx0, m12 - qy0) > options.maxShiftPx * 2) { fail = FAIL_TOO_FAR; break; }
      if (step < 2e-3) { converged = true; break; }
    }
    if (fail === 0 && !converged) fail = FAIL_DIVERGED;
    if (fail === 0 && Math.hypot(m02 - qx0, m12 - qy0) > options.maxShiftPx) fail = FAIL_TOO_FAR;
    ncc[i] = lastNcc;
    if (fail === 0 && !(lastNcc >= options.minNcc)) fail = FAIL_LOW_NCC;
    status[i] = fail;
    if (fail === 0) { points[2 * i] = m02; points[2 * i + 1] = m12; }
  }
  return { points, status, ncc };
}
