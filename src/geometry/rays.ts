/**
 * Depth Anything 3's camera representation: a per-pixel ray map, and the way back from it to a pinhole camera.
 *
 * A ray map for a W x H view holds 6 numbers per pixel: the ray origin t (the camera centre in world
 * coordinates) and the ray direction d in the world frame, d = R_wc K^-1 [u, v, 1]^T (OpenCV axes, pixel centres
 * at integer coordinates). With that scale ('zUnit') the direction's z component in the camera frame is 1, so a
 * z-depth D gives the world point P = t + D * d. With 'unitNorm' directions (|d| = 1) the same formula takes D as
 * the distance along the ray.
 *
 * What DA3 itself emits (reference code, `model/dualdpt.py` and `utils/ray_utils.py:camray_to_caminfo`): the ray
 * head's output is channels-last, [B, S, h, w, 6] ('hwc'), with the DIRECTION in channels 0..2 and the ORIGIN in
 * channels 3..5 ('directionFirst'; camray_to_caminfo fits the homography to `camray[..., :3]` and averages
 * `camray[..., 3:]` for the centre), directions unnormalised (a linear activation; the paper writes d = R K^-1 p,
 * i.e. 'zUnit'). `DA3_RAY_FORMAT` names that combination; every field is explicit so other exports fit too.
 *
 * Camera from rays (as DA3's `use_ray_pose` path, own implementation): the centre is the weighted median of the
 * origins; rotation and intrinsics come from the homography H with d ∝ H [u, v, 1]^T, fitted by a weighted DLT on
 * cross-product constraints (d x H p = 0) inside a seeded RANSAC with an angular residual, then refitted on the
 * inliers. H = R_wc K^-1 up to scale, so H^-1 ∝ K R_wc^T, whose RQ decomposition gives K (upper triangular,
 * positive diagonal, K[2][2] = 1) and R_wc (det +1).
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { createIntrinsics, type Camera, type Intrinsics } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { checkDimensions } from '../core/image.ts';
import { fromRotationTranslation, type Mat4 } from '../core/mat4.ts';
import { createPointMap, type PointMap } from '../core/points.ts';
import { det3, invert3, mul3, transpose3, type Mat3 } from './mat3.ts';
import { createRng, type Rng } from './random.ts';

/** 'hwc': the 6 channels of a pixel are adjacent (DA3); 'chw': 6 planes of W*H values. */
export type RayMapLayout = 'hwc' | 'chw';
/** Which triple comes first: 'directionFirst' = [d, t] (DA3), 'originFirst' = [t, d]. */
export type RayChannelOrder = 'directionFirst' | 'originFirst';
/** 'zUnit': camera-frame z of d is 1 (D = z-depth, DA3); 'unitNorm': |d| = 1 (D = distance along the ray). */
export type RayDirectionNorm = 'zUnit' | 'unitNorm';

export interface RayFormat {
  readonly layout: RayMapLayout;
  readonly channelOrder: RayChannelOrder;
  readonly rayDirection: RayDirectionNorm;
}

/** How DA3's ray head lays out its output (see the file header). */
export const DA3_RAY_FORMAT: RayFormat = Object.freeze({ layout: 'hwc', channelOrder: 'directionFirst', rayDirection: 'zUnit' });

export interface RayMap extends RayFormat {
  readonly width: number;
  readonly height: number;
  /** 6 * width * height values; NaN marks an invalid pixel. Float64 data keeps synthetic cases exact. */
  readonly data: Float32Array | Float64Array;
}

export function createRayMap(init: RayMap): RayMap {
  checkDimensions('RayMap', init.width, init.height);
  if (init.layout !== 'hwc' && init.layout !== 'chw') throw new InputError(`RayMap layout "${String(init.layout)}" is not one of hwc, chw.`);
  if (init.channelOrder !== 'directionFirst' && init.channelOrder !== 'originFirst') {
    throw new InputError(`RayMap channelOrder "${String(init.channelOrder)}" is not one of directionFirst, originFirst.`);
  }
  if (init.rayDirection !== 'zUnit' && init.rayDirection !== 'unitNorm') {
    throw new InputError(`RayMap rayDirection "${String(init.rayDirection)}" is not one of zUnit, unitNorm.`);
  }
  const expected = init.width * init.height * 6;
  if (init.data.length !== expected) {
    throw new InputError(`RayMap data length (${init.data.length}) does not match width*height*6 (${expected}).`);
  }
  return { ...init };
}

