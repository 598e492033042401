/**
 * `anyview render`, spawned as a user runs it, on a generated splat file: the PNG's pixels equal renderGaussians
 * called directly on the decoded file (quantised round(255 * clamp)), depth equals normalizeDepth, a cameras.json
 * view renders as the same camera given as CAMERA.json, and ffprobe (an independent reader) checks the videos.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decode as decodePng } from 'fast-png';
import { runCli } from '../helpers/cli.ts';
import { createCamera } from '../../src/core/camera.ts';
import { createGaussianSet, type GaussianSet } from '../../src/core/gaussians.ts';
import { identity4 } from '../../src/core/mat4.ts';
import { ERROR_TABLE } from '../../src/core/errors.ts';
import { decodeNpy } from '../../src/io/formats/npy.ts';
import { decodeSplatFile, getSplatFormat } from '../../src/io/formats/splat-formats.ts';
import { writeCamerasJson } from '../../src/io/formats/cameras-json.ts';
import { ffmpegAvailable } from '../../src/io/video-decode.ts';
import { lookAt } from '../../src/splat/camera-path.ts';
import { normalizeDepth, renderGaussians } from '../../src/splat/rasterize.ts';
import { createRng } from '../../src/geometry/random.ts';

let dir: string;
let splats: string;
let decoded: GaussianSet;

/** 400 random Gaussians in a 2 x 2 x 1 box around (0, 0, 4), with VOC-style labels 0..20. */
function randomSet(): GaussianSet {
  const rng = createRng(3);
  const n = 400;
  const positions = new Float32Array(n * 3), scales = new Float32Array(n * 3), rotations = new Float32Array(n * 4);
  const opacities = new Float32Array(n), colors = new Float32Array(n * 3), labels = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    positions.set([rng.next() * 2 - 1, rng.next() * 2 - 1, 3.5 + rng.next()], i * 3);
    scales.set([0.02 + 0.1 * rng.next(), 0.02 + 0.1 * rng.next(), 0.02 + 0.05 * rng.next()], i * 3);
    const q = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()];
    const norm = Math.hypot(...q);
    rotations.set(q.map((v) => v / norm), i * 4);
    opacities[i] = 0.3 + 0.7 * rng.next();
    colors.set([rng.next() * 1.2 - 0.1, rng.next(), rng.next()], i * 3); // a few out of [0, 1]: the PNG clamps
    labels[i] = i % 21;
  }
  const classNames = Array.from({ length: 21 }, (_, k) => `class${k}`);
  return createGaussianSet({ count: n, frame: 'world', positions, scales, rotations, opacities, colors, semantics: { labels, classNames } });
}

const CAMERA = { width: 64, height: 48, fx: 60, fy: 60, cx: 31.5, cy: 23.5 };

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-render-'));
  splats = path.join(dir, 'set.ply');
  await writeFile(splats, await getSplatFormat('ply').encode(randomSet()));
  decoded = await decodeSplatFile(await readFile(splats), splats);
});

function expectedRgb8(color: Float32Array): Uint8Array {
  return Uint8Array.from(color, (v) => Math.round(255 * Math.min(1, Math.max(0, v))));
}

