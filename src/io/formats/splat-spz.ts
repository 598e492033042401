/**
 * splat-spz: Niantic's compressed SPZ, through @adobe/spz (Niantic's C++ library compiled to WebAssembly).
 *
 * Axes: the SPZ spec stores RUB (x right, y up, z back, the OpenGL / three.js convention). We pack with
 * `from: RDF` and unpack with `to: RDF`, so the library flips y and z (a 180-degree turn about x, applied to
 * positions and quaternions) and files open upright in SPZ viewers. Note that splat-transform writes SPZ without
 * that flip (`from: UNSPECIFIED`), so its files read upside down here, as in other spec-following readers.
 *
 * Quantisation (version 4, what we write): positions 24-bit fixed point with 12 fractional bits (1/4096 unit
 * steps, range +-2048 units), log scales 8 bits (steps of 1/16 in log space), rotations smallest-three 10 bits,
 * opacity 8 bits, colour 8 bits (DC coefficient scaled by 0.15). Semantics and features are not stored.
 *
 * Reading checks the header and the table of contents against the file length before the library decodes, so
 * a truncated file or one announcing billions of points is a FormatError, not a huge allocation.
 */
import spzPackage, { type GaussianCloud, type SpzModule } from '@adobe/spz';
import { createGunzip } from 'node:zlib';
import { FormatError, InputError } from '../../core/errors.ts';
import type { GaussianSet } from '../../core/gaussians.ts';
import { gaussiansFromStoredColumns, storedColumnsFromGaussians } from './splat-table.ts';

/** SPZ magic of version 4 ("NGSP"); versions 1-3 are a gzip stream (1f 8b). */
const NGSP_MAGIC = 0x5053474e;
const NGSP_HEADER_BYTES = 32;
/** Largest ratio of decompressed to compressed bytes ZSTD can reach (a 128 KiB RLE block in 4 bytes). */
const ZSTD_MAX_RATIO = 32768;
/** Largest ratio deflate can reach (1032:1), the bound for legacy gzip files. */
const DEFLATE_MAX_RATIO = 1032;
/** Bytes per point of a version 3+ file without SH: positions 9, alpha 1, colour 3, scale 3, rotation 4. */
const MIN_BYTES_PER_POINT = 20;
/** SH coefficients per point (all channels) by degree. */
const SH_PER_DEGREE = [0, 9, 24, 45, 72] as const;

/**
 * The package's factory. Its ESM file sits in a package without `"type": "module"`, so TypeScript types the default
 * import as the CommonJS namespace while Node (by syntax detection) hands over the function itself.
 */
const createSpzModule = ((spzPackage as unknown as { default?: unknown }).default ?? spzPackage) as (overrides?: object) => Promise<SpzModule>;

/** A fresh WASM instance whose log lines go to `log` (the library reports decode errors only there). */
async function openSpz(log: string[]): Promise<SpzModule> {
  return createSpzModule({ print: (m: string) => log.push(m), printErr: (m: string) => log.push(m) });
}