/** Where channel k of pixel i lives: data[i * pixelStride + k * channelStride]; direction/origin start channels. */
interface RayIndexing {
  readonly pixelStride: number;
  readonly channelStride: number;
  readonly direction: number;
  readonly origin: number;
}

function rayIndexing(rays: RayFormat & { readonly width: number; readonly height: number }): RayIndexing {
  const hwc = rays.layout === 'hwc';
  const directionFirst = rays.channelOrder === 'directionFirst';
  return {
    pixelStride: hwc ? 6 : 1,
    channelStride: hwc ? 1 : rays.width * rays.height,
    direction: directionFirst ? 0 : 3,
    origin: directionFirst ? 3 : 0,
  };
}

/**
 * The ray map a pinhole camera produces (width x height of its intrinsics): the ground truth for tests and for
 * generated test graphs, and a way to feed known cameras to ray-based code.
 */
export function rayMapFromCamera(camera: Camera, format: RayFormat = DA3_RAY_FORMAT, precision: 'float32' | 'float64' = 'float32'): RayMap {
  const { width, height, fxPx, fyPx, cxPx, cyPx } = camera.intrinsics;
  const m = camera.worldFromCamera;
  const data = precision === 'float64' ? new Float64Array(width * height * 6) : new Float32Array(width * height * 6);
  const ix = rayIndexing({ ...format, width, height });
  const unit = format.rayDirection === 'unitNorm';
  for (let v = 0; v < height; v++) {
    const y = (v - cyPx) / fyPx;
    for (let u = 0; u < width; u++) {
      const x = (u - cxPx) / fxPx;
      let dx = m[0]! * x + m[1]! * y + m[2]!;
      let dy = m[4]! * x + m[5]! * y + m[6]!;
      let dz = m[8]! * x + m[9]! * y + m[10]!;
      if (unit) {
        const n = Math.hypot(dx, dy, dz);
        dx /= n; dy /= n; dz /= n;
      }
      const base = (v * width + u) * ix.pixelStride;
      const cs = ix.channelStride;
      data[base + ix.direction * cs] = dx;
      data[base + (ix.direction + 1) * cs] = dy;
      data[base + (ix.direction + 2) * cs] = dz;
      data[base + ix.origin * cs] = m[3]!;
      data[base + (ix.origin + 1) * cs] = m[7]!;
      data[base + (ix.origin + 2) * cs] = m[11]!;
    }
  }
  return { width, height, ...format, data };
}

/**
 * World points P = t + D * d for every pixel (D = z-depth for 'zUnit' rays, distance along the ray for 'unitNorm').
 * Pixels whose depth is NaN, infinite or <= 0, or whose ray is not finite, give NaN points.
 */
export function pointsFromRays(depth: Float32Array, rays: RayMap): PointMap {
  const { width, height, data } = rays;
  const n = width * height;
  if (depth.length !== n) {
    throw new InputError(`Depth length (${depth.length}) does not match the ray map's width*height (${width}*${height} = ${n}).`);
  }
  const ix = rayIndexing(rays);
  const cs = ix.channelStride;
  const points = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const z = depth[i]!;
    const base = i * ix.pixelStride;
    const o = i * 3;
    const px = data[base + ix.origin * cs]! + z * data[base + ix.direction * cs]!;
    const py = data[base + (ix.origin + 1) * cs]! + z * data[base + (ix.direction + 1) * cs]!;
    const pz = data[base + (ix.origin + 2) * cs]! + z * data[base + (ix.direction + 2) * cs]!;
    if (!(z > 0 && z < Infinity) || !Number.isFinite(px) || !Number.isFinite(py) || !Number.isFinite(pz)) {
      points[o] = points[o + 1] = points[o + 2] = NaN;
      continue;
    }
    points[o] = px;
    points[o + 1] = py;
    points[o + 2] = pz;
  }
  return createPointMap({ width, height, frame: 'world', points });
}

export interface CameraFromRaysOptions {
  /** Per-pixel confidence (width*height, >= 0; 0 or NaN excludes a pixel). Default: all 1. */
  readonly weights?: Float32Array;
  /** Seed of the sampler: same rays and seed, same camera. Default 0. */
  readonly seed?: number;
  /** A pixel is an inlier when the angle between its direction and H [u, v, 1] is at most this. Default 2. */
  readonly thresholdDeg?: number;
  /** RANSAC hypotheses at most (fewer when the adaptive stop criterion is met). Default 200. */
  readonly maxIterations?: number;
  /** The fit uses a seeded random subset of at most this many valid pixels. Default 20000. */
  readonly maxSamples?: number;
}

