import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../core/errors.ts';
import { allocateGaussianSet, createGaussianSet, type GaussianSet } from '../core/gaussians.ts';
import { quaternionFromRotation, rotationFromQuaternion } from '../core/quaternion.ts';
import { createRng } from '../geometry/random.ts';
import { correspondNearest, correspondPixels, inBetweenFractions, interpolateGaussians } from './interpolate.ts';

function randomSet(n: number, seed: number, extent = 10): GaussianSet {
  const rng = createRng(seed);
  const g = allocateGaussianSet(n, 'world');
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      g.positions[i * 3 + c] = rng.next() * extent;
      g.scales[i * 3 + c] = 0.01 + rng.next() * 0.1;
      g.colors[i * 3 + c] = rng.next();
    }
    const q = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()];
    const len = Math.hypot(...q);
    for (let c = 0; c < 4; c++) g.rotations[i * 4 + c] = q[c]! / len;
    g.opacities[i] = rng.next();
  }
  return g;
}

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('a rigidly translated set with identity correspondence: exactly the midpoint at s = 0.5, the rest unchanged', () => {
  const a = randomSet(300, 1);
  const t = [0.7, -1.3, 2.1];
  const positions = a.positions.map((p, k) => p + t[k % 3]!);
  const b = createGaussianSet({ ...a, positions });
  const identity = Int32Array.from({ length: a.count }, (_, i) => i);
  const mid = interpolateGaussians(a, b, identity, 0.5);
  assert.equal(mid.count, a.count);
  for (let i = 0; i < a.count * 3; i++) {
    close(mid.positions[i]!, a.positions[i]! + t[i % 3]! / 2, 1e-5, 'position');
    close(mid.scales[i]!, a.scales[i]!, 1e-7, 'scale');
    close(mid.colors[i]!, a.colors[i]!, 1e-7, 'colour');
  }
  for (let i = 0; i < a.count; i++) {
    close(mid.opacities[i]!, a.opacities[i]!, 1e-7, 'opacity');
    // Same rotation up to sign.
    let dot = 0;
    for (let c = 0; c < 4; c++) dot += mid.rotations[i * 4 + c]! * a.rotations[i * 4 + c]!;
    close(Math.abs(dot), 1, 1e-6, 'rotation');
  }
});

test('rotation: slerp of 0 and 90 degrees about z gives 45 (and 30 at s = 1/3), whichever sign B carries', () => {
  const about = (deg: number, axis: number[]): number[] => {
    const h = (deg * Math.PI) / 360;
    return [Math.cos(h), ...axis.map((x) => x * Math.sin(h))];
  };
  const a = allocateGaussianSet(1, 'world');
  const b = allocateGaussianSet(1, 'world');
  a.rotations.set(about(0, [0, 0, 1]));
  for (const sign of [1, -1]) {
    b.rotations.set(about(90, [0, 0, 1]).map((x) => x * sign));
    for (const [s, deg] of [[0.5, 45], [1 / 3, 30], [2 / 3, 60]] as const) {
      const q = interpolateGaussians(a, b, Int32Array.of(0), s).rotations;
      const r = rotationFromQuaternion(q);
      // Independent truth: the matrix of a rotation by `deg` about z.
      const c = Math.cos((deg * Math.PI) / 180), sn = Math.sin((deg * Math.PI) / 180);
      const expected = [c, -sn, 0, sn, c, 0, 0, 0, 1];
      for (let k = 0; k < 9; k++) close(r[k]!, expected[k]!, 1e-6, `s=${s} sign=${sign}`);
    }
  }
  // A general pair: the halfway rotation R_a * exp(0.5 log(R_a^T R_b)), here R_b = R_a * Rx(80 deg).
  const ra = rotationFromQuaternion(about(50, [0.6, 0, 0.8]));
  const rx = (deg: number) => { const c = Math.cos(deg * Math.PI / 180), s = Math.sin(deg * Math.PI / 180); return [1, 0, 0, 0, c, -s, 0, s, c]; };
  const mul = (p: ArrayLike<number>, q: ArrayLike<number>) => Array.from({ length: 9 }, (_, k) => {
    const row = Math.floor(k / 3), col = k % 3;
    return p[row * 3]! * q[col]! + p[row * 3 + 1]! * q[3 + col]! + p[row * 3 + 2]! * q[6 + col]!;
  });
  a.rotations.set(quaternionFromRotation(ra));
  b.rotations.set(quaternionFromRotation(mul(ra, rx(80))));
  const half = rotationFromQuaternion(interpolateGaussians(a, b, Int32Array.of(0), 0.5).rotations);
  const expected = mul(ra, rx(40));
  for (let k = 0; k < 9; k++) close(half[k]!, expected[k]!, 1e-6, 'general slerp');
});

