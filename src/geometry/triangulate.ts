/**
 * Triangulation of 3D points from calibrated views, the inner loop of structure from motion (called once per
 * track and per candidate pair, ~1e5 times per reconstruction), hence hand-written on plain numbers: no
 * ml-matrix objects per point.
 *
 * Conventions: poses are `cameraFromWorld` (x_cam = R x_world + t), observations are NORMALISED camera
 * coordinates (K^-1 applied: x = X_cam / Z_cam), OpenCV axes. The linear (DLT) solution minimises the algebraic
 * error of x P3 - P1 = 0, y P3 - P2 = 0 over all views, as cv2.triangulatePoints does; on exact data it is the
 * exact point. Before solving, the world is shifted to the centroid of the camera centres and scaled by their
 * spread, so that the 4x4 normal matrix is well conditioned whatever the scene's origin and units (a world
 * origin 1e3 baselines away would otherwise cost ~6 digits).
 */
import type { Vec3 } from './mat3.ts';
import type { RigidPose } from './rigid.ts';

/** Sweeps of the cyclic Jacobi method; a 4x4 converges in ~5, this only bounds pathological input. */
const MAX_JACOBI_SWEEPS = 30;
/** The solution is ambiguous (a pencil of points) when the second-smallest eigenvalue is this small. */
const AMBIGUITY_RATIO = 1e-14;
/** A homogeneous w below this fraction of |xyz| is a point at infinity (rays parallel to machine precision). */
const INFINITY_RATIO = 1e-12;

/**
 * A zeroed 4x4 as a plain array: plain double arrays this small are allocated on V8's heap in nanoseconds,
 * whereas a 128-byte Float64Array gets an off-heap backing store that costs more than the whole solve.
 */
function newScratch16(): number[] {
  return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
}

/**
 * Eigen-decomposition of a symmetric 4x4 matrix (row-major, overwritten) by cyclic Jacobi rotations.
 * On return the diagonal of `a` holds the eigenvalues and the columns of `v` the eigenvectors.
 */
