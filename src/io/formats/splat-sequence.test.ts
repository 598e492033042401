import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FormatError, InputError } from '../../core/errors.ts';
import { createGaussianSet, type GaussianSet } from '../../core/gaussians.ts';
import { openSplatSequence, SplatSequenceWriter } from './splat-sequence.ts';

/** Frame k: n Gaussians on a line moving along +x by k (a closed-form trajectory to check each frame against). */
function frame(k: number, n: number): GaussianSet {
  const positions = new Float32Array(n * 3), scales = new Float32Array(n * 3).fill(0.05), rotations = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    positions.set([k + i * 0.01, -i * 0.02, 2 + i * 0.03], i * 3);
    rotations[i * 4] = 1;
  }
  return createGaussianSet({ count: n, frame: 'world', positions, scales, rotations, opacities: new Float32Array(n).fill(0.7), colors: new Float32Array(n * 3).fill(0.25) });
}

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'splat-seq-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('SPZ sequence: frames stream to files, the manifest appears only at finalize, frames load lazily in place', () => withDir(async (dir) => {
  const writer = await SplatSequenceWriter.create(dir, { fps: 24 });
  for (let k = 0; k < 5; k++) await writer.append(frame(k, 100 + k));
  assert.deepEqual((await readdir(dir)).sort(), ['frame_000000.spz', 'frame_000001.spz', 'frame_000002.spz', 'frame_000003.spz', 'frame_000004.spz']);
  await assert.rejects(openSplatSequence(dir), (e: unknown) => e instanceof InputError && /no manifest\.json.*unfinished/.test(e.message));
  const manifest = await writer.finalize();
  await assert.rejects(writer.append(frame(5, 1)), InputError);

  const json = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as typeof manifest;
  assert.deepEqual(json, manifest);
  assert.equal(json.format, 'anyview.splat-sequence');
  assert.equal(json.version, 1);
  assert.deepEqual(json.coordinates.axes, 'RDF');
  assert.equal(json.coordinates.fileAxes, 'RUB');
  assert.deepEqual(json.frames[3], { index: 3, time_s: 3 / 24, file: 'frame_000003.spz', count: 103 });

  const sequence = await openSplatSequence(dir);
  const third = await sequence.loadFrame(3);
  const want = frame(3, 103);
  assert.equal(third.count, 103);
  for (let i = 0; i < want.positions.length; i++) assert.ok(Math.abs(third.positions[i]! - want.positions[i]!) <= 1 / 8192 + 1e-6, `component ${i}`);
  await assert.rejects(sequence.loadFrame(5), InputError);
}));

test('PLY sequence with explicit times: exact frames; times must increase', () => withDir(async (dir) => {
  const writer = await SplatSequenceWriter.create(path.join(dir, 'seq'), { fps: 10, frameFormat: 'ply' });
  await writer.append(frame(0, 10), 0);
  await writer.append(frame(1, 10), 0.25);
  await assert.rejects(writer.append(frame(2, 10), 0.25), (e: unknown) => e instanceof InputError && /must be finite and after/.test(e.message));
  const manifest = await writer.finalize();
  assert.deepEqual(manifest.frames.map((f) => [f.file, f.time_s]), [['frame_000000.ply', 0], ['frame_000001.ply', 0.25]]);
  const back = await (await openSplatSequence(path.join(dir, 'seq'))).loadFrame(1);
  assert.deepEqual(back.positions, frame(1, 10).positions);
  await assert.rejects(SplatSequenceWriter.create(dir, { fps: 0 }), InputError);
}));

test('bad manifests: path escape, wrong count, missing frame, wrong format tag', () => withDir(async (dir) => {
  const writer = await SplatSequenceWriter.create(dir, { fps: 1, frameFormat: 'ply' });
  await writer.append(frame(0, 4));
  const manifest = await writer.finalize();
  const write = (m: object): Promise<void> => writeFile(path.join(dir, 'manifest.json'), JSON.stringify(m));
  const isFormat = (pattern: RegExp) => (e: unknown): boolean => e instanceof FormatError && e.message.includes(dir) && pattern.test(e.message);

  await write({ ...manifest, frames: [{ ...manifest.frames[0], file: '../frame_000000.ply' }] });
  await assert.rejects(openSplatSequence(dir), isFormat(/frames\[0\] must be/));
  await write({ ...manifest, frames: [{ ...manifest.frames[0], count: 5 }] });
  await assert.rejects((await openSplatSequence(dir)).loadFrame(0), isFormat(/holds 4 Gaussians, the manifest says 5/));
  await write({ ...manifest, frames: [{ ...manifest.frames[0], file: 'gone.ply' }] });
  await assert.rejects((await openSplatSequence(dir)).loadFrame(0), isFormat(/missing/));
  await write({ ...manifest, format: 'other' });
  await assert.rejects(openSplatSequence(dir), isFormat(/"format" must be "anyview.splat-sequence"/));
  await writeFile(path.join(dir, 'manifest.json'), '{');
  await assert.rejects(openSplatSequence(dir), isFormat(/not JSON/));
}));
