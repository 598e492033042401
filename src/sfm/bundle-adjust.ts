/**
 * Bundle adjustment: joint Levenberg-Marquardt refinement of camera poses, 3-D points and (optionally) focal
 * lengths on the reprojection error in pixels, the step that turns a chain of two-view estimates into one
 * consistent reconstruction.
 *
 * How (the classic sparse scheme of Triggs et al., "Bundle Adjustment - A Modern Synthesis", and of Ceres'
 * SPARSE_SCHUR / DENSE_SCHUR solvers):
 * - Pinhole cameras; rotation updated multiplicatively (R <- exp([w]x) R), translation additively; points in
 *   world coordinates; focal lengths as a multiplier of the initial ones (principal points stay fixed).
 * - Robust losses (Huber, Cauchy; scale in pixels) by iteratively reweighted least squares: each observation's
 *   normal-equation contribution is weighted by rho'(|r|^2).
 * - Normal equations [U W; W^T V]: V is block diagonal (3x3 per point), so points are eliminated with the Schur
 *   complement S = U - W V^-1 W^T, a dense system over camera parameters (6 per free camera, + focals) solved by
 *   a hand-written Cholesky; points follow by back-substitution.
 * - Gauge: the similarity ambiguity (7 dof) is removed by holding cameras constant (default: camera 0) and, when
 *   only one camera is held, one translation coordinate of another camera (the one that moves most with scale).
 *
 * Poses are `cameraFromWorld` (x_cam = R X + t), OpenCV axes, pixel centres at integer coordinates.
 */
import type { Intrinsics } from '../core/camera.ts';
import { InputError, throwIfAborted } from '../core/errors.ts';
import { rotationFromAxisAngle } from '../geometry/mat3.ts';
import type { RigidPose } from '../geometry/rigid.ts';

/** Observations and the current estimate. Observation m: camera observationCamera[m] sees point observationPoint[m] at pixel (u, v). */
export interface BundleAdjustmentProblem {
  readonly cameraFromWorld: readonly RigidPose[];
  readonly intrinsics: readonly Intrinsics[];
  /** x, y, z per point (3P). */
  readonly points: Float64Array;
  readonly observationCamera: Uint32Array;
  readonly observationPoint: Uint32Array;
  /** u, v per observation (2M), pixels. */
  readonly observationPixels: Float64Array;
}

/** Loss on the squared reprojection error s = |r|^2; `scalePx` is where it turns robust. */
export type RobustLoss =
  | { readonly kind: 'squared' }
  | { readonly kind: 'huber'; readonly scalePx: number }
  | { readonly kind: 'cauchy'; readonly scalePx: number };

/** none: intrinsics fixed; sharedFocal: one factor scales every camera's focal; perCameraFocal: one factor per camera. */
export type IntrinsicsRefinement = 'none' | 'sharedFocal' | 'perCameraFocal';

export interface BundleAdjustmentOptions {
  /** Cameras whose poses are held constant. Default [0]. */
  readonly fixedCameras?: readonly number[];
  /**
   * Scale gauge: a camera one of whose translation coordinates is held constant. 'auto' (default) picks the
   * camera farthest from the fixed camera when exactly one camera is fixed; 'none' leaves scale free (only
   * sensible with two or more fixed cameras or for tests).
   */
  readonly scaleCamera?: number | 'auto' | 'none';
  /** 1 = hold point p constant. Points seen by fewer than two cameras are always held constant. */
  readonly constantPoints?: Uint8Array;
  readonly loss?: RobustLoss;
  readonly refineIntrinsics?: IntrinsicsRefinement;
  /** With 'perCameraFocal': cameras whose focal stays constant (e.g. the fixed cameras of a local bundle). */
  readonly fixedIntrinsics?: readonly number[];
  /** Default 50. */
  readonly maxIterations?: number;
  /** Stop when an accepted step lowers the cost by less than this fraction. Default 1e-8. */
  readonly functionTolerance?: number;
  /** Stop when the step is below this fraction of the parameter norm. Default 1e-10. */
  readonly parameterTolerance?: number;
  readonly signal?: AbortSignal;
}

export type BundleTermination = 'converged' | 'maxIterations' | 'noProgress';

export interface BundleAdjustmentResult {
  readonly cameraFromWorld: RigidPose[];
  readonly intrinsics: Intrinsics[];
  readonly points: Float64Array;
  /** Half the summed loss, before and after. */
  readonly initialCost: number;
  readonly finalCost: number;
  /** Root-mean-square reprojection error in pixels (plain, not robust), before and after. */
  readonly initialRmsErrorPx: number;
  readonly finalRmsErrorPx: number;
  readonly iterations: number;
  readonly termination: BundleTermination;
}

/** Camera-side parameters per camera: rotation update (3), translation (3), focal factor (1). */
const CAMERA_PARAMS = 7;
const MIN_DIAGONAL = 1e-6;
const MAX_DIAGONAL = 1e32;
const INITIAL_LAMBDA = 1e-4;

