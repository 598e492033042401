import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCamera, createIntrinsics } from '../core/camera.ts';
import { createDepth } from '../core/depth.ts';
import { InputError } from '../core/errors.ts';
import { allocateGaussianSet, createGaussianSet, type GaussianSet } from '../core/gaussians.ts';
import { createImage } from '../core/image.ts';
import { fromRotationTranslation } from '../core/mat4.ts';
import { gaussiansFromDepth } from './from-depth.ts';
import { mergeGaussianViews } from './merge.ts';

/** A world-frame set with the given centres and isotropic std devs; colours encode the index. */
function setOf(points: number[][], sigmas: number[]): GaussianSet {
  const g = allocateGaussianSet(points.length, 'world');
  points.forEach((p, i) => {
    g.positions.set(p, i * 3);
    g.scales.fill(sigmas[i]!, i * 3, i * 3 + 3);
    g.opacities[i] = 1;
    g.colors[i * 3] = i / 100;
  });
  return g;
}

test('two identical views of a plane: duplicates go, the first view is kept whole', () => {
  const k = createIntrinsics({ fxPx: 40, fyPx: 40, cxPx: 15.5, cyPx: 11.5, width: 32, height: 24 });
  const depth = createDepth({ kind: 'metricDepth', width: 32, height: 24, data: new Float32Array(32 * 24).fill(3) });
  const image = createImage({ width: 32, height: 24, channels: 3, data: new Uint8Array(32 * 24 * 3).fill(90) });
  const one = gaussiansFromDepth(depth, createCamera(k), image).gaussians;
  const merged = mergeGaussianViews([{ gaussians: one }, { gaussians: one }]);
  // Cube side 1.5 * 0.6 = 0.9 of the pixel spacing: neighbours 1 spacing apart never share a cube.
  assert.equal(merged.stats.input, 2 * one.count);
  assert.equal(merged.gaussians.count, one.count);
  assert.ok(merged.sourceView.every((v) => v === 0));
  assert.deepEqual(merged.sourceIndex, Int32Array.from({ length: one.count }, (_, i) => i));
  assert.deepEqual(merged.gaussians.positions, one.positions);
  assert.ok(Math.abs(merged.stats.voxelSize! - 1.5 * 0.6 * 3 / 40) < 1e-6);
});

test('per cube the smallest footprint wins, ties the earliest, output in input order', () => {
  const s = 1;
  const centres = [0, 1, 2, 3].map((i) => [i + 0.5, 0.5, 0.5]);
  const a = setOf(centres, [0.01, 0.01, 0.01, 0.01]);
  // B: the same cubes, offset inside them; smaller footprint in cubes 0 and 2, equal in cube 3.
  const b = setOf(centres.map((c) => [c[0]! + 0.2, c[1]! - 0.3, c[2]! + 0.1]), [0.005, 0.02, 0.004, 0.01]);
  // C: a cube nobody else occupies (negative coordinates check floor, not truncation).
  const c = setOf([[-0.5, 0.5, 0.5]], [0.5]);
  const merged = mergeGaussianViews([{ gaussians: a }, { gaussians: b }, { gaussians: c }], { dedup: { size: s } });
  assert.deepEqual([...merged.sourceView], [0, 0, 1, 1, 2]);
  assert.deepEqual([...merged.sourceIndex], [1, 3, 0, 2, 0]);
  assert.deepEqual([...merged.gaussians.scales.filter((_, i) => i % 3 === 0)].map((x) => Math.fround(x)),
    [0.01, 0.01, 0.005, 0.004, 0.5].map(Math.fround));
  assert.equal(merged.stats.afterDedup, 5);
});