export interface CameraFromRaysResult {
  /** Camera-to-world, OpenCV axes: rotation R_wc and translation = the camera centre. */
  readonly worldFromCamera: Mat4;
  /** Skew-free pinhole intrinsics for the ray map's width x height. */
  readonly intrinsics: Intrinsics;
  /** K[0][1] of the fitted upper-triangular K (px), dropped from `intrinsics`; near 0 for a real pinhole. */
  readonly skewPx: number;
  /** Inliers of the final fit over the pixels it used. */
  readonly inlierRatio: number;
  readonly numInliers: number;
  /** Valid pixels the fit used (after subsampling). */
  readonly numSamples: number;
}

const DEFAULT_THRESHOLD_DEG = 2;
const DEFAULT_MAX_ITERATIONS = 200;
const DEFAULT_MAX_SAMPLES = 20000;
const MINIMAL_SAMPLE = 4;
const MIN_FIT_SAMPLES = 8;
const REFINE_ROUNDS = 5;
/** Hypotheses stop once a better one would have been found with this probability. */
const RANSAC_CONFIDENCE = 0.9999;

/** The valid pixels the fit works on, gathered into flat arrays (pixel coords normalised for the DLT). */
interface RaySamples {
  readonly count: number;
  readonly pixel: Uint32Array;
  /** Normalised pixel coordinates q = T [u, v, 1]. */
  readonly qx: Float64Array;
  readonly qy: Float64Array;
  /** Unit directions. */
  readonly dx: Float64Array;
  readonly dy: Float64Array;
  readonly dz: Float64Array;
  readonly weight: Float64Array;
  /** T: q = T p, Hartley normalisation (centroid to 0, mean distance sqrt 2). */
  readonly normalisation: Mat3;
}

function checkFitOptions(rays: RayMap, options: CameraFromRaysOptions): void {
  const threshold = options.thresholdDeg ?? DEFAULT_THRESHOLD_DEG;
  if (!(threshold > 0 && threshold < 90)) throw new InputError(`thresholdDeg (${threshold}) must be in (0, 90).`);
  const iterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  if (!(Number.isInteger(iterations) && iterations >= 1)) throw new InputError(`maxIterations (${iterations}) must be a positive integer.`);
  const maxSamples = options.maxSamples ?? DEFAULT_MAX_SAMPLES;
  if (!(Number.isInteger(maxSamples) && maxSamples >= MIN_FIT_SAMPLES)) {
    throw new InputError(`maxSamples (${maxSamples}) must be an integer >= ${MIN_FIT_SAMPLES}.`);
  }
  const weights = options.weights;
  if (weights !== undefined && weights.length !== rays.width * rays.height) {
    throw new InputError(`Ray weights length (${weights.length}) does not match width*height (${rays.width * rays.height}).`);
  }
}

/** Indices of pixels with a finite, non-zero ray and a positive weight; a seeded subset when there are too many. */
function validPixels(rays: RayMap, weights: Float32Array | undefined, maxSamples: number, rng: Rng): Uint32Array {
  const { width, height, data } = rays;
  const ix = rayIndexing(rays);
  const cs = ix.channelStride;
  const n = width * height;
  const valid = new Uint32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (weights !== undefined && !(weights[i]! > 0 && weights[i]! < Infinity)) continue;
    const base = i * ix.pixelStride;
    const a = data[base + ix.direction * cs]!, b = data[base + (ix.direction + 1) * cs]!, c = data[base + (ix.direction + 2) * cs]!;
    const tx = data[base + ix.origin * cs]!, ty = data[base + (ix.origin + 1) * cs]!, tz = data[base + (ix.origin + 2) * cs]!;
    // One finiteness test for all six (NaN and Infinity propagate through the sum).
    if (!Number.isFinite(a + b + c + tx + ty + tz) || (a === 0 && b === 0 && c === 0)) continue;
    valid[count++] = i;
  }
  if (count <= maxSamples) return valid.slice(0, count);
  // Partial Fisher-Yates: the first maxSamples entries become a uniform random subset; sorted back for locality.
  for (let k = 0; k < maxSamples; k++) {
    const j = k + rng.nextInt(count - k);
    const tmp = valid[k]!;
    valid[k] = valid[j]!;
    valid[j] = tmp;
  }
  return valid.slice(0, maxSamples).sort();
}

