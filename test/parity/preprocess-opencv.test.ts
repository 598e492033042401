/**
 * Parity of src/imaging with the official Depth Anything chain run by OpenCV/numpy in Debian's python3.
 * Pixels are decoded once here (sharp), and the same uint8 RGB bytes go to test/parity/opencv_reference.py,
 * so decoders cannot make a difference. One Python process serves the whole file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../src/imaging/normalize.ts';
import { resizeBicubic, resizeNormalizeToNchw } from '../../src/imaging/resize-bicubic.ts';
import { resizeBilinear } from '../../src/imaging/resize-bilinear.ts';
import { networkInputSize } from '../../src/models/size-rule.ts';
import { DEBIAN_PYTHON, GENERATED_DIR, REPO_ROOT, SHARED_DATA_DIR } from '../helpers/paths.ts';
import { noise } from '../helpers/noise.ts';

const DA_SPEC = { sizeRule: 'lowerBound', targetPx: 518, multipleOf: 14 } as const;
/** The network input must match the official float64 chain to this (it is ~3e-7 in practice). */
const PREPROCESS_TOLERANCE = 1e-5;

interface ImageCase {
  readonly name: string;
  readonly file: string;
  /** Crop (left, top, width, height) applied to the decoded pixels, for sizes where size rules differ. */
  readonly crop?: { left: number; top: number; width: number; height: number };
  /** Expected network input, when the size is one of DEPTH_REFERENCE.md's table rows. */
  readonly expectedSize?: { width: number; height: number };
}

const DDAD_JPG = 'tri_dgp_unittest_scene01_ddad_rig/tests/data/dgp/test_scene/scene_01/rgb/CAMERA_01/15569195938415230.jpg';
const IMAGE_CASES: readonly ImageCase[] = [
  { name: 'NYU 640x480 JPEG', file: 'metric3d_demo_nyu_kitti/data/nyu_demo/rgb/rgb_00000.jpg', expectedSize: { width: 686, height: 518 } },
  { name: 'KITTI 1242x375 PNG', file: 'metric3d_demo_nyu_kitti/data/kitti_demo/rgb/0000000005.png' },
  { name: 'KITTI 1242x375 PNG #2', file: 'metric3d_demo_nyu_kitti/data/kitti_demo/rgb/0000000100.png' },
  { name: 'Sintel 1024x436 PNG', file: 'sintel_faldoi_ipol/example_data/final/easy/frame_0002.png' },
  { name: 'Middlebury Venus 420x380 PNG (upscale)', file: 'middlebury_flow_other_6869project/other-data/Venus/frame10.png' },
  { name: 'DDAD 1936x1216 JPEG', file: DDAD_JPG },
  { name: 'DDAD crop 1280x720', file: DDAD_JPG, crop: { left: 300, top: 250, width: 1280, height: 720 }, expectedSize: { width: 924, height: 518 } },
  { name: 'DDAD crop 560x400', file: DDAD_JPG, crop: { left: 700, top: 400, width: 560, height: 400 }, expectedSize: { width: 728, height: 518 } },
  { name: 'DDAD crop 400x300', file: DDAD_JPG, crop: { left: 900, top: 500, width: 400, height: 300 }, expectedSize: { width: 686, height: 518 } },
];

/** Float images resized by resizeBicubic vs cv2.resize INTER_CUBIC: borders up and down, odd channel counts. */
const CUBIC_CASES = [
  [7, 5, 23, 17, 1],
  [40, 30, 9, 7, 3],
  [30, 8, 11, 40, 2],
  [200, 3, 7, 50, 1],
  [3, 200, 50, 7, 4],
  [64, 48, 64, 33, 5],
  [2, 2, 9, 9, 3],
  [1, 6, 5, 4, 1],
  [97, 61, 518, 518, 3],
] as const;

/** Bilinear maps: [srcW, srcH, dstW, dstH, alignCorners]. The first is the real postprocess size. */
const BILINEAR_CASES = [
  [924, 518, 1280, 720, true],
  [686, 518, 640, 480, true],
  [37, 23, 10, 61, true],
  [924, 518, 1280, 720, false],
  [37, 23, 10, 61, false],
] as const;

