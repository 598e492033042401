/**
 * In-between Gaussian sets for 4D sequences (L4GM renders 2 frames between each pair of its keyframes; here they
 * are built from the two neighbouring sets). Given set A (frame t), set B (frame t+1) and a correspondence
 * matchAtoB (index into B per Gaussian of A, -1 none), the set at fraction s in [0, 1] holds:
 * - each matched pair, interpolated: position and colour linearly, scales log-linearly (a^(1-s) b^s, so a Gaussian
 *   that doubles in size grows by the same factor in each step), rotation by shortest-path slerp, opacity linearly;
 * - each unmatched Gaussian of A fading out (opacity * (1 - s)), then each Gaussian of B that no Gaussian of A
 *   matched fading in (opacity * s), at its own place.
 * Correspondences: `correspondPixels` (pixel-aligned identity from the sets' source pixels, optionally moved by
 * optical flow) and `correspondNearest` (nearest neighbour in position and colour through a uniform grid).
 */
import { InputError } from '../core/errors.ts';
import { createGaussianSet, type GaussianSemantics, type GaussianSet } from '../core/gaussians.ts';

/** Dense optical flow from A's image to B's: (dx, dy) in pixels per pixel, row-major, interleaved (2 * width * height). */
export interface PixelFlow {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export interface PixelCorrespondenceOptions {
  /** Flow from A's frame to B's; without it a Gaussian matches the one from the same pixel. */
  readonly flow?: PixelFlow;
  /** B's sampling stride (from-depth `stride`): flow targets snap to the nearest sampled pixel. Default 1. */
  readonly stride?: number;
}

/**
 * Matches Gaussians by source pixel (e.g. from-depth `pixelIndices`): A's Gaussian from pixel p matches B's from
 * pixel p, or, with flow, from the (sampled) pixel nearest p + flow(p). -1 where B has no Gaussian there or the
 * flow leaves the image.
 */
export function correspondPixels(aPixels: Int32Array, bPixels: Int32Array, options: PixelCorrespondenceOptions = {}): Int32Array {
  const flow = options.flow;
  const stride = options.stride ?? 1;
  if (!(Number.isInteger(stride) && stride >= 1)) throw new InputError(`stride (${stride}) must be a positive integer.`);
  if (flow !== undefined && flow.data.length !== flow.width * flow.height * 2) {
    throw new InputError(`Flow data length (${flow.data.length}) does not match 2*width*height (2*${flow.width}*${flow.height}).`);
  }
  let size = flow !== undefined ? flow.width * flow.height : 0;
  for (const p of bPixels) if (p + 1 > size) size = p + 1;
  if (flow !== undefined && size > flow.width * flow.height) throw new InputError(`A pixel index of B (${size - 1}) is outside the flow's ${flow.width}x${flow.height} image.`);
  const gaussianAt = new Int32Array(size).fill(-1);
  for (let j = 0; j < bPixels.length; j++) {
    const p = bPixels[j]!;
    if (!(p >= 0)) throw new InputError(`B's pixel index ${p} is negative.`);
    if (gaussianAt[p] === -1) gaussianAt[p] = j;
  }
  const match = new Int32Array(aPixels.length).fill(-1);
  for (let i = 0; i < aPixels.length; i++) {
    const p = aPixels[i]!;
    if (flow === undefined) {
      if (p >= 0 && p < size) match[i] = gaussianAt[p]!;
      continue;
    }
    if (!(p >= 0 && p < flow.width * flow.height)) throw new InputError(`A's pixel index ${p} is outside the flow's ${flow.width}x${flow.height} image.`);
    const u = (p % flow.width) + flow.data[p * 2]!, v = Math.floor(p / flow.width) + flow.data[p * 2 + 1]!;
    const su = Math.round(u / stride) * stride, sv = Math.round(v / stride) * stride;
    if (su >= 0 && su < flow.width && sv >= 0 && sv < flow.height) match[i] = gaussianAt[sv * flow.width + su]!;
  }
  return match;
}

export interface NearestOptions {
  /** Largest accepted distance sqrt(|dp|^2 + (colorWeight |dc|)^2), in position units. */
  readonly maxDistance: number;
  /** Position units per unit of RGB (0..1) difference. Default 0: position only. */
  readonly colorWeight?: number;
  /** Keep only pairs that are each other's nearest (one-to-one). Default false. */
  readonly mutual?: boolean;
}

/**
 * For each Gaussian of A, the nearest Gaussian of B in position + weighted colour within maxDistance (-1 none;
 * ties: the lower index). B is binned in a uniform grid of cell maxDistance, so only the 27 cells around a query
 * are searched, which is exact since the position distance never exceeds the combined one.
 */
export function correspondNearest(a: GaussianSet, b: GaussianSet, options: NearestOptions): Int32Array {
  const { maxDistance } = options;
  if (!(maxDistance > 0 && maxDistance < Infinity)) throw new InputError(`maxDistance (${maxDistance}) must be a positive finite number.`);
  const colorWeight = options.colorWeight ?? 0;
  if (!(colorWeight >= 0 && colorWeight < Infinity)) throw new InputError(`colorWeight (${colorWeight}) must be a non-negative finite number.`);
  if (a.frame !== b.frame) throw new InputError(`Sets are in different frames ('${a.frame}' and '${b.frame}').`);
  const forward = nearestInGrid(a, b, maxDistance, colorWeight);
  if (options.mutual !== true) return forward;
  const backward = nearestInGrid(b, a, maxDistance, colorWeight);
  for (let i = 0; i < forward.length; i++) if (forward[i]! >= 0 && backward[forward[i]!] !== i) forward[i] = -1;
  return forward;
}

/** Uniform grid over `points` (cell side `cell`): cell of each point via an open-addressing table, points by cell. */
interface Grid {
  readonly cell: number;
  readonly min: readonly number[];
  readonly dims: readonly number[];
  readonly mask: number;
  readonly tableKey: Float64Array;
  readonly tableBucket: Int32Array;
  /** Points of bucket k: items[start[k] .. start[k + 1]). */
  readonly start: Int32Array;
  readonly items: Int32Array;
}

function hashCell(ix: number, iy: number, iz: number, mask: number): number {
  return (Math.imul(ix, 73856093) ^ Math.imul(iy, 19349663) ^ Math.imul(iz, 83492791)) & mask;
}

function buildGrid(positions: Float32Array, count: number, cell: number): Grid {
  const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(positions[i * 3]! + positions[i * 3 + 1]! + positions[i * 3 + 2]!)) continue;
    for (let a = 0; a < 3; a++) {
      const c = Math.floor(positions[i * 3 + a]! / cell);
      if (c < min[a]!) min[a] = c;
      if (c > max[a]!) max[a] = c;
    }
  }
  const dims = [0, 1, 2].map((a) => (max[a]! >= min[a]! ? max[a]! - min[a]! + 1 : 0));
  if (!(dims[0]! * dims[1]! * dims[2]! <= Number.MAX_SAFE_INTEGER)) {
    throw new InputError(`maxDistance ${cell} is too small for the extent of the set (${dims.join(' x ')} cells); use a larger one.`);
  }
  let capacity = 16;
  while (capacity < count * 2) capacity *= 2;
  const mask = capacity - 1;
  const tableKey = new Float64Array(capacity);
  const tableBucket = new Int32Array(capacity).fill(-1);
  const bucketOf = new Int32Array(count).fill(-1);
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    const x = positions[i * 3]!, y = positions[i * 3 + 1]!, z = positions[i * 3 + 2]!;
    if (!Number.isFinite(x + y + z)) continue;
    const ix = Math.floor(x / cell) - min[0]!, iy = Math.floor(y / cell) - min[1]!, iz = Math.floor(z / cell) - min[2]!;
    const key = (iz * dims[1]! + iy) * dims[0]! + ix;
    let h = hashCell(ix, iy, iz, mask);
    while (tableBucket[h] !== -1 && tableKey[h] !== key) h = (h + 1) & mask;
    if (tableBucket[h] === -1) { tableBucket[h] = sizes.length; tableKey[h] = key; sizes.push(0); }
    bucketOf[i] = tableBucket[h]!;
    sizes[tableBucket[h]!]!++;
  }
  const start = new Int32Array(sizes.length + 1);
  for (let k = 0; k < sizes.length; k++) start[k + 1] = start[k]! + sizes[k]!;
  const fill = start.slice(0, sizes.length);
  const items = new Int32Array(start[sizes.length]!);
  for (let i = 0; i < count; i++) if (bucketOf[i]! >= 0) items[fill[bucketOf[i]!]!++] = i;
  return { cell, min, dims, mask, tableKey, tableBucket, start, items };
}

