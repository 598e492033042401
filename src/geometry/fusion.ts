/**
 * Many views' world-frame point maps -> one point cloud, the way DA3 builds its scene (utils/export/glb.py), plus
 * two optional clean-ups it does not have:
 * 1. confidence filter: keep points whose confidence is at or above the given percentile of all views' valid
 *    confidences together (numpy's linear-interpolation percentile; DA3 default 40). Views without confidence
 *    are kept whole and take no part in the percentile. (DA3 additionally clamps an absolute threshold of 1.05
 *    between the 40th and 90th percentile; with DA3's confidences >= 1 that clamp is the 40th percentile.)
 * 2. multi-view depth consistency (optional): a point of view i is projected into every other view j; it agrees
 *    with j when it lands inside j's image in front of the camera and its z in j's camera is within a relative
 *    tolerance of j's depth at the nearest pixel. Points with fewer than `minAgreeingViews` agreeing views go.
 *    Points no other view sees go too, so this suits overlapping captures.
 * 3. voxel grid (optional): points are binned into cubes of side s with boundaries at integer multiples of s (world
 *    origin), and each occupied voxel becomes one point at the mean position and mean colour (rounded) of its points.
 *    s is explicit, or a fraction of the scene extent (the diagonal of the 5th-95th percentile box, as DA3 measures
 *    scene scale).
 * 4. cap: above `maxPoints` (DA3 default 1M) a seeded uniform random subset is kept, in input order.
 * Output order is deterministic: views in order, pixels row-major; voxels in order of their first point.
 */
import type { Camera } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { selectKth } from '../core/stats.ts';
import type { Image } from '../core/image.ts';
import { createPointCloud, type PointCloud, type PointMap } from '../core/points.ts';
import { createRng } from './random.ts';

export interface FusionView {
  /** World-frame points (NaN = invalid). */
  readonly pointMap: PointMap;
  /** Colours of the same pixels: uint8 RGB or RGBA (alpha ignored), same size as the point map. */
  readonly colors?: Image<Uint8Array>;
  /** Per-pixel confidence, larger = better (width*height). */
  readonly confidence?: Float32Array;
  /** The view's camera, intrinsics for the point map's size: needed by the consistency filter. */
  readonly camera?: Camera;
  /** The view's z-depth (width*height, NaN/<= 0 invalid): what other views' points are checked against. */
  readonly depth?: Float32Array;
}

export interface DepthConsistencyOptions {
  /** Agreement when |z - D_j| <= relativeTolerance * D_j. Default 0.05. */
  readonly relativeTolerance?: number;
  /** A point is kept when at least this many other views agree with it. Default 1. */
  readonly minAgreeingViews?: number;
}

/** Voxel side in world units, or as a fraction of the scene extent (5th-95th percentile box diagonal). */
export type VoxelGridSpec = { readonly size: number } | { readonly fractionOfExtent: number };

export interface FusionOptions {
  /** Keep confidences >= this percentile (0..100) of all views' confidences; 0 keeps all. Default 40 (DA3). */
  readonly confidencePercentile?: number;
  /** Multi-view depth consistency filter; off when absent. */
  readonly consistency?: DepthConsistencyOptions;
  /** Voxel-grid averaging; off when absent. */
  readonly voxel?: VoxelGridSpec;
  /** At most this many points (seeded random subset above it). Default 1,000,000 (DA3). */
  readonly maxPoints?: number;
  /** Seed of the cap's subsample. Default 0. */
  readonly seed?: number;
}

export interface FusionStats {
  /** Finite points over all views. */
  readonly validPoints: number;
  readonly afterConfidence: number;
  readonly afterConsistency: number;
  readonly afterVoxel: number;
  readonly output: number;
  /** The confidence threshold applied, when one was. */
  readonly confidenceThreshold?: number;
  /** The voxel side used, when voxels were. */
  readonly voxelSize?: number;
}

export interface FusionResult {
  readonly cloud: PointCloud;
  readonly stats: FusionStats;
}

