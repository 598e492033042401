/**
 * Similarity transforms (scale, rotation, translation) between two sets of 3-D points: the alignment
 * every pose evaluation and every "bring this reconstruction into that frame" step needs, since
 * structure-from-motion recovers a scene only up to a similarity.
 *
 * `umeyamaSim3` is the closed-form least-squares fit of Umeyama (1991): target ~ s R source + t, with
 * the reflection fix that keeps R proper. `umeyamaSim3Robust` wraps it in LO-RANSAC for outliers.
 */
import { SVD } from 'ml-matrix';
import { InputError } from '../core/errors.ts';
import type { Mat3, Vec3 } from './mat3.ts';
import { runLoRansac } from './robust.ts';

export interface Sim3 {
  readonly scale: number;
  /** Row-major proper rotation. */
  readonly rotation: Mat3;
  readonly translation: Vec3;
}

export interface UmeyamaOptions {
  /** Estimate the scale (Sim3); false fits a rigid transform (scale 1). Default true. */
  readonly withScale?: boolean;
  /** Non-negative weight per point (N); 0 excludes a point. */
  readonly weights?: ArrayLike<number>;
}

/** Relative size of the second singular value below which the points are called collinear. */
const COLLINEAR_RATIO = 1e-10;

function checkPointArrays(source: ArrayLike<number>, target: ArrayLike<number>): number {
  if (source.length !== target.length || source.length % 3 !== 0) {
    throw new InputError(`Sim3 fit needs two arrays of 3N coordinates of equal length, got ${source.length} and ${target.length}.`);
  }
  return source.length / 3;
}

/**
 * Least-squares similarity from source to target (target_i ~ s R source_i + t) over all points, or over
 * the points listed in `indices`. Returns null for degenerate input (fewer than 3 points with weight,
 * all source points equal, or collinear points where the rotation about the line is undetermined).
 */
export function umeyamaSim3(
  source: ArrayLike<number>,
  target: ArrayLike<number>,
  options: UmeyamaOptions = {},
  indices?: ArrayLike<number>,
): Sim3 | null {
  const n = checkPointArrays(source, target);
  const weights = options.weights;
  if (weights !== undefined && weights.length !== n) {
    throw new InputError(`Sim3 weights length (${weights.length}) does not match the number of points (${n}).`);
  }
  const count = indices === undefined ? n : indices.length;
  const indexAt = (k: number): number => (indices === undefined ? k : indices[k]!);
  const weightAt = (i: number): number => (weights === undefined ? 1 : weights[i]!);

  let wSum = 0, used = 0;
  const ms = [0, 0, 0], mt = [0, 0, 0];
  for (let k = 0; k < count; k++) {
    const i = indexAt(k), w = weightAt(i);
    if (!(w > 0)) continue;
    wSum += w; used++;
    for (let a = 0; a < 3; a++) { ms[a]! += w * source[3 * i + a]!; mt[a]! += w * target[3 * i + a]!; }
  }
  if (used < 3 || !(wSum > 0)) return null;
  for (let a = 0; a < 3; a++) { ms[a]! /= wSum; mt[a]! /= wSum; }

  // Covariance target x source^T and the source variance, both centred (so large offsets do not cancel).
  const cov = new Float64Array(9);
  let varSource = 0;
  for (let k = 0; k < count; k++) {
    const i = indexAt(k), w = weightAt(i);
    if (!(w > 0)) continue;
    const sx = source[3 * i]! - ms[0]!, sy = source[3 * i + 1]! - ms[1]!, sz = source[3 * i + 2]! - ms[2]!;
    const tx = target[3 * i]! - mt[0]!, ty = target[3 * i + 1]! - mt[1]!, tz = target[3 * i + 2]! - mt[2]!;
    varSource += w * (sx * sx + sy * sy + sz * sz);
    cov[0]! += w * tx * sx; cov[1]! += w * tx * sy; cov[2]! += w * tx * sz;
    cov[3]! += w * ty * sx; cov[4]! += w * ty * sy; cov[5]! += w * ty * sz;
    cov[6]! += w * tz * sx; cov[7]! += w * tz * sy; cov[8]! += w * tz * sz;
  }
  if (!(varSource > 0) || !Number.isFinite(varSource)) return null;
  for (let a = 0; a < 9; a++) cov[a]! /= wSum;
  varSource /= wSum;

  const svd = new SVD([
    [cov[0]!, cov[1]!, cov[2]!],
    [cov[3]!, cov[4]!, cov[5]!],
    [cov[6]!, cov[7]!, cov[8]!],
  ]);
  const d = svd.diagonal;
  if (!(d[0]! > 0) || d[1]! <= COLLINEAR_RATIO * d[0]!) return null;
  const u = svd.leftSingularVectors, v = svd.rightSingularVectors;
  const detU = det3Of(u), detV = det3Of(v);
  // Flip the weakest direction when U V^T would be a reflection.
  const sign = detU * detV < 0 ? -1 : 1;
  const rotation = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      rotation[r * 3 + c] = u.get(r, 0) * v.get(c, 0) + u.get(r, 1) * v.get(c, 1) + sign * u.get(r, 2) * v.get(c, 2);
    }
  }
  const withScale = options.withScale ?? true;
  const scale = withScale ? (d[0]! + d[1]! + sign * d[2]!) / varSource : 1;
  if (!(scale > 0) || !Number.isFinite(scale)) return null;
  const translation = new Float64Array(3);
  for (let r = 0; r < 3; r++) {
    translation[r] = mt[r]! - scale * (rotation[r * 3]! * ms[0]! + rotation[r * 3 + 1]! * ms[1]! + rotation[r * 3 + 2]! * ms[2]!);
  }
  return { scale, rotation, translation };
}

