/**
 * Full-resolution refinement of verified matches before structure from motion. A keypoint has one position per
 * view but may be matched in several pairs, so refinement works per track: each track keeps one reference
 * observation (in its lowest-index view) fixed and aligns every other observation's window to it
 * (imaging/subpixel-refine.ts). All observations of a track then agree on one scene point to a small fraction
 * of a pixel, where the network's keypoints were good to a pixel or two of the original image.
 */
import { localLinearMaps, refineMatchesSubpixel, type GreyImage, type SubpixelOptions } from '../imaging/subpixel-refine.ts';
import { buildTracks } from '../sfm/tracks.ts';
import type { TrackExtensionGroup } from '../sfm/track-extension.ts';
import type { SfmView, VerifiedPair } from '../sfm/types.ts';

/** What becomes of an observation whose refinement fails: kept at the network's position, or its matches dropped. */
export type RefinementFailurePolicy = 'keep' | 'drop';

export interface TrackRefinementResult {
  /** Per view: keypoints with refined positions (a copy; unrefined keypoints unchanged). */
  readonly keypoints: readonly Float32Array[];
  /** The pairs, without the matches of dropped observations under the 'drop' policy. */
  readonly pairs: readonly VerifiedPair[];
  readonly refined: number;
  readonly failed: number;
  /** Median shift of the refined observations, pixels. */
  readonly medianShiftPx: number;
}

/**
 * Outcomes of earlier refinements under the same images and options, so that a later call over mostly the same
 * matches (a second round of verification) aligns only the new ones. Outer key: reference view x number of
 * views + target view; inner key: reference keypoint x 2^24 + target keypoint; value: the refined target
 * position, or null for a failure.
 */
export type RefinementMemo = Map<number, Map<number, readonly [number, number] | null>>;

export interface TrackRefinementContext {
  /** Start each window from the local linear map of its group's neighbouring matches (default true). */
  readonly localInit?: boolean;
  readonly memo?: RefinementMemo;
}

