/**
 * Incremental structure-from-motion in the manner of COLMAP's incremental mapper (Schoenberger & Frahm,
 * "Structure-from-Motion Revisited", CVPR 2016): start from the best two-view model, then repeatedly register
 * the view that sees the most reconstructed points (PnP), triangulate what the new view adds, refine locally,
 * drop observations that no longer fit, and refine globally whenever the model has grown by a fraction.
 *
 * - Tracks (tracks.ts) give one 3-D point hypothesis per chain of matches; a track's observations join its
 *   point only once their view is registered and they fit (PnP inlier, or reprojection below the threshold).
 * - Triangulation is robust to wrong observations in a track: the two-view triangulation with the largest
 *   support among the track's registered observations wins, then all its supporters are used.
 * - Only the view graph component of the chosen initial pair can be reconstructed; the initial pair is taken
 *   from the largest component (by views), so a scene in disconnected parts yields its largest part. Its relative
 *   pose is the pair's `pose1From0`, or is estimated from its matches (essential matrix) when the pair has none.
 * - Focal refinement (option) runs in the local bundles too, as in COLMAP: with a wrong initial focal, a model
 *   grown with it fixed settles in a distorted local minimum that the final refinement cannot leave.
 * - Deterministic for a given seed; never returns NaN poses (a failed step leaves the view unregistered).
 *
 * Poses are `cameraFromWorld`, OpenCV axes, in the frame of the first initial view with a unit initial baseline.
 */
import type { Intrinsics } from '../core/camera.ts';
import type { RunContext } from '../core/context.ts';
import { InputError, throwIfAborted } from '../core/errors.ts';
import { estimateRelativePose } from '../geometry/essential.ts';
import { estimateAbsolutePose } from '../geometry/pnp.ts';
import { cameraCenter, identityPose, type RigidPose } from '../geometry/rigid.ts';
import { triangulateMultiView, triangulateTwoView, triangulationAngleDeg } from '../geometry/triangulate.ts';
import { bundleAdjust, type IntrinsicsRefinement, type RobustLoss } from './bundle-adjust.ts';
import { buildTracks, type Tracks } from './tracks.ts';
import type { Reconstruction, SfmPoint, SfmView, VerifiedPair } from './types.ts';

export interface IncrementalOptions {
  /** Seed of every RANSAC in the run. Default 0. */
  readonly seed?: number;
  /** An initial pair needs at least this many track-consistent matches. Default 30. */
  readonly minInitialMatches?: number;
  /** ... and at least this median triangulation angle (degrees), so depth is measurable. Default 3. */
  readonly minInitialTriangulationAngleDeg?: number;
  /** ... and must yield at least this many points after two-view refinement. Default 20. */
  readonly minInitialPoints?: number;
  /** Initial pairs tried before giving up (over all models). Default 20. */
  readonly maxInitialPairAttempts?: number;
  /** Models started at most (each from an initial pair outside the earlier ones); the largest wins. Default 4. */
  readonly maxModels?: number;
  /**
   * PnP inlier threshold (pixels). Default 12, COLMAP's: a new view is only located here, and its 2-D/3-D
   * correspondences carry the error of both the keypoints and the still-unrefined points; the inliers then
   * go through bundle adjustment and the 4 px reprojection filter.
   */
  readonly absolutePoseThresholdPx?: number;
  /** A view is registered only with at least this many PnP inliers. Default 15. */
  readonly minRegistrationInliers?: number;
  /**
   * ... and with at least this fraction of its 2-D/3-D correspondences as inliers (COLMAP's default): a view
   * reached through repeated or symmetric structure fits only a few of its correspondences. Default 0.25.
   */
  readonly minRegistrationInlierRatio?: number;
  /** Points need this much parallax between two of their observations (degrees). Default 1.5. */
  readonly minTriangulationAngleDeg?: number;
  /** Observations reprojecting worse than this (pixels) are dropped. Default 4. */
  readonly maxReprojectionErrorPx?: number;
  /** Cameras refined by the local bundle adjustment after each registration. Default 6. */
  readonly localBundleCameras?: number;
  /** Global bundle adjustment whenever the number of registered views has grown by this fraction. Default 0.25. */
  readonly globalBundleGrowth?: number;
  /** Registration attempts per view before it is given up. Default 3. */
  readonly maxRegistrationAttempts?: number;
  /** Loss of every bundle adjustment. Default Cauchy with a 2 px scale. */
  readonly loss?: RobustLoss;
  /** Intrinsics refined by the global and final bundle adjustments. Default 'none'. */
  readonly refineIntrinsics?: IntrinsicsRefinement;
}

interface ResolvedOptions {
  readonly seed: number;
  readonly minInitialMatches: number;
  readonly minInitialTriangulationAngleDeg: number;
  readonly minInitialPoints: number;
  readonly maxInitialPairAttempts: number;
  readonly maxModels: number;
  readonly absolutePoseThresholdPx: number;
  readonly minRegistrationInliers: number;
  readonly minRegistrationInlierRatio: number;
  readonly minTriangulationAngleDeg: number;
  readonly maxReprojectionErrorPx: number;
  readonly localBundleCameras: number;
  readonly globalBundleGrowth: number;
  readonly maxRegistrationAttempts: number;
  readonly loss: RobustLoss;
  readonly refineIntrinsics: IntrinsicsRefinement;
}

