import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode } from 'fast-png';
import sharp from 'sharp';
import { encodeGrey16Png, encodePalettePng, encodePng, looksCompressible } from './png.ts';

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

test('8-bit greyscale stays one channel and round-trips exactly', async () => {
  const grey = new Uint8Array(7 * 3).map((_, i) => (i * 53) & 255);
  const png = decode(await encodePng(grey, 7, 3, 1));
  assert.deepEqual([png.width, png.height, png.depth, png.channels], [7, 3, 8, 1]);
  assert.deepEqual(Array.from(png.data as Uint8Array), Array.from(grey));
});

test('16-bit PNGs, Sub-filtered (ours) or stored (sharp), round-trip exactly through two independent decoders', async () => {
  const width = 123, height = 45;
  const codes = new Uint16Array(width * height).map((_, i) => (1000 + 37 * (i % width) + 11 * Math.floor(i / width) + (i % 7 === 0 ? 40000 : 0)) & 0xffff);
  const stored = await encodePng(codes, width, height, 1, { compressionLevel: 0, filtered: false, text: { k: 'v' } });
  const compressed = await encodeGrey16Png(codes, width, height, { text: { k: 'v' } });
  assert.ok(compressed.length < stored.length / 2, `${compressed.length} vs ${stored.length}`);
  for (const bytes of [stored, compressed]) {
    const png = decode(bytes);
    assert.deepEqual([png.width, png.height, png.depth, png.channels], [width, height, 16, 1]);
    assert.deepEqual(Array.from(png.data as Uint16Array), Array.from(codes));
    const viaSharp = await sharp(bytes).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    const samples = new Uint16Array(viaSharp.data.buffer, viaSharp.data.byteOffset, viaSharp.data.length / 2);
    const channels = viaSharp.info.channels;
    for (let i = 0; i < codes.length; i += 97) assert.equal(samples[i * channels], codes[i], `sample ${i}`);
  }
  assert.equal(decode(stored).text['k'], 'v');
  assert.equal(decode(compressed).text['k'], 'v');
});

test('looksCompressible tells a smooth colouring from noise', () => {
  const width = 64, height = 32;
  const smooth = new Uint8Array(width * height * 3).map((_, i) => Math.floor(i / 3) % width * 2);
  let seed = 9;
  const noise = new Uint8Array(width * height * 3).map(() => (seed = (seed * 16807) % 2147483647) & 255);
  assert.equal(looksCompressible(smooth, width, height, 3, 8), true);
  assert.equal(looksCompressible(noise, width, height, 3, 8), false);
});

test('palette PNGs, deflated or stored, read back as index + palette (fast-png) and as the looked-up RGB (libvips)', async () => {
  const width = 41, height = 13;
  const palette = new Uint8Array(256 * 3).map((_, i) => (i * 53 + 7) & 255);
  const indices = new Uint8Array(width * height).map((_, i) => (i * 7 + Math.floor(i / width)) & 255);
  for (const compressionLevel of [0, 1, 6]) {
    const bytes = await encodePalettePng(indices, width, height, palette, { compressionLevel });
    const png = decode(bytes);
    assert.deepEqual([png.width, png.height, png.depth, png.channels], [width, height, 8, 1]);
    assert.deepEqual(Array.from(png.data as Uint8Array), Array.from(indices));
    assert.deepEqual(png.palette?.flat(), Array.from(palette));
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 3);
    for (let i = 0; i < indices.length; i++) {
      const k = indices[i]! * 3;
      assert.deepEqual([data[i * 3], data[i * 3 + 1], data[i * 3 + 2]], [palette[k], palette[k + 1], palette[k + 2]], `pixel ${i}`);
    }
  }
  await assert.rejects(encodePalettePng(indices, width, height + 1, palette), /does not match/);
  await assert.rejects(encodePalettePng(indices, width, height, palette.subarray(0, 100)), /palette/);
  await assert.rejects(encodePalettePng(indices, width, height, palette.subarray(0, 30)), /past the palette's 10 entries/);
});
