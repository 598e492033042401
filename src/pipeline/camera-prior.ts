/**
 * Initial intrinsics for a view whose camera is not given: from the user, from EXIF, or from a field-of-view
 * prior. Structure-from-motion refines the focal length later when the prior is not exact.
 */
import { createIntrinsics, intrinsicsFromFov, type Intrinsics } from '../core/camera.ts';
import type { ExifCamera } from '../io/exif-camera.ts';

export type IntrinsicsSource = 'user' | 'exifFocalPlane' | 'exif35mm' | 'fovPrior';

export interface IntrinsicsPrior {
  readonly intrinsics: Intrinsics;
  readonly source: IntrinsicsSource;
}

export interface IntrinsicsPriorOptions {
  /** Explicit pinhole parameters in pixels of this image (from --intrinsics). */
  readonly user?: { readonly fxPx: number; readonly fyPx: number; readonly cxPx: number; readonly cyPx: number };
  /** Horizontal field of view to assume when nothing better is known (from --fov-deg). */
  readonly fovXDeg?: number;
}

/**
 * The default field of view when nothing is known. COLMAP's prior is focal = 1.2 * max(w, h), a horizontal
 * FOV of about 45 degrees for landscape images; we use the same so results are comparable.
 */
export const DEFAULT_FOCAL_FACTOR = 1.2;

/** The diagonal of 35 mm film (36 x 24 mm): 35 mm-equivalent focal lengths are defined against it (CIPA DC-008). */
const FILM_DIAGONAL_MM = Math.hypot(36, 24);

export function intrinsicsPrior(width: number, height: number, exif: ExifCamera, options: IntrinsicsPriorOptions = {}): IntrinsicsPrior {
  const centre = { cxPx: (width - 1) / 2, cyPx: (height - 1) / 2, width, height };
  if (options.user) return { intrinsics: createIntrinsics({ ...options.user, width, height }), source: 'user' };
  if (options.fovXDeg !== undefined) {
    return { intrinsics: intrinsicsFromFov(width, height, (options.fovXDeg * Math.PI) / 180), source: 'user' };
  }
  // The focal plane resolution refers to the sensor's full width; scale it to this (possibly resized) image.
  if (exif.focalLengthMm && exif.focalPlanePxPerMm) {
    const referenceWidth = exif.exifImageWidth ?? Math.max(width, height);
    const focalPx = exif.focalLengthMm * exif.focalPlanePxPerMm * (Math.max(width, height) / referenceWidth);
    if (focalPx > 0.1 * Math.max(width, height) && focalPx < 20 * Math.max(width, height)) {
      return { intrinsics: createIntrinsics({ fxPx: focalPx, fyPx: focalPx, ...centre }), source: 'exifFocalPlane' };
    }
  }
  if (exif.focalLength35mm) {
    const focalPx = (exif.focalLength35mm * Math.hypot(width, height)) / FILM_DIAGONAL_MM;
    return { intrinsics: createIntrinsics({ fxPx: focalPx, fyPx: focalPx, ...centre }), source: 'exif35mm' };
  }
  const focalPx = DEFAULT_FOCAL_FACTOR * Math.max(width, height);
  return { intrinsics: createIntrinsics({ fxPx: focalPx, fyPx: focalPx, ...centre }), source: 'fovPrior' };
}