/** Loss value rho(s) and derivative rho'(s) of a squared residual s. */
function lossOf(loss: RobustLoss): { rho(s: number): number; weight(s: number): number } {
  switch (loss.kind) {
    case 'squared':
      return { rho: (s) => s, weight: () => 1 };
    case 'huber': {
      const a = loss.scalePx, a2 = a * a;
      return { rho: (s) => (s <= a2 ? s : 2 * a * Math.sqrt(s) - a2), weight: (s) => (s <= a2 ? 1 : a / Math.sqrt(s)) };
    }
    case 'cauchy': {
      const a2 = loss.scalePx * loss.scalePx;
      return { rho: (s) => a2 * Math.log1p(s / a2), weight: (s) => 1 / (1 + s / a2) };
    }
  }
}

function checkProblem(problem: BundleAdjustmentProblem): void {
  const c = problem.cameraFromWorld.length;
  const p = problem.points.length / 3;
  const m = problem.observationCamera.length;
  if (problem.intrinsics.length !== c) throw new InputError(`Bundle adjustment: ${c} poses but ${problem.intrinsics.length} intrinsics.`);
  if (!Number.isInteger(p)) throw new InputError(`Bundle adjustment: points length ${problem.points.length} is not a multiple of 3.`);
  if (problem.observationPoint.length !== m || problem.observationPixels.length !== 2 * m) {
    throw new InputError('Bundle adjustment: observation arrays disagree in length.');
  }
  for (let k = 0; k < m; k++) {
    if (problem.observationCamera[k]! >= c || problem.observationPoint[k]! >= p) {
      throw new InputError(`Bundle adjustment: observation ${k} refers to a missing camera or point.`);
    }
  }
}

/** The variable layout: which camera parameters are free and where they sit in the reduced system. */
interface Layout {
  /** Per camera, 7 entries: index into the reduced (camera) system, or -1 when constant. */
  readonly cameraParamIndex: Int32Array;
  readonly numReduced: number;
  readonly pointVariable: Uint8Array;
  /** Observations grouped by point (CSR). */
  readonly pointStart: Uint32Array;
  readonly pointObservations: Uint32Array;
}

function buildLayout(problem: BundleAdjustmentProblem, options: BundleAdjustmentOptions): Layout {
  const numCameras = problem.cameraFromWorld.length;
  const numPoints = problem.points.length / 3;
  const fixed = new Uint8Array(numCameras);
  const fixedList = options.fixedCameras ?? (numCameras > 0 ? [0] : []);
  for (const c of fixedList) {
    if (!(Number.isInteger(c) && c >= 0 && c < numCameras)) throw new InputError(`Bundle adjustment: fixed camera ${c} does not exist.`);
    fixed[c] = 1;
  }
  const constantTranslation = new Int32Array(numCameras).fill(-1);
  const scaleChoice = options.scaleCamera ?? 'auto';
  const anchor = fixedList[0];
  const scaleCamera = scaleChoice === 'none' ? -1
    : scaleChoice === 'auto' ? (fixedList.length === 1 ? farthestCamera(problem.cameraFromWorld, fixed, anchor!) : -1)
    : scaleChoice;
  if (scaleCamera >= 0) {
    if (!(Number.isInteger(scaleCamera) && scaleCamera < numCameras)) throw new InputError(`Bundle adjustment: scale camera ${scaleCamera} does not exist.`);
    if (!fixed[scaleCamera] && anchor !== undefined) {
      constantTranslation[scaleCamera] = scaleSensitiveAxis(problem.cameraFromWorld[scaleCamera]!, problem.cameraFromWorld[anchor]!);
    }
  }

  const refine = options.refineIntrinsics ?? 'none';
  const fixedFocal = new Uint8Array(numCameras);
  for (const c of options.fixedIntrinsics ?? []) {
    if (!(Number.isInteger(c) && c >= 0 && c < numCameras)) throw new InputError(`Bundle adjustment: fixed-intrinsics camera ${c} does not exist.`);
    fixedFocal[c] = 1;
  }
  const cameraParamIndex = new Int32Array(CAMERA_PARAMS * numCameras).fill(-1);
  let next = 0;
  for (let c = 0; c < numCameras; c++) {
    if (!fixed[c]) {
      const constantParam = constantTranslation[c]! >= 0 ? 3 + constantTranslation[c]! : -1;
      for (let k = 0; k < 6; k++) if (k !== constantParam) cameraParamIndex[c * CAMERA_PARAMS + k] = next++;
    }
    if (refine === 'perCameraFocal' && !fixedFocal[c]) cameraParamIndex[c * CAMERA_PARAMS + 6] = next++;
  }
  if (refine === 'sharedFocal' && numCameras > 0) {
    const shared = next++;
    for (let c = 0; c < numCameras; c++) cameraParamIndex[c * CAMERA_PARAMS + 6] = shared;
  }

  const m = problem.observationCamera.length;
  const pointStart = new Uint32Array(numPoints + 1);
  for (let k = 0; k < m; k++) pointStart[problem.observationPoint[k]! + 1]!++;
  for (let p = 0; p < numPoints; p++) pointStart[p + 1]! += pointStart[p]!;
  const fill = pointStart.slice(0, numPoints);
  const pointObservations = new Uint32Array(m);
  for (let k = 0; k < m; k++) pointObservations[fill[problem.observationPoint[k]!]!++] = k;

  const pointVariable = new Uint8Array(numPoints);
  const constant = options.constantPoints;
  if (constant !== undefined && constant.length !== numPoints) throw new InputError('Bundle adjustment: constantPoints length differs from the number of points.');
  for (let p = 0; p < numPoints; p++) {
    if (constant?.[p]) continue;
    // A point needs two distinct cameras to be determined.
    const first = pointStart[p]!, end = pointStart[p + 1]!;
    let distinct = false;
    for (let k = first + 1; k < end && !distinct; k++) {
      if (problem.observationCamera[pointObservations[k]!] !== problem.observationCamera[pointObservations[first]!]) distinct = true;
    }
    pointVariable[p] = distinct ? 1 : 0;
  }
  return { cameraParamIndex, numReduced: next, pointVariable, pointStart, pointObservations };
}

