/** `anyview eval depth`, spawned as a user runs it, on the staged NYU and KITTI layouts. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { SHARED_DATA_DIR } from '../helpers/paths.ts';
import { ensureTestModels, type TestModels } from '../helpers/test-models.ts';
import { ERROR_TABLE } from '../../src/core/errors.ts';

let models: TestModels;
before(async () => {
  models = await ensureTestModels();
});

test('a relative model is aligned in disparity space; a metric one is not aligned; JSON carries the protocol', async () => {
  const root = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo');
  const rel = await runCli(['eval', 'depth', '--dataset', 'nyu', '--root', root, '--model', models.passthroughHf, '--json']);
  assert.equal(rel.code, 0, rel.stderr);
  const relResult = JSON.parse(rel.stdout);
  assert.equal(relResult.numImages, 3);
  assert.equal(relResult.alignment, 'scaleShiftDisparity');
  assert.deepEqual(relResult.protocol, { crop: relResult.protocol.crop, minDepthMeters: 0.001, maxDepthMeters: 10 });
  assert.ok(relResult.protocol.crop !== null, 'NYU uses the Eigen crop');
  for (const name of ['absRel', 'delta1', 'delta2', 'delta3', 'rmse']) assert.ok(Number.isFinite(relResult.metrics[name]), name);
  // A colour mix is not depth: the score must be far from the paper's 0.053 AbsRel, which guards against a
  // protocol that flatters anything.
  assert.ok(relResult.metrics.absRel > 0.1, `absRel ${relResult.metrics.absRel}`);

  const metric = await runCli(['eval', 'depth', '--dataset', 'kitti', '--root', path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/kitti_demo'),
    '--model', models.metricSigmoid20, '--output-kind', 'metricDepth', '--limit', '2', '--json']);
  assert.equal(metric.code, 0, metric.stderr);
  const metricResult = JSON.parse(metric.stdout);
  assert.equal(metricResult.numImages, 2);
  assert.equal(metricResult.alignment, 'none');
  assert.equal(metricResult.protocol.maxDepthMeters, 80);
});

test('an unknown dataset or a folder without the layout is a usage error', async () => {
  const bad = await runCli(['eval', 'depth', '--dataset', 'middlebury', '--root', SHARED_DATA_DIR]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /nyu, kitti, tum, redwood/);
  const empty = await runCli(['eval', 'depth', '--dataset', 'kitti', '--root', path.join(SHARED_DATA_DIR, 'flyingchairs_flownet2'), '--model', models.passthroughHf]);
  assert.equal(empty.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(empty.stderr, /flyingchairs_flownet2/);
});
