/** Averaging rotations. */
import { svd3 } from './fundamental.ts';
import { det3, mul3, transpose3, type Mat3 } from './mat3.ts';

/**
 * Chordal L2 mean of rotations (row-major), optionally weighted: the rotation nearest (Frobenius) to their
 * weighted sum, from its SVD with the sign fixed so that the result is proper.
 */
export function chordalMeanRotation(rotations: readonly Mat3[], weights?: readonly number[]): Mat3 {
  const sum = new Float64Array(9);
  rotations.forEach((r, i) => { for (let k = 0; k < 9; k++) sum[k]! += (weights?.[i] ?? 1) * r[k]!; });
  const { u, v } = svd3(sum);
  let r = mul3(u, transpose3(v));
  if (det3(r) < 0) {
    const flipped = Float64Array.from(u);
    for (let row = 0; row < 3; row++) flipped[row * 3 + 2] = -flipped[row * 3 + 2]!;
    r = mul3(flipped, transpose3(v));
  }
  return r;
}
