/**
 * Projection of 3D Gaussians to image-plane 2D Gaussians, as 3D Gaussian Splatting (Kerbl et al. 2023,
 * `computeCov2D` in diff-gaussian-rasterization) and gsplat do it:
 * - 3D covariance S = R diag(s^2) R^T from the activated scales (std devs) and the unit quaternion (w, x, y, z);
 * - camera-frame mean t = cameraFromWorld * p, camera-frame covariance W S W^T (W the rotation of cameraFromWorld);
 * - the local affine approximation of the perspective map at t (EWA splatting), with the Jacobian
 *     J = [[fx/z, 0, -fx x/z^2], [0, fy/z, -fy y/z^2]]
 *   evaluated at x/z and y/z clamped to the image's tan-half-fov plus 30 % (1.3 x for a centred principal point,
 *   gsplat's asymmetric limits otherwise), so splats far outside the view do not explode;
 * - 2D covariance J W S W^T J^T plus 0.3 px^2 on the diagonal (the low-pass filter: every splat covers at least
 *   about a pixel), its inverse (the conic), and a radius of ceil(3 sqrt(largest eigenvalue)).
 * Pixels follow the core convention: pixel (u, v) has its centre at integer (u, v), mean at u = fx x/z + cx.
 */
import type { Camera, Intrinsics } from '../core/camera.ts';
import { UNLABELED, type GaussianSet } from '../core/gaussians.ts';
import { InputError } from '../core/errors.ts';
import { invertRigid, type Mat4 } from '../core/mat4.ts';

/** Variance (px^2) added to both diagonal entries of every projected covariance (3DGS's anti-aliasing low-pass). */
export const LOW_PASS_PX2 = 0.3;
/** Default near plane (camera z, in the set's units): Gaussians with z <= near are culled. */
export const DEFAULT_NEAR = 0.01;
/** The Jacobian is evaluated with x/z, y/z clamped to the view's extent plus this fraction of its tan-half-fov. */
const FRUSTUM_MARGIN = 0.3;
/** Smallest opacity that can ever give a pixel alpha >= 1/255; fainter Gaussians are culled up front. */
export const MIN_ALPHA = 1 / 255;

/**
 * Writes the 3D covariance R diag(sx^2, sy^2, sz^2) R^T as its 6 upper-triangle entries
 * (xx, xy, xz, yy, yz, zz) at out[offset..offset+5]. The quaternion (w, x, y, z) is normalised here.
 */
export function covarianceFromScaleRotation(
  sx: number, sy: number, sz: number,
  qw: number, qx: number, qy: number, qz: number,
  out: Float64Array, offset = 0,
): void {
  const n = Math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
  const w = qw / n, x = qx / n, y = qy / n, z = qz / n;
  const r00 = 1 - 2 * (y * y + z * z), r01 = 2 * (x * y - w * z), r02 = 2 * (x * z + w * y);
  const r10 = 2 * (x * y + w * z), r11 = 1 - 2 * (x * x + z * z), r12 = 2 * (y * z - w * x);
  const r20 = 2 * (x * z - w * y), r21 = 2 * (y * z + w * x), r22 = 1 - 2 * (x * x + y * y);
  // M = R diag(s); S = M M^T.
  const m00 = r00 * sx, m01 = r01 * sy, m02 = r02 * sz;
  const m10 = r10 * sx, m11 = r11 * sy, m12 = r12 * sz;
  const m20 = r20 * sx, m21 = r21 * sy, m22 = r22 * sz;
  out[offset] = m00 * m00 + m01 * m01 + m02 * m02;
  out[offset + 1] = m00 * m10 + m01 * m11 + m02 * m12;
  out[offset + 2] = m00 * m20 + m01 * m21 + m02 * m22;
  out[offset + 3] = m10 * m10 + m11 * m11 + m12 * m12;
  out[offset + 4] = m10 * m20 + m11 * m21 + m12 * m22;
  out[offset + 5] = m20 * m20 + m21 * m21 + m22 * m22;
}

/** The x/z, y/z limits at which the Jacobian is evaluated (see the module comment). */
export interface FrustumLimits {
  readonly xNeg: number;
  readonly xPos: number;
  readonly yNeg: number;
  readonly yPos: number;
}

