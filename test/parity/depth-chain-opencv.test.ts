/**
 * The whole Depth Anything chain (decode -> size rule -> bicubic resize -> normalise -> network -> bilinear
 * align_corners upsample -> Depth) against the official steps run by OpenCV and numpy in Debian's python3.
 * The network is the project's passthrough graph (depth = r + 2g + 4b of its normalised input), so the
 * reference is: official preprocessing (cv2.resize INTER_CUBIC on float64), the same channel mix, and an
 * align_corners bilinear upsample written from the formula in numpy. Both sides see the same decoded pixels.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEBIAN_PYTHON, REPO_ROOT, SHARED_DATA_DIR } from '../helpers/paths.ts';
import { ensureTestModels, mixChannels, type TestModels } from '../helpers/test-models.ts';
import { decodeImage } from '../../src/io/decode-image.ts';
import { createImage, type Image } from '../../src/core/image.ts';
import { createOnnxRuntimeNodeBackend } from '../../src/models/onnxruntime-node.ts';
import { detectDepthContract } from '../../src/models/contract.ts';
import { runDepthModel } from '../../src/models/depth-adapter.ts';
import { DEPTH_ANYTHING_PREPROCESS } from '../../src/models/depth-anything.ts';

const SCRIPT = path.join(REPO_ROOT, 'test', 'parity', 'opencv_reference.py');

function runReference(tasks: object[], dir: string): void {
  const job = path.join(dir, `job-${Date.now()}-${Math.random()}.json`);
  writeFileSync(job, JSON.stringify({ tasks }));
  const r = spawnSync(DEBIAN_PYTHON, [SCRIPT, job], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

const readF32 = (file: string) => new Float32Array(new Uint8Array(readFileSync(file)).buffer);

function crop(image: Image<Uint8Array>, left: number, top: number, width: number, height: number): Image<Uint8Array> {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(image.data.subarray(((top + y) * image.width + left) * 3, ((top + y) * image.width + left + width) * 3), y * width * 3);
  return createImage({ width, height, channels: 3, data });
}

let models: TestModels;
before(async () => {
  models = await ensureTestModels();
});

test('decode -> network -> upsample agrees with the official OpenCV/numpy chain to float tolerance', async (t) => {
  const nyu = await decodeImage({ path: path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/rgb/rgb_00050.jpg') });
  const kitti = await decodeImage({ path: path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/kitti_demo/rgb/0000000100.png') });
  const images: [string, Image<Uint8Array>, number, number][] = [
    ['NYU 640x480', nyu, 686, 518],
    ['KITTI 1242x375 (upscale)', kitti, 1722, 518],
    ['crop 560x400 (official 728x518, Transformers.js would use 518x364)', crop(nyu, 40, 50, 560, 400), 728, 518],
    ['crop 400x300', crop(kitti, 300, 40, 400, 300), 686, 518],
  ];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'anyview-chain-'));
  const backend = createOnnxRuntimeNodeBackend();
  try {
    const session = await backend.open(models.passthroughHf, { device: 'cpu' });
    const contract = detectDepthContract(session);
    const ours: Awaited<ReturnType<typeof runDepthModel>>[] = [];
    for (const [name, image, netW, netH] of images) {
      const result = await runDepthModel(session, contract, { image, intrinsics: undefined, preprocess: undefined, processSizePx: undefined, output: { kind: 'disparity' } });
      assert.deepEqual(result.network, { width: netW, height: netH }, name);
      ours.push(result);
    }
    // Round 1: the official preprocessing of the same pixels.
    runReference(images.map(([, image, netW, netH], i) => {
      writeFileSync(path.join(dir, `rgb${i}.u8`), image.data);
      return {
        op: 'preprocess', input: path.join(dir, `rgb${i}.u8`), width: image.width, height: image.height,
        outWidth: netW, outHeight: netH, mean: DEPTH_ANYTHING_PREPROCESS.mean, std: DEPTH_ANYTHING_PREPROCESS.std,
        output: path.join(dir, `net${i}.f32`),
      };
    }), dir);
    // The graph's own definition on the reference input, then round 2: align_corners upsampling in numpy.
    runReference(images.map(([, image, netW, netH], i) => {
      writeFileSync(path.join(dir, `mix${i}.f32`), mixChannels(readF32(path.join(dir, `net${i}.f32`)), netH, netW));
      return {
        op: 'bilinear', input: path.join(dir, `mix${i}.f32`), width: netW, height: netH,
        outWidth: image.width, outHeight: image.height, alignCorners: true, output: path.join(dir, `out${i}.f32`),
      };
    }), dir);
    images.forEach(([name], i) => {
      const reference = readF32(path.join(dir, `out${i}.f32`));
      const depth = ours[i]!.depth.data;
      assert.equal(depth.length, reference.length, name);
      let worst = 0, lo = Infinity, hi = -Infinity;
      for (let k = 0; k < depth.length; k++) {
        worst = Math.max(worst, Math.abs(depth[k]! - reference[k]!));
        lo = Math.min(lo, reference[k]!); hi = Math.max(hi, reference[k]!);
      }
      t.diagnostic(`${name}: max |ours - OpenCV chain| = ${worst.toExponential(2)} over a range of ${(hi - lo).toFixed(2)}`);
      assert.ok(worst < 1e-4, `${name}: ${worst}`);
    });
  } finally {
    await backend.dispose();
  }
});
