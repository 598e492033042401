/**
 * ply: a point cloud as binary little-endian PLY: one `vertex` element with `float x, y, z` and, when the cloud has
 * colours, `uchar red, green, blue` (15 bytes per point, packed). Coordinates are written as they are, in the
 * cloud's frame with OpenCV axes (x right, y down, z forward); a header comment records that.
 *
 * The reader takes what common tools write: ascii or binary (either endianness), a `vertex` element with any
 * scalar properties in any order (x, y, z required; red/green/blue or r/g/b optional, uchar or float 0..1),
 * and other elements after it (faces are skipped, list properties only outside `vertex`).
 */
import { FormatError, InputError } from '../../core/errors.ts';
import { createPointCloud, type PointCloud, type PointFrame } from '../../core/points.ts';
import type { PointCloudOutputFormat } from './index.ts';
import { PLY_TYPE_ALIASES, PLY_TYPE_SIZES, readPlyScalar, type PlyScalarType } from './ply-scalars.ts';

export interface PlyWriteOptions {
  /** Extra `comment` lines for the header (no newlines). */
  readonly comments?: readonly string[];
}

export interface PlyReadResult {
  readonly cloud: PointCloud;
  readonly comments: readonly string[];
}

const FRAME_COMMENT_PREFIX = 'anyview frame ';

export function encodePly(cloud: PointCloud, options: PlyWriteOptions = {}): Uint8Array {
  const { numPoints, positions, colors } = cloud;
  if (positions.length !== numPoints * 3 || (colors !== undefined && colors.length !== numPoints * 3)) {
    throw new InputError('PointCloud arrays do not match numPoints.');
  }
  const comments = [`${FRAME_COMMENT_PREFIX}${cloud.frame} (OpenCV axes: x right, y down, z forward)`, ...(options.comments ?? [])];
  for (const c of comments) if (/[\r\n]/.test(c)) throw new InputError(`PLY comment must be one line: ${JSON.stringify(c)}.`);
  const header = [
    'ply',
    'format binary_little_endian 1.0',
    ...comments.map((c) => `comment ${c}`),
    `element vertex ${numPoints}`,
    'property float x',
    'property float y',
    'property float z',
    ...(colors !== undefined ? ['property uchar red', 'property uchar green', 'property uchar blue'] : []),
    'end_header',
    '',
  ].join('\n');
  const headerBytes = new TextEncoder().encode(header);
  const stride = colors !== undefined ? 15 : 12;
  const out = new Uint8Array(headerBytes.length + numPoints * stride);
  out.set(headerBytes, 0);
  const view = new DataView(out.buffer, headerBytes.length);
  for (let i = 0; i < numPoints; i++) {
    const o = i * stride;
    view.setFloat32(o, positions[i * 3]!, true);
    view.setFloat32(o + 4, positions[i * 3 + 1]!, true);
    view.setFloat32(o + 8, positions[i * 3 + 2]!, true);
    if (colors !== undefined) {
      view.setUint8(o + 12, colors[i * 3]!);
      view.setUint8(o + 13, colors[i * 3 + 1]!);
      view.setUint8(o + 14, colors[i * 3 + 2]!);
    }
  }
  return out;
}




interface PlyProperty {
  readonly name: string;
  readonly type: PlyScalarType;
  /** For list properties: the count type. */
  readonly countType?: PlyScalarType;
}

interface PlyElement {
  readonly name: string;
  readonly count: number;
  readonly properties: PlyProperty[];
}

