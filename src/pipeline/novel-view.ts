/**
 * Novel-view and in-between-frame quality of Gaussians built from real RGB-D frames with ground-truth poses:
 * Gaussians from GT depth + GT pose + RGB (gaussiansFromDepth), merged over source frames (mergeGaussianViews),
 * rendered at held-out frames' cameras (renderGaussians) and scored against the real images (PSNR, SSIM), next to
 * a naive point-cloud render of the same centres (renderPointsNaive). For 4D, a dropped frame is rebuilt from its
 * neighbours' sets with interpolateGaussians and compared with nearest-frame baselines.
 * Loaders: Redwood living-room (Open3D test data: trajectory.log) and the TUM dense-VO pairs (pose_*.txt).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createCamera, createIntrinsics, type Camera } from '../core/camera.ts';
import { createDepth, type MetricDepthMap } from '../core/depth.ts';
import { FormatError } from '../core/errors.ts';
import type { GaussianSet } from '../core/gaussians.ts';
import { createImage, type Image } from '../core/image.ts';
import { fromRotationTranslation, invertRigid } from '../core/mat4.ts';
import { rotationFromQuaternion } from '../core/quaternion.ts';
import { gaussiansFromDepth, type GaussiansFromDepthOptions } from '../splat/from-depth.ts';
import { correspondNearest, correspondPixels, interpolateGaussians } from '../splat/interpolate.ts';
import { mergeGaussianViews, type MergeOptions } from '../splat/merge.ts';
import { renderPointsNaive } from '../splat/points-naive.ts';
import { renderGaussians } from '../splat/rasterize.ts';
import { REDWOOD_DATASET, parseRedwoodTrajectory } from '../eval/datasets/redwood.ts';
import { TUM_DATASET } from '../eval/datasets/tum.ts';
import { readRgbImage } from '../eval/datasets/types.ts';
import { psnr, ssim } from '../eval/image-metrics.ts';

/** One real RGB-D frame with its GT camera (OpenCV axes, metres); depth null when the frame has no usable GT depth. */
export interface RgbdFrame {
  readonly id: string;
  readonly image: Image<Uint8Array>;
  readonly depth: MetricDepthMap | null;
  readonly camera: Camera;
}

export interface ImageScore {
  readonly psnr: number;
  readonly ssim: number;
}

/** Scores over the whole image, and over the pixels the sources' GT geometry sees (see covisibilityMask). */
export interface ViewScore {
  readonly full: ImageScore;
  readonly covisible: ImageScore;
}

function toDepth(width: number, height: number, meters: Float32Array): MetricDepthMap {
  return createDepth({ kind: 'metricDepth', width, height, data: meters });
}

/** Redwood frames in trajectory order (frame k of rgbd.match has pose k of trajectory.log). */
export async function loadRedwoodFrames(root: string): Promise<RgbdFrame[]> {
  const samples = await REDWOOD_DATASET.list(root);
  const folder = path.dirname(path.dirname(samples[0]!.rgbPath));
  const trajectoryPath = path.join(folder, 'trajectory.log');
  const poses = parseRedwoodTrajectory(await readFile(trajectoryPath, 'utf8'), trajectoryPath);
  if (poses.length < samples.length) throw new FormatError(`has ${poses.length} poses for ${samples.length} frames.`, { file: trajectoryPath });
  const frames: RgbdFrame[] = [];
  for (let k = 0; k < samples.length; k++) {
    const loaded = await REDWOOD_DATASET.load(samples[k]!);
    frames.push({ id: samples[k]!.id, image: loaded.image, depth: toDepth(loaded.width, loaded.height, loaded.depthMeters), camera: createCamera(loaded.intrinsics, poses[k]!) });
  }
  return frames;
}