/** Encodes a set as SPZ version 4 (RUB on disk; see the module comment). */
export async function encodeSplatSpz(set: GaussianSet): Promise<Uint8Array> {
  const log: string[] = [];
  const spz = await openSpz(log);
  const stored = storedColumnsFromGaussians(set);
  const n = set.count;
  const positions = new Float32Array(n * 3);
  const scales = new Float32Array(n * 3);
  const rotations = new Float32Array(n * 4);
  const colors = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    positions[i * 3] = stored.x[i]!; positions[i * 3 + 1] = stored.y[i]!; positions[i * 3 + 2] = stored.z[i]!;
    scales[i * 3] = stored.scale_0[i]!; scales[i * 3 + 1] = stored.scale_1[i]!; scales[i * 3 + 2] = stored.scale_2[i]!;
    colors[i * 3] = stored.f_dc_0[i]!; colors[i * 3 + 1] = stored.f_dc_1[i]!; colors[i * 3 + 2] = stored.f_dc_2[i]!;
    // SPZ's quaternion order is x, y, z, w.
    rotations[i * 4] = stored.rot_1[i]!; rotations[i * 4 + 1] = stored.rot_2[i]!; rotations[i * 4 + 2] = stored.rot_3[i]!; rotations[i * 4 + 3] = stored.rot_0[i]!;
  }
  // GaussianCloud is an interface of plain fields on the JS side (the binding copies them in).
  const cloud = { numPoints: n, shDegree: 0, antialiased: false, extensions: [], positions, scales, rotations, alphas: stored.opacity, colors, sh: new Float32Array(0) } as GaussianCloud;
  const bytes = spz.saveSpzToBuffer(cloud, { version: 4, from: spz.CoordinateSystem.RDF, sh1Bits: 5, shRestBits: 4 });
  if (bytes.length < NGSP_HEADER_BYTES) throw new InputError(`SPZ encoding failed: ${log.join(' | ') || 'no output'}.`);
  return new Uint8Array(bytes); // a copy that owns its buffer (the binding's may be a view)
}

/** The point count a file announces, after checking its header and table of contents against its length. */
export function checkSpzHeader(bytes: Uint8Array, file: string): number {
  const fail = (message: string, byteOffset?: number): FormatError => new FormatError(message, { file, ...(byteOffset !== undefined ? { byteOffset } : {}) });
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return -1; // legacy gzip: see checkLegacySpzHeader
  if (bytes.length < NGSP_HEADER_BYTES) throw fail(`truncated SPZ: ${bytes.length} bytes, the header alone is ${NGSP_HEADER_BYTES}.`, bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.getUint32(0, true) !== NGSP_MAGIC) throw fail('not an SPZ file (neither "NGSP" nor gzip magic).', 0);
  const version = view.getUint32(4, true);
  const numPoints = view.getUint32(8, true);
  const shDegree = view.getUint8(12);
  const numStreams = view.getUint8(15);
  const tocOffset = view.getUint32(16, true);
  if (version !== 4) throw fail(`unsupported SPZ version ${version} with NGSP magic (expected 4).`, 4);
  if (shDegree >= SH_PER_DEGREE.length) throw fail(`SPZ SH degree ${shDegree} is not 0..4.`, 12);
  const tocEnd = tocOffset + numStreams * 16;
  if (tocOffset < NGSP_HEADER_BYTES || tocEnd > bytes.length) throw fail(`truncated SPZ: the table of contents ends at byte ${tocEnd}, the file has ${bytes.length}.`, bytes.length);
  let compressed = 0;
  let uncompressed = 0;
  for (let s = 0; s < numStreams; s++) {
    compressed += Number(view.getBigUint64(tocOffset + s * 16, true));
    uncompressed += Number(view.getBigUint64(tocOffset + s * 16 + 8, true));
  }
  if (tocEnd + compressed > bytes.length) {
    throw fail(`truncated SPZ: its streams need ${tocEnd + compressed} bytes, the file has ${bytes.length}.`, bytes.length);
  }
  const expected = numPoints * (MIN_BYTES_PER_POINT + SH_PER_DEGREE[shDegree]!);
  if (uncompressed < expected) throw fail(`SPZ header announces ${numPoints} points (${expected} bytes decoded) but its streams hold ${uncompressed}.`, 8);
  if (uncompressed > compressed * ZSTD_MAX_RATIO + 1024) {
    throw fail(`SPZ streams claim ${uncompressed} decoded bytes from ${compressed} compressed, beyond what ZSTD can encode.`, tocOffset);
  }
  return numPoints;
}

