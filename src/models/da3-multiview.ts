/**
 * Multi-view Depth Anything 3 on ONNX Runtime. ByteDance publishes no ONNX export, so this file defines the
 * contract we accept, kept close to what the reference `DepthAnything3Net.forward` returns (and to the names its
 * community torch->ONNX exporters give the outputs):
 *
 * Input (exactly one; pose-conditioned exports with extrinsics/intrinsics inputs are not supported):
 *   float32 (or float16) images [1, N, 3, H, W] or [N, 3, H, W]; N, H, W static or dynamic. H and W multiples of 14.
 * Outputs, found by name (case-insensitive), else by shape where that is unambiguous:
 *   depth        'depth' | 'predicted_depth'                    [1, N, h, w] or [N, h, w]   z-depth, required
 *   confidence   'depth_conf' | 'conf' | 'confidence'           same shape as depth         optional
 *   rays         'ray' | 'rays' | 'ray_map' | 'camray'          [1, N, h', w', 6] ('hwc', DA3's) or [1, N, 6, h', w']
 *                                                              ('chw'), or without the leading 1; channels d then t
 *                                                              (DA3 order, see geometry/rays.ts), z-unit directions
 *   ray conf.    'ray_conf'                                     [1, N, h', w'] or [N, h', w']                 optional
 *   extrinsics   'extrinsics' | 'extrinsic' | 'w2c'             [1, N, 3, 4] or [1, N, 4, 4] cameraFromWorld (DA3's w2c)
 *   intrinsics   'intrinsics' | 'intrinsic'                     [1, N, 3, 3], pixels of the network input
 *   (anything else, e.g. DA3's 'sky', is ignored.) The model needs depth and either rays or both camera outputs.
 *   DA3's own intrinsics and ray grids use pixel centres at integer coordinates in its unprojection (`arange(w)`);
 *   we read them that way too.
 *
 * Preprocessing: DA3's `process_res=504`, `upper_bound_resize` (longest side 504, each side to the nearest multiple
 * of 14) on the FIRST image, bicubic + ImageNet mean/std as the depth models (`DA3_PREPROCESS`); a static network
 * size replaces the rule. DA3 needs one size for all views, so every image is resized (aspect ratio not kept when it
 * differs from the first) to that common size. (DA3's Python input processor centre-crops mixed sizes to the smallest
 * instead; resizing keeps every output pixel mapped to the whole input image, and the per-axis scaling below keeps
 * the geometry exact.)
 *
 * Postprocessing, back to each input image's own resolution, with half-pixel-centre alignment (pixel i of a grid of
 * size n covers [i, i+1) * S / n of an image of size S), the mapping the image resize itself used:
 * - depth and confidence: bilinear, torch align_corners=False (edge values held in the outer half pixel);
 * - rays: bilinear with the same mapping but linear EXTRAPOLATION in the outer half pixel, so a ray field that is
 *   affine in pixel coordinates (z-unit directions of a pinhole camera, constant origins) is reproduced exactly;
 * - intrinsics: fx' = fx * sx, cx' = (cx + 0.5) * sx - 0.5 (same on y), from network-input pixels.
 * Camera recovery from the rays and the world points are geometry's job (geometry/rays.ts viewGeometryFromPrediction):
 * models/ may not import geometry/, so the result carries rays in geometry's RayMap shape.
 */
import { createCamera, createIntrinsics, type Camera, type Intrinsics } from '../core/camera.ts';
import type { RunContext } from '../core/context.ts';
import { createDepth, type Depth } from '../core/depth.ts';
import { InputError, ModelError, throwIfAborted } from '../core/errors.ts';
import type { Image } from '../core/image.ts';
import { invertRigid, type Mat4 } from '../core/mat4.ts';
import { resizeNormalizeToNchw } from '../imaging/resize-bicubic.ts';
import { resizeBilinear } from '../imaging/resize-bilinear.ts';
import type { DeclaredDim, ModelSession, Tensor, TensorInfo } from './backend.ts';
import { chooseNetworkSize } from './depth-adapter.ts';
import { DA3_PREPROCESS } from './depth-anything-3.ts';
import type { ImagePreprocessSpec } from './model-spec.ts';

