import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createImage } from '../core/image.ts';
import { createRng } from '../geometry/random.ts';
import { meanSquaredError, psnr, ssim, SSIM_K1, SSIM_K2 } from './image-metrics.ts';

function randomImage(width: number, height: number, channels: 1 | 3, seed: number) {
  const rng = createRng(seed);
  return createImage({ width, height, channels, data: Float32Array.from({ length: width * height * channels }, () => rng.next()) });
}

test('PSNR of a constant offset d is -20 log10(d); Uint8 codes count as code / 255; identical images give Infinity', () => {
  const a = randomImage(20, 10, 3, 1);
  for (const d of [0.5, 0.1, 0.01, 1 / 255]) {
    const b = createImage({ width: 20, height: 10, channels: 3, data: a.data.map((v) => v + d) });
    assert.ok(Math.abs(psnr(a, b) - -20 * Math.log10(d)) < 1e-4, `d = ${d}`);
  }
  const codes = createImage({ width: 4, height: 4, channels: 1, data: new Uint8Array(16).fill(200) });
  const floats = createImage({ width: 4, height: 4, channels: 1, data: new Float32Array(16).fill(190 / 255) });
  assert.ok(Math.abs(meanSquaredError(codes, floats) - (200 / 255 - Math.fround(190 / 255)) ** 2) < 1e-15);
  assert.equal(psnr(a, a), Infinity);
});

test("metric channels: 'rgb' ignores an RGBA render's alpha; mismatched sizes and channels are refused", () => {
  const rgb = randomImage(12, 12, 3, 2);
  const rgba = createImage({ width: 12, height: 12, channels: 4, data: new Float32Array(12 * 12 * 4) });
  for (let p = 0; p < 144; p++) {
    rgba.data.set(rgb.data.subarray(p * 3, p * 3 + 3), p * 4);
    rgba.data[p * 4 + 3] = 0.3;
  }
  assert.equal(psnr(rgb, rgba, { channels: 'rgb' }), Infinity);
  assert.equal(ssim(rgb, rgba, { channels: 'rgb' }).mean, 1);
  assert.throws(() => psnr(rgb, rgba), /channels/);
  assert.throws(() => psnr(rgb, randomImage(12, 11, 3, 2)), /same size/);
  assert.throws(() => ssim(randomImage(10, 30, 1, 1), randomImage(10, 30, 1, 2)), /11x11/);
});

test('SSIM(x, x) = 1; constant images give (2ab + C1) / (a^2 + b^2 + C1) exactly; symmetric; noise lowers it', () => {
  const x = randomImage(40, 30, 3, 3);
  assert.ok(Math.abs(ssim(x, x).mean - 1) < 1e-12);
  const c1 = SSIM_K1 ** 2;
  // Float32 pixels: the closed form is evaluated at the stored values.
  for (const [a, b] of [[0.2, 0.7], [0.5, 0.5], [0.9, 0.1]].map((pair) => pair.map(Math.fround)) as [number, number][]) {
    const ia = createImage({ width: 16, height: 16, channels: 1, data: new Float32Array(256).fill(a) });
    const ib = createImage({ width: 16, height: 16, channels: 1, data: new Float32Array(256).fill(b) });
    assert.ok(Math.abs(ssim(ia, ib).mean - (2 * a * b + c1) / (a * a + b * b + c1)) < 1e-9);
  }
  const y = randomImage(40, 30, 3, 4);
  const noisy = createImage({ width: 40, height: 30, channels: 3, data: x.data.map((v, i) => 0.8 * v + 0.2 * y.data[i]!) });
  const s = ssim(x, noisy).mean;
  assert.ok(s < 0.99 && s > 0.5, `ssim ${s}`);
  assert.ok(Math.abs(s - ssim(noisy, x).mean) < 1e-12);
});

test('SSIM of an 11x11 image (a single window) equals the 2-D Gaussian-weighted formula written out directly', () => {
  const a = randomImage(11, 11, 1, 5);
  const b = randomImage(11, 11, 1, 6);
  let wsum = 0, ma = 0, mb = 0;
  const w: number[] = [];
  for (let y = 0; y < 11; y++) for (let x = 0; x < 11; x++) {
    const weight = Math.exp(-((x - 5) ** 2 + (y - 5) ** 2) / (2 * 1.5 * 1.5));
    w.push(weight);
    wsum += weight;
  }
  for (let i = 0; i < 121; i++) {
    ma += (w[i]! / wsum) * a.data[i]!;
    mb += (w[i]! / wsum) * b.data[i]!;
  }
  let va = 0, vb = 0, cab = 0;
  for (let i = 0; i < 121; i++) {
    va += (w[i]! / wsum) * (a.data[i]! - ma) ** 2;
    vb += (w[i]! / wsum) * (b.data[i]! - mb) ** 2;
    cab += (w[i]! / wsum) * (a.data[i]! - ma) * (b.data[i]! - mb);
  }
  const c1 = SSIM_K1 ** 2, c2 = SSIM_K2 ** 2;
  const expected = ((2 * ma * mb + c1) * (2 * cab + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
  assert.ok(Math.abs(ssim(a, b).mean - expected) < 1e-9, `${ssim(a, b).mean} vs ${expected}`);
});

test('masks: PSNR over the masked pixels only; SSIM averages the map over window centres in the mask', () => {
  const a = randomImage(30, 20, 3, 7);
  // b equals a on the left half and differs by 0.2 on the right half.
  const b = createImage({ width: 30, height: 20, channels: 3, data: a.data.map((v, i) => (Math.floor(i / 3) % 30 >= 15 ? v + 0.2 : v)) });
  const left = Uint8Array.from({ length: 600 }, (_, p) => (p % 30 < 15 ? 1 : 0));
  const right = left.map((v) => 1 - v);
  assert.equal(psnr(a, b, { mask: left }), Infinity);
  assert.ok(Math.abs(psnr(a, b, { mask: right }) - -20 * Math.log10(0.2)) < 1e-4);
  // Window centres at x <= 4 see only identical pixels: SSIM 1 there (windows reach x <= 9 < 15).
  const farLeft = Uint8Array.from({ length: 600 }, (_, p) => (p % 30 <= 9 ? 1 : 0));
  assert.ok(Math.abs(ssim(a, b, { mask: farLeft }).mean - 1) < 1e-12);
  assert.ok(ssim(a, b, { mask: right }).mean < 1);
  assert.throws(() => psnr(a, b, { mask: new Uint8Array(600) }), /no pixel/);
  assert.throws(() => ssim(a, b, { mask: new Uint8Array(10) }), /mask/);
});
