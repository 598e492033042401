/**
 * The Gaussian splat file formats, one line each: a new format is one file `splat-<fmt>.ts` plus one line in
 * SPLAT_FORMATS. Detection is by magic bytes first and by extension second (`.splat` has no magic).
 */
import { FormatError, InputError } from '../../core/errors.ts';
import type { GaussianSet } from '../../core/gaussians.ts';
import { decodeSplatDotsplat, encodeSplatDotsplat } from './splat-dotsplat.ts';
import { decodeSplatGlb, encodeSplatGlb } from './splat-glb.ts';
import { decodeSplatPly, encodeSplatPly } from './splat-ply.ts';
import { decodeSplatSpz, encodeSplatSpz } from './splat-spz.ts';

/** The axes a format stores (OpenCV RDF is ours): 3DGS PLY and .splat keep RDF, SPZ is RUB, glTF is LUF. */
export type SplatAxes = 'RDF' | 'RUB' | 'LUF';

export interface SplatFormat<TId extends string = string> {
  readonly id: TId;
  /** The file extension, with its dot. */
  readonly extension: string;
  readonly mimeType: string;
  readonly description: string;
  /** The axes of the stored coordinates; readers and writers convert to and from OpenCV RDF. */
  readonly axes: SplatAxes;
  /** True when per-Gaussian semantic labels survive a round trip. */
  readonly keepsSemantics: boolean;
  /** True when the bytes start like this format (magic bytes); false for formats without magic. */
  sniff(bytes: Uint8Array): boolean;
  encode(set: GaussianSet): Promise<Uint8Array>;
  /** Decodes a file; `name` is used in error messages. FormatError when the bytes are malformed. */
  decode(bytes: Uint8Array, name: string): Promise<GaussianSet>;
}

const startsWith = (bytes: Uint8Array, ...magic: number[]): boolean => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

export const SPLAT_FORMATS = Object.freeze([
  {
    id: 'ply', extension: '.ply', mimeType: 'application/octet-stream', axes: 'RDF', keepsSemantics: true,
    description: '3D Gaussian Splatting PLY (INRIA layout, binary little-endian; semantic labels as a ushort property)',
    sniff: (b: Uint8Array) => startsWith(b, 0x70, 0x6c, 0x79) && (b[3] === 0x0a || b[3] === 0x0d),
    encode: encodeSplatPly, decode: async (bytes: Uint8Array, name: string) => decodeSplatPly(bytes, name),
  },
  {
    id: 'spz', extension: '.spz', mimeType: 'application/octet-stream', axes: 'RUB', keepsSemantics: false,
    description: 'Niantic SPZ version 4 (compressed, quantised; via @adobe/spz)',
    sniff: (b: Uint8Array) => startsWith(b, 0x4e, 0x47, 0x53, 0x50) || startsWith(b, 0x1f, 0x8b),
    encode: encodeSplatSpz, decode: decodeSplatSpz,
  },
  {
    id: 'glb', extension: '.glb', mimeType: 'model/gltf-binary', axes: 'LUF', keepsSemantics: false,
    description: 'binary glTF with KHR_gaussian_splatting (Y up)',
    sniff: (b: Uint8Array) => startsWith(b, 0x67, 0x6c, 0x54, 0x46),
    encode: encodeSplatGlb, decode: decodeSplatGlb,
  },
  {
    id: 'splat', extension: '.splat', mimeType: 'application/octet-stream', axes: 'RDF', keepsSemantics: false,
    description: 'antimatter15 .splat (32-byte records, 8-bit colour and rotation)',
    sniff: () => false,
    encode: encodeSplatDotsplat, decode: decodeSplatDotsplat,
  },
] as const satisfies readonly SplatFormat<string>[]);

export type SplatFormatId = (typeof SPLAT_FORMATS)[number]['id'];
export const SPLAT_FORMAT_IDS: readonly SplatFormatId[] = Object.freeze(SPLAT_FORMATS.map((f) => f.id));

/** The descriptor for an id; InputError listing the ids otherwise. */
export function getSplatFormat(id: string): SplatFormat<SplatFormatId> {
  const format = SPLAT_FORMATS.find((f) => f.id === id);
  if (format === undefined) throw new InputError(`Unknown splat format "${id}". Use one of: ${SPLAT_FORMAT_IDS.join(', ')}.`);
  return format;
}

/** The format of a file: by magic bytes, then by the extension of `name`. FormatError listing the formats otherwise. */
export function detectSplatFormat(bytes: Uint8Array, name: string): SplatFormat<SplatFormatId> {
  const byMagic = SPLAT_FORMATS.find((f) => f.sniff(bytes));
  if (byMagic !== undefined) return byMagic;
  const lower = name.toLowerCase();
  const byExtension = SPLAT_FORMATS.find((f) => lower.endsWith(f.extension));
  if (byExtension !== undefined) return byExtension; // its decoder names what is wrong with the bytes
  throw new FormatError(`not a supported splat file (${SPLAT_FORMATS.map((f) => `${f.id} ${f.extension}`).join(', ')}).`, { file: name });
}

/** Decodes a splat file of any supported format. */
export async function decodeSplatFile(bytes: Uint8Array, name: string): Promise<GaussianSet> {
  return detectSplatFormat(bytes, name).decode(bytes, name);
}