test('floaters: Gaussians in front of another view\'s surface go, those behind it or outside its image stay', () => {
  // View 0 looks down +z from the origin at a wall at z = 5 (its depth map).
  const k = createIntrinsics({ fxPx: 10, fyPx: 10, cxPx: 4.5, cyPx: 4.5, width: 10, height: 10 });
  const wall = createDepth({ kind: 'metricDepth', width: 10, height: 10, data: new Float32Array(100).fill(5) });
  for (const i of [0, 1, 10, 11]) wall.data[i] = NaN; // pixels (0..1, 0..1) are unknown: no vote there
  for (let v = 0; v < 10; v++) wall.data[v * 10 + 8] = wall.data[v * 10 + 9] = 1; // a near object in columns 8-9
  const view0 = setOf([[0, 0, 5]], [0.05]);
  // View 1 (no depth): on the wall, in front of it (floater), behind it, outside view 0's image, behind view 0,
  // within tolerance in front, in front of the unknown pixels (lands at (0.3, 0.3)), and between the wall and the
  // near object's silhouette (lands at u = 7.4: in front of column 7's wall, the nearest pixel, but behind column 8's object).
  const candidates = [[0.1, 0.1, 5], [0.1, 0.1, 2], [0.1, 0.1, 8], [40, 0, 2], [0, 0, -3], [0.1, 0.1, 4.8], [-1.05, -1.05, 2.5], [0.58, 0, 2]];
  const view1 = setOf(candidates, candidates.map(() => 0.01));
  const camera1 = createCamera(k, fromRotationTranslation([1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, -10]));
  const depth1 = createDepth({ kind: 'metricDepth', width: 10, height: 10, data: new Float32Array(100).fill(NaN) });
  const merged = mergeGaussianViews(
    [{ gaussians: view0, camera: createCamera(k), depth: wall }, { gaussians: view1, camera: camera1, depth: depth1 }],
    { consistency: { relativeTolerance: 0.05 }, dedup: 'none' },
  );
  assert.equal(merged.stats.afterConsistency, 8);
  assert.deepEqual([...merged.sourceView], [0, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual([...merged.sourceIndex], [0, 0, 2, 3, 4, 5, 6, 7]);
  // A 5 % tolerance is 0.25 at the wall: 4.8 is kept, with 0.01 it goes.
  const strict = mergeGaussianViews([{ gaussians: view0, camera: createCamera(k), depth: wall }, { gaussians: view1 }],
    { consistency: { relativeTolerance: 0.01 }, dedup: 'none' });
  assert.deepEqual([...strict.sourceIndex], [0, 0, 2, 3, 4, 6, 7]);
});

test('floaters are tested against the nearest views by camera centre only, up to maxNeighbourViews', () => {
  const k = createIntrinsics({ fxPx: 10, fyPx: 10, cxPx: 4.5, cyPx: 4.5, width: 10, height: 10 });
  const unknown = createDepth({ kind: 'metricDepth', width: 10, height: 10, data: new Float32Array(100).fill(NaN) });
  const at = (z: number) => createCamera(k, fromRotationTranslation([1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, z]));
  // View 0's Gaussian at z = 2; view 1 (1 away) knows nothing there; view 2 (40 away, behind) sees a wall at world z = 5
  const views = [
    { gaussians: setOf([[0, 0, 2]], [0.01]), camera: at(0), depth: unknown },
    { gaussians: setOf([], []), camera: at(-1), depth: unknown },
    { gaussians: setOf([], []), camera: at(-40), depth: createDepth({ kind: 'metricDepth', width: 10, height: 10, data: new Float32Array(100).fill(45) }) },
  ];
  assert.equal(mergeGaussianViews(views, { consistency: { maxNeighbourViews: 1 } }).gaussians.count, 1);
  assert.equal(mergeGaussianViews(views, { consistency: { maxNeighbourViews: 2 } }).gaussians.count, 0);
});

test('the cap keeps a seeded subset in input order; semantics travel with their Gaussians', () => {
  const n = 500;
  const points = Array.from({ length: n }, (_, i) => [i, 0, 1]);
  const base = setOf(points, points.map(() => 0.1));
  const labels = Uint16Array.from({ length: n }, (_, i) => i % 7);
  const labelled = createGaussianSet({ ...base, semantics: { labels, classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] } });
  const merged = mergeGaussianViews([{ gaussians: labelled }], { maxGaussians: 100, seed: 3 });
  assert.equal(merged.gaussians.count, 100);
  for (let k = 1; k < 100; k++) assert.ok(merged.sourceIndex[k]! > merged.sourceIndex[k - 1]!);
  for (let k = 0; k < 100; k++) {
    const i = merged.sourceIndex[k]!;
    assert.equal(merged.gaussians.positions[k * 3], i);
    assert.equal(merged.gaussians.semantics!.labels[k], i % 7);
  }
  assert.deepEqual(mergeGaussianViews([{ gaussians: labelled }], { maxGaussians: 100, seed: 3 }).sourceIndex, merged.sourceIndex);
  assert.notDeepEqual(mergeGaussianViews([{ gaussians: labelled }], { maxGaussians: 100, seed: 4 }).sourceIndex, merged.sourceIndex);
});

test('bad input: no views, camera without depth, mixed semantics, camera-frame sets, bad options', () => {
  const g = setOf([[0, 0, 1]], [0.1]);
  const k = createIntrinsics({ fxPx: 10, fyPx: 10, cxPx: 4.5, cyPx: 4.5, width: 10, height: 10 });
  assert.throws(() => mergeGaussianViews([]), InputError);
  assert.throws(() => mergeGaussianViews([{ gaussians: g, camera: createCamera(k) }]), /camera and depth go together/);
  const labelled = createGaussianSet({ ...g, semantics: { labels: new Uint16Array(1), classNames: ['x'] } });
  assert.throws(() => mergeGaussianViews([{ gaussians: g }, { gaussians: labelled }]), /semantics/);
  assert.throws(() => mergeGaussianViews([{ gaussians: { ...g, frame: 'camera' } }]), /world frame/);
  assert.throws(() => mergeGaussianViews([{ gaussians: g }], { dedup: { size: 0 } }), InputError);
  assert.throws(() => mergeGaussianViews([{ gaussians: g }], { maxGaussians: -1 }), InputError);
  assert.throws(() => mergeGaussianViews([{ gaussians: setOf([[0, 0, 0], [1e300, 0, 0]], [0.1, 0.1]) }], { dedup: { size: 1e-6 } }), /too small/);
});
