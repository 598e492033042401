/**
 * download.ts against a real loopback HTTP server (node:http on 127.0.0.1, random port) serving bytes with
 * Range support: full download, resume after a dropped connection, a server that ignores Range, checksum
 * mismatch, 404 and connection refused.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ProgressEvent } from '../core/context.ts';
import { AbortError, ModelError } from '../core/errors.ts';
import { sha256File, verifyFileChecksum } from './checksum.ts';
import { DownloadFailedError, downloadFile, partPathFor } from './download.ts';


// The loopback server: /file (Range-aware), /norange (ignores Range), /drop-once (first request sends half the
// bytes, then drops the connection), anything else 404. Every request is recorded with its Range header.
interface RecordedRequest {
  readonly path: string;
  readonly range: string | undefined;
}

interface RangeServer {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

function sendRange(req: IncomingMessage, res: ServerResponse, body: Uint8Array): void {
  const range = req.headers.range;
  const match = range === undefined ? null : /^bytes=(\d+)-$/.exec(range);
  if (match !== null) {
    const start = Number(match[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` });
      res.end();
      return;
    }
    res.writeHead(206, {
      'Content-Length': String(body.length - start),
      'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`,
      'Accept-Ranges': 'bytes',
    });
    res.end(body.subarray(start));
    return;
  }
  res.writeHead(200, { 'Content-Length': String(body.length), 'Accept-Ranges': 'bytes' });
  res.end(body);
}

async function startRangeServer(body: Uint8Array): Promise<RangeServer> {
  const requests: RecordedRequest[] = [];
  let dropped = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ path: url.pathname, range: req.headers.range });
    switch (url.pathname) {
      case '/file':
        sendRange(req, res, body);
        return;
      case '/norange':
        res.writeHead(200, { 'Content-Length': String(body.length) });
        res.end(body);
        return;
      case '/drop-once':
        if (!dropped) {
          dropped = true;
          res.writeHead(200, { 'Content-Length': String(body.length) });
          res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
            setTimeout(() => res.socket?.destroy(), 20);
          });
          return;
        }
        sendRange(req, res, body);
        return;
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A URL on 127.0.0.1 that refuses connections (a port that was just freed). */
async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/model.onnx`;
}

const BODY = new Uint8Array(300_000).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
const BODY_SHA = createHash('sha256').update(BODY).digest('hex');

describe('downloadFile (loopback server)', () => {
  let server: RangeServer;
  let dir: string;

  before(async () => {
    server = await startRangeServer(BODY);
    dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-download-'));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads, verifies the sha256, reports byte progress and renames into place', async () => {
    const dest = path.join(dir, 'full', 'model.onnx');
    const events: ProgressEvent[] = [];
    const result = await downloadFile({ urls: [`${server.baseUrl}/file`], dest, sha256: BODY_SHA, sizeBytes: BODY.length, item: 'm' },
      { onProgress: (e) => events.push(e) });
    assert.equal(result.path, dest);
    assert.equal(result.verified, true);
    assert.equal(result.bytes, BODY.length);
    assert.deepEqual(new Uint8Array(await readFile(dest)), BODY);
    assert.equal(existsSync(partPathFor(dest)), false);
    assert.ok(events.length >= 2);
    for (const e of events) {
      assert.equal(e.stage, 'download');
      assert.equal(e.unit, 'bytes');
      assert.equal(e.total, BODY.length);
      assert.equal(e.item, 'm');
    }
    assert.equal(events.at(-1)!.done, BODY.length);
  });

  it('keeps the .part when the connection drops, and the next call resumes it with a Range request', async () => {
    const dest = path.join(dir, 'resume', 'model.onnx');
    const url = `${server.baseUrl}/drop-once`;
    await assert.rejects(downloadFile({ urls: [url], dest, sha256: BODY_SHA, retries: 0 }), (error: unknown) => {
      assert.ok(error instanceof DownloadFailedError);
      assert.match(error.message, /transfer broke|connection closed/);
      return true;
    });
    assert.equal(existsSync(dest), false, 'no final file after a failed attempt');
    const partial = (await readFile(partPathFor(dest))).length;
    assert.ok(partial > 0 && partial < BODY.length, `partial size ${partial}`);

    const events: ProgressEvent[] = [];
    const result = await downloadFile({ urls: [url], dest, sha256: BODY_SHA }, { onProgress: (e) => events.push(e) });
    assert.equal(result.verified, true);
    assert.equal(await sha256File(dest), BODY_SHA);
    const last = server.requests.filter((r) => r.path === '/drop-once').at(-1)!;
    assert.equal(last.range, `bytes=${partial}-`);
    assert.equal(events[0]!.done, partial, 'progress starts at the resumed offset');
    assert.equal(existsSync(partPathFor(dest)), false);
  });

  it('retries within one call after a drop, resuming from the partial file', async () => {
    const local = await startRangeServer(BODY);
    try {
      const dest = path.join(dir, 'retry', 'model.onnx');
      const result = await downloadFile({ urls: [`${local.baseUrl}/drop-once`], dest, sha256: BODY_SHA, retries: 1 });
      assert.equal(result.verified, true);
      assert.deepEqual(local.requests.map((r) => r.range === undefined ? 'full' : 'range'), ['full', 'range']);
    } finally {
      await local.close();
    }
  });

  it('restarts from zero when the server ignores Range (200 instead of 206)', async () => {
    const dest = path.join(dir, 'norange', 'model.onnx');
    await mkdir(path.dirname(dest), { recursive: true });
    // A stale prefix with wrong bytes: if it were kept, the hash would not match.
    await writeFile(partPathFor(dest), new Uint8Array(1000).fill(7));
    const result = await downloadFile({ urls: [`${server.baseUrl}/norange`], dest, sha256: BODY_SHA });
    assert.equal(result.verified, true);
    assert.deepEqual(new Uint8Array(await readFile(dest)), BODY);
    assert.equal(server.requests.filter((r) => r.path === '/norange').at(-1)!.range, 'bytes=1000-');
  });

  it('a checksum mismatch is a ModelError naming the file and both hashes; the .part is removed', async () => {
    const dest = path.join(dir, 'mismatch', 'model.onnx');
    const wrong = 'a'.repeat(64);
    await assert.rejects(downloadFile({ urls: [`${server.baseUrl}/file`], dest, sha256: wrong }), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.ok(!(error instanceof DownloadFailedError));
      assert.ok(error.message.includes(dest));
      assert.ok(error.message.includes(wrong));
      assert.ok(error.message.includes(BODY_SHA));
      return true;
    });
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(partPathFor(dest)), false);
  });

  it('a 404 is reported per URL, and the next URL is tried', async () => {
    const dest = path.join(dir, 'fallback', 'model.onnx');
    const result = await downloadFile({ urls: [`${server.baseUrl}/missing`, `${server.baseUrl}/file`], dest, sha256: BODY_SHA });
    assert.equal(result.url, `${server.baseUrl}/file`);
    const dest2 = path.join(dir, 'only404', 'model.onnx');
    await assert.rejects(downloadFile({ urls: [`${server.baseUrl}/missing`], dest: dest2 }), (error: unknown) => {
      assert.ok(error instanceof DownloadFailedError);
      assert.match(error.message, /HTTP 404/);
      assert.deepEqual(error.attempts.map((a) => a.url), [`${server.baseUrl}/missing`]);
      return true;
    });
    assert.equal(existsSync(dest2), false);
  });

  it('connection refused is reported in words, with no file left behind', async () => {
    const url = await refusedUrl();
    const dest = path.join(dir, 'refused', 'model.onnx');
    await assert.rejects(downloadFile({ urls: [url], dest }), (error: unknown) => {
      assert.ok(error instanceof DownloadFailedError);
      assert.match(error.message, /connection refused/);
      assert.ok(error.message.includes(url));
      return true;
    });
    assert.equal(existsSync(dest), false);
  });

  it('an already-aborted signal stops the download with AbortError', async () => {
    const dest = path.join(dir, 'abort', 'model.onnx');
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(downloadFile({ urls: [`${server.baseUrl}/file`], dest }, { signal: controller.signal }), AbortError);
    assert.equal(existsSync(dest), false);
  });

  it('an unverified download (no known sha256) still lands, with a warning', async () => {
    const dest = path.join(dir, 'unverified', 'model.onnx');
    const warnings: string[] = [];
    const result = await downloadFile({ urls: [`${server.baseUrl}/file`], dest },
      { log: { debug() {}, info() {}, warn: (m) => warnings.push(m) } });
    assert.equal(result.verified, false);
    assert.equal(result.sha256, BODY_SHA);
    assert.ok(warnings.some((w) => w.includes('not verified')));
  });

  it('verifyFileChecksum accepts the right hash and names the file on a wrong one', async () => {
    const dest = path.join(dir, 'full', 'model.onnx');
    await verifyFileChecksum(dest, BODY_SHA);
    await assert.rejects(verifyFileChecksum(dest, '0'.repeat(64)), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.ok(error.message.includes(dest) && error.message.includes(BODY_SHA));
      return true;
    });
  });
});
