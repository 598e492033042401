import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCamera, createIntrinsics } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { UNLABELED, type GaussianSet } from '../core/gaussians.ts';
import { fromRotationTranslation } from '../core/mat4.ts';
import { rotationFromAxisAngle } from '../geometry/mat3.ts';
import { createRng } from '../geometry/random.ts';
import { LOW_PASS_PX2 } from './project.ts';
import { normalizeDepth, renderGaussians, renderGaussiansNaive, sortByDepth, type RenderedGaussians } from './rasterize.ts';
import { gaussiansFromRows, type GaussianRow } from '../../test/helpers/gaussian-rows.ts';

// Principal point on a pixel centre, so a Gaussian on the optical axis is centred on pixel (31, 23).
const intrinsics = createIntrinsics({ fxPx: 50, fyPx: 50, cxPx: 31, cyPx: 23, width: 64, height: 48 });
const camera = createCamera(intrinsics);

type Row = GaussianRow;

const gaussians = gaussiansFromRows;

const at = (image: RenderedGaussians, x: number, y: number, c: number): number => image.color.data[(y * image.width + x) * image.color.channels + c]!;
const alphaAt = (image: RenderedGaussians, x: number, y: number): number => image.alpha[y * image.width + x]!;

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

/** Pixel-centre position on the camera's ray through pixel (u, v) at depth z (identity camera). */
const onPixel = (u: number, v: number, z: number): number[] => [(u - intrinsics.cxPx) / intrinsics.fxPx * z, (v - intrinsics.cyPx) / intrinsics.fyPx * z, z];

test('a single isotropic Gaussian facing the camera: alpha = opacity exp(-0.5 r^2 / (sigma_px^2 + 0.3)), colour = colour * alpha', () => {
  const s = 0.0625, z = 2, opacity = 0.7, colour = [0.9, 0.4, 0.2];
  const image = renderGaussians(gaussians([{ p: [0, 0, z], s: [s, s, s], o: opacity, c: colour }]), camera);
  const variance = (intrinsics.fxPx * s / z) ** 2 + LOW_PASS_PX2;
  const expected = (dx: number, dy: number): number => {
    const a = opacity * Math.exp(-0.5 * (dx * dx + dy * dy) / variance);
    return a >= 1 / 255 ? a : 0;
  };
  for (const [dx, dy] of [[0, 0], [1, 0], [0, -1], [2, 1], [-3, 3], [0, 5], [4, -4]]) {
    close(alphaAt(image, 31 + dx!, 23 + dy!), expected(dx!, dy!), 1e-6, `alpha at offset ${dx},${dy}`);
  }
  colour.forEach((c, k) => close(at(image, 31, 23, k), Math.fround(c) * opacity, 1e-6, `centre channel ${k}`));
  close(image.depth[23 * 64 + 31]!, opacity * z, 1e-6, 'accumulated depth');
  close(normalizeDepth(image)[23 * 64 + 31]!, z, 1e-6, 'normalised depth');
  assert.ok(Number.isNaN(normalizeDepth(image)[0]!));
  // Far corners are untouched: background black, alpha 0.
  assert.equal(alphaAt(image, 0, 0), 0);
  assert.equal(image.labels, undefined);
});

