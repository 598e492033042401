/**
 * The single-image depth job over many images: decode the next image while the network runs on the current
 * one, and write the previous one's files meanwhile. One bad image does not stop the others; every failure is
 * reported with its file and the job's exit code reflects the first one.
 */
import path from 'node:path';
import type { RunContext } from '../core/context.ts';
import { isToolkitError, throwIfAborted, type ErrorCode } from '../core/errors.ts';
import type { Image } from '../core/image.ts';
import { decodeImage } from '../io/decode-image.ts';
import { ensureWritableDir } from '../io/atomic-write.ts';
import type { InferenceBackend } from '../models/backend.ts';
import { createDepthEstimator, type DepthEstimator, type ModelLocations } from './depth-estimator.ts';
import { checkOutputsPossible, intrinsicsFor, prepareAlignment, writeDepthOutputs, type WrittenOutputs } from './depth-outputs.ts';
import type { DepthJobOptions } from './depth-options.ts';

export interface DepthImageResult {
  readonly input: string;
  readonly width: number;
  readonly height: number;
  readonly network: { readonly width: number; readonly height: number };
  readonly kind: string;
  readonly outputs: WrittenOutputs;
  readonly timingsMs: { readonly decode: number; readonly preprocess: number; readonly inference: number; readonly postprocess: number; readonly write: number };
}

export interface DepthFailure {
  readonly input: string;
  readonly code: ErrorCode | 'INTERNAL';
  readonly message: string;
}

export interface DepthJobSummary {
  readonly model: { readonly id: string; readonly path: string; readonly kind: string; readonly license?: string; readonly device: string };
  readonly outputDir: string;
  readonly images: readonly DepthImageResult[];
  readonly failures: readonly DepthFailure[];
  readonly totalMs: number;
  readonly imagesPerSecond: number;
}

/** Output file stems, unique even when two inputs share a name. */
export function outputStems(inputs: readonly string[], outputDir: string): string[] {
  const used = new Map<string, number>();
  return inputs.map((input) => {
    const base = path.basename(input, path.extname(input));
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    return path.join(outputDir, n === 0 ? base : `${base}-${n}`);
  });
}

type Decoded = { ok: true; image: Image<Uint8Array>; ms: number } | { ok: false; error: unknown };

function decodeTimed(file: string, maxPixels: number): Promise<Decoded> {
  const start = performance.now();
  return decodeImage({ path: file }, { maxPixels, maxPixelsFlag: '--max-pixels' }).then(
    (image) => ({ ok: true as const, image, ms: performance.now() - start }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function toFailure(input: string, error: unknown): DepthFailure {
  if (isToolkitError(error)) return { input, code: error.code, message: error.message };
  return { input, code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

export async function runDepthJob(
  inputs: readonly string[],
  options: DepthJobOptions,
  backend: InferenceBackend,
  locations: ModelLocations,
  context: RunContext = {},
): Promise<DepthJobSummary> {
  const started = performance.now();
  await ensureWritableDir(options.output.dir);
  const estimator: DepthEstimator = await createDepthEstimator(backend, options, locations, context);
  checkOutputsPossible(estimator.outputKind, options);
  const alignment = options.align !== undefined ? await prepareAlignment(options.align) : undefined;
  const stems = outputStems(inputs, options.output.dir);

  const images: DepthImageResult[] = [];
  const failures: DepthFailure[] = [];
  let pendingWrite: Promise<void> = Promise.resolve();
  let next = inputs.length > 0 ? decodeTimed(inputs[0]!, options.preprocess.maxPixels) : undefined;

  for (let i = 0; i < inputs.length; i++) {
    throwIfAborted(context.signal);
    const input = inputs[i]!;
    const decoded = await next!;
    // Start decoding the next image now, so it overlaps this image's inference.
    next = i + 1 < inputs.length ? decodeTimed(inputs[i + 1]!, options.preprocess.maxPixels) : undefined;
    context.onProgress?.({ stage: 'depth', done: i, total: inputs.length, unit: 'images', item: path.basename(input) });
    if (!decoded.ok) {
      failures.push(toFailure(input, decoded.error));
      continue;
    }
    try {
      const { intrinsics } = intrinsicsFor(decoded.image, options.camera);
      const estimate = await estimator.estimate(decoded.image, intrinsics, context);
      const stem = stems[i]!;
      // Keep at most one write in flight: it overlaps the next inference without piling up memory.
      await pendingWrite;
      pendingWrite = (async () => {
        const writeStart = performance.now();
        try {
          const outputs = await writeDepthOutputs(stem, input, decoded.image, estimate, estimator, options, alignment);
          images.push({
            input,
            width: decoded.image.width,
            height: decoded.image.height,
            network: estimate.network,
            kind: outputs.kind,
            outputs,
            timingsMs: { decode: decoded.ms, ...estimate.timingsMs, write: performance.now() - writeStart },
          });
        } catch (error) {
          failures.push(toFailure(input, error));
        }
      })();
    } catch (error) {
      failures.push(toFailure(input, error));
    }
  }
  await pendingWrite;
  context.onProgress?.({ stage: 'depth', done: inputs.length, total: inputs.length, unit: 'images' });
  const totalMs = performance.now() - started;
  return {
    model: {
      id: estimator.modelId,
      path: estimator.modelPath,
      kind: estimator.outputKind,
      ...(estimator.license !== undefined ? { license: estimator.license.spdx } : {}),
      device: estimator.device,
    },
    outputDir: options.output.dir,
    images,
    failures,
    totalMs,
    imagesPerSecond: images.length / (totalMs / 1000),
  };
}
