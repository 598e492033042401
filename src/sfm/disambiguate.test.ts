import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSyntheticScene } from '../../test/helpers/synthetic-scene.ts';
import { splitSideModel } from '../../test/helpers/misplaced-group.ts';
import { reconstructionPoseErrors, registeredViews } from '../../test/helpers/reconstruction-errors.ts';
import { DEFAULT_DISAMBIGUATION, disambiguateReconstruction, type DisambiguationOptions } from './disambiguate.ts';

const scene = createSyntheticScene({ numViews: 16, numPoints: 1500, seed: 3, cameraDistance: 10, focalPx: 1100, noisePx: 0.3, relativePoseNoiseDeg: 0.3 });
const sizes = scene.views.map(() => ({ width: 640, height: 480 }));
const moved = new Set([10, 11, 12, 13, 14, 15]);
const within = scene.pairs.filter((p) => moved.has(p.view0) === moved.has(p.view1));
const across = scene.pairs.filter((p) => moved.has(p.view0) !== moved.has(p.view1));
const options: DisambiguationOptions = { ...DEFAULT_DISAMBIGUATION, maxRotationDisagreementDeg: 5 };

test('a half-turned group is found, moved back through the pairs set aside across it, and the model is accurate again', () => {
  const wrong = splitSideModel(scene, moved, true);
  assert.ok(reconstructionPoseErrors(wrong, scene.cameraFromWorld).rotationDeg > 90);
  const result = disambiguateReconstruction(scene.views, sizes, within, wrong, { seed: 1 }, options, {}, across);
  assert.equal(result.rounds.length, 1);
  assert.ok(result.rounds[0]!.accepted);
  assert.deepEqual(result.rounds[0]!.movedViews, [...moved]);
  assert.ok(result.rounds[0]!.conflicts >= 5);
  assert.deepEqual(result.remainingConflicts, []);
  assert.equal(registeredViews(result.reconstruction).length, 16);
  const errors = reconstructionPoseErrors(result.reconstruction, scene.cameraFromWorld);
  assert.ok(errors.rotationDeg < 0.1, `rotation error ${errors.rotationDeg} deg`);
  assert.ok(errors.centre < 0.005 * scene.sceneSize, `centre error ${errors.centre}`);
  // The repaired model is built from the pairs within each side plus the link across.
  assert.ok(result.pairs.length > within.length && result.pairs.length <= within.length + across.length);
});

test('a correct model comes back as it is, without a round', () => {
  const right = splitSideModel(scene, new Set(), false);
  const result = disambiguateReconstruction(scene.views, sizes, scene.pairs, right, { seed: 1 }, options, {}, []);
  assert.equal(result.reconstruction, right);
  assert.deepEqual(result.rounds, []);
  assert.deepEqual(result.remainingConflicts, []);
});

test('without any pair across the conflict, the model stays and the conflicts are reported', () => {
  const wrong = splitSideModel(scene, moved, true);
  const result = disambiguateReconstruction(scene.views, sizes, within, wrong, { seed: 1 }, options, {}, []);
  assert.equal(result.reconstruction, wrong);
  assert.equal(result.rounds.length, 1);
  assert.equal(result.rounds[0]!.accepted, false);
  assert.ok(result.remainingConflicts.length >= 5);
  for (const c of result.remainingConflicts) assert.notEqual(moved.has(c.view0), moved.has(c.view1));
});
