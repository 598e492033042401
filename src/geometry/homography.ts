/**
 * Homographies x1 ~ H x0 between two images: the normalised DLT (Hartley & Zisserman, alg. 4.2) with optional
 * per-point weights, and robust estimation through robust.ts with the forward transfer error |x1 - H x0|
 * (pixels), as cv2.findHomography and COLMAP score it.
 *
 * Structure from motion uses a homography to recognise pairs whose essential matrix is unreliable: a planar
 * scene or a camera that only rotated is explained by a homography as well as by E, and COLMAP then treats the
 * pair as planar/panoramic when (homography inliers) / (essential inliers) exceeds 0.8. `homographyInlierRatio`
 * computes that ratio.
 */
import { InputError } from '../core/errors.ts';
import { mul3, type Mat3 } from './mat3.ts';
import { runLoRansac, type RobustProblem, samplingOptions, type RobustSamplingOptions } from './robust.ts';
import {
  asFloat64Array, checkCorrespondences, hartleyNormalization, inverseNormalizationMatrix, normalizationMatrix, nullVectorFromNormalMatrix,
  type PointNormalization,
} from './fundamental.ts';

/** COLMAP's max_H_inlier_ratio: above it a pair is planar or a pure rotation, and E's translation is unreliable. */
export const PLANAR_OR_ROTATION_INLIER_RATIO = 0.8;

/** Scales H so that H[8] = 1 (the usual convention, as cv2), or to unit Frobenius norm when H[8] ~ 0. */
function normalizeHomography(h: ArrayLike<number>): Mat3 | null {
  let norm = 0;
  for (let i = 0; i < 9; i++) norm += h[i]! * h[i]!;
  norm = Math.sqrt(norm);
  if (!(norm > 0) || !Number.isFinite(norm)) return null;
  const divisor = Math.abs(h[8]!) > 1e-12 * norm ? h[8]! : norm;
  const out = new Float64Array(9);
  for (let i = 0; i < 9; i++) out[i] = h[i]! / divisor;
  return out;
}

/**
 * Normalised DLT: the homography minimising the algebraic error of x1 x (H x0) = 0 over the selected
 * correspondences (all when `indices` is omitted; at least 4), each weighted by weights[i] when given, in
 * Hartley-normalised coordinates. Scaled so that H[8] = 1. Null when the points do not determine H
 * (e.g. three of four collinear).
 */
export function homographyDlt(
  points0: ArrayLike<number>, points1: ArrayLike<number>, indices?: ArrayLike<number>, weights?: ArrayLike<number>,
): Mat3 | null {
  const count = indices === undefined ? points0.length / 2 : indices.length;
  if (count < 4) return null;
  const t0 = hartleyNormalization(points0, indices);
  const t1 = hartleyNormalization(points1, indices);
  if (t0 === null || t1 === null) return null;
  const normal = new Float64Array(81);
  const rowA = new Float64Array(9), rowB = new Float64Array(9);
  for (let k = 0; k < count; k++) {
    const i = indices === undefined ? k : indices[k]!;
    const x0 = (points0[2 * i]! - t0.cx) * t0.scale, y0 = (points0[2 * i + 1]! - t0.cy) * t0.scale;
    const x1 = (points1[2 * i]! - t1.cx) * t1.scale, y1 = (points1[2 * i + 1]! - t1.cy) * t1.scale;
    const w = weights === undefined ? 1 : weights[i]! * weights[i]!;
    if (!(w > 0)) continue;
    rowA.set([-x0, -y0, -1, 0, 0, 0, x1 * x0, x1 * y0, x1]);
    rowB.set([0, 0, 0, -x0, -y0, -1, y1 * x0, y1 * y0, y1]);
    for (let r = 0; r < 9; r++) {
      const ar = w * rowA[r]!, br = w * rowB[r]!;
      for (let c = r; c < 9; c++) normal[r * 9 + c]! += ar * rowA[c]! + br * rowB[c]!;
    }
  }
  const h = nullVectorFromNormalMatrix(normal, 9);
  if (h === null) return null;
  return normalizeHomography(mul3(mul3(inverseNormalizationMatrix(t1), h), normalizationMatrix(t0)));
}

/** Twice the signed area of the triangle (a, b, c) of points given by index. */
function orientation(points: ArrayLike<number>, a: number, b: number, c: number): number {
  return (points[2 * b]! - points[2 * a]!) * (points[2 * c + 1]! - points[2 * a + 1]!) -
    (points[2 * b + 1]! - points[2 * a + 1]!) * (points[2 * c]! - points[2 * a]!);
}

