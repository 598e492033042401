/**
 * transforms.json: the NeRF / instant-ngp / nerfstudio camera file. Each frame has a `file_path` (relative to the
 * json, with or without an extension) and a `transform_matrix`, the camera-to-world pose in OpenGL/Blender camera
 * axes (x right, y up, z backward). Intrinsics are global or per frame (a frame's keys override the global ones):
 * `fl_x`/`fl_y`/`cx`/`cy`/`w`/`h` in pixels, or `camera_angle_x` (+ `camera_angle_y`) in radians; distortion as
 * `k1..k4`, `p1`, `p2` (reported, never applied or dropped silently).
 *
 * What this reader returns is in the project's conventions: `worldFromCamera` with OpenCV axes (the pose
 * right-multiplied by diag(1, -1, -1, 1)), intrinsics in pixels with pixel centres at integer coordinates.
 *
 * Principal point default: NeRF casts the ray of pixel (i, j) (integer i, j) through ((i - W/2) / f, (j - H/2) / f),
 * so with pixel centres at integers the principal point is exactly (W/2, H/2), not ((W-1)/2, (H-1)/2); nerfstudio
 * uses the same default. Image decoding stays out of io/formats: when the file gives no size, the caller passes
 * `imageSize` (e.g. a header reader).
 */
import { stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Intrinsics } from '../../core/camera.ts';
import { FormatError, InputError } from '../../core/errors.ts';
import type { Mat4 } from '../../core/mat4.ts';

/** Camera fields as they appear in the file (global or per frame), all optional. */
export interface TransformsCameraFields {
  readonly fl_x?: number;
  readonly fl_y?: number;
  readonly cx?: number;
  readonly cy?: number;
  readonly w?: number;
  readonly h?: number;
  readonly camera_angle_x?: number;
  readonly camera_angle_y?: number;
  readonly camera_model?: string;
  readonly k1?: number;
  readonly k2?: number;
  readonly k3?: number;
  readonly k4?: number;
  readonly p1?: number;
  readonly p2?: number;
}

const NUMBER_FIELDS = ['fl_x', 'fl_y', 'cx', 'cy', 'w', 'h', 'camera_angle_x', 'camera_angle_y', 'k1', 'k2', 'k3', 'k4', 'p1', 'p2'] as const;
const DISTORTION_FIELDS = ['k1', 'k2', 'k3', 'k4', 'p1', 'p2'] as const;

/** One frame after parsing: pose converted, camera fields merged (frame over global), image not yet located. */
export interface ParsedTransformsFrame {
  /** Position of the frame in the file's `frames` array. */
  readonly index: number;
  /** `file_path` as written. */
  readonly filePath: string;
  /** Camera-to-world pose, OpenCV axes (x right, y down, z forward), row-major 4x4. */
  readonly worldFromCamera: Mat4;
  readonly camera: TransformsCameraFields;
}

export interface TransformsDistortion {
  /** `camera_model` when the file names one (nerfstudio: OPENCV, OPENCV_FISHEYE). */
  readonly model?: string;
  /** The non-zero coefficients among k1..k4, p1, p2. */
  readonly coefficients: Readonly<Record<string, number>>;
}

export interface TransformsFrame extends ParsedTransformsFrame {
  /** Absolute path of the image found for `file_path` (its extension resolved when the file omits it). */
  readonly imagePath: string;
  readonly intrinsics: Intrinsics;
  /** Present when the file gives non-zero distortion coefficients: the pinhole intrinsics alone do not describe the camera. */
  readonly distortion?: TransformsDistortion;
}

/** A frame whose image is not there: reported with its pose so callers can skip it (or still use the pose). */
export interface MissingTransformsFrame extends ParsedTransformsFrame {
  /** The paths that were tried, in order. */
  readonly triedPaths: readonly string[];
}

export interface TransformsJsonResult {
  /** Frames whose image exists, in file order. */
  readonly frames: readonly TransformsFrame[];
  readonly missing: readonly MissingTransformsFrame[];
}

/** Reads an image's size, e.g. from its header; io/formats does no image decoding itself. */
export type ImageSizeReader = (imagePath: string) => Promise<{ readonly width: number; readonly height: number }>;

export interface TransformsReadOptions {
  /** Needed only when the file has no `w`/`h` (global or per frame), as NeRF-synthetic files do. */
  readonly imageSize?: ImageSizeReader;
  /** Extensions tried when `file_path` names no existing file as written. Default: png, jpg, jpeg, their upper case. */
  readonly extensions?: readonly string[];
}

