/**
 * The fine pass's guard on real data (DTU scan24, 6 views, the real XFeat): when the fine cameras disagree with
 * the coarse ones beyond the allowed rotation change, the coarse reconstruction is returned untouched, with the
 * reason, and the views keep their coarse features (the tracks index them).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { createOnnxRuntimeNodeBackend } from '../../src/models/onnxruntime-node.ts';
import { readGroundTruthCameras } from '../../src/pipeline/eval-poses.ts';
import { DEFAULT_FINE_PASS } from '../../src/pipeline/views-fine.ts';
import { DEFAULT_VIEWS_OPTIONS } from '../../src/pipeline/views-job.ts';
import { reconstructSparse, type SparseOptions } from '../../src/pipeline/views-sparse.ts';
import { SHARED_DATA_DIR, SHARED_MODELS_DIR } from '../helpers/paths.ts';

const DTU = path.join(SHARED_DATA_DIR, 'dtu_scan24_nerf_baseline/data/dtu_scan24');
const haveData = existsSync(path.join(DTU, 'transforms.json')) && existsSync(path.join(SHARED_MODELS_DIR, 'xfeat_640x640.onnx'));
const backend = createOnnxRuntimeNodeBackend();
after(() => backend.dispose());

test('fine pass: a fine result that turns a relative rotation too far is rejected and the coarse cameras stay exactly', { skip: !haveData }, async () => {
  const { views } = await readGroundTruthCameras(path.join(DTU, 'transforms.json'), path.join(DTU, 'images'));
  assert.equal(views.length, readdirSync(path.join(DTU, 'images')).length);
  const base: SparseOptions = {
    ...DEFAULT_VIEWS_OPTIONS.sparse, knownIntrinsics: views.map((v) => v.intrinsics),
    features: { ...DEFAULT_VIEWS_OPTIONS.sparse.features, allowDownload: false },
  };
  const locations = { modelDir: SHARED_MODELS_DIR };
  const paths = views.map((v) => v.imagePath);
  const coarse = await reconstructSparse(backend, paths, { ...base, finePass: undefined }, locations);
  assert.equal(coarse.finePass.kind, 'off');
  // Any change at all is too much: the fine cameras always differ from the coarse ones by a little.
  const guarded = await reconstructSparse(backend, paths, { ...base, finePass: { ...DEFAULT_FINE_PASS, maxRotationChangeDeg: 1e-6 } }, locations);
  assert.equal(guarded.finePass.kind, 'rejected');
  assert.match((guarded.finePass as { reason: string }).reason, /relative rotation moved by [\d.]+ deg/);
  assert.deepEqual(guarded.reconstruction.cameraFromWorld, coarse.reconstruction.cameraFromWorld);
  assert.equal(guarded.reconstruction.points.length, coarse.reconstruction.points.length);
  guarded.views.forEach((v, i) => assert.equal(v.features.count, coarse.views[i]!.features.count));
});
