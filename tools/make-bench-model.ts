/**
 * A random-weight graph with the exact Depth-Anything-V2-Small architecture, for benchmarks: dense FP32
 * cost does not depend on weight values, and real weights cannot be downloaded here. Written as a
 * Transformers.js model folder (config.json, preprocessor_config.json, onnx/model.onnx) under
 * .cache/bench/ (gitignored: the file is ~100 MB and must never be committed).
 *
 * Script mode: `node --import tsx tools/make-bench-model.ts [--time]` writes it and prints the paths
 * (with --time, also warm onnxruntime-node medians at 518x518 and 518x924).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ort from 'onnxruntime-node';
import { REPO_ROOT } from '../test/helpers/paths.ts';
import { writeHfModelFolder } from './make-test-models.ts';
import { buildDptVit, DEPTH_ANYTHING_V2_SMALL, unusedModuleParameters } from './onnx/dpt-vit.ts';

/** Root to use as Transformers.js `env.localModelPath`. */
export const BENCH_MODEL_ROOT = path.join(REPO_ROOT, '.cache', 'bench');
/** Model id under BENCH_MODEL_ROOT. */
export const BENCH_MODEL_ID = 'da-v2-small-random';
/** Changing the seed or the architecture changes the bytes; ensureBenchModel then rewrites the file. */
const BENCH_SEED = 1234;

export interface BenchModel {
  /** Absolute path of the ONNX file. */
  readonly onnxPath: string;
  /** Absolute path of the Transformers.js model folder (BENCH_MODEL_ROOT/BENCH_MODEL_ID). */
  readonly hfDir: string;
  /** Float parameters in the graph (what an export of the real checkpoint holds). */
  readonly graphParameters: number;
  /** Graph parameters plus the ones the PyTorch module holds but never uses: the real model's count. */
  readonly moduleParameters: number;
}

/** Builds the graph (a few seconds) and writes the folder unless it already holds these exact bytes. */
export async function ensureBenchModel(root: string = BENCH_MODEL_ROOT): Promise<BenchModel> {
  const graph = buildDptVit(DEPTH_ANYTHING_V2_SMALL, { seed: BENCH_SEED });
  const hfDir = path.resolve(root, BENCH_MODEL_ID);
  await writeHfModelFolder(hfDir, graph.toBytes());
  const graphParameters = graph.parameterCount();
  return {
    onnxPath: path.join(hfDir, 'onnx', 'model.onnx'),
    hfDir,
    graphParameters,
    moduleParameters: graphParameters + unusedModuleParameters(DEPTH_ANYTHING_V2_SMALL),
  };
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && import.meta.url === pathToFileURL(path.resolve(entry)).href;
}

/** Warm `session.run` medians in ms: one warm-up run per size, then `runs` timed runs. */
export async function timeBenchModel(
  onnxPath: string,
  sizes: ReadonlyArray<readonly [height: number, width: number]>,
  runs = 3,
): Promise<Array<{ height: number; width: number; medianMs: number; runsMs: number[] }>> {
  const session = await ort.InferenceSession.create(onnxPath);
  try {
    const results = [];
    for (const [height, width] of sizes) {
      // Any finite image will do: the cost of dense FP32 does not depend on the values.
      const pixels = new Float32Array(3 * height * width).map((_, i) => Math.sin(i * 1e-3));
      const feeds = { pixel_values: new ort.Tensor('float32', pixels, [1, 3, height, width]) };
      await session.run(feeds);
      const runsMs: number[] = [];
      for (let r = 0; r < runs; r++) {
        const started = performance.now();
        await session.run(feeds);
        runsMs.push(performance.now() - started);
      }
      const sorted = [...runsMs].sort((a, b) => a - b);
      results.push({ height, width, medianMs: sorted[Math.floor(sorted.length / 2)]!, runsMs });
    }
    return results;
  } finally {
    await session.release();
  }
}

if (isMainModule()) {
  const started = performance.now();
  const model = await ensureBenchModel();
  const { size } = await stat(model.onnxPath);
  console.log(`onnx:   ${model.onnxPath} (${(size / 1e6).toFixed(1)} MB)`);
  console.log(`hfDir:  ${model.hfDir}`);
  console.log(`params: ${model.graphParameters} in the graph, ${model.moduleParameters} in the PyTorch module`);
  console.log(`took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (process.argv.includes('--time')) {
    for (const r of await timeBenchModel(model.onnxPath, [[518, 518], [518, 924]])) {
      console.log(`${r.height}x${r.width}: warm median ${r.medianMs.toFixed(0)} ms (runs ${r.runsMs.map((v) => v.toFixed(0)).join(', ')})`);
    }
  }
}
