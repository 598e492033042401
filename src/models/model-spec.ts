/**
 * What the registry knows about a model: where to get it, its licence, its task, its input/output
 * contract and its preprocessing. Checkpoint quirks are data here, not code.
 */

/** 'depth': one image -> a depth map; 'features': one image -> keypoints and descriptors (XFeat). */
export type ModelTask = 'depth' | 'features';

export type ModelFamily = 'depth-anything' | 'depth-anything-3';

export interface LicenseInfo {
  /** SPDX id, e.g. 'Apache-2.0', 'CC-BY-NC-4.0'. */
  readonly spdx: string;
  /** False for non-commercial licences: using such a model needs an explicit opt-in. */
  readonly commercialUse: boolean;
  readonly url?: string;
  /** Anything a user should know (disputed or unclear licences). */
  readonly note?: string;
}

/** Numeric precision of a downloadable file. */
export type ModelVariant = 'fp32' | 'fp16' | 'int8' | 'q4' | 'q4f16';

export interface ModelFile {
  readonly variant: ModelVariant;
  /** Name of the file in the local cache and in ANYVIEW_MODEL_DIR/<id>/. */
  readonly fileName: string;
  /** Download URLs, tried in order. */
  readonly urls: readonly string[];
  /** Lower-case hex sha256 of the file, when known; verified after download and on request. */
  readonly sha256?: string;
  readonly sizeBytes?: number;
  /** Tensor names of this file when they differ from the spec's (another exporter's file of the same weights). */
  readonly contract?: TensorContract;
  /** Where the file comes from (hub repo or release) and anything known about it, for messages and docs. */
  readonly source?: string;
}

/** How Depth Anything-style models choose the network input size from the image size. */
export type SizeRule =
  /** Official DA: scale so both sides >= target, each a multiple of `multipleOf` (round half to even, ceil fallback). */
  | 'lowerBound'
  /** DA3 'upper_bound_resize': longest side = target, each side a multiple of `multipleOf`. */
  | 'upperBound'
  /** Network has a fixed input size: resize (aspect ratio not kept) to exactly it. */
  | 'static';

export interface ImagePreprocessSpec {
  readonly sizeRule: SizeRule;
  /** Target size in px (518 for Depth Anything, 504 for DA3). */
  readonly targetPx: number;
  readonly multipleOf: number;
  readonly interpolation: 'bicubic';
  /** Per-channel RGB mean and std applied to 0..1 values. */
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** How a depth model's raw output maps to a core Depth. */
export type DepthOutputSpec =
  /** Affine-invariant disparity (relative Depth Anything V1/V2). */
  | { readonly kind: 'disparity' }
  /** Depth up to scale (DA3-mono). */
  | { readonly kind: 'relativeDepth' }
  /** Metres straight out of the network (DA-V2 metric: sigmoid x maxDepthMeters inside the graph). */
  | { readonly kind: 'metricDepth'; readonly scaling: 'direct'; readonly maxDepthMeters?: number }
  /** DA3METRIC: metres = focal_px * output / 300, focal in pixels of the processed image. */
  | { readonly kind: 'metricDepth'; readonly scaling: 'focalOver300' };

/** Tensor names the model's export uses; detection falls back to the file's own names. */
export interface TensorContract {
  readonly inputName: string;
  readonly outputName: string;
}

export interface DepthModelSpec {
  readonly id: string;
  readonly task: 'depth';
  readonly family: ModelFamily;
  readonly displayName: string;
  /** Parameter count in millions. */
  readonly paramsM: number;
  readonly license: LicenseInfo;
  /** Where the weights come from (model card / repo), for the user's information. */
  readonly homepage: string;
  readonly files: readonly ModelFile[];
  readonly contract: TensorContract;
  readonly preprocess: ImagePreprocessSpec;
  readonly output: DepthOutputSpec;
}

/**
 * What resolution (ANYVIEW_MODEL_DIR, cache, download, messages) needs of any registry entry, depth or features:
 * every spec type is one of these, so src/models/resolve.ts serves them all.
 */
export interface DownloadableModel {
  readonly id: string;
  readonly homepage: string;
  readonly files: readonly ModelFile[];
}

export type FeatureModelFamily = 'xfeat';

/** A local-feature network (keypoints + descriptors). The files are static-size exports: the size is data here. */
export interface FeatureModelSpec extends DownloadableModel {
  readonly task: 'features';
  readonly family: FeatureModelFamily;
  readonly displayName: string;
  readonly license: LicenseInfo;
  /** The fixed network input size in pixels; images are resized (aspect ratio not kept) to exactly it. */
  readonly input: { readonly width: number; readonly height: number };
  /** Descriptor length (64 for XFeat). */
  readonly descriptorSize: number;
}

export type ModelSpec = DepthModelSpec | FeatureModelSpec;
