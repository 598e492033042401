/**
 * A small seeded pseudo-random generator (mulberry32 over a 32-bit state, seeded through splitmix32),
 * so that sampling algorithms such as RANSAC give the same result for the same seed on every platform.
 * Not for cryptography.
 */

export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n) for a positive integer n. */
  nextInt(n: number): number;
  /** Standard normal sample (Box-Muller). */
  nextGaussian(): number;
}

/** splitmix32 finaliser: spreads nearby seeds (0, 1, 2...) to unrelated states. */
function mixSeed(seed: number): number {
  let z = (Math.trunc(seed) + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Creates a generator from an integer seed (only the low 32 bits matter). Same seed, same sequence. */
export function createRng(seed: number): Rng {
  let state = mixSeed(seed);
  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => nextUint32() / 4294967296;
  return {
    next,
    nextInt(n: number): number {
      return Math.floor(next() * n);
    },
    nextGaussian(): number {
      // 1 - u keeps the log argument in (0, 1].
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
  };
}
