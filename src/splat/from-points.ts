/**
 * Gaussians from an unordered point cloud (e.g. the fused `points.ply` of `anyview views`, which keeps no per-view
 * depth maps): one isotropic Gaussian per point, its std dev a fraction of the local point spacing, measured as the
 * mean distance to the k nearest neighbours. Without depth maps there is no surface normal or pixel footprint to
 * shape the Gaussians (from-depth.ts makes thin, normal-aligned ones), so blobs are the honest choice.
 *
 * The k-nearest-neighbour search uses a uniform grid (counting sort into cells, rings of cells searched outwards
 * until the k-th distance is within the searched radius), O(n) cells, no per-point objects.
 */
import { InputError } from '../core/errors.ts';
import { createGaussianSet, type GaussianSet } from '../core/gaussians.ts';
import type { PointCloud } from '../core/points.ts';
import { DEFAULT_FOOTPRINT_FACTOR } from './from-depth.ts';

export interface GaussiansFromPointsOptions {
  /** Neighbours whose mean distance is the local spacing. Default 3. */
  readonly neighbours?: number;
  /** Std dev as a fraction of the local spacing. Default from-depth's footprint factor, 0.6. */
  readonly footprintFactor?: number;
  /** Opacity of every Gaussian. Default 1 (the rasteriser caps alpha at 0.99). */
  readonly opacity?: number;
  /** At most this many Gaussians: an evenly spaced subset, whose spacing is then measured on the subset. */
  readonly maxGaussians?: number;
}

/** A uniform grid over the points: cell of point i's bucket, and the points of each cell contiguous. */
interface PointGrid {
  readonly cellSize: number;
  readonly min: readonly [number, number, number];
  readonly dims: readonly [number, number, number];
  /** cellStart[c]..cellStart[c + 1] index cellPoints for cell c. */
  readonly cellStart: Int32Array;
  readonly cellPoints: Int32Array;
}

function buildGrid(positions: Float32Array, n: number): PointGrid {
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = positions[i * 3 + c]!;
      if (v < min[c]!) min[c] = v;
      if (v > max[c]!) max[c] = v;
    }
  }
  const extent = [max[0] - min[0], max[1] - min[1], max[2] - min[2]];
  const largest = Math.max(...extent, 1e-30);
  // About one point per cell for a volume; flat or thin clouds grow the cell until the cell count is O(n).
  let cellSize = Math.cbrt(extent.reduce((p, e) => p * Math.max(e, largest * 1e-6), 1) / n);
  const cellsFor = (h: number) => extent.reduce((p, e) => p * (Math.floor(e / h) + 1), 1);
  while (cellsFor(cellSize) > 2 * n + 8) cellSize *= 1.25;
  const dims = extent.map((e) => Math.floor(e / cellSize) + 1) as [number, number, number];
  const cellOf = new Int32Array(n);
  const cellStart = new Int32Array(dims[0] * dims[1] * dims[2] + 1);
  for (let i = 0; i < n; i++) {
    const cx = Math.min(dims[0] - 1, Math.floor((positions[i * 3]! - min[0]) / cellSize));
    const cy = Math.min(dims[1] - 1, Math.floor((positions[i * 3 + 1]! - min[1]) / cellSize));
    const cz = Math.min(dims[2] - 1, Math.floor((positions[i * 3 + 2]! - min[2]) / cellSize));
    const cell = (cz * dims[1] + cy) * dims[0] + cx;
    cellOf[i] = cell;
    cellStart[cell + 1]!++;
  }
  for (let c = 0; c + 1 < cellStart.length; c++) cellStart[c + 1]! += cellStart[c]!;
  const fill = cellStart.slice(0, -1);
  const cellPoints = new Int32Array(n);
  for (let i = 0; i < n; i++) cellPoints[fill[cellOf[i]!]!++] = i;
  return { cellSize, min, dims, cellStart, cellPoints };
}

/**
 * Mean Euclidean distance from each point to its k nearest other points (fewer when the cloud has fewer than
 * k + 1 points; 0 for a single point). Coincident points count, at distance 0.
 */