function det3Of(m: { get(r: number, c: number): number }): number {
  return (
    m.get(0, 0) * (m.get(1, 1) * m.get(2, 2) - m.get(1, 2) * m.get(2, 1)) -
    m.get(0, 1) * (m.get(1, 0) * m.get(2, 2) - m.get(1, 2) * m.get(2, 0)) +
    m.get(0, 2) * (m.get(1, 0) * m.get(2, 1) - m.get(1, 1) * m.get(2, 0))
  );
}

/** s R p + t for one point. */
export function applySim3ToPoint(sim: Sim3, p: ArrayLike<number>): Vec3 {
  const r = sim.rotation, s = sim.scale, t = sim.translation;
  const x = p[0]!, y = p[1]!, z = p[2]!;
  return Float64Array.of(
    s * (r[0]! * x + r[1]! * y + r[2]! * z) + t[0]!,
    s * (r[3]! * x + r[4]! * y + r[5]! * z) + t[1]!,
    s * (r[6]! * x + r[7]! * y + r[8]! * z) + t[2]!,
  );
}

/** s R p + t for every point of a 3N array. */
export function applySim3(sim: Sim3, points: ArrayLike<number>): Float64Array {
  const n = Math.floor(points.length / 3);
  const out = new Float64Array(3 * n);
  const r = sim.rotation, s = sim.scale, t = sim.translation;
  for (let i = 0; i < n; i++) {
    const x = points[3 * i]!, y = points[3 * i + 1]!, z = points[3 * i + 2]!;
    out[3 * i] = s * (r[0]! * x + r[1]! * y + r[2]! * z) + t[0]!;
    out[3 * i + 1] = s * (r[3]! * x + r[4]! * y + r[5]! * z) + t[1]!;
    out[3 * i + 2] = s * (r[6]! * x + r[7]! * y + r[8]! * z) + t[2]!;
  }
  return out;
}

