/**
 * The one robust estimator of the geometry layer: LO-RANSAC with MSAC scoring (Lebeda, Matas & Chum,
 * "Fixing the Locally Optimized RANSAC", BMVC 2012), generic over the model type. Essential, fundamental
 * and homography estimation (and the absolute-pose solvers of sfm/) only describe their problem
 * (`RobustProblem`): how to fit a minimal sample, how to fit a larger set by least squares, and the squared
 * residual of one datum. Everything about sampling, scoring, local optimisation and stopping lives here.
 *
 * Why MSAC: the truncated quadratic cost sum_i min(r_i^2, t^2) ranks models with equal inlier counts by how
 * well the inliers fit, which plain inlier counting cannot. Why local optimisation: a model fitted to a
 * minimal, noisy sample is rarely the best model its inliers support; refitting on them (inner RANSAC on
 * non-minimal samples, then iteratively re-weighted least squares with a shrinking threshold) gets close to the
 * optimum and lets the adaptive stopping criterion end sooner because the inlier ratio estimate is better.
 *
 * Determinism: all sampling goes through the seeded generator of random.ts, so the same data, options and
 * seed give the same result on every platform.
 */
import { createRng, type Rng } from './random.ts';

export interface RobustProblem<M> {
  /** Minimal sample size. */
  readonly sampleSize: number;
  readonly numData: number;
  /** Models through a minimal sample; may return several (e.g. five-point) or zero (degenerate sample). */
  fitMinimal(sample: Uint32Array): M[];
  /**
   * Least-squares fit on a larger set, for local optimisation; null when degenerate. `indices` may be a view
   * of a reused buffer: read it during the call, do not keep it.
   */
  fitNonMinimal?(indices: Uint32Array): M | null;
  /** Fewest data fitNonMinimal accepts (e.g. 8 for an eight-point fit of a five-point problem). Default sampleSize. */
  readonly nonMinimalSampleSize?: number;
  /** Squared residual of datum `index` under `model`, in the same units as threshold^2. */
  squaredResidual(model: M, index: number): number;
  /**
   * Optional batch form of squaredResidual: writes the squared residuals of data begin..end-1 into
   * out[begin..end-1]. One monomorphic loop inside the problem is several times faster than a call per datum
   * through the generic interface, and scoring is where RANSAC spends most of its time.
   */
  squaredResiduals?(model: M, out: Float64Array, begin: number, end: number): void;
}

/** How the sampling loop runs; every estimator built on runLoRansac takes these, with the defaults given here. */
export interface RobustSamplingOptions {
  /** Probability that at least one all-inlier sample was drawn when the loop stops. Default 0.9999. */
  readonly confidence?: number;
  /** Default 10000. */
  readonly maxIterations?: number;
  /** Default 0 (stop as soon as the confidence is reached). */
  readonly minIterations?: number;
  /** Sampler seed. Default 0. */
  readonly seed?: number;
  /** Run local optimisation whenever a new best model is found (needs fitNonMinimal). Default true. */
  readonly localOptimization?: boolean;
}

export interface RobustOptions extends RobustSamplingOptions {
  /** Inlier threshold on the residual (not squared). */
  readonly threshold: number;
}

/** The sampling options out of an estimator's options, so callers' values reach runLoRansac and its defaults apply. */
export function samplingOptions(options: RobustSamplingOptions): RobustSamplingOptions {
  const { confidence, maxIterations, minIterations, seed, localOptimization } = options;
  return { confidence, maxIterations, minIterations, seed, localOptimization };
}

export interface RobustResult<M> {
  readonly model: M;
  /** 1 where datum i is an inlier (squared residual <= threshold^2). */
  readonly inliers: Uint8Array;
  readonly numInliers: number;
  /** Minimal samples drawn. */
  readonly iterations: number;
  /** MSAC cost of the model: sum over data of min(r^2, threshold^2). Lower is better. */
  readonly score: number;
}

const DEFAULT_CONFIDENCE = 0.9999;
const DEFAULT_MAX_ITERATIONS = 10000;
/** Inner RANSAC repetitions per local optimisation (LO-RANSAC's r). */
const LO_INNER_ITERATIONS = 10;
/** Inner samples are this many times the minimal sample size (capped by the inlier count). */
const LO_INNER_SAMPLE_FACTOR = 7;
/** Iterative least squares starts at this multiple of the threshold and shrinks it to 1x. */
const LO_THRESHOLD_MULTIPLIER = 3;
const LO_LEAST_SQUARES_STEPS = 4;
/** Batch residuals are computed in blocks of this many data, so that scoring can stop early. */
const SCORE_BLOCK = 128;

/**
 * Number of minimal samples needed so that, with probability `confidence`, at least one of them contains only
 * inliers when a fraction `inlierRatio` of the data are inliers: log(1 - p) / log(1 - w^s).
 * Returns 1 for a ratio of 1 and Infinity for 0 (the caller's maxIterations then bounds the loop).
 */
