/**
 * Quarter-turn rotations of images and the matching pixel-coordinate maps. Turns are counter-clockwise like
 * numpy's `np.rot90(image, k)` (SuperGlue's pair files use that convention for `rot0`/`rot1`).
 */
import { createImage, type Image } from '../core/image.ts';

export type QuarterTurns = 0 | 1 | 2 | 3;

/** Rotates an image by `turns` x 90 degrees counter-clockwise (as np.rot90). */
export function rotateQuarterTurns<T extends Uint8Array | Float32Array>(image: Image<T>, turns: QuarterTurns): Image<T> {
  if (turns === 0) return image;
  const { width: w, height: h, channels: c, data } = image;
  const outW = turns === 2 ? w : h;
  const outH = turns === 2 ? h : w;
  const out = new (data.constructor as { new (n: number): T })(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [nx, ny] = rotatedPixel(x, y, w, h, turns);
      const src = (y * w + x) * c, dst = (ny * outW + nx) * c;
      for (let k = 0; k < c; k++) out[dst + k] = data[src + k]!;
    }
  }
  return createImage({ width: outW, height: outH, channels: c, colorSpace: image.colorSpace, data: out });
}

/** Where pixel (x, y) of a w x h image lands after the rotation (pixel centres at integers). */
export function rotatedPixel(x: number, y: number, w: number, h: number, turns: QuarterTurns): [number, number] {
  switch (turns) {
    case 0: return [x, y];
    case 1: return [y, w - 1 - x];
    case 2: return [w - 1 - x, h - 1 - y];
    case 3: return [h - 1 - y, x];
  }
}

/** The inverse of rotatedPixel: pixel (x', y') of the rotated image back in the original w x h image. */
export function unrotatedPixel(xr: number, yr: number, w: number, h: number, turns: QuarterTurns): [number, number] {
  switch (turns) {
    case 0: return [xr, yr];
    case 1: return [w - 1 - yr, xr];
    case 2: return [w - 1 - xr, h - 1 - yr];
    case 3: return [yr, h - 1 - xr];
  }
}
