/**
 * The run context every long operation takes instead of global state: cancellation, progress and logging.
 */

export type ProgressUnit = 'bytes' | 'images' | 'frames' | 'samples' | 'steps';

/** A structured progress event. `total` is absent when unknown (for example a download without Content-Length). */
export interface ProgressEvent {
  /** What is being done, e.g. 'download', 'depth', 'eval'. */
  readonly stage: string;
  readonly done: number;
  readonly total?: number;
  readonly unit: ProgressUnit;
  /** The item this event is about (a file path or a model id), when there is one. */
  readonly item?: string;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
}

export interface RunContext {
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly log?: Logger;
}

export const SILENT_LOGGER: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
});
