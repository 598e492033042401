import { ERROR_TABLE, type ErrorCode } from '../core/errors.ts';

/** Some items of a batch failed (each already reported); the exit code is that of the first failure. */
export class FailedItemsError extends Error {
  readonly exitCode: number;
  constructor(failures: readonly { readonly code: ErrorCode | 'INTERNAL'; readonly input: string }[]) {
    super(`${failures.length} input(s) failed: ${failures.map((f) => f.input).join(', ')}`);
    const first = failures[0];
    this.exitCode = first === undefined || first.code === 'INTERNAL' ? 1 : ERROR_TABLE[first.code].exitCode;
  }
}
