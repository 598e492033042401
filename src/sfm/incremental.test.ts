import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProgressEvent } from '../core/context.ts';
import { AbortError } from '../core/errors.ts';
import { applySim3ToPoint } from '../geometry/sim3.ts';
import type { RigidPose } from '../geometry/rigid.ts';
import { createSyntheticScene, pairsWithin, type SyntheticScene } from '../../test/helpers/synthetic-scene.ts';
import { centreAlignment as alignment, reconstructionPoseErrors as poseErrors, registeredViews } from '../../test/helpers/reconstruction-errors.ts';
import { reconstructFromPoses, reconstructIncremental, reconstructWithKnownPoses } from './incremental.ts';
import { mul3, rotationFromAxisAngle } from '../geometry/mat3.ts';
import { createRng } from '../geometry/random.ts';
import type { Reconstruction, SfmView } from './types.ts';

function assertFiniteResult(reconstruction: Reconstruction): void {
  for (const pose of reconstruction.cameraFromWorld) {
    if (pose !== null) assert.ok(pose.rotation.every(Number.isFinite) && pose.translation.every(Number.isFinite));
  }
  for (const point of reconstruction.points) {
    assert.ok(point.xyz.every(Number.isFinite) && Number.isFinite(point.meanReprojectionErrorPx));
  }
}

test('30 views, 0.5 px noise, 20% outlier matches: every view registered, accurate poses and points', () => {
  const scene = createSyntheticScene({
    numViews: 30, numPoints: 2000, seed: 7, noisePx: 0.5, outlierRatio: 0.2, clutterPerView: 100, relativePoseNoiseDeg: 0.5,
  });
  const events: ProgressEvent[] = [];
  const t0 = performance.now();
  const reconstruction = reconstructIncremental(scene.views, scene.pairs, { seed: 1 }, { onProgress: (e) => events.push(e) });
  console.log(`incremental SfM: 30 views, ${scene.pairs.length} pairs: ${(performance.now() - t0).toFixed(0)} ms, ${reconstruction.points.length} points`);
  assertFiniteResult(reconstruction);
  assert.equal(registeredViews(reconstruction).length, 30);
  const errors = poseErrors(reconstruction, scene.cameraFromWorld);
  assert.ok(errors.rotationDeg < 0.1, `rotation error ${errors.rotationDeg} deg`);
  assert.ok(errors.centre < 0.005 * scene.sceneSize, `centre error ${errors.centre} (scene size ${scene.sceneSize})`);

  // Points: most of them land on their true position (the track's majority point) and carry its colour.
  const sim = alignment(reconstruction, scene.cameraFromWorld);
  let close = 0;
  for (const point of reconstruction.points) {
    assert.ok(point.track.length >= 4 && point.meanReprojectionErrorPx < 4);
    const votes = new Map<number, number>();
    for (let k = 0; k < point.track.length; k += 2) {
      const p = scene.keypointPoint[point.track[k]!]![point.track[k + 1]!]!;
      votes.set(p, (votes.get(p) ?? 0) + 1);
    }
    const [truePoint] = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]!;
    if (truePoint < 0) continue;
    const mapped = applySim3ToPoint(sim, point.xyz);
    const error = Math.hypot(mapped[0]! - scene.points[3 * truePoint]!, mapped[1]! - scene.points[3 * truePoint + 1]!, mapped[2]! - scene.points[3 * truePoint + 2]!);
    if (error < 0.002 * scene.sceneSize) {
      close++;
      for (let a = 0; a < 3; a++) assert.ok(Math.abs(point.color[a]! - scene.pointColors[3 * truePoint + a]!) <= 1);
    }
  }
  assert.ok(reconstruction.points.length > 1000, `${reconstruction.points.length} points`);
  assert.ok(close >= 0.95 * reconstruction.points.length, `${close} of ${reconstruction.points.length} points within 0.2% of the scene size`);

  // Progress: registered views out of the total, ending at all of them.
  assert.ok(events.length >= 29 && events.every((e) => e.stage === 'sfm' && e.total === 30 && e.unit === 'images'));
  assert.equal(events.at(-1)!.done, 30);
});

test('a scene in two disconnected parts returns the larger part, nulls for the rest, deterministically', () => {
  const scene = createSyntheticScene({ numViews: 16, numPoints: 1200, seed: 8, noisePx: 0.5, outlierRatio: 0.1 });
  const larger = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const smaller = new Set([10, 11, 12, 13, 14, 15]);
  const pairs = [...pairsWithin(scene.pairs, smaller), ...pairsWithin(scene.pairs, larger)];
  const reconstruction = reconstructIncremental(scene.views, pairs, { seed: 3 });
  assertFiniteResult(reconstruction);
  assert.deepEqual(registeredViews(reconstruction), [...larger]);
  const errors = poseErrors(reconstruction, scene.cameraFromWorld);
  assert.ok(errors.rotationDeg < 0.2 && errors.centre < 0.005 * scene.sceneSize, JSON.stringify(errors));
  for (const point of reconstruction.points) {
    for (let k = 0; k < point.track.length; k += 2) assert.ok(larger.has(point.track[k]!));
  }
  assert.deepEqual(reconstructIncremental(scene.views, pairs, { seed: 3 }), reconstruction);
});

