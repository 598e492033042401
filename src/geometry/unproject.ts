/**
 * Depth <-> 3D points with a pinhole camera, OpenCV convention: x right, y down, z forward; pixel centres at
 * integer coordinates (pixel (u, v) covers u-0.5..u+0.5). A depth value is the z coordinate (not the ray length):
 *   x = (u - cx) / fx * z,   y = (v - cy) / fy * z,   z = depth
 *   u = fx * x / z + cx,     v = fy * y / z + cy
 */
import { InputError } from '../core/errors.ts';
import type { MetricDepthMap, RelativeDepthMap } from '../core/depth.ts';
import type { Image } from '../core/image.ts';
import { createIntrinsics, type Intrinsics } from '../core/camera.ts';
import { createPointCloud, createPointMap, type PointCloud, type PointMap } from '../core/points.ts';

export interface UnprojectOptions {
  /** Depths below this become invalid (NaN) points. Default: anything > 0 is kept. */
  readonly minDepth?: number;
  /** Depths above this become invalid (NaN) points. Default: no limit. */
  readonly maxDepth?: number;
}

/**
 * Unprojects a depth map (metric or relative, never disparity) to a camera-frame point map. Pixels with NaN,
 * infinite, non-positive or out-of-range depth give NaN points. The intrinsics must be for the depth map's size;
 * use scaleIntrinsics when the model ran at another resolution.
 */
export function unprojectDepth(
  depth: MetricDepthMap | RelativeDepthMap,
  intrinsics: Intrinsics,
  options: UnprojectOptions = {},
): PointMap {
  if ((depth.kind as string) === 'disparity') {
    throw new InputError(
      'Cannot make 3D points from a disparity map (relative inverse depth has an unknown scale and shift). ' +
      'Align it to metric depth first (--align) or use a metric depth model.',
    );
  }
  const { width, height, data } = depth;
  if (intrinsics.width !== width || intrinsics.height !== height) {
    throw new InputError(
      `Intrinsics are for ${intrinsics.width}x${intrinsics.height} but the depth map is ${width}x${height}; ` +
      'scale them with scaleIntrinsics first.',
    );
  }
  const minDepth = options.minDepth ?? 0;
  const maxDepth = options.maxDepth ?? Infinity;
  const { fxPx, fyPx, cxPx, cyPx } = intrinsics;
  const points = new Float32Array(width * height * 3);
  for (let v = 0; v < height; v++) {
    const ray = (v - cyPx) / fyPx;
    for (let u = 0; u < width; u++) {
      const i = v * width + u;
      const z = data[i]!;
      const o = i * 3;
      if (!(z > 0 && z >= minDepth && z <= maxDepth && z < Infinity)) {
        points[o] = points[o + 1] = points[o + 2] = NaN;
        continue;
      }
      points[o] = ((u - cxPx) / fxPx) * z;
      points[o + 1] = ray * z;
      points[o + 2] = z;
    }
  }
  return createPointMap({ width, height, frame: 'camera', points });
}

/** Projects a camera-frame point to pixel coordinates; undefined when it is not in front of the camera (z <= 0). */
export function projectPoint(intrinsics: Intrinsics, x: number, y: number, z: number): { u: number; v: number } | undefined {
  if (!(z > 0)) return undefined;
  return { u: (intrinsics.fxPx * x) / z + intrinsics.cxPx, v: (intrinsics.fyPx * y) / z + intrinsics.cyPx };
}

/**
 * Intrinsics for the same camera at another resolution (a resize of the whole image, no crop). With pixel centres
 * at integer coordinates the principal point maps as c' = (c + 0.5) * s - 0.5.
 */
export function scaleIntrinsics(intrinsics: Intrinsics, width: number, height: number): Intrinsics {
  const sx = width / intrinsics.width;
  const sy = height / intrinsics.height;
  return createIntrinsics({
    fxPx: intrinsics.fxPx * sx,
    fyPx: intrinsics.fyPx * sy,
    cxPx: (intrinsics.cxPx + 0.5) * sx - 0.5,
    cyPx: (intrinsics.cyPx + 0.5) * sy - 0.5,
    width,
    height,
  });
}

export interface PointCloudOptions {
  /** Keep every stride-th pixel in x and in y (default 1 = all). */
  readonly stride?: number;
  /** Upper bound on the number of points; when exceeded, points are thinned evenly (deterministically). */
  readonly maxPoints?: number;
}

/**
 * Collects the valid (finite) points of a point map into a cloud, with colours from `image` when given (same size
 * as the point map; grey is replicated, alpha dropped, float 0..1 scaled to 0..255). Order is row-major.
 */
export function pointMapToCloud(pointMap: PointMap, image?: Image, options: PointCloudOptions = {}): PointCloud {
  const stride = options.stride ?? 1;
  if (!(Number.isInteger(stride) && stride >= 1)) throw new InputError(`Point stride (${stride}) must be a positive integer.`);
  const maxPoints = options.maxPoints ?? Infinity;
  if (!(maxPoints === Infinity || (Number.isInteger(maxPoints) && maxPoints >= 0))) {
    throw new InputError(`maxPoints (${maxPoints}) must be a non-negative integer.`);
  }
  const { width, height, points } = pointMap;
  if (image !== undefined && (image.width !== width || image.height !== height)) {
    throw new InputError(`Colour image is ${image.width}x${image.height} but the point map is ${width}x${height}; resize one to match.`);
  }

  const selected: number[] = [];
  for (let v = 0; v < height; v += stride) {
    for (let u = 0; u < width; u += stride) {
      const i = v * width + u;
      if (Number.isFinite(points[i * 3]!) && Number.isFinite(points[i * 3 + 1]!) && Number.isFinite(points[i * 3 + 2]!)) {
        selected.push(i);
      }
    }
  }
  const keep = selected.length > maxPoints ? evenSubset(selected, maxPoints) : selected;

  const n = keep.length;
  const positions = new Float32Array(n * 3);
  const colors = image !== undefined ? new Uint8Array(n * 3) : undefined;
  for (let k = 0; k < n; k++) {
    const i = keep[k]!;
    positions[k * 3] = points[i * 3]!;
    positions[k * 3 + 1] = points[i * 3 + 1]!;
    positions[k * 3 + 2] = points[i * 3 + 2]!;
    if (colors !== undefined && image !== undefined) writeColor(image, i, colors, k * 3);
  }
  return createPointCloud(colors !== undefined
    ? { numPoints: n, frame: pointMap.frame, positions, colors }
    : { numPoints: n, frame: pointMap.frame, positions });
}

/** `count` items spread evenly over `items` (indices floor(k * length / count)). */
function evenSubset(items: readonly number[], count: number): number[] {
  const out = new Array<number>(count);
  for (let k = 0; k < count; k++) out[k] = items[Math.floor((k * items.length) / count)]!;
  return out;
}

function writeColor(image: Image, pixel: number, out: Uint8Array, offset: number): void {
  const c = image.channels;
  const base = pixel * c;
  for (let ch = 0; ch < 3; ch++) {
    const value = image.data[base + (c === 1 ? 0 : ch)]!;
    out[offset + ch] = image.data instanceof Float32Array ? Math.round(Math.min(Math.max(value, 0), 1) * 255) : value;
  }
}