export function refineTrackKeypoints(
  views: readonly SfmView[], greys: readonly (GreyImage | undefined)[], pairs: readonly VerifiedPair[],
  options: SubpixelOptions, onFailure: RefinementFailurePolicy, { localInit = true, memo }: TrackRefinementContext = {},
): TrackRefinementResult {
  const keypoints = views.map((v) => Float32Array.from(v.keypoints));
  const failedMask = views.map((v) => new Uint8Array(v.keypoints.length / 2));
  const tracks = buildTracks(views, pairs);
  // Group (reference view, target view) -> keypoint index pairs, so each image pair is one batch.
  const groups = new Map<number, number[]>();
  const numViews = views.length;
  for (let t = 0; t < tracks.count; t++) {
    const start = tracks.trackStart[t]!, end = tracks.trackStart[t + 1]!;
    let ref = start;
    for (let o = start + 1; o < end; o++) if (tracks.trackViews[o]! < tracks.trackViews[ref]!) ref = o;
    const rv = tracks.trackViews[ref]!, rk = tracks.trackKeypoints[ref]!;
    for (let o = start; o < end; o++) {
      if (o === ref) continue;
      const key = rv * numViews + tracks.trackViews[o]!;
      let list = groups.get(key);
      if (!list) groups.set(key, list = []);
      list.push(rk, tracks.trackKeypoints[o]!);
    }
  }
  // Per group: the matches the memo does not know yet are aligned and remembered; then every refined observation
  // moves and every failed one is marked.
  let refined = 0, failed = 0;
  const shifts: number[] = [];
  for (const [key, list] of groups) {
    const rv = Math.floor(key / numViews), tv = key % numViews;
    const rg = greys[rv], tg = greys[tv];
    if (!rg || !tg) continue;
    const n = list.length / 2;
    const refPts = new Float64Array(2 * n), tgtPts = new Float64Array(2 * n);
    const rkp = views[rv]!.keypoints, tkp = views[tv]!.keypoints;
    for (let i = 0; i < n; i++) {
      const a = list[2 * i]!, b = list[2 * i + 1]!;
      refPts[2 * i] = rkp[2 * a]!; refPts[2 * i + 1] = rkp[2 * a + 1]!;
      tgtPts[2 * i] = tkp[2 * b]!; tgtPts[2 * i + 1] = tkp[2 * b + 1]!;
    }
    let known = memo?.get(key);
    if (!known) { known = new Map(); memo?.set(key, known); }
    const todo: number[] = [];
    for (let i = 0; i < n; i++) if (!known.has(memoKey(list, i))) todo.push(i);
    if (todo.length > 0) {
      // The starting shapes come from all the group's matches, as without a memo; only the new ones are aligned.
      const linear = localInit ? localLinearMaps(refPts, tgtPts) : undefined;
      const result = refineMatchesSubpixel(rg, tg, pick(refPts, todo, 2), pick(tgtPts, todo, 2), options, linear ? pick(linear, todo, 4) : undefined);
      todo.forEach((i, k) => known.set(memoKey(list, i), result.status[k] === 0 ? [result.points[2 * k]!, result.points[2 * k + 1]!] : null));
    }
    const out = keypoints[tv]!;
    for (let i = 0; i < n; i++) {
      const b = list[2 * i + 1]!;
      const position = known.get(memoKey(list, i));
      if (position) {
        out[2 * b] = position[0]; out[2 * b + 1] = position[1];
        shifts.push(Math.hypot(position[0] - tgtPts[2 * i]!, position[1] - tgtPts[2 * i + 1]!));
        refined++;
      } else {
        failedMask[tv]![b] = 1;
        failed++;
      }
    }
  }
  let outPairs: readonly VerifiedPair[] = pairs;
  if (onFailure === 'drop') {
    outPairs = pairs.map((pair) => {
      const f0 = failedMask[pair.view0]!, f1 = failedMask[pair.view1]!;
      const kept: number[] = [];
      for (let m = 0; m < pair.matches.length; m += 2) {
        if (!f0[pair.matches[m]!] && !f1[pair.matches[m + 1]!]) kept.push(pair.matches[m]!, pair.matches[m + 1]!);
      }
      return { ...pair, matches: Uint32Array.from(kept) };
    });
  }
  shifts.sort((a, b) => a - b);
  return { keypoints, pairs: outPairs, refined, failed, medianShiftPx: shifts.length ? shifts[shifts.length >> 1]! : 0 };
}

/** Memo key of match i of a group's (reference keypoint, target keypoint) list. */
function memoKey(list: readonly number[], i: number): number {
  return list[2 * i]! * 2 ** 24 + list[2 * i + 1]!;
}

/** The entries of the listed items (`width` numbers each), packed. */
function pick(a: Float64Array, items: readonly number[], width: number): Float64Array {
  const out = new Float64Array(items.length * width);
  items.forEach((i, k) => { for (let c = 0; c < width; c++) out[k * width + c] = a[i * width + c]!; });
  return out;
}

export interface ExtendedTracks {
  /** The views with the confirmed proposals appended to their keypoints (and colours). */
  readonly views: readonly SfmView[];
  /** The pairs with a match per confirmed proposal (into the pair of the two views, or a new pair). */
  readonly pairs: readonly VerifiedPair[];
  readonly proposed: number;
  readonly confirmed: number;
}

/**
 * Confirms proposed observations (sfm/track-extension.ts) by aligning each proposal's window to its reference
 * observation's, starting at the predicted pixel with the local shape of the neighbouring proposals; the
 * alignments that succeed become keypoints of their views, matched to the reference keypoint, so that the
 * point's track takes them in. `views` must hold the keypoints the proposals' reference indices refer to.
 */
