/**
 * Semantics for Gaussians (LSM-style): per-pixel segmentation carried onto the Gaussians made from those pixels,
 * and queries that cut a set down to a class or to a text embedding.
 *
 * A Gaussian knows the pixel it came from through `sourcePixels` (one entry per Gaussian: y * width + x in the
 * image the segmentation was computed on; -1 in an Int32Array for a Gaussian with no source pixel). Closed
 * vocabulary: the pixel's class becomes the Gaussian's label. Open vocabulary: the pixel's embedding becomes the
 * Gaussian's feature row, and queryByFeature keeps the Gaussians whose cosine similarity with a text embedding
 * (same embedding space) reaches a threshold.
 *
 * The map types are structural copies of src/models/segmentation.ts's ClassSegmentation / FeatureSegmentation
 * (the splat layer may not import models): a segmentation result can be passed straight in.
 */
import { InputError } from '../core/errors.ts';
import { createGaussianSet, selectGaussians, UNLABELED, type GaussianSemantics, type GaussianSet } from '../core/gaussians.ts';

/** Per-pixel classes; pixel (x, y) at y * width + x. */
export interface ClassLabelMap {
  readonly kind: 'classes';
  readonly width: number;
  readonly height: number;
  readonly labels: Uint8Array | Uint16Array;
  readonly classNames: readonly string[];
}

/** Per-pixel embeddings, pixel-major (dims values per pixel), L2-normalised or not (cosine is scale-free). */
export interface FeatureMap {
  readonly kind: 'features';
  readonly width: number;
  readonly height: number;
  readonly dims: number;
  readonly data: Float32Array;
}

export type SemanticMap = ClassLabelMap | FeatureMap;

/** Per Gaussian: its source pixel index, or -1 (Int32Array) for none. */
export type SourcePixels = Int32Array | Uint32Array;

function checkSources(set: GaussianSet, sourcePixels: SourcePixels, width: number, height: number): void {
  if (sourcePixels.length !== set.count) {
    throw new InputError(`sourcePixels has ${sourcePixels.length} entries for ${set.count} Gaussians.`);
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`Semantic map size ${width}x${height} must be positive integers.`);
  }
  const pixels = width * height;
  for (let i = 0; i < sourcePixels.length; i++) {
    const p = sourcePixels[i]!;
    if (p >= pixels || p < -1) {
      throw new InputError(`Gaussian ${i} has source pixel ${p}, outside the ${width}x${height} map (0..${pixels - 1}, or -1 for none).`);
    }
  }
}

/** Labels per Gaussian from a class map: the source pixel's class, UNLABELED where there is no source pixel. */
export function labelsFromMap(set: GaussianSet, sourcePixels: SourcePixels, map: ClassLabelMap): Uint16Array {
  checkSources(set, sourcePixels, map.width, map.height);
  if (map.labels.length !== map.width * map.height) {
    throw new InputError(`Label map has ${map.labels.length} labels for ${map.width}x${map.height} pixels.`);
  }
  const classes = map.classNames.length;
  if (classes >= UNLABELED) throw new InputError(`${classes} classes: at most ${UNLABELED - 1} fit (${UNLABELED} marks unlabeled).`);
  const labels = new Uint16Array(set.count);
  for (let i = 0; i < set.count; i++) {
    const p = sourcePixels[i]!;
    if (p < 0) {
      labels[i] = UNLABELED;
      continue;
    }
    const label = map.labels[p]!;
    if (label >= classes) throw new InputError(`Pixel ${p} has label ${label}, but the map names only ${classes} classes.`);
    labels[i] = label;
  }
  return labels;
}

/** Feature rows per Gaussian from a feature map: the source pixel's row, zeros where there is no source pixel. */
export function featuresFromMap(set: GaussianSet, sourcePixels: SourcePixels, map: FeatureMap): Float32Array {
  checkSources(set, sourcePixels, map.width, map.height);
  const { dims } = map;
  if (!Number.isInteger(dims) || dims < 1) throw new InputError(`Feature dims (${dims}) must be a positive integer.`);
  if (map.data.length !== map.width * map.height * dims) {
    throw new InputError(`Feature map has ${map.data.length} values for ${map.width}x${map.height} pixels x ${dims} dims.`);
  }
  const out = new Float32Array(set.count * dims);
  for (let i = 0; i < set.count; i++) {
    const p = sourcePixels[i]!;
    if (p >= 0) out.set(map.data.subarray(p * dims, (p + 1) * dims), i * dims);
  }
  return out;
}

/**
 * The set with semantics taken from `map` through each Gaussian's source pixel. A class map sets labels and class
 * names and keeps existing features; a feature map sets features and keeps existing labels (or marks every
 * Gaussian UNLABELED with no class names when the set had none).
 */
