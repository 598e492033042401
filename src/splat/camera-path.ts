/**
 * Camera paths for rendering splats: a look-at pose and an orbit around a point. Poses are worldFromCamera with
 * OpenCV camera axes (x right, y down, z forward). In an OpenCV-style world "up" is -y, the default here.
 */
import { createCamera, type Camera, type Intrinsics } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { fromRotationTranslation, type Mat4 } from '../core/mat4.ts';
import { cross3, dot3, norm3 } from '../geometry/mat3.ts';

/** World up of an OpenCV-axes world (y points down). */
export const OPENCV_UP: readonly [number, number, number] = [0, -1, 0];

type Vec3Like = ArrayLike<number>;

/**
 * worldFromCamera for a camera at `eye` looking at `target`: camera z = normalise(target - eye),
 * x = normalise(z x up) (right), y = z x x (down, i.e. against `up`). Throws when eye = target or up is parallel
 * to the viewing direction.
 */
export function lookAt(eye: Vec3Like, target: Vec3Like, up: Vec3Like = OPENCV_UP): Mat4 {
  const forward = [target[0]! - eye[0]!, target[1]! - eye[1]!, target[2]! - eye[2]!];
  const length = norm3(forward);
  if (!(length > 0) || !Number.isFinite(length)) throw new InputError('lookAt: eye and target must be distinct finite points.');
  const z = forward.map((v) => v / length);
  const right = cross3(z, up);
  const rightLength = norm3(right);
  if (!(rightLength > 1e-12 * norm3(up))) throw new InputError('lookAt: the up vector must not be parallel to the viewing direction.');
  const x = Array.from(right, (v) => v / rightLength);
  const y = cross3(z, x);
  // Columns of the rotation are the camera axes in world coordinates.
  const rotation = [x[0]!, y[0]!, z[0]!, x[1]!, y[1]!, z[1]!, x[2]!, y[2]!, z[2]!];
  return fromRotationTranslation(rotation, eye);
}

export interface OrbitOptions {
  /** World up; the orbit circles around it. Default OPENCV_UP (0, -1, 0). */
  readonly up?: Vec3Like;
  /** Azimuth of the first camera, radians. At 0 (and default up) the first camera sits at centre - radius * z. */
  readonly startAzimuthRad?: number;
}

/**
 * `count` cameras evenly spaced (2 pi / count apart, counter-clockwise about `up`) on a circle of `radius` around `center`, raised by
 * `elevationRad` towards `up` (positive: above, looking down), each looking at the centre.
 */
export function orbitCameras(
  center: Vec3Like, radius: number, elevationRad: number, count: number, intrinsics: Intrinsics, options: OrbitOptions = {},
): Camera[] {
  if (!(radius > 0 && Number.isFinite(radius))) throw new InputError(`Orbit radius (${radius}) must be a positive finite number.`);
  if (!(Math.abs(elevationRad) < Math.PI / 2)) throw new InputError(`Orbit elevation (${elevationRad} rad) must be strictly between -pi/2 and pi/2.`);
  if (!Number.isInteger(count) || count < 1) throw new InputError(`Orbit camera count (${count}) must be a positive integer.`);
  const upIn = options.up ?? OPENCV_UP;
  const upLength = norm3(upIn);
  if (!(upLength > 0)) throw new InputError('Orbit up vector must be non-zero.');
  const up = Array.from(upIn, (v) => v / upLength);
  // a: the horizontal direction of the first camera from the centre (world -z made perpendicular to up, or x).
  let a = [0, 0, -1];
  let along = dot3(a, up);
  if (Math.abs(along) > 0.999) { a = [1, 0, 0]; along = dot3(a, up); }
  a = a.map((v, k) => v - along * up[k]!);
  const aLength = norm3(a);
  a = a.map((v) => v / aLength);
  const b = Array.from(cross3(up, a));
  const start = options.startAzimuthRad ?? 0;
  const cosEl = Math.cos(elevationRad), sinEl = Math.sin(elevationRad);
  const cameras: Camera[] = [];
  for (let k = 0; k < count; k++) {
    const phi = start + (2 * Math.PI * k) / count;
    const cosPhi = Math.cos(phi), sinPhi = Math.sin(phi);
    const eye = [0, 1, 2].map((c) => center[c]! + radius * (cosEl * (cosPhi * a[c]! + sinPhi * b[c]!) + sinEl * up[c]!));
    cameras.push(createCamera(intrinsics, lookAt(eye, center, up)));
  }
  return cameras;
}
