import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Intrinsics } from '../core/camera.ts';
import { createDepth, type Depth } from '../core/depth.ts';
import { encodePng } from '../io/png.ts';
import { invertPose, type RigidPose } from '../geometry/rigid.ts';
import { lookAtOrigin } from '../../test/helpers/synthetic-scene.ts';
import type { Reconstruction, SfmPoint } from '../sfm/types.ts';
import { densifyViews, DEFAULT_DENSE_OPTIONS } from './views-dense.ts';

const W = 64, H = 48;
const K: Intrinsics = { fxPx: 60, fyPx: 60, cxPx: 31.5, cyPx: 23.5, width: W, height: H };

/** z-depth, in camera `pose`, of the ground plane z = 0 seen through pixel (u, v); NaN when the ray misses it. */
function planeDepth(pose: RigidPose, u: number, v: number): number {
  const world = invertPose(pose);
  const d = [(u - K.cxPx) / K.fxPx, (v - K.cyPx) / K.fyPx, 1];
  const r = world.rotation, c = world.translation;
  const dz = r[6]! * d[0]! + r[7]! * d[1]! + r[8]! * d[2]!;
  const s = -c[2]! / dz;
  return s > 0 ? s : Number.NaN;
}

function project(pose: RigidPose, p: readonly number[]): [number, number, number] {
  const r = pose.rotation, t = pose.translation;
  const x = r[0]! * p[0]! + r[1]! * p[1]! + r[2]! * p[2]! + t[0]!;
  const y = r[3]! * p[0]! + r[4]! * p[1]! + r[5]! * p[2]! + t[1]!;
  const z = r[6]! * p[0]! + r[7]! * p[1]! + r[8]! * p[2]! + t[2]!;
  return [K.fxPx * x / z + K.cxPx, K.fyPx * y / z + K.cyPx, z];
}

test('dense views: relative disparity maps aligned to the sparse points land on the true surface; a wrong map is rejected', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anyview-dense-'));
  try {
    // Three cameras above the ground plane z = 0, a grid of sparse points on it.
    const poses = [lookAtOrigin([3, 0, 2]), lookAtOrigin([2.6, 1.5, 2.2]), lookAtOrigin([2.4, -1.4, 1.8])];
    const grid: number[][] = [];
    for (let i = -5; i <= 5; i++) for (let j = -5; j <= 5; j++) grid.push([i * 0.12, j * 0.12, 0]);
    const keypoints = poses.map(() => [] as number[]);
    const points: SfmPoint[] = grid.map((p) => {
      const track: number[] = [];
      poses.forEach((pose, v) => {
        const [u, w] = project(pose, p);
        if (u >= 0 && u <= W - 1 && w >= 0 && w <= H - 1) { track.push(v, keypoints[v]!.length / 2); keypoints[v]!.push(u, w); }
      });
      return { xyz: Float64Array.from(p), color: [128, 128, 128] as const, meanReprojectionErrorPx: 0, track: Uint32Array.from(track) };
    }).filter((p) => p.track.length >= 4);
    const reconstruction: Reconstruction = { cameraFromWorld: poses, intrinsics: poses.map(() => K), points };
    const views = await Promise.all(poses.map(async (_, v) => {
      const file = path.join(dir, `view${v}.png`);
      await writeFile(file, await encodePng(new Uint8Array(W * H * 3).fill(90 + 40 * v), W, H, 3));
      return { path: file, keypoints: Float32Array.from(keypoints[v]!) };
    }));
    // A relative model: disparity up to its own scale and shift, different per view. View 2's map is wrong
    // (noise that no scale and shift can turn into the truth).
    const affine = [[0.7, 0.2], [2.5, -0.1], [1.3, 0.05]];
    let call = 0;
    const estimate = async (): Promise<Depth> => {
      const v = call++;
      const data = new Float32Array(W * H);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const z = planeDepth(poses[v]!, x, y);
          data[y * W + x] = v === 2 ? ((x * 7919 + y * 104729) % 1009) / 1009 : affine[v]![0]! / z + affine[v]![1]!;
        }
      }
      return createDepth({ kind: 'disparity', width: W, height: H, data });
    };
    const result = await densifyViews(reconstruction, views, estimate, { ...DEFAULT_DENSE_OPTIONS, voxel: undefined, minInliers: 10 });
    assert.deepEqual(result.views.map((r) => r.used), [true, true, false]);
    assert.equal(result.views[2]!.reason, 'depth does not fit the sparse points');
    for (const v of [0, 1]) {
      // The fit inverts the model's affine: truth disparity = scale * prediction + shift.
      const r = result.views[v]!;
      assert.ok(Math.abs(r.scale! - 1 / affine[v]![0]!) < 1e-6 * (1 / affine[v]![0]!), `view ${v} scale ${r.scale}`);
      assert.ok(Math.abs(r.shift! + affine[v]![1]! / affine[v]![0]!) < 1e-6, `view ${v} shift ${r.shift}`);
    }
    const cloud = result.cloud;
    assert.ok(cloud.numPoints > 1000, `${cloud.numPoints} dense points`);
    let worst = 0;
    for (let i = 0; i < cloud.numPoints; i++) worst = Math.max(worst, Math.abs(cloud.positions[3 * i + 2]!));
    assert.ok(worst < 1e-4, `dense points leave the plane by up to ${worst}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
