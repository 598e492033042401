import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { readExifCamera } from '../io/exif-camera.ts';
import { DEFAULT_FOCAL_FACTOR, intrinsicsPrior } from './camera-prior.ts';

test('EXIF focal lengths are read from a JPEG written by libvips', async () => {
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080' } })
    .jpeg()
    .withExif({ IFD0: { Make: 'Acme', Model: 'Cam 1' }, IFD2: { FocalLength: '4.25', FocalLengthIn35mmFilm: '28' } })
    .toBuffer();
  const exif = await readExifCamera(jpeg);
  assert.deepEqual({ make: exif.make, model: exif.model, mm: exif.focalLengthMm, mm35: exif.focalLength35mm }, {
    make: 'Acme', model: 'Cam 1', mm: 4.25, mm35: 28,
  });
  const plain = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer();
  assert.deepEqual(await readExifCamera(plain), {});
  assert.deepEqual(await readExifCamera(new Uint8Array([1, 2, 3])), {});
});

test('35 mm-equivalent focal: a 3:2 image at 36 mm equivalent has a focal of exactly its width', () => {
  // On 36 x 24 mm film a 36 mm lens has focal = image width; the diagonal rule gives the same for 3:2 images.
  const prior = intrinsicsPrior(3000, 2000, { focalLength35mm: 36 });
  assert.equal(prior.source, 'exif35mm');
  assert.ok(Math.abs(prior.intrinsics.fxPx - 3000) < 1e-9);
  assert.equal(prior.intrinsics.cxPx, 1499.5);
});

test('focal-plane resolution wins over the 35 mm value and scales with a resized image', () => {
  // 5 mm lens, 200 px/mm on a sensor 4000 px wide: 1000 px at full size, 500 px at half size.
  const exif = { focalLengthMm: 5, focalPlanePxPerMm: 200, exifImageWidth: 4000, focalLength35mm: 24 };
  assert.ok(Math.abs(intrinsicsPrior(4000, 3000, exif).intrinsics.fxPx - 1000) < 1e-9);
  const half = intrinsicsPrior(2000, 1500, exif);
  assert.equal(half.source, 'exifFocalPlane');
  assert.ok(Math.abs(half.intrinsics.fxPx - 500) < 1e-9);
});

test('user intrinsics, then a FOV, then the COLMAP-like default prior', () => {
  const user = intrinsicsPrior(640, 480, { focalLength35mm: 30 }, { user: { fxPx: 525, fyPx: 526, cxPx: 319.5, cyPx: 239.5 } });
  assert.deepEqual([user.source, user.intrinsics.fxPx, user.intrinsics.fyPx], ['user', 525, 526]);
  const fov = intrinsicsPrior(640, 480, {}, { fovXDeg: 90 });
  assert.ok(Math.abs(fov.intrinsics.fxPx - 320) < 1e-9);
  const fallback = intrinsicsPrior(640, 480, {});
  assert.deepEqual([fallback.source, fallback.intrinsics.fxPx], ['fovPrior', DEFAULT_FOCAL_FACTOR * 640]);
});
