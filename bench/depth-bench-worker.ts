/**
 * One measured path of the depth benchmark, in its own process so its peak RSS is its own.
 * Usage: node --import tsx bench/depth-bench-worker.ts <raw|ours|tjs|folder> <model.onnx|hfDir> <image|folder> <runs>
 * Prints one JSON line: { mode, timesMs, medianMs, stagesMs?, maxRssMB, ... }.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeImage } from '../src/io/decode-image.ts';
import { listImagesInFolder } from '../src/io/inputs.ts';
import { createOnnxRuntimeNodeBackend } from '../src/models/onnxruntime-node.ts';
import { createDepthEstimator } from '../src/pipeline/depth-estimator.ts';
import { intrinsicsFor, writeDepthOutputs } from '../src/pipeline/depth-outputs.ts';
import { runDepthJob } from '../src/pipeline/depth-job.ts';
import { DEFAULT_DEPTH_JOB_OPTIONS, type DepthJobOptions } from '../src/pipeline/depth-options.ts';
import { chooseNetworkSize } from '../src/models/depth-adapter.ts';
import { DEPTH_ANYTHING_PREPROCESS } from '../src/models/depth-anything.ts';
import { resizeNormalizeToNchw } from '../src/imaging/resize-bicubic.ts';

const [mode, modelArg, input, runsArg] = process.argv.slice(2) as [string, string, string, string];
const runs = Number(runsArg);

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function timeRuns(fn: () => Promise<void>): Promise<number[]> {
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

function jobOptions(outDir: string): DepthJobOptions {
  return {
    ...DEFAULT_DEPTH_JOB_OPTIONS,
    model: { ...DEFAULT_DEPTH_JOB_OPTIONS.model, idOrPath: modelArg, allowDownload: false },
    output: { ...DEFAULT_DEPTH_JOB_OPTIONS.output, dir: outDir, formats: ['png16', 'color'] },
  };
}

async function main(): Promise<Record<string, unknown>> {
  if (mode === 'raw') {
    const session = await ort.InferenceSession.create(modelArg);
    const image = await decodeImage({ path: input });
    const net = chooseNetworkSize(image, { staticInput: undefined }, DEPTH_ANYTHING_PREPROCESS, undefined);
    const data = resizeNormalizeToNchw(image, net.width, net.height, DEPTH_ANYTHING_PREPROCESS.mean, DEPTH_ANYTHING_PREPROCESS.std);
    const feeds = { pixel_values: new ort.Tensor('float32', data, [1, 3, net.height, net.width]) };
    const timesMs = await timeRuns(async () => { await session.run(feeds); });
    await session.release();
    return { network: net, timesMs };
  }
  if (mode === 'ours') {
    const outDir = await mkdtemp(path.join(os.tmpdir(), 'anyview-bench-'));
    const options = jobOptions(outDir);
    const backend = createOnnxRuntimeNodeBackend();
    const estimator = await createDepthEstimator(backend, options, {});
    const stages: Record<string, number[]> = { decode: [], preprocess: [], inference: [], postprocess: [], write: [] };
    const timesMs = await timeRuns(async () => {
      const t0 = performance.now();
      const image = await decodeImage({ path: input });
      const t1 = performance.now();
      const estimate = await estimator.estimate(image, intrinsicsFor(image, options.camera).intrinsics);
      const t2 = performance.now();
      await writeDepthOutputs(path.join(outDir, 'bench'), input, image, estimate, estimator, options, undefined);
      const t3 = performance.now();
      stages['decode']!.push(t1 - t0);
      stages['preprocess']!.push(estimate.timingsMs.preprocess);
      stages['inference']!.push(estimate.timingsMs.inference);
      stages['postprocess']!.push(estimate.timingsMs.postprocess);
      stages['write']!.push(t3 - t2);
    });
    await backend.dispose();
    await rm(outDir, { recursive: true, force: true });
    // Drop the warm-up entry of each stage.
    const stagesMs = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, median(v.slice(1))]));
    return { timesMs, stagesMs };
  }
  if (mode === 'tjs') {
    const { pipeline, env } = await import('@huggingface/transformers');
    env.localModelPath = path.dirname(modelArg);
    env.allowRemoteModels = false;
    const pipe = await pipeline('depth-estimation', path.basename(modelArg), { dtype: 'fp32', device: 'cpu' });
    const timesMs = await timeRuns(async () => { await pipe(input); });
    await pipe.dispose();
    return { timesMs };
  }
  if (mode === 'folder') {
    const files = await listImagesInFolder(input);
    const outDir = await mkdtemp(path.join(os.tmpdir(), 'anyview-bench-folder-'));
    const backend = createOnnxRuntimeNodeBackend();
    // Warm the session and the JIT on the first image, then time the whole folder.
    await runDepthJob(files.slice(0, 1), jobOptions(outDir), backend, {});
    const t0 = performance.now();
    const summary = await runDepthJob(files, jobOptions(outDir), backend, {});
    const totalMs = performance.now() - t0;
    await backend.dispose();
    await rm(outDir, { recursive: true, force: true });
    const inferenceMs = summary.images.map((i) => i.timingsMs.inference);
    return { numImages: files.length, totalMs, msPerImage: totalMs / files.length, inferenceMedianMs: median(inferenceMs), timesMs: [totalMs / files.length] };
  }
  throw new Error(`unknown mode ${mode}`);
}

const result = await main();
const timesMs = result['timesMs'] as number[];
process.stdout.write(`${JSON.stringify({ mode, input: path.basename(input), ...result, medianMs: median(timesMs), maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
