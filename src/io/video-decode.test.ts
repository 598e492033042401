import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BackendError, FormatError, InputError } from '../core/errors.ts';
import { SHARED_DATA_DIR } from '../../test/helpers/paths.ts';
import { decodeImage, sizeWithinLongSide } from './decode-image.ts';
import { decodeVideoFrames, ffmpegAvailable, probeVideo } from './video-decode.ts';

const DAVIS = path.join(SHARED_DATA_DIR, 'davis_lady_running_monst3r/demo_data');
const CLIP = path.join(DAVIS, 'lady-running.mp4'); // 854x480, 65 frames, 30 fps, and the same frames as JPEGs
const skip = !ffmpegAvailable() && 'ffmpeg is not installed';

async function collect(file: string, options: Parameters<typeof decodeVideoFrames>[1] = {}) {
  const frames = [];
  for await (const frame of decodeVideoFrames(file, options)) frames.push(frame);
  return frames;
}

test('probe: size, rate and length of the DAVIS clip', { skip }, () => {
  const info = probeVideo(CLIP);
  assert.deepEqual([info.width, info.height, info.fps, info.numFrames, info.variableFrameRate, info.decodeFps], [854, 480, 30, 65, false, 30]);
  assert.ok(Math.abs(info.durationS! - 2.1667) < 0.01);
});

test('every frame decodes in order, and matches the clip\'s own JPEG frames (an independent encoding)', { skip }, async () => {
  const frames = await collect(CLIP);
  assert.equal(frames.length, 65);
  assert.deepEqual(frames.map((f) => f.index), Array.from({ length: 65 }, (_, i) => i));
  for (const i of [0, 32, 64]) {
    const jpeg = await decodeImage({ path: path.join(DAVIS, 'lady-running', `${String(i).padStart(5, '0')}.jpg`) });
    const video = frames[i]!.image;
    assert.deepEqual([video.width, video.height, video.channels], [jpeg.width, jpeg.height, 3]);
    let sum = 0;
    for (let k = 0; k < jpeg.data.length; k++) sum += Math.abs(jpeg.data[k]! - video.data[k]!);
    const mean = sum / jpeg.data.length;
    // Two lossy encodings of the same frame: a few levels apart on average. A neighbouring frame is further off.
    assert.ok(mean < 6, `frame ${i}: mean difference ${mean.toFixed(2)} levels`);
    if (i > 0) {
      let other = 0;
      for (let k = 0; k < jpeg.data.length; k++) other += Math.abs(jpeg.data[k]! - frames[i - 1]!.image.data[k]!);
      assert.ok(other / jpeg.data.length > mean, `frame ${i} is closer to its own JPEG than to frame ${i - 1}`);
    }
  }
});

test('sampling: fps, start/end, a frame cap and a longest-side cap', { skip }, async () => {
  assert.equal((await collect(CLIP, { fps: 10 })).length, 22);
  const capped = await collect(CLIP, { maxFrames: 5, maxSidePx: 427 });
  assert.equal(capped.length, 5);
  assert.deepEqual([capped[0]!.image.width, capped[0]!.image.height], [427, 240]);
  assert.deepEqual(sizeWithinLongSide(854, 480, 427), { width: 427, height: 240 });
  assert.deepEqual(sizeWithinLongSide(854, 480, 1000), { width: 854, height: 480 });
  const middle = await collect(CLIP, { startS: 1, endS: 1.5 });
  assert.ok(middle.length >= 14 && middle.length <= 16, `${middle.length} frames in 0.5 s at 30 fps`);
});

test('bad input: not a video, truncated, an empty range, missing ffmpeg; each names the problem', { skip }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-video-'));
  try {
    const text = path.join(dir, 'notes.mp4');
    await writeFile(text, 'this is not a video');
    assert.throws(() => probeVideo(text), (e: unknown) => e instanceof FormatError && e.message.includes(text));
    const bytes = await readFile(CLIP);
    const truncated = path.join(dir, 'truncated.mp4');
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 3)));
    await assert.rejects(collect(truncated), (e: unknown) => e instanceof FormatError && e.message.includes(truncated));
    await assert.rejects(collect(CLIP, { startS: 10 }), (e: unknown) => e instanceof InputError && /no frames/.test(e.message));
    await assert.rejects(collect(CLIP, { fps: 0 }), InputError);
    assert.throws(() => probeVideo(CLIP, { ffprobePath: path.join(dir, 'no-ffprobe') }), (e: unknown) => e instanceof BackendError && /apt-get install ffmpeg/.test(e.message));
    await assert.rejects(collect(CLIP, { ffmpegPath: path.join(dir, 'no-ffmpeg') }), (e: unknown) => e instanceof BackendError && /apt-get install ffmpeg/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a variable frame rate is decoded at the base rate: the gap is filled by repeated frames, none dropped', { skip }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-vfr-'));
  try {
    // The clip with a 1 s pause after frame 30: 65 frames over 3.17 s, base rate 30, average 20.5.
    const vfr = path.join(dir, 'vfr.mp4');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-i', CLIP, '-vf', "setpts='if(lt(N,30),N,N+30)/(30*TB)'", '-fps_mode', 'vfr', '-c:v', 'libx264', '-preset', 'veryfast', vfr]);
    assert.equal(r.status, 0, String(r.stderr));
    const info = probeVideo(vfr);
    assert.equal(info.variableFrameRate, true);
    assert.equal(info.decodeFps, 30);
    assert.ok(Math.abs(info.fps - 65 / 3.1667) < 0.1, `average ${info.fps}`);
    const frames = await collect(vfr);
    assert.ok(Math.abs(frames.length - 95) <= 1, `${frames.length} frames for 3.17 s at 30 fps`);
    // Frame 45 lies in the pause: it repeats frame 30 of the source, as do its neighbours.
    let diff = 0;
    for (let k = 0; k < frames[45]!.image.data.length; k++) diff += Math.abs(frames[45]!.image.data[k]! - frames[46]!.image.data[k]!);
    assert.equal(diff, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
