import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { applyColormap, colormapLut, COLORMAP_IDS, isColormapId } from './colormaps.ts';
import { DEBIAN_PYTHON } from '../../test/helpers/paths.ts';

/*
 * Reference: OpenCV's colormaps on a 0..255 ramp, converted from BGR to RGB.
 *   r = np.arange(256, dtype=np.uint8).reshape(1, 256)
 *   cv2.applyColorMap(r, cv2.COLORMAP_TURBO)[0, :, ::-1]      (and COLORMAP_INFERNO)
 * Our tables come from the published float data (Google's turbo, matplotlib's inferno), not from OpenCV,
 * so this is an independent check. Measured: both tables equal OpenCV's exactly (max difference 0 levels).
 */
test('turbo and inferno LUTs match cv2.applyColorMap on a 0..255 ramp exactly', { skip: !existsSync(DEBIAN_PYTHON) }, () => {
  const out = execFileSync(DEBIAN_PYTHON, ['-c', [
    'import cv2, numpy as np, sys',
    'r = np.arange(256, dtype=np.uint8).reshape(1, 256)',
    'for m in (cv2.COLORMAP_TURBO, cv2.COLORMAP_INFERNO):',
    '    sys.stdout.write(cv2.applyColorMap(r, m)[0, :, ::-1].tobytes().hex() + "\\n")',
  ].join('\n')]).toString().trim().split('\n');
  for (const [k, id] of (['turbo', 'inferno'] as const).entries()) {
    const reference = Buffer.from(out[k]!, 'hex');
    const lut = colormapLut(id);
    assert.equal(lut.length, 768);
    let maxDiff = 0;
    for (let i = 0; i < 768; i++) maxDiff = Math.max(maxDiff, Math.abs(lut[i]! - reference[i]!));
    assert.equal(maxDiff, 0, `${id}: max difference from OpenCV ${maxDiff} levels`);
  }
});

test('known end points: turbo runs dark blue -> dark red, inferno black -> pale yellow', () => {
  const turbo = colormapLut('turbo');
  assert.deepEqual([...turbo.subarray(0, 3)], [48, 18, 59]);
  assert.deepEqual([...turbo.subarray(765)], [122, 4, 3]);
  const inferno = colormapLut('inferno');
  assert.deepEqual([...inferno.subarray(0, 3)], [0, 0, 4]);
  assert.deepEqual([...inferno.subarray(765)], [252, 255, 164]);
});

test('applyColormap looks codes up; colormapLut returns a copy; ids are validated', () => {
  const rgb = applyColormap(new Uint8Array([0, 255, 128]), 'inferno');
  const lut = colormapLut('inferno');
  assert.deepEqual([...rgb], [...lut.subarray(0, 3), ...lut.subarray(765, 768), ...lut.subarray(384, 387)]);
  lut[0] = 99;
  assert.equal(colormapLut('inferno')[0], 0);
  assert.deepEqual(COLORMAP_IDS, ['turbo', 'inferno']);
  assert.ok(isColormapId('turbo'));
  assert.ok(!isColormapId('jet'));
});
