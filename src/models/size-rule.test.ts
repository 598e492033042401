import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.ts';
import { DEBIAN_PYTHON, GENERATED_DIR, REPO_ROOT } from '../../test/helpers/paths.ts';
import type { ImagePreprocessSpec } from './model-spec.ts';
import { networkInputSize, roundHalfToEven } from './size-rule.ts';

const DA: Pick<ImagePreprocessSpec, 'sizeRule' | 'targetPx' | 'multipleOf'> = { sizeRule: 'lowerBound', targetPx: 518, multipleOf: 14 };
const DA3: Pick<ImagePreprocessSpec, 'sizeRule' | 'targetPx' | 'multipleOf'> = { sizeRule: 'upperBound', targetPx: 504, multipleOf: 14 };

describe('networkInputSize lowerBound (official Depth Anything)', () => {
  // DEPTH_REFERENCE.md table: input W x H -> official network input H x W.
  const table: Array<[w: number, h: number, outH: number, outW: number]> = [
    [1280, 720, 518, 924],
    [1920, 1080, 518, 924],
    [854, 480, 518, 924],
    [640, 480, 518, 686],
    [480, 640, 686, 518],
    [3024, 4032, 686, 518],
    [1000, 500, 518, 1036],
    [560, 400, 518, 728], // Transformers.js "minimal" feeds 364x518 here
    [400, 300, 518, 686], // Transformers.js feeds 392x518
  ];
  for (const [w, h, outH, outW] of table) {
    it(`${w}x${h} -> ${outH}x${outW} (HxW)`, () => {
      assert.deepEqual(networkInputSize(w, h, DA), { width: outW, height: outH });
    });
  }

  it('rounds exact halves to even (numpy round), not up', () => {
    // h = 74 gives scale 7 exactly, so width w lands on w*7/14 = w/2: odd w is an exact tie.
    assert.deepEqual(networkInputSize(77, 74, DA), { width: 38 * 14, height: 518 }); // 38.5 -> 38
    assert.deepEqual(networkInputSize(79, 74, DA), { width: 40 * 14, height: 518 }); // 39.5 -> 40
  });

  it('takes the ceiling when rounding would fall below the target', () => {
    // 518 / 14 = 37 exactly, so the short side is never below; a long side never is either. Use target 20:
    // 30x20 -> scale 1, width 30/14 = 2.14 -> round 2 -> 28 >= 20; height 20/14 = 1.43 -> 1*14 < 20 -> ceil 28.
    assert.deepEqual(networkInputSize(30, 20, { sizeRule: 'lowerBound', targetPx: 20, multipleOf: 14 }), { width: 28, height: 28 });
  });

  it('keeps both sides >= target and multiples of 14 over many sizes', () => {
    for (let w = 1; w <= 2100; w += 37) {
      for (let h = 1; h <= 2100; h += 41) {
        const s = networkInputSize(w, h, DA);
        assert.ok(s.width >= 518 && s.height >= 518 && s.width % 14 === 0 && s.height % 14 === 0, `${w}x${h} -> ${s.width}x${s.height}`);
      }
    }
  });
});

describe('networkInputSize upperBound (DA3 upper_bound_resize)', () => {
  it('scales the longest side to the target and rounds each side to its nearest multiple of 14', () => {
    // 1280x720 at 504: height 720*504/1280 = 283.5 -> 284 -> nearest multiple 280.
    assert.deepEqual(networkInputSize(1280, 720, DA3), { width: 504, height: 280 });
    assert.deepEqual(networkInputSize(720, 1280, DA3), { width: 280, height: 504 });
  });

  it('breaks a tie between two multiples upwards', () => {
    // Longest side already 504: no first resize; 287 = 280 + 7 is a tie -> 294.
    assert.deepEqual(networkInputSize(504, 287, DA3), { width: 504, height: 294 });
  });

  it("rounds the first resize half to even (Python round): 573 * 0.5 = 286.5 -> 286 -> 280, not 287 -> 294", () => {
    assert.deepEqual(networkInputSize(1008, 573, DA3), { width: 504, height: 280 });
  });
});

