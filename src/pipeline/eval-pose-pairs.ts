/**
 * `anyview eval pose-pairs`: the SuperGlue / ScanNet-1500 two-view protocol on a pair file.
 * Per pair: learned features on each image (turned by rot0/rot1 first, keypoints mapped back to the stored
 * image so the file's K and T apply unchanged), mutual nearest-neighbour matches, a robust essential matrix
 * with the threshold given in pixels of a 640x480 image (the protocol resizes to 640x480 and uses 1 px /
 * mean focal), cheirality. Error = max(rotation error, folded translation-direction error); a pair without a
 * pose is an infinite error. AUC@5/10/20 as SuperGlue's pose_auc.
 */
import { median } from '../core/stats.ts';
import path from 'node:path';
import { createIntrinsics, type Intrinsics } from '../core/camera.ts';
import type { RunContext } from '../core/context.ts';
import { throwIfAborted } from '../core/errors.ts';
import type { Image } from '../core/image.ts';
import { decodeImage, type AlphaHandling } from '../io/decode-image.ts';
import { estimateRelativePose } from '../geometry/essential.ts';
import type { Mat3 } from '../geometry/mat3.ts';
import { rotateQuarterTurns, unrotatedPixel } from '../imaging/rotate.ts';
import type { InferenceBackend } from '../models/backend.ts';
import type { LocalFeatures } from '../models/xfeat.ts';
import { readPairFile, type PosePair } from '../eval/pair-file.ts';
import { poseAucSuperGlue, relativePoseErrorDeg } from '../eval/pose-metrics.ts';
import type { ModelLocations } from './depth-estimator.ts';
import { DEFAULT_FEATURE_OPTIONS, matchedPixels, openFeatureToolkit, type FeatureOptions } from './views-features.ts';

export interface PosePairsEvalOptions {
  readonly pairsFile: string;
  readonly imagesDir: string;
  readonly features: FeatureOptions;
  /** RANSAC threshold in pixels of a 640x480 version of the image (the protocol's 1 px). */
  readonly thresholdPx640: number;
  readonly seed: number;
  readonly alpha: AlphaHandling;
  /** Evaluate only the first N pairs (for quick runs). */
  readonly limit?: number;
}

export const DEFAULT_POSE_PAIRS_OPTIONS: Omit<PosePairsEvalOptions, 'pairsFile' | 'imagesDir'> = Object.freeze({
  // The protocol matches without a similarity threshold (mutual nearest neighbours only).
  features: { ...DEFAULT_FEATURE_OPTIONS, minSimilarity: undefined },
  thresholdPx640: 1,
  seed: 0,
  alpha: 'flattenWhite',
});

export interface PosePairResult {
  readonly name0: string;
  readonly name1: string;
  readonly numMatches: number;
  readonly numInliers: number;
  readonly rotationErrorDeg: number;
  readonly translationErrorDeg: number;
  readonly poseErrorDeg: number;
  readonly ms: number;
}

export interface PosePairsReport {
  readonly protocol: 'superglue-pose-auc';
  /** AUC in percent at 5, 10, 20 degrees. */
  readonly auc5: number;
  readonly auc10: number;
  readonly auc20: number;
  readonly n: number;
  /** Pairs where no pose could be estimated (counted as infinite error). */
  readonly failures: number;
  readonly medianPoseErrorDeg: number;
  readonly medianRotationErrorDeg: number;
  readonly medianTranslationErrorDeg: number;
  /** Wall time of the whole evaluation divided by the number of pairs (features of reused images computed once). */
  readonly msPerPair: number;
  readonly featureModel: string;
  readonly thresholdPx640: number;
  readonly pairs: readonly PosePairResult[];
}

function intrinsicsOfK(k: Mat3, width: number, height: number): Intrinsics {
  return createIntrinsics({ fxPx: k[0]!, fyPx: k[4]!, cxPx: k[2]!, cyPx: k[5]!, width, height });
}


/** Features of the image as stored, extracted after turning it by the pair file's quarter turns. */
async function featuresOf(
  extract: (image: Image<Uint8Array>) => Promise<LocalFeatures>, image: Image<Uint8Array>, turns: PosePair['rotation0'],
): Promise<LocalFeatures> {
  const features = await extract(rotateQuarterTurns(image, turns));
  if (turns === 0) return features;
  const keypoints = new Float32Array(features.keypoints.length);
  for (let i = 0; i < features.count; i++) {
    const [x, y] = unrotatedPixel(features.keypoints[2 * i]!, features.keypoints[2 * i + 1]!, image.width, image.height, turns);
    keypoints[2 * i] = x;
    keypoints[2 * i + 1] = y;
  }
  return { ...features, width: image.width, height: image.height, keypoints };
}

