import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createDepth, type Depth, type DepthKind } from '../core/depth.ts';
import { InputError } from '../core/errors.ts';
import { createRng } from '../geometry/random.ts';
import { fitScaleShift } from '../geometry/align-scale-shift.ts';
import { readMetricDepthFile } from '../io/read-metric-depth.ts';
import { SHARED_DATA_DIR, SHARED_MODELS_DIR } from '../../test/helpers/paths.ts';
import { openXFeatKit } from '../../test/helpers/xfeat-kit.ts';
import { decodeImage } from '../io/decode-image.ts';
import { createImage } from '../core/image.ts';
import { matchedPixels } from '../pipeline/views-features.ts';
import { createTemporalAligner, type AlignedFrame, type AlignmentUnit, type FrameCorrespondences } from './temporal-alignment.ts';
import { planWindows } from './windows.ts';

const REDWOOD = path.join(SHARED_DATA_DIR, 'open3d_rgbd_testdata/examples/test_data/RGBD/depth');

/** A smooth synthetic disparity sequence: a tilted plane and a bump that moves `speed` pixels per frame. */
function syntheticSequence(numFrames: number, width = 24, height = 16, speed = 1): Float32Array[] {
  return Array.from({ length: numFrames }, (_, frame) => {
    const f = frame * speed;
    const d = new Float32Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) d[y * width + x] = 0.2 + 0.01 * x + 0.02 * y + 0.3 * Math.exp(-((x - 4 - f) ** 2 + (y - 8) ** 2) / 8);
    }
    return d;
  });
}

const affine = (data: Float32Array, a: number, b: number, noise = 0, rng?: ReturnType<typeof createRng>): Float32Array =>
  Float32Array.from(data, (v) => (a * v + b) * (1 + noise * (rng ? 2 * rng.next() - 1 : 0)));

/** Runs the aligner over a plan; `predict(window)` gives that window's frames. Checks frames come out in order. */
function runAligner(
  numFrames: number, length: number, stride: number, unit: AlignmentUnit, kind: DepthKind, width: number, height: number,
  predict: (start: number, end: number, windowIndex: number) => Float32Array[],
): { frames: AlignedFrame[]; maxHeld: number } {
  const aligner = createTemporalAligner({ unit, seed: 3 });
  const frames: AlignedFrame[] = [];
  let maxHeld = 0;
  for (const w of planWindows(numFrames, length, stride)) {
    const maps = predict(w.start, w.end, w.index).map((data) => createDepth({ kind, width, height, data }));
    frames.push(...aligner.push(w, maps));
    maxHeld = Math.max(maxHeld, w.end - frames.length);
  }
  frames.push(...aligner.finish());
  assert.deepEqual(frames.map((f) => f.index), Array.from({ length: numFrames }, (_, i) => i));
  return { frames, maxHeld };
}

/** Largest relative error of the frames against `truth` after one global scale and shift for the whole sequence. */
function errorAfterOneGlobalFit(frames: readonly Float32Array[], truth: readonly Float32Array[]): { absRel: number; worst: number } {
  const pred = Float64Array.from(frames.flatMap((f) => [...f]));
  const target = Float64Array.from(truth.flatMap((t) => [...t]));
  const fit = fitScaleShift(pred, target)!;
  let sum = 0, n = 0, worst = 0;
  for (let i = 0; i < pred.length; i++) {
    if (!Number.isFinite(target[i]!) || !Number.isFinite(pred[i]!)) continue;
    const e = Math.abs(fit.scale * pred[i]! + fit.shift - target[i]!) / Math.abs(target[i]!);
    sum += e; n++; worst = Math.max(worst, e);
  }
  return { absRel: sum / n, worst };
}

