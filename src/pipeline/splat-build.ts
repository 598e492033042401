/** Pieces `anyview splat` shares between single sets and sequences: intrinsics, output names, semantics, metadata. */
import path from 'node:path';
import { createIntrinsics, intrinsicsFromFov, type Intrinsics } from '../core/camera.ts';
import type { RunContext } from '../core/context.ts';
import { InputError } from '../core/errors.ts';
import type { GaussianSet } from '../core/gaussians.ts';
import type { Image } from '../core/image.ts';
import { getSplatFormat, SPLAT_FORMATS, type SplatFormatId } from '../io/formats/splat-formats.ts';
import type { GaussiansFromDepthStats } from '../splat/from-depth.ts';
import { DEFAULT_SPLAT_OPTIONS, type SplatJobOptions } from './splat-options.ts';

export type IntrinsicsSource = 'flag' | 'sidecar' | 'assumedFov';

export interface SplatBuildDetails {
  readonly depth?: { readonly file: string; readonly kind: string; readonly conversion: string; readonly source: string };
  readonly intrinsics?: Intrinsics & { readonly source: IntrinsicsSource };
  readonly stats?: GaussiansFromDepthStats;
  readonly semantics?: { readonly model: string; readonly classNames: readonly string[]; readonly kept: boolean; readonly query?: string };
  readonly note?: string;
}

/** Labels Gaussians from their source pixels; opened once per job. */
export interface SemanticsStep {
  readonly modelId: string;
  label(set: GaussianSet, pixelIndices: Int32Array, image: Image<Uint8Array>, context: RunContext): Promise<GaussianSet>;
}

/** The intrinsics for a depth map: the flag's, the sidecar's, or the assumed field of view's. */
export function intrinsicsForDepth(
  width: number, height: number, camera: SplatJobOptions['camera'], sidecar: Intrinsics | undefined,
): Intrinsics & { readonly source: IntrinsicsSource } {
  if (camera.intrinsics !== undefined) return { ...createIntrinsics({ ...camera.intrinsics, width, height }), source: 'flag' };
  if (sidecar !== undefined) return { ...sidecar, source: 'sidecar' };
  return { ...intrinsicsFromFov(width, height, (camera.assumedFovXDeg * Math.PI) / 180), source: 'assumedFov' };
}

export const extensionFormat = (file: string): SplatFormatId | undefined => SPLAT_FORMATS.find((f) => file.toLowerCase().endsWith(f.extension))?.id;

/** `--out` for one set: a file with a splat extension, else a folder receiving `<stem><ext>`. */
export function resolveOutputFile(out: string, stem: string, format: SplatFormatId | undefined): { file: string; format: SplatFormatId } {
  const byExtension = extensionFormat(out);
  if (byExtension !== undefined) {
    if (format !== undefined && format !== byExtension) {
      throw new InputError(`--out ${out} has the extension of ${byExtension} but --format is ${format}; make them agree.`);
    }
    return { file: out, format: byExtension };
  }
  const chosen = format ?? DEFAULT_SPLAT_OPTIONS.format;
  return { file: path.join(out, `${stem}${getSplatFormat(chosen).extension}`), format: chosen };
}
