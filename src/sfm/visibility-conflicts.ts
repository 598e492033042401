/**
 * Missing co-observations: evidence against a reconstruction that loops cannot give. Repeated or symmetric
 * structure (a toy's two sides, a baseplate's stud grid) can link two groups of views with a wrong relative
 * placement that is self-consistent: every rotation loop closes, and each group is right on its own. The
 * placement then predicts that views of the two groups see the same surfaces from nearly the same direction,
 * yet almost none of those points were matched between them. Within a correctly placed group, views that look
 * at a point from within a few tens of degrees of each other match a fair share of it.
 *
 * This is the idea of Zach et al. 2008 ("What can missing correspondences tell us about 3D structure and
 * motion?") and Heinly et al. 2014 ("Correcting for duplicate scene structure in sparse 3D reconstruction"),
 * reduced to one statistic per view pair: of the points one view observes that the other should see (in front
 * of it, inside its frame, viewed from a direction within `maxViewAngleDeg`), the fraction it also observes.
 */
import { InputError } from '../core/errors.ts';
import { cameraCenter } from '../geometry/rigid.ts';
import type { Reconstruction } from './types.ts';

export interface CoObservation {
  readonly view0: number;
  readonly view1: number;
  /** Points of one view that the other should see (counted once from each side). */
  readonly expected: number;
  /** ... of which the other view observes (its track holds both views). */
  readonly coObserved: number;
}

export interface ConflictOptions {
  /** A point seen by view i is expected in view j when their viewing directions differ by less than this. */
  readonly maxViewAngleDeg: number;
  /** Pairs expecting fewer points than this are not judged. */
  readonly minExpected: number;
  /** A pair co-observing at most this fraction of what it expects is in conflict. */
  readonly maxCoObservedFraction: number;
  /** A pair co-observing at least this fraction agrees: its views belong on the same side of a split. */
  readonly minAgreeFraction: number;
}

/**
 * Lego (20 views, first model): pairs across the mirrored group co-observe 0-5% of what they expect (one pair
 * 19%), pairs within a group 9-84% (pairs expecting at least 200 points, 30 degrees); DTU's six views 18-81%.
 * A narrower cone (20 degrees) saw too few pairs to place lego's top-down view; requiring the view to lie
 * between two observers (a convex-visibility test) lost most of the signal on lego's sparse views.
 */
export const DEFAULT_CONFLICT_OPTIONS: ConflictOptions = Object.freeze({
  maxViewAngleDeg: 30,
  minExpected: 200,
  maxCoObservedFraction: 0.08,
  minAgreeFraction: 0.12,
});

/** Per pair of registered views (view0 < view1) that expects at least one point: expected and co-observed counts. */
export function coObservations(
  reconstruction: Reconstruction, sizes: readonly { readonly width: number; readonly height: number }[],
  maxViewAngleDeg: number,
): CoObservation[] {
  const { cameraFromWorld: poses, intrinsics, points } = reconstruction;
  const n = poses.length;
  if (sizes.length !== n) throw new InputError(`coObservations: ${sizes.length} image sizes for ${n} views.`);
  const registered = poses.flatMap((p, v) => (p ? [v] : []));
  const centres = poses.map((p) => (p ? cameraCenter(p) : null));
  const minCos = Math.cos((maxViewAngleDeg * Math.PI) / 180);
  const expected = new Float64Array(n * n), coObserved = new Float64Array(n * n);
  const observes = new Uint8Array(n);
  const direction = new Float64Array(3 * n);
  for (const point of points) {
    const [x, y, z] = point.xyz as unknown as [number, number, number];
    observes.fill(0);
    const observers: number[] = [];
    for (let o = 0; o < point.track.length; o += 2) {
      const v = point.track[o]!;
      if (!observes[v] && poses[v]) { observes[v] = 1; observers.push(v); }
    }
    for (const v of registered) {
      const c = centres[v]!;
      const dx = c[0]! - x, dy = c[1]! - y, dz = c[2]! - z;
      const norm = Math.hypot(dx, dy, dz) || 1;
      direction[3 * v] = dx / norm; direction[3 * v + 1] = dy / norm; direction[3 * v + 2] = dz / norm;
    }
    for (const j of registered) {
      // The direction test first: most views look at a point from far off every observer's direction.
      let near = false;
      for (const i of observers) {
        if (i !== j && direction[3 * i]! * direction[3 * j]! + direction[3 * i + 1]! * direction[3 * j + 1]! + direction[3 * i + 2]! * direction[3 * j + 2]! >= minCos) { near = true; break; }
      }
      if (!near) continue;
      const pose = poses[j]!, r = pose.rotation, t = pose.translation, k = intrinsics[j]!;
      const zc = r[6]! * x + r[7]! * y + r[8]! * z + t[2]!;
      if (!(zc > 0)) continue;
      const u = k.fxPx * ((r[0]! * x + r[1]! * y + r[2]! * z + t[0]!) / zc) + k.cxPx;
      const w = k.fyPx * ((r[3]! * x + r[4]! * y + r[5]! * z + t[1]!) / zc) + k.cyPx;
      if (!(u >= 0 && w >= 0 && u < sizes[j]!.width && w < sizes[j]!.height)) continue;
      for (const i of observers) {
        if (i === j) continue;
        const cos = direction[3 * i]! * direction[3 * j]! + direction[3 * i + 1]! * direction[3 * j + 1]! + direction[3 * i + 2]! * direction[3 * j + 2]!;
        if (cos < minCos) continue;
        const key = Math.min(i, j) * n + Math.max(i, j);
        expected[key]! += 1;
        if (observes[j]) coObserved[key]! += 1;
      }
    }
  }
  const out: CoObservation[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const key = i * n + j;
      if (expected[key]! > 0) out.push({ view0: i, view1: j, expected: expected[key]!, coObserved: coObserved[key]! });
    }
  }
  return out;
}