export const DA3_CONFIDENCE_PERCENTILE = 40;
export const DA3_MAX_POINTS = 1_000_000;
const DEFAULT_RELATIVE_TOLERANCE = 0.05;

/** Points gathered from the views: positions (the inputs' float32 values) and colours. */
interface Gathered {
  readonly count: number;
  readonly positions: Float32Array;
  readonly colors: Uint8Array | undefined;
}

function checkViews(views: readonly FusionView[], options: FusionOptions): void {
  views.forEach((view, k) => {
    const { width, height } = view.pointMap;
    const n = width * height;
    if (view.pointMap.frame !== 'world') throw new InputError(`View ${k}: fusion needs world-frame point maps, got '${view.pointMap.frame}'.`);
    if (view.confidence !== undefined && view.confidence.length !== n) {
      throw new InputError(`View ${k}: confidence length (${view.confidence.length}) does not match the point map (${width}x${height}).`);
    }
    if (view.colors !== undefined && (view.colors.width !== width || view.colors.height !== height || view.colors.channels < 3)) {
      throw new InputError(`View ${k}: colours must be an RGB(A) image of ${width}x${height}, got ${view.colors.width}x${view.colors.height}x${view.colors.channels}.`);
    }
    if (options.consistency !== undefined) {
      if (view.camera === undefined || view.depth === undefined) throw new InputError(`View ${k}: the consistency filter needs each view's camera and depth.`);
      if (view.depth.length !== n) throw new InputError(`View ${k}: depth length (${view.depth.length}) does not match the point map (${width}x${height}).`);
      if (view.camera.intrinsics.width !== width || view.camera.intrinsics.height !== height) {
        throw new InputError(`View ${k}: camera intrinsics are for ${view.camera.intrinsics.width}x${view.camera.intrinsics.height}, the point map is ${width}x${height}.`);
      }
    }
  });
  const p = options.confidencePercentile ?? DA3_CONFIDENCE_PERCENTILE;
  if (!(p >= 0 && p < 100)) throw new InputError(`confidencePercentile (${p}) must be in [0, 100).`);
  const maxPoints = options.maxPoints ?? DA3_MAX_POINTS;
  if (!(Number.isInteger(maxPoints) && maxPoints >= 0)) throw new InputError(`maxPoints (${maxPoints}) must be a non-negative integer.`);
  const c = options.consistency;
  if (c !== undefined) {
    const tol = c.relativeTolerance ?? DEFAULT_RELATIVE_TOLERANCE;
    if (!(tol > 0 && tol < Infinity)) throw new InputError(`relativeTolerance (${tol}) must be a positive number.`);
    const k = c.minAgreeingViews ?? 1;
    if (!(Number.isInteger(k) && k >= 1)) throw new InputError(`minAgreeingViews (${k}) must be a positive integer.`);
  }
  const voxel = options.voxel;
  if (voxel !== undefined) {
    const value = 'size' in voxel ? voxel.size : voxel.fractionOfExtent;
    if (!(value > 0 && value < Infinity)) throw new InputError(`Voxel ${'size' in voxel ? 'size' : 'fractionOfExtent'} (${value}) must be a positive number.`);
  }
}

/**
 * numpy.percentile (linear interpolation) of the values, which it reorders (selection, not a full sort: V8's
 * typed-array sort takes seconds on millions of values, selection tens of milliseconds).
 */
export function percentileLinear(values: Float32Array | Float64Array, percentile: number): number {
  if (values.length === 0) return NaN;
  const rank = (percentile / 100) * (values.length - 1);
  const lo = Math.floor(rank);
  const low = selectKth(values, lo);
  if (lo + 1 >= values.length || rank === lo) return low;
  // After selection everything right of lo is >= values[lo]: the next order statistic is their minimum.
  let high = Infinity;
  for (let i = lo + 1; i < values.length; i++) if (values[i]! < high) high = values[i]!;
  return low + (rank - lo) * (high - low);
}

