/**
 * splat-dotsplat: the antimatter15 `.splat` layout, a headerless array of 32-byte records: float32 x y z, float32
 * linear scales, uint8 r g b opacity, uint8 quaternion w x y z as q * 128 + 128. Axes as stored by 3DGS (RDF:
 * x right, y down, z forward), as splat-transform and the antimatter15 converter write them. No SH beyond
 * colour, no semantics. Quantisation: colour and opacity 1/255 (truncated), rotations 1/128 per component.
 *
 * Both directions go through @playcanvas/splat-transform (its streaming `.splat` writer and reader).
 */
import { FormatError, InputError } from '../../core/errors.ts';
import type { GaussianSet } from '../../core/gaussians.ts';
import { dataTableFromGaussians, gaussiansFromDataTable } from './splat-table.ts';
import { loadSplatTransform } from './splat-transform-lib.ts';

export const DOTSPLAT_RECORD_BYTES = 32;
/** Gaussians per chunk in splat-transform's streaming reader and writer. */
const CHUNK_SIZE = 1 << 16;

export async function encodeSplatDotsplat(set: GaussianSet): Promise<Uint8Array> {
  const lib = await loadSplatTransform();
  const { createChunkDataPool, dataTableToChunkSource, MemoryFileSystem, writeSource } = lib;
  const pool = createChunkDataPool({ chunkSize: CHUNK_SIZE });
  const source = dataTableToChunkSource(dataTableFromGaussians(lib, set), CHUNK_SIZE);
  const fs = new MemoryFileSystem();
  try {
    await writeSource({ filename: 'splat.splat', outputFormat: 'splat', source, pool, options: {} }, fs);
  } finally {
    source.close();
    pool.destroy();
  }
  const bytes = fs.results.get('splat.splat');
  if (bytes === undefined) throw new InputError('splat-transform wrote no .splat file.');
  return bytes;
}

export async function decodeSplatDotsplat(bytes: Uint8Array, name = 'splat.splat'): Promise<GaussianSet> {
  if (bytes.length % DOTSPLAT_RECORD_BYTES !== 0) {
    throw new FormatError(`invalid .splat file: its size (${bytes.length} bytes) is not a multiple of ${DOTSPLAT_RECORD_BYTES} (truncated?).`,
      { file: name, byteOffset: bytes.length - (bytes.length % DOTSPLAT_RECORD_BYTES) });
  }
  const lib = await loadSplatTransform();
  const { createChunkDataPool, materializeToDataTable, MemoryReadFileSystem, readFile } = lib;
  const fileSystem = new MemoryReadFileSystem();
  fileSystem.set('in.splat', bytes);
  const pool = createChunkDataPool({ chunkSize: CHUNK_SIZE });
  const sources = await readFile({ filename: 'in.splat', inputFormat: 'splat', fileSystem });
  try {
    const source = sources[0];
    if (sources.length !== 1 || source === undefined) throw new FormatError(`expected one splat scene, splat-transform read ${sources.length}.`, { file: name });
    return gaussiansFromDataTable(lib, await materializeToDataTable(source, pool), 'world', name);
  } finally {
    for (const s of sources) s.close();
    pool.destroy();
  }
}
