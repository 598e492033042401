/**
 * Ray maps <-> cameras and points, against synthetic cameras with known answers, and the RQ decomposition against
 * OpenCV's RQDecomp3x3 (Debian's python3).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { createCamera, type Camera } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { fromRotationTranslation, invertRigid, transformPoint } from '../core/mat4.ts';
import { DEBIAN_PYTHON } from '../../test/helpers/paths.ts';
import { axisAngleFromRotation, det3, mul3, norm3, rotationAngleDeg, rotationFromAxisAngle, transpose3, type Mat3 } from './mat3.ts';
import { createRng, type Rng } from './random.ts';
import {
  cameraFromRays, createRayMap, pointsFromRays, rayMapFromCamera, rqDecompose3, viewGeometryFromPrediction,
  type RayFormat, type RayMap,
} from './rays.ts';

const ALL_FORMATS: readonly RayFormat[] = (['hwc', 'chw'] as const).flatMap((layout) =>
  (['directionFirst', 'originFirst'] as const).flatMap((channelOrder) =>
    (['zUnit', 'unitNorm'] as const).map((rayDirection) => ({ layout, channelOrder, rayDirection }))));

function randomRotation(rng: Rng): Mat3 {
  const axis = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()];
  const n = Math.hypot(axis[0]!, axis[1]!, axis[2]!);
  const angle = rng.next() * Math.PI;
  return rotationFromAxisAngle(axis.map((a) => (a / n) * angle));
}

/** A camera with fx != fy and an off-centre principal point, somewhere in the world. */
function randomCamera(rng: Rng, width: number, height: number): Camera {
  const fxPx = width * (0.7 + rng.next());
  const fyPx = fxPx * (0.8 + 0.4 * rng.next());
  const cxPx = width * (0.35 + 0.3 * rng.next());
  const cyPx = height * (0.35 + 0.3 * rng.next());
  const centre = [rng.nextGaussian() * 3, rng.nextGaussian() * 3, rng.nextGaussian() * 3];
  return createCamera({ fxPx, fyPx, cxPx, cyPx, width, height }, fromRotationTranslation(randomRotation(rng), centre));
}

function rotationOf(m: Float64Array): Mat3 {
  return Float64Array.of(m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!);
}

/** Angle of R_a^T R_b in degrees, through atan2 (acos of the trace cannot resolve angles below ~1e-6 deg). */
function rotationErrorDeg(a: Float64Array, b: Float64Array): number {
  return (norm3(axisAngleFromRotation(mul3(transpose3(rotationOf(a)), rotationOf(b)))) * 180) / Math.PI;
}

function centreError(a: Float64Array, b: Float64Array): number {
  return Math.hypot(a[3]! - b[3]!, a[7]! - b[7]!, a[11]! - b[11]!);
}

interface CameraErrors {
  rotationDeg: number;
  focalRelative: number;
  principalPx: number;
  centre: number;
}

function cameraErrors(truth: Camera, fit: { worldFromCamera: Float64Array; intrinsics: Camera['intrinsics'] }): CameraErrors {
  const t = truth.intrinsics, f = fit.intrinsics;
  return {
    rotationDeg: rotationErrorDeg(truth.worldFromCamera, fit.worldFromCamera),
    focalRelative: Math.max(Math.abs(f.fxPx / t.fxPx - 1), Math.abs(f.fyPx / t.fyPx - 1)),
    principalPx: Math.max(Math.abs(f.cxPx - t.cxPx), Math.abs(f.cyPx - t.cyPx)),
    centre: centreError(truth.worldFromCamera, fit.worldFromCamera),
  };
}

/** Reads direction (d) and origin (t) of pixel i whatever the format, for building corrupted maps. */
function channelIndex(rays: RayMap, pixel: number, channel: 'd' | 't', axis: number): number {
  const first = (channel === 'd') === (rays.channelOrder === 'directionFirst') ? 0 : 3;
  return rays.layout === 'hwc' ? pixel * 6 + first + axis : (first + axis) * rays.width * rays.height + pixel;
}

