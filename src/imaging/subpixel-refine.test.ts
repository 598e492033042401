import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SUBPIXEL_OPTIONS, greyFromInterleaved, localLinearMaps, refineMatchesSubpixel, SUBPIXEL_FAILURES, type GreyImage } from './subpixel-refine.ts';

/** A smooth, non-periodic texture (sum of oblique waves, wavelengths 7-23 px): every window has corners. */
function texture(x: number, y: number): number {
  return 128 + 30 * Math.sin(0.41 * x + 0.17 * y) + 25 * Math.sin(-0.13 * x + 0.52 * y + 1)
    + 20 * Math.sin(0.29 * x - 0.33 * y + 2) + 15 * Math.cos(0.71 * x + 0.23 * y);
}

/** Renders f at pixel centres (integers), optionally quantised to 8-bit codes. */
function render(width: number, height: number, f: (x: number, y: number) => number, quantise = false): GreyImage {
  const data = quantise ? new Uint8Array(width * height) : new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = quantise ? Math.max(0, Math.min(255, Math.round(f(x, y)))) : f(x, y);
  return { width, height, data };
}

/** Reference points on a grid away from the border. */
function gridPoints(width: number, height: number, step: number, margin: number): Float64Array {
  const out: number[] = [];
  for (let y = margin; y < height - margin; y += step) for (let x = margin; x < width - margin; x += step) out.push(x + 0.37, y + 0.61);
  return Float64Array.from(out);
}

