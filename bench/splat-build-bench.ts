/**
 * Building Gaussians from geometry (src/splat): timings and throughput.
 * 1. one 1280x720 depth map of a ray-cast synthetic room (walls, floor, spheres, a window of invalid depth):
 *    gaussiansFromDepth at stride 1, against a naive per-pixel-object builder (the slow oracle, also compared
 *    value by value);
 * 2. 100 views of 320x240 on a circle in the same room: gaussiansFromDepth per view, then mergeGaussianViews
 *    (dedup + cap, and with the floater test against all other views);
 * 3. real RGB-D: the 5 Redwood living-room frames (640x480, mm depth, trajectory.log poses, PrimeSense intrinsics)
 *    from ../shared/data/open3d_rgbd_testdata, built and merged with the floater test.
 * Usage: node --import tsx bench/splat-build-bench.ts [--runs N]. Prints a JSON object and a table, and writes
 * the JSON to bench/results/. Timings are medians of N runs (default 5) after one warm-up.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode as decodePng } from 'fast-png';
import { createCamera, createIntrinsics, type Camera } from '../src/core/camera.ts';
import { createDepth, type MetricDepthMap } from '../src/core/depth.ts';
import { createImage, type Image } from '../src/core/image.ts';
import { fromRotationTranslation } from '../src/core/mat4.ts';
import { quaternionFromRotation } from '../src/core/quaternion.ts';
import { decodeImage } from '../src/io/decode-image.ts';
import { gaussiansFromDepth } from '../src/splat/from-depth.ts';
import { mergeGaussianViews, type MergeView } from '../src/splat/merge.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const SHARED = process.env['ANYVIEW_SHARED_DIR'] ?? path.resolve(here, '..', '..', 'shared');
const REDWOOD = path.join(SHARED, 'data/open3d_rgbd_testdata/examples/test_data/RGBD');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Median wall ms and median CPU ms (user + system of this process: less sensitive to a shared machine). */
function timeIt<T>(fn: () => T, runs = RUNS): { ms: number; cpuMs: number; result: T } {
  let result = fn(); // warm-up
  const times: number[] = [], cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    result = fn();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { ms: median(times), cpuMs: median(cpu), result };
}

// --- Synthetic room: box [-5,5] x [-3,2] x [-5,5] (y down, floor at y = 2), three spheres, a window in the z = 5 wall.
const SPHERES = [[0, 0.8, 0, 1.2], [-2, 1.2, 1.5, 0.8], [2.2, 0.5, -1, 1.5]] as const;
const BOX_MIN = [-5, -3, -5], BOX_MAX = [5, 2, 5];

function lookAt(eye: number[], target: number[]): Camera['worldFromCamera'] {
  const f = target.map((t, a) => t - eye[a]!);
  const fl = Math.hypot(...f);
  const z = f.map((x) => x / fl);
  // x = down x z (world y is down), y = z x x.
  const x0 = [1 * z[2]! - 0 * z[1]!, 0 * z[0]! - 0 * z[2]!, 0 * z[1]! - 1 * z[0]!];
  const xl = Math.hypot(...x0);
  const x = x0.map((v) => v / xl);
  const y = [z[1]! * x[2]! - z[2]! * x[1]!, z[2]! * x[0]! - z[0]! * x[2]!, z[0]! * x[1]! - z[1]! * x[0]!];
  return fromRotationTranslation([x[0]!, y[0]!, z[0]!, x[1]!, y[1]!, z[1]!, x[2]!, y[2]!, z[2]!], eye);
}

