/**
 * `anyview video`, spawned as a user runs it, on the real DAVIS clip and its frame folder, with a generated graph
 * (no real weights can be downloaded here). ffprobe, an independent reader, checks the depth video.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { SHARED_DATA_DIR, SHARED_MODELS_DIR } from '../helpers/paths.ts';
import { ensureTestModels, type TestModels } from '../helpers/test-models.ts';
import { decodeNpy } from '../../src/io/formats/npy.ts';
import { decodeDepthPng16 } from '../../src/io/formats/depth-png16.ts';
import { ERROR_TABLE } from '../../src/core/errors.ts';
import { ffmpegAvailable } from '../../src/io/video-decode.ts';

const DAVIS = path.join(SHARED_DATA_DIR, 'davis_lady_running_monst3r/demo_data');
const CLIP = path.join(DAVIS, 'lady-running.mp4');
const skip = !ffmpegAvailable() && 'ffmpeg is not installed';

let models: TestModels;
before(async () => {
  models = await ensureTestModels();
});

const tmp = (prefix: string) => mkdtemp(path.join(os.tmpdir(), `anyview-video-${prefix}-`));

function probe(file: string): { width: number; height: number; frames: number } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,nb_read_frames', '-of', 'json', file], { encoding: 'utf8' });
  const s = JSON.parse(r.stdout).streams[0];
  return { width: s.width, height: s.height, frames: Number(s.nb_read_frames) };
}

test('a video: per-frame files, one JSON line per frame with its alignment, a side-by-side depth video', { skip }, async () => {
  const out = await tmp('clip');
  const r = await runCli(['video', CLIP, '--model', models.passthroughHf, '--max-frames', '10', '--max-side', '213',
    '--format', 'png16,npy,color', '--video', 'side-by-side', '--out', out, '--json', '--progress-json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  const progress = r.stderr.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'progress' && e.stage === 'video');
  assert.deepEqual(progress.map((e) => e.done), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.ok(progress.every((e) => e.total === 10 && e.unit === 'frames'), 'progress knows the total');
  assert.deepEqual([summary.numFrames, summary.width, summary.height, summary.fps, summary.model.kind], [10, 213, 120, 30, 'disparity']);
  assert.equal(summary.alignment.unit, 'frame');
  const files = (await readdir(path.join(out, 'frames'))).sort();
  assert.equal(files.length, 30);
  assert.deepEqual(files.slice(0, 3), ['000000_depth.npy', '000000_depth16.png', '000000_depth_color.png']);
  const lines = (await readFile(path.join(out, 'frames.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(lines[0].alignment, { scale: 1, shift: 0, numSamples: 0, numInliers: 0 });
  for (const line of lines.slice(1)) {
    assert.ok(line.alignment.numSamples > 1000 && line.alignment.numInliers > 0 && line.alignment.scale > 0, JSON.stringify(line.alignment));
    assert.ok(Math.abs(line.timeS - line.index / 30) < 1e-9);
  }
  // The 16-bit PNG and the .npy of a frame hold the same aligned values (within the PNG's quantisation step).
  const npy = decodeNpy(await readFile(path.join(out, 'frames/000004_depth.npy')));
  const png = decodeDepthPng16(await readFile(path.join(out, 'frames/000004_depth16.png')));
  assert.deepEqual(npy.shape, [120, 213]);
  let worst = 0;
  for (let i = 0; i < png.data.length; i++) worst = Math.max(worst, Math.abs(png.data[i]! - Number(npy.data[i]!)));
  const range = Math.max(...Array.from(npy.data as Float32Array)) - Math.min(...Array.from(npy.data as Float32Array));
  assert.ok(worst <= range / 65534, `png16 vs npy ${worst}`);
  // H.264 needs even sizes: 2 x 213 = 426 wide, 120 high, 10 frames.
  assert.deepEqual(probe(path.join(out, 'depth.mp4')), { width: 426, height: 120, frames: 10 });
  assert.deepEqual((await readdir(out)).filter((f) => f.includes('.tmp')), []);
});

test('a folder of frames works the same, at --folder-fps; fps sampling thins a video', { skip }, async () => {
  const out = await tmp('folder');
  const r = await runCli(['video', path.join(DAVIS, 'lady-running'), '--model', models.passthroughHf, '--max-frames', '4', '--folder-fps', '12',
    '--max-side', '427', '--video', 'color', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual([summary.source, summary.numFrames, summary.fps, summary.width, summary.height], ['imageFolder', 4, 12, 427, 240]);
  // Odd widths are padded by one pixel for H.264.
  assert.deepEqual(probe(path.join(out, 'depth.mp4')), { width: 428, height: 240, frames: 4 });
  const sampled = await runCli(['video', CLIP, '--model', models.passthroughHf, '--fps', '5', '--max-side', '160', '--video', 'none', '--out', await tmp('fps'), '--json']);
  assert.equal(sampled.code, 0, sampled.stderr);
  assert.equal(JSON.parse(sampled.stdout).numFrames, 11); // 2.17 s at 5 fps
});

test('bad input: not a video, a single image, a time range with no frames; nothing half-written', { skip }, async () => {
  const dir = await tmp('bad');
  const fake = path.join(dir, 'fake.mp4');
  await writeFile(fake, 'not a video at all');
  const out = path.join(dir, 'out');
  const notVideo = await runCli(['video', fake, '--model', models.passthroughHf, '--out', out]);
  assert.equal(notVideo.code, ERROR_TABLE.FORMAT.exitCode, notVideo.stderr);
  assert.match(notVideo.stderr, /fake\.mp4/);
  const image = await runCli(['video', path.join(DAVIS, 'lady-running/00000.jpg'), '--model', models.passthroughHf, '--out', out]);
  assert.equal(image.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(image.stderr, /single image/);
  const empty = await runCli(['video', CLIP, '--model', models.passthroughHf, '--start', '30', '--out', out]);
  assert.equal(empty.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(empty.stderr, /no frames/);
  assert.deepEqual((await readdir(out)).filter((f) => f !== 'frames'), []);
});

test('a video model on overlapping windows: each window\'s own scale is undone, all frames share the first window\'s', { skip }, async () => {
  // videoMix gives exp(mean of the window) * mix per frame: a different scale for every window. The per-frame
  // mix itself comes from `anyview depth` with the image graph on the same frames (same pre/postprocessing).
  const frames = path.join(DAVIS, 'lady-running');
  const out = await tmp('windows');
  const r = await runCli(['video', frames, '--model', models.videoMix, '--max-frames', '11', '--window', '4', '--format', 'npy', '--video', 'none', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual(summary.alignment.window, { frames: 4, stride: 2 });
  assert.equal(summary.alignment.unit, 'window');
  const fits = (await readFile(path.join(out, 'frames.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).alignment);
  assert.ok(fits.some((f) => Math.abs(f.scale - 1) > 1e-3), 'the windows did differ in scale');

  const mixDir = await tmp('mix');
  const names = (await readdir(frames)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 11);
  const mix = await runCli(['depth', ...names.map((n) => path.join(frames, n)), '--model', models.passthroughHf, '--format', 'npy', '--out', mixDir]);
  assert.equal(mix.code, 0, mix.stderr);
  const ratios: number[] = [];
  for (const [i, name] of names.entries()) {
    const aligned = decodeNpy(await readFile(path.join(out, 'frames', `${String(i).padStart(6, '0')}_depth.npy`))).data as Float32Array;
    const raw = decodeNpy(await readFile(path.join(mixDir, `${path.basename(name, '.jpg')}_depth.npy`))).data as Float32Array;
    let num = 0, den = 0;
    for (let k = 0; k < raw.length; k++) { num += aligned[k]! * raw[k]!; den += raw[k]! * raw[k]!; }
    const ratio = num / den;
    let worst = 0, largest = 0;
    for (let k = 0; k < raw.length; k++) {
      worst = Math.max(worst, Math.abs(aligned[k]! - ratio * raw[k]!));
      largest = Math.max(largest, Math.abs(raw[k]!));
    }
    assert.ok(worst < 1e-3 * largest, `frame ${i}: not one scale of the mix (${worst})`);
    ratios.push(ratio);
  }
  const spread = (Math.max(...ratios) - Math.min(...ratios)) / ratios[0]!;
  assert.ok(spread < 1e-4, `scales across frames ${ratios.join(', ')}`);
});

test('the other real clips end to end: DAVIS rollercoaster (24 fps mp4) and the TUM sequence (a folder of PNGs)', { skip }, async () => {
  const cases = [
    { input: path.join(SHARED_DATA_DIR, 'davis_rollercoaster_vda/assets/example_videos/davis_rollercoaster.mp4'), frames: 70, fps: 24, size: [320, 180] },
    { input: path.join(SHARED_DATA_DIR, 'tum_fr3_superglue_freiburg_sequence/assets/freiburg_sequence'), frames: 17, fps: 30, size: [320, 240] },
  ];
  for (const c of cases) {
    const out = await tmp('clips');
    const r = await runCli(['video', c.input, '--model', models.videoMix, '--window', '8', '--max-side', '320', '--format', 'png16', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.deepEqual([summary.numFrames, summary.fps, summary.width, summary.height], [c.frames, c.fps, ...c.size], c.input);
    assert.deepEqual(summary.alignment.window, { frames: 8, stride: 4 });
    assert.equal((await readdir(path.join(out, 'frames'))).length, c.frames);
    assert.deepEqual(probe(path.join(out, 'depth.mp4')), { width: c.size[0], height: c.size[1], frames: c.frames });
    assert.ok(summary.steadyMsPerFrame > 0);
  }
});

test('--batch N runs an image model N frames at a time with the frame-by-frame results; a batch-1 model falls back with a warning', { skip }, async () => {
  // batchMix scales each frame by exp(mean of its own input): a batch that mixed frames up would show. 10 frames
  // in batches of 4: runs of 4, 4 and a shorter last one of 2.
  const run = async (batch: number, model: string) => {
    const out = await tmp(`batch${batch}`);
    const r = await runCli(['video', CLIP, '--model', model, '--max-frames', '10', '--max-side', '160', '--batch', String(batch), '--format', 'npy', '--video', 'none', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return { out, summary: JSON.parse(r.stdout), stderr: r.stderr };
  };
  const one = await run(1, models.batchMix);
  const four = await run(4, models.batchMix);
  assert.deepEqual([one.summary.model.framesPerRun, four.summary.model.framesPerRun, four.summary.numFrames], [1, 4, 10]);
  for (let i = 0; i < 10; i++) {
    const name = `frames/${String(i).padStart(6, '0')}_depth.npy`;
    const a = decodeNpy(await readFile(path.join(one.out, name))).data as Float32Array;
    const b = decodeNpy(await readFile(path.join(four.out, name))).data as Float32Array;
    let worst = 0, largest = 0;
    for (let k = 0; k < a.length; k++) { worst = Math.max(worst, Math.abs(a[k]! - b[k]!)); largest = Math.max(largest, Math.abs(a[k]!)); }
    assert.ok(worst <= 1e-5 * largest, `frame ${i}: batch 4 vs 1 differ by ${worst}`);
  }
  const fallback = await run(4, models.passthroughHf);
  assert.equal(fallback.summary.model.framesPerRun, 1);
  assert.match(fallback.stderr, /batch of 1.*--batch 4.*frame by frame/);
});

test('--align-matches xfeat fits each frame on XFeat matches with the previous one (the real network); a video model ignores it', { skip }, async () => {
  const env = { ANYVIEW_MODEL_DIR: SHARED_MODELS_DIR };
  const out = await tmp('matches');
  const r = await runCli(['video', CLIP, '--model', models.passthroughHf, '--max-frames', '8', '--max-side', '427', '--align-matches', 'xfeat',
    '--format', 'npy', '--video', 'none', '--out', out, '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual([summary.alignment.unit, summary.alignment.matches, summary.numFrames], ['frame', 'xfeat', 8]);
  const lines = (await readFile(path.join(out, 'frames.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.every((l) => l.timingsMs.matching > 0));
  // Fitted on the matches (at most the 1024 keypoints kept), not on the ~20000 sampled pixels of a same-pixel fit.
  for (const l of lines.slice(1)) assert.ok(l.alignment.numSamples >= 30 && l.alignment.numSamples <= 1024 && l.alignment.scale > 0, JSON.stringify(l.alignment));
  const perFrame = lines.slice(1).map((l) => l.timingsMs.matching);
  console.log(`DAVIS lady-running 427x240: XFeat features + matching ${Math.round(perFrame.reduce((a, b) => a + b, 0) / perFrame.length)} ms/frame, `
    + `${Math.round(lines.slice(1).reduce((a, l) => a + l.alignment.numSamples, 0) / (lines.length - 1))} matches/frame`);

  const video = await runCli(['video', CLIP, '--model', models.videoMix, '--max-frames', '6', '--window', '4', '--max-side', '160', '--align-matches', 'xfeat',
    '--video', 'none', '--out', await tmp('matches-video'), '--json'], { env });
  assert.equal(video.code, 0, video.stderr);
  assert.equal(JSON.parse(video.stdout).alignment.matches, 'none');
  assert.match(video.stderr, /--align-matches applies to per-frame image models/);
});