function resolveOptions(options: IncrementalOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    seed: options.seed ?? 0,
    minInitialMatches: options.minInitialMatches ?? 30,
    minInitialTriangulationAngleDeg: options.minInitialTriangulationAngleDeg ?? 3,
    minInitialPoints: options.minInitialPoints ?? 20,
    maxInitialPairAttempts: options.maxInitialPairAttempts ?? 20,
    maxModels: options.maxModels ?? 4,
    absolutePoseThresholdPx: options.absolutePoseThresholdPx ?? 12,
    minRegistrationInliers: options.minRegistrationInliers ?? 15,
    minRegistrationInlierRatio: options.minRegistrationInlierRatio ?? 0.25,
    minTriangulationAngleDeg: options.minTriangulationAngleDeg ?? 1.5,
    maxReprojectionErrorPx: options.maxReprojectionErrorPx ?? 4,
    localBundleCameras: options.localBundleCameras ?? 6,
    globalBundleGrowth: options.globalBundleGrowth ?? 0.25,
    maxRegistrationAttempts: options.maxRegistrationAttempts ?? 3,
    loss: options.loss ?? { kind: 'cauchy', scalePx: 2 },
    refineIntrinsics: options.refineIntrinsics ?? 'none',
  };
  for (const key of ['absolutePoseThresholdPx', 'maxReprojectionErrorPx'] as const) {
    if (!(resolved[key] > 0)) throw new InputError(`Incremental SfM option ${key} (${resolved[key]}) must be positive.`);
  }
  if (!(resolved.minRegistrationInlierRatio >= 0 && resolved.minRegistrationInlierRatio <= 1)) {
    throw new InputError(`minRegistrationInlierRatio (${resolved.minRegistrationInlierRatio}) must be between 0 and 1.`);
  }
  if (!(resolved.minRegistrationInliers >= 4)) throw new InputError(`minRegistrationInliers (${resolved.minRegistrationInliers}) must be at least 4.`);
  if (!(resolved.localBundleCameras >= 1)) throw new InputError(`localBundleCameras (${resolved.localBundleCameras}) must be at least 1.`);
  return resolved;
}

/**
 * The growing model. Points are indexed by track: track t's point, when it exists, is xyz[3t..3t+2], and the
 * entries k of the track (tracks.trackViews / trackKeypoints) with active[k] = 1 are its observations.
 */
interface Model {
  readonly views: readonly SfmView[];
  readonly tracks: Tracks;
  readonly poses: (RigidPose | null)[];
  readonly intrinsics: Intrinsics[];
  readonly xyz: Float64Array;
  readonly hasPoint: Uint8Array;
  readonly active: Uint8Array;
  /** Per view: the track entries (indices into trackViews) of its keypoints. */
  readonly viewEntries: readonly Uint32Array[];
  /** Per track entry: its track. */
  readonly entryTrack: Uint32Array;
  /** The view held fixed by bundle adjustment (the first initial view). */
  anchorView: number;
  /** Camera centres by pose object: poses are replaced, never mutated, so entries cannot go stale. */
  readonly centres: WeakMap<RigidPose, Float64Array>;
}

function createModel(views: readonly SfmView[], tracks: Tracks): Model {
  const numEntries = tracks.trackViews.length;
  const counts = new Uint32Array(views.length);
  for (let k = 0; k < numEntries; k++) counts[tracks.trackViews[k]!]!++;
  const viewEntries = Array.from(counts, (c) => new Uint32Array(c));
  const fill = new Uint32Array(views.length);
  for (let k = 0; k < numEntries; k++) {
    const v = tracks.trackViews[k]!;
    viewEntries[v]![fill[v]!++] = k;
  }
  const entryTrack = new Uint32Array(numEntries);
  for (let t = 0; t < tracks.count; t++) entryTrack.fill(t, tracks.trackStart[t]!, tracks.trackStart[t + 1]!);
  return {
    views, tracks,
    poses: views.map(() => null),
    intrinsics: views.map((v) => ({ ...v.intrinsics })),
    xyz: new Float64Array(3 * tracks.count),
    hasPoint: new Uint8Array(tracks.count),
    active: new Uint8Array(numEntries),
    viewEntries,
    entryTrack,
    anchorView: -1,
    centres: new WeakMap(),
  };
}

function keypointPixel(model: Model, entry: number): [number, number] {
  const v = model.tracks.trackViews[entry]!, k = model.tracks.trackKeypoints[entry]!;
  const kp = model.views[v]!.keypoints;
  return [kp[2 * k]!, kp[2 * k + 1]!];
}

/** Reprojection error in pixels of a world point in view v (Infinity behind the camera). */
function reprojectionErrorPx(model: Model, v: number, point: ArrayLike<number>, u: number, w: number): number {
  const pose = model.poses[v]!;
  const r = pose.rotation, t = pose.translation;
  const z = r[6]! * point[0]! + r[7]! * point[1]! + r[8]! * point[2]! + t[2]!;
  if (!(z > 0)) return Number.POSITIVE_INFINITY;
  const x = r[0]! * point[0]! + r[1]! * point[1]! + r[2]! * point[2]! + t[0]!;
  const y = r[3]! * point[0]! + r[4]! * point[1]! + r[5]! * point[2]! + t[1]!;
  const k = model.intrinsics[v]!;
  return Math.hypot(k.fxPx * (x / z) + k.cxPx - u, k.fyPx * (y / z) + k.cyPx - w);
}

