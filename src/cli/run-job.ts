/**
 * What every job command does around its job: progress (a bar on a TTY, JSON lines with --progress-json, nothing
 * under --json), the logger, an inference backend disposed afterwards, and the summary printed as JSON or for
 * people. One place, so the commands differ only in their options and their job.
 */
import type { RunContext } from '../core/context.ts';
import type { InferenceBackend } from '../models/backend.ts';
import { createOnnxRuntimeNodeBackend } from '../models/onnxruntime-node.ts';
import { readCliEnvironment, type CliEnvironment } from './environment.ts';
import { createCliLogger } from './log.ts';
import { createProgressSink } from './progress.ts';

export interface JobOutputFlags {
  /** Print the summary as JSON on stdout (and no progress bar). */
  readonly json: boolean;
  /** Progress events as JSON lines on stderr. */
  readonly progressJson?: boolean;
}

export interface CliJobContext {
  readonly env: CliEnvironment;
  /** Created only for jobs that run networks (see runCliJob's `withBackend`). */
  readonly backend: InferenceBackend;
  readonly context: RunContext;
}

/** Runs `job` with progress, logging and (when `withBackend`) an onnxruntime backend; prints and returns its summary. */
export async function runCliJob<TSummary>(
  flags: JobOutputFlags,
  job: (run: CliJobContext) => Promise<TSummary>,
  printHuman: (summary: TSummary) => void,
  options: { readonly withBackend?: boolean } = {},
): Promise<TSummary> {
  const env = readCliEnvironment();
  const format = flags.progressJson ? 'json' : 'text';
  const progress = createProgressSink(flags.progressJson ? 'json' : process.stderr.isTTY && !flags.json ? 'bar' : 'none');
  const backend = options.withBackend === false
    ? undefined
    : createOnnxRuntimeNodeBackend({ log: createCliLogger({ debug: env.debug, quiet: true, format }) });
  try {
    const log = createCliLogger({ debug: env.debug, quiet: flags.json, format });
    const summary = await job({ env, backend: backend as InferenceBackend, context: { onProgress: progress.onProgress, log } });
    progress.stop();
    if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else printHuman(summary);
    return summary;
  } finally {
    progress.stop();
    await backend?.dispose();
  }
}
