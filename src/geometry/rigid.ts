/**
 * Rigid poses for multi-view geometry. A `RigidPose` maps points from one frame to another,
 * x_to = R x_from + t, and is always named for the direction it maps, like Mat4 (`cameraFromWorld`).
 * Structure-from-motion works internally with `cameraFromWorld` (as COLMAP's images.txt does);
 * everything user-facing is `worldFromCamera` (core/camera.ts), OpenCV axes (x right, y down, z forward).
 */
import { fromRotationTranslation, type Mat4 } from '../core/mat4.ts';
import { identity3, mul3, mulVec3, transpose3, type Mat3, type Vec3 } from './mat3.ts';

export interface RigidPose {
  /** Row-major 3x3 rotation. */
  readonly rotation: Mat3;
  readonly translation: Vec3;
}

export function identityPose(): RigidPose {
  return { rotation: identity3(), translation: new Float64Array(3) };
}

export function invertPose(pose: RigidPose): RigidPose {
  const rt = transpose3(pose.rotation);
  const t = mulVec3(rt, pose.translation);
  return { rotation: rt, translation: Float64Array.of(-t[0]!, -t[1]!, -t[2]!) };
}

/** compose(aFromB, bFromC) = aFromC. */
export function composePoses(aFromB: RigidPose, bFromC: RigidPose): RigidPose {
  const t = mulVec3(aFromB.rotation, bFromC.translation);
  return {
    rotation: mul3(aFromB.rotation, bFromC.rotation),
    translation: Float64Array.of(t[0]! + aFromB.translation[0]!, t[1]! + aFromB.translation[1]!, t[2]! + aFromB.translation[2]!),
  };
}

export function transformByPose(pose: RigidPose, p: ArrayLike<number>): Vec3 {
  const q = mulVec3(pose.rotation, p);
  q[0]! += pose.translation[0]!;
  q[1]! += pose.translation[1]!;
  q[2]! += pose.translation[2]!;
  return q;
}

/** Camera centre in world coordinates of a `cameraFromWorld` pose: C = -R^T t. */
export function cameraCenter(cameraFromWorld: RigidPose): Vec3 {
  return invertPose(cameraFromWorld).translation;
}

export function poseToMat4(pose: RigidPose): Mat4 {
  return fromRotationTranslation(pose.rotation, pose.translation);
}

export function poseFromMat4(m: Mat4): RigidPose {
  return {
    rotation: Float64Array.of(m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!),
    translation: Float64Array.of(m[3]!, m[7]!, m[11]!),
  };
}

/** OpenGL/Blender camera axes (x right, y up, z backward) <-> OpenCV (x right, y down, z forward). */
export function worldFromCameraOpenCvFromOpenGl(worldFromCameraGl: RigidPose): RigidPose {
  const r = worldFromCameraGl.rotation;
  return {
    rotation: Float64Array.of(r[0]!, -r[1]!, -r[2]!, r[3]!, -r[4]!, -r[5]!, r[6]!, -r[7]!, -r[8]!),
    translation: Float64Array.from(worldFromCameraGl.translation),
  };
}
