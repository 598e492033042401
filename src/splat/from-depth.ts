/**
 * Pixel-aligned Gaussians from a z-depth map, a camera and an image (the per-pixel Gaussians of L4GM and LSM, built
 * here from geometry instead of predicted). For every kept pixel (u, v) of the sampling grid (every `stride`-th
 * pixel in x and y):
 * - centre: the unprojected pixel, x = (u - cx) / fx * z, y = (v - cy) / fy * z (OpenCV, pixel centres at integer
 *   coordinates), mapped to the world by `worldFromCamera`;
 * - in-plane std dev (local x and y): footprintFactor * stride * z / f, f = sqrt(fx * fy). A pixel covers z / f at
 *   depth z; with the default factor 0.6 two neighbours one pixel apart cross at 0.5 px where each still has
 *   exp(-0.5 (0.5 / 0.6)^2) = 0.71 of its peak, so a surface is closed without blurring across more than ~2 px;
 * - thin std dev (local z): thinRatio (default 0.1) times the in-plane one, along the surface normal. The normal is
 *   the cross product of the unprojected neighbours' differences (central where both neighbours are valid,
 *   one-sided otherwise), oriented towards the camera; with no valid neighbour in x or in y it is the view ray;
 * - rotation: the unit quaternion (w, x, y, z), Hamilton, w >= 0, taking local axes to the world, whose local z is
 *   the normal and whose local x is the camera's x axis projected onto the tangent plane (its y axis when x is
 *   nearly along the normal), so the in-plane axes follow the image;
 * - opacity: baseOpacity, times the pixel's confidence mapped linearly from [low, high] to [0, 1] when there is a
 *   confidence map; pixels on a depth discontinuity (relative jump |z_n - z| / min(z_n, z) to a valid 4-neighbour
 *   on the grid above edgeThreshold) get 0, so no splat stretches across an edge. Gaussians below minOpacity go;
 * - colour: the pixel's RGB in [0, 1] (SH degree 0 as `colors` holds it).
 * Depth NaN, infinite or <= 0 is invalid. Above maxGaussians an evenly spaced subset of the kept pixels (row-major)
 * is taken, and its in-plane scales grow by sqrt(kept / maxGaussians) so the surface stays covered.
 */
import type { Camera } from '../core/camera.ts';
import type { Depth, MetricDepthMap, RelativeDepthMap } from '../core/depth.ts';
import { InputError } from '../core/errors.ts';
import { createGaussianSet, type GaussianSet } from '../core/gaussians.ts';
import type { Image } from '../core/image.ts';
import { writeQuaternionFromRotation } from '../core/quaternion.ts';
import { percentileLinear } from '../geometry/fusion.ts';

export interface GaussiansFromDepthOptions {
  /** Sample every stride-th pixel in x and y; in-plane scales grow by the same factor. Default 1. */
  readonly stride?: number;
  /** In-plane std dev as a fraction of the sample spacing (stride * z / f). Default 0.6. */
  readonly footprintFactor?: number;
  /** Thin-axis std dev as a fraction of the in-plane one. Default 0.1. */
  readonly thinRatio?: number;
  /** Relative depth jump to a grid neighbour above which a pixel is on an edge and dropped. Default 0.05. */
  readonly edgeThreshold?: number;
  /** Opacity of a fully confident, non-edge pixel. Default 1 (the rasteriser caps alpha at 0.99). */
  readonly baseOpacity?: number;
  /** Per-pixel confidence (width*height, larger = better); default the depth's own confidence, if any. */
  readonly confidence?: Float32Array;
  /**
   * Confidence mapped linearly to opacity factors 0..1 between low and high (clamped). Default low 0, high the 90th
   * percentile of the valid pixels' confidences (confidence scales differ between models; DA3's are >= 1).
   */
  readonly confidenceRange?: { readonly low: number; readonly high: number };
  /** Gaussians with opacity below this are dropped. Default 1/255 (what the rasteriser would skip). */
  readonly minOpacity?: number;
  /** At most this many Gaussians (evenly spaced subset). Default no cap. */
  readonly maxGaussians?: number;
}