/** Ray-cast z-depth and a checker-textured colour image of the room from a camera. */
function renderRoom(camera: Camera): { depth: MetricDepthMap; image: Image<Uint8Array> } {
  const { width, height, fxPx, fyPx, cxPx, cyPx } = camera.intrinsics;
  const m = camera.worldFromCamera;
  const o = [m[3]!, m[7]!, m[11]!];
  const data = new Float32Array(width * height);
  const rgb = new Uint8Array(width * height * 3);
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const dc = [(u - cxPx) / fxPx, (v - cyPx) / fyPx, 1];
      const d = [0, 1, 2].map((r) => m[r * 4]! * dc[0]! + m[r * 4 + 1]! * dc[1]! + m[r * 4 + 2]! * dc[2]!);
      // With |dc_z| = 1 the ray parameter t is the z-depth.
      let t = Infinity, hit = -1;
      for (let s = 0; s < SPHERES.length; s++) {
        const [sx, sy, sz, r] = SPHERES[s]!;
        const oc = [o[0]! - sx, o[1]! - sy, o[2]! - sz];
        const a = d[0]! ** 2 + d[1]! ** 2 + d[2]! ** 2, b = 2 * (oc[0]! * d[0]! + oc[1]! * d[1]! + oc[2]! * d[2]!), c = oc[0]! ** 2 + oc[1]! ** 2 + oc[2]! ** 2 - r * r;
        const disc = b * b - 4 * a * c;
        if (disc < 0) continue;
        const t0 = (-b - Math.sqrt(disc)) / (2 * a);
        if (t0 > 0 && t0 < t) { t = t0; hit = s; }
      }
      if (hit === -1) {
        for (let ax = 0; ax < 3; ax++) {
          if (d[ax] === 0) continue;
          const tp = ((d[ax]! > 0 ? BOX_MAX[ax]! : BOX_MIN[ax]!) - o[ax]!) / d[ax]!;
          if (tp > 0 && tp < t) { t = tp; hit = 10 + ax; }
        }
      }
      const p = [o[0]! + t * d[0]!, o[1]! + t * d[1]!, o[2]! + t * d[2]!];
      const i = v * width + u;
      const window = hit === 12 && d[2]! > 0 && Math.abs(p[0]!) < 1.5 && p[1]! > -2 && p[1]! < -0.5;
      data[i] = window ? NaN : t;
      const checker = (Math.floor(p[0]! * 2) + Math.floor(p[1]! * 2) + Math.floor(p[2]! * 2)) & 1;
      const base = hit < 10 ? [200, 80 + 50 * hit, 60] : [90 + 40 * (hit - 10), 120, 160];
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.min(255, base[c]! + (checker ? 40 : 0));
    }
  }
  return { depth: createDepth({ kind: 'metricDepth', width, height, data }), image: createImage({ width, height, channels: 3, data: rgb }) };
}

/**
 * Naive builder, one object per pixel and core's allocating helpers: same rules as gaussiansFromDepth at stride 1
 * without confidence (edge test, central/one-sided tangents, normal to the camera, camera-x in-plane axis).
 */
function naiveGaussians(depth: MetricDepthMap, camera: Camera, image: Image<Uint8Array>) {
  const { width, height, fxPx, fyPx, cxPx, cyPx } = camera.intrinsics;
  const at = (u: number, v: number): number[] | undefined => {
    if (u < 0 || v < 0 || u >= width || v >= height) return undefined;
    const z = depth.data[v * width + u]!;
    return z > 0 && z < Infinity ? [((u - cxPx) / fxPx) * z, ((v - cyPx) / fyPx) * z, z] : undefined;
  };
  const sub = (a: number[], b: number[]) => a.map((x, k) => x - b[k]!);
  const cross = (a: number[], b: number[]) => [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
  const norm = (a: number[]) => { const l = Math.hypot(...a); return a.map((x) => x / l); };
  const m = camera.worldFromCamera;
  const rot = (a: number[]) => [0, 1, 2].map((r) => m[r * 4]! * a[0]! + m[r * 4 + 1]! * a[1]! + m[r * 4 + 2]! * a[2]!);
  const out: { position: number[]; scale: number[]; rotation: Float64Array; color: number[]; pixel: number }[] = [];
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const p = at(u, v);
      if (p === undefined) continue;
      const neighbours = [at(u - 1, v), at(u + 1, v), at(u, v - 1), at(u, v + 1)];
      if (neighbours.some((q) => q !== undefined && Math.abs(q[2]! - p[2]!) > 0.05 * Math.min(q[2]!, p[2]!))) continue;
      const [l, r, up, dn] = neighbours;
      const tx = l || r ? sub(r ?? p, l ?? p) : undefined;
      const ty = up || dn ? sub(dn ?? p, up ?? p) : undefined;
      let n = tx && ty ? cross(tx, ty) : [0, 0, 0];
      if (Math.hypot(...n) > 0) { n = norm(n); if (n[0]! * p[0]! + n[1]! * p[1]! + n[2]! * p[2]! > 0) n = n.map((x) => -x); } else n = norm(p.map((x) => -x));
      const seed = Math.abs(n[0]!) < 0.9 ? [1, 0, 0] : [0, 1, 0];
      const dot = seed[0]! * n[0]! + seed[1]! * n[1]! + seed[2]! * n[2]!;
      const ex = norm(seed.map((x, k) => x - dot * n[k]!));
      const ey = cross(n, ex);
      const [wx, wy, wz] = [rot(ex), rot(ey), rot(n)];
      const rotation = quaternionFromRotation([wx[0]!, wy[0]!, wz[0]!, wx[1]!, wy[1]!, wz[1]!, wx[2]!, wy[2]!, wz[2]!]);
      const s = (0.6 * p[2]!) / Math.sqrt(fxPx * fyPx);
      const position = rot(p).map((x, k) => x + m[k * 4 + 3]!);
      const i = v * width + u;
      out.push({ position, scale: [s, s, 0.1 * s], rotation, color: [0, 1, 2].map((c) => image.data[i * 3 + c]! / 255), pixel: i });
    }
  }
  return out;
}

