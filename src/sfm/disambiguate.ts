/**
 * Repairs a reconstruction in which repeated or symmetric structure has placed a group of views wrongly
 * relative to the rest, as found by missing co-observations (visibility-conflicts.ts). Each round:
 * 1. split the views into the two sides of the conflicts (side 1 the smaller);
 * 2. group the pairs across the split (loop-rejected ones included) by the rigid correction of side 1 each
 *    asks for, leaving out those close to the current placement: they are what put side 1 where it is;
 * 3. for each group, move side 1 rigidly (rotation: the group's mean; translation: from its matches whose
 *    keypoints have 3-D points on the other side; scale: unchanged, it is one model) and measure the conflict
 *    of the moved model, a cheap judge;
 * 4. the most promising placements are reconstructed from the moved poses (the pairs within each side, plus
 *    the group's pairs across), and the first that registers as many views and removes most of the conflict
 *    replaces the model.
 * Rounds stop when no conflict is left or no placement does better.
 */
import type { RunContext } from '../core/context.ts';
import { det3, invert3, mul3, rotationAngleDeg, transpose3, type Mat3 } from '../geometry/mat3.ts';
import { reconstructFromPoses, type IncrementalOptions } from './incremental.ts';
import { chordalMeanRotation } from '../geometry/rotation-average.ts';
import type { RigidPose } from '../geometry/rigid.ts';
import { createRng } from '../geometry/random.ts';
import type { Reconstruction, SfmPoint, SfmView, VerifiedPair } from './types.ts';
import {
  coObservations, conflictingPairs, splitByConflicts, DEFAULT_CONFLICT_OPTIONS, type CoObservation, type ConflictOptions,
} from './visibility-conflicts.ts';

export interface DisambiguationOptions {
  readonly conflicts: ConflictOptions;
  /**
   * Rotation noise of a two-view pose (degrees; the loop check's tolerance): pairs across the split whose
   * corrections differ by less than twice this are one group.
   */
  readonly maxRotationDisagreementDeg: number;
  /**
   * Pairs across the split whose correction of the current placement is within this angle (degrees) support it
   * and are set aside.
   */
  readonly currentPlacementRadiusDeg: number;
  /** Link matches (with a 3-D point on the other side) needed to place side 1 again, and their inlier threshold (pixels). */
  readonly minLinkObservations: number;
  readonly linkThresholdPx: number;
  /** Rounds of repair at most, and placements tried per round. */
  readonly maxRounds: number;
  readonly maxCandidatesPerRound: number;
  /** Placements judged cheaply per round (the heaviest groups of pairs). */
  readonly maxJudgedPerRound: number;
  /** A new placement must bring the conflict weight down to at most this fraction. */
  readonly maxConflictRatio: number;
}

/** Defaults, but for the rotation tolerance, which depends on whether the intrinsics are known. */
export const DEFAULT_DISAMBIGUATION: Omit<DisambiguationOptions, 'maxRotationDisagreementDeg'> = Object.freeze({
  conflicts: DEFAULT_CONFLICT_OPTIONS,
  // Lego: the pairs that put the mirrored group in place ask for corrections of 0-26 deg, the true link 176.
  currentPlacementRadiusDeg: 10,
  minLinkObservations: 12,
  linkThresholdPx: 12,
  maxRounds: 3,
  maxCandidatesPerRound: 2,
  maxJudgedPerRound: 12,
  // Lego seeds 0-5: right placements left 0-11% of the conflict, wrong ones 22-34% (they spread views apart).
  maxConflictRatio: 0.15,
});

export interface DisambiguationRound {
  /** Conflicting pairs found, and their expected points in all. */
  readonly conflicts: number;
  readonly conflictWeight: number;
  /** Views of the side placed again. */
  readonly movedViews: readonly number[];
  /** Conflict left by the best new placement, and whether it replaced the model. */
  readonly newConflictWeight: number;
  readonly accepted: boolean;
}

