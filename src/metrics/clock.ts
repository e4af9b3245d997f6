/**
 * The collector's clock: wall-clock milliseconds, injectable so tests move time without waiting.
 *
 * @module
 */

/** A source of wall-clock time, milliseconds since the epoch. */
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
