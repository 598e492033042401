/**
 * GaussianSet <-> splat-transform DataTable: the INRIA 3D Gaussian Splatting layout shared by the splat formats.
 *
 * A DataTable holds the stored (pre-activation) values: `scale_k` = log(std dev), `opacity` = logit(opacity),
 * `f_dc_k` = (rgb - 0.5) / SH_C0, `rot_0..3` = quaternion w, x, y, z. The tables built here keep our OpenCV axes
 * (RDF: x right, y down, z forward) and are tagged `Transform.PLY`, which is how splat-transform labels raw
 * 3DGS/PLY data; its writers convert from that tag to their format's axes (GLB: glTF's LUF), so the conversion is
 * the library's, tested against independent readers in test/interop/splat-formats.test.ts.
 */
import type { Column, DataTable, TypedArray } from '@playcanvas/splat-transform';
import type { SplatTransformLib } from './splat-transform-lib.ts';
import { FormatError } from '../../core/errors.ts';
import { createGaussianSet, SH_C0, type GaussianSet } from '../../core/gaussians.ts';
import type { PointFrame } from '../../core/points.ts';

/** Opacities are clamped into [OPACITY_EPS, 1 - OPACITY_EPS] before the logit, so 0 and 1 stay finite (|logit| <= 13.8). */
export const OPACITY_EPS = 1e-6;
/** Scales are clamped below at MIN_SCALE before the log, so a zero scale stays finite. */
export const MIN_SCALE = 1e-30;

/** The stored columns, in the INRIA PLY order (normals left out; splat-ply adds them). */
export const SPLAT_COLUMNS = [
  'x', 'y', 'z', 'f_dc_0', 'f_dc_1', 'f_dc_2', 'opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3',
] as const;

export function logit(p: number): number {
  const q = Math.min(Math.max(p, OPACITY_EPS), 1 - OPACITY_EPS);
  return Math.log(q / (1 - q));
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** The stored (log / logit / f_dc) values of a set as named Float32 columns, RDF axes. */
export function storedColumnsFromGaussians(set: GaussianSet): Record<(typeof SPLAT_COLUMNS)[number], Float32Array> {
  const n = set.count;
  const cols = Object.fromEntries(SPLAT_COLUMNS.map((name) => [name, new Float32Array(n)])) as Record<(typeof SPLAT_COLUMNS)[number], Float32Array>;
  const { positions: p, scales: s, rotations: r, opacities: a, colors: c } = set;
  for (let i = 0; i < n; i++) {
    cols.x[i] = p[i * 3]!; cols.y[i] = p[i * 3 + 1]!; cols.z[i] = p[i * 3 + 2]!;
    cols.f_dc_0[i] = (c[i * 3]! - 0.5) / SH_C0; cols.f_dc_1[i] = (c[i * 3 + 1]! - 0.5) / SH_C0; cols.f_dc_2[i] = (c[i * 3 + 2]! - 0.5) / SH_C0;
    cols.opacity[i] = logit(a[i]!);
    cols.scale_0[i] = Math.log(Math.max(s[i * 3]!, MIN_SCALE));
    cols.scale_1[i] = Math.log(Math.max(s[i * 3 + 1]!, MIN_SCALE));
    cols.scale_2[i] = Math.log(Math.max(s[i * 3 + 2]!, MIN_SCALE));
    cols.rot_0[i] = r[i * 4]!; cols.rot_1[i] = r[i * 4 + 1]!; cols.rot_2[i] = r[i * 4 + 2]!; cols.rot_3[i] = r[i * 4 + 3]!;
  }
  return cols;
}

/** A DataTable (RDF data, tagged Transform.PLY) of the set, with `extra` columns appended. */
export function dataTableFromGaussians(lib: SplatTransformLib, set: GaussianSet, extra: readonly Column[] = []): DataTable {
  const cols = storedColumnsFromGaussians(set);
  return new lib.DataTable([...SPLAT_COLUMNS.map((name) => new lib.Column(name, cols[name])), ...extra], lib.Transform.PLY);
}

/** Any numeric column source: a DataTable's column data or a plain typed array. */
export type ColumnGetter = (name: string) => ArrayLike<number> | undefined;

/**
 * A GaussianSet from stored columns (RDF axes), applying the activations: exp scales, sigmoid opacity,
 * 0.5 + SH_C0 * f_dc, and quaternions normalised (a zero quaternion becomes the identity).
 * FormatError naming `file` when a column is missing.
 */
export function gaussiansFromStoredColumns(count: number, get: ColumnGetter, frame: PointFrame, file: string): GaussianSet {
  const need = (name: string): ArrayLike<number> => {
    const col = get(name);
    if (col === undefined) throw new FormatError(`splat data lacks the "${name}" property (3DGS layout: ${SPLAT_COLUMNS.join(' ')}).`, { file });
    if (col.length < count) throw new FormatError(`splat property "${name}" has ${col.length} values, expected ${count}.`, { file });
    return col;
  };
  const [x, y, z, d0, d1, d2, op, s0, s1, s2, q0, q1, q2, q3] = SPLAT_COLUMNS.map(need) as ArrayLike<number>[] as [
    ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>,
    ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>];
  const positions = new Float32Array(count * 3);
  const scales = new Float32Array(count * 3);
  const rotations = new Float32Array(count * 4);
  const opacities = new Float32Array(count);
  const colors = new Float32Array(count * 3);
  for (let i = 0; i < count; i++) {
    positions[i * 3] = x[i]!; positions[i * 3 + 1] = y[i]!; positions[i * 3 + 2] = z[i]!;
    scales[i * 3] = Math.exp(s0[i]!); scales[i * 3 + 1] = Math.exp(s1[i]!); scales[i * 3 + 2] = Math.exp(s2[i]!);
    opacities[i] = sigmoid(op[i]!);
    colors[i * 3] = 0.5 + SH_C0 * d0[i]!; colors[i * 3 + 1] = 0.5 + SH_C0 * d1[i]!; colors[i * 3 + 2] = 0.5 + SH_C0 * d2[i]!;
    writeUnitQuaternion(rotations, i, q0[i]!, q1[i]!, q2[i]!, q3[i]!);
  }
  return createGaussianSet({ count, frame, positions, scales, rotations, opacities, colors });
}

/** Stores (w, x, y, z) normalised at Gaussian i; a zero or non-finite quaternion becomes the identity. */
export function writeUnitQuaternion(out: Float32Array, i: number, w: number, x: number, y: number, z: number): void {
  const norm = Math.hypot(w, x, y, z);
  if (!(norm > 0) || !Number.isFinite(norm)) {
    out[i * 4] = 1; out[i * 4 + 1] = 0; out[i * 4 + 2] = 0; out[i * 4 + 3] = 0;
    return;
  }
  out[i * 4] = w / norm; out[i * 4 + 1] = x / norm; out[i * 4 + 2] = y / norm; out[i * 4 + 3] = z / norm;
}

/** A GaussianSet from a DataTable whose raw data are in PLY (RDF) space; other spaces are converted first. */
export function gaussiansFromDataTable(lib: SplatTransformLib, table: DataTable, frame: PointFrame, file: string): GaussianSet {
  if (!table.transform.equals(lib.Transform.PLY)) {
    throw new FormatError('splat data is not in PLY (x right, y down, z forward) space.', { file });
  }
  return gaussiansFromStoredColumns(table.numRows, (name) => table.getColumnByName(name)?.data as TypedArray | undefined, frame, file);
}
