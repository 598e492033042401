/**
 * Writing a video through Debian's ffmpeg: raw RGB24 frames go in on a pipe and H.264 (yuv420p, the format
 * every player reads) comes out. The file is written under a temporary name in the same folder and renamed on
 * finish(), so a failed or aborted encode leaves nothing behind. Odd sizes are padded by one pixel (yuv420p
 * needs even ones).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { InputError, OutputError } from '../core/errors.ts';
import { missingToolError } from './video-decode.ts';

export interface VideoEncoderOptions {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** x264 constant rate factor: lower is better and larger. Default 18 (visually lossless for depth colourings). */
  readonly crf?: number;
  readonly ffmpegPath?: string;
}

export interface VideoEncoder {
  /** Appends one frame: width * height * 3 bytes, RGB, row-major. */
  write(rgb: Uint8Array): Promise<void>;
  /** Ends the stream, waits for ffmpeg and renames the file into place. Returns the frame count. */
  finish(): Promise<number>;
  /** Stops ffmpeg and removes the partial file. */
  abort(): Promise<void>;
}

export function createVideoEncoder(file: string, options: VideoEncoderOptions): VideoEncoder {
  const { width, height, fps } = options;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new InputError(`video size ${width}x${height} is not valid.`);
  if (!(fps > 0 && Number.isFinite(fps))) throw new InputError(`video frame rate ${fps} is not valid.`);
  const temp = path.join(path.dirname(file), `.${path.basename(file, path.extname(file))}.${randomBytes(6).toString('hex')}.tmp${path.extname(file) || '.mp4'}`);
  const tool = options.ffmpegPath ?? 'ffmpeg';
  const child = spawn(tool, [
    '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
    '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(options.crf ?? 18), '-pix_fmt', 'yuv420p',
    '-movflags', '+faststart', temp,
  ], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => { if (stderr.length < 65536) stderr += chunk; });
  let failure: Error | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (error: NodeJS.ErrnoException) => { failure = error.code === 'ENOENT' ? missingToolError(tool) : error; resolve(null); });
    child.on('close', (code) => resolve(code));
  });
  child.stdin.on('error', () => {}); // a dead ffmpeg surfaces through `exited`
  let frames = 0;
  let ended = false;
  const frameBytes = width * height * 3;

  const fail = async (message: string): Promise<never> => {
    await rm(temp, { force: true });
    throw failure ?? new OutputError(`${message}${stderr.trim() ? ` (${stderr.trim().split('\n').pop()})` : ''}.`, { file });
  };

  return {
    async write(rgb) {
      if (ended) throw new OutputError('the video is already finished.', { file });
      if (rgb.length !== frameBytes) throw new InputError(`a video frame must be ${width}x${height} RGB (${frameBytes} bytes), got ${rgb.length} bytes.`);
      if (failure !== undefined || child.exitCode !== null) await fail('ffmpeg stopped while encoding');
      frames++;
      if (!child.stdin.write(rgb)) {
        await new Promise<void>((resolve) => {
          const done = () => { child.stdin.off('drain', done); child.off('close', done); resolve(); };
          child.stdin.once('drain', done);
          child.once('close', done);
        });
      }
    },
    async finish() {
      if (ended) throw new OutputError('the video is already finished.', { file });
      ended = true;
      child.stdin.end();
      const code = await exited;
      if (code !== 0 || failure !== undefined) await fail('ffmpeg could not encode the video');
      if (frames === 0) await fail('no frames were written');
      try {
        await rename(temp, file);
      } catch (error) {
        await rm(temp, { force: true });
        throw new OutputError(`cannot write file: ${(error as Error).message}.`, { file, cause: error });
      }
      return frames;
    },
    async abort() {
      ended = true;
      child.kill('SIGKILL');
      await exited;
      await rm(temp, { force: true });
    },
  };
}
