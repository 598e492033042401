/**
 * Batched per-frame depth (runDepthModelBatch): N real DAVIS frames in one session.run of a generated graph with
 * a dynamic batch give what N single runs give, and what the graph's closed form says; a batch-1 model refuses.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage } from '../../src/io/decode-image.ts';
import type { Image } from '../../src/core/image.ts';
import { ModelError, InputError } from '../../src/core/errors.ts';
import { createOnnxRuntimeNodeBackend } from '../../src/models/onnxruntime-node.ts';
import { detectDepthContract } from '../../src/models/contract.ts';
import { runDepthModel, runDepthModelBatch, chooseNetworkSize } from '../../src/models/depth-adapter.ts';
import { DEPTH_ANYTHING_PREPROCESS } from '../../src/models/depth-anything.ts';
import { resizeNormalizeToNchw } from '../../src/imaging/resize-bicubic.ts';
import { resizeBilinear } from '../../src/imaging/resize-bilinear.ts';
import { SHARED_DATA_DIR } from '../helpers/paths.ts';
import { ensureTestModels, mixChannels, type TestModels } from '../helpers/test-models.ts';

const FRAMES = path.join(SHARED_DATA_DIR, 'davis_lady_running_monst3r/demo_data/lady-running');
const backend = createOnnxRuntimeNodeBackend();
let models: TestModels;
let images: Image<Uint8Array>[];

before(async () => {
  models = await ensureTestModels();
  const names = (await readdir(FRAMES)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 5);
  images = await Promise.all(names.map((n) => decodeImage({ path: path.join(FRAMES, n) }, { maxSidePx: 200 })));
});
after(() => backend.dispose());

const request = { intrinsics: undefined, preprocess: undefined, processSizePx: 140, output: { kind: 'disparity' } as const };

test('five frames in one run equal five single runs and the graph\'s closed form', async () => {
  const session = await backend.open(models.batchMix, { device: 'cpu' });
  const contract = detectDepthContract(session);
  assert.equal(contract.batch, 'dynamic');
  const batched = await runDepthModelBatch(session, contract, { ...request, images }, {});
  assert.equal(batched.depths.length, 5);
  const net = chooseNetworkSize(images[0]!, contract, DEPTH_ANYTHING_PREPROCESS, 140);
  assert.deepEqual(batched.network, net);
  for (const [n, image] of images.entries()) {
    const single = await runDepthModel(session, contract, { ...request, image }, {});
    const b = batched.depths[n]!.data, s = single.depth.data;
    assert.equal(b.length, image.width * image.height);
    // Closed form of batchMix on this frame's own input: exp(mean of the normalised input) * mix, upsampled.
    const input = resizeNormalizeToNchw(image, net.width, net.height, DEPTH_ANYTHING_PREPROCESS.mean, DEPTH_ANYTHING_PREPROCESS.std);
    const mean = input.reduce((a, v) => a + v, 0) / input.length;
    const mix = mixChannels(input, net.height, net.width).map((v) => Math.exp(mean) * v);
    const expected = resizeBilinear({ width: net.width, height: net.height, data: mix }, image.width, image.height, { alignCorners: true }).data;
    let worstSingle = 0, worstClosed = 0, largest = 0;
    for (let i = 0; i < b.length; i++) {
      worstSingle = Math.max(worstSingle, Math.abs(b[i]! - s[i]!));
      worstClosed = Math.max(worstClosed, Math.abs(b[i]! - expected[i]!));
      largest = Math.max(largest, Math.abs(expected[i]!));
    }
    assert.ok(worstSingle <= 1e-6 * largest, `frame ${n}: batched vs single ${worstSingle}`);
    assert.ok(worstClosed <= 1e-4 * largest, `frame ${n}: batched vs closed form ${worstClosed}`);
  }
});

test('a batch-1 model refuses a batch with a ModelError naming the file; one image still runs; mixed sizes are an InputError', async () => {
  const session = await backend.open(models.passthroughHf, { device: 'cpu' });
  const contract = detectDepthContract(session);
  assert.equal(contract.batch, 'one');
  await assert.rejects(runDepthModelBatch(session, contract, { ...request, images }, {}),
    (e: unknown) => e instanceof ModelError && e.message.includes(models.passthroughHf) && /batch of 1/.test(e.message));
  const one = await runDepthModelBatch(session, contract, { ...request, images: images.slice(0, 1) }, {});
  assert.equal(one.depths.length, 1);
  const dynamic = await backend.open(models.batchMix, { device: 'cpu' });
  const small = await decodeImage({ path: path.join(FRAMES, '00000.jpg') }, { maxSidePx: 100 });
  await assert.rejects(runDepthModelBatch(dynamic, detectDepthContract(dynamic), { ...request, images: [images[0]!, small] }, {}),
    (e: unknown) => e instanceof InputError && /share one size/.test(e.message));
});