function jacobiEigen4(a: number[], v: number[]): void {
  for (let i = 0; i < 16; i++) v[i] = i % 5 === 0 ? 1 : 0;
  for (let sweep = 0; sweep < MAX_JACOBI_SWEEPS; sweep++) {
    let off = 0, diag = 0;
    for (let p = 0; p < 4; p++) {
      diag += a[p * 5]! * a[p * 5]!;
      for (let q = p + 1; q < 4; q++) off += a[p * 4 + q]! * a[p * 4 + q]!;
    }
    if (off <= 1e-32 * diag || off === 0) return;
    for (let p = 0; p < 3; p++) {
      for (let q = p + 1; q < 4; q++) {
        const apq = a[p * 4 + q]!;
        if (apq === 0) continue;
        const app = a[p * 5]!, aqq = a[q * 5]!;
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A <- J^T A J for the rotation J in the (p, q) plane.
        for (let k = 0; k < 4; k++) {
          const akp = a[k * 4 + p]!, akq = a[k * 4 + q]!;
          a[k * 4 + p] = c * akp - s * akq;
          a[k * 4 + q] = s * akp + c * akq;
        }
        for (let k = 0; k < 4; k++) {
          const apk = a[p * 4 + k]!, aqk = a[q * 4 + k]!;
          a[p * 4 + k] = c * apk - s * aqk;
          a[q * 4 + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < 4; k++) {
          const vkp = v[k * 4 + p]!, vkq = v[k * 4 + q]!;
          v[k * 4 + p] = c * vkp - s * vkq;
          v[k * 4 + q] = s * vkp + c * vkq;
        }
      }
    }
  }
}

/** Adds r r^T (upper triangle suffices, the lower is mirrored before solving) for a 4-vector row. */
function accumulateRow(m: number[], r0: number, r1: number, r2: number, r3: number): void {
  // Rows are scaled to unit length so that every observation weighs the same whatever its image position.
  const n2 = r0 * r0 + r1 * r1 + r2 * r2 + r3 * r3;
  if (!(n2 > 0)) return;
  const k = 1 / n2;
  m[0]! += r0 * r0 * k; m[1]! += r0 * r1 * k; m[2]! += r0 * r2 * k; m[3]! += r0 * r3 * k;
  m[5]! += r1 * r1 * k; m[6]! += r1 * r2 * k; m[7]! += r1 * r3 * k;
  m[10]! += r2 * r2 * k; m[11]! += r2 * r3 * k;
  m[15]! += r3 * r3 * k;
}

/**
 * Adds the two DLT rows of one observation of the pose with centroid shift `c` and scale `s` folded in:
 * P' = [s R | R c + t], rows x P'3 - P'1 and y P'3 - P'2.
 */
function accumulateObservation(m: number[], pose: RigidPose, cx: number, cy: number, cz: number, s: number, x: number, y: number): void {
  const R = pose.rotation, t = pose.translation;
  const t0 = R[0]! * cx + R[1]! * cy + R[2]! * cz + t[0]!;
  const t1 = R[3]! * cx + R[4]! * cy + R[5]! * cz + t[1]!;
  const t2 = R[6]! * cx + R[7]! * cy + R[8]! * cz + t[2]!;
  accumulateRow(m, s * (x * R[6]! - R[0]!), s * (x * R[7]! - R[1]!), s * (x * R[8]! - R[2]!), x * t2 - t0);
  accumulateRow(m, s * (y * R[6]! - R[3]!), s * (y * R[7]! - R[4]!), s * (y * R[8]! - R[5]!), y * t2 - t1);
}

/** Centre -R^T t of a cameraFromWorld pose, written into out at offset. */
function writeCentre(pose: RigidPose, out: number[], offset: number): void {
  const R = pose.rotation, t = pose.translation;
  out[offset] = -(R[0]! * t[0]! + R[3]! * t[1]! + R[6]! * t[2]!);
  out[offset + 1] = -(R[1]! * t[0]! + R[4]! * t[1]! + R[7]! * t[2]!);
  out[offset + 2] = -(R[2]! * t[0]! + R[5]! * t[1]! + R[8]! * t[2]!);
}

/**
 * Solves the accumulated normal matrix for the smallest eigenvector and maps it back to world coordinates;
 * null when the solution is ambiguous or at infinity.
 */
function solveNormalMatrix(m: number[], cx: number, cy: number, cz: number, s: number): Vec3 | null {
  m[4] = m[1]!; m[8] = m[2]!; m[9] = m[6]!; m[12] = m[3]!; m[13] = m[7]!; m[14] = m[11]!;
  const v = newScratch16();
  jacobiEigen4(m, v);
  let smallest = 0, second = -1, largest = 0;
  for (let i = 1; i < 4; i++) {
    if (m[i * 5]! < m[smallest * 5]!) smallest = i;
    if (m[i * 5]! > m[largest * 5]!) largest = i;
  }
  for (let i = 0; i < 4; i++) {
    if (i !== smallest && (second < 0 || m[i * 5]! < m[second * 5]!)) second = i;
  }
  if (!(m[second * 5]! > AMBIGUITY_RATIO * m[largest * 5]!)) return null;
  const X = v[smallest]!, Y = v[4 + smallest]!, Z = v[8 + smallest]!, W = v[12 + smallest]!;
  if (!(Math.abs(W) > INFINITY_RATIO * Math.sqrt(X * X + Y * Y + Z * Z))) return null;
  const k = s / W;
  const out = Float64Array.of(cx + X * k, cy + Y * k, cz + Z * k);
  return Number.isFinite(out[0]!) && Number.isFinite(out[1]!) && Number.isFinite(out[2]!) ? out : null;
}

/**
 * Linear (DLT) triangulation from two views. `x0`, `x1` are normalised image coordinates [x, y] in each camera.
 * Returns null for coincident camera centres, parallel rays (point at infinity) or non-finite input. The point
 * may lie behind a camera: check with depthInCamera.
 */
export function triangulateTwoView(pose0: RigidPose, pose1: RigidPose, x0: ArrayLike<number>, x1: ArrayLike<number>): Vec3 | null {
  const centres = [0, 0, 0, 0, 0, 0];
  writeCentre(pose0, centres, 0);
  writeCentre(pose1, centres, 3);
  const cx = 0.5 * (centres[0]! + centres[3]!), cy = 0.5 * (centres[1]! + centres[4]!), cz = 0.5 * (centres[2]! + centres[5]!);
  const dx = centres[0]! - centres[3]!, dy = centres[1]! - centres[4]!, dz = centres[2]! - centres[5]!;
  // sqrt of the sum, not Math.hypot, which is several times slower in V8 (and overflow is no concern here).
  const s = 0.5 * Math.sqrt(dx * dx + dy * dy + dz * dz);
  if (!(s > 0) || !Number.isFinite(s)) return null;
  const m = newScratch16();
  accumulateObservation(m, pose0, cx, cy, cz, s, x0[0]!, x0[1]!);
  accumulateObservation(m, pose1, cx, cy, cz, s, x1[0]!, x1[1]!);
  return solveNormalMatrix(m, cx, cy, cz, s);
}

/**
 * Linear (DLT) triangulation from any number (>= 2) of views; `normalizedObservations` holds x, y per pose in
 * the same order. Returns null when the centres coincide, the rays are parallel or the system is ambiguous.
 */
export function triangulateMultiView(poses: readonly RigidPose[], normalizedObservations: ArrayLike<number>): Vec3 | null {
  const n = poses.length;
  if (normalizedObservations.length !== 2 * n) {
    throw new RangeError(`triangulateMultiView: ${normalizedObservations.length} coordinates for ${n} poses (need 2 per pose)`);
  }
  if (n < 2) return null;
  const centres = new Array<number>(3 * n).fill(0);
  let cx = 0, cy = 0, cz = 0;
  for (let i = 0; i < n; i++) {
    writeCentre(poses[i]!, centres, 3 * i);
    cx += centres[3 * i]!; cy += centres[3 * i + 1]!; cz += centres[3 * i + 2]!;
  }
  cx /= n; cy /= n; cz /= n;
  let spread = 0;
  for (let i = 0; i < n; i++) {
    spread += (centres[3 * i]! - cx) ** 2 + (centres[3 * i + 1]! - cy) ** 2 + (centres[3 * i + 2]! - cz) ** 2;
  }
  const s = Math.sqrt(spread / n);
  if (!(s > 0) || !Number.isFinite(s)) return null;
  const m = newScratch16();
  for (let i = 0; i < n; i++) {
    accumulateObservation(m, poses[i]!, cx, cy, cz, s, normalizedObservations[2 * i]!, normalizedObservations[2 * i + 1]!);
  }
  return solveNormalMatrix(m, cx, cy, cz, s);
}

/**
 * Angle in degrees (0..180) at `point` between the rays to the two camera centres: the parallax that makes a
 * triangulated depth reliable (COLMAP keeps points above ~1.5 degrees). 0 when the point is at a centre.
 */
export function triangulationAngleDeg(centre0: ArrayLike<number>, centre1: ArrayLike<number>, point: ArrayLike<number>): number {
  const ax = centre0[0]! - point[0]!, ay = centre0[1]! - point[1]!, az = centre0[2]! - point[2]!;
  const bx = centre1[0]! - point[0]!, by = centre1[1]! - point[1]!, bz = centre1[2]! - point[2]!;
  const cx = ay * bz - az * by, cy = az * bx - ax * bz, cz = ax * by - ay * bx;
  const crossNorm = Math.sqrt(cx * cx + cy * cy + cz * cz);
  // atan2(|a x b|, a.b) stays accurate at the small angles that matter here, unlike acos.
  return (Math.atan2(crossNorm, ax * bx + ay * by + az * bz) * 180) / Math.PI;
}

/** Depth (z in the camera frame) of a world point: positive in front of the camera (cheirality). */
export function depthInCamera(cameraFromWorld: RigidPose, point: ArrayLike<number>): number {
  const R = cameraFromWorld.rotation;
  return R[6]! * point[0]! + R[7]! * point[1]! + R[8]! * point[2]! + cameraFromWorld.translation[2]!;
}
