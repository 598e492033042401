import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../core/errors.ts';
import { createSyntheticScene } from '../../test/helpers/synthetic-scene.ts';
import { buildTracks, type Tracks } from './tracks.ts';
import type { SfmView, VerifiedPair } from './types.ts';

function fakeView(index: number, numKeypoints: number): SfmView {
  return {
    index, name: `v${index}`, keypoints: new Float32Array(2 * numKeypoints),
    intrinsics: { fxPx: 100, fyPx: 100, cxPx: 50, cyPx: 50, width: 100, height: 100 },
  };
}

function pair(view0: number, view1: number, matches: number[]): VerifiedPair {
  return { view0, view1, matches: Uint32Array.from(matches) };
}

function trackList(tracks: Tracks): string[][] {
  const out: string[][] = [];
  for (let t = 0; t < tracks.count; t++) {
    const obs: string[] = [];
    for (let k = tracks.trackStart[t]!; k < tracks.trackStart[t + 1]!; k++) obs.push(`${tracks.trackViews[k]}:${tracks.trackKeypoints[k]}`);
    out.push(obs);
  }
  return out;
}

test('buildTracks chains matches across views and indexes keypoints back to tracks', () => {
  const views = [fakeView(0, 3), fakeView(1, 3), fakeView(2, 3)];
  const tracks = buildTracks(views, [pair(0, 1, [0, 2, 1, 0]), pair(1, 2, [2, 1])]);
  assert.deepEqual(trackList(tracks), [['0:0', '1:2', '2:1'], ['0:1', '1:0']]);
  assert.deepEqual(Array.from(tracks.keypointTrack[1]!), [1, -1, 0]);
  assert.deepEqual(Array.from(tracks.keypointTrack[2]!), [-1, 0, -1]);
  // minLength drops the short track.
  assert.deepEqual(trackList(buildTracks(views, [pair(0, 1, [0, 2, 1, 0]), pair(1, 2, [2, 1])], { minLength: 3 })), [['0:0', '1:2', '2:1']]);
});

test('buildTracks splits a track with two keypoints of one view, dropping the weakest link', () => {
  const views = [fakeView(0, 5), fakeView(1, 5), fakeView(2, 5)];
  // 0:0 - 1:0 - 2:0 is supported by strong pairs; the weak pair (2, 0) links 2:0 to 0:1 as well.
  const pairs = [
    pair(0, 1, [0, 0, 2, 2, 3, 3]),
    pair(1, 2, [0, 0, 2, 2, 4, 4]),
    pair(2, 0, [0, 1]),
  ];
  const tracks = buildTracks(views, pairs);
  const list = trackList(tracks);
  assert.deepEqual(list[0], ['0:0', '1:0', '2:0']);
  assert.ok(!list.some((t) => t.includes('0:1')), '0:1 is left alone');
  for (const t of list) {
    const viewsInTrack = t.map((o) => o.split(':')[0]);
    assert.equal(new Set(viewsInTrack).size, viewsInTrack.length);
  }
  assert.equal(tracks.keypointTrack[0]![1], -1);
});

test('buildTracks on a synthetic scene: exact point tracks without outliers, consistent tracks with 20% outliers', () => {
  const clean = createSyntheticScene({ numViews: 10, numPoints: 600, seed: 4, clutterPerView: 50 });
  const tracks = buildTracks(clean.views, clean.pairs);
  let pure = 0;
  for (let t = 0; t < tracks.count; t++) {
    const pointsInTrack = new Set<number>();
    for (let k = tracks.trackStart[t]!; k < tracks.trackStart[t + 1]!; k++) {
      pointsInTrack.add(clean.keypointPoint[tracks.trackViews[k]!]![tracks.trackKeypoints[k]!]!);
    }
    if (pointsInTrack.size === 1 && !pointsInTrack.has(-1)) pure++;
  }
  assert.equal(pure, tracks.count, 'every track is one 3-D point');
  // Without outliers the tracks are the connected components of the matches: both ends of every match share one.
  for (const p of clean.pairs) {
    for (let m = 0; m < p.matches.length; m += 2) {
      const t0 = tracks.keypointTrack[p.view0]![p.matches[m]!]!, t1 = tracks.keypointTrack[p.view1]![p.matches[m + 1]!]!;
      assert.ok(t0 >= 0 && t0 === t1);
    }
  }

  const noisy = createSyntheticScene({ numViews: 10, numPoints: 600, seed: 4, clutterPerView: 50, outlierRatio: 0.2 });
  const noisyTracks = buildTracks(noisy.views, noisy.pairs);
  let pureNoisy = 0;
  for (let t = 0; t < noisyTracks.count; t++) {
    const seenViews = new Set<number>();
    const pointsInTrack = new Map<number, number>();
    const start = noisyTracks.trackStart[t]!, end = noisyTracks.trackStart[t + 1]!;
    for (let k = start; k < end; k++) {
      const v = noisyTracks.trackViews[k]!;
      assert.ok(!seenViews.has(v), `track ${t} sees view ${v} twice`);
      seenViews.add(v);
      const p = noisy.keypointPoint[v]![noisyTracks.trackKeypoints[k]!]!;
      pointsInTrack.set(p, (pointsInTrack.get(p) ?? 0) + 1);
    }
    if (pointsInTrack.size === 1) pureNoisy++;
  }
  // Outlier links chain points together; the split leaves most tracks as one point.
  assert.ok(pureNoisy >= 0.5 * noisyTracks.count, `${pureNoisy} / ${noisyTracks.count} tracks are pure`);
});

test('buildTracks rejects pairs that refer to missing views or keypoints', () => {
  const views = [fakeView(0, 2), fakeView(1, 2)];
  assert.throws(() => buildTracks(views, [pair(0, 2, [0, 0])]), InputError);
  assert.throws(() => buildTracks(views, [pair(0, 0, [0, 1])]), InputError);
  assert.throws(() => buildTracks(views, [pair(0, 1, [0, 5])]), InputError);
  assert.equal(buildTracks(views, []).count, 0);
});