function roomCamera(width: number, height: number, fovXDeg: number, worldFromCamera: Camera['worldFromCamera']): Camera {
  const f = width / 2 / Math.tan((fovXDeg * Math.PI) / 360);
  return createCamera(createIntrinsics({ fxPx: f, fyPx: f, cxPx: (width - 1) / 2, cyPx: (height - 1) / 2, width, height }), worldFromCamera);
}

// --- 1. One 1280x720 map.
const bigCamera = roomCamera(1280, 720, 75, lookAt([0.5, -0.5, -4], [0, 0.3, 3]));
const big = renderRoom(bigCamera);
const single = timeIt(() => gaussiansFromDepth(big.depth, bigCamera, big.image));
const naive = timeIt(() => naiveGaussians(big.depth, bigCamera, big.image), Math.min(RUNS, 3));
let maxPosDiff = 0, maxRotDiff = 0, sameCount = naive.result.length === single.result.gaussians.count;
if (sameCount) {
  const g = single.result.gaussians;
  naive.result.forEach((o, k) => {
    if (o.pixel !== single.result.pixelIndices[k]) sameCount = false;
    for (let c = 0; c < 3; c++) maxPosDiff = Math.max(maxPosDiff, Math.abs(o.position[c]! - g.positions[k * 3 + c]!));
    let dot = 0;
    for (let c = 0; c < 4; c++) dot += o.rotation[c]! * g.rotations[k * 4 + c]!;
    maxRotDiff = Math.max(maxRotDiff, 1 - Math.abs(dot));
  });
}
const stride2 = timeIt(() => gaussiansFromDepth(big.depth, bigCamera, big.image, { stride: 2 }));

// --- 2. 100 views of 320x240 on a circle around the room's centre.
const views100 = Array.from({ length: 100 }, (_, k) => {
  const a = (2 * Math.PI * k) / 100;
  const camera = roomCamera(320, 240, 70, lookAt([3.6 * Math.sin(a), -0.8 + 0.3 * Math.sin(3 * a), 3.6 * Math.cos(a)], [0, 0.6, 0]));
  return { camera, ...renderRoom(camera) };
});
const build100 = timeIt(() => views100.map((v) => gaussiansFromDepth(v.depth, v.camera, v.image).gaussians), Math.min(RUNS, 3));
const mergeInputs: MergeView[] = views100.map((v, k) => ({ gaussians: build100.result[k]!, camera: v.camera, depth: v.depth }));
const merge100 = timeIt(() => mergeGaussianViews(mergeInputs.map((v) => ({ gaussians: v.gaussians })), { maxGaussians: 2_000_000 }), Math.min(RUNS, 3));
const merge100Floaters = timeIt(() => mergeGaussianViews(mergeInputs, { consistency: {}, maxGaussians: 2_000_000 }), 1);

// --- 3. Real RGB-D: Redwood living room, 5 frames.
async function redwood() {
  const log = (await readFile(path.join(REDWOOD, 'trajectory.log'), 'utf8')).trim().split('\n');
  const k = createIntrinsics({ fxPx: 525, fyPx: 525, cxPx: 319.5, cyPx: 239.5, width: 640, height: 480 });
  const frames = [];
  for (let f = 0; f < 5; f++) {
    const rows = log.slice(f * 5 + 1, f * 5 + 5).map((line) => line.trim().split(/\s+/).map(Number));
    const pose = Float64Array.from(rows.flat());
    const png = decodePng(await readFile(path.join(REDWOOD, 'depth', `0000${f}.png`)));
    const mm = png.data as Uint16Array;
    const data = new Float32Array(mm.length);
    for (let i = 0; i < mm.length; i++) data[i] = mm[i] === 0 ? NaN : mm[i]! / 1000;
    const image = await decodeImage({ path: path.join(REDWOOD, 'color', `0000${f}.jpg`) });
    frames.push({ camera: createCamera(k, pose), depth: createDepth({ kind: 'metricDepth', width: 640, height: 480, data }), image });
  }
  return frames;
}
const real = await redwood();
const realSingle = timeIt(() => gaussiansFromDepth(real[0]!.depth, real[0]!.camera, real[0]!.image));
const realBuild = real.map((f) => gaussiansFromDepth(f.depth, f.camera, f.image).gaussians);
const realMerge = timeIt(() => mergeGaussianViews(real.map((f, k) => ({ gaussians: realBuild[k]!, camera: f.camera, depth: f.depth })), { consistency: {} }));