/**
 * gsplat's limits (x/z in [-xNeg, xPos]): the image edge (-0.5 and width-0.5 with integer pixel centres) plus
 * 0.3 x tan-half-fov (width / 2fx). For cx = (width-1)/2 both equal 1.3 x width/(2 fx), 3DGS's limit.
 */
export function frustumLimits(intrinsics: Intrinsics): FrustumLimits {
  const { fxPx, fyPx, cxPx, cyPx, width, height } = intrinsics;
  const tanX = (0.5 * width) / fxPx, tanY = (0.5 * height) / fyPx;
  return {
    xNeg: (cxPx + 0.5) / fxPx + FRUSTUM_MARGIN * tanX,
    xPos: (width - 0.5 - cxPx) / fxPx + FRUSTUM_MARGIN * tanX,
    yNeg: (cyPx + 0.5) / fyPx + FRUSTUM_MARGIN * tanY,
    yPos: (height - 0.5 - cyPx) / fyPx + FRUSTUM_MARGIN * tanY,
  };
}

/**
 * Projects a camera-frame 3D covariance (6 upper-triangle entries at cov[offset..]) at camera-frame mean
 * (tx, ty, tz), tz > 0, to the 2D image covariance J C J^T, WITHOUT the low-pass term; writes (a, b, c) of
 * [[a, b], [b, c]] to out[0..2].
 */
export function projectCovariance(
  cov: ArrayLike<number>, offset: number,
  tx: number, ty: number, tz: number,
  intrinsics: Intrinsics, limits: FrustumLimits,
  out: Float64Array,
): void {
  const { fxPx, fyPx } = intrinsics;
  const u = Math.min(limits.xPos, Math.max(-limits.xNeg, tx / tz));
  const v = Math.min(limits.yPos, Math.max(-limits.yNeg, ty / tz));
  // J = [[fx/z, 0, -fx u/z], [0, fy/z, -fy v/z]] with u = x/z, v = y/z after clamping.
  const j00 = fxPx / tz, j02 = -fxPx * u / tz;
  const j11 = fyPx / tz, j12 = -fyPx * v / tz;
  const c00 = cov[offset]!, c01 = cov[offset + 1]!, c02 = cov[offset + 2]!;
  const c11 = cov[offset + 3]!, c12 = cov[offset + 4]!, c22 = cov[offset + 5]!;
  out[0] = j00 * j00 * c00 + 2 * j00 * j02 * c02 + j02 * j02 * c22;
  out[1] = j00 * j11 * c01 + j00 * j12 * c02 + j02 * j11 * c12 + j02 * j12 * c22;
  out[2] = j11 * j11 * c11 + 2 * j11 * j12 * c12 + j12 * j12 * c22;
}

/** Rotates a 6-entry symmetric covariance by the 3x3 rotation block of a row-major Mat4: W C W^T. */
export function rotateCovariance(view: Mat4, cov: ArrayLike<number>, offset: number, out: Float64Array, outOffset = 0): void {
  const c00 = cov[offset]!, c01 = cov[offset + 1]!, c02 = cov[offset + 2]!;
  const c11 = cov[offset + 3]!, c12 = cov[offset + 4]!, c22 = cov[offset + 5]!;
  const w00 = view[0]!, w01 = view[1]!, w02 = view[2]!;
  const w10 = view[4]!, w11 = view[5]!, w12 = view[6]!;
  const w20 = view[8]!, w21 = view[9]!, w22 = view[10]!;
  // Rows of W C.
  const a00 = w00 * c00 + w01 * c01 + w02 * c02, a01 = w00 * c01 + w01 * c11 + w02 * c12, a02 = w00 * c02 + w01 * c12 + w02 * c22;
  const a10 = w10 * c00 + w11 * c01 + w12 * c02, a11 = w10 * c01 + w11 * c11 + w12 * c12, a12 = w10 * c02 + w11 * c12 + w12 * c22;
  const a20 = w20 * c00 + w21 * c01 + w22 * c02, a21 = w20 * c01 + w21 * c11 + w22 * c12, a22 = w20 * c02 + w21 * c12 + w22 * c22;
  out[outOffset] = a00 * w00 + a01 * w01 + a02 * w02;
  out[outOffset + 1] = a00 * w10 + a01 * w11 + a02 * w12;
  out[outOffset + 2] = a00 * w20 + a01 * w21 + a02 * w22;
  out[outOffset + 3] = a10 * w10 + a11 * w11 + a12 * w12;
  out[outOffset + 4] = a10 * w20 + a11 * w21 + a12 * w22;
  out[outOffset + 5] = a20 * w20 + a21 * w21 + a22 * w22;
}

