import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mul3, rotationFromAxisAngle, transpose3 } from '../geometry/mat3.ts';
import { lookAtOrigin } from '../../test/helpers/synthetic-scene.ts';
import type { RigidPose } from '../geometry/rigid.ts';
import { cycleErrorDeg, filterPairsByRotationCycles } from './view-graph.ts';
import type { VerifiedPair } from './types.ts';

const DEG = Math.PI / 180;

/** Cameras on a circle around the origin, every `stepDeg` degrees. */
function ring(count: number, stepDeg: number): RigidPose[] {
  return Array.from({ length: count }, (_, i) => {
    const a = i * stepDeg * DEG;
    return lookAtOrigin([4 * Math.cos(a), 4 * Math.sin(a), 1.5]);
  });
}

/** A verified pair with the true relative rotation (optionally turned by `errorDeg` about x) and n matches. */
function pairOf(poses: readonly RigidPose[], a: number, b: number, matches: number, errorDeg = 0): VerifiedPair {
  const truth = mul3(poses[b]!.rotation, transpose3(poses[a]!.rotation));
  const rotation = errorDeg === 0 ? truth : mul3(rotationFromAxisAngle([errorDeg * DEG, 0, 0]), truth);
  return {
    view0: a, view1: b, matches: new Uint32Array(2 * matches),
    pose1From0: { rotation, translation: Float64Array.of(1, 0, 0) }, medianTriangulationAngleDeg: 5,
  };
}

const names = (pairs: readonly VerifiedPair[]): string[] => pairs.map((p) => `${p.view0}-${p.view1}`).sort();

test('cycle error: zero around correct rotations, the injected angle around one wrong pair', () => {
  const poses = ring(3, 30);
  const ab = pairOf(poses, 0, 1, 100), bc = pairOf(poses, 1, 2, 100), ca = pairOf(poses, 2, 0, 100);
  // (acos near 1 limits the resolution to about 1e-6 degrees.)
  assert.ok(cycleErrorDeg(ab, bc, ca, 0, 1, 2) < 1e-5);
  // Pairs stored in either direction compose the same way.
  assert.ok(cycleErrorDeg(ab, pairOf(poses, 2, 1, 100), pairOf(poses, 0, 2, 100), 0, 1, 2) < 1e-5);
  assert.ok(Math.abs(cycleErrorDeg(pairOf(poses, 0, 1, 100, 40), bc, ca, 0, 1, 2) - 40) < 1e-6);
});

test('repeated-structure pairs (wrong rotation, few matches) are rejected; noisy correct pairs stay', () => {
  const poses = ring(8, 20);
  const good: VerifiedPair[] = [];
  for (let a = 0; a < 8; a++) {
    for (let b = a + 1; b < Math.min(8, a + 4); b++) good.push(pairOf(poses, a, b, 400, ((a * 7 + b) % 5) * 0.4 - 0.8));
  }
  // Symmetric-structure look-alikes: flipped by ~170 degrees, far fewer matches than real overlaps.
  const wrong = [pairOf(poses, 0, 4, 90, 170), pairOf(poses, 1, 5, 60, 165), pairOf(poses, 3, 7, 120, 175)];
  const { kept, rejected } = filterPairsByRotationCycles([...good, ...wrong], { maxCycleErrorDeg: 5 });
  assert.deepEqual(names(rejected), names(wrong));
  assert.deepEqual(names(kept), names(good));
});

test('a view with one good neighbour keeps it even when every loop through it holds a wrong pair', () => {
  // View 4 overlaps only view 0 for real; its other pairs are look-alikes with fewer matches (DTU's top view).
  const poses = ring(5, 15);
  const core = [pairOf(poses, 0, 1, 800), pairOf(poses, 1, 2, 900), pairOf(poses, 0, 2, 700), pairOf(poses, 2, 3, 800), pairOf(poses, 1, 3, 600)];
  const bridge = pairOf(poses, 0, 4, 500, 1);
  const wrong = [pairOf(poses, 1, 4, 110, 80), pairOf(poses, 2, 4, 90, 50), pairOf(poses, 3, 4, 50, 120)];
  const { kept, rejected } = filterPairsByRotationCycles([...core, bridge, ...wrong], { maxCycleErrorDeg: 5 });
  assert.deepEqual(names(rejected), names(wrong));
  assert.ok(kept.includes(bridge));
});

test('pairs that cannot be checked stay: no relative pose, or no loop', () => {
  const poses = ring(4, 25);
  const chain = [pairOf(poses, 0, 1, 300, 30), pairOf(poses, 1, 2, 300), pairOf(poses, 2, 3, 300)];
  const noPose: VerifiedPair = { view0: 0, view1: 3, matches: new Uint32Array(40) };
  const { kept, rejected } = filterPairsByRotationCycles([...chain, noPose], { maxCycleErrorDeg: 5 });
  assert.equal(rejected.length, 0);
  assert.equal(kept.length, 4);
  assert.throws(() => filterPairsByRotationCycles(chain, { maxCycleErrorDeg: 0 }), /maxCycleErrorDeg/);
});
