import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FormatError, InputError } from '../core/errors.ts';
import { fromRotationTranslation, invertRigid, transformPoint } from '../core/mat4.ts';
import { rotationFromAxisAngle } from '../geometry/mat3.ts';
import { formatPairFile, pairFromCameras, parsePairFile, readPairFile, writePairFile, type PosePair } from './pair-file.ts';
import { DEBIAN_PYTHON } from '../../test/helpers/paths.ts';

/** Laid out like ScanNet-1500's file: columns padded with several spaces, integers written as "0." and "1.". */
const SCANNET_STYLE = [
  '# a comment, then a blank line',
  '',
  'scene0001_00_frame-000015.jpg scene0001_00_frame-000585.jpg 0 0 1160.5     0.     640.25    0.    1161.75   480.5    0.       0.       1.    1160.5     0.     640.25    0.    1161.75   480.5    0.       0.       1.     0.97598  0.05925  0.20966 -0.03968 -0.08203  0.99143  0.10171  0.00746 -0.20184 -0.11647  0.97247  0.54255  0.       0.       0.       1.',
  '  scene0002_00_frame-000045.jpg\tscene0002_00_frame-000105.jpg 1 3 500 0 320 0 510 240 0 0 1 600 0 330 0 610 250 0 0 1 1 0 0 -1.5e-1 0 1 0 2E-3 0 0 1 7 0 0 0 1  ',
].join('\n');

test('parses ScanNet-1500-style lines: names, quarter turns, K0, K1 and camera1FromCamera0 row-major', () => {
  const pairs = parsePairFile(SCANNET_STYLE);
  assert.equal(pairs.length, 2);
  const [a, b] = pairs as [PosePair, PosePair];
  assert.deepEqual([a.name0, a.name1, a.rotation0, a.rotation1], ['scene0001_00_frame-000015.jpg', 'scene0001_00_frame-000585.jpg', 0, 0]);
  assert.deepEqual(Array.from(a.k0), [1160.5, 0, 640.25, 0, 1161.75, 480.5, 0, 0, 1]);
  assert.deepEqual(Array.from(a.camera1FromCamera0.subarray(0, 4)), [0.97598, 0.05925, 0.20966, -0.03968]);
  assert.equal(a.camera1FromCamera0[11], 0.54255);
  assert.deepEqual([b.rotation0, b.rotation1, b.k1[0], b.k1[2], b.camera1FromCamera0[3], b.camera1FromCamera0[7], b.camera1FromCamera0[11]], [1, 3, 600, 330, -0.15, 0.002, 7]);
});

test('malformed lines name the file and the line', () => {
  const good = parsePairFile(SCANNET_STYLE)[1]!;
  const line = formatPairFile([good]).trim();
  const fields = line.split(' ');
  const withField = (k: number, v: string): string => fields.map((f, i) => (i === k ? v : f)).join(' ');
  const cases: Array<[string, RegExp]> = [
    [fields.slice(0, 37).join(' '), /line 2: expected 38 fields .* got 37/],
    [withField(2, '4'), /line 2: rot0 "4" must be 0, 1, 2 or 3/],
    [withField(3, '-1'), /line 2: rot1 "-1"/],
    [withField(10, 'nan'), /line 2: K0 value 7 "nan" is not a finite number/],
    [withField(14, '1,5'), /line 2: K1 value 2 "1,5"/],
    [withField(37, '2'), /line 2: T_0to1 last row must be 0 0 0 1/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parsePairFile(`# header\n${text}\n`, 'data/pairs.txt'),
      (e: unknown) => e instanceof FormatError && message.test(e.message) && e.message.startsWith('data/pairs.txt: '), String(message));
  }
});