function gatherSamples(rays: RayMap, pixels: Uint32Array, weights: Float32Array | undefined): RaySamples {
  const { width, data } = rays;
  const ix = rayIndexing(rays);
  const cs = ix.channelStride;
  const count = pixels.length;
  const qx = new Float64Array(count), qy = new Float64Array(count);
  const dx = new Float64Array(count), dy = new Float64Array(count), dz = new Float64Array(count);
  const weight = new Float64Array(count);
  let mx = 0, my = 0;
  for (let k = 0; k < count; k++) {
    const i = pixels[k]!;
    qx[k] = i % width;
    qy[k] = Math.floor(i / width);
    mx += qx[k]!;
    my += qy[k]!;
    const base = i * ix.pixelStride;
    const a = data[base + ix.direction * cs]!, b = data[base + (ix.direction + 1) * cs]!, c = data[base + (ix.direction + 2) * cs]!;
    const norm = Math.hypot(a, b, c);
    dx[k] = a / norm;
    dy[k] = b / norm;
    dz[k] = c / norm;
    weight[k] = weights === undefined ? 1 : weights[i]!;
  }
  mx /= count;
  my /= count;
  let meanDistance = 0;
  for (let k = 0; k < count; k++) meanDistance += Math.hypot(qx[k]! - mx, qy[k]! - my);
  meanDistance /= count;
  const s = meanDistance > 0 ? Math.SQRT2 / meanDistance : 1;
  for (let k = 0; k < count; k++) {
    qx[k] = (qx[k]! - mx) * s;
    qy[k] = (qy[k]! - my) * s;
  }
  const normalisation = Float64Array.of(s, 0, -s * mx, 0, s, -s * my, 0, 0, 1);
  return { count, pixel: pixels, qx, qy, dx, dy, dz, weight, normalisation };
}

/** Index of the unordered pair (a, b), a, b in 0..2, among (00, 01, 02, 11, 12, 22). */
const PAIR_INDEX = [0, 1, 2, 1, 3, 4, 2, 4, 5] as const;

/**
 * Weighted DLT for d ∝ H q over the given samples: minimises sum_k w_k |d_k x H q_k|^2 with |H| = 1, i.e. the
 * eigenvector of the smallest eigenvalue of M = sum_k w_k ([d_k]x^T [d_k]x) ⊗ (q_k q_k^T) (row-major vec(H)).
 * [d]x^T [d]x = I - d d^T for a unit d, so M needs only the 36 sums of S_ab * q_i q_j.
 * Returns null when the constraints do not fix H (fewer than 4 points in general position).
 */
