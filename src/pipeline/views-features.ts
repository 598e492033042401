/**
 * Views -> local features -> verified pairs: the front half of multi-view reconstruction, shared by
 * `anyview views`, `anyview eval poses` and `anyview eval pose-pairs`.
 */
import { createHash } from 'node:crypto';
import type { Intrinsics } from '../core/camera.ts';
import type { RunContext } from '../core/context.ts';
import type { Image } from '../core/image.ts';
import { estimateRelativePose } from '../geometry/essential.ts';
import { estimateFundamental } from '../geometry/fundamental.ts';
import type { InferenceBackend } from '../models/backend.ts';
import { resolveFeatureModel } from '../models/feature-models.ts';
import { createMutualNearestMatcher, type DescriptorMatches, type MutualNearestMatcher } from '../models/matcher-graph.ts';
import { extractMultiResolutionFeatures, featurePixelScale } from '../models/feature-tiling.ts';
import { createXFeatExtractor, openXFeatSession, type LocalFeatures, type XFeatExtractor } from '../models/xfeat.ts';
import type { VerifiedPair } from '../sfm/types.ts';
import type { ModelLocations } from './depth-estimator.ts';

export interface FeatureOptions {
  /** Feature network id (`xfeat-640x640`, ...) or .onnx path. */
  readonly modelIdOrPath: string;
  /** Keypoints per image at most (over all tiles). */
  readonly maxKeypoints: number;
  /**
   * Long sides (pixels) at which features are detected, finest first: at each, a larger image is scaled to it
   * and covered by tiles of the network's input size (models/feature-tiling.ts); images are never enlarged.
   * Several levels let views at different distances match (the descriptors are not scale-invariant).
   */
  readonly resolutionsPx: readonly number[];
  /** Mutual nearest neighbours below this cosine similarity are dropped; undefined keeps all. */
  readonly minSimilarity: number | undefined;
  readonly allowDownload: boolean;
  readonly intraOpThreads?: number;
}

export interface VerificationOptions {
  /** Epipolar inlier threshold in pixels of the feature network's input (scaled to each image). */
  readonly thresholdPx: number;
  /** A pair needs this many geometric inliers to count as overlapping. */
  readonly minInliers: number;
  /** RANSAC budget per pair: pairs that do not overlap would otherwise run to the global maximum. */
  readonly maxIterations: number;
  readonly seed: number;
}

export const DEFAULT_FEATURE_OPTIONS: FeatureOptions = Object.freeze({
  modelIdOrPath: 'xfeat-640x640',
  maxKeypoints: 4096,
  // One squeezed pass: fast and, with the loop check, the most reliable registration on DTU and lego; a
  // tiled finer level (e.g. [1280] or [1280, 640]) gives more precise poses when every view links strongly.
  resolutionsPx: [640],
  // XFeat's own match() threshold: drops most wrong matches before RANSAC, so verification stays cheap.
  minSimilarity: 0.82,
  allowDownload: true,
});

export const DEFAULT_VERIFICATION_OPTIONS: VerificationOptions = Object.freeze({
  thresholdPx: 1.5,
  minInliers: 30,
  // Most candidate pairs do not overlap and run to the cap; pairs that do overlap stop far earlier. 800 left
  // DTU and lego poses unchanged against 2000 and halved lego's time (400 lost views).
  maxIterations: 800,
  seed: 0,
});

/**
 * Pairs whose descriptors are matched ahead of the pair being verified: with the inference worker, the network
 * matches them meanwhile.
 */
export const MATCHES_AHEAD = 2;

/** The feature network and the matcher, opened once per job. */
export interface FeatureToolkit {
  readonly extractor: XFeatExtractor;
  readonly matcher: MutualNearestMatcher;
  readonly modelPath: string;
  /** Features of one image at the options' resolution (tiled when larger than the network input). */
  extract(image: Image<Uint8Array>, context?: RunContext): Promise<LocalFeatures>;
  /** Image pixels per network pixel for an image of this size (thresholds are given in network pixels). */
  pixelScale(width: number, height: number): number;
}

