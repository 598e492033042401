import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Intrinsics } from '../core/camera.ts';
import type { GreyImage } from '../imaging/subpixel-refine.ts';
import { DEFAULT_SUBPIXEL_OPTIONS } from '../imaging/subpixel-refine.ts';
import type { SfmView, VerifiedPair } from '../sfm/types.ts';
import { extendTracksByAlignment, refineTrackKeypoints, type RefinementMemo } from './views-refine.ts';

const K: Intrinsics = { fxPx: 200, fyPx: 200, cxPx: 100, cyPx: 80, width: 200, height: 160 };
/** Target = reference moved by SHIFT: b(p + SHIFT) = a(p). */
const SHIFT = [2.3, -1.4] as const;

/** Oblique waves (wavelengths 8-20 px): every window has corners. Flat (128) right of x = 150 when `flatRight`. */
function image(shift: readonly [number, number], flatRight: boolean): GreyImage {
  const width = 200, height = 160;
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x - shift[0], v = y - shift[1];
      data[y * width + x] = flatRight && x > 150 ? 128
        : 128 + 35 * Math.sin(0.37 * u + 0.21 * v) + 25 * Math.sin(-0.17 * u + 0.49 * v + 1) + 20 * Math.cos(0.63 * u + 0.27 * v);
    }
  }
  return { width, height, data };
}

function view(index: number, keypoints: number[]): SfmView {
  return {
    index, name: `v${index}`, intrinsics: K, keypoints: Float32Array.from(keypoints),
    keypointColors: Uint8Array.from(keypoints.flatMap((_, i) => (i % 2 === 0 ? [index, i / 2, 9] : []))),
  };
}

test('extendTracksByAlignment: aligned proposals become keypoints matched to their reference; failed ones are left out', () => {
  const greys = [image([0, 0], false), image(SHIFT, true)];
  // View 0: keypoints 0-3 at textured places; view 1: two keypoints, the first matched to view 0's keypoint 0.
  const views = [view(0, [40, 40, 80.5, 60.25, 120, 100, 160, 50]), view(1, [40 + SHIFT[0], 40 + SHIFT[1], 60, 120])];
  const pairs: VerifiedPair[] = [{ view0: 0, view1: 1, matches: Uint32Array.of(0, 0) }];
  const truth = (k: number): [number, number] => [views[0]!.keypoints[2 * k]! + SHIFT[0], views[0]!.keypoints[2 * k + 1]! + SHIFT[1]];
  // Proposals for view 0's keypoints 1-3, predicted 1-2 px off; keypoint 3's target lies in view 1's flat part.
  const predicted = [1, 2, 3].flatMap((k, i) => [truth(k)[0] + 1.2 * Math.cos(i), truth(k)[1] - 1.1 * Math.sin(i + 1)]);
  const groups = [
    { referenceView: 0, view: 1, referenceKeypoints: Uint32Array.of(1, 2, 3), predicted: Float64Array.from(predicted), points: Uint32Array.of(0, 1, 2) },
    // The other direction: view 1's keypoint 1 proposed into view 0, where it lies at (60, 120) - SHIFT.
    { referenceView: 1, view: 0, referenceKeypoints: Uint32Array.of(1), predicted: Float64Array.of(60 - SHIFT[0] - 0.8, 120 - SHIFT[1] + 0.9), points: Uint32Array.of(3) },
    // A reference keypoint view 1 does not have (one an earlier extension added): skipped.
    { referenceView: 1, view: 0, referenceKeypoints: Uint32Array.of(7), predicted: Float64Array.of(100, 80), points: Uint32Array.of(4) },
  ];
  const result = extendTracksByAlignment(views, greys, pairs, groups, DEFAULT_SUBPIXEL_OPTIONS);
  assert.equal(result.proposed, 5);
  assert.equal(result.confirmed, 3, 'the proposal in the flat part fails');

  const v1 = result.views[1]!.keypoints;
  assert.equal(v1.length, 2 * 4, 'view 1 gains two keypoints');
  for (const [slot, k] of [[2, 1], [3, 2]] as const) {
    const [x, y] = truth(k);
    assert.ok(Math.hypot(v1[2 * slot]! - x, v1[2 * slot + 1]! - y) < 0.05, `keypoint ${k} aligned to (${x}, ${y}), got (${v1[2 * slot]}, ${v1[2 * slot + 1]})`);
  }
  const v0 = result.views[0]!.keypoints;
  assert.equal(v0.length, 2 * 5, 'view 0 gains one keypoint');
  assert.ok(Math.hypot(v0[8]! - (60 - SHIFT[0]), v0[9]! - (120 - SHIFT[1])) < 0.05);
  // Colours follow the reference keypoint.
  assert.deepEqual([...result.views[1]!.keypointColors!.slice(6)], [0, 1, 9, 0, 2, 9]);
  assert.deepEqual([...result.views[0]!.keypointColors!.slice(12)], [1, 1, 9]);

  // One pair of the two views keeps the old match and takes the new ones, in its own (view0, view1) order.
  assert.equal(result.pairs.length, 1);
  assert.deepEqual([...result.pairs[0]!.matches], [0, 0, 1, 2, 2, 3, 4, 1]);
  assert.deepEqual([...pairs[0]!.matches], [0, 0], 'the input pairs are not modified');
  assert.equal(views[1]!.keypoints.length, 4, 'the input views are not modified');
});