const perSecond = (count: number, ms: number) => Math.round((count / ms) * 1000);
const total100 = build100.result.reduce((s, g) => s + g.count, 0);
const results = {
  date: new Date().toISOString(),
  node: process.version,
  runs: RUNS,
  loadAverage1m: os.loadavg()[0],
  cpus: os.cpus().length,
  single1280x720: {
    pixels: 1280 * 720, gaussians: single.result.gaussians.count, stats: single.result.stats,
    medianMs: single.ms, cpuMs: single.cpuMs, gaussiansPerSec: perSecond(single.result.gaussians.count, single.ms),
    naiveMedianMs: naive.ms, naiveCpuMs: naive.cpuMs, speedupOverNaive: naive.ms / single.ms,
    naiveAgrees: { sameGaussians: sameCount, maxPositionDiff: maxPosDiff, maxRotationOneMinusDot: maxRotDiff },
    stride2: { gaussians: stride2.result.gaussians.count, medianMs: stride2.ms, cpuMs: stride2.cpuMs },
  },
  views100x320x240: {
    gaussians: total100, buildMedianMs: build100.ms, buildCpuMs: build100.cpuMs, buildGaussiansPerSec: perSecond(total100, build100.ms),
    merge: { ...merge100.result.stats, medianMs: merge100.ms, cpuMs: merge100.cpuMs, inputGaussiansPerSec: perSecond(total100, merge100.ms) },
    mergeWithFloaterTest: { ...merge100Floaters.result.stats, ms: merge100Floaters.ms, cpuMs: merge100Floaters.cpuMs, inputGaussiansPerSec: perSecond(total100, merge100Floaters.ms) },
  },
  redwood5x640x480: {
    singleGaussians: realSingle.result.gaussians.count, singleStats: realSingle.result.stats, singleMedianMs: realSingle.ms, singleCpuMs: realSingle.cpuMs,
    merge: { ...realMerge.result.stats, medianMs: realMerge.ms, cpuMs: realMerge.cpuMs },
  },
};
console.log(JSON.stringify(results, null, 2));
const rows: [string, string, string, string, string][] = [
  ['1280x720 build (stride 1)', String(single.result.gaussians.count), single.ms.toFixed(1), single.cpuMs.toFixed(1), String(results.single1280x720.gaussiansPerSec)],
  ['1280x720 naive per-pixel objects', String(naive.result.length), naive.ms.toFixed(1), naive.cpuMs.toFixed(1), String(perSecond(naive.result.length, naive.ms))],
  ['1280x720 build (stride 2)', String(stride2.result.gaussians.count), stride2.ms.toFixed(1), stride2.cpuMs.toFixed(1), String(perSecond(stride2.result.gaussians.count, stride2.ms))],
  ['100 x 320x240 build', String(total100), build100.ms.toFixed(1), build100.cpuMs.toFixed(1), String(results.views100x320x240.buildGaussiansPerSec)],
  ['100 views merge (dedup + cap)', `${total100} -> ${merge100.result.stats.output}`, merge100.ms.toFixed(1), merge100.cpuMs.toFixed(1), String(results.views100x320x240.merge.inputGaussiansPerSec)],
  ['100 views merge + floater test', `${total100} -> ${merge100Floaters.result.stats.output}`, merge100Floaters.ms.toFixed(1), merge100Floaters.cpuMs.toFixed(1), String(results.views100x320x240.mergeWithFloaterTest.inputGaussiansPerSec)],
  ['Redwood 640x480 build', String(realSingle.result.gaussians.count), realSingle.ms.toFixed(1), realSingle.cpuMs.toFixed(1), String(perSecond(realSingle.result.gaussians.count, realSingle.ms))],
  ['Redwood 5 views merge + floaters', `${realMerge.result.stats.input} -> ${realMerge.result.stats.output}`, realMerge.ms.toFixed(1), realMerge.cpuMs.toFixed(1), String(perSecond(realMerge.result.stats.input, realMerge.ms))],
];
console.log('\n| case | Gaussians | median wall ms | median CPU ms | Gaussians/s (wall) |\n|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
const dir = path.join(here, 'results');
await mkdir(dir, { recursive: true });
const file = path.join(dir, `splat-build-${results.date.replace(/[:.]/g, '-')}.json`);
await writeFile(file, JSON.stringify(results, null, 2));
console.log(`\nresults: ${file}`);
