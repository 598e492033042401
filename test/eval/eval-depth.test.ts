import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { ProgressEvent } from '../../src/core/context.ts';
import { createDepth, type Depth, type DepthKind } from '../../src/core/depth.ts';
import { AbortError, InputError } from '../../src/core/errors.ts';
import { createRng } from '../../src/geometry/random.ts';
import { DEPTH_DATASETS, type DepthDatasetName } from '../../src/eval/datasets/index.ts';
import type { DatasetSample } from '../../src/eval/datasets/types.ts';
import { type EvaluateDepthOptions, type PredictDepth, evaluateDepth } from '../../src/pipeline/eval-depth.ts';
import { DEBIAN_PYTHON, GENERATED_DIR, SHARED_DATA_DIR } from '../helpers/paths.ts';

const HAVE_DATA = existsSync(path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti'));
const skip = HAVE_DATA ? false : `no staged data at ${SHARED_DATA_DIR}`;
const ROOT = SHARED_DATA_DIR;
const NAMES: DepthDatasetName[] = ['nyu', 'kitti', 'tum', 'redwood'];

/** A predict function deriving its output from the sample's own GT (invalid GT -> `fill`). */
function fromGt(name: DepthDatasetName, kind: DepthKind, transform: (depthMeters: number, index: number) => number, fill = 1): PredictDepth {
  return async (_image, sample: DatasetSample): Promise<Depth> => {
    const gt = await DEPTH_DATASETS[name].load(sample);
    const data = Float32Array.from(gt.depthMeters, (d, i) => (Number.isFinite(d) ? transform(d, i) : fill));
    return createDepth({ kind, width: gt.width, height: gt.height, data });
  };
}

test('GT as metricDepth is perfect on every dataset (auto -> none), with one progress event per image', { skip }, async () => {
  for (const name of NAMES) {
    const events: ProgressEvent[] = [];
    const result = await evaluateDepth(name, ROOT, fromGt(name, 'metricDepth', (d) => d), { alignment: 'auto' }, { onProgress: (e) => events.push(e) });
    assert.equal(result.alignment, 'none', name);
    assert.ok(result.numImages >= 3, `${name}: ${result.numImages} images`);
    assert.equal(result.metrics.absRel, 0, name);
    assert.equal(result.metrics.rmse, 0, name);
    assert.equal(result.metrics.delta1, 1, name);
    assert.equal(events.length, result.numImages + 1);
    assert.deepEqual(events.at(-1), { stage: 'eval', done: result.numImages, total: result.numImages, unit: 'images', item: result.perImage.at(-1)!.id });
  }
});

test('GT turned into disparity a/depth + b is perfect after alignment on every dataset', { skip }, async () => {
  const a = 3;
  const b = 0.2;
  for (const name of NAMES) {
    const result = await evaluateDepth(name, ROOT, fromGt(name, 'disparity', (d) => a / d + b), { alignment: 'auto' });
    assert.equal(result.alignment, 'scaleShiftDisparity');
    assert.ok(result.metrics.absRel < 1e-5, `${name} AbsRel ${result.metrics.absRel}`);
    assert.equal(result.metrics.delta1, 1);
    for (const r of result.perImage) {
      assert.ok(Math.abs(r.scale! - 1 / a) < 1e-5 && Math.abs(r.shift! + b / a) < 1e-5, `${name} ${r.id}: ${r.scale}, ${r.shift}`);
    }
  }
});

test('relativeDepth s*depth + t is perfect after depth-space alignment', { skip }, async () => {
  const result = await evaluateDepth('kitti', ROOT, fromGt('kitti', 'relativeDepth', (d) => 0.02 * d + 0.5), { alignment: 'auto' });
  assert.equal(result.alignment, 'scaleShiftDepth');
  assert.ok(result.metrics.absRel < 1e-5, `AbsRel ${result.metrics.absRel}`);
});

test('alignment in the wrong space is demonstrably worse', { skip }, async () => {
  // Disparity with a non-zero shift is not depth up to scale and shift, so fitting 1/disparity in depth space fails.
  const disparity = fromGt('nyu', 'disparity', (d) => 1 / d + 0.3);
  const right = await evaluateDepth('nyu', ROOT, disparity, { alignment: 'scaleShiftDisparity' });
  const wrong = await evaluateDepth('nyu', ROOT, disparity, { alignment: 'scaleShiftDepth' });
  assert.ok(right.metrics.absRel < 1e-5, `right-space AbsRel ${right.metrics.absRel}`);
  assert.ok(wrong.metrics.absRel > 0.02, `wrong-space AbsRel ${wrong.metrics.absRel}`);
  // And the converse: depth with a shift, fitted in disparity space.
  const depth = fromGt('nyu', 'relativeDepth', (d) => d + 2);
  const rightDepth = await evaluateDepth('nyu', ROOT, depth, { alignment: 'scaleShiftDepth' });
  const wrongDepth = await evaluateDepth('nyu', ROOT, depth, { alignment: 'scaleShiftDisparity' });
  assert.ok(rightDepth.metrics.absRel < 1e-5, `right-space AbsRel ${rightDepth.metrics.absRel}`);
  assert.ok(wrongDepth.metrics.absRel > 0.02, `wrong-space AbsRel ${wrongDepth.metrics.absRel}`);
});

/** Disparity a/d + b with Gaussian noise and `outlierRatio` of the pixels replaced by uniform disparity junk. */
function noisyDisparity(name: DepthDatasetName, a: number, b: number, noise: number, outlierRatio: number, seed: number): PredictDepth {
  return async (image, sample) => {
    const rng = createRng(seed);
    return fromGt(name, 'disparity', (d) => (rng.next() < outlierRatio ? 5 * rng.next() : a / d + b + noise * rng.nextGaussian()))(image, sample);
  };
}

test('noise + 20% gross outliers: RANSAC recovers the alignment, plain least squares does not', { skip }, async () => {
  const a = 2;
  const b = 0.1;
  const predict = noisyDisparity('nyu', a, b, 0.002, 0.2, 17);
  const base: EvaluateDepthOptions = { alignment: 'auto', limit: 2 };
  const ls = await evaluateDepth('nyu', ROOT, predict, base);
  const robust = await evaluateDepth('nyu', ROOT, predict, { ...base, ransac: { threshold: 0.01, iterations: 200, seed: 1 } });
  for (const r of robust.perImage) {
    assert.ok(Math.abs(r.scale! * a - 1) < 0.01, `RANSAC scale ${r.scale} vs ${1 / a}`);
    assert.ok(Math.abs(r.shift! + b / a) < 0.005, `RANSAC shift ${r.shift} vs ${-b / a}`);
  }
  for (const r of ls.perImage) {
    assert.ok(Math.abs(r.scale! * a - 1) > 0.3, `LS scale ${r.scale} unexpectedly close to ${1 / a}`);
  }
  // With the right alignment about 80% of pixels are within delta1 (the outliers stay wrong).
  assert.ok(robust.metrics.delta1 > 0.78, `RANSAC delta1 ${robust.metrics.delta1}`);
  assert.ok(ls.metrics.delta1 < robust.metrics.delta1 - 0.1, `LS delta1 ${ls.metrics.delta1}`);
  // AbsRel is dominated by the junk pixels in both, but still lower with the right alignment.
  assert.ok(ls.metrics.absRel > robust.metrics.absRel, `LS AbsRel ${ls.metrics.absRel} vs RANSAC ${robust.metrics.absRel}`);
});

test('the dataset crop is applied: errors outside the Garg crop do not count (and do without it)', { skip }, async () => {
  // Wrong (x3) in the top 150 rows, which the Garg crop (rows 153..370 of 375) leaves out.
  const predict: PredictDepth = async (image, sample) => {
    const depth = await fromGt('kitti', 'metricDepth', (d) => d)(image, sample);
    for (let i = 0; i < 150 * depth.width; i++) depth.data[i] = depth.data[i]! * 3;
    return depth;
  };
  const cropped = await evaluateDepth('kitti', ROOT, predict, { alignment: 'none' });
  assert.equal(cropped.protocol.crop, 'garg-kitti');
  assert.equal(cropped.metrics.absRel, 0);
  const uncropped = await evaluateDepth('kitti', ROOT, predict, { alignment: 'none', crop: null });
  assert.ok(uncropped.metrics.absRel > 0.01, `uncropped AbsRel ${uncropped.metrics.absRel}`);
});

test('the depth cap is applied: GT beyond 80 m does not count on KITTI (and does with the cap lifted)', { skip }, async () => {
  // KITTI GT reaches ~85 m (MANIFEST 1a); predict 1 m there.
  const predict = fromGt('kitti', 'metricDepth', (d) => (d >= 80 ? 1 : d));
  const capped = await evaluateDepth('kitti', ROOT, predict, { alignment: 'none' });
  assert.equal(capped.metrics.absRel, 0);
  const lifted = await evaluateDepth('kitti', ROOT, predict, { alignment: 'none', maxDepthMeters: 100 });
  assert.ok(lifted.metrics.absRel > 0 && lifted.metrics.delta1 < 1, `lifted ${JSON.stringify(lifted.metrics)}`);
});

test('errors: size mismatch, none for disparity, mixed kinds, bad limit, abort', { skip }, async () => {
  const small: PredictDepth = async () => createDepth({ kind: 'metricDepth', width: 320, height: 240, data: new Float32Array(320 * 240) });
  await assert.rejects(evaluateDepth('nyu', ROOT, small, { alignment: 'none' }), (e: unknown) => e instanceof InputError && /320x240 but its GT is 640x480/.test(e.message));
  await assert.rejects(evaluateDepth('nyu', ROOT, fromGt('nyu', 'disparity', (d) => 1 / d), { alignment: 'none' }), /cannot evaluate a disparity/);
  let call = 0;
  const mixed: PredictDepth = async (image, sample) => fromGt('nyu', call++ === 0 ? 'disparity' : 'metricDepth', (d) => d)(image, sample);
  await assert.rejects(evaluateDepth('nyu', ROOT, mixed, { alignment: 'auto' }), /one prediction kind/);
  await assert.rejects(evaluateDepth('nyu', ROOT, small, { alignment: 'none', limit: 0 }), InputError);
  const limited = await evaluateDepth('nyu', ROOT, fromGt('nyu', 'metricDepth', (d) => d), { alignment: 'none', limit: 1 });
  assert.equal(limited.numImages, 1);
  const controller = new AbortController();
  const aborting: PredictDepth = async (image, sample) => {
    controller.abort();
    return fromGt('nyu', 'metricDepth', (d) => d)(image, sample);
  };
  await assert.rejects(evaluateDepth('nyu', ROOT, aborting, { alignment: 'none' }, { signal: controller.signal }), AbortError);
});

test('matches an independent numpy implementation of the protocol on real NYU and KITTI frames', { skip }, async (t) => {
  if (!existsSync(DEBIAN_PYTHON)) {
    t.skip(`no reference python at ${DEBIAN_PYTHON}`);
    return;
  }
  mkdirSync(GENERATED_DIR, { recursive: true });
  const cases = [
    { name: 'nyu' as const, scale: 1000, crop: [45, 471, 41, 601], maxDepth: 10 },
    { name: 'kitti' as const, scale: 256, crop: [153, 371, 44, 1197], maxDepth: 80 },
  ];
  for (const c of cases) {
    const [sample] = await DEPTH_DATASETS[c.name].list(ROOT);
    assert.ok(sample);
    // A noisy disparity with 10% junk and some negative values, so the clamp and clipping matter.
    const predict = noisyDisparity(c.name, 1.5, -0.01, 0.01, 0.1, 5);
    const prediction = await predict({ width: 1, height: 1, channels: 3, colorSpace: 'srgb', data: new Uint8Array(3) }, sample);
    const predPath = path.join(GENERATED_DIR, `eval-ref-${c.name}.f32`);
    writeFileSync(predPath, prediction.data);
    const ours = await evaluateDepth(c.name, ROOT, async () => prediction, { alignment: 'auto', limit: 1 });
    // Reference: cv2 decode, mask = crop & 1e-3 < gt < max, LS via lstsq in disparity space,
    // disparity below 1/max -> max, clip to [1e-3, max], metrics over the mask.
    const script = `
import sys, json, numpy as np, cv2
gt = cv2.imread(sys.argv[1], -1).astype(np.float64) / ${c.scale}
pred = np.fromfile(sys.argv[2], dtype=np.float32).astype(np.float64).reshape(gt.shape)
mask = np.zeros(gt.shape, bool); mask[${c.crop[0]}:${c.crop[1]}, ${c.crop[2]}:${c.crop[3]}] = True
mask &= (gt > 1e-3) & (gt < ${c.maxDepth})
A = np.stack([pred[mask], np.ones(mask.sum())], 1)
s, b = np.linalg.lstsq(A, 1.0 / gt[mask], rcond=None)[0]
disp = s * pred + b
depth = np.where(disp > 1.0 / ${c.maxDepth}, 1.0 / np.maximum(disp, 1e-12), ${c.maxDepth})
depth = np.clip(depth, 1e-3, ${c.maxDepth})[mask]; g = gt[mask]
r = np.maximum(depth / g, g / depth)
print(json.dumps(dict(scale=s, shift=b, absRel=float(np.mean(np.abs(depth - g) / g)), rmse=float(np.sqrt(np.mean((depth - g) ** 2))),
  rmseLog=float(np.sqrt(np.mean((np.log(depth) - np.log(g)) ** 2))), delta1=float(np.mean(r < 1.25)), delta3=float(np.mean(r < 1.25 ** 3)), n=int(mask.sum()))))
`;
    const out = spawnSync(DEBIAN_PYTHON, ['-c', script, sample.depthPath, predPath], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const ref = JSON.parse(out.stdout) as Record<string, number>;
    const mine = ours.perImage[0]!;
    assert.equal(mine.metrics.numValid, ref['n']);
    assert.ok(Math.abs(mine.scale! - ref['scale']!) < 1e-6 * Math.abs(ref['scale']!), `${c.name} scale ${mine.scale} vs ${ref['scale']}`);
    for (const key of ['absRel', 'rmse', 'rmseLog', 'delta1', 'delta3'] as const) {
      assert.ok(Math.abs(mine.metrics[key] - ref[key]!) < 1e-5 * Math.max(1, ref[key]!), `${c.name} ${key}: ${mine.metrics[key]} vs ${ref[key]}`);
    }
    t.diagnostic(`${c.name} ${sample.id}: AbsRel ${mine.metrics.absRel.toFixed(6)} (numpy ${ref['absRel']!.toFixed(6)}), delta1 ${mine.metrics.delta1.toFixed(6)} (numpy ${ref['delta1']!.toFixed(6)})`);
  }
});
