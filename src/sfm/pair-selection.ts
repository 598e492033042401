/**
 * Which view pairs to match. Matching every pair costs N(N-1)/2 matcher runs; beyond a few dozen views we
 * first score all pairs cheaply (a caller-supplied similarity, e.g. mutual matches among each view's strongest
 * keypoints) and keep each view's best neighbours plus its neighbours in capture order, as COLMAP's
 * vocabulary-tree and sequential matchers do.
 */

export type PairStrategy =
  | { readonly kind: 'exhaustive' }
  /** Each view with the next `window` views in input order (video frames). */
  | { readonly kind: 'sequential'; readonly window: number }
  /** Each view with its `neighbours` most similar views, plus `sequentialWindow` views either side in input order. */
  | { readonly kind: 'retrieval'; readonly neighbours: number; readonly sequentialWindow: number };

/** Views up to this count are matched exhaustively when the caller asks for 'auto'. */
export const EXHAUSTIVE_MAX_VIEWS = 40;

export function autoPairStrategy(numViews: number): PairStrategy {
  return numViews <= EXHAUSTIVE_MAX_VIEWS ? { kind: 'exhaustive' } : { kind: 'retrieval', neighbours: 15, sequentialWindow: 2 };
}

/** Pairs (i < j) in a stable order: by i, then j. */
export type ViewPair = readonly [number, number];

function sortedUnique(keys: Set<number>, numViews: number): ViewPair[] {
  return [...keys].sort((a, b) => a - b).map((key) => [Math.floor(key / numViews), key % numViews] as const);
}

/**
 * The pairs to match. `similarity(i, j)` (symmetric, higher = more likely to overlap) is called for every
 * pair only by the retrieval strategy.
 */
export function selectPairs(numViews: number, strategy: PairStrategy, similarity?: (i: number, j: number) => number): ViewPair[] {
  const keys = new Set<number>();
  const add = (a: number, b: number): void => {
    if (a === b || a < 0 || b < 0 || a >= numViews || b >= numViews) return;
    keys.add(Math.min(a, b) * numViews + Math.max(a, b));
  };
  if (strategy.kind === 'exhaustive') {
    for (let i = 0; i < numViews; i++) for (let j = i + 1; j < numViews; j++) add(i, j);
    return sortedUnique(keys, numViews);
  }
  if (strategy.kind === 'sequential') {
    for (let i = 0; i < numViews; i++) for (let k = 1; k <= strategy.window; k++) add(i, i + k);
    return sortedUnique(keys, numViews);
  }
  if (!similarity) throw new Error('selectPairs: the retrieval strategy needs a similarity function');
  const scores = new Float64Array(numViews * numViews);
  for (let i = 0; i < numViews; i++) {
    for (let j = i + 1; j < numViews; j++) scores[i * numViews + j] = scores[j * numViews + i] = similarity(i, j);
  }
  for (let i = 0; i < numViews; i++) {
    const others = [...Array(numViews).keys()].filter((j) => j !== i);
    others.sort((a, b) => scores[i * numViews + b]! - scores[i * numViews + a]! || a - b);
    for (const j of others.slice(0, strategy.neighbours)) add(i, j);
    for (let k = 1; k <= strategy.sequentialWindow; k++) add(i, i + k);
  }
  return sortedUnique(keys, numViews);
}
