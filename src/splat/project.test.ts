import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCamera, createIntrinsics } from '../core/camera.ts';
import { fromRotationTranslation, identity4 } from '../core/mat4.ts';
import { rotationFromQuaternion } from '../core/quaternion.ts';
import { mul3, rotationFromAxisAngle, transpose3 } from '../geometry/mat3.ts';
import { createRng } from '../geometry/random.ts';
import {
  covarianceFromScaleRotation, frustumLimits, LOW_PASS_PX2, projectCovariance, projectGaussians, radiusFromCovariance2d, rotateCovariance,
  SPLAT, SPLAT_STRIDE, type ProjectedGaussians,
} from './project.ts';
import { gaussiansFromRows } from '../../test/helpers/gaussian-rows.ts';

/** A field of slot k's record. */
const field = (projected: ProjectedGaussians, k: number, name: keyof typeof SPLAT): number => projected.splats[k * SPLAT_STRIDE + SPLAT[name]]!;

const intrinsics = createIntrinsics({ fxPx: 50, fyPx: 60, cxPx: 31.5, cyPx: 23.5, width: 64, height: 48 });

function near(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

const gaussians = gaussiansFromRows;

test('covarianceFromScaleRotation equals R diag(s^2) R^T with R from core quaternion code, for unnormalised quaternions', () => {
  const rng = createRng(3);
  const out = new Float64Array(6);
  for (let trial = 0; trial < 50; trial++) {
    const q = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()].map((v) => v * 2);
    const s = [0.1 + rng.next(), 0.1 + rng.next(), 0.1 + rng.next()];
    covarianceFromScaleRotation(s[0]!, s[1]!, s[2]!, q[0]!, q[1]!, q[2]!, q[3]!, out);
    const r = rotationFromQuaternion(q);
    const d = Float64Array.of(s[0]! ** 2, 0, 0, 0, s[1]! ** 2, 0, 0, 0, s[2]! ** 2);
    const full = mul3(mul3(r, d), transpose3(r));
    const upper = [full[0]!, full[1]!, full[2]!, full[4]!, full[5]!, full[8]!];
    upper.forEach((v, k) => near(out[k]!, v, 1e-12, `entry ${k}`));
  }
});

test('a 90 degree turn about z swaps the x and y variances (closed form)', () => {
  const out = new Float64Array(6);
  const h = Math.SQRT1_2;
  covarianceFromScaleRotation(2, 0.5, 0.1, h, 0, 0, h, out);
  [0.25, 0, 0, 4, 0, 0.01].forEach((v, k) => near(out[k]!, v, 1e-12, `entry ${k}`));
});

test('rotateCovariance is W C W^T', () => {
  const w = rotationFromAxisAngle([0.3, -0.5, 0.8]);
  const view = fromRotationTranslation(w, [1, 2, 3]);
  const c = Float64Array.of(2, 0.3, -0.1, 0.3, 1, 0.2, -0.1, 0.2, 0.5);
  const expected = mul3(mul3(w, c), transpose3(w));
  const out = new Float64Array(6);
  rotateCovariance(view, [2, 0.3, -0.1, 1, 0.2, 0.5], 0, out);
  [expected[0]!, expected[1]!, expected[2]!, expected[4]!, expected[5]!, expected[8]!].forEach((v, k) => near(out[k]!, v, 1e-12, `entry ${k}`));
});

test('projectCovariance matches J C J^T with J from central finite differences of the pinhole map (inside the clamp)', () => {
  const limits = frustumLimits(intrinsics);
  const cov = [0.04, 0.01, -0.005, 0.02, 0.003, 0.03];
  const full = [[cov[0]!, cov[1]!, cov[2]!], [cov[1]!, cov[3]!, cov[4]!], [cov[2]!, cov[4]!, cov[5]!]];
  const project = (p: number[]): number[] => [intrinsics.fxPx * p[0]! / p[2]! + intrinsics.cxPx, intrinsics.fyPx * p[1]! / p[2]! + intrinsics.cyPx];
  for (const t of [[0.3, -0.2, 2], [-0.8, 0.5, 3], [0, 0, 1]]) {
    const h = 1e-6;
    const jac = [0, 1].map((row) => [0, 1, 2].map((col) => {
      const plus = [...t], minus = [...t];
      plus[col]! += h; minus[col]! -= h;
      return (project(plus)[row]! - project(minus)[row]!) / (2 * h);
    }));
    const jc = jac.map((row) => [0, 1, 2].map((c) => row[0]! * full[0]![c]! + row[1]! * full[1]![c]! + row[2]! * full[2]![c]!));
    const expected = [
      jc[0]![0]! * jac[0]![0]! + jc[0]![1]! * jac[0]![1]! + jc[0]![2]! * jac[0]![2]!,
      jc[0]![0]! * jac[1]![0]! + jc[0]![1]! * jac[1]![1]! + jc[0]![2]! * jac[1]![2]!,
      jc[1]![0]! * jac[1]![0]! + jc[1]![1]! * jac[1]![1]! + jc[1]![2]! * jac[1]![2]!,
    ];
    const out = new Float64Array(3);
    projectCovariance(cov, 0, t[0]!, t[1]!, t[2]!, intrinsics, limits, out);
    expected.forEach((v, k) => near(out[k]!, v, 1e-6, `t=${t} entry ${k}`));
  }
});