test('the whole image equals the closed form for isotropic Gaussians straddling tile boundaries and corners', () => {
  const s = Math.fround(0.05), z = 2, opacity = 0.9, f = intrinsics.fxPx;
  // Centres on a 4-tile corner, on a vertical tile edge, on a horizontal tile edge (tiles are 16 px).
  const centres = [[15.5, 15.5], [47.5, 12], [32, 31.5]];
  const set = gaussians(centres.map(([u, v]) => ({ p: onPixel(u!, v!, z), s: [s, s, s], o: opacity })));
  const image = renderGaussians(set, camera);
  // Off the axis, an isotropic 3D Gaussian s^2 I projects to (f s / z)^2 [[1 + a^2, a b], [a b, 1 + b^2]] with
  // a = x/z, b = y/z (J J^T by hand), plus the low-pass.
  const footprints = centres.map(([u, v]) => {
    const a = (u! - intrinsics.cxPx) / f, b = (v! - intrinsics.cyPx) / f, k = (f * s / z) ** 2;
    const sxx = k * (1 + a * a) + LOW_PASS_PX2, sxy = k * a * b, syy = k * (1 + b * b) + LOW_PASS_PX2;
    const mid = (sxx + syy) / 2, det = sxx * syy - sxy * sxy;
    const radius = Math.ceil(3 * Math.sqrt(mid + Math.sqrt(Math.max(0.1, mid * mid - det))));
    return { u: u!, v: v!, sxx, sxy, syy, det, radius };
  });
  let covered = 0;
  for (let y = 0; y < 48; y++) {
    for (let x = 0; x < 64; x++) {
      let expected = 0;
      for (const { u, v, sxx, sxy, syy, det, radius } of footprints) {
        if (Math.abs(x - u) > radius || Math.abs(y - v) > radius) continue;
        const dx = x - u, dy = y - v;
        const a = opacity * Math.exp(-0.5 * (syy * dx * dx - 2 * sxy * dx * dy + sxx * dy * dy) / det);
        if (a >= 1 / 255) { expected = a; covered++; }
      }
      close(alphaAt(image, x, y), expected, 1e-5, `alpha at ${x},${y}`);
    }
  }
  assert.ok(covered > 100);
  // The four pixels around the corner at (15.5, 15.5) sit in four different tiles; mirror pairs agree.
  close(alphaAt(image, 16, 16), alphaAt(image, 15, 15), 1e-5, 'mirror across the corner');
  close(alphaAt(image, 16, 15), alphaAt(image, 15, 16), 1e-5, 'mirror across the corner (anti-diagonal)');
});

test('two overlapping Gaussians composite front to back whatever their order in the set; the label follows the larger weight', () => {
  const red = { p: [0, 0, 2], s: [0.1, 0.1, 0.1], o: 0.6, c: [1, 0, 0], label: 1 };
  const green = { p: [0, 0, 3], s: [0.1, 0.1, 0.1], o: 0.5, c: [0, 1, 0], label: 2 };
  const names = ['background', 'red', 'green'];
  for (const rows of [[red, green], [green, red]]) {
    const image = renderGaussians(gaussians(rows, names), camera);
    close(at(image, 31, 23, 0), 0.6, 1e-6, 'red');
    close(at(image, 31, 23, 1), 0.5 * (1 - 0.6), 1e-6, 'green behind red');
    close(image.depth[23 * 64 + 31]!, 0.6 * 2 + 0.5 * 0.4 * 3, 1e-5, 'depth');
    assert.equal(image.labels![23 * 64 + 31], 1);
    assert.equal(image.labels![0], UNLABELED);
  }
  // A faint front Gaussian: the one behind has the larger weight (0.9 * 0.8 > 0.2) and gives the label.
  const image = renderGaussians(gaussians([{ ...red, o: 0.2 }, { ...green, o: 0.9 }], names), camera);
  assert.equal(image.labels![23 * 64 + 31], 2);
  close(at(image, 31, 23, 1), 0.9 * 0.8, 1e-6, 'green through faint red');
});