/** A TUM pose line "tx ty tz qx qy qz qw" (world <- camera) as worldFromCamera. */
export function parseTumPose(text: string, file = 'pose.txt'): Float64Array {
  const v = text.trim().split(/\s+/).map(Number);
  if (v.length !== 7 || v.some((x) => !Number.isFinite(x))) throw new FormatError(`expected "tx ty tz qx qy qz qw", got "${text.trim()}".`, { file });
  return fromRotationTranslation(rotationFromQuaternion([v[6]!, v[3]!, v[4]!, v[5]!]), [v[0]!, v[1]!, v[2]!]);
}

/**
 * The dense-VO TUM pairs as [prev, curr] per case. The TUM loader skips case_2's current depth (an upstream copy
 * of case_1's), so that frame comes with depth null: usable as a target view, not as a source.
 */
export async function loadTumPairs(root: string): Promise<[RgbdFrame, RgbdFrame][]> {
  const samples = (await TUM_DATASET.list(root)).filter((s) => s.id.startsWith('densevo/'));
  if (samples.length === 0) throw new FormatError('no dense-VO TUM pairs (examples/case_N) found.', { file: root });
  const folder = path.dirname(path.dirname(samples[0]!.rgbPath));
  const intrinsics = samples[0]!.intrinsics;
  const cases = [...new Set(samples.map((s) => s.id.split('/')[1]!))];
  const pairs: [RgbdFrame, RgbdFrame][] = [];
  for (const caseName of cases) {
    const load = async (which: 'prev' | 'curr'): Promise<RgbdFrame> => {
      const posePath = path.join(folder, caseName, `pose_${which}.txt`);
      const camera = createCamera(intrinsics, parseTumPose(await readFile(posePath, 'utf8'), posePath));
      const sample = samples.find((s) => s.id === `densevo/${caseName}/${which}`);
      if (sample !== undefined) {
        const loaded = await TUM_DATASET.load(sample);
        return { id: sample.id, image: loaded.image, depth: toDepth(loaded.width, loaded.height, loaded.depthMeters), camera };
      }
      return { id: `densevo/${caseName}/${which}`, image: await readRgbImage(path.join(folder, caseName, `img_${which}.png`)), depth: null, camera };
    };
    pairs.push([await load('prev'), await load('curr')]);
  }
  return pairs;
}

export function scoreImage(rendered: Image, target: Image, mask?: Uint8Array): ImageScore {
  const options = mask === undefined ? { channels: 'rgb' as const } : { channels: 'rgb' as const, mask };
  return { psnr: psnr(rendered, target, options), ssim: ssim(rendered, target, options).mean };
}

function scoreView(rendered: Image, target: Image, mask: Uint8Array): ViewScore {
  return { full: scoreImage(rendered, target), covisible: scoreImage(rendered, target, mask) };
}

/**
 * Target pixels whose GT surface point (target depth unprojected with the target's GT pose) is seen by at least one
 * source frame: it projects inside the source image onto a valid source depth within `relativeTolerance`. The same
 * mask for every method, from GT geometry only, so it scores the part of the view the sources can explain
 * (the rest, never observed, is black in every render).
 */
export function covisibilityMask(target: RgbdFrame, sources: readonly RgbdFrame[], relativeTolerance = 0.05): Uint8Array {
  if (target.depth === null) throw new FormatError(`frame ${target.id} has no GT depth for a covisibility mask.`);
  const { width, height, fxPx, fyPx, cxPx, cyPx } = target.camera.intrinsics;
  const mask = new Uint8Array(width * height);
  const w = target.camera.worldFromCamera;
  const views = sources.map((source) => ({ source, v: invertRigid(source.camera.worldFromCamera) }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const z = target.depth.data[y * width + x]!;
      if (!(z > 0)) continue;
      const cx = ((x - cxPx) / fxPx) * z, cy = ((y - cyPx) / fyPx) * z;
      const px = w[0]! * cx + w[1]! * cy + w[2]! * z + w[3]!;
      const py = w[4]! * cx + w[5]! * cy + w[6]! * z + w[7]!;
      const pz = w[8]! * cx + w[9]! * cy + w[10]! * z + w[11]!;
      for (const { source, v } of views) {
        if (source.depth === null) continue;
        const sz = v[8]! * px + v[9]! * py + v[10]! * pz + v[11]!;
        if (!(sz > 0)) continue;
        const k = source.camera.intrinsics;
        const u = Math.round((k.fxPx * (v[0]! * px + v[1]! * py + v[2]! * pz + v[3]!)) / sz + k.cxPx);
        const t = Math.round((k.fyPx * (v[4]! * px + v[5]! * py + v[6]! * pz + v[7]!)) / sz + k.cyPx);
        if (u < 0 || u >= k.width || t < 0 || t >= k.height) continue;
        const d = source.depth.data[t * k.width + u]!;
        if (d > 0 && Math.abs(d - sz) <= relativeTolerance * sz) { mask[y * width + x] = 1; break; }
      }
    }
  }
  return mask;
}

