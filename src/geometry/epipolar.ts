/**
 * Epipolar geometry of two known cameras: the fundamental matrix they imply, and the matches that agree with
 * it. Pixels of the original images (x right, y down); poses are `cameraFromWorld`, OpenCV axes.
 */
import type { Intrinsics } from '../core/camera.ts';
import { sampsonErrorSquared } from './fundamental.ts';
import { mul3, skew3, transpose3, type Mat3 } from './mat3.ts';
import { composePoses, invertPose, type RigidPose } from './rigid.ts';

function inverseIntrinsics(k: Intrinsics): Mat3 {
  return Float64Array.of(
    1 / k.fxPx, 0, -k.cxPx / k.fxPx,
    0, 1 / k.fyPx, -k.cyPx / k.fyPx,
    0, 0, 1,
  );
}

/** Fundamental matrix F (x1^T F x0 = 0, in pixels) of two cameras: F = K1^-T [t]x R K0^-1, with camera1FromCamera0 = (R, t). */
export function fundamentalFromCameras(camera0FromWorld: RigidPose, camera1FromWorld: RigidPose, k0: Intrinsics, k1: Intrinsics): Mat3 {
  const relative = composePoses(camera1FromWorld, invertPose(camera0FromWorld));
  const essential = mul3(skew3(relative.translation), relative.rotation);
  return mul3(transpose3(inverseIntrinsics(k1)), mul3(essential, inverseIntrinsics(k0)));
}

/**
 * Indices m of the matches (keypoint indices i0, i1 interleaved, 2 per match) whose Sampson distance to the
 * epipolar geometry `fundamental` is at most `maxDistancePx`.
 */
export function matchesOnEpipolarLines(
  keypoints0: ArrayLike<number>, keypoints1: ArrayLike<number>, matches: ArrayLike<number>, fundamental: Mat3, maxDistancePx: number,
): number[] {
  const limit = maxDistancePx * maxDistancePx;
  const kept: number[] = [];
  for (let m = 0; m < matches.length / 2; m++) {
    const a = matches[2 * m]!, b = matches[2 * m + 1]!;
    const e = sampsonErrorSquared(fundamental, keypoints0[2 * a]!, keypoints0[2 * a + 1]!, keypoints1[2 * b]!, keypoints1[2 * b + 1]!);
    if (e <= limit) kept.push(m);
  }
  return kept;
}
