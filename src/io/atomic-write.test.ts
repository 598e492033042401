import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OutputError } from '../core/errors.ts';
import { ensureWritableDir, writeFileAtomic } from './atomic-write.ts';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-atomic-'));
  try { await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

test('writes bytes, strings and chunk sequences, replacing an existing file, leaving no temp files', async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'out.bin');
    await writeFileAtomic(file, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...await readFile(file)], [1, 2, 3]);
    await writeFileAtomic(file, 'héllo\n');
    assert.equal(await readFile(file, 'utf8'), 'héllo\n');
    await writeFileAtomic(file, [new Uint8Array([9]), new Uint8Array(0), new Uint8Array([8, 7])]);
    assert.deepEqual([...await readFile(file)], [9, 8, 7]);
    const big = new Uint8Array(3_000_000).map((_, i) => i * 31);
    await writeFileAtomic(file, big);
    assert.ok(Buffer.from(big).equals(await readFile(file)));
    assert.deepEqual(await readdir(dir), ['out.bin']);
  });
});

test('a failure part-way through leaves the old file intact and no temp file behind', async () => {
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'depth.npy');
    await writeFile(file, 'previous');
    const boom = new Error('encoder crashed');
    function* chunks(): Generator<Uint8Array> {
      yield new Uint8Array(1000).fill(1);
      throw boom;
    }
    await assert.rejects(writeFileAtomic(file, chunks()), (error: unknown) => {
      assert.ok(error instanceof OutputError);
      assert.equal(error.cause, boom);
      assert.ok(error.message.startsWith(`${file}: cannot write file`), error.message);
      return true;
    });
    assert.equal(await readFile(file, 'utf8'), 'previous');
    assert.deepEqual(await readdir(dir), ['depth.npy']);
    // Same for a file that did not exist before: it must not appear at all.
    const fresh = path.join(dir, 'fresh.ply');
    await assert.rejects(writeFileAtomic(fresh, chunks()), OutputError);
    await assert.rejects(stat(fresh), { code: 'ENOENT' });
    assert.deepEqual(await readdir(dir), ['depth.npy']);
  });
});

test('a destination that is a folder, or a missing folder, is an OutputError naming the path', async () => {
  await withTempDir(async (dir) => {
    const folder = path.join(dir, 'taken');
    await mkdir(folder);
    await assert.rejects(writeFileAtomic(folder, 'x'), (error: unknown) => {
      assert.ok(error instanceof OutputError);
      assert.match(error.message, /taken: cannot write file: the destination is a folder\./);
      return true;
    });
    assert.deepEqual(await readdir(dir), ['taken'], 'temp file removed after the failed rename');
    const nowhere = path.join(dir, 'missing', 'out.png');
    await assert.rejects(writeFileAtomic(nowhere, 'x'), /missing\/out\.png: cannot write file: the folder does not exist/);
  });
});

test('ensureWritableDir creates nested folders and refuses paths that cannot be folders', async () => {
  await withTempDir(async (dir) => {
    const nested = path.join(dir, 'a', 'b', 'c');
    await ensureWritableDir(nested);
    assert.ok((await stat(nested)).isDirectory());
    assert.deepEqual(await readdir(nested), [], 'the probe file is removed');
    await ensureWritableDir(nested); // idempotent

    // A folder below a regular file cannot be created, even by root.
    const file = path.join(dir, 'plain.txt');
    await writeFile(file, 'x');
    const under = path.join(file, 'sub');
    await assert.rejects(ensureWritableDir(under), (error: unknown) => {
      assert.ok(error instanceof OutputError);
      assert.equal(error.message, `${under}: cannot create output folder: a part of the path is a file, not a folder.`);
      assert.equal(error.exitCode, 6);
      return true;
    });
    await assert.rejects(ensureWritableDir(file), (error: unknown) => {
      assert.ok(error instanceof OutputError);
      assert.ok(error.message.includes(file));
      return true;
    });
  });
});

test('ensureWritableDir refuses a read-only folder (non-root only: root ignores permission bits)', { skip: process.getuid?.() === 0 }, async () => {
  await withTempDir(async (dir) => {
    const locked = path.join(dir, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o500);
    try {
      await assert.rejects(ensureWritableDir(locked), /locked: output folder is not writable: permission denied/);
    } finally {
      await chmod(locked, 0o700);
    }
  });
});