function fitHomographyDlt(samples: RaySamples, indices: ArrayLike<number>): Mat3 | null {
  if (indices.length < MINIMAL_SAMPLE) return null;
  const sums = new Float64Array(36);
  const { qx, qy, dx, dy, dz, weight } = samples;
  for (let t = 0; t < indices.length; t++) {
    const k = indices[t]!;
    const w = weight[k]!;
    const x = qx[k]!, y = qy[k]!;
    const a = dx[k]!, b = dy[k]!, c = dz[k]!;
    const s0 = w * (1 - a * a), s1 = -w * a * b, s2 = -w * a * c, s3 = w * (1 - b * b), s4 = -w * b * c, s5 = w * (1 - c * c);
    const q0 = x * x, q1 = x * y, q2 = x, q3 = y * y, q4 = y;
    sums[0]! += s0 * q0; sums[1]! += s0 * q1; sums[2]! += s0 * q2; sums[3]! += s0 * q3; sums[4]! += s0 * q4; sums[5]! += s0;
    sums[6]! += s1 * q0; sums[7]! += s1 * q1; sums[8]! += s1 * q2; sums[9]! += s1 * q3; sums[10]! += s1 * q4; sums[11]! += s1;
    sums[12]! += s2 * q0; sums[13]! += s2 * q1; sums[14]! += s2 * q2; sums[15]! += s2 * q3; sums[16]! += s2 * q4; sums[17]! += s2;
    sums[18]! += s3 * q0; sums[19]! += s3 * q1; sums[20]! += s3 * q2; sums[21]! += s3 * q3; sums[22]! += s3 * q4; sums[23]! += s3;
    sums[24]! += s4 * q0; sums[25]! += s4 * q1; sums[26]! += s4 * q2; sums[27]! += s4 * q3; sums[28]! += s4 * q4; sums[29]! += s4;
    sums[30]! += s5 * q0; sums[31]! += s5 * q1; sums[32]! += s5 * q2; sums[33]! += s5 * q3; sums[34]! += s5 * q4; sums[35]! += s5;
  }
  const rows: number[][] = [];
  for (let r = 0; r < 3; r++) {
    for (let i = 0; i < 3; i++) {
      const row = new Array<number>(9);
      for (let c = 0; c < 3; c++) {
        for (let j = 0; j < 3; j++) row[c * 3 + j] = sums[PAIR_INDEX[r * 3 + c]! * 6 + PAIR_INDEX[i * 3 + j]!]!;
      }
      rows.push(row);
    }
  }
  let evd: EigenvalueDecomposition;
  try {
    evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  } catch {
    return null;
  }
  const values = evd.realEigenvalues;
  const order = values.map((_, i) => i).sort((i, j) => values[i]! - values[j]!);
  const largest = Math.abs(values[order[8]!]!);
  const second = values[order[1]!]!;
  // A second (near) zero eigenvalue: the points do not pin H down (collinear or repeated pixels).
  if (!(largest > 0) || !(second > largest * 1e-12)) return null;
  const h = Float64Array.from(evd.eigenvectorMatrix.getColumn(order[0]!));
  return h.every(Number.isFinite) ? h : null;
}

/** Marks samples whose direction is within the angular threshold of H q (either sign); returns the weighted score. */
function markInliers(samples: RaySamples, h: Mat3, sin2Threshold: number, inlier: Uint8Array): { score: number; count: number } {
  let score = 0;
  let count = 0;
  for (let k = 0; k < samples.count; k++) {
    const x = samples.qx[k]!, y = samples.qy[k]!;
    const ex = h[0]! * x + h[1]! * y + h[2]!;
    const ey = h[3]! * x + h[4]! * y + h[5]!;
    const ez = h[6]! * x + h[7]! * y + h[8]!;
    const a = samples.dx[k]!, b = samples.dy[k]!, c = samples.dz[k]!;
    const cx = b * ez - c * ey, cy = c * ex - a * ez, cz = a * ey - b * ex;
    // |d x e|^2 = sin^2(angle) |e|^2 for a unit d.
    const ok = cx * cx + cy * cy + cz * cz <= sin2Threshold * (ex * ex + ey * ey + ez * ez);
    inlier[k] = ok ? 1 : 0;
    if (ok) {
      score += samples.weight[k]!;
      count++;
    }
  }
  return { score, count };
}

/** Positions of the set entries of a 0/1 mask. */
function indicesOf(mask: Uint8Array): Uint32Array {
  let count = 0;
  for (let k = 0; k < mask.length; k++) count += mask[k]!;
  const out = new Uint32Array(count);
  for (let k = 0, j = 0; k < mask.length; k++) if (mask[k] === 1) out[j++] = k;
  return out;
}

/**
 * Weighted lower median: the smallest value whose cumulative weight (values ascending) reaches half the total.
 * Quickselect with three-way partitions, O(n) expected; works on copies.
 */
function weightedMedian(values: Float64Array, weights: Float64Array): number {
  const v = Float64Array.from(values);
  const w = Float64Array.from(weights);
  let total = 0;
  for (let k = 0; k < w.length; k++) total += w[k]!;
  const target = total / 2;
  let below = 0;
  let lo = 0;
  let hi = v.length - 1;
  while (lo <= hi) {
    const pivot = medianOfThree(v[lo]!, v[(lo + hi) >> 1]!, v[hi]!);
    // Dutch flag: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot.
    let lt = lo, i = lo, gt = hi;
    let lessWeight = 0, equalWeight = 0;
    while (i <= gt) {
      const x = v[i]!;
      if (x < pivot) {
        lessWeight += w[i]!;
        swap(v, w, lt++, i++);
      } else if (x > pivot) {
        swap(v, w, i, gt--);
      } else {
        equalWeight += w[i]!;
        i++;
      }
    }
    if (below + lessWeight >= target && lt > lo) hi = lt - 1;
    else if (below + lessWeight + equalWeight >= target) return pivot;
    else {
      below += lessWeight + equalWeight;
      lo = gt + 1;
    }
  }
  return v[Math.min(lo, v.length - 1)]!;
}

