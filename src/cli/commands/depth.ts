/** `anyview depth`: images, folders or globs in; depth files out. A thin adapter over pipeline/depth-job. */
import { Command, Option } from 'commander';
import { runDepthJob, type DepthJobSummary } from '../../pipeline/depth-job.ts';
import {
  COLORMAPS, DEFAULT_DEPTH_JOB_OPTIONS, DEPTH_OUTPUT_FORMATS,
  type ColormapName, type DepthJobOptions, type DepthOutputFormat, type IntrinsicsOption,
} from '../../pipeline/depth-options.ts';
import type { ModelVariant } from '../../models/model-spec.ts';
import type { DepthKind } from '../../core/depth.ts';
import { expandImageInputs } from '../../io/inputs.ts';
import { parseIntrinsics, parseList, parsePositiveInt, parsePositiveNumber } from '../parse.ts';
import { runCliJob } from '../run-job.ts';
import { FailedItemsError } from '../errors.ts';

const D = DEFAULT_DEPTH_JOB_OPTIONS;
const VARIANTS: readonly ModelVariant[] = ['fp32', 'fp16', 'int8', 'q4', 'q4f16'];
const OUTPUT_KINDS: readonly DepthKind[] = ['disparity', 'relativeDepth', 'metricDepth'];

interface DepthFlags {
  model: string;
  variant: ModelVariant;
  outputKind?: DepthKind;
  allowNonCommercial: boolean;
  size?: number;
  format: DepthOutputFormat[];
  colormap: ColormapName;
  out: string;
  intrinsics?: IntrinsicsOption;
  fovDeg: number;
  align?: string;
  alignValuesPerMeter: number;
  maxPixels: number;
  maxPoints: number;
  threads?: number;
  device: 'cpu' | 'cuda' | 'auto';
  json: boolean;
  progressJson: boolean;
}

/** The depth model and runtime flags; shared by `depth`, `auto` and `video`. */
export function addDepthModelFlags(command: Command): Command {
  return command
    .option('-m, --model <id|path>', 'registry model id or path to an ONNX file', D.model.idOrPath)
    .addOption(new Option('--variant <precision>', 'weights precision to download').choices(VARIANTS).default(D.model.variant))
    .addOption(new Option('--output-kind <kind>', 'what a model given by path outputs').choices(OUTPUT_KINDS))
    .option('--allow-non-commercial', 'accept a CC-BY-NC (non-commercial) model licence', false)
    .option('--size <px>', 'network processing size (518 for Depth Anything); static-size models ignore it', parsePositiveInt('--size'))
    .option('--threads <n>', 'intra-op threads for inference', parsePositiveInt('--threads'))
    .addOption(new Option('--device <device>', 'execution device').choices(['auto', 'cpu', 'cuda']).default(D.runtime.device));
}

/** Adds the depth job's flags to a command; shared by `depth` and `auto`. */
export function addDepthFlags(command: Command): Command {
  return addDepthModelFlags(command)
    .option('-f, --format <list>', `outputs: ${DEPTH_OUTPUT_FORMATS.join(',')}`, parseList('--format', DEPTH_OUTPUT_FORMATS), [...D.output.formats])
    .addOption(new Option('--colormap <name>', 'colour map for the color output').choices(COLORMAPS).default(D.output.colormap))
    .option('-o, --out <dir>', 'output folder', D.output.dir)
    .option('--intrinsics <fx,fy,cx,cy>', 'camera intrinsics in pixels (for ply and metric DA3)', parseIntrinsics)
    .option('--fov-deg <deg>', 'horizontal field of view assumed without --intrinsics', parsePositiveNumber('--fov-deg'), D.camera.assumedFovXDeg)
    .option('--align <depth-file>', 'align to a known depth map (16-bit PNG or .npy, same size) to get metres')
    .option('--align-values-per-meter <n>', 'stored units per metre in the --align file (1000 = mm PNG)', parsePositiveNumber('--align-values-per-meter'), 1000)
    .option('--max-pixels <n>', 'refuse images with more pixels than this', parsePositiveInt('--max-pixels'), D.preprocess.maxPixels)
    .option('--max-points <n>', 'most points written to a .ply', parsePositiveInt('--max-points'), D.output.maxPlyPoints)
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('--progress-json', 'write progress events as JSON lines on stderr', false);
}

export function depthOptionsFromFlags(flags: DepthFlags, allowDownload: boolean): DepthJobOptions {
  return {
    model: {
      idOrPath: flags.model,
      variant: flags.variant,
      ...(flags.outputKind !== undefined ? { outputKind: flags.outputKind } : {}),
      allowNonCommercial: flags.allowNonCommercial,
      allowDownload,
    },
    runtime: { device: flags.device, ...(flags.threads !== undefined ? { intraOpThreads: flags.threads } : {}) },
    preprocess: { maxPixels: flags.maxPixels, ...(flags.size !== undefined ? { processSizePx: flags.size } : {}) },
    camera: { assumedFovXDeg: flags.fovDeg, ...(flags.intrinsics !== undefined ? { intrinsics: flags.intrinsics } : {}) },
    ...(flags.align !== undefined ? { align: { path: flags.align, valuesPerMeter: flags.alignValuesPerMeter } } : {}),
    output: { dir: flags.out, formats: flags.format, colormap: flags.colormap, maxPlyPoints: flags.maxPoints },
  };
}

function printHumanSummary(summary: DepthJobSummary): void {
  const ok = summary.images.length;
  const lic = summary.model.license !== undefined ? `, licence ${summary.model.license}` : '';
  process.stdout.write(`${summary.model.id} (${summary.model.kind}${lic}) on ${summary.model.device}\n`);
  for (const image of summary.images) {
    process.stdout.write(`  ${image.input} -> ${image.outputs.files.join(', ')}\n`);
  }
  for (const failure of summary.failures) process.stderr.write(`  FAILED ${failure.message}\n`);
  process.stdout.write(`${ok} image(s) in ${(summary.totalMs / 1000).toFixed(2)} s -> ${summary.outputDir}\n`);
}

/** Runs the depth job for already-expanded inputs; used by `depth` and `auto`. */
export async function runDepthCommand(inputs: readonly string[], flags: DepthFlags): Promise<void> {
  const summary = await runCliJob(flags, ({ env, backend, context }) =>
    runDepthJob(inputs, depthOptionsFromFlags(flags, env.allowDownload), backend, { modelDir: env.modelDir, cacheDir: env.cacheDir }, context),
  printHumanSummary);
  if (summary.failures.length > 0) throw new FailedItemsError(summary.failures);
}

export function depthCommand(): Command {
  return addDepthFlags(
    new Command('depth')
      .description('Depth from single images (Depth Anything): relative disparity, or metres with a metric model')
      .argument('<inputs...>', 'images, folders of images, or globs'),
  ).action(async (inputs: string[], flags: DepthFlags) => {
    await runDepthCommand(await expandImageInputs(inputs), flags);
  });
}
