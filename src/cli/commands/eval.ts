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
import { parseNonNegativeInt, parsePositiveIntList, parsePositiveNumber, parsePositiveInt } from '../parse.ts';
import { readCliEnvironment } from '../environment.ts';
import { createProgressSink } from '../progress.ts';
import { createCliLogger } from '../log.ts';
import { evaluatePosePairs, DEFAULT_POSE_PAIRS_OPTIONS, type PosePairsReport } from '../../pipeline/eval-pose-pairs.ts';
import { alphaFlag, ALPHA_CHOICES, type AlphaChoice } from '../parse.ts';
import { evaluatePoses, type PosesReport } from '../../pipeline/eval-poses.ts';
import { DEFAULT_VIEWS_OPTIONS } from '../../pipeline/views-job.ts';
import { DEFAULT_FINE_PASS } from '../../pipeline/views-fine.ts';
import { sparseStageFlags } from './views.ts';

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
  evalRoot.command('pose-pairs')
    .description('two-view relative pose on a SuperGlue/ScanNet-1500 pair file: AUC@5/10/20 of max(rotation, translation-direction error)')
    .requiredOption('--pairs <file>', 'pair file: name0 name1 rot0 rot1 K0(9) K1(9) T_0to1(16) per line')
    .requiredOption('--images <dir>', 'folder the image names in the pair file are relative to')
    .option('--features <id|path>', 'feature network id or ONNX file', DEFAULT_POSE_PAIRS_OPTIONS.features.modelIdOrPath)
    .option('--max-keypoints <n>', 'keypoints per image', parsePositiveInt('--max-keypoints'), DEFAULT_POSE_PAIRS_OPTIONS.features.maxKeypoints)
    .option('--feature-resolution <px,...>', 'long sides at which features are detected, finest first (tiles of the network input; never enlarged)', parsePositiveIntList('--feature-resolution'), DEFAULT_POSE_PAIRS_OPTIONS.features.resolutionsPx)
    .option('--threshold <px>', 'RANSAC threshold in pixels of a 640x480 image', parsePositiveNumber('--threshold'), DEFAULT_POSE_PAIRS_OPTIONS.thresholdPx640)
    .addOption(new Option('--alpha <how>', 'transparent pixels').choices(ALPHA_CHOICES).default('white'))
    .option('--limit <n>', 'evaluate only the first n pairs', parsePositiveInt('--limit'))
    .option('--threads <n>', 'intra-op threads', parsePositiveInt('--threads'))
    .option('--json', 'print the full result as JSON', false)
    .action(async (flags: PosePairsFlags) => {
      const env = readCliEnvironment();
      const backend = createOnnxRuntimeNodeBackend();
      const progress = createProgressSink(process.stderr.isTTY && !flags.json ? 'bar' : 'none');
      try {
        const report = await evaluatePosePairs(backend, {
          ...DEFAULT_POSE_PAIRS_OPTIONS,
          pairsFile: flags.pairs,
          imagesDir: flags.images,
          features: {
            ...DEFAULT_POSE_PAIRS_OPTIONS.features, modelIdOrPath: flags.features, maxKeypoints: flags.maxKeypoints, resolutionsPx: flags.featureResolution,
            allowDownload: env.allowDownload, ...(flags.threads !== undefined ? { intraOpThreads: flags.threads } : {}),
          },
          thresholdPx640: flags.threshold,
          alpha: alphaFlag(flags.alpha),
          ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
        }, { modelDir: env.modelDir, cacheDir: env.cacheDir }, {
          onProgress: progress.onProgress, log: createCliLogger({ debug: env.debug, quiet: flags.json, format: 'text' }),
        });
        progress.stop();
        if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else printPosePairs(report);
      } finally {
        progress.stop();
        await backend.dispose();
      }
    });
  evalRoot.command('poses')
    .description('multi-view cameras against ground truth: pairwise AUC@3/30 (DA3/VGGT), Sim(3)-aligned rotation and centre errors')
    .requiredOption('--images <dir>', 'the images folder')
    .requiredOption('--gt <file|dir>', 'ground truth: a NeRF-style transforms.json or a COLMAP model folder')
    .option('--no-gt-intrinsics', 'estimate intrinsics from a prior instead of using the ground truth\'s')
    .option('--features <id|path>', 'feature network id or ONNX file', DEFAULT_VIEWS_OPTIONS.sparse.features.modelIdOrPath)
    .option('--max-keypoints <n>', 'keypoints per image', parsePositiveInt('--max-keypoints'), DEFAULT_VIEWS_OPTIONS.sparse.features.maxKeypoints)
    .option('--feature-resolution <px,...>', 'long sides at which features are detected, finest first (tiles of the network input; never enlarged)', parsePositiveIntList('--feature-resolution'), DEFAULT_VIEWS_OPTIONS.sparse.features.resolutionsPx)
    .option('--no-fine-pass', 'keep the cameras from the coarse features')
    .option('--fine-resolution <px>', 'long side at which the fine pass detects features again', parsePositiveInt('--fine-resolution'), DEFAULT_FINE_PASS.resolutionPx)
    .option('--no-disambiguation', 'keep the first model even where views that should share points share almost none')
    .addOption(new Option('--alpha <how>', 'transparent pixels').choices(ALPHA_CHOICES).default('white'))
    .option('--seed <n>', 'seed of every random sample', parseNonNegativeInt('--seed'), DEFAULT_VIEWS_OPTIONS.sparse.seed)
    .option('--threads <n>', 'intra-op threads', parsePositiveInt('--threads'))
    .option('--json', 'print the full result as JSON', false)
    .action(async (flags: PosesFlags) => {
      const env = readCliEnvironment();
      // As `anyview views`: networks in a worker thread, matching while this thread verifies.
      const backend = createOnnxRuntimeNodeBackend({ sessionThread: 'worker' });
      const progress = createProgressSink(process.stderr.isTTY && !flags.json ? 'bar' : 'none');
      try {
        const S = DEFAULT_VIEWS_OPTIONS.sparse;
        const report = await evaluatePoses(backend, {
          imagesDir: flags.images, gt: flags.gt, useGtIntrinsics: flags.gtIntrinsics,
          sparse: {
            ...S, alpha: alphaFlag(flags.alpha), seed: flags.seed, finePass: undefined, disambiguation: undefined, ...sparseStageFlags(flags),
            features: { ...S.features, modelIdOrPath: flags.features, maxKeypoints: flags.maxKeypoints, resolutionsPx: flags.featureResolution, allowDownload: env.allowDownload, ...(flags.threads !== undefined ? { intraOpThreads: flags.threads } : {}) },
          },
        }, { modelDir: env.modelDir, cacheDir: env.cacheDir }, {
          onProgress: progress.onProgress, log: createCliLogger({ debug: env.debug, quiet: flags.json, format: 'text' }),
        });
        progress.stop();
        if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else printPoses(report);
      } finally {
        progress.stop();
        await backend.dispose();
      }
    });
  return evalRoot;
}