export interface GaussiansFromDepthStats {
  /** Pixels on the sampling grid. */
  readonly gridPixels: number;
  /** Grid pixels with a valid (finite, positive) depth. */
  readonly validPixels: number;
  /** Valid pixels dropped as depth discontinuities. */
  readonly edgePixels: number;
  /** Valid, non-edge pixels dropped for opacity below minOpacity. */
  readonly lowOpacityPixels: number;
  /** Output Gaussians whose normal fell back to the view ray (no valid neighbour in x or in y). */
  readonly rayNormals: number;
  readonly output: number;
}

export interface GaussiansFromDepth {
  /** World-frame Gaussians. */
  readonly gaussians: GaussianSet;
  /** Source pixel (v * width + u) of each Gaussian: the pixel-aligned correspondence between frames. */
  readonly pixelIndices: Int32Array;
  readonly stats: GaussiansFromDepthStats;
}

export const DEFAULT_FOOTPRINT_FACTOR = 0.6;
export const DEFAULT_THIN_RATIO = 0.1;
export const DEFAULT_EDGE_THRESHOLD = 0.05;
const DEFAULT_CONFIDENCE_PERCENTILE = 90;

interface Settings {
  readonly stride: number;
  readonly footprintFactor: number;
  readonly thinRatio: number;
  readonly edgeThreshold: number;
  readonly baseOpacity: number;
  readonly minOpacity: number;
  readonly maxGaussians: number;
}

function positiveNumber(name: string, value: number): number {
  if (!(value > 0 && value < Infinity)) throw new InputError(`${name} (${value}) must be a positive finite number.`);
  return value;
}

function settingsOf(options: GaussiansFromDepthOptions): Settings {
  const stride = options.stride ?? 1;
  if (!(Number.isInteger(stride) && stride >= 1)) throw new InputError(`stride (${stride}) must be a positive integer.`);
  const baseOpacity = options.baseOpacity ?? 1;
  if (!(baseOpacity >= 0 && baseOpacity <= 1)) throw new InputError(`baseOpacity (${baseOpacity}) must be in [0, 1].`);
  const minOpacity = options.minOpacity ?? 1 / 255;
  if (!(minOpacity >= 0 && minOpacity <= 1)) throw new InputError(`minOpacity (${minOpacity}) must be in [0, 1].`);
  const maxGaussians = options.maxGaussians ?? Infinity;
  if (!(maxGaussians === Infinity || (Number.isInteger(maxGaussians) && maxGaussians >= 0))) {
    throw new InputError(`maxGaussians (${maxGaussians}) must be a non-negative integer.`);
  }
  return {
    stride,
    footprintFactor: positiveNumber('footprintFactor', options.footprintFactor ?? DEFAULT_FOOTPRINT_FACTOR),
    thinRatio: positiveNumber('thinRatio', options.thinRatio ?? DEFAULT_THIN_RATIO),
    edgeThreshold: positiveNumber('edgeThreshold', options.edgeThreshold ?? DEFAULT_EDGE_THRESHOLD),
    baseOpacity, minOpacity, maxGaussians,
  };
}

function checkInputs(depth: Depth, camera: Camera, image: Image, confidence: Float32Array | undefined): void {
  if (depth.kind === 'disparity') {
    throw new InputError(
      'Cannot build Gaussians from a disparity map (inverse depth with an unknown scale and shift): ' +
      'convert it to metric or relative z-depth first (e.g. align it to metric depth).',
    );
  }
  const { width, height } = depth;
  const k = camera.intrinsics;
  if (k.width !== width || k.height !== height) {
    throw new InputError(`Camera intrinsics are for ${k.width}x${k.height} but the depth map is ${width}x${height}; scale them with scaleIntrinsics first.`);
  }
  if (image.width !== width || image.height !== height) {
    throw new InputError(`Colour image is ${image.width}x${image.height} but the depth map is ${width}x${height}; resize one to match.`);
  }
  if (confidence !== undefined && confidence.length !== width * height) {
    throw new InputError(`Confidence length (${confidence.length}) does not match the depth map (${width}x${height}).`);
  }
  if (camera.worldFromCamera.length !== 16) throw new InputError(`worldFromCamera must have 16 elements, got ${camera.worldFromCamera.length}.`);
}