/**
 * Resolves the feature network (id or path, ANYVIEW_MODEL_DIR, cache, download) and opens its extractor and the
 * mutual-nearest matcher: what every user of XFeat needs (multi-view features, video frame matches).
 */
export async function openXFeatWithMatcher(
  backend: InferenceBackend,
  options: { readonly modelIdOrPath: string; readonly maxKeypoints: number; readonly allowDownload: boolean; readonly intraOpThreads?: number | undefined },
  locations: ModelLocations,
  context: RunContext = {},
): Promise<{ extractor: XFeatExtractor; matcher: MutualNearestMatcher; modelPath: string }> {
  const resolved = await resolveFeatureModel(options.modelIdOrPath, {
    modelDir: locations.modelDir, cacheDir: locations.cacheDir, allowDownload: options.allowDownload,
  }, context);
  const sessionOptions = options.intraOpThreads !== undefined ? { intraOpThreads: options.intraOpThreads } : {};
  const extractor = createXFeatExtractor(await openXFeatSession(backend, resolved.path, sessionOptions), { maxKeypoints: options.maxKeypoints });
  const matcher = await createMutualNearestMatcher(backend, sessionOptions);
  return { extractor, matcher, modelPath: resolved.path };
}

export async function openFeatureToolkit(
  backend: InferenceBackend, options: FeatureOptions, locations: ModelLocations, context: RunContext = {},
): Promise<FeatureToolkit> {
  const { extractor, matcher, modelPath } = await openXFeatWithMatcher(backend, options, locations, context);
  const { resolutionsPx, maxKeypoints } = options;
  const finest = Math.max(...resolutionsPx);
  return {
    extractor, matcher, modelPath,
    extract: (image, ctx) => extractMultiResolutionFeatures(extractor, image, { resolutionsPx, maxKeypoints }, ctx),
    // Thresholds follow the finest level: its keypoints are the precise ones.
    pixelScale: (width, height) => featurePixelScale(width, height, extractor.inputWidth, extractor.inputHeight, finest),
  };
}

/** Colour of the image at each keypoint (nearest pixel), for coloured sparse points. */
export function keypointColors(image: Image<Uint8Array>, keypoints: Float32Array): Uint8Array {
  const count = keypoints.length / 2;
  const out = new Uint8Array(count * 3);
  const c = image.channels;
  for (let i = 0; i < count; i++) {
    const x = Math.min(image.width - 1, Math.max(0, Math.round(keypoints[2 * i]!)));
    const y = Math.min(image.height - 1, Math.max(0, Math.round(keypoints[2 * i + 1]!)));
    const o = (y * image.width + x) * c;
    out[3 * i] = image.data[o]!;
    out[3 * i + 1] = image.data[o + (c >= 3 ? 1 : 0)]!;
    out[3 * i + 2] = image.data[o + (c >= 3 ? 2 : 0)]!;
  }
  return out;
}

/** A content hash of decoded pixels, to find identical views (they carry no baseline). */
export function pixelHash(image: Image<Uint8Array>): string {
  return createHash('sha1').update(`${image.width}x${image.height}x${image.channels}`).update(image.data).digest('hex');
}

export interface PairVerification {
  readonly pair: VerifiedPair | null;
  readonly numMatches: number;
  readonly numInliers: number;
  /** Why a pair was rejected, for logs. */
  readonly rejected?: 'tooFewMatches' | 'noModel' | 'tooFewInliers';
}

/** Pixel coordinates (x, y interleaved) of the keypoints at `indices`, e.g. one side of a set of matches. */
export function matchedPixels(keypoints: Float32Array, indices: Uint32Array): Float64Array {
  const out = new Float64Array(indices.length * 2);
  for (let i = 0; i < indices.length; i++) {
    out[2 * i] = keypoints[2 * indices[i]!]!;
    out[2 * i + 1] = keypoints[2 * indices[i]! + 1]!;
  }
  return out;
}

