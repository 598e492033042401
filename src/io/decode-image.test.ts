import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { encode as encodePng } from 'fast-png';
import { FormatError, InputError } from '../core/errors.ts';
import { decodeImage, readImageHeader, sizeWithinLongSide } from './decode-image.ts';
import { DEBIAN_PYTHON, SHARED_DATA_DIR } from '../../test/helpers/paths.ts';

const NYU_JPG = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/rgb/rgb_00000.jpg');
const KITTI_PNG = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/kitti_demo/rgb/0000000005.png');
const NYU_DEPTH16 = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/depth/sync_depth_00000.png');
const LEGO_RGBA = path.join(SHARED_DATA_DIR, 'nerf_synthetic_lego_shouxieai/data/nerf_synthetic/lego/train/r_0.png');
const CHAIRS_PPM = path.join(SHARED_DATA_DIR, 'flyingchairs_flownet2/data/FlyingChairs_examples/0000000-img0.ppm');

const haveData = existsSync(NYU_JPG);
const havePython = existsSync(DEBIAN_PYTHON);

/**
 * Reference decodes by OpenCV, one Python process for all files (cv2 takes about a second to import):
 * cv2.imread(IMREAD_COLOR) as RGB bytes, and for 16-bit files IMREAD_UNCHANGED as little-endian uint16.
 */
