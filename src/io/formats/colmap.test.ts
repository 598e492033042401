import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FormatError, InputError } from '../../core/errors.ts';
import { fromRotationTranslation } from '../../core/mat4.ts';
import {
  colmapCameraFromIntrinsics, colmapPoseFromWorldFromCamera, countColmapObservations, decodeColmapCamerasBinary,
  decodeColmapCamerasText, decodeColmapImagesBinary, decodeColmapImagesText, decodeColmapPoints3DBinary,
  decodeColmapPoints3DText, encodeColmapBinary, encodeColmapText, findColmapModelProblems, formatColmapDouble,
  intrinsicsFromColmapCamera, readColmapModel, worldFromCameraOfColmapImage, writeColmapModel, type ColmapModel,
} from './colmap.ts';
import { DEBIAN_PYTHON } from '../../../test/helpers/paths.ts';
import { noise } from '../../../test/helpers/noise.ts';

/** A small consistent model: two cameras, three images (one without keypoints), two points. */
function sampleModel(): ColmapModel {
  const s = Math.hypot(0.9, 0.1, 0.2, 0.3);
  return {
    cameras: [
      { id: 3, model: 'PINHOLE', width: 640, height: 480, params: Float64Array.of(500.1, 501.2, 320.5, 240.25) },
      { id: 1, model: 'OPENCV', width: 100, height: 80, params: Float64Array.of(90, 91, 50, 40, 0.01, -0.002, 0.0001, 1e-7) },
    ],
    images: [
      {
        id: 5, qvec: Float64Array.of(0.9 / s, 0.1 / s, -0.2 / s, 0.3 / s), tvec: Float64Array.of(1 / 3, -2, 3e-7), cameraId: 3,
        name: 'sub/img5.jpg', points2D: Float64Array.of(10.5, 20.25, 30, 40, 1 / 7, 2 / 9), point3DIds: Float64Array.of(7, -1, 8),
      },
      { id: 2, qvec: Float64Array.of(1, 0, 0, 0), tvec: Float64Array.of(0, 0, 0), cameraId: 1, name: 'b.png', points2D: Float64Array.of(1, 2, 3, 4), point3DIds: Float64Array.of(8, 7) },
      { id: 9, qvec: Float64Array.of(1, 0, 0, 0), tvec: Float64Array.of(0, 0, 1), cameraId: 1, name: 'c.png', points2D: new Float64Array(0), point3DIds: new Float64Array(0) },
    ],
    points3D: [
      { id: 7, xyz: Float64Array.of(0.1, 0.2, 5), rgb: Uint8Array.of(255, 0, 12), error: 0.5, track: Uint32Array.of(5, 0, 2, 1) },
      { id: 8, xyz: Float64Array.of(-1e-9, 2e20, 3), rgb: Uint8Array.of(1, 2, 3), error: -1, track: Uint32Array.of(5, 2, 2, 0) },
    ],
  };
}

/** Plain arrays so deepEqual compares values, not typed-array identities. */
function plain(model: ColmapModel): unknown {
  return JSON.parse(JSON.stringify(model, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v)));
}

test('text encoding: COLMAP headers, %.17g numbers, an empty POINTS2D line for an image without keypoints', () => {
  const text = encodeColmapText(sampleModel());
  assert.equal(text.cameras, [
    '# Camera list with one line of data per camera:',
    '#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]',
    '# Number of cameras: 2',
    '3 PINHOLE 640 480 500.10000000000002 501.19999999999999 320.5 240.25',
    '1 OPENCV 100 80 90 91 50 40 0.01 -0.002 0.0001 9.9999999999999995e-08',
    '',
  ].join('\n'));
  const imageLines = text.images.split('\n');
  assert.equal(imageLines[3], '# Number of images: 3, mean observations per image: 1.3333333333333333');
  assert.equal(imageLines[4], '5 0.9233805168766388 0.10259783520851543 -0.20519567041703085 0.30779350562554625 0.33333333333333331 -2 2.9999999999999999e-07 3 sub/img5.jpg');
  assert.equal(imageLines[5], '10.5 20.25 7 30 40 -1 0.14285714285714285 0.22222222222222221 8');
  assert.deepEqual(imageLines.slice(8), ['9 1 0 0 0 0 0 1 1 c.png', '', '']);
  assert.equal(text.points3D.split('\n')[2], '# Number of points: 2, mean track length: 2');
  assert.equal(text.points3D.split('\n')[4], '8 -1.0000000000000001e-09 2e+20 3 1 2 3 -1 5 2 2 0');
});

