/**
 * `anyview splat`, spawned as a user runs it: a real Redwood RGB-D frame (downsampled 4x by point sampling, so the
 * intrinsics scale exactly), `anyview depth` output folders made by the real command with generated test models,
 * generated `views` and `video` folders, and bad inputs. Written splat files are read back with decodeSplatFile and
 * checked against closed forms (every Gaussian sits on the unprojection of its pixel's depth).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { SHARED_DATA_DIR, SHARED_MODELS_DIR } from '../helpers/paths.ts';
import { ensureTestModels, type TestModels } from '../helpers/test-models.ts';
import { decodeImage } from '../../src/io/decode-image.ts';
import { readMetricDepthFile } from '../../src/io/read-metric-depth.ts';
import { encodePng } from '../../src/io/png.ts';
import { decodeSplatFile } from '../../src/io/formats/splat-formats.ts';
import { openSplatSequence } from '../../src/io/formats/splat-sequence.ts';
import { encodeDepthPng16 } from '../../src/io/formats/depth-png16.ts';
import { encodePly } from '../../src/io/formats/ply.ts';
import { writeCamerasJson } from '../../src/io/formats/cameras-json.ts';
import { createDepth } from '../../src/core/depth.ts';
import { createPointCloud } from '../../src/core/points.ts';
import { identity4 } from '../../src/core/mat4.ts';
import { ERROR_TABLE } from '../../src/core/errors.ts';
import { UNLABELED } from '../../src/core/gaussians.ts';
import { DEEPLABV3_MNV2_VOC_257 } from '../../src/models/segmentation-models.ts';
import { openSegmentationSession, runSegmentation } from '../../src/models/segmentation.ts';
import { createOnnxRuntimeNodeBackend } from '../../src/models/onnxruntime-node.ts';

const REDWOOD = path.join(SHARED_DATA_DIR, 'open3d_rgbd_testdata/examples/test_data/RGBD');
const DAVIS_FRAME = path.join(SHARED_DATA_DIR, 'davis_lady_running_monst3r/demo_data/lady-running/00020.jpg');
const DEEPLAB = path.join(SHARED_MODELS_DIR, DEEPLABV3_MNV2_VOC_257.files[0]!.fileName);
const NYU_RGB = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/rgb');
const FACTOR = 4;
// PrimeSense defaults used by Open3D for the Redwood frames (MANIFEST 1c), for pixel (4u, 4v) -> (u, v).
const K = { fx: 525 / FACTOR, fy: 525 / FACTOR, cx: 319.5 / FACTOR, cy: 239.5 / FACTOR };

const tmp = (prefix: string) => mkdtemp(path.join(os.tmpdir(), `anyview-splat-${prefix}-`));

interface Frame { dir: string; image: string; depth: string; width: number; height: number; rgb: Uint8Array; depthMeters: Float32Array }
let redwood: Frame;
let models: TestModels;

before(async () => {
  models = await ensureTestModels();
  const dir = await tmp('redwood');
  const img = await decodeImage({ path: path.join(REDWOOD, 'color/00000.jpg') });
  const depth = await readMetricDepthFile(path.join(REDWOOD, 'depth/00000.png'), 1000);
  const width = img.width / FACTOR, height = img.height / FACTOR;
  const rgb = new Uint8Array(width * height * 3), mm = new Uint16Array(width * height), depthMeters = new Float32Array(width * height);
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const p = v * FACTOR * img.width + u * FACTOR;
      for (let c = 0; c < 3; c++) rgb[(v * width + u) * 3 + c] = img.data[p * 3 + c]!;
      const z = depth.depthMeters[p]!;
      mm[v * width + u] = Number.isFinite(z) ? Math.round(z * 1000) : 0;
      depthMeters[v * width + u] = Number.isFinite(z) ? mm[v * width + u]! / 1000 : NaN;
    }
  }
  const image = path.join(dir, 'rgb.png'), depthFile = path.join(dir, 'depth.png');
  await writeFile(image, await encodePng(rgb, width, height, 3));
  await writeFile(depthFile, await encodePng(mm, width, height, 1));
  redwood = { dir, image, depth: depthFile, width, height, rgb, depthMeters };
});

const intrinsicsFlag = () => `${K.fx},${K.fy},${K.cx},${K.cy}`;

test('image + metric depth PNG: every Gaussian sits on its pixel\'s unprojected depth, with its pixel\'s colour', async () => {
  const out = path.join(await tmp('one'), 'scene.ply');
  const r = await runCli(['splat', '--image', redwood.image, '--depth', redwood.depth, '--intrinsics', intrinsicsFlag(), '--out', out, '--json', '--progress-json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.mode, 'imageDepth');
  const progress = r.stderr.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'progress');
  assert.deepEqual(progress.map((e) => [e.stage, e.done, e.total]), [['splat', 0, 1], ['splat', 1, 1]]);
  const set = await decodeSplatFile(await readFile(out), out);
  let valid = 0;
  for (const z of redwood.depthMeters) if (z > 0) valid++;
  assert.equal(set.count, summary.files[0].count);
  // Edge pixels (depth jumps > 5%) are dropped, nothing else; Redwood's living room keeps most pixels.
  assert.ok(set.count <= valid && set.count > 0.8 * valid, `${set.count} of ${valid} valid pixels`);
  for (let i = 0; i < set.count; i++) {
    const x = set.positions[i * 3]!, y = set.positions[i * 3 + 1]!, z = set.positions[i * 3 + 2]!;
    const u = Math.round((x * K.fx) / z + K.cx), v = Math.round((y * K.fy) / z + K.cy);
    assert.ok(Math.abs((x * K.fx) / z + K.cx - u) < 1e-3 && Math.abs((y * K.fy) / z + K.cy - v) < 1e-3, `Gaussian ${i} is off the pixel grid`);
    const p = v * redwood.width + u;
    assert.ok(Math.abs(z - redwood.depthMeters[p]!) < 1e-6, `Gaussian ${i}: z ${z} vs depth ${redwood.depthMeters[p]}`);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(set.colors[i * 3 + c]! * 255 - redwood.rgb[p * 3 + c]!) < 1e-3);
  }
  const metadata = JSON.parse(await readFile(`${out}.json`, 'utf8'));
  assert.equal(metadata.depth.conversion, 'metric z-depth (metres)');
  assert.equal(metadata.intrinsics.source, 'flag');

  // --stride 2: Gaussians only on even pixels, at most the valid pixels of that grid; SPZ into a folder holds as many.
  const dir = await tmp('stride');
  const s = await runCli(['splat', '--image', redwood.image, '--depth', redwood.depth, '--intrinsics', intrinsicsFlag(), '--stride', '2', '--out', path.join(dir, 's2.ply')]);
  assert.equal(s.code, 0, s.stderr);
  const s2 = await decodeSplatFile(await readFile(path.join(dir, 's2.ply')), 's2.ply');
  let validGrid = 0;
  for (let v = 0; v < redwood.height; v += 2) for (let u = 0; u < redwood.width; u += 2) if (redwood.depthMeters[v * redwood.width + u]! > 0) validGrid++;
  assert.ok(s2.count <= validGrid && s2.count > 0.5 * validGrid, `${s2.count} of ${validGrid}`);
  for (let i = 0; i < s2.count; i++) {
    const z = s2.positions[i * 3 + 2]!;
    const u = (s2.positions[i * 3]! * K.fx) / z + K.cx, v = (s2.positions[i * 3 + 1]! * K.fy) / z + K.cy;
    assert.ok(Math.abs(u / 2 - Math.round(u / 2)) < 1e-3 && Math.abs(v / 2 - Math.round(v / 2)) < 1e-3, `Gaussian ${i} at (${u}, ${v})`);
  }
  const z = await runCli(['splat', '--image', redwood.image, '--depth', redwood.depth, '--intrinsics', intrinsicsFlag(), '--stride', '2', '--format', 'spz', '--out', dir]);
  assert.equal(z.code, 0, z.stderr);
  assert.equal((await decodeSplatFile(await readFile(path.join(dir, 'rgb.spz')), 'rgb.spz')).count, s2.count);
  const capped = await runCli(['splat', '--image', redwood.image, '--depth', redwood.depth, '--max-gaussians', '1000', '--out', path.join(dir, 'c.splat')]);
  assert.equal(capped.code, 0, capped.stderr);
  assert.equal((await decodeSplatFile(await readFile(path.join(dir, 'c.splat')), 'c.splat')).count, 1000);
});

test('an `anyview depth` folder: metric sidecars give one file per image; disparity is refused unless --disparity-shift', async () => {
  const metricDir = await tmp('depth-metric');
  const d = await runCli(['depth', NYU_RGB, '--model', models.metricSigmoid20, '--output-kind', 'metricDepth', '--format', 'png16', '--out', metricDir]);
  assert.equal(d.code, 0, d.stderr);
  const sidecars = (await readdir(metricDir)).filter((n) => n.endsWith('_depth.json'));
  assert.ok(sidecars.length >= 1);
  const out = await tmp('depth-metric-out');
  const r = await runCli(['splat', metricDir, '--stride', '4', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.mode, 'depthFolder');
  assert.equal(summary.files.length, sidecars.length);
  for (const f of summary.files) {
    assert.equal(f.details.intrinsics.source, 'sidecar');
    assert.equal((await decodeSplatFile(await readFile(f.file), f.file)).count, f.count);
  }

  const disparityDir = await tmp('depth-disp');
  assert.equal((await runCli(['depth', NYU_RGB, '--model', models.passthroughHf, '--format', 'npy', '--out', disparityDir])).code, 0);
  const refusedOut = path.join(await tmp('refused'), 'out');
  const refused = await runCli(['splat', disparityDir, '--out', refusedOut]);
  assert.equal(refused.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(refused.stderr, /_depth\.npy: holds disparity .*--disparity-shift 0/s);
  assert.equal(existsSync(refusedOut), false, 'nothing written');
  const accepted = await runCli(['splat', disparityDir, '--disparity-shift', '0', '--stride', '4', '--out', refusedOut, '--json']);
  assert.equal(accepted.code, 0, accepted.stderr);
  const first = JSON.parse(accepted.stdout).files[0];
  assert.match(JSON.parse(await readFile(first.metadata, 'utf8')).depth.conversion, /assumed depth = 1 \/ \(disparity \+ 0\)/);
});

test('bad inputs: all-invalid depth, mismatched sizes, malformed sidecar, --query without --semantics; nothing written', async () => {
  const dir = await tmp('bad');
  const out = path.join(dir, 'out');
  const zeros = path.join(dir, 'zeros.png');
  await writeFile(zeros, await encodePng(new Uint16Array(redwood.width * redwood.height), redwood.width, redwood.height, 1));
  const empty = await runCli(['splat', '--image', redwood.image, '--depth', zeros, '--out', path.join(out, 'a.ply')]);
  assert.equal(empty.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(empty.stderr, /zeros\.png: has no valid depth/);

  const small = path.join(dir, 'small.png');
  await writeFile(small, await encodePng(new Uint16Array(8 * 6).fill(1000), 8, 6, 1));
  const mismatch = await runCli(['splat', '--image', redwood.image, '--depth', small, '--out', path.join(out, 'a.ply')]);
  assert.equal(mismatch.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(mismatch.stderr, /the image .* is 160x120 but the depth map .*small\.png is 8x6/);

  const folder = path.join(dir, 'depthout');
  await mkdir(folder);
  const { bytes } = await encodeDepthPng16(createDepth({ kind: 'metricDepth', width: 8, height: 6, data: new Float32Array(48).fill(2) }));
  await writeFile(path.join(folder, 'a_depth16.png'), bytes);
  await writeFile(path.join(folder, 'a_depth.json'), '{"width": 8, "height": 6, "kind": "metres"}');
  const malformed = await runCli(['splat', folder, '--out', out]);
  assert.equal(malformed.code, ERROR_TABLE.FORMAT.exitCode);
  assert.match(malformed.stderr, /a_depth\.json: field "kind" must be one of/);

  const query = await runCli(['splat', '--image', redwood.image, '--depth', redwood.depth, '--query', 'person', '--out', path.join(out, 'a.ply')]);
  assert.equal(query.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(query.stderr, /--query needs --semantics/);
  assert.equal(existsSync(out), false, 'no output folder was created');
});

test('a views folder: isotropic Gaussians from points.ply, std dev 0.6 x the 3-nearest-neighbour spacing', async () => {
  const dir = await tmp('views');
  const h = 0.05;
  const positions: number[] = [];
  const colors: number[] = [];
  for (let y = 0; y < 12; y++) for (let x = 0; x < 12; x++) { positions.push(x * h, y * h, 3); colors.push(10, 200, 30); }
  await writeFile(path.join(dir, 'points.ply'), encodePly(createPointCloud({ numPoints: 144, frame: 'world', positions: Float32Array.from(positions), colors: Uint8Array.from(colors) })));
  await writeCamerasJson(path.join(dir, 'cameras.json'), {
    units: 'arbitrary',
    views: [{ name: 'a.jpg', intrinsics: { fxPx: 100, fyPx: 100, cxPx: 50, cyPx: 40, width: 100, height: 80 }, worldFromCamera: identity4() }],
  });
  const out = path.join(await tmp('views-out'), 'points.ply');
  const r = await runCli(['splat', dir, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).mode, 'views');
  const set = await decodeSplatFile(await readFile(out), out);
  assert.equal(set.count, 144);
  const interior = 5 * 12 + 5; // 4 neighbours at h: the 3 nearest are all at h
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(set.scales[interior * 3 + c]! - 0.6 * h) < 1e-6);
  assert.ok(Math.abs(set.colors[interior * 3 + 1]! - 200 / 255) < 1e-6);
  const semantics = await runCli(['splat', dir, '--semantics', 'voc', '--out', out]);
  assert.equal(semantics.code, ERROR_TABLE.INPUT.exitCode);
});

/** A generated `anyview video` folder: a fronto-parallel plane at z_k per frame, and its colour frames. */
async function videoFolder(kind: 'metricDepth' | 'disparity', zs: readonly number[], width: number, height: number): Promise<{ dir: string; frames: string }> {
  const dir = await tmp('video');
  const frames = path.join(dir, 'src');
  await mkdir(path.join(dir, 'frames'));
  await mkdir(frames);
  const lines: string[] = [];
  for (const [k, z] of zs.entries()) {
    const data = new Float32Array(width * height).fill(kind === 'disparity' ? 1 / z : z);
    const { bytes } = await encodeDepthPng16(createDepth({ kind, width, height, data }));
    const name = `frames/${String(k).padStart(6, '0')}_depth16.png`;
    await writeFile(path.join(dir, name), bytes);
    lines.push(JSON.stringify({ index: k, timeS: k / 10, files: { png16: name } }));
    await writeFile(path.join(frames, `${k}.png`), await encodePng(new Uint8Array(width * height * 3).fill(40 * (k + 1)), width, height, 3));
  }
  await writeFile(path.join(dir, 'frames.jsonl'), `${lines.join('\n')}\n`);
  return { dir, frames };
}