function normalizedObservation(model: Model, entry: number): [number, number] {
  const v = model.tracks.trackViews[entry]!;
  const [u, w] = keypointPixel(model, entry);
  const k = model.intrinsics[v]!;
  return [(u - k.cxPx) / k.fxPx, (w - k.cyPx) / k.fyPx];
}

function removePoint(model: Model, t: number): void {
  model.hasPoint[t] = 0;
  model.active.fill(0, model.tracks.trackStart[t]!, model.tracks.trackStart[t + 1]!);
}

function centreOf(model: Model, pose: RigidPose): Float64Array {
  let centre = model.centres.get(pose);
  if (centre === undefined) { centre = cameraCenter(pose); model.centres.set(pose, centre); }
  return centre;
}

/** Largest parallax (degrees) between two of the given entries' camera centres at the point. */
function maxTriangulationAngle(model: Model, entries: readonly number[], point: ArrayLike<number>): number {
  const centres = entries.map((k) => centreOf(model, model.poses[model.tracks.trackViews[k]!]!));
  let best = 0;
  for (let a = 0; a < centres.length; a++) {
    for (let b = a + 1; b < centres.length; b++) best = Math.max(best, triangulationAngleDeg(centres[a]!, centres[b]!, point));
  }
  return best;
}

/** Two-view candidates tried per track when triangulating robustly (all pairs of at most this many views). */
const MAX_TRIANGULATION_VIEWS = 8;

/**
 * Triangulates track t from its observations in registered views, robustly: every two-view triangulation
 * (of up to MAX_TRIANGULATION_VIEWS observations) is scored by how many observations it explains, the best
 * is re-triangulated from its supporters, and the point is kept when two or more supporters with enough
 * parallax remain. Returns whether the track now has a point.
 */
function triangulateTrack(model: Model, t: number, options: ResolvedOptions): boolean {
  const { tracks } = model;
  const registered: number[] = [];
  for (let k = tracks.trackStart[t]!; k < tracks.trackStart[t + 1]!; k++) {
    if (model.poses[tracks.trackViews[k]!] !== null) registered.push(k);
  }
  if (registered.length < 2) return false;
  const pixels = registered.map((k) => keypointPixel(model, k));
  const normalized = registered.map((k) => normalizedObservation(model, k));
  const maxError = options.maxReprojectionErrorPx;
  const supportOf = (point: ArrayLike<number>): number[] => {
    const support: number[] = [];
    registered.forEach((k, i) => {
      if (reprojectionErrorPx(model, tracks.trackViews[k]!, point, pixels[i]![0], pixels[i]![1]) <= maxError) support.push(i);
    });
    return support;
  };
  let best: number[] = [];
  let bestAngle = 0;
  const limit = Math.min(registered.length, MAX_TRIANGULATION_VIEWS);
  for (let a = 0; a < limit; a++) {
    for (let b = a + 1; b < limit; b++) {
      const va = tracks.trackViews[registered[a]!]!, vb = tracks.trackViews[registered[b]!]!;
      const point = triangulateTwoView(model.poses[va]!, model.poses[vb]!, normalized[a]!, normalized[b]!);
      if (point === null) continue;
      const angle = triangulationAngleDeg(centreOf(model, model.poses[va]!), centreOf(model, model.poses[vb]!), point);
      if (angle < options.minTriangulationAngleDeg) continue;
      const support = supportOf(point);
      if (support.length > best.length || (support.length === best.length && angle > bestAngle)) { best = support; bestAngle = angle; }
    }
  }
  if (best.length < 2) return false;
  const poses = best.map((i) => model.poses[tracks.trackViews[registered[i]!]!]!);
  const obs = best.flatMap((i) => normalized[i]!);
  const point = triangulateMultiView(poses, obs);
  if (point === null) return false;
  const support = supportOf(point);
  if (support.length < 2) return false;
  const entries = support.map((i) => registered[i]!);
  if (maxTriangulationAngle(model, entries, point) < options.minTriangulationAngleDeg) return false;
  model.xyz.set(point, 3 * t);
  model.hasPoint[t] = 1;
  model.active.fill(0, tracks.trackStart[t]!, tracks.trackStart[t + 1]!);
  for (const k of entries) model.active[k] = 1;
  return true;
}

/**
 * Activates the observations of registered views that fit an existing point (track completion), then
 * triangulates the tracks of `candidateTracks` (all tracks when omitted) that have no point yet.
 */
function extendAndTriangulate(model: Model, options: ResolvedOptions, candidateTracks?: Iterable<number>): number {
  const { tracks } = model;
  let created = 0;
  const visit = (t: number): void => {
    if (model.hasPoint[t]) {
      const point = model.xyz.subarray(3 * t, 3 * t + 3);
      for (let k = tracks.trackStart[t]!; k < tracks.trackStart[t + 1]!; k++) {
        const v = tracks.trackViews[k]!;
        if (model.active[k] || model.poses[v] === null) continue;
        const [u, w] = keypointPixel(model, k);
        if (reprojectionErrorPx(model, v, point, u, w) <= options.maxReprojectionErrorPx) model.active[k] = 1;
      }
    } else if (triangulateTrack(model, t, options)) {
      created++;
    }
  };
  if (candidateTracks === undefined) for (let t = 0; t < tracks.count; t++) visit(t);
  else for (const t of candidateTracks) visit(t);
  return created;
}