export function meanNeighbourDistances(positions: Float32Array, k: number): Float32Array {
  if (!(Number.isInteger(k) && k >= 1)) throw new InputError(`neighbours (${k}) must be a positive integer.`);
  if (positions.length % 3 !== 0) throw new InputError(`positions length (${positions.length}) is not a multiple of 3.`);
  const n = positions.length / 3;
  for (let i = 0; i < positions.length; i++) {
    if (!Number.isFinite(positions[i]!)) throw new InputError(`point ${Math.floor(i / 3)} has a non-finite coordinate.`);
  }
  const out = new Float32Array(n);
  const want = Math.min(k, n - 1);
  if (want <= 0) return out;
  const grid = buildGrid(positions, n);
  const { cellSize, min, dims, cellStart, cellPoints } = grid;
  const best = new Float64Array(want); // squared distances, ascending
  for (let i = 0; i < n; i++) {
    const px = positions[i * 3]!, py = positions[i * 3 + 1]!, pz = positions[i * 3 + 2]!;
    const cx = Math.min(dims[0] - 1, Math.floor((px - min[0]) / cellSize));
    const cy = Math.min(dims[1] - 1, Math.floor((py - min[1]) / cellSize));
    const cz = Math.min(dims[2] - 1, Math.floor((pz - min[2]) / cellSize));
    let found = 0;
    const maxRing = Math.max(dims[0], dims[1], dims[2]);
    for (let r = 0; r <= maxRing; r++) {
      for (let z = Math.max(0, cz - r); z <= Math.min(dims[2] - 1, cz + r); z++) {
        for (let y = Math.max(0, cy - r); y <= Math.min(dims[1] - 1, cy + r); y++) {
          const onShellZY = Math.abs(z - cz) === r || Math.abs(y - cy) === r;
          for (let x = Math.max(0, cx - r); x <= Math.min(dims[0] - 1, cx + r); x++) {
            if (!onShellZY && Math.abs(x - cx) !== r) continue; // inner cells were searched in earlier rings
            const cell = (z * dims[1] + y) * dims[0] + x;
            for (let e = cellStart[cell]!; e < cellStart[cell + 1]!; e++) {
              const j = cellPoints[e]!;
              if (j === i) continue;
              const dx = positions[j * 3]! - px, dy = positions[j * 3 + 1]! - py, dz = positions[j * 3 + 2]! - pz;
              const d2 = dx * dx + dy * dy + dz * dz;
              if (found === want && d2 >= best[want - 1]!) continue;
              let slot = found < want ? found++ : want - 1;
              while (slot > 0 && best[slot - 1]! > d2) { best[slot] = best[slot - 1]!; slot--; }
              best[slot] = d2;
            }
          }
        }
      }
      // Points in ring r + 1 and beyond are at least r * cellSize away from any point of the centre cell.
      if (found === want && best[want - 1]! <= (r * cellSize) ** 2) break;
    }
    let sum = 0;
    for (let m = 0; m < want; m++) sum += Math.sqrt(best[m]!);
    out[i] = sum / want;
  }
  return out;
}

/** World-frame isotropic Gaussians from a point cloud (see the module comment). */
export function gaussiansFromPoints(cloud: PointCloud, options: GaussiansFromPointsOptions = {}): GaussianSet {
  const k = options.neighbours ?? 3;
  const factor = options.footprintFactor ?? DEFAULT_FOOTPRINT_FACTOR;
  const opacity = options.opacity ?? 1;
  if (!(factor > 0 && Number.isFinite(factor))) throw new InputError(`footprintFactor (${factor}) must be a positive finite number.`);
  if (!(opacity >= 0 && opacity <= 1)) throw new InputError(`opacity (${opacity}) must be in [0, 1].`);
  const maxGaussians = options.maxGaussians ?? Infinity;
  if (!(maxGaussians === Infinity || (Number.isInteger(maxGaussians) && maxGaussians >= 1))) {
    throw new InputError(`maxGaussians (${maxGaussians}) must be a positive integer.`);
  }
  if (cloud.numPoints === 0) throw new InputError('The point cloud is empty: there is nothing to build Gaussians from.');
  const n = Math.min(cloud.numPoints, maxGaussians);
  const positions = new Float32Array(n * 3);
  const colors = new Float32Array(n * 3);
  for (let m = 0; m < n; m++) {
    const i = Math.floor((m * cloud.numPoints) / n);
    for (let c = 0; c < 3; c++) {
      positions[m * 3 + c] = cloud.positions[i * 3 + c]!;
      colors[m * 3 + c] = cloud.colors !== undefined ? cloud.colors[i * 3 + c]! / 255 : 0.5;
    }
  }
  const spacing = meanNeighbourDistances(positions, k);
  // Coincident points would give zero-size Gaussians: floor at a tenth of the median spacing.
  const sorted = Float32Array.from(spacing).sort();
  const floor = 0.1 * (sorted[Math.floor(n / 2)] ?? 0);
  const scales = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const s = factor * Math.max(spacing[i]!, floor);
    scales[i * 3] = s; scales[i * 3 + 1] = s; scales[i * 3 + 2] = s;
  }
  const rotations = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) rotations[i * 4] = 1;
  return createGaussianSet({ count: n, frame: cloud.frame, positions, scales, rotations, opacities: new Float32Array(n).fill(opacity), colors });
}
