/**
 * The splat formats (src/io/formats/splat-*.ts) against independent readers and writers:
 * - PLY: numpy (Debian python3) parses our files with its own header code and structured dtype, and writes a
 *   big-endian file with the properties shuffled and f_rest_* present, which our reader must read;
 *   splat-transform's PLY reader reads our files too.
 * - SPZ: written by @adobe/spz (Niantic's C++ in WASM), read back by splat-transform's pure-JS SPZ decoder.
 * - GLB: the Khronos glTF-Validator, and @gltf-transform/core for the attribute values.
 * - .splat: the 32-byte records decoded here with a DataView.
 * Axes are checked on the raw stored values (RDF for PLY/.splat, RUB for SPZ, LUF for glTF) and orientations by
 * covariance (q and -q are the same rotation).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebIO, Logger } from '@gltf-transform/core';
import { createChunkDataPool, materializeToDataTable, MemoryReadFileSystem, readFile, type InputFormat } from '@playcanvas/splat-transform';
import { FormatError } from '../../src/core/errors.ts';
import { createGaussianSet, SH_C0, UNLABELED, type GaussianSet } from '../../src/core/gaussians.ts';
import { rotationFromQuaternion } from '../../src/core/quaternion.ts';
import { decodeSplatPly, encodeSplatPly } from '../../src/io/formats/splat-ply.ts';
import { decodeSplatSpz, encodeSplatSpz } from '../../src/io/formats/splat-spz.ts';
import { decodeSplatGlb, encodeSplatGlb } from '../../src/io/formats/splat-glb.ts';
import { decodeSplatDotsplat, encodeSplatDotsplat } from '../../src/io/formats/splat-dotsplat.ts';
import { decodeSplatFile, detectSplatFormat, getSplatFormat, SPLAT_FORMATS } from '../../src/io/formats/splat-formats.ts';
import { noise } from '../helpers/noise.ts';

interface ValidatorReport {
  readonly issues: { numErrors: number; numWarnings: number; messages: { code: string; message: string; severity: number; pointer?: string }[] };
  readonly info: { totalVertexCount: number };
}
const validator = createRequire(import.meta.url)('gltf-validator') as { validateBytes(b: Uint8Array, o?: object): Promise<ValidatorReport> };

/** n Gaussians: positions in +-8, scales e^-5..e^-1, uniformly random unit quaternions, opacity 0.05..0.95, colours 0..1. */
function makeSet(n: number, seed = 7): GaussianSet {
  const r = noise(n * 14, seed);
  const positions = new Float32Array(n * 3), scales = new Float32Array(n * 3), rotations = new Float32Array(n * 4);
  const opacities = new Float32Array(n), colors = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const u = (k: number): number => r[i * 14 + k]!;
    for (let k = 0; k < 3; k++) {
      positions[i * 3 + k] = (u(k) - 0.5) * 16;
      scales[i * 3 + k] = Math.exp(-5 + 4 * u(3 + k));
      colors[i * 3 + k] = u(6 + k);
    }
    opacities[i] = 0.05 + 0.9 * u(9);
    // Shoemake's uniform random rotation.
    const a = u(10), b = 2 * Math.PI * u(11), c = 2 * Math.PI * u(12);
    rotations.set([Math.sqrt(a) * Math.cos(c), Math.sqrt(1 - a) * Math.sin(b), Math.sqrt(1 - a) * Math.cos(b), Math.sqrt(a) * Math.sin(c)], i * 4);
  }
  return createGaussianSet({ count: n, frame: 'world', positions, scales, rotations, opacities, colors });
}

