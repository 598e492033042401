/**
 * Point-cloud fusion on closed-form scenes: a tilted plane seen by cameras with known poses (one view corrupted),
 * points on a voxel lattice with known means, percentiles and caps with known counts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createCamera, type Camera } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { createImage } from '../core/image.ts';
import { fromRotationTranslation } from '../core/mat4.ts';
import { createPointMap } from '../core/points.ts';
import { fusePointClouds, percentileLinear, seededSubset, type FusionView } from './fusion.ts';

const W = 40, H = 30, F = 40;
/** The plane z = 10 + 0.3 y (world), seen by cameras looking down +z. */
const SLOPE = 0.3, OFFSET = 10;
const CORRUPT = { u0: 10, u1: 20, v0: 8, v1: 16, factor: 1.3 };

function planeResidual(x: number, y: number, z: number): number {
  void x;
  return z - (OFFSET + SLOPE * y);
}

/** A view of the plane from camera centre (cx, 0, 0), identity rotation; optionally corrupted in a box. */
function planeView(centreX: number, corrupt: boolean): FusionView & { camera: Camera; depth: Float32Array } {
  const camera = createCamera({ fxPx: F, fyPx: F, cxPx: (W - 1) / 2, cyPx: (H - 1) / 2, width: W, height: H },
    fromRotationTranslation([1, 0, 0, 0, 1, 0, 0, 0, 1], [centreX, 0, 0]));
  const depth = new Float32Array(W * H);
  const points = new Float32Array(W * H * 3);
  const rgb = new Uint8Array(W * H * 3);
  for (let v = 0; v < H; v++) {
    for (let u = 0; u < W; u++) {
      const i = v * W + u;
      const dx = (u - (W - 1) / 2) / F, dy = (v - (H - 1) / 2) / F;
      // Ray (dx, dy, 1) * D on the plane: D = OFFSET + SLOPE * D * dy.
      let d = OFFSET / (1 - SLOPE * dy);
      if (corrupt && u >= CORRUPT.u0 && u < CORRUPT.u1 && v >= CORRUPT.v0 && v < CORRUPT.v1) d *= CORRUPT.factor;
      depth[i] = d;
      points[i * 3] = centreX + d * dx;
      points[i * 3 + 1] = d * dy;
      points[i * 3 + 2] = d;
      rgb[i * 3] = u;
      rgb[i * 3 + 1] = v;
      rgb[i * 3 + 2] = corrupt ? 255 : 0;
    }
  }
  return {
    pointMap: createPointMap({ width: W, height: H, frame: 'world', points }),
    colors: createImage({ width: W, height: H, channels: 3, data: rgb }),
    camera,
    depth,
  };
}

function offPlaneCount(positions: Float32Array): number {
  let n = 0;
  for (let k = 0; k < positions.length / 3; k++) {
    if (Math.abs(planeResidual(positions[k * 3]!, positions[k * 3 + 1]!, positions[k * 3 + 2]!)) > 1e-3) n++;
  }
  return n;
}

const CORRUPTED = (CORRUPT.u1 - CORRUPT.u0) * (CORRUPT.v1 - CORRUPT.v0);

describe('depth-consistency filter', () => {
  // Baselines of 0.3 world units at depth ~10 shift the image by ~1.2 px between neighbouring views.
  const views = [planeView(0, false), planeView(0.3, false), planeView(0.6, true)];

  test('without it the corrupted points are in the cloud', () => {
    const { cloud, stats } = fusePointClouds(views, { confidencePercentile: 0 });
    assert.equal(stats.validPoints, 3 * W * H);
    assert.equal(cloud.numPoints, 3 * W * H);
    assert.equal(offPlaneCount(cloud.positions), CORRUPTED);
  });

  test('three views, one corrupted: every corrupted point goes, the good views stay (but for border columns)', () => {
    const { cloud, stats } = fusePointClouds(views, { confidencePercentile: 0, consistency: { relativeTolerance: 0.05 } });
    assert.equal(offPlaneCount(cloud.positions), 0);
    // Each view can lose only the few columns no other view sees (shifts of 1.2 and 2.4 px).
    assert.ok(stats.afterConsistency >= 3 * W * H - CORRUPTED - 3 * 3 * H, `${stats.afterConsistency}`);
    assert.ok(stats.afterConsistency <= 3 * W * H - CORRUPTED);
    // Corrupted pixels were coloured blue = 255; only uncorrupted ones of view 2 may remain.
    let blue = 0;
    for (let k = 0; k < cloud.numPoints; k++) if (cloud.colors![k * 3 + 2] === 255) blue++;
    assert.ok(blue <= W * H - CORRUPTED);
  });

  test('two views, one corrupted: the corrupted area is dropped from both, the rest kept', () => {
    const pair = [views[0]!, views[2]!];
    const { cloud, stats } = fusePointClouds(pair, { confidencePercentile: 0, consistency: {} });
    assert.equal(offPlaneCount(cloud.positions), 0);
    // View 0 loses what projects into view 2's corrupted box (one box, +-1 column of rounding) and ~3 border columns.
    assert.ok(stats.afterConsistency >= 2 * W * H - 2 * (CORRUPTED + 2 * (CORRUPT.v1 - CORRUPT.v0)) - 2 * 3 * H, `${stats.afterConsistency}`);
    assert.ok(stats.afterConsistency <= 2 * W * H - 2 * CORRUPTED + 2 * (CORRUPT.v1 - CORRUPT.v0));
  });

  test('requiring two agreeing views drops more than requiring one', () => {
    const one = fusePointClouds(views, { confidencePercentile: 0, consistency: { minAgreeingViews: 1 } }).stats.afterConsistency;
    const two = fusePointClouds(views, { confidencePercentile: 0, consistency: { minAgreeingViews: 2 } }).stats.afterConsistency;
    assert.ok(two < one - CORRUPTED, `${two} vs ${one}`);
  });

  test('needs cameras and depths', () => {
    const { pointMap } = views[0]!;
    assert.throws(() => fusePointClouds([{ pointMap }, { pointMap }], { consistency: {} }), InputError);
  });
});

