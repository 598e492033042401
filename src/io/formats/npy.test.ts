import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FormatError } from '../../core/errors.ts';
import { createDepth } from '../../core/depth.ts';
import { decodeNpy, decodeNpyDepth, encodeNpy, npyFormat } from './npy.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import { DEBIAN_PYTHON, SHARED_DATA_DIR } from '../../../test/helpers/paths.ts';

const havePython = existsSync(DEBIAN_PYTHON);
const UNIDEPTH_K = path.join(SHARED_DATA_DIR, 'unidepth_demo/assets/demo/intrinsics.npy');

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-npy-'));
  try { await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

function depthWithHoles() {
  const width = 7, height = 5;
  const data = Float32Array.from({ length: width * height }, (_, i) => 0.25 + i * 1.125 + (i % 3) * 1e-6);
  data[3] = NaN;
  data[17] = NaN;
  data[20] = -0;
  return createDepth({ kind: 'metricDepth', width, height, data });
}

test('numpy.load reads our float32 depth: dtype, shape, C order, NaN and every value', { skip: !havePython }, async () => {
  await withTempDir(async (dir) => {
    const depth = depthWithHoles();
    const file = path.join(dir, 'depth.npy');
    await writeFileAtomic(file, (await npyFormat.encode(depth)).bytes);
    const result = JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c', [
      'import json, sys, numpy as np',
      'from numpy.lib import format as f',
      'a = np.load(sys.argv[1], allow_pickle=False)',
      'fh = open(sys.argv[1], "rb"); version = f.read_magic(fh); f.read_array_header_1_0(fh); offset = fh.tell()',
      'print(json.dumps({"dtype": a.dtype.str, "shape": list(a.shape), "c": bool(a.flags.c_contiguous),',
      '  "version": list(version), "offset": offset, "nan": np.argwhere(np.isnan(a)).tolist(),',
      '  "values": a.astype(np.float64).tolist(), "signbit": bool(np.signbit(a[2, 6]))}))',
    ].join('\n'), file]).toString().replace(/NaN/g, 'null'));
    assert.equal(result.dtype, '<f4');
    assert.deepEqual(result.shape, [5, 7]);
    assert.equal(result.c, true);
    assert.deepEqual(result.version, [1, 0]);
    assert.equal(result.offset % 64, 0, 'data starts at a multiple of 64');
    assert.deepEqual(result.nan, [[0, 3], [2, 3]]);
    assert.equal(result.signbit, true, '-0 kept bit for bit');
    for (let y = 0; y < 5; y++) {
      for (let x = 0; x < 7; x++) {
        const want = depth.data[y * 7 + x]!;
        assert.equal(result.values[y][x], Number.isNaN(want) ? null : want, `(${y}, ${x})`);
      }
    }
  });
});

test('our reader matches numpy for the files numpy writes: dtypes, byte orders, shapes', { skip: !havePython }, async () => {
  await withTempDir(async (dir) => {
    const cases = ['f8_2d', 'u2', 'big_f4', 'i4_3d', 'u1_1d', 'b1', 'scalar', 'empty', 'fortran'];
    execFileSync(DEBIAN_PYTHON, ['-c', [
      'import sys, numpy as np',
      'd = sys.argv[1]',
      'np.save(d + "/f8_2d.npy", np.arange(12, dtype=np.float64).reshape(3, 4) / 3)',
      'np.save(d + "/u2.npy", np.array([0, 1, 65535, 256], dtype=np.uint16))',
      'np.save(d + "/big_f4.npy", np.array([[1.5, -2.25], [np.nan, 1e-30]], dtype=">f4"))',
      'np.save(d + "/i4_3d.npy", np.arange(-12, 12, dtype=np.int32).reshape(2, 3, 4))',
      'np.save(d + "/u1_1d.npy", np.array([7, 8, 255], dtype=np.uint8))',
      'np.save(d + "/b1.npy", np.array([True, False, True]))',
      'np.save(d + "/scalar.npy", np.float32(2.5))',
      'np.save(d + "/empty.npy", np.zeros((0, 3), dtype=np.float32))',
      'np.save(d + "/fortran.npy", np.asfortranarray(np.ones((2, 3), dtype=np.float32)))',
    ].join('\n'), dir]);
    const read = async (name: string) => decodeNpy(await readFile(path.join(dir, `${name}.npy`)), name);
    const f8 = await read(cases[0]!);
    assert.deepEqual([f8.descr, f8.shape, f8.data.constructor.name], ['<f8', [3, 4], 'Float64Array']);
    assert.deepEqual([...f8.data], Array.from({ length: 12 }, (_, i) => i / 3));
    assert.deepEqual([...(await read('u2')).data], [0, 1, 65535, 256]);
    const big = await read('big_f4');
    assert.deepEqual([big.descr, [...big.data]], ['>f4', [1.5, -2.25, NaN, Math.fround(1e-30)]]);
    const i4 = await read('i4_3d');
    assert.deepEqual([i4.shape, i4.data[0], i4.data[23]], [[2, 3, 4], -12, 11]);
    assert.deepEqual([...(await read('u1_1d')).data], [7, 8, 255]);
    assert.deepEqual([...(await read('b1')).data], [1, 0, 1]);
    const scalar = await read('scalar');
    assert.deepEqual([scalar.shape, [...scalar.data]], [[], [2.5]]);
    assert.deepEqual((await read('empty')).shape, [0, 3]);
    await assert.rejects(read('fortran'), /fortran: Fortran-order .npy arrays are not supported/);
  });
});

