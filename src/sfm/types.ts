/**
 * Inputs and outputs of multi-view reconstruction. Poses here are `cameraFromWorld` (x_cam = R x_world + t,
 * OpenCV axes), as in COLMAP; the pipeline converts them to the user-facing `worldFromCamera`.
 */
import type { Intrinsics } from '../core/camera.ts';
import type { RigidPose } from '../geometry/rigid.ts';

export interface SfmView {
  /** Index of the view in the input order (0-based). */
  readonly index: number;
  readonly name: string;
  /** Initial intrinsics (from the user, EXIF or a FOV prior); refined only if the options say so. */
  readonly intrinsics: Intrinsics;
  /** Keypoints x, y interleaved, pixels of the original image. */
  readonly keypoints: Float32Array;
  /** Optional RGB per keypoint (3 per keypoint), for coloured points. */
  readonly keypointColors?: Uint8Array;
}

/** Geometrically verified correspondences between two views (inliers only). */
export interface VerifiedPair {
  readonly view0: number;
  readonly view1: number;
  /** Keypoint index pairs (i0, i1) interleaved, 2 per match. */
  readonly matches: Uint32Array;
  /**
   * Relative pose `camera1FromCamera0` with unit-length translation, when the essential matrix gave one. The
   * rotation holds at any baseline; the translation direction only with enough triangulation angle.
   */
  readonly pose1From0?: RigidPose;
  /** Median triangulation angle of the inliers in degrees (small means near-pure rotation). Set with the pose. */
  readonly medianTriangulationAngleDeg?: number;
}

export interface SfmPoint {
  readonly xyz: Float64Array;
  readonly color: readonly [number, number, number];
  /** Mean reprojection error in pixels over the track. */
  readonly meanReprojectionErrorPx: number;
  /** Observations: view index and keypoint index, 2 per observation. */
  readonly track: Uint32Array;
}

export interface Reconstruction {
  /** Per input view: its pose, or null if it could not be registered. */
  readonly cameraFromWorld: readonly (RigidPose | null)[];
  /** Per input view: refined (or given) intrinsics. */
  readonly intrinsics: readonly Intrinsics[];
  readonly points: readonly SfmPoint[];
}