test('a video folder: a 4D sequence with 2 in-between sets per pair, interpolated positions and colours, times from frames.jsonl', async () => {
  const zs = [2, 3, 5];
  const { dir, frames } = await videoFolder('metricDepth', zs, 20, 16);
  const out = path.join(await tmp('seq'), 'seq');
  const r = await runCli(['splat', dir, '--frames', frames, '--format', 'ply', '--fov-deg', '60', '--out', out, '--json', '--progress-json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout).sequence;
  assert.deepEqual([summary.keyframes, summary.inBetween, summary.frames, summary.colors], [3, 2, 7, 'frames']);
  assert.ok(Math.abs(summary.fps - 30) < 1e-9, 'source 10 fps, tripled');
  const frameEvents = r.stderr.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'progress' && e.unit === 'frames');
  assert.deepEqual(frameEvents.map((e) => e.done), [1, 2, 3]);
  const sequence = await openSplatSequence(out);
  assert.equal(sequence.manifest.frames.length, 7);
  const expectedTimes = [0, 1 / 30, 2 / 30, 0.1, 0.1 + 1 / 30, 0.1 + 2 / 30, 0.2];
  sequence.manifest.frames.forEach((f, i) => assert.ok(Math.abs(f.time_s - expectedTimes[i]!) < 1e-9, `frame ${i} at ${f.time_s}`));
  // Pixel-identity matches on a plane: the set at fraction s between z_a and z_b lies at z_a + s (z_b - z_a),
  // colour likewise; every Gaussian is matched (same pixels valid in both), so no cross-fade duplicates.
  for (const [i, zExpected, grey] of [[1, 2 + 1 / 3, 40 + 40 / 3], [2, 2 + 2 / 3, 40 + 80 / 3], [5, 3 + 4 / 3, 80 + 80 / 3]] as const) {
    const set = await sequence.loadFrame(i);
    assert.equal(set.count, 20 * 16);
    for (let g = 0; g < set.count; g++) {
      assert.ok(Math.abs(set.positions[g * 3 + 2]! - zExpected) < 1e-4, `frame ${i}: z ${set.positions[g * 3 + 2]} vs ${zExpected}`);
      assert.ok(Math.abs(set.colors[g * 3]! * 255 - grey) < 1e-3);
    }
  }
  const meta = JSON.parse(await readFile(path.join(out, 'splat-job.json'), 'utf8'));
  assert.match(meta.camera, /identity worldFromCamera/);

  // Disparity frames are refused, and the failed job leaves no frame files behind.
  const disp = await videoFolder('disparity', zs, 20, 16);
  const badOut = path.join(await tmp('seq-bad'), 'seq');
  const refused = await runCli(['splat', disp.dir, '--out', badOut]);
  assert.equal(refused.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(refused.stderr, /000000_depth16\.png: holds disparity/);
  assert.deepEqual(existsSync(badOut) ? await readdir(badOut) : [], []);
});

test('--semantics voc: DeepLabV3 labels survive in the PLY; --query person keeps exactly the person pixels', { skip: !existsSync(DEEPLAB) || !existsSync(DAVIS_FRAME) ? 'DeepLabV3 or the DAVIS frame is missing' : false }, async () => {
  const dir = await tmp('sem');
  const full = await decodeImage({ path: DAVIS_FRAME }, { maxSidePx: 214 });
  const image = path.join(dir, 'frame.png');
  await writeFile(image, await encodePng(full.data, full.width, full.height, 3));
  const depth = path.join(dir, 'flat.npy');
  const { encodeNpy } = await import('../../src/io/formats/npy.ts');
  await writeFile(depth, encodeNpy(new Float32Array(full.width * full.height).fill(4), [full.height, full.width]));
  const env = { ANYVIEW_MODEL_DIR: SHARED_MODELS_DIR };
  const all = path.join(dir, 'all.ply'), people = path.join(dir, 'people.ply');
  const a = await runCli(['splat', '--image', image, '--depth', depth, '--semantics', 'voc', '--out', all], { env });
  assert.equal(a.code, 0, a.stderr);
  const q = await runCli(['splat', '--image', image, '--depth', depth, '--semantics', 'voc', '--query', 'person', '--out', people, '--json'], { env });
  assert.equal(q.code, 0, q.stderr);
  // The peer: DeepLabV3 run directly on the same pixels.
  const backend = createOnnxRuntimeNodeBackend();
  let labels: Uint8Array | Uint16Array;
  try {
    const session = await openSegmentationSession(backend, DEEPLAB);
    labels = (await runSegmentation(session, await decodeImage({ path: image }))).labels;
  } finally {
    await backend.dispose();
  }
  const person = DEEPLABV3_MNV2_VOC_257.output.classNames.indexOf('person');
  const personPixels = labels.filter((l) => l === person).length;
  const labelled = await decodeSplatFile(await readFile(all), all);
  assert.equal(labelled.count, full.width * full.height, 'a flat depth keeps every pixel');
  assert.deepEqual(labelled.semantics?.classNames, DEEPLABV3_MNV2_VOC_257.output.classNames);
  assert.ok(!labelled.semantics!.labels.includes(UNLABELED));
  assert.deepEqual([...labelled.semantics!.labels], [...labels]);
  const subset = await decodeSplatFile(await readFile(people), people);
  assert.ok(personPixels > 0.03 * labels.length, `${personPixels} person pixels`);
  assert.equal(subset.count, personPixels);
  assert.ok(subset.semantics!.labels.every((l) => l === person));
});