export interface DisambiguationResult {
  readonly reconstruction: Reconstruction;
  /** The pairs the kept reconstruction was built from. */
  readonly pairs: readonly VerifiedPair[];
  /** Conflicts left in the kept reconstruction. */
  readonly remainingConflicts: readonly CoObservation[];
  readonly rounds: readonly DisambiguationRound[];
}

/**
 * World rotation that a pair across the split asks to apply to side 1 (cameraFromWorld R_j -> R_j Q^T) so that
 * the model's relative rotation equals the pair's: identity when the pair agrees with the placement.
 */
function correctionOfSide1(pair: VerifiedPair, side: Int8Array, model: Reconstruction): Mat3 | null {
  if (!pair.pose1From0) return null;
  const flip = side[pair.view0] === 1;
  const v0 = flip ? pair.view1 : pair.view0, v1 = flip ? pair.view0 : pair.view1;
  const p0 = model.cameraFromWorld[v0], p1 = model.cameraFromWorld[v1];
  if (!p0 || !p1) return null;
  const rotation1From0 = flip ? transpose3(pair.pose1From0.rotation) : pair.pose1From0.rotation;
  return mul3(transpose3(p0.rotation), mul3(transpose3(rotation1From0), p1.rotation));
}

/**
 * The groups of pairs across the split that may each place side 1 again, heaviest (by matches) first, at most
 * `maxJudgedPerRound` of them: pairs
 * asking for one and the same correction (within twice the agreement tolerance of each other), away from the
 * current placement. Pairs near the identity correction are what put side 1 where it is; each candidate
 * placement rests on one consistent group, and the other pairs across the split are set aside with it.
 */
interface LinkGroup {
  readonly pairs: ReadonlySet<VerifiedPair>;
  /** The correction of side 1 they ask for: the weighted chordal mean of theirs. */
  readonly rotation: Mat3;
}

function alternativeLinks(pairs: readonly VerifiedPair[], side: Int8Array, model: Reconstruction, options: DisambiguationOptions): LinkGroup[] {
  const across: Array<{ pair: VerifiedPair; q: Mat3; weight: number }> = [];
  for (const pair of pairs) {
    const s0 = side[pair.view0]!, s1 = side[pair.view1]!;
    if (s0 === -1 || s1 === -1 || s0 === s1) continue;
    const q = correctionOfSide1(pair, side, model);
    if (q && rotationAngleDeg(q) > options.currentPlacementRadiusDeg) across.push({ pair, q, weight: pair.matches.length / 2 });
  }
  const groups: LinkGroup[] = [];
  const used = new Set<VerifiedPair>();
  while (groups.length < options.maxJudgedPerRound) {
    let best: typeof across = [], bestWeight = 0;
    for (const seed of across) {
      if (used.has(seed.pair)) continue;
      const group = across.filter((o) => !used.has(o.pair) && rotationAngleDeg(mul3(o.q, transpose3(seed.q))) <= 2 * options.maxRotationDisagreementDeg);
      const weight = group.reduce((sum, o) => sum + o.weight, 0);
      if (weight > bestWeight) { bestWeight = weight; best = group; }
    }
    if (best.length === 0) break;
    for (const o of best) used.add(o.pair);
    groups.push({ pairs: new Set(best.map((o) => o.pair)), rotation: chordalMeanRotation(best.map((o) => o.q), best.map((o) => o.weight)) });
  }
  return groups;
}

/**
 * One link match under a fixed correction rotation Q: a camera of one side sees the other side's 3-D point at
 * pixel (u, v). For a side-1 point X seen by a side-0 camera (R, t) the camera-frame point is
 * R (Q X + tau) + t; for a side-0 point Y seen by a moved side-1 camera, R Q^T (Y - tau) + t. Both are affine
 * in the translation tau: x = p + M tau.
 */
interface LinkObservation {
  readonly m: Mat3;
  readonly p: readonly [number, number, number];
  /** Normalised image ray (z = 1) and the camera's focal lengths, for pixel errors. */
  readonly rx: number; readonly ry: number;
  readonly fx: number; readonly fy: number;
}

