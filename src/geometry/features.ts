/**
 * Local features and correspondences shared by feature extractors (models/), matching and
 * structure-from-motion. Keypoints are in pixels of the original image, OpenCV convention
 * (x right, y down, pixel centres at integer coordinates).
 */
export interface ImageFeatures {
  /** Size of the image the keypoints refer to (the original, not the network input). */
  readonly width: number;
  readonly height: number;
  readonly count: number;
  /** x, y interleaved (2 * count). */
  readonly keypoints: Float32Array;
  /** Detection score per keypoint (count), higher is better. */
  readonly scores: Float32Array;
  /** Descriptor length per keypoint (64 for XFeat). */
  readonly descriptorSize: number;
  /** L2-normalised descriptors, row per keypoint (count * descriptorSize). */
  readonly descriptors: Float32Array;
}

/** Putative or verified correspondences between two images' keypoints. */
export interface Matches {
  readonly count: number;
  /** Keypoint index in the first image, per match. */
  readonly indices0: Uint32Array;
  /** Keypoint index in the second image, per match. */
  readonly indices1: Uint32Array;
  /** Similarity per match (cosine for learned descriptors), higher is better. */
  readonly similarity: Float32Array;
}
