/**
 * splat-ply: 3D Gaussian Splatting PLY, the INRIA layout every splat viewer reads. Binary little-endian, one
 * `vertex` element of float properties `x y z nx ny nz f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2
 * rot_0 rot_1 rot_2 rot_3` (normals written as 0, opacity as a logit, scales as logs, rot = w x y z).
 * Axes are stored as they are, OpenCV/RDF (x right, y down, z forward), as 3DGS training writes them.
 *
 * Semantics: a set with labels gets one more property, `ushort label` (0xffff = unlabelled), and a header
 * comment `anyview classes ["name0", ...]` (JSON), which this reader turns back into GaussianSemantics.
 * Feature vectors are not stored. Higher-order SH (`f_rest_*`) in a file are ignored (sets are SH degree 0).
 *
 * Writing goes through @playcanvas/splat-transform's writePly; reading is the small parser below, which accepts
 * binary little- or big-endian files with the properties in any order and of any scalar type, and checks the
 * header's vertex count against the file length before allocating anything.
 */
import { loadSplatTransform } from './splat-transform-lib.ts';
import { FormatError, InputError } from '../../core/errors.ts';
import { createGaussianSet, type GaussianSemantics, type GaussianSet } from '../../core/gaussians.ts';
import type { PointFrame } from '../../core/points.ts';
import { gaussiansFromStoredColumns, storedColumnsFromGaussians } from './splat-table.ts';
import { PLY_TYPE_ALIASES, PLY_TYPE_SIZES, readPlyScalar, type PlyScalarType } from './ply-scalars.ts';

const FRAME_COMMENT_PREFIX = 'anyview frame ';
const CLASSES_COMMENT_PREFIX = 'anyview classes ';
/** The INRIA property order (normals included, as 3DGS writes them). */
const INRIA_ORDER = [
  'x', 'y', 'z', 'nx', 'ny', 'nz', 'f_dc_0', 'f_dc_1', 'f_dc_2', 'opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3',
] as const;

/** Encodes a set as an INRIA 3DGS PLY (see the module comment). */
export async function encodeSplatPly(set: GaussianSet): Promise<Uint8Array> {
  const { Column, DataTable, MemoryFileSystem, Transform, writePly } = await loadSplatTransform();
  const stored = storedColumnsFromGaussians(set);
  const zeros = new Float32Array(set.count);
  const columns = INRIA_ORDER.map((name) => new Column(name, name === 'nx' || name === 'ny' || name === 'nz' ? zeros : stored[name]));
  const comments = [`${FRAME_COMMENT_PREFIX}${set.frame} (OpenCV axes: x right, y down, z forward)`];
  if (set.semantics !== undefined) {
    columns.push(new Column('label', set.semantics.labels));
    comments.push(`${CLASSES_COMMENT_PREFIX}${JSON.stringify(set.semantics.classNames)}`);
  }
  const fs = new MemoryFileSystem();
  await writePly({ filename: 'splat.ply', plyData: { comments, elements: [{ name: 'vertex', dataTable: new DataTable(columns, Transform.PLY) }] } }, fs);
  const bytes = fs.results.get('splat.ply');
  if (bytes === undefined) throw new InputError('splat-transform wrote no PLY.');
  return bytes;
}

/** Headers longer than this are not PLY headers (a guard against scanning a huge non-PLY file). */
const MAX_HEADER_BYTES = 64 * 1024;

interface PlyHeader {
  readonly littleEndian: boolean;
  readonly comments: readonly string[];
  readonly vertexCount: number;
  readonly properties: readonly { readonly name: string; readonly type: PlyScalarType }[];
  readonly bodyStart: number;
}

