/**
 * Multi-view cameras against COLMAP 3.8 (Debian, CPU) on the same image sets with ground truth:
 * DTU scan24 (6 views) and NeRF-synthetic lego (20 views, composited on white).
 * For each: `anyview eval poses --json` (ours, GT intrinsics) and COLMAP's feature_extractor (shared PINHOLE GT
 * intrinsics, fixed) + exhaustive_matcher + mapper (min_model_size 3), the configuration that did best in
 * ../shared/docs/GEOMETRY_REFERENCE.md; COLMAP's model is read back and scored with the same pairwise AUC.
 * Wall time and peak RSS come from /usr/bin/time -v.
 * Usage: node --import tsx bench/views-bench.ts [dtu|lego ...] [--repeat N] [-- options for anyview eval poses]
 * Results go to bench/results/views-<date>.json. These VMs are noisy (the same run of ours took 23 and 31 s
 * minutes apart), so each side runs N times (default 3), alternating, and the ratio is of the medians.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readColmapModel, worldFromCameraOfColmapImage } from '../src/io/formats/colmap.ts';
import { alignedPoseErrors, pairwiseAuc } from '../src/eval/pose-metrics.ts';
import { readGroundTruthCameras } from '../src/pipeline/eval-poses.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = process.env['ANYVIEW_SHARED_DIR'] ?? path.resolve(ROOT, '..', 'shared');
const DATA = path.join(SHARED, 'data');
const SETS = {
  dtu: { images: 'dtu_scan24_nerf_baseline/data/dtu_scan24/images', gt: 'dtu_scan24_nerf_baseline/data/dtu_scan24/transforms.json' },
  lego: { images: 'nerf_synthetic_lego_shouxieai/data/nerf_synthetic/lego/train', gt: 'nerf_synthetic_lego_shouxieai/data/nerf_synthetic/lego/transforms_train.json' },
} as const;

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync('/usr/bin/time', ['-v', command, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 28 });
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(result.stderr);
  const seconds = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : Number.NaN;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, wallS: seconds, peakRssMB: rss ? Number(rss[1]) / 1024 : Number.NaN };
}

async function runColmap(name: keyof typeof SETS) {
  const set = SETS[name];
  const { views } = await readGroundTruthCameras(path.join(DATA, set.gt), path.join(DATA, set.images));
  const work = path.join(os.tmpdir(), `anyview-colmap-${name}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(path.join(work, 'images'), { recursive: true });
  mkdirSync(path.join(work, 'sparse'), { recursive: true });
  // COLMAP reads RGBA PNGs with a black background; composite on white like ours (GEOMETRY_REFERENCE did the same).
  for (const v of views) {
    const out = path.join(work, 'images', path.basename(v.imagePath));
    const flat = spawnSync('/usr/bin/python3', ['-c', `import cv2,numpy as np,sys\nim=cv2.imread(sys.argv[1],cv2.IMREAD_UNCHANGED)\nif im.ndim==3 and im.shape[2]==4:\n  a=im[:,:,3:4]/255.0\n  im=(im[:,:,:3]*a+255*(1-a)).astype(np.uint8)\ncv2.imwrite(sys.argv[2],im)`, v.imagePath, out]);
    if (flat.status !== 0) cpSync(v.imagePath, out);
  }
  const k = views[0]!.intrinsics;
  const params = `${k.fxPx},${k.fyPx},${k.cxPx + 0.5},${k.cyPx + 0.5}`;
  const db = path.join(work, 'db.db');
  const steps = [
    ['feature_extractor', '--database_path', db, '--image_path', path.join(work, 'images'), '--ImageReader.camera_model', 'PINHOLE',
      '--ImageReader.single_camera', '1', '--ImageReader.camera_params', params, '--SiftExtraction.use_gpu', '0', '--SiftExtraction.num_threads', '2'],
    ['exhaustive_matcher', '--database_path', db, '--SiftMatching.use_gpu', '0', '--SiftMatching.num_threads', '2'],
    ['mapper', '--database_path', db, '--image_path', path.join(work, 'images'), '--output_path', path.join(work, 'sparse'),
      '--Mapper.min_model_size', '3', '--Mapper.ba_refine_focal_length', '0', '--Mapper.ba_refine_principal_point', '0',
      '--Mapper.ba_refine_extra_params', '0', '--Mapper.num_threads', '2'],
  ];
  let wallS = 0, peakRssMB = 0;
  for (const args of steps) {
    const r = timed('colmap', args);
    wallS += r.wallS;
    peakRssMB = Math.max(peakRssMB, r.peakRssMB);
    if (r.status !== 0) return { wallS, peakRssMB, registered: 0, failed: args[0] };
  }
  // The largest model COLMAP wrote.
  let best: Awaited<ReturnType<typeof readColmapModel>> | undefined;
  for (let i = 0; i < 10; i++) {
    try {
      const m = await readColmapModel(path.join(work, 'sparse', String(i)));
      if (!best || m.model.images.length > best.model.images.length) best = m;
    } catch { break; }
  }
  const byName = new Map((best?.model.images ?? []).map((im) => [im.name, worldFromCameraOfColmapImage(im)]));
  const estimates = views.map((v) => byName.get(path.basename(v.imagePath)) ?? null);
  const gt = views.map((v) => v.worldFromCamera);
  const auc = pairwiseAuc(gt, estimates, [3, 30]);
  const aligned = alignedPoseErrors(gt, estimates);
  return {
    wallS, peakRssMB, registered: estimates.filter((e) => e !== null).length, n: views.length,
    auc3: auc.aucPercent[3], auc30: auc.aucPercent[30], medianRotationErrorDeg: aligned?.medianRotationDeg ?? null,
  };
}

function runOurs(name: keyof typeof SETS) {
  const set = SETS[name];
  const r = timed(process.execPath, [path.join(ROOT, 'bin', 'anyview.js'), 'eval', 'poses', '--images', path.join(DATA, set.images),
    '--gt', path.join(DATA, set.gt), '--json', ...extraArgs], { ...process.env, ANYVIEW_MODEL_DIR: path.join(SHARED, 'models'), ANYVIEW_OFFLINE: '1' });
  if (r.status !== 0) return { wallS: r.wallS, peakRssMB: r.peakRssMB, error: r.stderr.slice(-400) };
  const report = JSON.parse(r.stdout);
  return {
    wallS: r.wallS, peakRssMB: r.peakRssMB, registered: report.registered, n: report.n, auc3: report.auc3, auc30: report.auc30,
    medianRotationErrorDeg: report.medianRotationErrorDeg,
  };
}

// Arguments after `--` go to our command (e.g. -- --feature-resolution 1280); --repeat N (default 3) runs each
// side N times, alternating ours and COLMAP, so that both see the same load; the ratio is of the medians.
const dashes = process.argv.indexOf('--', 2);
const ownArgs = dashes < 0 ? process.argv.slice(2) : process.argv.slice(2, dashes);
const extraArgs = dashes < 0 ? [] : process.argv.slice(dashes + 1);
const repeatAt = ownArgs.indexOf('--repeat');
const repeats = repeatAt < 0 ? 3 : Number(ownArgs[repeatAt + 1]);
if (!(Number.isInteger(repeats) && repeats >= 1)) throw new Error(`--repeat needs a positive integer, got ${ownArgs[repeatAt + 1]}`);
const setArgs = repeatAt < 0 ? ownArgs : ownArgs.filter((_, i) => i !== repeatAt && i !== repeatAt + 1);
const names = (setArgs.length ? setArgs : ['dtu', 'lego']) as (keyof typeof SETS)[];
const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const results: Record<string, unknown> = { date: new Date().toISOString(), loadAverage: os.loadavg(), cpus: os.cpus().length, oursArgs: extraArgs, repeats };
for (const name of names) {
  const ours: ReturnType<typeof runOurs>[] = [], colmap: Awaited<ReturnType<typeof runColmap>>[] = [];
  for (let r = 0; r < repeats; r++) {
    ours.push(runOurs(name));
    colmap.push(await runColmap(name));
    console.log(name, `run ${r + 1}/${repeats}: ours ${ours[r]!.wallS.toFixed(1)} s, COLMAP ${colmap[r]!.wallS.toFixed(1)} s`);
  }
  const oursS = median(ours.map((o) => o.wallS)), colmapS = median(colmap.map((c) => c.wallS));
  results[name] = { ours: ours[0], colmap: colmap[0], oursWallS: ours.map((o) => o.wallS), colmapWallS: colmap.map((c) => c.wallS), medianWallRatio: oursS / colmapS };
  console.log(name, JSON.stringify(results[name]));
}
mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(path.join(ROOT, 'bench', 'results', `views-${new Date().toISOString().slice(0, 10)}.json`), JSON.stringify(results, null, 2));