const DEFAULT_EXTENSIONS = Object.freeze(['.png', '.jpg', '.jpeg', '.PNG', '.JPG', '.JPEG']);

/** Parses the JSON value of a transforms file (no file access). FormatError naming `file` and the frame otherwise. */
export function parseTransformsJson(json: unknown, file = 'transforms.json'): ParsedTransformsFrame[] {
  if (!isRecord(json)) throw new FormatError('the top level is not a JSON object.', { file });
  const global = readCameraFields(json, file, 'top level');
  const frames = json['frames'];
  if (!Array.isArray(frames)) throw new FormatError('"frames" is missing or not an array.', { file });
  return frames.map((frame: unknown, index): ParsedTransformsFrame => {
    const where = `frames[${index}]`;
    if (!isRecord(frame)) throw new FormatError(`${where} is not an object.`, { file });
    const filePath = frame['file_path'];
    if (typeof filePath !== 'string' || filePath === '') throw new FormatError(`${where}.file_path is missing or not a string.`, { file });
    const worldFromCamera = openCvFromOpenGlCameraToWorld(readTransformMatrix(frame['transform_matrix'], file, where), file, where);
    return { index, filePath, worldFromCamera, camera: { ...global, ...readCameraFields(frame, file, where) } };
  });
}

/**
 * Pinhole intrinsics from merged camera fields: `fl_x` over `camera_angle_x`; `fl_y`, else `camera_angle_y`, else
 * fx; principal point `cx`, `cy`, else (w/2, h/2) (see the module comment). `size` fills in `w`/`h` when the file
 * has none. InputError when neither gives a size or no focal length is given.
 */
export function intrinsicsFromTransformsCamera(camera: TransformsCameraFields, size?: { width: number; height: number }, file = 'transforms.json'): Intrinsics {
  const width = camera.w ?? size?.width;
  const height = camera.h ?? size?.height;
  if (width === undefined || height === undefined) {
    throw new InputError('no image size: the file has no w/h, so pass imageSize to read it from the images.', { file });
  }
  if (!isPositiveInteger(width) || !isPositiveInteger(height)) throw new FormatError(`image size ${width}x${height} is not positive integers.`, { file });
  const fromAngle = (angle: number | undefined, extent: number): number | undefined => {
    if (angle === undefined) return undefined;
    if (!(angle > 0 && angle < Math.PI)) throw new FormatError(`camera angle ${angle} rad is not in (0, pi).`, { file });
    return (0.5 * extent) / Math.tan(0.5 * angle);
  };
  const fx = camera.fl_x ?? fromAngle(camera.camera_angle_x, width);
  if (fx === undefined) throw new FormatError('no focal length: give fl_x or camera_angle_x.', { file });
  const fy = camera.fl_y ?? fromAngle(camera.camera_angle_y, height) ?? fx;
  if (!(fx > 0 && fy > 0)) throw new FormatError(`focal lengths ${fx}, ${fy} must be positive.`, { file });
  return { fxPx: fx, fyPx: fy, cxPx: camera.cx ?? width / 2, cyPx: camera.cy ?? height / 2, width, height };
}

/** The distortion a camera's fields describe, or undefined when every coefficient is absent or zero. */
export function distortionOfTransformsCamera(camera: TransformsCameraFields): TransformsDistortion | undefined {
  const coefficients: Record<string, number> = {};
  for (const key of DISTORTION_FIELDS) {
    const v = camera[key];
    if (v !== undefined && v !== 0) coefficients[key] = v;
  }
  if (Object.keys(coefficients).length === 0) return undefined;
  return camera.camera_model !== undefined ? { model: camera.camera_model, coefficients } : { coefficients };
}

/**
 * Reads a transforms.json: poses in OpenCV axes, intrinsics resolved, images located relative to the json.
 * Frames whose image is missing are listed in `missing` (with their poses), not thrown.
 */
