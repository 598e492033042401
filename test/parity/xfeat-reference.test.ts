/**
 * Parity of src/models/xfeat.ts with an independent numpy implementation of XFeat's detectAndCompute
 * post-processing (test/parity/xfeat_reference.py, Debian's python3), fed the SAME raw network outputs: the real
 * ONNX networks run once here (onnxruntime-node), their three output tensors go to files, and numpy does softmax,
 * pixel-shuffle, NMS, scoring, top-k, bicubic grid_sample and L2 from PyTorch's semantics. The network input
 * (bilinear resize) is checked against cv2.resize INTER_LINEAR and the torch formula too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Image } from '../../src/core/image.ts';
import { decodeImage } from '../../src/io/decode-image.ts';
import type { InferenceBackend } from '../../src/models/backend.ts';
import { createOnnxRuntimeNodeBackend } from '../../src/models/onnxruntime-node.ts';
import {
  decodeXFeatOutputs, detectXFeatContract, openXFeatSession, xfeatInputTensor, xfeatRawOutputs, type LocalFeatures, type XFeatOptions,
} from '../../src/models/xfeat.ts';
import { DEBIAN_PYTHON, GENERATED_DIR, REPO_ROOT, SHARED_DATA_DIR, SHARED_MODELS_DIR } from '../helpers/paths.ts';
import { maxAbsDiff, readF32 } from '../helpers/float-files.ts';

const TUM = 'tum_rgbd_pairs_densevo/examples/case_1';
const DTU = 'dtu_scan24_nerf_baseline/data/dtu_scan24/images/000000.png';

interface ParityCase {
  readonly name: string;
  readonly model: string;
  readonly image: string;
  readonly options: XFeatOptions;
}

const CASES: readonly ParityCase[] = [
  { name: 'TUM 640x480 on xfeat_640x640 (defaults)', model: 'xfeat_640x640.onnx', image: `${TUM}/img_prev.png`, options: {} },
  { name: 'DTU 1600x1200 on xfeat_640x640, top 1000', model: 'xfeat_640x640.onnx', image: DTU, options: { maxKeypoints: 1000 } },
  { name: 'TUM 640x480 on xfeat_320x224 (non-square grid)', model: 'xfeat_320x224.onnx', image: `${TUM}/img_curr.png`, options: {} },
  { name: 'DTU on xfeat_256x256, 3x3 NMS, threshold 0.02', model: 'xfeat_256x256.onnx', image: DTU, options: { nmsKernel: 3, detectionThreshold: 0.02 } },
];

const SCORE_TOLERANCE = 1e-5;
const DESCRIPTOR_TOLERANCE = 1e-4;

interface Prepared {
  readonly dir: string;
  readonly ours: LocalFeatures[];
  readonly resize: Array<{ ours: Float32Array; cv2: string; formula: string; label: string }>;
  readonly versions: { numpy: string; cv2: string };
}



const missing = [DEBIAN_PYTHON, ...CASES.flatMap((c) => [path.join(SHARED_MODELS_DIR, c.model), path.join(SHARED_DATA_DIR, c.image)])]
  .filter((p) => !existsSync(p));
const skip = missing.length > 0 ? `missing: ${[...new Set(missing)].join(', ')}` : false;

describe('XFeat post-processing parity with numpy (same raw network outputs)', { skip }, () => {
  let prepared: Prepared;
  let backend: InferenceBackend;

  before(async () => {
    mkdirSync(GENERATED_DIR, { recursive: true });
    const dir = mkdtempSync(path.join(GENERATED_DIR, 'xfeat-parity-'));
    backend = createOnnxRuntimeNodeBackend();
    const images = new Map<string, Image<Uint8Array>>();
    const tasks: unknown[] = [];
    const ours: LocalFeatures[] = [];
    const resize: Prepared['resize'] = [];
    for (const [n, c] of CASES.entries()) {
      let image = images.get(c.image);
      if (image === undefined) {
        image = await decodeImage({ path: path.join(SHARED_DATA_DIR, c.image) });
        images.set(c.image, image);
      }
      const session = await openXFeatSession(backend, path.join(SHARED_MODELS_DIR, c.model), { intraOpThreads: 2 });
      const contract = detectXFeatContract(session);
      const { inputWidth: W, inputHeight: H } = contract;
      const input = xfeatInputTensor(image, W, H);
      const raw = xfeatRawOutputs(await session.run({ [contract.inputName]: { dtype: 'float32', dims: [1, 3, H, W], data: input } }), contract, c.model);
      const file = (what: string): string => path.join(dir, `case-${n}-${what}.f32`);
      writeFileSync(file('descriptors'), raw.descriptors);
      writeFileSync(file('logits'), raw.keypointLogits);
      writeFileSync(file('reliability'), raw.reliability);
      tasks.push({
        op: 'decode', descriptors: file('descriptors'), keypointLogits: file('logits'), reliability: file('reliability'),
        gridWidth: raw.gridWidth, gridHeight: raw.gridHeight, descriptorSize: raw.descriptorSize,
        imageWidth: image.width, imageHeight: image.height,
        maxKeypoints: c.options.maxKeypoints ?? 4096, detectionThreshold: c.options.detectionThreshold ?? 0.05, nmsKernel: c.options.nmsKernel ?? 5,
        outKeypoints: file('out-keypoints'), outScores: file('out-scores'), outDescriptors: file('out-descriptors'),
      });
      ours.push(decodeXFeatOutputs(raw, image, c.options));
      if (n < 3) {
        const rgb = path.join(dir, `case-${n}.u8`);
        writeFileSync(rgb, image.data);
        tasks.push({ op: 'resize', input: rgb, width: image.width, height: image.height, outWidth: W, outHeight: H, outputCv2: file('cv2'), outputFormula: file('formula') });
        resize.push({ ours: input, cv2: file('cv2'), formula: file('formula'), label: `${image.width}x${image.height} -> ${W}x${H}` });
      }
    }
    const job = path.join(dir, 'job.json');
    writeFileSync(job, JSON.stringify({ tasks }));
    const run = spawnSync(DEBIAN_PYTHON, [path.join(REPO_ROOT, 'test', 'parity', 'xfeat_reference.py'), job], { encoding: 'utf8' });
    assert.equal(run.status, 0, `xfeat_reference.py failed (${run.status}): ${run.stderr}`);
    prepared = { dir, ours, resize, versions: JSON.parse(run.stdout.trim().split('\n').pop()!) as Prepared['versions'] };
  });

  after(async () => {
    await backend?.dispose();
    if (prepared !== undefined) rmSync(prepared.dir, { recursive: true, force: true });
  });

  for (const [n, c] of CASES.entries()) {
    it(`same keypoints, scores (${SCORE_TOLERANCE}) and descriptors (${DESCRIPTOR_TOLERANCE}): ${c.name}`, (t) => {
      const ours = prepared.ours[n]!;
      const file = (what: string): string => path.join(prepared.dir, `case-${n}-${what}.f32`);
      const keypoints = readF32(file('out-keypoints'));
      const scores = readF32(file('out-scores'));
      const descriptors = readF32(file('out-descriptors'));
      const count = scores.length;
      assert.equal(ours.count, count, 'keypoint count');
      assert.ok(count > 100, `${count} keypoints`);
      // Match by position (a 1-ulp score difference could swap two neighbours in the sorted order).
      const index = new Map<string, number>();
      for (let k = 0; k < count; k++) index.set(`${keypoints[2 * k]},${keypoints[2 * k + 1]}`, k);
      let scoreErr = 0;
      let descErr = 0;
      let sameOrder = 0;
      const dim = ours.descriptorSize;
      for (let m = 0; m < count; m++) {
        const k = index.get(`${ours.keypoints[2 * m]},${ours.keypoints[2 * m + 1]}`);
        assert.ok(k !== undefined, `keypoint (${ours.keypoints[2 * m]}, ${ours.keypoints[2 * m + 1]}) is not in numpy's set`);
        if (k === m) sameOrder++;
        scoreErr = Math.max(scoreErr, Math.abs(ours.scores[m]! - scores[k]!));
        descErr = Math.max(descErr, maxAbsDiff(ours.descriptors.subarray(m * dim, (m + 1) * dim), descriptors.subarray(k * dim, (k + 1) * dim)));
      }
      t.diagnostic(`${count} keypoints (${sameOrder} in the same rank), max |score diff| ${scoreErr.toExponential(2)}, `
        + `max |descriptor diff| ${descErr.toExponential(2)} (numpy ${prepared.versions.numpy})`);
      assert.ok(scoreErr <= SCORE_TOLERANCE, `score error ${scoreErr}`);
      assert.ok(descErr <= DESCRIPTOR_TOLERANCE, `descriptor error ${descErr}`);
      assert.ok(sameOrder >= 0.99 * count, `${sameOrder} of ${count} in the same rank`);
    });
  }

  it('network input: bilinear half-pixel resize / 255 equals the torch formula and cv2.resize INTER_LINEAR', (t) => {
    const lines: string[] = [];
    for (const r of prepared.resize) {
      const errFormula = maxAbsDiff(r.ours, readF32(r.formula));
      const errCv2 = maxAbsDiff(r.ours, readF32(r.cv2));
      lines.push(`${r.label}: vs formula ${errFormula.toExponential(2)}, vs cv2 ${errCv2.toExponential(2)}`);
      assert.ok(errFormula <= 1e-6, lines.at(-1));
      assert.ok(errCv2 <= 1e-4, lines.at(-1));
    }
    t.diagnostic(`${lines.join('; ')} (cv2 ${prepared.versions.cv2})`);
  });
});