export function attachSemantics(set: GaussianSet, sourcePixels: SourcePixels, map: SemanticMap): GaussianSet {
  const previous = set.semantics;
  let semantics: GaussianSemantics;
  if (map.kind === 'classes') {
    const labels = labelsFromMap(set, sourcePixels, map);
    semantics = { labels, classNames: map.classNames, ...(previous?.features !== undefined ? { features: previous.features } : {}) };
  } else {
    const data = featuresFromMap(set, sourcePixels, map);
    semantics = {
      labels: previous?.labels ?? new Uint16Array(set.count).fill(UNLABELED),
      classNames: previous?.classNames ?? [],
      features: { dims: map.dims, data },
    };
  }
  return createGaussianSet({ ...set, semantics });
}

/** Lower case, letters and digits only: 'Dining_Table', 'dining table' and 'diningtable' are one name. */
function normalizeClassName(name: string): string {
  return name.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/**
 * Label indices for class names, case-insensitively and ignoring spaces and punctuation. A name matches a class
 * whole, or failing that any '/'-separated part of it ('tv' and 'monitor' match 'tv/monitor'). An unknown name is
 * an InputError that lists the available classes.
 */
export function classLabelsFor(classNames: readonly string[], names: string | readonly string[]): ReadonlySet<number> {
  const wanted = typeof names === 'string' ? [names] : names;
  if (wanted.length === 0) throw new InputError('No class name given.');
  const whole = classNames.map(normalizeClassName);
  const parts = classNames.map((n) => n.split('/').map(normalizeClassName));
  const labels = new Set<number>();
  for (const name of wanted) {
    const key = normalizeClassName(name);
    let found = key !== '' ? whole.flatMap((w, k) => (w === key ? [k] : [])) : [];
    if (found.length === 0 && key !== '') found = parts.flatMap((p, k) => (p.includes(key) ? [k] : []));
    if (found.length === 0) {
      throw new InputError(`Unknown class "${name}". Available classes: ${classNames.length > 0 ? classNames.join(', ') : '(none)'}.`);
    }
    for (const k of found) labels.add(k);
  }
  return labels;
}

function requireSemantics(set: GaussianSet): GaussianSemantics {
  if (set.semantics === undefined) throw new InputError('The Gaussian set has no semantics: attach a segmentation first (attachSemantics).');
  return set.semantics;
}

/** Indices (ascending) of the Gaussians labelled with any of `names` (see classLabelsFor for matching). */
export function indicesOfClass(set: GaussianSet, names: string | readonly string[]): Uint32Array {
  const semantics = requireSemantics(set);
  const wanted = classLabelsFor(semantics.classNames, names);
  const mask = new Uint8Array(semantics.classNames.length);
  for (const k of wanted) mask[k] = 1;
  const { labels } = semantics;
  let count = 0;
  for (let i = 0; i < set.count; i++) if (labels[i]! !== UNLABELED && mask[labels[i]!] === 1) count++;
  const out = new Uint32Array(count);
  let k = 0;
  for (let i = 0; i < set.count; i++) if (labels[i]! !== UNLABELED && mask[labels[i]!] === 1) out[k++] = i;
  return out;
}

/** The Gaussians of the named class(es), in their original order, semantics included. */
export function queryByClass(set: GaussianSet, names: string | readonly string[]): GaussianSet {
  return selectGaussians(set, indicesOfClass(set, names));
}

/**
 * Cosine similarity of each Gaussian's feature row with `embedding` (length = feature dims). A zero feature row
 * (a Gaussian with no source pixel) has no direction: NaN, which no threshold keeps.
 */
export function featureSimilarity(set: GaussianSet, embedding: Float32Array): Float32Array {
  const features = requireSemantics(set).features;
  if (features === undefined) throw new InputError('The Gaussian set has no semantic features: attach a feature map (open-vocabulary segmentation) first.');
  const { dims, data } = features;
  if (embedding.length !== dims) throw new InputError(`The query embedding has ${embedding.length} dims; the Gaussians' features have ${dims}.`);
  let norm = 0;
  for (let c = 0; c < dims; c++) norm += embedding[c]! * embedding[c]!;
  if (!(norm > 0) || !Number.isFinite(norm)) throw new InputError('The query embedding must be finite and non-zero.');
  const inverseQuery = 1 / Math.sqrt(norm);
  const out = new Float32Array(set.count);
  for (let i = 0; i < set.count; i++) {
    const o = i * dims;
    let dot = 0;
    let sq = 0;
    for (let c = 0; c < dims; c++) {
      const f = data[o + c]!;
      dot += f * embedding[c]!;
      sq += f * f;
    }
    out[i] = sq > 0 ? dot * inverseQuery / Math.sqrt(sq) : Number.NaN;
  }
  return out;
}

/** The Gaussians whose feature's cosine similarity with `embedding` is at least `threshold` (in [-1, 1]). */
export function queryByFeature(set: GaussianSet, embedding: Float32Array, threshold: number): GaussianSet {
  if (!(threshold >= -1 && threshold <= 1)) throw new InputError(`Similarity threshold (${threshold}) must be in [-1, 1].`);
  const similarity = featureSimilarity(set, embedding);
  const indices: number[] = [];
  for (let i = 0; i < set.count; i++) if (similarity[i]! >= threshold) indices.push(i);
  return selectGaussians(set, indices);
}
