import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NodeIO, Primitive } from '@gltf-transform/core';
import { InputError } from '../../core/errors.ts';
import { fromRotationTranslation } from '../../core/mat4.ts';
import type { PointCloud } from '../../core/points.ts';
import {
  encodeSceneGlb, frustumVertices, GLB_NODE_NAMES, gltfFromOpenCv, linearToSrgbByte, srgbByteToLinear, writeSceneGlb, type GlbCamera,
} from './glb.ts';
import { noise } from '../../../test/helpers/noise.ts';

const K = { fxPx: 400, fyPx: 420, cxPx: 319.5, cyPx: 239.5, width: 640, height: 480 };

function cameras(): GlbCamera[] {
  const c = Math.cos(0.7), s = Math.sin(0.7);
  return [
    { name: 'identity.jpg', intrinsics: K, worldFromCamera: fromRotationTranslation([1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]) },
    { name: 'turned.jpg', intrinsics: { ...K, cxPx: 300 }, worldFromCamera: fromRotationTranslation([c, 0, s, 0, 1, 0, -s, 0, c], [2, -1, 0.5]) },
    { name: 'sub/third.png', intrinsics: K, worldFromCamera: fromRotationTranslation([1, 0, 0, 0, -1, 0, 0, 0, -1], [-3, 4, 10]) },
  ];
}

function cloud(n: number): PointCloud {
  const r = noise(n * 3, 11);
  const positions = Float32Array.from(r, (v, i) => (v - 0.5) * 4 + (i % 3 === 2 ? 6 : 0));
  const colors = Uint8Array.from({ length: n * 3 }, (_, i) => (i * 97 + 13) % 256);
  return { numPoints: n, frame: 'world', positions, colors };
}

test('sRGB <-> linear: every byte survives the uint16 linear encoding', () => {
  for (let v = 0; v < 256; v++) assert.equal(linearToSrgbByte(Math.round(srgbByteToLinear(v) * 65535) / 65535), v);
  assert.equal(srgbByteToLinear(0), 0);
  assert.equal(srgbByteToLinear(255), 1);
  assert.ok(Math.abs(srgbByteToLinear(128) - 0.2158605) < 1e-6, 'mid grey is about 0.216 linear');
});

