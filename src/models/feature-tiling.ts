/**
 * Local features at a chosen resolution with a fixed-size network. A static 640x640 XFeat squeezes a 1600x1200
 * photo by 2.5x, and its keypoints, which sit on the network's pixel grid, land 2.5 original pixels apart:
 * too coarse for narrow-field-of-view cameras, where a pixel is a few hundredths of a degree. Here the image is
 * (virtually) scaled so that its long side is `resolutionPx`, covered by network-size tiles, each tile run
 * through the network, and each keypoint kept only from the tile whose centre is nearest (so every part of the
 * image is detected once, away from tile borders where possible). Images already within one tile at that scale
 * go through the network in one piece, exactly as before.
 */
import type { RunContext } from '../core/context.ts';
import { InputError } from '../core/errors.ts';
import { runAhead } from '../core/run-ahead.ts';
import { createImage, type Image } from '../core/image.ts';
import { rankPositiveScores, type DetectedKeypoints, type LocalFeatures, type XFeatExtractor } from './xfeat.ts';

/** Tiles sent to the network ahead of the one being decoded. */
const TILES_AHEAD = 1;

export interface TiledExtractionOptions {
  /** Long side (pixels) of the image as the network sees it; never above the image's own. */
  readonly resolutionPx: number;
}

/** One tile: a crop of the original image, in original pixels. */
export interface FeatureTile {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Start offsets of `count` equal tiles of `tile` pixels spread evenly over `total` pixels. */
function tileStarts(total: number, tile: number): number[] {
  if (tile >= total) return [0];
  const count = Math.ceil(total / tile - 1e-9);
  return Array.from({ length: count }, (_, i) => Math.round(((total - tile) * i) / (count - 1)));
}

/**
 * The tiles that cover a width x height image when its long side is scaled to `resolutionPx` and cut into
 * pieces of the network's input size (tiles of at most inputWidth/scale x inputHeight/scale original pixels,
 * overlapping evenly when the sizes do not divide).
 */
export function featureTiles(width: number, height: number, inputWidth: number, inputHeight: number, resolutionPx: number): FeatureTile[] {
  if (!(resolutionPx > 0)) throw new InputError(`Feature resolution (${resolutionPx} px) must be positive.`);
  const scale = Math.min(1, resolutionPx / Math.max(width, height));
  const tileWidth = Math.min(width, Math.round(inputWidth / scale));
  const tileHeight = Math.min(height, Math.round(inputHeight / scale));
  // Within one tile the whole image is resized to the network input, aspect ratio and all, as upstream does.
  if (width * scale <= inputWidth + 1e-6 && height * scale <= inputHeight + 1e-6) return [{ x: 0, y: 0, width, height }];
  const tiles: FeatureTile[] = [];
  for (const y of tileStarts(height, tileHeight)) {
    for (const x of tileStarts(width, tileWidth)) tiles.push({ x, y, width: tileWidth, height: tileHeight });
  }
  return tiles;
}

/**
 * Original pixels per network pixel for an image of this size: the factor that turns a threshold given in
 * network pixels into one in image pixels.
 */
export function featurePixelScale(width: number, height: number, inputWidth: number, inputHeight: number, resolutionPx: number): number {
  const tiles = featureTiles(width, height, inputWidth, inputHeight, resolutionPx);
  if (tiles.length === 1) return Math.max(width / inputWidth, height / inputHeight);
  return Math.max(width, height) / Math.min(resolutionPx, Math.max(width, height));
}

function cropImage(image: Image<Uint8Array>, tile: FeatureTile): Image<Uint8Array> {
  const c = image.channels;
  const out = new Uint8Array(tile.width * tile.height * c);
  for (let y = 0; y < tile.height; y++) {
    const from = ((tile.y + y) * image.width + tile.x) * c;
    out.set(image.data.subarray(from, from + tile.width * c), y * tile.width * c);
  }
  return createImage({ width: tile.width, height: tile.height, channels: c, data: out, colorSpace: image.colorSpace });
}

/** Index of the tile whose centre is nearest to (x, y) in tile-size units (ties to the first). */
function owningTile(tiles: readonly FeatureTile[], x: number, y: number): number {
  let best = 0;
  let bestDistance = Number.POSITIVE_INFINITY;
  tiles.forEach((t, i) => {
    const d = Math.max(Math.abs(x - (t.x + (t.width - 1) / 2)) / t.width, Math.abs(y - (t.y + (t.height - 1) / 2)) / t.height);
    if (d < bestDistance - 1e-12) { bestDistance = d; best = i; }
  });
  return best;
}

/**
 * Features at several resolutions in one set (keypoints of every level, each with its own descriptor). XFeat's
 * descriptors are not scale-invariant: a close-up and a wide shot of the same facade match only when the
 * close-up's coarse level meets the wide shot's fine level. The finest level keeps `maxKeypoints`, each coarser
 * level a share proportional to its area. Order: levels as given, each best first.
 */
export async function extractMultiResolutionFeatures(
  extractor: XFeatExtractor, image: Image<Uint8Array>,
  options: { readonly resolutionsPx: readonly number[]; readonly maxKeypoints: number }, context: RunContext = {},
): Promise<LocalFeatures> {
  if (options.resolutionsPx.length === 0) throw new InputError('At least one feature resolution is needed.');
  const longSide = Math.max(image.width, image.height);
  // Levels at the same effective resolution (e.g. 1280 and 1600 on a 1000 px image) would repeat each other.
  const levels = [...new Set(options.resolutionsPx.map((r) => Math.min(r, longSide)))];
  const finest = Math.max(...levels);
  const parts: LocalFeatures[] = [];
  for (const resolutionPx of levels) {
    const cap = Math.max(1, Math.round(options.maxKeypoints * (resolutionPx / finest) ** 2));
    parts.push(await extractTiledFeatures(extractor, image, { resolutionPx, maxKeypoints: cap }, context));
  }
  if (parts.length === 1) return parts[0]!;
  const dim = parts[0]!.descriptorSize;
  const count = parts.reduce((n, p) => n + p.count, 0);
  const keypoints = new Float32Array(2 * count), scores = new Float32Array(count), descriptors = new Float32Array(count * dim);
  let offset = 0;
  for (const p of parts) {
    keypoints.set(p.keypoints, 2 * offset);
    scores.set(p.scores, offset);
    descriptors.set(p.descriptors, offset * dim);
    offset += p.count;
  }
  return { width: image.width, height: image.height, count, keypoints, scores, descriptorSize: dim, descriptors };
}

/**
 * Features of every tile, merged in original-image pixels, best scores first, at most `maxKeypoints` in all.
 * Each tile keeps up to the extractor's own cap before the merge. Tiles are detected first and described after
 * the merge, so only the keypoints that are kept are sampled for descriptors (the values are those of extract).
 */
export async function extractTiledFeatures(
  extractor: XFeatExtractor, image: Image<Uint8Array>, options: TiledExtractionOptions & { readonly maxKeypoints: number },
  context: RunContext = {},
): Promise<LocalFeatures> {
  const tiles = featureTiles(image.width, image.height, extractor.inputWidth, extractor.inputHeight, options.resolutionPx);
  if (tiles.length === 1) return extractor.extract(image, context);
  const parts: Array<{ detected: DetectedKeypoints; tile: FeatureTile; keep: number[] }> = [];
  // The next tiles go to the network (in the inference worker, when the backend has one) while this one is decoded.
  const detections = runAhead(tiles.length, TILES_AHEAD, (index) => extractor.detect(cropImage(image, tiles[index]!), context));
  let index = 0;
  for await (const detected of detections) {
    const tile = tiles[index]!;
    const keep: number[] = [];
    for (let i = 0; i < detected.count; i++) {
      if (owningTile(tiles, detected.keypoints[2 * i]! + tile.x, detected.keypoints[2 * i + 1]! + tile.y) === index) keep.push(i);
    }
    parts.push({ detected, tile, keep });
    index++;
  }
  const dim = parts[0]!.detected.descriptorSize;
  // The owned keypoints in tile then keypoint order; ranked best first with ties in that order, so the result
  // does not depend on the sort (every kept score is positive).
  const owners: Array<{ part: number; i: number }> = [];
  parts.forEach((p, part) => { for (const i of p.keep) owners.push({ part, i }); });
  const ownedScores = Float32Array.from(owners, ({ part, i }) => parts[part]!.detected.scores[i]!);
  const ranked = rankPositiveScores(ownedScores, options.maxKeypoints);
  const count = ranked.length;
  const keypoints = new Float32Array(2 * count);
  const scores = new Float32Array(count);
  // Per tile: the kept keypoints' indices there and their ranks in the merged set.
  const chosen = parts.map(() => ({ indices: [] as number[], ranks: [] as number[] }));
  for (let m = 0; m < count; m++) {
    const { part, i } = owners[ranked[m]!]!;
    const { detected, tile } = parts[part]!;
    keypoints[2 * m] = detected.keypoints[2 * i]! + tile.x;
    keypoints[2 * m + 1] = detected.keypoints[2 * i + 1]! + tile.y;
    scores[m] = detected.scores[i]!;
    chosen[part]!.indices.push(i);
    chosen[part]!.ranks.push(m);
  }
  const descriptors = new Float32Array(count * dim);
  parts.forEach(({ detected }, part) => {
    const { indices, ranks } = chosen[part]!;
    if (indices.length === 0) return;
    const described = detected.describe(Int32Array.from(indices));
    ranks.forEach((m, j) => descriptors.set(described.subarray(j * dim, (j + 1) * dim), m * dim));
  });
  return { width: image.width, height: image.height, count, keypoints, scores, descriptorSize: dim, descriptors };
}
