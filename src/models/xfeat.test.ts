import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError, ModelError } from '../core/errors.ts';
import { createImage, type Image } from '../core/image.ts';
import { decodeImage } from '../io/decode-image.ts';
import type { ImageFeatures, Matches } from '../geometry/features.ts';
import { invert3, mul3, rotationFromQuaternion, skew3, transpose3, mulVec3, type Mat3 } from '../geometry/mat3.ts';
import { SHARED_DATA_DIR, SHARED_MODELS_DIR } from '../../test/helpers/paths.ts';
import { openXFeatKit, type XFeatKit } from '../../test/helpers/xfeat-kit.ts';
import type { InferenceBackend, ModelSession, Tensor, TensorInfo } from './backend.ts';
import { DEFAULT_FEATURE_MODEL_ID, getFeatureModelSpec, listFeatureModels, resolveFeatureModel } from './feature-models.ts';
import type { DescriptorMatches, MutualNearestMatcher } from './matcher-graph.ts';
import { cachePathFor } from './resolve.ts';
import {
  createXFeatExtractor, cubicWeights, decodeXFeatOutputs, detectXFeatContract, gridSourceCoordinate, keypointHeatmap,
  nonMaximumPeaks, normalizedDescriptorCells, rankPositiveScores, sampleBicubicHwc, xfeatInputTensor, xfeatRawOutputs,
  type LocalFeatures, type XFeatExtractor, type XFeatRawOutputs,
} from './xfeat.ts';

// The models layer cannot import geometry's types; its structural copies must stay interchangeable with them.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const featuresTypesAgree: Same<LocalFeatures, ImageFeatures> = true;
const matchesTypesAgree: Same<DescriptorMatches, Matches> = true;

const MODEL_640 = path.join(SHARED_MODELS_DIR, 'xfeat_640x640.onnx');
const TUM = path.join(SHARED_DATA_DIR, 'tum_rgbd_pairs_densevo', 'examples', 'case_1');
const DTU_IMAGE = path.join(SHARED_DATA_DIR, 'dtu_scan24_nerf_baseline', 'data', 'dtu_scan24', 'images', '000000.png');
const DEEPLAB = path.join(SHARED_MODELS_DIR, 'deeplabv3_mnv2_voc_257.onnx');
const haveModels = existsSync(MODEL_640) ? false : `missing ${MODEL_640}`;

describe('feature-model registry', () => {
  it('lists the four XFeat exports with their fixed input sizes, Apache-2.0 and pinned raw GitHub URLs', () => {
    assert.ok(featuresTypesAgree && matchesTypesAgree);
    const specs = listFeatureModels();
    assert.deepEqual(specs.map((s) => s.id), ['xfeat-640x640', 'xfeat-256x256', 'xfeat-320x160', 'xfeat-320x224']);
    assert.equal(DEFAULT_FEATURE_MODEL_ID, 'xfeat-640x640');
    for (const spec of specs) {
      const [w, h] = spec.id.replace('xfeat-', '').split('x').map(Number);
      assert.deepEqual(spec.input, { width: w, height: h });
      assert.equal(spec.task, 'features');
      assert.equal(spec.descriptorSize, 64);
      assert.equal(spec.license.spdx, 'Apache-2.0');
      assert.equal(spec.license.commercialUse, true);
      assert.equal(spec.files.length, 1);
      const file = spec.files[0]!;
      assert.equal(file.fileName, `xfeat_${w}x${h}.onnx`);
      assert.match(file.sha256!, /^[0-9a-f]{64}$/);
      assert.match(file.urls[0]!, /^https:\/\/raw\.githubusercontent\.com\/[^/]+\/[^/]+\/[0-9a-f]{40}\/.+\.onnx$/);
    }
    assert.match(getFeatureModelSpec('XFEAT-640x640').files[0]!.urls[0]!, /verlab\/accelerated_features\/c58e74fc86c0e1f9038e0fb8807de59d27dd30d5\/weights\/xfeat\.onnx$/);
    assert.throws(() => getFeatureModelSpec('xfeat-999'), (error: unknown) => error instanceof InputError && /xfeat-320x224/.test(error.message));
  });

  it('sizes and sha256 match the real files in the shared model folder', { skip: haveModels }, () => {
    for (const spec of listFeatureModels()) {
      const file = spec.files[0]!;
      const bytes = readFileSync(path.join(SHARED_MODELS_DIR, file.fileName));
      assert.equal(bytes.length, file.sizeBytes, file.fileName);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256, file.fileName);
    }
  });
});