/**
 * Drops observations of the given points (all when omitted) that reproject worse than the threshold or lie
 * behind their camera, then points left with fewer than two observations or too little parallax.
 */
function filterPoints(model: Model, options: ResolvedOptions, pointTracks?: Iterable<number>): number {
  const { tracks } = model;
  let removed = 0;
  const visit = (t: number): void => {
    if (!model.hasPoint[t]) return;
    const point = model.xyz.subarray(3 * t, 3 * t + 3);
    const kept: number[] = [];
    for (let k = tracks.trackStart[t]!; k < tracks.trackStart[t + 1]!; k++) {
      if (!model.active[k]) continue;
      const v = tracks.trackViews[k]!;
      const [u, w] = keypointPixel(model, k);
      if (model.poses[v] !== null && reprojectionErrorPx(model, v, point, u, w) <= options.maxReprojectionErrorPx) kept.push(k);
      else model.active[k] = 0;
    }
    if (kept.length < 2 || maxTriangulationAngle(model, kept, point) < options.minTriangulationAngleDeg) {
      removePoint(model, t);
      removed++;
    }
  };
  if (pointTracks === undefined) for (let t = 0; t < tracks.count; t++) visit(t);
  else for (const t of pointTracks) visit(t);
  return removed;
}

/** Bundle adjustments inside the mapper stop at this relative cost decrease: later rounds refine further. */
const BUNDLE_FUNCTION_TOLERANCE = 1e-6;

interface BundleScope {
  /** Cameras whose poses are refined. */
  readonly variableViews: readonly number[];
  /** Tracks whose points are refined (with all their active observations). */
  readonly pointTracks: readonly number[];
  readonly refineIntrinsics: IntrinsicsRefinement;
  readonly maxIterations: number;
}

/**
 * Runs bundle adjustment over a scope and writes the result back. Cameras that observe the scope's points but
 * are not variable are held constant; when fewer than two are, the anchor view (or the first variable view)
 * and a scale gauge fix the similarity ambiguity.
 */
function adjustBundle(model: Model, scope: BundleScope, options: ResolvedOptions, signal: AbortSignal | undefined): void {
  const { tracks } = model;
  const localOfView = new Map<number, number>();
  const views: number[] = [];
  const addView = (v: number): number => {
    let local = localOfView.get(v);
    if (local === undefined) { local = views.length; localOfView.set(v, local); views.push(v); }
    return local;
  };
  for (const v of scope.variableViews) addView(v);
  const numVariable = views.length;
  const obsCamera: number[] = [], obsPoint: number[] = [], obsPixels: number[] = [];
  const points: number[] = [];
  const pointTracks: number[] = [];
  for (const t of scope.pointTracks) {
    if (!model.hasPoint[t]) continue;
    const local = pointTracks.length;
    pointTracks.push(t);
    points.push(model.xyz[3 * t]!, model.xyz[3 * t + 1]!, model.xyz[3 * t + 2]!);
    for (let k = tracks.trackStart[t]!; k < tracks.trackStart[t + 1]!; k++) {
      if (!model.active[k]) continue;
      const [u, w] = keypointPixel(model, k);
      obsCamera.push(addView(tracks.trackViews[k]!));
      obsPoint.push(local);
      obsPixels.push(u, w);
    }
  }
  // No variable camera: points only, every camera held (known poses).
  if (pointTracks.length === 0 || views.length === 0) return;
  const fixed: number[] = [];
  for (let c = numVariable; c < views.length; c++) fixed.push(c);
  let scaleCamera: number | 'auto' | 'none' = 'none';
  if (fixed.length < 2) {
    if (fixed.length === 0) {
      const anchorLocal = localOfView.get(model.anchorView);
      fixed.push(anchorLocal ?? 0);
    }
    scaleCamera = 'auto';
  }
  const result = bundleAdjust(
    {
      cameraFromWorld: views.map((v) => model.poses[v]!),
      intrinsics: views.map((v) => model.intrinsics[v]!),
      points: Float64Array.from(points),
      observationCamera: Uint32Array.from(obsCamera),
      observationPoint: Uint32Array.from(obsPoint),
      observationPixels: Float64Array.from(obsPixels),
    },
    {
      // Per-camera focals of the cameras held constant stay too: their other points are not in this bundle.
      fixedCameras: fixed, fixedIntrinsics: fixed.filter((c) => c >= numVariable), scaleCamera, loss: options.loss, refineIntrinsics: scope.refineIntrinsics,
      maxIterations: scope.maxIterations, functionTolerance: BUNDLE_FUNCTION_TOLERANCE, ...(signal !== undefined ? { signal } : {}),
    },
  );
  if (!(result.finalCost <= result.initialCost)) return;
  const sharedFactor = result.intrinsics[0]!.fxPx / model.intrinsics[views[0]!]!.fxPx;
  views.forEach((v, c) => {
    model.poses[v] = result.cameraFromWorld[c]!;
    model.intrinsics[v] = result.intrinsics[c]!;
  });
  if (scope.refineIntrinsics === 'sharedFocal') {
    // One focal factor for all: the views outside this bundle follow it too.
    const inBundle = new Set(views);
    model.intrinsics.forEach((k, v) => {
      if (!inBundle.has(v)) model.intrinsics[v] = { ...k, fxPx: k.fxPx * sharedFactor, fyPx: k.fyPx * sharedFactor };
    });
  }
  pointTracks.forEach((t, i) => model.xyz.set(result.points.subarray(3 * i, 3 * i + 3), 3 * t));
}

