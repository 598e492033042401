import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPointCloud } from '../core/points.ts';
import { createRng } from '../geometry/random.ts';
import { gaussiansFromPoints, meanNeighbourDistances } from './from-points.ts';

/** The slow oracle: every pair, sorted. */
function bruteForce(positions: Float32Array, k: number): Float64Array {
  const n = positions.length / 3;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d: number[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      d.push(Math.hypot(positions[j * 3]! - positions[i * 3]!, positions[j * 3 + 1]! - positions[i * 3 + 1]!, positions[j * 3 + 2]! - positions[i * 3 + 2]!));
    }
    d.sort((a, b) => a - b);
    const m = Math.min(k, d.length);
    out[i] = m > 0 ? d.slice(0, m).reduce((a, b) => a + b, 0) / m : 0;
  }
  return out;
}

function assertClose(actual: Float32Array, expected: Float64Array): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= 1e-5 * Math.max(1, expected[i]!), `point ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('meanNeighbourDistances', () => {
  it('equals the brute-force k-NN mean on a random volume, a flat sheet, a line and with duplicates', () => {
    const rng = createRng(7);
    const rand = () => rng.next();
    const volume = Float32Array.from({ length: 900 }, () => rand() * 10 - 5);
    const sheet = Float32Array.from({ length: 1200 }, (_, i) => (i % 3 === 2 ? 3 : rand() * 4));
    const line = Float32Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? rand() * 100 : 0));
    const dupes = new Float32Array(600);
    for (let i = 0; i < 200; i++) dupes.set([Math.floor(i / 2), 0, 1], i * 3); // every point twice
    for (const [name, cloud] of [['volume', volume], ['sheet', sheet], ['line', line], ['dupes', dupes]] as const) {
      for (const k of [1, 3, 8]) {
        assert.doesNotThrow(() => assertClose(meanNeighbourDistances(cloud, k), bruteForce(cloud, k)), `${name} k=${k}`);
      }
    }
  });

  it('a regular grid: closed form spacing (k = 4 neighbours at distance h on a square lattice)', () => {
    const h = 0.25;
    const positions: number[] = [];
    for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) positions.push(x * h, y * h, 2);
    const d = meanNeighbourDistances(Float32Array.from(positions), 4);
    // An interior point has 4 neighbours at h.
    assert.ok(Math.abs(d[5 * 20 + 5]! - h) < 1e-6);
    // A corner has 2 at h and 2 at ... h*sqrt(2) then 2h: the 4 nearest are h, h, h*sqrt2, 2h.
    assert.ok(Math.abs(d[0]! - (2 * h + h * Math.SQRT2 + 2 * h) / 4) < 1e-6);
  });

  it('fewer points than k + 1 and single points', () => {
    assert.deepEqual([...meanNeighbourDistances(Float32Array.from([0, 0, 0]), 3)], [0]);
    assert.deepEqual([...meanNeighbourDistances(Float32Array.from([0, 0, 0, 3, 4, 0]), 3)], [5, 5]);
    assert.throws(() => meanNeighbourDistances(Float32Array.from([0, NaN, 0]), 3), /non-finite/);
  });
});

describe('gaussiansFromPoints', () => {
  it('isotropic scales of footprintFactor x spacing, identity rotations, colours / 255, subset measured on itself', () => {
    const h = 0.1;
    const positions: number[] = [];
    const colors: number[] = [];
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) { positions.push(x * h, y * h, 1); colors.push(255, 0, 51); }
    const cloud = createPointCloud({ numPoints: 100, frame: 'world', positions: Float32Array.from(positions), colors: Uint8Array.from(colors) });
    const set = gaussiansFromPoints(cloud, { neighbours: 4, footprintFactor: 0.5 });
    assert.equal(set.count, 100);
    const interior = 5 * 10 + 5;
    assert.ok(Math.abs(set.scales[interior * 3]! - 0.5 * h) < 1e-6);
    assert.equal(set.scales[interior * 3]!, set.scales[interior * 3 + 2]!);
    assert.deepEqual([...set.rotations.subarray(0, 4)], [1, 0, 0, 0]);
    assert.ok(Math.abs(set.colors[2]! - 0.2) < 1e-6 && set.colors[0] === 1);
    // Every other point (x even in each row): x neighbours are now 2h away, the 2 nearest are the y ones at h.
    const half = gaussiansFromPoints(cloud, { neighbours: 2, maxGaussians: 50, footprintFactor: 1 });
    assert.equal(half.count, 50);
    assert.ok(Math.abs(half.scales[(5 * 5 + 2) * 3]! - h) < 1e-6, `${half.scales[(5 * 5 + 2) * 3]}`);
    assert.throws(() => gaussiansFromPoints(createPointCloud({ numPoints: 0, frame: 'world', positions: new Float32Array(0) })), /empty/);
  });
});
