/**
 * The clocks, in one place: the monotonic nanosecond clock the pool times calls with, the
 * wall-clock anchor that turns those readings into timestamps, and the collector's injectable
 * wall clock ({@link MetricsClock}) that tests move by hand.
 *
 * This module imports nothing of ours: every stage may use it.
 *
 * @module
 */

/**
 * The monotonic clock in nanoseconds, as a number. Built on `performance.now()` (sub-microsecond
 * resolution, no BigInt allocation per read, unlike `process.hrtime.bigint()`).
 */
export function nowNs(): number {
  return Math.round(performance.now() * 1e6);
}

/**
 * Wall-clock time at monotonic zero: `Date.now() - performance.now()`, re-read whenever an
 * infrequent event reads `Date.now()` anyway, so timestamps derived from monotonic readings
 * (checkout, checkin) follow wall-clock adjustments (NTP) instead of drifting since process start.
 */
let wallAnchorMs = performance.timeOrigin;

/** Re-anchor derived timestamps to the wall clock; returns `Date.now()`. */
export function wallNowMs(): number {
  const now = Date.now();
  wallAnchorMs = now - performance.now();
  return now;
}

/**
 * Wall-clock milliseconds of a {@link nowNs} reading. Hot call sites that already read the
 * monotonic clock pass that reading (`atNs`) instead of paying for a `Date.now()` too: on virtual
 * machines without a vDSO clock, each clock read costs ~50 ns, as much as the whole emit.
 */
export function wallMsAt(atNs: number): number {
  return wallAnchorMs + atNs / 1e6;
}

/** A source of wall-clock time, milliseconds since the epoch (the collector's clock). */
export interface MetricsClock {
  nowMs(): number;
}

/** The real clock (`Date.now()`). */
export const systemClock: MetricsClock = { nowMs: () => Date.now() };

/** A clock that only moves when told to (tests, benchmarks, replays). */
export class ManualClock implements MetricsClock {
  constructor(private ms = 1_700_000_000_000) {}

  nowMs(): number {
    return this.ms;
  }

  /** Move forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.ms += ms;
  }

  /** Jump to `ms`. */
  set(ms: number): void {
    this.ms = ms;
  }
}
