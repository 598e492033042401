import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCamera, createIntrinsics } from '../core/camera.ts';
import { createDepth, type MetricDepthMap } from '../core/depth.ts';
import { InputError } from '../core/errors.ts';
import { createImage } from '../core/image.ts';
import { fromRotationTranslation } from '../core/mat4.ts';
import { rotationFromQuaternion } from '../core/quaternion.ts';
import { DEFAULT_FOOTPRINT_FACTOR, DEFAULT_THIN_RATIO, gaussiansFromDepth } from './from-depth.ts';

const W = 40, H = 30, F = 50;
const K = createIntrinsics({ fxPx: F, fyPx: F, cxPx: 19.5, cyPx: 14.5, width: W, height: H });
const IDENTITY = createCamera(K);

function depthOf(fn: (u: number, v: number) => number, width = W, height = H, confidence?: Float32Array): MetricDepthMap {
  const data = new Float32Array(width * height);
  for (let v = 0; v < height; v++) for (let u = 0; u < width; u++) data[v * width + u] = fn(u, v);
  return createDepth({ kind: 'metricDepth', width, height, data, ...(confidence ? { confidence } : {}) });
}

function imageOf(width = W, height = H) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) { data[i * 3] = i % 256; data[i * 3 + 1] = (i * 7) % 256; data[i * 3 + 2] = 200; }
  return createImage({ width, height, channels: 3, data });
}

/** Local axis `axis` (0 x, 1 y, 2 z) of Gaussian i in the set's frame, via core's quaternion -> matrix. */
function localAxis(rotations: Float32Array, i: number, axis: number): number[] {
  const r = rotationFromQuaternion(rotations.subarray(i * 4, i * 4 + 4));
  return [r[axis]!, r[3 + axis]!, r[6 + axis]!];
}

test('a fronto-parallel plane gives camera-facing normals, in-plane std z*factor/f, thin axis 0.1 of it, pixel colours', () => {
  const z = 3;
  const image = imageOf();
  const { gaussians: g, pixelIndices, stats } = gaussiansFromDepth(depthOf(() => z), IDENTITY, image);
  assert.equal(g.count, W * H);
  assert.equal(stats.edgePixels, 0);
  const inPlane = (z * DEFAULT_FOOTPRINT_FACTOR) / F;
  for (let i = 0; i < g.count; i++) {
    const p = pixelIndices[i]!, u = p % W, v = Math.floor(p / W);
    assert.ok(Math.abs(g.positions[i * 3]! - ((u - 19.5) / F) * z) < 1e-6);
    assert.ok(Math.abs(g.positions[i * 3 + 1]! - ((v - 14.5) / F) * z) < 1e-6);
    assert.equal(g.positions[i * 3 + 2], z);
    assert.ok(Math.abs(g.scales[i * 3]! - inPlane) < 1e-7 && Math.abs(g.scales[i * 3 + 1]! - inPlane) < 1e-7);
    assert.ok(Math.abs(g.scales[i * 3 + 2]! - inPlane * DEFAULT_THIN_RATIO) < 1e-7);
    const q = g.rotations.subarray(i * 4, i * 4 + 4);
    assert.ok(Math.abs(Math.hypot(...q) - 1) < 1e-6);
    const n = localAxis(g.rotations, i, 2);
    assert.ok(Math.abs(n[0]!) < 1e-6 && Math.abs(n[1]!) < 1e-6 && Math.abs(n[2]! + 1) < 1e-6, `normal ${n}`);
    assert.equal(g.opacities[i], 1);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(g.colors[i * 3 + c]! - image.data[p * 3 + c]! / 255) < 1e-7);
  }
});