/**
 * Whether a four-point sample can define a proper homography: no three points collinear (relative to the
 * sample's extent) in either image, and every triangle keeps its orientation (a homography of a visible plane
 * cannot mirror it), the cheap sample check of OpenCV's and COLMAP's RANSAC.
 */
function isSampleNonDegenerate(points0: ArrayLike<number>, points1: ArrayLike<number>, s: ArrayLike<number>): boolean {
  const triples = [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]] as const;
  for (const points of [points0, points1]) {
    let extent = 0;
    for (let k = 1; k < 4; k++) {
      const dx = points[2 * s[k]!]! - points[2 * s[0]!]!, dy = points[2 * s[k]! + 1]! - points[2 * s[0]! + 1]!;
      extent = Math.max(extent, Math.sqrt(dx * dx + dy * dy));
    }
    for (const [a, b, c] of triples) {
      if (Math.abs(orientation(points, s[a]!, s[b]!, s[c]!)) <= 1e-6 * extent * extent) return false;
    }
  }
  for (const [a, b, c] of triples) {
    if (Math.sign(orientation(points0, s[a]!, s[b]!, s[c]!)) !== Math.sign(orientation(points1, s[a]!, s[b]!, s[c]!))) return false;
  }
  return true;
}

/**
 * Exact homography through four correspondences: the 8x8 linear system with H[8] = 1, solved by Gaussian
 * elimination with partial pivoting in coordinates normalised by `t0`, `t1` (fixed for the whole data set).
 */
function fourPointHomography(
  points0: ArrayLike<number>, points1: ArrayLike<number>, sample: ArrayLike<number>, t0: PointNormalization, t1: PointNormalization,
): Mat3 | null {
  const a = new Array<number>(72).fill(0);
  for (let k = 0; k < 4; k++) {
    const i = sample[k]!;
    const x0 = (points0[2 * i]! - t0.cx) * t0.scale, y0 = (points0[2 * i + 1]! - t0.cy) * t0.scale;
    const x1 = (points1[2 * i]! - t1.cx) * t1.scale, y1 = (points1[2 * i + 1]! - t1.cy) * t1.scale;
    // x1 (h6 x0 + h7 y0 + 1) = h0 x0 + h1 y0 + h2, and likewise for y1; augmented column 8 is the RHS.
    const r0 = 2 * k * 9, r1 = (2 * k + 1) * 9;
    a[r0] = x0; a[r0 + 1] = y0; a[r0 + 2] = 1; a[r0 + 6] = -x1 * x0; a[r0 + 7] = -x1 * y0; a[r0 + 8] = x1;
    a[r1 + 3] = x0; a[r1 + 4] = y0; a[r1 + 5] = 1; a[r1 + 6] = -y1 * x0; a[r1 + 7] = -y1 * y0; a[r1 + 8] = y1;
  }
  for (let col = 0; col < 8; col++) {
    let pivot = col;
    for (let r = col + 1; r < 8; r++) if (Math.abs(a[r * 9 + col]!) > Math.abs(a[pivot * 9 + col]!)) pivot = r;
    const value = a[pivot * 9 + col]!;
    if (!(Math.abs(value) > 1e-10)) return null;
    if (pivot !== col) for (let c = col; c < 9; c++) { const t = a[col * 9 + c]!; a[col * 9 + c] = a[pivot * 9 + c]!; a[pivot * 9 + c] = t; }
    for (let r = col + 1; r < 8; r++) {
      const factor = a[r * 9 + col]! / value;
      if (factor === 0) continue;
      for (let c = col; c < 9; c++) a[r * 9 + c]! -= factor * a[col * 9 + c]!;
    }
  }
  const h = new Float64Array(9);
  h[8] = 1;
  for (let r = 7; r >= 0; r--) {
    let sum = a[r * 9 + 8]!;
    for (let c = r + 1; c < 8; c++) sum -= a[r * 9 + c]! * h[c]!;
    h[r] = sum / a[r * 9 + r]!;
  }
  return normalizeHomography(mul3(mul3(inverseNormalizationMatrix(t1), h), normalizationMatrix(t0)));
}

/** Squared forward transfer error |x1 - H x0|^2 of one correspondence; Infinity where H sends x0 to infinity. */
export function transferErrorSquared(h: Mat3, x0: number, y0: number, x1: number, y1: number): number {
  const w = h[6]! * x0 + h[7]! * y0 + h[8]!;
  if (w === 0) return Number.POSITIVE_INFINITY;
  const dx = (h[0]! * x0 + h[1]! * y0 + h[2]!) / w - x1;
  const dy = (h[3]! * x0 + h[4]! * y0 + h[5]!) / w - y1;
  return dx * dx + dy * dy;
}

