import { test } from 'node:test';
import assert from 'node:assert/strict';
import { depthCodeKernels } from './depth-codes-kernels.ts';
import { quantizeToUint16Loops } from '../formats/depth-png16.ts';
import { colorCodesInto } from '../formats/depth-color.ts';

/** Maps with the awkward values: NaN, +-Infinity, negatives, a constant run, subnormals, an odd length. */
function awkwardMaps(): Float32Array[] {
  const maps: Float32Array[] = [];
  let s = 12345;
  const rand = (): number => { s = (s * 1103515245 + 12345) >>> 0; return s / 2 ** 32; };
  for (const n of [1, 3, 7, 1001, 1280 * 720]) {
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (rand() - 0.3) * 50;
    if (n > 3) { data[1] = NaN; data[2] = Infinity; data[n - 1] = -Infinity; data[0] = 1e-42; }
    maps.push(data);
  }
  maps.push(new Float32Array(9).fill(2.5)); // all equal: scale 0
  maps.push(new Float32Array([NaN, Infinity, NaN])); // nothing finite
  return maps;
}

const kernels = depthCodeKernels();

test('WebAssembly is available here, so the encoders use the kernels the next tests check', () => {
  assert.ok(kernels !== undefined);
});

test('16-bit codes and range: the kernel equals the TypeScript loops on every value, NaN and infinities included', () => {
  for (const data of awkwardMaps()) {
    const expected = quantizeToUint16Loops(data);
    const actual = kernels!.quantize(data, 65534);
    assert.equal(actual.min, expected.min);
    assert.equal(actual.max, expected.max);
    assert.deepEqual(actual.codes, expected.codes, `n=${data.length}`);
  }
});

test('colour codes: the kernel equals the TypeScript loop (both directions, a zero span), and counts invalid values', () => {
  for (const data of awkwardMaps()) {
    for (const [low, span, inverted] of [[-10, 40, false], [-10, 40, true], [3, 0, false], [0, 1e-3, true]] as const) {
      const expected = new Uint8Array(data.length);
      const expectedInvalid = colorCodesInto(data, expected, low, span, inverted);
      const actual = kernels!.colorCodes(data, low, span, inverted);
      assert.equal(actual.invalidCount, expectedInvalid);
      assert.deepEqual(actual.codes, expected, `n=${data.length} low=${low} span=${span} inverted=${inverted}`);
    }
  }
});
