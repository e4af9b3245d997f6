/**
 * The closed loop of callers every throughput figure of the benchmarks comes from: `concurrency`
 * loops, each awaiting its call before the next (as a service's request handlers do), for a
 * fixed time. With latency recording each call's time goes into a preallocated buffer (no
 * allocation per call); without it the loop only counts (`bench otel` and `bench telemetry`
 * compare throughput alone, and an extra clock read per call would be part of what they time).
 *
 * @module
 */
import { quantileSorted } from './report.js';

/** Latencies kept per run at most (the first ones; 32 MB). */
const MAX_SAMPLES = 4_000_000;

/** What {@link drive} measured. */
export interface RunResult {
  ops: number;
  seconds: number;
  /** Every call's latency in µs (up to the first 4 M calls), ascending; empty with `latency: false`. */
  latUs: Float64Array;
}

/**
 * Drive `call` (given its loop's index) from `concurrency` loops for `ms`, recording each call's
 * latency unless `opts.latency` is false.
 */
export async function drive(concurrency: number, ms: number, call: (loop: number) => Promise<unknown>, opts: { latency?: boolean } = {}): Promise<RunResult> {
  const record = opts.latency !== false;
  const lat = new Float64Array(record ? MAX_SAMPLES : 0);
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      if (!record) {
        while (performance.now() < end) {
          await call(loop);
          n++;
        }
        return;
      }
      while (performance.now() < end) {
        const s = performance.now();
        await call(loop);
        if (n < lat.length) lat[n] = (performance.now() - s) * 1000;
        n++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { ops: n, seconds, latUs: lat.slice(0, Math.min(n, lat.length)).sort() };
}

/** Calls per second of one run. Pure. */
export function opsPerS(r: RunResult): number {
  return r.ops / r.seconds;
}

/** Throughput and p50 / p99 (µs, nearest rank over every call's latency) of several {@link drive} runs together. Pure. */
export function summarizeRuns(rs: readonly RunResult[]): { opsPerS: number; p50Us: number; p99Us: number; calls: number } {
  const all = new Float64Array(rs.reduce((a, r) => a + r.latUs.length, 0));
  let o = 0;
  for (const r of rs) {
    all.set(r.latUs, o);
    o += r.latUs.length;
  }
  all.sort();
  const ops = rs.reduce((a, r) => a + r.ops, 0);
  return { opsPerS: ops / rs.reduce((a, r) => a + r.seconds, 0), p50Us: quantileSorted(all, 0.5), p99Us: quantileSorted(all, 0.99), calls: ops };
}