test('window unit, exact: windows under different affine maps come back under the first window\'s map, one window held at most', () => {
  const truth = syntheticSequence(11);
  const maps = [[2, 0.5], [0.5, -0.1], [1.3, 0.2], [0.8, 0.05], [3, -0.4]];
  const { frames, maxHeld } = runAligner(11, 4, 2, 'window', 'disparity', 24, 16,
    (start, end, w) => truth.slice(start, end).map((t) => affine(t, maps[w]![0]!, maps[w]![1]!)));
  for (const f of frames) {
    const expected = affine(truth[f.index]!, 2, 0.5);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(f.depth.data[i]! - expected[i]!) < 1e-5, `frame ${f.index} pixel ${i}: ${f.depth.data[i]} vs ${expected[i]}`);
    assert.equal(f.depth.kind, 'disparity');
  }
  assert.ok(maxHeld <= 4, `held ${maxHeld} frames`);
  // Per-unit fits are reported: window 1 maps its prediction onto window 0's map.
  assert.ok(Math.abs(frames[2]!.fit.scale - 2 / 0.5) < 1e-5, `frame 2 fit ${frames[2]!.fit.scale}`);
});

test('frame unit, exact: each frame\'s own affine map is undone against its predecessor (static scene)', () => {
  const truth = syntheticSequence(7, 24, 16, 0);
  const rng = createRng(11);
  const maps = truth.map((_, f) => (f === 0 ? [1, 0] : [0.3 + 2 * rng.next(), 0.4 * rng.next() - 0.2]));
  const { frames } = runAligner(7, 3, 1, 'frame', 'disparity', 24, 16,
    (start, end) => truth.slice(start, end).map((t, k) => affine(t, maps[start + k]![0]!, maps[start + k]![1]!)));
  const { worst } = errorAfterOneGlobalFit(frames.map((f) => f.depth.data), truth);
  assert.ok(worst < 1e-4, `worst relative error ${worst}`);
});

test('relative depth is aligned by scale only; metric depth is left as it is', () => {
  const truth = syntheticSequence(6).map((d) => Float32Array.from(d, (v) => 1 / v));
  const { frames } = runAligner(6, 4, 2, 'window', 'relativeDepth', 24, 16,
    (start, end, w) => truth.slice(start, end).map((t) => affine(t, [1, 2.5][w]!, 0)));
  for (let i = 0; i < truth[5]!.length; i++) assert.ok(Math.abs(frames[5]!.depth.data[i]! - truth[5]![i]!) < 1e-4);
  const metric = runAligner(6, 4, 2, 'window', 'metricDepth', 24, 16,
    (start, end, w) => truth.slice(start, end).map((t) => affine(t, [1, 2.5][w]!, 0)));
  assert.equal(metric.frames[5]!.fit.scale, 1);
});

/** Redwood living-room frames: real depth (mm), the camera moving ~2 cm and ~1 degree per frame. */
async function redwoodDisparity(): Promise<{ truth: Float32Array[]; width: number; height: number }> {
  const truth: Float32Array[] = [];
  let width = 0, height = 0;
  for (let f = 0; f < 5; f++) {
    const depth = await readMetricDepthFile(path.join(REDWOOD, `0000${f}.png`), 1000);
    width = depth.width; height = depth.height;
    truth.push(Float32Array.from(depth.depthMeters, (d) => (d > 0 ? 1 / d : NaN)));
  }
  return { truth, width, height };
}

/** Per-frame normalisation, as a viewer of per-frame outputs does: each frame mapped to [0, 1] by its own min and max. */
function normalizedPerFrame(frames: readonly Float32Array[]): Float32Array[] {
  return frames.map((c) => {
    let lo = Infinity, hi = -Infinity;
    for (const v of c) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    return Float32Array.from(c, (v) => (v - lo) / (hi - lo));
  });
}

/**
 * MiDaS's scale-and-shift-invariant normalisation, per frame: shift by the median, divide by the mean absolute
 * deviation from it (Ranftl et al. 2020, eq. 6). Unlike min-max it ignores outliers, but it still depends on
 * what the frame shows.
 */
function medianMadPerFrame(frames: readonly Float32Array[]): Float32Array[] {
  return frames.map((c) => {
    const finite = Float64Array.from(c.filter((v) => Number.isFinite(v))).sort();
    const n = finite.length;
    const median = n % 2 === 1 ? finite[n >> 1]! : (finite[n / 2 - 1]! + finite[n / 2]!) / 2;
    let mad = 0;
    for (const v of finite) mad += Math.abs(v - median);
    mad /= n;
    return Float32Array.from(c, (v) => (v - median) / mad);
  });
}

