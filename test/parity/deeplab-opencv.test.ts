/**
 * Parity of src/models/segmentation.ts (DeepLabV3-MobileNetV2 VOC on onnxruntime-node) with an independent peer:
 * OpenCV DNN running the same ONNX file in Debian's python3 (test/parity/deeplab_reference.py). Three checks per
 * real image:
 * - network: OpenCV's logits for our exact input tensor vs onnxruntime's (max abs difference);
 * - whole chain: the original project's chain in OpenCV (cv2.resize of the bytes, OpenCV DNN, cv2.resize of the
 *   logits, argmax) vs runSegmentation (per-pixel label agreement);
 * - pre/post-processing: our input tensor vs the float64 formula, our labels vs cv2.resize + argmax of our logits.
 * Plus ground truth where there is some: the KITTI frame's labelled pedestrian box holds the person pixels. The KITTI
 * case is a 250 x 250 crop around that pedestrian: squashed whole (1224 x 370 -> 257 x 257) the pedestrian is too thin
 * for the network and no pixel is labelled person.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Image } from '../../src/core/image.ts';
import { decodeImage } from '../../src/io/decode-image.ts';
import type { InferenceBackend } from '../../src/models/backend.ts';
import { createOnnxRuntimeNodeBackend } from '../../src/models/onnxruntime-node.ts';
import { DEEPLABV3_MNV2_VOC_257, VOC_CLASS_NAMES } from '../../src/models/segmentation-models.ts';
import {
  decodeClassLogits, detectSegmentationContract, openSegmentationSession, runSegmentation, segmentationInputTensor, segmentationLogits,
  type ClassSegmentation,
} from '../../src/models/segmentation.ts';
import { DEBIAN_PYTHON, GENERATED_DIR, REPO_ROOT, SHARED_DATA_DIR, SHARED_MODELS_DIR } from '../helpers/paths.ts';
import { maxAbsDiff, readF32 } from '../helpers/float-files.ts';

const MODEL = path.join(SHARED_MODELS_DIR, DEEPLABV3_MNV2_VOC_257.files[0]!.fileName);
const LADY = 'davis_lady_running_monst3r/demo_data/lady-running';
const KITTI = 'kitti_object_kitti_object_vis/data/object/training';
const IMAGES = [`${LADY}/00000.jpg`, `${LADY}/00040.jpg`, `${KITTI}/image_2/000000.png`] as const;
const PERSON = VOC_CLASS_NAMES.indexOf('person');

/** The KITTI crop (left, top, side) around the pedestrian box of label_2/000000.txt. */
const KITTI_CROP = { left: 636, top: 100, side: 250 } as const;

/** onnxruntime and OpenCV run different kernels (Winograd, fused ops): float32 sums differ by ~1e-4. */
const LOGIT_TOLERANCE = 2e-3;
/**
 * The whole upstream chain rounds the resized image to bytes before /127.5 (we do not: < 0.004 per input value)
 * and resizes logits in float32: only pixels on class boundaries can flip.
 */
const UPSTREAM_AGREEMENT = 0.995;
/** Same logits, same resize: only near-ties (float32 vs float64 interpolation) may differ. */
const POSTPROCESS_AGREEMENT = 0.9999;
const INPUT_TOLERANCE = 1e-5;

interface Case {
  readonly file: string;
  readonly image: Image<Uint8Array>;
  readonly ours: ClassSegmentation;
  readonly ourInput: Float32Array;
  readonly ourLogits: Float32Array;
  readonly timingMs: number;
  readonly out: (what: string) => string;
}

function cropSquare(image: Image<Uint8Array>, left: number, top: number, side: number): Image<Uint8Array> {
  const c = image.channels;
  const data = new Uint8Array(side * side * c);
  for (let y = 0; y < side; y++) data.set(image.data.subarray(((top + y) * image.width + left) * c, ((top + y) * image.width + left + side) * c), y * side * c);
  return { ...image, width: side, height: side, data };
}



