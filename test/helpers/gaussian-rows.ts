/** Small Gaussian sets for tests, written as one row per Gaussian (positions, scales, optional rotation, opacity, colour, label). */
import { createGaussianSet, UNLABELED, type GaussianSet } from '../../src/core/gaussians.ts';

export interface GaussianRow { p: number[]; s: number[]; q?: number[]; o?: number; c?: number[]; label?: number }

/** One world-frame set from rows: rotation defaults to identity, opacity to 1, colour to white, label to UNLABELED. */
export function gaussiansFromRows(rows: GaussianRow[], classNames?: string[]): GaussianSet {
  return createGaussianSet({
    count: rows.length, frame: 'world',
    positions: Float32Array.from(rows.flatMap((r) => r.p)),
    scales: Float32Array.from(rows.flatMap((r) => r.s)),
    rotations: Float32Array.from(rows.flatMap((r) => r.q ?? [1, 0, 0, 0])),
    opacities: Float32Array.from(rows.map((r) => r.o ?? 1)),
    colors: Float32Array.from(rows.flatMap((r) => r.c ?? [1, 1, 1])),
    ...(classNames !== undefined ? { semantics: { labels: Uint16Array.from(rows.map((r) => r.label ?? UNLABELED)), classNames } } : {}),
  });
}
