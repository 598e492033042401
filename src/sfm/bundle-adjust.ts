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
/** Per observation, the 7x3 block Jc^T Jp (row-major). */
const COUPLING_SIZE = 21;
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
  /** Per camera 1 when any of its parameters is free: only then is its normal-equation block needed. */
  readonly cameraFree: Uint8Array;
  /** Some focal factor is free; otherwise the focal column of the Jacobian is never read. */
  readonly refinesFocal: boolean;
  readonly schur: SchurEntries;
}

/**
 * The Schur complement's bookkeeping, fixed for a whole solve: one entry per free camera parameter of each
 * observation of a variable point, grouped by point (CSR), observations in point order and parameters in
 * camera order within each.
 */
interface SchurEntries {
  readonly pointEntryStart: Uint32Array;
  /** Index of the entry's parameter in the reduced system. */
  readonly param: Int32Array;
  /** Offset of the entry's row (3 values) in the coupling blocks. */
  readonly coupling: Uint32Array;
  /** Position of the entry's observation in its point's list, to tell two observations sharing a parameter apart. */
  readonly observation: Uint32Array;
  /**
   * 1 when another entry of the same point has the same parameter (a shared focal seen twice, a camera that
   * observes the point twice): only such entries make one cell of the reduced system receive two terms from
   * one point.
   */
  readonly sharesParam: Uint8Array;
  /** The most entries of one point. */
  readonly maxPerPoint: number;
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
  const cameraFree = new Uint8Array(numCameras);
  let refinesFocal = false;
  for (let c = 0; c < numCameras; c++) {
    for (let k = 0; k < CAMERA_PARAMS; k++) if (cameraParamIndex[c * CAMERA_PARAMS + k]! >= 0) cameraFree[c] = 1;
    if (cameraParamIndex[c * CAMERA_PARAMS + 6]! >= 0) refinesFocal = true;
  }
  const schur = buildSchurEntries(next, problem.observationCamera, cameraParamIndex, pointVariable, pointStart, pointObservations);
  return { cameraParamIndex, numReduced: next, pointVariable, pointStart, pointObservations, cameraFree, refinesFocal, schur };
}

