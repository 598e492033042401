/**
 * Feature tracks: chains of pairwise matches joined into one 3-D point hypothesis each (keypoint a of view 0
 * matches b of view 1, which matches c of view 2, ... all see the same point). Built with union-find over
 * (view, keypoint) nodes.
 *
 * A wrong match can join two different points; the symptom is a track with two different keypoints of one
 * view, which no single 3-D point can explain. Such components are rebuilt greedily: their matches are
 * replayed strongest pair first (pairs with more verified matches are more reliable), and a union that would
 * put two keypoints of one view in one track is skipped. This splits the component into consistent tracks
 * and drops only the offending links, rather than throwing the whole component away.
 */
import { InputError } from '../core/errors.ts';
import type { SfmView, VerifiedPair } from './types.ts';

export interface Tracks {
  readonly count: number;
  /** Track t's observations are entries trackStart[t] .. trackStart[t+1]-1 of trackViews / trackKeypoints. */
  readonly trackStart: Uint32Array;
  readonly trackViews: Uint32Array;
  readonly trackKeypoints: Uint32Array;
  /** Per view: the track of each keypoint, -1 when it is in none. */
  readonly keypointTrack: readonly Int32Array[];
}

export interface TrackOptions {
  /** Tracks with fewer observations are dropped. Default 2. */
  readonly minLength?: number;
}

/** Union-find over dense integer nodes, with path halving and union by size. */
class DisjointSets {
  readonly parent: Int32Array;
  readonly size: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
    this.size = new Int32Array(n).fill(1);
  }
  find(x: number): number {
    const parent = this.parent;
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  }
  /** Links the sets of a and b; returns the new root (or the common root). */
  union(a: number, b: number): number {
    let ra = this.find(a), rb = this.find(b);
    if (ra === rb) return ra;
    if (this.size[ra]! < this.size[rb]!) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra]! += this.size[rb]!;
    return ra;
  }
}

/** Builds the tracks of a set of views from their verified pairs. Deterministic in the input order. */
export function buildTracks(views: readonly SfmView[], pairs: readonly VerifiedPair[], options: TrackOptions = {}): Tracks {
  const minLength = options.minLength ?? 2;
  const numViews = views.length;
  const viewOffset = new Uint32Array(numViews + 1);
  for (let v = 0; v < numViews; v++) viewOffset[v + 1] = viewOffset[v]! + views[v]!.keypoints.length / 2;
  const numNodes = viewOffset[numViews]!;
  const viewOfNode = new Uint32Array(numNodes);
  for (let v = 0; v < numViews; v++) viewOfNode.fill(v, viewOffset[v]!, viewOffset[v + 1]!);

  for (const pair of pairs) checkPair(pair, views);

  // Pass 1: plain union-find over every match.
  const sets = new DisjointSets(numNodes);
  forEachEdge(pairs, viewOffset, (a, b) => { sets.union(a, b); });

  // Components with two keypoints of one view are inconsistent.
  const rootOf = new Int32Array(numNodes);
  for (let node = 0; node < numNodes; node++) rootOf[node] = sets.find(node);
  const inconsistent = findInconsistentRoots(rootOf, viewOfNode, sets.size);

  let finalRoot = rootOf;
  if (inconsistent.size > 0) {
    const greedy = rebuildInconsistent(pairs, viewOffset, viewOfNode, rootOf, inconsistent);
    finalRoot = new Int32Array(numNodes);
    for (let node = 0; node < numNodes; node++) {
      finalRoot[node] = inconsistent.has(rootOf[node]!) ? greedy.find(node) : rootOf[node]!;
    }
  }
  return collectTracks(finalRoot, viewOffset, viewOfNode, numViews, minLength);
}

/**
 * Greedy rebuild of the inconsistent components. Edges are replayed most trusted first: by the number of
 * triangles they close (a true match of a point seen in several views is confirmed by the other views' matches,
 * a random wrong match almost never is), then by the strength of their pair. A union is skipped when it would
 * put two keypoints of one view in one track, or when an unconfirmed edge (no triangle) would join two
 * tracks that already have several observations each: that is the signature of a wrong match bridging two points.
 */
