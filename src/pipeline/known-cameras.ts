/**
 * Known cameras for `anyview views --cameras FILE`: a NeRF-style transforms.json or a COLMAP model, matched to
 * the input images by path, else by file name. Poses come back as `cameraFromWorld` (OpenCV axes), the form
 * structure from motion uses.
 */
import path from 'node:path';
import type { Intrinsics } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { invertPose, poseFromMat4, type RigidPose } from '../geometry/rigid.ts';
import { readGroundTruthCameras } from './eval-poses.ts';

export interface KnownCameras {
  readonly intrinsics: Intrinsics[];
  readonly cameraFromWorld: RigidPose[];
}

/** The camera of every input path, from `file`; an input the file does not describe is an InputError naming it. */
export async function knownCamerasForPaths(file: string, paths: readonly string[]): Promise<KnownCameras> {
  const imagesDir = path.dirname(path.resolve(paths[0]!));
  const { views } = await readGroundTruthCameras(file, imagesDir);
  const byPath = new Map(views.map((v) => [path.resolve(v.imagePath), v]));
  const byName = new Map<string, (typeof views)[number] | null>();
  for (const v of views) {
    const name = path.basename(v.imagePath);
    byName.set(name, byName.has(name) ? null : v); // a name given twice cannot be matched by name
  }
  const missing: string[] = [];
  const intrinsics: Intrinsics[] = [];
  const cameraFromWorld: RigidPose[] = [];
  for (const p of paths) {
    const view = byPath.get(path.resolve(p)) ?? byName.get(path.basename(p)) ?? undefined;
    if (!view) { missing.push(path.basename(p)); continue; }
    intrinsics.push(view.intrinsics);
    cameraFromWorld.push(invertPose(poseFromMat4(view.worldFromCamera)));
  }
  if (missing.length > 0) {
    throw new InputError(`no camera for ${missing.length} input image(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}.`, { file });
  }
  return { intrinsics, cameraFromWorld };
}
