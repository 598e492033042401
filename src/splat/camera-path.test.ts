import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIntrinsics, type Camera } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { invertRigid, transformPoint } from '../core/mat4.ts';
import { lookAt, orbitCameras } from './camera-path.ts';

const intrinsics = createIntrinsics({ fxPx: 400, fyPx: 410, cxPx: 319.5, cyPx: 239.5, width: 640, height: 480 });

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

/** Pixel of a world point, straight from the pinhole model. */
function projectPoint(camera: Camera, p: number[]): number[] {
  const c = new Float64Array(3);
  transformPoint(invertRigid(camera.worldFromCamera), p[0]!, p[1]!, p[2]!, c);
  const k = camera.intrinsics;
  return [k.fxPx * c[0]! / c[2]! + k.cxPx, k.fyPx * c[1]! / c[2]! + k.cyPx, c[2]!];
}

function rotationIsProper(m: Float64Array): void {
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      const dot = m[a]! * m[b]! + m[4 + a]! * m[4 + b]! + m[8 + a]! * m[8 + b]!;
      close(dot, a === b ? 1 : 0, 1e-12, `columns ${a}.${b}`);
    }
  }
  const det = m[0]! * (m[5]! * m[10]! - m[6]! * m[9]!) - m[1]! * (m[4]! * m[10]! - m[6]! * m[8]!) + m[2]! * (m[4]! * m[9]! - m[5]! * m[8]!);
  close(det, 1, 1e-12, 'det');
}

test('lookAt: looking along +z with up = -y is the identity rotation; the target is straight ahead and up is up in the image', () => {
  const pose = lookAt([1, 2, 3], [1, 2, 10], [0, -1, 0]);
  Array.from(pose).forEach((v, i) => close(v, [1, 0, 0, 1, 0, 1, 0, 2, 0, 0, 1, 3, 0, 0, 0, 1][i]!, 1e-15, `pose entry ${i}`));
  const eye = [2, -1, -4], target = [0.5, 0.3, 1];
  const camera = { intrinsics, worldFromCamera: lookAt(eye, target, [0, -1, 0]) };
  rotationIsProper(camera.worldFromCamera);
  const [u, v, z] = projectPoint(camera, target);
  close(u!, intrinsics.cxPx, 1e-9, 'u'); close(v!, intrinsics.cyPx, 1e-9, 'v'); assert.ok(z! > 0);
  // A point above the target (world -y) appears above the principal point (smaller v), with no sideways shift.
  const [uAbove, vAbove] = projectPoint(camera, [target[0]!, target[1]! - 0.5, target[2]!]);
  assert.ok(vAbove! < intrinsics.cyPx);
  assert.ok(Math.abs(uAbove! - intrinsics.cxPx) < Math.abs(vAbove! - intrinsics.cyPx));
  assert.throws(() => lookAt([0, 0, 0], [0, 0, 0]), InputError);
  assert.throws(() => lookAt([0, 0, 0], [0, 5, 0], [0, -1, 0]), InputError);
});

test('orbitCameras: evenly spaced on the circle, at the given elevation, every camera sees the centre at the principal point', () => {
  const center = [0.5, -0.2, 4], radius = 3, elevation = 0.3, count = 12;
  const cameras = orbitCameras(center, radius, elevation, count, intrinsics);
  assert.equal(cameras.length, count);
  const up = [0, -1, 0];
  const eyes = cameras.map((c) => [c.worldFromCamera[3]!, c.worldFromCamera[7]!, c.worldFromCamera[11]!]);
  for (const [k, camera] of cameras.entries()) {
    rotationIsProper(camera.worldFromCamera);
    const [u, v, z] = projectPoint(camera, center);
    close(u!, intrinsics.cxPx, 1e-9, `camera ${k} u`); close(v!, intrinsics.cyPx, 1e-9, `camera ${k} v`);
    close(z!, radius, 1e-12, `camera ${k} distance`);
    const offset = eyes[k]!.map((e, c) => e - center[c]!);
    close(offset.reduce((s, o, c) => s + o * up[c]!, 0), radius * Math.sin(elevation), 1e-12, `camera ${k} height above the centre`);
  }
  // Consecutive cameras are 2 pi / count apart in azimuth: equal chords 2 r cos(el) sin(pi / count), and each step
  // turns the same way (counter-clockwise about up: the signed angle atan2(up . (a x b), a . b) of the horizontal parts).
  const chord = 2 * radius * Math.cos(elevation) * Math.sin(Math.PI / count);
  for (let k = 0; k < count; k++) {
    const a = eyes[k]!, b = eyes[(k + 1) % count]!;
    close(Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!), chord, 1e-12, `chord ${k}`);
    const ax = a[0]! - center[0]!, az = a[2]! - center[2]!, bx = b[0]! - center[0]!, bz = b[2]! - center[2]!;
    // With up = (0, -1, 0): up . (a x b) = -(az bx - ax bz).
    close(Math.atan2(-(az * bx - ax * bz), ax * bx + az * bz), 2 * Math.PI / count, 1e-12, `azimuth step ${k}`);
  }
  // Elevation 0, default up: the first camera sits at centre - radius * z and looks along +z.
  const first = orbitCameras(center, radius, 0, 4, intrinsics)[0]!.worldFromCamera;
  Array.from(first).forEach((v, i) => close(v, [1, 0, 0, 0.5, 0, 1, 0, -0.2, 0, 0, 1, 1, 0, 0, 0, 1][i]!, 1e-12, `pose entry ${i}`));
  assert.throws(() => orbitCameras(center, 0, 0, 4, intrinsics), InputError);
  assert.throws(() => orbitCameras(center, 1, Math.PI / 2, 4, intrinsics), InputError);
  assert.throws(() => orbitCameras(center, 1, 0, 0, intrinsics), InputError);
});

test('orbitCameras around a custom up axis (+z) keeps every eye in the plane through the centre at that elevation', () => {
  const center = [0, 0, 0];
  const cameras = orbitCameras(center, 2, -0.2, 5, intrinsics, { up: [0, 0, 3], startAzimuthRad: 0.7 });
  for (const camera of cameras) {
    close(camera.worldFromCamera[11]!, 2 * Math.sin(-0.2), 1e-12, 'height along up');
    const [u, v] = projectPoint(camera, center);
    close(u!, intrinsics.cxPx, 1e-9, 'u'); close(v!, intrinsics.cyPx, 1e-9, 'v');
  }
});
