import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCamera, createIntrinsics } from '../core/camera.ts';
import { createDepth } from '../core/depth.ts';
import { createImage } from '../core/image.ts';
import { fromRotationTranslation } from '../core/mat4.ts';
import { covisibilityMask, halveFrame, parseTumPose, type RgbdFrame } from './novel-view.ts';

/** A fronto-parallel plane at depth z with a NaN hole, seen by a camera at x = tx. */
function planeFrame(tx: number, z: number): RgbdFrame {
  const intrinsics = createIntrinsics({ fxPx: 40, fyPx: 40, cxPx: 15.5, cyPx: 11.5, width: 32, height: 24 });
  const data = new Float32Array(32 * 24).fill(z);
  data[5 * 32 + 5] = NaN;
  return {
    id: `x${tx}`, image: createImage({ width: 32, height: 24, channels: 3, data: new Uint8Array(32 * 24 * 3).fill(100) }),
    depth: createDepth({ kind: 'metricDepth', width: 32, height: 24, data }),
    camera: createCamera(intrinsics, fromRotationTranslation([1, 0, 0, 0, 1, 0, 0, 0, 1], [tx, 0, 0])),
  };
}

test('covisibility: a frame sees all its valid pixels; a camera shifted by 0.5 m at 2 m (10 px) loses exactly 10 columns', () => {
  const a = planeFrame(0, 2);
  const self = covisibilityMask(a, [a]);
  assert.equal(self.reduce((s, v) => s + v, 0), 32 * 24 - 1);
  const shifted = covisibilityMask(a, [planeFrame(0.5, 2)]);
  // Target pixel x sees world X = (x - 15.5) * 2 / 40, which the shifted camera puts at x - 10: columns 10..31 stay.
  // Holes: the target's own NaN at (5, 5), and (15, 5), which lands on the source's NaN at (5, 5).
  const hole = (x: number, y: number): boolean => y === 5 && (x === 5 || x === 15);
  for (let y = 0; y < 24; y++) for (let x = 0; x < 32; x++) assert.equal(shifted[y * 32 + x], x >= 10 && !hole(x, y) ? 1 : 0, `${x},${y}`);
  // A source surface 10% off the target's depth is not the same surface.
  assert.equal(covisibilityMask(a, [planeFrame(0, 2.2)]).reduce((s, v) => s + v, 0), 0);
});

test('halveFrame keeps the geometry: a half-res pixel centre unprojects to the middle of its 2x2 block', () => {
  const half = halveFrame(planeFrame(0, 2));
  const k = half.camera.intrinsics;
  assert.equal(k.width, 16);
  // New pixel 3 covers old pixels 6 and 7: its ray hits old x = 6.5.
  assert.ok(Math.abs((3 - k.cxPx) / k.fxPx - (6.5 - 15.5) / 40) < 1e-12);
  assert.ok(Math.abs((3 - k.cyPx) / k.fyPx - (6.5 - 11.5) / 40) < 1e-12);
  // The NaN at old (5, 5) invalidates new (2, 2) only.
  assert.ok(Number.isNaN(half.depth!.data[2 * 16 + 2]!));
  assert.equal(half.depth!.data[2 * 16 + 3], 2);
});

test('parseTumPose: translation and quaternion (qx qy qz qw) as worldFromCamera', () => {
  const m = parseTumPose('1 2 3 0 0 0.7071067811865476 0.7071067811865476');
  // 90 degrees about z: x -> y.
  assert.ok(Math.abs(m[0]!) < 1e-12 && Math.abs(m[4]! - 1) < 1e-12 && Math.abs(m[1]! + 1) < 1e-12);
  assert.deepEqual([m[3], m[7], m[11]], [1, 2, 3]);
  assert.throws(() => parseTumPose('1 2 3'), /tx ty tz/);
});
