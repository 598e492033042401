/**
 * `anyview video`: temporally consistent depth for a video or an image sequence, streamed:
 *
 *   decode (ffmpeg, or the folder's images) -> depth model -> temporal alignment -> per-frame files,
 *   frames.jsonl, and a colourised depth video (optionally side by side with the input).
 *
 * The model decides the alignment unit (video/temporal-alignment.ts):
 * - a video model ([1, T, 3, H, W] in) runs on windows of T frames every S (L4P); each window shares one unknown
 *   affine map and is aligned on its overlap with the frames already aligned;
 * - an image model (Depth Anything) gives each frame its own map; each frame is aligned to the previous one.
 * Either way the whole video ends up in the first unit's relative map. The colour range is fixed from the
 * first frame, so colours do not flicker either. Nothing grows with the video's length: frames are decoded as
 * needed, at most one window is held, and outputs are written as frames become final.
 */
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { RunContext } from '../core/context.ts';
import type { Depth, DepthKind } from '../core/depth.ts';
import { InputError, throwIfAborted } from '../core/errors.ts';
import type { Image } from '../core/image.ts';
import { ensureWritableDir, writeFileAtomic } from '../io/atomic-write.ts';
import { decodeImage } from '../io/decode-image.ts';
import { colorCodesToRgb, depthColorCodes, encodeColorCodesPng } from '../io/formats/depth-color.ts';
import { depthPng16Format } from '../io/formats/depth-png16.ts';
import { npyFormat } from '../io/formats/npy.ts';
import { classifyInput, listImagesInFolder } from '../io/inputs.ts';
import { decodeVideoFrames, probeVideo, type VideoDecodeOptions } from '../io/video-decode.ts';
import { createVideoEncoder, type VideoEncoder } from '../io/video-encode.ts';
import type { InferenceBackend } from '../models/backend.ts';
import { createTemporalAligner, type AlignedFrame, type AlignmentUnit, type FrameCorrespondences, type UnitFit } from '../video/temporal-alignment.ts';
import { defaultStride, type FrameWindow } from '../video/windows.ts';
import { depthOutputSpecFor } from '../models/depth-adapter.ts';
import { detectVideoDepthContract, isVideoDepthModel, runVideoDepthModel } from '../models/video-depth.ts';
import type { DepthRunTimings } from '../models/depth-adapter.ts';
import { depthEstimatorFor, openDepthModel, type ModelLocations } from './depth-estimator.ts';
import { DEFAULT_FRAME_MATCH_OPTIONS, openFrameMatcher, type AlignMatches, type FrameMatcher } from './frame-matches.ts';
import { intrinsicsFor, OUTPUT_SUFFIX } from './depth-outputs.ts';
import type { DepthJobOptions } from './depth-options.ts';

export const VIDEO_FRAME_FORMATS = ['png16', 'npy', 'color'] as const;
export type VideoFrameFormat = (typeof VIDEO_FRAME_FORMATS)[number];
export const VIDEO_OUTPUTS = ['color', 'side-by-side', 'none'] as const;
export type VideoOutput = (typeof VIDEO_OUTPUTS)[number];

export interface VideoJobOptions {
  /** Model, runtime, preprocessing and camera as for single images; output.dir and output.colormap are used. */
  readonly depth: Pick<DepthJobOptions, 'model' | 'runtime' | 'preprocess' | 'camera'>;
  readonly sampling: Pick<VideoDecodeOptions, 'fps' | 'startS' | 'endS' | 'maxFrames' | 'maxSidePx' | 'ffmpegPath' | 'ffprobePath'>;
  readonly output: {
    readonly dir: string;
    /** Files per frame, in DIR/frames/. */
    readonly frameFormats: readonly VideoFrameFormat[];
    /** The depth video, DIR/depth.mp4. */
    readonly video: VideoOutput;
    readonly colormap: DepthJobOptions['output']['colormap'];
  };
  /** Frame rate of an image-sequence folder (a video's own rate is used otherwise). Default 30. */
  readonly folderFps: number;
  /**
   * Windows for a video model (one that takes [1, T, 3, H, W]): T frames (default: the model's fixed T, else 32),
   * every S frames (default T/2). Ignored for per-frame image models.
   */
  readonly window?: { readonly frames?: number; readonly stride?: number };
  /**
   * Frames per model run for a per-frame image model (default 1): N consecutive frames go through one
   * session.run when the model's batch dimension is dynamic, with the same results as one by one. A model with a
   * batch of 1 runs frame by frame (a warning says so). Ignored for video models, which take their window.
   */
  readonly batchFrames?: number;
  /**
   * How a per-frame image model's frames are related to their predecessor for alignment: 'none' (default) fits
   * the same pixel of both frames; 'xfeat' fits XFeat matches between them (pipeline/frame-matches.ts), which
   * follows the points when the camera moves. Ignored for video models (windows are aligned on shared frames).
   */
  readonly alignment?: { readonly matches?: AlignMatches; readonly featureModel?: string };
}

