/**
 * `anyview render`: a splat file rendered by the CPU reference rasteriser (splat/rasterize.ts), headless and
 * deterministic: one camera to a PNG (colour, and optionally depth and labels), or an orbit / a camera path to an
 * H.264 video through ffmpeg.
 *
 * Colour: the rasteriser's [0, 1] values are the set's sRGB-as-stored colours, so pixels are round(255 * clamp(v)),
 * with no transfer curve. Depth: the expected z of the covered part (alpha >= 0.5, normalizeDepth), in the splat
 * file's units, NaN elsewhere. Labels: an indexed-colour PNG whose pixel index is the class (255 where no labelled
 * Gaussian dominates), with the PASCAL VOC colour palette, so it reads as VOC ground truth does.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createCamera, intrinsicsFromFov, type Camera } from '../core/camera.ts';
import type { RunContext } from '../core/context.ts';
import { createDepth } from '../core/depth.ts';
import { FormatError, InputError, throwIfAborted } from '../core/errors.ts';
import { UNLABELED, type GaussianSet } from '../core/gaussians.ts';
import type { Image } from '../core/image.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { decodeCamerasJson, CAMERAS_JSON_FORMAT } from '../io/formats/cameras-json.ts';
import { encodeDepthPng16 } from '../io/formats/depth-png16.ts';
import { encodeNpy } from '../io/formats/npy.ts';
import { decodeSplatFile } from '../io/formats/splat-formats.ts';
import { encodePalettePng, encodePng } from '../io/png.ts';
import { createVideoEncoder } from '../io/video-encode.ts';
import { orbitCameras } from '../splat/camera-path.ts';
import { normalizeDepth, renderGaussians, type RenderedGaussians } from '../splat/rasterize.ts';

export type RenderView =
  | { readonly kind: 'camera'; readonly file: string; /** For a cameras.json: which view. */ readonly viewIndex?: number }
  | { readonly kind: 'orbit'; readonly count: number; readonly width: number; readonly height: number; readonly fovXDeg: number; readonly elevationDeg: number; readonly fps: number }
  | { readonly kind: 'path'; readonly file: string; readonly fps: number };

export interface RenderJobOptions {
  readonly view: RenderView;
  /** A PNG for one camera, a video (.mp4) for an orbit or a path. */
  readonly output: string;
  /** RGB in [0, 1]. Default black. */
  readonly background: readonly [number, number, number];
  /** One camera only: depth as .png (16-bit, anyview depth-png16) or .npy (float32). */
  readonly depthOutput?: string;
  /** One camera only: 8-bit label PNG (needs a set with labels: a PLY written with --semantics). */
  readonly labelsOutput?: string;
}