test('several models: a small part that seeds first and links to the rest only by false matches does not hide the larger part', () => {
  const scene = createSyntheticScene({ numViews: 16, numPoints: 1200, seed: 8, noisePx: 0.5, outlierRatio: 0.1 });
  const larger = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const smaller = new Set([10, 11, 12, 13, 14, 15]);
  // The larger part's pairs keep a third of their matches, so the smaller part holds the strongest pair and seeds
  // the first model; a bridge of chance matches (no pose) joins the two parts into one view graph.
  const thinned = pairsWithin(scene.pairs, larger).map((p) => ({ ...p, matches: p.matches.slice(0, 2 * Math.floor(p.matches.length / 6)) }));
  let state = 12345;
  const random = (n: number): number => { state = (state * 1103515245 + 12345) % 2147483648; return state % n; };
  const bridgeMatches = new Uint32Array(120);
  for (let m = 0; m < 60; m++) {
    bridgeMatches[2 * m] = random(scene.views[10]!.keypoints.length / 2);
    bridgeMatches[2 * m + 1] = random(scene.views[0]!.keypoints.length / 2);
  }
  const pairs = [...pairsWithin(scene.pairs, smaller), ...thinned, { view0: 10, view1: 0, matches: bridgeMatches }];
  const reconstruction = reconstructIncremental(scene.views, pairs, { seed: 3 });
  assertFiniteResult(reconstruction);
  assert.deepEqual(registeredViews(reconstruction), [...larger]);
  const errors = poseErrors(reconstruction, scene.cameraFromWorld); // a third of the matches: looser than above
  assert.ok(errors.rotationDeg < 0.5 && errors.centre < 0.02 * scene.sceneSize, JSON.stringify(errors));
  // With one model only, the seed's part is all there is.
  const single = reconstructIncremental(scene.views, pairs, { seed: 3, maxModels: 1 });
  assert.deepEqual(registeredViews(single), [...smaller]);
});

test('too few matches: no crash, no poses, no points; a view without matches stays unregistered', () => {
  const scene = createSyntheticScene({ numViews: 8, numPoints: 600, seed: 9, noisePx: 0.5 });
  const empty = reconstructIncremental(scene.views, [], {});
  assert.deepEqual(empty.cameraFromWorld, scene.views.map(() => null));
  assert.equal(empty.points.length, 0);
  assert.equal(empty.intrinsics.length, 8);

  const starved = scene.pairs.map((p) => ({ ...p, matches: p.matches.subarray(0, 20) }));
  const few = reconstructIncremental(scene.views, starved, {});
  assertFiniteResult(few);
  assert.equal(registeredViews(few).length, 0);

  const withoutView3 = scene.pairs.filter((p) => p.view0 !== 3 && p.view1 !== 3);
  const partial = reconstructIncremental(scene.views, withoutView3, { seed: 2 });
  assertFiniteResult(partial);
  assert.equal(partial.cameraFromWorld[3], null);
  assert.ok(registeredViews(partial).length >= 6);

  const noViews = reconstructIncremental([] as SfmView[], [], {});
  assert.deepEqual(noViews, { cameraFromWorld: [], intrinsics: [], points: [] });
});

test('pairs without a relative pose: the initial pair gets one from its matches (essential matrix)', () => {
  const scene = createSyntheticScene({ numViews: 10, numPoints: 800, seed: 12, noisePx: 0.5, outlierRatio: 0.1 });
  const bare = scene.pairs.map(({ view0, view1, matches }) => ({ view0, view1, matches }));
  const reconstruction = reconstructIncremental(scene.views, bare, { seed: 5 });
  assertFiniteResult(reconstruction);
  assert.equal(registeredViews(reconstruction).length, 10);
  const errors = poseErrors(reconstruction, scene.cameraFromWorld);
  assert.ok(errors.rotationDeg < 0.2 && errors.centre < 0.005 * scene.sceneSize, JSON.stringify(errors));
});