export interface VideoFrameRecord {
  readonly index: number;
  readonly timeS: number;
  readonly files: Readonly<Partial<Record<VideoFrameFormat, string>>>;
  /** aligned = scale * predicted + shift, the map this frame was given. */
  readonly alignment: UnitFit;
  readonly timingsMs: {
    readonly inference: number; readonly preprocess: number; readonly postprocess: number;
    /** Feature extraction and matching with the previous frame, with --align-matches xfeat. */
    readonly matching?: number;
  };
}

export interface VideoJobSummary {
  readonly input: string;
  readonly source: 'video' | 'imageFolder';
  readonly numFrames: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly model: {
    readonly id: string; readonly kind: DepthKind; readonly device: string;
    /** Frames per session.run: the window for a video model, the batch for an image model. */
    readonly framesPerRun: number;
  };
  readonly alignment: {
    readonly unit: AlignmentUnit;
    /** What frame-to-frame alignment fits on: the same pixels, or feature matches. */
    readonly matches: AlignMatches;
    readonly space: string;
    /** For a video model: the window length and stride used. */
    readonly window: { readonly frames: number; readonly stride: number } | null;
    readonly colorRange: { readonly low: number; readonly high: number } | null;
  };
  readonly outputs: { readonly dir: string; readonly frames: string; readonly metadata: string; readonly video: string | null };
  readonly totalMs: number;
  readonly framesPerSecond: number;
  /**
   * Wall time per frame after the first model run (which includes the runtime's warm-up) to the end of the job,
   * everything included: the steady rate, to compare with the model's own time per frame.
   */
  readonly steadyMsPerFrame: number | null;
}

interface SourceFrame {
  readonly index: number;
  readonly image: Image<Uint8Array>;
}

/** The frames of a video file or of a folder of images (sorted by name), with the rate to play them at. */
interface FrameSource {
  readonly frames: AsyncIterable<SourceFrame>;
  readonly fps: number;
  readonly source: VideoJobSummary['source'];
  /** Expected frame count, for progress; undefined when the container does not say. */
  readonly expectedFrames: number | undefined;
}

/** Frames expected from a video of `info` under the sampling options (an estimate: containers can be off by one). */
function expectedVideoFrames(info: { numFrames: number | undefined; durationS: number | undefined; decodeFps: number }, sampling: VideoJobOptions['sampling']): number | undefined {
  const duration = info.durationS;
  let count: number | undefined;
  if (sampling.fps === undefined && sampling.startS === undefined && sampling.endS === undefined && !(info.numFrames === undefined)) {
    count = info.numFrames;
  } else if (duration !== undefined) {
    const span = Math.max(0, Math.min(sampling.endS ?? duration, duration) - (sampling.startS ?? 0));
    count = Math.round(span * (sampling.fps ?? info.decodeFps));
  }
  return count !== undefined && sampling.maxFrames !== undefined ? Math.min(count, sampling.maxFrames) : count;
}

async function openFrames(input: string, options: VideoJobOptions, context: RunContext): Promise<FrameSource> {
  const kind = await classifyInput(input);
  if (kind === 'video') {
    const info = probeVideo(input, options.sampling);
    const fps = options.sampling.fps ?? info.decodeFps;
    if (info.variableFrameRate && options.sampling.fps === undefined) {
      context.log?.info(`${input}: variable frame rate (average ${info.fps.toFixed(2)} fps); decoded at its base rate, ${info.decodeFps} fps, repeating frames over gaps. Pass --fps to choose.`);
    }
    const frames = decodeVideoFrames(input, { ...options.sampling, ...(context.signal !== undefined ? { signal: context.signal } : {}) });
    return { frames, fps, source: 'video', expectedFrames: expectedVideoFrames(info, options.sampling) };
  }
  if (kind !== 'imageFolder') throw new InputError('is a single image: `anyview video` needs a video or a folder of frames (use `anyview depth` for one image).', { file: input });
  const files = await listImagesInFolder(input);
  const { maxFrames } = options.sampling;
  const chosen = maxFrames !== undefined ? files.slice(0, maxFrames) : files;
  async function* frames(): AsyncGenerator<SourceFrame> {
    for (const [index, file] of chosen.entries()) {
      yield { index, image: await decodeImage({ path: file }, options.sampling.maxSidePx !== undefined ? { maxSidePx: options.sampling.maxSidePx } : {}) };
    }
  }
  return { frames: frames(), fps: options.folderFps, source: 'imageFolder', expectedFrames: chosen.length };
}

