/**
 * The fundamental matrix F (x1^T F x0 = 0 for pixel correspondences x0 <-> x1), for image pairs whose
 * intrinsics are unknown: the normalised eight-point algorithm (Hartley, "In defence of the eight-point
 * algorithm", 1997), the seven-point minimal solver, and robust estimation through robust.ts with the
 * Sampson error (a first-order approximation of the squared geometric reprojection error, in pixels^2).
 *
 * Also home to the linear building blocks the other two-view estimators share (Hartley normalisation, the
 * null vector of a least-squares system, the Sampson error of a bilinear constraint), so that essential.ts
 * and homography.ts do not each carry a copy.
 */
import { EigenvalueDecomposition, Matrix, SVD } from 'ml-matrix';
import type { Intrinsics } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { mul3, transpose3, type Mat3 } from './mat3.ts';
import { runLoRansac, type RobustProblem, samplingOptions, type RobustSamplingOptions } from './robust.ts';

// ---------------------------------------------------------------------------------------------------------
// Shared linear building blocks
// ---------------------------------------------------------------------------------------------------------

/**
 * Isotropic similarity that moves the centroid of the selected points to the origin and makes their mean
 * distance from it sqrt(2) (Hartley's normalisation): it keeps the algebraic least-squares problems of the
 * DLT-type solvers well conditioned whatever the pixel coordinates. x' = scale * (x - cx).
 */
export interface PointNormalization {
  readonly cx: number;
  readonly cy: number;
  readonly scale: number;
}

/** Hartley normalisation of points (x, y interleaved), over `indices` when given. Null for coincident points. */
export function hartleyNormalization(points: ArrayLike<number>, indices?: ArrayLike<number>): PointNormalization | null {
  const n = indices === undefined ? points.length / 2 : indices.length;
  if (n === 0) return null;
  let cx = 0, cy = 0;
  for (let k = 0; k < n; k++) {
    const i = indices === undefined ? k : indices[k]!;
    cx += points[2 * i]!; cy += points[2 * i + 1]!;
  }
  cx /= n; cy /= n;
  let meanDistance = 0;
  for (let k = 0; k < n; k++) {
    const i = indices === undefined ? k : indices[k]!;
    const dx = points[2 * i]! - cx, dy = points[2 * i + 1]! - cy;
    // sqrt of the sum, not Math.hypot: V8's hypot is several times slower and overflow cannot happen here.
    meanDistance += Math.sqrt(dx * dx + dy * dy);
  }
  meanDistance /= n;
  if (!(meanDistance > 0) || !Number.isFinite(meanDistance)) return null;
  return { cx, cy, scale: Math.SQRT2 / meanDistance };
}

/** The normalisation as a 3x3 matrix T, x' = T x in homogeneous coordinates. */
export function normalizationMatrix(t: PointNormalization): Mat3 {
  return Float64Array.of(t.scale, 0, -t.scale * t.cx, 0, t.scale, -t.scale * t.cy, 0, 0, 1);
}

/** Inverse of normalizationMatrix(t). */
export function inverseNormalizationMatrix(t: PointNormalization): Mat3 {
  return Float64Array.of(1 / t.scale, 0, t.cx, 0, 1 / t.scale, t.cy, 0, 0, 1);
}

/** Eigenvalues below this fraction of the largest make the null vector ambiguous (degenerate configuration). */
const NULLSPACE_AMBIGUITY_RATIO = 1e-13;

/**
 * Unit null vector of a least-squares system from its 9x9 normal matrix A^T A (row-major, upper triangle
 * filled at least): the eigenvector of the smallest eigenvalue. Null when the two smallest eigenvalues are
 * both ~0, i.e. the data do not determine the model (e.g. a planar scene for the eight-point algorithm).
 */
