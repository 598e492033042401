/**
 * Multi-view fusion of per-view Gaussian sets (world frame) into one set, in four steps:
 * 1. concatenate the views' Gaussians (views in order, each set in its order);
 * 2. floaters (optional, `consistency`): a Gaussian of view i is projected into every other view j that has a
 *    camera and a depth map; when it lands inside j's image in front of j's camera and nearer than j's depth at
 *    each of the (up to 4) valid pixels around the projection by more than relativeTolerance * depth, view j saw
 *    through the place where it sits, so it is a floater. Requiring all 4 keeps Gaussians that project next to a
 *    silhouette in j, where the nearest pixel may see the background (with the nearest pixel alone, 5% of an
 *    exact synthetic scene's Gaussians went). Gaussians with at least minViolations such views go (the visibility test of
 *    geometry/fusion.ts turned around: free space instead of agreement, so surfaces only one view sees stay).
 *    Each view is tested against its maxNeighbourViews nearest views by camera centre (default 16; all views
 *    for a view without a camera), which keeps the cost linear in the number of views;
 * 3. duplicates (default on): Gaussians are binned into cubes of side s (boundaries at integer multiples of s,
 *    world origin), and each occupied cube keeps the Gaussian with the smallest footprint (its largest std dev),
 *    i.e. the one seen from the closest view and so the sharpest; ties keep the earliest. s is explicit or a
 *    multiple of the median footprint (default 1.5: with from-depth's footprint factor 0.6 that is 0.9 of the
 *    median view's pixel spacing, so a view's own neighbours one pixel apart along an image axis never share a
 *    cube, while copies of the same surface point from other views do whenever they fall in the same cube). A
 *    cube grid thins the union to about one Gaussian per cube: larger cubes remove more duplicates and more
 *    detail;
 * 4. cap: above maxGaussians a seeded uniform subset is kept (geometry/fusion.ts seededSubset).
 * The output keeps the input order, and says where each Gaussian came from (view, index in that view's set).
 */
import type { Camera } from '../core/camera.ts';
import type { MetricDepthMap, RelativeDepthMap } from '../core/depth.ts';
import { InputError } from '../core/errors.ts';
import { createGaussianSet, type GaussianSemantics, type GaussianSet } from '../core/gaussians.ts';
import { selectKth } from '../core/stats.ts';
import { DA3_MAX_POINTS, seededSubset } from '../geometry/fusion.ts';

export interface MergeView {
  /** The view's Gaussians, world frame. */
  readonly gaussians: GaussianSet;
  /** The view's camera (intrinsics for the depth map's size): needed, with `depth`, to test other views' Gaussians. */
  readonly camera?: Camera;
  /** The view's z-depth (NaN / <= 0 invalid), in the units of the world frame. */
  readonly depth?: MetricDepthMap | RelativeDepthMap;
}

export interface FloaterOptions {
  /** A Gaussian is in front of view j's surface when z < (1 - relativeTolerance) * depth. Default 0.05. */
  readonly relativeTolerance?: number;
  /** Dropped when at least this many other views see through it. Default 1. */
  readonly minViolations?: number;
  /** Test against at most this many other views, the nearest by camera centre. Default 16. */
  readonly maxNeighbourViews?: number;
}

/** Cube side in world units, or as a multiple of the median footprint (largest std dev) of the Gaussians. */
export type DedupVoxel = { readonly size: number } | { readonly footprintMultiple: number };

export interface MergeOptions {
  /** Duplicate removal; default { footprintMultiple: 1.5 }; 'none' keeps every Gaussian. */
  readonly dedup?: DedupVoxel | 'none';
  /** Floater removal against other views' depth; off when absent. */
  readonly consistency?: FloaterOptions;
  /** At most this many Gaussians (seeded uniform subset above it). Default 1,000,000 (DA3's point cap). */
  readonly maxGaussians?: number;
  /** Seed of the cap's subset. Default 0. */
  readonly seed?: number;
}

