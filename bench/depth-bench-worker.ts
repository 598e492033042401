/**
 * One measured path of the depth benchmark, in its own process so its peak RSS is its own.
 * Usage: node --import tsx bench/depth-bench-worker.ts <interleaved|raw|ours|tjs|folder> <model.onnx|hfDir> <image|folder> <runs> [hfDir]
 * Prints one JSON line: { mode, timesMs, medianMs, stagesMs?, maxRssMB, ... }.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeImage } from '../src/io/decode-image.ts';
import { createDepth } from '../src/core/depth.ts';
import { listImagesInFolder } from '../src/io/inputs.ts';
import { createOnnxRuntimeNodeBackend } from '../src/models/onnxruntime-node.ts';
import { createDepthEstimator } from '../src/pipeline/depth-estimator.ts';
import { intrinsicsFor, writeDepthOutputs } from '../src/pipeline/depth-outputs.ts';
import { runDepthJob } from '../src/pipeline/depth-job.ts';
import { DEFAULT_DEPTH_JOB_OPTIONS, type DepthJobOptions } from '../src/pipeline/depth-options.ts';
import { chooseNetworkSize } from '../src/models/depth-adapter.ts';
import { DEPTH_ANYTHING_PREPROCESS } from '../src/models/depth-anything.ts';
import { resizeNormalizeToNchw } from '../src/imaging/resize-bicubic.ts';

const [mode, modelArg, input, runsArg, ...extra] = process.argv.slice(2) as [string, string, string, string, ...string[]];
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

function jobOptions(onnxPath: string, outDir: string): DepthJobOptions {
  return {
    ...DEFAULT_DEPTH_JOB_OPTIONS,
    model: { ...DEFAULT_DEPTH_JOB_OPTIONS.model, idOrPath: onnxPath, allowDownload: false },
    output: { ...DEFAULT_DEPTH_JOB_OPTIONS.output, dir: outDir, formats: ['png16', 'color'] },
  };
}

type Runner = { run(): Promise<void>; dispose(): Promise<void>; stages?: Record<string, number[]> };

async function rawRunner(onnxPath: string, image: string): Promise<Runner & { network: { width: number; height: number } }> {
  const session = await ort.InferenceSession.create(onnxPath);
  const decoded = await decodeImage({ path: image });
  const net = chooseNetworkSize(decoded, { staticInput: undefined }, DEPTH_ANYTHING_PREPROCESS, undefined);
  const data = resizeNormalizeToNchw(decoded, net.width, net.height, DEPTH_ANYTHING_PREPROCESS.mean, DEPTH_ANYTHING_PREPROCESS.std);
  const feeds = { pixel_values: new ort.Tensor('float32', data, [1, 3, net.height, net.width]) };
  return { network: net, run: async () => { await session.run(feeds); }, dispose: () => session.release() };
}

/** Our image-to-files path: decode, estimate, write png16 + colour PNG + sidecar. */
async function oursRunner(onnxPath: string, image: string): Promise<Runner> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'anyview-bench-'));
  const options = jobOptions(onnxPath, outDir);
  const backend = createOnnxRuntimeNodeBackend();
  const estimator = await createDepthEstimator(backend, options, {});
  const stages: Record<string, number[]> = { decode: [], preprocess: [], inference: [], postprocess: [], write: [] };
  return {
    stages,
    async run() {
      const t0 = performance.now();
      const decoded = await decodeImage({ path: image });
      const t1 = performance.now();
      const estimate = await estimator.estimate(decoded, intrinsicsFor(decoded, options.camera).intrinsics);
      const t2 = performance.now();
      await writeDepthOutputs(path.join(outDir, 'bench'), image, decoded, estimate, estimator, options, undefined);
      const t3 = performance.now();
      stages['decode']!.push(t1 - t0);
      stages['preprocess']!.push(estimate.timingsMs.preprocess);
      stages['inference']!.push(estimate.timingsMs.inference);
      stages['postprocess']!.push(estimate.timingsMs.postprocess);
      stages['write']!.push(t3 - t2);
    },
    async dispose() {
      await backend.dispose();
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

/** The Transformers.js depth-estimation pipeline, end to end from the image file, on the same graph. */
async function tjsRunner(hfDir: string, image: string): Promise<Runner> {
  const { pipeline, env } = await import('@huggingface/transformers');
  env.localModelPath = path.dirname(hfDir);
  env.allowRemoteModels = false;
  const pipe = await pipeline('depth-estimation', path.basename(hfDir), { dtype: 'fp32', device: 'cpu' });
  return { run: async () => { await pipe(image); }, dispose: () => pipe.dispose() };
}

async function main(): Promise<Record<string, unknown>> {
  if (mode === 'interleaved') {
    // All three paths in one process, runs rotated, so machine noise hits them alike: the ratios are fair.
    const [hfDir] = extra as [string];
    const raw = await rawRunner(modelArg, input);
    const runners: Record<string, Runner> = { raw, ours: await oursRunner(modelArg, input), tjs: await tjsRunner(hfDir, input) };
    const times: Record<string, number[]> = { raw: [], ours: [], tjs: [] };
    const names = Object.keys(runners);
    for (const name of names) await runners[name]!.run(); // warm-up
    for (let r = 0; r < runs; r++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(r + k) % names.length]!;
        // A pause first: onnxruntime's threads spin on after a run, which would slow the next path's first steps.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const t0 = performance.now();
        await runners[name]!.run();
        times[name]!.push(performance.now() - t0);
      }
    }
    const stagesMs = Object.fromEntries(Object.entries(runners['ours']!.stages!).map(([k, v]) => [k, median(v.slice(1))]));
    for (const runner of Object.values(runners)) await runner.dispose();
    return { network: raw.network, medians: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])), times, stagesMs, timesMs: times['ours'] };
  }
  if (mode === 'write-smooth') {
    // The write stage on a smooth, real-model-like disparity map (planes, a slow ripple, one step edge)
    // instead of the random graph's noise-like output, which is zlib's worst case.
    const image = await decodeImage({ path: input });
    const { width, height } = image;
    const data = new Float32Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) data[y * width + x] = 0.5 + y / height + 0.1 * Math.sin(x / 40) + (x > width / 2 && y > height / 2 ? 0.8 : 0);
    }
    const estimate = { depth: createDepth({ kind: 'disparity', width, height, data }), network: { width: 924, height: 518 }, timingsMs: { preprocess: 0, inference: 0, postprocess: 0 } };
    const outDir = await mkdtemp(path.join(os.tmpdir(), 'anyview-bench-write-'));
    const options = jobOptions(modelArg, outDir);
    const estimator = { modelId: 'smooth', modelPath: modelArg, spec: undefined, outputKind: 'disparity' as const, license: undefined, device: 'cpu', staticInput: undefined, estimate: async () => estimate,
      batch: 'one' as const, estimateBatch: async () => ({ depths: [estimate.depth], network: estimate.network, timingsMs: estimate.timingsMs }) };
    const timesMs = await timeRuns(async () => { await writeDepthOutputs(path.join(outDir, 'smooth'), input, image, estimate, estimator, options, undefined); });
    await rm(outDir, { recursive: true, force: true });
    return { timesMs };
  }
  if (mode === 'raw' || mode === 'ours' || mode === 'tjs') {
    // One path alone, for its peak RSS.
    const runner = mode === 'raw' ? await rawRunner(modelArg, input) : mode === 'ours' ? await oursRunner(modelArg, input) : await tjsRunner(modelArg, input);
    const timesMs = await timeRuns(runner.run);
    await runner.dispose();
    return { timesMs };
  }
  if (mode === 'folder') {
    const files = await listImagesInFolder(input);
    const outDir = await mkdtemp(path.join(os.tmpdir(), 'anyview-bench-folder-'));
    const backend = createOnnxRuntimeNodeBackend();
    const raw = await rawRunner(modelArg, files[0]!);
    // Warm the session and the JIT on the first image, then alternate: the whole folder, then as many raw runs.
    await runDepthJob(files.slice(0, 1), jobOptions(modelArg, outDir), backend, {});
    await raw.run();
    const folderMs: number[] = [];
    const rawMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      await runDepthJob(files, jobOptions(modelArg, outDir), backend, {});
      folderMs.push((performance.now() - t0) / files.length);
      for (let i = 0; i < files.length; i++) {
        const t1 = performance.now();
        await raw.run();
        rawMs.push(performance.now() - t1);
      }
    }
    await raw.dispose();
    await backend.dispose();
    await rm(outDir, { recursive: true, force: true });
    return { numImages: files.length, msPerImage: median(folderMs), rawMedianMs: median(rawMs), timesMs: folderMs };
  }
  throw new Error(`unknown mode ${mode}`);
}

const result = await main();
const timesMs = result['timesMs'] as number[];
process.stdout.write(`${JSON.stringify({ mode, input: path.basename(input), ...result, medianMs: median(timesMs), maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