export function nullVectorFromNormalMatrix(normal: ArrayLike<number>, size: number): Float64Array | null {
  const rows: number[][] = [];
  for (let r = 0; r < size; r++) {
    const row = new Array<number>(size);
    for (let c = 0; c < size; c++) row[c] = r <= c ? normal[r * size + c]! : normal[c * size + r]!;
    rows.push(row);
  }
  const evd = new EigenvalueDecomposition(rows, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  let smallest = 0, largest = 0;
  for (let i = 1; i < size; i++) {
    if (values[i]! < values[smallest]!) smallest = i;
    if (values[i]! > values[largest]!) largest = i;
  }
  let second = -1;
  for (let i = 0; i < size; i++) {
    if (i !== smallest && (second < 0 || values[i]! < values[second]!)) second = i;
  }
  if (!(values[largest]! > 0) || !(values[second]! > NULLSPACE_AMBIGUITY_RATIO * values[largest]!)) return null;
  const vectors = evd.eigenvectorMatrix;
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = vectors.get(i, smallest);
  return out;
}

/**
 * Orthonormal basis of the null space of a k x 9 system (k < 9), as 9 - k unit vectors: the right singular
 * vectors of the smallest singular values. The system is padded with zero rows to 9x9 because the SVD we use
 * wants at least as many rows as columns.
 */
export function nullSpace9(rows: ArrayLike<number>, numRows: number): Float64Array[] {
  const padded: number[][] = [];
  for (let r = 0; r < 9; r++) {
    const row = new Array<number>(9).fill(0);
    if (r < numRows) for (let c = 0; c < 9; c++) row[c] = rows[r * 9 + c]!;
    padded.push(row);
  }
  const svd = new SVD(padded, { computeLeftSingularVectors: false, computeRightSingularVectors: true, autoTranspose: false });
  const order = svd.diagonal.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const v = svd.rightSingularVectors;
  const basis: Float64Array[] = [];
  for (let k = 0; k < 9 - numRows; k++) {
    const column = order[k]!.index;
    const vector = new Float64Array(9);
    for (let i = 0; i < 9; i++) vector[i] = v.get(i, column);
    basis.push(vector);
  }
  return basis;
}

/** SVD of a 3x3 matrix: a = U diag(s) V^T with s descending. */
export function svd3(a: Mat3): { u: Mat3; s: Float64Array; v: Mat3 } {
  const svd = new SVD(new Matrix([[a[0]!, a[1]!, a[2]!], [a[3]!, a[4]!, a[5]!], [a[6]!, a[7]!, a[8]!]]));
  const order = [0, 1, 2].sort((i, j) => svd.diagonal[j]! - svd.diagonal[i]!);
  const u = new Float64Array(9), v = new Float64Array(9), s = new Float64Array(3);
  const U = svd.leftSingularVectors, V = svd.rightSingularVectors;
  for (let k = 0; k < 3; k++) {
    const column = order[k]!;
    s[k] = svd.diagonal[column]!;
    for (let r = 0; r < 3; r++) {
      u[r * 3 + k] = U.get(r, column);
      v[r * 3 + k] = V.get(r, column);
    }
  }
  return { u, s, v };
}

/** U diag(s) V^T. */
export function composeSvd3(u: Mat3, s: ArrayLike<number>, v: Mat3): Mat3 {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      out[r * 3 + c] = u[r * 3]! * s[0]! * v[c * 3]! + u[r * 3 + 1]! * s[1]! * v[c * 3 + 1]! + u[r * 3 + 2]! * s[2]! * v[c * 3 + 2]!;
    }
  }
  return out;
}

/** Scales a matrix to unit Frobenius norm (null for a zero or non-finite matrix). */
export function normalizeFrobenius(m: Mat3): Mat3 | null {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += m[i]! * m[i]!;
  const norm = Math.sqrt(sum);
  if (!(norm > 0) || !Number.isFinite(norm)) return null;
  const out = new Float64Array(9);
  for (let i = 0; i < 9; i++) out[i] = m[i]! / norm;
  return out;
}

/**
 * Sampson error (squared) of a correspondence under a bilinear constraint x1^T M x0 = 0 (M = F in pixels, or
 * E in normalised coordinates): (x1^T M x0)^2 / (|(M x0)_xy|^2 + |(M^T x1)_xy|^2). The first-order
 * approximation of the sum of squared distances both points must move to satisfy the constraint.
 */