describe('refineMatchesSubpixel', () => {
  it('recovers a known subpixel translation to < 0.05 px from starts 1-2 px off (translation and affine warps)', () => {
    const [sx, sy] = [0.63, -1.27];
    const a = render(160, 120, texture);
    const b = render(160, 120, (x, y) => texture(x - sx, y - sy)); // b(p + s) = a(p)
    const p = gridPoints(160, 120, 17, 20);
    const start = new Float64Array(p.length);
    for (let i = 0; i < p.length / 2; i++) {
      // Start off by up to ~2 px in varying directions (the precision of a keypoint from a downscaled image).
      start[2 * i] = p[2 * i]! + sx + 1.4 * Math.cos(i * 2.1);
      start[2 * i + 1] = p[2 * i + 1]! + sy + 1.4 * Math.sin(i * 2.1);
    }
    for (const warp of ['translation', 'affine'] as const) {
      const r = refineMatchesSubpixel(a, b, p, start, { ...DEFAULT_SUBPIXEL_OPTIONS, warp });
      for (let i = 0; i < p.length / 2; i++) {
        assert.equal(r.status[i], 0, `${warp} match ${i}: ${SUBPIXEL_FAILURES[r.status[i]! - 1]}`);
        const ex = r.points[2 * i]! - (p[2 * i]! + sx), ey = r.points[2 * i + 1]! - (p[2 * i + 1]! + sy);
        assert.ok(Math.hypot(ex, ey) < 0.05, `${warp} match ${i}: error ${Math.hypot(ex, ey).toFixed(3)} px`);
        assert.ok(r.ncc[i]! > 0.99);
      }
    }
  });

  it('recovers the centre of an affine-warped texture (rotation 8 deg, scale 1.1, shear) with the affine warp, on 8-bit codes with a gain/offset change', () => {
    // b(T(x)) = a(x) with T(x) = L x + t.
    const ang = (8 * Math.PI) / 180, s = 1.1;
    const l00 = s * Math.cos(ang), l01 = -s * Math.sin(ang) + 0.05, l10 = s * Math.sin(ang), l11 = s * Math.cos(ang);
    const [tx, ty] = [6.3, -4.8];
    const det = l00 * l11 - l01 * l10;
    const inv = (x: number, y: number): [number, number] => {
      const u = x - tx, v = y - ty;
      return [(l11 * u - l01 * v) / det, (-l10 * u + l00 * v) / det];
    };
    const a = render(200, 160, texture, true);
    const b = render(200, 160, (x, y) => { const [u, v] = inv(x, y); return 0.8 * texture(u, v) + 20; }, true);
    const p = gridPoints(200, 160, 23, 40);
    const truth = new Float64Array(p.length), start = new Float64Array(p.length);
    for (let i = 0; i < p.length / 2; i++) {
      const x = p[2 * i]!, y = p[2 * i + 1]!;
      truth[2 * i] = l00 * x + l01 * y + tx; truth[2 * i + 1] = l10 * x + l11 * y + ty;
      start[2 * i] = truth[2 * i]! - 1.1; start[2 * i + 1] = truth[2 * i + 1]! + 0.9;
    }
    const r = refineMatchesSubpixel(a, b, p, start, { ...DEFAULT_SUBPIXEL_OPTIONS, warp: 'affine', halfWindowPx: 9 });
    const errors: number[] = [];
    for (let i = 0; i < p.length / 2; i++) {
      assert.equal(r.status[i], 0, `match ${i}: ${SUBPIXEL_FAILURES[r.status[i]! - 1]}`);
      errors.push(Math.hypot(r.points[2 * i]! - truth[2 * i]!, r.points[2 * i + 1]! - truth[2 * i + 1]!));
    }
    errors.sort((x, y) => x - y);
    assert.ok(errors[Math.floor(errors.length / 2)]! < 0.05, `median error ${errors[Math.floor(errors.length / 2)]}`);
    assert.ok(errors[errors.length - 1]! < 0.1, `max error ${errors[errors.length - 1]}`);
    // A translation-only window cannot follow the rotation as well: the affine warp is the better model here.
    const t = refineMatchesSubpixel(a, b, p, start, { ...DEFAULT_SUBPIXEL_OPTIONS, warp: 'translation', halfWindowPx: 9, minNcc: 0 });
    let tErr = 0, aErr = 0;
    for (let i = 0; i < p.length / 2; i++) {
      tErr += Math.hypot(t.points[2 * i]! - truth[2 * i]!, t.points[2 * i + 1]! - truth[2 * i + 1]!);
      aErr += errors[i]!;
    }
    assert.ok(aErr < tErr, `affine ${aErr} vs translation ${tErr}`);
  });

  it('rejects a textureless patch, a patch on a straight edge, a window outside the image and a wrong match', () => {
    const flat = render(80, 80, (x, y) => 100 + 0.5 * Math.sin(x * 3.1 + y * 1.7), true);
    const edge = render(80, 80, (x) => (x < 40 ? 50 : 200));
    const textured = render(80, 80, texture);
    const other = render(80, 80, (x, y) => 128 + 40 * Math.sin(0.9 * x * y / 50 + 0.3 * x) + 30 * Math.cos(0.6 * y - 0.2 * x * x / 30));
    const at = Float64Array.of(40.2, 40.4);
    const code = (f: string): number => SUBPIXEL_FAILURES.indexOf(f as never) + 1;
    assert.equal(refineMatchesSubpixel(flat, flat, at, at).status[0], code('textureless'));
    assert.equal(refineMatchesSubpixel(edge, edge, Float64Array.of(40, 40.3), Float64Array.of(40.5, 41)).status[0], code('edge'));
    assert.equal(refineMatchesSubpixel(textured, textured, Float64Array.of(3, 40), Float64Array.of(3, 40)).status[0], code('outside'));
    const wrong = refineMatchesSubpixel(textured, other, at, at);
    assert.notEqual(wrong.status[0], 0);
    // A failed match keeps its input position.
    assert.deepEqual([...wrong.points], [...at]);
  });

  it('with minSearchNcc, a window whose whole-pixel search stays below it fails as lowNcc, and a good one is unaffected', () => {
    const textured = render(80, 80, texture);
    const moved = render(80, 80, (x, y) => texture(x - 0.4, y + 0.7));
    const other = render(80, 80, (x, y) => 128 + 40 * Math.sin(0.9 * x * y / 50 + 0.3 * x) + 30 * Math.cos(0.6 * y - 0.2 * x * x / 30));
    const at = Float64Array.of(40.2, 40.4);
    const options = { ...DEFAULT_SUBPIXEL_OPTIONS, minSearchNcc: 0.4 };
    const wrong = refineMatchesSubpixel(textured, other, at, at, options);
    assert.equal(SUBPIXEL_FAILURES[wrong.status[0]! - 1], 'lowNcc');
    assert.ok(wrong.ncc[0]! < 0.4, `the reported NCC is the search's best, ${wrong.ncc[0]}`);
    const good = refineMatchesSubpixel(textured, moved, at, at, options);
    const plain = refineMatchesSubpixel(textured, moved, at, at);
    assert.equal(good.status[0], 0);
    assert.deepEqual([...good.points], [...plain.points], 'the same steps as without the option');
    assert.ok(Math.hypot(good.points[0]! - 40.6, good.points[1]! - 39.7) < 0.05);
  });

  it('the whole-pixel search reports, bit for bit, the best NCC of the shifted windows sampled one by one', () => {
    const a = render(120, 100, texture, true);
    const b = render(120, 100, (x, y) => 0.9 * texture(x - 0.7, y + 1.3) + 9, true);
    const h = 7, R = 3, side = 2 * h + 1, m = side * side;
    const bilinear = (img: GreyImage, x0: number, y0: number, fx: number, fy: number): number => {
      const o = y0 * img.width + x0, d = img.data;
      const p = d[o]!, q = d[o + 1]!, r = d[o + img.width]!, s = d[o + img.width + 1]!;
      return (p + (q - p) * fx) + ((r + (s - r) * fx) - (p + (q - p) * fx)) * fy;
    };
    // The search's arithmetic: template sampled at p + offset, zero mean and unit variance; each whole-pixel shift of
    // the warped window moves the bilinear base of every sample and keeps its fractions.
    const plainBest = (px: number, py: number, l: readonly number[], qx: number, qy: number): number => {
      const raw: number[] = [];
      for (let v = 0; v < side; v++) {
        for (let u = 0; u < side; u++) {
          const x = px + (u + 1) - h - 1, y = py + (v + 1) - h - 1;
          raw.push(bilinear(a, Math.floor(x), Math.floor(y), x - Math.floor(x), y - Math.floor(y)));
        }
      }
      let mean = 0;
      for (const r of raw) mean += r;
      mean /= m;
      let varSum = 0;
      for (const r of raw) varSum += (r - mean) * (r - mean);
      const inv = 1 / Math.sqrt(varSum / m);
      const tmpl = raw.map((r) => (r - mean) * inv);
      let best = -Infinity;
      for (let oy = -R; oy <= R; oy++) {
        for (let ox = -R; ox <= R; ox++) {
          let sum = 0, sumSq = 0, sumT = 0;
          for (let v = 0; v < side; v++) {
            for (let u = 0; u < side; u++) {
              const sx = l[0]! * (u - h) + l[1]! * (v - h) + qx, sy = l[2]! * (u - h) + l[3]! * (v - h) + qy;
              const val = bilinear(b, Math.floor(sx) + ox, Math.floor(sy) + oy, sx - Math.floor(sx), sy - Math.floor(sy));
              sum += val; sumSq += val * val; sumT += val * tmpl[v * side + u]!;
            }
          }
          const c = sumT / Math.sqrt((sumSq - (sum * sum) / m) * m);
          if (c > best) best = c;
        }
      }
      return best;
    };
    // Starts off by every whole-pixel offset the search covers (plus a fraction), so that the best shift of some
    // window is each of them; local linear maps a little off the identity.
    const p = gridPoints(120, 100, 9, 25), q = new Float64Array(p.length), linear = new Float64Array(2 * p.length);
    for (let i = 0; i < p.length / 2; i++) {
      const ox = (i % 7) - 3, oy = (Math.floor(i / 7) % 7) - 3;
      q[2 * i] = p[2 * i]! + 0.7 - ox + 0.3 * Math.cos(i); q[2 * i + 1] = p[2 * i + 1]! - 1.3 - oy + 0.3 * Math.sin(i);
      linear.set([1 + 0.04 * Math.sin(i), 0.05 * Math.cos(i), -0.04 * Math.sin(2 * i), 0.97 + 0.03 * Math.cos(3 * i)], 4 * i);
    }
    // Every window fails after the search, reporting its best NCC.
    const r = refineMatchesSubpixel(a, b, p, q, { ...DEFAULT_SUBPIXEL_OPTIONS, minSearchNcc: Number.POSITIVE_INFINITY }, linear);
    for (let i = 0; i < p.length / 2; i++) {
      assert.equal(SUBPIXEL_FAILURES[r.status[i]! - 1], 'lowNcc');
      const expected = plainBest(p[2 * i]!, p[2 * i + 1]!, [...linear.subarray(4 * i, 4 * i + 4)], q[2 * i]!, q[2 * i + 1]!);
      assert.equal(r.ncc[i], Math.fround(expected), `window ${i}`);
    }
  });

  it('localLinearMaps picks the same neighbours as a scan over all matches, ties to the lower index', () => {
    // The scan it must agree with: insertion of every other match in index order into a list sorted by distance.
    const byScan = (ref: Float64Array, tgt: Float64Array, k: number): Float64Array => {
      const n = ref.length / 2, out = new Float64Array(4 * n);
      for (let i = 0; i < n; i++) {
        out[4 * i] = 1; out[4 * i + 3] = 1;
        if (n < 4) continue;
        const near: { d: number; j: number }[] = [];
        for (let j = 0; j < n; j++) {
          const dx = ref[2 * j]! - ref[2 * i]!, dy = ref[2 * j + 1]! - ref[2 * i + 1]!, d = dx * dx + dy * dy;
          if (j !== i && d >= 1e-12) near.push({ d, j });
        }
        near.sort((x, y) => x.d - y.d || x.j - y.j);
        let sxx = 0, sxy = 0, syy = 0, ux = 0, uy = 0, vx = 0, vy = 0;
        const used = Math.min(k, near.length);
        for (const { j } of near.slice(0, used)) {
          const dx = ref[2 * j]! - ref[2 * i]!, dy = ref[2 * j + 1]! - ref[2 * i + 1]!;
          const ex = tgt[2 * j]! - tgt[2 * i]!, ey = tgt[2 * j + 1]! - tgt[2 * i + 1]!;
          sxx += dx * dx; sxy += dx * dy; syy += dy * dy;
          ux += ex * dx; uy += ex * dy; vx += ey * dx; vy += ey * dy;
        }
        const det = sxx * syy - sxy * sxy;
        if (used < 3 || !(det > 1e-9 * (sxx + syy) * (sxx + syy))) continue;
        const l = [(ux * syy - uy * sxy) / det, (uy * sxx - ux * sxy) / det, (vx * syy - vy * sxy) / det, (vy * sxx - vx * sxy) / det];
        const ld = l[0]! * l[3]! - l[1]! * l[2]!;
        if (ld > 0.25 && ld < 4) out.set(l, 4 * i);
      }
      return out;
    };
    let state = 7;
    const random = (): number => (state = (state * 48271) % 2147483647) / 2147483647;
    for (let trial = 0; trial < 40; trial++) {
      const n = 4 + Math.floor(random() * 120);
      // Small integer coordinates on half the trials: many equal distances and some duplicate points.
      const coarse = trial % 2 === 0;
      const ref = Float64Array.from({ length: 2 * n }, () => (coarse ? Math.floor(random() * 9) : random() * 400));
      const tgt = ref.map((v) => 1.1 * v + 2 * random());
      for (const k of [1, 5, 12]) assert.deepEqual([...localLinearMaps(ref, tgt, k)], [...byScan(ref, tgt, k)], `trial ${trial}, ${k} neighbours`);
    }
  });

  it('localLinearMaps recovers a global affine map from noisy neighbouring matches, and gives the identity with too few', () => {
    const l = [1.2, -0.15, 0.1, 0.9];
    const ref: number[] = [], tgt: number[] = [];
    for (let i = 0; i < 200; i++) {
      const x = 40 + ((i * 37) % 500), y = 30 + ((i * 53) % 400);
      // Deterministic +-0.5 px noise, like keypoints from a downscaled image.
      ref.push(x, y);
      tgt.push(l[0]! * x + l[1]! * y + 7 + 0.5 * Math.sin(i * 1.7), l[2]! * x + l[3]! * y - 3 + 0.5 * Math.cos(i * 2.3));
    }
    const maps = localLinearMaps(Float64Array.from(ref), Float64Array.from(tgt), 24);
    for (let i = 0; i < 200; i++) for (let k = 0; k < 4; k++) assert.ok(Math.abs(maps[4 * i + k]! - l[k]!) < 0.05, `match ${i} entry ${k}: ${maps[4 * i + k]}`);
    assert.deepEqual([...localLinearMaps(Float64Array.of(1, 2, 5, 9), Float64Array.of(3, 3, 8, 1))], [1, 0, 0, 1, 1, 0, 0, 1]);
  });

  it('converts RGB to Rec. 601 luma codes', () => {
    const g = greyFromInterleaved(2, 1, 3, Uint8Array.of(255, 0, 0, 10, 200, 30));
    assert.deepEqual([...g.data], [Math.round(0.299 * 255), Math.round(0.299 * 10 + 0.587 * 200 + 0.114 * 30)]);
  });
});