/** The joint confidence threshold over views that have confidence (undefined when none applies). */
function confidenceThreshold(views: readonly FusionView[], percentile: number): number | undefined {
  if (percentile === 0) return undefined;
  const capacity = views.reduce((sum, view) => sum + (view.confidence !== undefined ? view.confidence.length : 0), 0);
  const values = new Float32Array(capacity);
  let count = 0;
  for (const view of views) {
    const confidence = view.confidence;
    if (confidence === undefined) continue;
    const points = view.pointMap.points;
    for (let i = 0; i < confidence.length; i++) {
      const c = confidence[i]!;
      if (Number.isFinite(c + points[i * 3]! + points[i * 3 + 1]! + points[i * 3 + 2]!)) values[count++] = c;
    }
  }
  return count === 0 ? undefined : percentileLinear(values.subarray(0, count), percentile);
}

/** Per view, the camera-from-world rotation and translation and the intrinsics, for projecting world points. */
interface Projector {
  readonly r: Float64Array;
  readonly t: Float64Array;
  readonly fx: number;
  readonly fy: number;
  readonly cx: number;
  readonly cy: number;
  readonly width: number;
  readonly height: number;
  readonly depth: Float32Array;
}

function projectorOf(view: FusionView): Projector {
  const m = view.camera!.worldFromCamera;
  // R_cw = R_wc^T, t_cw = -R_wc^T C.
  const r = Float64Array.of(m[0]!, m[4]!, m[8]!, m[1]!, m[5]!, m[9]!, m[2]!, m[6]!, m[10]!);
  const c = [m[3]!, m[7]!, m[11]!];
  const t = Float64Array.of(
    -(r[0]! * c[0]! + r[1]! * c[1]! + r[2]! * c[2]!),
    -(r[3]! * c[0]! + r[4]! * c[1]! + r[5]! * c[2]!),
    -(r[6]! * c[0]! + r[7]! * c[1]! + r[8]! * c[2]!),
  );
  const k = view.camera!.intrinsics;
  return { r, t, fx: k.fxPx, fy: k.fyPx, cx: k.cxPx, cy: k.cyPx, width: k.width, height: k.height, depth: view.depth! };
}

/** How many views other than `self` agree with the world point (stops counting at `enough`). */
function agreeingViews(projectors: readonly Projector[], self: number, x: number, y: number, z: number, tolerance: number, enough: number): number {
  let agree = 0;
  for (let j = 0; j < projectors.length && agree < enough; j++) {
    if (j === self) continue;
    const p = projectors[j]!;
    const r = p.r;
    const zc = r[6]! * x + r[7]! * y + r[8]! * z + p.t[2]!;
    if (!(zc > 0)) continue;
    const xc = r[0]! * x + r[1]! * y + r[2]! * z + p.t[0]!;
    const yc = r[3]! * x + r[4]! * y + r[5]! * z + p.t[1]!;
    const u = Math.round((p.fx * xc) / zc + p.cx);
    const v = Math.round((p.fy * yc) / zc + p.cy);
    if (!(u >= 0 && u < p.width && v >= 0 && v < p.height)) continue;
    const d = p.depth[v * p.width + u]!;
    if (d > 0 && Math.abs(zc - d) <= tolerance * d) agree++;
  }
  return agree;
}