test('a wrong initial focal is recovered with shared focal refinement', () => {
  const truth: SyntheticScene = createSyntheticScene({ numViews: 14, numPoints: 1200, seed: 10, noisePx: 0.3 });
  const wrong = { ...truth.intrinsics, fxPx: 0.95 * truth.intrinsics.fxPx, fyPx: 0.95 * truth.intrinsics.fyPx };
  const views = truth.views.map((v) => ({ ...v, intrinsics: wrong }));
  const reconstruction = reconstructIncremental(views, truth.pairs, { seed: 4, refineIntrinsics: 'sharedFocal' });
  assert.equal(registeredViews(reconstruction).length, 14);
  for (const k of reconstruction.intrinsics) {
    assert.ok(Math.abs(k.fxPx / truth.intrinsics.fxPx - 1) < 0.005, `focal ${k.fxPx} vs ${truth.intrinsics.fxPx}`);
  }
});

test('reconstructIncremental honours the abort signal', () => {
  const scene = createSyntheticScene({ numViews: 6, numPoints: 300, seed: 11 });
  const controller = new AbortController();
  controller.abort();
  assert.throws(() => reconstructIncremental(scene.views, scene.pairs, {}, { signal: controller.signal }), AbortError);
});

test('known poses: cameras stay exactly as given, points land on the truth, outlier matches are dropped', () => {
  const scene = createSyntheticScene({ numViews: 12, numPoints: 1500, seed: 21, noisePx: 0.5, outlierRatio: 0.2 });
  const given: (RigidPose | null)[] = scene.cameraFromWorld.map((p, v) => (v === 11 ? null : p));
  const reconstruction = reconstructWithKnownPoses(scene.views, scene.pairs, given);
  assertFiniteResult(reconstruction);
  assert.deepEqual(registeredViews(reconstruction), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  for (let v = 0; v < 11; v++) assert.deepEqual(reconstruction.cameraFromWorld[v], scene.cameraFromWorld[v]);
  assert.ok(reconstruction.points.length > 800, `${reconstruction.points.length} points`);
  // Each point against the truth of its track's first keypoint.
  const errors = reconstruction.points.map((point) => {
    const truth = scene.keypointPoint[point.track[0]!]![point.track[1]!]!;
    assert.ok(truth >= 0, 'a point made of clutter');
    return Math.hypot(point.xyz[0]! - scene.points[3 * truth]!, point.xyz[1]! - scene.points[3 * truth + 1]!, point.xyz[2]! - scene.points[3 * truth + 2]!);
  }).sort((a, b) => a - b);
  const medianError = errors[errors.length >> 1]!;
  assert.ok(medianError < 0.002 * scene.sceneSize, `median point error ${medianError} (scene ${scene.sceneSize})`);
  for (const point of reconstruction.points) {
    for (let k = 0; k < point.track.length; k += 2) assert.notEqual(point.track[k], 11);
  }
  assert.throws(() => reconstructWithKnownPoses(scene.views, scene.pairs, given.slice(1)), /12 views/);
});

test('resumed from approximate poses: the poses are refined, views without one are registered', () => {
  const scene = createSyntheticScene({ numViews: 12, numPoints: 1500, seed: 22, noisePx: 0.5, outlierRatio: 0.2 });
  // Views 0-7 start 1 degree and 2% of the scene off; 8-11 start without a pose.
  const rng = createRng(5);
  const initial = scene.cameraFromWorld.map((pose, v): RigidPose | null => {
    if (v >= 8) return null;
    const turn = rotationFromAxisAngle([0, 1, 2].map(() => (Math.PI / 180) * (rng.next() - 0.5) * 2));
    return { rotation: mul3(turn, pose.rotation), translation: Float64Array.from(pose.translation, (t) => t + 0.02 * scene.sceneSize * (rng.next() - 0.5)) };
  });
  assert.ok(poseErrors({ cameraFromWorld: initial, intrinsics: [], points: [] }, scene.cameraFromWorld).rotationDeg > 0.3);
  const reconstruction = reconstructFromPoses(scene.views, scene.pairs, initial, { seed: 1 });
  assertFiniteResult(reconstruction);
  assert.equal(registeredViews(reconstruction).length, 12);
  // As precise as the mapper started from scratch on the same matches.
  const errors = poseErrors(reconstruction, scene.cameraFromWorld);
  const scratch = poseErrors(reconstructIncremental(scene.views, scene.pairs, { seed: 1 }), scene.cameraFromWorld);
  assert.ok(errors.rotationDeg < Math.max(0.15, 1.5 * scratch.rotationDeg), `rotation error ${errors.rotationDeg} deg (from scratch ${scratch.rotationDeg})`);
  assert.ok(errors.centre < 0.005 * scene.sceneSize, `centre error ${errors.centre}`);
  assert.throws(() => reconstructFromPoses(scene.views, scene.pairs, initial.slice(1)), /12 views/);
  assert.equal(registeredViews(reconstructFromPoses(scene.views, scene.pairs, scene.views.map(() => null))).length, 0);
});
