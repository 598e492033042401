/**
 * The toolkit's error hierarchy. Every error a user can cause or meet is one of these; the CLI maps
 * them to exit codes and the HTTP service to statuses through ERROR_TABLE, and nowhere else.
 */

export type ErrorCode =
  | 'INPUT'     // bad arguments or options
  | 'FORMAT'    // a file that is not what it claims to be (corrupt, truncated, unsupported)
  | 'MODEL'     // weights missing, checksum mismatch, or an input/output contract that does not fit
  | 'BACKEND'   // the inference runtime or device failed
  | 'OUTPUT'    // an output could not be written
  | 'LICENSE'   // a model's licence needs an explicit opt-in
  | 'ABORTED';  // the caller cancelled

export interface ErrorTableRow {
  readonly exitCode: number;
  readonly httpStatus: number;
}

/** One table from error code to CLI exit code and HTTP status. Exit code 1 is left for unexpected crashes. */
export const ERROR_TABLE: Readonly<Record<ErrorCode, ErrorTableRow>> = Object.freeze({
  INPUT: { exitCode: 2, httpStatus: 400 },
  FORMAT: { exitCode: 3, httpStatus: 415 },
  MODEL: { exitCode: 4, httpStatus: 422 },
  BACKEND: { exitCode: 5, httpStatus: 500 },
  OUTPUT: { exitCode: 6, httpStatus: 500 },
  LICENSE: { exitCode: 7, httpStatus: 403 },
  ABORTED: { exitCode: 130, httpStatus: 499 },
});

export interface ToolkitErrorOptions {
  /** The file the error is about, when there is one: it is named in the message. */
  readonly file?: string;
  readonly cause?: unknown;
}

export abstract class ToolkitError extends Error {
  abstract readonly code: ErrorCode;
  readonly file: string | undefined;

  constructor(message: string, options: ToolkitErrorOptions = {}) {
    super(options.file !== undefined && !message.includes(options.file) ? `${options.file}: ${message}` : message,
      options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.file = options.file;
  }

  get exitCode(): number {
    return ERROR_TABLE[this.code].exitCode;
  }

  get httpStatus(): number {
    return ERROR_TABLE[this.code].httpStatus;
  }
}

export class InputError extends ToolkitError {
  readonly code = 'INPUT' as const;
}

export class FormatError extends ToolkitError {
  readonly code = 'FORMAT' as const;
  /** Byte offset of the problem inside the file, when known. */
  readonly byteOffset: number | undefined;
  constructor(message: string, options: ToolkitErrorOptions & { byteOffset?: number } = {}) {
    super(message, options);
    this.byteOffset = options.byteOffset;
  }
}

export class ModelError extends ToolkitError {
  readonly code = 'MODEL' as const;
}

export class BackendError extends ToolkitError {
  readonly code = 'BACKEND' as const;
}

export class OutputError extends ToolkitError {
  readonly code = 'OUTPUT' as const;
}

export class LicenseError extends ToolkitError {
  readonly code = 'LICENSE' as const;
}

export class AbortError extends ToolkitError {
  readonly code = 'ABORTED' as const;
}

export function isToolkitError(value: unknown): value is ToolkitError {
  return value instanceof ToolkitError;
}

/** Exit code for anything thrown: the table for toolkit errors, 1 for unexpected ones. */
export function exitCodeOf(error: unknown): number {
  return isToolkitError(error) ? error.exitCode : 1;
}

/** Throws AbortError when the signal has fired; call between units of long work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('cancelled', { cause: signal.reason });
}