test('formatColmapDouble matches printf("%.17g") of Debian python on awkward values, ties included', { skip: !existsSync(DEBIAN_PYTHON) }, () => {
  const r = noise(3000, 42);
  const values = [1, -1, 0.1, 1 / 3, 1e-4, 9.99999999999999e-5, 1e-5, 1e16, 1e17, 99999999999999999, 1133878406059314.2, 3169776765125.1562, 2 ** 60, 5e-324, 1.7976931348623157e308];
  for (let i = 0; i < r.length; i += 3) values.push((r[i]! - 0.5) * 10 ** Math.round(r[i + 1]! * 44 - 22) * (1 + r[i + 2]!));
  // Dyadic fractions n / 2^k with 18-digit expansions: many are exact ties at 17 digits (1 + 2^-17 = 1.00000762939453125).
  values.push(1 + 2 ** -17);
  for (let i = 0; i < r.length; i += 3) values.push((2 * (Math.floor(r[i]! * 2 ** 24) * 2 ** 9 + Math.floor(r[i + 2]! * 2 ** 9)) + 1) / 2 ** (9 + Math.floor(r[i + 1]! * 5)));
  const ours = values.map(formatColmapDouble);
  const theirs = JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c', 'import json,sys; print(json.dumps(["%.17g" % x for x in json.load(sys.stdin)]))'],
    { input: JSON.stringify(values) }).toString()) as string[];
  assert.deepEqual(ours, theirs);
  assert.deepEqual([formatColmapDouble(0), formatColmapDouble(-0), formatColmapDouble(Infinity), formatColmapDouble(Number.NaN)], ['0', '-0', 'inf', 'nan']);
});

test('text and binary round trips are exact (ids, doubles, tracks, names, order)', () => {
  const model = sampleModel();
  const text = encodeColmapText(model);
  const fromText = { cameras: decodeColmapCamerasText(text.cameras), images: decodeColmapImagesText(text.images), points3D: decodeColmapPoints3DText(text.points3D) };
  assert.deepEqual(plain(fromText), plain(model));
  const bin = encodeColmapBinary(model);
  const fromBin = { cameras: decodeColmapCamerasBinary(bin.cameras), images: decodeColmapImagesBinary(bin.images), points3D: decodeColmapPoints3DBinary(bin.points3D) };
  assert.deepEqual(plain(fromBin), plain(model));
  // Layout by hand: uint64 count, then camera 3: uint32 id, int32 model 1 (PINHOLE), uint64 640, uint64 480, 4 doubles.
  const view = new DataView(bin.cameras.buffer, bin.cameras.byteOffset);
  assert.deepEqual([view.getBigUint64(0, true), view.getUint32(8, true), view.getInt32(12, true), view.getBigUint64(16, true), view.getFloat64(32, true)],
    [2n, 3, 1, 640n, 500.1]);
  assert.equal(bin.cameras.length, 8 + (24 + 32) + (24 + 64));
  // images.bin: the unobserved keypoint is stored as uint64 max.
  const iv = new DataView(bin.images.buffer, bin.images.byteOffset);
  const firstPointsAt = 8 + 4 + 56 + 4 + 'sub/img5.jpg'.length + 1 + 8;
  assert.equal(iv.getBigUint64(firstPointsAt + 24 + 16, true), 0xffffffffffffffffn);
  assert.equal(countColmapObservations(model), 4);
});

test('malformed text names the file and line', () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => decodeColmapCamerasText('# c\n1 PINHOLE 10 10 1 1 5\n', 'x/cameras.txt'), /x\/cameras\.txt: line 2: PINHOLE needs 8 fields, got 7/],
    [() => decodeColmapCamerasText('1 FISH 10 10 1\n', 'cameras.txt'), /line 1: unknown camera model "FISH"/],
    [() => decodeColmapCamerasText('1 SIMPLE_PINHOLE 10 0 1 5 5\n', 'cameras.txt'), /line 1: HEIGHT "0" is not an integer/],
    [() => decodeColmapCamerasText('1 SIMPLE_PINHOLE 10 10 1 5 5x\n', 'cameras.txt'), /line 1: cy "5x" is not a number/],
    [() => decodeColmapImagesText('# h\n\n1 1 0 0 0 0 0 0 1 a.png\n1 2 3 4\n', 'images.txt'), /images\.txt: line 4: POINTS2D of image 1 has 4 fields/],
    [() => decodeColmapImagesText('1 1 0 0 0 0 0 0 1 a.png\n', 'images.txt'), /line 1: image 1 has no POINTS2D line/],
    [() => decodeColmapImagesText('1 1 0 0 0 0 0 0 1 a b.png\n\n', 'images.txt'), /line 1: an image line needs 10 fields/],
    [() => decodeColmapImagesText('1 1 0 0 0 0 0 0 1 a.png\n1 2 -2\n', 'images.txt'), /line 2: POINT3D_ID "-2"/],
    [() => decodeColmapPoints3DText('7 1 2 3 4 5 300 0.5 1 0\n', 'points3D.txt'), /line 1: colour "300"/],
    [() => decodeColmapPoints3DText('7 1 2 3 4 5 6 0.5 1\n', 'points3D.txt'), /line 1: a point line needs 8 fields plus/],
  ];
  for (const [run, message] of cases) {
    assert.throws(run, (e: unknown) => e instanceof FormatError && message.test(e.message), String(message));
  }
  // inf and nan as C++ prints them are numbers, not errors.
  assert.deepEqual(Array.from(decodeColmapPoints3DText('7 inf -inf nan 1 2 3 -1\n')[0]!.xyz), [Infinity, -Infinity, Number.NaN]);
});