describe('confidence percentile', () => {
  test('keeps values at or above the linear-interpolation percentile of all views together', () => {
    const points = new Float32Array(100 * 3).fill(1);
    const pointMap = createPointMap({ width: 10, height: 10, frame: 'world', points });
    const a = new Float32Array(100).map((_, i) => i / 2); // 0 .. 49.5
    const b = new Float32Array(100).map((_, i) => 50 + i / 2); // 50 .. 99.5
    const { stats } = fusePointClouds([{ pointMap, confidence: a }, { pointMap, confidence: b }]);
    // 200 values 0, 0.5, ..., 99.5: the 40th percentile is at rank 0.4 * 199 = 79.6 -> 39.8.
    assert.ok(Math.abs(stats.confidenceThreshold! - 39.8) < 1e-12);
    assert.equal(stats.afterConfidence, 20 + 100);
    const none = fusePointClouds([{ pointMap, confidence: a }], { confidencePercentile: 0 });
    assert.equal(none.stats.afterConfidence, 100);
    assert.equal(none.stats.confidenceThreshold, undefined);
  });

  test('percentileLinear (selection) equals interpolation on the sorted values', () => {
    let seed = 7;
    const random = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (const n of [1, 2, 3, 10, 1001, 5000]) {
      // Many duplicates (rounded to 1/8) and some distinct values.
      const values = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? random() : Math.round(random() * 8) / 8));
      const sorted = Float64Array.from(values).sort();
      for (const p of [0, 5, 40, 50, 95, 99.9]) {
        const rank = (p / 100) * (n - 1);
        const lo = Math.floor(rank), hi = Math.min(lo + 1, n - 1);
        const expected = sorted[lo]! + (rank - lo) * (sorted[hi]! - sorted[lo]!);
        assert.ok(Math.abs(percentileLinear(Float64Array.from(values), p) - expected) < 1e-15, `n ${n} p ${p}`);
      }
    }
  });

  test('invalid points take no part; percentileLinear matches numpy on a small case', () => {
    assert.equal(percentileLinear(Float64Array.of(4, 1, 3, 2), 50), 2.5);
    assert.equal(percentileLinear(Float64Array.of(10), 40), 10);
    const points = new Float32Array(4 * 3).fill(2);
    points[0] = NaN;
    const pointMap = createPointMap({ width: 4, height: 1, frame: 'world', points });
    const { stats } = fusePointClouds([{ pointMap, confidence: Float32Array.of(100, 1, 2, 3) }], { confidencePercentile: 50 });
    assert.equal(stats.validPoints, 3);
    assert.equal(stats.confidenceThreshold, 2);
    assert.equal(stats.afterConfidence, 2);
  });
});

