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
  const side = 2 * h + 1, m = side * side;
  const affine = options.warp === 'affine';
  const points = Float64Array.from(targetPoints);
  const status = new Uint8Array(count);
  const ncc = new Float32Array(count).fill(Number.NaN);
  // Template with a one-pixel border for central-difference gradients.
  const bs = side + 2;
  const border = new Float64Array(bs * bs);
  const tmpl = new Float64Array(m);
  const sd = new Float64Array(m * 6);
  const hess = new Float64Array(36);
  const hessPass = new Float64Array(36);
  const hessWork = new Float64Array(36);
  const warped = new Float64Array(m);
  const g = new Float64Array(6);
  const searchBase = new Int32Array(m), searchFx = new Float64Array(m), searchFy = new Float64Array(m);
  const { width: rw, height: rh, data: rd } = reference;
  const { width: tw, height: th, data: td } = target;
  const FAIL_OUTSIDE = 1, FAIL_TEXTURELESS = 2, FAIL_EDGE = 3, FAIL_DIVERGED = 4, FAIL_TOO_FAR = 5, FAIL_LOW_NCC = 6, FAIL_NOT_CONVERGED = 7;

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
        const x = u - h, y = v - h, o = k * 6;
        // Warp W(x; p) = [[1+p0, p2, p4], [p1, 1+p3, p5]] (x, y, 1): Jacobian at p = 0. Translation uses p4, p5.
        sd[o] = gx * x; sd[o + 1] = gy * x; sd[o + 2] = gx * y; sd[o + 3] = gy * y; sd[o + 4] = gx; sd[o + 5] = gy;
      }
    }
    const tr = sxx + syy, det = sxx * syy - sxy * sxy;
    const disc = Math.sqrt(Math.max(0, tr * tr / 4 - det));
    const eMax = tr / 2 + disc, eMin = tr / 2 - disc;
    if (!(eMax > 0) || eMin < options.minEigenRatio * eMax) { status[i] = FAIL_EDGE; continue; }
    hess.fill(0);
    for (let k = 0; k < m; k++) {
      const o = k * 6;
      for (let a = 0; a < 6; a++) for (let b = 0; b <= a; b++) hess[a * 6 + b]! += sd[o + a]! * sd[o + b]!;
    }
    for (let a = 0; a < 6; a++) for (let b = 0; b < a; b++) hess[b * 6 + a] = hess[a * 6 + b]!;

    // Current warp: target point = [[m00, m01, m02], [m10, m11, m12]] (x, y, 1) for window offsets (x, y).
    let s00 = 1, s01 = 0, s02 = qx0, s10 = 0, s11 = 1, s12 = qy0;
    if (initialLinear !== undefined) {
      s00 = initialLinear[4 * i]!; s01 = initialLinear[4 * i + 1]!; s10 = initialLinear[4 * i + 2]!; s11 = initialLinear[4 * i + 3]!;
    }
    const det0 = s00 * s11 - s01 * s10;
    const R = Math.max(0, Math.round(options.searchRadiusPx));
    if (R > 0) {
      // An integer shift moves every sample by whole pixels: the bilinear weights stay, only the base index
      // moves. They are computed once for the (2R+1)^2 shifts; shifts whose samples would reach the last row or
      // column (where sample() clamps) take the general path.
      let maxX0 = -Infinity, maxY0 = -Infinity;
      for (let v = 0, k = 0; v < side; v++) {
        const y = v - h;
        for (let u = 0; u < side; u++, k++) {
          const x = u - h;
          const sx = s00 * x + s01 * y + s02, sy = s10 * x + s11 * y + s12;
          const x0 = Math.floor(sx), y0 = Math.floor(sy);
          searchBase[k] = y0 * tw + x0; searchFx[k] = sx - x0; searchFy[k] = sy - y0;
          if (x0 > maxX0) maxX0 = x0; if (y0 > maxY0) maxY0 = y0;
        }
      }
      const ex = Math.abs(s00) * h + Math.abs(s01) * h, ey = Math.abs(s10) * h + Math.abs(s11) * h;
      let best = -Infinity, bx = 0, by = 0;
      for (let oy = -R; oy <= R; oy++) {
        for (let ox = -R; ox <= R; ox++) {
          let c: number;
          const cx = s02 + ox, cy = s12 + oy;
          if (!(cx - ex >= 0 && cy - ey >= 0 && cx + ex <= tw - 1 && cy + ey <= th - 1)) {
            c = -Infinity;
          } else if (maxX0 + ox <= tw - 2 && maxY0 + oy <= th - 2) {
            const shift = oy * tw + ox;
            let sum = 0, sumSq = 0, sumT = 0;
            for (let k = 0; k < m; k++) {
              const o = searchBase[k]! + shift, fx = searchFx[k]!, fy = searchFy[k]!;
              const a = td[o]!, b = td[o + 1]!, cc = td[o + tw]!, d = td[o + tw + 1]!;
              const val = (a + (b - a) * fx) + ((cc + (d - cc) * fx) - (a + (b - a) * fx)) * fy;
              sum += val; sumSq += val * val; sumT += val * tmpl[k]!;
            }
            const variance = sumSq - (sum * sum) / m;
            c = variance > 1e-12 ? sumT / Math.sqrt(variance * m) : -Infinity;
          } else {
            c = windowNcc(td, tw, th, tmpl, h, s00, s01, cx, s10, s11, cy);
          }
          if (c > best) { best = c; bx = ox; by = oy; }
        }
      }
      s02 += bx; s12 += by;
      if (best < options.minSearchNcc) { status[i] = FAIL_LOW_NCC; ncc[i] = best; continue; }
    }
    let fail = 0, lastNcc = Number.NaN;
    let m00 = s00, m01 = s01, m02 = s02, m10 = s10, m11 = s11, m12 = s12;
    // The affine fit can wander on weakly textured windows; the translation-only fit (window shape kept from the
    // start) is the fallback when it does not settle.
    for (const np of affine ? [6, 2] : [2]) {
      m00 = s00; m01 = s01; m02 = s02; m10 = s10; m11 = s11; m12 = s12;
      fail = 0;
      let converged = false;
      const c0 = 6 - np;
      for (let a = 0; a < np; a++) for (let b = 0; b < np; b++) hessPass[a * np + b] = hess[(a + c0) * 6 + b + c0]!;
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
          const o = k * 6 + c0;
          for (let a = 0; a < np; a++) g[a]! += sd[o + a]! * e;
        }
        lastNcc = cross / m;
        hessWork.set(hessPass.subarray(0, np * np));
        if (!solveSpd(hessWork, g, np)) { fail = FAIL_DIVERGED; break; }
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
      if (fail !== FAIL_DIVERGED && fail !== FAIL_NOT_CONVERGED) break;
    }
    if (fail === 0 && Math.hypot(m02 - qx0, m12 - qy0) > options.maxShiftPx) fail = FAIL_TOO_FAR;
    ncc[i] = lastNcc;
    if (fail === 0 && !(lastNcc >= options.minNcc)) fail = FAIL_LOW_NCC;
    status[i] = fail;
    if (fail === 0) { points[2 * i] = m02; points[2 * i + 1] = m12; }
  }
  return { points, status, ncc };
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
  for (let i = 0; i < n; i++) {
    out[4 * i] = 1; out[4 * i + 3] = 1;
    if (n < 4) continue;
    const px = referencePoints[2 * i]!, py = referencePoints[2 * i + 1]!;
    // The `neighbours` nearest other matches (insertion into a short sorted list: O(n k), not a sort per match).
    let used = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      // Squared distances: same order as distances, without a square root per pair.
      const dx = referencePoints[2 * j]! - px, dy = referencePoints[2 * j + 1]! - py;
      const d = dx * dx + dy * dy;
      if (d < 1e-12 || (used === neighbours && d >= dist[used - 1]!)) continue;
      let slot = used < neighbours ? used++ : used - 1;
      while (slot > 0 && dist[slot - 1]! > d) { dist[slot] = dist[slot - 1]!; order[slot] = order[slot - 1]!; slot--; }
      dist[slot] = d; order[slot] = j;
    }
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
