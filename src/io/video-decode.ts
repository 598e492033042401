/**
 * Video frames through Debian's ffmpeg: ffprobe for the stream's size, rate and length, then ffmpeg decoding to
 * raw RGB24 on a pipe, one frame at a time (no frame is kept after it is handed on, so memory does not grow
 * with the video's length). Display rotation is applied by ffmpeg, and the reported size follows it.
 * Frame sampling (`fps`), a start and end time, a frame cap and a longest-side cap are ffmpeg options.
 */
import { spawn, spawnSync } from 'node:child_process';
import { BackendError, FormatError, InputError } from '../core/errors.ts';
import { createImage, type Image } from '../core/image.ts';
import { sizeWithinLongSide } from './decode-image.ts';

export interface VideoInfo {
  readonly width: number;
  readonly height: number;
  /** Average frames per second of the stream. */
  readonly fps: number;
  /** Frame count from the container, when it says. */
  readonly numFrames: number | undefined;
  readonly durationS: number | undefined;
  readonly codec: string;
  /**
   * The stream's base rate (r_frame_rate) differs from its average: a variable frame rate. Such a video is
   * decoded at the base rate (gaps filled by repeating frames, none dropped) unless `fps` is given, so that
   * frame k is always at k / rate seconds.
   */
  readonly variableFrameRate: boolean;
  /** The rate frames come out at without an `fps` option: the base rate for a variable frame rate, else `fps`. */
  readonly decodeFps: number;
}

export interface VideoDecodeOptions {
  /** Resample to this many frames per second (ffmpeg's fps filter); default: every frame. */
  readonly fps?: number;
  readonly startS?: number;
  readonly endS?: number;
  readonly maxFrames?: number;
  /** Scale down (area filter, aspect kept) so that the longer side is at most this. */
  readonly maxSidePx?: number;
  /** The ffmpeg and ffprobe executables (default: from PATH). */
  readonly ffmpegPath?: string;
  readonly ffprobePath?: string;
  readonly signal?: AbortSignal;
}

export interface VideoFrame {
  /** 0-based index among the decoded frames. */
  readonly index: number;
  readonly image: Image<Uint8Array>;
}

/** The error for a missing ffmpeg or ffprobe: says how to install it. */
export function missingToolError(tool: string): BackendError {
  return new BackendError(`${tool} was not found. Install ffmpeg (Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg).`);
}

function runTool(tool: string, args: readonly string[]): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.error !== undefined) {
    if ((result.error as NodeJS.ErrnoException).code === 'ENOENT') throw missingToolError(tool);
    throw new InputError(`${tool} failed to start: ${result.error.message}`);
  }
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

/** Size, rate and length of the first video stream. FormatError naming the file when it is not a readable video. */
export function probeVideo(file: string, options: Pick<VideoDecodeOptions, 'ffprobePath'> = {}): VideoInfo {
  const { stdout, stderr, status } = runTool(options.ffprobePath ?? 'ffprobe', [
    '-v', 'error', '-select_streams', 'v:0',
    '-show_entries', 'stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,duration,codec_name:stream_side_data=rotation:stream_tags=rotate',
    '-show_entries', 'format=duration', '-of', 'json', file,
  ]);
  if (status !== 0) throw new FormatError(`not a readable video (${lastLine(stderr)}).`, { file });
  const parsed = JSON.parse(stdout) as { streams?: ProbedStream[]; format?: { duration?: string } };
  const stream = parsed.streams?.[0];
  if (stream === undefined || !(stream.width! > 0) || !(stream.height! > 0)) throw new FormatError('has no video stream.', { file });
  const rotation = Math.abs(Number(stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? stream.tags?.rotate ?? 0)) % 180;
  const [width, height] = rotation === 90 ? [stream.height!, stream.width!] : [stream.width!, stream.height!];
  const average = rate(stream.avg_frame_rate);
  const base = rate(stream.r_frame_rate);
  const fps = average ?? base;
  if (fps === undefined) throw new FormatError('has no usable frame rate.', { file });
  const variableFrameRate = average !== undefined && base !== undefined && Math.abs(average - base) > 1e-3 * base;
  const numFrames = stream.nb_frames !== undefined && Number(stream.nb_frames) > 0 ? Number(stream.nb_frames) : undefined;
  const duration = Number(stream.duration ?? parsed.format?.duration);
  return {
    width, height, fps, numFrames, durationS: Number.isFinite(duration) ? duration : undefined, codec: stream.codec_name ?? 'unknown',
    variableFrameRate, decodeFps: variableFrameRate ? base! : fps,
  };
}

