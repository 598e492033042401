import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  angleBetweenDeg, axisAngleFromRotation, det3, invert3, mul3, quaternionFromRotation, rotationAngleDeg,
  rotationFromAxisAngle, rotationFromQuaternion, transpose3, type Mat3,
} from './mat3.ts';
import { cameraCenter, composePoses, invertPose, poseFromMat4, poseToMat4, transformByPose } from './rigid.ts';
import { createRng } from './random.ts';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
};

test('Rodrigues: 90 degrees about z maps x to y, and round-trips through axis-angle and quaternions', () => {
  const rz = rotationFromAxisAngle([0, 0, Math.PI / 2]);
  close(rz, [0, -1, 0, 1, 0, 0, 0, 0, 1], 1e-15);
  const rng = createRng(7);
  for (let i = 0; i < 200; i++) {
    const angle = i === 0 ? Math.PI - 1e-9 : rng.next() * Math.PI;
    const axis = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()];
    const n = Math.hypot(...axis);
    const w = axis.map((v) => (v / n) * angle);
    const r = rotationFromAxisAngle(w);
    assert.ok(Math.abs(det3(r) - 1) < 1e-12);
    close(mul3(r, transpose3(r)), [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-12);
    close(rotationFromAxisAngle(axisAngleFromRotation(r)), r, 1e-9);
    close(rotationFromQuaternion(quaternionFromRotation(r)), r, 1e-12);
    assert.ok(Math.abs(rotationAngleDeg(r) - (angle * 180) / Math.PI) < 1e-6);
  }
});

test('quaternion convention is Hamilton (w, x, y, z), as COLMAP writes it', () => {
  // 90 degrees about z: q = (cos 45, 0, 0, sin 45).
  close(quaternionFromRotation(rotationFromAxisAngle([0, 0, Math.PI / 2])), [Math.SQRT1_2, 0, 0, Math.SQRT1_2], 1e-15);
});

test('invert3, angleBetweenDeg at tiny angles', () => {
  const a: Mat3 = Float64Array.of(2, 1, 0, 0, 3, 1, 1, 0, 4);
  close(mul3(a, invert3(a)), [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-15);
  assert.ok(Math.abs(angleBetweenDeg([1, 0, 0], [1, 1e-9, 0]) - (1e-9 * 180) / Math.PI) < 1e-18);
  assert.equal(angleBetweenDeg([1, 0, 0], [-1, 0, 0]), 180);
});

test('rigid poses: compose with inverse is identity; camera centre maps to the origin', () => {
  const pose = { rotation: rotationFromAxisAngle([0.3, -0.2, 0.9]), translation: Float64Array.of(1, -2, 3) };
  const ident = composePoses(pose, invertPose(pose));
  close(ident.rotation, [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-15);
  close(ident.translation, [0, 0, 0], 1e-15);
  close(transformByPose(pose, cameraCenter(pose)), [0, 0, 0], 1e-14);
  const back = poseFromMat4(poseToMat4(pose));
  close(back.rotation, pose.rotation, 0);
  close(back.translation, pose.translation, 0);
});
