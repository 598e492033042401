import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, mkdir, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expandImageInputs, classifyInput } from './inputs.ts';
import { InputError } from '../core/errors.ts';
import { SHARED_DATA_DIR } from '../../test/helpers/paths.ts';

const NYU_RGB = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/rgb');

test('a folder expands to its images in natural order; files and globs are kept; duplicates removed', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-inputs-'));
  for (const name of ['frame10.jpg', 'frame2.jpg', 'frame1.png']) await writeFile(path.join(dir, name), 'x');
  await writeFile(path.join(dir, 'notes.txt'), 'x');
  await mkdir(path.join(dir, 'sub'));
  const fromFolder = await expandImageInputs([dir]);
  assert.deepEqual(fromFolder.map((f) => path.basename(f)), ['frame1.png', 'frame2.jpg', 'frame10.jpg']);
  const fromGlob = await expandImageInputs([path.join(dir, '*.jpg'), path.join(dir, 'frame2.jpg')]);
  assert.deepEqual(fromGlob.map((f) => path.basename(f)), ['frame2.jpg', 'frame10.jpg']);
});

test('missing inputs and empty folders are InputErrors that name the path', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-inputs-'));
  await assert.rejects(expandImageInputs([path.join(dir, 'nope.jpg')]), (e: unknown) => e instanceof InputError && e.message.includes('nope.jpg'));
  await assert.rejects(expandImageInputs([dir]), (e: unknown) => e instanceof InputError && e.message.includes(dir));
  await assert.rejects(expandImageInputs([]), InputError);
});

test('auto classifies an image, a folder of images and a video', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-auto-'));
  await copyFile(path.join(NYU_RGB, 'rgb_00000.jpg'), path.join(dir, 'a.jpg'));
  assert.equal(await classifyInput(path.join(dir, 'a.jpg')), 'image');
  assert.equal(await classifyInput(NYU_RGB), 'imageFolder');
  assert.equal(await classifyInput(path.join(SHARED_DATA_DIR, 'davis_lady_running_monst3r/demo_data/lady-running.mp4')), 'video');
  await writeFile(path.join(dir, 'b.txt'), 'plain text');
  await assert.rejects(classifyInput(path.join(dir, 'b.txt')), InputError);
});