test('scales interpolate log-linearly, colours and opacities linearly', () => {
  const a = allocateGaussianSet(1, 'world');
  const b = allocateGaussianSet(1, 'world');
  a.scales.set([1, 0.1, 2]); b.scales.set([4, 0.1, 0.5]);
  a.colors.set([0, 0.5, 1]); b.colors.set([1, 0.5, 0]);
  a.opacities[0] = 0.2; b.opacities[0] = 0.8;
  const m = interpolateGaussians(a, b, Int32Array.of(0), 0.5);
  close(m.scales[0]!, 2, 1e-6); close(m.scales[1]!, 0.1, 1e-7); close(m.scales[2]!, 1, 1e-6);
  const third = interpolateGaussians(a, b, Int32Array.of(0), 1 / 3);
  close(third.scales[0]!, 4 ** (1 / 3), 1e-6);
  close(third.colors[0]!, 1 / 3, 1e-6); close(third.colors[2]!, 2 / 3, 1e-6);
  close(third.opacities[0]!, 0.4, 1e-6);
});

test('unmatched Gaussians cross-fade: A fades out by 1 - s, unmatched B fades in by s', () => {
  const a = randomSet(4, 2);
  const b = randomSet(5, 3);
  const match = Int32Array.of(2, -1, 0, -1);
  const s = 0.25;
  const m = interpolateGaussians(a, b, match, s);
  // A's 4, then B's unmatched 1, 3, 4.
  assert.equal(m.count, 7);
  close(m.opacities[1]!, a.opacities[1]! * 0.75, 1e-7);
  close(m.opacities[3]!, a.opacities[3]! * 0.75, 1e-7);
  for (const [k, j] of [[4, 1], [5, 3], [6, 4]] as const) {
    close(m.opacities[k]!, b.opacities[j]! * 0.25, 1e-7);
    for (let c = 0; c < 3; c++) assert.equal(m.positions[k * 3 + c], b.positions[j * 3 + c]);
  }
  for (let c = 0; c < 3; c++) assert.equal(m.positions[3 + c], a.positions[3 + c]);
  close(m.opacities[0]!, 0.75 * a.opacities[0]! + 0.25 * b.opacities[2]!, 1e-7);
  assert.deepEqual(inBetweenFractions(2), [1 / 3, 2 / 3]);
});

test('nearest neighbours recover a known permutation of a jittered lattice', () => {
  const side = 12, n = side ** 3;
  const rng = createRng(7);
  const a = allocateGaussianSet(n, 'world');
  for (let i = 0; i < n; i++) a.positions.set([i % side, Math.floor(i / side) % side, Math.floor(i / side / side)], i * 3);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = rng.nextInt(i + 1); [perm[i], perm[j]] = [perm[j]!, perm[i]!]; }
  // B[perm[i]] = A[i] + jitter (|jitter| <= 0.1 per axis, spacing 1).
  const b = allocateGaussianSet(n, 'world');
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) b.positions[perm[i]! * 3 + c] = a.positions[i * 3 + c]! + (rng.next() - 0.5) * 0.2;
  assert.deepEqual(correspondNearest(a, b, { maxDistance: 0.4 }), perm);
  assert.deepEqual(correspondNearest(a, b, { maxDistance: 0.4, mutual: true }), perm);
  // With maxDistance below the jitter's reach, some go unmatched (-1) and none is wrong.
  const tight = correspondNearest(a, b, { maxDistance: 0.05 });
  assert.ok(tight.some((j) => j === -1));
  tight.forEach((j, i) => assert.ok(j === -1 || j === perm[i]));
});

