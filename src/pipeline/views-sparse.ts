/**
 * Any number of images -> cameras and sparse points: decode, learned features, pair selection, matching,
 * geometric verification, incremental structure-from-motion with bundle adjustment.
 * Poses come out `cameraFromWorld` (sfm/) and are turned into `worldFromCamera` by the writers; the first
 * registered initial view defines the world frame and the scale is arbitrary.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Intrinsics } from '../core/camera.ts';
import type { RigidPose } from '../geometry/rigid.ts';
import type { RunContext } from '../core/context.ts';
import { InputError, throwIfAborted } from '../core/errors.ts';
import { runAhead } from '../core/run-ahead.ts';
import type { Image } from '../core/image.ts';
import { decodeImage, type AlphaHandling } from '../io/decode-image.ts';
import { readExifCamera } from '../io/exif-camera.ts';
import { matchMutualNearest } from '../geometry/match.ts';
import type { InferenceBackend } from '../models/backend.ts';
import type { LocalFeatures } from '../models/xfeat.ts';
import { reconstructIncremental, reconstructWithKnownPoses, type IncrementalOptions } from '../sfm/incremental.ts';
import { autoPairStrategy, selectPairs, type PairStrategy } from '../sfm/pair-selection.ts';
import type { Reconstruction, SfmView, VerifiedPair } from '../sfm/types.ts';
import { filterPairsByRotationCycles } from '../sfm/view-graph.ts';
import { disambiguateReconstruction, type DisambiguationOptions } from '../sfm/disambiguate.ts';
import { DEFAULT_SUBPIXEL_OPTIONS, greyFromInterleaved, type GreyImage, type SubpixelWarp } from '../imaging/subpixel-refine.ts';
import { refineTrackKeypoints, type RefinementFailurePolicy } from './views-refine.ts';
import { intrinsicsPrior, type IntrinsicsPriorOptions, type IntrinsicsSource } from './camera-prior.ts';
import type { ModelLocations } from './depth-estimator.ts';
import { runFinePass, type FinePassOptions } from './views-fine.ts';
import {
  keypointColors, MATCHES_AHEAD, openFeatureToolkit, pixelHash, verifyPair, type FeatureOptions, type VerificationOptions,
} from './views-features.ts';

export type PairChoice = 'auto' | 'exhaustive' | 'sequential';

export interface SparseOptions {
  readonly features: FeatureOptions;
  readonly verification: VerificationOptions;
  readonly pairs: PairChoice;
  /** Camera knowledge shared by all views (--intrinsics / --fov-deg); EXIF and a FOV prior otherwise. */
  readonly cameraPrior: IntrinsicsPriorOptions;
  /** Per-view known intrinsics (e.g. from a ground-truth file), overriding the prior for those views. */
  readonly knownIntrinsics?: readonly (Intrinsics | undefined)[];
  /**
   * Per-view known `cameraFromWorld` poses (OpenCV axes). When given, cameras are not estimated: points are
   * triangulated through these poses (views with null stay unregistered), and the scale is theirs.
   */
  readonly knownPoses?: readonly (RigidPose | null)[];
  readonly alpha: AlphaHandling;
  readonly seed: number;
  /** Structure-from-motion settings beyond the defaults. */
  readonly sfm?: IncrementalOptions;
  /**
   * Features detected again at a finer resolution after registration, matched under the coarse cameras, and the
   * cameras reconstructed again from them (pipeline/views-fine.ts); absent: coarse cameras only.
   */
  readonly finePass?: FinePassOptions;
  /**
   * Repair of a group of views placed wrongly through repeated or symmetric structure, found by the points
   * their placement says they should share but do not (sfm/disambiguate.ts); absent: no check.
   */
  readonly disambiguation?: Omit<DisambiguationOptions, 'maxRotationDisagreementDeg'>;
  /** Full-resolution sub-pixel refinement of the verified matches before structure from motion. */
  readonly matchRefinement?: MatchRefinementOptions;
}

export interface MatchRefinementOptions {
  readonly warp: SubpixelWarp | 'none';
  readonly halfWindowPx: number;
  readonly minNcc: number;
  readonly onFailure: RefinementFailurePolicy;
}

/**
 * Off by default: on DTU scan24 (5 seeds) it lowered the rotation error on some seeds but lost a view on most
 * with 'drop', and was no better than without it with 'keep' (docs/BENCHMARKS.md, "Multi-view cameras").
 */
export const DEFAULT_MATCH_REFINEMENT: MatchRefinementOptions = Object.freeze({
  warp: 'none', halfWindowPx: 7, minNcc: 0.8, onFailure: 'drop',
});

