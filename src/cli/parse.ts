/** Parsers for CLI option values: each rejects bad input with a message that names the flag and the fix. */
import { InvalidArgumentError } from 'commander';
import type { IntrinsicsOption } from '../pipeline/depth-options.ts';
import type { AlphaHandling } from '../io/decode-image.ts';

export function parsePositiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive integer, got "${value}".`);
    return n;
  };
}

export function parseNonNegativeInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a non-negative integer, got "${value}".`);
    return n;
  };
}

export function parsePositiveIntList(flag: string) {
  return (value: string): number[] => {
    const parts = value.split(',').map((v) => v.trim());
    const out = parts.map(Number);
    if (parts.length === 0 || out.some((n) => !Number.isInteger(n) || n <= 0)) {
      throw new InvalidArgumentError(`${flag} must be positive integers separated by commas, got "${value}".`);
    }
    return out;
  };
}

export function parsePositiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive number, got "${value}".`);
    return n;
  };
}

export function parseNonNegativeNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a number >= 0, got "${value}".`);
    return n;
  };
}

export function parseIntrinsics(value: string): IntrinsicsOption {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) {
    throw new InvalidArgumentError(`--intrinsics must be four numbers "fx,fy,cx,cy" in pixels, got "${value}".`);
  }
  const [fxPx, fyPx, cxPx, cyPx] = parts as [number, number, number, number];
  if (fxPx <= 0 || fyPx <= 0) throw new InvalidArgumentError(`--intrinsics focal lengths must be positive, got "${value}".`);
  return { fxPx, fyPx, cxPx, cyPx };
}

/** A comma-separated list whose items must come from `choices`. */
export function parseList<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T[] => {
    const items = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (items.length === 0) throw new InvalidArgumentError(`${flag} needs at least one of: ${choices.join(', ')}.`);
    for (const item of items) {
      if (!(choices as readonly string[]).includes(item)) {
        throw new InvalidArgumentError(`${flag}: unknown value "${item}"; choose from ${choices.join(', ')}.`);
      }
    }
    return [...new Set(items)] as T[];
  };
}

/** `--alpha`: what transparent pixels become (object captures on a transparent background need a flat one). */
export const ALPHA_CHOICES = ['white', 'black', 'keep'] as const;
export type AlphaChoice = (typeof ALPHA_CHOICES)[number];

export function alphaFlag(choice: AlphaChoice): AlphaHandling {
  return choice === 'white' ? 'flattenWhite' : choice === 'black' ? 'flattenBlack' : 'drop';
}