export interface MergeStats {
  readonly input: number;
  readonly afterConsistency: number;
  readonly afterDedup: number;
  readonly output: number;
  /** The cube side used, when duplicates were removed. */
  readonly voxelSize?: number;
}

export interface MergedGaussians {
  readonly gaussians: GaussianSet;
  /** View of each output Gaussian. */
  readonly sourceView: Int32Array;
  /** Index of each output Gaussian in its view's set. */
  readonly sourceIndex: Int32Array;
  readonly stats: MergeStats;
}

export const DEFAULT_DEDUP_FOOTPRINT_MULTIPLE = 1.5;
const DEFAULT_RELATIVE_TOLERANCE = 0.05;
const DEFAULT_NEIGHBOUR_VIEWS = 16;

function checkViews(views: readonly MergeView[], options: MergeOptions): void {
  if (views.length === 0) throw new InputError('No views to merge.');
  views.forEach((view, k) => {
    if (view.gaussians.frame !== 'world') throw new InputError(`View ${k}: Gaussians must be in the world frame, got '${view.gaussians.frame}'.`);
    if ((view.camera === undefined) !== (view.depth === undefined)) throw new InputError(`View ${k}: camera and depth go together (one is missing).`);
    if (view.camera !== undefined && view.depth !== undefined) {
      const i = view.camera.intrinsics;
      if (i.width !== view.depth.width || i.height !== view.depth.height) {
        throw new InputError(`View ${k}: camera intrinsics are for ${i.width}x${i.height}, the depth map is ${view.depth.width}x${view.depth.height}.`);
      }
    }
  });
  const first = views[0]!.gaussians.semantics;
  for (let k = 1; k < views.length; k++) {
    const sem = views[k]!.gaussians.semantics;
    if ((sem === undefined) !== (first === undefined)
      || (sem !== undefined && first !== undefined && (sem.classNames.join('\n') !== first.classNames.join('\n') || sem.features?.dims !== first.features?.dims))) {
      throw new InputError(`View ${k}: semantics (class names, feature size) differ from view 0's; label every view with the same model or none.`);
    }
  }
  const c = options.consistency;
  if (c !== undefined) {
    const tol = c.relativeTolerance ?? DEFAULT_RELATIVE_TOLERANCE;
    if (!(tol >= 0 && tol < 1)) throw new InputError(`relativeTolerance (${tol}) must be in [0, 1).`);
    const m = c.minViolations ?? 1;
    if (!(Number.isInteger(m) && m >= 1)) throw new InputError(`minViolations (${m}) must be a positive integer.`);
    const nb = c.maxNeighbourViews ?? DEFAULT_NEIGHBOUR_VIEWS;
    if (!(Number.isInteger(nb) && nb >= 1)) throw new InputError(`maxNeighbourViews (${nb}) must be a positive integer.`);
  }
  const d = options.dedup;
  if (d !== undefined && d !== 'none') {
    const value = 'size' in d ? d.size : d.footprintMultiple;
    if (!(value > 0 && value < Infinity)) throw new InputError(`Dedup ${'size' in d ? 'size' : 'footprintMultiple'} (${value}) must be a positive number.`);
  }
  const cap = options.maxGaussians ?? DA3_MAX_POINTS;
  if (!(Number.isInteger(cap) && cap >= 0)) throw new InputError(`maxGaussians (${cap}) must be a non-negative integer.`);
}

/** Camera-from-world rotation (row-major), translation and intrinsics of a view, for projecting world points. */
interface Projector {
  readonly view: number;
  readonly r: Float64Array;
  readonly t: Float64Array;
  readonly fx: number; readonly fy: number; readonly cx: number; readonly cy: number;
  readonly width: number; readonly height: number;
  readonly depth: Float32Array;
}

