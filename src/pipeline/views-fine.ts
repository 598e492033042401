/**
 * Fine pass of multi-view reconstruction. The coarse pass (features on the image squeezed into one network
 * input) registers views robustly, but its keypoints are good to only 1-2.5 original pixels, which on
 * narrow-field-of-view photos costs tenths of a degree. Here features are detected again at a finer resolution
 * (tiles of the network input) and matched between the views the coarse cameras say overlap. A match is kept
 * when it lies near the coarse cameras' epipolar lines (a loose test: it only rules out repeated or symmetric
 * structure the coarse pass already resolved) and is an inlier of the pair's own essential matrix at a tight
 * threshold. The cameras are then reconstructed again from these matches alone, so that the coarse poses'
 * errors do not carry over; the coarse result stays when the fine one registers fewer views or disagrees
 * with it by more than a few degrees.
 *
 * A second round verifies the same matches under the fine cameras (a tight epipolar band), and extends the
 * tracks: points seen by several views are projected into the views that lack them and kept where the image
 * windows align. A view seen from an unusual angle keeps few mutual-nearest-neighbour matches, and a handful of
 * wrong ones on repeated structure (a facade's windows) can then tilt it by half a degree; the extended tracks
 * tie it to the points the other views agree on.
 */
import type { RunContext } from '../core/context.ts';
import { throwIfAborted } from '../core/errors.ts';
import { runAhead } from '../core/run-ahead.ts';
import type { Image } from '../core/image.ts';
import { fundamentalFromCameras, matchesOnEpipolarLines } from '../geometry/epipolar.ts';
import { estimateRelativePose } from '../geometry/essential.ts';
import { rotationAngleDeg, mul3, transpose3 } from '../geometry/mat3.ts';
import { transformByPose, type RigidPose } from '../geometry/rigid.ts';
import { projectPoint } from '../geometry/unproject.ts';
import { extractMultiResolutionFeatures } from '../models/feature-tiling.ts';
import type { LocalFeatures } from '../models/xfeat.ts';
import { reconstructFromPoses, reconstructIncremental, type IncrementalOptions } from '../sfm/incremental.ts';
import type { Reconstruction, SfmView, VerifiedPair } from '../sfm/types.ts';
import { MATCHES_AHEAD, matchedPixels, type FeatureToolkit } from './views-features.ts';
import { DEFAULT_SUBPIXEL_OPTIONS, greyFromInterleaved, type GreyImage, type SubpixelOptions } from '../imaging/subpixel-refine.ts';
import { extendTracksByAlignment, refineTrackKeypoints, type RefinementFailurePolicy, type RefinementMemo } from './views-refine.ts';
import { DEFAULT_TRACK_EXTENSION, proposeTrackExtensions, type TrackExtensionOptions } from '../sfm/track-extension.ts';

export interface FinePassOptions {
  /** Long side (pixels) at which features are detected again; images are never enlarged. */
  readonly resolutionPx: number;
  /** The pass runs only when this resolution is at least this many times the coarse one (median over views). */
  readonly minResolutionGain: number;
  /** Keypoints per image at the fine resolution, over all tiles. */
  readonly maxKeypoints: number;
  /** Mutual nearest neighbours below this cosine similarity are dropped. */
  readonly minSimilarity: number;
  /** Sampson distance (original pixels) allowed from the coarse cameras' epipolar geometry. */
  readonly maxCoarseEpipolarPx: number;
  /** Inlier threshold (original pixels) of each pair's own essential matrix. */
  readonly thresholdPx: number;
  /** Pairs of registered views sharing fewer coarse points than this are not matched. */
  readonly minSharedPoints: number;
  /** Each view is matched with at most this many partners, its most covisible ones. */
  readonly maxPairsPerView: number;
  /** Pairs keeping fewer fine matches than this take no part. */
  readonly minMatches: number;
  /** The coarse cameras stay when a relative rotation changes by more than this (degrees). */
  readonly maxRotationChangeDeg: number;
  /**
   * Rounds of verification again under the fine pass's own cameras: each pair's matches are filtered by this
   * Sampson distance (original pixels) to them, verified, refined and reconstructed once more (the features and
   * matches are reused). Absent or 0 rounds: none.
   */
  readonly reverify?: {
    readonly rounds: number;
    readonly maxEpipolarPx: number;
    /** Points of the previous round projected into the views that should see them, kept where windows align. */
    readonly extension?: TrackExtensionOptions;
  };
  /** Sub-pixel alignment of the fine matches' windows before reconstruction (absent: network positions). */
  readonly subpixel?: {
    readonly onFailure: RefinementFailurePolicy;
    readonly minNcc: number;
    /** Lucas-Kanade iterations per warp model, and the NCC search radius (pixels) before them. */
    readonly maxIterations: number;
    readonly searchRadiusPx: number;
    /** Windows whose best whole-pixel NCC is below this fail without gradient steps. */
    readonly minSearchNcc: number;
  };
}

