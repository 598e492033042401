/**
 * Feature matches between consecutive video frames, for frame-to-frame depth alignment (video/temporal-alignment.ts,
 * unit 'frame'): when the camera moves, the same pixel in two frames is not the same point, and a fit on it is
 * biased by the motion; matched points compare each point with itself.
 *
 * XFeat at a small fixed input (320x224 by default: a few ms a frame on a CPU) and mutual nearest neighbours on
 * cosine similarity above XFeat's own 0.82. Only a few hundred matches are needed for a scale and shift, so the
 * keypoints are capped low (1024) to keep matching cheap. The previous frame's features are the only state.
 */
import type { RunContext } from '../core/context.ts';
import type { Image } from '../core/image.ts';
import type { InferenceBackend } from '../models/backend.ts';
import { XFEAT_MIN_SIMILARITY } from '../models/matcher-graph.ts';
import type { LocalFeatures } from '../models/xfeat.ts';
import type { FrameCorrespondences } from '../video/temporal-alignment.ts';
import type { ModelLocations } from './depth-estimator.ts';
import { matchedPixels, openXFeatWithMatcher } from './views-features.ts';

/** How frame-unit alignment relates consecutive frames: the same pixel, or XFeat matches. */
export const ALIGN_MATCHES = ['none', 'xfeat'] as const;
export type AlignMatches = (typeof ALIGN_MATCHES)[number];

export interface FrameMatchOptions {
  /** Feature network id or .onnx path. */
  readonly modelIdOrPath: string;
  readonly maxKeypoints: number;
  readonly minSimilarity: number;
  readonly allowDownload: boolean;
  readonly intraOpThreads?: number;
}

export const DEFAULT_FRAME_MATCH_OPTIONS: Omit<FrameMatchOptions, 'allowDownload'> = Object.freeze({
  modelIdOrPath: 'xfeat-320x224',
  maxKeypoints: 1024,
  minSimilarity: XFEAT_MIN_SIMILARITY,
});

export interface FrameMatcher {
  /**
   * Features of the next frame, matched with the frame given before it: its correspondences (undefined for the
   * first frame), and the time taken.
   */
  next(image: Image<Uint8Array>, context?: RunContext): Promise<{ correspondences: FrameCorrespondences | undefined; ms: number }>;
}

export async function openFrameMatcher(
  backend: InferenceBackend, options: FrameMatchOptions, locations: ModelLocations, context: RunContext = {},
): Promise<FrameMatcher> {
  const { extractor, matcher } = await openXFeatWithMatcher(backend, options, locations, context);
  let previous: LocalFeatures | undefined;
  return {
    async next(image, runContext = context) {
      const t0 = performance.now();
      const features = await extractor.extract(image, runContext);
      let correspondences: FrameCorrespondences | undefined;
      if (previous !== undefined && features.count > 0 && previous.count > 0) {
        const m = await matcher.match(features, previous, { minSimilarity: options.minSimilarity }, runContext);
        correspondences = { current: matchedPixels(features.keypoints, m.indices0), previous: matchedPixels(previous.keypoints, m.indices1) };
      }
      previous = features;
      return { correspondences, ms: performance.now() - t0 };
    },
  };
}