function projectorOf(camera: Camera, depth: Float32Array, view: number): Projector {
  const m = camera.worldFromCamera;
  // R_cw = R_wc^T, t_cw = -R_wc^T C.
  const r = Float64Array.of(m[0]!, m[4]!, m[8]!, m[1]!, m[5]!, m[9]!, m[2]!, m[6]!, m[10]!);
  const c0 = m[3]!, c1 = m[7]!, c2 = m[11]!;
  const t = Float64Array.of(
    -(r[0]! * c0 + r[1]! * c1 + r[2]! * c2), -(r[3]! * c0 + r[4]! * c1 + r[5]! * c2), -(r[6]! * c0 + r[7]! * c1 + r[8]! * c2));
  const k = camera.intrinsics;
  return { view, r, t, fx: k.fxPx, fy: k.fyPx, cx: k.cxPx, cy: k.cyPx, width: k.width, height: k.height, depth };
}

/** The projectors of the `limit` views nearest to view `self` by camera centre (ties: lower index), self excluded. */
function neighboursOf(views: readonly MergeView[], projectors: readonly Projector[], self: number, limit: number): Projector[] {
  const others = projectors.filter((p) => p.view !== self);
  const camera = views[self]!.camera;
  if (camera === undefined || others.length <= limit) return others;
  const centre = (k: number) => views[k]!.camera!.worldFromCamera;
  const m = camera.worldFromCamera;
  const dist = (p: Projector) => { const c = centre(p.view); return (c[3]! - m[3]!) ** 2 + (c[7]! - m[7]!) ** 2 + (c[11]! - m[11]!) ** 2; };
  return others.map((p) => ({ p, d: dist(p) })).sort((a, b) => a.d - b.d || a.p.view - b.p.view).slice(0, limit).map((e) => e.p);
}

/** How many of the projectors see through the point (stops counting at `enough`). */
function violations(projectors: readonly Projector[], x: number, y: number, z: number, keepBelow: number, enough: number): number {
  let count = 0;
  for (let j = 0; j < projectors.length && count < enough; j++) {
    const p = projectors[j]!;
    const r = p.r;
    const zc = r[6]! * x + r[7]! * y + r[8]! * z + p.t[2]!;
    if (!(zc > 0)) continue;
    const uf = (p.fx * (r[0]! * x + r[1]! * y + r[2]! * z + p.t[0]!)) / zc + p.cx;
    const vf = (p.fy * (r[3]! * x + r[4]! * y + r[5]! * z + p.t[1]!)) / zc + p.cy;
    if (!(uf > -0.5 && uf < p.width - 0.5 && vf > -0.5 && vf < p.height - 0.5)) continue;
    if (inFrontOfAll(p, Math.floor(uf), Math.floor(vf), zc, keepBelow)) count++;
  }
  return count;
}

/** True when some of the pixels (u..u+1, v..v+1) inside the image have a valid depth and zc is in front of all of them. */
function inFrontOfAll(p: Projector, u: number, v: number, zc: number, keepBelow: number): boolean {
  let seen = 0;
  for (let dv = 0; dv <= 1; dv++) {
    const y = v + dv;
    if (y < 0 || y >= p.height) continue;
    for (let du = 0; du <= 1; du++) {
      const x = u + du;
      if (x < 0 || x >= p.width) continue;
      const d = p.depth[y * p.width + x]!;
      if (!(d > 0 && d < Infinity)) continue;
      if (!(zc < keepBelow * d)) return false;
      seen++;
    }
  }
  return seen > 0;
}

/** Largest std dev of Gaussian i: its footprint. */
function footprint(scales: Float32Array, i: number): number {
  const a = scales[i * 3]!, b = scales[i * 3 + 1]!, c = scales[i * 3 + 2]!;
  return a > b ? (a > c ? a : c) : (b > c ? b : c);
}

function medianFootprint(views: readonly MergeView[], keep: Uint8Array, kept: number): number {
  const values = new Float32Array(kept);
  let n = 0, g = 0;
  for (const view of views) {
    const set = view.gaussians;
    for (let i = 0; i < set.count; i++, g++) if (keep[g] === 1) values[n++] = footprint(set.scales, i);
  }
  return selectKth(values, Math.floor((n - 1) / 2));
}

