import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../core/errors.ts';
import { fromRotationTranslation, type Mat4 } from '../core/mat4.ts';
import { identity3, mul3, mulVec3, rotationFromAxisAngle, transpose3, type Mat3 } from '../geometry/mat3.ts';
import { alignedPoseErrors, pairwiseAuc, poseAucSuperGlue, relativePoseErrorDeg, rotationDifferenceDeg } from './pose-metrics.ts';

const DEG = Math.PI / 180;
const v3 = (x: number, y: number, z: number): Float64Array => Float64Array.of(x, y, z);
const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** Cameras on a circle of radius 4 looking at the origin (OpenCV axes), each a worldFromCamera. */
function ring(n: number): Mat4[] {
  return Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    const c = [4 * Math.cos(a), 0.5 * Math.sin(3 * a), 4 * Math.sin(a)];
    const z = c.map((v) => -v / Math.hypot(...c));
    const x = [-z[2]!, 0, z[0]!].map((v, _k, arr) => v / Math.hypot(...arr));
    const y = [z[1]! * x[2]! - z[2]! * x[1]!, z[2]! * x[0]! - z[0]! * x[2]!, z[0]! * x[1]! - z[1]! * x[0]!];
    return fromRotationTranslation([x[0]!, y[0]!, z[0]!, x[1]!, y[1]!, z[1]!, x[2]!, y[2]!, z[2]!], c);
  });
}

/** x -> s Q x + o applied to every pose (a change of world frame and unit). */
function similarity(poses: readonly Mat4[], s: number, q: Mat3, o: readonly number[]): Mat4[] {
  return poses.map((m) => {
    const r = mul3(q, Float64Array.of(m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!));
    const c = mulVec3(q, [m[3]!, m[7]!, m[11]!]);
    return fromRotationTranslation(r, [s * c[0]! + o[0]!, s * c[1]! + o[1]!, s * c[2]! + o[2]!]);
  });
}

test('relativePoseErrorDeg: closed forms, the sign fold, and undefined directions as failures', () => {
  const rz10 = rotationFromAxisAngle([0, 0, 10 * DEG]);
  const e = relativePoseErrorDeg(identity3(), v3(1, 0, 0), rz10, v3(0, 2, 0));
  close(e.rotationDeg, 10, 1e-12, 'rotation');
  close(e.translationDeg, 90, 1e-12, 'translation');
  assert.equal(e.poseDeg, e.translationDeg);
  assert.equal(relativePoseErrorDeg(identity3(), v3(1, 0, 0), identity3(), v3(-3, 0, 0)).translationDeg, 0);
  close(relativePoseErrorDeg(identity3(), v3(1, 0, 0), identity3(), v3(-1, Math.tan(20 * DEG), 0)).translationDeg, 20, 1e-12, 'folded 160 -> 20');
  assert.equal(relativePoseErrorDeg(identity3(), v3(1, 0, 0), identity3(), v3(0, 0, 0)).poseDeg, Infinity);
  assert.equal(relativePoseErrorDeg(identity3(), v3(1, 0, 0), identity3(), v3(Number.NaN, 0, 0)).poseDeg, Infinity);
  // Small angles stay accurate (acos of the trace would give about 1e-6 degrees of noise here).
  close(rotationDifferenceDeg(identity3(), rotationFromAxisAngle([1e-9, 0, 0])), 1e-9 / DEG, 1e-20, 'tiny rotation');
  close(rotationDifferenceDeg(identity3(), rotationFromAxisAngle([0, 179 * DEG, 0])), 179, 1e-9, 'near 180');
});

test('poseAucSuperGlue: closed forms', () => {
  assert.deepEqual(poseAucSuperGlue([0, 0, 0]), [1, 1, 1]);
  assert.deepEqual(poseAucSuperGlue([Infinity, Number.NaN]), [0, 0, 0]);
  // One error of 2.5: curve (0,0) -> (2.5,1) -> (5,1): area 1.25 + 2.5 = 3.75 of 5.
  assert.deepEqual(poseAucSuperGlue([2.5], [5, 10]), [0.75, 0.875]);
  // Half the pairs fail: the AUC halves.
  assert.deepEqual(poseAucSuperGlue([2.5, Infinity], [5]), [0.375]);
  // An error equal to the threshold is not below it.
  assert.deepEqual(poseAucSuperGlue([5], [5]), [0]);
  assert.throws(() => poseAucSuperGlue([]), InputError);
  assert.throws(() => poseAucSuperGlue([1], [0]), InputError);
});

