/**
 * The pool's default logger: pino, level `info`, JSON lines to stderr through a destination that
 * never holds more than {@link STDERR_MAX_PENDING_BYTES} and never blocks.
 *
 * Measured with a worker printing ~1 KB lines in a tight loop for 3 s, into a Node process whose
 * stderr is a pipe nobody reads (test/pool/output-bounds.test.ts does the same):
 *
 * - `pino.destination(2)` (before): an asynchronous SonicBoom with no bound. Every record waited in
 *   memory, RSS 68 → 208 MB (+44 MB/s), and pino's exit hook then `flushSync`ed the backlog into
 *   the full pipe: `process.exit(0)` had not returned 55 s later.
 * - `pino.destination({ fd: 2, sync: true })`: bounded, but a synchronous write into a full pipe
 *   blocks the event loop until someone reads: the pool stopped reading the workers' pipes, the
 *   call never returned, and the process was still frozen after 60 s.
 * - `pino.destination({ fd: 2, maxLength: 1 MiB })` (asynchronous, drops beyond 1 MiB): RSS +25 MB,
 *   but the same exit hook `flushSync`s up to 1 MiB into the full pipe: exit hung (55 s).
 * - this destination: RSS +20..26 MB, the same after 3 s or 10 s of the loop (V8's heap reaching
 *   its working size under the churn; the logger holds at most 1 MiB), and `process.exit(0)`
 *   returns in 30..100 ms.
 *
 * How: records go to `process.stderr`, which libuv writes without blocking (a pipe is written
 * asynchronously on POSIX; Node writes files and TTYs synchronously, as for `console.error`).
 * While more than {@link STDERR_MAX_PENDING_BYTES} wait for the reader, new records are dropped and
 * counted here, where they are dropped; the first record that fits again is preceded by one record
 * saying how many were lost (`droppedRecords`). `process.exit()` does not wait for a pipe's pending
 * bytes, so it returns at once, losing at most those 1 MiB of records.
 *
 * @module
 */
import { hostname } from 'node:os';
import pino from 'pino';
import type { PoolLogger } from './options.js';

/** Bytes of log records allowed to wait for a slow stderr; beyond it records are dropped. */
export const STDERR_MAX_PENDING_BYTES = 1024 * 1024;

/** What the destination writes to: `process.stderr`, or a stand-in in tests. */
export interface StderrLike {
  readonly writableLength: number;
  write(chunk: string): boolean;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** A pino destination that drops (and counts) records instead of buffering without bound. */
export class BoundedStderr {
  /** Records dropped since the process started. */
  droppedTotal = 0;
  /** Records dropped and not yet reported on the stream. */
  private unreported = 0;
  private broken = false;

  constructor(
    private readonly out: StderrLike = process.stderr,
    private readonly maxPendingBytes = STDERR_MAX_PENDING_BYTES,
  ) {
    // A reader that went away (EPIPE) must not crash the application through its logger: from
    // then on records are dropped and counted (pino's own destination swallows EPIPE as well).
    out.on('error', () => {
      this.broken = true;
    });
  }

  write(record: string): boolean {
    if (this.broken || this.out.writableLength + record.length > this.maxPendingBytes) {
      this.droppedTotal++;
      this.unreported++;
      return true;
    }
    if (this.unreported > 0) {
      const n = this.unreported;
      this.unreported = 0;
      this.out.write(
        `${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, hostname: hostname(), name: 'dspex', droppedRecords: n, msg: `${n} log records dropped: stderr was not read fast enough` })}\n`,
      );
    }
    this.out.write(record);
    return true;
  }
}

let defaultLogger: PoolLogger | null = null;

/** The logger of every pool created without a `logger` option (one per process). */
export function getDefaultLogger(): PoolLogger {
  defaultLogger ??= pino({ name: 'dspex', level: 'info' }, new BoundedStderr());
  return defaultLogger;
}