function centreOf(pose: RigidPose): [number, number, number] {
  const r = pose.rotation, t = pose.translation;
  return [
    -(r[0]! * t[0]! + r[3]! * t[1]! + r[6]! * t[2]!),
    -(r[1]! * t[0]! + r[4]! * t[1]! + r[7]! * t[2]!),
    -(r[2]! * t[0]! + r[5]! * t[1]! + r[8]! * t[2]!),
  ];
}

function farthestCamera(poses: readonly RigidPose[], fixed: Uint8Array, anchor: number): number {
  const a = centreOf(poses[anchor]!);
  let best = -1, bestDistance = 0;
  for (let c = 0; c < poses.length; c++) {
    if (fixed[c]) continue;
    const b = centreOf(poses[c]!);
    const d = Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]);
    if (d > bestDistance) { bestDistance = d; best = c; }
  }
  return best;
}

/**
 * Scaling the world about the anchor's centre C0 moves camera j's translation along R_j (C0 - C_j); holding
 * the largest coordinate of that direction constant fixes the scale best conditioned.
 */
function scaleSensitiveAxis(pose: RigidPose, anchorPose: RigidPose): number {
  const c0 = centreOf(anchorPose), cj = centreOf(pose);
  const d = [c0[0] - cj[0], c0[1] - cj[1], c0[2] - cj[2]];
  const r = pose.rotation;
  let best = 0, bestValue = -1;
  for (let k = 0; k < 3; k++) {
    const v = Math.abs(r[k * 3]! * d[0]! + r[k * 3 + 1]! * d[1]! + r[k * 3 + 2]! * d[2]!);
    if (v > bestValue) { bestValue = v; best = k; }
  }
  return best;
}

/** Mutable parameter state: rotations (9C), translations (3C), focal factors (C), points (3P). */
interface State {
  readonly rotations: Float64Array;
  readonly translations: Float64Array;
  readonly focalFactors: Float64Array;
  readonly points: Float64Array;
}

function copyState(s: State): State {
  return {
    rotations: Float64Array.from(s.rotations),
    translations: Float64Array.from(s.translations),
    focalFactors: Float64Array.from(s.focalFactors),
    points: Float64Array.from(s.points),
  };
}

/** Squared reprojection error of every observation (M), NaN where the point is on the camera plane. */
function squaredErrors(problem: BundleAdjustmentProblem, state: State, out: Float64Array): void {
  const { rotations: R, translations: T, focalFactors: F, points: X } = state;
  const cams = problem.observationCamera, pts = problem.observationPoint, uv = problem.observationPixels;
  const intr = problem.intrinsics;
  for (let m = 0; m < cams.length; m++) {
    const c = cams[m]!, p = pts[m]!;
    const r = 9 * c, x = X[3 * p]!, y = X[3 * p + 1]!, z = X[3 * p + 2]!;
    const pz = R[r + 6]! * x + R[r + 7]! * y + R[r + 8]! * z + T[3 * c + 2]!;
    if (!(Math.abs(pz) > 1e-12)) { out[m] = Number.NaN; continue; }
    const px = R[r]! * x + R[r + 1]! * y + R[r + 2]! * z + T[3 * c]!;
    const py = R[r + 3]! * x + R[r + 4]! * y + R[r + 5]! * z + T[3 * c + 1]!;
    const k = intr[c]!, f = F[c]!;
    const du = f * k.fxPx * (px / pz) + k.cxPx - uv[2 * m]!;
    const dv = f * k.fyPx * (py / pz) + k.cyPx - uv[2 * m + 1]!;
    out[m] = du * du + dv * dv;
  }
}

function costOf(errors: Float64Array, rho: (s: number) => number): number {
  let cost = 0;
  for (let m = 0; m < errors.length; m++) {
    const s = errors[m]!;
    if (s === s) cost += rho(s);
  }
  return 0.5 * cost;
}

