/** `anyview splat`: Gaussian splats from an image + depth or another command's output folder. A thin adapter over pipeline/splat-job. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { InputError } from '../../core/errors.ts';
import { SPLAT_FORMAT_IDS, type SplatFormatId } from '../../io/formats/splat-formats.ts';
import type { IntrinsicsOption } from '../../pipeline/depth-options.ts';
import { runSplatJob, type SplatJobSummary } from '../../pipeline/splat-job.ts';
import { DEFAULT_SPLAT_OPTIONS, SPLAT_SEMANTICS, type SplatInput, type SplatJobOptions, type SplatSemantics } from '../../pipeline/splat-options.ts';
import { parseIntrinsics, parseNonNegativeInt, parsePositiveInt, parsePositiveNumber } from '../parse.ts';
import { runCliJob } from '../run-job.ts';

interface SplatFlags {
  image?: string;
  depth?: string;
  out: string;
  format?: SplatFormatId;
  stride: number;
  maxGaussians?: number;
  intrinsics?: IntrinsicsOption;
  fovDeg: number;
  disparityShift?: number;
  valuesPerMeter?: number;
  semantics?: SplatSemantics;
  query?: string;
  inbetween: number;
  frames?: string;
  json: boolean;
  progressJson: boolean;
}

function parseFiniteNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} must be a number, got "${value}".`);
    return n;
  };
}

export function splatInputFromArgs(input: string | undefined, flags: Pick<SplatFlags, 'image' | 'depth'>): SplatInput {
  const pair = flags.image !== undefined || flags.depth !== undefined;
  if (pair && input !== undefined) throw new InputError('give either an output folder or --image with --depth, not both.');
  if (pair) {
    if (flags.image === undefined || flags.depth === undefined) throw new InputError('--image and --depth go together: the colour image and its depth file.');
    return { kind: 'imageDepth', image: flags.image, depth: flags.depth };
  }
  if (input === undefined) throw new InputError('nothing to do: pass an output folder of `anyview depth`/`views`/`video`, or --image I --depth D.');
  return { kind: 'folder', dir: input };
}

export function splatOptionsFromFlags(flags: SplatFlags): SplatJobOptions {
  if (flags.query !== undefined && flags.semantics === undefined) throw new InputError('--query needs --semantics voc (labels to query).');
  return {
    output: { path: flags.out, ...(flags.format !== undefined ? { format: flags.format } : {}) },
    build: { stride: flags.stride, ...(flags.maxGaussians !== undefined ? { maxGaussians: flags.maxGaussians } : {}) },
    camera: { assumedFovXDeg: flags.fovDeg, ...(flags.intrinsics !== undefined ? { intrinsics: flags.intrinsics } : {}) },
    depth: {
      ...(flags.disparityShift !== undefined ? { disparityShift: flags.disparityShift } : {}),
      ...(flags.valuesPerMeter !== undefined ? { valuesPerMeter: flags.valuesPerMeter } : {}),
    },
    ...(flags.semantics !== undefined ? { semantics: { labels: flags.semantics, ...(flags.query !== undefined ? { query: flags.query } : {}) } } : {}),
    video: { inBetween: flags.inbetween, ...(flags.frames !== undefined ? { frames: flags.frames } : {}) },
  };
}

function printSummary(s: SplatJobSummary): void {
  for (const f of s.files) process.stdout.write(`  ${f.source} -> ${f.file} (${f.count} Gaussians, ${f.format})\n`);
  if (s.sequence !== null) {
    const q = s.sequence;
    process.stdout.write(`  ${q.keyframes} frames + ${q.inBetween} in-between each -> ${q.frames} sets at ${q.fps.toFixed(2)} fps (${q.frameFormat}, colours: ${q.colors}) -> ${q.dir}\n`);
  }
  process.stdout.write(`${s.mode}: ${(s.totalMs / 1000).toFixed(2)} s\n`);
}

export function splatCommand(): Command {
  return new Command('splat')
    .description('Gaussian splats (3DGS PLY, SPZ, glTF, .splat) from an image + depth file, or from the output folder of `anyview depth`, `views` (points.ply) or `video` (a 4D sequence with in-between frames)')
    .argument('[input]', 'an output folder of `anyview depth`, `anyview views` or `anyview video`')
    .option('--image <file>', 'the colour image (with --depth)')
    .option('--depth <file>', 'its depth: an `anyview depth` .npy/16-bit PNG (sidecar beside it), or a metric 16-bit PNG/.npy')
    .requiredOption('-o, --out <file|dir>', 'a splat file (.ply .spz .glb .splat) or a folder')
    .addOption(new Option('-f, --format <fmt>', 'splat format (default: from --out, else ply; spz for sequences)').choices(SPLAT_FORMAT_IDS))
    .option('--stride <n>', 'one Gaussian every n pixels in x and y', parsePositiveInt('--stride'), DEFAULT_SPLAT_OPTIONS.stride)
    .option('--max-gaussians <n>', 'at most this many Gaussians per set', parsePositiveInt('--max-gaussians'))
    .option('--intrinsics <fx,fy,cx,cy>', 'camera intrinsics in pixels (overrides the depth sidecar\'s)', parseIntrinsics)
    .option('--fov-deg <deg>', 'horizontal field of view assumed without intrinsics', parsePositiveNumber('--fov-deg'), DEFAULT_SPLAT_OPTIONS.assumedFovXDeg)
    .option('--disparity-shift <s>', 'accept disparity as depth = 1 / (disparity + s); without it disparity is refused', parseFiniteNumber('--disparity-shift'))
    .option('--values-per-meter <n>', 'stored units per metre of a plain metric depth file (default 1000 PNG, 1 npy)', parsePositiveNumber('--values-per-meter'))
    .addOption(new Option('--semantics <labels>', 'label Gaussians with a segmentation network (voc: DeepLabV3, 21 classes)').choices(SPLAT_SEMANTICS))
    .option('--query <class>', 'write only the Gaussians of this class (needs --semantics)')
    .option('--inbetween <n>', 'interpolated sets between video frames', parseNonNegativeInt('--inbetween'), DEFAULT_SPLAT_OPTIONS.inBetween)
    .option('--frames <video|dir>', 'for a video folder: the input given to `anyview video` (colours; grey without it)')
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('--progress-json', 'write progress events as JSON lines on stderr', false)
    .action(async (input: string | undefined, flags: SplatFlags) => {
      const splatInput = splatInputFromArgs(input, flags);
      const options = splatOptionsFromFlags(flags);
      await runCliJob(flags, ({ env, backend, context }) =>
        runSplatJob(splatInput, options, backend,
          { ...(env.modelDir !== undefined ? { modelDir: env.modelDir } : {}), cacheDir: env.cacheDir, allowDownload: env.allowDownload },
          context),
      printSummary);
    });
}
