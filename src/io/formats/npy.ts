/**
 * npy: NumPy's .npy format. The writer emits version 1.0, little-endian, C order, with the header padded so the
 * data starts at a multiple of 64 bytes; a depth map is '<f4' with shape (height, width) and NaN kept as NaN.
 * The reader takes versions 1-3, any byte order, and the common numeric dtypes (for evaluation data too).
 * Spec: numpy.lib.format (magic "\x93NUMPY", major, minor, header length, Python-literal dict header).
 */
import { FormatError, InputError } from '../../core/errors.ts';
import { createDepth, type Depth, type DepthKind } from '../../core/depth.ts';
import type { DepthOutputFormat } from './index.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;

export type NpyTypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** A decoded .npy array: `shape` in C order (last index fastest), data in host (little-endian) order. */
export interface NpyArray {
  readonly shape: readonly number[];
  /** The dtype as written in the file, e.g. '<f4'. */
  readonly descr: string;
  readonly data: NpyTypedArray;
}

interface DTypeInfo {
  readonly kind: string; // 'f4', 'u1', ...
  readonly size: number;
  readonly make: (buffer: ArrayBuffer) => NpyTypedArray;
}

const DTYPES: Readonly<Record<string, DTypeInfo>> = {
  f4: { kind: 'f4', size: 4, make: (b) => new Float32Array(b) },
  f8: { kind: 'f8', size: 8, make: (b) => new Float64Array(b) },
  i1: { kind: 'i1', size: 1, make: (b) => new Int8Array(b) },
  u1: { kind: 'u1', size: 1, make: (b) => new Uint8Array(b) },
  b1: { kind: 'b1', size: 1, make: (b) => new Uint8Array(b) },
  i2: { kind: 'i2', size: 2, make: (b) => new Int16Array(b) },
  u2: { kind: 'u2', size: 2, make: (b) => new Uint16Array(b) },
  i4: { kind: 'i4', size: 4, make: (b) => new Int32Array(b) },
  u4: { kind: 'u4', size: 4, make: (b) => new Uint32Array(b) },
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function descrOf(data: NpyTypedArray): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Int32Array) return '<i4';
  return '<u4';
}

/** Encodes a typed array of the given C-order shape as a version 1.0 .npy file. */
export function encodeNpy(data: NpyTypedArray, shape: readonly number[]): Uint8Array {
  if (!HOST_LITTLE_ENDIAN) throw new Error('encodeNpy assumes a little-endian host.');
  const count = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || count !== data.length) {
    throw new InputError(`npy shape (${shape.join(', ')}) does not match ${data.length} values.`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // magic(6) + version(2) + header length(2) + dict + padding spaces + '\n' must be a multiple of 64.
  const unpadded = 10 + dict.length + 1;
  const headerLength = dict.length + 1 + ((ALIGN - (unpadded % ALIGN)) % ALIGN);
  if (headerLength > 0xffff) throw new InputError('npy header too long for format version 1.0.');
  const out = new Uint8Array(10 + headerLength + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = headerLength & 0xff;
  out[9] = headerLength >> 8;
  const header = dict.padEnd(headerLength - 1, ' ') + '\n';
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + headerLength);
  return out;
}

/** Decodes a .npy file. FormatError (naming `name` when given) for anything malformed or unsupported. */
export function decodeNpy(bytes: Uint8Array, name?: string): NpyArray {
  const file = name !== undefined ? { file: name } : {};
  if (!sniffNpy(bytes)) throw new FormatError('not a .npy file (missing the \\x93NUMPY magic).', file);
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new FormatError(`unsupported .npy version ${major}.${bytes[7]}.`, file);
  const lengthBytes = major === 1 ? 2 : 4;
  const start = 8 + lengthBytes;
  if (bytes.length < start) throw new FormatError('truncated .npy header.', { ...file, byteOffset: bytes.length });
  let headerLength = 0;
  for (let i = lengthBytes - 1; i >= 0; i--) headerLength = headerLength * 256 + bytes[8 + i]!;
  const dataOffset = start + headerLength;
  if (bytes.length < dataOffset) throw new FormatError('truncated .npy header.', { ...file, byteOffset: bytes.length });
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, dataOffset));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new FormatError(`unreadable .npy header ${JSON.stringify(header.trim())}.`, file);
  }
  if (fortran === 'True') {
    throw new FormatError('Fortran-order .npy arrays are not supported; save with np.ascontiguousarray(a).', file);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new FormatError(`bad .npy shape (${shapeText}).`, file);
  const order = descr[0];
  const type = DTYPES[descr.slice(1)];
  if (type === undefined || (order !== '<' && order !== '>' && order !== '|' && order !== '=')) {
    throw new FormatError(`unsupported .npy dtype '${descr}' (supported: f4, f8, i1, u1, b1, i2, u2, i4, u4).`, file);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLength = count * type.size;
  if (bytes.length < dataOffset + byteLength) {
    throw new FormatError(`truncated .npy data: ${bytes.length - dataOffset} bytes for shape (${shape.join(', ')}) of ${descr}, expected ${byteLength}.`,
      { ...file, byteOffset: bytes.length });
  }
  // Copy into a fresh, aligned buffer; swap bytes when the file's order differs from the host's.
  // (new Uint8Array(view) copies; Buffer.prototype.slice would not.)
  const copy = new Uint8Array(bytes.subarray(dataOffset, dataOffset + byteLength));
  const fileLittle = order === '<' || order === '|' || (order === '=' && HOST_LITTLE_ENDIAN);
  if (type.size > 1 && fileLittle !== HOST_LITTLE_ENDIAN) {
    for (let i = 0; i < byteLength; i += type.size) copy.subarray(i, i + type.size).reverse();
  }
  return { shape, descr, data: type.make(copy.buffer) };
}

/** Reads a .npy holding a (height, width) float array as a Depth of the given kind. */
export function decodeNpyDepth(bytes: Uint8Array, kind: DepthKind, name?: string): Depth {
  const array = decodeNpy(bytes, name);
  const shape = array.shape.length === 3 && array.shape[0] === 1 ? array.shape.slice(1) : array.shape;
  if (shape.length !== 2) {
    throw new FormatError(`expected a (height, width) depth array, got shape (${array.shape.join(', ')}).`, name !== undefined ? { file: name } : {});
  }
  const data = array.data instanceof Float32Array ? array.data : Float32Array.from(array.data);
  return createDepth({ kind, width: shape[1]!, height: shape[0]!, data });
}

export function sniffNpy(bytes: Uint8Array): boolean {
  return bytes.length >= 10 && MAGIC.every((b, i) => bytes[i] === b);
}

export const npyFormat: DepthOutputFormat<'npy'> = Object.freeze({
  id: 'npy',
  input: 'depth',
  extension: '.npy',
  defaultSuffix: '_depth.npy',
  mimeType: 'application/octet-stream',
  description: 'NumPy float32 array, shape (height, width), NaN = invalid; load with numpy.load',
  sniff: sniffNpy,
  async encode(depth: Depth) {
    return { bytes: encodeNpy(depth.data, [depth.height, depth.width]) };
  },
} as const);