export async function readTransformsJson(jsonPath: string, options: TransformsReadOptions = {}): Promise<TransformsJsonResult> {
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read the file: ${(error as Error).message}`, { file: jsonPath, cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FormatError(`not valid JSON: ${(error as Error).message}`, { file: jsonPath, cause: error });
  }
  const parsed = parseTransformsJson(json, jsonPath);
  const baseDir = path.dirname(path.resolve(jsonPath));
  const extensions = options.extensions ?? DEFAULT_EXTENSIONS;
  const frames: TransformsFrame[] = [];
  const missing: MissingTransformsFrame[] = [];
  for (const frame of parsed) {
    const candidates = imagePathCandidates(baseDir, frame.filePath, extensions);
    const imagePath = await firstExistingFile(candidates);
    if (imagePath === undefined) {
      missing.push({ ...frame, triedPaths: candidates });
      continue;
    }
    const needsSize = frame.camera.w === undefined || frame.camera.h === undefined;
    const size = needsSize && options.imageSize !== undefined ? await options.imageSize(imagePath) : undefined;
    const intrinsics = intrinsicsFromTransformsCamera(frame.camera, size, jsonPath);
    const distortion = distortionOfTransformsCamera(frame.camera);
    frames.push({ ...frame, imagePath, intrinsics, ...(distortion !== undefined ? { distortion } : {}) });
  }
  return { frames, missing };
}

/** `file_path` as written first, then with each extension appended (NeRF-synthetic writes "./train/r_0"). */
function imagePathCandidates(baseDir: string, filePath: string, extensions: readonly string[]): string[] {
  const asWritten = path.resolve(baseDir, filePath);
  return [asWritten, ...extensions.map((ext) => asWritten + ext)];
}

async function firstExistingFile(candidates: readonly string[]): Promise<string | undefined> {
  for (const candidate of candidates) {
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Not there: try the next one.
    }
  }
  return undefined;
}

function readCameraFields(record: Record<string, unknown>, file: string, where: string): TransformsCameraFields {
  const out: Record<string, number | string> = {};
  for (const key of NUMBER_FIELDS) {
    const v = record[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new FormatError(`${where}.${key} is not a finite number.`, { file });
    out[key] = v;
  }
  const model = record['camera_model'];
  if (typeof model === 'string') out['camera_model'] = model;
  return out as TransformsCameraFields;
}

/** A 4x4 (or 3x4) nested array of finite numbers, row-major. */
function readTransformMatrix(value: unknown, file: string, where: string): Float64Array {
  const fail = (): FormatError => new FormatError(`${where}.transform_matrix must be a 4x4 (or 3x4) array of finite numbers.`, { file });
  if (!Array.isArray(value) || (value.length !== 4 && value.length !== 3)) throw fail();
  const m = new Float64Array(16);
  m[15] = 1;
  value.forEach((row: unknown, r) => {
    if (!Array.isArray(row) || row.length !== 4) throw fail();
    row.forEach((v: unknown, c) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw fail();
      m[r * 4 + c] = v;
    });
  });
  if (value.length === 4 && (m[12] !== 0 || m[13] !== 0 || m[14] !== 0 || m[15] !== 1)) {
    throw new FormatError(`${where}.transform_matrix last row is not [0, 0, 0, 1].`, { file });
  }
  return m;
}

/**
 * OpenGL camera axes -> OpenCV: worldFromCamera_cv = worldFromCamera_gl * diag(1, -1, -1, 1), i.e. the y and z
 * columns change sign. The rotation must be a proper rotation (within 1e-4): scale or shear would not be a pose.
 */
function openCvFromOpenGlCameraToWorld(gl: Float64Array, file: string, where: string): Mat4 {
  const m = Float64Array.from(gl);
  for (let r = 0; r < 3; r++) {
    m[r * 4 + 1] = -gl[r * 4 + 1]!;
    m[r * 4 + 2] = -gl[r * 4 + 2]!;
  }
  let worst = 0;
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      const dot = m[a]! * m[b]! + m[4 + a]! * m[4 + b]! + m[8 + a]! * m[8 + b]!;
      worst = Math.max(worst, Math.abs(dot - (a === b ? 1 : 0)));
    }
  }
  const det = m[0]! * (m[5]! * m[10]! - m[6]! * m[9]!) - m[1]! * (m[4]! * m[10]! - m[6]! * m[8]!) + m[2]! * (m[4]! * m[9]! - m[5]! * m[8]!);
  if (worst > 1e-4 || det < 0) {
    throw new FormatError(`${where}.transform_matrix rotation is not a proper rotation (|R^T R - I| = ${worst.toExponential(2)}, det ${det.toFixed(4)}).`, { file });
  }
  return m;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPositiveInteger(v: number): boolean {
  return Number.isSafeInteger(v) && v > 0;
}