/** Tracks with a point among the active observations of the given views. */
function pointTracksOfViews(model: Model, views: Iterable<number>): number[] {
  const seen = new Set<number>();
  for (const v of views) {
    for (const k of model.viewEntries[v]!) {
      if (model.active[k]) seen.add(model.entryTrack[k]!);
    }
  }
  return [...seen].sort((a, b) => a - b);
}

function registeredViews(model: Model): number[] {
  const out: number[] = [];
  model.poses.forEach((p, v) => { if (p !== null) out.push(v); });
  return out;
}

function globalBundle(model: Model, options: ResolvedOptions, refine: IntrinsicsRefinement, signal: AbortSignal | undefined): void {
  const allTracks: number[] = [];
  for (let t = 0; t < model.tracks.count; t++) if (model.hasPoint[t]) allTracks.push(t);
  adjustBundle(model, { variableViews: registeredViews(model), pointTracks: allTracks, refineIntrinsics: refine, maxIterations: 50 }, options, signal);
}

/** Rounds of completion and global refinement at the end (they stop early once the model stops growing). */
const FINAL_REFINEMENT_ROUNDS = 5;
/** Growth of the observation count below which another round is not worth it. */
const MIN_ROUND_GROWTH = 0.002;

function activeObservationCount(model: Model): number {
  let n = 0;
  for (let k = 0; k < model.active.length; k++) n += model.active[k]!;
  return n;
}

/**
 * Rounds of: complete tracks and triangulate what now can be, global bundle adjustment, filter; another round
 * only while the model still gains observations (a refined focal or pose can bring in observations that did
 * not fit before).
 */
function refineGlobally(model: Model, options: ResolvedOptions, rounds: number, signal: AbortSignal | undefined): void {
  for (let round = 0; round < rounds; round++) {
    const before = activeObservationCount(model);
    extendAndTriangulate(model, options);
    globalBundle(model, options, options.refineIntrinsics, signal);
    filterPoints(model, options);
    if (activeObservationCount(model) <= (1 + MIN_ROUND_GROWTH) * before) break;
  }
}

/** Connected components of the view graph: component id per view, ids ordered by decreasing size. */
function viewComponents(numViews: number, pairs: readonly VerifiedPair[]): Int32Array {
  const parent = Int32Array.from({ length: numViews }, (_, i) => i);
  const find = (x: number): number => { while (parent[x] !== x) { parent[x] = parent[parent[x]!]!; x = parent[x]!; } return x; };
  for (const p of pairs) if (p.matches.length > 0) parent[find(p.view0)] = find(p.view1);
  const size = new Map<number, number>();
  for (let v = 0; v < numViews; v++) size.set(find(v), (size.get(find(v)) ?? 0) + 1);
  const roots = [...size.keys()].sort((a, b) => size.get(b)! - size.get(a)! || a - b);
  const rank = new Map(roots.map((r, i) => [r, i]));
  return Int32Array.from({ length: numViews }, (_, v) => rank.get(find(v))!);
}

/** A pair's matches whose two keypoints are in one track (the others were split off as inconsistent). */
interface PairTracks {
  readonly pair: VerifiedPair;
  /** Track of each consistent match. */
  readonly tracks: number[];
  /** Keypoint indices (i0, i1) of each consistent match. */
  readonly matches: number[];
}

function consistentMatches(tracks: Tracks, pair: VerifiedPair): PairTracks {
  const out: PairTracks = { pair, tracks: [], matches: [] };
  const t0 = tracks.keypointTrack[pair.view0]!, t1 = tracks.keypointTrack[pair.view1]!;
  for (let m = 0; m < pair.matches.length; m += 2) {
    const a = t0[pair.matches[m]!]!;
    if (a >= 0 && a === t1[pair.matches[m + 1]!]!) { out.tracks.push(a); out.matches.push(pair.matches[m]!, pair.matches[m + 1]!); }
  }
  return out;
}

/**
 * Initial pair candidates: enough consistent matches and parallax (pairs without a relative pose get one
 * estimated when tried), largest view component first, then most matches.
 */
function initialPairCandidates(model: Model, pairs: readonly VerifiedPair[], options: ResolvedOptions): PairTracks[] {
  const component = viewComponents(model.views.length, pairs);
  const candidates: Array<PairTracks & { component: number }> = [];
  for (const pair of pairs) {
    if ((pair.medianTriangulationAngleDeg ?? Number.POSITIVE_INFINITY) < options.minInitialTriangulationAngleDeg) continue;
    const consistent = consistentMatches(model.tracks, pair);
    if (consistent.tracks.length < options.minInitialMatches) continue;
    candidates.push({ ...consistent, component: component[pair.view0]! });
  }
  candidates.sort((a, b) => a.component - b.component || b.tracks.length - a.tracks.length || a.pair.view0 - b.pair.view0 || a.pair.view1 - b.pair.view1);
  return candidates;
}

