/**
 * What one pool's figures are made of, shared by the three sides that use them: the record side
 * (`PoolMetrics` in pool-metrics.ts writes them), the read side (pool-queries.ts answers
 * from them) and the memory accounting (memory-bound.ts bounds and measures them). The caps that
 * bound a pool, the retention of its series, the layout of a series row and the shape of its
 * per-command, per-worker and per-error-type entries live here, so none of those modules imports
 * another's class.
 *
 * @module
 */
import { errorCategories, type ErrorCategory } from '../contract/errors.js';
import type { LogHistogram } from './log-histogram.js';
import type { HistogramPool, SeriesRing, TieredCounter, TieredSketch } from './window-ring.js';
import type { UserMetricsStore } from './user-metrics.js';

/** Caps that bound the memory of one pool. */
export interface PoolLimits {
  /** Distinct commands kept apart; more are counted under `OVERFLOW_NAME`. */
  maxCommands: number;
  /**
   * Worker slots kept apart (ids 0..n-1) when the pool's size is unknown; a tracked pool raises it
   * to its `maxSize` (at most {@link MAX_WORKER_SLOTS}). Higher ids are counted in one overflow
   * slot, reported as `OVERFLOW_WORKER_ID` (-1).
   */
  maxWorkerSlots: number;
  /** Distinct error `category:type` pairs kept apart; more count as `category:(other)`. */
  maxErrorTypes: number;
}

/** Default caps. */
export const DEFAULT_POOL_LIMITS: Readonly<PoolLimits> = { maxCommands: 64, maxWorkerSlots: 32, maxErrorTypes: 64 };

/**
 * The most worker slots a pool keeps apart when sized from a tracked pool's `maxSize` (each slot
 * may hold up to {@link TieredSketch.maxBytes} of `DETAIL_TIERS`, about 122 kB in the worst case).
 */
export const MAX_WORKER_SLOTS = 1024;

/** Names longer than this (commands, error types) are cut: a name is kept per distinct value. */
export const MAX_NAME_LENGTH = 128;

/** Seconds of per-second counters kept: the longest 15-minute span (930 s) and then some. */
export const SECOND_SLOTS = 960;
/** Minutes of per-minute counters kept: the 1-hour trend plus the minute in progress. */
export const MINUTE_SLOTS = 61;
/** Spare histograms kept per pool for reuse. */
export const SPARE_HISTOGRAMS = 32;

// Fields of the per-second and per-minute series.
export const OPS = 0;
export const ERRORS = 1;
export const CHECKOUTS = 2;
export const REJECTIONS = 3;
export const CRASHES = 4;
export const RESTARTS = 5;
export const HC_FAILURES = 6;
/** Number of gauge samples in the period (1 per sampled second). */
export const SAMPLED = 7;
export const SIZE = 8;
export const BUSY = 9;
export const IDLE = 10;
export const STARTING = 11;
export const QUEUE_DEPTH = 12;
export const UTILIZATION = 13;
export const P50 = 14;
export const P99 = 15;
/** Ready warm spares of the pool (a gauge; not the histograms of SPARE_HISTOGRAMS). */
export const READY_SPARES = 16;
/** The p90 beside {@link P50} and {@link P99} (added for the web dashboard's latency chart). */
export const P90 = 17;
/**
 * First of the per-category error counts (`dspex:pool:error` events), one field per category in
 * the order of `errorCategories`: the error-rate-by-category chart over time.
 */
export const ERROR_CATEGORY_BASE = 18;
/** The series field of each error category. */
export const ERROR_CATEGORY_FIELD: Readonly<Record<ErrorCategory, number>> = Object.fromEntries(
  errorCategories.map((c, i) => [c, ERROR_CATEGORY_BASE + i]),
) as Record<ErrorCategory, number>;
/** Fields per row of a series. */
export const FIELDS = ERROR_CATEGORY_BASE + errorCategories.length;

/** One command's figures. */
export interface CommandState {
  readonly name: string;
  readonly op: TieredSketch;
  /** Queue wait of the second in progress (narrow, like every histogram the hot path writes). */
  queueWaitCur: LogHistogram;
  /** Lifetime queue wait of the command (merged each second: no windows). */
  readonly queueWait: LogHistogram;
  readonly errors: TieredCounter;
  ops: number;
  errorCount: number;
  /** The handler's execution time in Python (operations whose reply carried a timing), with lifetime. */
  readonly python: TieredSketch;
  /** The bridge's share of the same operations, with lifetime. */
  readonly bridge: TieredSketch;
}

/** One worker slot's figures. */
export interface WorkerState {
  readonly workerId: number;
  pid: number;
  generation: number;
  lastSeenMs: number;
  ops: number;
  errors: number;
  /** Replaced by an empty sketch when per-worker detail is shed under the memory cap. */
  op: TieredSketch;
}

/** One error `category:type` pair's counts. */
export interface ErrorTypeState {
  readonly category: ErrorCategory;
  readonly type: string;
  readonly counter: TieredCounter;
}

/**
 * One pool's figures as the queries and the memory accounting read them (`PoolMetrics`
 * is the one implementation). Read-only by contract: only `PoolMetrics` writes them, except the
 * scratch histograms, which any query may clear and fill (queries run one at a time).
 */
export interface PoolState {
  readonly name: string;
  readonly limits: PoolLimits;
  /** The second in progress (seconds since the epoch): completed seconds are `< sec`. */
  readonly sec: number;
  /** The second this pool was first heard from. */
  readonly firstSec: number;
  /** Operation durations of the whole pool (the sum of its commands', merged each second). */
  readonly op: TieredSketch;
  /** Queue waits of the whole pool (likewise). */
  readonly queueWait: TieredSketch;
  /** Python execution times of the whole pool (the sum of its commands', merged each second). */
  readonly python: TieredSketch;
  /** Bridge shares of the whole pool (likewise). */
  readonly bridge: TieredSketch;
  /** Per-second counters and gauge samples ({@link SECOND_SLOTS} rows of {@link FIELDS}). */
  readonly seconds: SeriesRing;
  /** Per-minute sums of the per-second rows, and each minute's quantiles. */
  readonly minutes: SeriesRing;
  readonly commands: ReadonlyMap<string, Readonly<CommandState>>;
  /** Worker slots kept apart, by id (ids 0..length-1). */
  readonly workers: readonly (Readonly<WorkerState> | undefined)[];
  /** The slot every higher id shares, reported as `OVERFLOW_WORKER_ID` (-1). */
  readonly overflowWorker: Readonly<WorkerState> | undefined;
  readonly errorTypes: ReadonlyMap<string, ErrorTypeState>;
  /** Metrics recorded by Python code (`import dspex`; issue 19). */
  readonly user: UserMetricsStore;
  readonly spares: HistogramPool;
  /** Scratch histograms for the queries (wide). */
  readonly scratch: LogHistogram;
  readonly scratch2: LogHistogram;
}

const TRIPLE: readonly number[] = [0.5, 0.9, 0.99];

/** p50, p90 and p99 in µs of a histogram (zeros when null or empty): the {@link P50}, {@link P90} and {@link P99} fields. */
export function quantileTriple(h: LogHistogram | null): [number, number, number] {
  if (h === null || h.count === 0) return [0, 0, 0];
  const q = h.quantilesNs(TRIPLE, []);
  return [q[0]! / 1e3, q[1]! / 1e3, q[2]! / 1e3];
}