test('a tilted plane: every normal equals the analytic plane normal to 1e-3, holes included', () => {
  // Plane n . X = n . X0 through X0 = (0, 0, 2); depth along the ray r = ((u-cx)/f, (v-cy)/f, 1) is (n.X0)/(n.r).
  const len = Math.hypot(0.3, -0.2, -1);
  const n = [0.3 / len, -0.2 / len, -1 / len];
  const nx0 = n[2]! * 2;
  const depth = depthOf((u, v) => (u === 10 && v === 10) || v === 20 ? NaN : nx0 / (n[0]! * (u - 19.5) / F + n[1]! * (v - 14.5) / F + n[2]!));
  const { gaussians: g, stats } = gaussiansFromDepth(depth, IDENTITY, imageOf());
  assert.equal(g.count, W * H - 1 - W);
  assert.equal(stats.edgePixels, 0);
  for (let i = 0; i < g.count; i++) {
    const axis = localAxis(g.rotations, i, 2);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(axis[c]! - n[c]!) < 1e-3, `Gaussian ${i}: ${axis} vs ${n}`);
    // Centres lie on the plane.
    const d = n[0]! * g.positions[i * 3]! + n[1]! * g.positions[i * 3 + 1]! + n[2]! * g.positions[i * 3 + 2]!;
    assert.ok(Math.abs(d - nx0) < 1e-5);
  }
});

test('a depth step: the two columns at the edge are dropped, every centre lies on one side, none spans the edge', () => {
  const depth = depthOf((u) => (u < 20 ? 1 : 2));
  const { gaussians: g, pixelIndices, stats } = gaussiansFromDepth(depth, IDENTITY, imageOf());
  assert.equal(stats.edgePixels, 2 * H);
  assert.equal(g.count, W * H - 2 * H);
  for (let i = 0; i < g.count; i++) {
    const u = pixelIndices[i]! % W;
    assert.ok(u !== 19 && u !== 20);
    assert.equal(g.positions[i * 3 + 2], u < 20 ? 1 : 2);
    // Facing the camera: no splat is stretched along z between the two depths.
    const axis = localAxis(g.rotations, i, 2);
    assert.ok(Math.abs(axis[2]! + 1) < 1e-6);
  }
  // A 4 % step is below the default 5 % threshold and is kept; a 4 % threshold drops it.
  assert.equal(gaussiansFromDepth(depthOf((u) => (u < 20 ? 1 : 1.04)), IDENTITY, imageOf()).gaussians.count, W * H);
  assert.equal(gaussiansFromDepth(depthOf((u) => (u < 20 ? 1 : 1.04)), IDENTITY, imageOf(), { edgeThreshold: 0.03 }).gaussians.count, W * H - 2 * H);
});

test('a moved camera moves centres and rotations exactly by worldFromCamera', () => {
  const depth = depthOf((u, v) => 2 + 0.01 * u + 0.02 * v);
  const local = gaussiansFromDepth(depth, IDENTITY, imageOf()).gaussians;
  const c = Math.cos(0.7), s = Math.sin(0.7);
  const r = [c, 0, s, 0, 1, 0, -s, 0, c]; // about y
  const t = [1.5, -2, 0.25];
  const world = gaussiansFromDepth(depth, createCamera(K, fromRotationTranslation(r, t)), imageOf()).gaussians;
  assert.equal(world.count, local.count);
  for (let i = 0; i < local.count; i++) {
    const p = [local.positions[i * 3]!, local.positions[i * 3 + 1]!, local.positions[i * 3 + 2]!];
    for (let a = 0; a < 3; a++) {
      const expected = r[a * 3]! * p[0]! + r[a * 3 + 1]! * p[1]! + r[a * 3 + 2]! * p[2]! + t[a]!;
      assert.ok(Math.abs(world.positions[i * 3 + a]! - expected) < 1e-5);
    }
    const rl = rotationFromQuaternion(local.rotations.subarray(i * 4, i * 4 + 4));
    const rw = rotationFromQuaternion(world.rotations.subarray(i * 4, i * 4 + 4));
    for (let row = 0; row < 3; row++) {
      for (let col = 0; col < 3; col++) {
        let e = 0;
        for (let k = 0; k < 3; k++) e += r[row * 3 + k]! * rl[k * 3 + col]!;
        assert.ok(Math.abs(rw[row * 3 + col]! - e) < 1e-5);
      }
    }
    for (let a = 0; a < 3; a++) assert.equal(world.scales[i * 3 + a], local.scales[i * 3 + a]);
  }
});

