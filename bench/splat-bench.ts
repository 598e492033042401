/**
 * CPU Gaussian rasterizer speed (src/splat/rasterize.ts), one thread:
 * - 1M Gaussians at 1280x720: a synthetic room seen from inside (back wall, floor, side walls, a few spheres),
 *   surface Gaussians thin along the surface normal with 1-2 cm in-plane scales, random opacities and colours.
 *   Reports the median ms per frame and Gaussians per second, plus the median time of each stage
 *   (projection + culling, depth sort, gathering in depth order, tile binning; rasterisation is the rest).
 * - The slow oracle (renderGaussiansNaive, per pixel x every Gaussian) against the tiled renderer on the same kind
 *   of scene at 20k Gaussians and 320x180 (scales enlarged so the coverage per pixel is alike): both times, the ratio and the
 *   largest difference between the two images.
 * Prints a table and JSON; writes the JSON to bench/results/.
 *
 * Usage: node --import tsx bench/splat-bench.ts [--count 1000000] [--runs 5] [--naive-count 20000] [--naive-runs 1]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCamera, intrinsicsFromFov, type Camera } from '../src/core/camera.ts';
import { allocateGaussianSet, type GaussianSet } from '../src/core/gaussians.ts';
import { createRng } from '../src/geometry/random.ts';
import { projectGaussians } from '../src/splat/project.ts';
import { binTiles, DEFAULT_MAX_TILE_ENTRIES, packSplats, renderGaussians, renderGaussiansNaive, sortByDepth } from '../src/splat/rasterize.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const count = flag('--count', 1_000_000);
const runs = flag('--runs', 5);
const naiveCount = flag('--naive-count', 20_000);
const naiveRuns = flag('--naive-runs', 1);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/**
 * Times fn `n` times after one warm-up call; returns the median and min wall ms, the median process CPU ms (less
 * sensitive to other processes on a shared machine) and the last result.
 */
function time<T>(n: number, fn: () => T): { medianMs: number; minMs: number; cpuMedianMs: number; result: T } {
  let result = fn();
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    result = fn();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(cpu0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { medianMs: median(ms), minMs: Math.min(...ms), cpuMedianMs: median(cpu), result };
}

/**
 * A room around a camera at the origin looking along +z: walls at x = +-4, floor at y = 1.6, ceiling-less, back
 * wall at z = 9, and 6 spheres; Gaussians spread in proportion to area, flat along the surface normal.
 */
function roomScene(n: number, scaleFactor: number, seed: number): GaussianSet {
  const rng = createRng(seed);
  const set = allocateGaussianSet(n, 'world');
  const { positions, scales, rotations, opacities, colors } = set;
  const h = Math.SQRT1_2;
  // [weight, normal axis 0=x 1=y 2=z], quaternions taking local z (the thin axis) to that normal.
  const thinToNormal = [[h, 0, h, 0], [h, h, 0, 0], [1, 0, 0, 0]];
  const spheres = [[-1.5, 0.6, 4, 0.7], [1.2, 0.9, 3, 0.5], [0.3, -0.2, 6, 1.2], [2.5, 0.4, 5.5, 0.8], [-2.8, 0.2, 7, 1], [0, 1.1, 2.2, 0.3]];
  for (let i = 0; i < n; i++) {
    const pick = rng.next();
    let x: number, y: number, z: number, axis: number;
    let base = [0.5, 0.5, 0.5];
    if (pick < 0.25) { // back wall
      x = -4 + 8 * rng.next(); y = -3 + 4.6 * rng.next(); z = 9; axis = 2; base = [0.75, 0.7, 0.6];
    } else if (pick < 0.5) { // floor
      x = -4 + 8 * rng.next(); y = 1.6; z = 0.3 + 8.7 * rng.next(); axis = 1; base = [0.45, 0.3, 0.2];
    } else if (pick < 0.75) { // side walls
      x = rng.next() < 0.5 ? -4 : 4; y = -3 + 4.6 * rng.next(); z = 0.3 + 8.7 * rng.next(); axis = 0; base = [0.6, 0.7, 0.8];
    } else { // spheres
      const s = spheres[Math.floor(rng.next() * spheres.length)]!;
      const u = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()];
      const len = Math.hypot(u[0]!, u[1]!, u[2]!);
      x = s[0]! + s[3]! * u[0]! / len; y = s[1]! + s[3]! * u[1]! / len; z = s[2]! + s[3]! * u[2]! / len;
      axis = -1; base = [0.8, 0.3 + 0.1 * s[3]!, 0.2];
    }
    positions[3 * i] = x; positions[3 * i + 1] = y; positions[3 * i + 2] = z;
    const inPlane = (0.006 + 0.012 * rng.next()) * scaleFactor;
    const aspect = 0.5 + rng.next();
    if (axis >= 0) {
      // Flat splat: thin along the normal, with a random in-plane turn (about local z, applied first).
      const turn = Math.PI * rng.next();
      const c = Math.cos(turn / 2), s = Math.sin(turn / 2);
      const q = thinToNormal[axis]!;
      // q * (c, 0, 0, s)
      rotations[4 * i] = q[0]! * c - q[3]! * s;
      rotations[4 * i + 1] = q[1]! * c + q[2]! * s;
      rotations[4 * i + 2] = q[2]! * c - q[1]! * s;
      rotations[4 * i + 3] = q[3]! * c + q[0]! * s;
      scales[3 * i] = inPlane * aspect; scales[3 * i + 1] = inPlane / aspect; scales[3 * i + 2] = 0.001 * scaleFactor;
    } else {
      const q = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()];
      const len = Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!);
      for (let k = 0; k < 4; k++) rotations[4 * i + k] = q[k]! / len;
      scales[3 * i] = inPlane; scales[3 * i + 1] = inPlane * aspect; scales[3 * i + 2] = inPlane / aspect;
    }
    opacities[i] = 0.3 + 0.7 * rng.next();
    for (let k = 0; k < 3; k++) colors[3 * i + k] = base[k]! + 0.15 * (rng.next() - 0.5);
  }
  return set;
}