export function sampsonErrorSquared(m: Mat3, x0: number, y0: number, x1: number, y1: number): number {
  const l0 = m[0]! * x0 + m[1]! * y0 + m[2]!;
  const l1 = m[3]! * x0 + m[4]! * y0 + m[5]!;
  const l2 = m[6]! * x0 + m[7]! * y0 + m[8]!;
  const r0 = m[0]! * x1 + m[3]! * y1 + m[6]!;
  const r1 = m[1]! * x1 + m[4]! * y1 + m[7]!;
  const residual = x1 * l0 + y1 * l1 + l2;
  return (residual * residual) / (l0 * l0 + l1 * l1 + r0 * r0 + r1 * r1);
}

/**
 * sampsonErrorSquared of correspondences begin..end-1 (x, y interleaved) into out[begin..end-1]: the batch
 * form RANSAC scores with (defaults: all of them).
 */
export function sampsonErrorsSquared(m: Mat3, points0: Float64Array, points1: Float64Array, out: Float64Array,
  begin = 0, end = out.length): void {
  const m0 = m[0]!, m1 = m[1]!, m2 = m[2]!, m3 = m[3]!, m4 = m[4]!, m5 = m[5]!, m6 = m[6]!, m7 = m[7]!, m8 = m[8]!;
  for (let i = begin; i < end; i++) {
    const x0 = points0[2 * i]!, y0 = points0[2 * i + 1]!, x1 = points1[2 * i]!, y1 = points1[2 * i + 1]!;
    const l0 = m0 * x0 + m1 * y0 + m2, l1 = m3 * x0 + m4 * y0 + m5, l2 = m6 * x0 + m7 * y0 + m8;
    const r0 = m0 * x1 + m3 * y1 + m6, r1 = m1 * x1 + m4 * y1 + m7;
    const residual = x1 * l0 + y1 * l1 + l2;
    out[i] = (residual * residual) / (l0 * l0 + l1 * l1 + r0 * r0 + r1 * r1);
  }
}

/**
 * The coordinates as a Float64Array (the array itself when it already is one). Estimators convert at their
 * entry so that their hot loops see one array type: element access on a mix of plain and typed arrays
 * makes V8's loads polymorphic and the scoring loop several times slower.
 */
export function asFloat64Array(points: ArrayLike<number>): Float64Array {
  return points instanceof Float64Array ? points : Float64Array.from(points);
}

/** Checks paired coordinate arrays (2 per point) and returns the number of points. */
export function checkCorrespondences(points0: ArrayLike<number>, points1: ArrayLike<number>, what: string): number {
  if (points0.length !== points1.length) {
    throw new InputError(`${what}: the two point arrays differ in length (${points0.length} vs ${points1.length}).`);
  }
  if (points0.length % 2 !== 0) throw new InputError(`${what}: point arrays must hold x, y pairs (odd length ${points0.length}).`);
  for (let i = 0; i < points0.length; i++) {
    if (!Number.isFinite(points0[i]!) || !Number.isFinite(points1[i]!)) {
      throw new InputError(`${what}: coordinate ${i} is not finite (${points0[i]}, ${points1[i]}).`);
    }
  }
  return points0.length / 2;
}

/**
 * Upper triangle of the 9x9 normal matrix of bilinear constraints x1^T M x0 = 0 over the selected
 * correspondences (already normalised), each row weighted by weights[i]^2 when given.
 */
function bilinearNormalMatrix(
  points0: ArrayLike<number>, points1: ArrayLike<number>, indices: ArrayLike<number> | undefined, count: number,
  t0: PointNormalization, t1: PointNormalization, weights: ArrayLike<number> | undefined,
): Float64Array {
  const normal = new Float64Array(81);
  const row = new Float64Array(9);
  for (let k = 0; k < count; k++) {
    const i = indices === undefined ? k : indices[k]!;
    const x0 = (points0[2 * i]! - t0.cx) * t0.scale, y0 = (points0[2 * i + 1]! - t0.cy) * t0.scale;
    const x1 = (points1[2 * i]! - t1.cx) * t1.scale, y1 = (points1[2 * i + 1]! - t1.cy) * t1.scale;
    const w = weights === undefined ? 1 : weights[i]! * weights[i]!;
    row[0] = x1 * x0; row[1] = x1 * y0; row[2] = x1;
    row[3] = y1 * x0; row[4] = y1 * y0; row[5] = y1;
    row[6] = x0; row[7] = y0; row[8] = 1;
    for (let r = 0; r < 9; r++) {
      const wr = w * row[r]!;
      for (let c = r; c < 9; c++) normal[r * 9 + c]! += wr * row[c]!;
    }
  }
  return normal;
}

