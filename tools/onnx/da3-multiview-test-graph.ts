/**
 * Small ONNX graphs that honour the multi-view DA3 contract (src/models/da3-multiview.ts), for tests: three known
 * cameras look at a known plane; the graphs output that scene's depth, confidence and rays (or cameras) as
 * constants, plus 0 * ReduceMean(images) so the input is really consumed and the graph is a real one.
 *
 * Everything here is computed from the scene definition with its own few lines of pinhole maths, independent of
 * src/geometry, so tests that recover cameras and points from these outputs compare against an independent truth.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GENERATED_DIR } from '../../test/helpers/paths.ts';
import { GraphBuilder } from './graph-builder.ts';

export const DA3_TEST_VIEWS = 3;
/** Network input size of the static test graphs (multiples of 14). */
export const DA3_TEST_WIDTH = 84;
export const DA3_TEST_HEIGHT = 56;

export interface TestPinhole {
  readonly fxPx: number;
  readonly fyPx: number;
  readonly cxPx: number;
  readonly cyPx: number;
  readonly width: number;
  readonly height: number;
}

export interface TestCamera {
  readonly intrinsics: TestPinhole;
  /** Row-major 3x3 camera-to-world rotation (OpenCV axes). */
  readonly rotation: readonly number[];
  /** Camera centre in world coordinates. */
  readonly centre: readonly number[];
}

/** The plane n . X = offset (n unit) that every view sees. */
export const DA3_TEST_PLANE = (() => {
  const n = [0.1, -0.2, 1];
  const len = Math.hypot(n[0]!, n[1]!, n[2]!);
  const normal = n.map((x) => x / len);
  return { normal, offset: 8 * normal[2]! } as const;
})();

function cross(a: readonly number[], b: readonly number[]): number[] {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}

function unit(a: readonly number[]): number[] {
  const n = Math.hypot(a[0]!, a[1]!, a[2]!);
  return a.map((x) => x / n);
}

/** Camera at `centre` looking at `target`, rolled by `roll` radians, columns x, y, z of R_wc. */
function lookAt(centre: readonly number[], target: readonly number[], roll: number): number[] {
  const z = unit(target.map((t, a) => t - centre[a]!));
  const down = [Math.sin(roll), Math.cos(roll), 0];
  const x = unit(cross(down, z));
  const y = cross(z, x);
  return [x[0]!, y[0]!, z[0]!, x[1]!, y[1]!, z[1]!, x[2]!, y[2]!, z[2]!];
}

/** The three test cameras at network resolution: different poses, fx != fy, off-centre principal points. */
export const DA3_TEST_CAMERAS: readonly TestCamera[] = Object.freeze([
  { intrinsics: { fxPx: 70, fyPx: 66, cxPx: 40.2, cyPx: 28.9, width: DA3_TEST_WIDTH, height: DA3_TEST_HEIGHT }, centre: [-1, 0.2, 0], rotation: lookAt([-1, 0.2, 0], [0, 0, 8], 0.05) },
  { intrinsics: { fxPx: 60, fyPx: 61, cxPx: 43, cyPx: 26.5, width: DA3_TEST_WIDTH, height: DA3_TEST_HEIGHT }, centre: [0, -0.3, 0.5], rotation: lookAt([0, -0.3, 0.5], [0.3, 0.2, 8], -0.1) },
  { intrinsics: { fxPx: 80, fyPx: 76, cxPx: 41.5, cyPx: 27.2, width: DA3_TEST_WIDTH, height: DA3_TEST_HEIGHT }, centre: [1.2, 0.1, -0.4], rotation: lookAt([1.2, 0.1, -0.4], [-0.2, 0, 8], 0.2) },
]);

/** The same camera on a grid of width x height covering the same image (half-pixel centres). */
export function testCameraAt(camera: TestCamera, width: number, height: number): TestCamera {
  const k = camera.intrinsics;
  const sx = width / k.width, sy = height / k.height;
  return {
    ...camera,
    intrinsics: { fxPx: k.fxPx * sx, fyPx: k.fyPx * sy, cxPx: (k.cxPx + 0.5) * sx - 0.5, cyPx: (k.cyPx + 0.5) * sy - 0.5, width, height },
  };
}

/** World direction of pixel (u, v) with camera-frame z = 1: R_wc K^-1 [u, v, 1]. */
export function testRayDirection(camera: TestCamera, u: number, v: number): number[] {
  const k = camera.intrinsics;
  const x = (u - k.cxPx) / k.fxPx, y = (v - k.cyPx) / k.fyPx;
  const r = camera.rotation;
  return [r[0]! * x + r[1]! * y + r[2]!, r[3]! * x + r[4]! * y + r[5]!, r[6]! * x + r[7]! * y + r[8]!];
}

/** z-depth of pixel (u, v) where its ray meets the test plane. */
export function testPlaneDepth(camera: TestCamera, u: number, v: number): number {
  const d = testRayDirection(camera, u, v);
  const { normal, offset } = DA3_TEST_PLANE;
  const nd = normal[0]! * d[0]! + normal[1]! * d[1]! + normal[2]! * d[2]!;
  const nc = normal[0]! * camera.centre[0]! + normal[1]! * camera.centre[1]! + normal[2]! * camera.centre[2]!;
  return (offset - nc) / nd;
}

/** A confidence pattern in [1, 1.8] (DA3's expp1 activation keeps confidences above 1). */
export function testConfidence(view: number, u: number, v: number): number {
  return 1 + ((u * 7 + v * 3 + view) % 5) / 5;
}