export const DEFAULT_FINE_PASS: FinePassOptions = Object.freeze({
  resolutionPx: 1600,
  minResolutionGain: 1.5,
  // 4096 at 1600 px left DTU's weakest view (000000) with too few matches to place it (2.7 deg on 2 of 5 seeds).
  maxKeypoints: 8192,
  minSimilarity: 0.82,
  maxCoarseEpipolarPx: 16,
  thresholdPx: 1.5,
  minSharedPoints: 20,
  // Keeps the fine matching linear in the number of views; DTU's views have at most 5 partners.
  maxPairsPerView: 10,
  minMatches: 30,
  maxRotationChangeDeg: 5,
  // DTU seeds 0-9, median aligned rotation error: one round 0.12-0.34 deg; with this round 0.148-0.183. Two
  // rounds: no better; a 2 px band loses view 000000 on seed 0 (docs/BENCHMARKS.md, "Session 9").
  reverify: { rounds: 1, maxEpipolarPx: 4, extension: DEFAULT_TRACK_EXTENSION },
  // Chosen in session 7 (one round, 5 seeds): 30 iterations were no better and slower; NCC 0.5 or 0.3 no better;
  // failures kept at their network position were worse.
  // Under 1% of the windows (DTU, all rounds) that start below NCC 0.4 after the search end above 0.7.
  subpixel: { onFailure: 'drop' as const, minNcc: 0.7, maxIterations: 12, searchRadiusPx: 3, minSearchNcc: 0.4 },
});

export interface FinePassInput {
  /** The coarse pass's views (coarse keypoints), indexed as the reconstruction. */
  readonly views: readonly SfmView[];
  readonly sizes: readonly { readonly width: number; readonly height: number }[];
  /** The coarse reconstruction. */
  readonly reconstruction: Reconstruction;
  /** Long side at which the coarse features were detected (the finest coarse level). */
  readonly coarseResolutionPx: number;
  /** Decodes view i again (one image in memory at a time). */
  readonly decode: (view: number) => Promise<Image<Uint8Array>>;
  readonly colors: (image: Image<Uint8Array>, keypoints: Float32Array) => Uint8Array;
}

export type FinePassOutcome =
  | { readonly kind: 'skipped'; readonly reason: string }
  | { readonly kind: 'rejected'; readonly reason: string }
  | {
    readonly kind: 'refined';
    readonly reconstruction: Reconstruction;
    /** Per view: the fine features, or null for a view without a pose. */
    readonly features: readonly (LocalFeatures | null)[];
    /**
     * Per view: the keypoints the reconstruction's tracks index: the fine features' at their sub-pixel positions,
     * then the observations added by track extension (null for a view without a pose).
     */
    readonly keypoints: readonly (Float32Array | null)[];
    readonly pairs: number;
    readonly matches: number;
  };

/**
 * Pairs of registered views worth matching at the fine level: a point observed in one view that projects into
 * the other's frame (in front of it) counts for the pair; pairs with at least `minShared` such points are
 * returned, in order. Geometric rather than track covisibility: a pair whose coarse matches were too few, or
 * were set aside by the loop check, is still matched when the cameras say the views overlap. On large sets
 * each view keeps only its `maxPerView` most covisible partners (a pair stays when either view keeps it), so
 * the matching grows linearly with the number of views, not quadratically.
 */
