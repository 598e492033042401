import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createDepth } from '../core/depth.ts';
import { InputError } from '../core/errors.ts';
import { readMetricDepthFile } from '../io/read-metric-depth.ts';
import { SHARED_DATA_DIR } from '../../test/helpers/paths.ts';
import { alignToKnownDepth, checkOutputsPossible, intrinsicsFor } from './depth-outputs.ts';
import { DEFAULT_DEPTH_JOB_OPTIONS } from './depth-options.ts';

const NYU_DEPTH = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/depth/sync_depth_00000.png');

test('--align recovers metres from disparity a/depth + b despite 10% corrupted pixels (RANSAC in disparity space)', async () => {
  const known = { path: NYU_DEPTH, ...(await readMetricDepthFile(NYU_DEPTH, 1000)) };
  const { width, height, depthMeters } = known;
  const disparity = new Float32Array(width * height);
  // Dense prediction everywhere (GT holes filled with 3 m), then a known affine disparity: 2.5/d + 0.4.
  for (let i = 0; i < disparity.length; i++) {
    const d = Number.isFinite(depthMeters[i]!) ? depthMeters[i]! : 3;
    disparity[i] = 2.5 / d + 0.4;
  }
  const corrupted = Float32Array.from(disparity);
  for (let i = 0; i < corrupted.length; i += 10) corrupted[i] = corrupted[i]! * 3 + 1; // gross outliers
  const { depth, fit } = alignToKnownDepth(createDepth({ kind: 'disparity', width, height, data: corrupted }), known);
  assert.equal(depth.kind, 'metricDepth');
  assert.ok(Math.abs(fit.scale - 1 / 2.5) < 1e-4, `scale ${fit.scale}`);
  assert.ok(Math.abs(fit.shift + 0.4 / 2.5) < 1e-4, `shift ${fit.shift}`);
  let worst = 0;
  for (let i = 1; i < depthMeters.length; i++) {
    if (i % 10 !== 0 && Number.isFinite(depthMeters[i]!)) worst = Math.max(worst, Math.abs(depth.data[i]! - depthMeters[i]!) / depthMeters[i]!);
  }
  assert.ok(worst < 1e-3, `worst relative error ${worst}`);
});

test('--align fits relative depth in depth space, and refuses a size mismatch', async () => {
  const known = { path: NYU_DEPTH, ...(await readMetricDepthFile(NYU_DEPTH, 1000)) };
  const rel = Float32Array.from(known.depthMeters, (d) => (Number.isFinite(d) ? 0.3 * d - 0.2 : 1));
  const { depth } = alignToKnownDepth(createDepth({ kind: 'relativeDepth', width: known.width, height: known.height, data: rel }), known);
  const i = known.depthMeters.findIndex((d) => Number.isFinite(d));
  assert.ok(Math.abs(depth.data[i]! - known.depthMeters[i]!) < 1e-4);
  const small = createDepth({ kind: 'disparity', width: 4, height: 3, data: new Float32Array(12).fill(1) });
  assert.throws(() => alignToKnownDepth(small, known), (e: unknown) => e instanceof InputError && /640x480.*4x3/.test(e.message));
});

test('ply needs depth: refused up front for disparity without --align', () => {
  const options = { ...DEFAULT_DEPTH_JOB_OPTIONS, output: { ...DEFAULT_DEPTH_JOB_OPTIONS.output, formats: ['ply'] as const } };
  assert.throws(() => checkOutputsPossible('disparity', options), InputError);
  assert.doesNotThrow(() => checkOutputsPossible('metricDepth', options));
  assert.doesNotThrow(() => checkOutputsPossible('disparity', { ...options, align: { path: 'x.png', valuesPerMeter: 1000 } }));
});

test('intrinsics: given ones are used as is; otherwise a 60 degree horizontal FOV with a centred principal point', () => {
  const given = intrinsicsFor({ width: 640, height: 480 }, { assumedFovXDeg: 60, intrinsics: { fxPx: 500, fyPx: 501, cxPx: 320, cyPx: 240 } });
  assert.deepEqual([given.source, given.intrinsics.fxPx, given.intrinsics.cyPx], ['given', 500, 240]);
  const assumed = intrinsicsFor({ width: 640, height: 480 }, { assumedFovXDeg: 60 });
  assert.equal(assumed.source, 'assumedFov');
  // tan(30 deg) = (W/2) / f
  assert.ok(Math.abs(Math.tan(Math.PI / 6) - 320 / assumed.intrinsics.fxPx) < 1e-12);
  assert.deepEqual([assumed.intrinsics.cxPx, assumed.intrinsics.cyPx], [319.5, 239.5]);
});
