/**
 * The multi-view DA3 adapter on generated graphs that honour its contract (tools/onnx/da3-multiview-test-graph.ts):
 * three known cameras looking at a known plane. Run through onnxruntime-node, the outputs go back to each image's
 * resolution, and cameras (from the rays or the camera outputs) and world points must match the known scene.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Camera } from '../../src/core/camera.ts';
import { InputError, ModelError } from '../../src/core/errors.ts';
import { createImage, type Image } from '../../src/core/image.ts';
import { invertRigid, transformPoint } from '../../src/core/mat4.ts';
import { fusePointClouds } from '../../src/geometry/fusion.ts';
import { axisAngleFromRotation, mul3, norm3, transpose3 } from '../../src/geometry/mat3.ts';
import { viewGeometryFromPrediction } from '../../src/geometry/rays.ts';
import type { InferenceBackend, ModelSession, TensorInfo } from '../../src/models/backend.ts';
import {
  detectMultiViewDa3Contract, multiViewNetworkSize, runMultiViewDa3, type MultiViewDa3View,
} from '../../src/models/da3-multiview.ts';
import { createOnnxRuntimeNodeBackend } from '../../src/models/onnxruntime-node.ts';
import {
  DA3_TEST_CAMERAS, DA3_TEST_HEIGHT, DA3_TEST_PLANE, DA3_TEST_WIDTH, ensureDa3MultiviewTestGraphs, testCameraAt,
  testConfidence, testPlaneDepth, testRayDirection, type Da3TestGraph, type TestCamera,
} from '../../tools/onnx/da3-multiview-test-graph.ts';
import { noise } from '../helpers/noise.ts';

function rgbImage(width: number, height: number, seed: number): Image<Uint8Array> {
  return createImage({ width, height, channels: 3, data: Uint8Array.from(noise(width * height * 3, seed), (x) => Math.floor(x * 256)) });
}

function imagesOf(sizes: readonly (readonly [number, number])[]): Image<Uint8Array>[] {
  return sizes.map(([w, h], k) => rgbImage(w, h, k + 1));
}

const NETWORK_SIZES = [[DA3_TEST_WIDTH, DA3_TEST_HEIGHT], [DA3_TEST_WIDTH, DA3_TEST_HEIGHT], [DA3_TEST_WIDTH, DA3_TEST_HEIGHT]] as const;

interface CameraErrors { rotationDeg: number; focalRelative: number; principalPx: number; centre: number }

function cameraErrors(truth: TestCamera, camera: Camera): CameraErrors {
  const m = camera.worldFromCamera;
  const r = Float64Array.of(m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!);
  const t = truth.intrinsics, k = camera.intrinsics;
  assert.equal(k.width, t.width);
  assert.equal(k.height, t.height);
  return {
    rotationDeg: (norm3(axisAngleFromRotation(mul3(transpose3(Float64Array.from(truth.rotation)), r))) * 180) / Math.PI,
    focalRelative: Math.max(Math.abs(k.fxPx / t.fxPx - 1), Math.abs(k.fyPx / t.fyPx - 1)),
    principalPx: Math.max(Math.abs(k.cxPx - t.cxPx), Math.abs(k.cyPx - t.cyPx)),
    centre: Math.hypot(m[3]! - truth.centre[0]!, m[7]! - truth.centre[1]!, m[11]! - truth.centre[2]!),
  };
}

/** Float32 network outputs: rotations to ~1e-4 deg, focal lengths to ~1e-6, centres to ~1e-6. */
function assertCameraClose(truth: TestCamera, camera: Camera, what: string): void {
  const e = cameraErrors(truth, camera);
  assert.ok(e.rotationDeg < 2e-3 && e.focalRelative < 2e-5 && e.principalPx < 2e-3 && e.centre < 1e-5, `${what}: ${JSON.stringify(e)}`);
}

function planeResidual(x: number, y: number, z: number): number {
  const n = DA3_TEST_PLANE.normal;
  return n[0]! * x + n[1]! * y + n[2]! * z - DA3_TEST_PLANE.offset;
}

