/**
 * What `anyview views` writes into its output folder:
 * - `cameras.json`: intrinsics and `worldFromCamera` per view, conventions spelled out (io/formats/cameras-json.ts);
 * - `points.ply`: the point cloud (fused dense points when a depth model ran, else the sparse SfM points);
 * - `scene.glb`: the points plus one frustum per registered camera (glTF axes, y up);
 * - `colmap/sparse/0/*.bin` and `colmap/text/*.txt`: the sparse model in COLMAP's binary and text forms.
 */
import path from 'node:path';
import type { Intrinsics } from '../core/camera.ts';
import type { Mat4 } from '../core/mat4.ts';
import type { PointCloud } from '../core/points.ts';
import { createPointCloud } from '../core/points.ts';
import { ensureWritableDir, writeFileAtomic } from '../io/atomic-write.ts';
import { writeCamerasJson, type SceneUnits } from '../io/formats/cameras-json.ts';
import {
  colmapCameraFromIntrinsics, colmapPoseFromWorldFromCamera, COLMAP_PIXEL_OFFSET, writeColmapModel,
  type ColmapImage, type ColmapModel, type ColmapPoint3D,
} from '../io/formats/colmap.ts';
import { writeSceneGlb } from '../io/formats/glb.ts';
import { encodePly } from '../io/formats/ply.ts';
import { invertPose, poseToMat4 } from '../geometry/rigid.ts';
import type { Reconstruction } from '../sfm/types.ts';

export const VIEWS_OUTPUT_FORMATS = ['cameras', 'ply', 'glb', 'colmap'] as const;
export type ViewsOutputFormat = (typeof VIEWS_OUTPUT_FORMATS)[number];

export const VIEWS_OUTPUT_FILES = Object.freeze({
  cameras: 'cameras.json',
  ply: 'points.ply',
  glb: 'scene.glb',
  colmapBinary: path.join('colmap', 'sparse', '0'),
  colmapText: path.join('colmap', 'text'),
});

export interface ViewRecord {
  /** The name written into cameras.json and COLMAP (the file name relative to the common input folder). */
  readonly name: string;
  /** Keypoints (x, y interleaved) the reconstruction's tracks index into. */
  readonly keypoints: Float32Array;
}

/** `worldFromCamera` per view (null for unregistered views). */
export function worldFromCameras(reconstruction: Reconstruction): (Mat4 | null)[] {
  return reconstruction.cameraFromWorld.map((pose) => (pose ? poseToMat4(invertPose(pose)) : null));
}

/** The sparse points as a coloured point cloud (world frame). */
export function sparsePointCloud(reconstruction: Reconstruction): PointCloud {
  const n = reconstruction.points.length;
  const positions = new Float32Array(n * 3);
  const colors = new Uint8Array(n * 3);
  reconstruction.points.forEach((p, i) => {
    positions.set(p.xyz, i * 3);
    colors.set(p.color, i * 3);
  });
  return createPointCloud({ numPoints: n, frame: 'world', positions, colors });
}

/**
 * The reconstruction as a COLMAP model: one PINHOLE camera per view, image id = view index + 1, point ids from 1,
 * keypoints shifted by COLMAP's half-pixel convention. Unregistered views are left out (COLMAP has no pose-less images).
 */
export function colmapModelOf(reconstruction: Reconstruction, views: readonly ViewRecord[]): ColmapModel {
  const registered = reconstruction.cameraFromWorld.map((pose, i) => (pose ? i : -1)).filter((i) => i >= 0);
  const point3DIds = views.map((v) => new Float64Array(v.keypoints.length / 2).fill(-1));
  const points3D: ColmapPoint3D[] = reconstruction.points.map((p, index) => {
    const track: number[] = [];
    for (let k = 0; k < p.track.length; k += 2) {
      const view = p.track[k]!, keypoint = p.track[k + 1]!;
      track.push(view + 1, keypoint);
      point3DIds[view]![keypoint] = index + 1;
    }
    return { id: index + 1, xyz: p.xyz, rgb: p.color, error: p.meanReprojectionErrorPx, track };
  });
  const images: ColmapImage[] = registered.map((i) => {
    const { qvec, tvec } = colmapPoseFromWorldFromCamera(poseToMat4(invertPose(reconstruction.cameraFromWorld[i]!)));
    const kp = views[i]!.keypoints;
    const points2D = new Float64Array(kp.length);
    for (let k = 0; k < kp.length; k++) points2D[k] = kp[k]! + COLMAP_PIXEL_OFFSET;
    return { id: i + 1, qvec, tvec, cameraId: i + 1, name: views[i]!.name, points2D, point3DIds: point3DIds[i]! };
  });
  const cameras = registered.map((i) => colmapCameraFromIntrinsics(i + 1, reconstruction.intrinsics[i]!));
  return { cameras, images, points3D };
}

export interface ViewsOutputInput {
  readonly reconstruction: Reconstruction;
  readonly views: readonly ViewRecord[];
  /** Dense fused points when a depth model ran; otherwise the sparse points are written. */
  readonly denseCloud?: PointCloud;
  readonly units: SceneUnits;
}

/** Writes the chosen formats atomically; returns the written paths. */
export async function writeViewsOutputs(outDir: string, formats: readonly ViewsOutputFormat[], input: ViewsOutputInput): Promise<string[]> {
  await ensureWritableDir(outDir);
  const written: string[] = [];
  const poses = worldFromCameras(input.reconstruction);
  const intrinsics: readonly Intrinsics[] = input.reconstruction.intrinsics;
  const cloud = input.denseCloud ?? sparsePointCloud(input.reconstruction);
  if (formats.includes('cameras')) {
    const file = path.join(outDir, VIEWS_OUTPUT_FILES.cameras);
    await writeCamerasJson(file, {
      units: input.units,
      views: input.views.map((v, i) => ({ name: v.name, intrinsics: intrinsics[i]!, worldFromCamera: poses[i]! })),
    });
    written.push(file);
  }
  if (formats.includes('ply')) {
    const file = path.join(outDir, VIEWS_OUTPUT_FILES.ply);
    await writeFileAtomic(file, encodePly(cloud, { comments: [input.denseCloud ? 'dense points fused from depth maps' : 'sparse structure-from-motion points'] }));
    written.push(file);
  }
  if (formats.includes('glb')) {
    const file = path.join(outDir, VIEWS_OUTPUT_FILES.glb);
    const cameras = input.views.flatMap((v, i) => (poses[i] ? [{ name: v.name, intrinsics: intrinsics[i]!, worldFromCamera: poses[i]! }] : []));
    await writeSceneGlb(file, { points: cloud, cameras });
    written.push(file);
  }
  if (formats.includes('colmap')) {
    const model = colmapModelOf(input.reconstruction, input.views);
    for (const [dir, format] of [[VIEWS_OUTPUT_FILES.colmapBinary, 'binary'], [VIEWS_OUTPUT_FILES.colmapText, 'text']] as const) {
      const target = path.join(outDir, dir);
      await ensureWritableDir(target);
      written.push(...(await writeColmapModel(target, model, { format })));
    }
  }
  return written;
}