function nearestInGrid(a: GaussianSet, b: GaussianSet, maxDistance: number, colorWeight: number): Int32Array {
  const grid = buildGrid(b.positions, b.count, maxDistance);
  const { min, dims, mask, tableKey, tableBucket, start, items } = grid;
  const [nx, ny, nz] = dims as [number, number, number];
  const w2 = colorWeight * colorWeight;
  const limit = maxDistance * maxDistance;
  const pa = a.positions, pb = b.positions, ca = a.colors, cb = b.colors;
  const match = new Int32Array(a.count).fill(-1);
  for (let i = 0; i < a.count; i++) {
    const x = pa[i * 3]!, y = pa[i * 3 + 1]!, z = pa[i * 3 + 2]!;
    if (!Number.isFinite(x + y + z)) continue;
    const cx = Math.floor(x / maxDistance) - min[0]!, cy = Math.floor(y / maxDistance) - min[1]!, cz = Math.floor(z / maxDistance) - min[2]!;
    let best = -1, bestD = limit;
    for (let dz = -1; dz <= 1; dz++) {
      const iz = cz + dz;
      if (iz < 0 || iz >= nz) continue;
      for (let dy = -1; dy <= 1; dy++) {
        const iy = cy + dy;
        if (iy < 0 || iy >= ny) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const ix = cx + dx;
          if (ix < 0 || ix >= nx) continue;
          const key = (iz * ny + iy) * nx + ix;
          let h = hashCell(ix, iy, iz, mask);
          while (tableBucket[h] !== -1 && tableKey[h] !== key) h = (h + 1) & mask;
          const bucket = tableBucket[h]!;
          if (bucket === -1) continue;
          for (let t = start[bucket]!, end = start[bucket + 1]!; t < end; t++) {
            const j = items[t]!;
            const ex = pb[j * 3]! - x, ey = pb[j * 3 + 1]! - y, ez = pb[j * 3 + 2]! - z;
            let d = ex * ex + ey * ey + ez * ez;
            if (d > bestD) continue;
            if (w2 > 0) {
              const r = cb[j * 3]! - ca[i * 3]!, g = cb[j * 3 + 1]! - ca[i * 3 + 1]!, bl = cb[j * 3 + 2]! - ca[i * 3 + 2]!;
              d += w2 * (r * r + g * g + bl * bl);
            }
            if (d < bestD || (d === bestD && (best === -1 || j < best))) { bestD = d; best = j; }
          }
        }
      }
    }
    match[i] = best;
  }
  return match;
}

