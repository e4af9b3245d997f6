/**
 * Everything the collector keeps about one pool: counters, gauge samples and latency sketches over
 * time, with a fixed worst-case size ({@link poolMemoryBound}). No clock and no channels: the
 * collector calls the `record*` methods from its subscribers and {@link PoolMetrics.endSecond} as
 * each second completes, which makes this class testable (and benchmarkable) on its own.
 *
 * @module
 */
import type { ErrorCategory } from '../pool/errors.js';
import { cumulativeHistogram, logBuckets } from './histogram-views.js';
import { healthScore } from './health-score.js';
import { emptyLatencySummary, keyOf, LogHistogram, MAX_HISTOGRAM_BYTES, MAX_WIDE_HISTOGRAM_BYTES } from './log-histogram.js';
import {
  OVERFLOW_NAME,
  OVERFLOW_WORKER_ID,
  windowSeconds,
  type CommandMetrics,
  type CommandTotals,
  type CumulativeHistogram,
  type ErrorRates,
  type ErrorTotal,
  type LatencyBucket,
  type LatencyKind,
  type MetricsRange,
  type PeriodMetrics,
  type PoolGauges,
  type PoolTotals,
  type RangePoint,
  type WindowName,
  type WindowSummary,
  type WorkerMetrics,
} from './types.js';
import { DETAIL_TIERS, HistogramPool, POOL_TIERS, SeriesRing, TieredCounter, TieredSketch, windowSpan, type WindowSpan } from './window-ring.js';

/** What the collector needs of a live pool to sample its gauges (the real SessionPool fits). */
export interface TrackablePool {
  readonly name: string;
  /** The pool's options, when it exposes them: `maxSize` sizes the worker slots as soon as it is tracked. */
  readonly options?: { readonly maxSize?: number };
  status(): {
    size: number;
    busy: number;
    idle: number;
    starting: number;
    queueDepth: number;
    /** The most workers the pool runs: worker ids 0..maxSize-1 are kept apart (up to {@link MAX_WORKER_SLOTS}). */
    maxSize?: number;
    /** `'stopped'` ends the tracking: a stopped pool is no longer sampled. */
    lifecycle?: string;
  };
}

/** Caps that bound the memory of one pool. */
export interface PoolLimits {
  /** Distinct commands kept apart; more are counted under {@link OVERFLOW_NAME}. */
  maxCommands: number;
  /**
   * Worker slots kept apart (ids 0..n-1) when the pool's size is unknown; a tracked pool raises it
   * to its `maxSize` (at most {@link MAX_WORKER_SLOTS}). Higher ids are counted in one overflow
   * slot, reported as {@link OVERFLOW_WORKER_ID}.
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
const SPARE_HISTOGRAMS = 32;

// Fields of the per-second and per-minute series.
const OPS = 0;
const ERRORS = 1;
const CHECKOUTS = 2;
const REJECTIONS = 3;
const CRASHES = 4;
const RESTARTS = 5;
const HC_FAILURES = 6;
/** Number of gauge samples in the period (1 per sampled second). */
const SAMPLED = 7;
const SIZE = 8;
const BUSY = 9;
const IDLE = 10;
const STARTING = 11;
const QUEUE_DEPTH = 12;
const UTILIZATION = 13;
const P50 = 14;
const P99 = 15;
const FIELDS = 16;

/** Fixed allowance per map entry / small object when bounding memory (V8 object + Map entry + name string). */
const ENTRY_BYTES = 512 + 2 * MAX_NAME_LENGTH;
const ERROR_CATEGORY_COUNT = 7;

/**
 * The most bytes one pool's metrics can hold with these caps, by construction: every histogram
 * slot full over the whole key range, every command, worker slot (plus the overflow slot) and error
 * type in use, the spare list full. Independent of event count and uptime.
 *
 * `workerSlots` is the number of worker ids kept apart: `limits.maxWorkerSlots` for a pool whose
 * size is unknown (the default), `max(limits.maxWorkerSlots, min(maxSize, MAX_WORKER_SLOTS))` for
 * a tracked pool ({@link PoolMetrics.memoryBound} gives a pool's own). The worst case of any pool
 * is `poolMemoryBound(limits, MAX_WORKER_SLOTS)` (with the default caps about 136 MB, against about
 * 15 MB for 32 slots: each slot kept apart adds a detail sketch, about 122 kB at worst).
 */
export function poolMemoryBound(limits: PoolLimits = DEFAULT_POOL_LIMITS, workerSlots: number = limits.maxWorkerSlots): number {
  const poolSketch = TieredSketch.maxBytes(POOL_TIERS, true);
  const detailSketch = TieredSketch.maxBytes(DETAIL_TIERS, false);
  const counter = new TieredCounter(DETAIL_TIERS, 0).byteSize();
  const poolCounter = new TieredCounter(POOL_TIERS, 0).byteSize();
  const series = (SECOND_SLOTS + MINUTE_SLOTS) * FIELDS * 8 + 256;
  // per command: windowed sketch and its lifetime, queue wait of the second in progress and lifetime
  const commands = (limits.maxCommands + 1) * (detailSketch + MAX_HISTOGRAM_BYTES + 2 * MAX_WIDE_HISTOGRAM_BYTES + counter + ENTRY_BYTES);
  const workers = (workerSlots + 1) * (detailSketch + ENTRY_BYTES) + 8 * workerSlots;
  const errorTypes = (limits.maxErrorTypes + ERROR_CATEGORY_COUNT) * (poolCounter + ENTRY_BYTES);
  const spares = SPARE_HISTOGRAMS * MAX_HISTOGRAM_BYTES;
  const scratch = 2 * MAX_WIDE_HISTOGRAM_BYTES;
  return 2 * poolSketch + series + commands + workers + errorTypes + spares + scratch + 4096;
}

interface CommandState {
  readonly name: string;
  readonly op: TieredSketch;
  /** Queue wait of the second in progress (narrow, like every histogram the hot path writes). */
  queueWaitCur: LogHistogram;
  /** Lifetime queue wait of the command (merged each second: no windows). */
  readonly queueWait: LogHistogram;
  readonly errors: TieredCounter;
  ops: number;
  errorCount: number;
}

interface WorkerState {
  readonly workerId: number;
  pid: number;
  generation: number;
  lastSeenMs: number;
  ops: number;
  errors: number;
  readonly op: TieredSketch;
}

interface ErrorTypeState {
  readonly category: ErrorCategory;
  readonly type: string;
  readonly counter: TieredCounter;
}

const cut = (name: string): string => (name.length > MAX_NAME_LENGTH ? name.slice(0, MAX_NAME_LENGTH) : name);

/** One pool's metrics. */
export class PoolMetrics {
  /** The second in progress (seconds since the epoch): completed seconds are `< sec`. */
  sec: number;
  /** The second this pool was first heard from. */
  readonly firstSec: number;
  /** The last second an event of this pool was seen. */
  lastHeardSec: number;
  /** The live pool, when tracked: gauges are sampled from it. */
  tracked: TrackablePool | null = null;