function rmsOf(errors: Float64Array): number {
  let sum = 0, n = 0;
  for (let m = 0; m < errors.length; m++) {
    const s = errors[m]!;
    if (s === s) { sum += s; n++; }
  }
  return n > 0 ? Math.sqrt(sum / n) : 0;
}

/** Normal-equation pieces at the current state (weighted by the loss). */
interface Linearization {
  /** Per camera 7x7 J^T J (row-major) and 7 J^T r. */
  readonly cameraHessian: Float64Array;
  readonly cameraGradient: Float64Array;
  /** Per point 3x3 J^T J and 3 J^T r. */
  readonly pointHessian: Float64Array;
  readonly pointGradient: Float64Array;
  /** Per observation the 7x3 block Jc^T Jp. */
  readonly coupling: Float64Array;
}

function allocateLinearization(numCameras: number, numPoints: number, numObservations: number): Linearization {
  return {
    cameraHessian: new Float64Array(49 * numCameras),
    cameraGradient: new Float64Array(7 * numCameras),
    pointHessian: new Float64Array(9 * numPoints),
    pointGradient: new Float64Array(3 * numPoints),
    coupling: new Float64Array(21 * numObservations),
  };
}

function linearize(
  problem: BundleAdjustmentProblem, state: State, errors: Float64Array, weight: (s: number) => number, lin: Linearization,
): void {
  const { rotations: R, translations: T, focalFactors: F, points: X } = state;
  const cams = problem.observationCamera, pts = problem.observationPoint, uv = problem.observationPixels;
  const intr = problem.intrinsics;
  const { cameraHessian: U, cameraGradient: gc, pointHessian: V, pointGradient: gp, coupling: W } = lin;
  U.fill(0); gc.fill(0); V.fill(0); gp.fill(0);
  const jc = new Float64Array(14); // 2 x 7
  const jp = new Float64Array(6); // 2 x 3
  for (let m = 0; m < cams.length; m++) {
    const s = errors[m]!;
    const wOff = 21 * m;
    if (s !== s) { W.fill(0, wOff, wOff + 21); continue; }
    const c = cams[m]!, p = pts[m]!;
    const r = 9 * c, x = X[3 * p]!, y = X[3 * p + 1]!, z = X[3 * p + 2]!;
    const qx = R[r]! * x + R[r + 1]! * y + R[r + 2]! * z;
    const qy = R[r + 3]! * x + R[r + 4]! * y + R[r + 5]! * z;
    const qz = R[r + 6]! * x + R[r + 7]! * y + R[r + 8]! * z;
    const px = qx + T[3 * c]!, py = qy + T[3 * c + 1]!, pz = qz + T[3 * c + 2]!;
    const k = intr[c]!, f = F[c]!;
    const fx = f * k.fxPx, fy = f * k.fyPx;
    const iz = 1 / pz, xn = px * iz, yn = py * iz;
    const ru = fx * xn + k.cxPx - uv[2 * m]!;
    const rv = fy * yn + k.cyPx - uv[2 * m + 1]!;
    const w = weight(s);
    // d(u,v)/dp = [[fx/z, 0, -fx x/z^2], [0, fy/z, -fy y/z^2]].
    const a0 = fx * iz, a2 = -fx * xn * iz, b1 = fy * iz, b2 = -fy * yn * iz;
    // Camera block: d/dw = d/dp * (-[q]x), d/dt = d/dp, d/dfactor = (fx0 xn, fy0 yn).
    jc[0] = a2 * qy; jc[1] = a0 * qz - a2 * qx; jc[2] = -a0 * qy; jc[3] = a0; jc[4] = 0; jc[5] = a2; jc[6] = k.fxPx * xn;
    jc[7] = -b1 * qz + b2 * qy; jc[8] = -b2 * qx; jc[9] = b1 * qx; jc[10] = 0; jc[11] = b1; jc[12] = b2; jc[13] = k.fyPx * yn;
    // Point block: d/dX = d/dp * R.
    for (let j = 0; j < 3; j++) {
      jp[j] = a0 * R[r + j]! + a2 * R[r + 6 + j]!;
      jp[3 + j] = b1 * R[r + 3 + j]! + b2 * R[r + 6 + j]!;
    }
    const uOff = 49 * c;
    for (let i = 0; i < 7; i++) {
      const ji0 = w * jc[i]!, ji1 = w * jc[7 + i]!;
      gc[7 * c + i]! += ji0 * ru + ji1 * rv;
      for (let j = i; j < 7; j++) U[uOff + 7 * i + j]! += ji0 * jc[j]! + ji1 * jc[7 + j]!;
      for (let j = 0; j < 3; j++) W[wOff + 3 * i + j] = ji0 * jp[j]! + ji1 * jp[3 + j]!;
    }
    const vOff = 9 * p;
    for (let i = 0; i < 3; i++) {
      const ji0 = w * jp[i]!, ji1 = w * jp[3 + i]!;
      gp[3 * p + i]! += ji0 * ru + ji1 * rv;
      for (let j = i; j < 3; j++) V[vOff + 3 * i + j]! += ji0 * jp[j]! + ji1 * jp[3 + j]!;
    }
  }
  // Mirror the upper triangles.
  for (let c = 0; c < U.length / 49; c++) {
    for (let i = 0; i < 7; i++) for (let j = 0; j < i; j++) U[49 * c + 7 * i + j] = U[49 * c + 7 * j + i]!;
  }
  for (let p = 0; p < V.length / 9; p++) {
    const o = 9 * p;
    V[o + 3] = V[o + 1]!; V[o + 6] = V[o + 2]!; V[o + 7] = V[o + 5]!;
  }
}

