/** Seeded random descriptors for matcher tests. */
import type { DescriptorSet } from '../../src/geometry/match.ts';
import { createRng } from '../../src/geometry/random.ts';

/** `count` random unit-length descriptors of size `dim`, Gaussian before normalisation (seeded). */
export function randomDescriptors(count: number, dim: number, seed: number): DescriptorSet {
  const rng = createRng(seed);
  const descriptors = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    let sq = 0;
    for (let k = 0; k < dim; k++) {
      const v = rng.nextGaussian();
      descriptors[i * dim + k] = v;
      sq += v * v;
    }
    for (let k = 0; k < dim; k++) descriptors[i * dim + k] = descriptors[i * dim + k]! / Math.sqrt(sq);
  }
  return { count, descriptorSize: dim, descriptors };
}