describe('resolveFeatureModel', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'anyview-xfeat-resolve-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('finds ids in ANYVIEW_MODEL_DIR (as the shared folder lays them out) and takes explicit paths as they are', { skip: haveModels }, async () => {
    const cacheDir = path.join(root, 'empty-cache');
    for (const spec of listFeatureModels()) {
      const resolved = await resolveFeatureModel(spec.id, { allowDownload: false, modelDir: SHARED_MODELS_DIR, cacheDir });
      assert.equal(resolved.source, 'modelDir');
      assert.equal(resolved.path, path.join(SHARED_MODELS_DIR, spec.files[0]!.fileName));
      assert.equal(resolved.spec?.id, spec.id);
    }
    assert.deepEqual(await resolveFeatureModel(MODEL_640, { allowDownload: false, cacheDir }), { path: MODEL_640, source: 'path' });
    await assert.rejects(resolveFeatureModel(path.join(root, 'nope.onnx'), { allowDownload: false }), InputError);
    await assert.rejects(resolveFeatureModel('xfeat-1x1', { allowDownload: false, cacheDir }), InputError);
  });

  it('offline without the file: a ModelError naming the download URL, the cache path and ANYVIEW_MODEL_DIR', async () => {
    const cacheDir = path.join(root, 'offline-cache');
    const spec = getFeatureModelSpec('xfeat-320x224');
    await assert.rejects(resolveFeatureModel(spec.id, { allowDownload: false, cacheDir, modelDir: path.join(root, 'no-models') }), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.match(error.message, /offline/);
      assert.ok(error.message.includes(spec.files[0]!.urls[0]!), error.message);
      assert.ok(error.message.includes(cachePathFor(cacheDir, spec, spec.files[0]!)), error.message);
      assert.match(error.message, /ANYVIEW_MODEL_DIR=/);
      assert.ok(error.message.includes(spec.files[0]!.sha256!));
      return true;
    });
  });

  it('downloads the pinned URL into the cache, checksum verified, then finds it there', { skip: haveModels }, async () => {
    const spec = getFeatureModelSpec('xfeat-320x160');
    const bytes = await readFile(path.join(SHARED_MODELS_DIR, spec.files[0]!.fileName));
    const server: Server = createServer((_request, response) => {
      response.writeHead(200, { 'content-length': String(bytes.length) });
      response.end(bytes);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const seen: string[] = [];
      const fetchImpl: typeof fetch = (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        seen.push(url);
        return fetch(`${base}${new URL(url).pathname}`, init);
      };
      const cacheDir = path.join(root, 'download-cache');
      const resolved = await resolveFeatureModel(spec.id, { allowDownload: true, cacheDir, fetchImpl, retries: 0 });
      assert.equal(resolved.source, 'download');
      assert.equal(resolved.path, cachePathFor(cacheDir, spec, spec.files[0]!));
      assert.deepEqual(seen, spec.files[0]!.urls);
      const again = await resolveFeatureModel(spec.id, { allowDownload: false, cacheDir });
      assert.deepEqual([again.source, again.path], ['cache', resolved.path]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

/** Raw outputs on a gw x gh grid: all logits 0 except the given (cell, channel, value) entries; reliability 1. */
function syntheticRaw(gw: number, gh: number, peaks: readonly { cx: number; cy: number; k: number; logit: number }[]): XFeatRawOutputs {
  const cells = gw * gh;
  const keypointLogits = new Float32Array(65 * cells);
  for (const p of peaks) keypointLogits[p.k * cells + p.cy * gw + p.cx] = p.logit;
  const descriptors = new Float32Array(4 * cells);
  for (let cell = 0; cell < cells; cell++) {
    descriptors[cell] = 3; // every cell's descriptor is (3, 4, 0, 0)
    descriptors[cells + cell] = 4;
  }
  return { descriptors, keypointLogits, reliability: new Float32Array(cells).fill(1), descriptorSize: 4, gridWidth: gw, gridHeight: gh };
}

describe('XFeat input tensor', () => {
  it('an image already at the input size is its pixels / 255 (half-pixel bilinear at scale 1), grey repeated, alpha ignored', () => {
    for (const channels of [1, 3, 4] as const) {
      const data = Uint8Array.from({ length: 5 * 4 * channels }, (_, i) => (i * 37 + 11) % 256);
      const out = xfeatInputTensor(createImage({ width: 5, height: 4, channels, data }), 5, 4);
      for (let i = 0; i < 20; i++) {
        for (let c = 0; c < 3; c++) assert.equal(out[c * 20 + i], Math.fround(data[i * channels + (channels === 1 ? 0 : c)]! / 255));
      }
    }
    // Resized, the same pixel values come out of a 2x2 block averaged only where the taps fall between pixels.
    const flat = xfeatInputTensor(createImage({ width: 2, height: 2, channels: 1, data: Uint8Array.of(10, 10, 10, 10) }), 4, 4);
    assert.ok(flat.every((v) => v === Math.fround(10 / 255)));
  });
});

describe('XFeat post-processing (closed-form cases)', () => {
  it('softmax over 65 channels, dustbin dropped, channel r*8+c at row r, column c of its 8x8 cell', () => {
    const raw = syntheticRaw(3, 2, [{ cx: 2, cy: 1, k: 29, logit: 10 }]); // 29 = 3 * 8 + 5
    const heat = keypointHeatmap(raw.keypointLogits, 3, 2);
    const width = 24;
    const peak = Math.exp(10) / (Math.exp(10) + 64);
    assert.ok(Math.abs(heat[(8 + 3) * width + 16 + 5]! - peak) < 1e-7);
    assert.ok(Math.abs(heat[(8 + 3) * width + 16 + 6]! - 1 / (Math.exp(10) + 64)) < 1e-9);
    assert.ok(Math.abs(heat[0]! - 1 / 65) < 1e-8); // a plain cell: uniform over 65 channels
    let total = 0;
    for (const v of heat) total += v;
    assert.ok(Math.abs(total - (5 * 64) / 65 - 64 / (Math.exp(10) + 64) - peak) < 1e-4);
  });

  it('non-maximum suppression keeps window maxima above the threshold, plateaus whole, windows clipped at borders', () => {
    const w = 12;
    const h = 6;
    const heat = new Float32Array(w * h);
    heat[2 * w + 2] = 0.5; // suppressed by 0.6 two pixels away
    heat[2 * w + 4] = 0.6;
    heat[2 * w + 7] = 0.55; // 3 px from 0.6: kept
    heat[5 * w + 10] = 0.3; // plateau of two equal pixels at the bottom border: both kept
    heat[5 * w + 11] = 0.3;
    heat[0] = 0.05; // at the threshold: not above it
    assert.deepEqual(Array.from(nonMaximumPeaks(heat, w, h, 5, 0.05)), [2 * w + 4, 2 * w + 7, 5 * w + 10, 5 * w + 11]);
    assert.deepEqual(Array.from(nonMaximumPeaks(heat, w, h, 3, 0.05)), [2 * w + 2, 2 * w + 4, 2 * w + 7, 5 * w + 10, 5 * w + 11]);
  });

  it('grid coordinates are normalised by the network size, as XFeat\'s InterpolateSparse2d does', () => {
    assert.equal(gridSourceCoordinate(0, 640, 80), -0.5);
    assert.equal(gridSourceCoordinate(639, 640, 80), 79.5);
    assert.ok(Math.abs(gridSourceCoordinate(320, 640, 80) - (320 * 80 / 639 - 0.5)) < 1e-12);
    assert.equal(gridSourceCoordinate(639, 640, 640), 639.5); // nearest rounds this half to even: 640, outside
  });

  it('bicubic is cubic convolution with A = -0.75 and zero padding', () => {
    assert.deepEqual(Array.from(cubicWeights(0)), [0, 1, 0, 0]);
    assert.deepEqual(Array.from(cubicWeights(0.5)), [-0.09375, 0.59375, 0.59375, -0.09375]);
    // A 1-channel 4x4 map with one 1 at (1, 1).
    const delta = new Float32Array(16);
    delta[5] = 1;
    const out = new Float64Array(1);
    assert.equal(sampleBicubicHwc(delta, 4, 4, 1, 1, 1, out)[0], 1);
    assert.equal(sampleBicubicHwc(delta, 4, 4, 1, 1.5, 1, out)[0], 0.59375);
    assert.equal(sampleBicubicHwc(delta, 4, 4, 1, 1.5, 1.5, out)[0], 0.59375 ** 2);
    // A constant map: 1 inside; half a pixel outside the first column, the two taps beyond read 0 -> 0.5.
    const ones = new Float32Array(64).fill(1);
    assert.ok(Math.abs(sampleBicubicHwc(ones, 8, 8, 1, 3.3, 4.7, out)[0]! - 1) < 1e-12);
    assert.ok(Math.abs(sampleBicubicHwc(ones, 8, 8, 1, -0.5, 4, out)[0]! - 0.5) < 1e-12);
  });

  it('decodes a known peak: position, border-attenuated score, normalised descriptor, pixel-centre scaling', () => {
    const raw = syntheticRaw(3, 2, [{ cx: 2, cy: 1, k: 29, logit: 10 }, { cx: 0, cy: 0, k: 0, logit: 8 }]);
    const peak10 = Math.exp(10) / (Math.exp(10) + 64);
    const peak8 = Math.exp(8) / (Math.exp(8) + 64);
    // Network 24 x 16; reliability sampled bilinearly with zero padding at (x*3/23 - 0.5, y*2/15 - 0.5).
    const reliabilityAt = (x: number, y: number): number => {
      const u = (x * 3) / 23 - 0.5;
      const v = (y * 2) / 15 - 0.5;
      const inside = (t: number, n: number): number => { // weight of the taps inside [0, n-1] along one axis
        const t0 = Math.floor(t);
        const f = t - t0;
        return (t0 >= 0 && t0 < n ? 1 - f : 0) + (t0 + 1 >= 0 && t0 + 1 < n ? f : 0);
      };
      return inside(u, 3) * inside(v, 2);
    };
    const features = decodeXFeatOutputs(raw, { width: 48, height: 48 });
    assert.equal(features.count, 2);
    assert.equal(features.descriptorSize, 4);
    // (21, 11) on the network grid -> ((21.5) * 2 - 0.5, (11.5) * 3 - 0.5) in the 48 x 48 image.
    assert.deepEqual(Array.from(features.keypoints), [42.5, 34, 0.5, 1]);
    assert.ok(Math.abs(features.scores[0]! - peak10 * reliabilityAt(21, 11)) < 1e-6);
    assert.ok(Math.abs(features.scores[1]! - peak8 * reliabilityAt(0, 0)) < 1e-6);
    for (let m = 0; m < 2; m++) {
      assert.deepEqual(Array.from(features.descriptors.subarray(4 * m, 4 * m + 4)).map((v) => Math.round(v * 1e6) / 1e6), [0.6, 0.8, 0, 0]);
    }
    // top-k keeps the best; a keypoint on the last network column reads outside the heatmap (score 0): dropped.
    assert.equal(decodeXFeatOutputs(raw, { width: 24, height: 16 }, { maxKeypoints: 1 }).count, 1);
    const lastColumn = syntheticRaw(3, 2, [{ cx: 2, cy: 0, k: 7, logit: 10 }]); // x = 23
    assert.equal(decodeXFeatOutputs(lastColumn, { width: 24, height: 16 }).count, 0);
    assert.throws(() => decodeXFeatOutputs(raw, { width: 24, height: 16 }, { nmsKernel: 4 }), InputError);
  });
});

/** A deterministic pseudo-random sequence in [0, 1) (a 32-bit LCG), so the cases below are reproducible. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Bit-for-bit equality of two float arrays. */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('XFeat post-processing shortcuts (exactly the plain computation)', () => {
  it('a heatmap given the threshold zeroes only cells that cannot exceed it: the same values above it, the same peaks', () => {
    // Cells with one strong kept channel (dustbin 0, the rest far below) at d = l - max around ln(threshold), where
    // the skipping bound is tight, or around ln(threshold / (1 - threshold)), where the heat is the threshold;
    // mixed with cells of random logits.
    const gw = 12, gh = 10, cells = gw * gh;
    const random = lcg(7);
    for (const threshold of [0.05, 0.02, 0.3]) {
      const logits = new Float32Array(65 * cells);
      for (let cell = 0; cell < cells; cell++) {
        if (cell % 4 === 0) {
          for (let k = 0; k < 65; k++) logits[k * cells + cell] = (random() - 0.5) * 30;
        } else {
          for (let k = 0; k < 64; k++) logits[k * cells + cell] = -60;
          logits[64 * cells + cell] = 0;
          const d = cell % 4 === 3 ? Math.log(threshold / (1 - threshold)) + (random() - 0.5) * 1e-6 : Math.log(threshold) + (random() - 0.5) * (cell % 4 === 1 ? 1e-5 : 0.2);
          logits[Math.floor(random() * 64) * cells + cell] = d;
        }
      }
      const full = keypointHeatmap(logits, gw, gh);
      const skipped = keypointHeatmap(logits, gw, gh, threshold);
      const above = Math.fround(threshold);
      let zeroed = 0;
      for (let i = 0; i < full.length; i++) {
        if (full[i]! > above) assert.equal(skipped[i], full[i], `pixel ${i}`);
        else assert.ok(skipped[i] === full[i] || skipped[i] === 0, `pixel ${i}`);
        if (skipped[i] !== full[i]) zeroed++;
      }
      assert.ok(zeroed > 0, 'some cells skipped');
      for (const kernel of [1, 3, 5]) {
        const peaks = nonMaximumPeaks(full, gw * 8, gh * 8, kernel, threshold);
        assert.ok(peaks.length > 10, `${peaks.length} peaks`);
        assert.deepEqual(nonMaximumPeaks(skipped, gw * 8, gh * 8, kernel, threshold), peaks);
      }
    }
    // No threshold, or one at or below 0: every cell computed.
    const logits = Float32Array.from({ length: 65 * 6 }, () => -20);
    assert.ok(sameBits(keypointHeatmap(logits, 3, 2, 0), keypointHeatmap(logits, 3, 2)));
    assert.ok(keypointHeatmap(logits, 3, 2, -1).every((v) => v === Math.fround(1 / 65)));
  });

  it('ranking keeps the positive scores best first, ties in index order, at most the limit (a stable sort)', () => {
    const random = lcg(3);
    const scores = Float32Array.from({ length: 500 }, () => [0, -0.25, 0.5, 0.125][Math.floor(random() * 4)]! * (random() < 0.5 ? 1 : random()));
    scores[17] = Number.POSITIVE_INFINITY;
    const reference = Array.from(scores.keys()).sort((p, q) => scores[q]! - scores[p]! || p - q).filter((n) => scores[n]! > 0);
    assert.deepEqual(Array.from(rankPositiveScores(scores, 1000)), reference);
    assert.deepEqual(Array.from(rankPositiveScores(scores, 40)), reference.slice(0, 40));
    assert.deepEqual(Array.from(rankPositiveScores(Float32Array.of(0, -1), 5)), []);
    // Beyond 2^22 scores (no room to pack the index), a comparator sort gives the same order.
    const many = new Float32Array(2 ** 22 + 5);
    many.set([0.5, 0.25, 0.5, 1, 0.25], 2 ** 22 - 2);
    many[3] = 0.25;
    assert.deepEqual(Array.from(rankPositiveScores(many, 4)), [2 ** 22 + 1, 2 ** 22 - 2, 2 ** 22, 3]);
  });

  it('descriptor cells: each cell L2-normalised in channel order, also when the cell count is not a multiple of 4', () => {
    const random = lcg(11);
    for (const [gw, gh, channels] of [[3, 3, 5], [4, 2, 64], [1, 1, 3]] as const) {
      const cells = gw * gh;
      const descriptors = Float32Array.from({ length: cells * channels }, () => random() - 0.5);
      descriptors.fill(0, 0, 1); // a zero first channel of the first cell
      const expected = new Float32Array(cells * channels);
      for (let cell = 0; cell < cells; cell++) {
        let sq = 0;
        for (let c = 0; c < channels; c++) sq += descriptors[c * cells + cell]! ** 2;
        for (let c = 0; c < channels; c++) expected[cell * channels + c] = descriptors[c * cells + cell]! / Math.max(Math.sqrt(sq), 1e-12) * 1;
      }
      const actual = normalizedDescriptorCells(descriptors, channels, gw, gh);
      for (let i = 0; i < actual.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-7, `${gw}x${gh}x${channels} value ${i}`);
    }
  });
});

function fakeSession(inputs: TensorInfo[], outputs: TensorInfo[]): Pick<ModelSession, 'modelPath' | 'inputs' | 'outputs'> {
  return { modelPath: '/models/x.onnx', inputs, outputs };
}

describe('XFeat contract', () => {
  const good = fakeSession([{ name: 'input', dtype: 'float32', dims: [1, 3, 224, 320] }], [
    { name: 'output', dtype: 'float32', dims: [1, 64, 28, 40] },
    { name: '791', dtype: 'float32', dims: [1, 65, 28, 40] },
    { name: '268', dtype: 'float32', dims: [1, 1, 28, 40] },
  ]);

  it('names the input, its static size and the outputs by position', () => {
    assert.deepEqual(detectXFeatContract(good), { inputName: 'input', inputWidth: 320, inputHeight: 224, outputNames: ['output', '791', '268'] });
  });

  it('refuses other contracts with a ModelError naming the file', () => {
    const swapped = fakeSession(good.inputs as TensorInfo[], [good.outputs[1]!, good.outputs[0]!, good.outputs[2]!]);
    const dynamic = fakeSession([{ name: 'image', dtype: 'float32', dims: ['batch', 3, 'h', 'w'] }], good.outputs as TensorInfo[]);
    for (const bad of [swapped, dynamic, fakeSession(good.inputs as TensorInfo[], good.outputs.slice(0, 2) as TensorInfo[])]) {
      assert.throws(() => detectXFeatContract(bad), (error: unknown) => error instanceof ModelError && error.message.includes('/models/x.onnx'));
    }
    assert.equal(detectXFeatContract(dynamic, { width: 320, height: 224 }).inputWidth, 320);
    const tensor = (dims: number[]): Tensor => ({ dtype: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });
    const contract = detectXFeatContract(good);
    assert.throws(() => xfeatRawOutputs({ output: tensor([1, 64, 28, 40]), 791: tensor([1, 65, 28, 41]), 268: tensor([1, 1, 28, 40]) }, contract, 'f.onnx'), ModelError);
    assert.equal(xfeatRawOutputs({ output: tensor([1, 64, 28, 40]), 791: tensor([1, 65, 28, 40]), 268: tensor([1, 1, 28, 40]) }, contract, 'f.onnx').descriptorSize, 64);
  });
});

/** A crop of an RGB image (copied). */
function crop(image: Image<Uint8Array>, left: number, top: number, width: number, height: number): Image<Uint8Array> {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(image.data.subarray(((top + y) * image.width + left) * 3, ((top + y) * image.width + left + width) * 3), y * width * 3);
  return createImage({ width, height, channels: 3, data });
}

function readPose(file: string): { rotation: Mat3; translation: number[] } {
  const [tx, ty, tz, qx, qy, qz, qw] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number) as number[];
  return { rotation: rotationFromQuaternion([qw!, qx!, qy!, qz!]), translation: [tx!, ty!, tz!] };
}

describe('XFeat on the real 640x640 network', { skip: haveModels }, () => {
  let kit: XFeatKit;
  let backend: InferenceBackend;
  let extractor: XFeatExtractor;
  let matcher: MutualNearestMatcher;
  before(async () => {
    kit = await openXFeatKit(MODEL_640);
    ({ backend, extractor, matcher } = kit);
  });
  after(async () => kit.close());

  it('a file with another contract (DeepLabV3, NHWC, one output) is a ModelError', { skip: existsSync(DEEPLAB) ? false : 'no DeepLab file' }, async () => {
    const session = await backend.open(DEEPLAB, { device: 'cpu' });
    assert.throws(() => createXFeatExtractor(session), (error: unknown) => error instanceof ModelError && error.message.includes(DEEPLAB));
  });

  it('README sanity check: a crop and its copy shifted by 16 px match at the true shift (>= 95% of mutual matches)', { skip: existsSync(DTU_IMAGE) ? false : 'no DTU image' }, async (t) => {
    const image = await decodeImage({ path: DTU_IMAGE });
    const a = await extractor.extract(crop(image, 300, 200, 640, 640));
    const b = await extractor.extract(crop(image, 316, 200, 640, 640)); // b(x, y) = a(x + 16, y)
    assert.equal(extractor.inputWidth, 640);
    assert.ok(a.count > 1000 && a.count <= 4096, `${a.count} keypoints`);
    const matches = await matcher.match(a, b);
    let correct = 0;
    for (let k = 0; k < matches.count; k++) {
      const i = matches.indices0[k]!;
      const j = matches.indices1[k]!;
      const dx = a.keypoints[2 * i]! - 16 - b.keypoints[2 * j]!;
      const dy = a.keypoints[2 * i + 1]! - b.keypoints[2 * j + 1]!;
      if (Math.hypot(dx, dy) <= 1) correct++;
    }
    t.diagnostic(`${a.count} / ${b.count} keypoints, ${matches.count} mutual matches, ${correct} at the true shift`);
    assert.ok(matches.count > 500, `${matches.count} matches`);
    assert.ok(correct >= 0.95 * matches.count, `${correct} of ${matches.count} at the true shift`);
  });

  it('detect then describe gives exactly what extract gives, for any subset of the keypoints in any order', { skip: existsSync(DTU_IMAGE) ? false : 'no DTU image' }, async () => {
    const image = crop(await decodeImage({ path: DTU_IMAGE }), 500, 300, 640, 640);
    const full = await extractor.extract(image);
    const detected = await extractor.detect(image);
    assert.ok(full.count > 1000);
    assert.deepEqual([detected.width, detected.height, detected.count, detected.descriptorSize], [full.width, full.height, full.count, full.descriptorSize]);
    assert.ok(sameBits(detected.keypoints, full.keypoints) && sameBits(detected.scores, full.scores));
    const all = Int32Array.from({ length: full.count }, (_, i) => i);
    assert.ok(sameBits(detected.describe(all), full.descriptors));
    const dim = full.descriptorSize;
    const some = Int32Array.of(full.count - 1, 0, 5, 5, 1234);
    const described = detected.describe(some);
    some.forEach((i, j) => assert.ok(sameBits(described.subarray(j * dim, (j + 1) * dim), full.descriptors.subarray(i * dim, (i + 1) * dim)), `keypoint ${i}`));
    assert.equal(detected.describe(new Int32Array(0)).length, 0);
    assert.throws(() => detected.describe(Int32Array.of(full.count)), InputError);
  });

  // XFeat's sparse keypoints sit on integer network pixels and jitter by a few pixels between views (the 1/8-resolution
  // descriptors of neighbouring detections are nearly equal), and the Kinect GT is not perfect: here 75% of the
  // mutual matches lie within 2 px of the GT epipolar lines and 95% within 4 px; the best-fitting fundamental
  // matrix (OpenCV RANSAC) reaches 86% within 2 px. The reversed relative pose gives about 5%, so the test can fail.
  it('a real TUM pair: matches agree with the ground-truth epipolar geometry (>= 70% within 2 px Sampson, >= 90% within 4 px)', { skip: existsSync(TUM) ? false : 'no TUM data' }, async (t) => {
    const prev = await decodeImage({ path: path.join(TUM, 'img_prev.png') });
    const curr = await decodeImage({ path: path.join(TUM, 'img_curr.png') });
    const f0 = await extractor.extract(prev);
    const f1 = await extractor.extract(curr);
    assert.deepEqual([f0.width, f0.height], [640, 480]);
    const matches = await matcher.match(f0, f1);
    // GT: poses are world <- camera; x1 = R x0 + t maps camera 0 (prev) coordinates to camera 1 (curr).
    const w0 = readPose(path.join(TUM, 'pose_prev.txt'));
    const w1 = readPose(path.join(TUM, 'pose_curr.txt'));
    const rotation = mul3(transpose3(w1.rotation), w0.rotation);
    const translation = mulVec3(transpose3(w1.rotation), w0.translation.map((v, k) => v - w1.translation[k]!));
    const Kinv = invert3(Float64Array.of(525, 0, 319.5, 0, 525, 239.5, 0, 0, 1)); // Kinect defaults (MANIFEST)
    const fundamental = (r: Mat3, tr: ArrayLike<number>): Mat3 => mul3(transpose3(Kinv), mul3(mul3(skew3(tr), r), Kinv));
    /** Fraction of matches within `px` Sampson distance of F's epipolar geometry. */
    const within = (F: Mat3, px: number): number => {
      let n = 0;
      for (let k = 0; k < matches.count; k++) {
        const i = matches.indices0[k]!;
        const j = matches.indices1[k]!;
        const x0 = [f0.keypoints[2 * i]!, f0.keypoints[2 * i + 1]!, 1];
        const x1 = [f1.keypoints[2 * j]!, f1.keypoints[2 * j + 1]!, 1];
        const Fx0 = mulVec3(F, x0);
        const Ftx1 = mulVec3(transpose3(F), x1);
        const residual = x1[0]! * Fx0[0]! + x1[1]! * Fx0[1]! + Fx0[2]!;
        if (Math.abs(residual) / Math.sqrt(Fx0[0]! ** 2 + Fx0[1]! ** 2 + Ftx1[0]! ** 2 + Ftx1[1]! ** 2) <= px) n++;
      }
      return n / matches.count;
    };
    const gt = fundamental(rotation, translation);
    const reversed = fundamental(transpose3(rotation), mulVec3(transpose3(rotation), Array.from(translation, (v) => -v))); // the inverse motion
    const [at2, at4, wrong2] = [within(gt, 2), within(gt, 4), within(reversed, 2)];
    t.diagnostic(`${f0.count} / ${f1.count} keypoints, ${matches.count} mutual matches; within 2 px Sampson ${at2.toFixed(3)}, `
      + `4 px ${at4.toFixed(3)}; reversed pose, 2 px ${wrong2.toFixed(3)} (baseline ${(Math.hypot(...translation) * 100).toFixed(1)} cm)`);
    assert.ok(matches.count > 1000, `${matches.count} matches`);
    assert.ok(at2 >= 0.7 && at4 >= 0.9, `within 2 px ${at2}, within 4 px ${at4}`);
    assert.ok(wrong2 < 0.15, `the reversed pose explains ${wrong2} of the matches`);
  });
});