function mulVec(m: ArrayLike<number>, x: ArrayLike<number>): [number, number, number] {
  return [0, 1, 2].map((r) => m[3 * r]! * x[0]! + m[3 * r + 1]! * x[1]! + m[3 * r + 2]! * x[2]!) as [number, number, number];
}

/**
 * Least-squares tau from observations: the ray r is parallel to p + M tau, so [r]x M tau = -[r]x p (two
 * independent rows each), solved through the normal equations. Null when degenerate.
 */
function solveTranslation(observations: readonly LinkObservation[]): Float64Array | null {
  const ata = new Float64Array(9), atb = new Float64Array(3);
  const row = new Float64Array(3);
  for (const o of observations) {
    const { m, p, rx, ry } = o;
    // Rows of [r]x with r = (rx, ry, 1): (0, -1, ry), (1, 0, -rx), (-ry, rx, 0).
    const skew = [[0, -1, ry], [1, 0, -rx], [-ry, rx, 0]] as const;
    for (const k of skew) {
      for (let col = 0; col < 3; col++) row[col] = k[0] * m[col]! + k[1] * m[3 + col]! + k[2] * m[6 + col]!;
      const rhs = -(k[0] * p[0] + k[1] * p[1] + k[2] * p[2]);
      for (let i = 0; i < 3; i++) {
        atb[i]! += row[i]! * rhs;
        for (let j = 0; j < 3; j++) ata[3 * i + j]! += row[i]! * row[j]!;
      }
    }
  }
  if (Math.abs(det3(ata as Mat3)) < 1e-12) return null;
  return Float64Array.from(mulVec(invert3(ata as Mat3), atb));
}

/** Pixel error of a link observation under the translation tau; Infinity behind the camera. */
function linkErrorPx(o: LinkObservation, tau: ArrayLike<number>): number {
  const { m, p } = o;
  const x = p[0] + m[0]! * tau[0]! + m[1]! * tau[1]! + m[2]! * tau[2]!;
  const y = p[1] + m[3]! * tau[0]! + m[4]! * tau[1]! + m[5]! * tau[2]!;
  const z = p[2] + m[6]! * tau[0]! + m[7]! * tau[1]! + m[8]! * tau[2]!;
  if (!(z > 0)) return Number.POSITIVE_INFINITY;
  return Math.hypot(o.fx * (x / z - o.rx), o.fy * (y / z - o.ry));
}

/** RANSAC confidence for the translation from link matches; iterations stop adaptively, at most this many. */
const LINK_RANSAC_CONFIDENCE = 0.999;
const LINK_RANSAC_MAX_ITERATIONS = 500;

/**
 * The model with side 1 moved by the correction the link pairs ask for: Q, the mean of their rotations, and a
 * translation from the link matches whose keypoint has a 3-D point on the other side (RANSAC over pairs of
 * them, then least squares on the inliers). Side 1 keeps its scale: one model, one scale. Null when the link
 * matches do not fix the translation.
 */
/** The 3-D point of each observation (view, keypoint) of a model, keyed keypoint * numViews + view. */
function pointsByObservation(model: Reconstruction): Map<number, Float64Array> {
  const n = model.cameraFromWorld.length;
  const pointOf = new Map<number, Float64Array>();
  for (const point of model.points) for (let o = 0; o < point.track.length; o += 2) pointOf.set(point.track[o + 1]! * n + point.track[o]!, point.xyz);
  return pointOf;
}