/** Intersection depth of each pixel's ray with the plane n . X = offset: z-depth for zUnit rays, distance for unitNorm. */
function planeDepth(rays: RayMap, normal: readonly number[], offset: number): Float32Array {
  const n = rays.width * rays.height;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let nd = 0, nt = 0;
    for (let a = 0; a < 3; a++) {
      nd += normal[a]! * rays.data[channelIndex(rays, i, 'd', a)]!;
      nt += normal[a]! * rays.data[channelIndex(rays, i, 't', a)]!;
    }
    out[i] = (offset - nt) / nd;
  }
  return out;
}

describe('ray maps from cameras', () => {
  test('zUnit directions have camera-frame z = 1 and unitNorm ones length 1, in every layout', () => {
    const camera = randomCamera(createRng(1), 9, 7);
    const cameraFromWorld = invertRigid(camera.worldFromCamera);
    for (const format of ALL_FORMATS) {
      const rays = rayMapFromCamera(camera, format, 'float64');
      for (let i = 0; i < 63; i++) {
        const d = [0, 1, 2].map((a) => rays.data[channelIndex(rays, i, 'd', a)]!);
        const t = [0, 1, 2].map((a) => rays.data[channelIndex(rays, i, 't', a)]!);
        assert.deepEqual(t, [camera.worldFromCamera[3], camera.worldFromCamera[7], camera.worldFromCamera[11]]);
        // Direction in the camera frame: R_cw d.
        const dc = [0, 1, 2].map((r) => cameraFromWorld[r * 4]! * d[0]! + cameraFromWorld[r * 4 + 1]! * d[1]! + cameraFromWorld[r * 4 + 2]! * d[2]!);
        const u = i % 9, v = Math.floor(i / 9);
        const { fxPx, fyPx, cxPx, cyPx } = camera.intrinsics;
        if (format.rayDirection === 'zUnit') {
          assert.ok(Math.abs(dc[2]! - 1) < 1e-12);
        } else {
          assert.ok(Math.abs(Math.hypot(d[0]!, d[1]!, d[2]!) - 1) < 1e-12);
        }
        assert.ok(Math.abs(dc[0]! / dc[2]! - (u - cxPx) / fxPx) < 1e-12);
        assert.ok(Math.abs(dc[1]! / dc[2]! - (v - cyPx) / fyPx) < 1e-12);
      }
    }
  });

  test('createRayMap rejects a wrong length or an unknown layout', () => {
    assert.throws(() => createRayMap({ width: 2, height: 2, layout: 'hwc', channelOrder: 'directionFirst', rayDirection: 'zUnit', data: new Float32Array(23) }), InputError);
    assert.throws(() => createRayMap({ width: 2, height: 2, layout: 'nhwc' as 'hwc', channelOrder: 'directionFirst', rayDirection: 'zUnit', data: new Float32Array(24) }), InputError);
  });
});