export interface SparseView {
  readonly path: string;
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly intrinsicsSource: IntrinsicsSource | 'known';
  readonly features: LocalFeatures;
  /**
   * The keypoints the reconstruction's tracks index (x, y, original pixels): the features' own at their refined
   * positions, followed by any observations the fine pass added by extending tracks.
   */
  readonly keypoints: Float32Array;
  /** Set when this view's pixels equal an earlier view's: it is left out of the reconstruction. */
  readonly duplicateOf?: string;
}

export interface SparseResult {
  readonly views: readonly SparseView[];
  readonly reconstruction: Reconstruction;
  /** Pairs that passed two-view verification and the loop check. */
  readonly verifiedPairs: number;
  /** Pairs that passed two-view verification but whose rotation closes no consistent loop (repeated structure). */
  readonly loopRejectedPairs: number;
  readonly matchedPairs: number;
  /** What the fine pass did: cameras and points come from it when 'refined'. */
  readonly finePass: FinePassReport;
  /** What the check for wrongly placed groups of views found and did. */
  readonly disambiguation: DisambiguationReport;
  readonly timingsMs: { readonly features: number; readonly matching: number; readonly sfm: number; readonly finePass: number };
  /** The views left without a pose, each with why (from its verified pairs). */
  readonly unregistered: readonly { readonly name: string; readonly reason: string }[];
}

export type FinePassReport =
  | { readonly kind: 'off' }
  | { readonly kind: 'skipped' | 'rejected'; readonly reason: string }
  | { readonly kind: 'refined'; readonly pairs: number; readonly matches: number };

export type DisambiguationReport =
  | { readonly kind: 'off' }
  | {
    readonly kind: 'checked';
    /** Conflicting pairs in the first model (views that should share points but do not). */
    readonly conflictsFound: number;
    /** Per accepted repair: the views placed again. */
    readonly moved: readonly (readonly string[])[];
    /** Conflicts the final model still has: one view of each pair may be misplaced. */
    readonly remaining: readonly { readonly views: readonly [string, string]; readonly expectedPoints: number; readonly sharedPoints: number }[];
  };

type RemainingConflict = Extract<DisambiguationReport, { kind: 'checked' }>['remaining'][number];

/** One warning for the conflicts left: how many, the views involved, the strongest few. */
export function conflictWarning(remaining: readonly RemainingConflict[]): string {
  const views = [...new Set(remaining.flatMap((c) => c.views))].sort();
  const strongest = [...remaining].sort((a, b) => b.expectedPoints - a.expectedPoints).slice(0, 3)
    .map((c) => `${c.views[0]} and ${c.views[1]} share ${c.sharedPoints} of ${c.expectedPoints}`);
  return `${remaining.length} pair(s) of views are placed to see the same surfaces but share almost none of their points `
    + `(${strongest.join('; ')}${remaining.length > 3 ? '; ...' : ''}): some of ${views.join(', ')} may be misplaced `
    + '(repeated or symmetric structure).';
}

/**
 * Decoded images kept in memory between the coarse and the fine pass, in bytes: DTU's six 1600x1200 photos take
 * 35 MB and decoding them again took about 0.3 s; larger sets decode the images past the budget again.
 */
const DECODED_IMAGE_BUDGET_BYTES = 192 * 1024 * 1024;

/** Loop (rotation cycle) tolerance with known intrinsics, and with a focal prior only (degrees). */
const CYCLE_ERROR_CALIBRATED_DEG = 5;
const CYCLE_ERROR_PRIOR_DEG = 10;

/** Names relative to the inputs' common folder, so `a/x.jpg` and `b/x.jpg` stay apart. */
export function viewNames(paths: readonly string[]): string[] {
  const absolute = paths.map((p) => path.resolve(p));
  let common = path.dirname(absolute[0]!);
  for (const p of absolute) {
    while (!(p.startsWith(common + path.sep) || common === path.dirname(common))) common = path.dirname(common);
  }
  return absolute.map((p) => path.relative(common, p).split(path.sep).join('/'));
}

/** Cheap overlap score for pair selection on big sets: mutual matches among each view's strongest keypoints. */
function retrievalSimilarity(features: readonly LocalFeatures[], top = 384): (i: number, j: number) => number {
  const subsets = features.map((f) => {
    const count = Math.min(top, f.count);
    return { count, descriptorSize: f.descriptorSize, descriptors: f.descriptors.subarray(0, count * f.descriptorSize) };
  });
  return (i, j) => matchMutualNearest(subsets[i]!, subsets[j]!, { minSimilarity: 0.9 }).count;
}