function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

const missing = [DEBIAN_PYTHON, MODEL, ...IMAGES.map((f) => path.join(SHARED_DATA_DIR, f))].filter((p) => !existsSync(p));
const skip = missing.length > 0 ? `missing: ${missing.join(', ')}` : false;

describe('DeepLabV3 VOC: onnxruntime-node + our pre/post-processing vs OpenCV DNN', { skip }, () => {
  let backend: InferenceBackend;
  let dir: string;
  const cases: Case[] = [];
  let versions: Record<string, string>;

  before(async () => {
    mkdirSync(GENERATED_DIR, { recursive: true });
    dir = mkdtempSync(path.join(GENERATED_DIR, 'deeplab-parity-'));
    backend = createOnnxRuntimeNodeBackend();
    const session = await openSegmentationSession(backend, MODEL, { intraOpThreads: 2 });
    const contract = detectSegmentationContract(session);
    const { inputWidth: w, inputHeight: h, classCount } = contract;
    const { scale, offset } = DEEPLABV3_MNV2_VOC_257.preprocess;
    const tasks: unknown[] = [];
    for (const [n, file] of IMAGES.entries()) {
      const decoded = await decodeImage({ path: path.join(SHARED_DATA_DIR, file) });
      assert.equal(decoded.channels, 3, `${file} is not RGB`);
      const image = file.includes('kitti') ? cropSquare(decoded, KITTI_CROP.left, KITTI_CROP.top, KITTI_CROP.side) : decoded;
      const out = (what: string): string => path.join(dir, `case-${n}-${what}`);
      await runSegmentation(session, image); // warm-up, so the timing below is the steady state
      const start = performance.now();
      const ours = await runSegmentation(session, image);
      const timingMs = performance.now() - start;
      const ourInput = segmentationInputTensor(image, w, h, scale, offset);
      const ourLogits = segmentationLogits(await session.run({ [contract.inputName]: { dtype: 'float32', dims: [1, h, w, 3], data: ourInput } }), contract, MODEL);
      // The labels of runSegmentation come from these very logits (deterministic CPU run).
      assert.deepEqual(decodeClassLogits(ourLogits, { width: w, height: h, classCount }, image).labels, ours.labels);
      writeFileSync(out('rgb'), image.data);
      writeFileSync(out('input'), ourInput);
      writeFileSync(out('logits'), ourLogits);
      tasks.push({
        width: image.width, height: image.height, classes: classCount, rgb: out('rgb'), ourInput: out('input'), ourLogits: out('logits'),
        cvLogitsSame: out('cv-logits'), cvLabelsUpstream: out('cv-labels'), refLabels: out('ref-labels'), refInput: out('ref-input'),
      });
      cases.push({ file, image, ours, ourInput, ourLogits, timingMs, out });
    }
    const job = path.join(dir, 'job.json');
    writeFileSync(job, JSON.stringify({ model: MODEL, netSize: w, tasks }));
    const run = spawnSync(DEBIAN_PYTHON, [path.join(REPO_ROOT, 'test', 'parity', 'deeplab_reference.py'), job], { encoding: 'utf8' });
    assert.equal(run.status, 0, `deeplab_reference.py failed (${run.status}): ${run.stderr}`);
    versions = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, string>;
  });

  after(async () => {
    await backend?.dispose();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('the network: OpenCV DNN logits for our input match onnxruntime-node', (t) => {
    for (const c of cases) {
      const diff = maxAbsDiff(c.ourLogits, readF32(c.out('cv-logits')));
      const argmax = agreement(decodeClassLogits(c.ourLogits, { width: 257, height: 257, classCount: 21 }, { width: 257, height: 257 }).labels,
        decodeClassLogits(readF32(c.out('cv-logits')), { width: 257, height: 257, classCount: 21 }, { width: 257, height: 257 }).labels);
      t.diagnostic(`${c.file}: max |logit diff| ${diff.toExponential(2)}, 257x257 argmax agreement ${(100 * argmax).toFixed(3)}% (cv2 ${versions['cv2']})`);
      assert.ok(diff < LOGIT_TOLERANCE, `${c.file}: logits differ by ${diff}`);
    }
  });

  it('the whole chain: labels agree with the original project\'s chain run in OpenCV', (t) => {
    for (const c of cases) {
      const a = agreement(c.ours.labels, readFileSync(c.out('cv-labels')));
      t.diagnostic(`${c.file} (${c.image.width}x${c.image.height}): ${(100 * a).toFixed(3)}% of pixels agree; runSegmentation ${c.timingMs.toFixed(0)} ms`);
      assert.ok(a >= UPSTREAM_AGREEMENT, `${c.file}: only ${(100 * a).toFixed(3)}% agree`);
    }
  });

  it('pre- and post-processing match the float64 formula and cv2.resize + argmax', (t) => {
    for (const c of cases) {
      const inputDiff = maxAbsDiff(c.ourInput, readF32(c.out('ref-input')));
      const a = agreement(c.ours.labels, readFileSync(c.out('ref-labels')));
      t.diagnostic(`${c.file}: input max diff ${inputDiff.toExponential(2)}, labels vs cv2.resize+argmax ${(100 * a).toFixed(4)}%`);
      assert.ok(inputDiff < INPUT_TOLERANCE, `${c.file}: input differs by ${inputDiff}`);
      assert.ok(a >= POSTPROCESS_AGREEMENT, `${c.file}: only ${(100 * a).toFixed(4)}% agree`);
    }
  });

  it('finds the runner in the centre of the DAVIS frames and the KITTI pedestrian inside its labelled box', (t) => {
    for (const c of cases.filter((k) => k.file.startsWith(LADY))) {
      const { width: w, height: h, labels } = c.ours;
      // The central 20% x 20% window: the runner fills it in these frames.
      let person = 0, total = 0, elsewhere = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const central = Math.abs(x - w / 2) < 0.1 * w && Math.abs(y - h / 2) < 0.1 * h;
          const isPerson = labels[y * w + x] === PERSON;
          if (central) {
            total++;
            if (isPerson) person++;
          } else if (isPerson) elsewhere++;
        }
      }
      t.diagnostic(`${c.file}: person covers ${(100 * person / total).toFixed(1)}% of the central window; ${elsewhere} person px elsewhere (the diners around her too)`);
      assert.ok(person / total > 0.5, `${c.file}: person covers only ${person}/${total} central pixels`);
    }
    const kitti = cases.find((k) => k.file.includes('kitti'))!;
    // KITTI label_2/000000.txt: "Pedestrian ... 712.40 143.00 810.73 307.92" (left, top, right, bottom).
    const label = readFileSync(path.join(SHARED_DATA_DIR, KITTI, 'label_2', '000000.txt'), 'utf8').trim().split(/\s+/);
    assert.equal(label[0], 'Pedestrian');
    const [left, top, right, bottom] = label.slice(4, 8).map(Number) as [number, number, number, number];
    const { width: w, height: h, labels } = kitti.ours;
    let inside = 0, outside = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (labels[y * w + x] !== PERSON) continue;
        const [u, v] = [x + KITTI_CROP.left, y + KITTI_CROP.top];
        if (u >= left && u <= right && v >= top && v <= bottom) inside++;
        else outside++;
      }
    }
    const boxArea = (right - left) * (bottom - top);
    t.diagnostic(`KITTI 000000 crop: ${inside} person px inside the pedestrian box (${(100 * inside / boxArea).toFixed(1)}% of it), ${outside} outside`);
    assert.ok(inside > 0.25 * boxArea, `only ${inside} person pixels in a ${boxArea.toFixed(0)} px box`);
    assert.ok(outside < 0.05 * inside, `${outside} person pixels outside the box vs ${inside} inside`);
  });
});
