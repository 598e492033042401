/**
 * The single typed options schema for the depth job. The CLI flags, the library call and (later) the HTTP
 * request all come from this, with the defaults held here once.
 */
import type { ModelVariant } from '../models/model-spec.ts';
import type { DepthKind } from '../core/depth.ts';

export const DEPTH_OUTPUT_FORMATS = ['png16', 'npy', 'color', 'ply'] as const;
export type DepthOutputFormat = (typeof DEPTH_OUTPUT_FORMATS)[number];

export const COLORMAPS = ['turbo', 'inferno'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

export interface IntrinsicsOption {
  readonly fxPx: number;
  readonly fyPx: number;
  readonly cxPx: number;
  readonly cyPx: number;
}

/** A known depth map the prediction is aligned to (scale and shift, RANSAC), making it metric. */
export interface AlignOption {
  /** A 16-bit PNG or float32 .npy depth map, same size as the image; 0 / NaN = unknown. */
  readonly path: string;
  /** Divide stored values by this to get metres (1000 for millimetre PNGs, 1 for metres). */
  readonly valuesPerMeter: number;
}

export interface DepthJobOptions {
  readonly model: {
    /** Registry id or a path to an ONNX file. */
    readonly idOrPath: string;
    readonly variant: ModelVariant;
    /** For a model given by path: what its output means (registry models know it). */
    readonly outputKind?: DepthKind;
    readonly allowNonCommercial: boolean;
    readonly allowDownload: boolean;
  };
  readonly runtime: {
    readonly intraOpThreads?: number;
    readonly device: 'cpu' | 'cuda' | 'auto';
  };
  readonly preprocess: {
    /** Network input target in px (518 for Depth Anything); ignored for static-size models. */
    readonly processSizePx?: number;
    readonly maxPixels: number;
  };
  readonly camera: {
    readonly intrinsics?: IntrinsicsOption;
    /** Horizontal field of view assumed when no intrinsics are given. */
    readonly assumedFovXDeg: number;
  };
  readonly align?: AlignOption;
  readonly output: {
    readonly dir: string;
    readonly formats: readonly DepthOutputFormat[];
    readonly colormap: ColormapName;
    /** Keep at most this many points in a .ply (uniform stride). */
    readonly maxPlyPoints: number;
  };
}

export const DEFAULT_DEPTH_JOB_OPTIONS: DepthJobOptions = Object.freeze({
  model: { idOrPath: 'depth-anything-v2-small', variant: 'fp32', allowNonCommercial: false, allowDownload: true },
  runtime: { device: 'auto' },
  preprocess: { maxPixels: 100_000_000 },
  camera: { assumedFovXDeg: 60 },
  output: { dir: 'anyview-out', formats: ['png16', 'color'], colormap: 'turbo', maxPlyPoints: 2_000_000 },
}) as DepthJobOptions;
