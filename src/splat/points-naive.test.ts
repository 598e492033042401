import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCamera, createIntrinsics } from '../core/camera.ts';
import { createGaussianSet } from '../core/gaussians.ts';
import { fromRotationTranslation } from '../core/mat4.ts';
import { renderPointsNaive } from './points-naive.ts';

const intrinsics = createIntrinsics({ fxPx: 100, fyPx: 80, cxPx: 15.5, cyPx: 9.5, width: 32, height: 20 });

function points(rows: { p: number[]; c: number[] }[]) {
  const n = rows.length;
  return createGaussianSet({
    count: n, frame: 'world', positions: Float32Array.from(rows.flatMap((r) => r.p)), colors: Float32Array.from(rows.flatMap((r) => r.c)),
    scales: new Float32Array(3 * n).fill(0.01), rotations: Float32Array.from(rows.flatMap(() => [1, 0, 0, 0])), opacities: new Float32Array(n).fill(1),
  });
}

test('a point lands at round(f X/Z + c) (camera translated), as 1 px or a (2r+1)^2 square; the nearer point wins', () => {
  // Camera at (0.1, 0, -1) looking down +z: world (0.2, 0.05, 1) is camera (0.1, 0.05, 2) -> u = 20.5 -> 21 (round), v = 11.5 -> 12.
  const camera = createCamera(intrinsics, fromRotationTranslation([1, 0, 0, 0, 1, 0, 0, 0, 1], [0.1, 0, -1]));
  const one = renderPointsNaive(points([{ p: [0.2, 0.05, 1], c: [1, 0.5, 0.25] }]), camera, { background: [0, 0, 1] });
  const lit: number[] = [];
  for (let p = 0; p < 32 * 20; p++) if (one.color.data[3 * p + 2] !== 1) lit.push(p);
  assert.deepEqual(lit, [12 * 32 + 21]);
  assert.deepEqual(Array.from(one.color.data.subarray(3 * lit[0]!, 3 * lit[0]! + 3)), [1, 0.5, 0.25]);
  assert.equal(one.depth[lit[0]!], 2);

  const square = renderPointsNaive(points([{ p: [0.2, 0.05, 1], c: [1, 1, 1] }, { p: [0.2, 0.05, 0.5], c: [0, 1, 0] }, { p: [0.2, 0.05, 2], c: [1, 0, 0] }]), camera, { radiusPx: 1 });
  // Nearest (z 1.5, green) projects to u = round(15.5 + 100 * 0.1 / 1.5) = 22, v = round(9.5 + 80 * 0.05 / 1.5) = 12.
  let green = 0;
  for (let p = 0; p < 32 * 20; p++) if (square.color.data[3 * p + 1] === 1 && square.color.data[3 * p] === 0) green++;
  assert.equal(green, 9);
  assert.deepEqual(Array.from(square.color.data.subarray(3 * (12 * 32 + 22), 3 * (12 * 32 + 22) + 3)), [0, 1, 0]);
  // The white point (z 2, centre 21,12) still shows where the green square does not reach (column 20).
  assert.deepEqual(Array.from(square.color.data.subarray(3 * (12 * 32 + 20), 3 * (12 * 32 + 20) + 3)), [1, 1, 1]);
});

test('points behind the camera or off-image are skipped; bad radius refused', () => {
  const camera = createCamera(intrinsics);
  const r = renderPointsNaive(points([{ p: [0, 0, -1], c: [1, 1, 1] }, { p: [10, 0, 1], c: [1, 1, 1] }]), camera);
  assert.ok(r.color.data.every((v) => v === 0));
  assert.ok(r.depth.every((v) => v === Infinity));
  assert.throws(() => renderPointsNaive(points([]), camera, { radiusPx: 1.5 }), /radius/);
});