test('--camera: PNG pixels equal renderGaussians on the decoded file; depth and labels match; a cameras.json view is the same camera', async () => {
  const pose = lookAt([0.5, -0.3, 0.5], [0, 0, 4]);
  const cameraFile = path.join(dir, 'camera.json');
  await writeFile(cameraFile, JSON.stringify({ ...CAMERA, worldFromCamera: [...pose] }));
  const out = path.join(dir, 'view.png'), depthOut = path.join(dir, 'view_depth.npy'), labelsOut = path.join(dir, 'labels.png');
  const r = await runCli(['render', splats, '--camera', cameraFile, '--background', '0.2,0.4,1', '--out', out, '--depth-out', depthOut, '--labels-out', labelsOut, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const camera = createCamera({ width: 64, height: 48, fxPx: 60, fyPx: 60, cxPx: 31.5, cyPx: 23.5 }, pose);
  const direct = renderGaussians(decoded, camera, { background: [0.2, 0.4, 1] });
  const png = decodePng(await readFile(out));
  assert.deepEqual([png.width, png.height, png.channels, png.depth], [64, 48, 3, 8]);
  assert.deepEqual(Buffer.from(png.data as Uint8Array), Buffer.from(expectedRgb8(direct.color.data)));
  assert.ok(direct.stats.visible > 100 && JSON.parse(r.stdout).visible === direct.stats.visible);
  const depth = decodeNpy(await readFile(depthOut));
  assert.deepEqual(depth.shape, [48, 64]);
  assert.deepEqual([...depth.data], [...normalizeDepth(direct)]);
  const labels = decodePng(await readFile(labelsOut));
  assert.deepEqual([...labels.data], [...direct.labels!].map((l) => (l === 0xffff ? 255 : l)));
  // The PASCAL VOC palette (as the devkit's labelcolormap.m builds it): 1 = aeroplane (128, 0, 0), 15 = person (192, 128, 128), 255 = void (224, 224, 192).
  assert.deepEqual([labels.palette![1], labels.palette![15], labels.palette![255]], [[128, 0, 0], [192, 128, 128], [224, 224, 192]]);

  // The same camera as view 1 of a cameras.json (nested 4x4 rows there).
  const cams = path.join(dir, 'cameras.json');
  const intrinsics = { fxPx: 60, fyPx: 60, cxPx: 31.5, cyPx: 23.5, width: 64, height: 48 };
  await writeCamerasJson(cams, { units: 'arbitrary', views: [{ name: 'a', intrinsics, worldFromCamera: identity4() }, { name: 'b', intrinsics, worldFromCamera: pose }] });
  const fromViews = path.join(dir, 'view1.png');
  const v = await runCli(['render', splats, '--camera', cams, '--view', '1', '--background', '0.2,0.4,1', '--out', fromViews]);
  assert.equal(v.code, 0, v.stderr);
  assert.deepEqual(await readFile(fromViews), await readFile(out), 'identical PNG bytes');

  const noView = await runCli(['render', splats, '--camera', cams, '--out', path.join(dir, 'x.png')]);
  assert.equal(noView.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(noView.stderr, /cameras\.json with 2 views: choose one with --view 0\.\.1/);
  const bad = path.join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify({ ...CAMERA, worldFromCamera: [1, 0, 0] }));
  const malformed = await runCli(['render', splats, '--camera', bad, '--out', path.join(dir, 'x.png')]);
  assert.equal(malformed.code, ERROR_TABLE.FORMAT.exitCode);
  assert.match(malformed.stderr, /bad\.json: worldFromCamera must be 16 finite numbers/);
  assert.equal(existsSync(path.join(dir, 'x.png')), false);
});

function probe(file: string): { width: number; height: number; frames: number } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,nb_read_frames', '-of', 'json', file], { encoding: 'utf8' });
  const s = JSON.parse(r.stdout).streams[0];
  return { width: s.width, height: s.height, frames: Number(s.nb_read_frames) };
}

test('--orbit and --camera-path: H.264 videos with the requested frame count and size (ffprobe)', { skip: !ffmpegAvailable() && 'ffmpeg is not installed' }, async () => {
  const orbit = path.join(dir, 'orbit.mp4');
  const r = await runCli(['render', splats, '--orbit', '8', '--width', '48', '--height', '32', '--fps', '12', '--out', orbit, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(probe(orbit), { width: 48, height: 32, frames: 8 });
  assert.ok(JSON.parse(r.stdout).visible > 0.5 * decoded.count, 'the orbit frames the set');

  const pathFile = path.join(dir, 'path.json');
  const cameras = [0, 0.2, 0.4].map((x) => ({ ...CAMERA, worldFromCamera: [...lookAt([x, 0, 0], [0, 0, 4])] }));
  await writeFile(pathFile, JSON.stringify(cameras));
  const video = path.join(dir, 'path.mp4');
  const p = await runCli(['render', splats, '--camera-path', pathFile, '--out', video]);
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual(probe(video), { width: 64, height: 48, frames: 3 });
});
