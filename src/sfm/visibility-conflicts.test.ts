import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSyntheticScene } from '../../test/helpers/synthetic-scene.ts';
import { splitSideModel } from '../../test/helpers/misplaced-group.ts';
import {
  coObservations, conflictingPairs, DEFAULT_CONFLICT_OPTIONS, splitByConflicts, type CoObservation,
} from './visibility-conflicts.ts';
import type { Reconstruction } from './types.ts';

// Cameras far enough from the object that neighbouring views look at most points from within 30 degrees.
const scene = createSyntheticScene({ numViews: 16, numPoints: 1500, seed: 3, withPairs: false, cameraDistance: 10, focalPx: 1100 });
const sizes = scene.views.map(() => ({ width: 640, height: 480 }));
/** Six views of the far side of the ring, so that they are the smaller side. */
const moved = new Set([10, 11, 12, 13, 14, 15]);

test('coObservations: one point seen by two views counts once from each, co-observed when both track it', () => {
  const base = createSyntheticScene({ numViews: 2, numPoints: 1, seed: 1, withPairs: false });
  const pose = base.cameraFromWorld;
  const model = (track: number[]): Reconstruction => ({
    cameraFromWorld: pose, intrinsics: base.views.map((v) => v.intrinsics),
    points: [{ xyz: Float64Array.of(0, 0, 0), color: [0, 0, 0], meanReprojectionErrorPx: 0, track: Uint32Array.from(track) }],
  });
  const size = [{ width: 640, height: 480 }, { width: 640, height: 480 }];
  // Two ring views 180 degrees apart look at the origin from opposite sides: nothing expected within 30 degrees.
  assert.deepEqual(coObservations(model([0, 0, 1, 0]), size, 30), []);
  assert.deepEqual(coObservations(model([0, 0, 1, 0]), size, 181), [{ view0: 0, view1: 1, expected: 2, coObserved: 2 }]);
  assert.deepEqual(coObservations(model([0, 0]), size, 181), [{ view0: 0, view1: 1, expected: 1, coObserved: 0 }]);
});

test('a correct model has no conflicts, even with each point split into per-side tracks along a clean cut', () => {
  const whole = splitSideModel(scene, new Set(), false);
  assert.deepEqual(conflictingPairs(coObservations(whole, sizes, 30), DEFAULT_CONFLICT_OPTIONS), []);
});

test('a half-turned group: every conflict crosses the groups, and the split finds the group', () => {
  const wrong = splitSideModel(scene, moved, true);
  const observations = coObservations(wrong, sizes, DEFAULT_CONFLICT_OPTIONS.maxViewAngleDeg);
  const conflicts = conflictingPairs(observations, DEFAULT_CONFLICT_OPTIONS);
  assert.ok(conflicts.length >= 5, `${conflicts.length} conflicts`);
  for (const c of conflicts) assert.notEqual(moved.has(c.view0), moved.has(c.view1), `conflict ${c.view0}-${c.view1} within a group`);
  const side = splitByConflicts(16, scene.views.map(() => true), conflicts, observations, DEFAULT_CONFLICT_OPTIONS.minAgreeFraction);
  assert.deepEqual([...side.keys()].filter((v) => side[v] === 1), [...moved]);
});

test('splitByConflicts: agreements tie separate conflicts together; the smaller side is 1; unregistered views -1', () => {
  const pair = (view0: number, view1: number, expected: number, coObserved: number): CoObservation => ({ view0, view1, expected, coObserved });
  // 0-1-2 agree, 3-4 agree; conflicts 0-3 and 2-4; view 5 has no edge; view 6 is unregistered.
  const observations = [pair(0, 1, 500, 300), pair(1, 2, 500, 200), pair(3, 4, 400, 300), pair(0, 3, 600, 0), pair(2, 4, 700, 10)];
  const conflicts = conflictingPairs(observations, DEFAULT_CONFLICT_OPTIONS);
  assert.deepEqual(conflicts.map((c) => `${c.view0}-${c.view1}`), ['0-3', '2-4']);
  const side = splitByConflicts(7, [true, true, true, true, true, true, false], conflicts, observations, 0.12);
  assert.deepEqual([...side], [0, 0, 0, 1, 1, 0, -1]);
  // A pair below the agreement fraction is no tie: 3 and 4 are then coloured by their conflicts alone.
  const loose = splitByConflicts(7, [true, true, true, true, true, true, false], conflicts, [...observations.slice(0, 2), pair(3, 4, 400, 20), ...observations.slice(3)], 0.12);
  assert.deepEqual([...loose], [0, 0, 0, 1, 1, 0, -1]);
});

test('conflictingPairs checks its options', () => {
  assert.throws(() => conflictingPairs([], { ...DEFAULT_CONFLICT_OPTIONS, maxCoObservedFraction: 1 }), /maxCoObservedFraction/);
  assert.throws(() => coObservations(splitSideModel(scene, new Set(), false), sizes.slice(1), 30), /16 views/);
});
