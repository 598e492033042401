import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decode as decodePng } from 'fast-png';
import { createDepth, type DepthKind } from '../../core/depth.ts';
import { InputError } from '../../core/errors.ts';
import { colormapLut, type ColormapId } from '../colormaps.ts';
import { colorizeDepth, depthColorFormat, encodeDepthColorPng, percentileOfSorted, percentilesOf, type DepthColorOptions } from './depth-color.ts';

import { DEBIAN_PYTHON } from '../../../test/helpers/paths.ts';

function randomDepth(kind: DepthKind, seed: number, width = 64, height = 48, withInvalid = true) {
  const data = new Float32Array(width * height);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    data[i] = kind === 'disparity' ? u * u * 40 : 0.3 + 20 * u ** 3; // skewed so percentiles matter
    if (withInvalid && i % 97 === 5) data[i] = NaN;
  }
  if (withInvalid) data[1] = Infinity;
  return createDepth({ kind, width, height, data });
}

interface Case { name: string; kind: DepthKind; seed: number; options: DepthColorOptions; colormap: ColormapId; allValid?: boolean }

test('PNG equals an independent numpy + cv2.applyColorMap pipeline (np.percentile, flip for depth, NaN black)', { skip: !existsSync(DEBIAN_PYTHON) }, async () => {
  const cases: Case[] = [
    { name: 'metric_turbo', kind: 'metricDepth', seed: 1, options: {}, colormap: 'turbo' },
    { name: 'disparity_inferno', kind: 'disparity', seed: 2, options: { colormap: 'inferno' }, colormap: 'inferno' },
    { name: 'relative_range', kind: 'relativeDepth', seed: 3, options: { range: { min: 1, max: 5 } }, colormap: 'turbo' },
    { name: 'metric_p10_90', kind: 'metricDepth', seed: 4, options: { percentiles: [10, 90], colormap: 'inferno' }, colormap: 'inferno' },
    // No invalid pixel: written as a palette PNG, which must read back as the same RGB.
    { name: 'disparity_valid_turbo', kind: 'disparity', seed: 5, options: {}, colormap: 'turbo', allValid: true },
    { name: 'metric_valid_inferno', kind: 'metricDepth', seed: 6, options: { colormap: 'inferno' }, colormap: 'inferno', allValid: true },
  ];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-color-'));
  try {
    const spec = [];
    const ours: Record<string, { low: number | null; high: number | null }> = {};
    for (const c of cases) {
      const depth = randomDepth(c.kind, c.seed, 64, 48, c.allValid !== true);
      await writeFile(path.join(dir, `${c.name}.f32`), depth.data);
      await writeFile(path.join(dir, `${c.name}.png`), (await depthColorFormat.encode(depth, c.options)).bytes);
      const { low, high } = colorizeDepth(depth, c.options);
      ours[c.name] = { low, high };
      spec.push({
        name: c.name, kind: c.kind, width: depth.width, height: depth.height, colormap: c.colormap,
        percentiles: c.options.percentiles ?? [2, 98], range: c.options.range ? [c.options.range.min, c.options.range.max] : null,
      });
    }
    await writeFile(path.join(dir, 'spec.json'), JSON.stringify(spec));
    const results = JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c', [
      'import cv2, json, sys, numpy as np',
      'd = sys.argv[1]; out = {}',
      'maps = {"turbo": cv2.COLORMAP_TURBO, "inferno": cv2.COLORMAP_INFERNO}',
      'for c in json.load(open(d + "/spec.json")):',
      '    v = np.fromfile(d + "/" + c["name"] + ".f32", dtype="<f4").reshape(c["height"], c["width"]).astype(np.float64)',
      '    valid = np.isfinite(v)',
      '    lo, hi = c["range"] if c["range"] else np.percentile(v[valid], c["percentiles"])',
      '    t = np.clip((np.where(valid, v, lo) - lo) / (hi - lo), 0, 1)',
      '    if c["kind"] != "disparity": t = 1 - t',
      '    codes = np.floor(t * 255 + 0.5).astype(np.uint8)  # round half up',
      '    ref = cv2.applyColorMap(codes, maps[c["colormap"]])',
      '    ref[~valid] = 0',
      '    png = cv2.imread(d + "/" + c["name"] + ".png", cv2.IMREAD_UNCHANGED)',
      '    diff = np.abs(png.astype(int) - ref.astype(int))',
      '    out[c["name"]] = {"dtype": png.dtype.name, "shape": list(png.shape), "maxDiff": int(diff.max()),',
      '        "lo": float(lo), "hi": float(hi), "black": int((png[~valid] == 0).all()), "invalid": int((~valid).sum())}',
      'print(json.dumps(out))',
    ].join('\n'), dir]).toString());
    for (const c of cases) {
      const r = results[c.name];
      assert.equal(r.dtype, 'uint8', c.name);
      assert.deepEqual(r.shape, [48, 64, 3], c.name);
      assert.equal(r.maxDiff, 0, `${c.name}: max difference ${r.maxDiff} levels`);
      assert.equal(r.black, 1, `${c.name}: invalid pixels are black`);
      assert.equal(r.invalid > 0, c.allValid !== true, `${c.name}: the case has invalid pixels or none, as meant`);
      assert.equal(ours[c.name]!.low, r.lo, `${c.name}: low end`);
      assert.equal(ours[c.name]!.high, r.hi, `${c.name}: high end`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('percentileOfSorted equals np.percentile bit for bit', { skip: !existsSync(DEBIAN_PYTHON) }, () => {
  const values = Float64Array.from({ length: 1001 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
  const ps = [0, 0.5, 2, 25, 33.3, 50, 66.7, 97.5, 98, 100];
  const reference: number[] = JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c',
    'import json, sys, numpy as np; v = np.array(json.loads(sys.argv[1])); print(json.dumps(np.percentile(v, json.loads(sys.argv[2])).tolist()))',
    JSON.stringify([...values]), JSON.stringify(ps)]).toString());
  const sorted = values.slice().sort();
  assert.deepEqual(ps.map((p) => percentileOfSorted(sorted, p)), reference);
});

test('near is the bright high end for disparity and for depth; invalid is black', () => {
  const turbo = colormapLut('turbo');
  const top = [...turbo.subarray(765, 768)];
  const bottom = [...turbo.subarray(0, 3)];
  const pixel = (rgb: Uint8Array, i: number) => [...rgb.subarray(i * 3, i * 3 + 3)];
  // Pixel 0 is near, pixel 2 far. Disparity: near = large. Depth: near = small.
  const disparity = colorizeDepth(createDepth({ kind: 'disparity', width: 4, height: 1, data: new Float32Array([10, 5, 1, NaN]) }), { percentiles: [0, 100] });
  const metric = colorizeDepth(createDepth({ kind: 'metricDepth', width: 4, height: 1, data: new Float32Array([0.1, 0.2, 1, NaN]) }), { percentiles: [0, 100] });
  for (const result of [disparity, metric]) {
    assert.deepEqual(pixel(result.image.data, 0), top);
    assert.deepEqual(pixel(result.image.data, 2), bottom);
    assert.deepEqual(pixel(result.image.data, 3), [0, 0, 0]);
  }
  assert.equal(disparity.inverted, false);
  assert.equal(metric.inverted, true);
});

test('fixed range clamps, constant maps get the middle colour, empty maps are all black', () => {
  const lut = colormapLut('inferno');
  const ranged = colorizeDepth(createDepth({ kind: 'disparity', width: 3, height: 1, data: new Float32Array([-5, 2, 99]) }),
    { colormap: 'inferno', range: { min: 0, max: 4 } });
  assert.deepEqual([...ranged.image.data], [...lut.subarray(0, 3), ...lut.subarray(128 * 3, 128 * 3 + 3), ...lut.subarray(765)]);
  const constant = colorizeDepth(createDepth({ kind: 'metricDepth', width: 2, height: 1, data: new Float32Array([3, 3]) }), { colormap: 'inferno' });
  assert.deepEqual([...constant.image.data.subarray(0, 3)], [...lut.subarray(128 * 3, 128 * 3 + 3)]);
  const empty = colorizeDepth(createDepth({ kind: 'metricDepth', width: 2, height: 1, data: new Float32Array([NaN, NaN]) }));
  assert.deepEqual([[...empty.image.data], empty.low, empty.high], [[0, 0, 0, 0, 0, 0], null, null]);
});

test('bad options are InputErrors; the PNG is 8-bit RGB with invalid pixels, else 8-bit palette = the colormap', async () => {
  const depth = randomDepth('metricDepth', 9, 5, 4);
  assert.throws(() => colorizeDepth(depth, { colormap: 'jet' as ColormapId }), (e: unknown) => e instanceof InputError && /turbo, inferno/.test(e.message));
  assert.throws(() => colorizeDepth(depth, { percentiles: [50, 10] }), InputError);
  assert.throws(() => colorizeDepth(depth, { range: { min: 2, max: NaN } }), InputError);
  const png = decodePng((await depthColorFormat.encode(depth)).bytes);
  assert.deepEqual([png.width, png.height, png.depth, png.channels], [5, 4, 8, 3]);

  const valid = randomDepth('disparity', 10, 7, 6, false);
  const { bytes, codes } = await encodeDepthColorPng(valid, { colormap: 'inferno' });
  const indexed = decodePng(bytes);
  assert.deepEqual([indexed.width, indexed.height, indexed.depth, indexed.channels], [7, 6, 8, 1]);
  assert.deepEqual(indexed.palette?.flat(), [...colormapLut('inferno')]);
  assert.deepEqual([...(indexed.data as Uint8Array)], [...codes.codes]);
  // Expanded through the palette it is exactly colorizeDepth's RGB.
  const rgb = colorizeDepth(valid, { colormap: 'inferno' }).image.data;
  assert.deepEqual([...(indexed.data as Uint8Array)].flatMap((k) => indexed.palette![k]!), [...rgb]);
});

test('percentilesOf (quickselect) equals the sort-based oracle, with ties and tiny arrays', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const n of [1, 2, 3, 10, 101, 5000]) {
    for (const ties of [false, true]) {
      const values = Float64Array.from({ length: n }, () => (ties ? Math.floor(rand() * 7) : rand() * 100 - 50));
      const sorted = Float64Array.from(values).sort();
      const ps = [0, 2, 25, 50, 97.3, 98, 100];
      assert.deepEqual(percentilesOf(Float64Array.from(values), ps), ps.map((p) => percentileOfSorted(sorted, p)), `n=${n} ties=${ties}`);
    }
  }
});