export interface RenderJobSummary {
  readonly input: string;
  readonly gaussians: number;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly outputs: readonly string[];
  /** Visible Gaussians of the (first) frame. */
  readonly visible: number;
  readonly msPerFrame: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A row-major 4x4 from 16 numbers or 4 rows of 4. */
function matrixOf(value: unknown, file: string, where: string): Float64Array {
  const flat = Array.isArray(value) && value.length === 4 && value.every((r) => Array.isArray(r)) ? (value as unknown[][]).flat() : value;
  if (!Array.isArray(flat) || flat.length !== 16 || !flat.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new FormatError(`${where}worldFromCamera must be 16 finite numbers (row-major 4x4, OpenCV axes).`, { file });
  }
  return Float64Array.from(flat as number[]);
}

/** `{width, height, fx, fy, cx, cy, worldFromCamera}` -> Camera. */
export function cameraFromObject(json: unknown, file: string, where = ''): Camera {
  if (!isObject(json)) throw new FormatError(`${where}a camera must be an object {width, height, fx, fy, cx, cy, worldFromCamera}.`, { file });
  for (const key of ['width', 'height', 'fx', 'fy', 'cx', 'cy']) {
    if (typeof json[key] !== 'number' || !Number.isFinite(json[key])) throw new FormatError(`${where}camera field "${key}" must be a number.`, { file });
  }
  const n = json as Record<string, number>;
  try {
    return createCamera({ width: n['width']!, height: n['height']!, fxPx: n['fx']!, fyPx: n['fy']!, cxPx: n['cx']!, cyPx: n['cy']! }, matrixOf(json['worldFromCamera'], file, where));
  } catch (error) {
    if (error instanceof InputError) throw new FormatError(`${where}${error.message}`, { file, cause: error });
    throw error;
  }
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read the camera file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, { file, cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FormatError(`not valid JSON (${(error as Error).message}).`, { file, cause: error });
  }
}

/** The camera of a CAMERA.json, or view `viewIndex` of an `anyview views` cameras.json. */
export function cameraFromJson(json: unknown, file: string, viewIndex: number | undefined): Camera {
  if (isObject(json) && json['format'] === CAMERAS_JSON_FORMAT) {
    const cameras = decodeCamerasJson(JSON.stringify(json), file);
    if (viewIndex === undefined) throw new InputError(`is a cameras.json with ${cameras.views.length} views: choose one with --view 0..${cameras.views.length - 1}.`, { file });
    const view = cameras.views[viewIndex];
    if (view === undefined) throw new InputError(`--view ${viewIndex} is outside 0..${cameras.views.length - 1}.`, { file });
    if (view.worldFromCamera === null) throw new InputError(`view ${viewIndex} (${view.name}) was not registered: it has no pose.`, { file });
    return createCamera(view.intrinsics, view.worldFromCamera);
  }
  if (viewIndex !== undefined) throw new InputError('--view applies to a cameras.json of `anyview views`, not a single-camera file.', { file });
  return cameraFromObject(json, file);
}

/** A camera path: a JSON list of cameras, `{ "cameras": [...] }`, or every registered view of a cameras.json. */
export function cameraPathFromJson(json: unknown, file: string): Camera[] {
  if (isObject(json) && json['format'] === CAMERAS_JSON_FORMAT) {
    const views = decodeCamerasJson(JSON.stringify(json), file).views.filter((v) => v.worldFromCamera !== null);
    if (views.length === 0) throw new InputError('has no registered view.', { file });
    return views.map((v) => createCamera(v.intrinsics, v.worldFromCamera!));
  }
  const list = Array.isArray(json) ? json : isObject(json) && Array.isArray(json['cameras']) ? json['cameras'] : undefined;
  if (list === undefined || list.length === 0) throw new FormatError('a camera path is a non-empty JSON list of cameras (or { "cameras": [...] }).', { file });
  const cameras = list.map((c, i) => cameraFromObject(c, file, `camera ${i}: `));
  const { width, height } = cameras[0]!.intrinsics;
  cameras.forEach((c, i) => {
    if (c.intrinsics.width !== width || c.intrinsics.height !== height) throw new FormatError(`camera ${i} is ${c.intrinsics.width}x${c.intrinsics.height} but camera 0 is ${width}x${height}; a video has one size.`, { file });
  });
  return cameras;
}

function percentile(values: Float64Array | Float32Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * An orbit around the set: centre = per-axis median of the positions (robust to floaters), radius such that a
 * sphere holding 90% of the Gaussians (around the centre) fits the narrower field of view with a 10% margin.
 */
export function orbitAroundSet(set: GaussianSet, view: Extract<RenderView, { kind: 'orbit' }>): Camera[] {
  if (set.count === 0) throw new InputError('the splat file has no Gaussians: nothing to orbit.');
  const n = set.count;
  const axis = new Float64Array(n);
  const center = [0, 1, 2].map((c) => {
    for (let i = 0; i < n; i++) axis[i] = set.positions[i * 3 + c]!;
    return percentile(axis, 0.5);
  });
  const distances = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    distances[i] = Math.hypot(set.positions[i * 3]! - center[0]!, set.positions[i * 3 + 1]! - center[1]!, set.positions[i * 3 + 2]! - center[2]!);
  }
  const extent = Math.max(percentile(distances, 0.9), 1e-6);
  const intrinsics = intrinsicsFromFov(view.width, view.height, (view.fovXDeg * Math.PI) / 180);
  const halfFov = Math.min(Math.atan((view.width / 2) / intrinsics.fxPx), Math.atan((view.height / 2) / intrinsics.fyPx));
  const radius = (1.1 * extent) / Math.sin(halfFov);
  return orbitCameras(center, radius, (view.elevationDeg * Math.PI) / 180, view.count, intrinsics);
}

/** 8-bit RGB from the rasteriser's [0, 1] colour: round(255 * clamp(v, 0, 1)). */
export function colorToRgb8(color: Image<Float32Array>): Uint8Array {
  const { width, height, channels, data } = color;
  const out = new Uint8Array(width * height * 3);
  for (let p = 0, o = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++, o++) {
      const v = data[p * channels + c]!;
      out[o] = Math.round(255 * (v > 1 ? 1 : v > 0 ? v : 0));
    }
  }
  return out;
}

