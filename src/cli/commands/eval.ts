/** `anyview eval depth`: the paper's zero-shot protocol on a dataset layout (NYU, KITTI, TUM, Redwood). */
import { Command, Option } from 'commander';
import { createOnnxRuntimeNodeBackend } from '../../models/onnxruntime-node.ts';
import { createDepthEstimator } from '../../pipeline/depth-estimator.ts';
import { evaluateDepth, type EvalAlignment, type DepthEvalResult } from '../../pipeline/eval-depth.ts';
import { DEPTH_DATASET_NAMES } from '../../eval/datasets/index.ts';
import { DEPTH_METRIC_NAMES } from '../../eval/depth-metrics.ts';
import type { ModelVariant } from '../../models/model-spec.ts';
import type { DepthKind } from '../../core/depth.ts';
import { DEFAULT_DEPTH_JOB_OPTIONS } from '../../pipeline/depth-options.ts';
import { parsePositiveInt } from '../parse.ts';
import { readCliEnvironment } from '../environment.ts';
import { createProgressSink } from '../progress.ts';
import { createCliLogger } from '../log.ts';

interface EvalFlags {
  dataset: string;
  root: string;
  model: string;
  variant: ModelVariant;
  outputKind?: DepthKind;
  allowNonCommercial: boolean;
  size?: number;
  alignment: EvalAlignment;
  limit?: number;
  threads?: number;
  json: boolean;
}

function printTable(result: DepthEvalResult, modelId: string): void {
  const m = result.metrics;
  process.stdout.write(`${result.dataset}: ${result.numImages} image(s), model ${modelId}, alignment ${result.alignment}, `
    + `crop ${result.protocol.crop ?? 'none'}, depth ${result.protocol.minDepthMeters}..${result.protocol.maxDepthMeters} m\n`);
  process.stdout.write(`${DEPTH_METRIC_NAMES.map((n) => n.padStart(8)).join(' ')}\n`);
  process.stdout.write(`${DEPTH_METRIC_NAMES.map((n) => m[n].toFixed(4).padStart(8)).join(' ')}\n`);
  for (const s of result.skipped) process.stderr.write(`  skipped ${s.id}: ${s.reason}\n`);
}

export function evalCommand(): Command {
  const evalRoot = new Command('eval').description('Evaluate models with the papers\' protocols');
  evalRoot.command('depth')
    .description('zero-shot depth: AbsRel, delta1..3, RMSE; relative models aligned by least squares in disparity space')
    .addOption(new Option('--dataset <name>', 'dataset layout').choices(DEPTH_DATASET_NAMES).makeOptionMandatory())
    .requiredOption('--root <dir>', 'the dataset folder (or a parent the loader recognises)')
    .option('-m, --model <id|path>', 'registry model id or ONNX file', DEFAULT_DEPTH_JOB_OPTIONS.model.idOrPath)
    .addOption(new Option('--variant <precision>', 'weights precision').choices(['fp32', 'fp16', 'int8', 'q4', 'q4f16']).default('fp32'))
    .addOption(new Option('--output-kind <kind>', 'what a model given by path outputs').choices(['disparity', 'relativeDepth', 'metricDepth']))
    .option('--allow-non-commercial', 'accept a CC-BY-NC model licence', false)
    .option('--size <px>', 'network processing size', parsePositiveInt('--size'))
    .addOption(new Option('--alignment <how>', 'alignment before the metrics').choices(['auto', 'none', 'scaleShiftDisparity', 'scaleShiftDepth']).default('auto'))
    .option('--limit <n>', 'evaluate only the first n samples', parsePositiveInt('--limit'))
    .option('--threads <n>', 'intra-op threads', parsePositiveInt('--threads'))
    .option('--json', 'print the full result as JSON', false)
    .action(async (flags: EvalFlags) => {
      const env = readCliEnvironment();
      const backend = createOnnxRuntimeNodeBackend();
      const progress = createProgressSink(process.stderr.isTTY && !flags.json ? 'bar' : 'none');
      try {
        const estimator = await createDepthEstimator(backend, {
          model: {
            idOrPath: flags.model, variant: flags.variant, allowNonCommercial: flags.allowNonCommercial,
            allowDownload: env.allowDownload, ...(flags.outputKind !== undefined ? { outputKind: flags.outputKind } : {}),
          },
          runtime: { device: 'auto', ...(flags.threads !== undefined ? { intraOpThreads: flags.threads } : {}) },
          preprocess: { maxPixels: DEFAULT_DEPTH_JOB_OPTIONS.preprocess.maxPixels, ...(flags.size !== undefined ? { processSizePx: flags.size } : {}) },
        }, { modelDir: env.modelDir, cacheDir: env.cacheDir }, { onProgress: progress.onProgress, log: createCliLogger({ debug: env.debug, quiet: flags.json, format: 'text' }) });
        const result = await evaluateDepth(flags.dataset, flags.root,
          async (image, sample) => (await estimator.estimate(image, sample.intrinsics)).depth,
          { alignment: flags.alignment, ...(flags.limit !== undefined ? { limit: flags.limit } : {}) },
          { onProgress: progress.onProgress });
        progress.stop();
        if (flags.json) process.stdout.write(`${JSON.stringify({ model: estimator.modelId, modelKind: estimator.outputKind, ...result }, null, 2)}\n`);
        else printTable(result, estimator.modelId);
      } finally {
        progress.stop();
        await backend.dispose();
      }
    });
  return evalRoot;
}