/** Steps 1 and 2: the points that pass the confidence and consistency filters, with their colours. */
function gatherFiltered(views: readonly FusionView[], threshold: number | undefined, options: FusionOptions): { gathered: Gathered; valid: number; afterConfidence: number } {
  const withColors = views.length > 0 && views.every((view) => view.colors !== undefined);
  const total = views.reduce((s, view) => s + view.pointMap.width * view.pointMap.height, 0);
  const positions = new Float32Array(total * 3);
  const colors = withColors ? new Uint8Array(total * 3) : undefined;
  const consistency = options.consistency;
  const projectors = consistency !== undefined ? views.map(projectorOf) : [];
  const tolerance = consistency?.relativeTolerance ?? DEFAULT_RELATIVE_TOLERANCE;
  const needed = consistency?.minAgreeingViews ?? 1;
  let valid = 0, afterConfidence = 0, count = 0;
  for (let k = 0; k < views.length; k++) {
    const view = views[k]!;
    const points = view.pointMap.points;
    const confidence = threshold !== undefined ? view.confidence : undefined;
    const n = view.pointMap.width * view.pointMap.height;
    for (let i = 0; i < n; i++) {
      const x = points[i * 3]!, y = points[i * 3 + 1]!, z = points[i * 3 + 2]!;
      if (!Number.isFinite(x + y + z)) continue;
      valid++;
      if (confidence !== undefined && !(confidence[i]! >= threshold!)) continue;
      afterConfidence++;
      if (consistency !== undefined && agreeingViews(projectors, k, x, y, z, tolerance, needed) < needed) continue;
      positions[count * 3] = x;
      positions[count * 3 + 1] = y;
      positions[count * 3 + 2] = z;
      if (colors !== undefined) {
        const image = view.colors!;
        const base = i * image.channels;
        colors[count * 3] = image.data[base]!;
        colors[count * 3 + 1] = image.data[base + 1]!;
        colors[count * 3 + 2] = image.data[base + 2]!;
      }
      count++;
    }
  }
  return { gathered: { count, positions, colors }, valid, afterConfidence };
}

/** Side of the voxels: explicit, or a fraction of the 5th-95th percentile box diagonal of the points. */
function voxelSizeFor(spec: VoxelGridSpec, g: Gathered): number {
  if ('size' in spec) return spec.size;
  const axis = new Float32Array(g.count);
  let diagonal2 = 0;
  for (let a = 0; a < 3; a++) {
    for (let k = 0; k < g.count; k++) axis[k] = g.positions[k * 3 + a]!;
    const lo = percentileLinear(axis, 5);
    const hi = percentileLinear(axis, 95);
    diagonal2 += (hi - lo) ** 2;
  }
  return Math.sqrt(diagonal2) * spec.fractionOfExtent;
}

/** Step 3: one point per occupied voxel at the mean position and mean colour, in order of first appearance. */
function voxelAverage(g: Gathered, size: number): Gathered {
  if (g.count === 0 || !(size > 0)) return g;
  // Cell indices are recomputed in the second pass rather than stored (3 doubles per point).
  const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
  for (let k = 0; k < g.count; k++) {
    for (let a = 0; a < 3; a++) {
      const c = Math.floor(g.positions[k * 3 + a]! / size);
      if (c < min[a]!) min[a] = c;
      if (c > max[a]!) max[a] = c;
    }
  }
  const nx = max[0]! - min[0]! + 1, ny = max[1]! - min[1]! + 1, nz = max[2]! - min[2]! + 1;
  if (nx * ny * nz > Number.MAX_SAFE_INTEGER) {
    throw new InputError(`Voxel size ${size} is too small for the scene extent (${nx} x ${ny} x ${nz} cells); use a larger voxel.`);
  }
  // Open addressing on typed arrays (a Map with keys beyond 2^31 is ~10x slower): slot of each occupied voxel.
  let capacity = 16;
  while (capacity < g.count * 2) capacity *= 2;
  const mask = capacity - 1;
  const tableKey = new Float64Array(capacity);
  const tableSlot = new Int32Array(capacity).fill(-1);
  const sums = new Float64Array(g.count * 3);
  const colorSums = g.colors !== undefined ? new Float64Array(g.count * 3) : undefined;
  const counts = new Uint32Array(g.count);
  let slots = 0;
  for (let k = 0; k < g.count; k++) {
    const ix = Math.floor(g.positions[k * 3]! / size) - min[0]!;
    const iy = Math.floor(g.positions[k * 3 + 1]! / size) - min[1]!;
    const iz = Math.floor(g.positions[k * 3 + 2]! / size) - min[2]!;
    const key = (iz * ny + iy) * nx + ix;
    let h = (Math.imul(ix | 0, 73856093) ^ Math.imul(iy | 0, 19349663) ^ Math.imul(iz | 0, 83492791)) & mask;
    while (tableSlot[h] !== -1 && tableKey[h] !== key) h = (h + 1) & mask;
    let slot = tableSlot[h]!;
    if (slot === -1) {
      slot = slots++;
      tableSlot[h] = slot;
      tableKey[h] = key;
    }
    counts[slot]!++;
    for (let a = 0; a < 3; a++) {
      sums[slot * 3 + a]! += g.positions[k * 3 + a]!;
      if (colorSums !== undefined) colorSums[slot * 3 + a]! += g.colors![k * 3 + a]!;
    }
  }
  // Means in float64, rounded once to float32.
  const positions = new Float32Array(slots * 3);
  const colors = colorSums !== undefined ? new Uint8Array(slots * 3) : undefined;
  for (let s = 0; s < slots; s++) {
    for (let a = 0; a < 3; a++) {
      positions[s * 3 + a] = sums[s * 3 + a]! / counts[s]!;
      if (colors !== undefined) colors[s * 3 + a] = Math.round(colorSums![s * 3 + a]! / counts[s]!);
    }
  }
  return { count: slots, positions, colors };
}

