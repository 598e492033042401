/**
 * src/eval/pose-metrics.ts against test/eval/pose_auc_reference.py: SuperGlue's pose_auc and compute_pose_error as
 * published, and the VGGT / DA3 pairwise evaluation (their relative-pose errors and histogram AUC) in numpy.
 * One Python process serves the whole file.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fromRotationTranslation, type Mat4 } from '../../src/core/mat4.ts';
import { mul3, mulVec3, rotationFromAxisAngle, type Mat3 } from '../../src/geometry/mat3.ts';
import { createRng, type Rng } from '../../src/geometry/random.ts';
import { pairwiseAuc, poseAucSuperGlue, relativePoseErrorDeg } from '../../src/eval/pose-metrics.ts';
import { DEBIAN_PYTHON, GENERATED_DIR, REPO_ROOT } from '../helpers/paths.ts';

interface Reference {
  superglue: number[][];
  poseError: Array<{ t: number; R: number }>;
  pairwise: Array<{ rotation: (number | null)[]; translation: (number | null)[]; auc: number[] }>;
  numpy: string;
}

const SCRIPT = path.join(REPO_ROOT, 'test', 'eval', 'pose_auc_reference.py');
const skip = !existsSync(DEBIAN_PYTHON) ? `missing ${DEBIAN_PYTHON}` : false;

function randomRotation(rng: Rng, maxAngleRad = Math.PI): Mat3 {
  const axis = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()];
  const n = Math.hypot(...axis);
  const angle = rng.next() * maxAngleRad;
  return rotationFromAxisAngle(axis.map((v) => (v / n) * angle));
}

/** Error vectors: uniform, heavy-tailed, with failures (Infinity), zeros, ties and values exactly at thresholds. */
function errorCases(rng: Rng): number[][] {
  const cases: number[][] = [[0], [Infinity], [5], [4.999], [3, 3, 3, 20, 10, 5]];
  for (const n of [2, 7, 50, 1500]) {
    cases.push(Array.from({ length: n }, () => {
      const u = rng.next();
      if (u < 0.15) return Infinity;
      if (u < 0.2) return 0;
      if (u < 0.25) return [5, 10, 20][rng.nextInt(3)]!;
      return Math.exp(rng.nextGaussian() * 1.5 + 1.5);
    }));
  }
  cases.push(Array.from({ length: 40 }, () => Infinity));
  return cases;
}

/** A GT rig of n cameras around the origin looking inwards, and an estimate: a similarity of it plus noise. */
function pairwiseCase(rng: Rng, n: number, noiseDeg: number, unregistered: readonly number[]): { gt: Mat4[]; est: (Mat4 | null)[] } {
  const gt: Mat4[] = [];
  for (let i = 0; i < n; i++) {
    const r = randomRotation(rng);
    gt.push(fromRotationTranslation(r, [rng.nextGaussian() * 3, rng.nextGaussian() * 3, rng.nextGaussian() * 3]));
  }
  // Estimate in another world: x_est = s Q x_gt + o, with per-camera rotation and centre noise.
  const q = randomRotation(rng), s = 0.3 + rng.next() * 3, o = [rng.nextGaussian() * 10, rng.nextGaussian(), rng.nextGaussian()];
  const noise = (noiseDeg * Math.PI) / 180;
  const est = gt.map((m, i): Mat4 | null => {
    if (unregistered.includes(i)) return null;
    const r = Float64Array.of(m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!);
    const rNoisy = mul3(q, mul3(r, randomRotation(rng, noise)));
    const c = mulVec3(q, [m[3]! + rng.nextGaussian() * noise, m[7]! + rng.nextGaussian() * noise, m[11]! + rng.nextGaussian() * noise]);
    return fromRotationTranslation(rNoisy, [s * c[0]! + o[0]!, s * c[1]! + o[1]!, s * c[2]! + o[2]!]);
  });
  return { gt, est };
}

