/**
 * Camera pose metrics, as the papers we compare with compute them (pure functions, no IO):
 *
 * - Two-view relative pose error and SuperGlue's pose AUC (SuperGlue / LoFTR / LightGlue on ScanNet-1500, YFCC):
 *   rotation error = angle of R_gt^T R, translation error = angle between the translation directions folded to
 *   min(e, 180 - e) (an essential matrix fixes t only up to sign), pose error = max of the two; AUC@T is the area
 *   under the recall-vs-error curve up to T, divided by T (`pose_auc` in SuperGlue's utils.py).
 * - Pairwise AUC over a set of views (VGGT / Depth Anything 3 on CO3D, RealEstate10K, ...): for every pair i < j the
 *   same max(rotation, folded translation) error of the relative pose; AUC@T = mean over k = 1..T of the fraction of
 *   pairs with error < k degrees, in percent. An unregistered view makes each of its pairs a failure (infinite error).
 * - Per-view errors after a Sim(3) alignment of the estimated camera centres onto the ground truth (Umeyama).
 *
 * Poses are `worldFromCamera` Mat4 (OpenCV axes), as everywhere in the project. Relative poses are
 * `camera_j from camera_i`, which makes the pairwise errors invariant to any similarity transform of either world,
 * so no alignment is needed for them.
 */
import { median } from '../core/stats.ts';
import { InputError } from '../core/errors.ts';
import type { Mat4 } from '../core/mat4.ts';
import { cross3, dot3, norm3, type Mat3, type Vec3 } from '../geometry/mat3.ts';
import { applySim3ToPoint, umeyamaSim3, type Sim3 } from '../geometry/sim3.ts';

export interface RelativePoseError {
  readonly rotationDeg: number;
  /** Angle between the translation directions, folded to min(e, 180 - e); Infinity when a translation is zero or not finite. */
  readonly translationDeg: number;
  /** max(rotationDeg, translationDeg): the error the AUCs use. */
  readonly poseDeg: number;
}

/**
 * Error of an estimated relative pose (r, t) against the ground truth (rGt, tGt), both `camera1FromCamera0`, as
 * SuperGlue's compute_pose_error. A zero-length or non-finite translation has no direction: its error is Infinity,
 * which the AUCs count as a failure.
 */
export function relativePoseErrorDeg(rGt: Mat3, tGt: Vec3, r: Mat3, t: Vec3): RelativePoseError {
  const rotationDeg = rotationDifferenceDeg(rGt, r);
  const translationDeg = foldedDirectionErrorDeg(tGt, t);
  return { rotationDeg, translationDeg, poseDeg: Math.max(rotationDeg, translationDeg) };
}

/** Angle in degrees of a^T b (how far rotation b is from a), accurate at small angles (atan2, not acos of the trace). */
export function rotationDifferenceDeg(a: Mat3, b: Mat3): number {
  if (!allFinite(a) || !allFinite(b)) return Infinity;
  // m = a^T b, element (r, c) = sum_k a[k][r] b[k][c].
  const m = (r: number, c: number): number => a[r]! * b[c]! + a[3 + r]! * b[3 + c]! + a[6 + r]! * b[6 + c]!;
  const cos = (m(0, 0) + m(1, 1) + m(2, 2) - 1) / 2;
  const sin = Math.hypot(m(2, 1) - m(1, 2), m(0, 2) - m(2, 0), m(1, 0) - m(0, 1)) / 2;
  return (Math.atan2(sin, cos) * 180) / Math.PI;
}

/** Angle between two directions folded to [0, 90] (sign ambiguity); Infinity when either has no direction. */
function foldedDirectionErrorDeg(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = norm3(a), nb = norm3(b);
  if (!(na > 0 && nb > 0 && Number.isFinite(na) && Number.isFinite(nb))) return Infinity;
  const e = (Math.atan2(norm3(cross3(a, b)), dot3(a, b)) * 180) / Math.PI;
  return Math.min(e, 180 - e);
}

/**
 * SuperGlue's `pose_auc`: sort the errors, recall (i+1)/N with a leading (0, 0), cut at the last error below T,
 * append (T, last recall), trapezoid area / T. Returns fractions in [0, 1] (SuperGlue prints them x100).
 * Infinite errors (failures) are allowed; NaN counts as a failure. InputError for no errors or a threshold <= 0.
 */
export function poseAucSuperGlue(errorsDeg: readonly number[], thresholdsDeg: readonly number[] = [5, 10, 20]): number[] {
  if (errorsDeg.length === 0) throw new InputError('pose AUC needs at least one error.');
  const sorted = Float64Array.from(errorsDeg, (e) => (Number.isNaN(e) ? Infinity : e)).sort();
  const n = sorted.length;
  return thresholdsDeg.map((threshold) => {
    if (!(threshold > 0)) throw new InputError(`AUC threshold ${threshold} must be positive.`);
    // Curve points: (0, 0), then (sorted[i], (i+1)/n) for the errors below the threshold, then (threshold, last recall).
    let area = 0, prevE = 0, prevR = 0;
    for (let i = 0; i < n && sorted[i]! < threshold; i++) {
      const e = sorted[i]!, r = (i + 1) / n;
      area += ((e - prevE) * (prevR + r)) / 2;
      prevE = e;
      prevR = r;
    }
    area += (threshold - prevE) * prevR;
    return area / threshold;
  });
}