/** The fractions of `count` evenly spaced in-between frames: k / (count + 1); L4GM's 2 give 1/3 and 2/3. */
export function inBetweenFractions(count: number): number[] {
  if (!(Number.isInteger(count) && count >= 0)) throw new InputError(`In-between frame count (${count}) must be a non-negative integer.`);
  return Array.from({ length: count }, (_, k) => (k + 1) / (count + 1));
}

function checkInterpolation(a: GaussianSet, b: GaussianSet, matchAtoB: Int32Array, s: number): void {
  if (!(s >= 0 && s <= 1)) throw new InputError(`Interpolation fraction s (${s}) must be in [0, 1].`);
  if (a.frame !== b.frame) throw new InputError(`Sets are in different frames ('${a.frame}' and '${b.frame}').`);
  if (matchAtoB.length !== a.count) throw new InputError(`matchAtoB length (${matchAtoB.length}) does not match A's count (${a.count}).`);
  for (let i = 0; i < matchAtoB.length; i++) {
    const j = matchAtoB[i]!;
    if (!(j >= -1 && j < b.count)) throw new InputError(`matchAtoB[${i}] = ${j} is outside -1..${b.count - 1}.`);
  }
  const sa = a.semantics, sb = b.semantics;
  if ((sa === undefined) !== (sb === undefined) || (sa !== undefined && sb !== undefined && sa.classNames.join('\n') !== sb.classNames.join('\n'))) {
    throw new InputError('Sets A and B carry different semantics (one has none, or the class names differ); label both with the same model or neither.');
  }
}

/**
 * Writes the shortest-path slerp of the quaternions p (at s = 0) and q (at s = 1) into out at offset, unit length.
 * Nearly equal rotations use a normalised lerp, where slerp's sin(theta) would divide by ~0.
 */
export function slerpInto(p: Float32Array, pi: number, q: Float32Array, qi: number, s: number, out: Float32Array, oi: number): void {
  const pw = p[pi]!, px = p[pi + 1]!, py = p[pi + 2]!, pz = p[pi + 3]!;
  let qw = q[qi]!, qx = q[qi + 1]!, qy = q[qi + 2]!, qz = q[qi + 3]!;
  let dot = pw * qw + px * qx + py * qy + pz * qz;
  if (dot < 0) { dot = -dot; qw = -qw; qx = -qx; qy = -qy; qz = -qz; }
  const np = Math.hypot(pw, px, py, pz), nq = Math.hypot(qw, qx, qy, qz);
  const cos = dot / (np * nq);
  let wp: number, wq: number;
  if (cos > 0.9995) {
    wp = (1 - s) / np; wq = s / nq;
  } else {
    const theta = Math.acos(cos), sin = Math.sin(theta);
    wp = Math.sin((1 - s) * theta) / sin / np; wq = Math.sin(s * theta) / sin / nq;
  }
  const w = wp * pw + wq * qw, x = wp * px + wq * qx, y = wp * py + wq * qy, z = wp * pz + wq * qz;
  const n = Math.hypot(w, x, y, z);
  out[oi] = w / n; out[oi + 1] = x / n; out[oi + 2] = y / n; out[oi + 3] = z / n;
}