test('MiDaS normalisation (checked by hand): median 3, mean absolute deviation (2+1+0+1+6)/5 = 2', () => {
  assert.deepEqual([...medianMadPerFrame([Float32Array.of(1, 2, 3, 4, 9, NaN)])[0]!], [-1, -0.5, 0, 0.5, 3, NaN]);
});

test('real depth, corrupted per frame as a per-frame relative model would be: alignment gets to the noise level', async () => {
  const { truth, width, height } = await redwoodDisparity();
  const rng = createRng(5);
  const noise = 0.01;
  const maps = truth.map(() => [0.5 + 1.5 * rng.next(), 0.3 * (rng.next() - 0.5)]);
  const corrupted = truth.map((t, f) => affine(t, maps[f]![0]!, maps[f]![1]!, noise, rng));
  const { frames } = runAligner(5, 2, 1, 'frame', 'disparity', width, height, (start, end) => corrupted.slice(start, end));
  const aligned = errorAfterOneGlobalFit(frames.map((f) => f.depth.data), truth);
  const unaligned = errorAfterOneGlobalFit(corrupted, truth);
  const perFrame = errorAfterOneGlobalFit(normalizedPerFrame(corrupted), truth);
  const perFrameMidas = errorAfterOneGlobalFit(medianMadPerFrame(corrupted), truth);
  console.log(`Redwood, 5 real frames: disparity AbsRel after one global fit: aligned ${aligned.absRel.toFixed(4)}, unaligned ${unaligned.absRel.toFixed(4)}, `
    + `per-frame min-max ${perFrame.absRel.toFixed(4)}, per-frame median/MAD (MiDaS) ${perFrameMidas.absRel.toFixed(4)} `
    + `(noise ${noise}; the view barely changes, so per-frame normalisations are nearly affine-invariant here)`);
  assert.ok(aligned.absRel < 2 * noise, `aligned AbsRel ${aligned.absRel}`);
  assert.ok(unaligned.absRel > 4 * aligned.absRel, `unaligned ${unaligned.absRel} vs aligned ${aligned.absRel}`);
});

test('real depth, corrupted per window as a video model would be: window alignment gets to the noise level', async () => {
  const { truth, width, height } = await redwoodDisparity();
  const rng = createRng(8);
  const noise = 0.01;
  const windows = planWindows(5, 3, 1);
  const maps = windows.map(() => [0.5 + 1.5 * rng.next(), 0.3 * (rng.next() - 0.5)]);
  const { frames } = runAligner(5, 3, 1, 'window', 'disparity', width, height,
    (start, end, w) => truth.slice(start, end).map((t) => affine(t, maps[w]![0]!, maps[w]![1]!, noise, rng)));
  const { absRel } = errorAfterOneGlobalFit(frames.map((f) => f.depth.data), truth);
  assert.ok(absRel < noise, `AbsRel ${absRel}`);
});

test('misuse is an InputError: no overlap for window alignment, out of order, mixed sizes or kinds', () => {
  const d = (w = 4, h = 3, kind: DepthKind = 'disparity'): Depth => createDepth({ kind, width: w, height: h, data: Float32Array.from({ length: w * h }, (_, i) => 1 + i) });
  const noOverlap = createTemporalAligner({ unit: 'window' });
  noOverlap.push({ index: 0, start: 0, end: 2 }, [d(), d()]);
  assert.throws(() => noOverlap.push({ index: 1, start: 2, end: 4 }, [d(), d()]), (e: unknown) => e instanceof InputError && /stride shorter/.test(e.message));
  const order = createTemporalAligner({ unit: 'frame' });
  order.push({ index: 0, start: 0, end: 2 }, [d(), d()]);
  assert.throws(() => order.push({ index: 1, start: 0, end: 2 }, [d(), d()]), /out of order/);
  assert.throws(() => order.push({ index: 1, start: 4, end: 6 }, [d(), d()]), /gap/);
  assert.throws(() => order.push({ index: 1, start: 1, end: 3 }, [d(), d(5)]), /4x3/);
  assert.throws(() => order.push({ index: 1, start: 1, end: 3 }, [d(), d(4, 3, 'metricDepth')]), /disparity/);
  assert.throws(() => order.push({ index: 1, start: 1, end: 3 }, [d()]), /2 predictions|1 predictions/);
});

