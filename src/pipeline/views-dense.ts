/**
 * Dense points for `anyview views`: per registered view, a single-image depth model's map is aligned to the
 * sparse structure-from-motion points that view sees (RANSAC least squares, scale and shift in the model's own
 * space: disparity for disparity models, depth otherwise), views that do not fit are rejected, and the aligned
 * maps are unprojected through the view's camera and fused (confidence / cross-view consistency, voxels, cap).
 */
import { median } from '../core/stats.ts';
import type { Camera, Intrinsics } from '../core/camera.ts';
import type { RunContext } from '../core/context.ts';
import { throwIfAborted } from '../core/errors.ts';
import type { Depth } from '../core/depth.ts';
import { createImage, type Image } from '../core/image.ts';
import { createPointMap, type PointCloud, type PointMap } from '../core/points.ts';
import { createDepth } from '../core/depth.ts';
import { transformPoint } from '../core/mat4.ts';
import { unprojectDepth } from '../geometry/unproject.ts';
import { decodeImage, type AlphaHandling } from '../io/decode-image.ts';
import { alignDepthToDepth, alignDisparityToDepth, type PixelSample } from '../geometry/align-scale-shift.ts';
import { fusePointClouds, type FusionStats, type FusionView, type VoxelGridSpec } from '../geometry/fusion.ts';
import { invertPose, poseToMat4, type RigidPose } from '../geometry/rigid.ts';
import { depthInCamera } from '../geometry/triangulate.ts';
import type { Reconstruction } from '../sfm/types.ts';

export interface DenseOptions {
  /** Fused cloud cap (DA3's default is 1M). */
  readonly maxPoints: number;
  /** Voxel averaging; undefined keeps every point. */
  readonly voxel: VoxelGridSpec | undefined;
  /** A view is used only when at least this fraction of its sparse points agree with the aligned depth. */
  readonly minInlierRatio: number;
  /** ... and at least this many. */
  readonly minInliers: number;
  /** Per-view point maps are subsampled to about this many pixels before fusion (memory). */
  readonly maxPixelsPerView: number;
  readonly alpha: AlphaHandling;
  readonly seed: number;
}

export const DEFAULT_DENSE_OPTIONS: DenseOptions = Object.freeze({
  maxPoints: 1_000_000,
  voxel: { fractionOfExtent: 0.002 },
  minInlierRatio: 0.5,
  minInliers: 20,
  maxPixelsPerView: 300_000,
  alpha: 'flattenWhite',
  seed: 0,
});

export interface DenseViewReport {
  readonly view: number;
  readonly used: boolean;
  readonly numSparse: number;
  readonly numInliers: number;
  readonly scale?: number;
  readonly shift?: number;
  readonly reason?: string;
}

export interface DenseResult {
  readonly cloud: PointCloud;
  readonly views: readonly DenseViewReport[];
  readonly stats: FusionStats;
}

/** The sparse points a view observes, as (pixel, z-depth in that camera) samples. */
export function sparseDepthSamples(reconstruction: Reconstruction, view: number, keypoints: Float32Array): PixelSample[] {
  const pose = reconstruction.cameraFromWorld[view];
  if (!pose) return [];
  const samples: PixelSample[] = [];
  for (const point of reconstruction.points) {
    for (let k = 0; k < point.track.length; k += 2) {
      if (point.track[k] !== view) continue;
      const kp = point.track[k + 1]!;
      const z = depthInCamera(pose, point.xyz);
      if (z > 0) samples.push({ x: keypoints[2 * kp]!, y: keypoints[2 * kp + 1]!, value: z });
    }
  }
  return samples;
}


/** The integer stride that brings a width x height map to at most about maxPixels. */
export function subsampleStride(width: number, height: number, maxPixels: number): number {
  return Math.max(1, Math.ceil(Math.sqrt((width * height) / maxPixels)));
}

/**
 * Subsamples an aligned depth map, its image and intrinsics by an integer stride (nearest pixel at each block's
 * centre), with the intrinsics moved to match: u' = (u - offset) / stride.
 */
export function strideSubsample(depth: Float32Array, image: Image<Uint8Array>, intrinsics: Intrinsics, maxPixels: number) {
  const stride = subsampleStride(image.width, image.height, maxPixels);
  const offset = Math.floor(stride / 2);
  const w = Math.floor(image.width / stride), h = Math.floor(image.height / stride);
  const outDepth = new Float32Array(w * h);
  const outRgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const src = (y * stride + offset) * image.width + x * stride + offset;
      outDepth[y * w + x] = depth[src]!;
      outRgb.set(image.data.subarray(src * 3, src * 3 + 3), (y * w + x) * 3);
    }
  }
  const k: Intrinsics = {
    fxPx: intrinsics.fxPx / stride, fyPx: intrinsics.fyPx / stride,
    cxPx: (intrinsics.cxPx - offset) / stride, cyPx: (intrinsics.cyPx - offset) / stride, width: w, height: h,
  };
  return { depth: outDepth, image: createImage({ width: w, height: h, channels: 3, colorSpace: 'srgb', data: outRgb }), intrinsics: k };
}