export function covisiblePairs(
  reconstruction: Reconstruction, sizes: readonly { readonly width: number; readonly height: number }[], minShared: number,
  maxPerView = Number.POSITIVE_INFINITY,
): Array<readonly [number, number]> {
  const { cameraFromWorld: poses, intrinsics, points } = reconstruction;
  const numViews = poses.length;
  const registered = poses.flatMap((p, v) => (p ? [v] : []));
  const counts = new Map<number, number>();
  const inside = new Uint8Array(numViews);
  for (const point of points) {
    inside.fill(0);
    for (const v of registered) {
      const c = transformByPose(poses[v]!, point.xyz);
      const px = projectPoint(intrinsics[v]!, c[0]!, c[1]!, c[2]!);
      if (px && px.u >= 0 && px.v >= 0 && px.u < sizes[v]!.width && px.v < sizes[v]!.height) inside[v] = 1;
    }
    const observers = new Set<number>();
    for (let o = 0; o < point.track.length; o += 2) observers.add(point.track[o]!);
    for (const i of observers) {
      for (const j of registered) {
        // Each unordered pair once per point, whichever of its views observed it.
        if (j === i || !inside[j] || (observers.has(j) && j < i)) continue;
        const key = Math.min(i, j) * numViews + Math.max(i, j);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
  }
  const candidates = [...counts.entries()].filter(([, c]) => c >= minShared);
  const partners = new Map<number, Array<[number, number]>>();
  for (const [key, count] of candidates) {
    for (const v of [Math.floor(key / numViews), key % numViews]) {
      let list = partners.get(v);
      if (!list) partners.set(v, list = []);
      list.push([key, count]);
    }
  }
  const chosen = new Set<number>();
  for (const list of partners.values()) {
    list.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    for (const [key] of list.slice(0, maxPerView)) chosen.add(key);
  }
  return [...chosen].sort((a, b) => a - b).map((key) => [Math.floor(key / numViews), key % numViews] as const);
}

/** Largest change (degrees) of a relative rotation between two views registered in both reconstructions. */
export function maxRelativeRotationChangeDeg(a: readonly (RigidPose | null)[], b: readonly (RigidPose | null)[]): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const ai = a[i], aj = a[j], bi = b[i], bj = b[j];
      if (!ai || !aj || !bi || !bj) continue;
      const relA = mul3(aj.rotation, transpose3(ai.rotation)), relB = mul3(bj.rotation, transpose3(bi.rotation));
      worst = Math.max(worst, rotationAngleDeg(mul3(relA, transpose3(relB))));
    }
  }
  return worst;
}

/** Median over the registered views of how many times finer the fine resolution is than the coarse one. */
function resolutionGain(input: FinePassInput, fineResolutionPx: number): number {
  const gains = input.sizes.flatMap((size, v) => {
    if (!input.reconstruction.cameraFromWorld[v]) return [];
    const longSide = Math.max(size.width, size.height);
    return [Math.min(fineResolutionPx, longSide) / Math.min(input.coarseResolutionPx, longSide)];
  }).sort((x, y) => x - y);
  return gains.length === 0 ? 1 : gains[gains.length >> 1]!;
}