export function ransacIterations(inlierRatio: number, sampleSize: number, confidence: number): number {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`ransacIterations: confidence ${confidence} must be in (0, 1)`);
  if (!(inlierRatio > 0)) return Number.POSITIVE_INFINITY;
  if (inlierRatio >= 1) return 1;
  const allInlierProbability = Math.pow(inlierRatio, sampleSize);
  // log1p keeps precision when w^s is tiny (low inlier ratios), where log(1 - x) would round to 0.
  const denominator = Math.log1p(-allInlierProbability);
  if (denominator === 0) return Number.POSITIVE_INFINITY;
  return Math.ceil(Math.log1p(-confidence) / denominator);
}

/**
 * Draws `out.length` distinct integers from [0, n) into `out` (rejection of repeats, which is cheapest for the
 * small samples RANSAC draws; for samples over half the population a partial Fisher-Yates shuffle is used).
 */
export function sampleWithoutReplacement(rng: Rng, n: number, out: Uint32Array): Uint32Array {
  const k = out.length;
  if (k > n) throw new RangeError(`sampleWithoutReplacement: cannot draw ${k} of ${n}`);
  if (k * 2 > n || k > 64) {
    const pool = new Uint32Array(n);
    for (let i = 0; i < n; i++) pool[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + rng.nextInt(n - i);
      const tmp = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = tmp;
      out[i] = pool[i]!;
    }
    return out;
  }
  for (let i = 0; i < k; i++) {
    let candidate: number;
    let repeated: boolean;
    do {
      candidate = rng.nextInt(n);
      repeated = false;
      for (let j = 0; j < i; j++) {
        if (out[j] === candidate) { repeated = true; break; }
      }
    } while (repeated);
    out[i] = candidate;
  }
  return out;
}

/** Draws `k` of the given indices without replacement (positions drawn by sampleWithoutReplacement). */
function sampleFromIndices(rng: Rng, indices: Uint32Array, k: number): Uint32Array {
  const positions = sampleWithoutReplacement(rng, indices.length, new Uint32Array(k));
  for (let i = 0; i < k; i++) positions[i] = indices[positions[i]!]!;
  return positions;
}

/**
 * Scores models and selects inliers for one problem, through the batch residual form when the problem has
 * one (into a reused buffer), else datum by datum.
 */
class Scorer<M> {
  private readonly residuals: Float64Array | null;
  private readonly indexBuffer: Uint32Array;

  constructor(private readonly problem: RobustProblem<M>) {
    this.residuals = problem.squaredResiduals !== undefined ? new Float64Array(problem.numData) : null;
    this.indexBuffer = new Uint32Array(problem.numData);
  }

  /**
   * MSAC cost of a model, sum_i min(r_i^2, t^2). Stops early (returns Infinity) once the partial sum exceeds
   * `bound`, since such a model cannot become the best: this halves the scoring time of a typical run.
   */
  score(model: M, thresholdSquared: number, bound: number): number {
    const n = this.problem.numData;
    let score = 0;
    if (this.residuals !== null) {
      const r = this.residuals;
      for (let begin = 0; begin < n; begin += SCORE_BLOCK) {
        const end = Math.min(n, begin + SCORE_BLOCK);
        this.problem.squaredResiduals!(model, r, begin, end);
        // A NaN residual (degenerate datum) counts as an outlier.
        for (let i = begin; i < end; i++) score += r[i]! < thresholdSquared ? r[i]! : thresholdSquared;
        if (score > bound) return Number.POSITIVE_INFINITY;
      }
      return score;
    }
    for (let i = 0; i < n; i++) {
      const r2 = this.problem.squaredResidual(model, i);
      score += r2 < thresholdSquared ? r2 : thresholdSquared;
      if (score > bound) return Number.POSITIVE_INFINITY;
    }
    return score;
  }

  /**
   * Indices whose squared residual is at most `thresholdSquared`, as a view of a buffer reused by the next
   * call (callers use it at once): LO-RANSAC asks for inlier sets dozens of times per run, and a fresh array
   * of numData indices each time was a large share of the garbage collector's work.
   */
  inliers(model: M, thresholdSquared: number): Uint32Array {
    const n = this.problem.numData;
    const buffer = this.indexBuffer;
    let count = 0;
    if (this.residuals !== null) {
      this.problem.squaredResiduals!(model, this.residuals, 0, n);
      for (let i = 0; i < n; i++) if (this.residuals[i]! <= thresholdSquared) buffer[count++] = i;
    } else {
      for (let i = 0; i < n; i++) if (this.problem.squaredResidual(model, i) <= thresholdSquared) buffer[count++] = i;
    }
    return buffer.subarray(0, count);
  }
}

interface Scored<M> {
  readonly model: M;
  readonly score: number;
}

/**
 * Iterative least squares from `start`: refit on the inliers of a threshold that shrinks from
 * LO_THRESHOLD_MULTIPLIER x t to t, keeping the best-scoring model seen.
 */
