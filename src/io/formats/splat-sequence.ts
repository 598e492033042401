/**
 * splat-sequence: a 4D Gaussian sequence as a folder a browser viewer can stream: one splat file per frame
 * (`frame_000000.ply` or `.spz`) plus `manifest.json`:
 *
 *   { "format": "anyview.splat-sequence", "version": 1, "fps": 24, "frameFormat": "spz",
 *     "coordinates": { "axes": "RDF", ... }, "frames": [{ "index": 0, "time_s": 0, "file": "frame_000000.spz", "count": 65536 }, ...] }
 *
 * Coordinates: the sets are OpenCV RDF (x right, y down, z forward); each frame file stores its format's axes
 * (PLY: RDF as-is, SPZ: RUB) and its reader converts, as `coordinates` records.
 *
 * Writing streams: `append` writes one frame file (atomically) and keeps only its manifest entry, so no frame is
 * held after its call; `finalize` writes the manifest atomically last, so a folder without a manifest is an
 * unfinished sequence. Reading lists frames from the manifest and decodes one frame on request.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FormatError, InputError } from '../../core/errors.ts';
import type { GaussianSet } from '../../core/gaussians.ts';
import { ensureWritableDir, writeFileAtomic } from '../atomic-write.ts';
import { getSplatFormat, type SplatAxes } from './splat-formats.ts';

export const SPLAT_SEQUENCE_FORMAT = 'anyview.splat-sequence';
export const SPLAT_SEQUENCE_MANIFEST = 'manifest.json';

/** The per-frame file formats a sequence may use (the compact ones a viewer streams). */
export type SequenceFrameFormat = 'ply' | 'spz';

export interface SequenceFrameEntry {
  readonly index: number;
  /** Seconds from the start of the sequence. */
  readonly time_s: number;
  /** File name inside the sequence folder. */
  readonly file: string;
  /** Gaussians in the frame. */
  readonly count: number;
}

export interface SplatSequenceManifest {
  readonly format: typeof SPLAT_SEQUENCE_FORMAT;
  readonly version: 1;
  readonly fps: number;
  readonly frameFormat: SequenceFrameFormat;
  readonly coordinates: { readonly axes: 'RDF'; readonly description: string; readonly fileAxes: SplatAxes };
  readonly frames: readonly SequenceFrameEntry[];
}

export interface SplatSequenceWriterOptions {
  readonly fps: number;
  /** Default 'spz' (about 17 bytes per Gaussian against 68 for PLY). */
  readonly frameFormat?: SequenceFrameFormat;
}

const frameFileName = (index: number, format: SequenceFrameFormat): string => `frame_${String(index).padStart(6, '0')}.${format}`;

/** Streams frames into a sequence folder; call `finalize` once after the last `append`. */
export class SplatSequenceWriter {
  private readonly frames: SequenceFrameEntry[] = [];
  private finalized = false;

  private constructor(readonly dir: string, readonly fps: number, readonly frameFormat: SequenceFrameFormat) {}

  /** Prepares `dir` (created if missing). InputError for a bad fps. */
  static async create(dir: string, options: SplatSequenceWriterOptions): Promise<SplatSequenceWriter> {
    if (!(Number.isFinite(options.fps) && options.fps > 0)) throw new InputError(`sequence fps must be a positive number, got ${options.fps}.`);
    await ensureWritableDir(dir);
    return new SplatSequenceWriter(dir, options.fps, options.frameFormat ?? 'spz');
  }

  get frameCount(): number {
    return this.frames.length;
  }

  /** Encodes and writes the next frame; `timeSec` defaults to index / fps and must increase. Returns its entry. */
  async append(set: GaussianSet, timeSec?: number): Promise<SequenceFrameEntry> {
    if (this.finalized) throw new InputError('cannot append to a finalised splat sequence.');
    const index = this.frames.length;
    const time = timeSec ?? index / this.fps;
    const previous = this.frames.at(-1);
    if (!Number.isFinite(time) || (previous !== undefined && time <= previous.time_s)) {
      throw new InputError(`frame ${index} time ${time} s must be finite and after the previous frame's (${previous?.time_s} s).`);
    }
    const file = frameFileName(index, this.frameFormat);
    await writeFileAtomic(path.join(this.dir, file), await getSplatFormat(this.frameFormat).encode(set));
    const entry: SequenceFrameEntry = { index, time_s: time, file, count: set.count };
    this.frames.push(entry);
    return entry;
  }