  private readonly spares = new HistogramPool(SPARE_HISTOGRAMS);
  private readonly op: TieredSketch;
  private readonly queueWait: TieredSketch;
  private readonly seconds: SeriesRing;
  private readonly minutes: SeriesRing;
  private readonly commands = new Map<string, CommandState>();
  /** Worker slots kept apart, by id (ids 0..length-1); grows to a tracked pool's maxSize. */
  private readonly workers: (WorkerState | undefined)[];
  /** The slot every higher id shares, reported as {@link OVERFLOW_WORKER_ID}. */
  private overflowWorker: WorkerState | undefined = undefined;
  private readonly errorTypes = new Map<string, ErrorTypeState>();
  private readonly scratch = new LogHistogram(true);
  private readonly scratch2 = new LogHistogram(true);

  // Counters of the second in progress (plain fields: the hot path does not index arrays).
  private curOps = 0;
  private curErrors = 0;
  private curCheckouts = 0;
  private curRejections = 0;
  private curCrashes = 0;
  private curRestarts = 0;
  private curHcFailures = 0;

  // Lifetime operation counters live apart from `totals`: one field store each on the hot path.
  private opsTotal = 0;
  private errorsTotal = 0;
  private readonly totals: PoolTotals = {
    operations: 0,
    errors: 0,
    checkouts: 0,
    queueRejections: 0,
    workerCrashes: 0,
    workerRestarts: 0,
    healthCheckFailures: 0,
  };

  // Gauge estimates from events, for pools that are not tracked.
  private liveWorkers = 0;
  private busyWorkers = 0;
  private lastQueueDepth = 0;
  private gauges: PoolGauges = { size: 0, busy: 0, idle: 0, starting: 0, queueDepth: 0, utilization: 0 };

  // One-entry caches: consecutive events usually name the same command.
  private lastCommandName: string | null = null;
  private lastCommand: CommandState | null = null;

