/**
 * Temporal consistency of a depth video.
 *
 * - TAE (temporal alignment error, as Video Depth Anything defines it): frame k's depth is unprojected with the
 *   intrinsics, moved into frame k+1 by the relative pose, projected, and compared with frame k+1's depth at
 *   the pixel it lands on (AbsRel of the transformed depth against the target's). The same is done from k+1
 *   back to k, and TAE averages both directions over all consecutive pairs. It needs metric-consistent depth
 *   (align the sequence to ground truth with one global scale, or scale and shift, first) and camera poses.
 * - Flicker, which needs no poses: the mean relative change of depth between consecutive frames over the
 *   pixels that look static (their colour changed by at most `staticThreshold` levels on every channel).
 *
 * Depth maps are z-depth in the OpenCV camera frame (x right, y down, z forward); poses are worldFromCamera.
 * Invalid pixels (NaN, <= 0) are skipped. Projection uses the nearest target pixel.
 */
import type { Intrinsics } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import type { Image } from '../core/image.ts';
import { invertRigid, mul4, type Mat4 } from '../core/mat4.ts';

export interface DepthFrame {
  readonly width: number;
  readonly height: number;
  /** z-depth per pixel, row-major. */
  readonly data: Float32Array;
}

/**
 * AbsRel of `source` moved into the target camera against `target`'s own depth: mean |z' - d| / d over the source
 * pixels that land inside the target with valid depth on both. Also the number of such pixels.
 */
export function reprojectionAbsRel(
  source: DepthFrame, target: DepthFrame, intrinsics: Intrinsics, targetFromSource: Mat4,
): { absRel: number; count: number } {
  if (source.width !== target.width || source.height !== target.height) {
    throw new InputError(`depth frames differ in size: ${source.width}x${source.height} and ${target.width}x${target.height}.`);
  }
  const { width, height } = source;
  const { fxPx: fx, fyPx: fy, cxPx: cx, cyPx: cy } = intrinsics;
  const m = targetFromSource;
  let sum = 0;
  let count = 0;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const d = source.data[v * width + u]!;
      if (!(d > 0) || !Number.isFinite(d)) continue;
      const x = ((u - cx) / fx) * d, y = ((v - cy) / fy) * d;
      const xt = m[0]! * x + m[1]! * y + m[2]! * d + m[3]!;
      const yt = m[4]! * x + m[5]! * y + m[6]! * d + m[7]!;
      const zt = m[8]! * x + m[9]! * y + m[10]! * d + m[11]!;
      if (!(zt > 0)) continue;
      const ut = Math.round((fx * xt) / zt + cx), vt = Math.round((fy * yt) / zt + cy);
      if (ut < 0 || vt < 0 || ut >= width || vt >= height) continue;
      const dt = target.data[vt * width + ut]!;
      if (!(dt > 0) || !Number.isFinite(dt)) continue;
      sum += Math.abs(zt - dt) / dt;
      count++;
    }
  }
  return { absRel: count > 0 ? sum / count : NaN, count };
}

/** TAE over a sequence: both directions of every consecutive pair, averaged (see the module comment). */
export function temporalAlignmentError(frames: readonly DepthFrame[], worldFromCamera: readonly Mat4[], intrinsics: Intrinsics): number {
  if (frames.length < 2) throw new InputError(`TAE needs at least 2 frames, got ${frames.length}.`);
  if (worldFromCamera.length !== frames.length) throw new InputError(`TAE needs one pose per frame: ${worldFromCamera.length} poses for ${frames.length} frames.`);
  let sum = 0;
  let terms = 0;
  for (let k = 0; k + 1 < frames.length; k++) {
    const nextFromThis = mul4(invertRigid(worldFromCamera[k + 1]!), worldFromCamera[k]!);
    for (const [source, target, pose] of [[frames[k]!, frames[k + 1]!, nextFromThis], [frames[k + 1]!, frames[k]!, invertRigid(nextFromThis)]] as const) {
      const { absRel } = reprojectionAbsRel(source, target, intrinsics, pose);
      if (Number.isFinite(absRel)) { sum += absRel; terms++; }
    }
  }
  return terms > 0 ? sum / terms : NaN;
}

/**
 * Mean relative depth change between consecutive frames on pixels whose colour stayed within `staticThreshold`
 * levels (every channel), and how many pixel comparisons that was. Images and depths must share one size.
 */
export function staticFlicker(frames: readonly DepthFrame[], images: readonly Image<Uint8Array>[], staticThreshold = 4): { flicker: number; count: number } {
  if (frames.length !== images.length) throw new InputError(`flicker needs one image per depth frame: ${images.length} images for ${frames.length} frames.`);
  let sum = 0;
  let count = 0;
  for (let k = 0; k + 1 < frames.length; k++) {
    const a = frames[k]!, b = frames[k + 1]!, ia = images[k]!, ib = images[k + 1]!;
    if (ia.width !== a.width || ia.height !== a.height || ib.width !== b.width || ib.height !== b.height || a.width !== b.width || a.height !== b.height) {
      throw new InputError(`frame ${k}/${k + 1}: depth and images must share one size.`);
    }
    const c = ia.channels;
    for (let i = 0; i < a.data.length; i++) {
      let still = true;
      for (let ch = 0; ch < c && still; ch++) still = Math.abs(ia.data[i * c + ch]! - ib.data[i * c + ch]!) <= staticThreshold;
      if (!still) continue;
      const da = a.data[i]!, db = b.data[i]!;
      if (!(da > 0) || !(db > 0) || !Number.isFinite(da) || !Number.isFinite(db)) continue;
      sum += Math.abs(db - da) / da;
      count++;
    }
  }
  return { flicker: count > 0 ? sum / count : NaN, count };
}