function medianOfThree(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
}

function swap(v: Float64Array, w: Float64Array, i: number, j: number): void {
  const tv = v[i]!; v[i] = v[j]!; v[j] = tv;
  const tw = w[i]!; w[i] = w[j]!; w[j] = tw;
}

/** Weighted median of the ray origins over the samples: robust to a minority of wild origins. */
function medianOrigin(rays: RayMap, samples: RaySamples): Float64Array {
  const ix = rayIndexing(rays);
  const cs = ix.channelStride;
  const centre = new Float64Array(3);
  const values = new Float64Array(samples.count);
  for (let axis = 0; axis < 3; axis++) {
    for (let k = 0; k < samples.count; k++) values[k] = rays.data[samples.pixel[k]! * ix.pixelStride + (ix.origin + axis) * cs]!;
    centre[axis] = weightedMedian(values, samples.weight);
  }
  return centre;
}

/** Seeded RANSAC over minimal 4-pixel samples drawn from the more confident half, scored by inlier weight. */
function ransacHomography(samples: RaySamples, sin2Threshold: number, maxIterations: number, rng: Rng): Mat3 | null {
  // Candidates: the samples at or above the median weight (all of them when the weights are equal).
  const medianWeight = Float64Array.from(samples.weight).sort()[samples.count >> 1]!;
  const isCandidate = new Uint8Array(samples.count);
  for (let k = 0; k < samples.count; k++) isCandidate[k] = samples.weight[k]! >= medianWeight ? 1 : 0;
  const candidates = indicesOf(isCandidate);
  const inlier = new Uint8Array(samples.count);
  const pick = new Uint32Array(MINIMAL_SAMPLE);
  let best: Mat3 | null = null;
  let bestScore = -1;
  let needed = maxIterations;
  for (let iteration = 0; iteration < needed && iteration < maxIterations; iteration++) {
    for (let j = 0; j < MINIMAL_SAMPLE; j++) {
      let candidate: number;
      do candidate = candidates[rng.nextInt(candidates.length)]!;
      while (pick.subarray(0, j).includes(candidate));
      pick[j] = candidate;
    }
    const h = fitHomographyDlt(samples, pick);
    if (h === null) continue;
    const { score, count } = markInliers(samples, h, sin2Threshold, inlier);
    if (score > bestScore) {
      bestScore = score;
      best = h;
      const ratio = count / samples.count;
      const allInlierProbability = ratio ** MINIMAL_SAMPLE;
      if (allInlierProbability >= 1) needed = iteration + 1;
      else if (allInlierProbability > 0) {
        needed = Math.ceil(Math.log(1 - RANSAC_CONFIDENCE) / Math.log(1 - allInlierProbability));
      }
    }
  }
  return best;
}

/**
 * RQ decomposition of a 3x3 matrix by Givens rotations (Hartley & Zisserman A4.1.1): m = upper * orthogonal with
 * `upper` upper-triangular with a positive diagonal (unique for a non-singular m; `orthogonal` may then have
 * det -1). Returns null for a singular or non-finite m.
 */
export function rqDecompose3(m: Mat3): { upper: Mat3; orthogonal: Mat3 } | null {
  if (!m.every(Number.isFinite) || det3(m) === 0) return null;
  const givens = (a: number, b: number): [number, number] => {
    const r = Math.hypot(a, b);
    return r === 0 ? [1, 0] : [a / r, b / r];
  };
  // Qx zeroes (2,1), Qy then (2,0), Qz then (1,0); each keeps the zeros made before it.
  const [cx, sx] = givens(-m[8]!, m[7]!);
  const qx = Float64Array.of(1, 0, 0, 0, cx, -sx, 0, sx, cx);
  const m1 = mul3(m, qx);
  const [cy, sy] = givens(m1[8]!, m1[6]!);
  const qy = Float64Array.of(cy, 0, sy, 0, 1, 0, -sy, 0, cy);
  const m2 = mul3(m1, qy);
  const [cz, sz] = givens(-m2[4]!, m2[3]!);
  const qz = Float64Array.of(cz, -sz, 0, sz, cz, 0, 0, 0, 1);
  const upper = mul3(m2, qz);
  upper[3] = upper[6] = upper[7] = 0; // exact zeros where rounding left ~1e-17
  const orthogonal = transpose3(mul3(mul3(qx, qy), qz));
  // Positive diagonal: upper := upper D, orthogonal := D orthogonal with D = diag(sign(upper_ii)).
  for (let i = 0; i < 3; i++) {
    if (upper[i * 4]! >= 0) continue;
    for (let r = 0; r < 3; r++) upper[r * 3 + i] = -upper[r * 3 + i]!;
    for (let c = 0; c < 3; c++) orthogonal[i * 3 + c] = -orthogonal[i * 3 + c]!;
  }
  return { upper, orthogonal };
}

