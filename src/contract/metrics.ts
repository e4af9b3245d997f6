/**
 * Query results of the MetricsCollector: the contract every consumer (dashboards, alerts, advisor,
 * Prometheus exporter, HTTP API) reads. Plain, JSON-serialisable objects.
 *
 * Units are in the names: `Us` microseconds, `Ms` milliseconds, `PerS` per second; ratios are 0..1.
 *
 * @module
 */
import type { ErrorCategory } from './errors.js';

/** The windows every summary is computed for. */
export type WindowName = '1m' | '5m' | '15m';

/** Window lengths in seconds. */
export const windowSeconds: Readonly<Record<WindowName, number>> = { '1m': 60, '5m': 300, '15m': 900 };

/** A latency distribution summary. All values in microseconds; all zero when `count` is 0. */
export interface LatencySummaryUs {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** One window of a pool's performance. */
export interface WindowSummary {
  /** Which window this is. */
  window: WindowName;
  /** Seconds of data the window actually covers (less than its length right after start). */
  coveredS: number;
  /** Operations completed in the window (successes and failures). */
  ops: number;
  /** Failed operations in the window. */
  errors: number;
  /** ops / coveredS: operations completed per second over the window. */
  throughputPerS: number;
  /** errors / ops, 0..1 (0 when no ops). */
  errorRate: number;
  /** Operation duration over the window, queue wait included (count, min, mean, p50..p999, max). */
  latencyUs: LatencySummaryUs;
  /** Time the window's calls waited for a worker (0 when one was idle). */
  queueWaitUs: LatencySummaryUs;
  /**
   * The handler's own execution time in Python over the window (operations whose reply carried a
   * timing; `count` says how many). Added with issue 19: absent from older producers.
   */
  pythonUs?: LatencySummaryUs;
  /** The bridge's share of those operations (end-to-end − queue wait − Python). Added with issue 19. */
  bridgeUs?: LatencySummaryUs;
  /** Average of busy / size over the window's seconds, 0..1. */
  utilization: number;
  /** Average queue depth over the window. */
  queueDepthAvg: number;
  /** 0..100, 100 for a healthy or idle pool: penalties for errors, crashes, saturation, backlog and queueing (docs/MONITORING_GUIDE.md, "Health score"). */
  healthScore: number;
  /**
   * Worker processes that crashed (ended on their own, `dspex:worker:terminate` reason `crash`)
   * within the window. Added with issue 12 (alerting): always set by the MetricsCollector, absent
   * from older producers.
   */
  workerCrashes?: number;
}

/** `getPerformanceSummary(pool)`. */
export interface PerformanceSummary {
  pool: string;
  timestampMs: number;
  windows: Record<WindowName, WindowSummary>;
}

/** Gauges sampled once a second. */
export interface PoolGauges {
  /** Target number of workers (`status().size`); without a tracked pool, the live workers seen in events. */
  size: number;
  /** Workers running a call now. */
  busy: number;
  /** Workers ready and waiting for a call. */
  idle: number;
  /** Workers whose Python process is starting (0 without a tracked pool). */
  starting: number;
  /** Calls waiting for a worker now. */
  queueDepth: number;
  /** busy / size, 0..1. */
  utilization: number;
  /**
   * Warm spares ready to take over a slot (`status().spares.ready`; 0 without spares). Always set
   * by `MetricsCollector`; absent from producers that predate spares.
   */
  spares?: number;
}

/** A short period's figures (a second or a minute). */
export interface PeriodMetrics {
  /** Start of the period, wall clock, ms since the epoch. */
  timestampMs: number;
  /** Length of the period, seconds. */
  periodS: number;
  ops: number;
  errors: number;
  throughputPerS: number;
  errorRate: number;
  latencyUs: LatencySummaryUs;
  queueWaitUs: LatencySummaryUs;
  /** Gauges: the last sampled values for a second, averages for a minute. */
  gauges: PoolGauges;
}

/** `getCurrentMetrics(pool)`. */
export interface CurrentMetrics {
  pool: string;
  timestampMs: number;
  /** The last complete second. */
  lastSecond: PeriodMetrics;
  /** The last 60 seconds. */
  lastMinute: PeriodMetrics;
  /** Gauges as sampled most recently. */
  gauges: PoolGauges;
  /** Lifetime counters. */
  totals: PoolTotals;
}

/** Lifetime counters of a pool (what Prometheus counters expose). */
export interface PoolTotals {
  /** Operations completed (successes and failures). */
  operations: number;
  /** Operations that failed. */
  errors: number;
  /** Workers handed to calls (`dspex:worker:checkout`). */
  checkouts: number;
  /** Calls refused because the queue was full (`dspex:pool:queue:rejected`). */
  queueRejections: number;
  /** Worker processes that ended on their own (`dspex:worker:terminate` reason `crash`). */
  workerCrashes: number;
  /** Replacement workers that became ready (`dspex:worker:init` reason `replacement`). */
  workerRestarts: number;
  /** Failed or timed-out health checks (`dspex:worker:health_check` with `ok: false`). */
  healthCheckFailures: number;
  /** Session calls served by another worker than the session's last (affinity `'prefer'`): state left behind. */
  sessionMoves: number;
  /**
   * Worker processes recycled (a planned restart: `recycleWorker()`, `maxCallsPerWorker`,
   * `maxWorkerRssBytes`), by reason. Added field: always set by `MetricsCollector`.
   */
  workerRecycles?: Record<string, number>;
}

/** One point of `getMetricsRange`. */
export interface RangePoint {
  timestampMs: number;
  ops: number;
  errors: number;
  throughputPerS: number;
  errorRate: number;
  latencyP50Us: number;
  latencyP99Us: number;
  queueDepth: number;
  utilization: number;
  /** p90 latency of the period, µs. Added field: always set by the MetricsCollector. */
  latencyP90Us?: number;
  /**
   * Errors of the period by category (`dspex:pool:error` events; categories with none left out),
   * so that `count / ops` is the period's error rate of that category. Added field: always set by
   * the MetricsCollector.
   */
  errorsByCategory?: Partial<Record<ErrorCategory, number>>;
}

/** `getMetricsRange(pool, fromMs, toMs)`: per-second points up to 15 minutes, per-minute beyond. */
export interface MetricsRange {
  pool: string;
  fromMs: number;
  toMs: number;
  /** 1 (per second) or 60 (per minute). */
  resolutionS: number;
  points: RangePoint[];
}

/** `getWorkerMetrics(pool, workerId)`: one worker slot. */
export interface WorkerMetrics {
  pool: string;
  /** The slot answered for: the id asked for, or {@link OVERFLOW_WORKER_ID} when that id shares the overflow slot. */
  workerId: number;
  pid: number;
  generation: number;
  /** Lifetime operations of the slot. */
  operations: number;
  errors: number;
  /** Last minute's latency of this slot (or of `window`, when asked for another window). */
  latencyUs: LatencySummaryUs;
  lastSeenMs: number;
  /** The window `latencyUs` covers (added; `'1m'` unless asked otherwise). */
  window?: WindowName;
  /** Seconds the latency window actually covers (added; per-worker windows have 10-second edges). */
  coveredS?: number;
}

/** `getErrorRates(pool, window)`. */
export interface ErrorRates {
  pool: string;
  window: WindowName;
  ops: number;
  errors: number;
  errorRate: number;
  /** Errors by category, with rate = count / ops. */
  byCategory: Partial<Record<ErrorCategory, { count: number; rate: number }>>;
  /** Errors by `category:type`. */
  byType: { category: ErrorCategory; type: string; count: number; rate: number }[];
}

/** A cumulative histogram for Prometheus: bucket upper bounds in seconds and cumulative counts. */
export interface CumulativeHistogram {
  /** Upper bounds (`le`), ascending, in seconds; the implicit `+Inf` bucket is `count`. */
  bucketsS: number[];
  /** Cumulative counts aligned with `bucketsS`. */
  cumulativeCounts: number[];
  sumS: number;
  count: number;
}

// ---------------------------------------------------------------------------------------------
// Added with the MetricsCollector (issue 4): per-command figures and histogram views.
// ---------------------------------------------------------------------------------------------

/**
 * The name commands, error types and worker slots beyond the collector's caps are counted under
 * (memory is bounded per pool: see docs/MONITORING_GUIDE.md).
 */
export const OVERFLOW_NAME = '(other)';

/**
 * The pseudo worker id of the overflow slot: every worker id beyond the slots a pool keeps apart
 * counts there. `getWorkerIds` lists it (once) instead of the ids that share it, and
 * `getWorkerMetrics` answers with it for any such id, so a consumer keeping one entry per returned
 * `workerId` counts each operation once. Prometheus exports it as `worker_id="overflow"`.
 */
export const OVERFLOW_WORKER_ID = -1;

/**
 * Which latency distribution: the whole call (`operation`, queue wait included), the wait for a
 * worker (`queue_wait`), the handler's own execution time in Python (`python`, added with issue
 * 19) or the bridge's share of the call (`bridge`: end-to-end minus queue wait minus Python).
 */
export type LatencyKind = 'operation' | 'queue_wait' | 'python' | 'bridge';

/** One bucket of `getLatencyDistribution`: count of durations in `[lowerUs, upperUs)`. */
export interface LatencyBucket {
  lowerUs: number;
  upperUs: number;
  count: number;
}

/** Lifetime count of one error `category:type` (`getErrorTotals`). */
export interface ErrorTotal {
  category: ErrorCategory;
  type: string;
  count: number;
}

/** Lifetime counts of one command (`getOperationTotalsByCommand`). */
export interface CommandTotals {
  command: string;
  operations: number;
  errors: number;
}

/** One command over a window (`getCommandMetrics`). Command windows have 10-second edges. */
export interface CommandMetrics {
  pool: string;
  command: string;
  window: WindowName;
  /** Seconds of data the window covers. */
  coveredS: number;
  ops: number;
  errors: number;
  throughputPerS: number;
  errorRate: number;
  latencyUs: LatencySummaryUs;
  /** The command's execution time in Python over the window (added with issue 19). */
  pythonUs?: LatencySummaryUs;
  /** The bridge's share of the command's calls over the window (added with issue 19). */
  bridgeUs?: LatencySummaryUs;
}