test('stride samples every k-th pixel and grows the scales; the cap thins evenly and deterministically', () => {
  const z = 2;
  const strided = gaussiansFromDepth(depthOf(() => z), IDENTITY, imageOf(), { stride: 3 });
  assert.equal(strided.gaussians.count, Math.ceil(W / 3) * Math.ceil(H / 3));
  assert.ok(Math.abs(strided.gaussians.scales[0]! - (3 * z * DEFAULT_FOOTPRINT_FACTOR) / F) < 1e-7);
  for (const p of strided.pixelIndices) assert.ok((p % W) % 3 === 0 && Math.floor(p / W) % 3 === 0);

  const capped = gaussiansFromDepth(depthOf(() => z), IDENTITY, imageOf(), { maxGaussians: 300 });
  assert.equal(capped.gaussians.count, 300);
  assert.deepEqual(capped.pixelIndices, Int32Array.from({ length: 300 }, (_, k) => k * 4));
  assert.ok(Math.abs(capped.gaussians.scales[0]! - (2 * z * DEFAULT_FOOTPRINT_FACTOR) / F) < 1e-6);
  assert.deepEqual(gaussiansFromDepth(depthOf(() => z), IDENTITY, imageOf(), { maxGaussians: 300 }).gaussians.positions, capped.gaussians.positions);
});

test('confidence scales opacity linearly between low and high; below minOpacity the Gaussian is dropped', () => {
  const confidence = new Float32Array(W * H);
  for (let i = 0; i < W * H; i++) confidence[i] = (i % 10) / 4; // 0, 0.25, ..., 2.25
  const depth = depthOf(() => 2, W, H, confidence);
  const { gaussians: g, pixelIndices } = gaussiansFromDepth(depth, IDENTITY, imageOf(), { confidenceRange: { low: 0.5, high: 1.5 }, minOpacity: 0.2 });
  for (let i = 0; i < g.count; i++) {
    const expected = Math.min(1, Math.max(0, (confidence[pixelIndices[i]!]! - 0.5) / 1));
    assert.ok(Math.abs(g.opacities[i]! - expected) < 1e-6);
    assert.ok(expected >= 0.2);
  }
  // Kept: (i % 10) / 4 >= 0.7, i.e. i % 10 >= 3: 7 of every 10 pixels.
  assert.equal(g.count, (W * H * 7) / 10);
  // Default range: 0..90th percentile, so the most confident tenth and more reach opacity 1.
  const auto = gaussiansFromDepth(depth, IDENTITY, imageOf());
  assert.equal(Math.max(...auto.gaussians.opacities), 1);
});

test('bad input: disparity, size mismatches, all-NaN, all non-positive, empty', () => {
  const disparity = createDepth({ kind: 'disparity', width: W, height: H, data: new Float32Array(W * H).fill(1) });
  assert.throws(() => gaussiansFromDepth(disparity as never, IDENTITY, imageOf()), (e: unknown) => e instanceof InputError && /disparity.*convert/i.test(e.message));
  assert.throws(() => gaussiansFromDepth(depthOf(() => 1), IDENTITY, imageOf(20, 30)), (e: unknown) => e instanceof InputError && /20x30.*40x30/.test(e.message));
  const small = createCamera(createIntrinsics({ ...K, width: 20, height: 15 }));
  assert.throws(() => gaussiansFromDepth(depthOf(() => 1), small, imageOf()), (e: unknown) => e instanceof InputError && /scaleIntrinsics/.test(e.message));
  assert.throws(() => gaussiansFromDepth(depthOf(() => NaN), IDENTITY, imageOf()), (e: unknown) => e instanceof InputError && /invalid \(NaN/.test(e.message));
  assert.throws(() => gaussiansFromDepth(depthOf(() => -2), IDENTITY, imageOf()), (e: unknown) => e instanceof InputError && /behind the camera/.test(e.message));
  const empty = { kind: 'metricDepth', width: 0, height: 0, data: new Float32Array(0) } as const;
  const k0 = { ...K, width: 0, height: 0 };
  assert.throws(() => gaussiansFromDepth(empty, { intrinsics: k0, worldFromCamera: IDENTITY.worldFromCamera },
    { width: 0, height: 0, channels: 3, colorSpace: 'srgb', data: new Uint8Array(0) }), (e: unknown) => e instanceof InputError && /empty/.test(e.message));
  assert.throws(() => gaussiansFromDepth(depthOf(() => 1), IDENTITY, imageOf(), { stride: 0 }), InputError);
  // NaN pixels are simply invalid: one NaN among valid depths drops that pixel only.
  assert.equal(gaussiansFromDepth(depthOf((u, v) => (u === 5 && v === 5 ? NaN : 1)), IDENTITY, imageOf()).gaussians.count, W * H - 1);
});