/** Step 3: clears `keep` for every Gaussian but the smallest-footprint one per occupied cube; returns the count left. */
function dedupByVoxel(views: readonly MergeView[], keep: Uint8Array, kept: number, size: number): number {
  if (kept === 0) return 0;
  const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
  let g = 0;
  for (const view of views) {
    const p = view.gaussians.positions;
    for (let i = 0; i < view.gaussians.count; i++, g++) {
      if (keep[g] !== 1) continue;
      for (let a = 0; a < 3; a++) {
        const c = Math.floor(p[i * 3 + a]! / size);
        if (c < min[a]!) min[a] = c;
        if (c > max[a]!) max[a] = c;
      }
    }
  }
  const nx = max[0]! - min[0]! + 1, ny = max[1]! - min[1]! + 1, nz = max[2]! - min[2]! + 1;
  if (!(nx * ny * nz <= Number.MAX_SAFE_INTEGER)) {
    throw new InputError(`Voxel size ${size} is too small for the scene extent (${nx} x ${ny} x ${nz} cells), or a position is not finite; use a larger voxel.`);
  }
  // Open addressing on typed arrays, keyed by the cube's linear index (exact in a double).
  let capacity = 16;
  while (capacity < kept * 2) capacity *= 2;
  const mask = capacity - 1;
  const tableKey = new Float64Array(capacity);
  const best = new Int32Array(capacity).fill(-1);
  const bestFootprint = new Float32Array(capacity);
  g = 0;
  for (const view of views) {
    const { positions: p, scales } = view.gaussians;
    for (let i = 0; i < view.gaussians.count; i++, g++) {
      if (keep[g] !== 1) continue;
      const ix = Math.floor(p[i * 3]! / size) - min[0]!;
      const iy = Math.floor(p[i * 3 + 1]! / size) - min[1]!;
      const iz = Math.floor(p[i * 3 + 2]! / size) - min[2]!;
      const key = (iz * ny + iy) * nx + ix;
      let h = (Math.imul(ix | 0, 73856093) ^ Math.imul(iy | 0, 19349663) ^ Math.imul(iz | 0, 83492791)) & mask;
      while (best[h] !== -1 && tableKey[h] !== key) h = (h + 1) & mask;
      const f = footprint(scales, i);
      if (best[h] === -1) {
        best[h] = g; tableKey[h] = key; bestFootprint[h] = f;
      } else if (f < bestFootprint[h]!) {
        keep[best[h]!] = 0; best[h] = g; bestFootprint[h] = f;
      } else {
        keep[g] = 0;
      }
    }
  }
  let left = 0;
  for (let s = 0; s < capacity; s++) if (best[s] !== -1) left++;
  return left;
}