/** World points of a z-depth map seen by a camera (NaN where the depth is invalid): unproject, then move to world. */
function worldPointMap(depth: Float32Array, k: Intrinsics, cameraFromWorld: RigidPose): PointMap {
  const cameraPoints = unprojectDepth(createDepth({ kind: 'relativeDepth', width: k.width, height: k.height, data: depth }), k);
  const worldFromCamera = poseToMat4(invertPose(cameraFromWorld));
  const points = cameraPoints.points;
  for (let o = 0; o < points.length; o += 3) {
    if (Number.isNaN(points[o + 2]!)) continue;
    transformPoint(worldFromCamera, points[o]!, points[o + 1]!, points[o + 2]!, points, o);
  }
  return createPointMap({ width: k.width, height: k.height, frame: 'world', points });
}

/** Fuses per-view world points into one cloud: cross-view consistency (5%), voxels, the point cap. */
export function fuseDenseViews(views: readonly FusionView[], options: Pick<DenseOptions, 'voxel' | 'maxPoints' | 'seed'>) {
  return fusePointClouds(views, {
    confidencePercentile: 0,
    ...(views.length >= 2 ? { consistency: { relativeTolerance: 0.05, minAgreeingViews: 1 } } : {}),
    ...(options.voxel ? { voxel: options.voxel } : {}),
    maxPoints: options.maxPoints,
    seed: options.seed,
  });
}

export type DepthFunction = (image: Image<Uint8Array>, intrinsics: Intrinsics, context: RunContext) => Promise<Depth>;

export async function densifyViews(
  reconstruction: Reconstruction, views: readonly { readonly path: string; readonly keypoints: Float32Array }[],
  estimateDepth: DepthFunction, options: DenseOptions, context: RunContext = {},
): Promise<DenseResult> {
  const fusionViews: FusionView[] = [];
  const reports: DenseViewReport[] = [];
  const registered = reconstruction.cameraFromWorld.map((p, i) => (p ? i : -1)).filter((i) => i >= 0);
  for (const [done, v] of registered.entries()) {
    throwIfAborted(context.signal);
    const pose = reconstruction.cameraFromWorld[v]!;
    const samples = sparseDepthSamples(reconstruction, v, views[v]!.keypoints);
    const image = await decodeImage({ path: views[v]!.path }, { alpha: options.alpha });
    const intrinsics = reconstruction.intrinsics[v]!;
    const depth = await estimateDepth(image, intrinsics, context);
    // Depth models predict at the image's size; the threshold is relative to the scene's own depth scale.
    const zMedian = median(samples.map((s) => s.value));
    const disparityModel = depth.kind === 'disparity';
    const threshold = disparityModel ? 0.05 / zMedian : 0.05 * zMedian;
    const ransac = { threshold, iterations: 200, seed: options.seed + v };
    const aligned = samples.length >= options.minInliers
      ? (disparityModel ? alignDisparityToDepth(depth, { samples }, { ransac }) : alignDepthToDepth(depth, { samples }, { ransac }))
      : undefined;
    const numInliers = aligned?.inlierMask ? aligned.inlierMask.reduce((a, b) => a + b, 0) : 0;
    const ok = aligned !== undefined && numInliers >= options.minInliers && numInliers >= options.minInlierRatio * samples.length;
    reports.push({
      view: v, used: ok, numSparse: samples.length, numInliers,
      ...(aligned ? { scale: aligned.scale, shift: aligned.shift } : {}),
      ...(ok ? {} : { reason: samples.length < options.minInliers ? 'too few sparse points' : 'depth does not fit the sparse points' }),
    });
    if (ok) {
      const small = strideSubsample(aligned.depthMeters, image, intrinsics, options.maxPixelsPerView);
      const camera: Camera = { intrinsics: small.intrinsics, worldFromCamera: poseToMat4(invertPose(pose)) };
      fusionViews.push({ pointMap: worldPointMap(small.depth, small.intrinsics, pose), colors: small.image, camera, depth: small.depth });
    }
    context.onProgress?.({ stage: 'depth', done: done + 1, total: registered.length, unit: 'images', item: views[v]!.path });
  }
  const fused = fuseDenseViews(fusionViews, options);
  return { cloud: fused.cloud, views: reports, stats: fused.stats };
}
