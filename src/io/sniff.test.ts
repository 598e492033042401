import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { sniffBytes, sniffExtension, sniffFile } from './sniff.ts';
import { SHARED_DATA_DIR } from '../../test/helpers/paths.ts';

test('sniffs real JPEG, PNG and MP4 files by their bytes', async () => {
  const nyu = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/rgb/rgb_00000.jpg');
  const kitti = path.join(SHARED_DATA_DIR, 'middlebury_flow_other_6869project/other-data/Venus/frame10.png');
  const video = path.join(SHARED_DATA_DIR, 'davis_lady_running_monst3r/demo_data/lady-running.mp4');
  assert.deepEqual(await sniffFile(nyu), { kind: 'image', format: 'jpeg' });
  assert.deepEqual(await sniffFile(kitti), { kind: 'image', format: 'png' });
  assert.deepEqual(await sniffFile(video), { kind: 'video', format: 'mp4' });
});

test('bytes win over a misleading extension; unknown bytes fall back to the extension', () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(sniffBytes(png)?.format, 'png');
  assert.equal(sniffBytes(new TextEncoder().encode('hello world, not media')), undefined);
  assert.deepEqual(sniffExtension('clip.MOV'), { kind: 'video', format: 'mov' });
  assert.deepEqual(sniffExtension('notes.txt'), { kind: 'unknown', format: 'txt' });
});

test('tells AVIF/HEIF images from MP4 video although both are ISO-BMFF', () => {
  const box = (brand: string) => new Uint8Array([0, 0, 0, 0x20, ...new TextEncoder().encode('ftyp' + brand)]);
  assert.deepEqual(sniffBytes(box('avif')), { kind: 'image', format: 'avif' });
  assert.deepEqual(sniffBytes(box('heic')), { kind: 'image', format: 'heif' });
  assert.deepEqual(sniffBytes(box('isom')), { kind: 'video', format: 'mp4' });
});
