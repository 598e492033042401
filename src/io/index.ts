/** io/: image decoding, output formats and safe file writing. */
import { writeFileAtomic } from './atomic-write.ts';
import { sidecarPath, type EncodedFile } from './formats/index.ts';

export * from './decode-image.ts';
export * from './atomic-write.ts';
export * from './colormaps.ts';
export * from './formats/index.ts';
export { encodeDepthPng16, decodeDepthPng16, DEPTH_PNG16_TEXT_KEY, type DepthPng16Mapping } from './formats/depth-png16.ts';
export { encodeNpy, decodeNpy, decodeNpyDepth, sniffNpy, type NpyArray, type NpyTypedArray } from './formats/npy.ts';
export {
  colorizeDepth, depthColorCodes, encodeDepthColorPng, percentileOfSorted, encodeRgbPng, DEFAULT_PERCENTILES, type DepthColorOptions, type ColorizedDepth, type DepthColorCodes,
} from './formats/depth-color.ts';
export { encodePly, decodePly, type PlyWriteOptions, type PlyReadResult } from './formats/ply.ts';

/**
 * Writes an encoded file atomically, then its JSON sidecar (if any) at sidecarPath(filePath). Returns the paths
 * written. The folder must exist (ensureWritableDir).
 */
export async function writeEncodedFile(filePath: string, encoded: EncodedFile): Promise<string[]> {
  await writeFileAtomic(filePath, encoded.bytes);
  if (encoded.sidecar === undefined) return [filePath];
  const jsonPath = sidecarPath(filePath);
  await writeFileAtomic(jsonPath, `${JSON.stringify(encoded.sidecar, null, 2)}\n`);
  return [filePath, jsonPath];
}