function rebuildInconsistent(
  pairs: readonly VerifiedPair[], viewOffset: Uint32Array, viewOfNode: Uint32Array, rootOf: Int32Array, inconsistent: ReadonlySet<number>,
): DisjointSets {
  const edgesA: number[] = [], edgesB: number[] = [], pairStrength: number[] = [];
  const numNodes = viewOfNode.length;
  const degree = new Uint32Array(numNodes + 1);
  for (const pair of pairs) {
    const o0 = viewOffset[pair.view0]!, o1 = viewOffset[pair.view1]!;
    const matches = pair.matches;
    for (let m = 0; m < matches.length; m += 2) {
      const a = o0 + matches[m]!, b = o1 + matches[m + 1]!;
      if (!inconsistent.has(rootOf[a]!)) continue;
      edgesA.push(a); edgesB.push(b); pairStrength.push(matches.length / 2);
      degree[a + 1]!++; degree[b + 1]!++;
    }
  }
  // Adjacency of the affected nodes (CSR), then triangles per edge by marking a's neighbours.
  for (let i = 0; i < numNodes; i++) degree[i + 1]! += degree[i]!;
  const adjacency = new Uint32Array(degree[numNodes]!);
  const fill = degree.slice(0, numNodes);
  for (let e = 0; e < edgesA.length; e++) {
    adjacency[fill[edgesA[e]!]!++] = edgesB[e]!;
    adjacency[fill[edgesB[e]!]!++] = edgesA[e]!;
  }
  const mark = new Int32Array(numNodes).fill(-1);
  const support = new Int32Array(edgesA.length);
  for (let e = 0; e < edgesA.length; e++) {
    const a = edgesA[e]!, b = edgesB[e]!;
    for (let k = degree[a]!; k < degree[a + 1]!; k++) mark[adjacency[k]!] = e;
    let triangles = 0;
    for (let k = degree[b]!; k < degree[b + 1]!; k++) if (mark[adjacency[k]!] === e) triangles++;
    support[e] = triangles;
  }
  const order = Array.from({ length: edgesA.length }, (_, e) => e)
    .sort((e, f) => support[f]! - support[e]! || pairStrength[f]! - pairStrength[e]! || e - f);

  const sets = new DisjointSets(viewOfNode.length);
  const viewsOfRoot = new Map<number, Set<number>>();
  for (const e of order) {
    const ra = sets.find(edgesA[e]!), rb = sets.find(edgesB[e]!);
    if (ra === rb) continue;
    if (support[e] === 0 && sets.size[ra]! > 1 && sets.size[rb]! > 1) continue;
    const va = viewsOfRoot.get(ra) ?? new Set([viewOfNode[ra]!]);
    const vb = viewsOfRoot.get(rb) ?? new Set([viewOfNode[rb]!]);
    const [small, large] = va.size <= vb.size ? [va, vb] : [vb, va];
    let conflict = false;
    for (const v of small) if (large.has(v)) { conflict = true; break; }
    if (conflict) continue;
    for (const v of small) large.add(v);
    const root = sets.union(ra, rb);
    viewsOfRoot.delete(ra); viewsOfRoot.delete(rb);
    viewsOfRoot.set(root, large);
  }
  return sets;
}

function checkPair(pair: VerifiedPair, views: readonly SfmView[]): void {
  const { view0, view1, matches } = pair;
  if (!(view0 < views.length && view1 < views.length) || view0 === view1) {
    throw new InputError(`Verified pair (${view0}, ${view1}) refers to a missing view or matches a view with itself.`);
  }
  if (matches.length % 2 !== 0) throw new InputError(`Verified pair (${view0}, ${view1}) has an odd matches length.`);
  const n0 = views[view0]!.keypoints.length / 2, n1 = views[view1]!.keypoints.length / 2;
  for (let m = 0; m < matches.length; m += 2) {
    if (matches[m]! >= n0 || matches[m + 1]! >= n1) {
      throw new InputError(`Verified pair (${view0}, ${view1}) match ${m / 2} refers to a keypoint the view does not have.`);
    }
  }
}

function forEachEdge(pairs: readonly VerifiedPair[], viewOffset: Uint32Array, visit: (a: number, b: number) => void): void {
  for (const pair of pairs) {
    const o0 = viewOffset[pair.view0]!, o1 = viewOffset[pair.view1]!;
    const matches = pair.matches;
    for (let m = 0; m < matches.length; m += 2) visit(o0 + matches[m]!, o1 + matches[m + 1]!);
  }
}

/** Roots whose component holds two nodes of one view. */
function findInconsistentRoots(rootOf: Int32Array, viewOfNode: Uint32Array, size: Int32Array): Set<number> {
  const inconsistent = new Set<number>();
  const seen = new Map<number, Set<number>>();
  for (let node = 0; node < rootOf.length; node++) {
    const root = rootOf[node]!;
    if (size[root]! < 2) continue;
    let viewsSeen = seen.get(root);
    if (viewsSeen === undefined) { viewsSeen = new Set(); seen.set(root, viewsSeen); }
    const v = viewOfNode[node]!;
    if (viewsSeen.has(v)) inconsistent.add(root);
    else viewsSeen.add(v);
  }
  return inconsistent;
}

/** Numbers the components with at least `minLength` nodes in order of their first node, and lists them (CSR). */
function collectTracks(root: Int32Array, viewOffset: Uint32Array, viewOfNode: Uint32Array, numViews: number, minLength: number): Tracks {
  const numNodes = root.length;
  const sizeOfRoot = new Int32Array(numNodes);
  for (let node = 0; node < numNodes; node++) sizeOfRoot[root[node]!]!++;
  const trackOfRoot = new Int32Array(numNodes).fill(-1);
  let count = 0;
  for (let node = 0; node < numNodes; node++) {
    const r = root[node]!;
    if (sizeOfRoot[r]! >= minLength && trackOfRoot[r] === -1) trackOfRoot[r] = count++;
  }
  const trackStart = new Uint32Array(count + 1);
  for (let node = 0; node < numNodes; node++) {
    const t = trackOfRoot[root[node]!]!;
    if (t >= 0) trackStart[t + 1]!++;
  }
  for (let t = 0; t < count; t++) trackStart[t + 1]! += trackStart[t]!;
  const total = trackStart[count]!;
  const trackViews = new Uint32Array(total), trackKeypoints = new Uint32Array(total);
  const fill = trackStart.slice(0, count);
  const keypointTrack: Int32Array[] = [];
  for (let v = 0; v < numViews; v++) keypointTrack.push(new Int32Array(viewOffset[v + 1]! - viewOffset[v]!).fill(-1));
  // Nodes are visited view by view, so each track lists its observations in view order.
  for (let node = 0; node < numNodes; node++) {
    const t = trackOfRoot[root[node]!]!;
    if (t < 0) continue;
    const v = viewOfNode[node]!, k = node - viewOffset[v]!;
    const slot = fill[t]!++;
    trackViews[slot] = v;
    trackKeypoints[slot] = k;
    keypointTrack[v]![k] = t;
  }
  return { count, trackStart, trackViews, trackKeypoints, keypointTrack };
}