/** 3DGS's splat radius in px: ceil(3 sqrt(lambda_max)) of [[a, b], [b, c]], with its 0.1 floor on the discriminant. */
export function radiusFromCovariance2d(a: number, b: number, c: number): number {
  const det = a * c - b * b;
  const mid = 0.5 * (a + c);
  const lambdaMax = mid + Math.sqrt(Math.max(0.1, mid * mid - det));
  return Math.ceil(3 * Math.sqrt(lambdaMax));
}

export interface ProjectOptions {
  /** Near plane as camera z; Gaussians with z <= near are culled. Default DEFAULT_NEAR (0.01). */
  readonly near?: number;
}

/** Layout of one record of ProjectedGaussians.splats: offsets within a record of SPLAT_STRIDE numbers. */
export const SPLAT = {
  meanX: 0, meanY: 1,
  /** The conic [[conicA, conicB], [conicB, conicC]]: the inverse of the 2D covariance, low-pass included. */
  conicA: 2, conicB: 3, conicC: 4,
  opacity: 5,
  /** log(1/255) - log(opacity) - 1e-6: a power (exponent) below this cannot give alpha >= 1/255. */
  powerCut: 6,
  /** Colour clamped to [0, 1] (SH degree 0 after evaluation). */
  red: 7, green: 8, blue: 9,
  /** Camera z rounded to float32 (the same value as `depth`). */
  depth: 10,
  /** The set's semantic label, or UNLABELED when it has none. */
  label: 11,
  radius: 12,
} as const;
export const SPLAT_STRIDE = 13;

/**
 * The Gaussians of a set that survive culling, projected for one camera, compacted: slot k holds Gaussian ids[k]
 * (ids increasing). Each slot is one interleaved record (SPLAT offsets) so that later passes touch one or two
 * cache lines per Gaussian instead of a dozen arrays.
 *
 * The 2D Gaussian of a slot is alpha(u, v) = opacity * exp(-0.5 d^T conic d), d = (meanX - u, meanY - v), evaluated
 * on its pixel box boxes[4k..4k+3] = xMin, xMax, yMin, yMax only: its 3-sigma square |u - meanX| <= radius,
 * |v - meanY| <= radius, clipped to the image.
 */
export interface ProjectedGaussians {
  /** Gaussians in the set. */
  readonly count: number;
  /** Gaussians that survived culling (slots). */
  readonly visibleCount: number;
  readonly ids: Uint32Array;
  /** Camera z per slot, rounded to float32: the depth sort key and the value that depth images accumulate. */
  readonly depth: Float32Array;
  readonly splats: Float64Array;
  readonly boxes: Int32Array;
  /** How many Gaussians each cull removed. */
  readonly culled: { readonly near: number; readonly outside: number; readonly degenerate: number; readonly transparent: number };
}

/**
 * Projects every Gaussian of `set` (positions in the frame that `camera.worldFromCamera` maps into) and culls those
 * at z <= near, those whose 3-sigma box misses the image, those with a non-finite or singular covariance, and those
 * with opacity < 1/255 (which can never reach the 1/255 alpha threshold).
 */
