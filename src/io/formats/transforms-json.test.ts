import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { FormatError, InputError } from '../../core/errors.ts';
import { intrinsicsFromTransformsCamera, parseTransformsJson, readTransformsJson, type ImageSizeReader } from './transforms-json.ts';
import { DEBIAN_PYTHON, SHARED_DATA_DIR } from '../../../test/helpers/paths.ts';

const LEGO_JSON = path.join(SHARED_DATA_DIR, 'nerf_synthetic_lego_shouxieai/data/nerf_synthetic/lego/transforms_train.json');
const DTU_DIR = path.join(SHARED_DATA_DIR, 'dtu_scan24_nerf_baseline/data/dtu_scan24');
const DTU_JSON = path.join(DTU_DIR, 'transforms.json');

const headerSize: ImageSizeReader = async (file) => {
  const meta = await sharp(file).metadata();
  return { width: meta.width!, height: meta.height! };
};

/** Column c of the rotation part of a row-major 4x4. */
function column(m: Float64Array, c: number): number[] {
  return [m[c]!, m[4 + c]!, m[8 + c]!];
}

test('NeRF-synthetic lego: fx from camera_angle_x, (W/2, H/2) principal point, 20 images found, 80 reported missing', { skip: !existsSync(LEGO_JSON) && `missing ${LEGO_JSON}` }, async () => {
  const { frames, missing } = await readTransformsJson(LEGO_JSON, { imageSize: headerSize });
  assert.equal(frames.length, 20);
  assert.equal(missing.length, 80);
  assert.deepEqual(frames.map((f) => f.index), Array.from({ length: 20 }, (_, i) => 5 * i));
  assert.ok(missing.every((m) => m.triedPaths[1]!.endsWith(`${m.filePath.slice(2)}.png`)));
  const raw = JSON.parse(readFileSync(LEGO_JSON, 'utf8')) as { camera_angle_x: number; frames: Array<{ transform_matrix: number[][] }> };
  const fx = 400 / Math.tan(raw.camera_angle_x / 2);
  assert.ok(Math.abs(fx - 1111.11) < 0.01, `fx ${fx}`);
  for (const f of frames) {
    assert.equal(path.basename(f.imagePath), `r_${f.index}.png`);
    assert.deepEqual(f.intrinsics, { fxPx: fx, fyPx: fx, cxPx: 400, cyPx: 400, width: 800, height: 800 });
    assert.equal(f.distortion, undefined);
    // OpenGL -> OpenCV flips the y and z columns and nothing else.
    const gl = raw.frames[f.index]!.transform_matrix.flat();
    assert.deepEqual(Array.from(f.worldFromCamera), gl.map((v, i) => (i < 12 && (i % 4 === 1 || i % 4 === 2) ? -v : v)));
    // Independent check of the axes: every lego camera looks at the object at the origin, so the OpenCV optical
    // axis (+z column) points at the origin, and Blender's world up (+z) appears upward in the image (-y).
    const centre = column(f.worldFromCamera, 3);
    const distance = Math.hypot(...centre);
    const forward = column(f.worldFromCamera, 2);
    const cosToOrigin = -(forward[0]! * centre[0]! + forward[1]! * centre[1]! + forward[2]! * centre[2]!) / distance;
    assert.ok(cosToOrigin > 0.999, `frame ${f.index}: optical axis is ${(Math.acos(cosToOrigin) * 180 / Math.PI).toFixed(2)} deg off the origin`);
    assert.ok(column(f.worldFromCamera, 1)[2]! < 0, `frame ${f.index}: image down should point down in the world`);
  }
});