// ---------------------------------------------------------------------------------------------------------
// Linear and minimal solvers
// ---------------------------------------------------------------------------------------------------------

/** Sets the smallest singular value to zero: the closest rank-2 matrix in Frobenius norm. */
export function enforceRank2(m: Mat3): Mat3 {
  const { u, s, v } = svd3(m);
  return composeSvd3(u, [s[0]!, s[1]!, 0], v);
}

/**
 * Normalised eight-point algorithm: F minimising the algebraic error sum_i w_i^2 (x1^T F x0)^2 over the
 * selected correspondences (all when `indices` is omitted; at least 8) in Hartley-normalised coordinates, made
 * rank 2, denormalised and scaled to unit Frobenius norm. Null when the points do not determine F.
 */
export function eightPointFundamental(
  points0: ArrayLike<number>, points1: ArrayLike<number>, indices?: ArrayLike<number>, weights?: ArrayLike<number>,
): Mat3 | null {
  const count = indices === undefined ? points0.length / 2 : indices.length;
  if (count < 8) return null;
  const t0 = hartleyNormalization(points0, indices);
  const t1 = hartleyNormalization(points1, indices);
  if (t0 === null || t1 === null) return null;
  const f = nullVectorFromNormalMatrix(bilinearNormalMatrix(points0, points1, indices, count, t0, t1, weights), 9);
  if (f === null) return null;
  const rank2 = enforceRank2(f);
  return normalizeFrobenius(mul3(mul3(transpose3(normalizationMatrix(t1)), rank2), normalizationMatrix(t0)));
}

/**
 * Real roots of c3 a^3 + c2 a^2 + c1 a + c0 (falls back to the quadratic or linear case when the leading
 * coefficients vanish), each polished by two Newton steps.
 */
export function realCubicRoots(c3: number, c2: number, c1: number, c0: number): number[] {
  const scale = Math.max(Math.abs(c3), Math.abs(c2), Math.abs(c1), Math.abs(c0));
  if (!(scale > 0) || !Number.isFinite(scale)) return [];
  let roots: number[];
  if (Math.abs(c3) <= 1e-12 * scale) {
    if (Math.abs(c2) <= 1e-12 * scale) {
      roots = Math.abs(c1) <= 1e-12 * scale ? [] : [-c0 / c1];
    } else {
      const disc = c1 * c1 - 4 * c2 * c0;
      if (disc < 0) roots = [];
      else {
        // Numerically stable quadratic roots (no cancellation).
        const q = -0.5 * (c1 + (c1 >= 0 ? 1 : -1) * Math.sqrt(disc));
        roots = q === 0 ? [0] : [q / c2, c0 / q];
      }
    }
  } else {
    const a = c2 / c3, b = c1 / c3, c = c0 / c3;
    // Depressed cubic t^3 + p t + q with a = t - a/3.
    const p = b - (a * a) / 3;
    const q = (2 * a * a * a) / 27 - (a * b) / 3 + c;
    const disc = (q * q) / 4 + (p * p * p) / 27;
    const shift = -a / 3;
    if (disc > 0) {
      const sq = Math.sqrt(disc);
      roots = [Math.cbrt(-q / 2 + sq) + Math.cbrt(-q / 2 - sq) + shift];
    } else if (p === 0) {
      roots = [shift];
    } else {
      const r = Math.sqrt(-p / 3);
      const phi = Math.acos(Math.max(-1, Math.min(1, (3 * q) / (2 * p * r))));
      roots = [0, 1, 2].map((k) => 2 * r * Math.cos(phi / 3 - (2 * Math.PI * k) / 3) + shift);
    }
  }
  return roots.map((root) => {
    let x = root;
    for (let step = 0; step < 2; step++) {
      const value = ((c3 * x + c2) * x + c1) * x + c0;
      const slope = (3 * c3 * x + 2 * c2) * x + c1;
      if (slope === 0) break;
      const next = x - value / slope;
      if (!Number.isFinite(next)) break;
      x = next;
    }
    return x;
  });
}