function pairStrategy(choice: PairChoice, numViews: number): PairStrategy {
  if (choice === 'exhaustive') return { kind: 'exhaustive' };
  if (choice === 'sequential') return { kind: 'sequential', window: 10 };
  return autoPairStrategy(numViews);
}

export async function reconstructSparse(
  backend: InferenceBackend, paths: readonly string[], options: SparseOptions, locations: ModelLocations, context: RunContext = {},
): Promise<SparseResult> {
  if (paths.length < 2) {
    throw new InputError(`Cameras need at least 2 views; got ${paths.length}${paths.length === 1 ? ` (${paths[0]})` : ''}.`);
  }
  const names = viewNames(paths);
  const toolkit = await openFeatureToolkit(backend, options.features, locations, context);
  const log = context.log;

  // 1. Decode, intrinsics prior, features (one image in memory at a time).
  const t0 = performance.now();
  const views: SparseView[] = [];
  const intrinsics: Intrinsics[] = [];
  const colors: Uint8Array[] = [];
  const refinement = options.matchRefinement ?? DEFAULT_MATCH_REFINEMENT;
  // Grey full-resolution copies (1 byte a pixel) for the refinement, which runs after all pairs are verified.
  const greys: (GreyImage | undefined)[] = [];
  // The decoded images, kept for the fine pass while they fit in DECODED_IMAGE_BUDGET_BYTES (it decodes the rest again).
  const decoded: (Image<Uint8Array> | undefined)[] = [];
  let decodedBytes = 0;
  const seen = new Map<string, string>();
  for (const [i, file] of paths.entries()) {
    throwIfAborted(context.signal);
    const bytes = await readFile(file).catch((error: unknown) => {
      throw new InputError(`cannot read image: ${(error as Error).message}`, { file, cause: error });
    });
    const image: Image<Uint8Array> = await decodeImage({ bytes, name: file }, { alpha: options.alpha });
    const keep = options.finePass !== undefined && decodedBytes + image.data.byteLength <= DECODED_IMAGE_BUDGET_BYTES;
    decoded.push(keep ? image : undefined);
    if (keep) decodedBytes += image.data.byteLength;
    const hash = pixelHash(image);
    const known = options.knownIntrinsics?.[i];
    const prior = known ? { intrinsics: known, source: 'known' as const } : intrinsicsPrior(image.width, image.height, await readExifCamera(bytes), options.cameraPrior);
    const features = await toolkit.extract(image, context);
    const duplicateOf = seen.get(hash);
    if (duplicateOf !== undefined) log?.warn(`${file}: identical pixels to ${duplicateOf}; it adds no viewpoint and is left out.`);
    else seen.set(hash, file);
    views.push({
      path: file, name: names[i]!, width: image.width, height: image.height, intrinsicsSource: prior.source, features, keypoints: features.keypoints,
      ...(duplicateOf !== undefined ? { duplicateOf } : {}),
    });
    intrinsics.push(prior.intrinsics);
    colors.push(keypointColors(image, features.keypoints));
    greys.push(refinement.warp !== 'none' ? greyFromInterleaved(image.width, image.height, image.channels, image.data) : undefined);
    context.onProgress?.({ stage: 'features', done: i + 1, total: paths.length, unit: 'images', item: file });
  }
  const featuresMs = performance.now() - t0;

  // 2. Pairs, matching, verification. Duplicates take no part.
  const t1 = performance.now();
  const active = views.map((v, i) => (v.duplicateOf === undefined ? i : -1)).filter((i) => i >= 0);
  if (active.length < 2) {
    throw new InputError(`Only ${active.length} distinct view(s): the other ${views.length - active.length} have identical pixels, `
      + 'and cameras need at least 2 views seen from different positions.');
  }
  const strategy = pairStrategy(options.pairs, active.length);
  const similarity = strategy.kind === 'retrieval' ? retrievalSimilarity(active.map((i) => views[i]!.features)) : undefined;
  const candidatePairs = selectPairs(active.length, strategy, similarity).map(([a, b]) => [active[a]!, active[b]!] as const);
  const calibrated = (i: number): boolean => views[i]!.intrinsicsSource !== 'fovPrior';
  const verified: VerifiedPair[] = [];
  const matchOptions = options.features.minSimilarity !== undefined ? { minSimilarity: options.features.minSimilarity } : {};
  // The next pairs are matched (in the inference worker, when the backend has one) while this one is verified.
  const pairMatches = runAhead(candidatePairs.length, MATCHES_AHEAD, (k) => {
    const [i, j] = candidatePairs[k]!;
    return toolkit.matcher.match(views[i]!.features, views[j]!.features, matchOptions, context);
  });
  let done = 0;
  for await (const matches of pairMatches) {
    throwIfAborted(context.signal);
    const [i, j] = candidatePairs[done]!;
    const fi = views[i]!.features, fj = views[j]!.features;
    const result = verifyPair(i, j, fi, fj, intrinsics[i]!, intrinsics[j]!, calibrated(i) && calibrated(j), matches,
      toolkit.pixelScale(fi.width, fi.height), toolkit.pixelScale(fj.width, fj.height), { ...options.verification, seed: options.seed + done });
    if (result.pair) verified.push(result.pair);
    log?.debug(`pair ${views[i]!.name} - ${views[j]!.name}: ${result.numMatches} matches, ${result.numInliers} inliers${result.rejected ? ` (${result.rejected})` : ''}`);
    done++;
    context.onProgress?.({ stage: 'matching', done, total: candidatePairs.length, unit: 'steps' });
  }
  const matchingMs = performance.now() - t1;
  if (verified.length === 0) {
    throw new InputError(`No two of the ${active.length} views overlap enough to match (${candidatePairs.length} pair(s) tried): `
      + 'the views need shared, textured content seen from different positions.');
  }

  // 3. Structure from motion.
  const t2 = performance.now();
  let sfmViews: SfmView[] = views.map((v, i) => ({
    index: i, name: v.name, intrinsics: intrinsics[i]!, keypoints: v.features.keypoints, keypointColors: colors[i]!,
  }));
  const anyPrior = active.some((i) => !calibrated(i));
  // Matches are refined after the loop check, which weighs pairs by their verified match counts.
  const refine = (pairs: readonly VerifiedPair[]): VerifiedPair[] => {
    if (refinement.warp === 'none') return [...pairs];
    const r = refineTrackKeypoints(sfmViews, greys, pairs, {
      ...DEFAULT_SUBPIXEL_OPTIONS, warp: refinement.warp, halfWindowPx: refinement.halfWindowPx, minNcc: refinement.minNcc,
    }, refinement.onFailure);
    sfmViews = sfmViews.map((v, i) => ({ ...v, keypoints: r.keypoints[i]! }));
    greys.length = 0;
    log?.debug(`match refinement: ${r.refined} observations refined (median shift ${r.medianShiftPx.toFixed(2)} px), ${r.failed} failed`);
    return [...r.pairs];
  };
  let kept: VerifiedPair[] = verified, rejected: VerifiedPair[] = [];
  let disambiguation: DisambiguationReport = { kind: 'off' };
  let reconstruction: Reconstruction;
  if (options.knownPoses) {
    // Known cameras decide geometry; triangulation's support test drops the matches that do not fit them.
    const refined = refine(verified);
    reconstruction = reconstructWithKnownPoses(sfmViews, refined, options.knownPoses, { seed: options.seed, ...options.sfm }, context);
  } else {
    // Pairs of repeated or symmetric structure pass two-view verification with a wrong pose; loops expose them.
    // A focal prior makes every relative rotation a little wrong, so loops close less tightly.
    ({ kept, rejected } = filterPairsByRotationCycles(verified, { maxCycleErrorDeg: anyPrior ? CYCLE_ERROR_PRIOR_DEG : CYCLE_ERROR_CALIBRATED_DEG }));
    for (const pair of rejected) {
      log?.debug(`pair ${views[pair.view0]!.name} - ${views[pair.view1]!.name}: rejected, its relative rotation closes no consistent loop`);
    }
    const refined = refine(kept);
    const sfmOptions: IncrementalOptions = { seed: options.seed, refineIntrinsics: anyPrior ? 'sharedFocal' : 'none', ...options.sfm };
    reconstruction = reconstructIncremental(sfmViews, refined, sfmOptions, context);
    if (options.disambiguation) {
      const result = disambiguateReconstruction(sfmViews, views, refined, reconstruction, sfmOptions, {
        ...options.disambiguation, maxRotationDisagreementDeg: anyPrior ? CYCLE_ERROR_PRIOR_DEG : CYCLE_ERROR_CALIBRATED_DEG,
      }, context, rejected);
      reconstruction = result.reconstruction;
      const name = (v: number): string => views[v]!.name;
      disambiguation = {
        kind: 'checked',
        conflictsFound: result.rounds[0]?.conflicts ?? 0,
        moved: result.rounds.filter((r) => r.accepted).map((r) => r.movedViews.map(name)),
        remaining: result.remainingConflicts.map((c) => ({ views: [name(c.view0), name(c.view1)], expectedPoints: c.expected, sharedPoints: c.coObserved })),
      };
      for (const group of disambiguation.moved) log?.info(`views ${group.join(', ')} were placed through repeated or symmetric structure; placed again.`);
      if (disambiguation.remaining.length > 0) log?.warn(conflictWarning(disambiguation.remaining));
    }
  }
  const sfmMs = performance.now() - t2;

  // 4. Fine pass: features again at a finer resolution, matched under the coarse cameras, cameras again.
  const t3 = performance.now();
  // The keypoints as structure from motion used them (refined when the match refinement ran).
  let outViews: readonly SparseView[] = views.map((view, i) => ({ ...view, keypoints: sfmViews[i]!.keypoints }));
  let finePass: FinePassReport = { kind: 'off' };
  if (options.finePass && !options.knownPoses) {
    const outcome = await runFinePass(toolkit, {
      views: sfmViews, sizes: views, reconstruction,
      coarseResolutionPx: Math.max(...options.features.resolutionsPx),
      decode: async (v) => {
        const kept = decoded[v];
        decoded[v] = undefined; // released as the fine pass moves on
        return kept ?? decodeImage({ bytes: await readFile(views[v]!.path), name: views[v]!.path }, { alpha: options.alpha });
      },
      colors: keypointColors,
    }, options.finePass, { seed: options.seed, refineIntrinsics: anyPrior ? 'sharedFocal' : 'none', ...options.sfm }, context);
    if (outcome.kind === 'refined') {
      reconstruction = outcome.reconstruction;
      const fineFeatures = outcome.features, fineKeypoints = outcome.keypoints;
      outViews = outViews.map((view, v) => (fineFeatures[v] ? { ...view, features: fineFeatures[v], keypoints: fineKeypoints[v]! } : view));
      finePass = { kind: 'refined', pairs: outcome.pairs, matches: outcome.matches };
      log?.debug(`fine pass: ${outcome.pairs} pairs, ${outcome.matches} matches, ${reconstruction.points.length} points`);
    } else {
      finePass = outcome;
      const message = `fine pass ${outcome.kind}: ${outcome.reason}; the coarse cameras stay.`;
      if (outcome.kind === 'rejected') log?.warn(message);
      else log?.debug(message);
    }
  }
  return {
    views: outViews, reconstruction, verifiedPairs: kept.length, loopRejectedPairs: rejected.length, matchedPairs: candidatePairs.length,
    finePass, disambiguation,
    timingsMs: { features: featuresMs, matching: matchingMs, sfm: sfmMs, finePass: performance.now() - t3 },
    unregistered: views.flatMap((view, v) => {
      if (reconstruction.cameraFromWorld[v] !== null) return [];
      const reason = view.duplicateOf !== undefined ? `identical pixels to ${view.duplicateOf}`
        : unregisteredReason(v, kept, (other) => reconstruction.cameraFromWorld[other] !== null);
      return [{ name: view.name, reason }];
    }),
  };
}