export async function evaluatePosePairs(
  backend: InferenceBackend, options: PosePairsEvalOptions, locations: ModelLocations, context: RunContext = {},
): Promise<PosePairsReport> {
  const allPairs = await readPairFile(options.pairsFile);
  const pairs = options.limit !== undefined ? allPairs.slice(0, options.limit) : allPairs;
  const toolkit = await openFeatureToolkit(backend, options.features, locations, context);
  const results: PosePairResult[] = [];
  const started = performance.now();
  // Pair files reuse images many times: keep the features of recent images (by name and turn).
  const cache = new Map<string, { image: Image<Uint8Array>; features: LocalFeatures }>();
  const load = async (name: string, turns: PosePair['rotation0']): Promise<{ image: Image<Uint8Array>; features: LocalFeatures }> => {
    const key = `${turns}:${name}`;
    let entry = cache.get(key);
    if (!entry) {
      const image = await decodeImage({ path: path.resolve(options.imagesDir, name) }, { alpha: options.alpha });
      entry = { image, features: await featuresOf((im) => toolkit.extract(im, context), image, turns) };
      if (cache.size >= 32) cache.delete(cache.keys().next().value!);
    } else {
      cache.delete(key);
    }
    cache.set(key, entry);
    return entry;
  };
  for (const [index, pair] of pairs.entries()) {
    throwIfAborted(context.signal);
    const t0 = performance.now();
    const { image: image0, features: f0 } = await load(pair.name0, pair.rotation0);
    const { image: image1, features: f1 } = await load(pair.name1, pair.rotation1);
    const matches = await toolkit.matcher.match(f0, f1, options.features.minSimilarity !== undefined ? { minSimilarity: options.features.minSimilarity } : {}, context);
    const px0 = matchedPixels(f0.keypoints, matches.indices0);
    const px1 = matchedPixels(f1.keypoints, matches.indices1);
    const k0 = intrinsicsOfK(pair.k0, image0.width, image0.height);
    const k1 = intrinsicsOfK(pair.k1, image1.width, image1.height);
    // The protocol's threshold is in 640x480 pixels; in stored pixels it grows with the image.
    const scale = Math.max(image0.width / 640, image0.height / 480, image1.width / 640, image1.height / 480);
    const pose = matches.count >= 5
      ? estimateRelativePose(px0, px1, k0, k1, { thresholdPx: options.thresholdPx640 * scale, seed: options.seed + index, confidence: 0.99999 })
      : null;
    const gt = pair.camera1FromCamera0;
    const rGt = Float64Array.of(gt[0]!, gt[1]!, gt[2]!, gt[4]!, gt[5]!, gt[6]!, gt[8]!, gt[9]!, gt[10]!);
    const tGt = Float64Array.of(gt[3]!, gt[7]!, gt[11]!);
    const error = pose ? relativePoseErrorDeg(rGt, tGt, pose.pose1From0.rotation, pose.pose1From0.translation) : null;
    results.push({
      name0: pair.name0, name1: pair.name1, numMatches: matches.count, numInliers: pose?.numInliers ?? 0,
      rotationErrorDeg: error?.rotationDeg ?? Infinity, translationErrorDeg: error?.translationDeg ?? Infinity,
      poseErrorDeg: error?.poseDeg ?? Infinity, ms: performance.now() - t0,
    });
    context.onProgress?.({ stage: 'eval', done: index + 1, total: pairs.length, unit: 'steps', item: `${pair.name0} ${pair.name1}` });
  }
  const errors = results.map((r) => r.poseErrorDeg);
  const [auc5, auc10, auc20] = poseAucSuperGlue(errors, [5, 10, 20]).map((a) => a * 100) as [number, number, number];
  return {
    protocol: 'superglue-pose-auc',
    auc5, auc10, auc20, n: results.length,
    failures: results.filter((r) => !Number.isFinite(r.poseErrorDeg)).length,
    medianPoseErrorDeg: median(errors),
    medianRotationErrorDeg: median(results.map((r) => r.rotationErrorDeg)),
    medianTranslationErrorDeg: median(results.map((r) => r.translationErrorDeg)),
    msPerPair: (performance.now() - started) / Math.max(1, results.length),
    featureModel: toolkit.modelPath,
    thresholdPx640: options.thresholdPx640,
    pairs: results,
  };
}
