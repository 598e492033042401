/** `anyview video`: a video or a folder of frames in; temporally consistent depth out. A thin adapter over pipeline/video-job. */
import { Command, Option } from 'commander';
import type { DepthKind } from '../../core/depth.ts';
import type { ModelVariant } from '../../models/model-spec.ts';
import { COLORMAPS, DEFAULT_DEPTH_JOB_OPTIONS, type ColormapName } from '../../pipeline/depth-options.ts';
import {
  runVideoJob, VIDEO_FRAME_FORMATS, VIDEO_OUTPUTS, type VideoFrameFormat, type VideoJobOptions, type VideoJobSummary, type VideoOutput,
} from '../../pipeline/video-job.ts';
import { ALIGN_MATCHES, DEFAULT_FRAME_MATCH_OPTIONS, type AlignMatches } from '../../pipeline/frame-matches.ts';
import { addDepthModelFlags } from './depth.ts';
import { parseList, parseNonNegativeNumber, parsePositiveInt, parsePositiveNumber } from '../parse.ts';
import { runCliJob } from '../run-job.ts';

const D = DEFAULT_DEPTH_JOB_OPTIONS;

export interface VideoFlags {
  model: string;
  variant: ModelVariant;
  outputKind?: DepthKind;
  allowNonCommercial: boolean;
  size?: number;
  out: string;
  format: VideoFrameFormat[];
  video: VideoOutput;
  colormap: ColormapName;
  fps?: number;
  start?: number;
  end?: number;
  maxFrames?: number;
  maxSide?: number;
  folderFps: number;
  window?: number;
  stride?: number;
  batch?: number;
  alignMatches?: AlignMatches;
  features?: string;
  threads?: number;
  device: 'cpu' | 'cuda' | 'auto';
  json: boolean;
  progressJson: boolean;
}

export function videoOptionsFromFlags(flags: VideoFlags, allowDownload: boolean): VideoJobOptions {
  return {
    depth: {
      model: {
        idOrPath: flags.model, variant: flags.variant, allowNonCommercial: flags.allowNonCommercial, allowDownload,
        ...(flags.outputKind !== undefined ? { outputKind: flags.outputKind } : {}),
      },
      runtime: { device: flags.device, ...(flags.threads !== undefined ? { intraOpThreads: flags.threads } : {}) },
      preprocess: { maxPixels: D.preprocess.maxPixels, ...(flags.size !== undefined ? { processSizePx: flags.size } : {}) },
      camera: D.camera,
    },
    sampling: {
      ...(flags.fps !== undefined ? { fps: flags.fps } : {}),
      ...(flags.start !== undefined ? { startS: flags.start } : {}),
      ...(flags.end !== undefined ? { endS: flags.end } : {}),
      ...(flags.maxFrames !== undefined ? { maxFrames: flags.maxFrames } : {}),
      ...(flags.maxSide !== undefined ? { maxSidePx: flags.maxSide } : {}),
    },
    output: { dir: flags.out, frameFormats: flags.format, video: flags.video, colormap: flags.colormap },
    folderFps: flags.folderFps,
    window: { ...(flags.window !== undefined ? { frames: flags.window } : {}), ...(flags.stride !== undefined ? { stride: flags.stride } : {}) },
    ...(flags.batch !== undefined ? { batchFrames: flags.batch } : {}),
    alignment: { matches: flags.alignMatches ?? 'none', ...(flags.features !== undefined ? { featureModel: flags.features } : {}) },
  };
}

/** Runs the video job on one input; used by `video` and by `auto` on a video. */
export async function runVideoCommand(input: string, flags: VideoFlags): Promise<void> {
  await runCliJob(flags, ({ env, backend, context }) =>
    runVideoJob(input, videoOptionsFromFlags(flags, env.allowDownload), backend, { modelDir: env.modelDir, cacheDir: env.cacheDir }, context),
  printSummary);
}

function printSummary(s: VideoJobSummary): void {
  process.stdout.write(`${s.model.id} (${s.model.kind}) on ${s.model.device}: ${s.numFrames} frames of ${s.width}x${s.height} at ${s.fps} fps, `
    + `${s.alignment.window !== null ? `windows of ${s.alignment.window.frames} every ${s.alignment.window.stride} frames` : `aligned frame to frame${s.alignment.matches === 'xfeat' ? ' on XFeat matches' : ''}${s.model.framesPerRun > 1 ? `, run in batches of ${s.model.framesPerRun}` : ''}`} (${s.alignment.space})\n`);
  process.stdout.write(`  frames: ${s.outputs.frames}\n  metadata: ${s.outputs.metadata}\n${s.outputs.video !== null ? `  video: ${s.outputs.video}\n` : ''}`);
  process.stdout.write(`${(s.totalMs / 1000).toFixed(2)} s (${s.framesPerSecond.toFixed(2)} frames/s) -> ${s.outputs.dir}\n`);
}

export function videoCommand(): Command {
  return addDepthModelFlags(new Command('video')
    .description('Temporally consistent depth for a video or a folder of frames: a video model on overlapping windows (L4P) or an image model frame by frame, aligned into one relative map; per-frame files and a depth video')
    .argument('<input>', 'a video file (anything ffmpeg reads) or a folder of frames'))
    .option('-o, --out <dir>', 'output folder', 'anyview-video')
    .option('-f, --format <list>', `files per frame: ${VIDEO_FRAME_FORMATS.join(',')}`, parseList('--format', VIDEO_FRAME_FORMATS), ['png16'])
    .addOption(new Option('--video <what>', 'the depth video DIR/depth.mp4').choices(VIDEO_OUTPUTS).default('color'))
    .addOption(new Option('--colormap <name>', 'colour map').choices(COLORMAPS).default(D.output.colormap))
    .option('--fps <n>', 'sample the video at this rate (default: every frame)', parsePositiveNumber('--fps'))
    .option('--start <s>', 'start time in seconds', parseNonNegativeNumber('--start'))
    .option('--end <s>', 'end time in seconds', parsePositiveNumber('--end'))
    .option('--max-frames <n>', 'at most this many frames', parsePositiveInt('--max-frames'))
    .option('--max-side <px>', 'scale frames down so that the longer side is at most this', parsePositiveInt('--max-side'))
    .option('--folder-fps <n>', 'frame rate of a folder of frames', parsePositiveNumber('--folder-fps'), 30)
    .option('--window <T>', 'frames per window for a video model (default: the model\'s, else 32)', parsePositiveInt('--window'))
    .option('--stride <S>', 'frames between window starts for a video model (default T/2)', parsePositiveInt('--stride'))
    .option('--batch <N>', 'frames per run for an image model whose ONNX batch dimension is dynamic (same results, one run per N frames; a batch-1 model runs frame by frame with a warning)', parsePositiveInt('--batch'))
    .addOption(new Option('--align-matches <how>', 'image model: align each frame to the previous one on the same pixels (none) or on XFeat feature matches, which follow the points when the camera moves (xfeat)').choices(ALIGN_MATCHES).default('none'))
    .option('--features <id|path>', `feature network for --align-matches xfeat (default ${DEFAULT_FRAME_MATCH_OPTIONS.modelIdOrPath})`)
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('--progress-json', 'write progress events as JSON lines on stderr', false)
    .action(async (input: string, flags: VideoFlags) => {
      await runVideoCommand(input, flags);
    });
}
