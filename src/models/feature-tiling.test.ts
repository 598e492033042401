import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../core/errors.ts';
import { createImage, type Image } from '../core/image.ts';
import { decodeImage } from '../io/decode-image.ts';
import { SHARED_DATA_DIR, SHARED_MODELS_DIR } from '../../test/helpers/paths.ts';
import { openXFeatKit, type XFeatKit } from '../../test/helpers/xfeat-kit.ts';
import { extractTiledFeatures, featurePixelScale, featureTiles } from './feature-tiling.ts';
import type { MutualNearestMatcher } from './matcher-graph.ts';
import type { XFeatExtractor } from './xfeat.ts';

const MODEL_640 = path.join(SHARED_MODELS_DIR, 'xfeat_640x640.onnx');
const DTU_IMAGE = path.join(SHARED_DATA_DIR, 'dtu_scan24_nerf_baseline', 'data', 'dtu_scan24', 'images', '000024.png');

describe('feature tiles', () => {
  it('a 1600x1200 photo at 1280 px: four 800x800 crops (network pixels = 1.25 image pixels) covering it', () => {
    const tiles = featureTiles(1600, 1200, 640, 640, 1280);
    assert.deepEqual(tiles, [
      { x: 0, y: 0, width: 800, height: 800 }, { x: 800, y: 0, width: 800, height: 800 },
      { x: 0, y: 400, width: 800, height: 800 }, { x: 800, y: 400, width: 800, height: 800 },
    ]);
    assert.equal(featurePixelScale(1600, 1200, 640, 640, 1280), 1.25);
  });

  it('never enlarges: an 800x800 image at 1280 px is cut into native 640x640 tiles that overlap evenly', () => {
    assert.deepEqual(featureTiles(800, 800, 640, 640, 1280).map((t) => [t.x, t.y, t.width, t.height]), [
      [0, 0, 640, 640], [160, 0, 640, 640], [0, 160, 640, 640], [160, 160, 640, 640],
    ]);
    assert.equal(featurePixelScale(800, 800, 640, 640, 1280), 1);
  });

  it('within one network input the whole image goes through as one piece (squeezed as upstream does)', () => {
    assert.deepEqual(featureTiles(640, 480, 640, 640, 1280), [{ x: 0, y: 0, width: 640, height: 480 }]);
    assert.deepEqual(featureTiles(1600, 1200, 640, 640, 640), [{ x: 0, y: 0, width: 1600, height: 1200 }]);
    assert.equal(featurePixelScale(1600, 1200, 640, 640, 640), 2.5);
    assert.throws(() => featureTiles(100, 100, 640, 640, 0), InputError);
  });

  it('every pixel of odd-sized images lies in some tile', () => {
    for (const [w, h, res] of [[1999, 1001, 1500], [4032, 3024, 2000], [700, 2100, 2100]] as const) {
      const tiles = featureTiles(w, h, 640, 480, res);
      for (const t of tiles) assert.ok(t.x >= 0 && t.y >= 0 && t.x + t.width <= w && t.y + t.height <= h);
      for (const [x, y] of [[0, 0], [w - 1, h - 1], [w >> 1, h >> 1], [w - 1, 0], [0, h - 1]] as const) {
        assert.ok(tiles.some((t) => x >= t.x && x < t.x + t.width && y >= t.y && y < t.y + t.height), `${w}x${h}: (${x}, ${y})`);
      }
    }
  });
});

function crop(image: Image<Uint8Array>, x0: number, y0: number, width: number, height: number): Image<Uint8Array> {
  const c = image.channels;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) data.set(image.data.subarray(((y0 + y) * image.width + x0) * c, ((y0 + y) * image.width + x0 + width) * c), y * width * c);
  return createImage({ width, height, channels: c, data });
}

describe('tiled XFeat on the real network', { skip: existsSync(MODEL_640) && existsSync(DTU_IMAGE) ? false : 'no XFeat model or DTU image' }, () => {
  let kit: XFeatKit;
  let extractor: XFeatExtractor;
  let matcher: MutualNearestMatcher;
  before(async () => {
    kit = await openXFeatKit(MODEL_640);
    ({ extractor, matcher } = kit);
  });
  after(async () => kit.close());

  it('native-resolution tiles: keypoints once each, in bounds, best first; a copy shifted by 8 px matches at the shift', async (t) => {
    const image = await decodeImage({ path: DTU_IMAGE });
    // 1200x900 crops, 8 px apart: b(x, y) = a(x + 8, y). At 1200 px each is cut into 2x2 native tiles.
    const a = crop(image, 200, 150, 1200, 900);
    const b = crop(image, 208, 150, 1200, 900);
    const options = { resolutionPx: 1200, maxKeypoints: 8192 };
    const fa = await extractTiledFeatures(extractor, a, options);
    const fb = await extractTiledFeatures(extractor, b, options);
    const squeezed = await extractor.extract(a);
    assert.equal(fa.width, 1200);
    assert.ok(fa.count > 1.5 * squeezed.count, `${fa.count} tiled vs ${squeezed.count} squeezed keypoints`);
    const seen = new Set<string>();
    for (let i = 0; i < fa.count; i++) {
      const x = fa.keypoints[2 * i]!, y = fa.keypoints[2 * i + 1]!;
      assert.ok(x >= 0 && x <= 1199 && y >= 0 && y <= 899, `keypoint (${x}, ${y}) out of the image`);
      const key = `${x},${y}`;
      assert.ok(!seen.has(key), `keypoint (${x}, ${y}) detected twice`);
      seen.add(key);
      if (i > 0) assert.ok(fa.scores[i]! <= fa.scores[i - 1]!);
    }
    const matches = await matcher.match(fa, fb);
    let exact = 0;
    for (let k = 0; k < matches.count; k++) {
      const i = matches.indices0[k]!, j = matches.indices1[k]!;
      if (Math.hypot(fa.keypoints[2 * i]! - 8 - fb.keypoints[2 * j]!, fa.keypoints[2 * i + 1]! - fb.keypoints[2 * j + 1]!) <= 1) exact++;
    }
    t.diagnostic(`${fa.count} / ${fb.count} keypoints (squeezed: ${squeezed.count}), ${matches.count} matches, ${exact} at the true shift`);
    assert.ok(matches.count > 1000, `${matches.count} matches`);
    assert.ok(exact >= 0.9 * matches.count, `${exact} of ${matches.count} at the true shift`);
    // The cap holds over all tiles.
    const capped = await extractTiledFeatures(extractor, a, { resolutionPx: 1200, maxKeypoints: 500 });
    assert.equal(capped.count, 500);
    assert.deepEqual(Array.from(capped.scores), Array.from(fa.scores.subarray(0, 500)));
  });
});
