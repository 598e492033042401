/**
 * The output format table. A format is one file `io/formats/<fmt>.ts` exporting a descriptor, plus one line in
 * OUTPUT_FORMATS below; the CLI's `--format` choices, the server's MIME types and the docs all come from here.
 */
import { InputError } from '../../core/errors.ts';
import type { Depth } from '../../core/depth.ts';
import type { PointCloud } from '../../core/points.ts';
import { depthColorFormat } from './depth-color.ts';
import { depthPng16Format } from './depth-png16.ts';
import { npyFormat } from './npy.ts';
import { plyFormat } from './ply.ts';

/** The result of encoding: the file's bytes and, for formats that need one to be read back, a JSON sidecar. */
export interface EncodedFile {
  readonly bytes: Uint8Array;
  /** JSON to write at sidecarPath(file). Absent when the file is self-describing. */
  readonly sidecar?: object;
}

interface FormatBase<TId extends string> {
  readonly id: TId;
  /** The file extension, with its dot: '.png'. */
  readonly extension: string;
  /** Suggested suffix for `<input stem><suffix>`; unique across the table so formats can share an output folder. */
  readonly defaultSuffix: string;
  readonly mimeType: string;
  /** One line for `--help` and docs. */
  readonly description: string;
  /** True when the bytes start like this format (magic bytes). */
  sniff(bytes: Uint8Array): boolean;
}

/** A format that stores a depth map (any kind). */
export interface DepthOutputFormat<TId extends string = string, TOptions = never> extends FormatBase<TId> {
  readonly input: 'depth';
  encode(depth: Depth, options?: TOptions): Promise<EncodedFile>;
}

/** A format that stores a point cloud. */
export interface PointCloudOutputFormat<TId extends string = string, TOptions = never> extends FormatBase<TId> {
  readonly input: 'pointCloud';
  encode(cloud: PointCloud, options?: TOptions): Promise<EncodedFile>;
}

/** Every output format, one line each. */
export const OUTPUT_FORMATS = Object.freeze([
  depthPng16Format,
  npyFormat,
  depthColorFormat,
  plyFormat,
] as const);

export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export type OutputFormatId = OutputFormat['id'];
export type DepthFormatId = Extract<OutputFormat, { input: 'depth' }>['id'];
export type PointCloudFormatId = Extract<OutputFormat, { input: 'pointCloud' }>['id'];

export const OUTPUT_FORMAT_IDS: readonly OutputFormatId[] = Object.freeze(OUTPUT_FORMATS.map((f) => f.id));

export function isOutputFormatId(value: string): value is OutputFormatId {
  return (OUTPUT_FORMAT_IDS as readonly string[]).includes(value);
}

/** The descriptor for an id; InputError listing the known ids otherwise. */
export function getOutputFormat<TId extends OutputFormatId>(id: TId): Extract<OutputFormat, { id: TId }>;
export function getOutputFormat(id: string): OutputFormat;
export function getOutputFormat(id: string): OutputFormat {
  const format = OUTPUT_FORMATS.find((f) => f.id === id);
  if (format === undefined) {
    throw new InputError(`Unknown output format "${id}". Use one of: ${OUTPUT_FORMAT_IDS.join(', ')}.`);
  }
  return format;
}

/** Where a format's JSON sidecar goes: the file's path with its extension replaced by '.json'. */
export function sidecarPath(filePath: string): string {
  const slash = Math.max(filePath.lastIndexOf('/'), filePath.lastIndexOf('\\'));
  const dot = filePath.lastIndexOf('.');
  return (dot > slash + 1 ? filePath.slice(0, dot) : filePath) + '.json';
}

export { depthPng16Format, npyFormat, depthColorFormat, plyFormat };
