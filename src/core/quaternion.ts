/**
 * Rotations as unit quaternions (w, x, y, z), Hamilton convention, as COLMAP's images.txt writes QW QX QY QZ.
 * Rotation matrices are row-major 3x3 (element (r, c) at r*3 + c). Lives in core because both io (COLMAP files)
 * and geometry need it.
 */
/** Unit quaternion (w, x, y, z) with w >= 0 (Hamilton convention, as COLMAP's images.txt QW QX QY QZ). */
export function quaternionFromRotation(r: ArrayLike<number>): Float64Array {
  const out = new Float64Array(4);
  writeQuaternionFromRotation(r[0]!, r[1]!, r[2]!, r[3]!, r[4]!, r[5]!, r[6]!, r[7]!, r[8]!, out, 0);
  return out;
}

/**
 * quaternionFromRotation for the row-major entries m00..m22, written into out[offset..offset+3] without allocating
 * (for per-element loops). Shepperd's method: the largest of w, x, y, z is computed first, for accuracy.
 */
export function writeQuaternionFromRotation(
  m00: number, m01: number, m02: number, m10: number, m11: number, m12: number, m20: number, m21: number, m22: number,
  out: Float32Array | Float64Array, offset: number,
): void {
  const trace = m00 + m11 + m22;
  let w: number, x: number, y: number, z: number;
  if (trace > 0) {
    const s = Math.sqrt(trace + 1) * 2;
    w = 0.25 * s; x = (m21 - m12) / s; y = (m02 - m20) / s; z = (m10 - m01) / s;
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    w = (m21 - m12) / s; x = 0.25 * s; y = (m01 + m10) / s; z = (m02 + m20) / s;
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    w = (m02 - m20) / s; x = (m01 + m10) / s; y = 0.25 * s; z = (m12 + m21) / s;
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    w = (m10 - m01) / s; x = (m02 + m20) / s; y = (m12 + m21) / s; z = 0.25 * s;
  }
  const n = Math.sqrt(w * w + x * x + y * y + z * z) * (w < 0 ? -1 : 1);
  out[offset] = w / n; out[offset + 1] = x / n; out[offset + 2] = y / n; out[offset + 3] = z / n;
}

/** Rotation from a quaternion (w, x, y, z); the quaternion need not be unit length. */
export function rotationFromQuaternion(q: ArrayLike<number>): Float64Array {
  const n = Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!);
  const w = q[0]! / n, x = q[1]! / n, y = q[2]! / n, z = q[3]! / n;
  return Float64Array.of(
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  );
}