/** The in-between set at fraction s (see the file header): A's Gaussians in order, then B's unmatched ones. */
export function interpolateGaussians(a: GaussianSet, b: GaussianSet, matchAtoB: Int32Array, s: number): GaussianSet {
  checkInterpolation(a, b, matchAtoB, s);
  const matched = new Uint8Array(b.count);
  for (let i = 0; i < a.count; i++) if (matchAtoB[i]! >= 0) matched[matchAtoB[i]!] = 1;
  let fadeIn = 0;
  for (let j = 0; j < b.count; j++) if (matched[j] === 0) fadeIn++;
  const n = a.count + fadeIn;
  const positions = new Float32Array(n * 3), scales = new Float32Array(n * 3), rotations = new Float32Array(n * 4);
  const opacities = new Float32Array(n), colors = new Float32Array(n * 3);
  const sa = a.semantics, sb = b.semantics;
  const labels = sa !== undefined ? new Uint16Array(n) : undefined;
  const dims = sa?.features !== undefined && sb?.features?.dims === sa.features.dims ? sa.features.dims : 0;
  const features = dims > 0 ? new Float32Array(n * dims) : undefined;
  const r = 1 - s;

  for (let i = 0; i < a.count; i++) {
    const j = matchAtoB[i]!;
    const i3 = i * 3;
    if (j < 0) {
      copyGaussian(a, i, i, positions, scales, rotations, colors);
      opacities[i] = a.opacities[i]! * r;
      if (labels !== undefined) labels[i] = sa!.labels[i]!;
      if (features !== undefined) features.set(sa!.features!.data.subarray(i * dims, (i + 1) * dims), i * dims);
      continue;
    }
    const j3 = j * 3;
    for (let c = 0; c < 3; c++) {
      positions[i3 + c] = r * a.positions[i3 + c]! + s * b.positions[j3 + c]!;
      colors[i3 + c] = r * a.colors[i3 + c]! + s * b.colors[j3 + c]!;
      const x = a.scales[i3 + c]!, y = b.scales[j3 + c]!;
      scales[i3 + c] = x > 0 && y > 0 ? Math.exp(r * Math.log(x) + s * Math.log(y)) : r * x + s * y;
    }
    slerpInto(a.rotations, i * 4, b.rotations, j * 4, s, rotations, i * 4);
    opacities[i] = r * a.opacities[i]! + s * b.opacities[j]!;
    // A label cannot be blended: the nearer frame's.
    if (labels !== undefined) labels[i] = s < 0.5 ? sa!.labels[i]! : sb!.labels[j]!;
    if (features !== undefined) {
      const fa = sa!.features!.data, fb = sb!.features!.data;
      for (let d = 0; d < dims; d++) features[i * dims + d] = r * fa[i * dims + d]! + s * fb[j * dims + d]!;
    }
  }
  for (let j = 0, k = a.count; j < b.count; j++) {
    if (matched[j] === 1) continue;
    copyGaussian(b, j, k, positions, scales, rotations, colors);
    opacities[k] = b.opacities[j]! * s;
    if (labels !== undefined) labels[k] = sb!.labels[j]!;
    if (features !== undefined) features.set(sb!.features!.data.subarray(j * dims, (j + 1) * dims), k * dims);
    k++;
  }
  let semantics: GaussianSemantics | undefined;
  if (labels !== undefined) semantics = { labels, classNames: sa!.classNames, ...(features !== undefined ? { features: { dims, data: features } } : {}) };
  return createGaussianSet({ count: n, frame: a.frame, positions, scales, rotations, opacities, colors, ...(semantics !== undefined ? { semantics } : {}) });
}

function copyGaussian(set: GaussianSet, from: number, to: number, positions: Float32Array, scales: Float32Array, rotations: Float32Array, colors: Float32Array): void {
  for (let c = 0; c < 3; c++) {
    positions[to * 3 + c] = set.positions[from * 3 + c]!;
    scales[to * 3 + c] = set.scales[from * 3 + c]!;
    colors[to * 3 + c] = set.colors[from * 3 + c]!;
  }
  for (let c = 0; c < 4; c++) rotations[to * 4 + c] = set.rotations[from * 4 + c]!;
}