function movedSidePoses(
  views: readonly SfmView[], model: Reconstruction, pointOf: ReadonlyMap<number, Float64Array>, side: Int8Array,
  link: LinkGroup, options: DisambiguationOptions,
): Reconstruction | null {
  const q = link.rotation;
  const qt = transpose3(q);
  const n = views.length;
  const key = (v: number, k: number): number => k * n + v;
  const observations: LinkObservation[] = [];
  const observe = (camera: number, keypoint: number, other: number, otherKeypoint: number): void => {
    const point = pointOf.get(key(other, otherKeypoint));
    const pose = model.cameraFromWorld[camera];
    if (!point || !pose) return;
    const k = model.intrinsics[camera]!;
    const kp = views[camera]!.keypoints;
    const r = pose.rotation, t = pose.translation;
    let m: Mat3, p: [number, number, number];
    if (side[camera] === 0) {
      m = r;
      p = mulVec(r, mulVec(q, point));
    } else {
      const rqt = mul3(r, qt);
      m = Float64Array.from(rqt, (x) => -x) as Mat3;
      p = mulVec(rqt, point);
    }
    observations.push({
      m, p: [p[0] + t[0]!, p[1] + t[1]!, p[2] + t[2]!],
      rx: (kp[2 * keypoint]! - k.cxPx) / k.fxPx, ry: (kp[2 * keypoint + 1]! - k.cyPx) / k.fyPx, fx: k.fxPx, fy: k.fyPx,
    });
  };
  for (const pair of link.pairs) {
    for (let i = 0; i < pair.matches.length; i += 2) {
      observe(pair.view0, pair.matches[i]!, pair.view1, pair.matches[i + 1]!);
      observe(pair.view1, pair.matches[i + 1]!, pair.view0, pair.matches[i]!);
    }
  }
  if (observations.length < options.minLinkObservations) return null;
  const rng = createRng(0);
  let best: Float64Array | null = null, bestInliers = 0;
  let needed = LINK_RANSAC_MAX_ITERATIONS;
  for (let iteration = 0; iteration < needed; iteration++) {
    const a = observations[rng.nextInt(observations.length)]!, b = observations[rng.nextInt(observations.length)]!;
    if (a === b) continue;
    const tau = solveTranslation([a, b]);
    if (!tau) continue;
    let inliers = 0;
    for (const o of observations) if (linkErrorPx(o, tau) <= options.linkThresholdPx) inliers++;
    if (inliers > bestInliers) {
      bestInliers = inliers;
      best = tau;
      const w = inliers / observations.length;
      needed = Math.min(needed, Math.ceil(Math.log(1 - LINK_RANSAC_CONFIDENCE) / Math.log(Math.max(1e-12, 1 - w * w))));
    }
  }
  if (!best || bestInliers < options.minLinkObservations) return null;
  const tau = solveTranslation(observations.filter((o) => linkErrorPx(o, best!) <= options.linkThresholdPx)) ?? best;
  return movedModel(model, side, q, tau);
}

/**
 * The model with side 1 moved by x -> Q x + tau: its cameras (x_cam = R Q^T (x - tau) + t) and the points only
 * side 1 observes; points observed from both sides are dropped (their observations cannot all hold now).
 */
function movedModel(model: Reconstruction, side: Int8Array, q: Mat3, tau: ArrayLike<number>): Reconstruction {
  const cameraFromWorld = model.cameraFromWorld.map((pose, v) => {
    if (!pose || side[v] !== 1) return pose;
    const rotation = mul3(pose.rotation, transpose3(q));
    const shift = mulVec(rotation, tau);
    return { rotation, translation: Float64Array.from(pose.translation, (t, i) => t - shift[i]!) };
  });
  const points: SfmPoint[] = [];
  for (const point of model.points) {
    let ones = 0, zeros = 0;
    for (let o = 0; o < point.track.length; o += 2) { if (side[point.track[o]!] === 1) ones++; else zeros++; }
    if (ones > 0 && zeros > 0) continue;
    if (zeros > 0) { points.push(point); continue; }
    const x = mulVec(q, point.xyz);
    points.push({ ...point, xyz: Float64Array.from(x, (value, i) => value + tau[i]!) });
  }
  return { cameraFromWorld, intrinsics: model.intrinsics, points };
}

function registeredCount(model: Reconstruction): number {
  return model.cameraFromWorld.filter((p) => p !== null).length;
}

function conflictsOf(model: Reconstruction, sizes: readonly { width: number; height: number }[], options: ConflictOptions) {
  const observations = coObservations(model, sizes, options.maxViewAngleDeg);
  const conflicts = conflictingPairs(observations, options);
  return { observations, conflicts, weight: conflicts.reduce((s, c) => s + c.expected, 0) };
}

