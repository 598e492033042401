import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decode as decodePng, encode as encodePng } from 'fast-png';
import { FormatError } from '../../core/errors.ts';
import { createDepth, type Depth } from '../../core/depth.ts';
import { decodeDepthPng16, depthPng16Format, encodeDepthPng16, DEPTH_PNG16_TEXT_KEY, isSmooth } from './depth-png16.ts';
import { sidecarPath } from './index.ts';
import { writeEncodedFile } from '../index.ts';
import { DEBIAN_PYTHON, SHARED_DATA_DIR } from '../../../test/helpers/paths.ts';

const NYU_DEPTH16 = path.join(SHARED_DATA_DIR, 'metric3d_demo_nyu_kitti/data/nyu_demo/depth/sync_depth_00000.png');

/** A deterministic 37x23 metric depth with NaN and infinite holes, values in 0.5..80 m. */
function syntheticDepth(): Depth {
  const width = 37, height = 23;
  const data = new Float32Array(width * height);
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    data[i] = 0.5 + (seed / 2 ** 32) * 79.5;
  }
  data[0] = NaN;
  data[5] = Infinity;
  data[100] = -Infinity;
  data[data.length - 1] = NaN;
  return createDepth({ kind: 'metricDepth', width, height, data });
}

function maxQuantisationError(mapping: { minValue: number | null; maxValue: number | null }): number {
  return ((mapping.maxValue! - mapping.minValue!) / 65534) / 2;
}

test('cv2.imread(IMREAD_UNCHANGED) reads uint16 codes that the sidecar maps back to the values', { skip: !existsSync(DEBIAN_PYTHON) }, async () => {
  const depth = syntheticDepth();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-png16-'));
  try {
    const file = path.join(dir, 'depth.png');
    const written = await writeEncodedFile(file, await depthPng16Format.encode(depth));
    assert.deepEqual(written, [file, path.join(dir, 'depth.json')]);
    await writeFile(path.join(dir, 'truth.f32'), depth.data);
    // Independent reader: OpenCV for the PNG, json + numpy for the mapping.
    const result = JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c', [
      'import cv2, json, numpy as np, sys',
      'd = sys.argv[1]',
      'codes = cv2.imread(d + "/depth.png", cv2.IMREAD_UNCHANGED)',
      'm = json.load(open(d + "/depth.json"))',
      'truth = np.fromfile(d + "/truth.f32", dtype="<f4").reshape(codes.shape)',
      'valid = np.isfinite(truth)',
      'value = m["minValue"] + (codes.astype(np.float64) - 1) / 65534 * (m["maxValue"] - m["minValue"])',
      'print(json.dumps({"dtype": codes.dtype.name, "shape": list(codes.shape),',
      '  "invalidMatches": bool(np.array_equal(codes == 0, ~valid)),',
      '  "maxError": float(np.abs(value[valid] - truth[valid]).max()),',
      '  "minCode": int(codes[valid].min()), "maxCode": int(codes[valid].max()),',
      '  "min": float(truth[valid].min()), "max": float(truth[valid].max()), "kind": m["kind"], "unit": m["unit"]}))',
    ].join('\n'), dir]).toString());
    assert.equal(result.dtype, 'uint16');
    assert.deepEqual(result.shape, [23, 37]);
    assert.equal(result.invalidMatches, true);
    assert.equal(result.minCode, 1);
    assert.equal(result.maxCode, 65535);
    const mapping = JSON.parse(await readFile(path.join(dir, 'depth.json'), 'utf8'));
    assert.equal(mapping.minValue, result.min);
    assert.equal(mapping.maxValue, result.max);
    assert.ok(result.maxError <= maxQuantisationError(mapping) * (1 + 1e-9), `max error ${result.maxError}`);
    assert.equal(result.kind, 'metricDepth');
    assert.equal(result.unit, 'm');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('decodes back within half a quantisation step, from the sidecar or from the PNG text chunk', async () => {
  const depth = syntheticDepth();
  const { bytes, mapping } = await encodeDepthPng16(depth);
  assert.deepEqual(Object.keys(mapping).sort(),
    ['encoding', 'format', 'formula', 'height', 'invalidCode', 'kind', 'maxValue', 'minValue', 'unit', 'version', 'width']);
  for (const decoded of [decodeDepthPng16(bytes, mapping), decodeDepthPng16(bytes)]) {
    assert.equal(decoded.kind, 'metricDepth');
    const tolerance = maxQuantisationError(mapping) + 80 * 2 ** -23; // plus float32 rounding of the result
    for (let i = 0; i < depth.data.length; i++) {
      const want = depth.data[i]!;
      const got = decoded.data[i]!;
      if (Number.isFinite(want)) assert.ok(Math.abs(got - want) <= tolerance, `pixel ${i}: ${got} vs ${want}`);
      else assert.ok(Number.isNaN(got), `pixel ${i} should be invalid`);
    }
  }
});