export interface PairError {
  readonly i: number;
  readonly j: number;
  readonly rotationDeg: number;
  readonly translationDeg: number;
  /** max of the two; Infinity when either view is unregistered. */
  readonly errorDeg: number;
}

export interface PairwiseAucResult {
  /** AUC in percent, keyed by threshold in degrees: `aucPercent[3]`, `aucPercent[30]`. */
  readonly aucPercent: Readonly<Record<number, number>>;
  /** One entry per pair i < j, in order (0,1), (0,2), ..., (1,2), ... */
  readonly pairs: readonly PairError[];
}

/**
 * Pairwise relative-pose AUC as VGGT / DA3 report it (see the module comment). `thresholdsDeg` must be positive
 * integers. InputError when the lists differ in length or hold fewer than 2 views.
 */
export function pairwiseAuc(gtWorldFromCamera: readonly Mat4[], estWorldFromCamera: readonly (Mat4 | null)[], thresholdsDeg: readonly number[] = [3, 30]): PairwiseAucResult {
  if (gtWorldFromCamera.length !== estWorldFromCamera.length) {
    throw new InputError(`pairwise AUC needs one estimate per view: ${gtWorldFromCamera.length} GT poses, ${estWorldFromCamera.length} estimates.`);
  }
  if (gtWorldFromCamera.length < 2) throw new InputError('pairwise AUC needs at least 2 views.');
  for (const t of thresholdsDeg) if (!(Number.isInteger(t) && t > 0)) throw new InputError(`pairwise AUC threshold ${t} must be a positive integer (degrees).`);
  const pairs: PairError[] = [];
  const n = gtWorldFromCamera.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const ei = estWorldFromCamera[i], ej = estWorldFromCamera[j];
      if (ei === null || ej === null || ei === undefined || ej === undefined) {
        pairs.push({ i, j, rotationDeg: Infinity, translationDeg: Infinity, errorDeg: Infinity });
        continue;
      }
      const gt = relativePose(gtWorldFromCamera[i]!, gtWorldFromCamera[j]!);
      const est = relativePose(ei, ej);
      const e = relativePoseErrorDeg(gt.rotation, gt.translation, est.rotation, est.translation);
      pairs.push({ i, j, rotationDeg: e.rotationDeg, translationDeg: e.translationDeg, errorDeg: e.poseDeg });
    }
  }
  const aucPercent: Record<number, number> = {};
  for (const t of thresholdsDeg) aucPercent[t] = meanRecallAuc(pairs.map((p) => p.errorDeg), t) * 100;
  return { aucPercent, pairs };
}

/** mean over k = 1..T of the fraction of errors < k (NaN counts as a failure). */
function meanRecallAuc(errors: readonly number[], threshold: number): number {
  let sum = 0;
  for (let k = 1; k <= threshold; k++) {
    let below = 0;
    for (const e of errors) if (e < k) below++;
    sum += below / errors.length;
  }
  return sum / threshold;
}

/** `camera_j from camera_i` of two worldFromCamera poses: R = R_j^T R_i, t = R_j^T (C_i - C_j). */
function relativePose(wi: Mat4, wj: Mat4): { rotation: Mat3; translation: Vec3 } {
  const rotation = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) rotation[r * 3 + c] = wj[r]! * wi[c]! + wj[4 + r]! * wi[4 + c]! + wj[8 + r]! * wi[8 + c]!;
  }
  const d = [wi[3]! - wj[3]!, wi[7]! - wj[7]!, wi[11]! - wj[11]!];
  const translation = Float64Array.of(
    wj[0]! * d[0]! + wj[4]! * d[1]! + wj[8]! * d[2]!,
    wj[1]! * d[0]! + wj[5]! * d[1]! + wj[9]! * d[2]!,
    wj[2]! * d[0]! + wj[6]! * d[1]! + wj[10]! * d[2]!,
  );
  return { rotation, translation };
}

export interface AlignedViewError {
  /** Angle between the GT camera orientation and the aligned estimate. */
  readonly rotationDeg: number;
  /** |aligned estimated centre - GT centre| in GT units. */
  readonly centreError: number;
  /** centreError as a percentage of the scene scale. */
  readonly centreErrorPercent: number;
}

export interface AlignedPoseErrors {
  /** The similarity taking estimated world coordinates to GT world coordinates. */
  readonly sim3: Sim3;
  /** What the alignment was fitted on: camera centres, or centres plus points on the camera axes (collinear centres). */
  readonly alignedOn: 'centres' | 'centresAndAxes';
  /** Mean distance of the GT camera centres (all views) to their centroid: the unit of centreErrorPercent. */
  readonly sceneScale: number;
  /** Per view; null for an unregistered one. */
  readonly views: readonly (AlignedViewError | null)[];
  readonly numRegistered: number;
  readonly meanRotationDeg: number;
  readonly medianRotationDeg: number;
  /** Root mean square of centreErrorPercent over the registered views (the usual "ATE" statistic, relative). */
  readonly rmseCentreErrorPercent: number;
  readonly medianCentreErrorPercent: number;
}

