import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.ts';
import { createImage } from '../core/image.ts';
import { IMAGENET_MEAN, IMAGENET_STD, normalizeToNchw, toFloatImage } from './normalize.ts';

describe('toFloatImage', () => {
  it('divides codes by 255 and rounds to float32', () => {
    const image = createImage({ width: 2, height: 1, channels: 3, data: Uint8Array.from([0, 51, 255, 128, 1, 254]) });
    const out = toFloatImage(image);
    assert.deepEqual([...out.data], [0, 0.2, 1, 128 / 255, 1 / 255, 254 / 255].map(Math.fround));
    assert.equal(out.channels, 3);
    assert.equal(out.width, 2);
  });
  it('gives float32(code / 255) for all 256 codes', () => {
    const all = createImage({ width: 256, height: 1, channels: 1, data: Uint8Array.from({ length: 256 }, (_, i) => i) });
    const out = toFloatImage(all).data;
    for (let code = 0; code < 256; code++) assert.equal(out[code], Math.fround(code / 255));
  });
});

describe('normalizeToNchw', () => {
  it('writes planar NCHW with (v - mean) / std per channel', () => {
    // 2x1 image, pixel 0 = (0.1, 0.2, 0.3), pixel 1 = (0.4, 0.5, 0.6).
    const data = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    const out = normalizeToNchw({ width: 2, height: 1, channels: 3, data }, [0.5, 0.25, 0], [2, 0.5, 1]);
    const expected = [
      (Math.fround(0.1) - 0.5) / 2, (Math.fround(0.4) - 0.5) / 2,
      (Math.fround(0.2) - 0.25) / 0.5, (Math.fround(0.5) - 0.25) / 0.5,
      Math.fround(0.3), Math.fround(0.6),
    ].map(Math.fround);
    assert.deepEqual([...out], expected);
  });

  it('gives the same numbers for uint8 codes as for their float image', () => {
    const data = new Uint8Array(7 * 5 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256;
    const image = createImage({ width: 7, height: 5, channels: 3, data });
    assert.deepEqual(normalizeToNchw(image, IMAGENET_MEAN, IMAGENET_STD), normalizeToNchw(toFloatImage(image), IMAGENET_MEAN, IMAGENET_STD));
  });

  it('maps ImageNet black and white to the known extremes', () => {
    const image = createImage({ width: 2, height: 1, channels: 3, data: Uint8Array.from([0, 0, 0, 255, 255, 255]) });
    const out = normalizeToNchw(image, IMAGENET_MEAN, IMAGENET_STD);
    // Red plane: (0 - 0.485) / 0.229 = -2.1179..., (1 - 0.485) / 0.229 = 2.2489...
    assert.ok(Math.abs(out[0]! + 2.117904) < 1e-6);
    assert.ok(Math.abs(out[1]! - 2.248908) < 1e-6);
    assert.ok(Math.abs(out[5]! - (1 - 0.406) / 0.225) < 1e-6);
  });

  it('rejects a mean/std count that does not match the channels, or a zero std', () => {
    const image = createImage({ width: 1, height: 1, channels: 3, data: new Uint8Array(3) });
    assert.throws(() => normalizeToNchw(image, [0.5, 0.5], [1, 1]), InputError);
    assert.throws(() => normalizeToNchw(image, [0, 0, 0], [1, 0, 1]), InputError);
    assert.throws(() => normalizeToNchw({ width: 2, height: 1, channels: 3, data: new Float32Array(5) }, [0, 0, 0], [1, 1, 1]), InputError);
  });
});
