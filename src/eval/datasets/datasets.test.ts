import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../core/errors.ts';
import { SHARED_DATA_DIR } from '../../../test/helpers/paths.ts';
import { DEPTH_DATASETS, getDepthDataset } from './index.ts';
import type { DepthDataset, LoadedSample } from './types.ts';

const HAVE_DATA = existsSync(path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti'));
const skip = HAVE_DATA ? false : `no staged data at ${SHARED_DATA_DIR}`;

interface GtStats { validFraction: number; min: number; median: number; max: number }

function gtStats(sample: LoadedSample): GtStats {
  const values = Array.from(sample.depthMeters).filter(Number.isFinite).sort((a, b) => a - b);
  return {
    validFraction: values.length / sample.depthMeters.length,
    min: values[0]!,
    median: values[values.length >> 1]!,
    max: values[values.length - 1]!,
  };
}

async function loadAll(dataset: DepthDataset, root: string): Promise<{ ids: string[]; stats: GtStats[]; loaded: LoadedSample[] }> {
  const samples = await dataset.list(root);
  const loaded = await Promise.all(samples.map((s) => dataset.load(s)));
  return { ids: samples.map((s) => s.id), stats: loaded.map(gtStats), loaded };
}

test('nyu: Metric3D nyu_demo, 16-bit mm GT matching MANIFEST 1a', { skip }, async () => {
  const root = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti', 'data', 'nyu_demo');
  const { ids, stats, loaded } = await loadAll(DEPTH_DATASETS.nyu, root);
  assert.deepEqual(ids, ['metric3d/rgb_00000', 'metric3d/rgb_00050', 'metric3d/rgb_00100']);
  for (const [k, s] of stats.entries()) {
    assert.ok(s.validFraction > 0.665 && s.validFraction < 0.755, `valid fraction ${s.validFraction}`);
    assert.ok(s.min > 0.5 && s.max < 8.5 && s.median > 2 && s.median < 4, `range ${JSON.stringify(s)}`);
    const l = loaded[k]!;
    assert.equal(l.width, 640);
    assert.equal(l.height, 480);
    assert.equal(l.image.channels, 3);
    assert.equal(l.image.data.length, 640 * 480 * 3);
    assert.deepEqual(
      [l.intrinsics.fxPx, l.intrinsics.fyPx, l.intrinsics.cxPx, l.intrinsics.cyPx],
      [518.8579, 519.46961, 325.58245, 253.73617],
    );
  }
  // MANIFEST: maximum about 8.3 m over the three.
  assert.ok(Math.abs(Math.max(...stats.map((s) => s.max)) - 8.3) < 0.1);
  // Exact decode: stored 6625 mm is the first image's maximum (cv2.imread(..., -1).max() == 6625).
  assert.equal(stats[0]!.max, 6.625);
});

test('nyu: the parent data root finds both layouts (Metric3D + UniDepth demo)', { skip }, async () => {
  const samples = await DEPTH_DATASETS.nyu.list(SHARED_DATA_DIR);
  assert.equal(samples.length, 4);
  const uni = samples.find((s) => s.id === 'unidepth/demo');
  assert.ok(uni);
  assert.ok(Math.abs(uni.intrinsics.fxPx - 518.8579) < 1e-3 && Math.abs(uni.intrinsics.cyPx - 253.73616) < 1e-3);
  const stats = gtStats(await DEPTH_DATASETS.nyu.load(uni));
  assert.equal(stats.max, 10); // MANIFEST 1b: capped at 10 m
  assert.ok(stats.validFraction > 0.6 && stats.validFraction < 0.75);
  // The Metric3D repo folder and the data/ folder also work as roots.
  assert.equal((await DEPTH_DATASETS.nyu.list(path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti'))).length, 3);
});

test('kitti: Metric3D kitti_demo, value/256 m GT matching MANIFEST 1a', { skip }, async () => {
  const { ids, stats, loaded } = await loadAll(DEPTH_DATASETS.kitti, SHARED_DATA_DIR);
  assert.deepEqual(ids, ['metric3d/0000000005', 'metric3d/0000000050', 'metric3d/0000000100']);
  for (const [k, s] of stats.entries()) {
    assert.ok(s.validFraction > 0.175 && s.validFraction < 0.215, `valid fraction ${s.validFraction}`);
    assert.ok(s.median > 13 && s.median < 14, `median ${s.median}`); // MANIFEST: ~13.5 m
    assert.ok(s.max > 80 && s.max < 86, `max ${s.max}`); // MANIFEST: ~85 m
    assert.equal(loaded[k]!.width, 1242);
    assert.equal(loaded[k]!.height, 375);
    assert.equal(loaded[k]!.intrinsics.fxPx, 707.0493);
  }
});

test('tum: Open3D TUM pair + dense-VO pairs, /5000 m, without the duplicated case_2 depth', { skip }, async () => {
  const { ids, stats } = await loadAll(DEPTH_DATASETS.tum, SHARED_DATA_DIR);
  assert.deepEqual(ids, ['open3d/TUM', 'densevo/case_1/prev', 'densevo/case_1/curr', 'densevo/case_2/prev']);
  for (const s of stats) {
    assert.ok(s.validFraction > 0.7 && s.validFraction < 0.85, `valid fraction ${s.validFraction}`);
    assert.ok(s.median > 1 && s.median < 3, `median ${s.median}`);
    assert.ok(s.max < 10);
  }
  const densevo = await DEPTH_DATASETS.tum.list(path.join(SHARED_DATA_DIR, 'tum_rgbd_pairs_densevo'));
  assert.equal(densevo.length, 3);
  assert.equal(densevo[0]!.intrinsics.fxPx, 525); // kinect_params.txt
});

test('redwood: Open3D color/ + depth/ in mm', { skip }, async () => {
  const { ids, stats } = await loadAll(DEPTH_DATASETS.redwood, SHARED_DATA_DIR);
  assert.deepEqual(ids, ['open3d/00000', 'open3d/00001', 'open3d/00002', 'open3d/00003', 'open3d/00004']);
  for (const s of stats) {
    assert.ok(s.validFraction > 0.8 && s.validFraction < 0.95);
    assert.ok(s.min > 0.5 && s.max < 3, JSON.stringify(s)); // a living room, 1-2.7 m
  }
});

test('a root with no known layout is an InputError naming what was looked for', { skip }, async () => {
  const root = path.join(SHARED_DATA_DIR, 'flyingchairs_flownet2');
  await assert.rejects(DEPTH_DATASETS.nyu.list(root), (error: unknown) => {
    assert.ok(error instanceof InputError);
    assert.match(error.message, /no known layout found/);
    assert.match(error.message, /test_annotations\.json/);
    assert.match(error.message, /<root>\/metric3d_demo_nyu_kitti\/data\/nyu_demo/);
    assert.match(error.message, /rgb\.png, depth\.png, intrinsics\.npy/);
    return true;
  });
  await assert.rejects(DEPTH_DATASETS.kitti.list(path.join(root, 'does-not-exist')), /is not a folder/);
});

test('getDepthDataset lists the known names', () => {
  assert.equal(getDepthDataset('kitti'), DEPTH_DATASETS.kitti);
  assert.throws(() => getDepthDataset('sintel'), /one of: nyu, kitti, tum, redwood/);
  for (const [key, ds] of Object.entries(DEPTH_DATASETS)) assert.equal(ds.name, key);
});
