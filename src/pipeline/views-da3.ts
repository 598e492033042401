/**
 * `anyview views --da3-model FILE`: cameras and one point cloud straight from a multi-view Depth Anything 3
 * network, as DA3 does it: one forward pass over all views gives per-view depth D and ray maps (origins t,
 * directions d); each view's camera comes from its rays (centre from t, rotation and intrinsics from a weighted
 * RANSAC homography between pixel rays and d, then RQ; geometry/rays.ts) or from the network's camera outputs,
 * and its world points are P = t + D d. The views' points are fused into one cloud (cross-view consistency,
 * voxels, a cap). No feature matching is involved; the world frame and scale are the network's.
 */
import type { Intrinsics } from '../core/camera.ts';
import type { RunContext } from '../core/context.ts';
import { ModelError, throwIfAborted } from '../core/errors.ts';
import type { Image } from '../core/image.ts';
import { createPointMap, type PointCloud, type PointMap } from '../core/points.ts';
import { fusePointClouds, type FusionView } from '../geometry/fusion.ts';
import { viewGeometryFromPrediction, type RayMap } from '../geometry/rays.ts';
import { invertPose, poseFromMat4, type RigidPose } from '../geometry/rigid.ts';
import { decodeImage, type AlphaHandling } from '../io/decode-image.ts';
import type { InferenceBackend } from '../models/backend.ts';
import { detectMultiViewDa3Contract, runMultiViewDa3 } from '../models/da3-multiview.ts';
import type { Reconstruction } from '../sfm/types.ts';
import type { DenseOptions } from './views-dense.ts';

export interface Da3ViewsOptions {
  /** The ONNX export (see src/models/da3-multiview.ts for the contract). */
  readonly modelPath: string;
  readonly dense: Pick<DenseOptions, 'maxPoints' | 'voxel' | 'maxPixelsPerView' | 'seed'>;
  readonly alpha: AlphaHandling;
  readonly intraOpThreads?: number;
}

export interface Da3ViewReport {
  readonly cameraSource: 'networkCamera' | 'rays';
  /** Ray-fit inliers (fraction of sampled pixels) when the camera came from the rays. */
  readonly rayInlierRatio?: number;
}

export interface Da3ViewsResult {
  /** Cameras per view (null where neither rays nor camera outputs gave one); no sparse points. */
  readonly reconstruction: Reconstruction;
  readonly cloud: PointCloud;
  readonly views: readonly (Da3ViewReport | null)[];
  readonly timingsMs: { readonly inference: number; readonly geometry: number };
}

/** Every `stride`-th pixel of a point map (block centres) with the matching colours and depth. */
function subsample(points: PointMap, image: Image<Uint8Array>, depth: Float32Array, stride: number) {
  const offset = Math.floor(stride / 2);
  const w = Math.floor(points.width / stride), h = Math.floor(points.height / stride);
  const out = new Float32Array(w * h * 3);
  const rgb = new Uint8Array(w * h * 3);
  const z = new Float32Array(w * h);
  const c = image.channels;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const src = (y * stride + offset) * points.width + x * stride + offset, dst = y * w + x;
      out.set(points.points.subarray(3 * src, 3 * src + 3), 3 * dst);
      for (let k = 0; k < 3; k++) rgb[3 * dst + k] = image.data[src * c + (c >= 3 ? k : 0)]!;
      z[dst] = depth[src]!;
    }
  }
  return { pointMap: createPointMap({ width: w, height: h, frame: 'world', points: out }), colors: { width: w, height: h, channels: 3 as const, colorSpace: image.colorSpace, data: rgb }, depth: z };
}

function scaleIntrinsics(k: Intrinsics, stride: number, width: number, height: number): Intrinsics {
  const offset = Math.floor(stride / 2);
  return { fxPx: k.fxPx / stride, fyPx: k.fyPx / stride, cxPx: (k.cxPx - offset) / stride, cyPx: (k.cyPx - offset) / stride, width, height };
}

