/**
 * The model registry: one DepthModelSpec per model id, built from the family files. Lookups, file
 * selection by precision variant, and the licence gate.
 */
import { InputError, LicenseError } from '../core/errors.ts';
import { DEPTH_ANYTHING_3_SPECS } from './depth-anything-3.ts';
import { DEPTH_ANYTHING_SPECS } from './depth-anything.ts';
import type { DepthModelSpec, ModelFile, ModelVariant } from './model-spec.ts';

/** The CLI flag (and HTTP/library option `allowNonCommercial`) that opts in to non-commercial weights. */
export const ALLOW_NON_COMMERCIAL_FLAG = '--allow-non-commercial';

export const DEFAULT_VARIANT: ModelVariant = 'fp32';

const MODEL_SPECS: readonly DepthModelSpec[] = Object.freeze([...DEPTH_ANYTHING_SPECS, ...DEPTH_ANYTHING_3_SPECS]);

const BY_ID: ReadonlyMap<string, DepthModelSpec> = new Map(MODEL_SPECS.map((spec) => [spec.id, spec]));

/** Every registered model, in registry order. */
export function listModels(): readonly DepthModelSpec[] {
  return MODEL_SPECS;
}

/** Registered model ids, in registry order. */
export function listModelIds(): readonly string[] {
  return MODEL_SPECS.map((spec) => spec.id);
}

/** The spec for an id (case-insensitive), or undefined. */
export function findModelSpec(id: string): DepthModelSpec | undefined {
  return BY_ID.get(id.trim().toLowerCase());
}

/** The spec for an id (case-insensitive); unknown ids are an InputError that lists the known ones. */
export function getModelSpec(id: string): DepthModelSpec {
  const spec = findModelSpec(id);
  if (spec === undefined) {
    throw new InputError(`Unknown model "${id}". Known models: ${listModelIds().join(', ')}. `
      + 'Or pass the path of an .onnx file.');
  }
  return spec;
}

/** The precision variants a spec has files for, in first-seen order. */
export function listVariants(spec: DepthModelSpec): readonly ModelVariant[] {
  return [...new Set(spec.files.map((file) => file.variant))];
}

/** Every file of a variant, preferred first (later ones are other exporters' files of the same weights). */
export function filesForVariant(spec: DepthModelSpec, variant: ModelVariant = DEFAULT_VARIANT): readonly ModelFile[] {
  const files = spec.files.filter((file) => file.variant === variant);
  if (files.length === 0) {
    throw new InputError(`Model "${spec.id}" has no ${variant} file. Available variants: ${listVariants(spec).join(', ')}.`);
  }
  return files;
}

/** The preferred file of a variant (default fp32). */
export function selectFile(spec: DepthModelSpec, variant: ModelVariant = DEFAULT_VARIANT): ModelFile {
  return filesForVariant(spec, variant)[0]!;
}

export interface LicenseGateOptions {
  /** The user's explicit opt-in to non-commercial weights. */
  readonly allowNonCommercial: boolean;
}

/** Throws LicenseError for a non-commercial model unless the user opted in. */
export function assertLicenseAccepted(spec: DepthModelSpec, options: LicenseGateOptions): void {
  if (spec.license.commercialUse || options.allowNonCommercial) return;
  const note = spec.license.note !== undefined ? ` ${spec.license.note}` : '';
  throw new LicenseError(`Model "${spec.id}" is licensed ${spec.license.spdx} (non-commercial use only).${note} `
    + `To use it anyway for non-commercial work, pass ${ALLOW_NON_COMMERCIAL_FLAG} (library/HTTP option allowNonCommercial: true).`);
}
