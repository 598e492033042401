import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Intrinsics } from '../core/camera.ts';
import { AbortError, InputError } from '../core/errors.ts';
import { axisAngleFromRotation, mul3, norm3, quaternionFromRotation, rotationFromAxisAngle, rotationFromQuaternion, transpose3, type Mat3 } from '../geometry/mat3.ts';
import { createRng } from '../geometry/random.ts';
import { cameraCenter, type RigidPose } from '../geometry/rigid.ts';
import { umeyamaSim3 } from '../geometry/sim3.ts';
import { GENERATED_DIR } from '../../test/helpers/paths.ts';
import { createSyntheticScene, type SyntheticScene } from '../../test/helpers/synthetic-scene.ts';
import { bundleAdjust, choleskySolveLower, reprojectionErrorsPx, type BundleAdjustmentProblem, type BundleAdjustmentResult } from './bundle-adjust.ts';

interface ProblemOptions {
  readonly noisePx?: number;
  /** Fraction of observations moved by 20..60 px. */
  readonly outlierFraction?: number;
  readonly seed?: number;
}

/**
 * A bundle problem from a synthetic scene: observations of the points seen by at least two views, projected
 * exactly (float64) from the truth, plus seeded noise and outliers; returns the outlier mask too.
 */
function problemFromScene(scene: SyntheticScene, options: ProblemOptions = {}): { problem: BundleAdjustmentProblem; outlier: Uint8Array } {
  const rng = createRng(options.seed ?? 1);
  const numPoints = scene.points.length / 3;
  const count = new Uint32Array(numPoints);
  for (const p of scene.observationPoint) count[p]!++;
  const keep = [...scene.observationPoint.keys()].filter((m) => count[scene.observationPoint[m]!]! >= 2);
  const pixels = new Float64Array(2 * keep.length);
  const outlier = new Uint8Array(keep.length);
  keep.forEach((m, i) => {
    const pose = scene.cameraFromWorld[scene.observationCamera[m]!]!;
    const X = scene.points.subarray(3 * scene.observationPoint[m]!, 3 * scene.observationPoint[m]! + 3);
    const p = [0, 1, 2].map((r) => pose.rotation[3 * r]! * X[0]! + pose.rotation[3 * r + 1]! * X[1]! + pose.rotation[3 * r + 2]! * X[2]! + pose.translation[r]!);
    const k = scene.intrinsics;
    pixels[2 * i] = k.fxPx * (p[0]! / p[2]!) + k.cxPx + (options.noisePx ?? 0) * rng.nextGaussian();
    pixels[2 * i + 1] = k.fyPx * (p[1]! / p[2]!) + k.cyPx + (options.noisePx ?? 0) * rng.nextGaussian();
    // Always draw the outlier variables, so that the noise of a problem with and without outliers is the same.
    const draw = rng.next(), angle = 2 * Math.PI * rng.next(), length = 20 + 40 * rng.next();
    if (draw < (options.outlierFraction ?? 0)) {
      outlier[i] = 1;
      pixels[2 * i]! += length * Math.cos(angle);
      pixels[2 * i + 1]! += length * Math.sin(angle);
    }
  });
  return {
    problem: {
      cameraFromWorld: scene.cameraFromWorld,
      intrinsics: scene.cameraFromWorld.map(() => scene.intrinsics),
      points: scene.points,
      observationCamera: Uint32Array.from(keep, (m) => scene.observationCamera[m]!),
      observationPoint: Uint32Array.from(keep, (m) => scene.observationPoint[m]!),
      observationPixels: pixels,
    },
    outlier,
  };
}

/** The problem with every pose but camera 0's and every point moved (seeded). */
function perturbed(problem: BundleAdjustmentProblem, seed: number, rotationRad = 0.01, translation = 0.05, point = 0.05): BundleAdjustmentProblem {
  const rng = createRng(seed);
  return {
    ...problem,
    cameraFromWorld: problem.cameraFromWorld.map((pose, c) => c === 0 ? pose : {
      rotation: mul3(rotationFromAxisAngle([rotationRad * rng.nextGaussian(), rotationRad * rng.nextGaussian(), rotationRad * rng.nextGaussian()]), pose.rotation),
      translation: pose.translation.map((t) => t + translation * rng.nextGaussian()),
    }),
    points: problem.points.map((x) => x + point * rng.nextGaussian()),
  };
}

