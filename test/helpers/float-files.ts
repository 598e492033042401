/** Float arrays exchanged with the Python reference scripts. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/** A raw little-endian float32 file (numpy `.tofile`). */
export function readF32(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** Largest |a[i] - b[i]|; NaN anywhere makes it NaN-proof infinite (fails any threshold). */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d;
  }
  return m;
}