interface Case {
  gaussians: number; width: number; height: number; visible: number; tileEntries: number;
  medianMs: number; minMs: number; cpuMedianMs: number; gaussiansPerSec: number;
}

function benchFast(set: GaussianSet, camera: Camera, n: number): Case {
  const { medianMs, minMs, cpuMedianMs, result } = time(n, () => renderGaussians(set, camera));
  const { width, height } = camera.intrinsics;
  return {
    gaussians: set.count, width, height, visible: result.stats.visible, tileEntries: result.stats.tileEntries,
    medianMs, minMs, cpuMedianMs, gaussiansPerSec: set.count / (medianMs / 1000),
  };
}

const fovXRad = (70 * Math.PI) / 180;
const bigCamera = createCamera(intrinsicsFromFov(1280, 720, fovXRad));
const big = roomScene(count, 1, 1);
const full = benchFast(big, bigCamera, runs);

// Stage split on the same scene.
const projection = time(runs, () => projectGaussians(big, bigCamera));
const sort = time(runs, () => sortByDepth(projection.result.depth));
const packing = time(runs, () => packSplats(sort.result, projection.result));
const binning = time(runs, () => binTiles(packing.result.boxes, 1280, 720, DEFAULT_MAX_TILE_ENTRIES));
const stages = {
  projectMs: projection.medianMs, sortMs: sort.medianMs, packMs: packing.medianMs, binMs: binning.medianMs,
  projectCpuMs: projection.cpuMedianMs, sortCpuMs: sort.cpuMedianMs, packCpuMs: packing.cpuMedianMs, binCpuMs: binning.cpuMedianMs,
  rasterizeMs: full.medianMs - projection.medianMs - sort.medianMs - packing.medianMs - binning.medianMs,
};

// Fast against the naive oracle on a small case.
const smallCamera = createCamera(intrinsicsFromFov(320, 180, fovXRad));
// Scales x (focal ratio) x sqrt(count ratio) keep the splat coverage per pixel alike: N (f s)^2 / pixels constant.
const small = roomScene(naiveCount, (1280 / 320) * Math.sqrt(count / naiveCount), 2);
const smallFast = benchFast(small, smallCamera, Math.max(runs, 5));
const naive = time(naiveRuns, () => renderGaussiansNaive(small, smallCamera));
const fastImage = renderGaussians(small, smallCamera);
let maxDiff = 0;
for (let k = 0; k < fastImage.color.data.length; k++) maxDiff = Math.max(maxDiff, Math.abs(fastImage.color.data[k]! - naive.result.color.data[k]!));
const comparison = {
  gaussians: small.count, width: 320, height: 180, fastMs: smallFast.medianMs, naiveMs: naive.medianMs,
  fastCpuMs: smallFast.cpuMedianMs, naiveCpuMs: naive.cpuMedianMs,
  speedup: naive.medianMs / smallFast.medianMs, cpuSpeedup: naive.cpuMedianMs / smallFast.cpuMedianMs, maxColorDiff: maxDiff,
};

const summary = { node: process.version, cpu: os.cpus()[0]?.model, loadavg: os.loadavg(), runs, full, stages, small: smallFast, comparison };
const row = (label: string, c: Case): string =>
  `${label.padEnd(28)} ${String(c.gaussians).padStart(8)} ${`${c.width}x${c.height}`.padStart(10)} ${String(c.visible).padStart(8)} `
  + `${String(c.tileEntries).padStart(9)} ${c.medianMs.toFixed(1).padStart(9)} ${c.minMs.toFixed(1).padStart(9)} ${c.cpuMedianMs.toFixed(1).padStart(9)} `
  + `${(c.gaussiansPerSec / 1e6).toFixed(2).padStart(8)}`;
console.log(`${'case'.padEnd(28)} ${'gaussians'.padStart(8)} ${'size'.padStart(10)} ${'visible'.padStart(8)} ${'tile ents'.padStart(9)} ${'median ms'.padStart(9)} ${'min ms'.padStart(9)} ${'cpu ms'.padStart(9)} ${'MGauss/s'.padStart(8)}`);
console.log(row('tiled, room scene', full));
console.log(row('tiled, small room scene', smallFast));
console.log(`stages (median ms): project ${stages.projectMs.toFixed(1)}, sort ${stages.sortMs.toFixed(1)}, pack ${stages.packMs.toFixed(1)}, bin ${stages.binMs.toFixed(1)}, rasterize ~${stages.rasterizeMs.toFixed(1)}`);
console.log(`naive oracle, ${comparison.gaussians} Gaussians at 320x180: ${comparison.naiveMs.toFixed(1)} ms vs tiled ${comparison.fastMs.toFixed(1)} ms `
  + `(x${comparison.speedup.toFixed(0)}; cpu ${comparison.naiveCpuMs.toFixed(0)} vs ${comparison.fastCpuMs.toFixed(0)} ms, x${comparison.cpuSpeedup.toFixed(0)}), `
  + `max colour difference ${comparison.maxColorDiff.toExponential(2)}`);
console.log(JSON.stringify(summary, null, 2));
await mkdir(path.join(here, 'results'), { recursive: true });
await writeFile(path.join(here, 'results', `splat-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(summary, null, 2));
