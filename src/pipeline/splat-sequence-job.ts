/**
 * `anyview splat VIDEO_OUT`: the per-frame depth of `anyview video` as a 4D Gaussian sequence folder
 * (io/formats/splat-sequence.ts), with `inBetween` interpolated sets between each pair of frames (L4GM's 2 triple
 * the frame rate). Streamed: frame k's set is built, the in-betweens from frame k-1's set are written, then frame
 * k's own; at most two frames' sets are held, whatever the video's length.
 *
 * Camera: `anyview video` estimates no poses, so every frame uses one fixed camera (identity worldFromCamera) with
 * the given intrinsics or the assumed field of view: Gaussians live in that camera's frame and camera motion shows
 * up as scene motion. Correspondences between frames are pixel-aligned identity (the Gaussian of pixel p matches
 * the next frame's Gaussian of pixel p; correspondPixels): exact for a static camera, an approximation under motion
 * (optical flow would plug in through correspondPixels' `flow`).
 * Colours come from the video or frame folder that was given to `anyview video` (`frames`); without it the sets
 * are grey. Timestamps are frames.jsonl's `timeS`; in-betweens sit at evenly spaced fractions between them.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createCamera, type Intrinsics } from '../core/camera.ts';
import type { RunContext } from '../core/context.ts';
import { FormatError, InputError, throwIfAborted } from '../core/errors.ts';
import type { GaussianSet } from '../core/gaussians.ts';
import { createImage, type Image } from '../core/image.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { decodeImage } from '../io/decode-image.ts';
import { SplatSequenceWriter, SPLAT_SEQUENCE_MANIFEST, type SequenceFrameFormat } from '../io/formats/splat-sequence.ts';
import { classifyInput, listImagesInFolder } from '../io/inputs.ts';
import { decodeVideoFrames } from '../io/video-decode.ts';
import { gaussiansFromDepth } from '../splat/from-depth.ts';
import { correspondPixels, inBetweenFractions, interpolateGaussians } from '../splat/interpolate.ts';
import { queryByClass } from '../splat/semantics.ts';
import { extensionFormat, intrinsicsForDepth, type IntrinsicsSource, type SemanticsStep } from './splat-build.ts';
import { readDepthInput, zDepthOf } from './splat-depth-input.ts';
import { DEFAULT_SPLAT_OPTIONS, type SplatJobOptions } from './splat-options.ts';

export interface SplatSequenceSummary {
  readonly dir: string;
  readonly manifest: string;
  readonly metadata: string;
  readonly frameFormat: SequenceFrameFormat;
  /** Frames of the video (sets built from depth). */
  readonly keyframes: number;
  readonly inBetween: number;
  /** Sets written: keyframes + inBetween * (keyframes - 1). */
  readonly frames: number;
  readonly fps: number;
  readonly colors: 'frames' | 'grey';
  readonly depthConversion: string;
  readonly intrinsics: Intrinsics & { readonly source: IntrinsicsSource };
  readonly gaussians: { readonly min: number; readonly max: number };
}

/** One line of frames.jsonl as far as this job needs it. */
interface FrameLine {
  readonly index: number;
  readonly timeS: number;
  readonly depthFile: string;
}

export const SEQUENCE_METADATA = 'splat-job.json';

function parseFramesJsonl(text: string, file: string, dir: string): FrameLine[] {
  const lines: FrameLine[] = [];
  for (const [n, raw] of text.split('\n').entries()) {
    if (raw.trim() === '') continue;
    let record: { index?: unknown; timeS?: unknown; files?: { png16?: unknown; npy?: unknown } };
    try {
      record = JSON.parse(raw);
    } catch (error) {
      throw new FormatError(`line ${n + 1} is not valid JSON.`, { file, cause: error });
    }
    const { index, timeS, files } = record;
    if (!(Number.isInteger(index) && Number.isFinite(timeS))) throw new FormatError(`line ${n + 1} needs an integer "index" and a number "timeS".`, { file });
    const png16 = files?.png16;
    if (typeof png16 !== 'string') {
      throw new FormatError(`frame ${String(index)} has no png16 depth file (a .npy alone does not record its kind); run \`anyview video --format png16\`.`, { file });
    }
    const previous = lines.at(-1);
    if (previous !== undefined && !((index as number) > previous.index && (timeS as number) > previous.timeS)) {
      throw new FormatError(`line ${n + 1}: frames must be in increasing index and time order.`, { file });
    }
    lines.push({ index: index as number, timeS: timeS as number, depthFile: path.join(dir, png16) });
  }
  if (lines.length === 0) throw new InputError('lists no frames.', { file });
  return lines;
}

/** Colour frames by index from the source video or folder, decoded one at a time at the depth's size. */
async function* colourFrames(source: string, maxSidePx: number, fps: number, signal: AbortSignal | undefined): AsyncGenerator<{ index: number; image: Image<Uint8Array> }> {
  const kind = await classifyInput(source);
  if (kind === 'video') {
    yield* decodeVideoFrames(source, { maxSidePx, fps, ...(signal !== undefined ? { signal } : {}) });
    return;
  }
  if (kind !== 'imageFolder') throw new InputError('--frames must be the video or the folder of frames given to `anyview video`.', { file: source });
  for (const [index, file] of (await listImagesInFolder(source)).entries()) yield { index, image: await decodeImage({ path: file }, { maxSidePx }) };
}

