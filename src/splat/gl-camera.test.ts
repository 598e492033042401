import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCamera, createIntrinsics } from '../core/camera.ts';
import { invertRigid, transformPoint } from '../core/mat4.ts';
import { createRng } from '../geometry/random.ts';
import { lookAt } from './camera-path.ts';
import { glCameraMatrices } from './gl-camera.ts';

/** row-major 4x4 times (x, y, z, w). */
function apply(m: Float64Array, v: readonly number[]): number[] {
  return [0, 1, 2, 3].map((r) => m[r * 4]! * v[0]! + m[r * 4 + 1]! * v[1]! + m[r * 4 + 2]! * v[2]! + m[r * 4 + 3]! * v[3]!);
}

test('GL matrices put random world points at the OpenCV pinhole pixel (window coordinates, y flipped) and depth in -1..1', () => {
  const intrinsics = createIntrinsics({ fxPx: 180, fyPx: 170, cxPx: 70.3, cyPx: 52.8, width: 160, height: 120 });
  const camera = createCamera(intrinsics, lookAt([0.4, -0.3, -1.2], [0.1, 0.2, 3]));
  const near = 0.1;
  const far = 20;
  const gl = glCameraMatrices(camera, near, far);
  const glViewFromWorld = invertRigid(gl.worldFromCamera);
  const cvCameraFromWorld = invertRigid(camera.worldFromCamera);
  const rng = createRng(11);
  const cam = new Float64Array(3);
  for (let i = 0; i < 200; i++) {
    const world = [rng.next() * 4 - 2, rng.next() * 4 - 2, 1 + rng.next() * 5];
    transformPoint(cvCameraFromWorld, world[0]!, world[1]!, world[2]!, cam);
    if (cam[2]! < 0.5) continue;
    const u = (intrinsics.fxPx * cam[0]!) / cam[2]! + intrinsics.cxPx;
    const v = (intrinsics.fyPx * cam[1]!) / cam[2]! + intrinsics.cyPx;
    const clip = apply(gl.projection, apply(glViewFromWorld, [...world, 1]));
    const ndc = clip.map((c) => c / clip[3]!);
    // GL window coordinates: x_w = (ndc_x + 1) W / 2 spans the pixel edges 0..W, so pixel centre u sits at u + 0.5;
    // y_w counts from the bottom row.
    const xWindow = ((ndc[0]! + 1) * intrinsics.width) / 2;
    const yWindow = ((ndc[1]! + 1) * intrinsics.height) / 2;
    assert.ok(Math.abs(xWindow - (u + 0.5)) < 1e-9, `x: ${xWindow} vs ${u + 0.5}`);
    assert.ok(Math.abs(intrinsics.height - yWindow - (v + 0.5)) < 1e-9, `y: ${intrinsics.height - yWindow} vs ${v + 0.5}`);
    // The GL camera looks down -z, and clip w is the OpenCV depth.
    assert.ok(Math.abs(clip[3]! - cam[2]!) < 1e-9);
    // Standard GL depth: -1 at the near plane, 1 at the far plane, monotone in z.
    const expectedNdcZ = (far + near) / (far - near) - (2 * far * near) / ((far - near) * cam[2]!);
    assert.ok(Math.abs(ndc[2]! - expectedNdcZ) < 1e-9);
  }
});

test('GL camera frame: y and z axes flipped, same position; near/far validated', () => {
  const intrinsics = createIntrinsics({ fxPx: 100, fyPx: 100, cxPx: 49.5, cyPx: 39.5, width: 100, height: 80 });
  const camera = createCamera(intrinsics, lookAt([1, 2, 3], [0, 0, 0]));
  const { worldFromCamera } = glCameraMatrices(camera, 0.1, 10);
  for (let r = 0; r < 3; r++) {
    assert.equal(worldFromCamera[r * 4], camera.worldFromCamera[r * 4]);
    assert.equal(worldFromCamera[r * 4 + 1], -camera.worldFromCamera[r * 4 + 1]!);
    assert.equal(worldFromCamera[r * 4 + 2], -camera.worldFromCamera[r * 4 + 2]!);
    assert.equal(worldFromCamera[r * 4 + 3], camera.worldFromCamera[r * 4 + 3]);
  }
  // Centred principal point -> no off-axis terms.
  const { projection } = glCameraMatrices(camera, 0.1, 10);
  assert.equal(projection[2], 0);
  assert.equal(projection[6], 0);
  assert.throws(() => glCameraMatrices(camera, 0, 10), /near/);
  assert.throws(() => glCameraMatrices(camera, 1, 0.5), /near/);
});