export async function runFinePass(
  toolkit: FeatureToolkit, input: FinePassInput, options: FinePassOptions, sfm: IncrementalOptions, context: RunContext = {},
): Promise<FinePassOutcome> {
  const { views, reconstruction } = input;
  const poses = reconstruction.cameraFromWorld;
  const gain = resolutionGain(input, options.resolutionPx);
  if (gain < options.minResolutionGain) {
    return { kind: 'skipped', reason: `the images are within ${gain.toFixed(2)}x of the coarse feature resolution` };
  }
  const pairs = covisiblePairs(reconstruction, input.sizes, options.minSharedPoints, options.maxPairsPerView);
  if (pairs.length === 0) return { kind: 'skipped', reason: 'no two registered views share enough points' };

  const features: (LocalFeatures | null)[] = [];
  const colors: (Uint8Array | undefined)[] = [];
  const greys: (GreyImage | undefined)[] = [];
  const registered = poses.filter((p) => p !== null).length;
  // Features view by view; each pair is matched as soon as both its views have features, and verified under the
  // coarse cameras as its matches arrive. With the inference worker, the network matches pairs (and detects in
  // the next view) while this thread decodes keypoints and verifies.
  const extractedViews = views.map(() => settlement());
  const extractAll = async (): Promise<void> => {
    let extracted = 0;
    try {
      for (let v = 0; v < views.length; v++) {
        throwIfAborted(context.signal);
        if (!poses[v]) { features.push(null); colors.push(undefined); greys.push(undefined); extractedViews[v]!.resolve(); continue; }
        const image = await input.decode(v);
        greys.push(options.subpixel ? greyFromInterleaved(image.width, image.height, image.channels, image.data) : undefined);
        const f = await extractMultiResolutionFeatures(toolkit.extractor, image, { resolutionsPx: [options.resolutionPx], maxKeypoints: options.maxKeypoints }, context);
        features.push(f);
        colors.push(input.colors(image, f.keypoints));
        extractedViews[v]!.resolve();
        context.onProgress?.({ stage: 'fine features', done: ++extracted, total: registered, unit: 'images' });
      }
    } catch (error) {
      for (const view of extractedViews) view.reject(error);
      throw error;
    }
  };

  const matches: Uint32Array[] = [];
  // Each pair is verified under `cameras` (its seed fixed by its index, so every round draws the same samples).
  const verifyUnder = (cameras: Reconstruction, maxEpipolarPx: number, index: number): FineVerification => {
    const [v0, v1] = pairs[index]!;
    const pair = verifyFineMatches(v0, v1, features[v0]!, features[v1]!, matches[index]!, cameras, maxEpipolarPx, options, (sfm.seed ?? 0) + index);
    context.log?.debug(`fine pass ${views[v0]!.name} - ${views[v1]!.name}: ${pair.summary}`);
    return pair;
  };
  const coarseVerified: FineVerification[] = [];
  // Pairs in the order their views get features.
  const byReadiness = pairs.map((_, k) => k).sort((a, b) => Math.max(...pairs[a]!) - Math.max(...pairs[b]!) || a - b);
  const matchAll = async (): Promise<void> => {
    let done = 0;
    const matched = runAhead(pairs.length, MATCHES_AHEAD, async (n) => {
      const k = byReadiness[n]!;
      const [v0, v1] = pairs[k]!;
      await Promise.all([extractedViews[v0]!.promise, extractedViews[v1]!.promise]);
      matches[k] = await matchFinePair(toolkit, features[v0]!, features[v1]!, options, context);
      return k;
    });
    for await (const k of matched) {
      throwIfAborted(context.signal);
      coarseVerified[k] = verifyUnder(reconstruction, options.maxCoarseEpipolarPx, k);
      context.onProgress?.({ stage: 'fine matching', done: ++done, total: pairs.length, unit: 'steps' });
    }
  };
  await Promise.all([extractAll(), matchAll()]);
  const baseViews: SfmView[] = views.map((view, v) => ({
    ...view,
    // The coarse pass's intrinsics: refined there when only a prior was known.
    intrinsics: reconstruction.intrinsics[v]!,
    keypoints: features[v]?.keypoints ?? new Float32Array(0),
    ...(colors[v] ? { keypointColors: colors[v] } : {}),
  }));
  const subpixelOptions: SubpixelOptions = { ...DEFAULT_SUBPIXEL_OPTIONS, ...options.subpixel };
  // Later rounds verify mostly the same matches again: their windows are aligned once.
  const refinementMemo: RefinementMemo = new Map();
  // The pairs verified under `cameras`, refined, reconstructed: the same steps for the coarse cameras and the rounds after.
  const reconstructUnder = (
    cameras: Reconstruction, verifications: readonly FineVerification[], resume: boolean, extension?: TrackExtensionOptions,
  ): { reconstruction: Reconstruction; keypoints: Float32Array[]; pairs: number; matches: number } => {
    const finePairs: VerifiedPair[] = [];
    let numMatches = 0;
    for (const { verified } of verifications) {
      if (verified) { finePairs.push(verified); numMatches += verified.matches.length / 2; }
    }
    let fineViews = baseViews;
    let sfmPairs: readonly VerifiedPair[] = finePairs;
    if (options.subpixel) {
      const started = performance.now();
      const r = refineTrackKeypoints(fineViews, greys, finePairs, subpixelOptions, options.subpixel.onFailure, { memo: refinementMemo });
      fineViews = fineViews.map((v, i) => ({ ...v, keypoints: r.keypoints[i]! }));
      sfmPairs = r.pairs;
      context.log?.debug(`fine sub-pixel: ${r.refined} refined (median shift ${r.medianShiftPx.toFixed(2)} px), ${r.failed} dropped, `
        + `${(performance.now() - started).toFixed(0)} ms`);
    }
    if (extension && options.subpixel) {
      const started = performance.now();
      const groups = proposeTrackExtensions(cameras, input.sizes, extension);
      const extended = extendTracksByAlignment(fineViews, greys, sfmPairs, groups, subpixelOptions);
      fineViews = [...extended.views];
      sfmPairs = extended.pairs;
      context.log?.debug(`fine track extension: ${extended.confirmed} of ${extended.proposed} proposed observations aligned, ${(performance.now() - started).toFixed(0)} ms`);
    }
    // The coarse cameras only choose matches; later rounds start from the previous round's cameras.
    const reconstruction = resume ? reconstructFromPoses(fineViews, sfmPairs, cameras.cameraFromWorld, sfm, context) : reconstructIncremental(fineViews, sfmPairs, sfm, context);
    return { reconstruction, keypoints: fineViews.map((v) => v.keypoints), pairs: finePairs.length, matches: numMatches };
  };
  // A round is kept when it registers every view the coarse pass did and agrees with the coarse cameras.
  const problem = (candidate: Reconstruction): string | null => {
    const fineRegistered = candidate.cameraFromWorld.filter((p) => p !== null).length;
    if (fineRegistered < registered) {
      const lost = views.filter((_, v) => poses[v] && !candidate.cameraFromWorld[v]).map((v) => v.name);
      return `fine matches registered ${fineRegistered} of the ${registered} views (not ${lost.join(', ')})`;
    }
    const change = maxRelativeRotationChangeDeg(poses, candidate.cameraFromWorld);
    return change > options.maxRotationChangeDeg ? `a relative rotation moved by ${change.toFixed(1)} deg from the coarse cameras` : null;
  };

  let fine = reconstructUnder(reconstruction, coarseVerified, false);
  const rejection = problem(fine.reconstruction);
  if (rejection !== null) return { kind: 'rejected', reason: rejection };
  for (let round = 0; round < (options.reverify?.rounds ?? 0); round++) {
    const cameras = fine.reconstruction;
    const verifications = pairs.map((_, index) => {
      throwIfAborted(context.signal);
      return verifyUnder(cameras, options.reverify!.maxEpipolarPx, index);
    });
    const again = reconstructUnder(cameras, verifications, true, options.reverify!.extension);
    const why = problem(again.reconstruction);
    context.log?.debug(`fine pass, verification round ${round + 1}: ${why ?? `${again.matches} matches kept`}`);
    if (why !== null) break;
    fine = again;
  }
  return {
    kind: 'refined', reconstruction: fine.reconstruction, features, pairs: fine.pairs, matches: fine.matches,
    keypoints: fine.keypoints.map((k, v) => (features[v] ? k : null)),
  };
}