export type Da3OutputRole = 'depth' | 'depthConfidence' | 'rays' | 'rayConfidence' | 'extrinsics' | 'intrinsics';

/** Output names per role, lower case. */
const ROLE_NAMES: Readonly<Record<Da3OutputRole, readonly string[]>> = {
  depth: ['depth', 'predicted_depth'],
  depthConfidence: ['depth_conf', 'conf', 'confidence', 'depth_confidence'],
  rays: ['ray', 'rays', 'ray_map', 'raymap', 'camray'],
  rayConfidence: ['ray_conf', 'ray_confidence'],
  extrinsics: ['extrinsics', 'extrinsic', 'w2c'],
  intrinsics: ['intrinsics', 'intrinsic'],
};

export interface MultiViewDa3Contract {
  readonly modelPath: string;
  readonly inputName: string;
  /** 5: [1, N, 3, H, W]; 4: [N, 3, H, W]. */
  readonly inputRank: 4 | 5;
  /** The number of views when the model fixes it. */
  readonly staticViews: number | undefined;
  /** The network size when the model fixes it (the size rule then does not apply). */
  readonly staticInput: { readonly width: number; readonly height: number } | undefined;
  /** Output names per role found in the file. */
  readonly outputs: Readonly<Partial<Record<Da3OutputRole, string>>> & { readonly depth: string };
}

const EXPECTED = 'a multi-view DA3 export: one image input [1, N, 3, H, W] or [N, 3, H, W]; outputs depth [1, N, H, W] '
  + 'plus rays [1, N, H, W, 6] / [1, N, 6, H, W] or extrinsics [1, N, 3, 4] with intrinsics [1, N, 3, 3]';

function describe(info: TensorInfo): string {
  const dims = info.dims === undefined ? 'no declared shape' : `[${info.dims.map((d) => (d === undefined ? '?' : String(d))).join(', ')}]`;
  return `"${info.name}" ${info.dtype} ${dims}`;
}

/** Whether declared dims can be a per-view plane stack [1, N, h, w] or [N, h, w]. */
function isPlaneStack(dims: readonly DeclaredDim[] | undefined): boolean {
  if (dims === undefined) return true;
  if (dims.length === 4) return dims[0] === 1 || typeof dims[0] !== 'number';
  return dims.length === 3;
}

/** Whether declared dims can be rays [1, N, h, w, 6], [1, N, 6, h, w] or the same without the leading 1. */
function isRayStack(dims: readonly DeclaredDim[] | undefined): boolean {
  if (dims === undefined) return true;
  const perView = dims.length === 5 ? dims.slice(2) : dims.length === 4 ? dims.slice(1) : undefined;
  if (perView === undefined) return false;
  const six = (d: DeclaredDim): boolean => d === 6 || typeof d !== 'number';
  return six(perView[2]) || six(perView[0]);
}

/** Whether declared dims end in rows x cols, with a stack of views before. */
function isMatrixStack(dims: readonly DeclaredDim[] | undefined, rows: readonly number[], cols: number): boolean {
  if (dims === undefined) return true;
  if (dims.length !== 3 && dims.length !== 4) return false;
  const r = dims[dims.length - 2], c = dims[dims.length - 1];
  return (typeof r !== 'number' || rows.includes(r)) && (typeof c !== 'number' || c === cols);
}

/** Shape check per role: undefined when the declared dims fit. */
function roleProblem(role: Da3OutputRole, info: TensorInfo): string | undefined {
  if (!['float32', 'float16', 'float64'].includes(info.dtype)) return `output ${describe(info)} has element type ${info.dtype}`;
  const ok = role === 'rays' ? isRayStack(info.dims)
    : role === 'extrinsics' ? isMatrixStack(info.dims, [3, 4], 4)
      : role === 'intrinsics' ? isMatrixStack(info.dims, [3], 3)
        : isPlaneStack(info.dims);
  return ok ? undefined : `output ${describe(info)} does not have the shape of DA3 ${role}`;
}

