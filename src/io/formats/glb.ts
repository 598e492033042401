/**
 * glb: a reconstruction as one binary glTF 2.0 file that any viewer opens: the coloured point cloud as a POINTS
 * primitive and, per registered view, its camera frustum as LINES (apex at the camera centre, four edges through
 * the image corners, and the rectangle joining them at a chosen depth).
 *
 * Axes: glTF is y up, -z forward (right-handed); the project works in OpenCV axes (y down, z forward). Every
 * position goes through `gltfFromOpenCv` (x, y, z) -> (x, -y, -z), a 180-degree turn about x, and nowhere else;
 * positions are stored already converted (nodes carry no transforms), so tools that ignore the node tree still see
 * the right geometry.
 *
 * Colours: glTF's COLOR_0 is linear, so sRGB bytes are linearised and stored as normalised uint16 (8-bit sRGB maps
 * to distinct 16-bit linear values, so the original bytes can be recovered exactly; 8-bit linear would band the
 * shadows).
 */
import { Document, NodeIO, type Mesh, type Node } from '@gltf-transform/core';
import type { Intrinsics } from '../../core/camera.ts';
import { InputError } from '../../core/errors.ts';
import type { Mat4 } from '../../core/mat4.ts';
import type { PointCloud } from '../../core/points.ts';
import { writeFileAtomic } from '../atomic-write.ts';

export interface GlbCamera {
  readonly name: string;
  readonly intrinsics: Intrinsics;
  /** Camera-to-world pose, OpenCV axes, row-major 4x4. */
  readonly worldFromCamera: Mat4;
}

export interface SceneGlbInput {
  /** Points in world coordinates (OpenCV axes), optional sRGB colours; points with NaN or infinite coordinates are left out. */
  readonly points: PointCloud;
  /** Registered views only (unregistered ones have no pose to draw). */
  readonly cameras: readonly GlbCamera[];
}

export interface SceneGlbOptions {
  /**
   * Distance from the apex to the frustum's image rectangle, in world units. Default: 5% of the diagonal of the
   * bounding box of the points and camera centres (1 when that box is a single point).
   */
  readonly frustumDepth?: number;
  /** sRGB colour of the frustum lines. Default orange (255, 140, 0). */
  readonly frustumColor?: readonly [number, number, number];
}

/** Node names in the written file, so readers (and tests) can find the parts. */
export const GLB_NODE_NAMES = Object.freeze({ points: 'points', cameras: 'cameras' });

/** The one place OpenCV axes become glTF axes: a 180-degree rotation about x, diag(1, -1, -1). */
export function gltfFromOpenCv(x: number, y: number, z: number): [number, number, number] {
  return [x, -y, -z];
}

/**
 * A frustum's five vertices in world coordinates, OpenCV axes: the camera centre, then the points at depth `depth`
 * (along the optical axis) seen through the outer corners of the image, clockwise from top-left. With pixel centres
 * at integers the image spans -0.5 .. width - 0.5.
 */
export function frustumVertices(camera: GlbCamera, depth: number): Float64Array {
  const k = camera.intrinsics;
  const m = camera.worldFromCamera;
  const corners = [[-0.5, -0.5], [k.width - 0.5, -0.5], [k.width - 0.5, k.height - 0.5], [-0.5, k.height - 0.5]] as const;
  const out = new Float64Array(15);
  const local = [[0, 0, 0], ...corners.map(([u, v]) => [((u - k.cxPx) / k.fxPx) * depth, ((v - k.cyPx) / k.fyPx) * depth, depth])];
  local.forEach(([x, y, z], i) => {
    for (let r = 0; r < 3; r++) out[i * 3 + r] = m[r * 4]! * x! + m[r * 4 + 1]! * y! + m[r * 4 + 2]! * z! + m[r * 4 + 3]!;
  });
  return out;
}

/** primitive.mode values from the glTF spec (gltf-transform's Primitive.Mode table is typed as possibly undefined). */
const GLTF_MODE_POINTS = 0;
const GLTF_MODE_LINES = 1;

/** Apex-to-corner edges, then the rectangle: 8 lines as vertex index pairs. */
const FRUSTUM_LINE_INDICES = Uint16Array.of(0, 1, 0, 2, 0, 3, 0, 4, 1, 2, 2, 3, 3, 4, 4, 1);

