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
import type { LocalFeatures, XFeatExtractor } from './xfeat.ts';

const MODEL_640 = path.join(SHARED_MODELS_DIR, 'xfeat_640x640.onnx');
const DTU_IMAGES = path.join(SHARED_DATA_DIR, 'dtu_scan24_nerf_baseline', 'data', 'dtu_scan24', 'images');
const DTU_IMAGE = path.join(DTU_IMAGES, '000024.png');

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

/** Bit-for-bit equality of two float arrays. */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * The tiled extraction as it was before the two-phase split, as a reference: every tile through extract()
 * (descriptors for all of its keypoints), each keypoint kept by the tile whose centre is nearest (ties to the
 * first), merged best first with ties in tile then keypoint order, at most maxKeypoints.
 */
async function oneShotTiledFeatures(
  extractor: XFeatExtractor, image: Image<Uint8Array>, options: { resolutionPx: number; maxKeypoints: number },
): Promise<LocalFeatures> {
  const tiles = featureTiles(image.width, image.height, extractor.inputWidth, extractor.inputHeight, options.resolutionPx);
  const owner = (x: number, y: number): number => {
    let best = 0;
    let bestDistance = Number.POSITIVE_INFINITY;
    tiles.forEach((t, i) => {
      const d = Math.max(Math.abs(x - (t.x + (t.width - 1) / 2)) / t.width, Math.abs(y - (t.y + (t.height - 1) / 2)) / t.height);
      if (d < bestDistance - 1e-12) { bestDistance = d; best = i; }
    });
    return best;
  };
  const kept: Array<{ features: LocalFeatures; x: number; y: number; part: number; i: number }> = [];
  for (const [part, tile] of tiles.entries()) {
    const features = await extractor.extract(crop(image, tile.x, tile.y, tile.width, tile.height));
    for (let i = 0; i < features.count; i++) {
      if (owner(features.keypoints[2 * i]! + tile.x, features.keypoints[2 * i + 1]! + tile.y) === part) kept.push({ features, x: tile.x, y: tile.y, part, i });
    }
  }
  kept.sort((a, b) => b.features.scores[b.i]! - a.features.scores[a.i]! || a.part - b.part || a.i - b.i);
  const count = Math.min(kept.length, options.maxKeypoints);
  const dim = kept[0]!.features.descriptorSize;
  const keypoints = new Float32Array(2 * count), scores = new Float32Array(count), descriptors = new Float32Array(count * dim);
  kept.slice(0, count).forEach(({ features, x, y, i }, m) => {
    keypoints[2 * m] = features.keypoints[2 * i]! + x;
    keypoints[2 * m + 1] = features.keypoints[2 * i + 1]! + y;
    scores[m] = features.scores[i]!;
    descriptors.set(features.descriptors.subarray(i * dim, (i + 1) * dim), m * dim);
  });
  return { width: image.width, height: image.height, count, keypoints, scores, descriptorSize: dim, descriptors };
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
  it('two-phase tiles (detect, merge, describe the kept) give exactly the one-phase result: extract per tile, merge', { skip: existsSync(path.join(DTU_IMAGES, '000000.png')) ? false : 'no DTU image 000000' }, async () => {
    const image = await decodeImage({ path: path.join(DTU_IMAGES, '000000.png') });
    for (const maxKeypoints of [8192, 700]) {
      const options = { resolutionPx: 1600, maxKeypoints };
      const expected = await oneShotTiledFeatures(extractor, image, options);
      const actual = await extractTiledFeatures(extractor, image, options);
      assert.ok(expected.count === maxKeypoints, `${expected.count} keypoints`);
      assert.equal(actual.count, expected.count);
      assert.ok(sameBits(actual.keypoints, expected.keypoints), 'keypoints');
      assert.ok(sameBits(actual.scores, expected.scores), 'scores');
      assert.ok(sameBits(actual.descriptors, expected.descriptors), 'descriptors');
    }
  });
});