function buildSchurEntries(
  numReduced: number, observationCamera: Uint32Array, cameraParamIndex: Int32Array, pointVariable: Uint8Array, pointStart: Uint32Array, pointObservations: Uint32Array,
): SchurEntries {
  const numPoints = pointVariable.length;
  const freeParamsOf = (c: number): number => {
    let count = 0;
    for (let i = 0; i < CAMERA_PARAMS; i++) if (cameraParamIndex[CAMERA_PARAMS * c + i]! >= 0) count++;
    return count;
  };
  const pointEntryStart = new Uint32Array(numPoints + 1);
  let maxPerPoint = 0;
  for (let p = 0; p < numPoints; p++) {
    let count = 0;
    if (pointVariable[p]) for (let a = pointStart[p]!; a < pointStart[p + 1]!; a++) count += freeParamsOf(observationCamera[pointObservations[a]!]!);
    pointEntryStart[p + 1] = pointEntryStart[p]! + count;
    maxPerPoint = Math.max(maxPerPoint, count);
  }
  const numEntries = pointEntryStart[numPoints]!;
  const param = new Int32Array(numEntries), coupling = new Uint32Array(numEntries), observation = new Uint32Array(numEntries);
  let e = 0;
  for (let p = 0; p < numPoints; p++) {
    if (!pointVariable[p]) continue;
    for (let a = pointStart[p]!; a < pointStart[p + 1]!; a++) {
      const m = pointObservations[a]!, ia = CAMERA_PARAMS * observationCamera[m]!;
      for (let i = 0; i < CAMERA_PARAMS; i++) {
        const gi = cameraParamIndex[ia + i]!;
        if (gi < 0) continue;
        param[e] = gi; coupling[e] = COUPLING_SIZE * m + 3 * i; observation[e] = a;
        e++;
      }
    }
  }
  const sharesParam = new Uint8Array(numEntries);
  const uses = new Uint32Array(numReduced);
  for (let p = 0; p < numPoints; p++) {
    const first = pointEntryStart[p]!, end = pointEntryStart[p + 1]!;
    for (let f = first; f < end; f++) uses[param[f]!]!++;
    for (let f = first; f < end; f++) if (uses[param[f]!]! > 1) sharesParam[f] = 1;
    for (let f = first; f < end; f++) uses[param[f]!] = 0;
  }
  return { pointEntryStart, param, coupling, observation, sharesParam, maxPerPoint };
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

/** The initial intrinsics as arrays (C each): the per-observation loops read them without object lookups. */
interface Pinholes {
  readonly fx: Float64Array;
  readonly fy: Float64Array;
  readonly cx: Float64Array;
  readonly cy: Float64Array;
}

function pinholesOf(intrinsics: readonly Intrinsics[]): Pinholes {
  return {
    fx: Float64Array.from(intrinsics, (k) => k.fxPx),
    fy: Float64Array.from(intrinsics, (k) => k.fyPx),
    cx: Float64Array.from(intrinsics, (k) => k.cxPx),
    cy: Float64Array.from(intrinsics, (k) => k.cyPx),
  };
}

/** Squared reprojection error of every observation (M), NaN where the point is on the camera plane. */
function squaredErrors(problem: BundleAdjustmentProblem, pinholes: Pinholes, state: State, out: Float64Array): void {
  const { rotations: R, translations: T, focalFactors: F, points: X } = state;
  const cams = problem.observationCamera, pts = problem.observationPoint, uv = problem.observationPixels;
  const { fx: FX, fy: FY, cx: CX, cy: CY } = pinholes;
  for (let m = 0; m < cams.length; m++) {
    const c = cams[m]!, p = pts[m]!;
    const r = 9 * c, x = X[3 * p]!, y = X[3 * p + 1]!, z = X[3 * p + 2]!;
    const pz = R[r + 6]! * x + R[r + 7]! * y + R[r + 8]! * z + T[3 * c + 2]!;
    if (!(Math.abs(pz) > 1e-12)) { out[m] = Number.NaN; continue; }
    const px = R[r]! * x + R[r + 1]! * y + R[r + 2]! * z + T[3 * c]!;
    const py = R[r + 3]! * x + R[r + 4]! * y + R[r + 5]! * z + T[3 * c + 1]!;
    const f = F[c]!;
    const du = f * FX[c]! * (px / pz) + CX[c]! - uv[2 * m]!;
    const dv = f * FY[c]! * (py / pz) + CY[c]! - uv[2 * m + 1]!;
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

/**
 * Normal-equation pieces at the current state (weighted by the loss). Only what the solve reads is filled:
 * the blocks of cameras with a free parameter, those of variable points, the coupling of observations joining
 * the two, and the focal row and column only when a focal is free.
 */
interface Linearization {
  /** Per camera the upper triangle of the 7x7 J^T J (row-major), and 7 J^T r. */
  readonly cameraHessian: Float64Array;
  readonly cameraGradient: Float64Array;
  /** Per point the upper triangle of the 3x3 J^T J, and 3 J^T r. */
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
    coupling: new Float64Array(COUPLING_SIZE * numObservations),
  };
}

function linearize(
  problem: BundleAdjustmentProblem, layout: Layout, pinholes: Pinholes, state: State, errors: Float64Array,
  weight: (s: number) => number, lin: Linearization,
): void {
  const { rotations: R, translations: T, focalFactors: F, points: X } = state;
  const cams = problem.observationCamera, pts = problem.observationPoint, uv = problem.observationPixels;
  const { fx: FX, fy: FY, cx: CX, cy: CY } = pinholes;
  const { cameraFree, pointVariable } = layout;
  const refinesFocal = layout.refinesFocal;
  const { cameraHessian: U, cameraGradient: gc, pointHessian: V, pointGradient: gp, coupling: W } = lin;
  U.fill(0); gc.fill(0); V.fill(0); gp.fill(0);
  for (let m = 0; m < cams.length; m++) {
    const c = cams[m]!, p = pts[m]!;
    const cameraNeeded = cameraFree[c] === 1, pointNeeded = pointVariable[p] === 1;
    if (!cameraNeeded && !pointNeeded) continue;
    const s = errors[m]!;
    const wOff = COUPLING_SIZE * m;
    if (s !== s) { if (cameraNeeded && pointNeeded) W.fill(0, wOff, wOff + COUPLING_SIZE); continue; }
    const r = 9 * c, x = X[3 * p]!, y = X[3 * p + 1]!, z = X[3 * p + 2]!;
    const qx = R[r]! * x + R[r + 1]! * y + R[r + 2]! * z;
    const qy = R[r + 3]! * x + R[r + 4]! * y + R[r + 5]! * z;
    const qz = R[r + 6]! * x + R[r + 7]! * y + R[r + 8]! * z;
    const px = qx + T[3 * c]!, py = qy + T[3 * c + 1]!, pz = qz + T[3 * c + 2]!;
    const fx0 = FX[c]!, fy0 = FY[c]!, f = F[c]!;
    const fx = f * fx0, fy = f * fy0;
    const iz = 1 / pz, xn = px * iz, yn = py * iz;
    const ru = fx * xn + CX[c]! - uv[2 * m]!;
    const rv = fy * yn + CY[c]! - uv[2 * m + 1]!;
    const w = weight(s);
    // d(u,v)/dp = [[fx/z, 0, -fx x/z^2], [0, fy/z, -fy y/z^2]].
    const a0 = fx * iz, a2 = -fx * xn * iz, b1 = fy * iz, b2 = -fy * yn * iz;
    // Point block: d/dX = d/dp * R.
    const p0 = a0 * R[r]! + a2 * R[r + 6]!, p1 = a0 * R[r + 1]! + a2 * R[r + 7]!, p2 = a0 * R[r + 2]! + a2 * R[r + 8]!;
    const p3 = b1 * R[r + 3]! + b2 * R[r + 6]!, p4 = b1 * R[r + 4]! + b2 * R[r + 7]!, p5 = b1 * R[r + 5]! + b2 * R[r + 8]!;
    if (cameraNeeded) {
      // Camera block, rows (u, v): d/dw = d/dp * (-[q]x), d/dt = d/dp, d/dfactor = (fx0 xn, fy0 yn).
      const c0 = a2 * qy, c1 = a0 * qz - a2 * qx, c2 = -a0 * qy, c3 = a0, c4 = 0, c5 = a2;
      const d0 = -b1 * qz + b2 * qy, d1 = -b2 * qx, d2 = b1 * qx, d3 = 0, d4 = b1, d5 = b2;
      // Written out: gradient, upper triangle of the pose Hessian, then the focal row and the coupling.
      const u = 49 * c, g = 7 * c;
      const r00 = w * c0, r01 = w * d0;
      const r10 = w * c1, r11 = w * d1;
      const r20 = w * c2, r21 = w * d2;
      const r30 = w * c3, r31 = w * d3;
      const r40 = w * c4, r41 = w * d4;
      const r50 = w * c5, r51 = w * d5;
      gc[g]! += r00 * ru + r01 * rv; gc[g + 1]! += r10 * ru + r11 * rv; gc[g + 2]! += r20 * ru + r21 * rv;
      gc[g + 3]! += r30 * ru + r31 * rv; gc[g + 4]! += r40 * ru + r41 * rv; gc[g + 5]! += r50 * ru + r51 * rv;
      U[u]! += r00 * c0 + r01 * d0; U[u + 1]! += r00 * c1 + r01 * d1; U[u + 2]! += r00 * c2 + r01 * d2; U[u + 3]! += r00 * c3 + r01 * d3; U[u + 4]! += r00 * c4 + r01 * d4; U[u + 5]! += r00 * c5 + r01 * d5;
      U[u + 8]! += r10 * c1 + r11 * d1; U[u + 9]! += r10 * c2 + r11 * d2; U[u + 10]! += r10 * c3 + r11 * d3; U[u + 11]! += r10 * c4 + r11 * d4; U[u + 12]! += r10 * c5 + r11 * d5;
      U[u + 16]! += r20 * c2 + r21 * d2; U[u + 17]! += r20 * c3 + r21 * d3; U[u + 18]! += r20 * c4 + r21 * d4; U[u + 19]! += r20 * c5 + r21 * d5;
      U[u + 24]! += r30 * c3 + r31 * d3; U[u + 25]! += r30 * c4 + r31 * d4; U[u + 26]! += r30 * c5 + r31 * d5;
      U[u + 32]! += r40 * c4 + r41 * d4; U[u + 33]! += r40 * c5 + r41 * d5;
      U[u + 40]! += r50 * c5 + r51 * d5;
      if (refinesFocal) {
        const c6 = fx0 * xn, d6 = fy0 * yn;
        const r60 = w * c6, r61 = w * d6;
        gc[g + 6]! += r60 * ru + r61 * rv;
        U[u + 6]! += r00 * c6 + r01 * d6; U[u + 13]! += r10 * c6 + r11 * d6; U[u + 20]! += r20 * c6 + r21 * d6; U[u + 27]! += r30 * c6 + r31 * d6;
        U[u + 34]! += r40 * c6 + r41 * d6; U[u + 41]! += r50 * c6 + r51 * d6; U[u + 48]! += r60 * c6 + r61 * d6;
        if (pointNeeded) { W[wOff + 18] = r60 * p0 + r61 * p3; W[wOff + 19] = r60 * p1 + r61 * p4; W[wOff + 20] = r60 * p2 + r61 * p5; }
      }
      if (pointNeeded) {
        W[wOff] = r00 * p0 + r01 * p3; W[wOff + 1] = r00 * p1 + r01 * p4; W[wOff + 2] = r00 * p2 + r01 * p5;
        W[wOff + 3] = r10 * p0 + r11 * p3; W[wOff + 4] = r10 * p1 + r11 * p4; W[wOff + 5] = r10 * p2 + r11 * p5;
        W[wOff + 6] = r20 * p0 + r21 * p3; W[wOff + 7] = r20 * p1 + r21 * p4; W[wOff + 8] = r20 * p2 + r21 * p5;
        W[wOff + 9] = r30 * p0 + r31 * p3; W[wOff + 10] = r30 * p1 + r31 * p4; W[wOff + 11] = r30 * p2 + r31 * p5;
        W[wOff + 12] = r40 * p0 + r41 * p3; W[wOff + 13] = r40 * p1 + r41 * p4; W[wOff + 14] = r40 * p2 + r41 * p5;
        W[wOff + 15] = r50 * p0 + r51 * p3; W[wOff + 16] = r50 * p1 + r51 * p4; W[wOff + 17] = r50 * p2 + r51 * p5;
      }
    }
    if (pointNeeded) {
      const vOff = 9 * p, gOff = 3 * p;
      const j00 = w * p0, j01 = w * p3, j10 = w * p1, j11 = w * p4, j20 = w * p2, j21 = w * p5;
      gp[gOff]! += j00 * ru + j01 * rv;
      V[vOff]! += j00 * p0 + j01 * p3; V[vOff + 1]! += j00 * p1 + j01 * p4; V[vOff + 2]! += j00 * p2 + j01 * p5;
      gp[gOff + 1]! += j10 * ru + j11 * rv;
      V[vOff + 4]! += j10 * p1 + j11 * p4; V[vOff + 5]! += j10 * p2 + j11 * p5;
      gp[gOff + 2]! += j20 * ru + j21 * rv;
      V[vOff + 8]! += j20 * p2 + j21 * p5;
    }
  }
}

/**
 * Per-point workspace of the Schur complement: the rows of T = W V^-1 and of W of the point's entries, split into
 * those whose parameter is their own (distinct) and those that share one, each list in entry order.
 */
interface SolveScratch {
  readonly reduced: Float64Array;
  readonly pointInverse: Float64Array;
  readonly distinct: EntryRows;
  readonly sharing: EntryRows;
}

interface EntryRows {
  readonly param: Int32Array;
  readonly t: Float64Array;
  readonly w: Float64Array;
  /** Sharing entries only: the entry's observation, and how many distinct entries come before it. */
  readonly observation: Uint32Array;
  readonly distinctBefore: Uint32Array;
}

function allocateEntryRows(capacity: number): EntryRows {
  return {
    param: new Int32Array(capacity), t: new Float64Array(3 * capacity), w: new Float64Array(3 * capacity),
    observation: new Uint32Array(capacity), distinctBefore: new Uint32Array(capacity),
  };
}

function allocateSolveScratch(numReduced: number, numPoints: number, maxEntriesPerPoint: number): SolveScratch {
  return {
    reduced: new Float64Array(numReduced * numReduced),
    pointInverse: new Float64Array(9 * numPoints),
    distinct: allocateEntryRows(maxEntriesPerPoint),
    sharing: allocateEntryRows(maxEntriesPerPoint),
  };
}

/**
 * Damped normal-equation solve by the Schur complement on the points. Writes camera steps (reduced system
 * order) and point steps; returns the predicted cost decrease, or null when the damped system is not
 * positive definite.
 */
function solveDamped(
  layout: Layout, lin: Linearization, lambda: number,
  reducedBase: Float64Array, reducedGradient: Float64Array, cameraStep: Float64Array, pointStep: Float64Array,
  scratch: SolveScratch,
): number | null {
  const n = layout.numReduced;
  const { pointEntryStart, param: entryParam, coupling: entryCoupling, observation: entryObservation, sharesParam } = layout.schur;
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
  const { distinct, sharing } = scratch;
  const numPoints = layout.pointVariable.length;
  for (let p = 0; p < numPoints; p++) {
    if (!layout.pointVariable[p]) continue;
    if (!invertDampedPointBlock(V, p, lambda, Vinv)) return null;
    const o = 9 * p;
    const i00 = Vinv[o]!, i01 = Vinv[o + 1]!, i02 = Vinv[o + 2]!, i11 = Vinv[o + 4]!, i12 = Vinv[o + 5]!, i22 = Vinv[o + 8]!;
    const start = pointEntryStart[p]!, end = pointEntryStart[p + 1]!;
    const g0 = gp[3 * p]!, g1 = gp[3 * p + 1]!, g2 = gp[3 * p + 2]!;
    // Each entry's row of T = W V^-1 (V^-1 is symmetric), and its share of the reduced right-hand side.
    let numDistinct = 0, numSharing = 0;
    for (let e = start; e < end; e++) {
      const wo = entryCoupling[e]!;
      const w0 = W[wo]!, w1 = W[wo + 1]!, w2 = W[wo + 2]!;
      const t0 = w0 * i00 + w1 * i01 + w2 * i02;
      const t1 = w0 * i01 + w1 * i11 + w2 * i12;
      const t2 = w0 * i02 + w1 * i12 + w2 * i22;
      const ge = entryParam[e]!;
      rhs[ge]! += t0 * g0 + t1 * g1 + t2 * g2;
      let rows = distinct, k = numDistinct;
      if (sharesParam[e]) {
        rows = sharing; k = numSharing++;
        sharing.observation[k] = entryObservation[e]!; sharing.distinctBefore[k] = numDistinct;
      } else {
        numDistinct++;
      }
      rows.param[k] = ge;
      rows.t[3 * k] = t0; rows.t[3 * k + 1] = t1; rows.t[3 * k + 2] = t2;
      rows.w[3 * k] = w0; rows.w[3 * k + 1] = w1; rows.w[3 * k + 2] = w2;
    }
    // S -= T W^T over the pairs of entries, in three groups that reach disjoint cells.
    subtractDistinctPairs(S, n, distinct, numDistinct);
    if (numSharing > 0) subtractSharingPairs(S, n, distinct, numDistinct, sharing, numSharing);
  }
  if (!choleskySolveLower(S, rhs, n)) return null;
  backSubstitute(layout, lin, Vinv, rhs, pointStep);
  return predictedDecrease(layout, lin, lambda, reducedBase, reducedGradient, rhs, pointStep);
}

/** V^-1 of point p's block with the damped diagonal, into `inverse` (9 per point); false when not positive definite. */
function invertDampedPointBlock(V: Float64Array, p: number, lambda: number, inverse: Float64Array): boolean {
  const o = 9 * p;
  const d0 = V[o]!, d1 = V[o + 4]!, d2 = V[o + 8]!;
  const m00 = d0 + lambda * clampDiagonal(d0), m11 = d1 + lambda * clampDiagonal(d1), m22 = d2 + lambda * clampDiagonal(d2);
  const m01 = V[o + 1]!, m02 = V[o + 2]!, m12 = V[o + 5]!;
  const c00 = m11 * m22 - m12 * m12, c01 = m02 * m12 - m01 * m22, c02 = m01 * m12 - m02 * m11;
  const det = m00 * c00 + m01 * c01 + m02 * c02;
  if (!(det > 0) || !Number.isFinite(det)) return false;
  const id = 1 / det;
  inverse[o] = c00 * id; inverse[o + 1] = c01 * id; inverse[o + 2] = c02 * id;
  inverse[o + 3] = c01 * id; inverse[o + 4] = (m00 * m22 - m02 * m02) * id; inverse[o + 5] = (m02 * m01 - m00 * m12) * id;
  inverse[o + 6] = c02 * id; inverse[o + 7] = inverse[o + 5]!; inverse[o + 8] = (m00 * m11 - m01 * m01) * id;
  return true;
}

/**
 * S -= t_e . w_f into the lower triangle for every pair f <= e of a point's entries whose parameters are all
 * different: every pair has a cell of its own, so their order is free. Two rows at a time: each w_f is loaded
 * once for both.
 */
function subtractDistinctPairs(S: Float64Array, n: number, rows: EntryRows, count: number): void {
  const { param, t: T, w: W } = rows;
  let e = 0;
  for (; e + 1 < count; e += 2) {
    const ga = param[e]!, gb = param[e + 1]!;
    const ta0 = T[3 * e]!, ta1 = T[3 * e + 1]!, ta2 = T[3 * e + 2]!;
    const tb0 = T[3 * e + 3]!, tb1 = T[3 * e + 4]!, tb2 = T[3 * e + 5]!;
    const rowA = ga * n, rowB = gb * n;
    for (let f = 0; f <= e; f++) {
      const gf = param[f]!;
      const w0 = W[3 * f]!, w1 = W[3 * f + 1]!, w2 = W[3 * f + 2]!;
      const va = ta0 * w0 + ta1 * w1 + ta2 * w2;
      const vb = tb0 * w0 + tb1 * w1 + tb2 * w2;
      if (ga >= gf) S[rowA + gf]! -= va; else S[gf * n + ga]! -= va;
      if (gb >= gf) S[rowB + gf]! -= vb; else S[gf * n + gb]! -= vb;
    }
    const f = e + 1;
    S[rowB + gb]! -= tb0 * W[3 * f]! + tb1 * W[3 * f + 1]! + tb2 * W[3 * f + 2]!;
  }
  if (e < count) {
    const ge = param[e]!;
    const t0 = T[3 * e]!, t1 = T[3 * e + 1]!, t2 = T[3 * e + 2]!;
    const row = ge * n;
    for (let f = 0; f <= e; f++) {
      const gf = param[f]!;
      const v = t0 * W[3 * f]! + t1 * W[3 * f + 1]! + t2 * W[3 * f + 2]!;
      if (ge >= gf) S[row + gf]! -= v; else S[gf * n + ge]! -= v;
    }
  }
}

/**
 * S -= t_e . w_f for the pairs f <= e of a point's entries where e or f shares its parameter, each term as the
 * plain double loop over all pairs forms it (the later entry's t, the earlier one's w) and in the order in which
 * it reaches its cell there. A cell (shared, distinct) gets one term per sharing entry, in entry order; a cell
 * (shared, shared) only terms of pairs of sharing entries, in the double loop's order. A mirror pair (f, e) lands
 * in the same lower cell, except on the diagonal (one parameter from two observations), where both terms add.
 */
function subtractSharingPairs(S: Float64Array, n: number, distinct: EntryRows, numDistinct: number, sharing: EntryRows, numSharing: number): void {
  const { param: dParam, t: dT, w: dW } = distinct;
  const { param: sParam, t: sT, w: sW, observation, distinctBefore } = sharing;
  // Cells (shared, distinct): with the distinct entries before s, s is the later entry; after it, the earlier.
  for (let s = 0; s < numSharing; s++) {
    const gs = sParam[s]!, split = distinctBefore[s]!;
    const t0 = sT[3 * s]!, t1 = sT[3 * s + 1]!, t2 = sT[3 * s + 2]!;
    const w0 = sW[3 * s]!, w1 = sW[3 * s + 1]!, w2 = sW[3 * s + 2]!;
    const row = gs * n;
    for (let d = 0; d < split; d++) {
      const gd = dParam[d]!;
      const v = t0 * dW[3 * d]! + t1 * dW[3 * d + 1]! + t2 * dW[3 * d + 2]!;
      if (gs > gd) S[row + gd]! -= v; else S[gd * n + gs]! -= v;
    }
    for (let d = split; d < numDistinct; d++) {
      const gd = dParam[d]!;
      const v = dT[3 * d]! * w0 + dT[3 * d + 1]! * w1 + dT[3 * d + 2]! * w2;
      if (gs > gd) S[row + gd]! -= v; else S[gd * n + gs]! -= v;
    }
  }
  // Cells (shared, shared): the double loop over the sharing entries alone.
  for (let s = 0; s < numSharing; s++) {
    const gs = sParam[s]!, os = observation[s]!;
    const t0 = sT[3 * s]!, t1 = sT[3 * s + 1]!, t2 = sT[3 * s + 2]!;
    const row = gs * n;
    for (let r = 0; r <= s; r++) {
      const gr = sParam[r]!;
      const v = t0 * sW[3 * r]! + t1 * sW[3 * r + 1]! + t2 * sW[3 * r + 2]!;
      const term = gr === gs && observation[r] !== os ? 2 * v : v;
      if (gs >= gr) S[row + gr]! -= term; else S[gr * n + gs]! -= term;
    }
  }
}

/** Back-substitution: dp = V^-1 (-g_p - sum_a W_a^T dc). */
function backSubstitute(layout: Layout, lin: Linearization, Vinv: Float64Array, cameraStep: Float64Array, pointStep: Float64Array): void {
  const { pointEntryStart, param: entryParam, coupling: entryCoupling } = layout.schur;
  const { pointGradient: gp, coupling: W } = lin;
  for (let p = 0; p < layout.pointVariable.length; p++) {
    const o3 = 3 * p;
    if (!layout.pointVariable[p]) { pointStep[o3] = 0; pointStep[o3 + 1] = 0; pointStep[o3 + 2] = 0; continue; }
    let r0 = -gp[o3]!, r1 = -gp[o3 + 1]!, r2 = -gp[o3 + 2]!;
    for (let e = pointEntryStart[p]!; e < pointEntryStart[p + 1]!; e++) {
      const dc = cameraStep[entryParam[e]!]!, wo = entryCoupling[e]!;
      r0 -= W[wo]! * dc; r1 -= W[wo + 1]! * dc; r2 -= W[wo + 2]! * dc;
    }
    const o = 9 * p;
    pointStep[o3] = Vinv[o]! * r0 + Vinv[o + 1]! * r1 + Vinv[o + 2]! * r2;
    pointStep[o3 + 1] = Vinv[o + 3]! * r0 + Vinv[o + 4]! * r1 + Vinv[o + 5]! * r2;
    pointStep[o3 + 2] = Vinv[o + 6]! * r0 + Vinv[o + 7]! * r1 + Vinv[o + 8]! * r2;
  }
}

/** Predicted decrease of the quadratic model: -(g.dx + 0.5 dx.H.dx) = 0.5 dx.(lambda D dx - g). */
function predictedDecrease(
  layout: Layout, lin: Linearization, lambda: number, reducedBase: Float64Array, reducedGradient: Float64Array,
  cameraStep: Float64Array, pointStep: Float64Array,
): number {
  const n = layout.numReduced;
  const { pointHessian: V, pointGradient: gp } = lin;
  let predicted = 0;
  for (let i = 0; i < n; i++) {
    const d = reducedBase[i * n + i]!;
    const dx = cameraStep[i]!;
    predicted += dx * (lambda * Math.min(Math.max(d, MIN_DIAGONAL), MAX_DIAGONAL) * dx - reducedGradient[i]!);
  }
  for (let p = 0; p < layout.pointVariable.length; p++) {
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
        // The Hessian holds the upper triangle: (i, j) with j <= i is stored at (j, i).
        const v = lin.cameraHessian[49 * c + 7 * j + i]!;
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
  const pinholes = pinholesOf(problem.intrinsics);
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
  // Swapped with the state's on an accepted step.
  let errors = new Float64Array(numObservations);
  let candidateErrors = new Float64Array(numObservations);
  squaredErrors(problem, pinholes, state, errors);
  const initialCost = costOf(errors, loss.rho);
  const initialRmsErrorPx = rmsOf(errors);
  let cost = initialCost;

  const n = layout.numReduced;
  const lin = allocateLinearization(numCameras, numPoints, numObservations);
  const reducedBase = new Float64Array(n * n);
  const reducedGradient = new Float64Array(n);
  const cameraStep = new Float64Array(n);
  const pointStep = new Float64Array(3 * numPoints);
  const scratch = allocateSolveScratch(n, numPoints, layout.schur.maxPerPoint);

  let lambda = INITIAL_LAMBDA;
  let nu = 2;
  let iterations = 0;
  let termination: BundleTermination = 'maxIterations';
  let needLinearization = true;
  while (iterations < maxIterations) {
    throwIfAborted(options.signal);
    if (cost === 0) { termination = 'converged'; break; }
    // A rejected step changes only the damping: the linearization is kept for the next solve.
    if (needLinearization) {
      linearize(problem, layout, pinholes, state, errors, loss.weight, lin);
      assembleReduced(layout, lin, reducedBase, reducedGradient);
      needLinearization = false;
    }
    iterations++;
    const predicted = solveDamped(layout, lin, lambda, reducedBase, reducedGradient, cameraStep, pointStep, scratch);
    if (predicted === null || !(predicted > 0)) {
      lambda *= nu; nu *= 2;
      if (lambda > 1e16) { termination = 'noProgress'; break; }
      continue;
    }
    applyStep(state, layout, cameraStep, pointStep, candidate);
    const finite = stateIsFinite(candidate);
    if (finite) squaredErrors(problem, pinholes, candidate, candidateErrors);
    const candidateCost = finite ? costOf(candidateErrors, loss.rho) : Number.POSITIVE_INFINITY;
    const rho = (cost - candidateCost) / predicted;
    if (finite && candidateCost < cost && rho > 0) {
      const decrease = (cost - candidateCost) / cost;
      const stepSmall = stepNorm(cameraStep, pointStep) <= parameterTolerance * (parameterNorm(state) + parameterTolerance);
      [state, candidate] = [candidate, state];
      [errors, candidateErrors] = [candidateErrors, errors];
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
  squaredErrors(problem, pinholesOf(problem.intrinsics), state, out);
  for (let m = 0; m < out.length; m++) out[m] = Math.sqrt(out[m]!);
  return out;
}
