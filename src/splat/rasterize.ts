/**
 * CPU reference rasterizer for 3D Gaussians, following 3D Gaussian Splatting's forward pass:
 * project (./project.ts), cull, sort by depth, bin into 16x16 tiles, composite front to back per pixel:
 *   alpha_i = min(0.99, opacity_i * exp(-0.5 d^T conic_i d)),  skipped when alpha_i < 1/255,
 *   C += colour_i * alpha_i * T,  T *= 1 - alpha_i,
 * and a pixel stops at the first Gaussian that would take T below 1e-4 (that Gaussian is not composited), as 3DGS.
 * Colour is SH degree 0, i.e. the set's colours clamped to [0, 1]; the background is added with the final T.
 *
 * One deliberate difference from 3DGS: a Gaussian is evaluated only on its 3-sigma pixel box (see
 * ProjectedGaussians), not on every pixel of the tiles that box touches, so the image does not depend on the tile
 * size. Outside the box d^T conic d >= 9, so the dropped alphas are below opacity * exp(-4.5) ~ 0.011 opacity.
 *
 * Depth order: camera z rounded to float32, ties broken by Gaussian index. Everything is deterministic.
 * `renderGaussiansNaive` is the slow oracle (per pixel, every Gaussian in depth order) for tests and benchmarks.
 */
import type { Camera } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { UNLABELED, type GaussianSet } from '../core/gaussians.ts';
import { createImage, type Image } from '../core/image.ts';
import { MIN_ALPHA, projectGaussians, SPLAT, SPLAT_STRIDE, type ProjectedGaussians, type ProjectOptions } from './project.ts';

export const TILE_SIZE = 16;
/** Largest alpha a single Gaussian may have at a pixel (3DGS). */
export const MAX_ALPHA = 0.99;
/** A pixel stops compositing when its transmittance would fall below this (3DGS). */
export const MIN_TRANSMITTANCE = 1e-4;
/** Default cap on Gaussian-tile pairs: 4 bytes each, so 1 GiB of tile lists. */
export const DEFAULT_MAX_TILE_ENTRIES = 1 << 28;

export interface RenderOptions extends ProjectOptions {
  /** RGB in [0, 1] composited behind the splats with the final transmittance. Default black. */
  readonly background?: readonly [number, number, number];
  /** 3: RGB; 4: RGBA with alpha = 1 - final transmittance (RGB still includes the background). Default 3. */
  readonly channels?: 3 | 4;
  /** Refuse scenes needing more Gaussian-tile pairs than this (bounded memory). Default 2^28. */
  readonly maxTileEntries?: number;
}

export interface RenderedGaussians {
  readonly width: number;
  readonly height: number;
  /** Float32 colour in [0, 1] (sRGB as the set's colours are), RGB or RGBA (see RenderOptions.channels). */
  readonly color: Image<Float32Array>;
  /** Accumulated alpha per pixel: 1 - final transmittance. */
  readonly alpha: Float32Array;
  /**
   * Accumulated depth per pixel, sum_i w_i z_i with w_i = alpha_i T_i and z the camera z: NOT normalised, so it is
   * 0 where nothing was drawn. Divide by `alpha` (normalizeDepth) for the expected depth of the covered part.
   */
  readonly depth: Float32Array;
  /** When the set has semantics: the label of the Gaussian with the largest weight w_i per pixel, or UNLABELED. */
  readonly labels?: Uint16Array;
  readonly stats: {
    readonly gaussians: number;
    readonly visible: number;
    readonly tileEntries: number;
    readonly culled: ProjectedGaussians['culled'];
  };
}

interface Resolved {
  readonly width: number;
  readonly height: number;
  readonly background: readonly [number, number, number];
  readonly channels: 3 | 4;
  readonly maxTileEntries: number;
}

function resolveOptions(camera: Camera, options: RenderOptions): Resolved {
  const background = options.background ?? [0, 0, 0];
  if (background.length !== 3 || !background.every((v) => Number.isFinite(v))) {
    throw new InputError(`Render background (${background.join(',')}) must be three finite numbers (RGB in 0..1).`);
  }
  const channels = options.channels ?? 3;
  if (channels !== 3 && channels !== 4) throw new InputError(`Render channels (${String(channels)}) must be 3 or 4.`);
  const maxTileEntries = options.maxTileEntries ?? DEFAULT_MAX_TILE_ENTRIES;
  return { width: camera.intrinsics.width, height: camera.intrinsics.height, background, channels, maxTileEntries };
}