test('the real UniDepth intrinsics.npy reads as numpy reads it', { skip: !havePython || !existsSync(UNIDEPTH_K) }, async () => {
  const array = decodeNpy(await readFile(UNIDEPTH_K), UNIDEPTH_K);
  const reference = JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c',
    'import json, sys, numpy as np; a = np.load(sys.argv[1]); print(json.dumps({"descr": a.dtype.str, "shape": list(a.shape), "v": a.astype(np.float64).ravel().tolist()}))',
    UNIDEPTH_K]).toString());
  assert.equal(array.descr, reference.descr);
  assert.deepEqual(array.shape, reference.shape);
  assert.deepEqual([...array.data], reference.v);
  assert.ok(Math.abs(array.data[0]! - 518.8579) < 1e-3, 'fx of the NYU camera');
});

test('round trip in JS, with the header layout the spec requires', () => {
  const depth = depthWithHoles();
  const bytes = encodeNpy(depth.data, [depth.height, depth.width]);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const headerLength = bytes[8]! | (bytes[9]! << 8);
  assert.equal((10 + headerLength) % 64, 0);
  assert.equal(bytes[10 + headerLength - 1], 0x0a, 'header ends with a newline');
  assert.equal(bytes.length, 10 + headerLength + 35 * 4);
  const back = decodeNpyDepth(bytes, 'metricDepth');
  assert.deepEqual([back.width, back.height, back.kind], [7, 5, 'metricDepth']);
  assert.ok(Buffer.from(back.data.buffer).equals(Buffer.from(depth.data.buffer)), 'bit-identical');
  // 1-D shapes use the (n,) tuple syntax.
  const oneD = encodeNpy(new Float64Array(3), [3]);
  const text = new TextDecoder().decode(oneD.subarray(10, 10 + (oneD[8]! | (oneD[9]! << 8))));
  assert.match(text, /^\{'descr': '<f8', 'fortran_order': False, 'shape': \(3,\), \} +\n$/);
});

test('malformed files are FormatErrors naming the file', () => {
  const good = encodeNpy(new Float32Array(6), [2, 3]);
  assert.throws(() => decodeNpy(new Uint8Array(20), 'a.npy'), (error: unknown) =>
    error instanceof FormatError && error.message.startsWith('a.npy: not a .npy file'));
  assert.throws(() => decodeNpy(good.subarray(0, good.length - 1), 'b.npy'), /b\.npy: truncated \.npy data/);
  assert.throws(() => decodeNpy(good.subarray(0, 40), 'c.npy'), /c\.npy: truncated \.npy header/);
  const wrongShape = encodeNpy(new Float32Array(8), [2, 2, 2]);
  assert.throws(() => decodeNpyDepth(wrongShape, 'metricDepth', 'd.npy'), /d\.npy: expected a \(height, width\) depth array, got shape \(2, 2, 2\)/);
  assert.throws(() => encodeNpy(new Float32Array(5), [2, 3]), /does not match 5 values/);
});
