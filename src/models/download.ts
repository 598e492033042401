/**
 * Resumable, verified downloads of model files.
 *
 * Bytes stream into `<dest>.part`; a later call resumes from its size with an HTTP Range request (a server
 * that ignores Range and answers 200 restarts the file). The sha256 covers the whole file, resumed prefix
 * included, and only a verified file is renamed to `dest`, so `dest` never holds a partial or wrong file.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RunContext } from '../core/context.ts';
import { AbortError, ModelError, isToolkitError, throwIfAborted } from '../core/errors.ts';
import { checksumMismatchError, createSha256, updateHashFromFile } from './checksum.ts';

export interface DownloadOptions {
  /** Mirrors of the same bytes, tried in order. */
  readonly urls: readonly string[];
  /** Final path; `<dest>.part` holds the bytes until they are verified. */
  readonly dest: string;
  /** Expected lower-case hex sha256; without it the file is kept unverified (and a warning is logged). */
  readonly sha256?: string;
  readonly sizeBytes?: number;
  readonly fetchImpl?: typeof fetch;
  /** Extra attempts per URL after a transfer broke mid-way (each resumes); default 2. */
  readonly retries?: number;
  /** What progress events are about (a model id or file name); default the file name. */
  readonly item?: string;
}

export interface DownloadResult {
  readonly path: string;
  readonly url: string;
  readonly bytes: number;
  readonly sha256: string;
  /** True when an expected sha256 was given and matched. */
  readonly verified: boolean;
}

export interface DownloadAttempt {
  readonly url: string;
  readonly reason: string;
}

/** Every URL failed (network, HTTP status, broken transfers). `attempts` says why, per URL. */
export class DownloadFailedError extends ModelError {
  readonly attempts: readonly DownloadAttempt[];
  constructor(message: string, attempts: readonly DownloadAttempt[], options: { file?: string } = {}) {
    super(message, options);
    this.attempts = attempts;
  }
}

/** One attempt failed in a way another attempt (or URL) may fix. */
class AttemptFailure extends Error {
  constructor(message: string, readonly retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const PROGRESS_INTERVAL_MS = 100;

export function partPathFor(dest: string): string {
  return `${dest}.part`;
}

/** Downloads `urls[i]` to `dest` (first that works), resuming `<dest>.part`, verifying sha256, renaming atomically. */
export async function downloadFile(options: DownloadOptions, context: RunContext = {}): Promise<DownloadResult> {
  if (options.urls.length === 0) throw new ModelError('no download URL is known for this file', { file: options.dest });
  const fetchImpl = options.fetchImpl ?? globalThis.fetch;
  const expected = options.sha256?.toLowerCase();
  await mkdir(path.dirname(options.dest), { recursive: true });
  const attempts: DownloadAttempt[] = [];
  for (const url of options.urls) {
    let retriesLeft = options.retries ?? 2;
    for (;;) {
      throwIfAborted(context.signal);
      try {
        const result = await attemptDownload(url, options, fetchImpl, expected, context);
        if (expected === undefined) {
          context.log?.warn(`${path.basename(options.dest)}: no sha256 is known for this file, so it was not verified (sha256 ${result.sha256}).`);
        }
        return result;
      } catch (error) {
        if (!(error instanceof AttemptFailure)) throw error;
        if (error.retryable && retriesLeft > 0) {
          retriesLeft -= 1;
          context.log?.info(`${url}: ${error.message}; retrying (resuming from the partial file).`);
          continue;
        }
        attempts.push({ url, reason: error.message });
        context.log?.warn(`${url}: ${error.message}`);
        break;
      }
    }
  }
  const tried = attempts.map((a) => `  ${a.url}: ${a.reason}`).join('\n');
  throw new DownloadFailedError(`could not download ${path.basename(options.dest)}. Tried:\n${tried}`, attempts, { file: options.dest });
}

async function sizeOf(filePath: string): Promise<number | undefined> {
  try {
    return (await stat(filePath)).size;
  } catch {
    return undefined;
  }
}

/** Why a fetch failed, in words a user can act on (connection refused, unknown host, ...). */
export function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  const code = (cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown } | undefined)?.code;
  const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  const hints: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found (offline?)',
    EAI_AGAIN: 'DNS lookup failed (offline?)',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    ENETUNREACH: 'network unreachable (offline?)',
    UND_ERR_SOCKET: 'connection closed by the server',
  };
  const hint = typeof code === 'string' ? hints[code] : undefined;
  return hint !== undefined ? `${hint} (${String(code)})` : message;
}

function parseContentRange(header: string | null): { start: number; total: number | undefined } | undefined {
  const match = header === null ? null : /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header.trim());
  if (match === null) return undefined;
  return { start: Number(match[1]), total: match[3] === '*' ? undefined : Number(match[3]) };
}

function abortedError(context: RunContext): AbortError {
  return new AbortError('download cancelled', { cause: context.signal?.reason });
}