/** sRGB byte -> linear [0, 1] (the IEC 61966-2-1 curve). */
export function srgbByteToLinear(value: number): number {
  const c = value / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** Linear [0, 1] -> sRGB byte, the inverse of srgbByteToLinear (rounded). */
export function linearToSrgbByte(value: number): number {
  const c = value <= 0.0031308 ? value * 12.92 : 1.055 * value ** (1 / 2.4) - 0.055;
  return Math.min(255, Math.max(0, Math.round(c * 255)));
}

/** Builds the GLB (see the module comment). */
export async function encodeSceneGlb(input: SceneGlbInput, options: SceneGlbOptions = {}): Promise<Uint8Array> {
  const { points, cameras } = input;
  if (points.positions.length !== points.numPoints * 3) throw new InputError('PointCloud positions do not match numPoints.');
  const depth = options.frustumDepth ?? defaultFrustumDepth(points, cameras);
  if (!(depth > 0 && Number.isFinite(depth))) throw new InputError(`frustum depth ${depth} must be a positive number.`);
  const frustumColor = options.frustumColor ?? [255, 140, 0];

  const document = new Document();
  document.getRoot().getAsset().generator = 'AnyView';
  const buffer = document.createBuffer();
  const scene = document.createScene('anyview');

  const finite = finitePoints(points);
  if (finite.count > 0) {
    const primitive = document.createPrimitive().setMode(GLTF_MODE_POINTS)
      .setAttribute('POSITION', document.createAccessor('positions').setType('VEC3').setArray(finite.positions).setBuffer(buffer));
    if (finite.colors !== undefined) {
      primitive.setAttribute('COLOR_0', document.createAccessor('colors').setType('VEC4').setArray(finite.colors)
        .setNormalized(true).setBuffer(buffer));
    }
    const mesh = document.createMesh(GLB_NODE_NAMES.points).addPrimitive(primitive);
    scene.addChild(document.createNode(GLB_NODE_NAMES.points).setMesh(mesh));
  }

  if (cameras.length > 0) {
    const material = document.createMaterial('frustum')
      .setBaseColorFactor([...frustumColor.map(srgbByteToLinear), 1] as [number, number, number, number]);
    const indices = document.createAccessor('frustum-lines').setType('SCALAR').setArray(FRUSTUM_LINE_INDICES).setBuffer(buffer);
    const group: Node = document.createNode(GLB_NODE_NAMES.cameras);
    for (const camera of cameras) {
      const world = frustumVertices(camera, depth);
      const positions = new Float32Array(15);
      for (let v = 0; v < 5; v++) positions.set(gltfFromOpenCv(world[v * 3]!, world[v * 3 + 1]!, world[v * 3 + 2]!), v * 3);
      const primitive = document.createPrimitive().setMode(GLTF_MODE_LINES).setMaterial(material).setIndices(indices)
        .setAttribute('POSITION', document.createAccessor(`${camera.name} frustum`).setType('VEC3').setArray(positions).setBuffer(buffer));
      const mesh: Mesh = document.createMesh(camera.name).addPrimitive(primitive);
      group.addChild(document.createNode(camera.name).setMesh(mesh));
    }
    scene.addChild(group);
  }
  document.getRoot().setDefaultScene(scene);
  return new NodeIO().writeBinary(document);
}

export async function writeSceneGlb(filePath: string, input: SceneGlbInput, options: SceneGlbOptions = {}): Promise<void> {
  await writeFileAtomic(filePath, await encodeSceneGlb(input, options));
}

/**
 * Positions in glTF axes and linear RGBA colours of the points with finite coordinates (glTF forbids NaN and
 * infinity in accessors; point maps mark invalid pixels with NaN).
 */
function finitePoints(points: PointCloud): { count: number; positions: Float32Array; colors?: Uint16Array } {
  const p = points.positions, rgb = points.colors;
  const table = new Uint16Array(256);
  for (let v = 0; v < 256; v++) table[v] = Math.round(srgbByteToLinear(v) * 65535);
  const positions = new Float32Array(points.numPoints * 3);
  const colors = rgb !== undefined ? new Uint16Array(points.numPoints * 4) : undefined;
  let count = 0;
  for (let i = 0; i < points.numPoints; i++) {
    const x = p[i * 3]!, y = p[i * 3 + 1]!, z = p[i * 3 + 2]!;
    if (!(Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(z))) continue;
    positions.set(gltfFromOpenCv(x, y, z), count * 3);
    if (colors !== undefined) {
      colors[count * 4] = table[rgb![i * 3]!]!;
      colors[count * 4 + 1] = table[rgb![i * 3 + 1]!]!;
      colors[count * 4 + 2] = table[rgb![i * 3 + 2]!]!;
      colors[count * 4 + 3] = 65535;
    }
    count++;
  }
  return {
    count,
    positions: count === points.numPoints ? positions : positions.slice(0, count * 3),
    ...(colors !== undefined ? { colors: count === points.numPoints ? colors : colors.slice(0, count * 4) } : {}),
  };
}

function defaultFrustumDepth(points: PointCloud, cameras: readonly GlbCamera[]): number {
  const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
  const add = (x: number, y: number, z: number): void => {
    if (!(Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(z))) return;
    min[0] = Math.min(min[0]!, x); min[1] = Math.min(min[1]!, y); min[2] = Math.min(min[2]!, z);
    max[0] = Math.max(max[0]!, x); max[1] = Math.max(max[1]!, y); max[2] = Math.max(max[2]!, z);
  };
  const p = points.positions;
  for (let i = 0; i < points.numPoints; i++) add(p[i * 3]!, p[i * 3 + 1]!, p[i * 3 + 2]!);
  for (const c of cameras) add(c.worldFromCamera[3]!, c.worldFromCamera[7]!, c.worldFromCamera[11]!);
  const diagonal = Math.hypot(max[0]! - min[0]!, max[1]! - min[1]!, max[2]! - min[2]!);
  return Number.isFinite(diagonal) && diagonal > 0 ? 0.05 * diagonal : 1;
}
