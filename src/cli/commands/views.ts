/** `anyview views`: images or a folder in; cameras.json, points.ply, scene.glb and a COLMAP model out. */
import { Command, Option } from 'commander';
import { expandImageInputs } from '../../io/inputs.ts';
import type { ModelVariant } from '../../models/model-spec.ts';
import { createOnnxRuntimeNodeBackend } from '../../models/onnxruntime-node.ts';
import type { IntrinsicsOption } from '../../pipeline/depth-options.ts';
import { DEFAULT_FINE_PASS, type FinePassOptions } from '../../pipeline/views-fine.ts';
import { DEFAULT_VIEWS_OPTIONS, runViewsJob, type ViewsJobReport } from '../../pipeline/views-job.ts';
import { VIEWS_OUTPUT_FORMATS, type ViewsOutputFormat } from '../../pipeline/views-outputs.ts';
import type { PairChoice, SparseOptions } from '../../pipeline/views-sparse.ts';
import { DEFAULT_DISAMBIGUATION } from '../../sfm/disambiguate.ts';
import { readCliEnvironment } from '../environment.ts';
import { createCliLogger } from '../log.ts';
import { alphaFlag, ALPHA_CHOICES, parseIntrinsics, parseList, parseNonNegativeInt, parsePositiveIntList, parsePositiveInt, parsePositiveNumber, type AlphaChoice } from '../parse.ts';
import { createProgressSink } from '../progress.ts';

const D = DEFAULT_VIEWS_OPTIONS;

interface ViewsFlags {
  out: string;
  format: ViewsOutputFormat[];
  features: string;
  maxKeypoints: number;
  featureResolution: number[];
  finePass: boolean;
  fineResolution: number;
  disambiguation: boolean;
  intrinsics?: IntrinsicsOption;
  cameras?: string;
  da3Model?: string;
  fovDeg?: number;
  pairs: PairChoice;
  depthModel?: string;
  variant: ModelVariant;
  allowNonCommercial: boolean;
  maxPoints: number;
  alpha: AlphaChoice;
  seed: number;
  threads?: number;
  json: boolean;
  progressJson: boolean;
}

function printSummary(report: ViewsJobReport): void {
  const out = process.stdout;
  out.write(`${report.numRegistered} of ${report.numViews} views registered, ${report.numSparsePoints} sparse points `
    + `(${report.verifiedPairs} of ${report.matchedPairs} pairs verified)\n`);
  const fine = report.finePass;
  if (fine.kind === 'refined') out.write(`fine pass: cameras refined on ${fine.matches} matches in ${fine.pairs} pairs\n`);
  else if (fine.kind !== 'off') out.write(`fine pass ${fine.kind}: ${fine.reason}\n`);
  const check = report.disambiguation;
  if (check.kind === 'checked') {
    for (const group of check.moved) out.write(`placed again (repeated or symmetric structure had misplaced them): ${group.join(', ')}\n`);
    if (check.remaining.length > 0) {
      const names = [...new Set(check.remaining.flatMap((c) => c.views))].sort();
      out.write(`possibly misplaced (${check.remaining.length} conflicting pairs): ${names.join(', ')}\n`);
    }
  }
  if (report.unregistered.length > 0) out.write(`not registered: ${report.unregistered.join(', ')}\n`);
  if (report.dense) out.write(`dense: ${report.dense.numPoints} points from ${report.dense.viewsUsed} view(s)\n`);
  for (const note of report.notes) out.write(`note: ${note}\n`);
  for (const file of report.written) out.write(`wrote ${file}\n`);
}

/**
 * The sparse stages the --no-fine-pass, --fine-resolution and --no-disambiguation flags set (views and eval
 * poses); spread over options whose finePass and disambiguation are cleared first.
 */
export function sparseStageFlags(flags: { readonly finePass: boolean; readonly fineResolution: number; readonly disambiguation: boolean }): {
  finePass?: FinePassOptions; disambiguation?: SparseOptions['disambiguation'];
} {
  return {
    ...(flags.finePass ? { finePass: { ...DEFAULT_FINE_PASS, resolutionPx: flags.fineResolution } } : {}),
    ...(flags.disambiguation ? { disambiguation: DEFAULT_DISAMBIGUATION } : {}),
  };
}

