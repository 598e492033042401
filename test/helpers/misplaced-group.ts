/**
 * A synthetic reconstruction with one group of views misplaced, as repeated or symmetric structure leaves it:
 * the group is right within itself, but moved as a whole by a rigid transform (here a half turn about the
 * vertical axis, the lego's flip), and its points were never matched with the other views' points.
 */
import { mul3, rotationFromAxisAngle, transpose3 } from '../../src/geometry/mat3.ts';
import type { RigidPose } from '../../src/geometry/rigid.ts';
import type { Reconstruction, SfmPoint } from '../../src/sfm/types.ts';
import type { SyntheticScene } from './synthetic-scene.ts';

/** Half turn about world +z (the synthetic scenes' up axis) through the object centre. */
export const HALF_TURN_Z = rotationFromAxisAngle([0, 0, Math.PI]);

/**
 * Ground-truth reconstruction of the scene with each point split into one track per side (`moved` views and the
 * others); the moved side's cameras and points are turned by `turn` about the origin when `misplace` is set.
 * Points need two observations on their side.
 */
export function splitSideModel(scene: SyntheticScene, moved: ReadonlySet<number>, misplace: boolean, turn = HALF_TURN_Z): Reconstruction {
  const numPoints = scene.points.length / 3;
  const tracks = [new Map<number, number[]>(), new Map<number, number[]>()];
  for (let o = 0; o < scene.observationCamera.length; o++) {
    const v = scene.observationCamera[o]!, p = scene.observationPoint[o]!;
    const side = moved.has(v) ? 1 : 0;
    let list = tracks[side]!.get(p);
    if (!list) tracks[side]!.set(p, list = []);
    list.push(v, scene.observationKeypoint[o]!);
  }
  const points: SfmPoint[] = [];
  for (const side of [0, 1]) {
    for (let p = 0; p < numPoints; p++) {
      const track = tracks[side]!.get(p);
      if (!track || track.length < 4) continue;
      const x = scene.points.subarray(3 * p, 3 * p + 3);
      const xyz = side === 1 && misplace ? Float64Array.from([0, 1, 2], (r) => turn[3 * r]! * x[0]! + turn[3 * r + 1]! * x[1]! + turn[3 * r + 2]! * x[2]!) : Float64Array.from(x);
      points.push({ xyz, color: [128, 128, 128], meanReprojectionErrorPx: 0, track: Uint32Array.from(track) });
    }
  }
  const cameraFromWorld = scene.cameraFromWorld.map((pose, v): RigidPose => {
    if (!misplace || !moved.has(v)) return pose;
    // x_cam = R (turn^T x) + t: the camera moves with its points.
    return { rotation: mul3(pose.rotation, transpose3(turn)), translation: Float64Array.from(pose.translation) };
  });
  return { cameraFromWorld, intrinsics: scene.views.map((v) => v.intrinsics), points };
}