/** The pair's relative pose, or one estimated from its consistent matches (null without enough parallax). */
function relativePoseOf(model: Model, candidate: PairTracks, options: ResolvedOptions): RigidPose | null {
  const { pair, matches } = candidate;
  if (pair.pose1From0 !== undefined) return pair.pose1From0;
  const n = matches.length / 2;
  const pixels0 = new Float64Array(2 * n), pixels1 = new Float64Array(2 * n);
  const kp0 = model.views[pair.view0]!.keypoints, kp1 = model.views[pair.view1]!.keypoints;
  for (let m = 0; m < n; m++) {
    const i0 = matches[2 * m]!, i1 = matches[2 * m + 1]!;
    pixels0[2 * m] = kp0[2 * i0]!; pixels0[2 * m + 1] = kp0[2 * i0 + 1]!;
    pixels1[2 * m] = kp1[2 * i1]!; pixels1[2 * m + 1] = kp1[2 * i1 + 1]!;
  }
  const estimate = estimateRelativePose(pixels0, pixels1, model.intrinsics[pair.view0]!, model.intrinsics[pair.view1]!, {
    thresholdPx: options.absolutePoseThresholdPx / 2,
    seed: options.seed * 7919 + pair.view0 * 131 + pair.view1,
  });
  if (estimate === null || estimate.medianTriangulationAngleDeg < options.minInitialTriangulationAngleDeg) return null;
  return estimate.pose1From0;
}

function resetModel(model: Model): void {
  model.poses.fill(null);
  model.views.forEach((v, i) => { model.intrinsics[i] = { ...v.intrinsics }; });
  model.hasPoint.fill(0);
  model.active.fill(0);
  model.anchorView = -1;
}

/** Two-view model from a pair's relative pose: triangulate its track-consistent matches, refine, filter. */
function initialize(model: Model, candidate: PairTracks, options: ResolvedOptions, signal: AbortSignal | undefined): boolean {
  resetModel(model);
  const { pair, tracks: pairTracks } = candidate;
  const pose1From0 = relativePoseOf(model, candidate, options);
  if (pose1From0 === null) return false;
  const v0 = pair.view0, v1 = pair.view1;
  model.poses[v0] = identityPose();
  model.poses[v1] = { rotation: Float64Array.from(pose1From0.rotation), translation: Float64Array.from(pose1From0.translation) };
  model.anchorView = v0;
  for (const t of pairTracks) triangulateTrack(model, t, options);
  const initialTracks = pairTracks.filter((t) => model.hasPoint[t]);
  if (initialTracks.length < options.minInitialPoints) return false;
  adjustBundle(model, { variableViews: [v0, v1], pointTracks: initialTracks, refineIntrinsics: 'none', maxIterations: 50 }, options, signal);
  filterPoints(model, options, initialTracks);
  // Points the first estimate rejected may fit the refined poses.
  extendAndTriangulate(model, options, pairTracks);
  const count = pairTracks.reduce((n, t) => n + model.hasPoint[t]!, 0);
  return count >= options.minInitialPoints && model.poses.every((p) => p === null || isFinitePose(p));
}

function isFinitePose(pose: RigidPose): boolean {
  return pose.rotation.every(Number.isFinite) && pose.translation.every(Number.isFinite);
}

/** 2-D/3-D correspondences of a view: its keypoints whose track has a point. */
function correspondencesOf(model: Model, v: number): { entries: number[]; world: Float64Array; pixels: Float64Array } {
  const entries: number[] = [];
  for (const k of model.viewEntries[v]!) if (model.hasPoint[model.entryTrack[k]!]) entries.push(k);
  const world = new Float64Array(3 * entries.length), pixels = new Float64Array(2 * entries.length);
  entries.forEach((k, i) => {
    const t = model.entryTrack[k]!;
    world.set(model.xyz.subarray(3 * t, 3 * t + 3), 3 * i);
    const [u, w] = keypointPixel(model, k);
    pixels[2 * i] = u; pixels[2 * i + 1] = w;
  });
  return { entries, world, pixels };
}

/** Registers view v by PnP; on success activates its inlier observations. */
function registerView(model: Model, v: number, options: ResolvedOptions): boolean {
  const { entries, world, pixels } = correspondencesOf(model, v);
  if (entries.length < options.minRegistrationInliers) return false;
  const result = estimateAbsolutePose(world, pixels, model.intrinsics[v]!, {
    thresholdPx: options.absolutePoseThresholdPx,
    seed: options.seed * 7919 + v,
    maxIterations: 2000,
  });
  if (result === null || result.numInliers < options.minRegistrationInliers
    || result.numInliers < options.minRegistrationInlierRatio * entries.length
    || !isFinitePose(result.cameraFromWorld)) {
    return false;
  }
  model.poses[v] = result.cameraFromWorld;
  entries.forEach((k, i) => { if (result.inliers[i]) model.active[k] = 1; });
  return true;
}

/** The registered views that share the most points with v (for the local bundle). */
function strongestNeighbours(model: Model, v: number, count: number): number[] {
  const shared = new Map<number, number>();
  const { tracks } = model;
  for (const k of model.viewEntries[v]!) {
    if (!model.active[k]) continue;
    const t = model.entryTrack[k]!;
    for (let j = tracks.trackStart[t]!; j < tracks.trackStart[t + 1]!; j++) {
      const other = tracks.trackViews[j]!;
      if (other !== v && model.active[j]) shared.set(other, (shared.get(other) ?? 0) + 1);
    }
  }
  return [...shared.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, count).map(([view]) => view);
}