  constructor(
    readonly name: string,
    startSec: number,
    readonly limits: PoolLimits = DEFAULT_POOL_LIMITS,
  ) {
    this.sec = startSec;
    this.firstSec = startSec;
    this.lastHeardSec = startSec;
    this.op = new TieredSketch(POOL_TIERS, this.spares, startSec, true);
    this.queueWait = new TieredSketch(POOL_TIERS, this.spares, startSec, true);
    this.seconds = new SeriesRing(SECOND_SLOTS, FIELDS, startSec);
    this.minutes = new SeriesRing(MINUTE_SLOTS, FIELDS, Math.floor(startSec / 60));
    this.workers = new Array<WorkerState | undefined>(limits.maxWorkerSlots).fill(undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Recording (hot paths: no allocation once a command / worker slot is known)
  // -------------------------------------------------------------------------------------------

  /**
   * One finished operation. `workerId` -1 when the call never got a worker; its queue wait is then
   * recorded only when non-zero (a call refused or timed out in the queue before checkout carries
   * no wait). `startMs` is the wall-clock start of the call (the worker's last-seen time is its end);
   * `pid` the Python process that served it.
   */
  recordOperation(command: string, workerId: number, durationNs: number, queueWaitNs: number, failed: boolean, startMs: number, pid = 0): void {
    // Three histogram writes per operation: the command's duration and queue wait and the worker's
    // duration. The pool's distributions are the sum of its commands', merged once a second.
    const kd = keyOf(durationNs);
    this.curOps++;
    this.opsTotal++;
    if (failed) {
      this.curErrors++;
      this.errorsTotal++;
    }
    const c = command === this.lastCommandName && this.lastCommand !== null ? this.lastCommand : this.commandFor(command);
    c.op.cur.recordKey(kd, durationNs);
    c.ops++;
    if (failed) {
      c.errorCount++;
      c.errors.add();
    }
    if (workerId >= 0 || queueWaitNs > 0) c.queueWaitCur.record(queueWaitNs);
    if (workerId >= 0) {
      const ws = this.workers;
      const w = (workerId < ws.length ? ws[workerId] : this.overflowWorker) ?? this.workerFor(workerId);
      w.op.cur.recordKey(kd, durationNs);
      w.ops++;
      if (failed) w.errors++;
      w.lastSeenMs = startMs + durationNs / 1e6;
      // Worker events carry pid and generation; this is for slots first seen through operations.
      if (w.pid === 0) w.pid = pid;
    }
    this.lastHeardSec = this.sec;
  }

  /** A call got a worker. */
  recordCheckout(workerId: number, pid: number, generation: number, queueDepth: number, timestampMs: number): void {
    this.curCheckouts++;
    this.totals.checkouts++;
    this.busyWorkers++;
    this.lastQueueDepth = queueDepth;
    this.touchWorker(workerId, pid, generation, timestampMs);
  }

  /** A worker came back from a call. */
  recordCheckin(workerId: number, pid: number, generation: number, timestampMs: number): void {
    if (this.busyWorkers > 0) this.busyWorkers--;
    this.touchWorker(workerId, pid, generation, timestampMs);
  }

  /** A worker became ready; `replacement` counts as a restart. */
  recordWorkerInit(workerId: number, pid: number, generation: number, replacement: boolean, timestampMs: number): void {
    this.liveWorkers++;
    if (replacement) {
      this.curRestarts++;
      this.totals.workerRestarts++;
    }
    this.touchWorker(workerId, pid, generation, timestampMs);
  }

  /** A worker ended; `crash` counts as a crash. */
  recordWorkerTerminate(workerId: number, pid: number, generation: number, crash: boolean, timestampMs: number): void {
    if (this.liveWorkers > 0) this.liveWorkers--;
    if (crash) {
      this.curCrashes++;
      this.totals.workerCrashes++;
    }
    this.touchWorker(workerId, pid, generation, timestampMs);
  }

  /** A health check finished. */
  recordHealthCheck(workerId: number, pid: number, generation: number, ok: boolean, timestampMs: number): void {
    if (!ok) {
      this.curHcFailures++;
      this.totals.healthCheckFailures++;
    }
    this.touchWorker(workerId, pid, generation, timestampMs);
  }

  /** The queue depth changed. */
  recordQueueDepth(queueDepth: number): void {
    this.lastQueueDepth = queueDepth;
    this.lastHeardSec = this.sec;
  }

  /** A call was refused because the queue was full. */
  recordQueueRejection(queueDepth: number): void {
    this.curRejections++;
    this.totals.queueRejections++;
    this.lastQueueDepth = queueDepth;
    this.lastHeardSec = this.sec;
  }

  /**
   * An error on `dspex:pool:error`. Types are cut to {@link MAX_NAME_LENGTH} before they are keyed,
   * so two long types with the same prefix are one entry (and one series), never two with one label.
   */
  recordError(category: ErrorCategory, type: string): void {
    type = cut(type);
    let key = category + ':' + type;
    let e = this.errorTypes.get(key);
    if (e === undefined) {
      if (this.errorTypes.size >= this.limits.maxErrorTypes) {
        type = OVERFLOW_NAME;
        key = category + ':' + type;
        e = this.errorTypes.get(key);
      }
      if (e === undefined) {
        e = { category, type, counter: new TieredCounter(POOL_TIERS, this.sec) };
        this.errorTypes.set(key, e);
      }
    }
    e.counter.add();
    this.lastHeardSec = this.sec;
  }

  /**
   * A pool of this name stopped: the event-estimated gauges drop to zero and the tracked pool is no
   * longer sampled — unless it is a different, live pool tracked under the same name (its status
   * says so: any lifecycle but `'stopped'`). A tracked pool without a lifecycle is let go.
   */
  recordPoolTerminate(): void {
    const t = this.tracked;
    if (t !== null) {
      let lifecycle: string | undefined;
      try {
        lifecycle = t.status().lifecycle;
      } catch {
        lifecycle = undefined;
      }
      if (lifecycle === undefined || lifecycle === 'stopped') this.tracked = null;
    }
    this.liveWorkers = 0;
    this.busyWorkers = 0;
    this.lastQueueDepth = 0;
    this.lastHeardSec = this.sec;
  }

  /** Note that the pool was heard from (any event). */
  touch(): void {
    this.lastHeardSec = this.sec;
  }

  // -------------------------------------------------------------------------------------------
  // Time
  // -------------------------------------------------------------------------------------------

  /**
   * The second {@link sec} completed: store its counters and a gauge sample, rotate every window,
   * and move to the next second.
   */
  endSecond(): void {
    const s = this.sec;
    const g = this.sampleGauges();
    const seconds = this.seconds;
    seconds.set(s, OPS, this.curOps);
    seconds.set(s, ERRORS, this.curErrors);
    seconds.set(s, CHECKOUTS, this.curCheckouts);
    seconds.set(s, REJECTIONS, this.curRejections);
    seconds.set(s, CRASHES, this.curCrashes);
    seconds.set(s, RESTARTS, this.curRestarts);
    seconds.set(s, HC_FAILURES, this.curHcFailures);
    seconds.set(s, SAMPLED, 1);
    seconds.set(s, SIZE, g.size);
    seconds.set(s, BUSY, g.busy);
    seconds.set(s, IDLE, g.idle);
    seconds.set(s, STARTING, g.starting);
    seconds.set(s, QUEUE_DEPTH, g.queueDepth);
    seconds.set(s, UTILIZATION, g.utilization);

    // The pool's second is the sum of its commands' (every operation has a command, or the overflow).
    const opCur = this.op.cur;
    const qwCur = this.queueWait.cur;
    for (const c of this.commands.values()) {
      if (c.op.cur.count > 0) opCur.merge(c.op.cur);
      if (c.queueWaitCur.count > 0) qwCur.merge(c.queueWaitCur);
    }
    this.op.endSecond();
    this.queueWait.endSecond();
    for (const c of this.commands.values()) {
      c.op.endSecond();
      c.errors.endSecond();
      if (c.queueWaitCur.count > 0) {
        c.queueWait.merge(c.queueWaitCur);
        c.queueWaitCur.clear();
      }
    }
    for (const w of this.workers) w?.op.endSecond();
    this.overflowWorker?.op.endSecond();
    for (const e of this.errorTypes.values()) e.counter.endSecond();

    // Per-second quantiles for the range query (the fine slot just pushed is this second).
    const q = quantilePair(this.op.lastFineSlot());
    seconds.set(s, P50, q[0]!);
    seconds.set(s, P99, q[1]!);

    const m = Math.floor(s / 60);
    const minutes = this.minutes;
    minutes.advanceTo(m);
    for (let f = OPS; f <= UTILIZATION; f++) minutes.add(m, f, seconds.get(s, f));
    if ((s + 1) % 60 === 0) {
      const mq = quantilePair(this.op.lastCoarseSlot());
      minutes.set(m, P50, mq[0]!);
      minutes.set(m, P99, mq[1]!);
    }

    this.curOps = this.curErrors = this.curCheckouts = this.curRejections = 0;
    this.curCrashes = this.curRestarts = this.curHcFailures = 0;
    this.sec = s + 1;
    seconds.advanceTo(this.sec);
  }

  /**
   * Move to second `sec` (> {@link sec}), completing every second in between. A jump beyond the
   * retention drops the windows at once instead of rotating through empty seconds.
   */
  advanceTo(sec: number): void {
    if (sec <= this.sec) return;
    if (sec - this.sec > SECOND_SLOTS + 60) {
      this.endSecond(); // keep what the second in progress holds in the lifetime figures
      this.op.reset(sec);
      this.queueWait.reset(sec);
      for (const c of this.commands.values()) {
        c.op.reset(sec);
        c.errors.reset(sec);
      }
      for (const w of this.workers) w?.op.reset(sec);
      this.overflowWorker?.op.reset(sec);
      for (const e of this.errorTypes.values()) e.counter.reset(sec);
      this.seconds.advanceTo(sec);
      this.minutes.advanceTo(Math.floor(sec / 60));
      this.sec = sec;
      return;
    }
    while (this.sec < sec) this.endSecond();
  }

  // -------------------------------------------------------------------------------------------
  // Queries
  // -------------------------------------------------------------------------------------------

  /** Lifetime counters (a copy). */
  getTotals(): PoolTotals {
    return { ...this.totals, operations: this.opsTotal, errors: this.errorsTotal };
  }

  /** Gauges as sampled most recently (a copy). */
  getGauges(): PoolGauges {
    return { ...this.gauges };
  }

  /** The span of a pool-level window ending at the last complete second. */
  span(window: WindowName): WindowSpan {
    return windowSpan(windowSeconds[window], this.sec, POOL_TIERS);
  }

  /** Seconds of a span this pool has data for. */
  private covered(span: WindowSpan): number {
    return Math.max(0, span.endSec - Math.max(span.startSec, this.firstSec));
  }

  /** One window of the performance summary. */
  windowSummary(window: WindowName): WindowSummary {
    const L = windowSeconds[window];
    const span = this.span(window);
    const coveredS = this.covered(span);
    const from = span.startSec;
    const to = span.endSec;
    const s = this.seconds;
    const ops = s.sum(OPS, from, to);
    const errors = s.sum(ERRORS, from, to);
    const sampled = s.sum(SAMPLED, from, to);
    const lat = this.scratch;
    lat.clear();
    this.op.windowInto(lat, L);
    const qw = this.scratch2;
    qw.clear();
    this.queueWait.windowInto(qw, L);
    const latencyUs = lat.summaryUs();
    const queueWaitUs = qw.summaryUs();
    const utilization = sampled > 0 ? s.sum(UTILIZATION, from, to) / sampled : 0;
    const queueDepthAvg = sampled > 0 ? s.sum(QUEUE_DEPTH, from, to) / sampled : 0;
    const sizeAvg = sampled > 0 ? s.sum(SIZE, from, to) / sampled : 0;
    const errorRate = ops > 0 ? errors / ops : 0;
    return {
      window,
      coveredS,
      ops,
      errors,
      throughputPerS: coveredS > 0 ? ops / coveredS : 0,
      errorRate,
      latencyUs,
      queueWaitUs,
      utilization,
      queueDepthAvg,
      healthScore: healthScore({
        errorRate,
        crashes: s.sum(CRASHES, from, to),
        utilization,
        queueDepthAvg,
        sizeAvg,
        latencyP99Us: latencyUs.p99,
        queueWaitP99Us: queueWaitUs.p99,
      }),
    };
  }

  /** The last complete second. */
  lastSecond(): PeriodMetrics {
    const t = this.sec - 1;
    const s = this.seconds;
    const ops = s.get(t, OPS);
    const errors = s.get(t, ERRORS);
    const last = t >= this.firstSec ? this.op.lastFineSlot() : null;
    const lastQw = t >= this.firstSec ? this.queueWait.lastFineSlot() : null;
    return {
      timestampMs: t * 1000,
      periodS: 1,
      ops,
      errors,
      throughputPerS: ops,
      errorRate: ops > 0 ? errors / ops : 0,
      latencyUs: summaryOf(last),
      queueWaitUs: summaryOf(lastQw),
      gauges: this.gaugesOver(t, t + 1),
    };
  }

  /** The last 60 complete seconds. */
  lastMinute(): PeriodMetrics {
    const w = this.windowSummary('1m');
    const span = this.span('1m');
    return {
      timestampMs: span.startSec * 1000,
      periodS: 60,
      ops: w.ops,
      errors: w.errors,
      throughputPerS: w.throughputPerS,
      errorRate: w.errorRate,
      latencyUs: w.latencyUs,
      queueWaitUs: w.queueWaitUs,
      gauges: this.gaugesOver(span.startSec, span.endSec),
    };
  }

  /** Average gauges over seconds `[from, to)` (the sample itself for one second). */
  private gaugesOver(from: number, to: number): PoolGauges {
    const s = this.seconds;
    const n = s.sum(SAMPLED, from, to);
    if (n === 0) return { size: 0, busy: 0, idle: 0, starting: 0, queueDepth: 0, utilization: 0 };
    return {
      size: s.sum(SIZE, from, to) / n,
      busy: s.sum(BUSY, from, to) / n,
      idle: s.sum(IDLE, from, to) / n,
      starting: s.sum(STARTING, from, to) / n,
      queueDepth: s.sum(QUEUE_DEPTH, from, to) / n,
      utilization: s.sum(UTILIZATION, from, to) / n,
    };
  }

  /**
   * Points over `[fromMs, toMs)`: per second when the span asked for is at most 15 minutes
   * (`floor(toMs/1000) − floor(fromMs/1000) ≤ 900`) and still held per second, per minute otherwise
   * (the last hour; the minute in progress included with its completed seconds). Only periods since
   * the pool was first heard from and already complete (per second) or partly complete (per
   * minute) are returned, so a 15-minute range not aligned on seconds gives 900 or 901 points. The
   * resolution depends only on the range asked for, not on how far the clock moved since the caller
   * read it.
   */
  range(fromMs: number, toMs: number): MetricsRange {
    let fromSec = Math.floor(fromMs / 1000);
    let toSec = Math.min(Math.ceil(toMs / 1000), this.sec);
    const spanS = Math.floor(toMs / 1000) - fromSec;
    fromSec = Math.max(fromSec, this.firstSec);
    const points: RangePoint[] = [];
    const perSecond = spanS <= 900 && fromSec >= this.seconds.oldest;
    if (perSecond) {
      const s = this.seconds;
      for (let t = fromSec; t < toSec; t++) {
        const ops = s.get(t, OPS);
        const errors = s.get(t, ERRORS);
        points.push({
          timestampMs: t * 1000,
          ops,
          errors,
          throughputPerS: ops,
          errorRate: ops > 0 ? errors / ops : 0,
          latencyP50Us: s.get(t, P50),
          latencyP99Us: s.get(t, P99),
          queueDepth: s.get(t, QUEUE_DEPTH),
          utilization: s.get(t, UTILIZATION),
        });
      }
      return { pool: this.name, fromMs, toMs, resolutionS: 1, points };
    }
    const m = this.minutes;
    const curMin = Math.floor(this.sec / 60);
    const firstMin = Math.max(Math.floor(fromSec / 60), m.oldest, Math.floor(this.firstSec / 60));
    toSec = Math.max(toSec, fromSec);
    const lastMin = Math.ceil(toSec / 60); // exclusive
    for (let mi = firstMin; mi < lastMin && mi <= curMin; mi++) {
      const inProgress = mi === curMin;
      const secondsIn = inProgress ? this.sec - mi * 60 : 60;
      if (secondsIn <= 0) continue;
      const ops = m.get(mi, OPS);
      const errors = m.get(mi, ERRORS);
      const n = m.get(mi, SAMPLED);
      let p50 = m.get(mi, P50);
      let p99 = m.get(mi, P99);
      if (inProgress) [p50, p99] = quantilePair(this.op.minuteInProgress());
      const covered = Math.max(1, Math.min(secondsIn, (mi + 1) * 60 - this.firstSec));
      points.push({
        timestampMs: mi * 60_000,
        ops,
        errors,
        throughputPerS: ops / covered,
        errorRate: ops > 0 ? errors / ops : 0,
        latencyP50Us: p50,
        latencyP99Us: p99,
        queueDepth: n > 0 ? m.get(mi, QUEUE_DEPTH) / n : 0,
        utilization: n > 0 ? m.get(mi, UTILIZATION) / n : 0,
      });
    }
    return { pool: this.name, fromMs, toMs, resolutionS: 60, points };
  }

  /**
   * One worker slot, latency over `window` (10-second edges). An id beyond the slots kept apart
   * (or {@link OVERFLOW_WORKER_ID}) answers for the overflow slot it shares, with `workerId`
   * {@link OVERFLOW_WORKER_ID}.
   */
  workerMetrics(workerId: number, window: WindowName): WorkerMetrics {
    const own = workerId >= 0 && workerId < this.workers.length;
    const w = own ? this.workers[workerId] : this.overflowWorker;
    if (!own) workerId = OVERFLOW_WORKER_ID;
    const L = windowSeconds[window];
    if (w === undefined) {
      return { pool: this.name, workerId, pid: 0, generation: 0, operations: 0, errors: 0, latencyUs: summaryOf(null), lastSeenMs: 0, window, coveredS: 0 };
    }
    const h = this.scratch;
    h.clear();
    const span = w.op.windowInto(h, L);
    return {
      pool: this.name,
      workerId,
      pid: w.pid,
      generation: w.generation,
      operations: w.ops,
      errors: w.errors,
      latencyUs: h.summaryUs(),
      lastSeenMs: w.lastSeenMs,
      window,
      coveredS: this.covered(span),
    };
  }

  /**
   * Worker slots seen: the ids kept apart, ascending, then {@link OVERFLOW_WORKER_ID} once when any
   * id beyond them was seen (never those ids themselves: they share the overflow's figures).
   */
  workerIds(): number[] {
    const ids: number[] = [];
    for (let i = 0; i < this.workers.length; i++) if (this.workers[i] !== undefined) ids.push(i);
    if (this.overflowWorker !== undefined) ids.push(OVERFLOW_WORKER_ID);
    return ids;
  }

  /**
   * Keep worker ids `0..maxSize-1` apart (a tracked pool's `maxSize`), at most
   * {@link MAX_WORKER_SLOTS}; never shrinks. Ids that counted in the overflow before keep their
   * past figures there.
   */
  fitWorkerSlots(maxSize: number): void {
    if (!(maxSize > 0)) return;
    const n = Math.min(Math.floor(maxSize), MAX_WORKER_SLOTS);
    while (this.workers.length < n) this.workers.push(undefined);
  }

  /** The most bytes this pool's figures can hold with its caps and current worker slots. */
  memoryBound(): number {
    return poolMemoryBound(this.limits, this.workers.length);
  }

  /**
   * Sample `pool.status()` each second (see {@link TrackablePool}). The pool's `maxSize` sizes the
   * worker slots: from `pool.options` now, else from the first sample.
   */
  track(pool: TrackablePool): void {
    this.tracked = pool;
    const maxSize = pool.options?.maxSize;
    if (maxSize !== undefined) this.fitWorkerSlots(maxSize);
    this.touch();
  }

  /** Stop sampling `pool` — only if it is still the one tracked (a newer pool may have replaced it). */
  untrack(pool?: TrackablePool): void {
    if (pool !== undefined && this.tracked !== pool) return;
    this.tracked = null;
    this.touch();
  }

  /** Every command over `window`, most operations first. */
  commandMetrics(window: WindowName): CommandMetrics[] {
    const L = windowSeconds[window];
    const out: CommandMetrics[] = [];
    const h = this.scratch;
    for (const c of this.commands.values()) {
      h.clear();
      const span = c.op.windowInto(h, L);
      const coveredS = this.covered(span);
      const ops = h.count;
      const errors = c.errors.window(L);
      out.push({
        pool: this.name,
        command: c.name,
        window,
        coveredS,
        ops,
        errors,
        throughputPerS: coveredS > 0 ? ops / coveredS : 0,
        errorRate: ops > 0 ? errors / ops : 0,
        latencyUs: h.summaryUs(),
      });
    }
    return out.sort((a, b) => b.ops - a.ops || (a.command < b.command ? -1 : 1));
  }

  /** Errors over `window`, by category and type. */
  errorRates(window: WindowName): ErrorRates {
    const L = windowSeconds[window];
    const span = this.span(window);
    const ops = this.seconds.sum(OPS, span.startSec, span.endSec);
    const errors = this.seconds.sum(ERRORS, span.startSec, span.endSec);
    const byCategory: ErrorRates['byCategory'] = {};
    const byType: ErrorRates['byType'] = [];
    for (const e of this.errorTypes.values()) {
      const count = e.counter.window(L);
      if (count === 0) continue;
      const rate = ops > 0 ? count / ops : 0;
      byType.push({ category: e.category, type: e.type, count, rate });
      const c = (byCategory[e.category] ??= { count: 0, rate: 0 });
      c.count += count;
      c.rate = ops > 0 ? c.count / ops : 0;
    }
    byType.sort((a, b) => b.count - a.count);
    return { pool: this.name, window, ops, errors, errorRate: ops > 0 ? errors / ops : 0, byCategory, byType };
  }

  /** Lifetime error counts by category and type, most frequent first. */
  errorTotals(): ErrorTotal[] {
    const out: ErrorTotal[] = [];
    for (const e of this.errorTypes.values()) out.push({ category: e.category, type: e.type, count: e.counter.total });
    return out.sort((a, b) => b.count - a.count);
  }

  /** Lifetime operations and errors per command. */
  commandTotals(): CommandTotals[] {
    const out: CommandTotals[] = [];
    for (const c of this.commands.values()) out.push({ command: c.name, operations: c.ops, errors: c.errorCount });
    return out;
  }

  /** Names of the commands seen (including {@link OVERFLOW_NAME} once the cap was passed). */
  commandNames(): string[] {
    return [...this.commands.keys()];
  }

  /**
   * The lifetime distribution (up to this moment: the second in progress included) of the pool, or
   * of one command, as a Prometheus cumulative histogram. An unknown command gives an empty one.
   */
  latencyHistogram(kind: LatencyKind, command?: string): CumulativeHistogram {
    const h = this.scratch;
    h.clear();
    if (command === undefined) {
      const t = kind === 'operation' ? this.op : this.queueWait;
      if (t.lifetime) h.merge(t.lifetime);
      // The second in progress lives in the commands' histograms until it completes.
      for (const c of this.commands.values()) h.merge(kind === 'operation' ? c.op.cur : c.queueWaitCur);
    } else {
      const c = this.commands.get(command);
      if (c !== undefined) {
        if (kind === 'queue_wait') {
          h.merge(c.queueWait);
          h.merge(c.queueWaitCur);
        } else {
          if (c.op.lifetime) h.merge(c.op.lifetime);
          h.merge(c.op.cur);
        }
      }
    }
    return cumulativeHistogram(h);
  }

  /** Log-scaled buckets of the pool's distribution over `window`. */
  latencyDistribution(window: WindowName, kind: LatencyKind, perDecade: number): LatencyBucket[] {
    const h = this.scratch;
    h.clear();
    (kind === 'operation' ? this.op : this.queueWait).windowInto(h, windowSeconds[window]);
    return logBuckets(h, perDecade);
  }

  /** Bytes held now, by construction (typed arrays and a fixed allowance per object). */
  byteSize(): number {
    let bytes = this.op.byteSize() + this.queueWait.byteSize() + this.seconds.byteSize() + this.minutes.byteSize();
    bytes += this.spares.byteSize() + this.scratch.byteSize() + this.scratch2.byteSize() + 4096;
    for (const c of this.commands.values()) {
      bytes += c.op.byteSize() + c.queueWaitCur.byteSize() + c.queueWait.byteSize() + c.errors.byteSize() + ENTRY_BYTES;
    }
    bytes += 8 * this.workers.length;
    for (const w of this.workers) if (w) bytes += w.op.byteSize() + ENTRY_BYTES;
    if (this.overflowWorker) bytes += this.overflowWorker.op.byteSize() + ENTRY_BYTES;
    for (const e of this.errorTypes.values()) bytes += e.counter.byteSize() + ENTRY_BYTES;
    return bytes;
  }

  // -------------------------------------------------------------------------------------------

  private sampleGauges(): PoolGauges {
    const g = this.gauges;
    const tracked = this.tracked;
    let size: number;
    let busy: number;
    let idle: number;
    let starting: number;
    let queueDepth: number;
    if (tracked !== null) {
      let st: ReturnType<TrackablePool['status']> | null = null;
      try {
        st = tracked.status();
      } catch {
        // A stopped or failing pool must not break the collector's timer: keep the estimates.
        st = null;
      }
      if (st !== null && st.lifecycle === 'stopped') {
        // Stopped without a terminate event (pool events masked): stop sampling the dead pool.
        this.tracked = null;
        this.touch();
        st = null;
      } else if (st !== null && st.maxSize !== undefined && st.maxSize > this.workers.length) {
        this.fitWorkerSlots(st.maxSize);
      }
      if (st !== null) {
        ({ size, busy, idle, starting, queueDepth } = st);
      } else {
        size = this.liveWorkers;
        busy = Math.min(this.busyWorkers, size);
        idle = size - busy;
        starting = 0;
        queueDepth = this.lastQueueDepth;
      }
    } else {
      size = this.liveWorkers;
      busy = Math.min(this.busyWorkers, size);
      idle = size - busy;
      starting = 0;
      queueDepth = this.lastQueueDepth;
    }
    g.size = size;
    g.busy = busy;
    g.idle = idle;
    g.starting = starting;
    g.queueDepth = queueDepth;
    g.utilization = size > 0 ? Math.min(1, busy / size) : 0;
    return g;
  }

  private commandFor(command: string): CommandState {
    let c = this.commands.get(command);
    if (c === undefined) {
      const name = this.commands.size >= this.limits.maxCommands ? OVERFLOW_NAME : cut(command);
      c = this.commands.get(name);
      if (c === undefined) {
        c = {
          name,
          op: new TieredSketch(DETAIL_TIERS, this.spares, this.sec, true),
          queueWaitCur: new LogHistogram(),
          queueWait: new LogHistogram(true),
          errors: new TieredCounter(DETAIL_TIERS, this.sec),
          ops: 0,
          errorCount: 0,
        };
        this.commands.set(name, c);
      }
    }
    this.lastCommandName = command;
    this.lastCommand = c;
    return c;
  }

  private workerFor(workerId: number): WorkerState {
    if (workerId >= 0 && workerId < this.workers.length) return (this.workers[workerId] ??= this.newWorker(workerId));
    return (this.overflowWorker ??= this.newWorker(OVERFLOW_WORKER_ID));
  }

  private newWorker(workerId: number): WorkerState {
    return { workerId, pid: 0, generation: 0, lastSeenMs: 0, ops: 0, errors: 0, op: new TieredSketch(DETAIL_TIERS, this.spares, this.sec) };
  }

  private touchWorker(workerId: number, pid: number, generation: number, timestampMs: number): void {
    this.lastHeardSec = this.sec;
    if (workerId < 0) return;
    const w = this.workerFor(workerId);
    // A late event of a replaced process (older generation) must not bring its pid back.
    if (workerId < this.workers.length && generation >= w.generation) {
      w.pid = pid;
      w.generation = generation;
    }
    if (timestampMs > w.lastSeenMs) w.lastSeenMs = timestampMs;
  }
}

const PAIR: readonly number[] = [0.5, 0.99];

/** p50 and p99 in µs of a histogram (zeros when null or empty). */
function quantilePair(h: LogHistogram | null): [number, number] {
  if (h === null || h.count === 0) return [0, 0];
  const q = h.quantilesNs(PAIR, []);
  return [q[0]! / 1e3, q[1]! / 1e3];
}

function summaryOf(h: LogHistogram | null): ReturnType<LogHistogram['summaryUs']> {
  return h === null ? emptyLatencySummary() : h.summaryUs();
}
