/**
 * Parity of src/geometry's two-view estimators with OpenCV (test/parity/two_view_reference.py, Debian's
 * python3): on the same synthetic correspondences, our relative-pose error distribution must be no worse than
 * cv2.findEssentialMat(RANSAC, prob 0.99999) + cv2.recoverPose as SuperGlue's evaluation runs them; DLT
 * triangulation, the eight-point fundamental matrix and the least-squares homography must agree with
 * cv2.triangulatePoints, cv2.findFundamentalMat(FM_8POINT) and cv2.findHomography(method 0). One Python
 * process serves the whole file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Intrinsics } from '../../src/core/camera.ts';
import { estimateRelativePose } from '../../src/geometry/essential.ts';
import { eightPointFundamental } from '../../src/geometry/fundamental.ts';
import { homographyDlt } from '../../src/geometry/homography.ts';
import { angleBetweenDeg, mul3, normalize3, rotationAngleDeg, rotationFromAxisAngle, transpose3 } from '../../src/geometry/mat3.ts';
import { createRng, type Rng } from '../../src/geometry/random.ts';
import type { RigidPose } from '../../src/geometry/rigid.ts';
import { triangulateTwoView } from '../../src/geometry/triangulate.ts';
import { DEBIAN_PYTHON, GENERATED_DIR, REPO_ROOT } from '../helpers/paths.ts';

const K0: Intrinsics = { fxPx: 620, fyPx: 615, cxPx: 322, cyPx: 238, width: 640, height: 480 };
const K1: Intrinsics = { fxPx: 580, fyPx: 585, cxPx: 315, cyPx: 242, width: 640, height: 480 };
const kArray = (k: Intrinsics): number[] => [k.fxPx, k.fyPx, k.cxPx, k.cyPx];
const THRESHOLD_PX = 1;
/** Our median pose error may exceed OpenCV's by at most this (degrees): "no worse, within noise". */
const MEDIAN_TOLERANCE_DEG = 0.02;

interface Scene {
  readonly pose: RigidPose;
  readonly pixels0: number[];
  readonly pixels1: number[];
}

/** Camera 0 at the origin, camera 1 one unit away (mostly sideways), depths 3..12, pixel noise, uniform outliers. */
function makeScene(rng: Rng, count: number, noisePx: number, outlierRatio: number): Scene {
  const axis = normalize3([rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()]);
  const angle = ((3 + 15 * rng.next()) * Math.PI) / 180;
  const pose: RigidPose = {
    rotation: rotationFromAxisAngle([axis[0]! * angle, axis[1]! * angle, axis[2]! * angle]),
    translation: normalize3([1, 0.3 * rng.nextGaussian(), 0.3 * rng.nextGaussian()]),
  };
  const r = pose.rotation, t = pose.translation;
  const pixels0: number[] = [], pixels1: number[] = [];
  while (pixels0.length < 2 * count) {
    const u = rng.next() * 640, v = rng.next() * 480, depth = 3 + 9 * rng.next();
    const X = [((u - K0.cxPx) / K0.fxPx) * depth, ((v - K0.cyPx) / K0.fyPx) * depth, depth];
    const Y = [0, 1, 2].map((k) => r[3 * k]! * X[0]! + r[3 * k + 1]! * X[1]! + r[3 * k + 2]! * X[2]! + t[k]!);
    if (Y[2]! < 0.5) continue;
    const u1 = (K1.fxPx * Y[0]!) / Y[2]! + K1.cxPx, v1 = (K1.fyPx * Y[1]!) / Y[2]! + K1.cyPx;
    if (u1 < 0 || u1 >= 640 || v1 < 0 || v1 >= 480) continue;
    pixels0.push(u + noisePx * rng.nextGaussian(), v + noisePx * rng.nextGaussian());
    if (rng.next() < outlierRatio) pixels1.push(rng.next() * 640, rng.next() * 480);
    else pixels1.push(u1 + noisePx * rng.nextGaussian(), v1 + noisePx * rng.nextGaussian());
  }
  return { pose, pixels0, pixels1 };
}