async function readSplats(file: string): Promise<GaussianSet> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new InputError(`cannot read the splat file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, { file, cause: error });
  }
  return decodeSplatFile(bytes, file);
}

async function encodeDepthOutput(rendered: RenderedGaussians, file: string): Promise<Uint8Array> {
  const data = normalizeDepth(rendered);
  if (file.toLowerCase().endsWith('.npy')) return encodeNpy(data, [rendered.height, rendered.width]);
  if (file.toLowerCase().endsWith('.png')) {
    // Kind 'relativeDepth': z in the splat file's units, which the file does not record as metres.
    return (await encodeDepthPng16(createDepth({ kind: 'relativeDepth', width: rendered.width, height: rendered.height, data }))).bytes;
  }
  throw new InputError(`--depth-out ${file}: use a .png (16-bit, value mapping in its text chunk) or .npy (float32) file.`);
}

async function encodeLabelsOutput(rendered: RenderedGaussians, file: string): Promise<Uint8Array> {
  if (rendered.labels === undefined) throw new InputError('--labels-out needs labelled Gaussians: a PLY written by `anyview splat --semantics`.', { file });
  const out = new Uint8Array(rendered.labels.length);
  for (let p = 0; p < out.length; p++) {
    const label = rendered.labels[p]!;
    out[p] = label === UNLABELED || label > 254 ? 255 : label;
  }
  return encodePalettePng(out, rendered.width, rendered.height, vocPalette());
}

/** The PASCAL VOC label colour map: the bits of the index spread over R, G, B from the most significant bit down. */
export function vocPalette(): Uint8Array {
  const palette = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    let r = 0, g = 0, b = 0;
    for (let j = 0, c = i; j < 8; j++, c >>= 3) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
    }
    palette.set([r, g, b], i * 3);
  }
  return palette;
}

export async function runRenderJob(input: string, options: RenderJobOptions, context: RunContext = {}): Promise<RenderJobSummary> {
  const { view, background } = options;
  const set = await readSplats(input);
  const renderOptions = { background };
  if (view.kind === 'camera') {
    if (!options.output.toLowerCase().endsWith('.png')) throw new InputError(`--out ${options.output}: one camera renders a .png image.`);
    const camera = cameraFromJson(await readJson(view.file), view.file, view.viewIndex);
    const started = performance.now();
    const rendered = renderGaussians(set, camera, renderOptions);
    const ms = performance.now() - started;
    // Encode everything before writing anything.
    const files: [string, Uint8Array][] = [[options.output, await encodePng(colorToRgb8(rendered.color), rendered.width, rendered.height, 3)]];
    if (options.depthOutput !== undefined) files.push([options.depthOutput, await encodeDepthOutput(rendered, options.depthOutput)]);
    if (options.labelsOutput !== undefined) files.push([options.labelsOutput, await encodeLabelsOutput(rendered, options.labelsOutput)]);
    for (const [file, bytes] of files) await writeFileAtomic(file, bytes);
    context.onProgress?.({ stage: 'render', done: 1, total: 1, unit: 'frames', item: options.output });
    return {
      input, gaussians: set.count, width: rendered.width, height: rendered.height, frames: 1, outputs: files.map(([f]) => f),
      visible: rendered.stats.visible, msPerFrame: ms,
    };
  }
  if (options.depthOutput !== undefined || options.labelsOutput !== undefined) throw new InputError('--depth-out and --labels-out apply to one --camera, not to a video.');
  if (path.extname(options.output).toLowerCase() !== '.mp4') throw new InputError(`--out ${options.output}: an orbit or camera path renders an .mp4 video.`);
  const cameras = view.kind === 'orbit' ? orbitAroundSet(set, view) : cameraPathFromJson(await readJson(view.file), view.file);
  const { width, height } = cameras[0]!.intrinsics;
  const encoder = createVideoEncoder(options.output, { width, height, fps: view.fps });
  let visible = 0;
  let totalMs = 0;
  try {
    for (const [i, camera] of cameras.entries()) {
      throwIfAborted(context.signal);
      const started = performance.now();
      const rendered = renderGaussians(set, camera, renderOptions);
      totalMs += performance.now() - started;
      if (i === 0) visible = rendered.stats.visible;
      await encoder.write(colorToRgb8(rendered.color));
      context.onProgress?.({ stage: 'render', done: i + 1, total: cameras.length, unit: 'frames', item: options.output });
    }
    await encoder.finish();
  } catch (error) {
    await encoder.abort();
    throw error;
  }
  return { input, gaussians: set.count, width, height, frames: cameras.length, outputs: [options.output], visible, msPerFrame: totalMs / cameras.length };
}