test('malformed binary names the file and the byte offset', () => {
  const bin = encodeColmapBinary(sampleModel());
  const expectOffset = (run: () => unknown, message: RegExp, offset: number): void => {
    assert.throws(run, (e: unknown) => e instanceof FormatError && message.test(e.message) && e.byteOffset === offset && e.file === 'm/f.bin',
      `${message} at ${offset}`);
  };
  expectOffset(() => decodeColmapCamerasBinary(bin.cameras.subarray(0, 148), 'm/f.bin'), /file ends inside OPENCV parameter p2/, 144);
  expectOffset(() => decodeColmapCamerasBinary(bin.cameras.subarray(0, 40), 'm/f.bin'), /number of cameras 2 does not fit in the 32 bytes left/, 0);
  const badModel = bin.cameras.slice();
  new DataView(badModel.buffer).setInt32(12, 99, true);
  expectOffset(() => decodeColmapCamerasBinary(badModel, 'm/f.bin'), /unknown camera model id 99/, 12);
  const hugeCount = bin.points3D.slice();
  new DataView(hugeCount.buffer).setBigUint64(0, 1n << 40n, true);
  expectOffset(() => decodeColmapPoints3DBinary(hugeCount, 'm/f.bin'), /number of points3D \d+ does not fit/, 0);
  const trailing = new Uint8Array(bin.images.length + 3);
  trailing.set(bin.images);
  expectOffset(() => decodeColmapImagesBinary(trailing, 'm/f.bin'), /3 unexpected bytes/, bin.images.length);
  const noNul = new Uint8Array(8 + 4 + 56 + 4 + 80);
  noNul.set(bin.images.subarray(0, 8 + 4 + 56 + 4 + 3));
  noNul.fill(65, 8 + 4 + 56 + 4);
  new DataView(noNul.buffer).setBigUint64(0, 1n, true);
  expectOffset(() => decodeColmapImagesBinary(noNul, 'm/f.bin'), /image name has no terminating NUL/, 72);
});