/** Step 4: a seeded uniform subset of `maxPoints` indices, ascending (so the input order is kept). */
export function seededSubset(count: number, maxPoints: number, seed: number): Uint32Array {
  const all = new Uint32Array(count);
  for (let i = 0; i < count; i++) all[i] = i;
  if (count <= maxPoints) return all;
  // Partial Fisher-Yates picks a uniform subset; a mark-and-scan puts it back in ascending order.
  const rng = createRng(seed);
  for (let k = 0; k < maxPoints; k++) {
    const j = k + rng.nextInt(count - k);
    const tmp = all[k]!;
    all[k] = all[j]!;
    all[j] = tmp;
  }
  const chosen = new Uint8Array(count);
  for (let k = 0; k < maxPoints; k++) chosen[all[k]!] = 1;
  const out = new Uint32Array(maxPoints);
  for (let i = 0, j = 0; i < count; i++) if (chosen[i] === 1) out[j++] = i;
  return out;
}

/** Fuses views into one world-frame point cloud (see the file header for the steps and their defaults). */
export function fusePointClouds(views: readonly FusionView[], options: FusionOptions = {}): FusionResult {
  checkViews(views, options);
  const threshold = confidenceThreshold(views, options.confidencePercentile ?? DA3_CONFIDENCE_PERCENTILE);
  const { gathered, valid, afterConfidence } = gatherFiltered(views, threshold, options);
  const afterConsistency = gathered.count;
  const voxelSize = options.voxel !== undefined ? voxelSizeFor(options.voxel, gathered) : undefined;
  const voxelised = voxelSize !== undefined ? voxelAverage(gathered, voxelSize) : gathered;
  const keep = seededSubset(voxelised.count, options.maxPoints ?? DA3_MAX_POINTS, options.seed ?? 0);
  const positions = new Float32Array(keep.length * 3);
  const colors = voxelised.colors !== undefined ? new Uint8Array(keep.length * 3) : undefined;
  for (let k = 0; k < keep.length; k++) {
    const i = keep[k]!;
    for (let a = 0; a < 3; a++) {
      positions[k * 3 + a] = voxelised.positions[i * 3 + a]!;
      if (colors !== undefined) colors[k * 3 + a] = voxelised.colors![i * 3 + a]!;
    }
  }
  const cloud = createPointCloud(colors !== undefined
    ? { numPoints: keep.length, frame: 'world', positions, colors }
    : { numPoints: keep.length, frame: 'world', positions });
  return {
    cloud,
    stats: {
      validPoints: valid,
      afterConfidence,
      afterConsistency,
      afterVoxel: voxelised.count,
      output: keep.length,
      ...(threshold !== undefined ? { confidenceThreshold: threshold } : {}),
      ...(voxelSize !== undefined ? { voxelSize } : {}),
    },
  };
}