test('real NYU ground truth (mm) survives the round trip within 0.07 mm', { skip: !existsSync(NYU_DEPTH16) }, async () => {
  const png = decodePng(await readFile(NYU_DEPTH16));
  const mm = png.data as Uint16Array;
  const data = Float32Array.from(mm, (v) => (v === 0 ? NaN : v / 1000));
  const depth = createDepth({ kind: 'metricDepth', width: png.width, height: png.height, data });
  const { bytes, mapping } = await encodeDepthPng16(depth);
  const back = decodeDepthPng16(bytes, mapping);
  let maxError = 0;
  for (let i = 0; i < data.length; i++) {
    if (Number.isNaN(data[i]!)) assert.ok(Number.isNaN(back.data[i]!));
    else maxError = Math.max(maxError, Math.abs(back.data[i]! - data[i]!));
  }
  assert.ok(maxError < 7e-5, `max error ${maxError} m`);
  assert.ok(maxError > 0, 'the check exercises quantisation');
});

test('constant and all-invalid maps, and every kind, encode unambiguously', async () => {
  const constant = createDepth({ kind: 'disparity', width: 2, height: 2, data: new Float32Array([3, 3, NaN, 3]) });
  const c = await encodeDepthPng16(constant);
  assert.deepEqual([c.mapping.minValue, c.mapping.maxValue, c.mapping.kind, c.mapping.unit], [3, 3, 'disparity', null]);
  assert.deepEqual([...(decodePng(c.bytes).data as Uint16Array)], [1, 1, 0, 1]);
  assert.deepEqual([...decodeDepthPng16(c.bytes).data], [3, 3, NaN, 3]);

  const empty = createDepth({ kind: 'relativeDepth', width: 3, height: 1, data: new Float32Array([NaN, NaN, NaN]) });
  const e = await encodeDepthPng16(empty);
  assert.deepEqual([e.mapping.minValue, e.mapping.maxValue], [null, null]);
  assert.deepEqual([...decodeDepthPng16(e.bytes).data], [NaN, NaN, NaN]);
  assert.equal(decodeDepthPng16(e.bytes).kind, 'relativeDepth');
});

test('reading errors: not a PNG, an 8-bit PNG, and no mapping are FormatErrors naming the file', () => {
  assert.throws(() => decodeDepthPng16(new Uint8Array([1, 2, 3]), undefined, 'x.png'), (error: unknown) =>
    error instanceof FormatError && error.message.startsWith('x.png: not a readable PNG'));
  const eight = encodePng({ width: 2, height: 1, data: new Uint8Array([1, 2]), depth: 8, channels: 1 });
  assert.throws(() => decodeDepthPng16(eight, undefined, 'y.png'), /y\.png: expected a 16-bit greyscale PNG/);
  const bare = encodePng({ width: 2, height: 1, data: new Uint16Array([1, 2]), depth: 16, channels: 1 });
  assert.throws(() => decodeDepthPng16(bare, undefined, 'z.png'), new RegExp(`z\\.png: no value mapping.*${DEPTH_PNG16_TEXT_KEY}`));
});

test('descriptor and sidecar path', async () => {
  assert.equal(depthPng16Format.id, 'depth-png16');
  assert.equal(depthPng16Format.extension, '.png');
  const encoded = await depthPng16Format.encode(syntheticDepth());
  assert.ok(depthPng16Format.sniff(encoded.bytes));
  assert.equal((encoded.sidecar as { encoding: string }).encoding, 'linear-uint16');
  assert.equal(sidecarPath('/out/a.b/img_depth16.png'), '/out/a.b/img_depth16.json');
  assert.equal(sidecarPath('/out/a.b/noext'), '/out/a.b/noext.json');
});

test('smooth maps are compressed, noise is stored; both decode exactly', async () => {
  const width = 200, height = 64;
  const smooth = new Float32Array(width * height).map((_, i) => 1 + (i % width) / width + Math.floor(i / width) / height);
  let seed = 3;
  const noise = new Float32Array(width * height).map(() => ((seed = (seed * 16807) % 2147483647) / 2147483647));
  for (const [name, data, expectSmooth] of [['smooth', smooth, true], ['noise', noise, false]] as const) {
    const depth = createDepth({ kind: 'disparity', width, height, data });
    const { bytes, mapping } = await encodeDepthPng16(depth);
    const codes = decodePng(bytes).data as Uint16Array;
    assert.equal(isSmooth(codes, width, height), expectSmooth, name);
    const back = decodeDepthPng16(bytes, mapping);
    const step = (mapping.maxValue! - mapping.minValue!) / 65534;
    for (let i = 0; i < data.length; i++) assert.ok(Math.abs(back.data[i]! - data[i]!) <= step / 2 + 1e-6, `${name} ${i}`);
  }
});
