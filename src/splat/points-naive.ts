/**
 * The point-cloud baseline of novel-view evaluations: each Gaussian's centre drawn as an opaque (2r+1)^2-pixel
 * square of its colour, nearest camera z wins (a z-buffer), no footprint, opacity or blending. What a plain
 * coloured point cloud looks like from a new camera, to compare Gaussian splatting with.
 */
import type { Camera } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import type { GaussianSet } from '../core/gaussians.ts';
import { createImage, type Image } from '../core/image.ts';
import { invertRigid } from '../core/mat4.ts';

export interface PointRenderOptions {
  /** Square half-size in px: 0 draws 1 pixel per point, 1 a 3x3 square. Default 0. */
  readonly radiusPx?: number;
  /** RGB in [0, 1] where no point lands. Default black. */
  readonly background?: readonly [number, number, number];
  /** Points with camera z <= near are skipped. Default 0.01. */
  readonly near?: number;
}

export interface RenderedPoints {
  readonly color: Image<Float32Array>;
  /** Camera z of the drawn point, Infinity where none. */
  readonly depth: Float32Array;
}

export function renderPointsNaive(set: GaussianSet, camera: Camera, options: PointRenderOptions = {}): RenderedPoints {
  const radius = options.radiusPx ?? 0;
  if (!Number.isInteger(radius) || radius < 0 || radius > 64) throw new InputError(`Point radius (${radius}) must be an integer in 0..64 px.`);
  const background = options.background ?? [0, 0, 0];
  const near = options.near ?? 0.01;
  const { width, height, fxPx, fyPx, cxPx, cyPx } = camera.intrinsics;
  const color = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) color.set(background, p * 3);
  const depth = new Float32Array(width * height).fill(Infinity);
  const v = invertRigid(camera.worldFromCamera);
  const { positions, colors } = set;
  for (let i = 0; i < set.count; i++) {
    const x = positions[3 * i]!, y = positions[3 * i + 1]!, z = positions[3 * i + 2]!;
    const cz = v[8]! * x + v[9]! * y + v[10]! * z + v[11]!;
    if (!(cz > near)) continue;
    const u = Math.round((fxPx * (v[0]! * x + v[1]! * y + v[2]! * z + v[3]!)) / cz + cxPx);
    const w = Math.round((fyPx * (v[4]! * x + v[5]! * y + v[6]! * z + v[7]!)) / cz + cyPx);
    if (u + radius < 0 || u - radius >= width || w + radius < 0 || w - radius >= height) continue;
    const r = Math.min(1, Math.max(0, colors[3 * i]!)), g = Math.min(1, Math.max(0, colors[3 * i + 1]!)), b = Math.min(1, Math.max(0, colors[3 * i + 2]!));
    for (let py = Math.max(0, w - radius); py <= Math.min(height - 1, w + radius); py++) {
      for (let px = Math.max(0, u - radius); px <= Math.min(width - 1, u + radius); px++) {
        const p = py * width + px;
        if (cz < depth[p]!) {
          depth[p] = cz;
          color[3 * p] = r; color[3 * p + 1] = g; color[3 * p + 2] = b;
        }
      }
    }
  }
  return { color: createImage({ width, height, channels: 3, data: color }), depth };
}