/** Roles by shape alone, for outputs with unknown names: only unambiguous shapes count. */
function roleByShape(info: TensorInfo): Da3OutputRole | undefined {
  const dims = info.dims;
  if (dims === undefined || !dims.every((d) => typeof d === 'number')) return undefined;
  const last2 = dims.slice(-2).join('x');
  if ((dims.length === 4 || dims.length === 3) && (last2 === '3x4' || last2 === '4x4')) return 'extrinsics';
  if ((dims.length === 4 || dims.length === 3) && last2 === '3x3') return 'intrinsics';
  if ((dims.length === 5 || dims.length === 4) && (dims[dims.length - 1] === 6 || dims[dims.length - 3] === 6)) return 'rays';
  return undefined;
}

function pickInput(session: Pick<ModelSession, 'modelPath' | 'inputs'>): Pick<MultiViewDa3Contract, 'inputName' | 'inputRank' | 'staticViews' | 'staticInput'> {
  const file = session.modelPath;
  if (session.inputs.length !== 1) {
    const list = session.inputs.map(describe).join(', ') || 'none';
    throw new ModelError(`the model has ${session.inputs.length} inputs (${list}); expected ${EXPECTED}. `
      + 'Pose-conditioned exports (extra extrinsics/intrinsics inputs) are not supported: export with with_camera=False.', { file });
  }
  const info = session.inputs[0]!;
  if (info.dtype !== 'float32' && info.dtype !== 'float16') throw new ModelError(`input ${describe(info)} has element type ${info.dtype}; expected ${EXPECTED}.`, { file });
  const dims = info.dims ?? [1, undefined, 3, undefined, undefined];
  if (dims.length !== 5 && dims.length !== 4) throw new ModelError(`input ${describe(info)} has rank ${dims.length}; expected ${EXPECTED}.`, { file });
  const rank = dims.length as 4 | 5;
  const [views, channels, height, width] = rank === 5 ? dims.slice(1) : dims;
  if (rank === 5 && typeof dims[0] === 'number' && dims[0] !== 1) throw new ModelError(`input ${describe(info)} has a fixed batch of ${dims[0]}; expected 1.`, { file });
  if (typeof channels === 'number' && channels !== 3) throw new ModelError(`input ${describe(info)} has ${channels} channels (expected 3, RGB); expected ${EXPECTED}.`, { file });
  if ((typeof height === 'number') !== (typeof width === 'number')) {
    throw new ModelError(`input ${describe(info)} fixes only one of height and width; expected both fixed or both dynamic.`, { file });
  }
  return {
    inputName: info.name,
    inputRank: rank,
    staticViews: typeof views === 'number' ? views : undefined,
    staticInput: typeof height === 'number' && typeof width === 'number' ? { width, height } : undefined,
  };
}

/**
 * Detects a multi-view DA3 export's contract from the session metadata (see the file header); a ModelError naming
 * the file and the expected contract when it does not fit.
 */
