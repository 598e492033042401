/**
 * The `anyview depth` and `anyview auto` commands, spawned as a user runs them, on real images from
 * ../shared/data with the project's generated ONNX graphs (no real weights can be downloaded here).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile, mkdir, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runCli } from '../helpers/cli.ts';
import { SHARED_DATA_DIR } from '../helpers/paths.ts';
import { ensureTestModels, type TestModels } from '../helpers/test-models.ts';
import { decodeNpy } from '../../src/io/formats/npy.ts';
import { decodePly } from '../../src/io/formats/ply.ts';
import { decodeDepthPng16 } from '../../src/io/formats/depth-png16.ts';
import { ERROR_TABLE } from '../../src/core/errors.ts';

const NYU_RGB = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/rgb');
const NYU_IMAGE = path.join(NYU_RGB, 'rgb_00000.jpg');
const VENUS = path.join(SHARED_DATA_DIR, 'middlebury_flow_other_6869project/other-data/Venus/frame10.png');

let models: TestModels;
before(async () => {
  models = await ensureTestModels();
});

const tmp = (prefix: string) => mkdtemp(path.join(os.tmpdir(), `anyview-cli-${prefix}-`));

test('depth on a folder writes every requested file and a sidecar per image; --json is machine-readable', async () => {
  const out = await tmp('folder');
  const r = await runCli(['depth', NYU_RGB, '--model', models.passthroughHf, '--format', 'png16,npy,color', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.images.length, 3);
  assert.equal(summary.failures.length, 0);
  assert.equal(summary.model.kind, 'disparity');
  const files = (await readdir(out)).sort();
  assert.deepEqual(files, ['rgb_00000', 'rgb_00050', 'rgb_00100'].flatMap((s) => [`${s}_depth.json`, `${s}_depth.npy`, `${s}_depth16.png`, `${s}_depth_color.png`]).sort());

  const sidecar = JSON.parse(await readFile(path.join(out, 'rgb_00000_depth.json'), 'utf8'));
  assert.equal(sidecar.kind, 'disparity');
  assert.deepEqual(sidecar.processing, { width: 686, height: 518, staticInput: false }); // 640x480 -> 518x686 (official rule)
  assert.equal(sidecar.intrinsics.source, 'assumedFov');
  assert.ok(sidecar.timingsMs.inference > 0);

  // The three depth encodings agree: npy is exact, the 16-bit PNG within its quantisation step.
  const npy = decodeNpy(await readFile(path.join(out, 'rgb_00000_depth.npy')));
  assert.deepEqual(npy.shape, [480, 640]);
  const png = decodeDepthPng16(await readFile(path.join(out, 'rgb_00000_depth16.png')), sidecar.png16);
  const step = (sidecar.png16.maxValue - sidecar.png16.minValue) / 65534;
  let worst = 0;
  for (let i = 0; i < png.data.length; i++) worst = Math.max(worst, Math.abs(png.data[i]! - Number(npy.data[i]!)));
  assert.ok(worst <= step / 2 + 1e-6, `png16 vs npy: ${worst} > half step ${step / 2}`);
  const color = await sharp(path.join(out, 'rgb_00000_depth_color.png')).metadata();
  assert.deepEqual([color.width, color.height, color.channels], [640, 480, 3]);
});

test('fabio-sim naming, a [1,1,H,W] output, a half-size output and a static 518x518 model all give image-size depth', async () => {
  for (const model of [models.passthroughFabio, models.output4d, models.downsample2, models.staticHf518]) {
    const out = await tmp('contracts');
    const r = await runCli(['depth', VENUS, '--model', model, '--format', 'npy', '--out', out, '--json']);
    assert.equal(r.code, 0, `${path.basename(model)}: ${r.stderr}`);
    const npy = decodeNpy(await readFile(path.join(out, 'frame10_depth.npy')));
    assert.deepEqual(npy.shape, [380, 420], path.basename(model));
    const sidecar = JSON.parse(await readFile(path.join(out, 'frame10_depth.json'), 'utf8'));
    if (model === models.staticHf518) assert.deepEqual(sidecar.processing, { width: 518, height: 518, staticInput: true });
    else assert.deepEqual(sidecar.processing, { width: 574, height: 518, staticInput: false }); // 420x380 -> 574x518
  }
});

test('a metric model writes a PLY whose points reproject to their pixels at the npy depth', async () => {
  const out = await tmp('ply');
  const intrinsics = [518.8579, 519.46961, 325.58245, 253.73617];
  const r = await runCli(['depth', NYU_IMAGE, '--model', models.metricSigmoid20, '--output-kind', 'metricDepth',
    '--format', 'npy,ply', '--intrinsics', intrinsics.join(','), '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const depth = decodeNpy(await readFile(path.join(out, 'rgb_00000_depth.npy')));
  const { cloud } = decodePly(await readFile(path.join(out, 'rgb_00000.ply')));
  assert.equal(cloud.numPoints, 640 * 480);
  const [fx, fy, cx, cy] = intrinsics as [number, number, number, number];
  for (const pixel of [0, 1234, 640 * 240 + 320, 640 * 480 - 1]) {
    const x = cloud.positions[pixel * 3]!, y = cloud.positions[pixel * 3 + 1]!, z = cloud.positions[pixel * 3 + 2]!;
    assert.ok(Math.abs(z - Number(depth.data[pixel]!)) < 1e-5);
    assert.ok(z > 0 && z <= 20, 'metres from 20 * sigmoid');
    assert.ok(Math.abs((fx * x) / z + cx - (pixel % 640)) < 1e-3);
    assert.ok(Math.abs((fy * y) / z + cy - Math.floor(pixel / 640)) < 1e-3);
  }
  const sidecar = JSON.parse(await readFile(path.join(out, 'rgb_00000_depth.json'), 'utf8'));
  assert.equal(sidecar.kind, 'metricDepth');
  assert.equal(sidecar.units, 'm');
  assert.equal(sidecar.intrinsics.source, 'given');
});

test('a registry id resolves from ANYVIEW_MODEL_DIR; offline with no copy says where to get the file and where to put it', async () => {
  const modelDir = await tmp('modeldir');
  await mkdir(path.join(modelDir, 'depth-anything-v2-small'));
  await copyFile(models.passthroughHf, path.join(modelDir, 'depth-anything-v2-small', 'model.onnx'));
  const out = await tmp('modeldir-out');
  const ok = await runCli(['depth', VENUS, '--format', 'npy', '--out', out, '--json'], { env: { ANYVIEW_MODEL_DIR: modelDir } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).model.id, 'depth-anything-v2-small');
  assert.equal(JSON.parse(ok.stdout).model.license, 'Apache-2.0');

  const out2 = await tmp('offline');
  const offline = await runCli(['depth', VENUS, '--model', 'depth-anything-v1-small', '--out', out2]);
  assert.equal(offline.code, ERROR_TABLE.MODEL.exitCode);
  assert.match(offline.stderr, /huggingface\.co/);
  assert.match(offline.stderr, /depth-anything-v1-small/);
  assert.match(offline.stderr, /ANYVIEW_MODEL_DIR/);
  assert.deepEqual(await readdir(out2), []);
});

test('a non-commercial model needs --allow-non-commercial before anything is looked up', async () => {
  const out = await tmp('licence');
  const r = await runCli(['depth', VENUS, '--model', 'depth-anything-v2-large', '--out', out]);
  assert.equal(r.code, ERROR_TABLE.LICENSE.exitCode);
  assert.match(r.stderr, /CC-BY-NC-4\.0/);
  assert.match(r.stderr, /--allow-non-commercial/);
});

test('bad inputs: each gets a clear error naming the file, a non-zero exit, and no partial outputs', async () => {
  const dir = await tmp('bad');
  const good = path.join(dir, 'good.jpg');
  await copyFile(NYU_IMAGE, good);
  const jpeg = await readFile(NYU_IMAGE);
  const truncated = path.join(dir, 'truncated.jpg');
  await writeFile(truncated, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  const text = path.join(dir, 'notes.jpg');
  await writeFile(text, 'this is not an image\n');
  const empty = path.join(dir, 'empty.png');
  await writeFile(empty, new Uint8Array(0));
  // A valid PNG header announcing 100000 x 100000 pixels: refused from the header, never decoded.
  const huge = path.join(dir, 'huge.png');
  const header = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer();
  header.writeUInt32BE(100000, 16);
  header.writeUInt32BE(100000, 20);
  await writeFile(huge, header);

  const cases: [string, number, RegExp][] = [
    [truncated, ERROR_TABLE.FORMAT.exitCode, /truncated\.jpg/],
    [text, ERROR_TABLE.FORMAT.exitCode, /notes\.jpg/],
    [empty, ERROR_TABLE.FORMAT.exitCode, /empty\.png/],
    [huge, ERROR_TABLE.INPUT.exitCode, /huge\.png.*(--max-pixels|pixel)/s],
    [path.join(dir, 'missing.jpg'), ERROR_TABLE.INPUT.exitCode, /missing\.jpg/],
  ];
  for (const [file, code, message] of cases) {
    const out = await tmp('bad-out');
    const r = await runCli(['depth', file, '--model', models.passthroughHf, '--out', out]);
    assert.equal(r.code, code, `${path.basename(file)}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.deepEqual(await readdir(out), [], `no outputs for ${path.basename(file)}`);
  }

  // In a batch, the good image is still processed, the bad one leaves nothing, and the exit code says so.
  const out = await tmp('batch');
  const r = await runCli(['depth', good, truncated, '--model', models.passthroughHf, '--format', 'npy', '--out', out]);
  assert.equal(r.code, ERROR_TABLE.FORMAT.exitCode);
  assert.deepEqual((await readdir(out)).sort(), ['good_depth.json', 'good_depth.npy']);
});

test('bad models and an unwritable output folder are refused with their own exit codes', async () => {
  for (const [model, pattern] of [
    [models.badOneChannel, /badOneChannel\.onnx.*channel/s],
    [models.badTwoInputs, /badTwoInputs\.onnx/],
    [models.badIntInput, /badIntInput\.onnx/],
    [models.badOutputChannels, /badOutputChannels\.onnx/],
    [models.notAModel, /notAModel\.onnx.*not a valid ONNX/s],
  ] as const) {
    const out = await tmp('badmodel');
    const r = await runCli(['depth', VENUS, '--model', model, '--out', out]);
    assert.equal(r.code, ERROR_TABLE.MODEL.exitCode, `${path.basename(model)}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.deepEqual(await readdir(out), []);
  }
  const dir = await tmp('unwritable');
  const aFile = path.join(dir, 'plain-file');
  await writeFile(aFile, 'x');
  const r = await runCli(['depth', VENUS, '--model', models.passthroughHf, '--out', path.join(aFile, 'sub')]);
  assert.equal(r.code, ERROR_TABLE.OUTPUT.exitCode, r.stderr);
  assert.match(r.stderr, /plain-file/);
});

test('usage errors: ply from relative disparity without --align, unknown format, bad intrinsics', async () => {
  const out = await tmp('usage');
  const ply = await runCli(['depth', VENUS, '--model', models.passthroughHf, '--format', 'ply', '--out', out]);
  assert.equal(ply.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(ply.stderr, /--align|metric model/);
  assert.deepEqual(await readdir(out), []);
  const fmt = await runCli(['depth', VENUS, '--format', 'exr']);
  assert.equal(fmt.code, 2);
  assert.match(fmt.stderr, /png16, npy, color, ply/);
  const intr = await runCli(['depth', VENUS, '--intrinsics', '1,2,3']);
  assert.equal(intr.code, 2);
  assert.match(intr.stderr, /fx,fy,cx,cy/);
});

test('auto recognises an image, a folder and a video', async () => {
  const out = await tmp('auto');
  const image = await runCli(['auto', VENUS, '--model', models.passthroughHf, '--format', 'npy', '--out', out, '--json']);
  assert.equal(image.code, 0, image.stderr);
  assert.equal(JSON.parse(image.stdout).images.length, 1);
  const folder = await runCli(['auto', NYU_RGB, '--model', models.passthroughHf, '--format', 'npy', '--out', out, '--json']);
  assert.equal(JSON.parse(folder.stdout).images.length, 3);
  const clip = path.join(SHARED_DATA_DIR, 'davis_lady_running_monst3r/demo_data/lady-running.mp4');
  const videoOut = path.join(out, 'video');
  const video = await runCli(['auto', clip, '--model', models.passthroughHf, '--format', 'npy', '--out', videoOut, '--json']);
  assert.equal(video.code, 0, video.stderr);
  const summary = JSON.parse(video.stdout);
  assert.deepEqual([summary.source, summary.numFrames, summary.fps], ['video', 65, 30]);
  assert.ok((await readdir(videoOut)).includes('depth.mp4'));
  // A point cloud per frame is not a video output: refused before any work, naming the format.
  const ply = await runCli(['auto', clip, '--model', models.passthroughHf, '--format', 'ply', '--out', path.join(out, 'ply')]);
  assert.equal(ply.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(ply.stderr, /drop ply/);
});

test('EXIF orientation is honoured: a 640x480 JPEG tagged "rotate 90" gives a 480x640 depth map', async () => {
  const dir = await tmp('exif');
  const rotated = path.join(dir, 'rotated.jpg');
  await sharp(NYU_IMAGE).withMetadata({ orientation: 6 }).jpeg().toFile(rotated);
  const out = await tmp('exif-out');
  const r = await runCli(['depth', rotated, '--model', models.passthroughHf, '--format', 'npy', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const npy = decodeNpy(await readFile(path.join(out, 'rotated_depth.npy')));
  assert.deepEqual(npy.shape, [640, 480]);
  const sidecar = JSON.parse(await readFile(path.join(out, 'rotated_depth.json'), 'utf8'));
  assert.deepEqual(sidecar.processing, { width: 518, height: 686, staticInput: false });
});

test('--model accepts a Transformers.js-style model folder (onnx/model.onnx), and says what it looked for when empty', async () => {
  const out = await tmp('folder-model');
  const r = await runCli(['depth', VENUS, '--model', models.hfPassthroughDir, '--format', 'npy', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).model.path, path.join(models.hfPassthroughDir, 'onnx', 'model.onnx'));
  const fp16 = await runCli(['depth', VENUS, '--model', models.hfPassthroughDir, '--variant', 'fp16', '--out', out]);
  assert.equal(fp16.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(fp16.stderr, /model_fp16\.onnx/);
});