describe('pointsFromRays', () => {
  test('t + D d reproduces points on a known plane, and they project back onto their pixels', () => {
    const rng = createRng(7);
    for (const format of ALL_FORMATS) {
      const camera = randomCamera(rng, 40, 30);
      const rays = rayMapFromCamera(camera, format, 'float64');
      // A plane 10 units in front of the camera, tilted.
      const c = [camera.worldFromCamera[3]!, camera.worldFromCamera[7]!, camera.worldFromCamera[11]!];
      const axis = [camera.worldFromCamera[2]!, camera.worldFromCamera[6]!, camera.worldFromCamera[10]!];
      const normal = [axis[0]! + 0.2, axis[1]! - 0.1, axis[2]!];
      const offset = normal.reduce((s, n, a) => s + n * (c[a]! + 10 * axis[a]!), 0);
      const depth = planeDepth(rays, normal, offset);
      depth[5] = NaN;
      depth[6] = -1;
      const map = pointsFromRays(depth, rays);
      assert.equal(map.frame, 'world');
      assert.ok(Number.isNaN(map.points[15]!) && Number.isNaN(map.points[18]!));
      const cameraFromWorld = invertRigid(camera.worldFromCamera);
      const local = new Float64Array(3);
      const { fxPx, fyPx, cxPx, cyPx } = camera.intrinsics;
      for (let i = 0; i < 1200; i++) {
        if (i === 5 || i === 6) continue;
        const p = [map.points[i * 3]!, map.points[i * 3 + 1]!, map.points[i * 3 + 2]!];
        // On the plane (float32 points: relative 1e-6).
        const onPlane = normal.reduce((s, n, a) => s + n * p[a]!, 0) - offset;
        assert.ok(Math.abs(onPlane) < 1e-4 * Math.abs(offset) + 1e-4, `plane residual ${onPlane}`);
        transformPoint(cameraFromWorld, p[0]!, p[1]!, p[2]!, local);
        const u = (fxPx * local[0]!) / local[2]! + cxPx, v = (fyPx * local[1]!) / local[2]! + cyPx;
        assert.ok(Math.abs(u - (i % 40)) < 1e-3 && Math.abs(v - Math.floor(i / 40)) < 1e-3, `pixel ${i}: (${u}, ${v})`);
        const expectedDepth = format.rayDirection === 'zUnit' ? local[2]! : Math.hypot(local[0]!, local[1]!, local[2]!);
        assert.ok(Math.abs(expectedDepth - depth[i]!) < 1e-5 * depth[i]!);
      }
    }
  });

  test('a depth of the wrong length is an InputError', () => {
    const rays = rayMapFromCamera(randomCamera(createRng(2), 4, 3));
    assert.throws(() => pointsFromRays(new Float32Array(11), rays), InputError);
  });
});