export function detectMultiViewDa3Contract(session: Pick<ModelSession, 'modelPath' | 'inputs' | 'outputs'>): MultiViewDa3Contract {
  const file = session.modelPath;
  const input = pickInput(session);
  const found: Partial<Record<Da3OutputRole, string>> = {};
  const unnamed: TensorInfo[] = [];
  for (const info of session.outputs) {
    const name = info.name.toLowerCase();
    const role = (Object.keys(ROLE_NAMES) as Da3OutputRole[]).find((r) => ROLE_NAMES[r].includes(name));
    if (role === undefined) {
      unnamed.push(info);
      continue;
    }
    const problem = roleProblem(role, info);
    if (problem !== undefined) throw new ModelError(`${problem}; expected ${EXPECTED}.`, { file });
    found[role] = info.name;
  }
  for (const info of unnamed) {
    const role = roleByShape(info);
    if (role === undefined || found[role] !== undefined) continue;
    if (unnamed.filter((other) => roleByShape(other) === role).length > 1) continue; // ambiguous: ignore
    found[role] = info.name;
  }
  if (found.depth === undefined) {
    const planes = unnamed.filter((info) => isPlaneStack(info.dims) && info.dims !== undefined && roleByShape(info) === undefined);
    if (planes.length === 1) found.depth = planes[0]!.name;
  }
  const list = session.outputs.map(describe).join(', ') || 'none';
  if (found.depth === undefined) throw new ModelError(`no depth output among ${list}; expected ${EXPECTED}.`, { file });
  if ((found.extrinsics === undefined) !== (found.intrinsics === undefined)) {
    throw new ModelError(`the model has ${found.extrinsics !== undefined ? 'extrinsics but no intrinsics' : 'intrinsics but no extrinsics'} (${list}); expected both or neither.`, { file });
  }
  if (found.rays === undefined && found.extrinsics === undefined) {
    throw new ModelError(`the model has neither a ray output nor camera outputs (${list}); expected ${EXPECTED}.`, { file });
  }
  return { modelPath: file, ...input, outputs: { ...found, depth: found.depth } };
}

/** A ray map in geometry/rays.ts's RayMap shape (structurally identical; models/ cannot import geometry/). */
export interface Da3RayMap {
  readonly width: number;
  readonly height: number;
  readonly layout: 'hwc' | 'chw';
  readonly channelOrder: 'directionFirst' | 'originFirst';
  readonly rayDirection: 'zUnit' | 'unitNorm';
  readonly data: Float32Array;
}

export interface MultiViewDa3Options {
  /** Default DA3_PREPROCESS (upper bound 504, multiple of 14, bicubic, ImageNet mean/std). */
  readonly preprocess?: ImagePreprocessSpec;
  /** Overrides the target size (a multiple of 14); ignored by static models. */
  readonly processSizePx?: number;
  /** What the depth output means: relative (DA3 any-view models, default) or metres (a metric/nested export). */
  readonly depthKind?: 'relativeDepth' | 'metricDepth';
  /** Ray channel order and direction scale of the export. Default DA3's: directionFirst, zUnit. */
  readonly rayChannelOrder?: 'directionFirst' | 'originFirst';
  readonly rayDirection?: 'zUnit' | 'unitNorm';
  /** A contract detected before (saves detection per call). */
  readonly contract?: MultiViewDa3Contract;
}

export interface MultiViewDa3View {
  /** At the input image's resolution; `depth.confidence` holds the (resized) confidence when the model has one. */
  readonly depth: Depth;
  readonly confidence?: Float32Array;
  /** Rays at the image's resolution, 'hwc'; absent when the model has no ray output. */
  readonly rays?: Da3RayMap;
  readonly rayConfidence?: Float32Array;
  /** The network's own camera (extrinsics/intrinsics outputs), intrinsics scaled to the image. */
  readonly networkCamera?: Camera;
}

export interface MultiViewDa3Result {
  readonly views: readonly MultiViewDa3View[];
  /** The common network input size. */
  readonly network: { readonly width: number; readonly height: number };
  readonly timingsMs: { readonly preprocess: number; readonly inference: number; readonly postprocess: number };
}

/** The common network size for a set of views: the static one, or the size rule on the first image. */
export function multiViewNetworkSize(
  images: readonly { readonly width: number; readonly height: number }[],
  contract: Pick<MultiViewDa3Contract, 'staticInput'>,
  preprocess: ImagePreprocessSpec = DA3_PREPROCESS,
  processSizePx?: number,
): { width: number; height: number } {
  const first = images[0];
  if (first === undefined) throw new InputError('Multi-view DA3 needs at least one image.');
  return chooseNetworkSize(first, contract, preprocess, processSizePx);
}