test('DTU scan24: per-frame intrinsics and poses equal cv2.decomposeProjectionMatrix of world_mat_i', { skip: (!existsSync(DTU_JSON) || !existsSync(DEBIAN_PYTHON)) && 'DTU data or Debian python missing' }, async (t) => {
  const { frames, missing } = await readTransformsJson(DTU_JSON);
  assert.equal(missing.length, 0);
  assert.equal(frames.length, 6);
  const ids = frames.map((f) => Number(path.basename(f.filePath, '.png')));
  assert.deepEqual(ids, [0, 8, 16, 24, 32, 40]);
  const script = [
    'import json, sys, numpy as np, cv2',
    'cams = np.load(sys.argv[1])',
    'out = []',
    'for i in json.loads(sys.argv[2]):',
    '    P = cams["world_mat_%d" % i][:3].astype(np.float64)',
    '    K, R, c, *_ = cv2.decomposeProjectionMatrix(P)',
    '    K = K / K[2, 2]',
    '    C = (c[:3] / c[3]).ravel()',
    '    M = np.eye(4); M[:3, :3] = R.T; M[:3, 3] = C',
    '    X = np.random.default_rng(i).normal(size=(50, 3)) * 50 + C + 500 * R[2]',
    '    x = (P @ np.c_[X, np.ones(50)].T).T',
    '    out.append({"K": K.ravel().tolist(), "worldFromCamera": M.ravel().tolist(), "X": X.ravel().tolist(), "uv": (x[:, :2] / x[:, 2:]).ravel().tolist()})',
    'print(json.dumps(out))',
  ].join('\n');
  const run = spawnSync(DEBIAN_PYTHON, ['-c', script, path.join(DTU_DIR, 'cameras_sphere.npz'), JSON.stringify(ids)], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const reference = JSON.parse(run.stdout) as Array<{ K: number[]; worldFromCamera: number[]; X: number[]; uv: number[] }>;
  let worstPose = 0, worstFocal = 0, worstReprojection = 0;
  for (const [i, f] of frames.entries()) {
    const ref = reference[i]!;
    assert.ok(Math.abs(f.intrinsics.fxPx - 2892.33) < 0.01, `fx ${f.intrinsics.fxPx}`);
    assert.deepEqual([f.intrinsics.width, f.intrinsics.height], [1600, 1200]);
    const k = f.intrinsics;
    for (const [ours, theirs] of [[k.fxPx, ref.K[0]!], [k.fyPx, ref.K[4]!], [k.cxPx, ref.K[2]!], [k.cyPx, ref.K[5]!]] as const) {
      worstFocal = Math.max(worstFocal, Math.abs(ours - theirs));
    }
    for (let e = 0; e < 12; e++) {
      const scale = e % 4 === 3 ? 100 : 1; // centres are in millimetres, hundreds away from the origin
      worstPose = Math.max(worstPose, Math.abs(f.worldFromCamera[e]! - ref.worldFromCamera[e]!) / scale);
    }
    // Project the same points with our camera: x_cam = R^T (X - C), pinhole with our intrinsics.
    const m = f.worldFromCamera;
    for (let p = 0; p < ref.X.length / 3; p++) {
      const d = [ref.X[3 * p]! - m[3]!, ref.X[3 * p + 1]! - m[7]!, ref.X[3 * p + 2]! - m[11]!];
      const xc = m[0]! * d[0]! + m[4]! * d[1]! + m[8]! * d[2]!;
      const yc = m[1]! * d[0]! + m[5]! * d[1]! + m[9]! * d[2]!;
      const zc = m[2]! * d[0]! + m[6]! * d[1]! + m[10]! * d[2]!;
      const u = k.fxPx * xc / zc + k.cxPx, v = k.fyPx * yc / zc + k.cyPx;
      worstReprojection = Math.max(worstReprojection, Math.hypot(u - ref.uv[2 * p]!, v - ref.uv[2 * p + 1]!));
    }
  }
  t.diagnostic(`vs OpenCV: intrinsics ${worstFocal.toExponential(2)} px, pose ${worstPose.toExponential(2)}, reprojection ${worstReprojection.toExponential(2)} px (skew dropped)`);
  assert.ok(worstFocal < 1e-6, `intrinsics differ by ${worstFocal} px`);
  assert.ok(worstPose < 1e-6, `poses differ by ${worstPose}`);
  assert.ok(worstReprojection < 1e-3, `reprojection differs by ${worstReprojection} px`);
});

const IDENTITY_GL = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];

test('intrinsics: frame fields override global ones; fl over angle; angle_y; explicit principal point', () => {
  const frames = parseTransformsJson({
    camera_angle_x: 2 * Math.atan(0.5), w: 100, h: 50, cx: 49.5,
    frames: [
      { file_path: 'a.png', transform_matrix: IDENTITY_GL },
      { file_path: 'b.png', transform_matrix: IDENTITY_GL, fl_x: 80, cy: 20 },
      { file_path: 'c.png', transform_matrix: IDENTITY_GL, camera_angle_y: 2 * Math.atan(0.25), w: 200 },
    ],
  });
  const k = frames.map((f) => intrinsicsFromTransformsCamera(f.camera));
  assert.deepEqual(k[0], { fxPx: 100, fyPx: 100, cxPx: 49.5, cyPx: 25, width: 100, height: 50 });
  assert.deepEqual(k[1], { fxPx: 80, fyPx: 80, cxPx: 49.5, cyPx: 20, width: 100, height: 50 });
  const c = k[2]!;
  assert.ok(Math.abs(c.fxPx - 200) < 1e-12 && Math.abs(c.fyPx - 100) < 1e-12, JSON.stringify(c));
  assert.deepEqual([c.cxPx, c.cyPx, c.width, c.height], [49.5, 25, 200, 50]);
  // Identity in OpenGL axes is a camera looking down -z with y up: in OpenCV axes y and z flip.
  assert.deepEqual(Array.from(frames[0]!.worldFromCamera), [1, -0, -0, 0, 0, -1, -0, 0, 0, -0, -1, 0, 0, 0, 0, 1]);
  assert.throws(() => intrinsicsFromTransformsCamera({ camera_angle_x: 1 }), InputError);
  assert.deepEqual(intrinsicsFromTransformsCamera({ camera_angle_x: Math.PI / 2 }, { width: 10, height: 8 }),
    { fxPx: 5.000000000000001, fyPx: 5.000000000000001, cxPx: 5, cyPx: 4, width: 10, height: 8 });
  assert.throws(() => intrinsicsFromTransformsCamera({ w: 10, h: 10 }), /no focal length/);
});