describe('pose metrics vs the numpy reference (SuperGlue pose_auc, VGGT/DA3 pairwise AUC)', { skip }, () => {
  const rng = createRng(1234);
  const superglue = errorCases(rng).map((errors, k) => ({ errors, thresholds: k % 2 === 0 ? [5, 10, 20] : [1, 3, 5, 10, 20, 30] }));
  const poseErrors = Array.from({ length: 200 }, (_, k) => {
    const rGt = randomRotation(rng);
    const tGt = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()];
    // Small, large and sign-flipped estimates (the fold must give the same error for t and -t).
    const scale = [1e-3, 0.05, 0.5, 3][k % 4]!;
    const r = mul3(rGt, randomRotation(rng, scale));
    const flip = k % 3 === 0 ? -1 : 1;
    const t = tGt.map((v) => flip * (v + rng.nextGaussian() * scale) * 2.5);
    return { R_gt: Array.from(rGt), t_gt: tGt, R: Array.from(r), t };
  });
  const pairwiseCases = [
    { ...pairwiseCase(rng, 10, 0.5, []), thresholds: [3, 30] },
    { ...pairwiseCase(rng, 12, 4, [2, 7]), thresholds: [3, 30] },
    { ...pairwiseCase(rng, 8, 15, [0]), thresholds: [1, 5, 15, 30] },
    { ...pairwiseCase(rng, 6, 0, []), thresholds: [3, 30] },
  ];
  let reference: Reference;

  before(() => {
    mkdirSync(GENERATED_DIR, { recursive: true });
    const dir = mkdtempSync(path.join(GENERATED_DIR, 'pose-auc-'));
    try {
      const job = path.join(dir, 'job.json');
      const nullInf = (v: number): number | null => (Number.isFinite(v) ? v : null);
      writeFileSync(job, JSON.stringify({
        superglue: superglue.map((c) => ({ errors: c.errors.map(nullInf), thresholds: c.thresholds })),
        poseError: poseErrors,
        pairwise: pairwiseCases.map((c) => ({ gt: c.gt.map((m) => Array.from(m)), est: c.est.map((m) => (m === null ? null : Array.from(m))), thresholds: c.thresholds })),
      }));
      const run = spawnSync(DEBIAN_PYTHON, [SCRIPT, job], { encoding: 'utf8' });
      assert.equal(run.status, 0, `pose_auc_reference.py failed: ${run.stderr}`);
      reference = JSON.parse(run.stdout) as Reference;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('poseAucSuperGlue equals pose_auc on random errors with failures, zeros, ties and errors at the thresholds', (t) => {
    let worst = 0;
    for (const [k, c] of superglue.entries()) {
      const ours = poseAucSuperGlue(c.errors, c.thresholds);
      const theirs = reference.superglue[k]!;
      assert.equal(ours.length, theirs.length);
      for (let i = 0; i < ours.length; i++) {
        worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
        assert.ok(Math.abs(ours[i]! - theirs[i]!) < 1e-12, `case ${k} (${c.errors.length} errors) @${c.thresholds[i]}: ${ours[i]} vs ${theirs[i]}`);
      }
    }
    t.diagnostic(`${superglue.length} error vectors, worst |ours - numpy| ${worst.toExponential(2)} (numpy ${reference.numpy})`);
  });

  it('relativePoseErrorDeg equals compute_pose_error (translation folded for the sign ambiguity)', () => {
    for (const [k, c] of poseErrors.entries()) {
      const ours = relativePoseErrorDeg(Float64Array.from(c.R_gt), Float64Array.from(c.t_gt), Float64Array.from(c.R), Float64Array.from(c.t));
      const theirs = reference.poseError[k]!;
      // arccos loses precision near 0 (about 1e-6 degrees), atan2 does not: compare to 2e-5 degrees.
      assert.ok(Math.abs(ours.rotationDeg - theirs.R) < 2e-5, `case ${k} rotation: ${ours.rotationDeg} vs ${theirs.R}`);
      assert.ok(Math.abs(ours.translationDeg - theirs.t) < 2e-5, `case ${k} translation: ${ours.translationDeg} vs ${theirs.t}`);
      assert.equal(ours.poseDeg, Math.max(ours.rotationDeg, ours.translationDeg));
    }
  });

  it('pairwiseAuc: per-pair errors and AUC@T equal the VGGT/DA3 histogram evaluation, unregistered views failing', (t) => {
    const lines: string[] = [];
    for (const [k, c] of pairwiseCases.entries()) {
      const ours = pairwiseAuc(c.gt, c.est, c.thresholds);
      const theirs = reference.pairwise[k]!;
      assert.equal(ours.pairs.length, theirs.rotation.length);
      for (const [p, pair] of ours.pairs.entries()) {
        const r = theirs.rotation[p] ?? Infinity, tr = theirs.translation[p] ?? Infinity;
        if (!Number.isFinite(r)) {
          assert.equal(pair.errorDeg, Infinity, `case ${k} pair ${pair.i}-${pair.j} should fail`);
          continue;
        }
        assert.ok(Math.abs(pair.rotationDeg - r) < 2e-5, `case ${k} pair ${pair.i}-${pair.j} rotation ${pair.rotationDeg} vs ${r}`);
        assert.ok(Math.abs(pair.translationDeg - tr) < 2e-5, `case ${k} pair ${pair.i}-${pair.j} translation ${pair.translationDeg} vs ${tr}`);
      }
      c.thresholds.forEach((threshold, i) => {
        assert.ok(Math.abs(ours.aucPercent[threshold]! - theirs.auc[i]!) < 1e-9, `case ${k} AUC@${threshold}: ${ours.aucPercent[threshold]} vs ${theirs.auc[i]}`);
      });
      lines.push(c.thresholds.map((th) => `AUC@${th} ${ours.aucPercent[th]!.toFixed(2)}`).join(' '));
    }
    // The noiseless case (a similarity of the GT) is perfect, so both implementations say 100.
    assert.deepEqual(reference.pairwise[3]!.auc.map((v) => Math.round(v * 1e9) / 1e9), [100, 100]);
    t.diagnostic(lines.join('; '));
  });
});