export function disambiguateReconstruction(
  views: readonly SfmView[], sizes: readonly { readonly width: number; readonly height: number }[],
  pairs: readonly VerifiedPair[], reconstruction: Reconstruction,
  sfm: IncrementalOptions, options: DisambiguationOptions, context: RunContext = {}, setAsidePairs: readonly VerifiedPair[] = [],
): DisambiguationResult {
  let model = reconstruction, modelPairs = pairs;
  let current = conflictsOf(model, sizes, options.conflicts);
  const rounds: DisambiguationRound[] = [];
  for (let round = 0; round < options.maxRounds && current.conflicts.length > 0; round++) {
    const registered = model.cameraFromWorld.map((p) => p !== null);
    const side = splitByConflicts(views.length, registered, current.conflicts, current.observations, options.conflicts.minAgreeFraction);
    const movedViews = [...side.keys()].filter((v) => side[v] === 1);
    // Links may also come from pairs set aside before (e.g. by the loop check, outvoted by the wrong ones).
    // Each candidate placement is first judged cheaply, on the model with side 1 moved rigidly; the most
    // promising ones are reconstructed in that order, and the first that registers as many views and removes
    // most of the conflict replaces the model (spreading views apart lowers the conflict a little too), or the
    // first that registers more views and lowers the conflict at all.
    const pointOf = pointsByObservation(model);
    const inModel = new Set(modelPairs);
    const judged = alternativeLinks([...modelPairs, ...setAsidePairs], side, model, options).flatMap((link) => {
      const moved = movedSidePoses(views, model, pointOf, side, link, options);
      return moved ? [{ link, moved, weight: conflictsOf(moved, sizes, options.conflicts).weight }] : [];
    }).filter((c) => c.weight <= options.maxConflictRatio * current.weight)
      .sort((a, b) => a.weight - b.weight).slice(0, options.maxCandidatesPerRound);
    let best: { model: Reconstruction; pairs: VerifiedPair[]; conflicts: ReturnType<typeof conflictsOf> } | null = null;
    for (const { link, moved, weight } of judged) {
      // The pairs within each side, and the link's pairs across (loop-rejected ones among them included).
      const kept = modelPairs.filter((pair) => {
        const s0 = side[pair.view0]!, s1 = side[pair.view1]!;
        return s0 === -1 || s1 === -1 || s0 === s1 || link.pairs.has(pair);
      });
      for (const pair of link.pairs) if (!inModel.has(pair)) kept.push(pair);
      const candidate = reconstructFromPoses(views, kept, moved.cameraFromWorld, sfm, context);
      const next = conflictsOf(candidate, sizes, options.conflicts);
      // A placement that registers views the model could not place is kept on any reduction of the conflict.
      const eligible = (registeredCount(candidate) >= registeredCount(model) && next.weight <= options.maxConflictRatio * current.weight)
        || (registeredCount(candidate) > registeredCount(model) && next.weight <= current.weight);
      context.log?.debug(`disambiguation: views ${movedViews.map((v) => views[v]!.name).join(', ')} placed again through `
        + `${[...link.pairs].map((p) => `${views[p.view0]!.name}-${views[p.view1]!.name}`).join(' ')} (moved: conflict ${weight}), without ${modelPairs.length - kept.length} pairs: `
        + `${registeredCount(candidate)} views, conflict ${current.weight} -> ${next.weight}${eligible ? '' : ' (not enough)'}`);
      if (eligible) { best = { model: candidate, pairs: kept, conflicts: next }; break; }
    }
    rounds.push({
      conflicts: current.conflicts.length, conflictWeight: current.weight, movedViews,
      newConflictWeight: best ? best.conflicts.weight : current.weight, accepted: best !== null,
    });
    if (!best) break;
    model = best.model;
    modelPairs = best.pairs;
    current = best.conflicts;
  }
  return { reconstruction: model, pairs: modelPairs, remainingConflicts: current.conflicts, rounds };
}
