/** The typed options of `anyview splat` and `anyview render`, with their defaults in one place. */
import type { SplatFormatId } from '../io/formats/splat-formats.ts';
import type { SequenceFrameFormat } from '../io/formats/splat-sequence.ts';
import type { IntrinsicsOption } from './depth-options.ts';

/** Semantic label sets `--semantics` can attach (a closed vocabulary each; 'voc': DeepLabV3's 21 PASCAL VOC classes). */
export const SPLAT_SEMANTICS = ['voc'] as const;
export type SplatSemantics = (typeof SPLAT_SEMANTICS)[number];

export interface SplatJobOptions {
  readonly output: {
    /** A splat file (its extension names the format) or a folder (one file per image, or a 4D sequence). */
    readonly path: string;
    /** Overrides the extension; for a sequence the per-frame format (ply or spz). Default: extension, else ply. */
    readonly format?: SplatFormatId;
  };
  readonly build: {
    /** Every stride-th pixel in x and y. */
    readonly stride: number;
    /** At most this many Gaussians per set. */
    readonly maxGaussians?: number;
  };
  readonly camera: {
    /** Overrides a sidecar's intrinsics. */
    readonly intrinsics?: IntrinsicsOption;
    /** Horizontal field of view assumed without intrinsics (from the flag or a sidecar). */
    readonly assumedFovXDeg: number;
  };
  readonly depth: {
    /** Accept disparity as depth = 1 / (disparity + shift); absent: disparity is refused. */
    readonly disparityShift?: number;
    /** Stored units per metre of a plain metric depth file (default 1000 for PNG, 1 for .npy). */
    readonly valuesPerMeter?: number;
  };
  readonly semantics?: {
    readonly labels: SplatSemantics;
    /** Write only the Gaussians of this class. */
    readonly query?: string;
  };
  readonly video: {
    /** In-between sets per pair of frames (L4GM: 2, tripling the frame rate). */
    readonly inBetween: number;
    /** The video or frame folder given to `anyview video`, for colours (its output keeps depth only). */
    readonly frames?: string;
  };
}

export const DEFAULT_SPLAT_OPTIONS = Object.freeze({
  stride: 1,
  assumedFovXDeg: 60,
  inBetween: 2,
  format: 'ply' as SplatFormatId,
  sequenceFormat: 'spz' as SequenceFrameFormat,
});

/** The two ways to pass splat inputs: an image with its depth file, or an output folder of another command. */
export type SplatInput =
  | { readonly kind: 'imageDepth'; readonly image: string; readonly depth: string }
  | { readonly kind: 'folder'; readonly dir: string };