/**
 * Squared forward transfer errors |x1 - H x0|^2 (pixels^2) of correspondences begin..end-1 into
 * out[begin..end-1] (defaults: all); Infinity where H sends x0 to infinity.
 */
export function transferErrorsSquared(h: Mat3, points0: Float64Array, points1: Float64Array, out: Float64Array,
  begin = 0, end = out.length): void {
  const h0 = h[0]!, h1 = h[1]!, h2 = h[2]!, h3 = h[3]!, h4 = h[4]!, h5 = h[5]!, h6 = h[6]!, h7 = h[7]!, h8 = h[8]!;
  for (let i = begin; i < end; i++) {
    const x0 = points0[2 * i]!, y0 = points0[2 * i + 1]!;
    const w = h6 * x0 + h7 * y0 + h8;
    if (w === 0) { out[i] = Number.POSITIVE_INFINITY; continue; }
    const dx = (h0 * x0 + h1 * y0 + h2) / w - points1[2 * i]!;
    const dy = (h3 * x0 + h4 * y0 + h5) / w - points1[2 * i + 1]!;
    out[i] = dx * dx + dy * dy;
  }
}

/** Sampling settings (confidence, iterations, seed, local optimisation) as RobustSamplingOptions. */
export interface HomographyOptions extends RobustSamplingOptions {
  /** Inlier threshold on the transfer error, pixels. Default 1. */
  readonly thresholdPx?: number;
}

export interface HomographyEstimate {
  /** x1 ~ H x0, H[8] = 1. */
  readonly homography: Mat3;
  readonly inliers: Uint8Array;
  readonly numInliers: number;
  readonly iterations: number;
}

/**
 * Robust homography from pixel correspondences (x, y interleaved): LO-RANSAC over four-point samples (with
 * the collinearity/orientation check), DLT local optimisation, MSAC on the transfer error. Null when fewer
 * than 4 correspondences or no model is supported by at least 4.
 */
export function estimateHomography(pixels0In: ArrayLike<number>, pixels1In: ArrayLike<number>, options: HomographyOptions = {}): HomographyEstimate | null {
  const n = checkCorrespondences(pixels0In, pixels1In, 'estimateHomography');
  const pixels0 = asFloat64Array(pixels0In), pixels1 = asFloat64Array(pixels1In);
  const thresholdPx = options.thresholdPx ?? 1;
  if (!(thresholdPx > 0)) throw new InputError(`estimateHomography: thresholdPx (${thresholdPx}) must be positive.`);
  if (n < 4) return null;
  const t0 = hartleyNormalization(pixels0), t1 = hartleyNormalization(pixels1);
  if (t0 === null || t1 === null) return null;
  const problem: RobustProblem<Mat3> = {
    sampleSize: 4,
    numData: n,
    fitMinimal: (sample) => {
      if (!isSampleNonDegenerate(pixels0, pixels1, sample)) return [];
      const h = fourPointHomography(pixels0, pixels1, sample, t0, t1);
      return h === null ? [] : [h];
    },
    fitNonMinimal: (indices) => homographyDlt(pixels0, pixels1, indices),
    squaredResidual: (h, i) => transferErrorSquared(h, pixels0[2 * i]!, pixels0[2 * i + 1]!, pixels1[2 * i]!, pixels1[2 * i + 1]!),
    squaredResiduals: (h, out, begin, end) => transferErrorsSquared(h, pixels0, pixels1, out, begin, end),
  };
  const result = runLoRansac(problem, {
    threshold: thresholdPx,
    ...samplingOptions(options),
  });
  if (result === null) return null;
  return { homography: result.model, inliers: result.inliers, numInliers: result.numInliers, iterations: result.iterations };
}

/**
 * COLMAP's planar/panoramic test: homography inliers (robust fit at `thresholdPx`) divided by the number of
 * essential (or fundamental) inliers of the same pair. Above PLANAR_OR_ROTATION_INLIER_RATIO (0.8) the scene
 * is (nearly) planar or the camera (nearly) only rotated, and the relative translation should not be trusted
 * for initialisation. 0 when no homography is found.
 */
export function homographyInlierRatio(
  pixels0: ArrayLike<number>, pixels1: ArrayLike<number>, numEssentialInliers: number, options: HomographyOptions = {},
): number {
  if (!(numEssentialInliers > 0)) return 0;
  const estimate = estimateHomography(pixels0, pixels1, options);
  return estimate === null ? 0 : estimate.numInliers / numEssentialInliers;
}