export interface AlignmentOptions {
  /** Fit a similarity (true, default: reconstructions have an arbitrary scale) or a rigid transform (metric poses). */
  readonly withScale?: boolean;
}

/**
 * Aligns the registered estimated cameras onto the GT with Umeyama on the camera centres, then reports per-view
 * orientation and centre errors. When the centres alone cannot fix the rotation (collinear, e.g. a straight
 * dolly), points one scene scale along each camera's x and z axes are added to the fit. Returns null with fewer than
 * 3 registered views, or when the GT centres all coincide (no scene scale to express errors in).
 */
export function alignedPoseErrors(gtWorldFromCamera: readonly Mat4[], estWorldFromCamera: readonly (Mat4 | null)[], options: AlignmentOptions = {}): AlignedPoseErrors | null {
  if (gtWorldFromCamera.length !== estWorldFromCamera.length) {
    throw new InputError(`alignment needs one estimate per view: ${gtWorldFromCamera.length} GT poses, ${estWorldFromCamera.length} estimates.`);
  }
  const sceneScale = meanDistanceToCentroid(gtWorldFromCamera);
  if (!(sceneScale > 0)) return null;
  const registered = estWorldFromCamera.flatMap((e, i) => (e !== null && e !== undefined && allFinite(e) ? [i] : []));
  if (registered.length < 3) return null;
  const gt = registered.map((i) => gtWorldFromCamera[i]!);
  const est = registered.map((i) => estWorldFromCamera[i]!);
  const fitOptions = { withScale: options.withScale ?? true };
  let alignedOn: AlignedPoseErrors['alignedOn'] = 'centres';
  let sim3 = umeyamaSim3(centresOf(est, 0), centresOf(gt, 0), fitOptions);
  if (sim3 === null) {
    const estScale = meanDistanceToCentroid(est);
    sim3 = umeyamaSim3(centresOf(est, estScale > 0 ? estScale : 1), centresOf(gt, sceneScale), fitOptions);
    alignedOn = 'centresAndAxes';
  }
  if (sim3 === null) return null;
  const views: (AlignedViewError | null)[] = estWorldFromCamera.map(() => null);
  const rotations: number[] = [], centres: number[] = [];
  for (const [k, i] of registered.entries()) {
    const g = gt[k]!, e = est[k]!;
    const alignedRotation = mulRotation(sim3.rotation, rotationOf(e));
    const rotationDeg = rotationDifferenceDeg(rotationOf(g), alignedRotation);
    const c = applySim3ToPoint(sim3, [e[3]!, e[7]!, e[11]!]);
    const centreError = Math.hypot(c[0]! - g[3]!, c[1]! - g[7]!, c[2]! - g[11]!);
    const centreErrorPercent = (centreError / sceneScale) * 100;
    views[i] = { rotationDeg, centreError, centreErrorPercent };
    rotations.push(rotationDeg);
    centres.push(centreErrorPercent);
  }
  return {
    sim3, alignedOn, sceneScale, views, numRegistered: registered.length,
    meanRotationDeg: rotations.reduce((s, v) => s + v, 0) / rotations.length,
    medianRotationDeg: median(rotations),
    rmseCentreErrorPercent: Math.sqrt(centres.reduce((s, v) => s + v * v, 0) / centres.length),
    medianCentreErrorPercent: median(centres),
  };
}

/** Camera centres (3N); with `axisLength` > 0, also the points C + axisLength x_axis and C + axisLength z_axis. */
function centresOf(poses: readonly Mat4[], axisLength: number): Float64Array {
  const perView = axisLength > 0 ? 3 : 1;
  const out = new Float64Array(poses.length * perView * 3);
  poses.forEach((m, v) => {
    const o = v * perView * 3;
    for (let r = 0; r < 3; r++) out[o + r] = m[r * 4 + 3]!;
    if (axisLength > 0) {
      for (let r = 0; r < 3; r++) {
        out[o + 3 + r] = m[r * 4 + 3]! + axisLength * m[r * 4]!;
        out[o + 6 + r] = m[r * 4 + 3]! + axisLength * m[r * 4 + 2]!;
      }
    }
  });
  return out;
}

function meanDistanceToCentroid(poses: readonly Mat4[]): number {
  if (poses.length === 0) return 0;
  const c = [0, 0, 0];
  for (const m of poses) for (let r = 0; r < 3; r++) c[r]! += m[r * 4 + 3]! / poses.length;
  let sum = 0;
  for (const m of poses) sum += Math.hypot(m[3]! - c[0]!, m[7]! - c[1]!, m[11]! - c[2]!);
  return sum / poses.length;
}

function rotationOf(m: Mat4): Mat3 {
  return Float64Array.of(m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!);
}

function mulRotation(a: Mat3, b: Mat3): Mat3 {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out[r * 3 + c] = a[r * 3]! * b[c]! + a[r * 3 + 1]! * b[3 + c]! + a[r * 3 + 2]! * b[6 + c]!;
  }
  return out;
}

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