/**
 * The permutation of 0..n-1 that sorts float32 `depth` ascending, ties in index order: an LSD radix sort
 * (3 passes of 11 bits) on the float bits, which order like unsigned integers for positive floats.
 */
export function sortByDepth(depth: Float32Array): Uint32Array {
  const n = depth.length;
  let srcKeys = new Uint32Array(depth.buffer, depth.byteOffset, n).slice();
  let srcIds = new Uint32Array(n);
  for (let k = 0; k < n; k++) srcIds[k] = k;
  let dstKeys = new Uint32Array(n), dstIds = new Uint32Array(n);
  const counts = new Uint32Array(2048);
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0);
    for (let k = 0; k < n; k++) counts[(srcKeys[k]! >>> shift) & 2047]!++;
    let sum = 0;
    for (let b = 0; b < 2048; b++) { const c = counts[b]!; counts[b] = sum; sum += c; }
    for (let k = 0; k < n; k++) {
      const key = srcKeys[k]!;
      const slot = counts[(key >>> shift) & 2047]!++;
      dstKeys[slot] = key;
      dstIds[slot] = srcIds[k]!;
    }
    [srcKeys, dstKeys] = [dstKeys, srcKeys];
    [srcIds, dstIds] = [dstIds, srcIds];
  }
  return srcIds;
}

/** Per-tile lists of depth ranks (see PackedSplats), ascending: tile t holds entries[offsets[t] .. offsets[t+1]). */
export interface TileLists {
  readonly tilesX: number;
  readonly tilesY: number;
  readonly offsets: Uint32Array;
  readonly entries: Uint32Array;
}

// Record offsets as module constants (reading the imported SPLAT object in hot loops would go through getters).
const S_MEAN_X = SPLAT.meanX, S_MEAN_Y = SPLAT.meanY, S_CONIC_A = SPLAT.conicA, S_CONIC_B = SPLAT.conicB;
const S_CONIC_C = SPLAT.conicC, S_OPACITY = SPLAT.opacity, S_POWER_CUT = SPLAT.powerCut, S_RED = SPLAT.red;
const S_GREEN = SPLAT.green, S_BLUE = SPLAT.blue, S_DEPTH = SPLAT.depth, S_LABEL = SPLAT.label;
const STRIDE = SPLAT_STRIDE;

/** Projected records and boxes permuted into depth order: rank r is the r-th nearest (see ProjectedGaussians). */
export interface PackedSplats {
  readonly count: number;
  readonly boxes: Int32Array;
  readonly splats: Float64Array;
}

/** Gathers the records in `sorted` order, so that rasterising a tile reads memory almost sequentially. */
export function packSplats(sorted: Uint32Array, projected: ProjectedGaussians): PackedSplats {
  const n = sorted.length;
  const boxes = new Int32Array(n * 4);
  const splats = new Float64Array(n * STRIDE);
  const source = projected.splats, sourceBoxes = projected.boxes;
  for (let r = 0; r < n; r++) {
    const k = sorted[r]!;
    const from = k * STRIDE, to = r * STRIDE;
    for (let j = 0; j < STRIDE; j++) splats[to + j] = source[from + j]!;
    boxes[4 * r] = sourceBoxes[4 * k]!; boxes[4 * r + 1] = sourceBoxes[4 * k + 1]!;
    boxes[4 * r + 2] = sourceBoxes[4 * k + 2]!; boxes[4 * r + 3] = sourceBoxes[4 * k + 3]!;
  }
  return { count: n, boxes, splats };
}

