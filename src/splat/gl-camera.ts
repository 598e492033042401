/**
 * OpenCV cameras as OpenGL / three.js cameras, for handing our scenes to WebGL splat renderers (Spark) with the
 * exact same view. OpenGL camera axes are x right, y up, z backward (the camera looks down -z); clip space maps
 * the image's outer pixel edges to NDC -1..1 with +y at the top row. Matrices stay row-major Mat4 here: three.js's
 * Matrix4.set(...) takes its 16 arguments row-major, so no transposition is needed on the browser side either.
 */
import type { Camera, Intrinsics } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import type { Mat4 } from '../core/mat4.ts';

/**
 * worldFromCamera of the OpenGL camera at the same pose: worldFromCamera(OpenCV) * diag(1, -1, -1, 1), i.e. the
 * camera's y and z axes flip sign (three.js: camera.matrix / matrixWorld).
 */
export function glWorldFromCamera(worldFromCamera: Mat4): Mat4 {
  const out = new Float64Array(worldFromCamera);
  for (let r = 0; r < 4; r++) {
    out[r * 4 + 1] = -worldFromCamera[r * 4 + 1]!;
    out[r * 4 + 2] = -worldFromCamera[r * 4 + 2]!;
  }
  return out;
}

/**
 * The OpenGL projection (row-major) equal to pinhole intrinsics with pixel centres at integer coordinates: pixel
 * u = fx X/Z + cx lands at NDC x = (2u + 1)/W - 1 and row v at NDC y = 1 - (2v + 1)/H, depth near..far -> -1..1.
 */
export function glProjectionFromIntrinsics(intrinsics: Intrinsics, near: number, far: number): Mat4 {
  if (!(near > 0 && far > near && Number.isFinite(far))) throw new InputError(`GL projection: need 0 < near (${near}) < far (${far}) < infinity.`);
  const { fxPx, fyPx, cxPx, cyPx, width, height } = intrinsics;
  const m = new Float64Array(16);
  m[0] = (2 * fxPx) / width;
  m[2] = (width - 2 * cxPx - 1) / width;
  m[5] = (2 * fyPx) / height;
  m[6] = (2 * cyPx + 1 - height) / height;
  m[10] = -(far + near) / (far - near);
  m[11] = (-2 * far * near) / (far - near);
  m[14] = -1;
  return m;
}

/** Both matrices of a camera, for a three.js PerspectiveCamera (matrix <- worldFromCamera, projectionMatrix). */
export function glCameraMatrices(camera: Camera, near: number, far: number): { worldFromCamera: Mat4; projection: Mat4 } {
  return { worldFromCamera: glWorldFromCamera(camera.worldFromCamera), projection: glProjectionFromIntrinsics(camera.intrinsics, near, far) };
}
