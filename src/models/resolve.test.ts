import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError, ModelError } from '../core/errors.ts';
import { getModelSpec, selectFile } from './registry.ts';
import { cachePathFor, looksLikePath, resolveModel, MODEL_DIR_ENV } from './resolve.ts';

/** A URL on 127.0.0.1 that refuses connections (a port that was just freed). */
async function refusedBase(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** fetch that sends every request to `base` instead of the hub (keeping the path). */
function redirectedFetch(base: string, seen: string[]): typeof fetch {
  return (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    seen.push(url);
    return fetch(`${base}${new URL(url).pathname}`, init);
  };
}

describe('resolveModel', () => {
  let root: string;
  let modelDir: string;
  let cacheDir: string;
  const spec = getModelSpec('depth-anything-v2-small');
  const file = selectFile(spec);

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'anyview-resolve-'));
    modelDir = path.join(root, 'modeldir');
    cacheDir = path.join(root, 'cache');
    await mkdir(modelDir, { recursive: true });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('recognises path-like arguments', () => {
    assert.equal(looksLikePath('depth-anything-v2-small'), false);
    for (const p of ['./m.onnx', 'models/m', 'm.ONNX', '~/m', 'C:\\m']) assert.equal(looksLikePath(p), true, p);
  });

  it('an explicit path wins, and a missing one is an InputError', async () => {
    const explicit = path.join(root, 'my-model.onnx');
    await writeFile(explicit, 'x');
    const resolved = await resolveModel(explicit, { allowDownload: false, modelDir, cacheDir });
    assert.deepEqual(resolved, { path: explicit, source: 'path' });
    await assert.rejects(resolveModel(path.join(root, 'nope.onnx'), { allowDownload: false }), InputError);
  });

  it('an unknown id is an InputError listing the known ids', async () => {
    await assert.rejects(resolveModel('depth-anything-v7', { allowDownload: false }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.ok(error.message.includes('depth-anything-v2-small') && error.message.includes('da3mono-large'));
      return true;
    });
  });

  it('looks in ANYVIEW_MODEL_DIR (<dir>/<id>/<file>, then <dir>/<file>) before the cache', async () => {
    const cached = cachePathFor(cacheDir, spec, file);
    await mkdir(path.dirname(cached), { recursive: true });
    await writeFile(cached, 'cache');
    // Cache size does not match the registry's 99 MB, so it is ignored: nothing local yet.
    await assert.rejects(resolveModel(spec.id, { allowDownload: false, cacheDir }), ModelError);

    const flat = path.join(modelDir, file.fileName);
    await writeFile(flat, 'flat');
    let resolved = await resolveModel(spec.id, { allowDownload: false, modelDir, cacheDir });
    assert.equal(resolved.source, 'modelDir');
    assert.equal(resolved.path, flat);
    assert.equal(resolved.spec?.id, spec.id);
    assert.equal(resolved.file?.fileName, 'model.onnx');

    const nested = path.join(modelDir, spec.id, file.fileName);
    await mkdir(path.dirname(nested), { recursive: true });
    await writeFile(nested, 'nested');
    resolved = await resolveModel(spec.id, { allowDownload: false, modelDir, cacheDir });
    assert.equal(resolved.path, nested);
  });

  it('finds another exporter\'s file of the same variant, and the variant picks the file', async () => {
    const dir = path.join(root, 'alt');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'depth_anything_v2_vits_dynamic.onnx'), 'fabio');
    await writeFile(path.join(dir, 'model_fp16.onnx'), 'fp16');
    const fp32 = await resolveModel(spec.id, { allowDownload: false, modelDir: dir, cacheDir: path.join(root, 'empty') });
    assert.equal(path.basename(fp32.path), 'depth_anything_v2_vits_dynamic.onnx');
    assert.equal(fp32.file?.contract?.inputName, 'image');
    const fp16 = await resolveModel(spec.id, { variant: 'fp16', allowDownload: false, modelDir: dir, cacheDir: path.join(root, 'empty') });
    assert.equal(path.basename(fp16.path), 'model_fp16.onnx');
  });

  it('uses the cache when the file there has the registry size (or no size is known)', async () => {
    const metric = getModelSpec('da3metric-large');
    const metricFile = selectFile(metric);
    const cached = cachePathFor(cacheDir, metric, metricFile);
    await mkdir(path.dirname(cached), { recursive: true });
    await writeFile(cached, 'cached model');
    const resolved = await resolveModel('da3metric-large', { allowDownload: false, modelDir: path.join(root, 'empty'), cacheDir });
    assert.equal(resolved.source, 'cache');
    assert.equal(resolved.path, path.join(cacheDir, 'models', 'da3metric-large', 'da3metric_large.onnx'));
  });

  it('offline with no local copy: a ModelError with the URL, the exact cache path and the ANYVIEW_MODEL_DIR alternative', async () => {
    const emptyCache = path.join(root, 'offline-cache');
    await assert.rejects(resolveModel('depth-anything-v2-base', { allowDownload: false, cacheDir: emptyCache }), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.match(error.message, /offline/);
      assert.ok(error.message.includes('https://huggingface.co/onnx-community/depth-anything-v2-base/resolve/main/onnx/model.onnx'));
      assert.ok(error.message.includes(path.join(emptyCache, 'models', 'depth-anything-v2-base', 'model.onnx')));
      assert.ok(error.message.includes(MODEL_DIR_ENV));
      return true;
    });
  });

  it('unreachable hub: the ModelError says which URLs were tried and why, and where to put the file', async () => {
    const base = await refusedBase();
    const seen: string[] = [];
    const emptyCache = path.join(root, 'unreachable-cache');
    await assert.rejects(resolveModel(spec.id, { allowDownload: true, cacheDir: emptyCache, fetchImpl: redirectedFetch(base, seen) }),
      (error: unknown) => {
        assert.ok(error instanceof ModelError);
        assert.match(error.message, /URLs tried/);
        assert.match(error.message, /connection refused/);
        for (const candidate of [selectFile(spec), ...spec.files.filter((f) => f.variant === 'fp32')]) {
          for (const url of candidate.urls) assert.ok(error.message.includes(url), url);
        }
        assert.ok(error.message.includes(cachePathFor(emptyCache, spec, file)));
        assert.ok(error.message.includes(MODEL_DIR_ENV));
        return true;
      });
    assert.deepEqual(seen, spec.files.filter((f) => f.variant === 'fp32').flatMap((f) => f.urls));
    assert.equal(existsSync(cachePathFor(emptyCache, spec, file)), false);
  });

  it('downloads into <cache>/models/<id>/<file> when nothing is local', async () => {
    const bytes = new TextEncoder().encode('pretend onnx bytes');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(bytes.length) });
      res.end(bytes);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const seen: string[] = [];
      const downloadCache = path.join(root, 'download-cache');
      // da3metric-large has no known sha256/size, so arbitrary bytes are accepted (with a warning).
      const resolved = await resolveModel('da3metric-large', {
        allowDownload: true, cacheDir: downloadCache, fetchImpl: redirectedFetch(`http://127.0.0.1:${port}`, seen),
      });
      assert.equal(resolved.source, 'download');
      assert.equal(resolved.path, path.join(downloadCache, 'models', 'da3metric-large', 'da3metric_large.onnx'));
      assert.deepEqual(new Uint8Array(await readFile(resolved.path)), bytes);
      assert.deepEqual(seen, selectFile(getModelSpec('da3metric-large')).urls);
      const again = await resolveModel('da3metric-large', { allowDownload: true, cacheDir: downloadCache });
      assert.equal(again.source, 'cache');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a download with the wrong bytes fails on the checksum and leaves no file in the cache', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': '5' });
      res.end('wrong');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const mismatchCache = path.join(root, 'mismatch-cache');
      const v1 = getModelSpec('depth-anything-v1-small');
      await assert.rejects(resolveModel(v1.id, {
        variant: 'int8', allowDownload: true, cacheDir: mismatchCache, fetchImpl: redirectedFetch(`http://127.0.0.1:${port}`, []),
      }), (error: unknown) => {
        assert.ok(error instanceof ModelError);
        assert.match(error.message, /size mismatch|checksum mismatch/);
        return true;
      });
      assert.equal(existsSync(cachePathFor(mismatchCache, v1, selectFile(v1, 'int8'))), false);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