/** Every valid point lies on the plane and projects, through the true camera, onto its own pixel. */
function assertPointsOnPlaneAndPixels(view: MultiViewDa3View, truth: TestCamera, planeTolerance: number): void {
  const geometry = viewGeometryFromPrediction(view);
  assert.ok(geometry !== null);
  const { width, height, points } = geometry.pointMap;
  const r = truth.rotation, c = truth.centre, k = truth.intrinsics;
  let worstPlane = 0, worstPixel = 0;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const i = v * width + u;
      const p = [points[i * 3]!, points[i * 3 + 1]!, points[i * 3 + 2]!];
      worstPlane = Math.max(worstPlane, Math.abs(planeResidual(p[0]!, p[1]!, p[2]!)));
      // Camera frame: R^T (p - c).
      const q = [0, 1, 2].map((row) => r[row]! * (p[0]! - c[0]!) + r[3 + row]! * (p[1]! - c[1]!) + r[6 + row]! * (p[2]! - c[2]!));
      const pu = (k.fxPx * q[0]!) / q[2]! + k.cxPx, pv = (k.fyPx * q[1]!) / q[2]! + k.cyPx;
      worstPixel = Math.max(worstPixel, Math.hypot(pu - u, pv - v));
    }
  }
  assert.ok(worstPlane < planeTolerance, `plane residual ${worstPlane}`);
  assert.ok(worstPixel < 2e-3, `reprojection ${worstPixel} px`);
}