/** Covariance R diag(s^2) R^T (row-major 3x3) of Gaussian i, from a quaternion (w, x, y, z) and linear scales. */
function covariance(q: ArrayLike<number>, s: ArrayLike<number>): number[] {
  const R = rotationFromQuaternion(q);
  const out: number[] = [];
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
    let sum = 0;
    for (let k = 0; k < 3; k++) sum += R[a * 3 + k]! * R[b * 3 + k]! * s[k]! ** 2;
    out.push(sum);
  }
  return out;
}
const covOf = (set: GaussianSet, i: number): number[] => covariance(set.rotations.subarray(i * 4, i * 4 + 4), set.scales.subarray(i * 3, i * 3 + 3));
/** The covariance seen in axes flipped by diag(f): F S F. */
const flipCov = (c: number[], f: readonly number[]): number[] => c.map((v, k) => v * f[Math.floor(k / 3)]! * f[k % 3]!);
/** Relative Frobenius distance. */
function relDiff(a: readonly number[], b: readonly number[]): number {
  let d = 0, n = 0;
  for (let k = 0; k < a.length; k++) { d += (a[k]! - b[k]!) ** 2; n += b[k]! ** 2; }
  return Math.sqrt(d / n);
}

interface Errors { position: number; scaleRel: number; opacity: number; color: number; covRel: number }
/** Largest errors of `got` against `want`, Gaussian by Gaussian. */
function compare(got: GaussianSet, want: GaussianSet): Errors {
  assert.equal(got.count, want.count);
  const e: Errors = { position: 0, scaleRel: 0, opacity: 0, color: 0, covRel: 0 };
  for (let i = 0; i < want.count; i++) {
    for (let k = 0; k < 3; k++) {
      e.position = Math.max(e.position, Math.abs(got.positions[i * 3 + k]! - want.positions[i * 3 + k]!));
      e.scaleRel = Math.max(e.scaleRel, Math.abs(got.scales[i * 3 + k]! / want.scales[i * 3 + k]! - 1));
      e.color = Math.max(e.color, Math.abs(got.colors[i * 3 + k]! - want.colors[i * 3 + k]!));
    }
    e.opacity = Math.max(e.opacity, Math.abs(got.opacities[i]! - want.opacities[i]!));
    e.covRel = Math.max(e.covRel, relDiff(covOf(got, i), covOf(want, i)));
  }
  return e;
}
const fmt = (e: Errors): string => Object.entries(e).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ');

/** One Gaussian at +x, +y (down), +z (forward), elongated along x and turned 30 degrees about z. */
function probe(): GaussianSet {
  const h = Math.PI / 12;
  return createGaussianSet({
    count: 1, frame: 'world', positions: Float32Array.of(1, 2, 3), scales: Float32Array.of(0.5, 0.1, 0.02),
    rotations: Float32Array.of(Math.cos(h), 0, 0, Math.sin(h)), opacities: Float32Array.of(0.8), colors: Float32Array.of(0.9, 0.5, 0.1),
  });
}

async function readWithSplatTransform(bytes: Uint8Array, inputFormat: InputFormat) {
  const fileSystem = new MemoryReadFileSystem();
  fileSystem.set(`in.${inputFormat}`, bytes);
  const [source] = await readFile({ filename: `in.${inputFormat}`, inputFormat, fileSystem });
  const pool = createChunkDataPool({ chunkSize: 1 << 16 });
  const table = await materializeToDataTable(source!, pool);
  source!.close();
  const col = (name: string): Float32Array => table.getColumnByName(name)!.data as Float32Array;
  return { table, col };
}