describe('networkInputSize static', () => {
  it('returns exactly the static size, ignoring the aspect ratio', () => {
    assert.deepEqual(networkInputSize(1280, 720, { sizeRule: 'static', targetPx: 518, multipleOf: 14 }, { width: 518, height: 518 }), {
      width: 518,
      height: 518,
    });
  });
  it('throws InputError without a static size', () => {
    assert.throws(() => networkInputSize(1280, 720, { sizeRule: 'static', targetPx: 518, multipleOf: 14 }), InputError);
  });
});

describe('networkInputSize input checks', () => {
  it('rejects non-positive or fractional image sizes', () => {
    assert.throws(() => networkInputSize(0, 720, DA), InputError);
    assert.throws(() => networkInputSize(12.5, 720, DA), InputError);
  });
});

describe('roundHalfToEven', () => {
  it('matches numpy.round on halves and non-halves', () => {
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, 2.5001, 3].map(roundHalfToEven), [0, 2, 2, -0, -2, 2, 3, 3]);
  });
});

describe('networkInputSize against a Python transcription of the official rules', () => {
  const skip = existsSync(DEBIAN_PYTHON) ? false : `no reference python at ${DEBIAN_PYTHON}`;
  it('agrees on lowerBound (DA) and upperBound (DA3) for thousands of sizes', { skip }, () => {
    const sizes: Array<[number, number]> = [];
    for (let w = 1; w <= 4100; w += 29) for (let h = 1; h <= 4100; h += 31) sizes.push([w, h]);
    for (let w = 60; w <= 100; w++) sizes.push([w, 74], [74, w]); // exact ties for the lower-bound rule
    for (let h = 560; h <= 600; h++) sizes.push([1008, h], [h, 1008]); // half-way cases for the upper-bound rule
    const documented = sizes.push([560, 400]) - 1;
    const settings = [[518, 14], [504, 14]] as const;
    const results = runSizes(sizes, settings);
    settings.forEach(([target, multipleOf], k) => {
      const result = results[k]!;
      const lower = { sizeRule: 'lowerBound', targetPx: target, multipleOf } as const;
      const upper = { sizeRule: 'upperBound', targetPx: target, multipleOf } as const;
      sizes.forEach(([w, h], i) => {
        const [lw, lh] = result.lowerBound[i]!;
        const [uw, uh] = result.upperBound[i]!;
        assert.deepEqual(networkInputSize(w, h, lower), { width: lw, height: lh }, `lowerBound ${w}x${h} target ${target}`);
        assert.deepEqual(networkInputSize(w, h, upper), { width: uw, height: uh }, `upperBound ${w}x${h} target ${target}`);
      });
      if (target === 518) {
        // The Transformers.js "minimal" rule (documentation only): 560x400 -> 518 wide x 364 high, not 728x518.
        assert.deepEqual(result.minimal[documented], [518, 364]);
        assert.deepEqual(result.lowerBound[documented], [728, 518]);
      }
    });
  });
});

interface SizesResult {
  lowerBound: Array<[number, number]>;
  upperBound: Array<[number, number]>;
  minimal: Array<[number, number]>;
}

/** One reference-python process for every (target, multipleOf) setting. */
function runSizes(sizes: Array<[number, number]>, settings: ReadonlyArray<readonly [number, number]>): SizesResult[] {
  mkdirSync(GENERATED_DIR, { recursive: true });
  const dir = mkdtempSync(path.join(GENERATED_DIR, 'size-rule-'));
  try {
    const outputs = settings.map((_, k) => path.join(dir, `sizes-${k}.json`));
    const tasks = settings.map(([target, multipleOf], k) => ({ op: 'sizes', sizes, target, multipleOf, output: outputs[k] }));
    const job = path.join(dir, 'job.json');
    writeFileSync(job, JSON.stringify({ tasks }));
    const run = spawnSync(DEBIAN_PYTHON, [path.join(REPO_ROOT, 'test', 'parity', 'opencv_reference.py'), job], { encoding: 'utf8' });
    assert.equal(run.status, 0, `opencv_reference.py failed: ${run.stderr}`);
    return outputs.map((output) => JSON.parse(readFileSync(output, 'utf8')) as SizesResult);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