/** Intrinsics at network-input pixels -> the same camera for an image of width x height (half-pixel centres). */
export function scaleIntrinsicsToImage(k: Intrinsics, width: number, height: number): Intrinsics {
  const sx = width / k.width, sy = height / k.height;
  return createIntrinsics({ fxPx: k.fxPx * sx, fyPx: k.fyPx * sy, cxPx: (k.cxPx + 0.5) * sx - 0.5, cyPx: (k.cyPx + 0.5) * sy - 0.5, width, height });
}

/** Per-view planes of a [1, N, h, w] / [N, h, w] output. */
function planesOf(file: string, name: string, tensor: Tensor | undefined, views: number): { width: number; height: number; data: Float32Array } {
  if (tensor === undefined) throw new ModelError(`the run produced no output "${name}".`, { file });
  const dims = tensor.dims;
  const stack = dims.length === 4 && dims[0] === 1 ? dims.slice(1) : dims;
  if (tensor.dtype !== 'float32' || stack.length !== 3 || stack[0] !== views) {
    throw new ModelError(`output "${name}" is ${tensor.dtype} [${dims.join(', ')}]; expected float32 [1, ${views}, H, W].`, { file });
  }
  return { width: stack[2]!, height: stack[1]!, data: tensor.data as Float32Array };
}

/** Per-view ray grids of a ray output: layout from where the 6 is. */
function raysOf(file: string, name: string, tensor: Tensor | undefined, views: number): { width: number; height: number; layout: 'hwc' | 'chw'; data: Float32Array } {
  if (tensor === undefined) throw new ModelError(`the run produced no output "${name}".`, { file });
  const dims = tensor.dims;
  const stack = dims.length === 5 && dims[0] === 1 ? dims.slice(1) : dims;
  if (tensor.dtype === 'float32' && stack.length === 4 && stack[0] === views) {
    if (stack[3] === 6) return { width: stack[2]!, height: stack[1]!, layout: 'hwc', data: tensor.data as Float32Array };
    if (stack[1] === 6) return { width: stack[3]!, height: stack[2]!, layout: 'chw', data: tensor.data as Float32Array };
  }
  throw new ModelError(`output "${name}" is ${tensor.dtype} [${dims.join(', ')}]; expected float32 [1, ${views}, H, W, 6] or [1, ${views}, 6, H, W].`, { file });
}

/** Per-view rows x cols matrices of a [1, N, r, c] / [N, r, c] output. */
function matricesOf(file: string, name: string, tensor: Tensor | undefined, views: number, rows: readonly number[], cols: number): { rows: number; data: Float32Array } {
  if (tensor === undefined) throw new ModelError(`the run produced no output "${name}".`, { file });
  const dims = tensor.dims;
  const stack = dims.length === 4 && dims[0] === 1 ? dims.slice(1) : dims;
  if (tensor.dtype !== 'float32' || stack.length !== 3 || stack[0] !== views || !rows.includes(stack[1]!) || stack[2] !== cols) {
    throw new ModelError(`output "${name}" is ${tensor.dtype} [${dims.join(', ')}]; expected float32 [1, ${views}, ${rows.join(' or ')}, ${cols}].`, { file });
  }
  return { rows: stack[1]!, data: tensor.data as Float32Array };
}

/** Taps of a half-pixel bilinear resize along one axis, extrapolating linearly beyond the outer sample centres. */
function extrapolatingTaps(src: number, dst: number): { i0: Int32Array; t: Float64Array } {
  const i0 = new Int32Array(dst);
  const t = new Float64Array(dst);
  for (let d = 0; d < dst; d++) {
    const x = ((d + 0.5) * src) / dst - 0.5;
    const x0 = src > 1 ? Math.min(Math.max(Math.floor(x), 0), src - 2) : 0;
    i0[d] = x0;
    t[d] = src > 1 ? x - x0 : 0;
  }
  return { i0, t };
}