test('a pan whose view changes: alignment (same pixel, or XFeat matches) stays under the noise level, per-frame min-max does not', async () => {
  // 40 crops of Redwood frame 0 (real colour and real depth), 3 px further right each frame: a camera pan. Each
  // crop's disparity gets its own affine map and 1% noise. The real XFeat network matches consecutive colour crops.
  const { truth: [full], width } = await redwoodDisparity();
  const color = await decodeImage({ path: path.join(REDWOOD, '..', 'color', '00000.jpg') });
  const cropW = 400, cropH = 300, step = 3, n = 40, top = 90;
  const crop = <T extends Uint8Array | Float32Array>(src: T, channels: number, f: number, make: (len: number) => T): T => {
    const out = make(cropW * cropH * channels);
    for (let y = 0; y < cropH; y++) out.set(src.subarray(((y + top) * width + f * step) * channels, ((y + top) * width + f * step + cropW) * channels), y * cropW * channels);
    return out;
  };
  const truth = Array.from({ length: n }, (_, f) => crop(full!, 1, f, (l) => new Float32Array(l)));
  const rng = createRng(9);
  const noise = 0.01;
  const corrupted = truth.map((t) => affine(t, 0.5 + 1.5 * rng.next(), 0.3 * (rng.next() - 0.5), noise, rng));
  const kit = await openXFeatKit(path.join(SHARED_MODELS_DIR, 'xfeat_640x640.onnx'));
  try {
    const features = [];
    for (let f = 0; f < n; f++) {
      features.push(await kit.extractor.extract(createImage({ width: cropW, height: cropH, channels: 3, data: crop(color.data, 3, f, (l) => new Uint8Array(l)) })));
    }
    const correspondences: (FrameCorrespondences | undefined)[] = [undefined];
    for (let f = 1; f < n; f++) {
      const m = await kit.matcher.match(features[f]!, features[f - 1]!, { minSimilarity: 0.82 });
      correspondences.push({ current: matchedPixels(features[f]!.keypoints, m.indices0), previous: matchedPixels(features[f - 1]!.keypoints, m.indices1) });
    }
    const run = (useMatches: boolean) => {
      const aligner = createTemporalAligner({ unit: 'frame', seed: 2 });
      const out: Float32Array[] = [];
      for (let f = 0; f < n; f++) {
        const frame = createDepth({ kind: 'disparity', width: cropW, height: cropH, data: corrupted[f]! });
        aligner.push({ index: f, start: f, end: f + 1 }, [frame], useMatches ? [correspondences[f]] : undefined).forEach((o) => out.push(o.depth.data));
      }
      aligner.finish().forEach((o) => out.push(o.depth.data));
      return errorAfterOneGlobalFit(out, truth).absRel;
    };
    const samePixel = run(false);
    const matched = run(true);
    const perFrame = errorAfterOneGlobalFit(normalizedPerFrame(corrupted), truth).absRel;
    const perFrameMidas = errorAfterOneGlobalFit(medianMadPerFrame(corrupted), truth).absRel;
    console.log(`Redwood pan, 40 frames: disparity AbsRel after one global fit: same-pixel ${samePixel.toFixed(4)}, with XFeat matches ${matched.toFixed(4)}, `
      + `per-frame min-max ${perFrame.toFixed(4)}, per-frame median/MAD (MiDaS) ${perFrameMidas.toFixed(4)} (noise ${noise})`);
    assert.ok(matched < noise && samePixel < noise, `with matches ${matched}, same-pixel ${samePixel}`);
    assert.ok(matched <= samePixel * 1.05, `matches ${matched} vs same-pixel ${samePixel}`);
    assert.ok(perFrame > 1.5 * matched, `per-frame min-max ${perFrame} vs aligned ${matched}`);
    // The median moves with what comes into view: worse than min-max on a pan.
    assert.ok(perFrameMidas > 1.5 * matched, `per-frame median/MAD ${perFrameMidas} vs aligned ${matched}`);
  } finally {
    await kit.close();
  }
});