test('alpha is clamped at 0.99 and a pixel stops at the Gaussian that would take transmittance below 1e-4', () => {
  const rows = [
    { p: [0, 0, 1], s: [0.05, 0.05, 0.05], o: 1, c: [1, 0, 0] },
    { p: [0, 0, 2], s: [0.1, 0.1, 0.1], o: 0.98, c: [0, 1, 0] },
    { p: [0, 0, 3], s: [0.15, 0.15, 0.15], o: 1, c: [0, 0, 1] },
  ];
  const image = renderGaussians(gaussians(rows), camera, { background: [0.5, 0.5, 0.5], channels: 4 });
  const t = 0.01 * (1 - Math.fround(0.98)); // after red (0.99) and green; blue would take it to 2e-6 < 1e-4
  close(at(image, 31, 23, 0), 0.99 + 0.5 * t, 1e-6, 'red clamped to 0.99');
  close(at(image, 31, 23, 1), 0.01 * Math.fround(0.98) + 0.5 * t, 1e-6, 'green');
  close(at(image, 31, 23, 2), 0.5 * t, 1e-9, 'blue never composited');
  close(at(image, 31, 23, 3), 1 - t, 1e-7, 'alpha channel (float32)');
  close(alphaAt(image, 31, 23), 1 - t, 1e-7, 'alpha');
  // A corner no Gaussian reaches shows the background.
  assert.deepEqual([0, 1, 2, 3].map((c) => at(image, 0, 47, c)), [0.5, 0.5, 0.5, 0]);
});

test('Gaussians behind the camera or before the near plane are culled, however large', () => {
  const set = gaussians([{ p: [0, 0, -1], s: [3, 3, 3], c: [1, 1, 1] }, { p: [0, 0, 0.005], s: [1, 1, 1], c: [1, 1, 1] }]);
  const image = renderGaussians(set, camera);
  assert.ok(image.alpha.every((a) => a === 0));
  assert.ok(image.color.data.every((v) => v === 0));
  assert.equal(image.stats.culled.near, 2);
  assert.equal(image.stats.visible, 0);
  // With a nearer near plane the second one is drawn.
  assert.ok(renderGaussians(set, camera, { near: 0.001 }).alpha[23 * 64 + 31]! > 0.9);
});

test('an anisotropic rotated Gaussian\'s footprint follows its rotated scales', () => {
  // Local x rotated by theta about the optical axis points along pixel direction (2, 1)/sqrt 5.
  const theta = Math.atan2(1, 2), z = 2, opacity = 0.9, sx = 0.1, sy = 0.03;
  const q = [Math.cos(theta / 2), 0, 0, Math.sin(theta / 2)];
  const image = renderGaussians(gaussians([{ p: [0, 0, z], s: [sx, sy, 0.01], q, o: opacity }]), camera);
  const major = (intrinsics.fxPx * Math.fround(sx) / z) ** 2 + LOW_PASS_PX2;
  const minor = (intrinsics.fxPx * Math.fround(sy) / z) ** 2 + LOW_PASS_PX2;
  for (const k of [1, 2]) {
    // (2k, k) lies on the major axis, (-k, 2k) on the minor axis, both at distance^2 = 5k^2.
    close(alphaAt(image, 31 + 2 * k, 23 + k), opacity * Math.exp(-0.5 * 5 * k * k / major), 1e-5, `major axis k=${k}`);
    close(alphaAt(image, 31 - 2 * k, 23 - k), opacity * Math.exp(-0.5 * 5 * k * k / major), 1e-5, `major axis k=-${k}`);
    const expectedMinor = opacity * Math.exp(-0.5 * 5 * k * k / minor);
    close(alphaAt(image, 31 - k, 23 + 2 * k), expectedMinor >= 1 / 255 ? expectedMinor : 0, 1e-5, `minor axis k=${k}`);
  }
  // Principal axis of the alpha-weighted pixel moments.
  let sum = 0, sxx = 0, syy = 0, sxy = 0;
  for (let y = 0; y < 48; y++) {
    for (let x = 0; x < 64; x++) {
      const w = alphaAt(image, x, y);
      sum += w; sxx += w * (x - 31) ** 2; syy += w * (y - 23) ** 2; sxy += w * (x - 31) * (y - 23);
    }
  }
  const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy);
  close(angle * 180 / Math.PI, theta * 180 / Math.PI, 1, 'footprint orientation (deg)');
  assert.ok(sum > 0);
});