export function projectGaussians(set: GaussianSet, camera: Camera, options: ProjectOptions = {}): ProjectedGaussians {
  const near = options.near ?? DEFAULT_NEAR;
  if (!(near > 0 && Number.isFinite(near))) throw new InputError(`Render near plane (${near}) must be a positive finite number.`);
  const intrinsics = camera.intrinsics;
  const { fxPx, fyPx, cxPx, cyPx, width, height } = intrinsics;
  const view = invertRigid(camera.worldFromCamera);
  const limits = frustumLimits(intrinsics);
  const n = set.count;
  const { positions, scales, rotations, opacities, colors } = set;
  const labels = set.semantics?.labels;
  const unlabeled = UNLABELED;
  const logMinAlpha = Math.log(MIN_ALPHA);

  // Sized for all; trimmed (copied) at the end only when many were culled.
  let ids = new Uint32Array(n);
  let depth = new Float32Array(n);
  let splats = new Float64Array(n * SPLAT_STRIDE);
  let boxes = new Int32Array(n * 4);
  const cov3 = new Float64Array(6), camCov = new Float64Array(6), cov2 = new Float64Array(3);
  const v0 = view[0]!, v1 = view[1]!, v2 = view[2]!, v3 = view[3]!;
  const v4 = view[4]!, v5 = view[5]!, v6 = view[6]!, v7 = view[7]!;
  const v8 = view[8]!, v9 = view[9]!, v10 = view[10]!, v11 = view[11]!;
  let k = 0, cullNear = 0, cullOutside = 0, cullDegenerate = 0, cullTransparent = 0;

  for (let i = 0; i < n; i++) {
    const opacity = opacities[i]!;
    if (!(opacity >= MIN_ALPHA)) { cullTransparent++; continue; }
    const px = positions[3 * i]!, py = positions[3 * i + 1]!, pz = positions[3 * i + 2]!;
    const tz = v8 * px + v9 * py + v10 * pz + v11;
    if (!(tz > near)) { cullNear++; continue; }
    const tx = v0 * px + v1 * py + v2 * pz + v3;
    const ty = v4 * px + v5 * py + v6 * pz + v7;
    covarianceFromScaleRotation(
      scales[3 * i]!, scales[3 * i + 1]!, scales[3 * i + 2]!,
      rotations[4 * i]!, rotations[4 * i + 1]!, rotations[4 * i + 2]!, rotations[4 * i + 3]!, cov3, 0,
    );
    rotateCovariance(view, cov3, 0, camCov, 0);
    projectCovariance(camCov, 0, tx, ty, tz, intrinsics, limits, cov2);
    const a = cov2[0]! + LOW_PASS_PX2, b = cov2[1]!, c = cov2[2]! + LOW_PASS_PX2;
    const det = a * c - b * b;
    if (!(det > 0 && Number.isFinite(det))) { cullDegenerate++; continue; }
    const mx = fxPx * tx / tz + cxPx, my = fyPx * ty / tz + cyPx;
    const r = radiusFromCovariance2d(a, b, c);
    const x0 = Math.max(0, Math.ceil(mx - r)), x1 = Math.min(width - 1, Math.floor(mx + r));
    const y0 = Math.max(0, Math.ceil(my - r)), y1 = Math.min(height - 1, Math.floor(my + r));
    // Also rejects NaN means (every comparison with NaN is false).
    if (!(x0 <= x1 && y0 <= y1)) { cullOutside++; continue; }
    ids[k] = i;
    depth[k] = tz;
    const o = k * SPLAT_STRIDE;
    splats[o] = mx; splats[o + 1] = my;
    splats[o + 2] = c / det; splats[o + 3] = -b / det; splats[o + 4] = a / det;
    splats[o + 5] = opacity;
    // The margin keeps the exact alpha test in charge of every decision.
    splats[o + 6] = logMinAlpha - Math.log(opacity) - 1e-6;
    for (let ch = 0; ch < 3; ch++) {
      const value = colors[3 * i + ch]!;
      splats[o + 7 + ch] = value > 0 ? (value < 1 ? value : 1) : 0; // NaN -> 0
    }
    splats[o + 10] = depth[k]!;
    splats[o + 11] = labels !== undefined ? labels[i]! : unlabeled;
    splats[o + 12] = r;
    boxes[4 * k] = x0; boxes[4 * k + 1] = x1; boxes[4 * k + 2] = y0; boxes[4 * k + 3] = y1;
    k++;
  }
  if (k < n) {
    ids = ids.slice(0, k); depth = depth.slice(0, k);
    splats = splats.slice(0, k * SPLAT_STRIDE); boxes = boxes.slice(0, k * 4);
  }
  return {
    count: n, visibleCount: k, ids, depth, splats, boxes,
    culled: { near: cullNear, outside: cullOutside, degenerate: cullDegenerate, transparent: cullTransparent },
  };
}