export function extendTracksByAlignment(
  views: readonly SfmView[], greys: readonly (GreyImage | undefined)[], pairs: readonly VerifiedPair[],
  groups: readonly TrackExtensionGroup[], options: SubpixelOptions,
): ExtendedTracks {
  const added = views.map(() => [] as number[]);
  const addedColours = views.map(() => [] as number[]);
  const newMatches = new Map<number, number[]>();
  const numViews = views.length;
  let proposed = 0, confirmed = 0;
  for (const group of groups) {
    const r = group.referenceView, v = group.view;
    const rg = greys[r], tg = greys[v];
    const n = group.referenceKeypoints.length;
    proposed += n;
    if (!rg || !tg || n === 0) continue;
    const refKeypoints = views[r]!.keypoints;
    // A reference an earlier extension added (a later round starts from the plain features) has no keypoint here.
    const usable = [...group.referenceKeypoints.keys()].filter((i) => group.referenceKeypoints[i]! < refKeypoints.length / 2);
    if (usable.length === 0) continue;
    const refPts = new Float64Array(2 * usable.length), predicted = new Float64Array(2 * usable.length);
    usable.forEach((i, j) => {
      const k = group.referenceKeypoints[i]!;
      refPts[2 * j] = refKeypoints[2 * k]!; refPts[2 * j + 1] = refKeypoints[2 * k + 1]!;
      predicted[2 * j] = group.predicted[2 * i]!; predicted[2 * j + 1] = group.predicted[2 * i + 1]!;
    });
    const result = refineMatchesSubpixel(rg, tg, refPts, predicted, options, localLinearMaps(refPts, predicted));
    const base = views[v]!.keypoints.length / 2;
    const refColours = views[r]!.keypointColors;
    let list = newMatches.get(r * numViews + v);
    if (!list) newMatches.set(r * numViews + v, list = []);
    for (let j = 0; j < usable.length; j++) {
      if (result.status[j] !== 0) continue;
      const k = group.referenceKeypoints[usable[j]!]!;
      list.push(k, base + added[v]!.length / 2);
      added[v]!.push(result.points[2 * j]!, result.points[2 * j + 1]!);
      if (refColours) addedColours[v]!.push(refColours[3 * k]!, refColours[3 * k + 1]!, refColours[3 * k + 2]!);
      confirmed++;
    }
  }
  const outViews = views.map((view, v) => {
    if (added[v]!.length === 0) return view;
    const keypoints = new Float32Array(view.keypoints.length + added[v]!.length);
    keypoints.set(view.keypoints);
    keypoints.set(added[v]!, view.keypoints.length);
    if (!view.keypointColors) return { ...view, keypoints };
    const keypointColors = new Uint8Array(view.keypointColors.length + addedColours[v]!.length);
    keypointColors.set(view.keypointColors);
    keypointColors.set(addedColours[v]!, view.keypointColors.length);
    return { ...view, keypoints, keypointColors };
  });
  // Matches go into the existing pair of the two views (either order), or a new pair without a relative pose.
  const outPairs = pairs.map((pair) => ({ ...pair }));
  for (const [key, list] of newMatches) {
    if (list.length === 0) continue;
    const r = Math.floor(key / numViews), v = key % numViews;
    const index = outPairs.findIndex((p) => (p.view0 === r && p.view1 === v) || (p.view0 === v && p.view1 === r));
    if (index < 0) { outPairs.push({ view0: r, view1: v, matches: Uint32Array.from(list) }); continue; }
    const pair = outPairs[index]!;
    const merged = new Uint32Array(pair.matches.length + list.length);
    merged.set(pair.matches);
    if (pair.view0 === r) merged.set(list, pair.matches.length);
    else for (let m = 0; m < list.length; m += 2) { merged[pair.matches.length + m] = list[m + 1]!; merged[pair.matches.length + m + 1] = list[m]!; }
    outPairs[index] = { ...pair, matches: merged };
  }
  return { views: outViews, pairs: outPairs, proposed, confirmed };
}
