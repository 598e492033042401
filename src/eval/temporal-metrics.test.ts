import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createIntrinsics } from '../core/camera.ts';
import { createDepth } from '../core/depth.ts';
import { InputError } from '../core/errors.ts';
import { createImage } from '../core/image.ts';
import { fromRotationTranslation, identity4 } from '../core/mat4.ts';
import { fitScaleShift } from '../geometry/align-scale-shift.ts';
import { createRng } from '../geometry/random.ts';
import { readMetricDepthFile } from '../io/read-metric-depth.ts';
import { createTemporalAligner } from '../video/temporal-alignment.ts';
import { SHARED_DATA_DIR } from '../../test/helpers/paths.ts';
import { parseRedwoodTrajectory } from './datasets/redwood.ts';
import { reprojectionAbsRel, staticFlicker, temporalAlignmentError, type DepthFrame } from './temporal-metrics.ts';

const K = createIntrinsics({ fxPx: 50, fyPx: 50, cxPx: 31.5, cyPx: 23.5, width: 64, height: 48 });
const plane = (z: number): DepthFrame => ({ width: 64, height: 48, data: new Float32Array(64 * 48).fill(z) });
const shifted = fromRotationTranslation([1, 0, 0, 0, 1, 0, 0, 0, 1], [0.1, 0, 0]);

test('closed form: a wall seen from a sideways step is consistent (TAE 0); a 10% scale jump gives (0.1 + 0.1/1.1) / 2', () => {
  assert.equal(temporalAlignmentError([plane(2), plane(2)], [identity4(), shifted], K), 0);
  const tae = temporalAlignmentError([plane(2), plane(2.2)], [identity4(), shifted], K);
  assert.ok(Math.abs(tae - (0.1 + 0.1 / 1.1) / 2) < 1e-6, `${tae}`);
  // Stepping sideways by 0.1 m at 2 m moves the wall by 2.5 px, so the leftmost columns leave the view.
  const { count } = reprojectionAbsRel(plane(2), plane(2), K, shifted);
  assert.equal(count, (64 - 3) * 48);
});

test('flicker counts only pixels whose colour stayed put', () => {
  const still = createImage({ width: 64, height: 48, channels: 3, data: new Uint8Array(64 * 48 * 3).fill(100) });
  const moved = createImage({ width: 64, height: 48, channels: 3, data: new Uint8Array(64 * 48 * 3).map((_, i) => (i < 64 * 24 * 3 ? 100 : 200)) });
  const { flicker, count } = staticFlicker([plane(2), plane(2.5)], [still, moved]);
  assert.equal(count, 64 * 24);
  assert.ok(Math.abs(flicker - 0.25) < 1e-6);
  assert.throws(() => staticFlicker([plane(2)], []), InputError);
  assert.throws(() => temporalAlignmentError([plane(2)], [identity4()], K), InputError);
});

const REDWOOD = path.join(SHARED_DATA_DIR, 'open3d_rgbd_testdata/examples/test_data/RGBD');

test('real RGB-D with ground-truth poses: GT depth is consistent; per-frame affine corruption is not; our alignment restores it', async () => {
  const poses = parseRedwoodTrajectory(await readFile(path.join(REDWOOD, 'trajectory.log'), 'utf8'));
  const depths: DepthFrame[] = [];
  for (let f = 0; f < 5; f++) {
    const d = await readMetricDepthFile(path.join(REDWOOD, 'depth', `0000${f}.png`), 1000);
    depths.push({ width: d.width, height: d.height, data: Float32Array.from(d.depthMeters, (v) => (v > 0 ? v : NaN)) });
  }
  const k = createIntrinsics({ fxPx: 525, fyPx: 525, cxPx: 319.5, cyPx: 239.5, width: 640, height: 480 });
  const gtTae = temporalAlignmentError(depths, poses.slice(0, 5), k);
  // Identity poses instead of the real ones: the camera does move, so the error must grow.
  const staticTae = temporalAlignmentError(depths, depths.map(() => identity4()), k);

  // As a per-frame relative model would: each frame's disparity under its own affine map, plus 1% noise.
  const rng = createRng(21);
  const disparity = depths.map((d) => Float32Array.from(d.data, (v) => 1 / v));
  const corrupted = disparity.map((d) => { const a = 0.5 + 1.5 * rng.next(), b = 0.3 * (rng.next() - 0.5); return Float32Array.from(d, (v) => (a * v + b) * (1 + 0.01 * (2 * rng.next() - 1))); });
  const aligner = createTemporalAligner({ unit: 'frame' });
  const aligned: Float32Array[] = [];
  corrupted.forEach((c, f) => aligner.push({ index: f, start: f, end: f + 1 }, [createDepth({ kind: 'disparity', width: 640, height: 480, data: c })]).forEach((o) => aligned.push(o.depth.data)));
  aligner.finish().forEach((o) => aligned.push(o.depth.data));
  // Evaluation protocol: one global scale and shift in disparity to the GT for the whole sequence, then depth.
  const toDepth = (frames: Float32Array[]): DepthFrame[] => {
    const fit = fitScaleShift(Float64Array.from(frames.flatMap((f) => [...f])), Float64Array.from(disparity.flatMap((d) => [...d])))!;
    return frames.map((f) => ({ width: 640, height: 480, data: Float32Array.from(f, (v) => 1 / (fit.scale * v + fit.shift)) }));
  };
  const alignedTae = temporalAlignmentError(toDepth(aligned), poses.slice(0, 5), k);
  const corruptedTae = temporalAlignmentError(toDepth(corrupted), poses.slice(0, 5), k);
  console.log(`Redwood TAE: GT ${gtTae.toFixed(4)} (with identity poses ${staticTae.toFixed(4)}); per-frame affine corruption ${corruptedTae.toFixed(4)}; after alignment ${alignedTae.toFixed(4)}`);
  assert.ok(gtTae < 0.03, `GT TAE ${gtTae}`);
  assert.ok(staticTae > 1.5 * gtTae, `the real poses explain the motion: ${staticTae} vs ${gtTae}`);
  assert.ok(corruptedTae > 3 * alignedTae, `corrupted ${corruptedTae} vs aligned ${alignedTae}`);
  assert.ok(alignedTae < gtTae + 0.03, `aligned ${alignedTae} vs GT ${gtTae}`);
});

test('a malformed trajectory names the line', () => {
  assert.throws(() => parseRedwoodTrajectory('0 0 1\n1 0 0 0\n0 1 0\n0 0 1 0\n0 0 0 1\n'), /matrix row 1/);
  assert.throws(() => parseRedwoodTrajectory('0 0 1\n1 0 0 0\n'), /5 per frame/);
});