/** Throws the clearest InputError when no pixel has a usable depth. */
function throwNoValidDepth(data: Float32Array): never {
  if (data.length === 0) throw new InputError('The depth map is empty.');
  let finite = 0;
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i]!)) finite++;
  if (finite === 0) throw new InputError('Every depth value is invalid (NaN or infinite): there is nothing to build Gaussians from.');
  throw new InputError(
    `No depth value is positive (${finite} finite values, all <= 0): the scene is behind the camera, ` +
    'or the map is not z-depth along the optical axis.',
  );
}

/** Opacity factor per confidence value: linear from [low, high] to [0, 1], clamped. */
function confidenceMapping(confidence: Float32Array, depth: Float32Array, range: GaussiansFromDepthOptions['confidenceRange']): { low: number; span: number } {
  if (range !== undefined) {
    if (!(Number.isFinite(range.low) && Number.isFinite(range.high) && range.high > range.low)) {
      throw new InputError(`confidenceRange (${range.low}..${range.high}) must be finite with high > low.`);
    }
    return { low: range.low, span: range.high - range.low };
  }
  const values = new Float32Array(confidence.length);
  let n = 0;
  for (let i = 0; i < confidence.length; i++) {
    const c = confidence[i]!, z = depth[i]!;
    if (z > 0 && z < Infinity && Number.isFinite(c)) values[n++] = c;
  }
  const high = n > 0 ? percentileLinear(values.subarray(0, n), DEFAULT_CONFIDENCE_PERCENTILE) : 1;
  return { low: 0, span: high > 0 ? high : 1 };
}