test('pairwiseAuc: identical (or similar) poses give 100, failures 0, a known error its AUC', () => {
  const gt = ring(6);
  const moved = similarity(gt, 2.5, rotationFromAxisAngle([0.3, -1, 2]), [10, -4, 1]);
  for (const est of [gt, moved]) {
    const r = pairwiseAuc(gt, est);
    assert.equal(r.pairs.length, 15);
    close(r.aucPercent[3]!, 100, 1e-12, 'AUC@3');
    close(r.aucPercent[30]!, 100, 1e-12, 'AUC@30');
    assert.ok(r.pairs.every((p) => p.errorDeg < 1e-6));
  }
  const none = pairwiseAuc(gt, gt.map(() => null));
  assert.deepEqual([none.aucPercent[3], none.aucPercent[30]], [0, 0]);
  // One of 3 views unregistered: 1 pair of 3 is right.
  const some = pairwiseAuc(gt.slice(0, 3), [gt[0]!, null, gt[2]!]);
  assert.deepEqual(some.pairs.map((p) => [p.i, p.j, p.errorDeg === Infinity]), [[0, 1, true], [0, 2, false], [1, 2, true]]);
  close(some.aucPercent[30]!, 100 / 3, 1e-9, 'one good pair of three');
  // Two cameras on the x axis; the estimate turns camera 1 by 2.5 degrees about the baseline, which leaves the
  // translation direction alone: every k >= 3 counts, so AUC@3 = 1/3 and AUC@30 = 28/30.
  const pair = [fromRotationTranslation(identity3(), [0, 0, 0]), fromRotationTranslation(identity3(), [1, 0, 0])];
  const turned = [pair[0]!, fromRotationTranslation(rotationFromAxisAngle([2.5 * DEG, 0, 0]), [1, 0, 0])];
  const known = pairwiseAuc(pair, turned);
  close(known.pairs[0]!.rotationDeg, 2.5, 1e-12, 'rotation');
  close(known.pairs[0]!.translationDeg, 0, 1e-12, 'translation');
  close(known.aucPercent[3]!, 100 / 3, 1e-12, 'AUC@3');
  close(known.aucPercent[30]!, (100 * 28) / 30, 1e-12, 'AUC@30');
  assert.throws(() => pairwiseAuc(gt, gt.slice(1)), InputError);
  assert.throws(() => pairwiseAuc(gt, gt, [2.5]), InputError);
});

test('alignedPoseErrors: a similarity of the GT aligns to zero error and recovers the transform', () => {
  const gt = ring(8);
  const q = rotationFromAxisAngle([0.2, 0.5, -0.4]);
  const est = similarity(gt, 0.5, q, [3, 2, 1]);
  const r = alignedPoseErrors(gt, est)!;
  assert.equal(r.alignedOn, 'centres');
  assert.equal(r.numRegistered, 8);
  close(r.sim3.scale, 2, 1e-12, 'scale est -> gt');
  close(rotationDifferenceDeg(r.sim3.rotation, transpose3(q)), 0, 1e-6, 'rotation is Q^T');
  const expectedScale = gt.reduce((s, m) => s + Math.hypot(m[3]!, m[7]!, m[11]!), 0) / gt.length; // centroid is the origin
  close(r.sceneScale, expectedScale, 1e-12, 'scene scale');
  assert.ok(r.views.every((v) => v !== null && v.rotationDeg < 1e-6 && v.centreErrorPercent < 1e-9));
  // Unregistered views are null and left out of the statistics; a rigid fit (withScale false) of a scaled copy fails to zero the error.
  const partial = alignedPoseErrors(gt, est.map((m, i) => (i === 3 ? null : m)))!;
  assert.equal(partial.views[3], null);
  assert.equal(partial.numRegistered, 7);
  const rigid = alignedPoseErrors(gt, est, { withScale: false })!;
  assert.ok(rigid.rmseCentreErrorPercent > 10, `rigid fit of a half-size copy: ${rigid.rmseCentreErrorPercent}%`);
  assert.equal(alignedPoseErrors(gt, [est[0]!, est[1]!, null, null, null, null, null, null]), null);
});

test('alignedPoseErrors: one displaced camera stands out; collinear centres use the camera axes', () => {
  const gt = ring(10);
  const est = gt.map((m) => Float64Array.from(m));
  est[4]![3]! += 0.8;
  const r = alignedPoseErrors(gt, est)!;
  const worst = r.views.map((v) => v!.centreErrorPercent);
  assert.equal(worst.indexOf(Math.max(...worst)), 4);
  assert.ok(r.medianCentreErrorPercent < worst[4]! / 5);
  // A straight dolly: centres on a line, all cameras looking along +z with a little yaw.
  const line = Array.from({ length: 5 }, (_, i) => fromRotationTranslation(rotationFromAxisAngle([0, 0.05 * i, 0]), [0, 0, i]));
  const lineEst = similarity(line, 3, rotationFromAxisAngle([0, 0, 1.2]), [1, 1, 1]);
  const d = alignedPoseErrors(line, lineEst)!;
  assert.equal(d.alignedOn, 'centresAndAxes');
  close(d.sceneScale, 1.2, 1e-12, 'mean distance of 0..4 to 2');
  assert.ok(d.views.every((v) => v!.rotationDeg < 1e-6 && v!.centreErrorPercent < 1e-6), JSON.stringify(d.views));
  assert.equal(alignedPoseErrors(line.map(() => line[0]!), lineEst), null, 'GT centres all equal: no scale');
});