/** Merges per-view world-frame Gaussian sets (see the file header for the steps and their defaults). */
export function mergeGaussianViews(views: readonly MergeView[], options: MergeOptions = {}): MergedGaussians {
  checkViews(views, options);
  const total = views.reduce((s, v) => s + v.gaussians.count, 0);
  const keep = new Uint8Array(total).fill(1);
  let kept = total;

  const c = options.consistency;
  if (c !== undefined) {
    const projectors = views.flatMap((v, k) => (v.camera !== undefined && v.depth !== undefined ? [projectorOf(v.camera, v.depth.data, k)] : []));
    const keepBelow = 1 - (c.relativeTolerance ?? DEFAULT_RELATIVE_TOLERANCE);
    const enough = c.minViolations ?? 1;
    const limit = c.maxNeighbourViews ?? DEFAULT_NEIGHBOUR_VIEWS;
    let g = 0;
    for (let k = 0; k < views.length; k++) {
      const p = views[k]!.gaussians.positions;
      const neighbours = neighboursOf(views, projectors, k, limit);
      for (let i = 0; i < views[k]!.gaussians.count; i++, g++) {
        if (violations(neighbours, p[i * 3]!, p[i * 3 + 1]!, p[i * 3 + 2]!, keepBelow, enough) >= enough) { keep[g] = 0; kept--; }
      }
    }
  }
  const afterConsistency = kept;

  let voxelSize: number | undefined;
  const dedup = options.dedup ?? { footprintMultiple: DEFAULT_DEDUP_FOOTPRINT_MULTIPLE };
  if (dedup !== 'none' && kept > 0) {
    voxelSize = 'size' in dedup ? dedup.size : dedup.footprintMultiple * medianFootprint(views, keep, kept);
    if (!(voxelSize > 0)) throw new InputError(`The Gaussians' median footprint is ${voxelSize / ('size' in dedup ? 1 : dedup.footprintMultiple)}: give an explicit dedup size.`);
    kept = dedupByVoxel(views, keep, kept, voxelSize);
  }
  const afterDedup = kept;

  // Step 4 over the survivors' ordinals, then the gather in input order.
  const chosen = seededSubset(kept, options.maxGaussians ?? DA3_MAX_POINTS, options.seed ?? 0);
  const n = chosen.length;
  const sourceView = new Int32Array(n), sourceIndex = new Int32Array(n);
  {
    let g = 0, ordinal = 0, out = 0;
    for (let k = 0; k < views.length && out < n; k++) {
      const count = views[k]!.gaussians.count;
      for (let i = 0; i < count && out < n; i++, g++) {
        if (keep[g] !== 1) continue;
        if (chosen[out] === ordinal) { sourceView[out] = k; sourceIndex[out] = i; out++; }
        ordinal++;
      }
    }
  }
  return {
    gaussians: gatherGaussians(views.map((v) => v.gaussians), sourceView, sourceIndex),
    sourceView, sourceIndex,
    stats: { input: total, afterConsistency, afterDedup, output: n, ...(voxelSize !== undefined ? { voxelSize } : {}) },
  };
}

/** The Gaussians (sets[sourceView[k]], sourceIndex[k]) for every k, semantics included, as one world-frame set. */
export function gatherGaussians(sets: readonly GaussianSet[], sourceView: Int32Array, sourceIndex: Int32Array): GaussianSet {
  const n = sourceView.length;
  const positions = new Float32Array(n * 3), scales = new Float32Array(n * 3), rotations = new Float32Array(n * 4);
  const opacities = new Float32Array(n), colors = new Float32Array(n * 3);
  const first = sets[0]?.semantics;
  const labels = first !== undefined ? new Uint16Array(n) : undefined;
  const dims = first?.features?.dims ?? 0;
  const features = first?.features !== undefined ? new Float32Array(n * dims) : undefined;
  for (let k = 0; k < n; k++) {
    const set = sets[sourceView[k]!]!;
    const i = sourceIndex[k]!;
    for (let a = 0; a < 3; a++) {
      positions[k * 3 + a] = set.positions[i * 3 + a]!;
      scales[k * 3 + a] = set.scales[i * 3 + a]!;
      colors[k * 3 + a] = set.colors[i * 3 + a]!;
    }
    for (let a = 0; a < 4; a++) rotations[k * 4 + a] = set.rotations[i * 4 + a]!;
    opacities[k] = set.opacities[i]!;
    if (labels !== undefined) labels[k] = set.semantics!.labels[i]!;
    if (features !== undefined) features.set(set.semantics!.features!.data.subarray(i * dims, (i + 1) * dims), k * dims);
  }
  let semantics: GaussianSemantics | undefined;
  if (first !== undefined && labels !== undefined) {
    semantics = { labels, classNames: first.classNames, ...(features !== undefined ? { features: { dims, data: features } } : {}) };
  }
  return createGaussianSet({ count: n, frame: sets[0]?.frame ?? 'world', positions, scales, rotations, opacities, colors, ...(semantics !== undefined ? { semantics } : {}) });
}