async function attemptDownload(
  url: string,
  options: DownloadOptions,
  fetchImpl: typeof fetch,
  expected: string | undefined,
  context: RunContext,
): Promise<DownloadResult> {
  const part = partPathFor(options.dest);
  const item = options.item ?? path.basename(options.dest);
  let offset = (await sizeOf(part)) ?? 0;
  if (options.sizeBytes !== undefined && offset > options.sizeBytes) {
    await rm(part, { force: true });
    offset = 0;
  }

  let response: Response;
  try {
    response = await fetchImpl(url, {
      headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
      redirect: 'follow',
      ...(context.signal !== undefined ? { signal: context.signal } : {}),
    });
  } catch (error) {
    if (context.signal?.aborted) throw abortedError(context);
    throw new AttemptFailure(describeNetworkError(error), false, { cause: error });
  }

  if (response.status === 416 && offset > 0) {
    // The partial file may already be complete; check it, else start over.
    await response.body?.cancel().catch(() => {});
    const hash = createSha256();
    await updateHashFromFile(hash, part, context.signal);
    const actual = hash.digest('hex');
    const complete = expected !== undefined ? actual === expected : options.sizeBytes === offset;
    if (complete) return finish(part, options.dest, url, offset, actual, expected);
    await rm(part, { force: true });
    throw new AttemptFailure(`the server refused to resume at byte ${offset}`, true);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    throw new AttemptFailure(status, response.status >= 500);
  }
  if (response.body === null) throw new AttemptFailure('the server sent no body', true);

  const contentLength = response.headers.get('content-length');
  const length = contentLength !== null && /^\d+$/.test(contentLength) ? Number(contentLength) : undefined;
  let append = false;
  let total: number | undefined;
  if (response.status === 206 && offset > 0) {
    const range = parseContentRange(response.headers.get('content-range'));
    if (range === undefined || range.start !== offset) {
      await response.body.cancel().catch(() => {});
      await rm(part, { force: true });
      throw new AttemptFailure('the server resumed at the wrong offset', true);
    }
    append = true;
    total = range.total ?? (length !== undefined ? offset + length : undefined);
  } else {
    if (offset > 0) context.log?.debug(`${url}: the server ignored the Range request; downloading from the start.`);
    offset = 0;
    total = response.status === 206 ? undefined : length;
  }
  total ??= options.sizeBytes;

  const hash = createSha256();
  if (append) await updateHashFromFile(hash, part, context.signal, offset);

  const out = createWriteStream(part, { flags: append ? 'a' : 'w' });
  const outError = new Promise<never>((_, reject) => out.once('error', reject));
  outError.catch(() => {});
  let done = offset;
  let lastEmit = 0;
  const emit = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - lastEmit < PROGRESS_INTERVAL_MS) return;
    lastEmit = now;
    context.onProgress?.({ stage: 'download', done, unit: 'bytes', item, ...(total !== undefined ? { total } : {}) });
  };
  emit(true);
  const startedAt = offset;
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      if (context.signal?.aborted) throw abortedError(context);
      hash.update(chunk);
      done += chunk.byteLength;
      if (!out.write(chunk)) await Promise.race([once(out, 'drain'), outError]);
      emit(false);
    }
    out.end();
    await Promise.race([once(out, 'finish'), outError]);
  } catch (error) {
    out.destroy();
    await once(out, 'close').catch(() => {});
    if (context.signal?.aborted) throw abortedError(context);
    if (isToolkitError(error)) throw error;
    if ((error as { code?: unknown }).code !== undefined && (error as { syscall?: unknown }).syscall !== undefined) {
      // A local write error (disk full, permissions): not something another URL fixes.
      throw new ModelError(`could not write ${part}: ${(error as Error).message}`, { file: options.dest, cause: error });
    }
    throw new AttemptFailure(`transfer broke after ${done} bytes (${describeNetworkError(error)})`, done > startedAt, { cause: error });
  }
  emit(true);
  if (total !== undefined && done < total) {
    throw new AttemptFailure(`connection closed after ${done} of ${total} bytes`, done > startedAt);
  }
  const actual = hash.digest('hex');
  if (expected === undefined && options.sizeBytes !== undefined && done !== options.sizeBytes) {
    await rm(part, { force: true });
    throw new ModelError(`size mismatch: expected ${options.sizeBytes} bytes, got ${done} from ${url}.`, { file: options.dest });
  }
  return finish(part, options.dest, url, done, actual, expected);
}

async function finish(part: string, dest: string, url: string, bytes: number, actual: string, expected: string | undefined): Promise<DownloadResult> {
  if (expected !== undefined && actual !== expected) {
    await rm(part, { force: true });
    const error = checksumMismatchError(dest, expected, actual);
    throw new ModelError(`${error.message} (downloaded from ${url})`, { file: dest });
  }
  await rename(part, dest);
  return { path: dest, url, bytes, sha256: actual, verified: expected !== undefined };
}