/** A random scene of `count` Gaussians in front of (and a few behind) a posed camera, with semantics. */
function randomScene(count: number, seed: number): GaussianSet {
  const rng = createRng(seed);
  const rows: Row[] = [];
  for (let i = 0; i < count; i++) {
    const z = i % 50 === 0 ? -1 - rng.next() : 0.5 + 6 * rng.next();
    const scale = (): number => 0.005 * Math.exp(rng.next() * Math.log(40));
    rows.push({
      p: [(rng.next() - 0.5) * 1.6 * z, (rng.next() - 0.5) * 1.2 * z, z],
      s: [scale(), scale(), scale()],
      q: [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()],
      o: rng.next(),
      c: [rng.next() * 1.4 - 0.2, rng.next() * 1.4 - 0.2, rng.next() * 1.4 - 0.2],
      label: i % 7 === 0 ? UNLABELED : rng.nextInt(5),
    });
  }
  // Also an exact depth tie: the lower index must come first in both renderers.
  rows[1] = { ...rows[0]!, c: [0, 1, 0], label: 4 };
  return gaussians(rows, ['a', 'b', 'c', 'd', 'e']);
}

test('the tiled renderer matches the naive per-pixel oracle on a random 2000-Gaussian scene at 96x64', () => {
  const set = randomScene(2000, 11);
  const pose = fromRotationTranslation(rotationFromAxisAngle([0.05, -0.08, 0.02]), [0.1, -0.05, 0.2]);
  const cam = createCamera(createIntrinsics({ fxPx: 70, fyPx: 72, cxPx: 47.3, cyPx: 31.8, width: 96, height: 64 }), pose);
  const options = { background: [0.1, 0.2, 0.3] as const, channels: 4 as const };
  const fast = renderGaussians(set, cam, options);
  const naive = renderGaussiansNaive(set, cam, options);
  const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, k) => Math.max(m, Math.abs(v - b[k]!)), 0);
  assert.ok(maxDiff(fast.color.data, naive.color.data) <= 1e-5, `colour ${maxDiff(fast.color.data, naive.color.data)}`);
  assert.ok(maxDiff(fast.alpha, naive.alpha) <= 1e-5);
  assert.ok(maxDiff(fast.depth, naive.depth) <= 1e-4);
  assert.deepEqual(fast.labels, naive.labels);
  // The scene is not trivial: most pixels covered, several labels, some Gaussians culled behind the camera.
  assert.ok(fast.alpha.filter((a) => a > 0.5).length > 0.8 * 96 * 64);
  assert.ok(new Set(fast.labels).size >= 4);
  assert.ok(fast.stats.culled.near >= 40);
  assert.ok(fast.stats.tileEntries > fast.stats.visible);
  // Deterministic.
  assert.deepEqual(renderGaussians(set, cam, options), fast);
});

test('sortByDepth orders by float32 depth with ties in index order (against a comparison sort)', () => {
  const rng = createRng(5);
  const depth = Float32Array.from({ length: 5000 }, () => Math.round(rng.next() * 300) / 7 + 0.01);
  const expected = Array.from(depth.keys()).sort((a, b) => depth[a]! - depth[b]! || a - b);
  assert.deepEqual(Array.from(sortByDepth(depth)), expected);
});

test('an empty set renders the background; too many Gaussian-tile pairs is an InputError', () => {
  const empty = renderGaussians(gaussians([]), camera, { background: [0.25, 0.5, 1] });
  assert.deepEqual(Array.from(empty.color.data.subarray(0, 6)), [0.25, 0.5, 1, 0.25, 0.5, 1]);
  const big = gaussians([{ p: [0, 0, 2], s: [1, 1, 1] }, { p: [0, 0, 3], s: [1, 1, 1] }]);
  assert.throws(() => renderGaussians(big, camera, { maxTileEntries: 20 }), (e: unknown) => e instanceof InputError && /Gaussian-tile pairs/.test(e.message));
  assert.throws(() => renderGaussians(big, camera, { background: [0, NaN, 0] }), InputError);
});