/** The model as the job uses it: a window of frames in, one depth map per frame out. */
interface WindowModel {
  readonly id: string;
  readonly kind: DepthKind;
  readonly device: string;
  /** 'window' for a video model (one affine map per window), 'frame' for an image model. */
  readonly unit: AlignmentUnit;
  readonly windowFrames: number;
  readonly windowStride: number;
  estimate(frames: readonly Image<Uint8Array>[]): Promise<{ depths: Depth[]; timingsMs: DepthRunTimings }>;
}

/** Video Depth Anything uses windows of 32 frames. */
const DEFAULT_VIDEO_WINDOW = 32;

async function openVideoOrImageModel(backend: InferenceBackend, options: VideoJobOptions, locations: ModelLocations, context: RunContext): Promise<WindowModel> {
  const opened = await openDepthModel(backend, options.depth, locations, context);
  const { session, spec } = opened;
  if (isVideoDepthModel(session)) {
    const contract = detectVideoDepthContract(session);
    const frames = options.window?.frames ?? contract.windowFrames ?? DEFAULT_VIDEO_WINDOW;
    if (contract.windowFrames !== undefined && frames !== contract.windowFrames) {
      throw new InputError(`this video model takes windows of ${contract.windowFrames} frames; --window ${frames} does not fit.`, { file: opened.path });
    }
    const stride = options.window?.stride ?? defaultStride(frames);
    if (!(frames >= 2 && Number.isInteger(stride) && stride >= 1 && stride < frames)) {
      throw new InputError(`windows of ${frames} frames every ${stride}: a window needs at least 2 frames and a stride below its length, so that consecutive windows share frames to be aligned.`);
    }
    const output = depthOutputSpecFor(spec, options.depth.model.outputKind);
    return {
      id: spec?.id ?? opened.path, kind: output.kind, device: session.device, unit: 'window', windowFrames: frames, windowStride: stride,
      estimate: async (images) => {
        const r = await runVideoDepthModel(session, contract, { frames: images, preprocess: spec?.preprocess, processSizePx: options.depth.preprocess.processSizePx, output }, context);
        return { depths: r.depths, timingsMs: r.timingsMs };
      },
    };
  }
  const estimator = depthEstimatorFor(opened, options.depth, context);
  const asked = options.batchFrames ?? 1;
  if (!(Number.isInteger(asked) && asked >= 1)) throw new InputError(`the batch must be a positive whole number of frames, got ${asked}.`);
  let batch = asked;
  if (batch > 1 && estimator.batch !== 'dynamic') {
    context.log?.warn(`${estimator.modelId} declares a batch of 1 (its ONNX input or output shape), so --batch ${batch} cannot apply; running frame by frame.`);
    batch = 1;
  }
  return {
    id: estimator.modelId, kind: estimator.outputKind, device: estimator.device, unit: 'frame', windowFrames: batch, windowStride: batch,
    estimate: async (images) => {
      const intrinsics = intrinsicsFor(images[0]!, options.depth.camera).intrinsics;
      if (images.length === 1) {
        const e = await estimator.estimate(images[0]!, intrinsics, context);
        return { depths: [e.depth], timingsMs: e.timingsMs };
      }
      const r = await estimator.estimateBatch(images, intrinsics, context);
      return { depths: r.depths, timingsMs: r.timingsMs };
    },
  };
}