/**
 * Seven-point minimal solver: the 2-D null space F1, F2 of the seven constraints, and the real roots a of
 * det(a F1 + (1 - a) F2) = 0. One or three fundamental matrices (unit Frobenius norm), none if degenerate.
 */
export function sevenPointFundamental(points0: ArrayLike<number>, points1: ArrayLike<number>, sample: ArrayLike<number>): Mat3[] {
  if (sample.length !== 7) throw new RangeError(`sevenPointFundamental needs 7 correspondences, got ${sample.length}`);
  const t0 = hartleyNormalization(points0, sample);
  const t1 = hartleyNormalization(points1, sample);
  if (t0 === null || t1 === null) return [];
  const rows = new Float64Array(63);
  for (let k = 0; k < 7; k++) {
    const i = sample[k]!;
    const x0 = (points0[2 * i]! - t0.cx) * t0.scale, y0 = (points0[2 * i + 1]! - t0.cy) * t0.scale;
    const x1 = (points1[2 * i]! - t1.cx) * t1.scale, y1 = (points1[2 * i + 1]! - t1.cy) * t1.scale;
    rows.set([x1 * x0, x1 * y0, x1, y1 * x0, y1 * y0, y1, x0, y0, 1], 9 * k);
  }
  const [f1, f2] = nullSpace9(rows, 7) as [Float64Array, Float64Array];
  const difference = new Float64Array(9);
  for (let i = 0; i < 9; i++) difference[i] = f1[i]! - f2[i]!;
  // det(F2 + a (F1 - F2)) is a cubic in a: sample it at a = 0, 1, -1, 2 and solve for its coefficients.
  const detAt = (a: number): number => {
    const m = new Float64Array(9);
    for (let i = 0; i < 9; i++) m[i] = f2[i]! + a * difference[i]!;
    return m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
  };
  const p0 = detAt(0), p1 = detAt(1), pm1 = detAt(-1), p2 = detAt(2);
  const c0 = p0;
  const c2 = (p1 + pm1) / 2 - c0;
  const oddSum = (p1 - pm1) / 2;
  const c3 = (p2 - c0 - 4 * c2 - 2 * oddSum) / 6;
  const c1 = oddSum - c3;
  const denormalize0 = normalizationMatrix(t0), denormalize1 = transpose3(normalizationMatrix(t1));
  const out: Mat3[] = [];
  for (const a of realCubicRoots(c3, c2, c1, c0)) {
    const m = new Float64Array(9);
    for (let i = 0; i < 9; i++) m[i] = f2[i]! + a * difference[i]!;
    const f = normalizeFrobenius(mul3(mul3(denormalize1, m), denormalize0));
    if (f !== null) out.push(f);
  }
  return out;
}

/** E = K1^T F K0: the essential matrix of a fundamental matrix once both cameras' intrinsics are known. */
export function essentialFromFundamental(fundamental: Mat3, k0: Intrinsics, k1: Intrinsics): Mat3 {
  const K0 = Float64Array.of(k0.fxPx, 0, k0.cxPx, 0, k0.fyPx, k0.cyPx, 0, 0, 1);
  const K1 = Float64Array.of(k1.fxPx, 0, k1.cxPx, 0, k1.fyPx, k1.cyPx, 0, 0, 1);
  return mul3(mul3(transpose3(K1), fundamental), K0);
}

// ---------------------------------------------------------------------------------------------------------
// Robust estimation
// ---------------------------------------------------------------------------------------------------------

/** Sampling settings (confidence, iterations, seed, local optimisation) as RobustSamplingOptions. */
export interface FundamentalOptions extends RobustSamplingOptions {
  /** Inlier threshold on the Sampson distance, pixels. Default 1. */
  readonly thresholdPx?: number;
  /** Final re-weighted eight-point refinement on all inliers. Default true. */
  readonly refine?: boolean;
}

export interface FundamentalEstimate {
  /** Unit Frobenius norm, rank 2, pixels: x1^T F x0 = 0. */
  readonly fundamental: Mat3;
  readonly inliers: Uint8Array;
  readonly numInliers: number;
  readonly iterations: number;
}

/** Iterations of the Sampson-weighted eight-point refinement. */
const IRLS_ITERATIONS = 3;