/** Bins ranks into tiles by their pixel boxes: count, prefix sum, fill (so each list stays in depth order). */
export function binTiles(boxes: Int32Array, width: number, height: number, maxTileEntries: number): TileLists {
  const n = boxes.length >> 2;
  const tilesX = Math.ceil(width / TILE_SIZE), tilesY = Math.ceil(height / TILE_SIZE);
  const offsets = new Uint32Array(tilesX * tilesY + 1);
  let total = 0;
  for (let r = 0; r < n; r++) {
    const tx0 = (boxes[4 * r]! / TILE_SIZE) | 0, tx1 = (boxes[4 * r + 1]! / TILE_SIZE) | 0;
    const ty0 = (boxes[4 * r + 2]! / TILE_SIZE) | 0, ty1 = (boxes[4 * r + 3]! / TILE_SIZE) | 0;
    total += (tx1 - tx0 + 1) * (ty1 - ty0 + 1);
    for (let ty = ty0; ty <= ty1; ty++) {
      for (let tx = tx0; tx <= tx1; tx++) offsets[ty * tilesX + tx + 1]!++;
    }
  }
  if (total > maxTileEntries) {
    throw new InputError(
      `Rendering needs ${total} Gaussian-tile pairs, over the limit of ${maxTileEntries}: ` +
      'too many or too large Gaussians for this view; render fewer Gaussians, a smaller image, or raise maxTileEntries.',
    );
  }
  for (let t = 0; t < tilesX * tilesY; t++) offsets[t + 1]! += offsets[t]!;
  const cursor = offsets.slice(0, tilesX * tilesY);
  const entries = new Uint32Array(total);
  for (let r = 0; r < n; r++) {
    const tx0 = (boxes[4 * r]! / TILE_SIZE) | 0, tx1 = (boxes[4 * r + 1]! / TILE_SIZE) | 0;
    const ty0 = (boxes[4 * r + 2]! / TILE_SIZE) | 0, ty1 = (boxes[4 * r + 3]! / TILE_SIZE) | 0;
    for (let ty = ty0; ty <= ty1; ty++) {
      for (let tx = tx0; tx <= tx1; tx++) entries[cursor[ty * tilesX + tx]!++] = r;
    }
  }
  return { tilesX, tilesY, offsets, entries };
}

/** Output buffers in the final layout, filled pixel by pixel. */
interface Accumulators {
  readonly color: Float32Array;
  readonly alpha: Float32Array;
  readonly depth: Float32Array;
  readonly labels: Uint16Array | undefined;
}

function allocate(resolved: Resolved, withLabels: boolean): Accumulators {
  const pixels = resolved.width * resolved.height;
  return {
    color: new Float32Array(pixels * resolved.channels),
    alpha: new Float32Array(pixels),
    depth: new Float32Array(pixels),
    labels: withLabels ? new Uint16Array(pixels).fill(UNLABELED) : undefined,
  };
}

function finish(set: GaussianSet, resolved: Resolved, out: Accumulators, projected: ProjectedGaussians, tileEntries: number): RenderedGaussians {
  const color = createImage({ width: resolved.width, height: resolved.height, channels: resolved.channels, data: out.color, colorSpace: 'srgb' });
  return {
    width: resolved.width, height: resolved.height, color, alpha: out.alpha, depth: out.depth,
    ...(out.labels !== undefined ? { labels: out.labels } : {}),
    stats: { gaussians: set.count, visible: projected.visibleCount, tileEntries, culled: projected.culled },
  };
}

/** Per-pixel state of one tile, index (y - tileY0) * TILE_SIZE + (x - tileX0); reused across tiles. */
interface TileScratch {
  readonly transmittance: Float64Array;
  readonly accR: Float64Array;
  readonly accG: Float64Array;
  readonly accB: Float64Array;
  readonly accDepth: Float64Array;
  readonly bestWeight: Float64Array;
  readonly bestLabel: Uint16Array;
  readonly done: Uint8Array;
}

function createTileScratch(): TileScratch {
  const n = TILE_SIZE * TILE_SIZE;
  return {
    transmittance: new Float64Array(n), accR: new Float64Array(n), accG: new Float64Array(n), accB: new Float64Array(n),
    accDepth: new Float64Array(n), bestWeight: new Float64Array(n), bestLabel: new Uint16Array(n), done: new Uint8Array(n),
  };
}

// Locals, not imported bindings: under tsx (CommonJS interop) every read of an imported constant is a getter call.
const minAlpha = MIN_ALPHA, unlabeled = UNLABELED;

/**
 * Composites the tile's splats (ranks entries[begin..end), ascending = front to back) into the scratch state.
 * Splat-major: each splat visits only its box within the tile, in depth order, which keeps every pixel's
 * front-to-back order while touching far fewer pixels than a per-pixel loop over the tile's list. A separate
 * function (called per tile) so V8 optimises it as a whole rather than through on-stack replacement.
 */