test('malformed files name the file and the frame', () => {
  const cases: Array<[unknown, RegExp]> = [
    [[], /top level is not a JSON object/],
    [{ frames: {} }, /"frames" is missing or not an array/],
    [{ frames: [{ transform_matrix: IDENTITY_GL }] }, /frames\[0\]\.file_path is missing/],
    [{ frames: [{ file_path: 'a', transform_matrix: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] }] }, /frames\[0\]\.transform_matrix must be a 4x4/],
    [{ frames: [{ file_path: 'a', transform_matrix: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]] }] }, /last row is not \[0, 0, 0, 1\]/],
    [{ frames: [{ file_path: 'a', transform_matrix: [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] }] }, /not a proper rotation/],
    [{ frames: [{ file_path: 'a', transform_matrix: [[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] }] }, /not a proper rotation/],
    [{ fl_x: '500', frames: [] }, /top level\.fl_x is not a finite number/],
    [{ frames: [{ file_path: 'a', transform_matrix: IDENTITY_GL }, { file_path: 'b', transform_matrix: IDENTITY_GL, cy: null, k1: 'x' }] }, /frames\[1\]\.k1/],
  ];
  for (const [json, message] of cases) {
    assert.throws(() => parseTransformsJson(json, 'scene/transforms.json'),
      (e: unknown) => e instanceof FormatError && message.test(e.message) && e.message.startsWith('scene/transforms.json: '), String(message));
  }
});

test('images: with or without extension, relative to the json; missing ones reported with poses; distortion reported', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-transforms-'));
  try {
    await mkdir(path.join(dir, 'img'));
    const png = await sharp({ create: { width: 6, height: 4, channels: 3, background: '#808080' } }).png().toBuffer();
    await writeFile(path.join(dir, 'img', 'a.png'), png);
    await writeFile(path.join(dir, 'img', 'b.jpg'), png);
    const moved = [[1, 0, 0, 3], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
    const jsonPath = path.join(dir, 'transforms.json');
    await writeFile(jsonPath, JSON.stringify({
      fl_x: 10, k1: 0.1, p2: 0, camera_model: 'OPENCV',
      frames: [
        { file_path: 'img/a.png', transform_matrix: IDENTITY_GL },
        { file_path: './img/b', transform_matrix: IDENTITY_GL, w: 6, h: 4, k1: 0 },
        { file_path: 'img/gone', transform_matrix: moved },
      ],
    }));
    const sizes: string[] = [];
    const result = await readTransformsJson(jsonPath, { imageSize: async (f) => { sizes.push(path.basename(f)); return headerSize(f); } });
    assert.deepEqual(result.frames.map((f) => path.relative(dir, f.imagePath)), ['img/a.png', 'img/b.jpg']);
    assert.deepEqual(sizes, ['a.png'], 'the image header is read only when the file gives no size');
    assert.deepEqual(result.frames[0]!.intrinsics, { fxPx: 10, fyPx: 10, cxPx: 3, cyPx: 2, width: 6, height: 4 });
    assert.deepEqual(result.frames[0]!.distortion, { model: 'OPENCV', coefficients: { k1: 0.1 } });
    assert.equal(result.frames[1]!.distortion, undefined);
    assert.equal(result.missing.length, 1);
    assert.equal(result.missing[0]!.index, 2);
    assert.equal(result.missing[0]!.worldFromCamera[3], 3);
    assert.deepEqual(result.missing[0]!.triedPaths.slice(0, 2), [path.join(dir, 'img/gone'), path.join(dir, 'img/gone.png')]);
    await assert.rejects(readTransformsJson(jsonPath), (e: unknown) => e instanceof InputError && /pass imageSize/.test(e.message));
    await writeFile(jsonPath, '{ "frames": [ ');
    await assert.rejects(readTransformsJson(jsonPath), (e: unknown) => e instanceof FormatError && e.message.includes(jsonPath));
    await assert.rejects(readTransformsJson(path.join(dir, 'nope.json')), InputError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