interface Prepared {
  readonly dir: string;
  readonly images: Array<{ c: ImageCase; width: number; height: number; rgb: Uint8Array; outW: number; outH: number; out: string; out32: string }>;
  readonly cubic: Array<{ image: { width: number; height: number; channels: number; data: Float32Array }; outW: number; outH: number; out: string; out64: string }>;
  readonly bilinear: Array<{ map: { width: number; height: number; data: Float32Array }; outW: number; outH: number; align: boolean; out: string; cv2?: string }>;
  readonly versions: { numpy: string; cv2: string };
}

/** A smooth disparity-like map with some high-frequency texture, so interpolation errors would show. */
function depthLikeMap(width: number, height: number, seed: number): Float32Array {
  const n = noise(width * height, seed);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      out[y * width + x] = 3 + Math.sin(x / 37) * 2 + Math.cos(y / 23) + 0.5 * n[y * width + x]!;
    }
  }
  return out;
}

function readF32(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates as NaN
  }
  return m;
}

const missing = [DEBIAN_PYTHON, ...IMAGE_CASES.map((c) => path.join(SHARED_DATA_DIR, c.file))].filter((p) => !existsSync(p));
const skip = missing.length > 0 ? `missing: ${missing.join(', ')}` : false;

describe('preprocessing parity with OpenCV (official Depth Anything chain)', { skip }, () => {
  let prepared: Prepared;

  before(async () => {
    mkdirSync(GENERATED_DIR, { recursive: true });
    const dir = mkdtempSync(path.join(GENERATED_DIR, 'preprocess-parity-'));
    const tasks: unknown[] = [];
    const images: Prepared['images'] = [];
    for (const [i, c] of IMAGE_CASES.entries()) {
      let pipeline = sharp(path.join(SHARED_DATA_DIR, c.file)).removeAlpha().toColorspace('srgb');
      if (c.crop !== undefined) pipeline = pipeline.extract(c.crop);
      const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.channels, 3);
      const rgb = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const size = networkInputSize(info.width, info.height, DA_SPEC);
      const input = path.join(dir, `image-${i}.u8`);
      writeFileSync(input, rgb);
      const out = path.join(dir, `image-${i}.f32`);
      const out32 = path.join(dir, `image-${i}-float32.f32`);
      tasks.push({
        op: 'preprocess', input, width: info.width, height: info.height, outWidth: size.width, outHeight: size.height,
        mean: IMAGENET_MEAN, std: IMAGENET_STD, output: out, outputFloat32: out32,
      });
      images.push({ c, width: info.width, height: info.height, rgb, outW: size.width, outH: size.height, out, out32 });
    }
    const cubic: Prepared['cubic'] = [];
    for (const [i, [w, h, ow, oh, ch]] of CUBIC_CASES.entries()) {
      const data = noise(w * h * ch, 1000 + i);
      const input = path.join(dir, `cubic-${i}.f32`);
      writeFileSync(input, data);
      const out = path.join(dir, `cubic-${i}-out.f32`);
      const out64 = path.join(dir, `cubic-${i}-out64.f32`);
      tasks.push({ op: 'cubic', input, width: w, height: h, channels: ch, outWidth: ow, outHeight: oh, output: out, output64: out64 });
      cubic.push({ image: { width: w, height: h, channels: ch, data }, outW: ow, outH: oh, out, out64 });
    }
    const bilinear: Prepared['bilinear'] = [];
    for (const [i, [w, h, ow, oh, align]] of BILINEAR_CASES.entries()) {
      const data = depthLikeMap(w, h, 2000 + i);
      const input = path.join(dir, `bilinear-${i}.f32`);
      writeFileSync(input, data);
      const out = path.join(dir, `bilinear-${i}-out.f32`);
      const cv2 = align ? undefined : path.join(dir, `bilinear-${i}-cv2.f32`);
      tasks.push({ op: 'bilinear', input, width: w, height: h, outWidth: ow, outHeight: oh, alignCorners: align, output: out, ...(cv2 ? { cv2Output: cv2 } : {}) });
      bilinear.push({ map: { width: w, height: h, data }, outW: ow, outH: oh, align, out, ...(cv2 ? { cv2 } : {}) });
    }
    const job = path.join(dir, 'job.json');
    writeFileSync(job, JSON.stringify({ tasks }));
    const run = spawnSync(DEBIAN_PYTHON, [path.join(REPO_ROOT, 'test', 'parity', 'opencv_reference.py'), job], { encoding: 'utf8' });
    assert.equal(run.status, 0, `opencv_reference.py failed (${run.status}): ${run.stderr}`);
    prepared = { dir, images, cubic, bilinear, versions: JSON.parse(run.stdout.trim().split('\n').pop()!) as Prepared['versions'] };
  });

  after(() => {
    if (prepared !== undefined) rmSync(prepared.dir, { recursive: true, force: true });
  });

  for (const [i, c] of IMAGE_CASES.entries()) {
    it(`network input tensor: ${c.name}`, (t) => {
      const p = prepared.images[i]!;
      if (c.expectedSize !== undefined) assert.deepEqual({ width: p.outW, height: p.outH }, c.expectedSize);
      const ours = resizeNormalizeToNchw({ width: p.width, height: p.height, channels: 3, data: p.rgb }, p.outW, p.outH, IMAGENET_MEAN, IMAGENET_STD);
      const official = readF32(p.out);
      const official32 = readF32(p.out32);
      assert.equal(ours.length, 3 * p.outW * p.outH);
      const err = maxAbsDiff(ours, official);
      const err32 = maxAbsDiff(ours, official32);
      t.diagnostic(
        `${p.width}x${p.height} -> ${p.outW}x${p.outH}: max |ours - official float64 chain| = ${err.toExponential(2)}, ` +
          `vs OpenCV float32 chain ${err32.toExponential(2)} (cv2 ${prepared.versions.cv2})`,
      );
      assert.ok(err <= PREPROCESS_TOLERANCE, `max abs error ${err} vs the official chain`);
      assert.ok(err32 <= PREPROCESS_TOLERANCE, `max abs error ${err32} vs the float32 OpenCV chain`);
    });
  }

  it('resizeBicubic matches cv2.resize INTER_CUBIC on float images, borders included', (t) => {
    const lines: string[] = [];
    for (const [i, k] of prepared.cubic.entries()) {
      const ours = resizeBicubic(k.image, k.outW, k.outH).data;
      const err32 = maxAbsDiff(ours, readF32(k.out));
      const err64 = maxAbsDiff(ours, readF32(k.out64));
      const [w, h, ow, oh, ch] = CUBIC_CASES[i]!;
      lines.push(`${w}x${h}x${ch} -> ${ow}x${oh}: vs cv2 float32 ${err32.toExponential(2)}, vs cv2 float64 ${err64.toExponential(2)}`);
      assert.ok(err32 <= 1e-6, `${w}x${h}x${ch} -> ${ow}x${oh}: ${err32} vs cv2 float32`);
      assert.ok(err64 <= 1e-6, `${w}x${h}x${ch} -> ${ow}x${oh}: ${err64} vs cv2 float64`);
    }
    t.diagnostic(lines.join('; '));
  });

  it('resizeBilinear matches the numpy formula (align_corners true and false) and cv2 INTER_LINEAR (half-pixel)', (t) => {
    const lines: string[] = [];
    for (const b of prepared.bilinear) {
      const ours = resizeBilinear(b.map, b.outW, b.outH, { alignCorners: b.align }).data;
      const err = maxAbsDiff(ours, readF32(b.out));
      let line = `${b.map.width}x${b.map.height} -> ${b.outW}x${b.outH} alignCorners ${b.align}: vs numpy ${err.toExponential(2)}`;
      assert.ok(err <= 1e-6, line);
      if (b.cv2 !== undefined) {
        const errCv = maxAbsDiff(ours, readF32(b.cv2));
        line += `, vs cv2 INTER_LINEAR ${errCv.toExponential(2)}`;
        // OpenCV rounds source coordinates to float32 ((dx + 0.5) * scale - 0.5 as float): at x ~ 900 that moves a
        // sample by ~3e-5 px, so on a textured map it differs by ~2e-5 from the double-precision formula.
        assert.ok(errCv <= 1e-4, line);
      }
      lines.push(line);
    }
    t.diagnostic(lines.join('; '));
  });
});
