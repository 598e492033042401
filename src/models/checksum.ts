/**
 * sha256 of model files: streaming hashes and the one error every checksum mismatch raises.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { throwIfAborted, ModelError } from '../core/errors.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}

export function createSha256(): Hash {
  return createHash('sha256');
}

/** Feeds a file's bytes (optionally only the first `length`) into a hash, streaming. */
export async function updateHashFromFile(hash: Hash, filePath: string, signal?: AbortSignal, length?: number): Promise<number> {
  if (length === 0) return 0;
  const stream = createReadStream(filePath, length !== undefined ? { start: 0, end: length - 1 } : {});
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      throwIfAborted(signal);
      const buffer = chunk as Buffer;
      hash.update(buffer);
      bytes += buffer.length;
    }
  } finally {
    stream.destroy();
  }
  return bytes;
}

/** Lower-case hex sha256 of a whole file. */
export async function sha256File(filePath: string, signal?: AbortSignal): Promise<string> {
  const hash = createSha256();
  await updateHashFromFile(hash, filePath, signal);
  return hash.digest('hex');
}

/** The ModelError for a file whose bytes do not hash to what the registry expects. */
export function checksumMismatchError(file: string, expected: string, actual: string): ModelError {
  return new ModelError(`checksum mismatch: expected sha256 ${expected}, got ${actual}. `
    + 'The file is corrupt or not the one the registry names; delete it and download it again.', { file });
}

/** Hashes a file and throws checksumMismatchError when it differs from `expected`. */
export async function verifyFileChecksum(filePath: string, expected: string, signal?: AbortSignal): Promise<void> {
  const actual = await sha256File(filePath, signal);
  if (actual !== expected.toLowerCase()) throw checksumMismatchError(filePath, expected.toLowerCase(), actual);
}
