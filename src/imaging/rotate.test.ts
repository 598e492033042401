import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createImage } from '../core/image.ts';
import { rotateQuarterTurns, rotatedPixel, unrotatedPixel, type QuarterTurns } from './rotate.ts';

import { DEBIAN_PYTHON } from '../../test/helpers/paths.ts';

test('quarter turns equal numpy rot90 and the pixel maps invert each other', { skip: !existsSync(DEBIAN_PYTHON) }, () => {
  const w = 5, h = 3, c = 3;
  const data = Uint8Array.from({ length: w * h * c }, (_, i) => i);
  const image = createImage({ width: w, height: h, channels: c, colorSpace: 'srgb', data });
  for (const turns of [0, 1, 2, 3] as QuarterTurns[]) {
    const script = `import numpy as np, json\na = np.arange(${w * h * c}, dtype=np.uint8).reshape(${h}, ${w}, ${c})\nr = np.rot90(a, k=${turns})\nprint(json.dumps({"shape": r.shape, "data": r.flatten().tolist()}))`;
    const result = spawnSync(DEBIAN_PYTHON, ['-c', script], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const expected = JSON.parse(result.stdout) as { shape: number[]; data: number[] };
    const rotated = rotateQuarterTurns(image, turns);
    assert.deepEqual([rotated.height, rotated.width], expected.shape.slice(0, 2));
    assert.deepEqual([...rotated.data], expected.data);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const [xr, yr] = rotatedPixel(x, y, w, h, turns);
        assert.deepEqual([...rotated.data.subarray((yr * rotated.width + xr) * c, (yr * rotated.width + xr) * c + c)],
          [...data.subarray((y * w + x) * c, (y * w + x) * c + c)]);
        assert.deepEqual(unrotatedPixel(xr, yr, w, h, turns), [x, y]);
      }
    }
  }
});
