import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from 'fast-png';
import { encodePng } from './png.ts';

test('16-bit greyscale round-trips exactly and carries tEXt chunks that another decoder reads', async () => {
  const width = 37, height = 11;
  const codes = new Uint16Array(width * height).map((_, i) => (i * 977) % 65536);
  const bytes = await encodePng(codes, width, height, 1, { text: { 'anyview.depth': '{"a":1}', Comment: 'hello' } });
  const png = decode(bytes); // fast-png checks every chunk CRC
  assert.equal(png.depth, 16);
  assert.equal(png.channels, 1);
  assert.deepEqual(Array.from(png.data as Uint16Array), Array.from(codes));
  assert.equal(png.text['anyview.depth'], '{"a":1}');
  assert.equal(png.text['Comment'], 'hello');
});

test('8-bit RGB round-trips exactly; bad sizes are refused', async () => {
  const rgb = new Uint8Array(5 * 4 * 3).map((_, i) => (i * 31) & 255);
  const png = decode(await encodePng(rgb, 5, 4, 3));
  assert.equal(png.depth, 8);
  assert.deepEqual(Array.from(png.data as Uint8Array), Array.from(rgb));
  await assert.rejects(encodePng(rgb, 5, 5, 3), /does not match/);
});