/** Unregistered views ordered by how many reconstructed points they see (most first). */
function nextViewCandidates(model: Model, attempts: Uint32Array, maxAttempts: number, blocked: ReadonlySet<number>): number[] {
  const scored: Array<[number, number]> = [];
  model.poses.forEach((pose, v) => {
    if (pose !== null || attempts[v]! >= maxAttempts || blocked.has(v)) return;
    let visible = 0;
    for (const k of model.viewEntries[v]!) if (model.hasPoint[model.entryTrack[k]!]) visible++;
    if (visible > 0) scored.push([v, visible]);
  });
  return scored.sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([v]) => v);
}

function tracksOfView(model: Model, v: number): number[] {
  return Array.from(model.viewEntries[v]!, (k) => model.entryTrack[k]!);
}

/**
 * Reconstructs cameras and a point cloud from views and their verified pairs. Views that cannot be joined to
 * the model come back with null poses; with no usable initial pair every pose is null and there are no points.
 * Like COLMAP's mapper it may build several models: when one stops short of every view, another starts from
 * an initial pair among the views it left out (a first model grown from a wrongly linked cluster, e.g. the
 * far side of a symmetric object, must not hide a larger correct one), and the model with the most registered
 * views wins. Emits 'sfm' progress events (registered views / total) and honours the context's abort signal.
 */
export function reconstructIncremental(
  views: readonly SfmView[],
  pairs: readonly VerifiedPair[],
  options: IncrementalOptions = {},
  context: RunContext = {},
): Reconstruction {
  const resolved = resolveOptions(options);
  views.forEach((view, i) => {
    if (view.keypoints.length % 2 !== 0) throw new InputError(`View ${i} (${view.name}) has an odd keypoints length.`);
  });
  const signal = context.signal;
  const total = views.length;
  const report = (done: number): void => context.onProgress?.({ stage: 'sfm', done, total, unit: 'images' });
  const tracks = buildTracks(views, pairs);
  const model = createModel(views, tracks);
  const candidates = initialPairCandidates(model, pairs, resolved);

  let best: Reconstruction | null = null;
  let bestRegistered = 0;
  const covered = new Set<number>(); // views registered by an earlier model
  const tried = new Set<PairTracks>();
  let attemptsLeft = resolved.maxInitialPairAttempts;
  for (let modelIndex = 0; modelIndex < resolved.maxModels; modelIndex++) {
    // A new model can only win if the views no model holds yet, plus its initial pair's side, outnumber the best.
    if (best !== null && total - covered.size <= bestRegistered) break;
    let initialized = false;
    for (const candidate of candidates) {
      if (attemptsLeft <= 0) break;
      if (tried.has(candidate) || covered.has(candidate.pair.view0) || covered.has(candidate.pair.view1)) continue;
      throwIfAborted(signal);
      attemptsLeft--;
      tried.add(candidate);
      if (initialize(model, candidate, resolved, signal)) { initialized = true; break; }
      context.log?.debug(`sfm: initial pair (${candidate.pair.view0}, ${candidate.pair.view1}) rejected`);
    }
    if (!initialized) break;
    growModel(model, resolved, signal, report);
    const registered = registeredViews(model);
    for (const v of registered) covered.add(v);
    context.log?.debug(`sfm: model ${modelIndex + 1} registered ${registered.length} of ${total} views`);
    if (registered.length > bestRegistered) {
      best = buildReconstruction(model);
      bestRegistered = registered.length;
    }
    if (bestRegistered === total) break;
  }
  if (best === null) {
    resetModel(model);
    report(0);
    return buildReconstruction(model);
  }
  report(bestRegistered);
  return best;
}

/** A model over the pairs' tracks with the given poses (copied; the first posed view is the anchor), no points. */
function modelWithPoses(
  views: readonly SfmView[], pairs: readonly VerifiedPair[], cameraFromWorld: readonly (RigidPose | null)[], what: 'Known' | 'Initial',
): Model {
  if (cameraFromWorld.length !== views.length) {
    throw new InputError(`${what} poses: ${cameraFromWorld.length} poses for ${views.length} views.`);
  }
  cameraFromWorld.forEach((pose, v) => {
    if (pose !== null && !isFinitePose(pose)) throw new InputError(`${what} pose of view ${v} (${views[v]!.name}) is not finite.`);
  });
  const model = createModel(views, buildTracks(views, pairs));
  cameraFromWorld.forEach((pose, v) => {
    model.poses[v] = pose === null ? null : { rotation: Float64Array.from(pose.rotation), translation: Float64Array.from(pose.translation) };
  });
  model.anchorView = cameraFromWorld.findIndex((p) => p !== null);
  return model;
}

/**
 * Points for known cameras (e.g. from COLMAP or a transforms.json): every track is triangulated robustly
 * through the given poses, points are refined by bundle adjustment with all cameras held, then filtered; no
 * pose or intrinsics change. Views with a null pose stay unregistered.
 */
