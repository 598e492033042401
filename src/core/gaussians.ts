import { InputError } from './errors.ts';
import type { PointFrame } from './points.ts';

/**
 * SH degree-0 basis constant: colour = 0.5 + SH_C0 * f_dc, as 3D Gaussian Splatting evaluates it
 * (so f_dc = (rgb - 0.5) / SH_C0 in the INRIA PLY layout).
 */
export const SH_C0 = 0.28209479177387814;

/** Per-Gaussian semantics (LSM): a class index per Gaussian into `classNames`, optionally a feature vector. */
export interface GaussianSemantics {
  /** Class index per Gaussian (N); `UNLABELED` where no class applies. */
  readonly labels: Uint16Array;
  /** Class names, indexed by label (e.g. the 21 PASCAL VOC classes of DeepLabV3). */
  readonly classNames: readonly string[];
  /** Optional per-Gaussian feature vectors (N x featureDims, row-major), e.g. CLIP/LSeg-style embeddings. */
  readonly features?: { readonly dims: number; readonly data: Float32Array };
}

/** Label value for Gaussians with no class. */
export const UNLABELED = 0xffff;

/**
 * A set of 3D Gaussians as structure of arrays (the 14 numbers of L4GM/LSM per Gaussian), with activated
 * values: linear scales and opacities in [0, 1], not the log / logit values of the PLY layout.
 *
 * - `positions` (3N): centres, in the set's `frame`, OpenCV axes (x right, y down, z forward).
 * - `scales` (3N): standard deviations along the Gaussian's local x, y, z axes, in the units of `positions`.
 * - `rotations` (4N): unit quaternions (w, x, y, z), Hamilton convention, taking local axes to the set's frame,
 *   so the covariance is R diag(scales^2) R^T.
 * - `opacities` (N): peak opacity in [0, 1].
 * - `colors` (3N): RGB in [0, 1] as SH degree 0 evaluates it (0.5 + SH_C0 * f_dc); not clamped, since the
 *   renderer clamps after evaluation.
 */
export interface GaussianSet {
  readonly count: number;
  readonly frame: PointFrame;
  readonly positions: Float32Array;
  readonly scales: Float32Array;
  readonly rotations: Float32Array;
  readonly opacities: Float32Array;
  readonly colors: Float32Array;
  readonly semantics?: GaussianSemantics;
}

/** Checks the lengths of every array against `count`; returns a shallow copy. */
export function createGaussianSet(init: GaussianSet): GaussianSet {
  const n = init.count;
  if (!Number.isInteger(n) || n < 0) throw new InputError(`GaussianSet count (${n}) must be a non-negative integer.`);
  const expect = (name: string, array: ArrayLike<number>, perGaussian: number): void => {
    if (array.length !== n * perGaussian) {
      throw new InputError(`GaussianSet ${name} length (${array.length}) does not match count*${perGaussian} (${n * perGaussian}).`);
    }
  };
  expect('positions', init.positions, 3);
  expect('scales', init.scales, 3);
  expect('rotations', init.rotations, 4);
  expect('opacities', init.opacities, 1);
  expect('colors', init.colors, 3);
  if (init.semantics !== undefined) {
    expect('semantics.labels', init.semantics.labels, 1);
    const features = init.semantics.features;
    if (features !== undefined) {
      if (!Number.isInteger(features.dims) || features.dims < 1) throw new InputError(`GaussianSet feature dims (${features.dims}) must be a positive integer.`);
      expect('semantics.features', features.data, features.dims);
    }
  }
  return { ...init };
}

/** Allocates a zeroed set of `count` Gaussians with identity rotations. */
export function allocateGaussianSet(count: number, frame: PointFrame): GaussianSet {
  const rotations = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) rotations[i * 4] = 1;
  return createGaussianSet({
    count, frame,
    positions: new Float32Array(count * 3),
    scales: new Float32Array(count * 3),
    rotations,
    opacities: new Float32Array(count),
    colors: new Float32Array(count * 3),
  });
}

/** The Gaussians at `indices` (in that order), semantics included. */
export function selectGaussians(set: GaussianSet, indices: ArrayLike<number>): GaussianSet {
  const m = indices.length;
  const pick = (source: Float32Array, width: number): Float32Array => {
    const out = new Float32Array(m * width);
    for (let k = 0; k < m; k++) {
      const i = indices[k]!;
      if (!(i >= 0 && i < set.count)) throw new InputError(`Gaussian index ${i} is outside 0..${set.count - 1}.`);
      for (let c = 0; c < width; c++) out[k * width + c] = source[i * width + c]!;
    }
    return out;
  };
  let semantics: GaussianSemantics | undefined;
  if (set.semantics !== undefined) {
    const labels = new Uint16Array(m);
    for (let k = 0; k < m; k++) labels[k] = set.semantics.labels[indices[k]!]!;
    const features = set.semantics.features;
    semantics = {
      labels,
      classNames: set.semantics.classNames,
      ...(features !== undefined ? { features: { dims: features.dims, data: pick(features.data, features.dims) } } : {}),
    };
  }
  return createGaussianSet({
    count: m, frame: set.frame,
    positions: pick(set.positions, 3), scales: pick(set.scales, 3), rotations: pick(set.rotations, 4),
    opacities: pick(set.opacities, 1), colors: pick(set.colors, 3),
    ...(semantics !== undefined ? { semantics } : {}),
  });
}