function iterativeLeastSquares<M>(problem: RobustProblem<M>, scorer: Scorer<M>, start: M, threshold: number, best: Scored<M>): Scored<M> {
  const fit = problem.fitNonMinimal!.bind(problem);
  const minSize = problem.nonMinimalSampleSize ?? problem.sampleSize;
  const thresholdSquared = threshold * threshold;
  let current = start;
  for (let step = 0; step < LO_LEAST_SQUARES_STEPS; step++) {
    const multiplier = LO_THRESHOLD_MULTIPLIER - ((LO_THRESHOLD_MULTIPLIER - 1) * step) / (LO_LEAST_SQUARES_STEPS - 1);
    const t = threshold * multiplier;
    const support = scorer.inliers(current, t * t);
    if (support.length < minSize) break;
    const refit = fit(support);
    if (refit === null) break;
    current = refit;
    const score = scorer.score(current, thresholdSquared, best.score);
    if (score < best.score) best = { model: current, score };
  }
  return best;
}

/**
 * LO-RANSAC's local optimisation of a new so-far-the-best model: inner RANSAC over non-minimal samples of its
 * inliers, each followed by iterative least squares. Returns the best of all (never worse than the input).
 */
function locallyOptimize<M>(problem: RobustProblem<M>, scorer: Scorer<M>, start: Scored<M>, threshold: number, rng: Rng): Scored<M> {
  const fit = problem.fitNonMinimal!.bind(problem);
  const minSize = problem.nonMinimalSampleSize ?? problem.sampleSize;
  const thresholdSquared = threshold * threshold;
  let best = start;
  // The least-squares fit on all inliers first: often the largest single improvement.
  best = iterativeLeastSquares(problem, scorer, best.model, threshold, best);
  const innerSampleSize = Math.max(minSize, LO_INNER_SAMPLE_FACTOR * problem.sampleSize);
  for (let r = 0; r < LO_INNER_ITERATIONS; r++) {
    const support = scorer.inliers(best.model, thresholdSquared);
    // With few inliers every inner sample would be the whole set, which the step above already fitted.
    if (support.length <= innerSampleSize) break;
    const sample = sampleFromIndices(rng, support, innerSampleSize);
    const model = fit(sample);
    if (model === null) continue;
    const score = scorer.score(model, thresholdSquared, Number.POSITIVE_INFINITY);
    if (score < best.score) best = { model, score };
    best = iterativeLeastSquares(problem, scorer, model, threshold, best);
  }
  return best;
}

function checkOptions(options: RobustOptions): void {
  if (!(options.threshold > 0) || !Number.isFinite(options.threshold)) {
    throw new RangeError(`runLoRansac: threshold ${options.threshold} must be a positive finite number`);
  }
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`runLoRansac: confidence ${confidence} must be in (0, 1)`);
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  if (!(maxIterations >= 1)) throw new RangeError(`runLoRansac: maxIterations ${maxIterations} must be >= 1`);
}

/**
 * LO-RANSAC with MSAC scoring. Draws minimal samples until the adaptive iteration count for the best model's
 * inlier ratio (at `confidence`) or `maxIterations` is reached (and at least `minIterations`), locally
 * optimising each new best model. Returns null when there are fewer data than a minimal sample or no model
 * with at least a minimal sample of inliers was found.
 */
export function runLoRansac<M>(problem: RobustProblem<M>, options: RobustOptions): RobustResult<M> | null {
  checkOptions(options);
  const n = problem.numData;
  const s = problem.sampleSize;
  if (n < s || s < 1) return null;
  const threshold = options.threshold;
  const thresholdSquared = threshold * threshold;
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const maxIterations = Math.floor(options.maxIterations ?? DEFAULT_MAX_ITERATIONS);
  const minIterations = Math.min(maxIterations, Math.floor(options.minIterations ?? 0));
  const useLocalOptimization = (options.localOptimization ?? true) && problem.fitNonMinimal !== undefined;
  const rng = createRng(options.seed ?? 0);
  const scorer = new Scorer(problem);

  let best: Scored<M> | null = null;
  let bestNumInliers = 0;
  let requiredIterations = maxIterations;
  const sample = new Uint32Array(s);
  let iteration = 0;
  while (iteration < Math.max(minIterations, Math.min(requiredIterations, maxIterations))) {
    iteration++;
    sampleWithoutReplacement(rng, n, sample);
    const models = problem.fitMinimal(sample);
    for (const model of models) {
      const bound = best === null ? Number.POSITIVE_INFINITY : best.score;
      const score = scorer.score(model, thresholdSquared, bound);
      if (!(score < bound)) continue;
      let candidate: Scored<M> = { model, score };
      if (useLocalOptimization) candidate = locallyOptimize(problem, scorer, candidate, threshold, rng);
      best = candidate;
      bestNumInliers = scorer.inliers(best.model, thresholdSquared).length;
      requiredIterations = ransacIterations(bestNumInliers / n, s, confidence);
    }
  }
  if (best === null || bestNumInliers < s) return null;
  const inliers = new Uint8Array(n);
  const inlierList = scorer.inliers(best.model, thresholdSquared);
  for (let k = 0; k < inlierList.length; k++) inliers[inlierList[k]!] = 1;
  return { model: best.model, inliers, numInliers: inlierList.length, iterations: iteration, score: best.score };
}
