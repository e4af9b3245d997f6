/**
 * Shapes of "see inside Python" (issue 19) that several stages share: the stack dump a pool
 * returns (and the monitoring server serves), and the user metrics recorded by Python code through
 * `import dspex` (parsed by the pool, published on `dspex:python:metrics`, aggregated by the
 * collector, exported by Prometheus and the snapshot).
 *
 * @module
 */

/** `pool.dumpStack(workerId)`: every thread's Python traceback of one worker, at one moment. */
export interface PythonStack {
  pool: string;
  workerId: number;
  pid: number;
  /** When the dump was taken, ms since the epoch. */
  timestampMs: number;
  /**
   * faulthandler's text: per thread, `Thread 0x… (most recent call first):` (the thread that
   * handled the signal: `Current thread 0x…`) then `  File "…", line N in function` lines,
   * innermost first.
   */
  stack: string;
}

/** The kinds of user metric. */
export type UserMetricKind = 'counter' | 'gauge' | 'histogram';

/** One change to one series of a user metric, as a worker reported it (validated). */
export interface UserMetricChange {
  name: string;
  kind: UserMetricKind;
  /** Label names to values (names sorted, at most {@link USER_METRIC_LIMITS}.maxLabels). */
  labels: Readonly<Record<string, string>>;
  /** Counter: the increase since the worker's previous report; gauge: the value now; histogram: 0. */
  value: number;
  /** Histogram only: the buckets' upper bounds, ascending (the `+Inf` bucket is implicit). */
  bucketsLe?: readonly number[];
  /** Histogram only: observations per bucket since the previous report, `+Inf` last (length `bucketsLe.length + 1`). */
  bucketCounts?: readonly number[];
  /** Histogram only: sum of the observations since the previous report. */
  sum?: number;
  /** Histogram only: number of observations since the previous report. */
  count?: number;
}

/** One series of a user metric as the collector holds it (lifetime values). */
export interface UserMetricSeries {
  labels: Readonly<Record<string, string>>;
  /** Counter: the total; gauge: the latest value reported by any worker; histogram: the count. */
  value: number;
  /** Histogram only: cumulative counts per bound (Prometheus `le`), `sum` and `count`. */
  histogram?: { bucketsLe: number[]; cumulativeCounts: number[]; sum: number; count: number };
}

/** One user metric of a pool (`collector.getUserMetrics(pool)`). */
export interface UserMetric {
  /** The name as Python gave it (Prometheus exposes it as `dspex_user_<name>`). */
  name: string;
  kind: UserMetricKind;
  /** Label names, sorted (every series has these). */
  labelNames: string[];
  series: UserMetricSeries[];
}

/** The caps the Node side applies to user metrics, per pool (also checked in Python). */
export const USER_METRIC_LIMITS = {
  /** Distinct metric names per pool, besides Python's `overflow_<kind>` catch-alls; further names are dropped (and counted). */
  maxMetrics: 64,
  /** Label sets per metric; further ones count in one more series, whose label values are all `(other)`. */
  maxSeries: 32,
  maxLabels: 4,
  maxNameLength: 100,
  maxLabelValueLength: 64,
  maxBuckets: 32,
  /** Changes accepted from one frame; the rest of that frame is dropped. */
  maxChangesPerFrame: 4096,
} as const;

/** What a user metric name (and a label name) must look like. */
export const USER_METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
