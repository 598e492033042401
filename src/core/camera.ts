import { InputError } from './errors.ts';
import { checkDimensions } from './image.ts';
import { identity4, type Mat4 } from './mat4.ts';

/**
 * Pinhole intrinsics in pixels for an image of width x height, OpenCV convention
 * (x right, y down, z forward; pixel centres at integer coordinates, so the image spans -0.5..width-0.5).
 */
export interface Intrinsics {
  readonly fxPx: number;
  readonly fyPx: number;
  readonly cxPx: number;
  readonly cyPx: number;
  readonly width: number;
  readonly height: number;
}

/** A camera: intrinsics plus its pose as `worldFromCamera` (camera-to-world, OpenCV axes). */
export interface Camera {
  readonly intrinsics: Intrinsics;
  readonly worldFromCamera: Mat4;
}

export function createIntrinsics(init: Intrinsics): Intrinsics {
  checkDimensions('Intrinsics', init.width, init.height);
  for (const key of ['fxPx', 'fyPx', 'cxPx', 'cyPx'] as const) {
    if (!Number.isFinite(init[key])) throw new InputError(`Intrinsics ${key} (${init[key]}) must be a finite number.`);
  }
  if (init.fxPx <= 0 || init.fyPx <= 0) {
    throw new InputError(`Intrinsics focal lengths (fx ${init.fxPx}, fy ${init.fyPx}) must be positive.`);
  }
  return { ...init };
}

/** Intrinsics from a horizontal field of view, square pixels and a centred principal point. */
export function intrinsicsFromFov(width: number, height: number, fovXRad: number): Intrinsics {
  if (!(fovXRad > 0 && fovXRad < Math.PI)) {
    throw new InputError(`Field of view ${fovXRad} rad must be between 0 and pi.`);
  }
  const focalPx = width / 2 / Math.tan(fovXRad / 2);
  return createIntrinsics({ fxPx: focalPx, fyPx: focalPx, cxPx: (width - 1) / 2, cyPx: (height - 1) / 2, width, height });
}

export function createCamera(intrinsics: Intrinsics, worldFromCamera: Mat4 = identity4()): Camera {
  if (worldFromCamera.length !== 16) throw new InputError(`worldFromCamera must have 16 elements, got ${worldFromCamera.length}.`);
  return { intrinsics: createIntrinsics(intrinsics), worldFromCamera };
}