/** The inverse similarity: source ~ (1/s) R^T (target - t). */
export function invertSim3(sim: Sim3): Sim3 {
  const r = sim.rotation, t = sim.translation, inv = 1 / sim.scale;
  const rotation = Float64Array.of(r[0]!, r[3]!, r[6]!, r[1]!, r[4]!, r[7]!, r[2]!, r[5]!, r[8]!);
  const translation = new Float64Array(3);
  for (let a = 0; a < 3; a++) {
    translation[a] = -inv * (rotation[a * 3]! * t[0]! + rotation[a * 3 + 1]! * t[1]! + rotation[a * 3 + 2]! * t[2]!);
  }
  return { scale: inv, rotation, translation };
}

export interface RobustSim3Options {
  /** Inlier distance in target units: |s R source + t - target| <= threshold. */
  readonly threshold: number;
  readonly seed?: number;
  readonly withScale?: boolean;
  readonly confidence?: number;
  readonly maxIterations?: number;
}

export interface RobustSim3Result {
  readonly sim3: Sim3;
  readonly inliers: Uint8Array;
  readonly numInliers: number;
}

/**
 * Similarity fit that ignores outliers: LO-RANSAC over minimal 3-point Umeyama fits, then a least-squares
 * fit on the inliers. Deterministic for a given seed. Returns null when no 3 points give a model.
 */
export function umeyamaSim3Robust(
  source: ArrayLike<number>,
  target: ArrayLike<number>,
  options: RobustSim3Options,
): RobustSim3Result | null {
  const n = checkPointArrays(source, target);
  if (!(options.threshold > 0)) throw new InputError(`Sim3 RANSAC threshold (${options.threshold}) must be positive.`);
  if (n < 3) return null;
  const fitOptions: UmeyamaOptions = { withScale: options.withScale ?? true };
  const result = runLoRansac<Sim3>(
    {
      sampleSize: 3,
      numData: n,
      fitMinimal: (sample) => {
        const sim = umeyamaSim3(source, target, fitOptions, sample);
        return sim === null ? [] : [sim];
      },
      fitNonMinimal: (indices) => umeyamaSim3(source, target, fitOptions, indices),
      squaredResidual: (sim, i) => squaredSim3Residual(sim, source, target, i),
    },
    {
      threshold: options.threshold,
      seed: options.seed ?? 0,
      ...(options.confidence !== undefined ? { confidence: options.confidence } : {}),
      ...(options.maxIterations !== undefined ? { maxIterations: options.maxIterations } : {}),
    },
  );
  if (result === null) return null;
  // Final least-squares fit on all inliers of the best model.
  const inlierIndices: number[] = [];
  for (let i = 0; i < n; i++) if (result.inliers[i]) inlierIndices.push(i);
  const refined = umeyamaSim3(source, target, fitOptions, inlierIndices) ?? result.model;
  const inliers = new Uint8Array(n);
  let numInliers = 0;
  const t2 = options.threshold * options.threshold;
  for (let i = 0; i < n; i++) {
    if (squaredSim3Residual(refined, source, target, i) <= t2) { inliers[i] = 1; numInliers++; }
  }
  return numInliers >= result.numInliers
    ? { sim3: refined, inliers, numInliers }
    : { sim3: result.model, inliers: result.inliers, numInliers: result.numInliers };
}

function squaredSim3Residual(sim: Sim3, source: ArrayLike<number>, target: ArrayLike<number>, i: number): number {
  const r = sim.rotation, s = sim.scale, t = sim.translation;
  const x = source[3 * i]!, y = source[3 * i + 1]!, z = source[3 * i + 2]!;
  const dx = s * (r[0]! * x + r[1]! * y + r[2]! * z) + t[0]! - target[3 * i]!;
  const dy = s * (r[3]! * x + r[4]! * y + r[5]! * z) + t[1]! - target[3 * i + 1]!;
  const dz = s * (r[6]! * x + r[7]! * y + r[8]! * z) + t[2]! - target[3 * i + 2]!;
  return dx * dx + dy * dy + dz * dz;
}