/**
 * Geometric verification of putative matches. With calibrated views (intrinsics known) the essential matrix
 * both verifies and gives the pose. With only a focal prior, the calibration-free fundamental matrix decides
 * the inliers (a wrong focal would reject good matches) and the essential matrix from the prior gives a pose
 * for initialisation, which bundle adjustment then corrects along with the focal length.
 */
export function verifyPair(
  view0: number, view1: number,
  f0: LocalFeatures, f1: LocalFeatures, k0: Intrinsics, k1: Intrinsics, calibrated: boolean,
  matches: DescriptorMatches, scale0: number, scale1: number, options: VerificationOptions,
): PairVerification {
  const numMatches = matches.count;
  if (numMatches < Math.max(options.minInliers, 8)) return { pair: null, numMatches, numInliers: 0, rejected: 'tooFewMatches' };
  const px0 = matchedPixels(f0.keypoints, matches.indices0);
  const px1 = matchedPixels(f1.keypoints, matches.indices1);
  const thresholdPx = options.thresholdPx * Math.max(scale0, scale1);
  let inliers: Uint8Array;
  if (!calibrated) {
    const fundamental = estimateFundamental(px0, px1, { thresholdPx, seed: options.seed, maxIterations: options.maxIterations });
    if (fundamental === null) return { pair: null, numMatches, numInliers: 0, rejected: 'noModel' };
    inliers = fundamental.inliers;
  } else {
    inliers = new Uint8Array(numMatches).fill(1);
  }
  let count = 0;
  for (let i = 0; i < numMatches; i++) count += inliers[i]!;
  if (count < options.minInliers) return { pair: null, numMatches, numInliers: count, rejected: 'tooFewInliers' };
  const kept = (source: Float64Array): Float64Array => {
    const out = new Float64Array(count * 2);
    for (let i = 0, o = 0; i < numMatches; i++) if (inliers[i]) { out[o++] = source[2 * i]!; out[o++] = source[2 * i + 1]!; }
    return out;
  };
  const inlierIndex = new Uint32Array(count);
  for (let i = 0, o = 0; i < numMatches; i++) if (inliers[i]) inlierIndex[o++] = i;
  // With a focal prior only, the essential matrix gets a looser threshold: it only has to give a starting pose.
  const pose = estimateRelativePose(kept(px0), kept(px1), k0, k1, {
    thresholdPx: calibrated ? thresholdPx : thresholdPx * 4,
    seed: options.seed,
    maxIterations: options.maxIterations,
  });
  if (calibrated) {
    if (pose === null || pose.numInliers < options.minInliers) {
      return { pair: null, numMatches, numInliers: pose?.numInliers ?? 0, rejected: pose === null ? 'noModel' : 'tooFewInliers' };
    }
    // Essential inliers, not only cheirality inliers: distant points (beyond 50 baselines) are still good matches.
    const finalIndex = inlierIndex.filter((_, i) => pose.essentialInliers[i] === 1);
    return { pair: buildPair(view0, view1, matches, finalIndex, pose), numMatches, numInliers: finalIndex.length };
  }
  return { pair: buildPair(view0, view1, matches, inlierIndex, pose), numMatches, numInliers: count };
}

function buildPair(
  view0: number, view1: number, matches: DescriptorMatches, kept: Uint32Array,
  pose: ReturnType<typeof estimateRelativePose>,
): VerifiedPair {
  const pairs = new Uint32Array(kept.length * 2);
  for (let i = 0; i < kept.length; i++) {
    pairs[2 * i] = matches.indices0[kept[i]!]!;
    pairs[2 * i + 1] = matches.indices1[kept[i]!]!;
  }
  return {
    view0, view1, matches: pairs,
    ...(pose !== null ? { pose1From0: pose.pose1From0, medianTriangulationAngleDeg: pose.medianTriangulationAngleDeg } : {}),
  };
}