/** K (upper triangular, K[2][2] = 1) and R_wc from H ∝ R_wc K^-1, via the RQ decomposition of H^-1 ∝ K R_wc^T. */
function decomposeRayHomography(h: Mat3): { k: Mat3; rotation: Mat3 } | null {
  let inverse: Mat3;
  try {
    inverse = invert3(h);
  } catch {
    return null;
  }
  const rq = rqDecompose3(inverse);
  if (rq === null) return null;
  const { upper, orthogonal } = rq;
  // H is known up to sign: a negative scale shows up as det -1, which -1 * orthogonal absorbs.
  if (det3(orthogonal) < 0) for (let i = 0; i < 9; i++) orthogonal[i] = -orthogonal[i]!;
  const scale = upper[8]!;
  const k = upper.map((value) => value / scale);
  return { k, rotation: transpose3(orthogonal) };
}

/**
 * A pinhole camera from a ray map (see the file header): centre = weighted median of the origins, rotation and
 * intrinsics from a RANSAC homography fit of the directions. Null when the rays do not determine a camera (too few
 * valid pixels, degenerate geometry, or a decomposition with non-positive focal lengths).
 */
export function cameraFromRays(rays: RayMap, options: CameraFromRaysOptions = {}): CameraFromRaysResult | null {
  checkFitOptions(rays, options);
  const rng = createRng(options.seed ?? 0);
  const pixels = validPixels(rays, options.weights, options.maxSamples ?? DEFAULT_MAX_SAMPLES, rng);
  if (pixels.length < MIN_FIT_SAMPLES) return null;
  const samples = gatherSamples(rays, pixels, options.weights);
  const sinThreshold = Math.sin(((options.thresholdDeg ?? DEFAULT_THRESHOLD_DEG) * Math.PI) / 180);
  const sin2Threshold = sinThreshold * sinThreshold;

  let h = ransacHomography(samples, sin2Threshold, options.maxIterations ?? DEFAULT_MAX_ITERATIONS, rng);
  if (h === null) return null;
  // Least squares on the inliers, re-selecting them until the set settles.
  const inlier = new Uint8Array(samples.count);
  const previous = new Uint8Array(samples.count);
  let count = markInliers(samples, h, sin2Threshold, inlier).count;
  for (let round = 0; round < REFINE_ROUNDS && count >= MIN_FIT_SAMPLES; round++) {
    const refit = fitHomographyDlt(samples, indicesOf(inlier));
    if (refit === null) break;
    h = refit;
    previous.set(inlier);
    count = markInliers(samples, h, sin2Threshold, inlier).count;
    if (inlier.every((value, k) => value === previous[k])) break;
  }
  if (count < MIN_FIT_SAMPLES) return null;

  const decomposed = decomposeRayHomography(mul3(h, samples.normalisation));
  if (decomposed === null) return null;
  const { k, rotation } = decomposed;
  const fxPx = k[0]!, fyPx = k[4]!;
  if (!(fxPx > 0 && fyPx > 0 && Number.isFinite(fxPx) && Number.isFinite(fyPx) && Number.isFinite(k[2]!) && Number.isFinite(k[5]!))) return null;
  const centre = medianOrigin(rays, samples);
  return {
    worldFromCamera: fromRotationTranslation(rotation, centre),
    intrinsics: createIntrinsics({ fxPx, fyPx, cxPx: k[2]!, cyPx: k[5]!, width: rays.width, height: rays.height }),
    skewPx: k[1]!,
    inlierRatio: count / samples.count,
    numInliers: count,
    numSamples: samples.count,
  };
}