/** Per-point workspace of the Schur complement: one entry per free camera parameter of each observation. */
interface PointEntries {
  readonly index: Int32Array;
  readonly observation: Int32Array;
  readonly t: Float64Array;
  readonly w: Float64Array;
}

interface SolveScratch {
  readonly reduced: Float64Array;
  readonly pointInverse: Float64Array;
  entries: PointEntries;
}

function allocateEntries(capacity: number): PointEntries {
  return { index: new Int32Array(capacity), observation: new Int32Array(capacity), t: new Float64Array(3 * capacity), w: new Float64Array(3 * capacity) };
}

function growEntries(scratch: SolveScratch, needed: number): PointEntries {
  scratch.entries = allocateEntries(2 * needed);
  return scratch.entries;
}

/**
 * Damped normal-equation solve by the Schur complement on the points. Writes camera steps (reduced system
 * order) and point steps; returns the predicted cost decrease, or null when the damped system is not
 * positive definite.
 */
function solveDamped(
  problem: BundleAdjustmentProblem, layout: Layout, lin: Linearization, lambda: number,
  reducedBase: Float64Array, reducedGradient: Float64Array, cameraStep: Float64Array, pointStep: Float64Array,
  scratch: SolveScratch,
): number | null {
  const n = layout.numReduced;
  const idx = layout.cameraParamIndex;
  const cams = problem.observationCamera;
  const { pointHessian: V, pointGradient: gp, coupling: W } = lin;
  const S = scratch.reduced;
  S.set(reducedBase);
  const rhs = cameraStep;
  for (let i = 0; i < n; i++) {
    const d = reducedBase[i * n + i]!;
    S[i * n + i] = d + lambda * Math.min(Math.max(d, MIN_DIAGONAL), MAX_DIAGONAL);
    rhs[i] = -reducedGradient[i]!;
  }
  const Vinv = scratch.pointInverse;
  let entries = scratch.entries;
  const numPoints = layout.pointVariable.length;
  for (let p = 0; p < numPoints; p++) {
    if (!layout.pointVariable[p]) continue;
    const o = 9 * p;
    const d0 = V[o]!, d1 = V[o + 4]!, d2 = V[o + 8]!;
    const m00 = d0 + lambda * clampDiagonal(d0), m11 = d1 + lambda * clampDiagonal(d1), m22 = d2 + lambda * clampDiagonal(d2);
    const m01 = V[o + 1]!, m02 = V[o + 2]!, m12 = V[o + 5]!;
    const c00 = m11 * m22 - m12 * m12, c01 = m02 * m12 - m01 * m22, c02 = m01 * m12 - m02 * m11;
    const det = m00 * c00 + m01 * c01 + m02 * c02;
    if (!(det > 0) || !Number.isFinite(det)) return null;
    const id = 1 / det;
    Vinv[o] = c00 * id; Vinv[o + 1] = c01 * id; Vinv[o + 2] = c02 * id;
    Vinv[o + 3] = c01 * id; Vinv[o + 4] = (m00 * m22 - m02 * m02) * id; Vinv[o + 5] = (m02 * m01 - m00 * m12) * id;
    Vinv[o + 6] = c02 * id; Vinv[o + 7] = Vinv[o + 5]!; Vinv[o + 8] = (m00 * m11 - m01 * m01) * id;

    const start = layout.pointStart[p]!, end = layout.pointStart[p + 1]!;
    if (entries.index.length < 7 * (end - start)) entries = growEntries(scratch, 7 * (end - start));
    const { index: entryIndex, observation: entryObservation, t: entryT, w: entryW } = entries;
    const g0 = gp[3 * p]!, g1 = gp[3 * p + 1]!, g2 = gp[3 * p + 2]!;
    // One entry per free camera parameter of each observation: its reduced index, its row of T = W V^-1 and of W.
    let count = 0;
    for (let a = start; a < end; a++) {
      const m = layout.pointObservations[a]!;
      const wo = 21 * m, ia = CAMERA_PARAMS * cams[m]!;
      for (let i = 0; i < 7; i++) {
        const gi = idx[ia + i]!;
        if (gi < 0) continue;
        const w0 = W[wo + 3 * i]!, w1 = W[wo + 3 * i + 1]!, w2 = W[wo + 3 * i + 2]!;
        const t0 = w0 * Vinv[o]! + w1 * Vinv[o + 3]! + w2 * Vinv[o + 6]!;
        const t1 = w0 * Vinv[o + 1]! + w1 * Vinv[o + 4]! + w2 * Vinv[o + 7]!;
        const t2 = w0 * Vinv[o + 2]! + w1 * Vinv[o + 5]! + w2 * Vinv[o + 8]!;
        rhs[gi]! += t0 * g0 + t1 * g1 + t2 * g2;
        entryIndex[count] = gi; entryObservation[count] = a;
        entryT[3 * count] = t0; entryT[3 * count + 1] = t1; entryT[3 * count + 2] = t2;
        entryW[3 * count] = w0; entryW[3 * count + 1] = w1; entryW[3 * count + 2] = w2;
        count++;
      }
    }
    // S -= T W^T over every pair of entries (e, f <= e), written to the lower triangle. Entries of one observation
    // are contiguous, so f <= e covers each unordered pair of observations once with all parameter pairs, and each
    // observation's own block once per symmetric pair. The mirror pair (f, e) lands in the same lower cell, except
    // on the diagonal (a shared focal seen from two observations), where both terms add.
    for (let e = 0; e < count; e++) {
      const ge = entryIndex[e]!, oe = entryObservation[e]!;
      const t0 = entryT[3 * e]!, t1 = entryT[3 * e + 1]!, t2 = entryT[3 * e + 2]!;
      const row = ge * n;
      for (let f = 0; f <= e; f++) {
        const gf = entryIndex[f]!;
        const v = t0 * entryW[3 * f]! + t1 * entryW[3 * f + 1]! + t2 * entryW[3 * f + 2]!;
        if (ge > gf) S[row + gf]! -= v;
        else if (ge < gf) S[gf * n + ge]! -= v;
        else S[row + ge]! -= entryObservation[f] === oe ? v : 2 * v;
      }
    }
  }
  if (!choleskySolveLower(S, rhs, n)) return null;

  // Back-substitution: dp = V^-1 (-g_p - sum_a W_a^T dc).
  for (let p = 0; p < numPoints; p++) {
    const o3 = 3 * p;
    if (!layout.pointVariable[p]) { pointStep[o3] = 0; pointStep[o3 + 1] = 0; pointStep[o3 + 2] = 0; continue; }
    let r0 = -gp[o3]!, r1 = -gp[o3 + 1]!, r2 = -gp[o3 + 2]!;
    for (let k = layout.pointStart[p]!; k < layout.pointStart[p + 1]!; k++) {
      const m = layout.pointObservations[k]!;
      const ia = CAMERA_PARAMS * cams[m]!, wo = 21 * m;
      for (let i = 0; i < 7; i++) {
        const gi = idx[ia + i]!;
        if (gi < 0) continue;
        const dc = rhs[gi]!;
        r0 -= W[wo + 3 * i]! * dc; r1 -= W[wo + 3 * i + 1]! * dc; r2 -= W[wo + 3 * i + 2]! * dc;
      }
    }
    const o = 9 * p;
    pointStep[o3] = Vinv[o]! * r0 + Vinv[o + 1]! * r1 + Vinv[o + 2]! * r2;
    pointStep[o3 + 1] = Vinv[o + 3]! * r0 + Vinv[o + 4]! * r1 + Vinv[o + 5]! * r2;
    pointStep[o3 + 2] = Vinv[o + 6]! * r0 + Vinv[o + 7]! * r1 + Vinv[o + 8]! * r2;
  }

  // Predicted decrease of the quadratic model: -(g.dx + 0.5 dx.H.dx) = 0.5 dx.(lambda D dx - g).
  let predicted = 0;
  for (let i = 0; i < n; i++) {
    const d = reducedBase[i * n + i]!;
    const dx = rhs[i]!;
    predicted += dx * (lambda * Math.min(Math.max(d, MIN_DIAGONAL), MAX_DIAGONAL) * dx - reducedGradient[i]!);
  }
  for (let p = 0; p < numPoints; p++) {
    if (!layout.pointVariable[p]) continue;
    for (let k = 0; k < 3; k++) {
      const dx = pointStep[3 * p + k]!;
      predicted += dx * (lambda * clampDiagonal(V[9 * p + 4 * k]!) * dx - gp[3 * p + k]!);
    }
  }
  return 0.5 * predicted;
}

