/**
 * splat-glb: binary glTF with the ratified KHR_gaussian_splatting extension: one POINTS primitive with
 * POSITION, KHR_gaussian_splatting:ROTATION (x y z w), :SCALE (linear), :OPACITY (activated),
 * :SH_DEGREE_0_COEF_0 (the DC coefficient) and a COLOR_0 fallback.
 *
 * Axes: glTF is right-handed, +Y up, +Z forward, so +X is left (LUF). Our RDF set is turned 180 degrees about z
 * on the way out: (x, y, z) -> (-x, -y, z), q -> q_z(180) * q; the reader turns it back. Semantics are not
 * stored.
 *
 * Writing is @playcanvas/splat-transform's writeGlb (which performs that turn from its PLY space to glTF
 * space); reading uses @gltf-transform/core to parse the container and reads the attributes above.
 */
import { Logger, WebIO, type Accessor, type Primitive } from '@gltf-transform/core';
import { loadSplatTransform } from './splat-transform-lib.ts';
import { FormatError, InputError } from '../../core/errors.ts';
import { createGaussianSet, SH_C0, type GaussianSet } from '../../core/gaussians.ts';
import { dataTableFromGaussians, writeUnitQuaternion } from './splat-table.ts';

const EXT = 'KHR_gaussian_splatting';

export async function encodeSplatGlb(set: GaussianSet): Promise<Uint8Array> {
  const lib = await loadSplatTransform();
  const fs = new lib.MemoryFileSystem();
  await lib.writeGlb({ filename: 'splat.glb', dataTable: dataTableFromGaussians(lib, set) }, fs);
  const bytes = fs.results.get('splat.glb');
  if (bytes === undefined) throw new InputError('splat-transform wrote no GLB.');
  return bytes;
}

/** Float values of an accessor, denormalising normalised integer storage (as KHR_mesh_quantization allows). */
function floats(accessor: Accessor): Float32Array {
  const array = accessor.getArray();
  if (array instanceof Float32Array && !accessor.getNormalized()) return array;
  const width = accessor.getElementSize();
  const out = new Float32Array(accessor.getCount() * width);
  const element: number[] = [];
  for (let i = 0; i < accessor.getCount(); i++) {
    accessor.getElement(i, element);
    for (let k = 0; k < width; k++) out[i * width + k] = element[k]!;
  }
  return out;
}

export async function decodeSplatGlb(bytes: Uint8Array, name = 'splat.glb'): Promise<GaussianSet> {
  if (bytes.length < 12 || bytes[0] !== 0x67 || bytes[1] !== 0x6c || bytes[2] !== 0x54 || bytes[3] !== 0x46) {
    throw new FormatError('not a GLB file (no "glTF" magic).', { file: name, byteOffset: 0 });
  }
  const declared = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(8, true);
  if (declared > bytes.length) throw new FormatError(`truncated GLB: the header says ${declared} bytes, the file has ${bytes.length}.`, { file: name, byteOffset: bytes.length });
  let primitives: Primitive[];
  try {
    const io = new WebIO().setLogger(new Logger(Logger.Verbosity.SILENT));
    const doc = await io.readBinary(bytes);
    const nodes = doc.getRoot().listNodes().filter((node) => node.getMesh() !== null);
    for (const node of nodes) {
      const m = node.getWorldMatrix();
      if (m.some((v, i) => Math.abs(v - (i % 5 === 0 ? 1 : 0)) > 1e-9)) {
        throw new FormatError(`node "${node.getName()}" has a transform; only splats at the scene origin are supported.`, { file: name });
      }
    }
    primitives = nodes.flatMap((node) => node.getMesh()!.listPrimitives()).filter((p) => p.getAttribute(`${EXT}:SCALE`) !== null);
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw new FormatError(`cannot parse GLB: ${error instanceof Error ? error.message : String(error)}.`, { file: name, cause: error });
  }
  if (primitives.length !== 1) throw new FormatError(`expected one ${EXT} primitive, found ${primitives.length}.`, { file: name });
  const prim = primitives[0]!;
  const attribute = (semantic: string): Float32Array | undefined => {
    const accessor = prim.getAttribute(semantic);
    return accessor === null ? undefined : floats(accessor);
  };
  const need = (semantic: string): Float32Array => {
    const a = attribute(semantic);
    if (a === undefined) throw new FormatError(`the ${EXT} primitive lacks ${semantic}.`, { file: name });
    return a;
  };
  const p = need('POSITION'), r = need(`${EXT}:ROTATION`), s = need(`${EXT}:SCALE`), o = need(`${EXT}:OPACITY`);
  const n = p.length / 3;
  const dc = attribute(`${EXT}:SH_DEGREE_0_COEF_0`);
  const fallback = dc === undefined ? need('COLOR_0') : undefined;
  const colorWidth = fallback !== undefined ? fallback.length / n : 3;
  for (const [label, a, width] of [['ROTATION', r, 4], ['SCALE', s, 3], ['OPACITY', o, 1], ['colour', dc ?? fallback!, colorWidth]] as const) {
    if (a.length !== n * width) throw new FormatError(`${label} has ${a.length / width} elements, POSITION ${n}.`, { file: name });
  }
  const positions = new Float32Array(n * 3);
  const rotations = new Float32Array(n * 4);
  const colors = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    // LUF -> RDF: a 180-degree turn about z, for points and (by q_z(180) * q) for orientations.
    positions[i * 3] = -p[i * 3]!; positions[i * 3 + 1] = -p[i * 3 + 1]!; positions[i * 3 + 2] = p[i * 3 + 2]!;
    const x = r[i * 4]!, y = r[i * 4 + 1]!, z = r[i * 4 + 2]!, w = r[i * 4 + 3]!;
    writeUnitQuaternion(rotations, i, -z, -y, x, w);
    for (let k = 0; k < 3; k++) colors[i * 3 + k] = dc !== undefined ? 0.5 + SH_C0 * dc[i * 3 + k]! : fallback![i * colorWidth + k]!;
  }
  return createGaussianSet({ count: n, frame: 'world', positions, scales: new Float32Array(s), rotations, opacities: new Float32Array(o), colors });
}