/**
 * A frame at half resolution: colour as 2x2 means, depth as the 2x2 mean where all four are valid and within 5% of
 * their mean (else NaN, so depth edges are not blended), intrinsics for the coarser pixel grid (centre of new pixel
 * x is old x = 2x + 0.5: f' = f / 2, c' = (c - 0.5) / 2). For quick tests on the same real data.
 */
export function halveFrame(frame: RgbdFrame): RgbdFrame {
  const { width, height, fxPx, fyPx, cxPx, cyPx } = frame.camera.intrinsics;
  const w = Math.floor(width / 2), h = Math.floor(height / 2);
  const c = frame.image.channels;
  const rgb = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
    const at = (dx: number, dy: number): number => frame.image.data[((2 * y + dy) * width + 2 * x + dx) * c + ch]!;
    rgb[(y * w + x) * c + ch] = Math.round((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4);
  }
  let depth: MetricDepthMap | null = null;
  if (frame.depth !== null) {
    const src = frame.depth.data;
    const out = new Float32Array(w * h).fill(NaN);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const d = [src[2 * y * width + 2 * x]!, src[2 * y * width + 2 * x + 1]!, src[(2 * y + 1) * width + 2 * x]!, src[(2 * y + 1) * width + 2 * x + 1]!];
      if (!d.every((v) => v > 0)) continue;
      const mean = (d[0]! + d[1]! + d[2]! + d[3]!) / 4;
      if (d.every((v) => Math.abs(v - mean) <= 0.05 * mean)) out[y * w + x] = mean;
    }
    depth = toDepth(w, h, out);
  }
  const intrinsics = createIntrinsics({ fxPx: fxPx / 2, fyPx: fyPx / 2, cxPx: (cxPx - 0.5) / 2, cyPx: (cyPx - 0.5) / 2, width: w, height: h });
  return { id: frame.id, image: createImage({ width: w, height: h, channels: frame.image.channels, data: rgb }), depth, camera: createCamera(intrinsics, frame.camera.worldFromCamera) };
}

export interface BuildOptions {
  readonly fromDepth?: GaussiansFromDepthOptions;
  readonly merge?: MergeOptions;
}

/** One frame's Gaussians (world frame) and their source pixels. */
export function frameGaussians(frame: RgbdFrame, options: BuildOptions = {}): { gaussians: GaussianSet; pixelIndices: Int32Array } {
  if (frame.depth === null) throw new FormatError(`frame ${frame.id} has no usable GT depth.`);
  return gaussiansFromDepth(frame.depth, frame.camera, frame.image, options.fromDepth);
}

/** Gaussians of several frames, merged (duplicates and, when asked, floaters removed). */
export function buildMergedGaussians(frames: readonly RgbdFrame[], options: BuildOptions = {}): GaussianSet {
  const views = frames.map((frame) => ({ gaussians: frameGaussians(frame, options).gaussians, camera: frame.camera, depth: frame.depth! }));
  return mergeGaussianViews(views, options.merge).gaussians;
}

