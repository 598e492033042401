/** Structure from motion: tracks, bundle adjustment and the incremental mapper (poses are cameraFromWorld). */
export type { SfmView, VerifiedPair, SfmPoint, Reconstruction } from './types.ts';
export { buildTracks, type Tracks, type TrackOptions } from './tracks.ts';
export {
  bundleAdjust, reprojectionErrorsPx, choleskySolveLower,
  type BundleAdjustmentProblem, type BundleAdjustmentOptions, type BundleAdjustmentResult, type BundleTermination,
  type RobustLoss, type IntrinsicsRefinement,
} from './bundle-adjust.ts';
export { reconstructIncremental, type IncrementalOptions } from './incremental.ts';
export { selectPairs, autoPairStrategy, EXHAUSTIVE_MAX_VIEWS, type PairStrategy, type ViewPair } from './pair-selection.ts';