function clampDiagonal(d: number): number {
  return Math.min(Math.max(d, MIN_DIAGONAL), MAX_DIAGONAL);
}

/**
 * Cholesky factorisation of the symmetric matrix whose lower triangle is in `a` (row-major n x n), then the
 * solve of a x = b in place of b. False when the matrix is not (numerically) positive definite.
 */
export function choleskySolveLower(a: Float64Array, b: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j]!;
    for (let k = 0; k < j; k++) d -= a[rj + k]! * a[rj + k]!;
    if (!(d > 0) || !Number.isFinite(d)) return false;
    const l = Math.sqrt(d);
    a[rj + j] = l;
    const inv = 1 / l;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j]!;
      for (let k = 0; k < j; k++) s -= a[ri + k]! * a[rj + k]!;
      a[ri + j] = s * inv;
    }
  }
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= a[ri + k]! * b[k]!;
    b[i] = s / a[ri + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= a[k * n + i]! * b[k]!;
    b[i] = s / a[i * n + i]!;
  }
  return true;
}

/** Adds each camera's 7x7 block and gradient into the reduced system (lower triangle), following the layout. */
function assembleReduced(layout: Layout, lin: Linearization, base: Float64Array, gradient: Float64Array): void {
  const n = layout.numReduced;
  base.fill(0); gradient.fill(0);
  const idx = layout.cameraParamIndex;
  const numCameras = idx.length / CAMERA_PARAMS;
  for (let c = 0; c < numCameras; c++) {
    const o = CAMERA_PARAMS * c;
    for (let i = 0; i < 7; i++) {
      const gi = idx[o + i]!;
      if (gi < 0) continue;
      gradient[gi]! += lin.cameraGradient[7 * c + i]!;
      for (let j = 0; j <= i; j++) {
        const gj = idx[o + j]!;
        if (gj < 0) continue;
        const v = lin.cameraHessian[49 * c + 7 * i + j]!;
        // Within one camera every parameter has its own index, so each unordered pair is visited once.
        if (gi >= gj) base[gi * n + gj]! += v;
        else base[gj * n + gi]! += v;
      }
    }
  }
}