async function cv2Reference(rgbFiles: string[], uint16Files: string[]): Promise<{ rgb: Buffer[]; uint16: Uint16Array[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-cv2-'));
  try {
    execFileSync(DEBIAN_PYTHON, ['-c', [
      'import cv2, sys, json',
      'rgb, u16, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]',
      'for i, f in enumerate(rgb):',
      '    a = cv2.imread(f, cv2.IMREAD_COLOR); open(f"{out}/rgb{i}", "wb").write(a[:, :, ::-1].tobytes())',
      'for i, f in enumerate(u16):',
      '    a = cv2.imread(f, cv2.IMREAD_UNCHANGED); assert a.dtype.name == "uint16", a.dtype',
      '    open(f"{out}/u16_{i}", "wb").write(a.astype("<u2").tobytes())',
    ].join('\n'), JSON.stringify(rgbFiles), JSON.stringify(uint16Files), dir]);
    const rgb = await Promise.all(rgbFiles.map((_, i) => readFile(path.join(dir, `rgb${i}`))));
    const uint16 = await Promise.all(uint16Files.map(async (_, i) => {
      const raw = await readFile(path.join(dir, `u16_${i}`));
      return new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
    }));
    return { rgb, uint16 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-decode-'));
  try { await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

function assertBytesEqual(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A PNG with a valid IHDR for width x height RGB 8-bit, and a tiny (wrong-size) IDAT. */
function pngWithHeader(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    data.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('real JPEG, PNG, RGBA PNG, PPM and 16-bit PNG decode like cv2.imread', { skip: !haveData || !havePython }, async (t) => {
  const rgbFiles = [NYU_JPG, KITTI_PNG, LEGO_RGBA, CHAIRS_PPM];
  const reference = await cv2Reference(rgbFiles, [NYU_DEPTH16]);
  await t.test('8-bit files give the same RGB bytes (alpha dropped)', async () => {
    for (const [i, file] of rgbFiles.entries()) {
      const image = await decodeImage({ path: file });
      assert.equal(image.channels, 3);
      assert.equal(image.colorSpace, 'srgb');
      assertBytesEqual(image.data, reference.rgb[i]!, path.basename(file));
    }
    const nyu = await decodeImage({ path: NYU_JPG });
    assert.deepEqual([nyu.width, nyu.height], [640, 480]);
  });
  await t.test('16-bit greyscale PNG is expanded to RGB keeping the high byte of each sample', async () => {
    const image = await decodeImage({ path: NYU_DEPTH16 });
    const values = reference.uint16[0]!;
    assert.equal(values.length, image.width * image.height);
    let nonZero = 0;
    for (let i = 0; i < values.length; i++) {
      const expected = values[i]! >> 8;
      if (expected) nonZero++;
      for (let c = 0; c < 3; c++) {
        if (image.data[i * 3 + c] !== expected) assert.fail(`pixel ${i} channel ${c}: ${image.data[i * 3 + c]} vs ${expected}`);
      }
    }
    assert.ok(nonZero > 1000, 'the reference has non-trivial high bytes');
  });
});

test('8-bit greyscale, grey+alpha and palette PNGs become 3-channel RGB', async () => {
  const grey = new Uint8Array(7 * 5).map((_, i) => i * 7);
  const greyPng = encodePng({ width: 7, height: 5, data: grey, depth: 8, channels: 1 });
  const image = await decodeImage({ bytes: greyPng, name: 'grey.png' });
  assert.deepEqual([image.width, image.height, image.channels], [7, 5, 3]);
  for (let i = 0; i < grey.length; i++) {
    assert.deepEqual([...image.data.subarray(i * 3, i * 3 + 3)], [grey[i], grey[i], grey[i]]);
  }
  const greyAlpha = new Uint8Array(7 * 5 * 2).map((_, i) => (i % 2 === 0 ? i : 17));
  const ga = await decodeImage({ bytes: encodePng({ width: 7, height: 5, data: greyAlpha, depth: 8, channels: 2 }), name: 'ga.png' });
  for (let i = 0; i < 35; i++) assert.equal(ga.data[i * 3 + 1], greyAlpha[i * 2], 'alpha dropped, grey kept');
  const rgb = new Uint8Array(4 * 3 * 3).map((_, i) => (i * 37) % 256);
  const palette = await sharp(Buffer.from(rgb), { raw: { width: 4, height: 3, channels: 3 } }).png({ palette: true, colours: 256, dither: 0 }).toBuffer();
  const decoded = await decodeImage({ bytes: palette, name: 'palette.png' });
  assert.deepEqual([decoded.width, decoded.height, decoded.channels], [4, 3, 3]);
  let maxDiff = 0;
  for (let i = 0; i < rgb.length; i++) maxDiff = Math.max(maxDiff, Math.abs(decoded.data[i]! - rgb[i]!));
  assert.ok(maxDiff <= 8, `palette quantisation stays close (max diff ${maxDiff})`);
});

test('alpha: flattenWhite / flattenBlack composite over the background; drop keeps the stored colour', async () => {
  // Pixel 0 opaque red, pixel 1 fully transparent green, pixel 2 half-transparent blue.
  const rgba = Uint8Array.of(255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 128);
  const png = encodePng({ width: 3, height: 1, data: rgba, depth: 8, channels: 4 });
  const dropped = await decodeImage({ bytes: png, name: 'a.png' });
  assert.deepEqual([...dropped.data], [255, 0, 0, 0, 255, 0, 0, 0, 255]);
  const white = await decodeImage({ bytes: png, name: 'a.png' }, { alpha: 'flattenWhite' });
  assert.deepEqual([...white.data.subarray(0, 6)], [255, 0, 0, 255, 255, 255]);
  // 50% blue over white: (127, 127, 255) within rounding.
  for (const [i, v] of [[6, 127], [7, 127], [8, 255]] as const) assert.ok(Math.abs(white.data[i]! - v) <= 1, `channel ${i}: ${white.data[i]}`);
  const black = await decodeImage({ bytes: png, name: 'a.png' }, { alpha: 'flattenBlack' });
  assert.deepEqual([...black.data.subarray(0, 6)], [255, 0, 0, 0, 0, 0]);
  assert.ok(Math.abs(black.data[8]! - 128) <= 1);
});

test('EXIF orientation 6 is applied: width and height swap and pixels are rotated 90 degrees clockwise', async () => {
  // An asymmetric 6x4 image, stored losslessly-ish as high-quality JPEG; compare against the same bytes without orientation.
  const w = 6, h = 4;
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set([x * 40, y * 60, 200 - x * 10], (y * w + x) * 3);
  const plain = await sharp(Buffer.from(rgb), { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 100 }).toBuffer();
  const rotated = await sharp(plain).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toBuffer();
  const header = await readImageHeader({ bytes: rotated, name: 'rot6.jpg' });
  assert.deepEqual(header, { width: h, height: w, storedWidth: w, storedHeight: h, orientation: 6, format: 'jpeg' });
  // Decode the stored (unrotated) pixels from the rotated file itself by stripping orientation handling.
  const stored = await sharp(rotated, { autoOrient: false }).raw().toBuffer();
  const image = await decodeImage({ bytes: rotated, name: 'rot6.jpg' });
  assert.deepEqual([image.width, image.height], [h, w]);
  // Orientation 6: displayed (dx, dy) = stored (x = dy, y = h - 1 - dx).
  for (let dy = 0; dy < w; dy++) {
    for (let dx = 0; dx < h; dx++) {
      const s = (((h - 1 - dx) * w) + dy) * 3;
      const d = (dy * h + dx) * 3;
      assert.deepEqual([...image.data.subarray(d, d + 3)], [...stored.subarray(s, s + 3)], `displayed pixel ${dx},${dy}`);
    }
  }
});

test('a truncated JPEG or PNG is a FormatError naming the file, not a silently grey image', { skip: !haveData }, async () => {
  await withTempDir(async (dir) => {
    for (const [source, name] of [[NYU_JPG, 'cut.jpg'], [KITTI_PNG, 'cut.png']] as const) {
      const bytes = await readFile(source);
      const file = path.join(dir, name);
      // Cut in the pixel data (header intact) and cut inside the header.
      for (const length of [Math.floor(bytes.length * 0.6), 30]) {
        await writeFile(file, bytes.subarray(0, length));
        await assert.rejects(decodeImage({ path: file }), (error: unknown) => {
          assert.ok(error instanceof FormatError, String(error));
          assert.match(error.message, /corrupt or truncated/);
          assert.ok(error.message.startsWith(`${file}: `), error.message);
          return true;
        });
      }
    }
  });
});

test('corrupt JPEG entropy data fails by default and decodes with strictness "truncated"', { skip: !haveData }, async () => {
  const bytes = Buffer.from(await readFile(NYU_JPG));
  const mid = bytes.length >> 1;
  for (let i = mid; i < mid + 200; i++) bytes[i] = bytes[i]! ^ 0xff;
  await assert.rejects(decodeImage({ bytes, name: 'flipped.jpg' }), FormatError);
  const lenient = await decodeImage({ bytes, name: 'flipped.jpg' }, { strictness: 'truncated' });
  assert.deepEqual([lenient.width, lenient.height], [640, 480]);
});

test('garbage bytes, a text file and an empty file are FormatErrors listing the supported formats', async () => {
  await withTempDir(async (dir) => {
    const garbage = path.join(dir, 'photo.jpg');
    await writeFile(garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)));
    const text = path.join(dir, 'notes.txt');
    await writeFile(text, 'this is not an image\n');
    for (const file of [garbage, text]) {
      await assert.rejects(decodeImage({ path: file }), (error: unknown) => {
        assert.ok(error instanceof FormatError, String(error));
        assert.ok(error.message.includes(file));
        assert.match(error.message, /JPEG, PNG, WebP, TIFF, GIF, AVIF/);
        return true;
      });
    }
    const empty = path.join(dir, 'empty.png');
    await writeFile(empty, '');
    await assert.rejects(decodeImage({ path: empty }), /empty\.png: empty file/);
    const bmp = Buffer.concat([Buffer.from('BM'), Buffer.alloc(100)]);
    await assert.rejects(decodeImage({ bytes: bmp, name: 'x.bmp' }), /BMP is not supported/);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>');
    await assert.rejects(decodeImage({ bytes: svg, name: 'x.svg' }), /svg images are not supported/);
  });
});

test('a missing file and a folder are InputErrors naming the path', async () => {
  await withTempDir(async (dir) => {
    const missing = path.join(dir, 'nope.png');
    await assert.rejects(decodeImage({ path: missing }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.message, `${missing}: cannot read image: no such file.`);
      return true;
    });
    await assert.rejects(decodeImage({ path: dir }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /is a folder/);
      assert.ok(error.message.includes(dir));
      return true;
    });
  });
});

test('a huge-dimension header is refused from the header alone, with the size, the limit and the fix', async () => {
  const huge = pngWithHeader(100_000, 100_000);
  const started = performance.now();
  await assert.rejects(decodeImage({ bytes: huge, name: 'huge.png' }), (error: unknown) => {
    assert.ok(error instanceof InputError, String(error));
    assert.match(error.message, /^huge\.png: image is 100000x100000 = 10000\.0 MP, over the limit of 100\.0 MP \(100000000 pixels\)/);
    assert.match(error.message, /maxPixels/);
    return true;
  });
  assert.ok(performance.now() - started < 1000, 'refused without decoding');
  assert.deepEqual(await readImageHeader({ bytes: huge, name: 'huge.png' }),
    { width: 100_000, height: 100_000, storedWidth: 100_000, storedHeight: 100_000, orientation: 1, format: 'png' });
  // The limit is configurable both ways.
  const small = pngWithHeader(40, 30);
  await assert.rejects(decodeImage({ bytes: small, name: 'small.png' }, { maxPixels: 1000 }), /40x30 = 0\.00 MP, over the limit/);
  await assert.rejects(decodeImage({ bytes: small, name: 'small.png' }, { maxPixels: 0 }), InputError);
  await assert.rejects(decodeImage({ bytes: huge, name: 'huge.png' }, { maxPixelsFlag: '--max-pixels' }),
    /Downscale it, or raise the limit with --max-pixels \(e\.g\. --max-pixels 10000000000\)\.$/);
  assert.deepEqual((await decodeImage({ bytes: encodePng({ width: 40, height: 30, data: new Uint8Array(3600), channels: 3 }), name: 'ok.png' },
    { maxPixels: 1200 })).data.length, 3600, 'exactly at the limit is accepted');
});

test('a zero-width PNG header is a FormatError', async () => {
  await assert.rejects(decodeImage({ bytes: pngWithHeader(0, 10), name: 'zero.png' }), (error: unknown) => {
    assert.ok(error instanceof FormatError, String(error));
    assert.ok(error.message.startsWith('zero.png: '));
    return true;
  });
});

test('binary PGM and 16-bit PPM decode; a truncated PPM is a FormatError', async () => {
  const pgm = Buffer.concat([Buffer.from('P5\n# comment\n3 2\n255\n'), Buffer.from([0, 10, 20, 30, 40, 250])]);
  const grey = await decodeImage({ bytes: pgm, name: 'a.pgm' });
  assert.deepEqual([...grey.data], [0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40, 250, 250, 250]);
  const ppm16 = Buffer.concat([Buffer.from('P6 1 1 65535 '), Buffer.from([0x12, 0x34, 0xff, 0xff, 0x00, 0xff])]);
  assert.deepEqual([...(await decodeImage({ bytes: ppm16, name: 'b.ppm' })).data], [0x12, 0xff, 0x00]);
  await assert.rejects(decodeImage({ bytes: pgm.subarray(0, pgm.length - 1), name: 'c.pgm' }), /c\.pgm: truncated PPM\/PGM data/);
  await assert.rejects(decodeImage({ bytes: Buffer.from('P6\n9 9\n'), name: 'd.ppm' }), FormatError);
});

test('every listed sharp format decodes: lossless WebP and TIFF exactly, GIF and AVIF to the right size', async () => {
  const w = 16, h = 8;
  const rgb = Buffer.from(Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 29) % 256));
  const input = () => sharp(rgb, { raw: { width: w, height: h, channels: 3 } });
  for (const [name, bytes] of [['a.webp', await input().webp({ lossless: true }).toBuffer()], ['a.tiff', await input().tiff({ compression: 'lzw' }).toBuffer()]] as const) {
    const image = await decodeImage({ bytes, name });
    assertBytesEqual(image.data, rgb, name);
  }
  for (const [name, bytes] of [['a.gif', await input().gif().toBuffer()], ['a.avif', await input().avif().toBuffer()]] as const) {
    const image = await decodeImage({ bytes, name });
    assert.deepEqual([image.width, image.height, image.channels, image.data.length], [w, h, 3, w * h * 3], name);
  }
});

test('maxSidePx scales down to the longer side, keeps the aspect, never enlarges; the pixels are a faithful shrink', async () => {
  assert.deepEqual(sizeWithinLongSide(854, 480, 427), { width: 427, height: 240 });
  assert.deepEqual(sizeWithinLongSide(480, 854, 320), { width: 180, height: 320 });
  assert.deepEqual(sizeWithinLongSide(640, 480, 1000), { width: 640, height: 480 });
  assert.deepEqual(sizeWithinLongSide(5000, 2, 100), { width: 100, height: 1 });
  // Left half black, right half white: the shrink keeps the halves (and a grey seam), as any area shrink does.
  const width = 200, height = 100;
  const rgb = new Uint8Array(width * height * 3).map((_, i) => (Math.floor(i / 3) % width < width / 2 ? 0 : 255));
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
  const small = await decodeImage({ bytes: png, name: 'halves.png' }, { maxSidePx: 50 });
  assert.deepEqual([small.width, small.height, small.channels], [50, 25, 3]);
  assert.equal(small.data[(12 * 50 + 5) * 3], 0);
  assert.equal(small.data[(12 * 50 + 44) * 3], 255);
  const same = await decodeImage({ bytes: png, name: 'halves.png' }, { maxSidePx: 400 });
  assert.deepEqual([same.width, same.height], [200, 100]);
  await assert.rejects(decodeImage({ bytes: png, name: 'halves.png' }, { maxSidePx: 0 }), InputError);
});