export async function runSplatSequenceJob(
  videoDir: string, options: SplatJobOptions, semantics: SemanticsStep | undefined, context: RunContext,
): Promise<SplatSequenceSummary> {
  const outDir = options.output.path;
  if (extensionFormat(outDir) !== undefined) throw new InputError(`a video folder gives a 4D sequence: --out must be a folder, not ${outDir}.`);
  const frameFormat = options.output.format ?? DEFAULT_SPLAT_OPTIONS.sequenceFormat;
  if (frameFormat !== 'ply' && frameFormat !== 'spz') throw new InputError(`a sequence's frames are ply or spz, not ${frameFormat}.`);
  if (semantics !== undefined && options.video.frames === undefined) throw new InputError('--semantics on a video folder needs --frames (the colour frames to segment).');
  const inBetween = options.video.inBetween;
  const fractions = inBetweenFractions(inBetween);
  const jsonl = path.join(videoDir, 'frames.jsonl');
  const lines = parseFramesJsonl(await readFile(jsonl, 'utf8'), jsonl, videoDir);
  const first = lines[0]!, last = lines.at(-1)!;
  const sourceFps = lines.length > 1 ? (lines.length - 1) / (last.timeS - first.timeS) : 30;
  const fps = sourceFps * (inBetween + 1);

  const writer = await SplatSequenceWriter.create(outDir, { fps, frameFormat });
  const written: string[] = [];
  let colours: AsyncGenerator<{ index: number; image: Image<Uint8Array> }> | undefined;
  let previous: { set: GaussianSet; pixels: Int32Array; timeS: number } | undefined;
  let conversion = '';
  let intrinsics: SplatSequenceSummary['intrinsics'] | undefined;
  let minCount = Infinity, maxCount = 0;
  const append = async (set: GaussianSet, timeS: number): Promise<void> => {
    const out = options.semantics?.query !== undefined ? queryByClass(set, options.semantics.query) : set;
    const entry = await writer.append(out, timeS);
    written.push(path.join(outDir, entry.file));
    minCount = Math.min(minCount, out.count); maxCount = Math.max(maxCount, out.count);
  };
  try {
    for (const [k, line] of lines.entries()) {
      throwIfAborted(context.signal);
      const loaded = await readDepthInput(line.depthFile);
      const z = zDepthOf(loaded, options.depth.disparityShift);
      const { width, height } = z.depth;
      conversion = z.conversion;
      intrinsics ??= intrinsicsForDepth(width, height, options.camera, undefined);
      if (intrinsics.width !== width || intrinsics.height !== height) {
        throw new InputError(`frame ${line.index} is ${width}x${height} but the first frame is ${intrinsics.width}x${intrinsics.height}.`, { file: line.depthFile });
      }
      let image: Image<Uint8Array>;
      if (options.video.frames !== undefined) {
        colours ??= colourFrames(options.video.frames, Math.max(width, height), sourceFps, context.signal);
        let next = await colours.next();
        while (!next.done && next.value.index < line.index) next = await colours.next();
        if (next.done) throw new InputError(`has no frame ${line.index} (frames.jsonl lists ${lines.length}).`, { file: options.video.frames });
        image = next.value.image;
        if (image.width !== width || image.height !== height) {
          throw new InputError(`frame ${line.index} decodes to ${image.width}x${image.height} but its depth is ${width}x${height}; pass the same input (and --max-side) as to \`anyview video\`.`, { file: options.video.frames });
        }
      } else {
        image = createImage({ width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(128) });
      }
      const { source: _source, ...k0 } = intrinsics;
      let built;
      try {
        built = gaussiansFromDepth(z.depth, createCamera(k0), image, {
          stride: options.build.stride, ...(options.build.maxGaussians !== undefined ? { maxGaussians: options.build.maxGaussians } : {}),
        });
      } catch (error) {
        if (error instanceof InputError) throw new InputError(error.message, { file: line.depthFile, cause: error });
        throw error;
      }
      const set = semantics !== undefined ? await semantics.label(built.gaussians, built.pixelIndices, image, context) : built.gaussians;
      if (previous !== undefined) {
        // Pixel-aligned identity; a set subsampled by maxGaussians keeps its source pixels, so this stays exact.
        const match = correspondPixels(previous.pixels, built.pixelIndices, { stride: options.build.stride });
        for (const s of fractions) await append(interpolateGaussians(previous.set, set, match, s), previous.timeS + s * (line.timeS - previous.timeS));
      }
      await append(set, line.timeS);
      previous = { set, pixels: built.pixelIndices, timeS: line.timeS }; // frame k-1's set is released here
      context.onProgress?.({ stage: 'splat', done: k + 1, total: lines.length, unit: 'frames', item: line.depthFile });
    }
    const metadataFile = path.join(outDir, SEQUENCE_METADATA);
    const summary: SplatSequenceSummary = {
      dir: outDir, manifest: path.join(outDir, SPLAT_SEQUENCE_MANIFEST), metadata: metadataFile, frameFormat,
      keyframes: lines.length, inBetween, frames: written.length, fps, colors: options.video.frames !== undefined ? 'frames' : 'grey',
      depthConversion: conversion, intrinsics: intrinsics!, gaussians: { min: minCount, max: maxCount },
    };
    await writeFileAtomic(metadataFile, `${JSON.stringify({
      format: 'anyview-splat-sequence-metadata', version: 1, source: videoDir,
      camera: 'fixed: identity worldFromCamera for every frame (anyview video estimates no poses)',
      correspondence: 'pixel-aligned identity (correspondPixels)', ...summary,
    }, null, 2)}\n`);
    written.push(metadataFile);
    await writer.finalize(); // the manifest, last: a folder without it is unfinished
    return summary;
  } catch (error) {
    await colours?.return(undefined);
    // Whole frame files were written atomically; a failed job removes them so no partial sequence remains.
    await Promise.all(written.map((f) => rm(f, { force: true })));
    throw error;
  }
}