test('frustum limits are 1.3 x tan-half-fov for a centred principal point, and the Jacobian is clamped to them', () => {
  const centred = createIntrinsics({ fxPx: 100, fyPx: 80, cxPx: 49.5, cyPx: 29.5, width: 100, height: 60 });
  const limits = frustumLimits(centred);
  near(limits.xPos, 1.3 * 50 / 100, 1e-12); near(limits.xNeg, 1.3 * 50 / 100, 1e-12);
  near(limits.yPos, 1.3 * 30 / 80, 1e-12); near(limits.yNeg, 1.3 * 30 / 80, 1e-12);
  // Isotropic C = s^2 I at x/z = 2 (beyond 0.65) and y/z = -1 (beyond -0.4875): J J^T with u, v at the limits.
  const s2 = 0.01, z = 4;
  const out = new Float64Array(3);
  projectCovariance([s2, 0, 0, s2, 0, s2], 0, 2 * z, -1 * z, z, centred, limits, out);
  const u = 0.65, v = -0.4875;
  near(out[0]!, (100 / z) ** 2 * s2 * (1 + u * u), 1e-12, 'a');
  near(out[1]!, (100 * 80 / (z * z)) * s2 * u * v, 1e-12, 'b');
  near(out[2]!, (80 / z) ** 2 * s2 * (1 + v * v), 1e-12, 'c');
});

test('projectGaussians: an isotropic Gaussian on the axis gets sigma = f s / z plus the low-pass, its mean at the principal point', () => {
  const s = 0.0625, z = 2; // exact in float32
  const set = gaussians([{ p: [0, 0, z], s: [s, s, s], c: [0.2, 1.7, -0.4], o: 0.8 }]);
  const projected = projectGaussians(set, createCamera(intrinsics));
  assert.deepEqual(Array.from(projected.ids), [0]);
  near(field(projected, 0, 'meanX'), 31.5, 1e-12); near(field(projected, 0, 'meanY'), 23.5, 1e-12);
  const varX = (50 * s / z) ** 2 + LOW_PASS_PX2, varY = (60 * s / z) ** 2 + LOW_PASS_PX2;
  near(field(projected, 0, 'conicA'), 1 / varX, 1e-9, 'conic a');
  near(field(projected, 0, 'conicB'), 0, 1e-12, 'conic b');
  near(field(projected, 0, 'conicC'), 1 / varY, 1e-9, 'conic c');
  near(projected.depth[0]!, z, 1e-7);
  assert.equal(field(projected, 0, 'label'), 0xffff);
  // 3DGS radius: ceil(3 sqrt(lambda_max)), lambda_max = mid + sqrt(max(0.1, mid^2 - det)).
  const mid = (varX + varY) / 2;
  assert.equal(field(projected, 0, 'radius'), Math.ceil(3 * Math.sqrt(mid + Math.sqrt(Math.max(0.1, ((varX - varY) / 2) ** 2)))));
  assert.deepEqual([field(projected, 0, 'red'), field(projected, 0, 'green'), field(projected, 0, 'blue')], [Math.fround(0.2), 1, 0]);
});

test('projectGaussians uses the camera pose: a point placed on a moved camera\'s ray lands on the chosen pixel', () => {
  const r = rotationFromAxisAngle([0.2, -0.4, 0.1]);
  const eye = [1, -2, 0.5];
  const worldFromCamera = fromRotationTranslation(r, eye);
  // Camera-frame point for pixel (10, 40) at depth 3, mapped to the world.
  const pc = [(10 - 31.5) / 50 * 3, (40 - 23.5) / 60 * 3, 3];
  const pw = [0, 1, 2].map((k) => r[k * 3]! * pc[0]! + r[k * 3 + 1]! * pc[1]! + r[k * 3 + 2]! * pc[2]! + eye[k]!);
  const projected = projectGaussians(gaussians([{ p: pw, s: [0.01, 0.01, 0.01] }]), createCamera(intrinsics, worldFromCamera));
  near(field(projected, 0, 'meanX'), 10, 1e-5); near(field(projected, 0, 'meanY'), 40, 1e-5); near(projected.depth[0]!, 3, 1e-6);
});

test('projectGaussians culls near/behind, off-image, degenerate and transparent Gaussians, and keeps a big off-image one that reaches in', () => {
  const set = gaussians([
    { p: [0, 0, 0.01], s: [0.1, 0.1, 0.1] },          // 0: at the near plane (z <= near)
    { p: [0, 0, -2], s: [5, 5, 5] },                  // 1: behind
    { p: [0, 0, 0.0101], s: [0.001, 0.001, 0.001] }, // 2: just past near, kept
    { p: [3, 0, 2], s: [0.01, 0.01, 0.01] },          // 3: far right of the image, tiny
    { p: [3, 0, 2], s: [1, 1, 1] },                    // 4: same centre, but its 3-sigma box reaches the image
    { p: [0, 0, 2], s: [NaN, 0.1, 0.1] },              // 5: degenerate
    { p: [0, 0, 2], s: [0.1, 0.1, 0.1], o: 0.003 },    // 6: below 1/255 opacity
  ]);
  const projected = projectGaussians(set, createCamera(intrinsics, identity4()));
  assert.deepEqual(Array.from(projected.ids), [2, 4]);
  assert.deepEqual(projected.culled, { near: 2, outside: 1, degenerate: 1, transparent: 1 });
  assert.equal(projected.boxes[4 * 1 + 1], 63); // slot 1 is Gaussian 4: its box is clipped at the right edge
  const nearer = projectGaussians(set, createCamera(intrinsics), { near: 0.001 });
  assert.deepEqual(Array.from(nearer.ids), [0, 2, 4]);
});

test('radiusFromCovariance2d: elongated covariance uses the largest eigenvalue', () => {
  // [[5, 2], [2, 2]] has eigenvalues 6 and 1.
  assert.equal(radiusFromCovariance2d(5, 2, 2), Math.ceil(3 * Math.sqrt(6)));
});