/** SuperGlue's pose error: max of the rotation angle and the translation-direction angle (sign-agnostic). */
function poseErrorDeg(truth: RigidPose, rotation: ArrayLike<number>, translation: ArrayLike<number>): number {
  const rotationError = rotationAngleDeg(mul3(transpose3(truth.rotation), Float64Array.from(rotation)));
  const t = angleBetweenDeg(truth.translation, translation);
  return Math.max(rotationError, Math.min(t, 180 - t));
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const half = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[half]! : 0.5 * (sorted[half - 1]! + sorted[half]!);
};

/** Relative distance between two matrices up to scale and sign. */
function distanceUpToScale(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = Math.hypot(...Array.from(a)), nb = Math.hypot(...Array.from(b));
  let plus = 0, minus = 0;
  for (let i = 0; i < a.length; i++) { plus += (a[i]! / na - b[i]! / nb) ** 2; minus += (a[i]! / na + b[i]! / nb) ** 2; }
  return Math.sqrt(Math.min(plus, minus));
}

interface PoseCase { readonly noisePx: number; readonly outlierRatio: number; readonly scene: Scene }

interface Prepared {
  readonly dir: string;
  readonly poseCases: PoseCase[];
  readonly timingScene: Scene;
  readonly triangulation: { pose0: RigidPose; pose1: RigidPose; x0: number[]; x1: number[] };
  readonly fundamental: { pixels0: number[]; pixels1: number[] };
  readonly homography: { pixels0: number[]; pixels1: number[] };
  readonly results: Array<Record<string, unknown>>;
  readonly versions: { cv2: string; numpy: string };
}

const POSE_SETTINGS = [
  { noisePx: 0.5, outlierRatio: 0.3 }, { noisePx: 0.5, outlierRatio: 0.5 },
  { noisePx: 1, outlierRatio: 0.3 }, { noisePx: 1, outlierRatio: 0.5 },
];
const SCENES_PER_SETTING = 4;
/** The homography the exact planar correspondences are generated with. */
const PARITY_HOMOGRAPHY = Float64Array.of(1.1, 0.05, -20, -0.03, 0.95, 15, 1e-4, -2e-4, 1);

function randomPose(rng: Rng): RigidPose {
  return {
    rotation: rotationFromAxisAngle([0.3 * rng.nextGaussian(), 0.3 * rng.nextGaussian(), 0.3 * rng.nextGaussian()]),
    translation: Float64Array.of(rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian() + 8),
  };
}

const skip = existsSync(DEBIAN_PYTHON) ? false : `missing: ${DEBIAN_PYTHON}`;

