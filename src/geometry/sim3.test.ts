import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { DEBIAN_PYTHON } from '../../test/helpers/paths.ts';
import { mul3, rotationAngleDeg, rotationFromAxisAngle, transpose3 } from './mat3.ts';
import { createRng } from './random.ts';
import { applySim3, applySim3ToPoint, invertSim3, umeyamaSim3, umeyamaSim3Robust, type Sim3 } from './sim3.ts';

function randomPoints(n: number, seed: number, spread = 5): Float64Array {
  const rng = createRng(seed);
  const out = new Float64Array(3 * n);
  for (let i = 0; i < out.length; i++) out[i] = (rng.next() - 0.5) * 2 * spread;
  return out;
}

const TRUTH: Sim3 = { scale: 2.5, rotation: rotationFromAxisAngle([0.3, -1.1, 0.7]), translation: Float64Array.of(10, -4, 1000) };

function assertSim3Close(actual: Sim3 | null, expected: Sim3, tol: { scale: number; rotDeg: number; trans: number }): void {
  assert.ok(actual !== null);
  assert.ok(Math.abs(actual.scale - expected.scale) <= tol.scale, `scale ${actual.scale} vs ${expected.scale}`);
  const rotErr = rotationAngleDeg(mul3(transpose3(expected.rotation), actual.rotation));
  assert.ok(rotErr <= tol.rotDeg, `rotation error ${rotErr} deg`);
  for (let a = 0; a < 3; a++) {
    assert.ok(Math.abs(actual.translation[a]! - expected.translation[a]!) <= tol.trans, `translation ${actual.translation} vs ${expected.translation}`);
  }
}

test('umeyamaSim3 recovers an exact similarity (and the rigid fit when scale is 1)', () => {
  const source = randomPoints(20, 1);
  const target = applySim3(TRUTH, source);
  assertSim3Close(umeyamaSim3(source, target), TRUTH, { scale: 1e-12, rotDeg: 1e-9, trans: 1e-9 });
  // Three points are enough.
  assertSim3Close(umeyamaSim3(source.subarray(0, 9), target.subarray(0, 9)), TRUTH, { scale: 1e-10, rotDeg: 1e-7, trans: 1e-7 });
  const rigid: Sim3 = { ...TRUTH, scale: 1 };
  const rigidTarget = applySim3(rigid, source);
  assertSim3Close(umeyamaSim3(source, rigidTarget, { withScale: false }), rigid, { scale: 0, rotDeg: 1e-9, trans: 1e-9 });
});

test('umeyamaSim3: weights exclude points, and the inverse maps back', () => {
  const source = randomPoints(30, 2);
  const target = applySim3(TRUTH, source);
  const weights = new Float64Array(30).fill(1);
  for (let i = 0; i < 5; i++) { target[3 * i]! += 50; weights[i] = 0; }
  assertSim3Close(umeyamaSim3(source, target, { weights }), TRUTH, { scale: 1e-12, rotDeg: 1e-9, trans: 1e-9 });
  const back = applySim3ToPoint(invertSim3(TRUTH), applySim3ToPoint(TRUTH, [1, 2, 3]));
  assert.ok(Math.abs(back[0]! - 1) + Math.abs(back[1]! - 2) + Math.abs(back[2]! - 3) < 1e-9);
});

test('umeyamaSim3 returns a proper rotation for mirrored data and null for degenerate sets', () => {
  const source = randomPoints(10, 3);
  const mirrored = Float64Array.from(source);
  for (let i = 0; i < 10; i++) mirrored[3 * i + 2] = -mirrored[3 * i + 2]!;
  const fit = umeyamaSim3(source, mirrored);
  assert.ok(fit !== null);
  const r = fit.rotation;
  const det = r[0]! * (r[4]! * r[8]! - r[5]! * r[7]!) - r[1]! * (r[3]! * r[8]! - r[5]! * r[6]!) + r[2]! * (r[3]! * r[7]! - r[4]! * r[6]!);
  assert.ok(Math.abs(det - 1) < 1e-9);
  // Collinear points, identical points, too few points.
  const line = Float64Array.from([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
  assert.equal(umeyamaSim3(line, applySim3(TRUTH, line)), null);
  const same = new Float64Array(12).fill(4);
  assert.equal(umeyamaSim3(same, same), null);
  assert.equal(umeyamaSim3(source.subarray(0, 6), mirrored.subarray(0, 6)), null);
  assert.throws(() => umeyamaSim3(source, mirrored.subarray(0, 9)), /equal length/);
});

test('umeyamaSim3 matches OpenCV estimateAffine3D (Umeyama) on noisy points', () => {
  const n = 50;
  const source = randomPoints(n, 4);
  const target = applySim3(TRUTH, source);
  const rng = createRng(5);
  for (let i = 0; i < target.length; i++) target[i]! += rng.nextGaussian() * 0.3;
  const script = [
    'import sys, json, numpy as np, cv2',
    'd = json.load(sys.stdin)',
    'src = np.array(d["src"], dtype=np.float64).reshape(-1, 3); dst = np.array(d["dst"], dtype=np.float64).reshape(-1, 3)',
    'T, s = cv2.estimateAffine3D(src, dst, force_rotation=True)',
    'print(json.dumps({"T": T.ravel().tolist(), "s": s}))',
  ].join('\n');
  const run = spawnSync(DEBIAN_PYTHON, ['-c', script], { input: JSON.stringify({ src: Array.from(source), dst: Array.from(target) }), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const ref = JSON.parse(run.stdout) as { T: number[]; s: number };
  const fit = umeyamaSim3(source, target);
  assert.ok(fit !== null);
  assert.ok(Math.abs(fit.scale - ref.s) < 1e-9 * ref.s, `scale ${fit.scale} vs OpenCV ${ref.s}`);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      // OpenCV returns R in the 3x3 block and the scale separately.
      assert.ok(Math.abs(fit.rotation[r * 3 + c]! - ref.T[r * 4 + c]!) < 1e-9);
    }
    assert.ok(Math.abs(fit.translation[r]! - ref.T[r * 4 + 3]!) < 1e-7);
  }
});

test('umeyamaSim3Robust ignores 40% outliers and is deterministic for a seed', () => {
  const n = 200;
  const source = randomPoints(n, 6);
  const target = applySim3(TRUTH, source);
  const rng = createRng(7);
  for (let i = 0; i < target.length; i++) target[i]! += rng.nextGaussian() * 0.01;
  const isOutlier = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (rng.next() < 0.4) {
      isOutlier[i] = 1;
      for (let a = 0; a < 3; a++) target[3 * i + a]! += (rng.next() - 0.5) * 40;
    }
  }
  const plain = umeyamaSim3(source, target);
  assert.ok(plain !== null && Math.abs(plain.scale - TRUTH.scale) > 0.01, 'outliers should spoil the plain fit');
  const robust = umeyamaSim3Robust(source, target, { threshold: 0.1, seed: 1 });
  assert.ok(robust !== null);
  assertSim3Close(robust.sim3, TRUTH, { scale: 2e-3, rotDeg: 0.05, trans: 0.05 });
  let agree = 0;
  for (let i = 0; i < n; i++) if (robust.inliers[i] === 1 - isOutlier[i]!) agree++;
  assert.ok(agree >= n - 2, `inlier mask agrees on ${agree}/${n}`);
  const again = umeyamaSim3Robust(source, target, { threshold: 0.1, seed: 1 });
  assert.deepEqual(again?.sim3, robust.sim3);
});
