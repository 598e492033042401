/**
 * Model resolution: turns a model id or a path into a local .onnx file.
 * Order: an explicit path, then ANYVIEW_MODEL_DIR (`<dir>/<id>/<fileName>`, `<dir>/<fileName>`), then the
 * user cache (`<cache>/models/<id>/<fileName>`), then a download into the cache.
 * resolveModel looks ids up in the depth registry; resolveRegisteredModel serves any DownloadableModel
 * (feature networks use it through src/models/feature-models.ts).
 */
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunContext } from '../core/context.ts';
import { InputError, ModelError, throwIfAborted } from '../core/errors.ts';
import { DownloadFailedError, downloadFile, type DownloadAttempt } from './download.ts';
import type { DepthModelSpec, DownloadableModel, ModelFile, ModelVariant } from './model-spec.ts';
import { DEFAULT_VARIANT, filesForVariant, findModelSpec, getModelSpec } from './registry.ts';

/** The environment variable the entry points read and pass in as `modelDir`. */
export const MODEL_DIR_ENV = 'ANYVIEW_MODEL_DIR';

export interface ResolveOptions {
  readonly variant?: ModelVariant;
  /** ANYVIEW_MODEL_DIR's value, passed in by the entry point (never read from the environment here). */
  readonly modelDir?: string;
  /** Default `~/.cache/anyview`. */
  readonly cacheDir?: string;
  /** False for offline runs: a missing file is then an error with instructions, never a download. */
  readonly allowDownload: boolean;
  readonly fetchImpl?: typeof fetch;
  /** Extra attempts per URL after a broken transfer (download.ts default when absent). */
  readonly retries?: number;
}

export type ModelSource = 'path' | 'modelDir' | 'cache' | 'download';

export interface ResolvedModel<TSpec extends DownloadableModel = DepthModelSpec> {
  readonly path: string;
  /** The registry entry; absent when a path was given. */
  readonly spec?: TSpec;
  /** The registry file that was found or downloaded; absent when a path was given. */
  readonly file?: ModelFile;
  readonly source: ModelSource;
}

export function defaultCacheDir(): string {
  return path.join(os.homedir(), '.cache', 'anyview');
}

/** Where the cache keeps a registry file: `<cache>/models/<id>/<fileName>`. */
export function cachePathFor(cacheDir: string, spec: DownloadableModel, file: ModelFile): string {
  return path.join(cacheDir, 'models', spec.id, file.fileName);
}

/** The two places looked at inside ANYVIEW_MODEL_DIR, preferred first. */
export function modelDirCandidates(modelDir: string, spec: DownloadableModel, file: ModelFile): readonly string[] {
  return [path.join(modelDir, spec.id, file.fileName), path.join(modelDir, file.fileName)];
}

/** True for arguments that can only be paths (a separator, a leading dot or ~, an .onnx extension). */
export function looksLikePath(value: string): boolean {
  return value.includes('/') || value.includes('\\') || value.startsWith('.') || value.startsWith('~')
    || value.toLowerCase().endsWith('.onnx');
}

function isFile(filePath: string): boolean {
  try {
    return statSync(filePath).isFile();
  } catch {
    return false;
  }
}

function isDirectory(filePath: string): boolean {
  try {
    return statSync(filePath).isDirectory();
  } catch {
    return false;
  }
}

/** File names a Transformers.js / Hugging Face model folder uses for each variant (under onnx/ or at the top). */
const FOLDER_FILE_NAMES: Readonly<Record<ModelVariant, readonly string[]>> = {
  fp32: ['model.onnx'],
  fp16: ['model_fp16.onnx'],
  int8: ['model_int8.onnx', 'model_quantized.onnx'],
  q4: ['model_q4.onnx'],
  q4f16: ['model_q4f16.onnx'],
};

/** The ONNX file of a model folder (e.g. a downloaded onnx-community repo) for a variant. */
export function modelFileInFolder(folder: string, variant: ModelVariant): string {
  const tried: string[] = [];
  for (const name of FOLDER_FILE_NAMES[variant]) {
    for (const candidate of [path.join(folder, 'onnx', name), path.join(folder, name)]) {
      if (isFile(candidate)) return candidate;
      tried.push(candidate);
    }
  }
  throw new InputError(`Model folder has no ${variant} ONNX file; looked for ${tried.join(', ')}. Pass the .onnx file itself, or --variant.`, { file: folder });
}

/** `~` and `~/...` -> the home folder; anything else unchanged. */
export function expandHome(value: string): string {
  return value === '~' || value.startsWith('~/') ? path.join(os.homedir(), value.slice(1)) : value;
}