/** Rotation angle in degrees, accurate near zero (unlike the trace formula). */
function rotationAngleDeg(r: Mat3): number {
  return (norm3(axisAngleFromRotation(r)) * 180) / Math.PI;
}

/** Worst rotation (degrees) and centre error (scene units) of estimated poses after a Sim3 on the centres. */
function poseErrors(estimate: readonly RigidPose[], truth: readonly RigidPose[]): { rotationDeg: number; centre: number } {
  const source = new Float64Array(3 * estimate.length), target = new Float64Array(3 * estimate.length);
  estimate.forEach((p, i) => { source.set(cameraCenter(p), 3 * i); target.set(cameraCenter(truth[i]!), 3 * i); });
  const sim = umeyamaSim3(source, target)!;
  let rotationDeg = 0, centre = 0;
  estimate.forEach((p, i) => {
    // World change X_gt = s A X_est + b turns R_est into R_est A^T.
    rotationDeg = Math.max(rotationDeg, rotationAngleDeg(mul3(transpose3(truth[i]!.rotation), mul3(p.rotation, transpose3(sim.rotation)))));
    const c = source.subarray(3 * i, 3 * i + 3);
    const mapped = [0, 1, 2].map((r) => sim.scale * (sim.rotation[3 * r]! * c[0]! + sim.rotation[3 * r + 1]! * c[1]! + sim.rotation[3 * r + 2]! * c[2]!) + sim.translation[r]!);
    centre = Math.max(centre, Math.hypot(mapped[0]! - target[3 * i]!, mapped[1]! - target[3 * i + 1]!, mapped[2]! - target[3 * i + 2]!));
  });
  return { rotationDeg, centre };
}

const SCENE = createSyntheticScene({ numViews: 12, numPoints: 800, seed: 21, withPairs: false });

test('choleskySolveLower solves an SPD system and rejects an indefinite one', () => {
  // A = L L^T with a known solution.
  const a = Float64Array.of(4, 0, 0, 2, 5, 0, -2, 1, 6);
  const x = [1, -2, 3];
  const full = [[4, 2, -2], [2, 5, 1], [-2, 1, 6]];
  const b = Float64Array.from(full.map((row) => row[0]! * x[0]! + row[1]! * x[1]! + row[2]! * x[2]!));
  assert.ok(choleskySolveLower(a, b, 3));
  b.forEach((v, i) => assert.ok(Math.abs(v - x[i]!) < 1e-12));
  assert.equal(choleskySolveLower(Float64Array.of(1, 0, 2, 1), Float64Array.of(1, 1), 2), false);
});

test('noise-free scene: bundle adjustment from perturbed poses and points reaches the exact solution', () => {
  const { problem } = problemFromScene(SCENE);
  const start = perturbed(problem, 3);
  const result = bundleAdjust(start, { functionTolerance: 1e-14, maxIterations: 100 });
  assert.ok(result.initialRmsErrorPx > 5, `the start is off by ${result.initialRmsErrorPx} px`);
  assert.ok(result.finalRmsErrorPx < 1e-6, `final RMS ${result.finalRmsErrorPx} px`);
  const errors = poseErrors(result.cameraFromWorld, SCENE.cameraFromWorld);
  assert.ok(errors.rotationDeg < 1e-6 && errors.centre < 1e-7 * SCENE.sceneSize, JSON.stringify(errors));
  // The gauge: camera 0 is untouched; the input is not modified.
  assert.deepEqual(result.cameraFromWorld[0], SCENE.cameraFromWorld[0]);
  assert.deepEqual(start.points, perturbed(problem, 3).points);
});

test('noisy scene: the final error is the noise level and the optimum is the one reached from the truth', () => {
  const noisePx = 0.5;
  const { problem } = problemFromScene(SCENE, { noisePx, seed: 5 });
  const fromPerturbed = bundleAdjust(perturbed(problem, 6), { functionTolerance: 1e-12, maxIterations: 100 });
  const fromTruth = bundleAdjust(problem, { functionTolerance: 1e-12, maxIterations: 100 });
  const relative = Math.abs(fromPerturbed.finalCost - fromTruth.finalCost) / fromTruth.finalCost;
  assert.ok(relative < 1e-7, `costs ${fromPerturbed.finalCost} vs ${fromTruth.finalCost}`);
  // E|r|^2 per observation = 2 sigma^2 (1 - parameters / measurements) at the least-squares optimum.
  const m = problem.observationCamera.length;
  const numPoints = new Set(problem.observationPoint).size;
  const parameters = 6 * (SCENE.cameraFromWorld.length - 1) - 1 + 3 * numPoints;
  const expected = noisePx * Math.sqrt(2 * (1 - parameters / (2 * m)));
  assert.ok(Math.abs(fromPerturbed.finalRmsErrorPx - expected) < 0.05 * expected, `RMS ${fromPerturbed.finalRmsErrorPx} vs expected ${expected}`);
});