  /** Writes manifest.json atomically; the sequence is complete (and readable) from here on. */
  async finalize(): Promise<SplatSequenceManifest> {
    if (this.finalized) throw new InputError('splat sequence already finalised.');
    const manifest: SplatSequenceManifest = {
      format: SPLAT_SEQUENCE_FORMAT,
      version: 1,
      fps: this.fps,
      frameFormat: this.frameFormat,
      coordinates: {
        axes: 'RDF',
        description: 'OpenCV: x right, y down, z forward; each frame file stores its format\'s axes (fileAxes) and readers convert',
        fileAxes: getSplatFormat(this.frameFormat).axes,
      },
      frames: this.frames,
    };
    await writeFileAtomic(path.join(this.dir, SPLAT_SEQUENCE_MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
    this.finalized = true;
    return manifest;
  }
}

export interface SplatSequence {
  readonly dir: string;
  readonly manifest: SplatSequenceManifest;
  /** Reads and decodes frame `index` (0-based); FormatError if the file does not match its manifest entry. */
  loadFrame(index: number): Promise<GaussianSet>;
}

/** Opens a finalised sequence folder: reads and checks manifest.json; frames are loaded on request. */
export async function openSplatSequence(dir: string): Promise<SplatSequence> {
  const manifestPath = path.join(dir, SPLAT_SEQUENCE_MANIFEST);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw new InputError(`no ${SPLAT_SEQUENCE_MANIFEST} in the sequence folder (unfinished or not a splat sequence).`, { file: manifestPath, cause: error });
  }
  const manifest = parseManifest(text, manifestPath);
  return {
    dir,
    manifest,
    async loadFrame(index: number): Promise<GaussianSet> {
      const entry = manifest.frames[index];
      if (entry === undefined) throw new InputError(`frame ${index} is outside 0..${manifest.frames.length - 1}.`, { file: manifestPath });
      const file = path.join(dir, entry.file);
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (error) {
        throw new FormatError(`frame ${index} listed in the manifest is missing.`, { file, cause: error });
      }
      const set = await getSplatFormat(manifest.frameFormat).decode(bytes, file);
      if (set.count !== entry.count) throw new FormatError(`frame ${index} holds ${set.count} Gaussians, the manifest says ${entry.count}.`, { file });
      return set;
    },
  };
}

function parseManifest(text: string, file: string): SplatSequenceManifest {
  const fail = (problem: string): FormatError => new FormatError(`invalid splat sequence manifest: ${problem}.`, { file });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FormatError(`invalid splat sequence manifest: not JSON (${error instanceof Error ? error.message : String(error)}).`, { file, cause: error });
  }
  const m = json as Partial<Record<keyof SplatSequenceManifest, unknown>> | null;
  if (typeof m !== 'object' || m === null || m.format !== SPLAT_SEQUENCE_FORMAT) throw fail(`"format" must be "${SPLAT_SEQUENCE_FORMAT}"`);
  if (m.version !== 1) throw fail(`unsupported version ${JSON.stringify(m.version)} (this reader knows 1)`);
  if (typeof m.fps !== 'number' || !(m.fps > 0)) throw fail('"fps" must be a positive number');
  if (m.frameFormat !== 'ply' && m.frameFormat !== 'spz') throw fail('"frameFormat" must be "ply" or "spz"');
  if (!Array.isArray(m.frames)) throw fail('"frames" must be an array');
  m.frames.forEach((f: unknown, i: number) => {
    const e = f as Partial<Record<keyof SequenceFrameEntry, unknown>> | null;
    const ok = typeof e === 'object' && e !== null && e.index === i && typeof e.time_s === 'number' && Number.isFinite(e.time_s) &&
      typeof e.file === 'string' && path.basename(e.file) === e.file && e.file !== '..' && Number.isInteger(e.count) && (e.count as number) >= 0;
    // The file name must stay inside the folder (a manifest is untrusted input).
    if (!ok) throw fail(`frames[${i}] must be {index: ${i}, time_s, file (a name in the folder), count}`);
  });
  return json as SplatSequenceManifest;
}