test('inconsistent models are refused before anything is written', async () => {
  const model = sampleModel();
  assert.deepEqual(findColmapModelProblems(model), []);
  const dangling: ColmapModel = { ...model, points3D: [model.points3D[0]!] };
  const problems = findColmapModelProblems(dangling);
  assert.ok(problems.some((p) => /point3D 8 does not exist/.test(p)), problems.join('; '));
  const badTrack: ColmapModel = { ...model, points3D: [model.points3D[0]!, { ...model.points3D[1]!, track: Uint32Array.of(5, 2, 2, 1) }] };
  assert.ok(findColmapModelProblems(badTrack).some((p) => /image 2 point2D 1 refers to point3D 7/.test(p)));
  const badParams: ColmapModel = { ...model, cameras: [{ ...model.cameras[0]!, params: Float64Array.of(1, 2, 3) }, model.cameras[1]!] };
  assert.ok(findColmapModelProblems(badParams).some((p) => /PINHOLE needs 4 params, has 3/.test(p)));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-colmap-'));
  try {
    await assert.rejects(writeColmapModel(dir, dangling), InputError);
    assert.deepEqual(await readdir(dir), []);
    const spaced: ColmapModel = { ...model, images: [model.images[0]!, model.images[1]!, { ...model.images[2]!, name: 'a b.png' }] };
    assert.throws(() => encodeColmapText(spaced), /whitespace/);
    assert.equal(decodeColmapImagesBinary(encodeColmapBinary(spaced).images)[2]!.name, 'a b.png');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('folders: auto prefers binary like COLMAP, and writing one format removes the other', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-colmap-'));
  try {
    const model = sampleModel();
    const written = await writeColmapModel(dir, model, { format: 'text' });
    assert.deepEqual(written.map((f) => path.basename(f)), ['cameras.txt', 'images.txt', 'points3D.txt']);
    assert.equal((await readColmapModel(dir)).format, 'text');
    await writeFile(path.join(dir, 'cameras.bin'), encodeColmapBinary(model).cameras);
    assert.equal((await readColmapModel(dir)).format, 'text', 'a partial binary model is not a model');
    await writeColmapModel(dir, model, { format: 'binary' });
    assert.deepEqual((await readdir(dir)).sort(), ['cameras.bin', 'images.bin', 'points3D.bin']);
    const back = await readColmapModel(dir);
    assert.equal(back.format, 'binary');
    assert.deepEqual(plain(back.model), plain(model));
    await assert.rejects(readColmapModel(dir, { format: 'text' }), (e: unknown) => e instanceof InputError && /cameras\.txt/.test(e.message));
    await assert.rejects(readColmapModel(path.join(dir, 'nope')), InputError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('intrinsics: pinhole models convert exactly with the half-pixel shift; distortion is reported, not dropped', () => {
  const k = { fxPx: 500, fyPx: 510, cxPx: 319.5, cyPx: 239.5, width: 640, height: 480 };
  const pinhole = colmapCameraFromIntrinsics(4, k);
  assert.deepEqual([pinhole.model, ...pinhole.params], ['PINHOLE', 500, 510, 320, 240]);
  assert.deepEqual(intrinsicsFromColmapCamera(pinhole), { intrinsics: k });
  const simple = colmapCameraFromIntrinsics(1, { ...k, fyPx: 500 }, 'SIMPLE_PINHOLE');
  assert.deepEqual(Array.from(simple.params), [500, 320, 240]);
  assert.deepEqual(intrinsicsFromColmapCamera(simple), { intrinsics: { ...k, fyPx: 500 } });
  assert.throws(() => colmapCameraFromIntrinsics(1, k, 'SIMPLE_PINHOLE'), InputError);
  const opencv = intrinsicsFromColmapCamera(sampleModel().cameras[1]!);
  assert.deepEqual(opencv.intrinsics, { fxPx: 90, fyPx: 91, cxPx: 49.5, cyPx: 39.5, width: 100, height: 80 });
  assert.deepEqual(opencv.distortion, { model: 'OPENCV', coefficients: { k1: 0.01, k2: -0.002, p1: 0.0001, p2: 1e-7 } });
  const radial = intrinsicsFromColmapCamera({ id: 2, model: 'SIMPLE_RADIAL', width: 10, height: 10, params: Float64Array.of(8, 5, 5, 0) });
  assert.deepEqual(radial.distortion, { model: 'SIMPLE_RADIAL', coefficients: { k: 0 } });
});

test('poses: COLMAP cameraFromWorld <-> worldFromCamera, closed form and round trip', () => {
  // 90 degrees about z: q = (cos 45, 0, 0, sin 45), R = [[0,-1,0],[1,0,0],[0,0,1]]; centre C = -R^T t.
  const h = Math.SQRT1_2;
  const m = worldFromCameraOfColmapImage({ qvec: Float64Array.of(h, 0, 0, h), tvec: Float64Array.of(1, 2, 3) });
  const expected = [0, 1, 0, -2, -1, 0, 0, 1, 0, 0, 1, -3, 0, 0, 0, 1];
  for (let i = 0; i < 16; i++) assert.ok(Math.abs(m[i]! - expected[i]!) < 1e-15, `element ${i}: ${m[i]} vs ${expected[i]}`);
  // An unnormalised quaternion describes the same rotation.
  const scaled = worldFromCameraOfColmapImage({ qvec: Float64Array.of(2 * h, 0, 0, 2 * h), tvec: Float64Array.of(1, 2, 3) });
  for (let i = 0; i < 16; i++) assert.ok(Math.abs(scaled[i]! - expected[i]!) < 1e-15);
  // Round trip over rotations near 180 degrees too (the quaternion branch that is not the trace one).
  const r = noise(400, 7);
  for (let i = 0; i < 400; i += 4) {
    const q = [r[i]! - 0.5, r[i + 1]! - 0.5, r[i + 2]! - 0.5, i < 40 ? 1e-3 * r[i + 3]! : r[i + 3]! - 0.5];
    const n = Math.hypot(...q);
    const image = { qvec: Float64Array.from(q, (v) => v / n * (q[0]! < 0 ? -1 : 1)), tvec: Float64Array.of(r[i]! * 10, -r[i + 1]!, r[i + 2]! * 3) };
    const back = colmapPoseFromWorldFromCamera(worldFromCameraOfColmapImage(image));
    for (let k = 0; k < 4; k++) assert.ok(Math.abs(back.qvec[k]! - image.qvec[k]!) < 1e-14, `q ${i}`);
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(back.tvec[k]! - image.tvec[k]!) < 1e-13, `t ${i}`);
  }
  // worldFromCamera built from rotation and centre: tvec = -R_cw C.
  const identityAt = colmapPoseFromWorldFromCamera(fromRotationTranslation([1, 0, 0, 0, 1, 0, 0, 0, 1], [4, 5, 6]));
  assert.deepEqual([...identityAt.qvec, ...identityAt.tvec], [1, 0, 0, 0, -4, -5, -6]);
});