test('outliers: a robust loss keeps the solution where the clean data put it, the squared loss does not', () => {
  const clean = bundleAdjust(problemFromScene(SCENE, { noisePx: 0.5, seed: 7 }).problem, { functionTolerance: 1e-10 });
  const { problem } = problemFromScene(SCENE, { noisePx: 0.5, seed: 7, outlierFraction: 0.05 });
  const start = perturbed(problem, 8, 0.005, 0.02, 0.02);
  const squared = bundleAdjust(start, { loss: { kind: 'squared' } });
  const huber = bundleAdjust(start, { loss: { kind: 'huber', scalePx: 1 } });
  const cauchy = bundleAdjust(start, { loss: { kind: 'cauchy', scalePx: 1 } });
  const errorOf = (r: BundleAdjustmentResult): number => poseErrors(r.cameraFromWorld, clean.cameraFromWorld).rotationDeg;
  const squaredError = errorOf(squared), huberError = errorOf(huber), cauchyError = errorOf(cauchy);
  // The yardstick: how far the noise alone moves the clean solution from the truth.
  const noiseDeviation = poseErrors(clean.cameraFromWorld, SCENE.cameraFromWorld).rotationDeg;
  assert.ok(squaredError > 2 * noiseDeviation, `squared loss deviation ${squaredError} deg (noise alone ${noiseDeviation})`);
  assert.ok(cauchyError < 0.5 * noiseDeviation, `Cauchy deviation ${cauchyError} deg (noise alone ${noiseDeviation})`);
  assert.ok(huberError < squaredError / 3, `Huber ${huberError} vs squared ${squaredError}`);
});

test('focal refinement recovers a wrong initial focal (shared and per camera)', () => {
  const { problem } = problemFromScene(SCENE);
  const start = perturbed(problem, 9, 0.005, 0.02, 0.02);
  const wrong = (f: number): Intrinsics => ({ ...SCENE.intrinsics, fxPx: f, fyPx: f });
  const shared = bundleAdjust({ ...start, intrinsics: start.intrinsics.map(() => wrong(540)) }, { refineIntrinsics: 'sharedFocal', functionTolerance: 1e-14, maxIterations: 100 });
  assert.ok(shared.initialRmsErrorPx > 5);
  for (const k of shared.intrinsics) assert.ok(Math.abs(k.fxPx - SCENE.intrinsics.fxPx) < 1e-4 && k.fyPx === k.fxPx, `shared focal ${k.fxPx}`);
  assert.ok(shared.finalRmsErrorPx < 1e-6);
  const focals = start.intrinsics.map((_, c) => 460 + 7 * c);
  const perCamera = bundleAdjust({ ...start, intrinsics: focals.map(wrong) }, { refineIntrinsics: 'perCameraFocal', functionTolerance: 1e-14, maxIterations: 100 });
  for (const k of perCamera.intrinsics) assert.ok(Math.abs(k.fxPx - SCENE.intrinsics.fxPx) < 1e-4, `per-camera focal ${k.fxPx}`);
  // A camera in fixedIntrinsics keeps its (here correct) focal while the others are refined.
  const partly = bundleAdjust({ ...start, intrinsics: focals.map((f, c) => wrong(c === 3 ? 500 : f)) }, { refineIntrinsics: 'perCameraFocal', fixedIntrinsics: [3], functionTolerance: 1e-14, maxIterations: 100 });
  assert.equal(partly.intrinsics[3]!.fxPx, 500);
  assert.ok(Math.abs(partly.intrinsics[5]!.fxPx - 500) < 1e-4 && partly.finalRmsErrorPx < 1e-6);
  // Without refinement the wrong focal stays and the error cannot vanish.
  const fixed = bundleAdjust({ ...start, intrinsics: start.intrinsics.map(() => wrong(540)) }, { refineIntrinsics: 'none' });
  assert.equal(fixed.intrinsics[0]!.fxPx, 540);
  assert.ok(fixed.finalRmsErrorPx > 0.05);
});

