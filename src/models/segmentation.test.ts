import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InputError, ModelError } from '../core/errors.ts';
import { SHARED_MODELS_DIR } from '../../test/helpers/paths.ts';
import { sha256File } from './checksum.ts';
import {
  DEEPLABV3_MNV2_VOC_257, DEFAULT_SEGMENTATION_MODEL_ID, getSegmentationModelSpec, listSegmentationModels, resolveSegmentationModel, VOC_CLASS_NAMES,
} from './segmentation-models.ts';
import { decodeClassLogits, detectSegmentationContract, segmentationInputTensor } from './segmentation.ts';

const SHARED_FILE = path.join(SHARED_MODELS_DIR, DEEPLABV3_MNV2_VOC_257.files[0]!.fileName);

describe('segmentation registry', () => {
  it('names DeepLabV3 VOC with its upstream commit, 21 classes and a case-insensitive id', () => {
    assert.equal(DEFAULT_SEGMENTATION_MODEL_ID, 'deeplabv3-mnv2-voc-257');
    assert.equal(getSegmentationModelSpec('DeepLabV3-MNV2-VOC-257'), DEEPLABV3_MNV2_VOC_257);
    assert.deepEqual(listSegmentationModels().map((s) => s.id), ['deeplabv3-mnv2-voc-257']);
    assert.match(DEEPLABV3_MNV2_VOC_257.files[0]!.urls[0]!,
      /Kazuhito00\/Image-Processing-Node-Editor\/46979d5b8eacb181abe970e4dd18e8f4cf0e750b\/node\/.*\/deeplab_v3_1_default_1\.onnx$/);
    assert.equal(VOC_CLASS_NAMES.length, 21);
    assert.equal(VOC_CLASS_NAMES[15], 'person');
    assert.equal(DEEPLABV3_MNV2_VOC_257.license.spdx, 'Apache-2.0');
    assert.throws(() => getSegmentationModelSpec('deeplab-xl'), (e: unknown) => e instanceof InputError && /deeplabv3-mnv2-voc-257/.test(e.message));
  });

  it('has the size and sha256 of the real file', { skip: existsSync(SHARED_FILE) ? false : `missing ${SHARED_FILE}` }, async () => {
    const file = DEEPLABV3_MNV2_VOC_257.files[0]!;
    assert.equal(await sha256File(SHARED_FILE), file.sha256);
    const resolved = await resolveSegmentationModel('deeplabv3-mnv2-voc-257', { modelDir: SHARED_MODELS_DIR, allowDownload: false });
    assert.equal(resolved.source, 'modelDir');
    assert.equal(resolved.path, SHARED_FILE);
  });

  it('offline without the file: a ModelError that names the download URL', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'anyview-seg-'));
    try {
      await assert.rejects(resolveSegmentationModel('deeplabv3-mnv2-voc-257', { modelDir: empty, cacheDir: empty, allowDownload: false }),
        (e: unknown) => e instanceof ModelError && e.message.includes('raw.githubusercontent.com/Kazuhito00/Image-Processing-Node-Editor'));
      await assert.rejects(resolveSegmentationModel('./nowhere.onnx', { allowDownload: false }), InputError);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('segmentationInputTensor', () => {
  it('maps bytes to byte / 127.5 - 1 in NHWC, half-pixel bilinear (closed form on a 2x1 ramp)', () => {
    // Two pixels (0, 255) resized to 4 columns: source x = (d + 0.5) / 2 - 0.5 = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
    const image = { width: 2, height: 1, channels: 3 as const, colorSpace: 'srgb' as const, data: new Uint8Array([0, 10, 255, 255, 10, 0]) };
    const out = segmentationInputTensor(image, 4, 1, 1 / 127.5, -1);
    const expectedR = [0, 63.75, 191.25, 255].map((v) => v / 127.5 - 1);
    const expectedB = [255, 191.25, 63.75, 0].map((v) => v / 127.5 - 1);
    for (let x = 0; x < 4; x++) {
      assert.ok(Math.abs(out[x * 3]! - expectedR[x]!) < 1e-6);
      assert.ok(Math.abs(out[x * 3 + 1]! - (10 / 127.5 - 1)) < 1e-6);
      assert.ok(Math.abs(out[x * 3 + 2]! - expectedB[x]!) < 1e-6);
    }
  });

  it('repeats grey into the three channels', () => {
    const grey = { width: 1, height: 1, channels: 1 as const, colorSpace: 'srgb' as const, data: new Uint8Array([51]) };
    assert.deepEqual(Array.from(segmentationInputTensor(grey, 2, 2, 1 / 127.5, -1)), new Array(12).fill(Math.fround(51 / 127.5 - 1)));
  });
});

describe('decodeClassLogits', () => {
  it('upsamples logits bilinearly, then takes the arg max and its softmax (closed form)', () => {
    // 2x1 net, 2 classes: pixel 0 = (1, 0), pixel 1 = (0, 1). At 4 columns class 0 reads 1, 0.75, 0.25, 0 and class 1 the mirror.
    const logits = new Float32Array([1, 0, 0, 1]);
    const { labels, scores } = decodeClassLogits(logits, { width: 2, height: 1, classCount: 2 }, { width: 4, height: 1 }, { withScores: true });
    assert.ok(labels instanceof Uint8Array);
    assert.deepEqual(Array.from(labels), [0, 0, 1, 1]);
    const sigmoid = (d: number): number => 1 / (1 + Math.exp(-d));
    const expected = [sigmoid(1), sigmoid(0.5), sigmoid(0.5), sigmoid(1)];
    for (let x = 0; x < 4; x++) assert.ok(Math.abs(scores![x]! - expected[x]!) < 1e-6, `score ${x}`);
  });

  it('keeps the lowest class on ties (numpy argmax), and leaves scores out unless asked', () => {
    const result = decodeClassLogits(new Float32Array([2, 5, 5, 1]), { width: 1, height: 1, classCount: 4 }, { width: 3, height: 2 });
    assert.deepEqual(Array.from(result.labels), [1, 1, 1, 1, 1, 1]);
    assert.equal(result.scores, undefined);
  });

  it('interpolates along y too: a vertical 1x2 net read at 1x4', () => {
    // Class 2 wins at the top row, class 0 at the bottom; the middle rows blend 0.75/0.25 and 0.25/0.75.
    const logits = new Float32Array([0, 0, 3, /* bottom */ 3, 0, 0]);
    const { labels } = decodeClassLogits(logits, { width: 1, height: 2, classCount: 3 }, { width: 1, height: 4 });
    assert.deepEqual(Array.from(labels), [2, 2, 0, 0]);
  });

  it('uses 16-bit labels beyond 256 classes', () => {
    const logits = new Float32Array(300);
    logits[299] = 1;
    const { labels } = decodeClassLogits(logits, { width: 1, height: 1, classCount: 300 }, { width: 2, height: 1 });
    assert.ok(labels instanceof Uint16Array);
    assert.deepEqual(Array.from(labels), [299, 299]);
  });

  it('rejects logits that do not match the size', () => {
    assert.throws(() => decodeClassLogits(new Float32Array(5), { width: 2, height: 1, classCount: 2 }, { width: 2, height: 1 }), InputError);
  });
});

describe('detectSegmentationContract', () => {
  const info = (inputDims: number[], outputDims: number[]) => ({
    modelPath: 'm.onnx',
    inputs: [{ name: 'sub_7', dtype: 'float32', dims: inputDims }],
    outputs: [{ name: 'ResizeBilinear_3', dtype: 'float32', dims: outputDims }],
  });

  it('accepts NHWC [1,257,257,3] -> [1,257,257,21] and names the tensors', () => {
    assert.deepEqual(detectSegmentationContract(info([1, 257, 257, 3], [1, 257, 257, 21])),
      { inputName: 'sub_7', outputName: 'ResizeBilinear_3', inputWidth: 257, inputHeight: 257, classCount: 21 });
  });

  it('rejects NCHW graphs and a wrong class count, naming the file', () => {
    assert.throws(() => detectSegmentationContract(info([1, 3, 257, 257], [1, 257, 257, 21])), (e: unknown) => e instanceof ModelError && /input has shape \[1,3,257,257\]/.test(e.message));
    assert.throws(() => detectSegmentationContract(info([1, 257, 257, 3], [1, 257, 257, 150])), (e: unknown) => e instanceof ModelError && /m\.onnx/.test(e.message));
  });
});
