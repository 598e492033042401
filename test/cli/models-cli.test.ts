/** `anyview models`, and structured progress on stderr, spawned as a user runs them. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { SHARED_DATA_DIR } from '../helpers/paths.ts';
import { ensureTestModels, type TestModels } from '../helpers/test-models.ts';
import { ERROR_TABLE } from '../../src/core/errors.ts';
import { listModels } from '../../src/models/registry.ts';

let models: TestModels;
before(async () => {
  models = await ensureTestModels();
});

test('models list --json is the registry, with licences and output kinds', async () => {
  const r = await runCli(['models', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { id: string; license: string; commercialUse: boolean; output: string }[];
  assert.deepEqual(rows.map((row) => row.id), listModels().map((spec) => spec.id));
  const byId = new Map(rows.map((row) => [row.id, row]));
  assert.equal(byId.get('depth-anything-v2-small')?.license, 'Apache-2.0');
  assert.equal(byId.get('depth-anything-v2-large')?.commercialUse, false);
  assert.equal(byId.get('da3mono-large')?.output, 'relativeDepth');
  assert.equal(byId.get('da3metric-large')?.output, 'metricDepth');
});

test('models where names the download URL and the exact place for an offline copy; fetch offline fails clearly', async () => {
  const where = await runCli(['models', 'where', 'depth-anything-v2-small']);
  assert.equal(where.code, 0, where.stderr);
  assert.match(where.stdout, /https:\/\/huggingface\.co\/onnx-community\/depth-anything-v2-small\/resolve\/main\/onnx\/model\.onnx/);
  assert.match(where.stdout, /empty-cache\/models\/depth-anything-v2-small\/model\.onnx/);
  const fetch = await runCli(['models', 'fetch', 'depth-anything-v2-small']);
  assert.equal(fetch.code, ERROR_TABLE.MODEL.exitCode);
  assert.match(fetch.stderr, /offline/);
  const unknown = await runCli(['models', 'where', 'depth-anything-v9']);
  assert.equal(unknown.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(unknown.stderr, /depth-anything-v2-small/);
});

test('models inspect detects names and static or dynamic sizes of any ONNX file', async () => {
  const dynamic = await runCli(['models', 'inspect', models.passthroughFabio, '--json']);
  assert.equal(dynamic.code, 0, dynamic.stderr);
  const report = JSON.parse(dynamic.stdout);
  assert.equal(report.depthContract.inputName, 'image');
  assert.equal(report.depthContract.outputName, 'depth');
  assert.equal(report.depthContract.staticInput, undefined);
  const fixed = await runCli(['models', 'inspect', models.staticHf518]);
  assert.match(fixed.stdout, /static input size 518x518/);
});

test('--progress-json writes one JSON event per image on stderr, ending at done = total', async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'anyview-progress-'));
  const r = await runCli(['depth', path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/rgb'), '--model', models.passthroughHf,
    '--format', 'npy', '--out', out, '--progress-json']);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stderr.trim().split('\n').map((line) => JSON.parse(line) as { type: string; stage: string; done: number; total: number; unit: string });
  const depth = events.filter((e) => e.stage === 'depth');
  assert.deepEqual(depth.map((e) => e.done), [0, 1, 2, 3]);
  assert.ok(depth.every((e) => e.type === 'progress' && e.total === 3 && e.unit === 'images'));
});
