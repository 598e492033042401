/**
 * Video depth speed and memory.
 * 1. Throughput: `anyview video` on the DAVIS clip (854x480) with the random-weight DA-V2-Small graph at
 *    processing sizes 364 and 518, against raw `session.run` at the same network input in the same run: what
 *    decoding, pre/postprocessing, alignment and encoding add on top of inference. The job's steady rate (its
 *    `steadyMsPerFrame`: wall time after the first model run, which carries the runtime's warm-up) is compared
 *    with the median raw run, measured right before in the same process tree.
 * 2. Memory: peak RSS of the same command over 100 and over 5,000 frames (the clip looped by ffmpeg), with a
 *    tiny generated graph so that the pipeline, not the network, is measured. It must not grow with length.
 *
 * Usage: node --import tsx bench/video-bench.ts [--frames 12] [--skip-memory]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { ensureBenchModel } from '../tools/make-bench-model.ts';
import { ensureTestModels } from '../test/helpers/test-models.ts';
import { networkInputSize } from '../src/models/size-rule.ts';
import { DEPTH_ANYTHING_PREPROCESS } from '../src/models/depth-anything.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const shared = process.env['ANYVIEW_SHARED_DIR'] ?? path.resolve(repo, '..', 'shared');
const clip = path.join(shared, 'data/davis_lady_running_monst3r/demo_data/lady-running.mp4');
const args = process.argv.slice(2);
const frames = Number(args[args.indexOf('--frames') + 1] ?? 12) || 12;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

function runCli(cliArgs: string[]): { wallS: number; peakRssMB: number; summary: Record<string, unknown> } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, path.join(repo, 'bin/anyview.js'), ...cliArgs, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`anyview ${cliArgs.join(' ')} failed: ${r.stderr.slice(-600)}`);
  const [wall, rss] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number];
  return { wallS: wall, peakRssMB: rss / 1024, summary: JSON.parse(r.stdout) };
}

const work = await mkdtemp(path.join(os.tmpdir(), 'anyview-video-bench-'));
const results: Record<string, unknown> = { date: new Date().toISOString(), cpus: os.cpus().length, frames };
const model = await ensureBenchModel();
const session = await ort.InferenceSession.create(model.onnxPath);
for (const size of [364, 518]) {
  const net = networkInputSize(854, 480, { ...DEPTH_ANYTHING_PREPROCESS, targetPx: size });
  const feeds = { pixel_values: new ort.Tensor('float32', new Float32Array(3 * net.width * net.height).fill(0.2), [1, 3, net.height, net.width]) };
  await session.run(feeds);
  const raw: number[] = [];
  for (let i = 0; i < Math.min(frames, 8); i++) { const t = performance.now(); await session.run(feeds); raw.push(performance.now() - t); }
  const job = runCli(['video', clip, '--model', model.onnxPath, '--size', String(size), '--max-frames', String(frames), '--format', 'png16', '--video', 'color', '--out', path.join(work, `t${size}`)]);
  const steadyMs = Number(job.summary['steadyMsPerFrame']);
  const row = { network: `${net.height}x${net.width}`, rawMsPerFrame: median(raw), jobMsPerFrameSteady: steadyMs, processMsPerFrame: (job.wallS * 1000) / frames, peakRssMB: job.peakRssMB };
  results[`size${size}`] = { ...row, overhead: steadyMs / row.rawMsPerFrame - 1 };
  console.log(`size ${size} (network ${row.network}): raw session.run ${row.rawMsPerFrame.toFixed(0)} ms/frame | video job, steady ${steadyMs.toFixed(0)} ms/frame `
    + `(${(100 * (steadyMs / row.rawMsPerFrame - 1)).toFixed(1)}% on top; the whole process incl. model loading: ${row.processMsPerFrame.toFixed(0)} ms/frame)`);
}
await session.release();

if (!args.includes('--skip-memory')) {
  const tiny = (await ensureTestModels()).passthroughHf;
  const long = path.join(work, 'looped.mp4');
  // 77 loops of the 65-frame clip: 5,005 frames.
  const loop = spawnSync('ffmpeg', ['-v', 'error', '-stream_loop', '76', '-i', clip, '-c', 'copy', long]);
  if (loop.status !== 0) throw new Error(`ffmpeg loop failed: ${loop.stderr}`);
  const memory: Record<string, unknown> = {};
  for (const n of [100, 5000]) {
    const out = path.join(work, `m${n}`);
    await mkdir(out, { recursive: true });
    const r = runCli(['video', long, '--model', tiny, '--max-frames', String(n), '--max-side', '320', '--format', 'png16', '--video', 'color', '--out', out]);
    memory[`frames${n}`] = { peakRssMB: r.peakRssMB, wallS: r.wallS, numFrames: r.summary['numFrames'] };
    console.log(`${n} frames (320x180, tiny graph): peak RSS ${r.peakRssMB.toFixed(0)} MB, ${r.wallS.toFixed(1)} s`);
    await rm(out, { recursive: true, force: true });
  }
  const a = (memory['frames100'] as { peakRssMB: number }).peakRssMB, b = (memory['frames5000'] as { peakRssMB: number }).peakRssMB;
  memory['ratio'] = b / a;
  console.log(`peak RSS, 5,000 frames / 100 frames: ${(b / a).toFixed(3)}`);
  results['memory'] = memory;
}
await rm(work, { recursive: true, force: true });
const out = path.join(here, 'results', `video-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, JSON.stringify(results, null, 2));
console.log(`results: ${out}`);