/** One view's rays resized to width x height (see the file header), as an HWC map. */
function resizeRays(
  source: { width: number; height: number; layout: 'hwc' | 'chw'; data: Float32Array },
  view: number,
  width: number,
  height: number,
): Float32Array {
  const { width: sw, height: sh, layout, data } = source;
  const plane = sw * sh;
  const base = view * plane * 6;
  // Channel c of source pixel p is at base + p * pixelStride + c * channelStride.
  const pixelStride = layout === 'hwc' ? 6 : 1;
  const channelStride = layout === 'hwc' ? 1 : plane;
  const out = new Float32Array(width * height * 6);
  if (sw === width && sh === height) {
    for (let p = 0; p < plane; p++) for (let c = 0; c < 6; c++) out[p * 6 + c] = data[base + p * pixelStride + c * channelStride]!;
    return out;
  }
  const xt = extrapolatingTaps(sw, width);
  const yt = extrapolatingTaps(sh, height);
  for (let v = 0; v < height; v++) {
    const y0 = yt.i0[v]!, ty = yt.t[v]!;
    const row0 = y0 * sw, row1 = Math.min(y0 + 1, sh - 1) * sw;
    for (let u = 0; u < width; u++) {
      const x0 = xt.i0[u]!, tx = xt.t[u]!;
      const x1 = Math.min(x0 + 1, sw - 1);
      const p00 = base + (row0 + x0) * pixelStride, p01 = base + (row0 + x1) * pixelStride;
      const p10 = base + (row1 + x0) * pixelStride, p11 = base + (row1 + x1) * pixelStride;
      const o = (v * width + u) * 6;
      for (let c = 0, k = 0; c < 6; c++, k += channelStride) {
        const top = data[p00 + k]! + tx * (data[p01 + k]! - data[p00 + k]!);
        const bottom = data[p10 + k]! + tx * (data[p11 + k]! - data[p10 + k]!);
        out[o + c] = top + ty * (bottom - top);
      }
    }
  }
  return out;
}

/** Plane k of a stack, resized to width x height (bilinear, half-pixel, edge-clamped). */
function resizePlane(stack: { width: number; height: number; data: Float32Array }, view: number, width: number, height: number): Float32Array {
  const n = stack.width * stack.height;
  const data = stack.data.slice(view * n, (view + 1) * n);
  if (stack.width === width && stack.height === height) return data;
  return resizeBilinear({ width: stack.width, height: stack.height, data }, width, height, { alignCorners: false }).data;
}

/** worldFromCamera from a row-major 3x4 or 4x4 cameraFromWorld. */
function worldFromCameraOf(data: Float32Array, offset: number): Mat4 {
  const m = new Float64Array(16);
  for (let i = 0; i < 12; i++) m[i] = data[offset + i]!;
  m[15] = 1;
  return invertRigid(m);
}

function checkImages(images: readonly Image<Uint8Array>[], contract: MultiViewDa3Contract): void {
  if (images.length === 0) throw new InputError('Multi-view DA3 needs at least one image.');
  if (contract.staticViews !== undefined && images.length !== contract.staticViews) {
    throw new InputError(`${contract.modelPath} takes exactly ${contract.staticViews} views (a static export); got ${images.length} images.`);
  }
  images.forEach((image, k) => {
    if (image.channels !== 3) throw new InputError(`Image ${k} has ${image.channels} channels; multi-view DA3 needs RGB (3 channels).`);
  });
}

/**
 * Runs a multi-view DA3 export on N images (one forward pass; all views share the network size) and returns each
 * view's depth, confidence, rays and network camera at that image's resolution (see the file header).
 */
