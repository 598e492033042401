/**
 * Atomic file output: a reader never sees a half-written file. Bytes go to a temporary file in the same folder
 * (so the rename stays on one file system), are fsynced, then renamed over the destination. On any failure the
 * temporary file is removed and the destination keeps what it had before.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { OutputError } from '../core/errors.ts';

/** What writeFileAtomic accepts: bytes, a UTF-8 string, or chunks written in order (e.g. a header then a body). */
export type AtomicWriteData = Uint8Array | string | Iterable<Uint8Array>;

/**
 * Writes `data` to `filePath` atomically (temp file in the same folder, fsync, rename; best-effort fsync of the
 * folder). The folder must exist: call ensureWritableDir first. Throws OutputError naming the file.
 */
export async function writeFileAtomic(filePath: string, data: AtomicWriteData): Promise<void> {
  const dir = path.dirname(path.resolve(filePath));
  const tempPath = path.join(dir, `.${path.basename(filePath)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(tempPath, 'wx', 0o666);
    if (typeof data === 'string' || data instanceof Uint8Array) {
      await handle.writeFile(data);
    } else {
      for (const chunk of data) await writeAll(handle, chunk);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tempPath, filePath);
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => {});
    await rm(tempPath, { force: true }).catch(() => {});
    throw new OutputError(`cannot write file: ${describeWriteError(error)}.`, { file: filePath, cause: error });
  }
  await syncDir(dir);
}

/**
 * Makes sure `dir` exists (creating parents) and that files can be created in it, by creating and removing a
 * probe file, which also catches read-only file systems and permission rules that `access()` misreports for root.
 * Throws OutputError naming the folder.
 */
export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new OutputError(`cannot create output folder: ${describeWriteError(error)}.`, { file: dir, cause: error });
  }
  let isDirectory = false;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (error) {
    throw new OutputError(`cannot use output folder: ${describeWriteError(error)}.`, { file: dir, cause: error });
  }
  if (!isDirectory) throw new OutputError('output folder path is a file, not a folder.', { file: dir });
  const probe = path.join(dir, `.anyview-write-test.${process.pid}.${randomBytes(6).toString('hex')}`);
  try {
    const handle = await open(probe, 'wx');
    await handle.close();
  } catch (error) {
    throw new OutputError(`output folder is not writable: ${describeWriteError(error)}.`, { file: dir, cause: error });
  } finally {
    await rm(probe, { force: true }).catch(() => {});
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** fsync the folder so the rename itself is durable; not possible everywhere (e.g. Windows), so best effort. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Ignored: the data is already fsynced and renamed.
  } finally {
    await handle?.close().catch(() => {});
  }
}

function describeWriteError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return 'the folder does not exist';
    case 'ENOTDIR': return 'a part of the path is a file, not a folder';
    case 'EEXIST': return 'a file with that name is in the way';
    case 'EISDIR': return 'the destination is a folder';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EROFS': return 'read-only file system';
    case 'ENOSPC': return 'no space left on the device';
    case 'EDQUOT': return 'disk quota exceeded';
    default: return error instanceof Error ? error.message : String(error);
  }
}
