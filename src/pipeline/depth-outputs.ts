/**
 * Turns one depth estimate into the files the user asked for, plus one JSON sidecar per image that records
 * the model, the kind of values, the processing size, the intrinsics used, the value mapping of the 16-bit
 * PNG and the timings. Everything is encoded in memory first and each file is written atomically, so a
 * failure leaves no half-written output.
 */
import path from 'node:path';
import { createDepth, type Depth, type MetricDepthMap, type RelativeDepthMap } from '../core/depth.ts';
import type { DepthKind } from '../core/depth.ts';
import { createIntrinsics, intrinsicsFromFov, type Intrinsics } from '../core/camera.ts';
import { InputError, ModelError, OutputError } from '../core/errors.ts';
import type { Image } from '../core/image.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { depthColorFormat, depthPng16Format, npyFormat, plyFormat, type EncodedFile } from '../io/formats/index.ts';
import { encodeDepthColorPng } from '../io/formats/depth-color.ts';
import { readMetricDepthFile, type MetricDepthFile } from '../io/read-metric-depth.ts';
import { alignDepthToDepth, alignDisparityToDepth, type AlignedDepth } from '../geometry/align-scale-shift.ts';
import { pointMapToCloud, unprojectDepth } from '../geometry/unproject.ts';
import type { DepthEstimate, DepthEstimator } from './depth-estimator.ts';
import type { DepthJobOptions, DepthOutputFormat } from './depth-options.ts';

export interface WrittenOutputs {
  /** The kind of the values written (metricDepth after --align). */
  readonly kind: DepthKind;
  readonly files: readonly string[];
  readonly sidecar: string;
}

/** The suffix of each output after the input's stem; one table so names never collide. */
export const OUTPUT_SUFFIX: Readonly<Record<DepthOutputFormat, string>> = Object.freeze({
  png16: depthPng16Format.defaultSuffix,
  npy: npyFormat.defaultSuffix,
  color: depthColorFormat.defaultSuffix,
  ply: plyFormat.defaultSuffix,
});
export const SIDECAR_SUFFIX = '_depth.json';

/** Fails early (before any inference) when the requested outputs cannot be made from this model's output. */
export function checkOutputsPossible(kind: DepthKind, options: Pick<DepthJobOptions, 'output' | 'align'>): void {
  if (options.output.formats.includes('ply') && kind === 'disparity' && options.align === undefined) {
    throw new InputError('--format ply needs depth, but this model gives relative disparity (unknown scale and shift). Use a metric model (e.g. --model depth-anything-v2-metric-indoor-small) or --align <known-depth-file>.');
  }
}

export type PreparedAlignment = MetricDepthFile & { readonly path: string };

export async function prepareAlignment(align: NonNullable<DepthJobOptions['align']>): Promise<PreparedAlignment> {
  return { path: align.path, ...(await readMetricDepthFile(align.path, align.valuesPerMeter)) };
}

/** RANSAC threshold for --align, relative to the target's median in the fitting space. */
const ALIGN_RANSAC = { iterations: 200, seed: 1, relativeThreshold: 0.05 };

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Aligns a prediction to known depth: disparity in disparity space, depth kinds in depth space. */
export function alignToKnownDepth(depth: Depth, known: PreparedAlignment): { depth: MetricDepthMap; fit: AlignedDepth } {
  if (known.width !== depth.width || known.height !== depth.height) {
    throw new InputError(`the depth to align to is ${known.width}x${known.height} but the image is ${depth.width}x${depth.height}; they must match.`, { file: known.path });
  }
  const valid: number[] = [];
  for (let i = 0; i < known.depthMeters.length; i++) if (Number.isFinite(known.depthMeters[i]!)) valid.push(known.depthMeters[i]!);
  const inSpace = Float64Array.from(valid, (d) => (depth.kind === 'disparity' ? 1 / d : d));
  const threshold = ALIGN_RANSAC.relativeThreshold * median(inSpace);
  const ransac = { threshold, iterations: ALIGN_RANSAC.iterations, seed: ALIGN_RANSAC.seed };
  const fit = depth.kind === 'disparity'
    ? alignDisparityToDepth(depth, known.depthMeters, { ransac })
    : alignDepthToDepth(depth, known.depthMeters, { ransac });
  if (fit === undefined) {
    throw new InputError('could not align to the known depth: too few valid pixels or a degenerate fit.', { file: known.path });
  }
  return { depth: createDepth({ kind: 'metricDepth', width: depth.width, height: depth.height, data: fit.depthMeters }), fit };
}