export async function runVideoJob(
  input: string, options: VideoJobOptions, backend: InferenceBackend, locations: ModelLocations, context: RunContext = {},
): Promise<VideoJobSummary> {
  const started = performance.now();
  const { dir } = options.output;
  const framesDir = path.join(dir, 'frames');
  await ensureWritableDir(framesDir);
  const model = await openVideoOrImageModel(backend, options, locations, context);
  const { frames, fps, source, expectedFrames } = await openFrames(input, options, context);
  const aligner = createTemporalAligner({ unit: model.unit });
  let frameMatcher: FrameMatcher | undefined;
  if ((options.alignment?.matches ?? 'none') === 'xfeat') {
    if (model.unit === 'window') {
      context.log?.warn('--align-matches applies to per-frame image models; a video model\'s windows are aligned on the frames they share. Ignored.');
    } else {
      frameMatcher = await openFrameMatcher(backend, {
        ...DEFAULT_FRAME_MATCH_OPTIONS,
        ...(options.alignment?.featureModel !== undefined ? { modelIdOrPath: options.alignment.featureModel } : {}),
        allowDownload: options.depth.model.allowDownload,
        ...(options.depth.runtime.intraOpThreads !== undefined ? { intraOpThreads: options.depth.runtime.intraOpThreads } : {}),
      }, locations, context);
    }
  }
  // frames.jsonl is appended to as frames finish (under a temporary name, renamed at the end), not held in memory.
  const metadata = path.join(dir, 'frames.jsonl');
  const metadataTemp = path.join(dir, `.frames.jsonl.${process.pid}.tmp`);
  const metadataFile = await open(metadataTemp, 'w');
  const sourceImages = new Map<number, Image<Uint8Array>>();
  const timings = new Map<number, VideoFrameRecord['timingsMs']>();
  let encoder: VideoEncoder | undefined;
  let colorRange: { low: number; high: number } | null = null;
  let size: { width: number; height: number } | undefined;
  let count = 0;
  let firstRunDone: { at: number; frames: number } | undefined;

  const emit = async (aligned: AlignedFrame): Promise<void> => {
    const { index, depth } = aligned;
    const stem = path.join(framesDir, String(index).padStart(6, '0'));
    const files: Partial<Record<VideoFrameFormat, string>> = {};
    if (colorRange === null) {
      const first = depthColorCodes(depth, { colormap: options.output.colormap });
      if (first.low !== null && first.high !== null) colorRange = { low: first.low, high: first.high };
    }
    const colorOptions = { colormap: options.output.colormap, ...(colorRange !== null ? { range: { min: colorRange.low, max: colorRange.high } } : {}) };
    // One colouring per frame serves both the colour PNG and the video.
    const wantsColor = options.output.frameFormats.includes('color') || encoder !== undefined;
    const coded = wantsColor ? depthColorCodes(depth, colorOptions) : undefined;
    for (const format of options.output.frameFormats) {
      const file = `${stem}${OUTPUT_SUFFIX[format]}`;
      const bytes = format === 'png16' ? (await depthPng16Format.encode(depth)).bytes
        : format === 'npy' ? (await npyFormat.encode(depth)).bytes
          : await encodeColorCodesPng(coded!, depth.data);
      await writeFileAtomic(file, bytes);
      files[format] = path.relative(dir, file);
    }
    const image = sourceImages.get(index)!;
    sourceImages.delete(index);
    if (encoder !== undefined) {
      const rgb = colorCodesToRgb(coded!, depth.data).data;
      await encoder.write(options.output.video === 'side-by-side' ? sideBySide(image.data, rgb, depth.width, depth.height) : rgb);
    }
    const record: VideoFrameRecord = { index, timeS: index / fps, files, alignment: aligned.fit, timingsMs: timings.get(index)! };
    timings.delete(index);
    await metadataFile.write(`${JSON.stringify(record)}\n`);
  };

  // Frames waiting for their window (video model) or their turn (image model), oldest first.
  let pending: SourceFrame[] = [];
  let lastWindow: FrameWindow | undefined;
  const runWindow = async (window: FrameWindow): Promise<void> => {
    const windowFrames = pending.filter((f) => f.index >= window.start && f.index < window.end);
    const result = await model.estimate(windowFrames.map((f) => f.image));
    firstRunDone ??= { at: performance.now(), frames: window.end };
    // A run's times are shared by its frames (a video model's window, an image model's batch).
    const n = windowFrames.length;
    const perFrame = { inference: result.timingsMs.inference / n, preprocess: result.timingsMs.preprocess / n, postprocess: result.timingsMs.postprocess / n };
    for (const f of windowFrames) if (!timings.has(f.index)) timings.set(f.index, perFrame);
    // Image model only: every frame of the batch is new, each matched with the one before it.
    let correspondences: (FrameCorrespondences | undefined)[] | undefined;
    if (frameMatcher !== undefined) {
      correspondences = [];
      for (const f of windowFrames) {
        const r = await frameMatcher.next(f.image, context);
        correspondences.push(r.correspondences);
        timings.set(f.index, { ...timings.get(f.index)!, matching: r.ms });
      }
    }
    for (const aligned of aligner.push(window, result.depths, correspondences)) await emit(aligned);
    lastWindow = window;
    // A video model keeps its last full window: the final window may be moved back over it. An image model's
    // batches do not overlap.
    pending = model.unit === 'window' ? pending.slice(-model.windowFrames) : [];
  };

  try {
    for await (const frame of frames) {
      throwIfAborted(context.signal);
      const { image, index } = frame;
      if (image.channels !== 3) throw new InputError(`frame ${index} has ${image.channels} channels; frames must be RGB.`);
      if (size === undefined) {
        size = { width: image.width, height: image.height };
        if (options.output.video !== 'none') {
          encoder = createVideoEncoder(path.join(dir, 'depth.mp4'), {
            width: options.output.video === 'side-by-side' ? 2 * image.width : image.width, height: image.height, fps,
            ...(options.sampling.ffmpegPath !== undefined ? { ffmpegPath: options.sampling.ffmpegPath } : {}),
          });
        }
      } else if (image.width !== size.width || image.height !== size.height) {
        throw new InputError(`frame ${index} is ${image.width}x${image.height} but the first frame is ${size.width}x${size.height}; every frame must have one size.`, { file: input });
      }
      sourceImages.set(index, image);
      pending.push(frame);
      count++;
      // Windows as planWindows lays them out: T frames every S, the last one moved back to the end (below).
      const nextStart = lastWindow === undefined ? 0 : lastWindow.start + model.windowStride;
      if (index + 1 === nextStart + model.windowFrames) {
        await runWindow({ index: lastWindow === undefined ? 0 : lastWindow.index + 1, start: nextStart, end: index + 1 });
      }
      // The total is the container's estimate; never below what is already done.
      context.onProgress?.({ stage: 'video', done: count, unit: 'frames', item: input, ...(expectedFrames !== undefined ? { total: Math.max(expectedFrames, count) } : {}) });
    }
    if (count > 0 && (lastWindow === undefined || lastWindow.end < count)) {
      // A video model's last window is moved back to be full; an image model's last batch is just shorter.
      const start = model.unit === 'frame' ? lastWindow?.end ?? 0 : Math.max(0, count - model.windowFrames);
      await runWindow({ index: lastWindow === undefined ? 0 : lastWindow.index + 1, start, end: count });
    }
    for (const aligned of aligner.finish()) await emit(aligned);
    await metadataFile.close();
    await rename(metadataTemp, metadata);
    const video = encoder !== undefined ? path.join(dir, 'depth.mp4') : null;
    if (encoder !== undefined) await encoder.finish();
    const ended = performance.now();
    const totalMs = ended - started;
    const steadyFrames = firstRunDone !== undefined ? count - firstRunDone.frames : 0;
    return {
      input, source, numFrames: count, fps, width: size!.width, height: size!.height,
      model: { id: model.id, kind: model.kind, device: model.device, framesPerRun: model.windowFrames },
      alignment: {
        unit: model.unit,
        matches: frameMatcher !== undefined ? 'xfeat' : 'none',
        space: model.kind === 'disparity' ? 'disparity, scale and shift' : model.kind === 'relativeDepth' ? 'depth, scale' : 'none (metric)',
        window: model.unit === 'window' ? { frames: model.windowFrames, stride: model.windowStride } : null,
        colorRange,
      },
      outputs: { dir, frames: framesDir, metadata, video },
      totalMs, framesPerSecond: count / (totalMs / 1000),
      steadyMsPerFrame: steadyFrames > 0 ? (ended - firstRunDone!.at) / steadyFrames : null,
    };
  } catch (error) {
    await encoder?.abort();
    await metadataFile.close().catch(() => {});
    await rm(metadataTemp, { force: true });
    throw error;
  }
}

/** The input frame and its depth colouring next to each other: width 2W. */
function sideBySide(left: Uint8Array, right: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * 2 * height * 3);
  const row = width * 3;
  for (let y = 0; y < height; y++) {
    out.set(left.subarray(y * row, (y + 1) * row), y * 2 * row);
    out.set(right.subarray(y * row, (y + 1) * row), y * 2 * row + row);
  }
  return out;
}
