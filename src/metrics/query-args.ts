/**
 * Validation of the collector's query arguments. Queries come from consumers that may pass what a
 * user typed (a CLI flag, a URL parameter, a rule in a config file): a bad window or range throws a
 * typed error naming the argument, instead of answering with NaN or crashing inside a ring. Pure.
 *
 * @module
 */
import { invalidArgument } from '../contract/errors.js';
import { windowSeconds, type LatencyKind, type WindowName } from '../contract/metrics.js';

const WINDOWS = Object.keys(windowSeconds) as WindowName[];
const KINDS: readonly LatencyKind[] = ['operation', 'queue_wait', 'python', 'bridge'];

/** Throws unless `window` is `1m`, `5m` or `15m`. */
export function checkWindow(where: string, window: unknown): asserts window is WindowName {
  if (typeof window !== 'string' || !Object.hasOwn(windowSeconds, window)) {
    throw invalidArgument(where, 'window', `must be one of ${WINDOWS.join(', ')}, got ${JSON.stringify(window)}`);
  }
}

/** Throws unless `kind` is a latency kind. */
export function checkKind(where: string, kind: unknown): asserts kind is LatencyKind {
  if (!KINDS.includes(kind as LatencyKind)) throw invalidArgument(where, 'kind', `must be one of ${KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
}

/** Throws unless `fromMs` ≤ `toMs`, both finite. */
export function checkRange(where: string, fromMs: unknown, toMs: unknown): void {
  if (typeof fromMs !== 'number' || !Number.isFinite(fromMs)) throw invalidArgument(where, 'fromMs', 'must be a finite number (ms since the epoch)');
  if (typeof toMs !== 'number' || !Number.isFinite(toMs)) throw invalidArgument(where, 'toMs', 'must be a finite number (ms since the epoch)');
  if (fromMs > toMs) throw invalidArgument(where, 'fromMs', `must not be after toMs (${fromMs} > ${toMs})`);
}

/** Throws unless `value` is an integer in `min..max`. */
export function checkInteger(where: string, argument: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(where, argument, `must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  }
}