/** The state after a step: rotations exp([w]x) R, translations + dt, focal factors + df, points + dX. */
function applyStep(state: State, layout: Layout, cameraStep: Float64Array, pointStep: Float64Array, out: State): void {
  const idx = layout.cameraParamIndex;
  const numCameras = idx.length / CAMERA_PARAMS;
  const value = (c: number, k: number): number => {
    const gi = idx[CAMERA_PARAMS * c + k]!;
    return gi >= 0 ? cameraStep[gi]! : 0;
  };
  for (let c = 0; c < numCameras; c++) {
    const w0 = value(c, 0), w1 = value(c, 1), w2 = value(c, 2);
    const r = 9 * c;
    if (w0 !== 0 || w1 !== 0 || w2 !== 0) {
      const dR = rotationFromAxisAngle([w0, w1, w2]);
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          out.rotations[r + 3 * i + j] = dR[3 * i]! * state.rotations[r + j]! + dR[3 * i + 1]! * state.rotations[r + 3 + j]! + dR[3 * i + 2]! * state.rotations[r + 6 + j]!;
        }
      }
    } else {
      for (let i = 0; i < 9; i++) out.rotations[r + i] = state.rotations[r + i]!;
    }
    for (let k = 0; k < 3; k++) out.translations[3 * c + k] = state.translations[3 * c + k]! + value(c, 3 + k);
    out.focalFactors[c] = state.focalFactors[c]! + value(c, 6);
  }
  for (let i = 0; i < state.points.length; i++) out.points[i] = state.points[i]! + pointStep[i]!;
}

function stateIsFinite(state: State): boolean {
  const all = [state.rotations, state.translations, state.focalFactors, state.points];
  for (const arr of all) for (let i = 0; i < arr.length; i++) if (!Number.isFinite(arr[i]!)) return false;
  for (let c = 0; c < state.focalFactors.length; c++) if (!(state.focalFactors[c]! > 0)) return false;
  return true;
}

/**
 * Refines poses, points and (optionally) focal lengths to minimise the robust reprojection error. Pure: the
 * problem is not modified. Throws AbortError when the signal fires between iterations.
 */