/** Reads a PLY point cloud (see the module comment for what is accepted). FormatError naming `name` otherwise. */
export function decodePly(bytes: Uint8Array, name?: string): PlyReadResult {
  const file = name !== undefined ? { file: name } : {};
  const fail = (message: string, byteOffset?: number): FormatError =>
    new FormatError(message, byteOffset !== undefined ? { ...file, byteOffset } : file);

  const headerEnd = findHeaderEnd(bytes);
  if (bytes.length < 4 || String.fromCharCode(...bytes.subarray(0, 3)) !== 'ply') throw fail('not a PLY file (no "ply" magic).');
  if (headerEnd < 0) throw fail('PLY header has no end_header line.');
  const lines = new TextDecoder('latin1').decode(bytes.subarray(0, headerEnd)).split(/\r?\n/);

  let format: 'ascii' | 'binary_little_endian' | 'binary_big_endian' | undefined;
  const comments: string[] = [];
  const elements: PlyElement[] = [];
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    if (line === '' || line === 'end_header') continue;
    const words = line.split(/\s+/);
    const keyword = words[0];
    if (keyword === 'format') {
      const f = words[1];
      if (f !== 'ascii' && f !== 'binary_little_endian' && f !== 'binary_big_endian') throw fail(`unknown PLY format "${f}".`);
      format = f;
    } else if (keyword === 'comment' || keyword === 'obj_info') {
      comments.push(line.slice(keyword.length).trim());
    } else if (keyword === 'element') {
      const count = Number(words[2]);
      if (words.length !== 3 || !Number.isInteger(count) || count < 0) throw fail(`bad PLY element line "${line}".`);
      elements.push({ name: words[1]!, count, properties: [] });
    } else if (keyword === 'property') {
      const element = elements.at(-1);
      if (element === undefined) throw fail(`PLY property before any element: "${line}".`);
      if (words[1] === 'list') {
        const countType = PLY_TYPE_ALIASES[words[2] ?? ''];
        const type = PLY_TYPE_ALIASES[words[3] ?? ''];
        if (countType === undefined || type === undefined || words.length !== 5) throw fail(`bad PLY list property "${line}".`);
        element.properties.push({ name: words[4]!, type, countType });
      } else {
        const type = PLY_TYPE_ALIASES[words[1] ?? ''];
        if (type === undefined || words.length !== 3) throw fail(`bad PLY property "${line}".`);
        element.properties.push({ name: words[2]!, type });
      }
    } else {
      throw fail(`unknown PLY header line "${line}".`);
    }
  }
  if (format === undefined) throw fail('PLY header has no format line.');

  const vertexIndex = elements.findIndex((e) => e.name === 'vertex');
  if (vertexIndex < 0) throw fail('PLY file has no vertex element.');
  const vertex = elements[vertexIndex]!;
  for (const e of elements.slice(0, vertexIndex)) {
    if (e.count > 0) throw fail(`PLY element "${e.name}" before "vertex" is not supported.`);
  }
  if (vertex.properties.some((p) => p.countType !== undefined)) throw fail('list properties on vertex are not supported.');
  const find = (...names: string[]): number => vertex.properties.findIndex((p) => names.includes(p.name));
  const ix = find('x'), iy = find('y'), iz = find('z');
  if (ix < 0 || iy < 0 || iz < 0) throw fail('PLY vertex element lacks x, y or z.');
  const ir = find('red', 'r'), ig = find('green', 'g'), ib = find('blue', 'b');
  const hasColor = ir >= 0 && ig >= 0 && ib >= 0;

  const n = vertex.count;
  const positions = new Float32Array(n * 3);
  const colors = hasColor ? new Uint8Array(n * 3) : undefined;
  const values = new Float64Array(vertex.properties.length);
  const toByte = (value: number, type: PlyScalarType): number =>
    type === 'float32' || type === 'float64' ? Math.round(Math.min(Math.max(value, 0), 1) * 255) : Math.min(Math.max(value, 0), 255);
  const store = (i: number): void => {
    positions[i * 3] = values[ix]!;
    positions[i * 3 + 1] = values[iy]!;
    positions[i * 3 + 2] = values[iz]!;
    if (colors !== undefined) {
      colors[i * 3] = toByte(values[ir]!, vertex.properties[ir]!.type);
      colors[i * 3 + 1] = toByte(values[ig]!, vertex.properties[ig]!.type);
      colors[i * 3 + 2] = toByte(values[ib]!, vertex.properties[ib]!.type);
    }
  };

  const bodyStart = headerEnd + headerEndLength(bytes, headerEnd);
  if (format === 'ascii') {
    const text = new TextDecoder('latin1').decode(bytes.subarray(bodyStart));
    const tokens = text.split(/\s+/).filter((t) => t.length > 0);
    const need = n * vertex.properties.length;
    if (tokens.length < need) throw fail(`truncated ascii PLY: ${tokens.length} values, expected at least ${need}.`);
    for (let i = 0, t = 0; i < n; i++) {
      for (let p = 0; p < values.length; p++) values[p] = Number(tokens[t++]);
      store(i);
    }
  } else {
    const little = format === 'binary_little_endian';
    const stride = vertex.properties.reduce((s, p) => s + PLY_TYPE_SIZES[p.type], 0);
    if (bytes.length < bodyStart + n * stride) {
      throw fail(`truncated PLY: ${bytes.length - bodyStart} body bytes, ${n} vertices need ${n * stride}.`, bytes.length);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset + bodyStart, n * stride);
    const offsets = vertex.properties.map((_, p) => vertex.properties.slice(0, p).reduce((s, q) => s + PLY_TYPE_SIZES[q.type], 0));
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < values.length; p++) values[p] = readPlyScalar(view, i * stride + offsets[p]!, vertex.properties[p]!.type, little);
      store(i);
    }
  }
  const frameComment = comments.find((c) => c.startsWith(FRAME_COMMENT_PREFIX));
  const frame: PointFrame = frameComment?.slice(FRAME_COMMENT_PREFIX.length).startsWith('camera') ? 'camera' : 'world';
  const cloud = createPointCloud(colors !== undefined ? { numPoints: n, frame, positions, colors } : { numPoints: n, frame, positions });
  return { cloud, comments };
}


/** Byte offset of the 'end_header' keyword at the start of a line, or -1. */
function findHeaderEnd(bytes: Uint8Array): number {
  const limit = Math.min(bytes.length, 1 << 20);
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, limit));
  const match = /(^|\n)end_header[ \t]*\r?\n/.exec(text);
  return match === null ? -1 : match.index + match[1]!.length;
}

function headerEndLength(bytes: Uint8Array, at: number): number {
  let i = at + 'end_header'.length;
  while (bytes[i] === 0x20 || bytes[i] === 0x09) i++;
  if (bytes[i] === 0x0d) i++;
  return i + 1 - at; // through the '\n'
}

export const plyFormat: PointCloudOutputFormat<'ply', PlyWriteOptions> = Object.freeze({
  id: 'ply',
  input: 'pointCloud',
  extension: '.ply',
  defaultSuffix: '.ply',
  mimeType: 'application/octet-stream',
  description: 'binary little-endian PLY point cloud: float x y z (OpenCV camera axes), uchar red green blue',
  sniff: (bytes: Uint8Array) => bytes.length >= 4 && bytes[0] === 0x70 && bytes[1] === 0x6c && bytes[2] === 0x79 && (bytes[3] === 0x0a || bytes[3] === 0x0d),
  async encode(cloud: PointCloud, options?: PlyWriteOptions) {
    return { bytes: encodePly(cloud, options) };
  },
} as const);