export interface NovelViewRow {
  readonly target: string;
  readonly sources: readonly string[];
  readonly gaussians: number;
  /** Fraction of the target's pixels in the covisibility mask. */
  readonly covisibleFraction: number;
  readonly splats: ViewScore;
  /** Point baselines by square radius (0: 1 px, 1: 3x3). */
  readonly points: Readonly<Record<'r0' | 'r1', ViewScore>>;
}

/** Renders `set` (built from `sources`) at each target camera with splats and with points, scored against the real images. */
export function scoreNovelViews(set: GaussianSet, sources: readonly RgbdFrame[], targets: readonly RgbdFrame[]): NovelViewRow[] {
  return targets.map((target) => {
    const mask = covisibilityMask(target, sources);
    return {
      target: target.id,
      sources: sources.map((s) => s.id),
      gaussians: set.count,
      covisibleFraction: mask.reduce((sum, v) => sum + v, 0) / mask.length,
      splats: scoreView(renderGaussians(set, target.camera).color, target.image, mask),
      points: {
        r0: scoreView(renderPointsNaive(set, target.camera, { radiusPx: 0 }).color, target.image, mask),
        r1: scoreView(renderPointsNaive(set, target.camera, { radiusPx: 1 }).color, target.image, mask),
      },
    };
  });
}

export type InBetweenMatch = 'pixels' | 'nearest';

export interface InBetweenOptions extends BuildOptions {
  /** How the neighbours' Gaussians correspond: same source pixel, or nearest in position + colour. Default 'nearest'. */
  readonly match?: InBetweenMatch;
  /** correspondNearest's maxDistance in metres. Default 0.05. */
  readonly maxDistance?: number;
  /** correspondNearest's colour weight (metres per unit RGB). Default 0.05. */
  readonly colorWeight?: number;
}

export interface InBetweenRow {
  readonly dropped: string;
  readonly previous: string;
  readonly next: string;
  readonly fraction: number;
  readonly matchedFraction: number;
  /** interpolateGaussians(previous, next, s) rendered at the dropped camera. */
  readonly interpolated: ViewScore;
  /** The previous / next kept frame's set rendered at the dropped camera. */
  readonly previousSet: ViewScore;
  readonly nextSet: ViewScore;
  /** The previous / next kept frame's image itself, as the dropped frame. */
  readonly previousImage: ViewScore;
  readonly nextImage: ViewScore;
}

/** Rebuilds `dropped` (at fraction s between its neighbours) from the neighbours' sets, with the baselines. */
export function scoreInBetween(previous: RgbdFrame, dropped: RgbdFrame, next: RgbdFrame, s: number, options: InBetweenOptions = {}): InBetweenRow {
  const a = frameGaussians(previous, options);
  const b = frameGaussians(next, options);
  const match = (options.match ?? 'nearest') === 'pixels'
    ? correspondPixels(a.pixelIndices, b.pixelIndices, { stride: options.fromDepth?.stride ?? 1 })
    : correspondNearest(a.gaussians, b.gaussians, { maxDistance: options.maxDistance ?? 0.05, colorWeight: options.colorWeight ?? 0.05, mutual: true });
  let matched = 0;
  for (const m of match) if (m >= 0) matched++;
  const between = interpolateGaussians(a.gaussians, b.gaussians, match, s);
  const mask = covisibilityMask(dropped, [previous, next]);
  const render = (set: GaussianSet): ViewScore => scoreView(renderGaussians(set, dropped.camera).color, dropped.image, mask);
  return {
    dropped: dropped.id, previous: previous.id, next: next.id, fraction: s, matchedFraction: matched / Math.max(1, a.gaussians.count),
    interpolated: render(between),
    previousSet: render(a.gaussians),
    nextSet: render(b.gaussians),
    previousImage: scoreView(previous.image, dropped.image, mask),
    nextImage: scoreView(next.image, dropped.image, mask),
  };
}

/** An 8-bit copy of a float render (for writing PNGs). */
export function toUint8(image: Image<Float32Array>): Image<Uint8Array> {
  return createImage({ width: image.width, height: image.height, channels: image.channels, data: Uint8Array.from(image.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)) });
}
