import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FormatError, InputError } from '../../core/errors.ts';
import { fromRotationTranslation } from '../../core/mat4.ts';
import { decodeCamerasJson, encodeCamerasJson, readCamerasJson, writeCamerasJson, type CamerasJson } from './cameras-json.ts';
import { noise } from '../../../test/helpers/noise.ts';

function sample(): CamerasJson {
  const r = noise(64, 3);
  const c = Math.cos(0.3), s = Math.sin(0.3);
  return {
    units: 'arbitrary',
    views: [
      {
        name: 'frames/000.jpg',
        intrinsics: { fxPx: 500 + r[0]!, fyPx: 501 + r[1]!, cxPx: 319.5 + r[2]!, cyPx: 239.5 - r[3]!, width: 640, height: 480 },
        worldFromCamera: fromRotationTranslation([c, -s, 0, s, c, 0, 0, 0, 1], [r[4]! * 1e-9, -r[5]! * 1e6, 1 / 3]),
      },
      { name: 'frames/001 with space.jpg', intrinsics: { fxPx: 1e3, fyPx: 1e3, cxPx: 0.1, cyPx: 0.2, width: 3, height: 2 }, worldFromCamera: null },
      {
        name: 'ünïcode.png',
        intrinsics: { fxPx: 2892.330457783514, fyPx: 2883.175239520898, cxPx: 823.2052953454768, cyPx: 619.0708967675652, width: 1600, height: 1200 },
        worldFromCamera: fromRotationTranslation([1, 0, 0, 0, -1, 0, 0, 0, -1], [190.83347496544673, -1.1601867563023893, 24.26100882275939]),
      },
    ],
  };
}

test('round trip is exact, and the file states its conventions in plain words', async () => {
  const cameras = sample();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-cameras-'));
  try {
    const file = path.join(dir, 'cameras.json');
    await writeCamerasJson(file, cameras);
    const back = await readCamerasJson(file);
    assert.equal(back.units, 'arbitrary');
    assert.equal(back.views.length, 3);
    for (const [i, view] of back.views.entries()) {
      const original = cameras.views[i]!;
      assert.equal(view.name, original.name);
      assert.deepEqual(view.intrinsics, original.intrinsics);
      assert.deepEqual(view.worldFromCamera === null ? null : Array.from(view.worldFromCamera),
        original.worldFromCamera === null ? null : Array.from(original.worldFromCamera));
    }
    const raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown> & { views: Array<Record<string, unknown>> };
    assert.deepEqual(
      [raw['format'], raw['version'], raw['convention'], raw['axes'], raw['pose'], raw['matrix'], raw['pixelCenters'], raw['units']],
      ['anyview-cameras', 1, 'opencv', 'x right, y down, z forward', 'worldFromCamera', 'row-major 4x4', 'integer', 'arbitrary'],
    );
    // Row-major nested rows: the camera centre is the last column of the first three rows.
    const rows = raw.views[2]!['worldFromCamera'] as number[][];
    assert.deepEqual(rows.map((row) => row[3]), [190.83347496544673, -1.1601867563023893, 24.26100882275939, 1]);
    assert.deepEqual([raw.views[1]!['registered'], raw.views[1]!['worldFromCamera']], [false, null]);
    assert.deepEqual(Object.keys(raw.views[0]!), ['name', 'registered', 'width', 'height', 'fx', 'fy', 'cx', 'cy', 'worldFromCamera']);
    const metric = decodeCamerasJson(encodeCamerasJson({ ...cameras, units: 'metres' }));
    assert.equal(metric.units, 'metres');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('files stating other conventions or malformed views are refused with the field named', () => {
  const good = JSON.parse(encodeCamerasJson(sample())) as Record<string, unknown> & { views: Array<Record<string, unknown>> };
  const variants: Array<[(j: typeof good) => void, RegExp]> = [
    [(j) => { j['convention'] = 'opengl'; }, /"convention" is "opengl"; this reader only takes "opencv"/],
    [(j) => { j['pose'] = 'cameraFromWorld'; }, /"pose"/],
    [(j) => { j['version'] = 2; }, /"version" 2 is not supported/],
    [(j) => { j['format'] = 'other'; }, /"format"/],
    [(j) => { j['units'] = 'feet'; }, /"units" must be one of arbitrary, metres/],
    [(j) => { j.views[0]!['fx'] = -1; }, /views\[0\]\.fx is not a positive number/],
    [(j) => { j.views[0]!['width'] = 10.5; }, /views\[0\]: width and height must be integers/],
    [(j) => { j.views[1]!['worldFromCamera'] = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]; }, /views\[1\] is not registered/],
    [(j) => { j.views[2]!['worldFromCamera'] = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]; }, /views\[2\]\.worldFromCamera must be 4 rows/],
    [(j) => { j.views[2]!['registered'] = 'yes'; }, /views\[2\]\.registered is not a boolean/],
  ];
  for (const [mutate, message] of variants) {
    const j = structuredClone(good);
    mutate(j);
    assert.throws(() => decodeCamerasJson(JSON.stringify(j), 'out/cameras.json'),
      (e: unknown) => e instanceof FormatError && message.test(e.message) && e.message.startsWith('out/cameras.json: '), String(message));
  }
  assert.throws(() => decodeCamerasJson('{'), FormatError);
  assert.throws(() => encodeCamerasJson({ units: 'feet' as 'metres', views: [] }), InputError);
  const bad = sample();
  assert.throws(() => encodeCamerasJson({ ...bad, views: [{ ...bad.views[0]!, worldFromCamera: new Float64Array(16).fill(Number.NaN) }] }), InputError);
});