interface PosesFlags {
  images: string;
  gt: string;
  gtIntrinsics: boolean;
  finePass: boolean;
  fineResolution: number;
  disambiguation: boolean;
  features: string;
  maxKeypoints: number;
  featureResolution: number[];
  alpha: AlphaChoice;
  seed: number;
  threads?: number;
  json: boolean;
}

function printPoses(report: PosesReport): void {
  const f = (v: number | null, d = 2): string => (v === null ? 'n/a' : v.toFixed(d));
  process.stdout.write(`${report.registered} of ${report.n} views registered; pairwise AUC@3 ${report.auc3.toFixed(2)} %, AUC@30 ${report.auc30.toFixed(2)} % `
    + `over ${report.numPairs} pairs\n`);
  process.stdout.write(`after Sim(3): rotation error median ${f(report.medianRotationErrorDeg, 3)} deg, centre error median ${f(report.medianCentreErrorPercent)} % of scene scale; `
    + `${(report.wallMs / 1000).toFixed(1)} s\n`);
  process.stdout.write(`pairs of registered views: relative rotation error median ${f(report.medianPairRotationErrorDeg, 3)} deg, `
    + `translation direction error median ${f(report.medianPairTranslationErrorDeg, 3)} deg\n`);
  if (report.disambiguation.kind === 'checked' && report.disambiguation.moved.length > 0) {
    process.stdout.write(`placed again (repeated or symmetric structure): ${report.disambiguation.moved.map((g) => g.join(', ')).join('; ')}\n`);
  }
}

interface PosePairsFlags {
  pairs: string;
  images: string;
  features: string;
  maxKeypoints: number;
  featureResolution: number[];
  threshold: number;
  alpha: AlphaChoice;
  limit?: number;
  threads?: number;
  json: boolean;
}

function printPosePairs(report: PosePairsReport): void {
  process.stdout.write(`${report.n} pair(s), ${report.failures} without a pose; AUC@5/10/20 = `
    + `${report.auc5.toFixed(2)} / ${report.auc10.toFixed(2)} / ${report.auc20.toFixed(2)} %\n`);
  process.stdout.write(`median error: pose ${report.medianPoseErrorDeg.toFixed(2)} deg, rotation ${report.medianRotationErrorDeg.toFixed(2)} deg, `
    + `translation direction ${report.medianTranslationErrorDeg.toFixed(2)} deg; ${report.msPerPair.toFixed(0)} ms per pair\n`);
}
