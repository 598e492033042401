/**
 * `anyview views`, `anyview eval poses` and `anyview eval pose-pairs`, spawned as a user runs them, on real
 * images with ground truth (DTU scan24, TUM RGB-D pairs) and the real XFeat network from ../shared/models.
 * Outputs are checked with real clients: COLMAP 3.8's model_analyzer and the Khronos glTF validator.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { GENERATED_DIR, SHARED_DATA_DIR, SHARED_MODELS_DIR } from '../helpers/paths.ts';
import { ERROR_TABLE } from '../../src/core/errors.ts';
import { decodePly } from '../../src/io/formats/ply.ts';
import { makePairFiles, type PairSet } from '../../tools/make-pair-files.ts';

const DTU = path.join(SHARED_DATA_DIR, 'dtu_scan24_nerf_baseline/data/dtu_scan24');
const haveData = existsSync(path.join(DTU, 'transforms.json')) && existsSync(path.join(SHARED_MODELS_DIR, 'xfeat_640x640.onnx'));
const haveColmap = spawnSync('colmap', ['help'], { encoding: 'utf8' }).status === 0;
const env = { ANYVIEW_MODEL_DIR: SHARED_MODELS_DIR };
const OUT = path.join(GENERATED_DIR, 'views-cli');

let pairSets: PairSet[] = [];
before(async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  if (haveData) pairSets = await makePairFiles(SHARED_DATA_DIR, path.join(OUT, 'pairs'));
});

test('views: the six DTU images give cameras, points, a valid GLB and a COLMAP model COLMAP accepts', { skip: !haveData }, async () => {
  const images = [path.join(DTU, 'images')];
  const out = path.join(OUT, 'dtu6');
  // DTU's calibration (GEOMETRY_REFERENCE.md); without it a 1.2 * max(w, h) prior is refined by bundle adjustment.
  const result = await runCli(['views', ...images, '-o', out, '--intrinsics', '2892.33,2883.18,823.21,619.07', '--json'], { env });
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.numRegistered, 6);
  assert.ok(report.numSparsePoints > 200, `sparse points ${report.numSparsePoints}`);
  assert.match(report.notes[0], /depth model/);
  const cameras = JSON.parse(readFileSync(path.join(out, 'cameras.json'), 'utf8'));
  assert.equal(cameras.pose, 'worldFromCamera');
  assert.equal(cameras.views.length, 6);
  for (const v of report.views) assert.equal(v.focalPx, 2892.33, 'given intrinsics are kept');
  for (const v of cameras.views) assert.equal(v.registered, true);
  const ply = decodePly(readFileSync(path.join(out, 'points.ply')));
  assert.equal(ply.cloud.numPoints, report.numSparsePoints);

  const validator = createRequire(import.meta.url)('gltf-validator') as {
    validateBytes(data: Uint8Array): Promise<{ issues: { numErrors: number; messages: unknown[] } }>;
  };
  const validation = await validator.validateBytes(new Uint8Array(readFileSync(path.join(out, 'scene.glb'))));
  assert.equal(validation.issues.numErrors, 0, JSON.stringify(validation.issues.messages.slice(0, 3)));

  if (haveColmap) {
    for (const dir of ['colmap/sparse/0', 'colmap/text']) {
      const analyzer = spawnSync('colmap', ['model_analyzer', '--path', path.join(out, dir)], { encoding: 'utf8' });
      assert.equal(analyzer.status, 0, analyzer.stderr);
      const text = analyzer.stdout + analyzer.stderr;
      assert.match(text, /Registered images: 6/);
      assert.match(text, new RegExp(`Points: ${report.numSparsePoints}`));
    }
  }
});

test('views --cameras: known cameras from transforms.json, then from our own COLMAP export, are kept exactly; points only are estimated', { skip: !haveData }, async () => {
  const images = path.join(DTU, 'images');
  const gt = JSON.parse(readFileSync(path.join(DTU, 'transforms.json'), 'utf8')) as { frames: { file_path: string; transform_matrix: number[][] }[] };
  const flip = [1, -1, -1, 1]; // OpenGL camera axes to OpenCV: right-multiply by diag(1, -1, -1, 1)
  const expected = new Map(gt.frames.map((f) => [path.basename(f.file_path), f.transform_matrix.map((row) => row.map((v, j) => v * flip[j]!))]));
  const check = (out: string, tolerance: number): void => {
    const cameras = JSON.parse(readFileSync(path.join(out, 'cameras.json'), 'utf8')) as { views: { name: string; registered: boolean; fx: number; worldFromCamera: number[][] }[] };
    assert.equal(cameras.views.length, 6);
    for (const v of cameras.views) {
      assert.ok(v.registered);
      assert.ok(Math.abs(v.fx - 2892.330457783514) < 1e-6 * 2892, `${v.name} fx ${v.fx}`);
      const want = expected.get(v.name)!;
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 4; c++) {
          const scale = c === 3 ? 200 : 1; // DTU centres are in millimetres, about 200 from the origin
          assert.ok(Math.abs(v.worldFromCamera[r]![c]! - want[r]![c]!) <= tolerance * scale, `${v.name} [${r}][${c}]: ${v.worldFromCamera[r]![c]} vs ${want[r]![c]}`);
        }
      }
    }
  };
  const out = path.join(OUT, 'dtu6-known');
  const result = await runCli(['views', images, '-o', out, '--cameras', path.join(DTU, 'transforms.json'), '--json'], { env });
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.numRegistered, 6);
  assert.ok(report.numSparsePoints > 500, `sparse points ${report.numSparsePoints}`);
  assert.match(report.notes[0], /Cameras as given/);
  check(out, 1e-9);
  // Our COLMAP export read back as known cameras (quaternions and float64 text: equal to 1e-9 relative).
  const again = path.join(OUT, 'dtu6-known-colmap');
  const second = await runCli(['views', images, '-o', again, '--cameras', path.join(out, 'colmap', 'sparse', '0'), '--json'], { env });
  assert.equal(second.code, 0, second.stderr);
  check(again, 1e-9);
  // A cameras file that does not describe every input names what is missing.
  const partial = path.join(OUT, 'partial-transforms.json');
  const full = JSON.parse(readFileSync(path.join(DTU, 'transforms.json'), 'utf8'));
  writeFileSync(partial, JSON.stringify({ ...full, frames: full.frames.slice(0, 5).map((f: { file_path: string }) => ({ ...f, file_path: path.join(DTU, f.file_path) })) }));
  const missing = await runCli(['views', images, '-o', path.join(OUT, 'partial'), '--cameras', partial], { env });
  assert.equal(missing.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(missing.stderr, /no camera for 1 input image\(s\): 000040\.png/);
  assert.ok(!existsSync(path.join(OUT, 'partial', 'cameras.json')));
});

test('eval poses: every DTU view registered, pairwise AUC@30 >= 90 against the ground truth', { skip: !haveData }, async () => {
  const result = await runCli(['eval', 'poses', '--images', path.join(DTU, 'images'), '--gt', path.join(DTU, 'transforms.json'), '--json'], { env });
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.n, 6);
  assert.equal(report.registered, 6);
  assert.ok(report.auc30 >= 90, `AUC@30 ${report.auc30}`);
  // The fine pass (features again at 1600 px): every pair within 3 degrees on seeds 0-9 (coarse alone: 82-98).
  assert.equal(report.finePass.kind, 'refined');
  assert.ok(report.auc3 >= 95, `AUC@3 ${report.auc3}`);
  // The issue's target: rotation error <= 0.2 deg. Over seeds 0-9, with the fine matches verified again under the
  // fine cameras and the tracks extended into the views that lack them: pair rotation error 0.11-0.16 deg, aligned
  // rotation error 0.148-0.183 (seed 0: 0.162). Without the second round: 0.12-0.34, driven by view 000000.
  assert.ok(report.medianPairRotationErrorDeg < 0.2, `relative rotation error ${report.medianPairRotationErrorDeg}`);
  assert.ok(report.medianRotationErrorDeg <= 0.2, `aligned rotation error ${report.medianRotationErrorDeg}`);
  // Nothing is misplaced here: the check finds no conflict and moves nothing.
  assert.deepEqual(report.disambiguation, { kind: 'checked', conflictsFound: 0, moved: [], remaining: [] });
  for (const key of ['auc3', 'auc30', 'registered', 'n']) assert.ok(key in report, key);
  // Without the fine pass, from the coarse features alone: still every view, less precisely.
  const coarse = await runCli(['eval', 'poses', '--images', path.join(DTU, 'images'), '--gt', path.join(DTU, 'transforms.json'), '--no-fine-pass', '--json'], { env });
  assert.equal(coarse.code, 0, coarse.stderr);
  const coarseReport = JSON.parse(coarse.stdout);
  assert.equal(coarseReport.registered, 6);
  assert.equal(coarseReport.finePass.kind, 'off');
  assert.ok(coarseReport.medianPairRotationErrorDeg > report.medianPairRotationErrorDeg,
    `coarse ${coarseReport.medianPairRotationErrorDeg} vs fine ${report.medianPairRotationErrorDeg}`);
});

const LEGO = path.join(SHARED_DATA_DIR, 'nerf_synthetic_lego_shouxieai/data/nerf_synthetic/lego');
const haveLego = haveData && existsSync(path.join(LEGO, 'transforms_train.json'));

test('eval poses on lego: the group placed through the toy\'s symmetric structure is found and placed again', { skip: !haveLego }, async () => {
  const args = ['eval', 'poses', '--images', path.join(LEGO, 'train'), '--gt', path.join(LEGO, 'transforms_train.json'), '--json'];
  const result = await runCli(args, { env });
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.registered, 20);
  assert.equal(report.disambiguation.kind, 'checked');
  assert.ok(report.disambiguation.conflictsFound >= 10, `${report.disambiguation.conflictsFound} conflicts`);
  assert.ok(report.disambiguation.moved.length >= 1 && report.disambiguation.moved[0].length >= 5, JSON.stringify(report.disambiguation.moved));
  // Without the repair, views sit at their mirror position (seed 0: AUC@30 34, 8 views beyond 120 deg); with it
  // none is flipped (AUC@30 50; the moved group is left 15-40 deg off). Seeds 0-9: mean AUC@30 40 -> 51.
  const off = JSON.parse((await runCli([...args, '--no-disambiguation'], { env })).stdout);
  assert.equal(off.disambiguation.kind, 'off');
  assert.ok(off.auc30 < 45, `AUC@30 without the repair ${off.auc30}`);
  assert.ok(report.auc30 >= off.auc30 + 10, `AUC@30 ${report.auc30} with the repair, ${off.auc30} without`);
  assert.ok(report.views.every((v: { rotationErrorDeg: number }) => v.rotationErrorDeg < 60), JSON.stringify(report.views));
  assert.ok(off.views.filter((v: { rotationErrorDeg: number }) => v.rotationErrorDeg > 120).length >= 5);
});

test('eval poses on lego, seed 8: a repair that registers more views and leaves less conflict is kept', { skip: !haveLego }, async () => {
  // The mapper's best model holds 16 of the 20 views; placing the conflicting group again registers all 20 and
  // lowers the conflict by 11% (23040 -> 20597): not the 85% a repair of a complete model needs, but more views.
  const args = ['eval', 'poses', '--images', path.join(LEGO, 'train'), '--gt', path.join(LEGO, 'transforms_train.json'), '--seed', '8', '--json'];
  const result = await runCli(args, { env });
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.registered, 20);
  assert.ok(report.disambiguation.moved.length >= 1, JSON.stringify(report.disambiguation));
  assert.ok(report.auc30 > 32, `AUC@30 ${report.auc30} (16 views registered before: 32.0)`);
});

test('eval pose-pairs: SuperGlue keys on our TUM pair file; rotations are accurate', { skip: !haveData }, async () => {
  const tum = pairSets.find((s) => s.name === 'tum')!;
  const result = await runCli(['eval', 'pose-pairs', '--pairs', tum.file, '--images', tum.imagesDir, '--json'], { env });
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.n, 2);
  for (const key of ['auc5', 'auc10', 'auc20']) assert.ok(report[key] >= 0 && report[key] <= 100, key);
  // Baselines of 2-5 cm make the translation direction hard; the rotation must still be right.
  for (const pair of report.pairs) assert.ok(pair.rotationErrorDeg < 1.5, `rotation error ${pair.rotationErrorDeg}`);
});

test('bad input: one view, identical views, a malformed pair file, a missing ground truth', { skip: !haveData }, async () => {
  const one = await runCli(['views', path.join(DTU, 'images', '000000.png'), '-o', path.join(OUT, 'one')], { env });
  assert.equal(one.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(one.stderr, /at least 2 views/);
  assert.ok(!existsSync(path.join(OUT, 'one', 'cameras.json')));

  const twins = path.join(OUT, 'twins');
  mkdirSync(twins, { recursive: true });
  copyFileSync(path.join(DTU, 'images', '000000.png'), path.join(twins, 'a.png'));
  copyFileSync(path.join(DTU, 'images', '000000.png'), path.join(twins, 'b.png'));
  const same = await runCli(['views', twins, '-o', path.join(OUT, 'twins-out')], { env });
  assert.equal(same.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(same.stderr, /identical pixels/);
  assert.ok(!existsSync(path.join(OUT, 'twins-out', 'cameras.json')));

  const badPairs = path.join(OUT, 'bad-pairs.txt');
  writeFileSync(badPairs, 'a.png b.png 0 0 1 2 3\n');
  const pairs = await runCli(['eval', 'pose-pairs', '--pairs', badPairs, '--images', OUT], { env });
  assert.equal(pairs.code, ERROR_TABLE.FORMAT.exitCode);
  assert.match(pairs.stderr, /bad-pairs\.txt/);
  assert.match(pairs.stderr, /line 1/);

  const missing = await runCli(['eval', 'poses', '--images', DTU, '--gt', path.join(OUT, 'nope.json')], { env });
  assert.equal(missing.code, ERROR_TABLE.INPUT.exitCode);
  assert.match(missing.stderr, /nope\.json/);
});