/** The pairs that expect many points and co-observe almost none of them: at least one of the two is misplaced. */
export function conflictingPairs(observations: readonly CoObservation[], options: ConflictOptions): CoObservation[] {
  if (!(options.maxCoObservedFraction >= 0 && options.maxCoObservedFraction < 1)) {
    throw new InputError(`maxCoObservedFraction (${options.maxCoObservedFraction}) must be in [0, 1).`);
  }
  return observations.filter((o) => o.expected >= options.minExpected && o.coObserved <= options.maxCoObservedFraction * o.expected);
}

/**
 * Splits the registered views into two sides so that conflicting pairs fall across the split and agreeing
 * pairs (co-observing at least `minAgreeFraction` of what they expect) within a side: a two-colouring of the
 * signed view graph (weights: expected points), improved by single-view moves where no colouring satisfies
 * every edge. Agreeing edges tie together conflicts that involve different views. Views with neither kind of
 * edge join side 0. Returns per view 0 or 1, or -1 for an unregistered view; side 1 is the smaller one (fewer
 * views, then less conflict weight), the one to place again.
 */
export function splitByConflicts(
  numViews: number, registered: readonly boolean[], conflicts: readonly CoObservation[], observations: readonly CoObservation[],
  minAgreeFraction: number,
): Int8Array {
  // Signed edges: +w for agreement (same side), -w for conflict (opposite sides).
  const edges = new Map<number, Map<number, number>>();
  const addEdge = (a: number, b: number, w: number): void => {
    for (const [x, y] of [[a, b], [b, a]] as const) {
      let m = edges.get(x);
      if (!m) edges.set(x, m = new Map());
      m.set(y, (m.get(y) ?? 0) + w);
    }
  };
  const conflictWeight = new Float64Array(numViews);
  for (const c of conflicts) {
    addEdge(c.view0, c.view1, -c.expected);
    conflictWeight[c.view0]! += c.expected; conflictWeight[c.view1]! += c.expected;
  }
  const conflictKeys = new Set(conflicts.map((c) => c.view0 * numViews + c.view1));
  for (const o of observations) {
    if (!conflictKeys.has(o.view0 * numViews + o.view1) && o.coObserved >= minAgreeFraction * o.expected) addEdge(o.view0, o.view1, o.expected);
  }
  const side = new Int8Array(numViews).fill(-1);
  const strength = (v: number): number => { let s = 0; for (const w of edges.get(v)?.values() ?? []) s += Math.abs(w); return s; };
  const order = [...edges.keys()].filter((v) => registered[v]).sort((a, b) => conflictWeight[b]! - conflictWeight[a]! || strength(b) - strength(a) || a - b);
  // Breadth-first colouring along the heaviest edges first (a maximum spanning tree's order).
  for (const start of order) {
    if (side[start] !== -1) continue;
    side[start] = 0;
    const frontier: Array<[number, number, number]> = [];
    const push = (v: number): void => { for (const [u, w] of edges.get(v)!) if (side[u] === -1 && registered[u]) frontier.push([Math.abs(w), v, u]); };
    push(start);
    while (frontier.length > 0) {
      frontier.sort((a, b) => a[0] - b[0]);
      const [, v, u] = frontier.pop()!;
      if (side[u] !== -1) continue;
      side[u] = (edges.get(v)!.get(u)! > 0 ? side[v]! : 1 - side[v]!) as 0 | 1;
      push(u);
    }
  }
  // Single-view moves while they satisfy more edge weight.
  for (let changed = true, rounds = 0; changed && rounds < 4 * numViews; rounds++) {
    changed = false;
    for (const v of order) {
      let gain = 0;
      for (const [u, w] of edges.get(v)!) if (side[u] !== -1) gain += (side[u] === side[v] ? -w : w);
      if (gain > 0) { side[v] = (1 - side[v]!) as 0 | 1; changed = true; }
    }
  }
  for (let v = 0; v < numViews; v++) if (registered[v] && side[v] === -1) side[v] = 0;
  const count = [0, 0], weight = [0, 0];
  for (let v = 0; v < numViews; v++) {
    if (side[v] === -1) continue;
    count[side[v]!]!++;
    weight[side[v]!]! += conflictWeight[v]!;
  }
  if (count[1]! > count[0]! || (count[1] === count[0] && weight[1]! > weight[0]!)) {
    for (let v = 0; v < numViews; v++) if (side[v] !== -1) side[v] = (1 - side[v]!) as 0 | 1;
  }
  return side;
}