describe('two-view geometry parity with OpenCV', { skip }, () => {
  let prepared: Prepared;

  before(() => {
    mkdirSync(GENERATED_DIR, { recursive: true });
    const dir = mkdtempSync(path.join(GENERATED_DIR, 'two-view-parity-'));
    const rng = createRng(2024);
    const tasks: unknown[] = [];
    const poseCases: PoseCase[] = [];
    for (const setting of POSE_SETTINGS) {
      for (let k = 0; k < SCENES_PER_SETTING; k++) {
        const scene = makeScene(rng, 600, setting.noisePx, setting.outlierRatio);
        poseCases.push({ ...setting, scene });
        tasks.push({ op: 'essential', pixels0: scene.pixels0, pixels1: scene.pixels1, k0: kArray(K0), k1: kArray(K1), thresholdPx: THRESHOLD_PX, seed: k });
      }
    }
    const timingScene = makeScene(rng, 2000, 0.5, 0.5);
    tasks.push({ op: 'timing', pixels0: timingScene.pixels0, pixels1: timingScene.pixels1, k0: kArray(K0), k1: kArray(K1), thresholdPx: THRESHOLD_PX, repeats: 3 });
    // Triangulation: exact normalised projections of points in front of two general poses.
    const pose0 = randomPose(rng), pose1 = randomPose(rng);
    const x0: number[] = [], x1: number[] = [];
    for (let i = 0; i < 200; i++) {
      const p = [3 * rng.nextGaussian(), 3 * rng.nextGaussian(), 3 * rng.nextGaussian()];
      for (const [pose, out] of [[pose0, x0], [pose1, x1]] as const) {
        const r = pose.rotation, t = pose.translation;
        const c = [0, 1, 2].map((k) => r[3 * k]! * p[0]! + r[3 * k + 1]! * p[1]! + r[3 * k + 2]! * p[2]! + t[k]!);
        out.push(c[0]! / c[2]!, c[1]! / c[2]!);
      }
    }
    const projection = (pose: RigidPose): number[] => [0, 1, 2].flatMap((k) => [...pose.rotation.slice(3 * k, 3 * k + 3), pose.translation[k]!]);
    tasks.push({ op: 'triangulate', P0: projection(pose0), P1: projection(pose1), x0, x1 });
    // Eight-point F on noisy all-inlier data; homography on exact planar data.
    const fundamentalScene = makeScene(rng, 300, 0.5, 0);
    tasks.push({ op: 'fundamental8', pixels0: fundamentalScene.pixels0, pixels1: fundamentalScene.pixels1 });
    const h = PARITY_HOMOGRAPHY;
    const hPixels0: number[] = [], hPixels1: number[] = [];
    for (let i = 0; i < 60; i++) {
      const x = rng.next() * 640, y = rng.next() * 480, w = h[6]! * x + h[7]! * y + h[8]!;
      hPixels0.push(x, y);
      hPixels1.push((h[0]! * x + h[1]! * y + h[2]!) / w, (h[3]! * x + h[4]! * y + h[5]!) / w);
    }
    tasks.push({ op: 'homography', pixels0: hPixels0, pixels1: hPixels1 });

    const job = path.join(dir, 'job.json'), out = path.join(dir, 'out.json');
    writeFileSync(job, JSON.stringify({ tasks }));
    const run = spawnSync(DEBIAN_PYTHON, [path.join(REPO_ROOT, 'test', 'parity', 'two_view_reference.py'), job, out], { encoding: 'utf8' });
    assert.equal(run.status, 0, `two_view_reference.py failed (${run.status}): ${run.stderr}`);
    const parsed = JSON.parse(readFileSync(out, 'utf8')) as { versions: Prepared['versions']; results: Prepared['results'] };
    prepared = {
      dir, poseCases, timingScene, triangulation: { pose0, pose1, x0, x1 },
      fundamental: fundamentalScene, homography: { pixels0: hPixels0, pixels1: hPixels1 },
      results: parsed.results, versions: parsed.versions,
    };
  });

  after(() => {
    if (prepared !== undefined) rmSync(prepared.dir, { recursive: true, force: true });
  });

  it('relative pose: our median pose error is no worse than cv2.findEssentialMat + recoverPose', (t) => {
    const ours: number[] = [], theirs: number[] = [];
    const lines: string[] = [];
    for (const [index, c] of prepared.poseCases.entries()) {
      const reference = prepared.results[index] as { ok: boolean; rotation: number[]; translation: number[] };
      const result = estimateRelativePose(c.scene.pixels0, c.scene.pixels1, K0, K1, { thresholdPx: THRESHOLD_PX, seed: index });
      assert.ok(result !== null, `scene ${index}: no pose`);
      const our = poseErrorDeg(c.scene.pose, result.pose1From0.rotation, result.pose1From0.translation);
      const their = reference.ok ? poseErrorDeg(c.scene.pose, reference.rotation, reference.translation) : 180;
      ours.push(our); theirs.push(their);
      lines.push(`${c.noisePx}px/${c.outlierRatio * 100}%: ours ${our.toFixed(3)} cv2 ${their.toFixed(3)}`);
    }
    const ourMedian = median(ours), theirMedian = median(theirs);
    t.diagnostic(`pose error (deg, max of R and t angle): median ours ${ourMedian.toFixed(3)} vs cv2 ${theirMedian.toFixed(3)} ` +
      `(cv2 ${prepared.versions.cv2}); mean ours ${(ours.reduce((a, b) => a + b) / ours.length).toFixed(3)} vs cv2 ` +
      `${(theirs.reduce((a, b) => a + b) / theirs.length).toFixed(3)}; ${lines.join('; ')}`);
    assert.ok(ourMedian <= theirMedian + MEDIAN_TOLERANCE_DEG, `median pose error ${ourMedian} vs OpenCV ${theirMedian}`);
    // Every scene is solved: the worst error stays small.
    assert.ok(Math.max(...ours) < 3, `worst pose error ${Math.max(...ours)}`);
  });

  it('speed on 2000 correspondences with 50 % outliers (reported, vs cv2 timed in Python)', (t) => {
    const reference = prepared.results[prepared.poseCases.length] as { medianMs: number };
    const s = prepared.timingScene;
    const times: number[] = [];
    let iterations = 0;
    for (let repeat = 0; repeat < 3; repeat++) {
      const start = performance.now();
      const result = estimateRelativePose(s.pixels0, s.pixels1, K0, K1, { thresholdPx: THRESHOLD_PX, seed: repeat });
      times.push(performance.now() - start);
      assert.ok(result !== null);
      iterations = result.iterations;
      assert.ok(poseErrorDeg(s.pose, result.pose1From0.rotation, result.pose1From0.translation) < 1);
    }
    t.diagnostic(`estimateRelativePose: median ${median(times).toFixed(1)} ms (${times.map((v) => v.toFixed(1)).join(', ')}; ` +
      `${iterations} iterations) vs cv2.findEssentialMat + recoverPose ${reference.medianMs.toFixed(1)} ms`);
  });

  it('triangulateTwoView agrees with cv2.triangulatePoints to 1e-9 relative on exact data', () => {
    const { pose0, pose1, x0, x1 } = prepared.triangulation;
    const reference = (prepared.results[prepared.poseCases.length + 1] as { points: number[] }).points;
    let worst = 0;
    for (let i = 0; i < x0.length / 2; i++) {
      const ours = triangulateTwoView(pose0, pose1, x0.slice(2 * i, 2 * i + 2), x1.slice(2 * i, 2 * i + 2));
      assert.ok(ours !== null);
      const theirs = reference.slice(3 * i, 3 * i + 3);
      const error = Math.hypot(ours[0]! - theirs[0]!, ours[1]! - theirs[1]!, ours[2]! - theirs[2]!) / Math.hypot(...theirs);
      worst = Math.max(worst, error);
    }
    assert.ok(worst < 1e-9, `worst relative difference ${worst}`);
  });

  it('eightPointFundamental agrees with cv2.findFundamentalMat(FM_8POINT) on noisy all-inlier data', (t) => {
    const reference = (prepared.results[prepared.poseCases.length + 2] as { fundamental: number[] }).fundamental;
    const ours = eightPointFundamental(prepared.fundamental.pixels0, prepared.fundamental.pixels1)!;
    const distance = distanceUpToScale(ours, reference);
    t.diagnostic(`|F_ours - F_cv2| / |F| up to scale: ${distance.toExponential(2)}`);
    assert.ok(distance < 1e-8, `F differs from OpenCV's by ${distance} (relative, up to scale)`);
  });

  it('homographyDlt agrees with cv2.findHomography(method 0) on exact data', (t) => {
    const reference = (prepared.results[prepared.poseCases.length + 3] as { homography: number[] }).homography;
    const ours = homographyDlt(prepared.homography.pixels0, prepared.homography.pixels1)!;
    const distance = distanceUpToScale(ours, reference);
    t.diagnostic(`|H_ours - H_cv2| / |H| up to scale: ${distance.toExponential(2)}`);
    // cv2.findHomography converts the points to float32 (relative rounding 6e-8) before solving, so it is
    // exact only to ~1e-7 here, while ours reproduces the generating H to 1e-12.
    assert.ok(distance < 1e-6, `H differs from OpenCV's by ${distance} (relative, up to scale)`);
    const truth = distanceUpToScale(ours, PARITY_HOMOGRAPHY);
    assert.ok(truth < 1e-12, `ours vs the generating H: ${truth}`);
  });
});