/**
 * Sampson-weighted eight-point refinement (Torr & Murray's iteratively re-weighted least squares): weighting
 * each algebraic residual by 1 / sqrt(Sampson denominator) of the current F makes the algebraic cost
 * approximate the Sampson cost. Keeps the model only when its MSAC score improves.
 */
function refineFundamentalIrls(problem: RobustProblem<Mat3>, start: Mat3, thresholdSquared: number,
  points0: ArrayLike<number>, points1: ArrayLike<number>): Mat3 {
  const score = (f: Mat3): number => {
    let sum = 0;
    for (let i = 0; i < problem.numData; i++) sum += Math.min(problem.squaredResidual(f, i), thresholdSquared);
    return sum;
  };
  let best = start, bestScore = score(start);
  let current = start;
  const weights = new Float64Array(problem.numData);
  for (let iteration = 0; iteration < IRLS_ITERATIONS; iteration++) {
    const inliers: number[] = [];
    for (let i = 0; i < problem.numData; i++) {
      if (problem.squaredResidual(current, i) > thresholdSquared) continue;
      inliers.push(i);
      const x0 = points0[2 * i]!, y0 = points0[2 * i + 1]!, x1 = points1[2 * i]!, y1 = points1[2 * i + 1]!;
      const l0 = current[0]! * x0 + current[1]! * y0 + current[2]!, l1 = current[3]! * x0 + current[4]! * y0 + current[5]!;
      const r0 = current[0]! * x1 + current[3]! * y1 + current[6]!, r1 = current[1]! * x1 + current[4]! * y1 + current[7]!;
      weights[i] = 1 / Math.sqrt(Math.max(l0 * l0 + l1 * l1 + r0 * r0 + r1 * r1, 1e-300));
    }
    const refit = eightPointFundamental(points0, points1, inliers, weights);
    if (refit === null) break;
    current = refit;
    const s = score(current);
    if (s < bestScore) { best = current; bestScore = s; }
  }
  return best;
}

/**
 * Robust fundamental matrix from pixel correspondences (x, y interleaved): LO-RANSAC over seven-point
 * samples with eight-point local optimisation, MSAC on the Sampson distance. Null when fewer than 8
 * correspondences or no model is supported by at least 8 of them.
 */
export function estimateFundamental(pixels0In: ArrayLike<number>, pixels1In: ArrayLike<number>, options: FundamentalOptions = {}): FundamentalEstimate | null {
  const n = checkCorrespondences(pixels0In, pixels1In, 'estimateFundamental');
  const pixels0 = asFloat64Array(pixels0In), pixels1 = asFloat64Array(pixels1In);
  const thresholdPx = options.thresholdPx ?? 1;
  if (!(thresholdPx > 0)) throw new InputError(`estimateFundamental: thresholdPx (${thresholdPx}) must be positive.`);
  if (n < 8) return null;
  const problem: RobustProblem<Mat3> = {
    sampleSize: 7,
    nonMinimalSampleSize: 8,
    numData: n,
    fitMinimal: (sample) => sevenPointFundamental(pixels0, pixels1, sample),
    fitNonMinimal: (indices) => eightPointFundamental(pixels0, pixels1, indices),
    squaredResidual: (f, i) => sampsonErrorSquared(f, pixels0[2 * i]!, pixels0[2 * i + 1]!, pixels1[2 * i]!, pixels1[2 * i + 1]!),
    squaredResiduals: (f, out, begin, end) => sampsonErrorsSquared(f, pixels0, pixels1, out, begin, end),
  };
  const result = runLoRansac(problem, {
    threshold: thresholdPx,
    ...samplingOptions(options),
  });
  if (result === null) return null;
  const thresholdSquared = thresholdPx * thresholdPx;
  const fundamental = (options.refine ?? true) ? refineFundamentalIrls(problem, result.model, thresholdSquared, pixels0, pixels1) : result.model;
  const inliers = new Uint8Array(n);
  let numInliers = 0;
  for (let i = 0; i < n; i++) {
    if (problem.squaredResidual(fundamental, i) <= thresholdSquared) { inliers[i] = 1; numInliers++; }
  }
  if (numInliers < 8) return null;
  return { fundamental, inliers, numInliers, iterations: result.iterations };
}
