import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FormatError } from '../../core/errors.ts';
import { createPointCloud } from '../../core/points.ts';
import { decodePly, encodePly, plyFormat } from './ply.ts';
import { DEBIAN_PYTHON } from '../../../test/helpers/paths.ts';

function sampleCloud(n = 50) {
  const positions = Float32Array.from({ length: n * 3 }, (_, i) => Math.fround(Math.sin(i * 1.7) * 10 + (i % 3 === 2 ? 20 : 0)));
  const colors = Uint8Array.from({ length: n * 3 }, (_, i) => (i * 53) % 256);
  return createPointCloud({ numPoints: n, frame: 'camera', positions, colors });
}

test('a separate Python parser (header by hand, body with numpy) reads the same points and colours', { skip: !existsSync(DEBIAN_PYTHON) }, async () => {
  const cloud = sampleCloud();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-ply-'));
  try {
    const file = path.join(dir, 'cloud.ply');
    await writeFile(file, (await plyFormat.encode(cloud, { comments: ['made by a test'] })).bytes);
    const result = JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c', [
      'import json, sys, numpy as np',
      'raw = open(sys.argv[1], "rb").read()',
      'end = raw.index(b"end_header\\n") + len(b"end_header\\n")',
      'lines = raw[:end].decode("ascii").splitlines()',
      'assert lines[0] == "ply" and lines[1] == "format binary_little_endian 1.0", lines[:2]',
      'n = [int(l.split()[2]) for l in lines if l.startswith("element vertex")][0]',
      'names = {"float": "<f4", "uchar": "u1"}',
      'props = [(l.split()[2], names[l.split()[1]]) for l in lines if l.startswith("property")]',
      'v = np.frombuffer(raw, dtype=np.dtype(props), count=n, offset=end)',
      'assert end + n * v.dtype.itemsize == len(raw), "no trailing bytes"',
      'print(json.dumps({"n": n, "props": props, "itemsize": v.dtype.itemsize,',
      '  "comments": [l[8:] for l in lines if l.startswith("comment ")],',
      '  "xyz": np.stack([v["x"], v["y"], v["z"]], 1).astype(np.float64).ravel().tolist(),',
      '  "rgb": np.stack([v["red"], v["green"], v["blue"]], 1).ravel().tolist()}))',
    ].join('\n'), file]).toString());
    assert.equal(result.n, 50);
    assert.deepEqual(result.props, [['x', '<f4'], ['y', '<f4'], ['z', '<f4'], ['red', 'u1'], ['green', 'u1'], ['blue', 'u1']]);
    assert.equal(result.itemsize, 15);
    assert.deepEqual(result.comments, ['anyview frame camera (OpenCV axes: x right, y down, z forward)', 'made by a test']);
    assert.deepEqual(result.xyz, [...cloud.positions]);
    assert.deepEqual(result.rgb, [...cloud.colors!]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('round trip through our reader, with and without colours, including zero points', () => {
  const cloud = sampleCloud(7);
  const { cloud: back, comments } = decodePly(encodePly(cloud));
  assert.deepEqual([back.numPoints, back.frame, [...back.positions], [...back.colors!]],
    [7, 'camera', [...cloud.positions], [...cloud.colors!]]);
  assert.equal(comments.length, 1);
  const bare = createPointCloud({ numPoints: 2, frame: 'world', positions: new Float32Array([1, 2, 3, -4, 5.5, 6]) });
  const bareBytes = encodePly(bare);
  assert.ok(!new TextDecoder().decode(bareBytes).includes('red'), 'no colour properties without colours');
  const bareBack = decodePly(bareBytes).cloud;
  assert.deepEqual([bareBack.frame, [...bareBack.positions], bareBack.colors], ['world', [1, 2, 3, -4, 5.5, 6], undefined]);
  assert.equal(decodePly(encodePly(createPointCloud({ numPoints: 0, frame: 'camera', positions: new Float32Array(0) }))).cloud.numPoints, 0);
});

test('reads what other tools write: ascii, big-endian doubles with extra properties, and faces after vertices', () => {
  const ascii = new TextEncoder().encode([
    'ply', 'format ascii 1.0', 'comment hi', 'element vertex 2', 'property float x', 'property float y', 'property float z',
    'property uchar red', 'property uchar green', 'property uchar blue', 'element face 1', 'property list uchar int vertex_indices',
    'end_header', '1 2 3 255 0 10', '4 5 6 0 128 255', '3 0 1 1', '',
  ].join('\n'));
  const a = decodePly(ascii).cloud;
  assert.deepEqual([[...a.positions], [...a.colors!]], [[1, 2, 3, 4, 5, 6], [255, 0, 10, 0, 128, 255]]);

  const header = new TextEncoder().encode([
    'ply', 'format binary_big_endian 1.0', 'element vertex 1', 'property float nx', 'property double z', 'property double y',
    'property double x', 'property float r', 'property float g', 'property float b', 'end_header', '',
  ].join('\r\n'));
  const body = new DataView(new ArrayBuffer(4 + 24 + 12));
  body.setFloat32(0, 9, false);
  body.setFloat64(4, 3.5, false);
  body.setFloat64(12, -2, false);
  body.setFloat64(20, 1.25, false);
  body.setFloat32(28, 1, false);
  body.setFloat32(32, 0.5, false);
  body.setFloat32(36, 0, false);
  const bytes = new Uint8Array(header.length + body.byteLength);
  bytes.set(header);
  bytes.set(new Uint8Array(body.buffer), header.length);
  const b = decodePly(bytes).cloud;
  assert.deepEqual([[...b.positions], [...b.colors!]], [[1.25, -2, 3.5], [255, 128, 0]]);
});

test('broken files are FormatErrors naming the file', () => {
  const good = encodePly(sampleCloud(4));
  const check = (bytes: Uint8Array, pattern: RegExp) =>
    assert.throws(() => decodePly(bytes, 'c.ply'), (e: unknown) => e instanceof FormatError && e.message.startsWith('c.ply: ') && pattern.test(e.message));
  check(good.subarray(0, good.length - 1), /truncated PLY/);
  check(new TextEncoder().encode('hello'), /not a PLY file/);
  check(new TextEncoder().encode('ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\n'), /no end_header/);
  check(new TextEncoder().encode('ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\nend_header\n'), /lacks x, y or z/);
  check(new TextEncoder().encode('ply\nformat weird 1.0\nend_header\n'), /unknown PLY format/);
  assert.ok(plyFormat.sniff(good));
  assert.throws(() => encodePly(sampleCloud(1), { comments: ['two\nlines'] }), /one line/);
});