export function bundleAdjust(problem: BundleAdjustmentProblem, options: BundleAdjustmentOptions = {}): BundleAdjustmentResult {
  checkProblem(problem);
  const loss = lossOf(options.loss ?? { kind: 'squared' });
  if (options.loss !== undefined && options.loss.kind !== 'squared' && !(options.loss.scalePx > 0)) {
    throw new InputError(`Bundle adjustment: loss scale ${options.loss.scalePx} px must be positive.`);
  }
  const maxIterations = options.maxIterations ?? 50;
  const functionTolerance = options.functionTolerance ?? 1e-8;
  const parameterTolerance = options.parameterTolerance ?? 1e-10;
  const layout = buildLayout(problem, options);
  const numCameras = problem.cameraFromWorld.length;
  const numPoints = problem.points.length / 3;
  const numObservations = problem.observationCamera.length;

  let state: State = {
    rotations: new Float64Array(9 * numCameras),
    translations: new Float64Array(3 * numCameras),
    focalFactors: new Float64Array(numCameras).fill(1),
    points: Float64Array.from(problem.points),
  };
  for (let c = 0; c < numCameras; c++) {
    state.rotations.set(problem.cameraFromWorld[c]!.rotation, 9 * c);
    state.translations.set(problem.cameraFromWorld[c]!.translation, 3 * c);
  }
  let candidate = copyState(state);
  const errors = new Float64Array(numObservations);
  const candidateErrors = new Float64Array(numObservations);
  squaredErrors(problem, state, errors);
  const initialCost = costOf(errors, loss.rho);
  const initialRmsErrorPx = rmsOf(errors);
  let cost = initialCost;

  const n = layout.numReduced;
  const lin = allocateLinearization(numCameras, numPoints, numObservations);
  const reducedBase = new Float64Array(n * n);
  const reducedGradient = new Float64Array(n);
  const cameraStep = new Float64Array(n);
  const pointStep = new Float64Array(3 * numPoints);
  const scratch: SolveScratch = { reduced: new Float64Array(n * n), pointInverse: new Float64Array(9 * numPoints), entries: allocateEntries(64) };

  let lambda = INITIAL_LAMBDA;
  let nu = 2;
  let iterations = 0;
  let termination: BundleTermination = 'maxIterations';
  let needLinearization = true;
  while (iterations < maxIterations) {
    throwIfAborted(options.signal);
    if (cost === 0) { termination = 'converged'; break; }
    if (needLinearization) {
      linearize(problem, state, errors, loss.weight, lin);
      assembleReduced(layout, lin, reducedBase, reducedGradient);
      needLinearization = false;
    }
    iterations++;
    const predicted = solveDamped(problem, layout, lin, lambda, reducedBase, reducedGradient, cameraStep, pointStep, scratch);
    if (predicted === null || !(predicted > 0)) {
      lambda *= nu; nu *= 2;
      if (lambda > 1e16) { termination = 'noProgress'; break; }
      continue;
    }
    applyStep(state, layout, cameraStep, pointStep, candidate);
    const finite = stateIsFinite(candidate);
    if (finite) squaredErrors(problem, candidate, candidateErrors);
    const candidateCost = finite ? costOf(candidateErrors, loss.rho) : Number.POSITIVE_INFINITY;
    const rho = (cost - candidateCost) / predicted;
    if (finite && candidateCost < cost && rho > 0) {
      const decrease = (cost - candidateCost) / cost;
      const stepSmall = stepNorm(cameraStep, pointStep) <= parameterTolerance * (parameterNorm(state) + parameterTolerance);
      [state, candidate] = [candidate, state];
      errors.set(candidateErrors);
      cost = candidateCost;
      lambda *= Math.max(1 / 3, 1 - Math.pow(2 * rho - 1, 3));
      nu = 2;
      needLinearization = true;
      if (decrease < functionTolerance || stepSmall) { termination = 'converged'; break; }
    } else {
      lambda *= nu; nu *= 2;
      if (lambda > 1e16) { termination = 'noProgress'; break; }
    }
  }

  const cameraFromWorld: RigidPose[] = [];
  const intrinsics: Intrinsics[] = [];
  for (let c = 0; c < numCameras; c++) {
    cameraFromWorld.push({ rotation: state.rotations.slice(9 * c, 9 * c + 9), translation: state.translations.slice(3 * c, 3 * c + 3) });
    const k = problem.intrinsics[c]!, f = state.focalFactors[c]!;
    intrinsics.push(f === 1 ? { ...k } : { ...k, fxPx: k.fxPx * f, fyPx: k.fyPx * f });
  }
  return {
    cameraFromWorld, intrinsics, points: state.points,
    initialCost, finalCost: cost, initialRmsErrorPx, finalRmsErrorPx: rmsOf(errors), iterations, termination,
  };
}

function stepNorm(cameraStep: Float64Array, pointStep: Float64Array): number {
  let s = 0;
  for (let i = 0; i < cameraStep.length; i++) s += cameraStep[i]! * cameraStep[i]!;
  for (let i = 0; i < pointStep.length; i++) s += pointStep[i]! * pointStep[i]!;
  return Math.sqrt(s);
}

function parameterNorm(state: State): number {
  let s = 0;
  for (const arr of [state.translations, state.points]) for (let i = 0; i < arr.length; i++) s += arr[i]! * arr[i]!;
  return Math.sqrt(s);
}

/** Reprojection error in pixels of every observation of a problem (NaN for a point on a camera plane). */
export function reprojectionErrorsPx(problem: BundleAdjustmentProblem): Float64Array {
  checkProblem(problem);
  const numCameras = problem.cameraFromWorld.length;
  const state: State = {
    rotations: new Float64Array(9 * numCameras),
    translations: new Float64Array(3 * numCameras),
    focalFactors: new Float64Array(numCameras).fill(1),
    points: problem.points,
  };
  for (let c = 0; c < numCameras; c++) {
    state.rotations.set(problem.cameraFromWorld[c]!.rotation, 9 * c);
    state.translations.set(problem.cameraFromWorld[c]!.translation, 3 * c);
  }
  const out = new Float64Array(problem.observationCamera.length);
  squaredErrors(problem, state, out);
  for (let m = 0; m < out.length; m++) out[m] = Math.sqrt(out[m]!);
  return out;
}