function python(script: string, args: string[]): string {
  const run = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

/** numpy's reading of a binary PLY: its own header parse and a structured dtype; prints the vertex columns as JSON. */
const NUMPY_READ_PLY = String.raw`
import sys, json, numpy as np
data = open(sys.argv[1], 'rb').read()
end = data.index(b'end_header\n') + len(b'end_header\n')
lines = data[:end].decode('latin1').splitlines()
fmt = [l.split()[1] for l in lines if l.startswith('format ')][0]
order = '<' if fmt == 'binary_little_endian' else '>'
types = {'float': 'f4', 'double': 'f8', 'uchar': 'u1', 'ushort': 'u2', 'int': 'i4', 'uint': 'u4'}
count = [int(l.split()[2]) for l in lines if l.startswith('element vertex')][0]
props = [(l.split()[2], order + types[l.split()[1]]) for l in lines if l.startswith('property ')]
v = np.frombuffer(data, dtype=np.dtype(props), count=count, offset=end)
print(json.dumps({'comments': [l[8:] for l in lines if l.startswith('comment ')], 'names': [p[0] for p in props],
                  'columns': {name: v[name].astype(float).tolist() for name, _ in props}}))
`;

test('PLY: exact round trip with semantics; numpy reads the INRIA layout and the stored activations', async (t) => {
  const base = makeSet(2000);
  const labels = new Uint16Array(base.count).map((_, i) => (i % 7 === 6 ? UNLABELED : i % 3));
  const set = createGaussianSet({ ...base, semantics: { labels, classNames: ['background', 'chair, "red"', 'person'] } });
  const bytes = await encodeSplatPly(set);
  const back = decodeSplatPly(bytes, 'a.ply');
  const e = compare(back, set);
  t.diagnostic(`PLY round trip (${set.count} Gaussians, ${bytes.length} bytes): ${fmt(e)}`);
  assert.equal(e.position, 0);
  assert.ok(e.scaleRel < 1e-6 && e.opacity < 2e-6 && e.color < 1e-6 && e.covRel < 1e-5, fmt(e));
  assert.deepEqual(back.semantics?.classNames, set.semantics!.classNames);
  assert.deepEqual(back.semantics?.labels, labels);

  const dir = mkdtempSync(path.join(tmpdir(), 'splat-ply-'));
  try {
    const file = path.join(dir, 'a.ply');
    writeFileSync(file, bytes);
    const np = JSON.parse(python(NUMPY_READ_PLY, [file])) as { comments: string[]; names: string[]; columns: Record<string, number[]> };
    assert.deepEqual(np.names, ['x', 'y', 'z', 'nx', 'ny', 'nz', 'f_dc_0', 'f_dc_1', 'f_dc_2', 'opacity',
      'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3', 'label']);
    let worst = 0;
    for (let i = 0; i < set.count; i++) {
      const c = (name: string): number => np.columns[name]![i]!;
      const a = set.opacities[i]!;
      const expected: [string, number][] = [
        ['x', set.positions[i * 3]!], ['y', set.positions[i * 3 + 1]!], ['z', set.positions[i * 3 + 2]!],
        ['scale_0', Math.log(set.scales[i * 3]!)], ['scale_2', Math.log(set.scales[i * 3 + 2]!)], ['opacity', Math.log(a / (1 - a))],
        ['f_dc_1', (set.colors[i * 3 + 1]! - 0.5) / SH_C0], ['rot_0', set.rotations[i * 4]!], ['rot_3', set.rotations[i * 4 + 3]!],
      ];
      for (const [name, value] of expected) worst = Math.max(worst, Math.abs(c(name) - value));
      assert.equal(c('label'), labels[i]);
    }
    t.diagnostic(`numpy vs the set's stored values: max |diff| ${worst.toExponential(2)}`);
    assert.ok(worst < 1e-5);
    assert.ok(np.comments.some((c) => c.startsWith('anyview classes ["background"')), np.comments.join(' | '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // splat-transform's PLY reader agrees (raw PLY space, the label as an extra column).
  const st = await readWithSplatTransform(bytes, 'ply');
  assert.equal(st.table.numRows, set.count);
  assert.equal(st.col('y')[5], set.positions[5 * 3 + 1]);
  assert.deepEqual(Array.from(st.table.getColumnByName('label')!.data), Array.from(labels));
});

test('PLY: our reader reads a numpy-written big-endian file with shuffled properties, doubles and f_rest', async () => {
  const set = makeSet(300, 11);
  const dir = mkdtempSync(path.join(tmpdir(), 'splat-ply-'));
  try {
    const input = path.join(dir, 'in.json');
    const file = path.join(dir, 'np.ply');
    const cols: Record<string, number[]> = { x: [], y: [], z: [], opacity: [], f_dc_0: [], f_dc_1: [], f_dc_2: [], scale_0: [], scale_1: [], scale_2: [], rot_0: [], rot_1: [], rot_2: [], rot_3: [] };
    for (let i = 0; i < set.count; i++) {
      // Un-normalised quaternions (x2.5) as training writes them: the reader must normalise.
      ['x', 'y', 'z'].forEach((k, j) => cols[k]!.push(set.positions[i * 3 + j]!));
      ['rot_0', 'rot_1', 'rot_2', 'rot_3'].forEach((k, j) => cols[k]!.push(2.5 * set.rotations[i * 4 + j]!));
      [0, 1, 2].forEach((j) => { cols[`scale_${j}`]!.push(Math.log(set.scales[i * 3 + j]!)); cols[`f_dc_${j}`]!.push((set.colors[i * 3 + j]! - 0.5) / SH_C0); });
      cols.opacity!.push(Math.log(set.opacities[i]! / (1 - set.opacities[i]!)));
    }
    writeFileSync(input, JSON.stringify(cols));
    python(String.raw`
import sys, json, numpy as np
cols = json.load(open(sys.argv[1]))
n = len(cols['x'])
names = ['rot_3', 'f_dc_2', 'x', 'scale_1', 'opacity', 'rot_0', 'y', 'f_dc_0', 'scale_0', 'rot_1', 'z', 'scale_2', 'f_dc_1', 'rot_2'] + ['f_rest_%d' % k for k in range(45)]
dtype = np.dtype([(name, '>f8' if name in ('x', 'y', 'z') else '>f4') for name in names])
v = np.zeros(n, dtype=dtype)
for name in cols: v[name] = cols[name]
for k in range(45): v['f_rest_%d' % k] = 0.01 * k
header = 'ply\nformat binary_big_endian 1.0\ncomment written by numpy\nelement vertex %d\n' % n
header += ''.join('property %s %s\n' % ('double' if name in ('x', 'y', 'z') else 'float', name) for name in names) + 'end_header\n'
open(sys.argv[2], 'wb').write(header.encode('ascii') + v.tobytes())
`, [input, file]);
    const back = decodeSplatPly(readFileSync(file), file);
    const e = compare(back, set);
    assert.ok(e.position < 1e-6 && e.scaleRel < 1e-6 && e.opacity < 2e-6 && e.color < 1e-6 && e.covRel < 1e-5, fmt(e));
    assert.equal(back.semantics, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SPZ: our file read by splat-transform\'s own decoder stores RUB; round trip within the quantisation', async (t) => {
  const set = makeSet(5000);
  const bytes = await encodeSplatSpz(set);
  const back = await decodeSplatSpz(bytes, 'a.spz');
  const e = compare(back, set);
  t.diagnostic(`SPZ round trip (${set.count} Gaussians, ${bytes.length} bytes = ${(bytes.length / set.count).toFixed(1)} B/Gaussian): ${fmt(e)}`);
  // 12 fractional bits -> 1/8192 max position error; 8-bit log scale (1/16) -> 3.2%; opacity and colour 8 bits.
  assert.ok(e.position <= 1 / 8192 + 1e-6, fmt(e));
  assert.ok(e.scaleRel < 0.035 && e.opacity < 0.003 && e.color < 0.01 && e.covRel < 0.08, fmt(e));

  // Independent decoder (pure JS, fzstd) on the same bytes: raw values are RUB = (x, -y, -z).
  const st = await readWithSplatTransform(bytes, 'spz');
  let worstPos = 0, worstCov = 0;
  for (let i = 0; i < set.count; i++) {
    const p = set.positions;
    worstPos = Math.max(worstPos, Math.abs(st.col('x')[i]! - p[i * 3]!), Math.abs(st.col('y')[i]! + p[i * 3 + 1]!), Math.abs(st.col('z')[i]! + p[i * 3 + 2]!));
    const q = [st.col('rot_0')[i]!, st.col('rot_1')[i]!, st.col('rot_2')[i]!, st.col('rot_3')[i]!];
    const s = [Math.exp(st.col('scale_0')[i]!), Math.exp(st.col('scale_1')[i]!), Math.exp(st.col('scale_2')[i]!)];
    worstCov = Math.max(worstCov, relDiff(covariance(q, s), flipCov(covOf(set, i), [1, -1, -1])));
    // Our decoder and splat-transform's agree on the same file.
    assert.ok(Math.abs(back.positions[i * 3 + 1]! + st.col('y')[i]!) < 1e-6);
  }
  t.diagnostic(`splat-transform's SPZ decoder vs RUB-flipped input: position ${worstPos.toExponential(2)}, covariance rel ${worstCov.toExponential(2)}`);
  assert.ok(worstPos <= 1 / 8192 + 1e-6 && worstCov < 0.08);
});

test('GLB: glTF-Validator finds no errors beyond not knowing the extension; gltf-transform reads glTF axes (LUF) and activated values', async (t) => {
  const set = makeSet(3000);
  const bytes = await encodeSplatGlb(set);
  const report = await validator.validateBytes(bytes, { maxIssues: 50 });
  const listing = report.issues.messages.map((m) => `[${m.severity}] ${m.code} ${m.pointer ?? ''}: ${m.message}`).join('\n');
  t.diagnostic(`glTF-Validator: ${report.issues.numErrors} errors, ${report.issues.numWarnings} warnings${listing ? `\n${listing}` : ''}`);
  // The newest glTF-Validator (2.0.0-dev.3.10) predates the ratified extension: it reports it as unsupported (info)
  // and its attribute names as invalid. Everything else must be clean.
  const unexpected = report.issues.messages.filter((m) => m.severity <= 1 && !(m.code === 'MESH_PRIMITIVE_INVALID_ATTRIBUTE' &&
    /^\/meshes\/0\/primitives\/0\/attributes\/KHR_gaussian_splatting:(ROTATION|SCALE|OPACITY|SH_DEGREE_0_COEF_0)$/.test(m.pointer ?? '')));
  assert.deepEqual(unexpected, [], listing);
  assert.equal(report.info.totalVertexCount, set.count);
  // What the validator cannot check, from the JSON chunk: POINTS mode, the extension object, accessor types.
  const jsonLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
  const gltf = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + jsonLength))) as {
    extensionsUsed: string[]; accessors: { type: string; componentType: number }[];
    meshes: { primitives: { mode: number; attributes: Record<string, number>; extensions: Record<string, { kernel: string }> }[] }[];
  };
  const primitive = gltf.meshes[0]!.primitives[0]!;
  assert.ok(gltf.extensionsUsed.includes('KHR_gaussian_splatting'));
  assert.equal(primitive.mode, 0);
  assert.equal(primitive.extensions.KHR_gaussian_splatting?.kernel, 'ellipse');
  for (const [name, type] of [['POSITION', 'VEC3'], ['KHR_gaussian_splatting:ROTATION', 'VEC4'], ['KHR_gaussian_splatting:SCALE', 'VEC3'],
    ['KHR_gaussian_splatting:OPACITY', 'SCALAR'], ['KHR_gaussian_splatting:SH_DEGREE_0_COEF_0', 'VEC3']] as const) {
    assert.deepEqual(gltf.accessors[primitive.attributes[name]!], { ...gltf.accessors[primitive.attributes[name]!], type, componentType: 5126 }, name);
  }

  const doc = await new WebIO().setLogger(new Logger(Logger.Verbosity.SILENT)).readBinary(bytes);
  const prim = doc.getRoot().listMeshes()[0]!.listPrimitives()[0]!;
  const attr = (s: string): Float32Array => prim.getAttribute(s)!.getArray() as Float32Array;
  const pos = attr('POSITION'), rot = attr('KHR_gaussian_splatting:ROTATION'), scale = attr('KHR_gaussian_splatting:SCALE');
  const op = attr('KHR_gaussian_splatting:OPACITY'), dc = attr('KHR_gaussian_splatting:SH_DEGREE_0_COEF_0');
  let worstCov = 0;
  for (let i = 0; i < set.count; i++) {
    assert.deepEqual([pos[i * 3], pos[i * 3 + 1], pos[i * 3 + 2]].map((v) => Math.fround(v!)), [-set.positions[i * 3]!, -set.positions[i * 3 + 1]!, set.positions[i * 3 + 2]!]);
    const q = [rot[i * 4 + 3]!, rot[i * 4]!, rot[i * 4 + 1]!, rot[i * 4 + 2]!]; // glTF stores x y z w
    worstCov = Math.max(worstCov, relDiff(covariance(q, scale.subarray(i * 3, i * 3 + 3)), flipCov(covOf(set, i), [-1, -1, 1])));
    assert.ok(Math.abs(op[i]! - set.opacities[i]!) < 2e-6);
    assert.ok(Math.abs(0.5 + SH_C0 * dc[i * 3]! - set.colors[i * 3]!) < 1e-6);
  }
  t.diagnostic(`gltf-transform covariance vs LUF-turned input: rel ${worstCov.toExponential(2)}`);
  assert.ok(worstCov < 1e-5);
  const e = compare(await decodeSplatGlb(bytes, 'a.glb'), set);
  t.diagnostic(`GLB round trip: ${fmt(e)}`);
  assert.ok(e.position === 0 && e.scaleRel < 1e-5 && e.opacity < 2e-6 && e.color < 1e-6 && e.covRel < 1e-5, fmt(e));
});

test('.splat: 32-byte records decoded with a DataView; round trip within 8-bit colour and rotation', async (t) => {
  const set = makeSet(4000);
  const bytes = await encodeSplatDotsplat(set);
  assert.equal(bytes.length, set.count * 32);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (const i of [0, 17, 3999]) {
    const o = i * 32;
    assert.deepEqual([view.getFloat32(o, true), view.getFloat32(o + 4, true), view.getFloat32(o + 8, true)], Array.from(set.positions.subarray(i * 3, i * 3 + 3)));
    assert.ok(Math.abs(view.getFloat32(o + 12, true) / set.scales[i * 3]! - 1) < 1e-6);
    assert.ok(Math.abs(view.getUint8(o + 27) / 255 - set.opacities[i]!) <= 1 / 255 + 1e-6);
    const q = [0, 1, 2, 3].map((k) => (view.getUint8(o + 28 + k) - 128) / 128);
    assert.ok(relDiff(covariance(q, set.scales.subarray(i * 3, i * 3 + 3)), covOf(set, i)) < 0.06);
  }
  const e = compare(await decodeSplatDotsplat(bytes, 'a.splat'), set);
  t.diagnostic(`.splat round trip (${set.count} Gaussians): ${fmt(e)}`);
  assert.ok(e.position === 0 && e.scaleRel < 1e-6 && e.opacity <= 1 / 255 + 1e-6 && e.color <= 1 / 255 + 1e-6 && e.covRel < 0.06, fmt(e));
});

test('every format keeps a Gaussian at +x, +y (down), +z (forward) in place with its orientation', async () => {
  const set = probe();
  for (const format of SPLAT_FORMATS) {
    const bytes = await format.encode(set);
    assert.equal(detectSplatFormat(bytes, `probe${format.extension}`).id, format.id);
    const back = await decodeSplatFile(bytes, `probe${format.extension}`);
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(back.positions[k]! - set.positions[k]!) < 1e-3, `${format.id}: axis ${k} ${back.positions[k]}`);
    assert.ok(relDiff(covOf(back, 0), covOf(set, 0)) < (format.id === 'ply' || format.id === 'glb' ? 1e-6 : 0.08), format.id);
    // Semantics survive only where the table says so.
    const labelled = createGaussianSet({ ...set, semantics: { labels: Uint16Array.of(1), classNames: ['a', 'b'] } });
    const again = await format.decode(await format.encode(labelled), 'x');
    assert.equal(again.semantics !== undefined, format.keepsSemantics, format.id);
  }
});

test('format table: magic first, extension second, unknown input lists the formats', async () => {
  assert.deepEqual(SPLAT_FORMATS.map((f) => f.id), ['ply', 'spz', 'glb', 'splat']);
  assert.equal(getSplatFormat('glb').axes, 'LUF');
  assert.throws(() => getSplatFormat('ksplat'), /Use one of: ply, spz, glb, splat/);
  const ply = await encodeSplatPly(probe());
  assert.equal(detectSplatFormat(ply, 'misnamed.splat').id, 'ply');
  assert.equal(detectSplatFormat(new Uint8Array(64), 'x.splat').id, 'splat');
  assert.throws(() => detectSplatFormat(new Uint8Array(64), 'x.bin'), (e: unknown) => e instanceof FormatError && /x\.bin.*ply \.ply, spz \.spz/.test(e.message));
});

/** FormatError whose message names the file and matches `problem`. */
const formatError = (file: string, problem: RegExp) => (e: unknown): boolean =>
  e instanceof FormatError && e.message.includes(file) && problem.test(e.message);

test('bad PLY: truncated, billions of vertices announced, malformed header, missing properties', async () => {
  const bytes = await encodeSplatPly(makeSet(50));
  assert.throws(() => decodeSplatPly(bytes.subarray(0, bytes.length - 10), 'cut.ply'), formatError('cut.ply', /truncated PLY: .*50 vertices/));
  const text = new TextDecoder('latin1').decode(bytes);
  const huge = new Uint8Array(Buffer.from(text.replace('element vertex 50', 'element vertex 3000000000'), 'latin1'));
  const start = performance.now();
  assert.throws(() => decodeSplatPly(huge, 'huge.ply'), formatError('huge.ply', /3000000000 vertices/));
  assert.ok(performance.now() - start < 100, 'rejected before allocating');
  assert.throws(() => decodeSplatPly(bytes.subarray(0, 100), 'head.ply'), formatError('head.ply', /no end_header/));
  const noScale = new Uint8Array(Buffer.from(text.replace('property float scale_2', 'property float scale_9'), 'latin1'));
  assert.throws(() => decodeSplatPly(noScale, 'ns.ply'), formatError('ns.ply', /lacks the "scale_2" property/));
  const ascii = new Uint8Array(Buffer.from('ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n0\n', 'latin1'));
  assert.throws(() => decodeSplatPly(ascii, 'a.ply'), formatError('a.ply', /ascii PLY is not supported/));
  assert.throws(() => decodeSplatPly(new Uint8Array([1, 2, 3, 4, 5]), 'junk.ply'), formatError('junk.ply', /no "ply" magic/));
});

test('bad SPZ: truncated, billions of points announced, corrupt streams, wrong magic', async () => {
  const bytes = await encodeSplatSpz(makeSet(200));
  await assert.rejects(decodeSplatSpz(bytes.subarray(0, 20), 'short.spz'), formatError('short.spz', /truncated SPZ/));
  await assert.rejects(decodeSplatSpz(bytes.subarray(0, bytes.length - 5), 'cut.spz'), formatError('cut.spz', /truncated SPZ: its streams need/));
  const huge = new Uint8Array(bytes);
  new DataView(huge.buffer).setUint32(8, 4_000_000_000, true);
  const start = performance.now();
  await assert.rejects(decodeSplatSpz(huge, 'huge.spz'), formatError('huge.spz', /4000000000 points/));
  assert.ok(performance.now() - start < 100, 'rejected before decoding');
  // Scramble the first stream's ZSTD frame header (SPZ has no checksum, so scrambled payload bytes can decode silently).
  const corrupt = new Uint8Array(bytes);
  const streams = new DataView(corrupt.buffer).getUint32(16, true) + corrupt[15]! * 16;
  for (let i = streams + 4; i < streams + 12; i++) corrupt[i]! ^= 0x5a;
  await assert.rejects(decodeSplatSpz(corrupt, 'bad.spz'), formatError('bad.spz', /cannot decode SPZ/));
  await assert.rejects(decodeSplatSpz(new Uint8Array(64), 'zero.spz'), formatError('zero.spz', /not an SPZ file/));
});

test('bad GLB and .splat: truncated files name the problem', async () => {
  const glb = await encodeSplatGlb(makeSet(20));
  await assert.rejects(decodeSplatGlb(glb.subarray(0, glb.length - 8), 'cut.glb'), formatError('cut.glb', /truncated GLB/));
  await assert.rejects(decodeSplatGlb(glb.subarray(0, 8), 'tiny.glb'), formatError('tiny.glb', /not a GLB/));
  const splat = await encodeSplatDotsplat(makeSet(20));
  await assert.rejects(decodeSplatDotsplat(splat.subarray(0, 33), 'cut.splat'), formatError('cut.splat', /not a multiple of 32/));
});