export async function reconstructWithDa3(
  backend: InferenceBackend, paths: readonly string[], options: Da3ViewsOptions, context: RunContext = {},
): Promise<Da3ViewsResult> {
  const images: Image<Uint8Array>[] = [];
  for (const file of paths) {
    throwIfAborted(context.signal);
    images.push(await decodeImage({ path: file }, { alpha: options.alpha }));
  }
  const session = await backend.open(options.modelPath, { device: 'cpu', ...(options.intraOpThreads !== undefined ? { intraOpThreads: options.intraOpThreads } : {}) });
  const contract = detectMultiViewDa3Contract(session);
  const t0 = performance.now();
  const prediction = await runMultiViewDa3(session, images, { contract }, context);
  const t1 = performance.now();
  const poses: (RigidPose | null)[] = [];
  const intrinsics: Intrinsics[] = [];
  const reports: (Da3ViewReport | null)[] = [];
  const fusion: FusionView[] = [];
  for (const [v, view] of prediction.views.entries()) {
    throwIfAborted(context.signal);
    const image = images[v]!;
    const geometry = viewGeometryFromPrediction({
      depth: { width: view.depth.width, height: view.depth.height, data: view.depth.data, ...(view.confidence ? { confidence: view.confidence } : {}) },
      ...(view.rays ? { rays: view.rays as RayMap } : {}),
      ...(view.rayConfidence ? { rayConfidence: view.rayConfidence } : {}),
      ...(view.networkCamera ? { networkCamera: view.networkCamera } : {}),
    }, { seed: options.dense.seed + v });
    if (geometry === null) {
      poses.push(null);
      intrinsics.push({ fxPx: 1.2 * Math.max(image.width, image.height), fyPx: 1.2 * Math.max(image.width, image.height), cxPx: (image.width - 1) / 2, cyPx: (image.height - 1) / 2, width: image.width, height: image.height });
      reports.push(null);
      context.log?.warn(`${paths[v]}: the network gave no usable camera for this view (no rays that fit a pinhole camera, no camera outputs).`);
      continue;
    }
    poses.push(invertPose(poseFromMat4(geometry.camera.worldFromCamera)));
    intrinsics.push(geometry.camera.intrinsics);
    reports.push({
      cameraSource: geometry.cameraSource,
      ...(geometry.rayFit ? { rayInlierRatio: geometry.rayFit.inlierRatio } : {}),
    });
    const stride = Math.max(1, Math.ceil(Math.sqrt((image.width * image.height) / options.dense.maxPixelsPerView)));
    const small = subsample(geometry.pointMap, image, view.depth.data, stride);
    fusion.push({
      pointMap: small.pointMap, colors: small.colors, depth: small.depth,
      camera: { intrinsics: scaleIntrinsics(geometry.camera.intrinsics, stride, small.pointMap.width, small.pointMap.height), worldFromCamera: geometry.camera.worldFromCamera },
    });
    context.onProgress?.({ stage: 'depth', done: v + 1, total: prediction.views.length, unit: 'images', item: paths[v]! });
  }
  if (fusion.length === 0) throw new ModelError('the network gave no usable camera for any view.', { file: options.modelPath });
  const fused = fusePointClouds(fusion, {
    confidencePercentile: 0,
    ...(fusion.length >= 2 ? { consistency: { relativeTolerance: 0.05, minAgreeingViews: 1 } } : {}),
    ...(options.dense.voxel ? { voxel: options.dense.voxel } : {}),
    maxPoints: options.dense.maxPoints,
    seed: options.dense.seed,
  });
  return {
    reconstruction: { cameraFromWorld: poses, intrinsics, points: [] },
    cloud: fused.cloud,
    views: reports,
    timingsMs: { inference: t1 - t0, geometry: performance.now() - t1 },
  };
}
