import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decode as decodePng } from 'fast-png';
import { createIntrinsics } from '../core/camera.ts';
import { createDepth, type DisparityMap, type MetricDepthMap } from '../core/depth.ts';
import { InputError } from '../core/errors.ts';
import { createImage } from '../core/image.ts';
import { createPointMap } from '../core/points.ts';
import { pointMapToCloud, projectPoint, scaleIntrinsics, unprojectDepth } from './unproject.ts';
import { SHARED_DATA_DIR } from '../../test/helpers/paths.ts';

const NYU_DEPTH = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/depth/sync_depth_00000.png');
// NYU RGB intrinsics from metric3d_demo_nyu_kitti/.../test_annotations.json (cam_in).
const NYU_K = createIntrinsics({ fxPx: 518.8579, fyPx: 519.46961, cxPx: 325.58245, cyPx: 253.73617, width: 640, height: 480 });

const metric = (width: number, height: number, values: number[]): MetricDepthMap =>
  createDepth({ kind: 'metricDepth', width, height, data: Float32Array.from(values) });

test('closed form: x = (u - cx) / fx * z, y = (v - cy) / fy * z, z = depth (OpenCV axes)', () => {
  const K = createIntrinsics({ fxPx: 100, fyPx: 200, cxPx: 1.5, cyPx: 1, width: 4, height: 3 });
  const depth = metric(4, 3, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
  const map = unprojectDepth(depth, K);
  assert.equal(map.frame, 'camera');
  const at = (u: number, v: number) => [...map.points.subarray((v * 4 + u) * 3, (v * 4 + u) * 3 + 3)];
  assert.deepEqual(at(3, 2), [Math.fround(0.03), Math.fround(0.01), 2]); // right of and below the centre: +x, +y
  assert.deepEqual(at(0, 0), [Math.fround(-0.015), Math.fround(-0.005), 1]); // top-left: -x (left), -y (up)
  assert.deepEqual(at(1, 1), [Math.fround(-0.005), 0, 1]);
});

test('unproject then project gives back every valid pixel of real NYU depth within 1e-4 px', { skip: !existsSync(NYU_DEPTH) }, async () => {
  const png = decodePng(await readFile(NYU_DEPTH));
  const data = Float32Array.from(png.data as Uint16Array, (mm) => (mm === 0 ? NaN : mm / 1000));
  const depth = createDepth({ kind: 'metricDepth', width: png.width, height: png.height, data });
  const map = unprojectDepth(depth, NYU_K);
  let maxError = 0;
  let valid = 0;
  for (let v = 0; v < depth.height; v++) {
    for (let u = 0; u < depth.width; u++) {
      const o = (v * depth.width + u) * 3;
      if (Number.isNaN(data[v * depth.width + u]!)) {
        assert.ok(Number.isNaN(map.points[o]!) && Number.isNaN(map.points[o + 2]!));
        continue;
      }
      valid++;
      const pixel = projectPoint(NYU_K, map.points[o]!, map.points[o + 1]!, map.points[o + 2]!)!;
      maxError = Math.max(maxError, Math.abs(pixel.u - u), Math.abs(pixel.v - v));
    }
  }
  assert.ok(valid > 150_000, `valid pixels ${valid}`);
  assert.ok(maxError < 1e-4, `max reprojection error ${maxError} px`);
});

test('metamorphic: scaling depth by k scales every point by k', () => {
  const K = createIntrinsics({ fxPx: 50, fyPx: 50, cxPx: 2, cyPx: 1.5, width: 5, height: 4 });
  const values = Array.from({ length: 20 }, (_, i) => 0.5 + i * 0.25);
  const a = unprojectDepth(metric(5, 4, values), K).points;
  const b = unprojectDepth(metric(5, 4, values.map((z) => z * 4)), K).points;
  for (let i = 0; i < a.length; i++) assert.equal(b[i], a[i]! * 4); // exact: 4 is a power of two
});

test('invalid, non-positive, infinite and out-of-range depths give NaN points', () => {
  const K = createIntrinsics({ fxPx: 10, fyPx: 10, cxPx: 2.5, cyPx: 0, width: 6, height: 1 });
  const map = unprojectDepth(metric(6, 1, [NaN, 0, -1, Infinity, 0.05, 50]), K, { minDepth: 0.1, maxDepth: 40 });
  for (let i = 0; i < 6; i++) assert.ok(Number.isNaN(map.points[i * 3 + 2]!), `pixel ${i}`);
  const kept = unprojectDepth(metric(6, 1, [1, 1, 1, 1, 0.05, 50]), K);
  assert.equal(kept.points[4 * 3 + 2], Math.fround(0.05));
  assert.equal(kept.points[5 * 3 + 2], 50);
});

test('relative depth unprojects; disparity is refused with a pointer to --align or a metric model', () => {
  const K = createIntrinsics({ fxPx: 10, fyPx: 10, cxPx: 0, cyPx: 0, width: 1, height: 1 });
  const relative = createDepth({ kind: 'relativeDepth', width: 1, height: 1, data: new Float32Array([3]) });
  assert.deepEqual([...unprojectDepth(relative, K).points], [0, 0, 3]);
  const disparity: DisparityMap = createDepth({ kind: 'disparity', width: 1, height: 1, data: new Float32Array([3]) });
  // @ts-expect-error: the type already refuses a disparity map
  assert.throws(() => unprojectDepth(disparity, K), (error: unknown) =>
    error instanceof InputError && /disparity/.test(error.message) && /--align/.test(error.message) && /metric depth model/.test(error.message));
});

test('intrinsics for another size are refused; scaleIntrinsics keeps each pixel centre on its ray', () => {
  const K = createIntrinsics({ fxPx: 500, fyPx: 400, cxPx: 319.5, cyPx: 239.5, width: 640, height: 480 });
  assert.throws(() => unprojectDepth(metric(320, 240, new Array(320 * 240).fill(1)), K), /640x480 .* 320x240; scale them with scaleIntrinsics/);
  const half = scaleIntrinsics(K, 320, 240);
  assert.deepEqual([half.fxPx, half.fyPx, half.cxPx, half.cyPx, half.width, half.height], [250, 200, 159.5, 119.5, 320, 240]);
  // Small pixel (u', v') covers big pixels around u = (u' + 0.5) * 2 - 0.5: same ray direction in both cameras.
  const odd = scaleIntrinsics(createIntrinsics({ fxPx: 300, fyPx: 310, cxPx: 301.25, cyPx: 222.75, width: 600, height: 450 }), 200, 150);
  for (const [us, vs] of [[0, 0], [57, 101], [199, 149]] as const) {
    const u = (us + 0.5) * 3 - 0.5, v = (vs + 0.5) * 3 - 0.5;
    assert.ok(Math.abs((us - odd.cxPx) / odd.fxPx - (u - 301.25) / 300) < 1e-12);
    assert.ok(Math.abs((vs - odd.cyPx) / odd.fyPx - (v - 222.75) / 310) < 1e-12);
  }
});

test('projectPoint: behind or on the camera plane is undefined', () => {
  assert.equal(projectPoint(NYU_K, 1, 1, 0), undefined);
  assert.equal(projectPoint(NYU_K, 1, 1, -2), undefined);
  assert.equal(projectPoint(NYU_K, 1, 1, NaN), undefined);
  assert.deepEqual(projectPoint(NYU_K, 0, 0, 5), { u: 325.58245, v: 253.73617 });
});

test('pointMapToCloud: skips NaN, takes colours from RGB, grey, RGBA and float images, honours stride', () => {
  const points = new Float32Array(3 * 2 * 3).map((_, i) => i);
  points[3] = NaN; // pixel (1, 0) invalid
  const map = createPointMap({ width: 3, height: 2, frame: 'camera', points });
  const rgb = createImage({ width: 3, height: 2, channels: 3, data: Uint8Array.from({ length: 18 }, (_, i) => 100 + i) });
  const cloud = pointMapToCloud(map, rgb);
  assert.equal(cloud.numPoints, 5);
  assert.deepEqual([...cloud.positions.subarray(0, 6)], [0, 1, 2, 6, 7, 8]);
  assert.deepEqual([...cloud.colors!.subarray(0, 6)], [100, 101, 102, 106, 107, 108]);
  assert.equal(cloud.frame, 'camera');

  const grey = createImage({ width: 3, height: 2, channels: 1, data: Uint8Array.from([9, 8, 7, 6, 5, 4]) });
  assert.deepEqual([...pointMapToCloud(map, grey).colors!.subarray(0, 6)], [9, 9, 9, 7, 7, 7]);
  const rgba = createImage({ width: 3, height: 2, channels: 4, data: Uint8Array.from({ length: 24 }, (_, i) => i) });
  assert.deepEqual([...pointMapToCloud(map, rgba).colors!.subarray(0, 3)], [0, 1, 2]);
  const float = createImage({ width: 3, height: 2, channels: 3, data: new Float32Array(18).fill(0.5) });
  assert.equal(pointMapToCloud(map, float).colors![0], 128);
  assert.equal(pointMapToCloud(map).colors, undefined);

  // Stride 2 keeps pixels (0,0) and (2,0) of row 0 only.
  const strided = pointMapToCloud(map, undefined, { stride: 2 });
  assert.deepEqual([...strided.positions], [0, 1, 2, 6, 7, 8]);
  assert.throws(() => pointMapToCloud(map, undefined, { stride: 0 }), InputError);
  const wrong = createImage({ width: 2, height: 2, channels: 3, data: new Uint8Array(12) });
  assert.throws(() => pointMapToCloud(map, wrong), /2x2 but the point map is 3x2/);
});

test('pointMapToCloud: maxPoints thins evenly and deterministically', () => {
  const n = 1000;
  const points = Float32Array.from({ length: n * 3 }, (_, i) => Math.floor(i / 3));
  const map = createPointMap({ width: 100, height: 10, frame: 'world', points });
  const cloud = pointMapToCloud(map, undefined, { maxPoints: 300 });
  assert.equal(cloud.numPoints, 300);
  const ids = Array.from({ length: 300 }, (_, k) => cloud.positions[k * 3]!);
  assert.deepEqual(ids, Array.from({ length: 300 }, (_, k) => Math.floor((k * 1000) / 300)));
  assert.deepEqual(pointMapToCloud(map, undefined, { maxPoints: 300 }).positions, cloud.positions);
  assert.equal(pointMapToCloud(map, undefined, { maxPoints: 5000 }).numPoints, 1000);
  assert.equal(cloud.frame, 'world');
});