/** Parses and checks the header: binary, a first element `vertex` of scalar properties. */
function parseHeader(bytes: Uint8Array, file: string): PlyHeader {
  const fail = (message: string, byteOffset?: number): FormatError => new FormatError(message, { file, ...(byteOffset !== undefined ? { byteOffset } : {}) });
  if (bytes.length < 4 || bytes[0] !== 0x70 || bytes[1] !== 0x6c || bytes[2] !== 0x79 || (bytes[3] !== 0x0a && bytes[3] !== 0x0d)) {
    throw fail('not a PLY file (no "ply" magic).', 0);
  }
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, MAX_HEADER_BYTES)));
  const end = /(^|\n)end_header[ \t]*\r?\n/.exec(head);
  if (end === null) throw fail(`PLY header has no end_header line in its first ${Math.min(bytes.length, MAX_HEADER_BYTES)} bytes (truncated or not a PLY).`);
  const bodyStart = end.index + end[0].length;
  let format: string | undefined;
  const comments: string[] = [];
  const elements: { name: string; count: number; properties: { name: string; type: PlyScalarType }[]; hasList: boolean }[] = [];
  for (const raw of head.slice(0, end.index).split(/\r?\n/).slice(1)) {
    const line = raw.trim();
    if (line === '') continue;
    const words = line.split(/\s+/);
    switch (words[0]) {
      case 'format': format = words[1]; break;
      case 'comment': case 'obj_info': comments.push(line.slice(words[0].length).trim()); break;
      case 'element': {
        const count = Number(words[2]);
        if (words.length !== 3 || !Number.isSafeInteger(count) || count < 0) throw fail(`bad PLY element line "${line}".`);
        elements.push({ name: words[1]!, count, properties: [], hasList: false });
        break;
      }
      case 'property': {
        const element = elements.at(-1);
        if (element === undefined) throw fail(`PLY property before any element: "${line}".`);
        if (words[1] === 'list') { element.hasList = true; break; }
        const type = PLY_TYPE_ALIASES[words[1] ?? ''];
        if (type === undefined || words.length !== 3) throw fail(`bad PLY property line "${line}".`);
        element.properties.push({ name: words[2]!, type });
        break;
      }
      default: throw fail(`unknown PLY header line "${line}".`);
    }
  }
  if (format === 'ascii') throw fail('ascii PLY is not supported for Gaussian splats; use binary_little_endian.');
  if (format !== 'binary_little_endian' && format !== 'binary_big_endian') throw fail(`unknown PLY format "${format ?? '(none)'}".`);
  const vertex = elements[0];
  if (vertex === undefined || vertex.name !== 'vertex') throw fail('the first PLY element must be "vertex".');
  if (vertex.hasList) throw fail('list properties on "vertex" are not supported.');
  return { littleEndian: format === 'binary_little_endian', comments, vertexCount: vertex.count, properties: vertex.properties, bodyStart };
}

/** Decodes an INRIA 3DGS PLY (see the module comment). FormatError naming `name` on anything malformed. */
export function decodeSplatPly(bytes: Uint8Array, name = 'splat.ply'): GaussianSet {
  const header = parseHeader(bytes, name);
  const { vertexCount: n, properties, littleEndian, bodyStart } = header;
  const stride = properties.reduce((sum, p) => sum + PLY_TYPE_SIZES[p.type], 0);
  // Size check before any allocation: a header that claims billions of vertices fails here.
  const available = bytes.length - bodyStart;
  if (n * stride > available) {
    throw new FormatError(`truncated PLY: the header announces ${n} vertices of ${stride} bytes (${n * stride} bytes), the file has ${available} after the header.`,
      { file: name, byteOffset: bytes.length });
  }
  const offsets = new Map<string, { offset: number; type: PlyScalarType }>();
  let offset = 0;
  for (const p of properties) {
    offsets.set(p.name, { offset, type: p.type });
    offset += PLY_TYPE_SIZES[p.type];
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + bodyStart, n * stride);
  // Float32 columns: the set is Float32, and ushort labels are exact in Float32.
  const column = (prop: string): Float32Array | undefined => {
    const at = offsets.get(prop);
    if (at === undefined) return undefined;
    const out = new Float32Array(n);
    for (let i = 0, o = at.offset; i < n; i++, o += stride) out[i] = readPlyScalar(view, o, at.type, littleEndian);
    return out;
  };
  const frameComment = header.comments.find((c) => c.startsWith(FRAME_COMMENT_PREFIX));
  const frame: PointFrame = frameComment?.slice(FRAME_COMMENT_PREFIX.length).startsWith('camera') ? 'camera' : 'world';
  const set = gaussiansFromStoredColumns(n, column, frame, name);
  const semantics = readSemantics(header, column('label'), name);
  return semantics === undefined ? set : createGaussianSet({ ...set, semantics });
}

function readSemantics(header: PlyHeader, labelValues: Float32Array | undefined, file: string): GaussianSemantics | undefined {
  const comment = header.comments.find((c) => c.startsWith(CLASSES_COMMENT_PREFIX));
  if (labelValues === undefined) return undefined;
  let classNames: string[] = [];
  if (comment !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(comment.slice(CLASSES_COMMENT_PREFIX.length));
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string')) {
      throw new FormatError(`the "${CLASSES_COMMENT_PREFIX.trim()}" comment is not a JSON array of strings.`, { file });
    }
    classNames = parsed;
  }
  const labels = new Uint16Array(labelValues.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labelValues[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff)) throw new FormatError(`label ${v} of vertex ${i} is not a ushort.`, { file });
    labels[i] = v;
  }
  return { labels, classNames };
}

