import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createResizeWorkspace } from './resize-kernels.ts';
import { resizeNormalizeToNchw } from '../resize-bicubic.ts';
import { resizeBilinear } from '../resize-bilinear.ts';
import { compileWat, embeddedModuleSource, WASM_KERNELS } from '../../../tools/wasm-kernels.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = s & 255;
  }
  return out;
}

function assertBitIdentical(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) assert.fail(`${what}: element ${i} differs: ${actual[i]} vs ${expected[i]}`);
  }
}

const workspace = createResizeWorkspace();

test('the committed kernel module matches its .wat source (npm run build:wasm)', async () => {
  for (const kernel of WASM_KERNELS) {
    const bytes = await compileWat(await readFile(path.join(repo, kernel.wat), 'utf8'), kernel.wat);
    assert.equal(await readFile(path.join(repo, kernel.ts), 'utf8'), embeddedModuleSource(kernel, bytes), `${kernel.ts} is stale`);
  }
});

test('WebAssembly SIMD is available here, so the fast path is what the other tests check', () => {
  assert.ok(workspace !== undefined);
});

test('bicubic resize + normalise: the SIMD kernels equal the TypeScript loops bit for bit (down, up, odd sizes, reused workspace)', () => {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const cases: [number, number, number, number][] = [[1280, 720, 924, 518], [640, 480, 686, 518], [37, 23, 51, 17], [5, 4, 3, 9], [300, 200, 299, 201]];
  for (const [w, h, ow, oh] of cases) {
    const image = { width: w, height: h, channels: 3 as const, data: randomBytes(w * h * 3, w * 31 + h) };
    const expected = resizeNormalizeToNchw(image, ow, oh, mean, std);
    const actual = resizeNormalizeToNchw(image, ow, oh, mean, std, undefined, workspace);
    assertBitIdentical(actual, expected, `${w}x${h} -> ${ow}x${oh}`);
  }
});

test('bilinear upsample (align corners and half-pixel): the SIMD kernels equal the TypeScript loops bit for bit, NaN spreads the same', () => {
  const cases: [number, number, number, number][] = [[924, 518, 1280, 720], [37, 24, 81, 45], [10, 10, 7, 3], [1, 5, 4, 9]];
  for (const [w, h, ow, oh] of cases) {
    const bytes = randomBytes(w * h, w + 7 * h);
    const data = Float32Array.from(bytes, (b) => b / 17 - 3.3);
    data[Math.floor(data.length / 3)] = NaN;
    for (const alignCorners of [true, false]) {
      const expected = resizeBilinear({ width: w, height: h, data }, ow, oh, { alignCorners }).data;
      const actual = resizeBilinear({ width: w, height: h, data }, ow, oh, { alignCorners, workspace }).data;
      assertBitIdentical(actual, expected, `${w}x${h} -> ${ow}x${oh} alignCorners=${alignCorners}`);
    }
  }
});
