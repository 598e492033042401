/**
 * Small 3x3 / 3-vector math on row-major Float64Arrays: element (row r, col c) of a Mat3 is at r*3 + c.
 * Rotations are proper (det +1). Heavier linear algebra (SVD, eigen) goes through ml-matrix elsewhere.
 */
import { quaternionFromRotation } from '../core/quaternion.ts';

export { quaternionFromRotation, rotationFromQuaternion } from '../core/quaternion.ts';

export type Mat3 = Float64Array;
export type Vec3 = Float64Array;

export function vec3(x: number, y: number, z: number): Vec3 {
  return Float64Array.of(x, y, z);
}

export function identity3(): Mat3 {
  return Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
}

export function mat3(values: ArrayLike<number>): Mat3 {
  if (values.length !== 9) throw new RangeError(`mat3 needs 9 values, got ${values.length}`);
  return Float64Array.from(values);
}

export function mul3(a: Mat3, b: Mat3): Mat3 {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      out[r * 3 + c] = a[r * 3]! * b[c]! + a[r * 3 + 1]! * b[3 + c]! + a[r * 3 + 2]! * b[6 + c]!;
    }
  }
  return out;
}

export function transpose3(a: Mat3): Mat3 {
  return Float64Array.of(a[0]!, a[3]!, a[6]!, a[1]!, a[4]!, a[7]!, a[2]!, a[5]!, a[8]!);
}

export function mulVec3(a: Mat3, v: ArrayLike<number>): Vec3 {
  const x = v[0]!, y = v[1]!, z = v[2]!;
  return Float64Array.of(
    a[0]! * x + a[1]! * y + a[2]! * z,
    a[3]! * x + a[4]! * y + a[5]! * z,
    a[6]! * x + a[7]! * y + a[8]! * z,
  );
}

export function det3(a: Mat3): number {
  return (
    a[0]! * (a[4]! * a[8]! - a[5]! * a[7]!) -
    a[1]! * (a[3]! * a[8]! - a[5]! * a[6]!) +
    a[2]! * (a[3]! * a[7]! - a[4]! * a[6]!)
  );
}

/** Inverse of a general 3x3 matrix; throws on a singular one. */
export function invert3(a: Mat3): Mat3 {
  const d = det3(a);
  if (!Number.isFinite(d) || Math.abs(d) < 1e-300) throw new RangeError('invert3: singular matrix');
  const inv = 1 / d;
  return Float64Array.of(
    (a[4]! * a[8]! - a[5]! * a[7]!) * inv,
    (a[2]! * a[7]! - a[1]! * a[8]!) * inv,
    (a[1]! * a[5]! - a[2]! * a[4]!) * inv,
    (a[5]! * a[6]! - a[3]! * a[8]!) * inv,
    (a[0]! * a[8]! - a[2]! * a[6]!) * inv,
    (a[2]! * a[3]! - a[0]! * a[5]!) * inv,
    (a[3]! * a[7]! - a[4]! * a[6]!) * inv,
    (a[1]! * a[6]! - a[0]! * a[7]!) * inv,
    (a[0]! * a[4]! - a[1]! * a[3]!) * inv,
  );
}

export function dot3(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
}

export function cross3(a: ArrayLike<number>, b: ArrayLike<number>): Vec3 {
  return Float64Array.of(a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!);
}

export function norm3(a: ArrayLike<number>): number {
  return Math.hypot(a[0]!, a[1]!, a[2]!);
}

export function normalize3(a: ArrayLike<number>): Vec3 {
  const n = norm3(a);
  return Float64Array.of(a[0]! / n, a[1]! / n, a[2]! / n);
}

/** Skew-symmetric matrix [v]x, so that [v]x w = v x w. */
export function skew3(v: ArrayLike<number>): Mat3 {
  return Float64Array.of(0, -v[2]!, v[1]!, v[2]!, 0, -v[0]!, -v[1]!, v[0]!, 0);
}

/** Rotation from an axis-angle vector (direction = axis, length = angle in radians), Rodrigues' formula. */
export function rotationFromAxisAngle(w: ArrayLike<number>): Mat3 {
  const theta = norm3(w);
  if (theta < 1e-12) {
    // First-order expansion keeps the Jacobian right near zero.
    const r = identity3();
    r[1] = -w[2]!; r[2] = w[1]!; r[3] = w[2]!; r[5] = -w[0]!; r[6] = -w[1]!; r[7] = w[0]!;
    return r;
  }
  const kx = w[0]! / theta, ky = w[1]! / theta, kz = w[2]! / theta;
  const c = Math.cos(theta), s = Math.sin(theta), v = 1 - c;
  return Float64Array.of(
    c + kx * kx * v, kx * ky * v - kz * s, kx * kz * v + ky * s,
    ky * kx * v + kz * s, c + ky * ky * v, ky * kz * v - kx * s,
    kz * kx * v - ky * s, kz * ky * v + kx * s, c + kz * kz * v,
  );
}

/** Axis-angle vector of a rotation (inverse of rotationFromAxisAngle), stable near 0 and pi. */
export function axisAngleFromRotation(r: Mat3): Vec3 {
  const q = quaternionFromRotation(r);
  const sinHalf = Math.hypot(q[1]!, q[2]!, q[3]!);
  if (sinHalf < 1e-12) return Float64Array.of(2 * q[1]!, 2 * q[2]!, 2 * q[3]!);
  const angle = 2 * Math.atan2(sinHalf, q[0]!);
  const k = angle / sinHalf;
  return Float64Array.of(q[1]! * k, q[2]! * k, q[3]! * k);
}

/** Angle of a rotation in degrees, from its trace (clamped), e.g. the error angle of R_gt^T R. */
export function rotationAngleDeg(r: Mat3): number {
  const c = Math.min(1, Math.max(-1, (r[0]! + r[4]! + r[8]! - 1) / 2));
  return (Math.acos(c) * 180) / Math.PI;
}

/** Angle between two 3-vectors in degrees (0..180); NaN if either is zero. */
export function angleBetweenDeg(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = norm3(a), nb = norm3(b);
  if (na === 0 || nb === 0) return Number.NaN;
  // atan2 of |a x b| and a.b is accurate at small angles, unlike acos.
  return (Math.atan2(norm3(cross3(a, b)), dot3(a, b)) * 180) / Math.PI;
}