describe('multi-view DA3 adapter (onnxruntime-node, generated graphs)', () => {
  let graphs: Record<Da3TestGraph, string>;
  let backend: InferenceBackend;
  const sessions = new Map<Da3TestGraph, ModelSession>();
  const open = async (which: Da3TestGraph): Promise<ModelSession> => {
    let session = sessions.get(which);
    if (session === undefined) {
      session = await backend.open(graphs[which], { device: 'cpu', intraOpThreads: 1 });
      sessions.set(which, session);
    }
    return session;
  };

  before(async () => {
    graphs = await ensureDa3MultiviewTestGraphs();
    backend = createOnnxRuntimeNodeBackend();
  });
  after(async () => {
    await backend.dispose();
  });

  test('detects the contract of each graph from its metadata', async () => {
    const rays = detectMultiViewDa3Contract(await open('rays'));
    assert.deepEqual(rays.outputs, { depth: 'depth', depthConfidence: 'depth_conf', rays: 'ray', rayConfidence: 'ray_conf' });
    assert.equal(rays.inputName, 'image');
    assert.equal(rays.inputRank, 5);
    assert.equal(rays.staticViews, 3);
    assert.deepEqual(rays.staticInput, { width: DA3_TEST_WIDTH, height: DA3_TEST_HEIGHT });
    const cameras = detectMultiViewDa3Contract(await open('cameras'));
    assert.deepEqual(cameras.outputs, { depth: 'depth', depthConfidence: 'depth_conf', extrinsics: 'extrinsics', intrinsics: 'intrinsics' });
    await assert.rejects(async () => detectMultiViewDa3Contract(await open('depthOnly')), (error: unknown) =>
      error instanceof ModelError && /neither a ray output nor camera outputs/.test(error.message) && error.message.includes('depthOnly'));
  });

  test('rays graph at network size: exact depth, confidence and rays; cameras and points of the known scene', async () => {
    const result = await runMultiViewDa3(await open('rays'), imagesOf(NETWORK_SIZES));
    assert.deepEqual(result.network, { width: DA3_TEST_WIDTH, height: DA3_TEST_HEIGHT });
    result.views.forEach((view, k) => {
      const truth = DA3_TEST_CAMERAS[k]!;
      assert.equal(view.depth.kind, 'relativeDepth');
      for (const [u, v] of [[0, 0], [83, 55], [40, 20], [7, 51]] as const) {
        const i = v * DA3_TEST_WIDTH + u;
        assert.equal(view.depth.data[i], Math.fround(testPlaneDepth(truth, u, v)));
        assert.equal(view.confidence![i], Math.fround(testConfidence(k, u, v)));
        assert.equal(view.rayConfidence![i], Math.fround(testConfidence(k, u, v)));
        assert.deepEqual(Array.from(view.rays!.data.subarray(i * 6, i * 6 + 6)), [...testRayDirection(truth, u, v), ...truth.centre].map(Math.fround));
      }
      const geometry = viewGeometryFromPrediction(view, { seed: 1 });
      assert.ok(geometry !== null);
      assert.equal(geometry.cameraSource, 'rays');
      assertCameraClose(truth, geometry.camera, `view ${k}`);
      assertPointsOnPlaneAndPixels(view, truth, 1e-4);
    });
  });

  test('rays graph with larger and mixed-size images: outputs at each image size, intrinsics scaled per axis', async () => {
    const sizes = [[126, 84], [100, 70], [60, 50]] as const;
    const result = await runMultiViewDa3(await open('rays'), imagesOf(sizes));
    result.views.forEach((view, k) => {
      const [w, h] = sizes[k]!;
      assert.equal(view.depth.width, w);
      assert.equal(view.rays!.height, h);
      const truth = testCameraAt(DA3_TEST_CAMERAS[k]!, w, h);
      const geometry = viewGeometryFromPrediction(view, { seed: 2 });
      assert.ok(geometry !== null);
      assertCameraClose(truth, geometry.camera, `view ${k} at ${w}x${h}`);
      // Depth was interpolated (the plane's z-depth is not bilinear in pixels), so points sit on the pixel rays
      // exactly and on the plane up to the interpolation error.
      assertPointsOnPlaneAndPixels(view, truth, 5e-3);
    });
  });

  test('planar half-resolution rays are upsampled exactly (half-pixel mapping, linear extrapolation at the border)', async () => {
    const result = await runMultiViewDa3(await open('raysPlanarHalf'), imagesOf(NETWORK_SIZES));
    result.views.forEach((view, k) => {
      const truth = DA3_TEST_CAMERAS[k]!;
      let worst = 0;
      for (let v = 0; v < DA3_TEST_HEIGHT; v++) {
        for (let u = 0; u < DA3_TEST_WIDTH; u++) {
          const expected = [...testRayDirection(truth, u, v), ...truth.centre];
          const i = v * DA3_TEST_WIDTH + u;
          for (let c = 0; c < 6; c++) worst = Math.max(worst, Math.abs(view.rays!.data[i * 6 + c]! - expected[c]!));
        }
      }
      assert.ok(worst < 1e-5, `view ${k}: ray error ${worst}`);
      // No ray_conf output: the depth confidence weights the fit.
      assert.equal(view.rayConfidence, undefined);
      const geometry = viewGeometryFromPrediction(view);
      assert.ok(geometry !== null);
      assertCameraClose(truth, geometry.camera, `view ${k}`);
    });
  });

  test('cameras graph: the network camera (w2c inverted, intrinsics scaled to the image) is used', async () => {
    const sizes = [[168, 112], [84, 56], [42, 28]] as const;
    const result = await runMultiViewDa3(await open('cameras'), imagesOf(sizes));
    result.views.forEach((view, k) => {
      const [w, h] = sizes[k]!;
      assert.equal(view.rays, undefined);
      const truth = testCameraAt(DA3_TEST_CAMERAS[k]!, w, h);
      assertCameraClose(truth, view.networkCamera!, `view ${k}`);
      const geometry = viewGeometryFromPrediction(view);
      assert.equal(geometry?.cameraSource, 'networkCamera');
      assertPointsOnPlaneAndPixels(view, truth, k === 1 ? 1e-4 : 1e-2);
      // cameraFromWorld round trip: the inverse of worldFromCamera is rigid.
      const back = invertRigid(view.networkCamera!.worldFromCamera);
      const p = new Float64Array(3);
      transformPoint(back, truth.centre[0]!, truth.centre[1]!, truth.centre[2]!, p);
      assert.ok(Math.hypot(p[0]!, p[1]!, p[2]!) < 1e-5);
    });
  });

  test('the fused cloud of the three views lies on the plane and keeps the 60% most confident points', async () => {
    const result = await runMultiViewDa3(await open('rays'), imagesOf(NETWORK_SIZES));
    const images = imagesOf(NETWORK_SIZES);
    const views = result.views.map((view, k) => {
      const g = viewGeometryFromPrediction(view)!;
      return { pointMap: g.pointMap, colors: images[k]!, confidence: view.confidence!, camera: g.camera, depth: view.depth.data };
    });
    const { cloud, stats } = fusePointClouds(views, { consistency: { relativeTolerance: 0.01 } });
    // Confidences take the 5 values 1, 1.2, ..., 1.8 evenly: the 40th percentile is 1.2 up to float32, >= keeps 4/5
    // or 3/5 of them depending on the rounding of that percentile.
    assert.ok(stats.afterConfidence >= 0.55 * stats.validPoints && stats.afterConfidence <= 0.85 * stats.validPoints, JSON.stringify(stats));
    assert.ok(stats.afterConsistency > 0.7 * stats.afterConfidence, JSON.stringify(stats));
    for (let i = 0; i < cloud.numPoints; i++) {
      assert.ok(Math.abs(planeResidual(cloud.positions[i * 3]!, cloud.positions[i * 3 + 1]!, cloud.positions[i * 3 + 2]!)) < 1e-4);
    }
  });

  test('a static export with 3 views refuses 2 images; images must be RGB', async () => {
    const session = await open('rays');
    await assert.rejects(runMultiViewDa3(session, imagesOf(NETWORK_SIZES.slice(0, 2))), (e: unknown) => e instanceof InputError && /exactly 3 views/.test(e.message));
    const rgba = createImage({ width: 84, height: 56, channels: 4, data: new Uint8Array(84 * 56 * 4) });
    await assert.rejects(runMultiViewDa3(session, [rgba, rgba, rgba]), InputError);
  });
});

