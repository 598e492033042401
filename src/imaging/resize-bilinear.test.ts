import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.ts';
import { bilinearTaps, resizeBilinear, type ScalarMap } from './resize-bilinear.ts';

function rampMap(width: number, height: number, f: (x: number, y: number) => number): ScalarMap {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y);
  return { width, height, data };
}

const ramp = (x: number, y: number): number => 0.5 + 0.25 * x + 0.125 * y;

describe('resizeBilinear alignCorners: true', () => {
  it('maps the four corners onto the four corners exactly', () => {
    const src = rampMap(7, 5, (x, y) => Math.sin(x * 1.3 + y * 0.7) * 3);
    for (const [ow, oh] of [[19, 11], [3, 2], [100, 64]] as const) {
      const out = resizeBilinear(src, ow, oh, { alignCorners: true }).data;
      assert.equal(out[0], src.data[0]);
      assert.equal(out[ow - 1], src.data[6]);
      assert.equal(out[(oh - 1) * ow], src.data[4 * 7]);
      assert.equal(out[oh * ow - 1], src.data[34]);
    }
  });

  it('reproduces a linear ramp exactly (to float32 rounding), up and down', () => {
    const src = rampMap(9, 6, ramp);
    for (const [ow, oh] of [[25, 17], [4, 3], [9, 13]] as const) {
      const out = resizeBilinear(src, ow, oh, { alignCorners: true }).data;
      for (let y = 0; y < oh; y++) {
        for (let x = 0; x < ow; x++) {
          const expected = ramp((x * 8) / (ow - 1), (y * 5) / (oh - 1));
          assert.ok(Math.abs(out[y * ow + x]! - expected) < 1e-6, `${ow}x${oh} (${x},${y}): ${out[y * ow + x]} vs ${expected}`);
        }
      }
    }
  });

  it('hits source pixels where the grids coincide: 5 -> 9 keeps every source sample at even outputs', () => {
    const src = rampMap(5, 5, (x, y) => (x * 7 + y * 3) % 5);
    const out = resizeBilinear(src, 9, 9, { alignCorners: true }).data;
    for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) assert.equal(out[2 * y * 9 + 2 * x], src.data[y * 5 + x]);
    // Odd outputs are midpoints.
    assert.equal(out[1], (src.data[0]! + src.data[1]!) / 2);
  });

  it('maps a 1-pixel output to the first source pixel and a 1-pixel source to a constant', () => {
    const src = rampMap(4, 3, ramp);
    assert.deepEqual([...resizeBilinear(src, 1, 1, { alignCorners: true }).data], [src.data[0]]);
    const one = resizeBilinear({ width: 1, height: 1, data: Float32Array.from([2.5]) }, 3, 2, { alignCorners: true }).data;
    assert.deepEqual([...one], [2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
  });
});

describe('resizeBilinear alignCorners: false (half-pixel)', () => {
  it('reproduces a linear ramp inside the image and clamps outside it', () => {
    const w = 8;
    const h = 6;
    const src = rampMap(w, h, ramp);
    const ow = 20;
    const oh = 15;
    const out = resizeBilinear(src, ow, oh, { alignCorners: false }).data;
    const clampX = (x: number): number => Math.min(Math.max(x, 0), w - 1);
    const clampY = (y: number): number => Math.min(Math.max(y, 0), h - 1);
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const sx = clampX(((x + 0.5) * w) / ow - 0.5);
        const sy = clampY(((y + 0.5) * h) / oh - 0.5);
        assert.ok(Math.abs(out[y * ow + x]! - ramp(sx, sy)) < 1e-6, `(${x},${y})`);
      }
    }
  });

  it('averages 2x2 blocks on an exact 2x downscale', () => {
    const src = rampMap(4, 2, (x, y) => x * x + 10 * y);
    const out = resizeBilinear(src, 2, 1, { alignCorners: false }).data;
    assert.deepEqual([...out], [(0 + 1 + 10 + 11) / 4, (4 + 9 + 14 + 19) / 4]);
  });
});

describe('resizeBilinear shared behaviour', () => {
  it('is the identity for the same size, both modes', () => {
    const src = rampMap(6, 4, (x, y) => Math.cos(x + 2 * y));
    assert.deepEqual(resizeBilinear(src, 6, 4, { alignCorners: true }).data, src.data);
    assert.deepEqual(resizeBilinear(src, 6, 4, { alignCorners: false }).data, src.data);
  });

  it('spreads NaN to every output whose 2x2 stencil holds it, even at zero weight (as torch does)', () => {
    const src = rampMap(5, 5, () => 1);
    src.data[2 * 5 + 2] = Number.NaN;
    const out = resizeBilinear(src, 9, 9, { alignCorners: true }).data;
    const at = (x: number, y: number): number => out[y * 9 + x]!;
    assert.ok(Number.isNaN(at(4, 4))); // exactly on the NaN
    assert.ok(Number.isNaN(at(2, 4))); // on source (1, 2), whose right neighbour (weight 0) is NaN
    assert.equal(at(6, 4), 1); // on source (3, 2): stencil (3..4, 2..3) has no NaN
    assert.equal(at(0, 0), 1);
    let nanCount = 0;
    for (const v of out) if (Number.isNaN(v)) nanCount++;
    assert.equal(nanCount, 4 * 4); // outputs 2..5 on each axis
  });

  it('exposes its taps: corner-aligned 3 -> 5 lands on 0, 0.5, 1, 1.5, 2', () => {
    const taps = bilinearTaps(3, 5, true);
    assert.deepEqual([...taps.i0], [0, 0, 1, 1, 2]);
    assert.deepEqual([...taps.i1], [1, 1, 2, 2, 2]);
    assert.deepEqual([...taps.t], [0, 0.5, 0, 0.5, 0]);
  });

  it('rejects bad sizes with InputError', () => {
    const src = rampMap(3, 3, ramp);
    assert.throws(() => resizeBilinear(src, 0, 4, { alignCorners: true }), InputError);
    assert.throws(() => resizeBilinear({ width: 3, height: 3, data: new Float32Array(8) }, 4, 4, { alignCorners: true }), InputError);
  });
});