/**
 * Why view `view` has no pose, from the pairs that passed verification and the loop check: it matched no view,
 * only views that have no pose either (a separate group, e.g. frames of a camera that only turns), or posed
 * views whose 3-D points it did not reach often enough to be placed.
 */
export function unregisteredReason(view: number, pairs: readonly VerifiedPair[], isRegistered: (view: number) => boolean): string {
  let withRegistered = 0, withOthers = 0;
  for (const pair of pairs) {
    const other = pair.view0 === view ? pair.view1 : pair.view1 === view ? pair.view0 : -1;
    if (other < 0) continue;
    if (isRegistered(other)) withRegistered++; else withOthers++;
  }
  if (withRegistered > 0) return `it matches ${withRegistered} registered view(s), but too few of its matches reach their 3-D points`;
  if (withOthers > 0) return 'it matches only views that are not registered either (a separate group, e.g. a camera that only turns)';
  return 'it matches no other view (too little overlap or texture)';
}

/** One warning for the views left without a pose, grouped by why. */
export function unregisteredWarning(views: readonly { readonly name: string; readonly reason: string }[]): string {
  const byReason = new Map<string, string[]>();
  for (const { name, reason } of views) byReason.set(reason, [...(byReason.get(reason) ?? []), name]);
  const groups = [...byReason].map(([reason, names]) => `${names.join(', ')}: ${reason}`);
  return `${views.length} view(s) could not be registered. ${groups.join('. ')}.`;
}