/** Resolves a model id or path to a local file, downloading into the cache when allowed. */
export async function resolveModel(idOrPath: string, options: ResolveOptions, context: RunContext = {}): Promise<ResolvedModel> {
  throwIfAborted(context.signal);
  const trimmed = idOrPath.trim();
  if (trimmed === '') throw new InputError('No model given: pass a model id or the path of an .onnx file.');

  const spec = findModelSpec(trimmed);
  const asPath = path.resolve(expandHome(trimmed));
  if (isFile(asPath) && (spec === undefined || looksLikePath(trimmed))) {
    return { path: asPath, source: 'path' };
  }
  if (isDirectory(asPath) && (spec === undefined || looksLikePath(trimmed))) {
    return { path: modelFileInFolder(asPath, options.variant ?? DEFAULT_VARIANT), source: 'path' };
  }
  if (spec === undefined) {
    if (looksLikePath(trimmed)) {
      throw new InputError(`Model file not found: ${asPath}${existsSync(asPath) ? ' is not a file' : ''}.`);
    }
    getModelSpec(trimmed); // throws the InputError that lists the known ids
  }
  return resolveRegisteredModel(spec!, filesForVariant(spec!, options.variant ?? DEFAULT_VARIANT), options, context);
}

/**
 * Finds or fetches one registry entry's file: ANYVIEW_MODEL_DIR, then the cache, then a download (when allowed).
 * `files` are the candidates of one variant, preferred first (other exporters' files of the same weights after).
 */
export async function resolveRegisteredModel<TSpec extends DownloadableModel>(
  model: TSpec,
  files: readonly ModelFile[],
  options: ResolveOptions,
  context: RunContext = {},
): Promise<ResolvedModel<TSpec>> {
  throwIfAborted(context.signal);
  if (files.length === 0) throw new InputError(`Model "${model.id}" has no file to resolve.`);
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir());

  if (options.modelDir !== undefined && options.modelDir !== '') {
    const modelDir = path.resolve(expandHome(options.modelDir));
    for (const file of files) {
      for (const candidate of modelDirCandidates(modelDir, model, file)) {
        if (isFile(candidate)) {
          context.log?.debug(`${model.id}: using ${candidate} (${MODEL_DIR_ENV}).`);
          return { path: candidate, spec: model, file, source: 'modelDir' };
        }
      }
    }
  }

  for (const file of files) {
    const cached = cachePathFor(cacheDir, model, file);
    if (!isFile(cached)) continue;
    const size = statSync(cached).size;
    if (file.sizeBytes !== undefined && size !== file.sizeBytes) {
      context.log?.warn(`${cached}: ${size} bytes, expected ${file.sizeBytes}; ignoring it.`);
      continue;
    }
    context.log?.debug(`${model.id}: using cached ${cached}.`);
    return { path: cached, spec: model, file, source: 'cache' };
  }

  if (!options.allowDownload) {
    throw new ModelError(unavailableMessage(model, files, cacheDir, options.modelDir, 'Downloads are disabled (offline mode).', []));
  }

  const attempts: DownloadAttempt[] = [];
  for (const file of files) {
    const dest = cachePathFor(cacheDir, model, file);
    context.log?.info(`${model.id}: downloading ${file.fileName} to ${dest}.`);
    try {
      const result = await downloadFile({
        urls: file.urls,
        dest,
        ...(file.sha256 !== undefined ? { sha256: file.sha256 } : {}),
        ...(file.sizeBytes !== undefined ? { sizeBytes: file.sizeBytes } : {}),
        ...(options.fetchImpl !== undefined ? { fetchImpl: options.fetchImpl } : {}),
        ...(options.retries !== undefined ? { retries: options.retries } : {}),
        item: model.id,
      }, context);
      return { path: result.path, spec: model, file, source: 'download' };
    } catch (error) {
      if (!(error instanceof DownloadFailedError)) throw error;
      attempts.push(...error.attempts);
    }
  }
  throw new ModelError(unavailableMessage(model, files, cacheDir, options.modelDir, 'The download failed.', attempts));
}

/** The offline / unreachable message: what was tried, where to get the file, where to put it. */
export function unavailableMessage(
  spec: DownloadableModel,
  files: readonly ModelFile[],
  cacheDir: string,
  modelDir: string | undefined,
  why: string,
  attempts: readonly DownloadAttempt[],
): string {
  const first = files[0]!;
  const lines = [`Model "${spec.id}" (${first.variant}) is not available locally. ${why}`];
  if (attempts.length > 0) {
    lines.push('URLs tried:');
    for (const attempt of attempts) lines.push(`  ${attempt.url}: ${attempt.reason}`);
  }
  lines.push('To install it by hand, download one of these files:');
  for (const file of files) {
    for (const url of file.urls) lines.push(`  ${url}`);
    lines.push(`  and save it as ${cachePathFor(cacheDir, spec, file)}`);
    if (file.sha256 !== undefined) lines.push(`  (sha256 ${file.sha256})`);
  }
  const dirHint = modelDir !== undefined && modelDir !== '' ? path.resolve(expandHome(modelDir)) : '<dir>';
  lines.push(`Or put it in ${path.join(dirHint, spec.id, first.fileName)} and set ${MODEL_DIR_ENV}=${dirHint}.`);
  lines.push(`Model page: ${spec.homepage}`);
  return lines.join('\n');
}