describe('cameraFromRays', () => {
  test('exact rays give back the camera exactly (every layout, several sizes)', () => {
    const rng = createRng(11);
    const sizes = [[32, 24], [57, 41], [80, 45], [24, 64]] as const;
    let worst: CameraErrors = { rotationDeg: 0, focalRelative: 0, principalPx: 0, centre: 0 };
    for (const [width, height] of sizes) {
      for (const format of ALL_FORMATS) {
        const camera = randomCamera(rng, width, height);
        const fit = cameraFromRays(rayMapFromCamera(camera, format, 'float64'), { seed: 3 });
        assert.ok(fit !== null);
        const e = cameraErrors(camera, fit);
        worst = {
          rotationDeg: Math.max(worst.rotationDeg, e.rotationDeg), focalRelative: Math.max(worst.focalRelative, e.focalRelative),
          principalPx: Math.max(worst.principalPx, e.principalPx), centre: Math.max(worst.centre, e.centre),
        };
        assert.equal(fit.inlierRatio, 1);
        assert.ok(Math.abs(fit.skewPx) < 1e-6);
        assert.equal(fit.intrinsics.width, width);
        assert.equal(fit.intrinsics.height, height);
        assert.ok(Math.abs(det3(rotationOf(fit.worldFromCamera)) - 1) < 1e-12);
      }
    }
    assert.ok(worst.rotationDeg < 1e-6, `rotation ${worst.rotationDeg} deg`);
    assert.ok(worst.focalRelative < 1e-6, `focal ${worst.focalRelative}`);
    assert.ok(worst.principalPx < 1e-6, `principal point ${worst.principalPx} px`);
    assert.ok(worst.centre < 1e-9, `centre ${worst.centre}`);
  });

  test('float32 rays (what a network emits) still recover the camera to float32 precision', () => {
    const rng = createRng(12);
    const camera = randomCamera(rng, 84, 56);
    const fit = cameraFromRays(rayMapFromCamera(camera), { seed: 1 });
    assert.ok(fit !== null);
    const e = cameraErrors(camera, fit);
    assert.ok(e.rotationDeg < 1e-3 && e.focalRelative < 1e-5 && e.principalPx < 1e-3 && e.centre < 1e-5, JSON.stringify(e));
  });

  test('0.5 deg (RMS) direction noise and 30% low-confidence outliers: rotation < 0.1 deg, focal < 0.5%', () => {
    const rng = createRng(21);
    for (let trial = 0; trial < 4; trial++) {
      const width = 128, height = 96;
      const camera = randomCamera(rng, width, height);
      const format = ALL_FORMATS[trial * 2]!;
      const rays = rayMapFromCamera(camera, format, 'float64');
      const weights = new Float32Array(width * height).fill(1);
      // 0.5 deg RMS angle: N(0, 0.5 / sqrt 2 deg) about each of two perpendicular axes.
      const sigma = (0.5 * Math.PI) / 180 / Math.SQRT2;
      for (let i = 0; i < width * height; i++) {
        const d = [0, 1, 2].map((a) => rays.data[channelIndex(rays, i, 'd', a)]!);
        let out: number[];
        if (rng.next() < 0.3) {
          // Outlier: a random direction and a wild origin, with low confidence.
          out = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()];
          for (let a = 0; a < 3; a++) rays.data[channelIndex(rays, i, 't', a)] = rng.nextGaussian() * 20;
          weights[i] = 0.05;
        } else {
          // Inlier: d turned about two axes perpendicular to it.
          const n = Math.hypot(d[0]!, d[1]!, d[2]!);
          const e1 = Math.abs(d[0]!) < 0.9 * n ? [0, -d[2]!, d[1]!] : [-d[2]!, 0, d[0]!];
          const n1 = Math.hypot(e1[0]!, e1[1]!, e1[2]!);
          const u1 = e1.map((x) => x / n1);
          const dn = d.map((x) => x / n);
          const u2 = [dn[1]! * u1[2]! - dn[2]! * u1[1]!, dn[2]! * u1[0]! - dn[0]! * u1[2]!, dn[0]! * u1[1]! - dn[1]! * u1[0]!];
          const a1 = rng.nextGaussian() * sigma, a2 = rng.nextGaussian() * sigma;
          out = d.map((x, a) => x + n * (a1 * u1[a]! + a2 * u2[a]!));
        }
        for (let a = 0; a < 3; a++) rays.data[channelIndex(rays, i, 'd', a)] = out[a]!;
      }
      const fit = cameraFromRays(rays, { weights, seed: trial });
      assert.ok(fit !== null);
      const e = cameraErrors(camera, fit);
      console.log(JSON.stringify(e));
      assert.ok(e.rotationDeg < 0.1, `trial ${trial}: rotation ${e.rotationDeg} deg`);
      assert.ok(e.focalRelative < 0.005, `trial ${trial}: focal ${e.focalRelative}`);
      assert.ok(e.centre < 1e-9, `trial ${trial}: centre ${e.centre}`);
      assert.ok(fit.inlierRatio > 0.6 && fit.inlierRatio < 0.75, `inlier ratio ${fit.inlierRatio}`);
      // Same seed, same answer.
      const again = cameraFromRays(rays, { weights, seed: trial });
      assert.deepEqual(again, fit);
    }
  });

  test('a skewed K is reported as skewPx and dropped from the intrinsics', () => {
    const width = 40, height = 30;
    const k = Float64Array.of(50, 4, 21, 0, 45, 14, 0, 0, 1);
    const rotation = randomRotation(createRng(5));
    const data = new Float64Array(width * height * 6);
    // K^-1 for an upper-triangular K.
    const kinv = Float64Array.of(1 / 50, -4 / (50 * 45), (4 * 14 - 21 * 45) / (50 * 45), 0, 1 / 45, -14 / 45, 0, 0, 1);
    const h = mul3(rotation, kinv);
    for (let v = 0; v < height; v++) {
      for (let u = 0; u < width; u++) {
        const i = v * width + u;
        for (let a = 0; a < 3; a++) data[i * 6 + a] = h[a * 3]! * u + h[a * 3 + 1]! * v + h[a * 3 + 2]!;
      }
    }
    const fit = cameraFromRays(createRayMap({ width, height, layout: 'hwc', channelOrder: 'directionFirst', rayDirection: 'zUnit', data }));
    assert.ok(fit !== null);
    assert.ok(Math.abs(fit.skewPx - 4) < 1e-8, `skew ${fit.skewPx}`);
    assert.ok(Math.abs(fit.intrinsics.fxPx - 50) < 1e-8 && Math.abs(fit.intrinsics.fyPx - 45) < 1e-8);
    assert.ok(Math.abs(fit.intrinsics.cxPx - 21) < 1e-8 && Math.abs(fit.intrinsics.cyPx - 14) < 1e-8);
    assert.ok(rotationErrorDeg(fromRotationTranslation(rotation, [0, 0, 0]), fit.worldFromCamera) < 1e-6);
  });

  test('too few valid pixels give null; bad options throw', () => {
    const camera = randomCamera(createRng(3), 10, 8);
    const rays = rayMapFromCamera(camera);
    const weights = new Float32Array(80);
    assert.equal(cameraFromRays(rays, { weights }), null);
    weights.fill(1, 0, 5);
    assert.equal(cameraFromRays(rays, { weights }), null);
    const nan = { ...rays, data: new Float32Array(rays.data.length).fill(NaN) };
    assert.equal(cameraFromRays(nan), null);
    // All pixels on one row: the homography is not determined.
    const oneRow = { ...rays, data: Float32Array.from(rays.data) };
    for (let i = 10; i < 80; i++) for (let a = 0; a < 6; a++) oneRow.data[i * 6 + a] = NaN;
    assert.equal(cameraFromRays(oneRow), null);
    assert.throws(() => cameraFromRays(rays, { weights: new Float32Array(3) }), InputError);
    assert.throws(() => cameraFromRays(rays, { thresholdDeg: 0 }), InputError);
    assert.throws(() => cameraFromRays(rays, { maxIterations: 0 }), InputError);
  });

  test('subsampling large maps keeps the answer exact and bounded in time', () => {
    const camera = randomCamera(createRng(8), 640, 480);
    const rays = rayMapFromCamera(camera, { layout: 'chw', channelOrder: 'originFirst', rayDirection: 'zUnit' }, 'float64');
    const start = performance.now();
    const fit = cameraFromRays(rays, { maxSamples: 20000, seed: 2 });
    const ms = performance.now() - start;
    assert.ok(fit !== null);
    assert.equal(fit.numSamples, 20000);
    const e = cameraErrors(camera, fit);
    assert.ok(e.rotationDeg < 1e-6 && e.focalRelative < 1e-6 && e.centre < 1e-9, JSON.stringify(e));
    assert.ok(ms < 3000, `${ms} ms`);
  });
});