test('gauge: fixed cameras stay put, the scale camera keeps one translation coordinate, and scale stays fixed', () => {
  const { problem } = problemFromScene(SCENE, { noisePx: 0.3, seed: 11 });
  const start = perturbed(problem, 12);
  const twoFixed = bundleAdjust(start, { fixedCameras: [0, 5], scaleCamera: 'none' });
  assert.deepEqual(twoFixed.cameraFromWorld[5], start.cameraFromWorld[5]);
  const auto = bundleAdjust(start, {});
  const moved = start.cameraFromWorld.map((p, c) => [0, 1, 2].filter((a) => auto.cameraFromWorld[c]!.translation[a] === p.translation[a]).length);
  // Exactly one camera (besides camera 0) keeps one coordinate, the others move freely.
  assert.equal(moved[0], 3);
  assert.equal(moved.slice(1).filter((n) => n === 1).length, 1);
  assert.equal(moved.slice(1).filter((n) => n === 0).length, SCENE.cameraFromWorld.length - 2);
});

test('bundleAdjust: points seen once stay constant, malformed input throws, abort is honoured', () => {
  const { problem } = problemFromScene(SCENE);
  const extra: BundleAdjustmentProblem = {
    ...problem,
    points: Float64Array.of(...problem.points, 0.1, 0.2, 0.3),
    observationCamera: Uint32Array.of(...problem.observationCamera, 1),
    observationPoint: Uint32Array.of(...problem.observationPoint, problem.points.length / 3),
    observationPixels: Float64Array.of(...problem.observationPixels, 300, 200),
  };
  const result = bundleAdjust(perturbed(extra, 2, 0.002, 0.01, 0), { maxIterations: 5 });
  assert.deepEqual(Array.from(result.points.slice(-3)), [0.1, 0.2, 0.3]);
  assert.ok(result.cameraFromWorld.every((p) => p.rotation.every(Number.isFinite) && p.translation.every(Number.isFinite)));
  assert.throws(() => bundleAdjust({ ...problem, observationPoint: problem.observationPoint.subarray(1) }), InputError);
  assert.throws(() => bundleAdjust(problem, { fixedCameras: [99] }), InputError);
  assert.throws(() => bundleAdjust(problem, { loss: { kind: 'huber', scalePx: 0 } }), InputError);
  const controller = new AbortController();
  controller.abort();
  assert.throws(() => bundleAdjust(problem, { signal: controller.signal }), AbortError);
  const errors = reprojectionErrorsPx(problem);
  assert.equal(errors.length, problem.observationCamera.length);
  assert.ok(Math.max(...errors) < 1e-9);
});

test('timing: 100 views, 10k points (reported)', () => {
  const scene = createSyntheticScene({ numViews: 100, numPoints: 10000, seed: 31, layout: 'hemisphere', withPairs: false, maxViewingAngleDeg: 60 });
  const { problem } = problemFromScene(scene, { noisePx: 0.5, seed: 32 });
  const start = perturbed(problem, 33, 0.003, 0.01, 0.01);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const result = bundleAdjust(start, { loss: { kind: 'huber', scalePx: 2 } });
  const ms = performance.now() - t0;
  const cpuMs = process.cpuUsage(cpu).user / 1000;
  console.log(`bundle adjustment: 100 views, ${problem.points.length / 3} points, ${problem.observationCamera.length} observations: ` +
    `${result.iterations} iterations, ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU, RMS ${result.initialRmsErrorPx.toFixed(2)} -> ${result.finalRmsErrorPx.toFixed(3)} px`);
  assert.ok(result.finalRmsErrorPx < 0.75);
  assert.ok(cpuMs < 15000, `took ${cpuMs} ms CPU`);
});