/** Mutual matches (keypoint indices i0, i1 interleaved) of two views' fine features. */
async function matchFinePair(toolkit: FeatureToolkit, f0: LocalFeatures, f1: LocalFeatures, options: FinePassOptions, context: RunContext): Promise<Uint32Array> {
  const matches = await toolkit.matcher.match(f0, f1, { minSimilarity: options.minSimilarity }, context);
  const indices = new Uint32Array(2 * matches.count);
  for (let m = 0; m < matches.count; m++) { indices[2 * m] = matches.indices0[m]!; indices[2 * m + 1] = matches.indices1[m]!; }
  return indices;
}

/** A promise with its resolve and reject, for work that waits on another loop; its failure is never left unhandled. */
function settlement(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** A pair's fine matches verified under some cameras: the verified pair (null: too few matches), and what happened, in words. */
interface FineVerification {
  readonly verified: VerifiedPair | null;
  readonly summary: string;
}

/** The matches near the epipolar lines of `cameras` (within `maxEpipolarPx`), then inliers of their own essential matrix. */
function verifyFineMatches(
  v0: number, v1: number, f0: LocalFeatures, f1: LocalFeatures, indices: Uint32Array, cameras: Reconstruction,
  maxEpipolarPx: number, options: FinePassOptions, seed: number,
): FineVerification {
  const k0 = cameras.intrinsics[v0]!, k1 = cameras.intrinsics[v1]!;
  const fundamental = fundamentalFromCameras(cameras.cameraFromWorld[v0]!, cameras.cameraFromWorld[v1]!, k0, k1);
  const near = matchesOnEpipolarLines(f0.keypoints, f1.keypoints, indices, fundamental, maxEpipolarPx);
  const summary = `${indices.length / 2} matches, ${near.length} within ${maxEpipolarPx} px of the epipolar lines`;
  if (near.length < Math.max(options.minMatches, 8)) return { verified: null, summary };
  const px0 = matchedPixels(f0.keypoints, Uint32Array.from(near, (m) => indices[2 * m]!));
  const px1 = matchedPixels(f1.keypoints, Uint32Array.from(near, (m) => indices[2 * m + 1]!));
  // Mostly inliers after the epipolar test, so RANSAC stops early; the cap only bounds a bad pair.
  const pose = estimateRelativePose(px0, px1, k0, k1, { thresholdPx: options.thresholdPx, seed, maxIterations: 1000 });
  if (!pose || pose.numEssentialInliers < options.minMatches) return { verified: null, summary: `${summary}, ${pose?.numEssentialInliers ?? 0} essential inliers` };
  const kept: number[] = [];
  near.forEach((m, i) => { if (pose.essentialInliers[i] === 1) kept.push(indices[2 * m]!, indices[2 * m + 1]!); });
  return {
    verified: {
      view0: v0, view1: v1, matches: Uint32Array.from(kept),
      pose1From0: pose.pose1From0, medianTriangulationAngleDeg: pose.medianTriangulationAngleDeg,
    },
    summary: `${summary}, ${kept.length / 2} essential inliers`,
  };
}