function compositeTile(
  scratch: TileScratch, boxes: Int32Array, params: Float64Array, entries: Uint32Array, begin: number, end: number,
  x0: number, x1: number, y0: number, y1: number,
): void {
  const { transmittance, accR, accG, accB, accDepth, bestWeight, bestLabel, done } = scratch;
  transmittance.fill(1);
  accR.fill(0); accG.fill(0); accB.fill(0); accDepth.fill(0);
  bestWeight.fill(0); bestLabel.fill(unlabeled); done.fill(0);
  let pixelsLeft = (x1 - x0 + 1) * (y1 - y0 + 1);
  for (let e = begin; e < end && pixelsLeft > 0; e++) {
    const r = entries[e]!;
    const gx0 = Math.max(x0, boxes[4 * r]!), gx1 = Math.min(x1, boxes[4 * r + 1]!);
    const gy0 = Math.max(y0, boxes[4 * r + 2]!), gy1 = Math.min(y1, boxes[4 * r + 3]!);
    const o = r * STRIDE;
    const mx = params[o + S_MEAN_X]!, my = params[o + S_MEAN_Y]!;
    const ca = params[o + S_CONIC_A]!, cb = params[o + S_CONIC_B]!, cc = params[o + S_CONIC_C]!;
    const opacity = params[o + S_OPACITY]!, powerCut = params[o + S_POWER_CUT]!;
    const cr = params[o + S_RED]!, cg = params[o + S_GREEN]!, cbl = params[o + S_BLUE]!;
    const z = params[o + S_DEPTH]!;
    const label = params[o + S_LABEL]!;
    for (let y = gy0; y <= gy1; y++) {
      const dy = my - y;
      // Same expression and evaluation order as the oracle, so threshold decisions agree bit for bit.
      const dyTerm = cc * dy * dy;
      // The row's x-interval inside the ellipse power >= powerCut (roots of ca dx^2 + 2 cb dy dx + dyTerm
      // + 2 powerCut = 0, dx = mx - x), widened by 1e-6 px: pixels outside it cannot reach alpha 1/255.
      const disc = cb * dy * cb * dy - ca * (dyTerm + 2 * powerCut);
      if (disc < 0) continue;
      const half = Math.sqrt(disc) / ca, centre = mx + cb * dy / ca;
      const rx0 = Math.max(gx0, Math.ceil(centre - half - 1e-6)), rx1 = Math.min(gx1, Math.floor(centre + half + 1e-6));
      const row = (y - y0) * TILE_SIZE - x0;
      for (let x = rx0; x <= rx1; x++) {
        const p = row + x;
        if (done[p] !== 0) continue;
        const dx = mx - x;
        const power = -0.5 * (ca * dx * dx + dyTerm) - cb * dx * dy;
        if (power > 0) continue;
        let alpha = opacity * Math.exp(power);
        if (alpha > MAX_ALPHA) alpha = MAX_ALPHA;
        if (alpha < minAlpha) continue;
        const t = transmittance[p]!;
        const next = t * (1 - alpha);
        if (next < MIN_TRANSMITTANCE) { done[p] = 1; pixelsLeft--; continue; }
        const w = alpha * t;
        accR[p] = accR[p]! + w * cr; accG[p] = accG[p]! + w * cg; accB[p] = accB[p]! + w * cbl;
        accDepth[p] = accDepth[p]! + w * z;
        if (w > bestWeight[p]!) { bestWeight[p] = w; bestLabel[p] = label; }
        transmittance[p] = next;
      }
    }
  }
}

/** Copies a composited tile into the output images, adding the background with the final transmittance. */
function writeTile(
  scratch: TileScratch, out: Accumulators, width: number, channels: number, bgR: number, bgG: number, bgB: number,
  x0: number, x1: number, y0: number, y1: number,
): void {
  const { transmittance, accR, accG, accB, accDepth, bestLabel } = scratch;
  const { color, alpha, depth, labels } = out;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const p = (y - y0) * TILE_SIZE + (x - x0);
      const o = y * width + x;
      const t = transmittance[p]!;
      const c = o * channels;
      color[c] = accR[p]! + t * bgR;
      color[c + 1] = accG[p]! + t * bgG;
      color[c + 2] = accB[p]! + t * bgB;
      if (channels === 4) color[c + 3] = 1 - t;
      alpha[o] = 1 - t;
      depth[o] = accDepth[p]!;
      if (labels !== undefined) labels[o] = bestLabel[p]!;
    }
  }
}

/**
 * Renders a Gaussian set from `camera` (positions in the frame camera.worldFromCamera maps into): colour, alpha,
 * accumulated depth and, when the set has semantics, a label image. Tile-based; see the module comment.
 */