test('re-read with NodeIO: points, colours and frustums in glTF axes, apexes at the camera centres', async () => {
  const points = cloud(500);
  points.positions[3 * 17 + 1] = Number.NaN; // an invalid point is left out
  const views = cameras();
  const depth = 0.75;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-glb-'));
  try {
    const file = path.join(dir, 'scene.glb');
    await writeSceneGlb(file, { points, cameras: views }, { frustumDepth: depth });
    const document = await new NodeIO().readBinary(new Uint8Array(await readFile(file)));
    const root = document.getRoot();
    const [scene] = root.listScenes();
    assert.ok(scene !== undefined && root.getDefaultScene() === scene);
    const nodes = scene.listChildren();
    assert.deepEqual(nodes.map((n) => n.getName()), [GLB_NODE_NAMES.points, GLB_NODE_NAMES.cameras]);

    const pointsPrimitive = nodes[0]!.getMesh()!.listPrimitives()[0]!;
    assert.equal(pointsPrimitive.getMode(), Primitive.Mode.POINTS);
    const position = pointsPrimitive.getAttribute('POSITION')!;
    const color = pointsPrimitive.getAttribute('COLOR_0')!;
    assert.equal(position.getCount(), 499);
    assert.equal(color.getNormalized(), true);
    assert.equal(color.getElementSize(), 4);
    for (let i = 0, j = 0; i < 500; i++) {
      if (i === 17) continue;
      const [x, y, z] = [points.positions[3 * i]!, points.positions[3 * i + 1]!, points.positions[3 * i + 2]!];
      assert.deepEqual(position.getElement(j, []), [x, -y, -z], `point ${i}`);
      const rgba = color.getElement(j, []);
      assert.deepEqual(rgba.slice(0, 3).map(linearToSrgbByte), Array.from(points.colors!.subarray(3 * i, 3 * i + 3)), `colour ${i}`);
      assert.equal(rgba[3], 1);
      j++;
    }

    const frustums = nodes[1]!.listChildren();
    assert.deepEqual(frustums.map((n) => n.getName()), views.map((v) => v.name));
    for (const [i, node] of frustums.entries()) {
      const view = views[i]!;
      const primitive = node.getMesh()!.listPrimitives()[0]!;
      assert.equal(primitive.getMode(), Primitive.Mode.LINES);
      assert.deepEqual(Array.from(primitive.getIndices()!.getArray()!), [0, 1, 0, 2, 0, 3, 0, 4, 1, 2, 2, 3, 3, 4, 4, 1]);
      const v = primitive.getAttribute('POSITION')!;
      const m = view.worldFromCamera;
      const apex = v.getElement(0, []);
      const centre = [m[3]!, -m[7]!, -m[11]!];
      for (let k = 0; k < 3; k++) assert.ok(Math.abs(apex[k]! - centre[k]!) < 1e-6, `${view.name}: apex ${apex} vs centre ${centre}`);
      // Each corner, taken back to OpenCV camera coordinates, lies at the chosen depth and projects to an image corner.
      const expectedPixels = [[-0.5, -0.5], [639.5, -0.5], [639.5, 479.5], [-0.5, 479.5]];
      for (let c = 1; c <= 4; c++) {
        const g = v.getElement(c, []);
        const w = [g[0]! - m[3]!, -g[1]! - m[7]!, -g[2]! - m[11]!];
        const cam = [0, 1, 2].map((col) => m[col]! * w[0]! + m[4 + col]! * w[1]! + m[8 + col]! * w[2]!);
        assert.ok(Math.abs(cam[2]! - depth) < 1e-6, `${view.name} corner ${c}: depth ${cam[2]}`);
        const u = view.intrinsics.fxPx * cam[0]! / cam[2]! + view.intrinsics.cxPx;
        const y = view.intrinsics.fyPx * cam[1]! / cam[2]! + view.intrinsics.cyPx;
        assert.ok(Math.hypot(u - expectedPixels[c - 1]![0]!, y - expectedPixels[c - 1]![1]!) < 1e-3, `${view.name} corner ${c}: (${u}, ${y})`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('glTF axes: a camera at the origin with identity pose looks down -z and sees +y up', () => {
  const view = cameras()[0]!;
  const world = frustumVertices(view, 2);
  const corners = [1, 2, 3, 4].map((c) => gltfFromOpenCv(world[c * 3]!, world[c * 3 + 1]!, world[c * 3 + 2]!));
  assert.ok(corners.every((p) => p[2] === -2), 'the image plane is in front, at z = -depth');
  // Corner 1 is the top-left of the image: left (-x) and up (+y) in glTF.
  assert.ok(corners[0]![0] < 0 && corners[0]![1] > 0, `top-left corner ${corners[0]}`);
  assert.ok(corners[2]![0] > 0 && corners[2]![1] < 0, `bottom-right corner ${corners[2]}`);
});

test('no colours, no points, default depth, bad depth', async () => {
  const bare: PointCloud = { numPoints: 3, frame: 'world', positions: Float32Array.of(0, 0, 0, 10, 0, 0, 0, 0, 0) };
  const io = new NodeIO();
  const noColours = await io.readBinary(await encodeSceneGlb({ points: bare, cameras: [] }));
  const prim = noColours.getRoot().listMeshes()[0]!.listPrimitives()[0]!;
  assert.deepEqual(prim.listSemantics(), ['POSITION']);
  assert.equal(noColours.getRoot().listNodes().length, 1);
  // Default depth: 5% of the bounding-box diagonal of points and centres (here 10 -> 0.5).
  const withCamera = await io.readBinary(await encodeSceneGlb({ points: bare, cameras: [cameras()[0]!] }));
  const frustum = withCamera.getRoot().listNodes().find((n) => n.getName() === 'identity.jpg')!;
  assert.ok(Math.abs(frustum.getMesh()!.listPrimitives()[0]!.getAttribute('POSITION')!.getElement(1, [])[2]! + 0.5) < 1e-7);
  const camerasOnly = await io.readBinary(await encodeSceneGlb({ points: { numPoints: 0, frame: 'world', positions: new Float32Array(0) }, cameras: cameras() }));
  assert.deepEqual(camerasOnly.getRoot().listScenes()[0]!.listChildren().map((n) => n.getName()), [GLB_NODE_NAMES.cameras]);
  await assert.rejects(encodeSceneGlb({ points: bare, cameras: [] }, { frustumDepth: 0 }), InputError);
});
