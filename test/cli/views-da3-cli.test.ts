/**
 * `anyview views --da3-model`: the DA3 branch, spawned as a user runs it, on generated graphs that honour the
 * multi-view DA3 contract and output a known scene (three cameras looking at a plane; tools/onnx). The cameras
 * recovered from the ray maps (or read from camera outputs) and the fused points are checked against that truth.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_TABLE } from '../../src/core/errors.ts';
import { decodePly } from '../../src/io/formats/ply.ts';
import { encodePng } from '../../src/io/png.ts';
import { runCli } from '../helpers/cli.ts';
import { GENERATED_DIR } from '../helpers/paths.ts';
import { DA3_TEST_CAMERAS, DA3_TEST_PLANE, ensureDa3MultiviewTestGraphs, testCameraAt, type Da3TestGraph } from '../../tools/onnx/da3-multiview-test-graph.ts';
import { ensureTestModels } from '../../tools/make-test-models.ts';

const OUT = path.join(GENERATED_DIR, 'views-da3-cli');
const W = 168, H = 112; // twice the static network input: cameras come back at the images' resolution
let graphs: Record<Da3TestGraph, string>;
let images: string[];

before(async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  graphs = await ensureDa3MultiviewTestGraphs();
  images = await Promise.all([0, 1, 2].map(async (v) => {
    const file = path.join(OUT, `view${v}.png`);
    const rgb = new Uint8Array(W * H * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + v * 11) % 251;
    writeFileSync(file, await encodePng(rgb, W, H, 3));
    return file;
  }));
});

interface CamerasFile { views: { name: string; registered: boolean; fx: number; fy: number; cx: number; cy: number; worldFromCamera: number[][] }[] }

for (const which of ['rays', 'cameras'] as const) {
  test(`views --da3-model (${which} outputs): every camera as the network's scene has it, points on its plane`, async () => {
    const out = path.join(OUT, which);
    const result = await runCli(['views', ...images, '-o', out, '--da3-model', graphs[which], '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.numRegistered, 3);
    assert.match(report.notes[0], /DA3 network/);
    const cameras = JSON.parse(readFileSync(path.join(out, 'cameras.json'), 'utf8')) as CamerasFile;
    cameras.views.forEach((view, v) => {
      const truth = testCameraAt(DA3_TEST_CAMERAS[v]!, W, H);
      assert.ok(view.registered);
      for (const [got, want] of [[view.fx, truth.intrinsics.fxPx], [view.fy, truth.intrinsics.fyPx], [view.cx, truth.intrinsics.cxPx], [view.cy, truth.intrinsics.cyPx]] as const) {
        assert.ok(Math.abs(got - want) < 0.02, `view ${v}: intrinsics ${got} vs ${want}`);
      }
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(view.worldFromCamera[r]![c]! - truth.rotation[3 * r + c]!) < 1e-4, `view ${v} R[${r}][${c}]`);
        assert.ok(Math.abs(view.worldFromCamera[r]![3]! - truth.centre[r]!) < 1e-4, `view ${v} centre[${r}]`);
      }
    });
    const ply = decodePly(readFileSync(path.join(out, 'points.ply')));
    assert.ok(ply.cloud.numPoints > 1000, `${ply.cloud.numPoints} points`);
    const { normal, offset } = DA3_TEST_PLANE;
    let worst = 0;
    const p = ply.cloud.positions;
    for (let i = 0; i < ply.cloud.numPoints; i++) {
      worst = Math.max(worst, Math.abs(normal[0]! * p[3 * i]! + normal[1]! * p[3 * i + 1]! + normal[2]! * p[3 * i + 2]! - offset));
    }
    // Depth is bilinearly upsampled 2x from the network grid, and a plane's z-depth is not bilinear in pixels
    // (its inverse is affine): points sit within a few thousandths of the plane, not exactly on it.
    assert.ok(worst < 3e-3 * Math.abs(offset), `points leave the plane by up to ${worst} (offset ${offset})`);
  });
}

test('views --da3-model: a file without the DA3 contract is a model error naming it; --depth-model cannot be combined', async () => {
  const models = await ensureTestModels();
  const wrong = await runCli(['views', ...images, '-o', path.join(OUT, 'wrong'), '--da3-model', models.passthroughHf]);
  assert.equal(wrong.code, ERROR_TABLE.MODEL.exitCode, wrong.stderr);
  assert.ok(wrong.stderr.includes(models.passthroughHf), wrong.stderr);
  const both = await runCli(['views', ...images, '-o', path.join(OUT, 'both'), '--da3-model', graphs.rays, '--depth-model', models.passthroughHf]);
  assert.equal(both.code, ERROR_TABLE.INPUT.exitCode, both.stderr);
  assert.match(both.stderr, /cannot be combined/);
});