export type Da3TestGraph =
  /** depth, depth_conf, ray [1,3,56,84,6] (DA3 layout: d then t), ray_conf. */
  | 'rays'
  /** depth, depth_conf, ray [1,3,6,28,42]: planar and at half resolution. */
  | 'raysPlanarHalf'
  /** depth, depth_conf, extrinsics [1,3,3,4] (cameraFromWorld), intrinsics [1,3,3,3]: no rays. */
  | 'cameras'
  /** depth only: breaks the contract (no rays, no cameras). */
  | 'depthOnly';

export const DA3_TEST_GRAPHS: readonly Da3TestGraph[] = ['rays', 'raysPlanarHalf', 'cameras', 'depthOnly'];

function planeStack(width: number, height: number, value: (view: number, u: number, v: number) => number): Float32Array {
  const out = new Float32Array(DA3_TEST_VIEWS * width * height);
  for (let k = 0; k < DA3_TEST_VIEWS; k++) {
    for (let v = 0; v < height; v++) for (let u = 0; u < width; u++) out[(k * height + v) * width + u] = value(k, u, v);
  }
  return out;
}

/** Rays of every view on a width x height grid, 'hwc' or 'chw', channels d (z-unit) then t. */
function rayStack(width: number, height: number, layout: 'hwc' | 'chw'): Float32Array {
  const plane = width * height;
  const out = new Float32Array(DA3_TEST_VIEWS * plane * 6);
  for (let k = 0; k < DA3_TEST_VIEWS; k++) {
    const camera = testCameraAt(DA3_TEST_CAMERAS[k]!, width, height);
    for (let v = 0; v < height; v++) {
      for (let u = 0; u < width; u++) {
        const values = [...testRayDirection(camera, u, v), ...camera.centre];
        const i = v * width + u;
        for (let c = 0; c < 6; c++) out[layout === 'hwc' ? (k * plane + i) * 6 + c : (k * 6 + c) * plane + i] = values[c]!;
      }
    }
  }
  return out;
}

function extrinsicsStack(): Float32Array {
  const out = new Float32Array(DA3_TEST_VIEWS * 12);
  DA3_TEST_CAMERAS.forEach((camera, k) => {
    const r = camera.rotation, c = camera.centre;
    // cameraFromWorld = [R^T | -R^T C].
    for (let row = 0; row < 3; row++) {
      let t = 0;
      for (let col = 0; col < 3; col++) {
        out[k * 12 + row * 4 + col] = r[col * 3 + row]!;
        t -= r[col * 3 + row]! * c[col]!;
      }
      out[k * 12 + row * 4 + 3] = t;
    }
  });
  return out;
}

function intrinsicsStack(): Float32Array {
  const out = new Float32Array(DA3_TEST_VIEWS * 9);
  DA3_TEST_CAMERAS.forEach((camera, k) => {
    const { fxPx, fyPx, cxPx, cyPx } = camera.intrinsics;
    out.set([fxPx, 0, cxPx, 0, fyPx, cyPx, 0, 0, 1], k * 9);
  });
  return out;
}

/** Builds one test graph: input 'image' [1, 3, 3, 56, 84] float32; constant outputs + 0 * mean(image). */
export function buildDa3MultiviewTestGraph(which: Da3TestGraph): Uint8Array {
  const g = new GraphBuilder({ graphName: `da3_multiview_${which}` });
  const W = DA3_TEST_WIDTH, H = DA3_TEST_HEIGHT, N = DA3_TEST_VIEWS;
  const image = g.input('image', 'float32', [1, N, 3, H, W]);
  const zero = g.op('Mul', [g.op('ReduceMean', [image], { keepdims: 0 }), g.constFloat([0], [], 'zero')]);
  const output = (name: string, dims: readonly number[], data: Float32Array): void => {
    g.output(g.op('Add', [g.constFloat(data, [1, ...dims], `${name}_value`), zero]), 'float32', [1, ...dims], name);
  };
  output('depth', [N, H, W], planeStack(W, H, (k, u, v) => testPlaneDepth(DA3_TEST_CAMERAS[k]!, u, v)));
  if (which === 'depthOnly') return g.toBytes();
  output('depth_conf', [N, H, W], planeStack(W, H, testConfidence));
  if (which === 'rays') {
    output('ray', [N, H, W, 6], rayStack(W, H, 'hwc'));
    output('ray_conf', [N, H, W], planeStack(W, H, testConfidence));
  } else if (which === 'raysPlanarHalf') {
    output('ray', [N, 6, H / 2, W / 2], rayStack(W / 2, H / 2, 'chw'));
  } else {
    output('extrinsics', [N, 3, 4], extrinsicsStack());
    output('intrinsics', [N, 3, 3], intrinsicsStack());
  }
  return g.toBytes();
}

async function writeIfChanged(file: string, bytes: Uint8Array): Promise<void> {
  const existing = await readFile(file).catch(() => undefined);
  if (existing !== undefined && existing.equals(bytes)) return;
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temp, bytes);
  await rename(temp, file);
}

/** Writes the test graphs (only missing or stale files) and returns their absolute paths. */
export async function ensureDa3MultiviewTestGraphs(dir: string = path.join(GENERATED_DIR, 'models')): Promise<Record<Da3TestGraph, string>> {
  const entries = await Promise.all(DA3_TEST_GRAPHS.map(async (which) => {
    const file = path.resolve(dir, `da3Multiview-${which}.onnx`);
    await writeIfChanged(file, buildDa3MultiviewTestGraph(which));
    return [which, file] as const;
  }));
  return Object.fromEntries(entries) as Record<Da3TestGraph, string>;
}