interface ProbedStream {
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  codec_name?: string;
  side_data_list?: { rotation?: number }[];
  tags?: { rotate?: string };
}

function rate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const [num, den] = text.split('/').map(Number) as [number, number | undefined];
  const value = den === undefined ? num : num / den;
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() || 'no details';
}

/**
 * Decodes frames one by one. Throws FormatError (naming the file) for an unreadable or truncated video,
 * InputError when no frame falls in the requested range, and BackendError (how to install it) without ffmpeg.
 */
export async function* decodeVideoFrames(file: string, options: VideoDecodeOptions = {}): AsyncGenerator<VideoFrame> {
  const info = probeVideo(file, options);
  const { width, height } = sizeWithinLongSide(info.width, info.height, options.maxSidePx);
  const filters: string[] = [];
  if (options.fps !== undefined) {
    if (!(options.fps > 0)) throw new InputError(`--fps must be positive, got ${options.fps}.`);
    filters.push(`fps=${options.fps}`);
  } else if (info.variableFrameRate) {
    filters.push(`fps=${info.decodeFps}`);
  }
  if (width !== info.width || height !== info.height) filters.push(`scale=${width}:${height}:flags=area`);
  const args = ['-v', 'error', '-nostdin'];
  if (options.startS !== undefined) args.push('-ss', String(options.startS));
  if (options.endS !== undefined) args.push('-to', String(options.endS));
  args.push('-i', file);
  if (filters.length > 0) args.push('-vf', filters.join(','));
  if (options.maxFrames !== undefined) args.push('-frames:v', String(options.maxFrames));
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');

  const tool = options.ffmpegPath ?? 'ffmpeg';
  const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.signal !== undefined ? { signal: options.signal } : {}) });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => { if (stderr.length < 65536) stderr += chunk; });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? missingToolError(tool) : error));
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => {}); // awaited below

  const frameBytes = width * height * 3;
  let frame = Buffer.allocUnsafe(frameBytes);
  let filled = 0;
  let index = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - offset);
        chunk.copy(frame, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === frameBytes) {
          yield { index: index++, image: createImage({ width, height, channels: 3, colorSpace: 'srgb', data: new Uint8Array(frame.buffer, frame.byteOffset, frameBytes) }) };
          frame = Buffer.allocUnsafe(frameBytes);
          filled = 0;
        }
      }
    }
    const code = await exited;
    if (code !== 0) throw new FormatError(`ffmpeg could not decode it after ${index} frame(s) (${lastLine(stderr)}).`, { file });
    if (filled !== 0) throw new FormatError(`the video ends inside frame ${index} (truncated).`, { file });
    if (index === 0) throw new InputError('the video has no frames in the requested range.', { file });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** Whether ffmpeg and ffprobe can be run. */
export function ffmpegAvailable(options: Pick<VideoDecodeOptions, 'ffmpegPath' | 'ffprobePath'> = {}): boolean {
  for (const tool of [options.ffmpegPath ?? 'ffmpeg', options.ffprobePath ?? 'ffprobe']) {
    const r = spawnSync(tool, ['-version'], { encoding: 'utf8' });
    if (r.error !== undefined || r.status !== 0) return false;
  }
  return true;
}
