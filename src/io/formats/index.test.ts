import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../core/errors.ts';
import { createDepth } from '../../core/depth.ts';
import { createPointCloud } from '../../core/points.ts';
import { getOutputFormat, isOutputFormatId, OUTPUT_FORMAT_IDS, OUTPUT_FORMATS } from './index.ts';

test('the table lists each format once, with distinct ids and suffixes', () => {
  assert.deepEqual(OUTPUT_FORMAT_IDS, ['depth-png16', 'npy', 'depth-color', 'ply']);
  assert.equal(new Set(OUTPUT_FORMATS.map((f) => f.defaultSuffix)).size, OUTPUT_FORMATS.length);
  for (const format of OUTPUT_FORMATS) {
    assert.ok(format.defaultSuffix.endsWith(format.extension), `${format.id}: suffix ends with the extension`);
    assert.ok(format.description.length > 20);
    assert.equal(getOutputFormat(format.id), format);
    assert.ok(isOutputFormatId(format.id));
  }
  assert.ok(!isOutputFormatId('exr'));
});

test('an unknown id is an InputError listing the choices', () => {
  assert.throws(() => getOutputFormat('exr'), (error: unknown) =>
    error instanceof InputError && error.message === 'Unknown output format "exr". Use one of: depth-png16, npy, depth-color, ply.');
});

test('every format recognises its own output and no other format claims it (except the two PNGs)', async () => {
  const depth = createDepth({ kind: 'metricDepth', width: 3, height: 2, data: new Float32Array([1, 2, NaN, 4, 5, 6]) });
  const cloud = createPointCloud({ numPoints: 1, frame: 'camera', positions: new Float32Array([0, 0, 1]) });
  const outputs = await Promise.all(OUTPUT_FORMATS.map(async (format) =>
    format.input === 'depth' ? (await format.encode(depth)).bytes : (await format.encode(cloud)).bytes));
  for (const [i, format] of OUTPUT_FORMATS.entries()) {
    for (const [j, bytes] of outputs.entries()) {
      const png = (id: string) => id === 'depth-png16' || id === 'depth-color';
      const expected = i === j || (png(format.id) && png(OUTPUT_FORMATS[j]!.id));
      assert.equal(format.sniff(bytes), expected, `${format.id} sniffing ${OUTPUT_FORMATS[j]!.id}`);
    }
  }
});
