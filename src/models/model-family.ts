/**
 * One registry of downloadable networks of a family (feature networks, segmentation networks, ...): lookup by id
 * (case-insensitive), an InputError listing the known ids, and resolution of an id or .onnx path to a local file
 * (an existing path first, then ANYVIEW_MODEL_DIR `<dir>/<id>/<file>` and `<dir>/<file>`, the cache, and a
 * download when allowed) through resolve.ts. Each family module declares its specs and gets these functions.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { RunContext } from '../core/context.ts';
import { InputError } from '../core/errors.ts';
import type { DownloadableModel } from './model-spec.ts';
import { expandHome, looksLikePath, resolveRegisteredModel, type ResolvedModel, type ResolveOptions } from './resolve.ts';

export interface ModelFamilyRegistry<TSpec extends DownloadableModel> {
  /** Every registered network, in registry order. */
  list(): readonly TSpec[];
  /** The spec for an id (case-insensitive), or undefined. */
  find(id: string): TSpec | undefined;
  /** The spec for an id; an unknown id is an InputError that lists the known ones. */
  get(id: string): TSpec;
  /** An id or .onnx path to a local file (see the module comment). */
  resolve(idOrPath: string, options: ResolveOptions, context?: RunContext): Promise<ResolvedModel<TSpec>>;
}

/**
 * @param kind how messages name a network of this family, e.g. 'feature model'.
 * @param fileHint what a path should point at, e.g. 'an XFeat .onnx file'.
 */
export function createModelFamilyRegistry<TSpec extends DownloadableModel>(
  kind: string,
  fileHint: string,
  specs: readonly TSpec[],
): ModelFamilyRegistry<TSpec> {
  const byId: ReadonlyMap<string, TSpec> = new Map(specs.map((spec) => [spec.id, spec]));
  const find = (id: string): TSpec | undefined => byId.get(id.trim().toLowerCase());
  const get = (id: string): TSpec => {
    const spec = find(id);
    if (spec === undefined) {
      throw new InputError(`Unknown ${kind} "${id}". Known ${kind}s: ${specs.map((s) => s.id).join(', ')}. Or pass the path of ${fileHint}.`);
    }
    return spec;
  };
  return {
    list: () => specs,
    find,
    get,
    async resolve(idOrPath, options, context = {}) {
      const trimmed = idOrPath.trim();
      if (trimmed === '') throw new InputError(`No ${kind} given: pass a ${kind} id or the path of an .onnx file.`);
      const spec = find(trimmed);
      const asPath = path.resolve(expandHome(trimmed));
      if (spec === undefined || looksLikePath(trimmed)) {
        if (isFile(asPath)) return { path: asPath, source: 'path' };
        if (looksLikePath(trimmed)) throw new InputError(`${kind.charAt(0).toUpperCase()}${kind.slice(1)} file not found: ${asPath}.`);
      }
      const model = spec ?? get(trimmed);
      return resolveRegisteredModel(model, model.files, options, context);
    },
  };
}

function isFile(filePath: string): boolean {
  try {
    return statSync(filePath).isFile();
  } catch {
    return false;
  }
}