/** Builds world-frame pixel-aligned Gaussians (see the file header for every attribute and default). */
export function gaussiansFromDepth(
  depth: MetricDepthMap | RelativeDepthMap,
  camera: Camera,
  image: Image,
  options: GaussiansFromDepthOptions = {},
): GaussiansFromDepth {
  const confidence = options.confidence ?? depth.confidence;
  checkInputs(depth, camera, image, confidence);
  const s = settingsOf(options);
  const { width, height, data } = depth;
  const { fxPx, fyPx, cxPx, cyPx } = camera.intrinsics;
  const k = s.stride;
  const gw = Math.ceil(width / k), gh = Math.ceil(height / k);
  const rayX = new Float64Array(gw), rayY = new Float64Array(gh);
  for (let g = 0; g < gw; g++) rayX[g] = (g * k - cxPx) / fxPx;
  for (let g = 0; g < gh; g++) rayY[g] = (g * k - cyPx) / fyPx;
  // Grid depths (0 = invalid) so every neighbour test is one array read.
  const z = new Float64Array(gw * gh);
  let valid = 0;
  for (let gv = 0; gv < gh; gv++) {
    for (let gu = 0; gu < gw; gu++) {
      const d = data[gv * k * width + gu * k]!;
      if (d > 0 && d < Infinity) { z[gv * gw + gu] = d; valid++; }
    }
  }
  if (valid === 0) throwNoValidDepth(data);

  // Pass 1: opacity per grid pixel (0 = dropped), counting why pixels go.
  const mapping = confidence !== undefined ? confidenceMapping(confidence, data, options.confidenceRange) : undefined;
  const opacity = new Float32Array(gw * gh);
  const edge = s.edgeThreshold;
  let edgePixels = 0, lowOpacity = 0, kept = 0;
  for (let gv = 0; gv < gh; gv++) {
    for (let gu = 0; gu < gw; gu++) {
      const g = gv * gw + gu;
      const zc = z[g]!;
      if (zc === 0) continue;
      if (isEdge(z, gw, gh, gu, gv, zc, edge)) { edgePixels++; continue; }
      let o = s.baseOpacity;
      if (mapping !== undefined) {
        const c = (confidence![gv * k * width + gu * k]! - mapping.low) / mapping.span;
        o *= c >= 1 ? 1 : c > 0 ? c : 0; // NaN confidence -> 0
      }
      if (!(o >= s.minOpacity) || o === 0) { lowOpacity++; continue; }
      opacity[g] = o;
      kept++;
    }
  }
  const count = Math.min(kept, s.maxGaussians);
  const capScale = count > 0 && count < kept ? Math.sqrt(kept / count) : 1;

  const positions = new Float32Array(count * 3);
  const scales = new Float32Array(count * 3);
  const rotations = new Float32Array(count * 4);
  const opacities = new Float32Array(count);
  const colors = new Float32Array(count * 3);
  const pixelIndices = new Int32Array(count);
  const m = camera.worldFromCamera;
  const r00 = m[0]!, r01 = m[1]!, r02 = m[2]!, r10 = m[4]!, r11 = m[5]!, r12 = m[6]!, r20 = m[8]!, r21 = m[9]!, r22 = m[10]!;
  const t0 = m[3]!, t1 = m[7]!, t2 = m[11]!;
  const inPlanePerZ = (s.footprintFactor * k * capScale) / Math.sqrt(fxPx * fyPx);
  const channels = image.channels;
  const colorScale = image.data instanceof Float32Array ? 1 : 1 / 255;
  const pixels = image.data;
  let rayNormals = 0;

  // Pass 2: the kept pixels (every (kept / count)-th one above the cap), in row-major order.
  let ordinal = 0, out = 0, next = 0;
  for (let gv = 0; gv < gh && out < count; gv++) {
    for (let gu = 0; gu < gw && out < count; gu++) {
      const g = gv * gw + gu;
      const o = opacity[g]!;
      if (o === 0) continue;
      const take = ordinal === next;
      ordinal++;
      if (!take) continue;
      next = Math.floor(((out + 1) * kept) / count);
      const zc = z[g]!;
      const px = rayX[gu]! * zc, py = rayY[gv]! * zc;

      // Tangents from the neighbours (central where both are valid, else one-sided); an edge-free pixel's valid
      // neighbours are all within the edge threshold, so none spans a discontinuity.
      let tx = 0, ty = 0, tz = 0, hasX = false;
      const zl = gu > 0 ? z[g - 1]! : 0, zr = gu + 1 < gw ? z[g + 1]! : 0;
      if (zl > 0 || zr > 0) {
        hasX = true;
        const ar = zr > 0 ? gu + 1 : gu, al = zl > 0 ? gu - 1 : gu;
        const za = zr > 0 ? zr : zc, zb = zl > 0 ? zl : zc;
        tx = rayX[ar]! * za - rayX[al]! * zb; ty = rayY[gv]! * (za - zb); tz = za - zb;
      }
      let sx = 0, sy = 0, sz = 0, hasY = false;
      const zu = gv > 0 ? z[g - gw]! : 0, zd = gv + 1 < gh ? z[g + gw]! : 0;
      if (zu > 0 || zd > 0) {
        hasY = true;
        const ad = zd > 0 ? gv + 1 : gv, au = zu > 0 ? gv - 1 : gv;
        const za = zd > 0 ? zd : zc, zb = zu > 0 ? zu : zc;
        sx = rayX[gu]! * (za - zb); sy = rayY[ad]! * za - rayY[au]! * zb; sz = za - zb;
      }
      let nx: number, ny: number, nz: number;
      let nn = 0;
      if (hasX && hasY) {
        nx = ty * sz - tz * sy; ny = tz * sx - tx * sz; nz = tx * sy - ty * sx;
        nn = Math.sqrt(nx * nx + ny * ny + nz * nz);
      } else {
        nx = ny = nz = 0;
      }
      if (nn > 0) {
        nx /= nn; ny /= nn; nz /= nn;
        if (nx * px + ny * py + nz * zc > 0) { nx = -nx; ny = -ny; nz = -nz; } // face the camera
      } else {
        const len = Math.sqrt(px * px + py * py + zc * zc);
        nx = -px / len; ny = -py / len; nz = -zc / len;
        rayNormals++;
      }
      // Local x: camera x (or y, when x is nearly the normal) minus its normal component; local y = z cross x.
      let ex: number, ey: number, ez: number;
      if (Math.abs(nx) < 0.9) { ex = 1 - nx * nx; ey = -nx * ny; ez = -nx * nz; } else { ex = -ny * nx; ey = 1 - ny * ny; ez = -ny * nz; }
      const el = Math.sqrt(ex * ex + ey * ey + ez * ez);
      ex /= el; ey /= el; ez /= el;
      const fx = ny * ez - nz * ey, fy = nz * ex - nx * ez, fz = nx * ey - ny * ex;

      // To the world: rotate the three axes, translate the centre.
      const o3 = out * 3, o4 = out * 4;
      positions[o3] = r00 * px + r01 * py + r02 * zc + t0;
      positions[o3 + 1] = r10 * px + r11 * py + r12 * zc + t1;
      positions[o3 + 2] = r20 * px + r21 * py + r22 * zc + t2;
      // The Gaussian's local axes in the world (e, f in the surface, n its normal) are the rotation's columns.
      const ax = r00 * ex + r01 * ey + r02 * ez, ay = r10 * ex + r11 * ey + r12 * ez, az = r20 * ex + r21 * ey + r22 * ez;
      const bx = r00 * fx + r01 * fy + r02 * fz, by = r10 * fx + r11 * fy + r12 * fz, bz = r20 * fx + r21 * fy + r22 * fz;
      const cx = r00 * nx + r01 * ny + r02 * nz, cy = r10 * nx + r11 * ny + r12 * nz, cz = r20 * nx + r21 * ny + r22 * nz;
      writeQuaternionFromRotation(ax, bx, cx, ay, by, cy, az, bz, cz, rotations, o4);
      const inPlane = inPlanePerZ * zc;
      scales[o3] = inPlane; scales[o3 + 1] = inPlane; scales[o3 + 2] = inPlane * s.thinRatio;
      opacities[out] = o;
      const pixel = gv * k * width + gu * k;
      const base = pixel * channels;
      for (let c = 0; c < 3; c++) colors[o3 + c] = pixels[base + (channels === 1 ? 0 : c)]! * colorScale;
      pixelIndices[out] = pixel;
      out++;
    }
  }

  const gaussians = createGaussianSet({ count, frame: 'world', positions, scales, rotations, opacities, colors });
  return {
    gaussians, pixelIndices,
    stats: { gridPixels: gw * gh, validPixels: valid, edgePixels, lowOpacityPixels: lowOpacity, rayNormals, output: count },
  };
}

/** True when a valid 4-neighbour on the grid differs from zc by more than `threshold` relative to the nearer one. */
function isEdge(z: Float64Array, gw: number, gh: number, gu: number, gv: number, zc: number, threshold: number): boolean {
  const g = gv * gw + gu;
  return (gu > 0 && jumps(zc, z[g - 1]!, threshold))
    || (gu + 1 < gw && jumps(zc, z[g + 1]!, threshold))
    || (gv > 0 && jumps(zc, z[g - gw]!, threshold))
    || (gv + 1 < gh && jumps(zc, z[g + gw]!, threshold));
}

function jumps(a: number, b: number, threshold: number): boolean {
  return b > 0 && Math.abs(a - b) > threshold * (a < b ? a : b);
}
