/**
 * Validation of numeric options for the classes whose options are plain objects (the pool's go
 * through a zod schema): a bad value throws an `invalid_request` / `invalid_options` error naming
 * the option, instead of being clamped or turning into `NaN` somewhere later.
 *
 * @module
 */
import { invalidOption } from './errors.js';

/** Bounds of {@link numberOption}. */
export interface NumberBounds {
  min: number;
  max?: number;
  /** Require an integer (default true). */
  integer?: boolean;
}

/** `value`, or `fallback` when undefined; throws naming `where` and `option` when out of bounds. Pure. */
export function numberOption(where: string, option: string, value: unknown, fallback: number, bounds: NumberBounds): number {
  if (value === undefined) return fallback;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  const integer = bounds.integer ?? true;
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < bounds.min || value > max) {
    const shown = typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
    throw invalidOption(where, option, `must be ${integer ? 'an integer' : 'a number'} in ${bounds.min}..${max}, got ${shown}`);
  }
  return value;
}
