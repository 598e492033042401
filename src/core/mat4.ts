/**
 * 4x4 rigid/affine transforms as row-major Float64Array(16): element (row r, col c) is at r*4 + c.
 * Names follow `<to>From<from>`, so `mul(worldFromCamera, cameraFromPoint)` gives `worldFromPoint`.
 * Conversion to column-major (three.js, WGSL) happens only in web/.
 */
export type Mat4 = Float64Array;

export function identity4(): Mat4 {
  const m = new Float64Array(16);
  m[0] = m[5] = m[10] = m[15] = 1;
  return m;
}

/** Builds a rigid transform from a row-major 3x3 rotation and a translation. */
export function fromRotationTranslation(rotation: ArrayLike<number>, translation: ArrayLike<number>): Mat4 {
  const m = identity4();
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) m[r * 4 + c] = rotation[r * 3 + c]!;
    m[r * 4 + 3] = translation[r]!;
  }
  return m;
}

export function mul4(a: Mat4, b: Mat4): Mat4 {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r * 4 + k]! * b[k * 4 + c]!;
      out[r * 4 + c] = s;
    }
  }
  return out;
}

/** Inverse of a rigid transform [R t; 0 1] -> [R^T, -R^T t; 0 1]. Callers must pass a rigid transform. */
export function invertRigid(m: Mat4): Mat4 {
  const out = identity4();
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out[r * 4 + c] = m[c * 4 + r]!;
  }
  for (let r = 0; r < 3; r++) {
    out[r * 4 + 3] = -(out[r * 4]! * m[3]! + out[r * 4 + 1]! * m[7]! + out[r * 4 + 2]! * m[11]!);
  }
  return out;
}

/** Applies m to the point (x, y, z, 1) and writes x', y', z' into out at offset. */
export function transformPoint(m: Mat4, x: number, y: number, z: number, out: Float32Array | Float64Array, offset = 0): void {
  out[offset] = m[0]! * x + m[1]! * y + m[2]! * z + m[3]!;
  out[offset + 1] = m[4]! * x + m[5]! * y + m[6]! * z + m[7]!;
  out[offset + 2] = m[8]! * x + m[9]! * y + m[10]! * z + m[11]!;
}
