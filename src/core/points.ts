import { InputError } from './errors.ts';
import { checkDimensions } from './image.ts';

/** The frame 3D coordinates are expressed in; both use OpenCV axes (x right, y down, z forward). */
export type PointFrame = 'camera' | 'world';

/**
 * A per-pixel 3D point map: `points` holds x, y, z for pixel (x, y) at `(y * width + x) * 3`.
 * Invalid pixels are NaN. Units follow the depth it came from (metres for metric depth).
 */
export interface PointMap {
  readonly width: number;
  readonly height: number;
  readonly frame: PointFrame;
  readonly points: Float32Array;
}

/** An unordered point cloud: positions xyz interleaved (3N), optional sRGB colours (3N). */
export interface PointCloud {
  readonly numPoints: number;
  readonly frame: PointFrame;
  readonly positions: Float32Array;
  readonly colors?: Uint8Array;
}

export function createPointMap(init: PointMap): PointMap {
  checkDimensions('PointMap', init.width, init.height);
  const expected = init.width * init.height * 3;
  if (init.points.length !== expected) {
    throw new InputError(`PointMap points length (${init.points.length}) does not match width*height*3 (${expected}).`);
  }
  return { ...init };
}

export function createPointCloud(init: PointCloud): PointCloud {
  if (!Number.isInteger(init.numPoints) || init.numPoints < 0) {
    throw new InputError(`PointCloud numPoints (${init.numPoints}) must be a non-negative integer.`);
  }
  if (init.positions.length !== init.numPoints * 3) {
    throw new InputError(`PointCloud positions length (${init.positions.length}) does not match numPoints*3 (${init.numPoints * 3}).`);
  }
  if (init.colors !== undefined && init.colors.length !== init.numPoints * 3) {
    throw new InputError(`PointCloud colors length (${init.colors.length}) does not match numPoints*3 (${init.numPoints * 3}).`);
  }
  return { ...init };
}
