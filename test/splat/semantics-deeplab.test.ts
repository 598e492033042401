/**
 * Segmentation to Gaussians end to end on a real DAVIS frame: DeepLabV3 VOC labels the pixels, one Gaussian per
 * pixel on the plane z = 1 (camera frame) takes its pixel's class, and queryByClass('person') must return exactly
 * the person pixels, each at its own pixel's position.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { allocateGaussianSet } from '../../src/core/gaussians.ts';
import { decodeImage } from '../../src/io/decode-image.ts';
import { createOnnxRuntimeNodeBackend } from '../../src/models/onnxruntime-node.ts';
import { DEEPLABV3_MNV2_VOC_257, resolveSegmentationModel } from '../../src/models/segmentation-models.ts';
import { openSegmentationSession, runSegmentation } from '../../src/models/segmentation.ts';
import { attachSemantics, queryByClass } from '../../src/splat/semantics.ts';
import { SHARED_DATA_DIR, SHARED_MODELS_DIR } from '../helpers/paths.ts';

const FRAME = path.join(SHARED_DATA_DIR, 'davis_lady_running_monst3r/demo_data/lady-running/00020.jpg');
const MODEL = path.join(SHARED_MODELS_DIR, DEEPLABV3_MNV2_VOC_257.files[0]!.fileName);
const missing = [FRAME, MODEL].filter((p) => !existsSync(p));

describe('DeepLabV3 labels on a pixel-aligned Gaussian set', { skip: missing.length > 0 ? `missing: ${missing.join(', ')}` : false }, () => {
  it('queryByClass("person") returns exactly the person pixels, at their positions', async (t) => {
    const image = await decodeImage({ path: FRAME });
    const resolved = await resolveSegmentationModel(DEEPLABV3_MNV2_VOC_257.id, { modelDir: SHARED_MODELS_DIR, allowDownload: false });
    const backend = createOnnxRuntimeNodeBackend();
    try {
      const session = await openSegmentationSession(backend, resolved.path, { intraOpThreads: 2 });
      const start = performance.now();
      const segmentation = await runSegmentation(session, image, { withScores: true });
      const ms = performance.now() - start;
      const { width: w, height: h, labels, scores } = segmentation;
      assert.equal(w, image.width);
      assert.equal(h, image.height);

      // One Gaussian per pixel, in a shuffled order (so the source index, not the Gaussian index, carries the pixel),
      // centred at (x, y, 1).
      const n = w * h;
      const set = allocateGaussianSet(n, 'camera');
      const sources = new Uint32Array(n);
      assert.notEqual(n % 7919, 0);
      for (let i = 0; i < n; i++) sources[i] = (i * 7919) % n; // 7919 is prime and does not divide n: a permutation
      for (let i = 0; i < n; i++) {
        const p = sources[i]!;
        set.positions[i * 3] = p % w;
        set.positions[i * 3 + 1] = Math.floor(p / w);
        set.positions[i * 3 + 2] = 1;
      }
      const person = DEEPLABV3_MNV2_VOC_257.output.classNames.indexOf('person');
      let personPixels = 0;
      for (let p = 0; p < n; p++) if (labels[p] === person) personPixels++;

      const labelled = attachSemantics(set, sources, segmentation);
      const people = queryByClass(labelled, 'Person');
      t.diagnostic(`${w}x${h}: ${personPixels} person pixels (${(100 * personPixels / n).toFixed(1)}%), subset ${people.count}; `
        + `segmentation ${ms.toFixed(0)} ms`);
      assert.ok(personPixels > 0.05 * n, 'the frame shows people');
      assert.equal(people.count, personPixels);
      for (let k = 0; k < people.count; k++) {
        const p = people.positions[k * 3 + 1]! * w + people.positions[k * 3]!;
        assert.equal(labels[p], person, `Gaussian ${k} sits on a pixel of class ${labels[p]}`);
      }
      // Scores are softmax probabilities of the winning class: at least 1/21, at most 1.
      let low = 1;
      for (let p = 0; p < n; p++) low = Math.min(low, scores![p]!);
      assert.ok(low >= 1 / 21 - 1e-6 && Math.max(...scores!.subarray(0, 1000)) <= 1);
    } finally {
      await backend.dispose();
    }
  });
});