/** COLMAP text model of a bundle problem (PINHOLE cameras, one per view). */
function writeColmapModel(dir: string, problem: BundleAdjustmentProblem): void {
  mkdirSync(dir, { recursive: true });
  const cameras = problem.intrinsics.map((k, c) => `${c + 1} PINHOLE ${k.width} ${k.height} ${k.fxPx} ${k.fyPx} ${k.cxPx} ${k.cyPx}`);
  writeFileSync(path.join(dir, 'cameras.txt'), cameras.join('\n') + '\n');
  const perImage: string[][] = problem.cameraFromWorld.map(() => []);
  const tracks: string[][] = Array.from({ length: problem.points.length / 3 }, () => []);
  for (let m = 0; m < problem.observationCamera.length; m++) {
    const c = problem.observationCamera[m]!, p = problem.observationPoint[m]!;
    tracks[p]!.push(`${c + 1} ${perImage[c]!.length}`);
    perImage[c]!.push(`${problem.observationPixels[2 * m]} ${problem.observationPixels[2 * m + 1]} ${p + 1}`);
  }
  const images = problem.cameraFromWorld.flatMap((pose, c) => {
    const q = quaternionFromRotation(pose.rotation);
    return [`${c + 1} ${q[0]} ${q[1]} ${q[2]} ${q[3]} ${pose.translation[0]} ${pose.translation[1]} ${pose.translation[2]} ${c + 1} view${c}.png`, perImage[c]!.join(' ')];
  });
  writeFileSync(path.join(dir, 'images.txt'), images.join('\n') + '\n');
  const points = tracks.map((t, p) => `${p + 1} ${problem.points[3 * p]} ${problem.points[3 * p + 1]} ${problem.points[3 * p + 2]} 128 128 128 0 ${t.join(' ')}`);
  writeFileSync(path.join(dir, 'points3D.txt'), points.join('\n') + '\n');
}

function readColmapModel(dir: string, problem: BundleAdjustmentProblem): BundleAdjustmentProblem {
  const poses = [...problem.cameraFromWorld];
  const images = readFileSync(path.join(dir, 'images.txt'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  for (let i = 0; i < images.length; i += 2) {
    const f = images[i]!.split(' ').map(Number);
    poses[f[0]! - 1] = { rotation: rotationFromQuaternion(f.slice(1, 5)), translation: Float64Array.from(f.slice(5, 8)) };
  }
  const points = Float64Array.from(problem.points);
  for (const line of readFileSync(path.join(dir, 'points3D.txt'), 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(' ').map(Number);
    points.set(f.slice(1, 4), 3 * (f[0]! - 1));
  }
  return { ...problem, cameraFromWorld: poses, points };
}

test('COLMAP 3.8 bundle_adjuster reaches the same reprojection error on the same problem', (t) => {
  const probe = spawnSync('colmap', ['help'], { encoding: 'utf8' });
  if (probe.status !== 0) { t.skip('colmap is not installed'); return; }
  const scene = createSyntheticScene({ numViews: 8, numPoints: 400, seed: 41, withPairs: false });
  const { problem } = problemFromScene(scene, { noisePx: 0.5, seed: 42 });
  const start = perturbed(problem, 43, 0.005, 0.02, 0.02);
  mkdirSync(GENERATED_DIR, { recursive: true });
  const dir = mkdtempSync(path.join(GENERATED_DIR, 'colmap-ba-'));
  try {
    writeColmapModel(path.join(dir, 'input'), start);
    mkdirSync(path.join(dir, 'output'));
    const run = spawnSync('colmap', ['bundle_adjuster', '--input_path', path.join(dir, 'input'), '--output_path', path.join(dir, 'output'),
      '--BundleAdjustment.refine_focal_length', '0', '--BundleAdjustment.refine_extra_params', '0', '--BundleAdjustment.refine_principal_point', '0',
      '--BundleAdjustment.function_tolerance', '1e-12'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    mkdirSync(path.join(dir, 'text'));
    const convert = spawnSync('colmap', ['model_converter', '--input_path', path.join(dir, 'output'), '--output_path', path.join(dir, 'text'), '--output_type', 'TXT'], { encoding: 'utf8' });
    assert.equal(convert.status, 0, convert.stderr);
    const colmap = readColmapModel(path.join(dir, 'text'), start);
    const colmapErrors = reprojectionErrorsPx(colmap);
    const colmapRms = Math.sqrt(colmapErrors.reduce((s, e) => s + e * e, 0) / colmapErrors.length);
    const ours = bundleAdjust(start, { functionTolerance: 1e-12, maxIterations: 100 });
    assert.ok(Math.abs(ours.finalRmsErrorPx - colmapRms) < 1e-6 * colmapRms, `ours ${ours.finalRmsErrorPx} px, COLMAP ${colmapRms} px`);
    // The same optimum up to the gauge: poses agree after a similarity.
    const agreement = poseErrors(ours.cameraFromWorld, colmap.cameraFromWorld);
    assert.ok(agreement.rotationDeg < 1e-4 && agreement.centre < 1e-5 * scene.sceneSize, JSON.stringify(agreement));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