describe('rqDecompose3', () => {
  test('K R factors back into K and R (positive diagonal)', () => {
    const rng = createRng(4);
    for (let trial = 0; trial < 20; trial++) {
      const k = Float64Array.of(100 + 900 * rng.next(), rng.nextGaussian() * 5, 300 * rng.next(), 0, 100 + 900 * rng.next(), 300 * rng.next(), 0, 0, 1);
      const r = randomRotation(rng);
      const rq = rqDecompose3(mul3(k, r));
      assert.ok(rq !== null);
      for (let i = 0; i < 9; i++) {
        assert.ok(Math.abs(rq.upper[i]! - k[i]!) < 1e-9 * 1000, `K[${i}] ${rq.upper[i]} vs ${k[i]}`);
        assert.ok(Math.abs(rq.orthogonal[i]! - r[i]!) < 1e-12, `R[${i}]`);
      }
    }
    assert.equal(rqDecompose3(new Float64Array(9)), null);
  });

  test('agrees with cv2.RQDecomp3x3 on random matrices', { skip: !pythonHasCv2() && 'no cv2 in Debian python' }, () => {
    const rng = createRng(99);
    const matrices: number[][] = [];
    for (let trial = 0; trial < 30; trial++) matrices.push(Array.from({ length: 9 }, () => rng.nextGaussian() * (trial % 3 === 0 ? 100 : 1)));
    const script = [
      'import sys, json, numpy as np, cv2',
      'out = []',
      'for m in json.load(sys.stdin):',
      '    _, r, q = cv2.RQDecomp3x3(np.array(m, dtype=np.float64).reshape(3, 3))[:3]',
      '    out.append([np.asarray(r).ravel().tolist(), np.asarray(q).ravel().tolist()])',
      'print(json.dumps(out))',
    ].join('\n');
    const result = spawnSync(DEBIAN_PYTHON, ['-c', script], { input: JSON.stringify(matrices), encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const reference = JSON.parse(result.stdout) as [number[], number[]][];
    for (let t = 0; t < matrices.length; t++) {
      const ours = rqDecompose3(Float64Array.from(matrices[t]!));
      assert.ok(ours !== null);
      const [cvUpper, cvOrthogonal] = reference[t]!;
      // OpenCV keeps Q a rotation and lets R's last diagonal entries go negative; bring it to our positive
      // diagonal by the same sign flips (R D, D Q), which the decomposition's uniqueness then makes identical.
      const upper = Float64Array.from(cvUpper!);
      const orthogonal = Float64Array.from(cvOrthogonal!);
      for (let i = 0; i < 3; i++) {
        if (upper[i * 4]! >= 0) continue;
        for (let r = 0; r < 3; r++) upper[r * 3 + i] = -upper[r * 3 + i]!;
        for (let c = 0; c < 3; c++) orthogonal[i * 3 + c] = -orthogonal[i * 3 + c]!;
      }
      const scale = Math.max(...matrices[t]!.map(Math.abs));
      for (let i = 0; i < 9; i++) {
        assert.ok(Math.abs(ours.upper[i]! - upper[i]!) < 1e-10 * scale, `matrix ${t} upper[${i}]: ${ours.upper[i]} vs ${upper[i]}`);
        assert.ok(Math.abs(ours.orthogonal[i]! - orthogonal[i]!) < 1e-10, `matrix ${t} orthogonal[${i}]`);
      }
    }
  });
});

describe('viewGeometryFromPrediction', () => {
  const camera = randomCamera(createRng(31), 48, 36);
  const rays = rayMapFromCamera(camera, { layout: 'hwc', channelOrder: 'directionFirst', rayDirection: 'zUnit' }, 'float64');
  const depth = new Float32Array(48 * 36).map((_, i) => 2 + (i % 7) * 0.25);

  test('rays only: the camera comes from the rays and the points are t + D d', () => {
    const g = viewGeometryFromPrediction({ depth: { width: 48, height: 36, data: depth }, rays });
    assert.ok(g !== null);
    assert.equal(g.cameraSource, 'rays');
    assert.ok(g.rayFit !== undefined);
    const e = cameraErrors(camera, g.camera);
    assert.ok(e.rotationDeg < 1e-6 && e.focalRelative < 1e-6 && e.centre < 1e-9);
    assert.deepEqual(g.pointMap.points, pointsFromRays(depth, rays).points);
  });

  test('a network camera is preferred unless told otherwise; without rays the depth is unprojected through it', () => {
    const other = randomCamera(createRng(32), 48, 36);
    const withBoth = viewGeometryFromPrediction({ depth: { width: 48, height: 36, data: depth }, rays, networkCamera: other });
    assert.ok(withBoth !== null);
    assert.equal(withBoth.cameraSource, 'networkCamera');
    assert.equal(withBoth.camera, other);
    const forced = viewGeometryFromPrediction({ depth: { width: 48, height: 36, data: depth }, rays, networkCamera: other }, { cameraFrom: 'rays' });
    assert.equal(forced?.cameraSource, 'rays');

    const cameraOnly = viewGeometryFromPrediction({ depth: { width: 48, height: 36, data: depth }, networkCamera: camera });
    assert.ok(cameraOnly !== null);
    // Unprojection through the true camera equals t + D d of the true rays.
    const expected = pointsFromRays(depth, rays).points;
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(cameraOnly.pointMap.points[i]! - expected[i]!) < 1e-5);
    assert.equal(viewGeometryFromPrediction({ depth: { width: 48, height: 36, data: depth } }), null);
  });
});

function pythonHasCv2(): boolean {
  const r = spawnSync(DEBIAN_PYTHON, ['-c', 'import cv2, numpy'], { encoding: 'utf8' });
  return r.status === 0;
}