export function renderGaussians(set: GaussianSet, camera: Camera, options: RenderOptions = {}): RenderedGaussians {
  const resolved = resolveOptions(camera, options);
  const { width, height, channels } = resolved;
  const [bgR, bgG, bgB] = resolved.background;
  const projected = projectGaussians(set, camera, options);
  const { boxes, splats } = packSplats(sortByDepth(projected.depth), projected);
  const tiles = binTiles(boxes, width, height, resolved.maxTileEntries);
  const out = allocate(resolved, set.semantics !== undefined);
  const { offsets, entries, tilesX, tilesY } = tiles;

  const scratch = createTileScratch();
  for (let ty = 0; ty < tilesY; ty++) {
    const y0 = ty * TILE_SIZE, y1 = Math.min(height, y0 + TILE_SIZE) - 1;
    for (let tx = 0; tx < tilesX; tx++) {
      const x0 = tx * TILE_SIZE, x1 = Math.min(width, x0 + TILE_SIZE) - 1;
      const tile = ty * tilesX + tx;
      compositeTile(scratch, boxes, splats, entries, offsets[tile]!, offsets[tile + 1]!, x0, x1, y0, y1);
      writeTile(scratch, out, width, channels, bgR, bgG, bgB, x0, x1, y0, y1);
    }
  }
  return finish(set, resolved, out, projected, entries.length);
}

/**
 * The slow oracle: for every pixel, every visible Gaussian in depth order (a comparison sort, independent of the
 * radix sort and the tiles), with the same per-pixel rule. O(pixels x Gaussians); tests and benchmarks only.
 */
export function renderGaussiansNaive(set: GaussianSet, camera: Camera, options: RenderOptions = {}): RenderedGaussians {
  const resolved = resolveOptions(camera, options);
  const { width, height, channels, background } = resolved;
  const projected = projectGaussians(set, camera, options);
  const { depth, splats, boxes } = projected;
  const order = Array.from({ length: projected.visibleCount }, (_, k) => k).sort((a, b) => depth[a]! - depth[b]! || a - b);
  const out = allocate(resolved, set.semantics !== undefined);
  const minAlpha = MIN_ALPHA, maxAlpha = MAX_ALPHA, minTransmittance = MIN_TRANSMITTANCE, unlabeled = UNLABELED;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let t = 1, r = 0, g = 0, b = 0, d = 0, bestW = 0, bestLabel = unlabeled;
      for (const k of order) {
        if (x < boxes[4 * k]! || x > boxes[4 * k + 1]! || y < boxes[4 * k + 2]! || y > boxes[4 * k + 3]!) continue;
        const o = k * STRIDE;
        const dx = splats[o + S_MEAN_X]! - x, dy = splats[o + S_MEAN_Y]! - y;
        const power = -0.5 * (splats[o + S_CONIC_A]! * dx * dx + splats[o + S_CONIC_C]! * dy * dy) - splats[o + S_CONIC_B]! * dx * dy;
        if (power > 0) continue;
        const alpha = Math.min(maxAlpha, splats[o + S_OPACITY]! * Math.exp(power));
        if (alpha < minAlpha) continue;
        const next = t * (1 - alpha);
        if (next < minTransmittance) break;
        const w = alpha * t;
        r += w * splats[o + S_RED]!; g += w * splats[o + S_GREEN]!; b += w * splats[o + S_BLUE]!;
        d += w * splats[o + S_DEPTH]!;
        if (w > bestW) { bestW = w; bestLabel = splats[o + S_LABEL]!; }
        t = next;
      }
      const o = y * width + x;
      const c = o * channels;
      out.color[c] = r + t * background[0];
      out.color[c + 1] = g + t * background[1];
      out.color[c + 2] = b + t * background[2];
      if (channels === 4) out.color[c + 3] = 1 - t;
      out.alpha[o] = 1 - t;
      out.depth[o] = d;
      if (out.labels !== undefined) out.labels[o] = bestLabel;
    }
  }
  return finish(set, resolved, out, projected, 0);
}

/** Expected depth of the covered part of each pixel, depth / alpha; NaN where alpha < minAlpha (default 0.5). */
export function normalizeDepth(rendered: RenderedGaussians, minAlpha = 0.5): Float32Array {
  const out = new Float32Array(rendered.depth.length);
  for (let p = 0; p < out.length; p++) {
    const a = rendered.alpha[p]!;
    out[p] = a >= minAlpha && a > 0 ? rendered.depth[p]! / a : NaN;
  }
  return out;
}
