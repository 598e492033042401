import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.ts';
import { IMAGENET_MEAN, IMAGENET_STD, normalizeToNchw, toFloatImage } from './normalize.ts';
import { bicubicTaps, cubicWeights, resizeBicubic, resizeNormalizeToNchw, type HwcFloatImage } from './resize-bicubic.ts';
import { noise } from '../../test/helpers/noise.ts';

function codes(n: number, seed: number): Uint8Array {
  return Uint8Array.from(noise(n, seed), (v) => Math.floor(v * 256));
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('cubicWeights (OpenCV interpolateCubic, a = -0.75)', () => {
  it('is [0, 1, 0, 0] at offset 0', () => {
    assert.deepEqual([...cubicWeights(0)], [0, 1, 0, 0]);
  });
  it('matches the Keys kernel worked by hand at offset 0.75 and 0.25', () => {
    // W(d) = (a+2)|d|^3 - (a+3)|d|^2 + 1 for |d| <= 1, a|d|^3 - 5a|d|^2 + 8a|d| - 4a for 1 < |d| < 2.
    // Offset 0.75: distances 1.75, 0.75, 0.25, 1.25 -> -0.03515625, 0.26171875, 0.87890625, -0.10546875.
    assert.deepEqual([...cubicWeights(0.75)], [-0.03515625, 0.26171875, 0.87890625, -0.10546875]);
    assert.deepEqual([...cubicWeights(0.25)], [-0.10546875, 0.87890625, 0.26171875, -0.03515625]);
  });
});

describe('bicubicTaps', () => {
  it('uses half-pixel centres and clamps taps to the edge (replicate)', () => {
    // 4 -> 8: output 0 sits at source -0.25 -> floor -1, fraction 0.75, taps -2..1 -> clamped 0,0,0,1.
    const taps = bicubicTaps(4, 8);
    assert.deepEqual([...taps.index.subarray(0, 4)], [0, 0, 0, 1]);
    assert.deepEqual([...taps.weight.subarray(0, 4)], [-0.03515625, 0.26171875, 0.87890625, -0.10546875]);
    // Output 7 sits at 3.25 -> taps 2..5 -> 2,3,3,3.
    assert.deepEqual([...taps.index.subarray(28, 32)], [2, 3, 3, 3]);
  });
});

describe('resizeBicubic', () => {
  it('reproduces a hand-computed 1D upscale, border included', () => {
    const image: HwcFloatImage = { width: 4, height: 1, channels: 1, data: Float32Array.from([1, 2, 4, 8]) };
    const out = resizeBicubic(image, 8, 1);
    // Output 0: taps (0,0,0,1) -> 1*(-0.03515625 + 0.26171875 + 0.87890625) + 2*(-0.10546875) = 0.89453125.
    assert.equal(out.data[0], 0.89453125);
    // Output 3: source 1.25 -> taps 0..3, weights of offset 0.25:
    // -0.10546875*1 + 0.87890625*2 + 0.26171875*4 - 0.03515625*8 = 2.41796875.
    assert.equal(out.data[3], 2.41796875);
  });

  it('does not antialias: a 4x downscale reads only the 4 nearest source samples', () => {
    const a = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    const b = Float32Array.from([0, 1, 2, 3, 90, 91, 92, 93]);
    // 8 -> 2: output 0 sits at 1.5 -> taps 0..3 only.
    const outA = resizeBicubic({ width: 8, height: 1, channels: 1, data: a }, 2, 1);
    const outB = resizeBicubic({ width: 8, height: 1, channels: 1, data: b }, 2, 1);
    assert.equal(outA.data[0], outB.data[0]);
    assert.equal(outA.data[0], 1.5); // symmetric taps on a ramp
  });

  it('keeps a constant image constant, up and down, any channel count', () => {
    for (const [w, h, ow, oh, c] of [[13, 7, 29, 3, 1], [40, 30, 17, 61, 3], [5, 9, 5, 20, 4], [9, 4, 2, 2, 5]] as const) {
      const data = new Float32Array(w * h * c);
      for (let i = 0; i < data.length; i++) data[i] = 0.25 + 0.125 * (i % c);
      const out = resizeBicubic({ width: w, height: h, channels: c, data }, ow, oh);
      assert.equal(out.data.length, ow * oh * c);
      for (let i = 0; i < out.data.length; i++) {
        assert.ok(Math.abs(out.data[i]! - (0.25 + 0.125 * (i % c))) < 1e-6, `${w}x${h}->${ow}x${oh} c${c} at ${i}: ${out.data[i]}`);
      }
    }
  });

  it('returns a copy for the identity size', () => {
    const data = noise(6 * 5 * 3, 7);
    const out = resizeBicubic({ width: 6, height: 5, channels: 3, data }, 6, 5);
    assert.deepEqual(out.data, data);
    assert.notEqual(out.data, data);
  });

  it('is mirror-symmetric (half-pixel mapping centred on the image)', () => {
    const w = 11;
    const h = 6;
    const data = noise(w * h, 3);
    const mirrored = new Float32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mirrored[y * w + (w - 1 - x)] = data[y * w + x]!;
    for (const ow of [4, 7, 23]) {
      const a = resizeBicubic({ width: w, height: h, channels: 1, data }, ow, 9).data;
      const b = resizeBicubic({ width: w, height: h, channels: 1, data: mirrored }, ow, 9).data;
      for (let y = 0; y < 9; y++) {
        for (let x = 0; x < ow; x++) assert.ok(Math.abs(a[y * ow + x]! - b[y * ow + (ow - 1 - x)]!) < 1e-6);
      }
    }
  });

  it('is separable: resizing x then y equals resizing both at once', () => {
    const data = noise(17 * 12 * 2, 11);
    const image = { width: 17, height: 12, channels: 2, data };
    const both = resizeBicubic(image, 9, 25).data;
    const xThenY = resizeBicubic(resizeBicubic(image, 9, 12), 9, 25).data;
    assert.ok(maxAbs(both, xThenY) < 1e-6);
  });

  it('rejects bad sizes and data lengths with InputError', () => {
    const image = { width: 2, height: 2, channels: 1, data: new Float32Array(4) };
    assert.throws(() => resizeBicubic(image, 0, 3), InputError);
    assert.throws(() => resizeBicubic(image, 2.5, 3), InputError);
    assert.throws(() => resizeBicubic({ ...image, data: new Float32Array(3) }, 3, 3), InputError);
  });
});

describe('resizeNormalizeToNchw (fused hot path)', () => {
  it('is bit-identical to toFloatImage -> resizeBicubic -> normalizeToNchw', () => {
    const cases = [
      [64, 36, 46, 26, 3],
      [31, 47, 70, 14, 3],
      [20, 20, 20, 33, 3],
      [25, 16, 9, 40, 1],
      [12, 9, 30, 7, 4],
    ] as const;
    for (const [w, h, ow, oh, c] of cases) {
      const image = { width: w, height: h, channels: c, colorSpace: 'srgb' as const, data: codes(w * h * c, w * 131 + h) };
      const mean = [0.485, 0.456, 0.406, 0.5].slice(0, c);
      const std = [0.229, 0.224, 0.225, 0.25].slice(0, c);
      const fused = resizeNormalizeToNchw(image, ow, oh, mean, std);
      const chained = normalizeToNchw(resizeBicubic(toFloatImage(image), ow, oh), mean, std);
      assert.deepEqual(fused, chained, `${w}x${h}x${c} -> ${ow}x${oh}`);
    }
  });

  it('is bit-identical to the chain for the identity size', () => {
    const image = { width: 14, height: 10, channels: 3 as const, colorSpace: 'srgb' as const, data: codes(14 * 10 * 3, 5) };
    assert.deepEqual(
      resizeNormalizeToNchw(image, 14, 10, IMAGENET_MEAN, IMAGENET_STD),
      normalizeToNchw(resizeBicubic(toFloatImage(image), 14, 10), IMAGENET_MEAN, IMAGENET_STD),
    );
  });

  it('maps a constant grey to (v - mean) / std in every plane', () => {
    const image = { width: 8, height: 6, channels: 3 as const, colorSpace: 'srgb' as const, data: new Uint8Array(8 * 6 * 3).fill(128) };
    const out = resizeNormalizeToNchw(image, 5, 11, IMAGENET_MEAN, IMAGENET_STD);
    for (let c = 0; c < 3; c++) {
      const expected = (128 / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
      for (let i = 0; i < 55; i++) assert.ok(Math.abs(out[c * 55 + i]! - expected) < 2e-6);
    }
  });

  it('rejects a mean/std that does not match the channels', () => {
    const image = { width: 2, height: 2, channels: 3 as const, colorSpace: 'srgb' as const, data: new Uint8Array(12) };
    assert.throws(() => resizeNormalizeToNchw(image, 3, 3, [0.5], [0.5]), InputError);
  });
});