/** The intrinsics of this image: the user's, or the assumed field of view's. */
export function intrinsicsFor(image: { width: number; height: number }, camera: DepthJobOptions['camera']): { intrinsics: Intrinsics; source: 'given' | 'assumedFov' } {
  if (camera.intrinsics !== undefined) {
    return { intrinsics: createIntrinsics({ ...camera.intrinsics, width: image.width, height: image.height }), source: 'given' };
  }
  return { intrinsics: intrinsicsFromFov(image.width, image.height, (camera.assumedFovXDeg * Math.PI) / 180), source: 'assumedFov' };
}

export async function writeDepthOutputs(
  stem: string,
  input: string,
  image: Image<Uint8Array>,
  estimate: DepthEstimate,
  estimator: DepthEstimator,
  options: DepthJobOptions,
  alignment: PreparedAlignment | undefined,
): Promise<WrittenOutputs> {
  const aligned = alignment !== undefined ? alignToKnownDepth(estimate.depth, alignment) : undefined;
  const depth: Depth = aligned?.depth ?? estimate.depth;
  const camera = intrinsicsFor(image, options.camera);

  const sidecarExtras: Record<string, unknown> = {};
  /** Encodes one format; its synchronous part runs at once, PNG compression runs on libuv's pool. */
  const encodeOne = async (format: DepthOutputFormat): Promise<EncodedFile> => {
    switch (format) {
      case 'png16': {
        const result = await depthPng16Format.encode(depth);
        sidecarExtras['png16'] = result.sidecar;
        return result;
      }
      case 'npy':
        return npyFormat.encode(depth);
      case 'color': {
        const { bytes, codes } = await encodeDepthColorPng(depth, { colormap: options.output.colormap });
        sidecarExtras['color'] = { colormap: codes.colormap, low: codes.low, high: codes.high, nearIsHighEnd: true };
        return { bytes };
      }
      case 'ply': {
        if (depth.kind === 'disparity') throw new ModelError('internal: ply from disparity should have been refused earlier.');
        const points = unprojectDepth(depth as MetricDepthMap | RelativeDepthMap, camera.intrinsics);
        const cloud = pointMapToCloud(points, image, { maxPoints: options.output.maxPlyPoints });
        sidecarExtras['ply'] = { numPoints: cloud.numPoints, frame: 'camera', axes: 'OpenCV (x right, y down, z forward)', units: depth.kind === 'metricDepth' ? 'm' : 'relative' };
        return plyFormat.encode(cloud, { comments: [`anyview depth ${estimator.modelId}`, `units ${depth.kind === 'metricDepth' ? 'metres' : 'relative'}`] });
      }
    }
  };
  const files = options.output.formats.map((format) => ({ format, file: `${stem}${OUTPUT_SUFFIX[format]}` }));
  for (const { file } of files) {
    if (path.resolve(file) === path.resolve(input)) {
      throw new OutputError(`output ${file} would overwrite the input; choose another --out folder.`, { file: input });
    }
  }
  // All formats are encoded in memory (concurrently) before anything is written.
  const results = await Promise.all(files.map(({ format }) => encodeOne(format)));
  const encoded = files.map((f, i) => ({ ...f, bytes: results[i]!.bytes }));

  const sidecar = `${stem}${SIDECAR_SUFFIX}`;
  const record = {
    input,
    width: image.width,
    height: image.height,
    model: { id: estimator.modelId, license: estimator.license?.spdx ?? null, outputKind: estimator.outputKind },
    kind: depth.kind,
    units: depth.kind === 'metricDepth' ? 'm' : null,
    meaning: depth.kind === 'disparity'
      ? 'affine-invariant disparity: a/depth + b for unknown a > 0, b (larger = nearer)'
      : depth.kind === 'relativeDepth' ? 'depth up to an unknown scale (larger = farther)' : 'z-depth in metres along the optical axis',
    processing: { width: estimate.network.width, height: estimate.network.height, staticInput: estimator.staticInput !== undefined },
    intrinsics: { ...camera.intrinsics, source: camera.source, convention: 'OpenCV pinhole, pixels' },
    ...(aligned !== undefined && alignment !== undefined
      ? { alignment: { to: alignment.path, space: estimate.depth.kind === 'disparity' ? 'disparity' : 'depth', scale: aligned.fit.scale, shift: aligned.fit.shift, samples: aligned.fit.numSamples } }
      : {}),
    timingsMs: estimate.timingsMs,
    files: Object.fromEntries(encoded.map((e) => [e.format, path.basename(e.file)])),
    ...sidecarExtras,
  };

  await Promise.all(encoded.map((e) => writeFileAtomic(e.file, e.bytes)));
  const written = encoded.map((e) => e.file);
  await writeFileAtomic(sidecar, `${JSON.stringify(record, null, 2)}\n`);
  return { kind: depth.kind, files: written, sidecar };
}
