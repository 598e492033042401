/**
 * Turns the user's input arguments (files, folders, globs) into a sorted, de-duplicated list of files.
 */
import { stat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { InputError } from '../core/errors.ts';
import { SUPPORTED_IMAGE_EXTENSIONS, sniffFile, type MediaKind } from './sniff.ts';

const naturalOrder = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function hasImageExtension(file: string): boolean {
  return SUPPORTED_IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

async function statOrUndefined(p: string) {
  try {
    return await stat(p);
  } catch {
    return undefined;
  }
}

/** Image files directly inside a folder (not recursive), in natural order (frame2 before frame10). */
export async function listImagesInFolder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && hasImageExtension(e.name))
    .map((e) => path.join(folder, e.name))
    .sort(naturalOrder.compare);
}

/**
 * Expands image arguments. An explicit file is kept whatever its extension (decoding will say if it is not
 * an image); folders contribute their image files; globs are expanded. Missing paths are an InputError.
 */
export async function expandImageInputs(args: readonly string[]): Promise<string[]> {
  if (args.length === 0) throw new InputError('No input given: pass one or more images, folders or globs.');
  const files: string[] = [];
  for (const arg of args) {
    const info = await statOrUndefined(arg);
    if (info?.isFile()) {
      files.push(arg);
    } else if (info?.isDirectory()) {
      const inFolder = await listImagesInFolder(arg);
      if (inFolder.length === 0) {
        throw new InputError(`Folder has no images (looked for ${SUPPORTED_IMAGE_EXTENSIONS.join(', ')}).`, { file: arg });
      }
      files.push(...inFolder);
    } else if (isDynamicPattern(arg)) {
      const matches = (await glob(arg, { onlyFiles: true, absolute: path.isAbsolute(arg), expandDirectories: false }))
        .filter(hasImageExtension)
        .sort(naturalOrder.compare);
      if (matches.length === 0) throw new InputError(`Glob "${arg}" matched no image files.`);
      files.push(...matches);
    } else {
      throw new InputError('No such file or folder.', { file: arg });
    }
  }
  // De-duplicate by absolute path, but keep each file spelled as the user's argument spelled it.
  const seen = new Set<string>();
  return files.filter((f) => {
    const abs = path.resolve(f);
    if (seen.has(abs)) return false;
    seen.add(abs);
    return true;
  });
}

export type InputKind = 'image' | 'imageFolder' | 'video';

/** What `anyview auto` is looking at. */
export async function classifyInput(input: string): Promise<InputKind> {
  const info = await statOrUndefined(input);
  if (info === undefined) throw new InputError('No such file or folder.', { file: input });
  if (info.isDirectory()) {
    if ((await listImagesInFolder(input)).length > 0) return 'imageFolder';
    throw new InputError(`Folder has no images (looked for ${SUPPORTED_IMAGE_EXTENSIONS.join(', ')}).`, { file: input });
  }
  const kind: MediaKind = (await sniffFile(input)).kind;
  if (kind === 'image') return 'image';
  if (kind === 'video') return 'video';
  throw new InputError('Not a recognised image or video (checked the file\'s first bytes and its extension).', { file: input });
}
