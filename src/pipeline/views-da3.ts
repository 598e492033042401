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
import type { FusionView } from '../geometry/fusion.ts';
import { viewGeometryFromPrediction, type RayMap } from '../geometry/rays.ts';
import { invertPose, poseFromMat4, type RigidPose } from '../geometry/rigid.ts';
import { decodeImage, type AlphaHandling } from '../io/decode-image.ts';
import type { InferenceBackend } from '../models/backend.ts';
import { detectMultiViewDa3Contract, runMultiViewDa3 } from '../models/da3-multiview.ts';
import type { Reconstruction } from '../sfm/types.ts';
import { fuseDenseViews, strideSubsample, subsampleStride, type DenseOptions } from './views-dense.ts';

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

/** The block-centre pixels of a point map at an integer stride (as strideSubsample picks them). */
function subsamplePoints(points: PointMap, stride: number, width: number, height: number): PointMap {
  const offset = Math.floor(stride / 2);
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (y * stride + offset) * points.width + x * stride + offset;
      out.set(points.points.subarray(3 * src, 3 * src + 3), 3 * (y * width + x));
    }
  }
  return createPointMap({ width, height, frame: 'world', points: out });
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
    const small = strideSubsample(view.depth.data, image, geometry.camera.intrinsics, options.dense.maxPixelsPerView);
    const stride = subsampleStride(image.width, image.height, options.dense.maxPixelsPerView);
    fusion.push({
      pointMap: subsamplePoints(geometry.pointMap, stride, small.image.width, small.image.height),
      colors: small.image, depth: small.depth,
      camera: { intrinsics: small.intrinsics, worldFromCamera: geometry.camera.worldFromCamera },
    });
    context.onProgress?.({ stage: 'depth', done: v + 1, total: prediction.views.length, unit: 'images', item: paths[v]! });
  }
  if (fusion.length === 0) throw new ModelError('the network gave no usable camera for any view.', { file: options.modelPath });
  const fused = fuseDenseViews(fusion, options.dense);
  return {
    reconstruction: { cameraFromWorld: poses, intrinsics, points: [] },
    cloud: fused.cloud,
    views: reports,
    timingsMs: { inference: t1 - t0, geometry: performance.now() - t1 },
  };
}