/** A depth + ray (+ camera) prediction for one view, all at one resolution (the shape DA3 adapters return). */
export interface DepthRayPrediction {
  /** z-depth (for 'zUnit' rays), width x height, NaN = invalid; `confidence` weights the ray fit. */
  readonly depth: { readonly width: number; readonly height: number; readonly data: Float32Array; readonly confidence?: Float32Array };
  readonly rays?: RayMap;
  /** Confidence of the rays (DA3's ray_conf); preferred over the depth confidence for the camera fit. */
  readonly rayConfidence?: Float32Array;
  /** A camera the network regressed directly (DA3's camera head), for this resolution. */
  readonly networkCamera?: Camera;
}

export type CameraSource = 'networkCamera' | 'rays';

export interface ViewGeometry {
  readonly camera: Camera;
  readonly cameraSource: CameraSource;
  /** World-frame points: t + D d when the prediction has rays, else the depth unprojected through `camera`. */
  readonly pointMap: PointMap;
  /** The ray fit, when the camera came from the rays. */
  readonly rayFit?: CameraFromRaysResult;
}

export interface ViewGeometryOptions extends Omit<CameraFromRaysOptions, 'weights'> {
  /** Where the camera comes from: the network's camera outputs when present (default), or always the rays. */
  readonly cameraFrom?: 'networkCameraWhenPresent' | 'rays';
}

/**
 * Camera and world points of one predicted view: the network's own camera when it has one (and the options allow
 * it), else `cameraFromRays` on the rays weighted by their confidence. Null when neither gives a camera.
 */
export function viewGeometryFromPrediction(view: DepthRayPrediction, options: ViewGeometryOptions = {}): ViewGeometry | null {
  const { width, height, data } = view.depth;
  if (view.rays !== undefined && (view.rays.width !== width || view.rays.height !== height)) {
    throw new InputError(`Rays are ${view.rays.width}x${view.rays.height} but the depth is ${width}x${height}; resize one to match.`);
  }
  const useNetwork = view.networkCamera !== undefined && (options.cameraFrom ?? 'networkCameraWhenPresent') === 'networkCameraWhenPresent';
  let camera: Camera;
  let cameraSource: CameraSource;
  let rayFit: CameraFromRaysResult | undefined;
  if (useNetwork) {
    camera = view.networkCamera!;
    cameraSource = 'networkCamera';
  } else {
    if (view.rays === undefined) return null;
    const weights = view.rayConfidence ?? view.depth.confidence;
    const fit = cameraFromRays(view.rays, { ...options, ...(weights !== undefined ? { weights } : {}) });
    if (fit === null) return null;
    camera = { intrinsics: fit.intrinsics, worldFromCamera: fit.worldFromCamera };
    cameraSource = 'rays';
    rayFit = fit;
  }
  const pointMap = view.rays !== undefined ? pointsFromRays(data, view.rays) : unprojectToWorld(data, camera, width, height);
  return rayFit !== undefined ? { camera, cameraSource, pointMap, rayFit } : { camera, cameraSource, pointMap };
}

/** z-depth through a pinhole camera into world coordinates (NaN for invalid depth). */
function unprojectToWorld(depth: Float32Array, camera: Camera, width: number, height: number): PointMap {
  const { fxPx, fyPx, cxPx, cyPx } = camera.intrinsics;
  if (camera.intrinsics.width !== width || camera.intrinsics.height !== height) {
    throw new InputError(`Camera intrinsics are for ${camera.intrinsics.width}x${camera.intrinsics.height} but the depth is ${width}x${height}.`);
  }
  const m = camera.worldFromCamera;
  const points = new Float32Array(width * height * 3);
  for (let v = 0; v < height; v++) {
    const y = (v - cyPx) / fyPx;
    for (let u = 0; u < width; u++) {
      const i = v * width + u;
      const z = depth[i]!;
      const o = i * 3;
      if (!(z > 0 && z < Infinity)) {
        points[o] = points[o + 1] = points[o + 2] = NaN;
        continue;
      }
      const x = ((u - cxPx) / fxPx) * z, yz = y * z;
      points[o] = m[0]! * x + m[1]! * yz + m[2]! * z + m[3]!;
      points[o + 1] = m[4]! * x + m[5]! * yz + m[6]! * z + m[7]!;
      points[o + 2] = m[8]! * x + m[9]! * yz + m[10]! * z + m[11]!;
    }
  }
  return createPointMap({ width, height, frame: 'world', points });
}