test('refineTrackKeypoints: a memo gives the same positions as aligning again, and only new matches are aligned', () => {
  const greys = [image([0, 0], false), image(SHIFT, false)];
  const reference = [30, 30, 70.5, 40.25, 110, 90, 150, 60, 50, 120];
  // View 1's keypoints 1-2 px from where view 0's land.
  const target = reference.map((c, i) => c + SHIFT[i % 2]! + (i % 4 === 0 ? 1.1 : -0.9));
  const views = [view(0, reference), view(1, target)];
  const first: VerifiedPair[] = [{ view0: 0, view1: 1, matches: Uint32Array.of(0, 0, 1, 1, 2, 2, 3, 3) }];
  const all: VerifiedPair[] = [{ view0: 0, view1: 1, matches: Uint32Array.of(0, 0, 1, 1, 2, 2, 3, 3, 4, 4) }];
  const memo: RefinementMemo = new Map();
  const once = refineTrackKeypoints(views, greys, first, DEFAULT_SUBPIXEL_OPTIONS, 'drop', { memo });
  assert.equal(once.refined, 4);
  assert.equal(memo.get(1)?.size, 4, 'group (view 0 -> view 1) remembers its four matches');
  for (let k = 0; k < 4; k++) {
    assert.ok(Math.hypot(once.keypoints[1]![2 * k]! - reference[2 * k]! - SHIFT[0], once.keypoints[1]![2 * k + 1]! - reference[2 * k + 1]! - SHIFT[1]) < 0.05);
  }
  // A stale entry proves the memo is read: keypoint 3's remembered outcome is a failure.
  memo.get(1)!.set(3 * 2 ** 24 + 3, null);
  const again = refineTrackKeypoints(views, greys, all, DEFAULT_SUBPIXEL_OPTIONS, 'drop', { memo });
  assert.equal(again.refined, 4, 'keypoints 0-2 from the memo, 4 aligned now');
  assert.equal(again.failed, 1);
  assert.deepEqual([...again.pairs[0]!.matches], [0, 0, 1, 1, 2, 2, 4, 4]);
  assert.deepEqual([...again.keypoints[1]!.slice(0, 6)], [...once.keypoints[1]!.slice(0, 6)]);
  const fresh = refineTrackKeypoints(views, greys, all, DEFAULT_SUBPIXEL_OPTIONS, 'drop');
  assert.equal(fresh.refined, 5, 'without the memo every match is aligned');
});