export function viewsCommand(): Command {
  return new Command('views')
    .description('cameras (worldFromCamera, OpenCV axes) and one point cloud from any number of overlapping images')
    .argument('<inputs...>', 'images, folders or globs (at least 2 views)')
    .requiredOption('-o, --out <dir>', 'output folder')
    .option('-f, --format <list>', `outputs: ${VIEWS_OUTPUT_FORMATS.join(',')}`, parseList('--format', VIEWS_OUTPUT_FORMATS), [...D.formats])
    .option('--features <id|path>', 'feature network id or ONNX file', D.sparse.features.modelIdOrPath)
    .option('--max-keypoints <n>', 'keypoints per image', parsePositiveInt('--max-keypoints'), D.sparse.features.maxKeypoints)
    .option('--feature-resolution <px,...>', 'long sides at which features are detected, finest first (tiles of the network input; never enlarged)', parsePositiveIntList('--feature-resolution'), D.sparse.features.resolutionsPx)
    .option('--no-fine-pass', 'keep the cameras from the coarse features (faster; less precise on large images)')
    .option('--fine-resolution <px>', 'long side at which the fine pass detects features again', parsePositiveInt('--fine-resolution'), DEFAULT_FINE_PASS.resolutionPx)
    .option('--no-disambiguation', 'keep the first model even where views that should share points share almost none (repeated or symmetric structure)')
    .option('--intrinsics <fx,fy,cx,cy>', 'shared camera intrinsics in pixels (else EXIF, else a 1.2*max(w,h) focal prior refined by bundle adjustment)', parseIntrinsics)
    .option('--da3-model <file>', 'a multi-view Depth Anything 3 ONNX export: cameras from its ray maps and points P = t + D*d, no feature matching')
    .option('--cameras <file|dir>', 'known cameras: a NeRF-style transforms.json or a COLMAP model folder (points only are estimated)')
    .option('--fov-deg <deg>', 'horizontal field of view prior instead of EXIF', parsePositiveNumber('--fov-deg'))
    .addOption(new Option('--pairs <how>', 'which view pairs to match').choices(['auto', 'exhaustive', 'sequential']).default(D.sparse.pairs))
    .option('--depth-model <id|path>', 'single-image depth model for a dense point cloud (e.g. depth-anything-v2-small)')
    .addOption(new Option('--variant <precision>', 'depth model weights precision').choices(['fp32', 'fp16', 'int8', 'q4', 'q4f16']).default('fp32'))
    .option('--allow-non-commercial', 'accept a CC-BY-NC depth model licence', false)
    .option('--max-points <n>', 'most points in the dense cloud', parsePositiveInt('--max-points'), D.dense.maxPoints)
    .addOption(new Option('--alpha <how>', 'transparent pixels').choices(ALPHA_CHOICES).default('white'))
    .option('--seed <n>', 'seed of every random sample', parseNonNegativeInt('--seed'), 0)
    .option('--threads <n>', 'intra-op threads for inference', parsePositiveInt('--threads'))
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('--progress-json', 'write progress events as JSON lines on stderr', false)
    .action(async (inputs: string[], flags: ViewsFlags) => {
      const env = readCliEnvironment();
      const paths = await expandImageInputs(inputs);
      // Networks run in a worker thread, so descriptors are matched while the last pair is verified here.
      const backend = createOnnxRuntimeNodeBackend({ sessionThread: 'worker' });
      const progress = createProgressSink(flags.progressJson ? 'json' : process.stderr.isTTY && !flags.json ? 'bar' : 'none');
      const log = createCliLogger({ debug: env.debug, quiet: false, format: flags.progressJson ? 'json' : 'text' });
      try {
        const report = await runViewsJob(backend, paths, {
          ...D,
          outDir: flags.out,
          formats: flags.format,
          sparse: {
            ...D.sparse,
            features: { ...D.sparse.features, modelIdOrPath: flags.features, maxKeypoints: flags.maxKeypoints, resolutionsPx: flags.featureResolution },
            pairs: flags.pairs,
            cameraPrior: {
              ...(flags.intrinsics ? { user: flags.intrinsics } : {}),
              ...(flags.fovDeg !== undefined ? { fovXDeg: flags.fovDeg } : {}),
            },
            alpha: alphaFlag(flags.alpha),
            seed: flags.seed,
            finePass: undefined, disambiguation: undefined,
            ...sparseStageFlags(flags),
          },
          dense: { ...D.dense, maxPoints: flags.maxPoints, alpha: alphaFlag(flags.alpha), seed: flags.seed },
          ...(flags.cameras !== undefined ? { knownCamerasFile: flags.cameras } : {}),
          ...(flags.da3Model !== undefined ? { da3ModelPath: flags.da3Model } : {}),
          ...(flags.depthModel ? { depthModel: { idOrPath: flags.depthModel, variant: flags.variant, allowNonCommercial: flags.allowNonCommercial } } : {}),
          allowDownload: env.allowDownload,
          ...(flags.threads !== undefined ? { intraOpThreads: flags.threads } : {}),
        }, { modelDir: env.modelDir, cacheDir: env.cacheDir }, { onProgress: progress.onProgress, log });
        progress.stop();
        if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else printSummary(report);
      } finally {
        progress.stop();
        await backend.dispose();
      }
    });
}
