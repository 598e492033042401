/**
 * Full-resolution refinement of verified matches before structure from motion. A keypoint has one position per
 * view but may be matched in several pairs, so refinement works per track: each track keeps one reference
 * observation (in its lowest-index view) fixed and aligns every other observation's window to it
 * (imaging/subpixel-refine.ts). All observations of a track then agree on one scene point to a small fraction
 * of a pixel, where the network's keypoints were good to a pixel or two of the original image.
 */
import { localLinearMaps, refineMatchesSubpixel, type GreyImage, type SubpixelOptions } from '../imaging/subpixel-refine.ts';
import { buildTracks } from '../sfm/tracks.ts';
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

export function refineTrackKeypoints(
  views: readonly SfmView[], greys: readonly (GreyImage | undefined)[], pairs: readonly VerifiedPair[],
  options: SubpixelOptions, onFailure: RefinementFailurePolicy, localInit = true,
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
    const result = refineMatchesSubpixel(rg, tg, refPts, tgtPts, options, localInit ? localLinearMaps(refPts, tgtPts) : undefined);
    const out = keypoints[tv]!;
    for (let i = 0; i < n; i++) {
      const b = list[2 * i + 1]!;
      if (result.status[i] === 0) {
        out[2 * b] = result.points[2 * i]!; out[2 * b + 1] = result.points[2 * i + 1]!;
        shifts.push(Math.hypot(result.points[2 * i]! - tgtPts[2 * i]!, result.points[2 * i + 1]! - tgtPts[2 * i + 1]!));
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