export async function runMultiViewDa3(
  session: ModelSession,
  images: readonly Image<Uint8Array>[],
  options: MultiViewDa3Options = {},
  context: RunContext = {},
): Promise<MultiViewDa3Result> {
  const contract = options.contract ?? detectMultiViewDa3Contract(session);
  checkImages(images, contract);
  const preprocess = options.preprocess ?? DA3_PREPROCESS;
  const t0 = performance.now();
  const net = multiViewNetworkSize(images, contract, preprocess, options.processSizePx);
  const n = images.length;
  const perView = 3 * net.width * net.height;
  const input = new Float32Array(n * perView);
  for (let k = 0; k < n; k++) {
    throwIfAborted(context.signal);
    input.set(resizeNormalizeToNchw(images[k]!, net.width, net.height, preprocess.mean, preprocess.std), k * perView);
  }
  const dims = contract.inputRank === 5 ? [1, n, 3, net.height, net.width] : [n, 3, net.height, net.width];
  const t1 = performance.now();
  const outputs = await session.run({ [contract.inputName]: { dtype: 'float32', dims, data: input } }, context);
  const t2 = performance.now();

  const file = contract.modelPath;
  const names = contract.outputs;
  const depth = planesOf(file, names.depth, outputs[names.depth], n);
  const depthConfidence = names.depthConfidence !== undefined ? planesOf(file, names.depthConfidence, outputs[names.depthConfidence], n) : undefined;
  const rays = names.rays !== undefined ? raysOf(file, names.rays, outputs[names.rays], n) : undefined;
  const rayConfidence = names.rayConfidence !== undefined ? planesOf(file, names.rayConfidence, outputs[names.rayConfidence], n) : undefined;
  const extrinsics = names.extrinsics !== undefined ? matricesOf(file, names.extrinsics, outputs[names.extrinsics], n, [3, 4], 4) : undefined;
  const intrinsics = names.intrinsics !== undefined ? matricesOf(file, names.intrinsics, outputs[names.intrinsics], n, [3], 3) : undefined;
  const kind = options.depthKind ?? 'relativeDepth';
  const channelOrder = options.rayChannelOrder ?? 'directionFirst';
  const rayDirection = options.rayDirection ?? 'zUnit';

  const views: MultiViewDa3View[] = images.map((image, k) => {
    throwIfAborted(context.signal);
    const { width, height } = image;
    const data = resizePlane(depth, k, width, height);
    // Depth kinds: non-positive values are not depths.
    for (let i = 0; i < data.length; i++) if (!(data[i]! > 0)) data[i] = NaN;
    const confidence = depthConfidence !== undefined ? resizePlane(depthConfidence, k, width, height) : undefined;
    const view: {
      depth: Depth; confidence?: Float32Array; rays?: Da3RayMap; rayConfidence?: Float32Array; networkCamera?: Camera;
    } = { depth: createDepth({ kind, width, height, data, ...(confidence !== undefined ? { confidence } : {}) }) };
    if (confidence !== undefined) view.confidence = confidence;
    if (rays !== undefined) {
      view.rays = { width, height, layout: 'hwc', channelOrder, rayDirection, data: resizeRays(rays, k, width, height) };
    }
    if (rayConfidence !== undefined) view.rayConfidence = resizePlane(rayConfidence, k, width, height);
    if (extrinsics !== undefined && intrinsics !== undefined) {
      const kOffset = k * 9;
      const kNet = intrinsics.data;
      const [fxPx, fyPx, cxPx, cyPx] = [kNet[kOffset]!, kNet[kOffset + 4]!, kNet[kOffset + 2]!, kNet[kOffset + 5]!];
      if (!(fxPx > 0 && fyPx > 0 && Number.isFinite(fxPx + fyPx + cxPx + cyPx))) {
        throw new ModelError(`output "${names.intrinsics}" of view ${k} is not a pinhole camera (fx ${fxPx}, fy ${fyPx}, cx ${cxPx}, cy ${cyPx}).`, { file });
      }
      const atNetwork = createIntrinsics({ fxPx, fyPx, cxPx, cyPx, width: net.width, height: net.height });
      view.networkCamera = createCamera(scaleIntrinsicsToImage(atNetwork, width, height), worldFromCameraOf(extrinsics.data, k * extrinsics.rows * 4));
    }
    return view;
  });
  const t3 = performance.now();
  return { views, network: net, timingsMs: { preprocess: t1 - t0, inference: t2 - t1, postprocess: t3 - t2 } };
}
