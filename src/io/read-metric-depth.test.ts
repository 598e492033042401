import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readMetricDepthFile } from './read-metric-depth.ts';
import { encodeNpy } from './formats/npy.ts';
import { FormatError } from '../core/errors.ts';
import { DEBIAN_PYTHON, SHARED_DATA_DIR } from '../../test/helpers/paths.ts';

const NYU_DEPTH = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/depth/sync_depth_00050.png');

test('a 16-bit millimetre PNG reads as metres with 0 -> NaN, equal to cv2.IMREAD_UNCHANGED / 1000', async () => {
  const depth = await readMetricDepthFile(NYU_DEPTH, 1000);
  assert.deepEqual([depth.width, depth.height], [640, 480]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'anyview-depthfile-'));
  const out = path.join(dir, 'ref.f32');
  const script = `import cv2, numpy as np; d = cv2.imread(${JSON.stringify(NYU_DEPTH)}, cv2.IMREAD_UNCHANGED).astype(np.float32) / 1000; d[d == 0] = np.nan; d.astype('<f4').tofile(${JSON.stringify(out)})`;
  const r = spawnSync(DEBIAN_PYTHON, ['-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const reference = new Float32Array(new Uint8Array(readFileSync(out)).buffer);
  assert.equal(reference.length, depth.depthMeters.length);
  for (let i = 0; i < reference.length; i++) {
    const a = depth.depthMeters[i]!, b = reference[i]!;
    if (Number.isNaN(b)) assert.ok(Number.isNaN(a), `pixel ${i}`);
    else assert.ok(Math.abs(a - b) < 1e-6, `pixel ${i}: ${a} vs ${b}`);
  }
});

test('a float .npy reads with its scale; non-positive values become NaN; anything else is a FormatError', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'anyview-depthfile-'));
  const file = path.join(dir, 'd.npy');
  writeFileSync(file, encodeNpy(new Float32Array([2000, 0, -5, 1500, NaN, 1000]), [2, 3]));
  const depth = await readMetricDepthFile(file, 1000);
  assert.deepEqual([depth.width, depth.height], [3, 2]);
  assert.deepEqual(Array.from(depth.depthMeters), [2, NaN, NaN, 1.5, NaN, 1]);
  const text = path.join(dir, 'd.png');
  writeFileSync(text, 'not a depth map');
  await assert.rejects(readMetricDepthFile(text, 1000), (e: unknown) => e instanceof FormatError && e.message.includes('d.png'));
});
