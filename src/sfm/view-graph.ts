/**
 * View-graph filtering by rotation cycles. Two views of repeated or symmetric structure (a facade's windows,
 * the two sides of a toy) can give hundreds of matches that satisfy one epipolar geometry, with a relative
 * pose that is simply wrong. Such a pair is invisible to two-view verification, but it breaks the loops it
 * takes part in: around a triplet of views (a, b, c) the relative rotations of correct pairs compose to the
 * identity, R_a<-c R_c<-b R_b<-a = I, up to noise. As in Zach et al. 2010 ("Disambiguating visual relations
 * using loop constraints") and OpenMVG's global SfM, a pair that closes triplets is kept only when at least one
 * of them is consistent with two other kept pairs, or when no inconsistent loop blames it.
 */
import { mul3, rotationAngleDeg, transpose3, type Mat3 } from '../geometry/mat3.ts';
import { InputError } from '../core/errors.ts';
import type { VerifiedPair } from './types.ts';

export interface CycleFilterOptions {
  /** Largest rotation (degrees) around a triplet for it to count as consistent. */
  readonly maxCycleErrorDeg: number;
}

export interface CycleFilterResult {
  readonly kept: VerifiedPair[];
  /** Pairs that closed triplets, none of them consistent: likely repeated structure. */
  readonly rejected: VerifiedPair[];
}

/** Undirected edge key of two view indices. */
function edgeKey(a: number, b: number): string {
  return a < b ? `${a},${b}` : `${b},${a}`;
}

/** Rotation to view b from view a (cameraB_from_cameraA) of a pair with a relative pose. */
function rotationBetween(pair: VerifiedPair, a: number): Mat3 {
  const r = pair.pose1From0!.rotation;
  return pair.view0 === a ? r : transpose3(r);
}

/** Angle (degrees) of R_a<-c R_c<-b R_b<-a for three pairs with poses. */
export function cycleErrorDeg(ab: VerifiedPair, bc: VerifiedPair, ca: VerifiedPair, a: number, b: number, c: number): number {
  const bFromA = rotationBetween(ab, a);
  const cFromB = rotationBetween(bc, b);
  const aFromC = rotationBetween(ca, c);
  return rotationAngleDeg(mul3(aFromC, mul3(cFromB, bFromA)));
}

/** Verified matches of a pair: the evidence behind its relative pose. */
function strength(pair: VerifiedPair): number {
  return pair.matches.length / 2;
}

/**
 * Rejects the pairs that no consistent triplet confirms and that an inconsistent triplet blames. A loop that
 * does not close says one of its three pairs is wrong, not which: the blame goes to the pair with the fewest
 * matches (wrong poses come from the few matches repeated structure yields; a strong pair next to a weak wrong
 * one must survive, or a view with a single good neighbour would be cut off). Pairs without a relative pose,
 * and pairs that close no loop, cannot be checked and are kept. Weakest pairs are decided first; the sweep
 * repeats until stable, since a rejection removes the loops it took part in.
 */
export function filterPairsByRotationCycles(pairs: readonly VerifiedPair[], options: CycleFilterOptions): CycleFilterResult {
  if (!(options.maxCycleErrorDeg > 0)) throw new InputError(`maxCycleErrorDeg (${options.maxCycleErrorDeg}) must be positive.`);
  const posed = new Map<string, VerifiedPair>();
  const neighbours = new Map<number, Set<number>>();
  const link = (a: number, b: number): void => {
    let set = neighbours.get(a);
    if (set === undefined) { set = new Set(); neighbours.set(a, set); }
    set.add(b);
  };
  for (const pair of pairs) {
    if (pair.pose1From0 === undefined || pair.view0 === pair.view1) continue;
    posed.set(edgeKey(pair.view0, pair.view1), pair);
    link(pair.view0, pair.view1);
    link(pair.view1, pair.view0);
  }
  // Each posed pair's triplets: the other two pairs, whether the loop closes, and which pair it blames if not.
  interface Triplet { readonly others: readonly [string, string]; readonly consistent: boolean; readonly blamed: string }
  const triplets = new Map<string, Triplet[]>();
  for (const [key, pair] of posed) {
    const a = pair.view0, b = pair.view1;
    const list: Triplet[] = [];
    for (const c of neighbours.get(a)!) {
      if (c === b || !neighbours.get(b)!.has(c)) continue;
      const bc = edgeKey(b, c), ca = edgeKey(c, a);
      const errorDeg = cycleErrorDeg(pair, posed.get(bc)!, posed.get(ca)!, a, b, c);
      const weakest = [key, bc, ca].sort((x, y) => strength(posed.get(x)!) - strength(posed.get(y)!) || (x < y ? -1 : 1))[0]!;
      list.push({ others: [bc, ca], consistent: errorDeg <= options.maxCycleErrorDeg, blamed: weakest });
    }
    triplets.set(key, list);
  }
  const order = [...posed.keys()].sort((x, y) => strength(posed.get(x)!) - strength(posed.get(y)!) || (x < y ? -1 : 1));
  const alive = new Set(order);
  for (let changed = true; changed;) {
    changed = false;
    for (const key of order) {
      if (!alive.has(key)) continue;
      let confirmed = false, blamed = false;
      for (const t of triplets.get(key)!) {
        if (!alive.has(t.others[0]) || !alive.has(t.others[1])) continue;
        if (t.consistent) confirmed = true;
        else if (t.blamed === key) blamed = true;
      }
      if (blamed && !confirmed) { alive.delete(key); changed = true; }
    }
  }
  const kept: VerifiedPair[] = [], rejected: VerifiedPair[] = [];
  for (const pair of pairs) {
    const key = edgeKey(pair.view0, pair.view1);
    if (pair.pose1From0 !== undefined && posed.get(key) === pair && !alive.has(key)) rejected.push(pair);
    else kept.push(pair);
  }
  return { kept, rejected };
}