test('pairFromCameras: T_0to1 takes camera-0 coordinates of a world point to its camera-1 coordinates', () => {
  const w0 = fromRotationTranslation(rotationFromAxisAngle([0.1, -0.4, 0.2]), [1, 2, 3]);
  const w1 = fromRotationTranslation(rotationFromAxisAngle([-0.3, 0.2, 0.5]), [-2, 0.5, 1]);
  const k = Float64Array.of(500, 0, 320, 0, 500, 240, 0, 0, 1);
  const pair = pairFromCameras({ name: 'a.png', k, worldFromCamera: w0 }, { name: 'b.png', k, worldFromCamera: w1 });
  const world = [0.7, -1.1, 5];
  const x0 = new Float64Array(3), x1 = new Float64Array(3), mapped = new Float64Array(3);
  transformPoint(invertRigid(w0), world[0]!, world[1]!, world[2]!, x0);
  transformPoint(invertRigid(w1), world[0]!, world[1]!, world[2]!, x1);
  transformPoint(pair.camera1FromCamera0, x0[0]!, x0[1]!, x0[2]!, mapped);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(mapped[i]! - x1[i]!) < 1e-12, `${mapped} vs ${x1}`);
  assert.deepEqual([pair.rotation0, pair.rotation1, pair.name0, pair.name1], [0, 0, 'a.png', 'b.png']);
});

test('write then read is exact; SuperGlue\'s own parsing (line.split, numpy reshape) reads the same numbers', { skip: !existsSync(DEBIAN_PYTHON) && `missing ${DEBIAN_PYTHON}` }, async () => {
  const w = (i: number) => fromRotationTranslation(rotationFromAxisAngle([0.1 * i, 1 / (i + 3), -0.2]), [i / 3, Math.PI * i, 1e-7 * i]);
  const k = Float64Array.of(1165.72, 0, 649.095, 0, 1165.74, 484.765, 0, 0, 1);
  const pairs = [0, 1, 2].map((i) => ({ ...pairFromCameras({ name: `f${i}.jpg`, k, worldFromCamera: w(i) }, { name: `f${i + 1}.jpg`, k, worldFromCamera: w(i + 1) }), rotation1: 2 as const }));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-pairs-'));
  try {
    const file = path.join(dir, 'pairs.txt');
    await writePairFile(file, pairs, ['made from GT poses']);
    const back = await readPairFile(file);
    assert.deepEqual(back.map((p) => [p.name0, p.name1, p.rotation0, p.rotation1, [...p.k0], [...p.k1], [...p.camera1FromCamera0]]),
      pairs.map((p) => [p.name0, p.name1, p.rotation0, p.rotation1, [...p.k0], [...p.k1], [...p.camera1FromCamera0]]));
    const python = JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c', [
      'import json, sys, numpy as np',
      'out = []',
      'for line in open(sys.argv[1]):',
      '    if line.startswith("#"): continue',
      '    pair = line.split()',
      '    K0 = np.array(pair[4:13]).astype(float).reshape(3, 3)',
      '    T = np.array(pair[22:]).astype(float).reshape(4, 4)',
      '    out.append({"names": pair[:2], "rot": [int(pair[2]), int(pair[3])], "K0": K0.tolist(), "t": T[:3, 3].tolist(), "R": T[:3, :3].tolist()})',
      'print(json.dumps(out))',
    ].join('\n'), file]).toString()) as Array<{ names: string[]; rot: number[]; K0: number[][]; t: number[]; R: number[][] }>;
    assert.equal(python.length, 3);
    for (const [i, p] of python.entries()) {
      const ours = pairs[i]!;
      assert.deepEqual(p.names, [ours.name0, ours.name1]);
      assert.deepEqual(p.rot, [0, 2]);
      assert.deepEqual(p.K0.flat(), [...ours.k0]);
      const m = ours.camera1FromCamera0;
      assert.deepEqual(p.t, [m[3], m[7], m[11]]);
      assert.deepEqual(p.R.flat(), [m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]]);
    }
    assert.throws(() => formatPairFile([{ ...pairs[0]!, name0: 'a b.jpg' }]), InputError);
    await assert.rejects(readPairFile(path.join(dir, 'missing.txt')), InputError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