test('nearest neighbours equal a brute-force search, with and without colour', () => {
  const a = randomSet(400, 11, 3);
  const b = randomSet(500, 12, 3);
  for (const colorWeight of [0, 0.5]) {
    const maxDistance = 0.3;
    const got = correspondNearest(a, b, { maxDistance, colorWeight });
    let matched = 0;
    for (let i = 0; i < a.count; i++) {
      let best = -1, bestD = maxDistance * maxDistance;
      for (let j = 0; j < b.count; j++) {
        let d = 0;
        for (let c = 0; c < 3; c++) d += (a.positions[i * 3 + c]! - b.positions[j * 3 + c]!) ** 2 + colorWeight ** 2 * (a.colors[i * 3 + c]! - b.colors[j * 3 + c]!) ** 2;
        if (d < bestD || (d === bestD && best === -1)) { bestD = d; best = j; }
      }
      assert.equal(got[i], best, `A ${i}`);
      if (best >= 0) matched++;
    }
    assert.ok(matched > 50 && matched < a.count, `matched ${matched}`);
  }
  // Colour decides between two equally near candidates.
  const one = allocateGaussianSet(1, 'world');
  one.colors.set([1, 0, 0]);
  const two = allocateGaussianSet(2, 'world');
  two.positions.set([0.1, 0, 0, -0.1, 0, 0]);
  two.colors.set([0, 0, 1, 1, 0, 0]);
  assert.deepEqual(correspondNearest(one, two, { maxDistance: 1, colorWeight: 0.1 }), Int32Array.of(1));
});

test('pixel correspondences: identity by source pixel, or moved by flow and snapped to the stride', () => {
  const aPixels = Int32Array.of(0, 5, 9, 14);
  const bPixels = Int32Array.of(14, 9, 0, 7);
  assert.deepEqual(correspondPixels(aPixels, bPixels), Int32Array.of(2, -1, 1, 0));
  // 5x3 image; flow moves everything by (+2, +1) px; A's pixel 0 -> (2, 1) = 7; 5 = (0, 1) -> (2, 2) = 12 (none);
  // 9 = (4, 1) -> (6, 2) leaves the image; 14 = (4, 2) -> (6, 3) leaves it.
  const flow = { width: 5, height: 3, data: new Float32Array(30).map((_, k) => (k % 2 === 0 ? 2 : 1)) };
  assert.deepEqual(correspondPixels(aPixels, bPixels, { flow }), Int32Array.of(3, -1, -1, -1));
  // Stride 2: B sampled at even (u, v); a flow of (+1.2, +0.9) from pixel 0 lands at (1.2, 0.9) -> (2, 0) = pixel 2.
  const flow2 = { width: 5, height: 3, data: new Float32Array(30).map((_, k) => (k % 2 === 0 ? 1.2 : 0.9)) };
  assert.deepEqual(correspondPixels(Int32Array.of(0), Int32Array.of(0, 2, 4), { flow: flow2, stride: 2 }), Int32Array.of(1));
});

test('bad input: fraction outside [0, 1], match out of range, frame or semantics mismatch, bad distance', () => {
  const a = randomSet(3, 1), b = randomSet(3, 2);
  assert.throws(() => interpolateGaussians(a, b, Int32Array.of(0, 1, 2), 1.5), InputError);
  assert.throws(() => interpolateGaussians(a, b, Int32Array.of(0, 1, 3), 0.5), /outside -1..2/);
  assert.throws(() => interpolateGaussians(a, b, Int32Array.of(0, 1), 0.5), /length/);
  assert.throws(() => interpolateGaussians(a, { ...b, frame: 'camera' }, Int32Array.of(0, 1, 2), 0.5), /frames/);
  const labelled = createGaussianSet({ ...b, semantics: { labels: new Uint16Array(3), classNames: ['x'] } });
  assert.throws(() => interpolateGaussians(a, labelled, Int32Array.of(0, 1, 2), 0.5), /semantics/);
  assert.throws(() => correspondNearest(a, b, { maxDistance: 0 }), InputError);
  assert.throws(() => correspondNearest(a, b, { maxDistance: 1e-300 }), /too small/);
});