/** Decodes an SPZ file (versions 1-4) into a set in our RDF axes. FormatError naming `name` when malformed. */
export async function decodeSplatSpz(bytes: Uint8Array, name = 'splat.spz'): Promise<GaussianSet> {
  let announced = checkSpzHeader(bytes, name);
  if (announced < 0) announced = await checkLegacySpzHeader(bytes, name);
  const log: string[] = [];
  const spz = await openSpz(log);
  let cloud: GaussianCloud;
  try {
    cloud = spz.loadSpzFromBuffer(bytes, { to: spz.CoordinateSystem.RDF });
  } catch (error) {
    throw new FormatError(`cannot decode SPZ: ${error instanceof Error ? error.message : String(error)}.`, { file: name, cause: error });
  }
  const errors = log.filter((line) => line.includes('ERROR'));
  if (errors.length > 0 || (announced > 0 && cloud.numPoints !== announced)) {
    throw new FormatError(`cannot decode SPZ: ${errors.map((e) => e.replace('[SPZ ERROR] ', '')).join('; ') || `decoded ${cloud.numPoints} of ${announced} points`}.`, { file: name });
  }
  const n = cloud.numPoints;
  const { positions: p, scales: s, rotations: r, colors: c } = cloud;
  const axis = (array: Float32Array, width: number, k: number): Float32Array => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = array[i * width + k]!;
    return out;
  };
  const columns: Record<string, Float32Array> = {
    x: axis(p, 3, 0), y: axis(p, 3, 1), z: axis(p, 3, 2),
    scale_0: axis(s, 3, 0), scale_1: axis(s, 3, 1), scale_2: axis(s, 3, 2),
    f_dc_0: axis(c, 3, 0), f_dc_1: axis(c, 3, 1), f_dc_2: axis(c, 3, 2),
    rot_0: axis(r, 4, 3), rot_1: axis(r, 4, 0), rot_2: axis(r, 4, 1), rot_3: axis(r, 4, 2),
    opacity: cloud.alphas,
  };
  return gaussiansFromStoredColumns(n, (col) => columns[col], 'world', name);
}

/**
 * The point count of a legacy (gzip, versions 1-3) file: inflates only its 16-byte header, then checks that the
 * announced points fit in what deflate (at most 1032:1) can produce from the file.
 */
async function checkLegacySpzHeader(bytes: Uint8Array, file: string): Promise<number> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const gunzip = createGunzip();
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (): void => { gunzip.destroy(); resolve(Buffer.concat(chunks)); };
    gunzip.on('data', (chunk: Buffer) => { chunks.push(chunk); length += chunk.length; if (length >= 16) finish(); });
    gunzip.on('end', finish);
    gunzip.on('error', (error) => (length >= 16 ? finish() : reject(error)));
    gunzip.end(bytes);
  }).catch((error: unknown) => {
    throw new FormatError(`corrupt SPZ gzip stream: ${error instanceof Error ? error.message : String(error)}.`, { file, cause: error });
  });
  if (head.length < 16) throw new FormatError(`truncated SPZ: the gzip stream holds ${head.length} bytes, the header alone is 16.`, { file });
  const magic = head.readUInt32LE(0), version = head.readUInt32LE(4), numPoints = head.readUInt32LE(8), shDegree = head.readUInt8(12);
  if (magic !== NGSP_MAGIC) throw new FormatError('not an SPZ file (gzip stream without the NGSP magic).', { file });
  if (version < 1 || version > 3) throw new FormatError(`unsupported legacy SPZ version ${version} (expected 1..3).`, { file });
  if (shDegree > 3) throw new FormatError(`SPZ SH degree ${shDegree} is not 0..3.`, { file });
  const expected = numPoints * (MIN_BYTES_PER_POINT - 1 + SH_PER_DEGREE[shDegree]!);
  if (expected > bytes.length * DEFLATE_MAX_RATIO) {
    throw new FormatError(`SPZ header announces ${numPoints} points (${expected} bytes decoded), more than ${bytes.length} gzip bytes can hold.`, { file });
  }
  return numPoints;
}