describe('voxel grid', () => {
  test('averages position and colour exactly per voxel, in order of first appearance', () => {
    const size = 0.5;
    const cells = [[0, 0, 0], [-1, 2, 0], [3, -2, -1], [0, 0, 1]];
    const offsets = [0.125, 0.375];
    const positions: number[] = [];
    const rgb: number[] = [];
    // Interleave the cells so that "first appearance" order is tested: point p of every cell, then p + 1.
    for (let p = 0; p < 8; p++) {
      cells.forEach((cell, c) => {
        const o = [offsets[p & 1]!, offsets[(p >> 1) & 1]!, offsets[(p >> 2) & 1]!];
        positions.push(...cell.map((x, a) => x * size + o[a]!));
        rgb.push(10 * c + p, 100 + p * (c + 1), 255 - p);
      });
    }
    const n = positions.length / 3;
    const pointMap = createPointMap({ width: n, height: 1, frame: 'world', points: Float32Array.from(positions) });
    const colors = createImage({ width: n, height: 1, channels: 3, data: Uint8Array.from(rgb) });
    const { cloud, stats } = fusePointClouds([{ pointMap, colors }], { voxel: { size } });
    assert.equal(stats.voxelSize, size);
    assert.equal(cloud.numPoints, cells.length);
    cells.forEach((cell, c) => {
      for (let a = 0; a < 3; a++) assert.equal(cloud.positions[c * 3 + a], cell[a]! * size + 0.25);
      // Means of 10c + p, 100 + p (c + 1), 255 - p over p = 0..7 (p mean 3.5), rounded half up.
      assert.deepEqual(Array.from(cloud.colors!.subarray(c * 3, c * 3 + 3)), [Math.round(10 * c + 3.5), Math.round(100 + 3.5 * (c + 1)), Math.round(255 - 3.5)]);
    });
  });

  test('a fraction of the extent uses the 5th-95th percentile box diagonal', () => {
    // x = 0..100 and y = 2x: the 5th-95th box is 90 x 180, diagonal 90 sqrt 5.
    const n = 101;
    const points = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) { points[i * 3] = i; points[i * 3 + 1] = 2 * i; points[i * 3 + 2] = 7; }
    const pointMap = createPointMap({ width: n, height: 1, frame: 'world', points });
    const { stats } = fusePointClouds([{ pointMap }], { voxel: { fractionOfExtent: 0.1 } });
    assert.ok(Math.abs(stats.voxelSize! - 9 * Math.sqrt(5)) < 1e-9, `${stats.voxelSize}`);
    // Points along the line fall into the distinct cells (floor(x / s), floor(y / s)).
    const s = stats.voxelSize!;
    const cells = new Set(Array.from({ length: n }, (_, i) => `${Math.floor(i / s)},${Math.floor((2 * i) / s)}`));
    assert.equal(cells.size, 10);
    assert.equal(stats.afterVoxel, cells.size);
  });

  test('rejects non-positive sizes and too fine grids', () => {
    const pointMap = createPointMap({ width: 2, height: 1, frame: 'world', points: Float32Array.of(0, 0, 0, 1e30, 1e30, 1e30) });
    assert.throws(() => fusePointClouds([{ pointMap }], { voxel: { size: 0 } }), InputError);
    assert.throws(() => fusePointClouds([{ pointMap }], { voxel: { size: 1e-3 } }), InputError);
  });
});

describe('point cap', () => {
  const n = 100 * 100;
  const points = new Float32Array(n * 3).map((_, i) => i);
  const pointMap = createPointMap({ width: 100, height: 100, frame: 'world', points });

  test('keeps exactly maxPoints, deterministically per seed, in input order', () => {
    const a = fusePointClouds([{ pointMap }], { maxPoints: 1000, seed: 5 });
    const b = fusePointClouds([{ pointMap }], { maxPoints: 1000, seed: 5 });
    const c = fusePointClouds([{ pointMap }], { maxPoints: 1000, seed: 6 });
    assert.equal(a.cloud.numPoints, 1000);
    assert.deepEqual(a.cloud.positions, b.cloud.positions);
    assert.notDeepEqual(a.cloud.positions, c.cloud.positions);
    // Points are (3i, 3i+1, 3i+2): each output is an input point, strictly increasing i.
    let previous = -1;
    for (let k = 0; k < 1000; k++) {
      const i = a.cloud.positions[k * 3]! / 3;
      assert.ok(Number.isInteger(i) && i > previous && a.cloud.positions[k * 3 + 2] === 3 * i + 2);
      previous = i;
    }
    assert.equal(fusePointClouds([{ pointMap }]).cloud.numPoints, n);
  });

  test('seededSubset is uniform enough: every decile gets about a tenth', () => {
    const subset = seededSubset(100000, 10000, 1);
    const deciles = new Array<number>(10).fill(0);
    for (const i of subset) deciles[Math.floor(i / 10000)]!++;
    for (const count of deciles) assert.ok(count > 900 && count < 1100, `${deciles}`);
  });

  test('rejects camera-frame maps and bad options', () => {
    const cameraFrame = createPointMap({ width: 1, height: 1, frame: 'camera', points: new Float32Array(3) });
    assert.throws(() => fusePointClouds([{ pointMap: cameraFrame }]), InputError);
    assert.throws(() => fusePointClouds([{ pointMap }], { maxPoints: -1 }), InputError);
    assert.throws(() => fusePointClouds([{ pointMap }], { confidencePercentile: 100 }), InputError);
  });
});