describe('multi-view DA3 contract detection (metadata only)', () => {
  const info = (name: string, dims: TensorInfo['dims'], dtype = 'float32'): TensorInfo => ({ name, dtype, dims });
  const image = info('pixel_values', [1, 'N', 3, 'H', 'W']);
  const detect = (inputs: TensorInfo[], outputs: TensorInfo[]) => detectMultiViewDa3Contract({ modelPath: 'm.onnx', inputs, outputs });

  test('dynamic exports; roles by name, else by an unambiguous shape', () => {
    const named = detect([image], [info('depth', [1, 'N', 'H', 'W']), info('conf', [1, 'N', 'H', 'W']), info('extrinsics', [1, 'N', 4, 4]), info('intrinsics', [1, 'N', 3, 3]), info('sky', [1, 'N', 'H', 'W'])]);
    assert.deepEqual(named.outputs, { depth: 'depth', depthConfidence: 'conf', extrinsics: 'extrinsics', intrinsics: 'intrinsics' });
    assert.equal(named.staticViews, undefined);
    assert.equal(named.staticInput, undefined);
    const byShape = detect([info('x', ['N', 3, 'H', 'W'])], [info('out0', [2, 28, 42]), info('out1', [2, 28, 42, 6])]);
    assert.deepEqual(byShape.outputs, { depth: 'out0', rays: 'out1' });
    assert.equal(byShape.inputRank, 4);
    assert.equal(byShape.staticViews, undefined);
  });

  test('what does not fit is a ModelError that says why', () => {
    const depth = info('depth', [1, 'N', 'H', 'W']);
    const ray = info('ray', [1, 'N', 'H', 'W', 6]);
    assert.throws(() => detect([image, info('extrinsics', [1, 'N', 4, 4])], [depth, ray]), /Pose-conditioned/);
    assert.throws(() => detect([info('image', [1, 'N', 1, 'H', 'W'])], [depth, ray]), /channels/);
    assert.throws(() => detect([info('image', [1, 'N', 3, 'H', 'W'], 'int64')], [depth, ray]), /element type/);
    assert.throws(() => detect([info('image', [1, 'N', 3, 56, 'W'])], [depth, ray]), /only one of height and width/);
    assert.throws(() => detect([image], [depth, info('extrinsics', [1, 'N', 3, 4])]), /extrinsics but no intrinsics/);
    assert.throws(() => detect([image], [depth, info('ray', [1, 3, 56, 84, 3])]), /shape of DA3 rays/);
    assert.throws(() => detect([image], [depth, info('intrinsics', [1, 3, 4, 4]), info('extrinsics', [1, 3, 3, 4])]), /shape of DA3 intrinsics/);
    assert.throws(() => detect([image], [info('conf', [1, 'N', 'H', 'W']), ray]), /no depth output/);
    for (const bad of [() => detect([image], [depth])]) assert.throws(bad, ModelError);
  });

  test('network size: the static one, else DA3 upper-bound 504 on the first image (multiples of 14)', () => {
    const dynamic = { staticInput: undefined };
    assert.deepEqual(multiViewNetworkSize([{ width: 1920, height: 1080 }, { width: 640, height: 480 }], dynamic), { width: 504, height: 280 });
    assert.deepEqual(multiViewNetworkSize([{ width: 1080, height: 1920 }], dynamic), { width: 280, height: 504 });
    assert.deepEqual(multiViewNetworkSize([{ width: 640, height: 480 }], dynamic, undefined, 280), { width: 280, height: 210 });
    assert.deepEqual(multiViewNetworkSize([{ width: 640, height: 480 }], { staticInput: { width: 84, height: 56 } }), { width: 84, height: 56 });
    assert.throws(() => multiViewNetworkSize([{ width: 640, height: 480 }], dynamic, undefined, 500), InputError);
    assert.throws(() => multiViewNetworkSize([], dynamic), InputError);
  });
});