export function reconstructWithKnownPoses(
  views: readonly SfmView[],
  pairs: readonly VerifiedPair[],
  cameraFromWorld: readonly (RigidPose | null)[],
  options: IncrementalOptions = {},
  context: RunContext = {},
): Reconstruction {
  const resolved = resolveOptions(options);
  const model = modelWithPoses(views, pairs, cameraFromWorld, 'Known');
  const allPoints = (): number[] => {
    const out: number[] = [];
    for (let t = 0; t < model.tracks.count; t++) if (model.hasPoint[t]) out.push(t);
    return out;
  };
  for (let round = 0; round < 2; round++) {
    throwIfAborted(context.signal);
    extendAndTriangulate(model, resolved);
    adjustBundle(model, { variableViews: [], pointTracks: allPoints(), refineIntrinsics: 'none', maxIterations: 30 }, resolved, context.signal);
    filterPoints(model, resolved);
  }
  context.onProgress?.({ stage: 'sfm', done: registeredViews(model).length, total: views.length, unit: 'images' });
  return buildReconstruction(model);
}

/**
 * The mapper resumed from approximate poses of some views (e.g. a model whose misplaced part was moved back):
 * every track is triangulated through them, the whole model is bundle-adjusted with the poses free (the first
 * posed view held), and the views left without a pose are registered as usual.
 */
export function reconstructFromPoses(
  views: readonly SfmView[],
  pairs: readonly VerifiedPair[],
  initialCameraFromWorld: readonly (RigidPose | null)[],
  options: IncrementalOptions = {},
  context: RunContext = {},
): Reconstruction {
  const resolved = resolveOptions(options);
  const model = modelWithPoses(views, pairs, initialCameraFromWorld, 'Initial');
  if (model.anchorView < 0) return buildReconstruction(model);
  const report = (done: number): void => context.onProgress?.({ stage: 'sfm', done, total: views.length, unit: 'images' });
  extendAndTriangulate(model, resolved);
  filterPoints(model, resolved);
  // One round pulls the given poses together before new views are located against them; growModel ends with
  // the full refinement.
  refineGlobally(model, resolved, 1, context.signal);
  growModel(model, resolved, context.signal, report);
  return buildReconstruction(model);
}

/** From an initialised model: register views one by one (PnP), triangulate, bundle-adjust, refine. */
function growModel(model: Model, resolved: ResolvedOptions, signal: AbortSignal | undefined, report: (done: number) => void): void {
  let numRegistered = registeredViews(model).length;
  let registeredAtLastGlobal = numRegistered;
  report(numRegistered);
  const attempts = new Uint32Array(model.views.length);
  let failedSinceGrowth = new Set<number>();
  for (;;) {
    throwIfAborted(signal);
    const candidatesNow = nextViewCandidates(model, attempts, resolved.maxRegistrationAttempts, failedSinceGrowth);
    if (candidatesNow.length === 0) break;
    const v = candidatesNow[0]!;
    attempts[v]!++;
    if (!registerView(model, v, resolved)) {
      failedSinceGrowth.add(v);
      continue;
    }
    failedSinceGrowth = new Set();
    numRegistered++;
    extendAndTriangulate(model, resolved, tracksOfView(model, v));
    // The local bundle holds every point the local cameras see: a camera moved by only some of its points
    // would leave the others misplaced.
    const local = [v, ...strongestNeighbours(model, v, resolved.localBundleCameras - 1)];
    adjustBundle(model, { variableViews: local, pointTracks: pointTracksOfViews(model, local), refineIntrinsics: resolved.refineIntrinsics, maxIterations: 25 }, resolved, signal);
    filterPoints(model, resolved, pointTracksOfViews(model, local));
    if (numRegistered >= (1 + resolved.globalBundleGrowth) * registeredAtLastGlobal) {
      refineGlobally(model, resolved, 1, signal);
      registeredAtLastGlobal = numRegistered;
    }
    report(numRegistered);
  }
  refineGlobally(model, resolved, FINAL_REFINEMENT_ROUNDS, signal);
}

/** The model as the public result: poses (null when unregistered), intrinsics, coloured points with their tracks. */
function buildReconstruction(model: Model): Reconstruction {
  const { tracks } = model;
  const points: SfmPoint[] = [];
  for (let t = 0; t < tracks.count; t++) {
    if (!model.hasPoint[t]) continue;
    const xyz = model.xyz.slice(3 * t, 3 * t + 3);
    const track: number[] = [];
    let errorSum = 0;
    const colour = [0, 0, 0];
    let coloured = 0;
    for (let k = tracks.trackStart[t]!; k < tracks.trackStart[t + 1]!; k++) {
      if (!model.active[k]) continue;
      const v = tracks.trackViews[k]!, kp = tracks.trackKeypoints[k]!;
      track.push(v, kp);
      const [u, w] = keypointPixel(model, k);
      errorSum += reprojectionErrorPx(model, v, xyz, u, w);
      const colours = model.views[v]!.keypointColors;
      if (colours !== undefined) {
        colour[0]! += colours[3 * kp]!; colour[1]! += colours[3 * kp + 1]!; colour[2]! += colours[3 * kp + 2]!;
        coloured++;
      }
    }
    const n = track.length / 2;
    if (n < 2 || !xyz.every(Number.isFinite) || !Number.isFinite(errorSum)) continue;
    points.push({
      xyz,
      color: coloured > 0
        ? [Math.round(colour[0]! / coloured), Math.round(colour[1]! / coloured), Math.round(colour[2]! / coloured)]
        : [128, 128, 128],
      meanReprojectionErrorPx: errorSum / n,
      track: Uint32Array.from(track),
    });
  }
  return {
    cameraFromWorld: model.poses.map((p) => (p !== null && isFinitePose(p) ? p : null)),
    intrinsics: model.intrinsics.map((k) => ({ ...k })),
    points,
  };
}
