/**
 * size: over 600 lines because the subscriptions, the memory cap and every query of the public
 * collector API sit on the same per-pool state; the data structures and query arithmetic are
 * already apart (pool-metrics.ts, pool-queries.ts, window-ring.ts).
 *
 * The MetricsCollector: subscribes to the telemetry channels, keeps per-pool windows (1, 5 and 15
 * minutes at one-second resolution, a 1-hour trend per minute, latency sketches with 0.99% relative
 * error) in bounded memory, and answers queries by pool name. It knows nothing of pool internals:
 * everything comes from `node:diagnostics_channel` events, plus `status()` of pools handed to
 * {@link MetricsCollector.trackPool} for exact gauges. The collector owns the clock, the channels
 * and the tracked pools; each pool's figures are a {@link PoolMetrics} (the record side), read
 * through the functions of pool-queries.ts.
 *
 * ```ts
 * const collector = new MetricsCollector();
 * collector.start();
 * collector.trackPool(pool);               // optional: exact size/busy/idle gauges
 * collector.getPerformanceSummary('default').windows['5m'].latencyUs.p99;
 * collector.stop();
 * ```
 *
 * Time: windows rotate once per wall-clock second, from a 1 s timer (unref'd) with the real clock,
 * or from {@link MetricsCollector.tick} (which every query also calls) with an injected one.
 * Events are attributed to the second in progress when they are recorded; a tracked pool's
 * `status()` is read when its seconds complete and handed to its figures with them. A clock that
 * moves back is ignored until it catches up; a jump forward beyond the 16-minute retention clears
 * the windows (lifetime totals stay).
 *
 * @module
 */
import { channels, operationChannel, subscribe, type OperationContext } from '../telemetry/telemetry.js';
import { systemClock, type MetricsClock } from '../contract/clock.js';
import type { TickStats } from '../contract/health.js';
import { performance } from 'node:perf_hooks';
import { poolByteSize, poolMemoryBound } from './memory-bound.js';
import { PoolMetrics, type GaugeSample } from './pool-metrics.js';
import { checkInteger, checkKind, checkRange, checkWindow } from './query-args.js';
import { invalidArgument } from '../contract/errors.js';
import type { UserMetric } from '../contract/inside-python.js';
import {
  commandMetrics,
  commandTotals,
  errorRates,
  errorTotals,
  lastMinute,
  lastSecond,
  latencyDistribution,
  latencyHistogram,
  latencySketch,
  metricsRange,
  recentSeconds,
  type RecentSecond,
  type SketchSpan,
  windowSummary,
  workerIds,
  workerMetrics,
} from './pool-queries.js';
import { DEFAULT_POOL_LIMITS, MAX_WORKER_SLOTS, type PoolLimits } from './pool-state.js';
import { numberOption } from '../contract/options.js';
import type { LogHistogram } from './log-histogram.js';
import type {
  CommandMetrics,
  CommandTotals,
  CumulativeHistogram,
  CurrentMetrics,
  ErrorRates,
  ErrorTotal,
  LatencyBucket,
  LatencyKind,
  MetricsRange,
  PerformanceSummary,
  PoolTotals,
  WindowName,
  WindowSummary,
  WorkerMetrics,
} from '../contract/metrics.js';

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
    /** The most workers the pool runs: worker ids 0..maxSize-1 are kept apart (up to `MAX_WORKER_SLOTS`). */
    maxSize?: number;
    /** `'stopped'` ends the tracking: a stopped pool is no longer sampled. */
    lifecycle?: string;
    /** The pool's warm spares: `ready` is the `spares` gauge (0 when absent). */
    spares?: { ready: number };
  };
}

/** Options of {@link MetricsCollector}. */
export interface MetricsCollectorOptions {
  /** Wall clock; default `Date.now()`. */
  clock?: MetricsClock;
  /**
   * Rotate windows from a 1-second timer (unref'd). Default: true with the real clock, false with
   * an injected one (call {@link MetricsCollector.tick}, or query, after moving it).
   */
  timer?: boolean;
  /** Caps bounding one pool's memory (default {@link DEFAULT_POOL_LIMITS}). */
  limits?: Partial<PoolLimits>;
  /** Most pools kept at once (default 32). Beyond, the untracked pool heard from longest ago is dropped. */
  maxPools?: number;
  /** An untracked pool not heard from for this long is forgotten, seconds (default 900). */
  forgetAfterS?: number;
  /**
   * Hard cap on the bytes the figures hold (by construction, see {@link memoryBytes}); default
   * none. Checked once a second; above it detail is shed one step per second until under: first
   * per-worker latency sketches, then per-command series (folded into the overflow series), then
   * the figures of untracked pools, heard from longest ago first. Shed detail stays shed (see
   * {@link degradation}); recording never blocks or fails.
   */
  memoryCapBytes?: number;
}

/**
 * How much detail the collector has shed to stay under its memory cap: 0 none, 1 per-worker
 * sketches, 2 per-command series too, 3 untracked pools dropped too.
 */
export type DegradationLevel = 0 | 1 | 2 | 3;

type Unsubscribe = () => void;

/**
 * Collects pool metrics from the telemetry channels. See the module note; every query takes a pool
 * name and answers for a pool never heard from with zeros (and `coveredS` 0).
 */
export class MetricsCollector {
  private readonly clock: MetricsClock;
  private readonly useTimer: boolean;
  private readonly limits: PoolLimits;
  private readonly maxPools: number;
  private readonly forgetAfterS: number;
  private readonly poolsByName = new Map<string, PoolMetrics>();
  /** The live pools sampled each second, by name (each has figures in `poolsByName`). */
  private readonly trackedPools = new Map<string, TrackablePool>();
  private readonly unsubscribers: Unsubscribe[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sec: number;
  private started = false;
  private lastPoolName: string | null = null;
  private lastPool: PoolMetrics | null = null;
  /** Events dropped because every pool slot was taken by tracked pools. */
  droppedEvents = 0;
  private readonly memoryCapBytes: number;
  private level: DegradationLevel = 0;
  private ticks = 0;
  private rotatedAtMs: number | null = null;
  private tickErrors = 0;
  private lastTickError: string | null = null;
  private lastTickEndMs: number | null = null;
  private lastTickDurationMs: number | null = null;

  // Bound once so subscribe/unsubscribe use the same function objects. Only `end` and `asyncEnd` of
  // the tracing channel are subscribed: Node publishes error + asyncStart + asyncEnd for a rejected
  // promise (recording on `error` too would count it twice) and error + end for a synchronous throw.
  private readonly onEnd = (message: unknown): void => {
    const ctx = message as OperationContext;
    // A synchronous throw: no asyncEnd will follow. (For async calls `error` is unset at `end`.)
    if (ctx.error !== undefined) this.safeRecord(ctx);
  };
  private readonly onAsyncEnd = (message: unknown): void => {
    this.safeRecord(message as OperationContext);
  };

  /**
   * Every handler runs inside the pool's publish: a throw there would reach Node as an uncaught
   * exception (diagnostics_channel rethrows subscriber errors on the next tick) and could end the
   * process the pool serves. A bug in the metrics must cost only the figure, so it is counted instead.
   */
  private safeRecord(ctx: OperationContext): void {
    try {
      this.recordOperation(ctx);
    } catch (err) {
      this.noteHandlerError(err);
    }
  }

  private noteHandlerError(err: unknown): void {
    this.tickErrors++;
    this.lastTickError = err instanceof Error ? err.message : String(err);
  }

  private guarded<T>(handler: (payload: T) => void): (payload: T) => void {
    return (payload) => {
      try {
        handler(payload);
      } catch (err) {
        this.noteHandlerError(err);
      }
    };
  }

  constructor(options: MetricsCollectorOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.useTimer = options.timer ?? options.clock === undefined;
    const where = 'MetricsCollector';
    const l = options.limits ?? {};
    this.limits = {
      maxCommands: numberOption(where, 'limits.maxCommands', l.maxCommands, DEFAULT_POOL_LIMITS.maxCommands, { min: 1, max: 100_000 }),
      maxWorkerSlots: numberOption(where, 'limits.maxWorkerSlots', l.maxWorkerSlots, DEFAULT_POOL_LIMITS.maxWorkerSlots, { min: 1, max: MAX_WORKER_SLOTS }),
      maxErrorTypes: numberOption(where, 'limits.maxErrorTypes', l.maxErrorTypes, DEFAULT_POOL_LIMITS.maxErrorTypes, { min: 1, max: 100_000 }),
    };
    this.maxPools = numberOption(where, 'maxPools', options.maxPools, 32, { min: 1, max: 10_000 });
    this.forgetAfterS = numberOption(where, 'forgetAfterS', options.forgetAfterS, 900, { min: 1, max: 366 * 24 * 3600 });
    this.memoryCapBytes = numberOption(where, 'memoryCapBytes', options.memoryCapBytes, Infinity, { min: 64 * 1024, max: 2 ** 50 });
    this.sec = Math.floor(this.clock.nowMs() / 1000);
  }

  /** True between {@link start} and {@link stop}. */
  get running(): boolean {
    return this.started;
  }

  /**
   * When the windows last took in a completed second (by the timer or a query), ms since the
   * epoch (the start, before the first); null before `start()`. Events are recorded as published but queried once rotated, so
   * the time since this is how far the figures a query sees lag the events.
   */
  get lastRotationMs(): number | null {
    return this.rotatedAtMs;
  }

  /** The timer's rotations (for the self-check of `createMonitoring`; see {@link TickStats}). */
  tickStats(): TickStats {
    return {
      running: this.started && (this.timer !== null || !this.useTimer),
      // 0: not periodic (an injected clock rotates on queries), so never "stalled".
      intervalMs: this.useTimer ? 1000 : 0,
      lastTickEndMs: this.lastTickEndMs,
      lastTickDurationMs: this.lastTickDurationMs,
      ticks: this.ticks,
      errors: this.tickErrors,
      lastError: this.lastTickError,
    };
  }

  /** Subscribe to the telemetry channels and start rotating windows. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.tick();
    // Nothing is pending at start: the lag counts from here until the first rotation.
    this.rotatedAtMs ??= this.clock.nowMs();
    const u = this.unsubscribers;
    operationChannel.end.subscribe(this.onEnd);
    operationChannel.asyncEnd.subscribe(this.onAsyncEnd);
    u.push(
      () => operationChannel.end.unsubscribe(this.onEnd),
      () => operationChannel.asyncEnd.unsubscribe(this.onAsyncEnd),
      subscribe(
        'dspex:pool:error',
        this.guarded((e) => {
          const p = this.poolFor(e.pool);
          if (p !== null && typeof e.type === 'string') p.recordError(e.category, e.type);
        }),
      ),
      subscribe(
        'dspex:worker:checkout',
        this.guarded((e) => this.poolFor(e.pool)?.recordCheckout(e.workerId, e.pid, e.generation, e.queueDepth, e.timestampMs, e.sessionMoved === true)),
      ),
      subscribe('dspex:worker:checkin', this.guarded((e) => this.poolFor(e.pool)?.recordCheckin(e.workerId, e.pid, e.generation, e.timestampMs))),
      subscribe(
        'dspex:worker:init',
        this.guarded((e) => this.poolFor(e.pool)?.recordWorkerInit(e.workerId, e.pid, e.generation, e.reason === 'replacement', e.timestampMs)),
      ),
      subscribe(
        'dspex:worker:terminate',
        this.guarded((e) => this.poolFor(e.pool)?.recordWorkerTerminate(e.workerId, e.pid, e.generation, e.reason === 'crash', e.timestampMs)),
      ),
      subscribe('dspex:worker:health_check', this.guarded((e) => this.poolFor(e.pool)?.recordHealthCheck(e.workerId, e.pid, e.generation, e.ok, e.timestampMs))),
      subscribe('dspex:pool:queue:depth', this.guarded((e) => this.poolFor(e.pool)?.recordQueueDepth(e.queueDepth))),
      subscribe('dspex:pool:queue:rejected', this.guarded((e) => this.poolFor(e.pool)?.recordQueueRejection(e.queueDepth))),
      subscribe('dspex:pool:init', this.guarded((e) => this.poolFor(e.pool)?.touch())),
      subscribe(
        'dspex:pool:terminate',
        this.guarded((e) => {
          const p = this.poolFor(e.pool);
          if (p === null) return;
          this.releaseIfStopped(e.pool);
          p.recordPoolTerminate();
        }),
      ),
      subscribe(
        'dspex:python:metrics',
        this.guarded((e) => {
          if (Array.isArray(e.changes)) this.poolFor(e.pool)?.user.apply(e.changes, typeof e.droppedChanges === 'number' ? e.droppedChanges : 0);
        }),
      ),
      subscribe(
        'dspex:worker:recycle',
        this.guarded((e) => this.poolFor(e.pool)?.recordRecycle(e.reason, e.workerId, e.pid, e.generation, e.timestampMs)),
      ),
    );
    if (this.useTimer) this.schedule();
  }

  /** Unsubscribe from every channel and clear the timer. The figures stay readable. Idempotent. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    for (const u of this.unsubscribers.splice(0)) u();
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /**
   * Bring every pool's windows up to the clock's current second (completing the seconds in
   * between). Called by the timer and by every query; call it after moving an injected clock.
   */
  tick(): void {
    const nowMs = this.clock.nowMs();
    const now = Math.floor(nowMs / 1000);
    if (now <= this.sec) return;
    this.sec = now;
    this.rotatedAtMs = nowMs;
    for (const [name, p] of this.poolsByName) {
      const t = this.trackedPools.get(name);
      p.advanceTo(now, t === undefined ? null : this.sample(name, t, p));
      if (!this.trackedPools.has(name) && now - p.lastHeardSec > this.forgetAfterS) this.forget(name);
    }
    if (this.memoryCapBytes !== Infinity) this.enforceMemoryCap();
  }

  /** How much detail was shed to stay under `memoryCapBytes` (0: none). */
  get degradation(): DegradationLevel {
    return this.level;
  }

  /** The cap given as `memoryCapBytes` (Infinity: none). */
  get memoryCap(): number {
    return this.memoryCapBytes;
  }

  /** One step of shedding when above the cap (once a second, from {@link tick}). */
  private enforceMemoryCap(): void {
    if (this.memoryBytes() <= this.memoryCapBytes) return;
    if (this.level < 1) {
      this.level = 1;
      for (const p of this.poolsByName.values()) p.shedWorkerDetail();
    } else if (this.level < 2) {
      this.level = 2;
      for (const p of this.poolsByName.values()) p.shedCommandDetail();
    } else {
      this.level = 3;
      while (this.memoryBytes() > this.memoryCapBytes && this.evictOne());
    }
  }

  /**
   * Sample this pool's gauges from `pool.status()` each second (exact size/busy/idle/starting/queue
   * depth and ready spares; without it they are estimated from worker and queue events, spares
   * 0). The pool's `maxSize` sizes its worker slots (see {@link PoolLimits.maxWorkerSlots}). Tracking ends by itself when the pool
   * stops (`dspex:pool:terminate`, or a `'stopped'` lifecycle when sampled); tracking another pool
   * under the same name replaces it. Returns the function that stops tracking this pool (it does
   * nothing once another pool is tracked under the name).
   */
  trackPool(pool: TrackablePool): () => void {
    const p = this.poolFor(pool.name, true);
    if (p !== null) {
      this.trackedPools.set(pool.name, pool);
      // The pool's `maxSize` sizes the worker slots: from `pool.options` now, else from the first sample.
      const maxSize = pool.options?.maxSize;
      if (maxSize !== undefined) p.fitWorkerSlots(maxSize);
      p.touch();
    }
    return () => this.untrack(pool.name, pool);
  }

  /** Stop sampling a pool's `status()` (whichever pool is tracked under `name`); its figures stay until it is forgotten. */
  untrackPool(name: string): void {
    this.untrack(name);
  }

  /** Names of the pools with figures. */
  pools(): string[] {
    this.tick();
    return [...this.poolsByName.keys()];
  }

  /**
   * The record path of one finished operation: what the `dspex:pool:operation` subscriber calls
   * (public for benchmarks and for feeding recorded traces).
   */
  recordOperation(ctx: OperationContext): void {
    const name = ctx.pool;
    const p = name === this.lastPoolName && this.lastPool !== null ? this.lastPool : this.poolFor(name);
    if (p === null || typeof ctx.command !== 'string') return;
    const py = ctx.pythonNs;
    p.recordOperation(ctx.command, ctx.workerId, ctx.durationNs, ctx.queueWaitNs, ctx.error !== undefined, ctx.timestampMs, ctx.pid, py == null ? -1 : py, ctx.bridgeNs ?? -1);
  }

  // -------------------------------------------------------------------------------------------
  // Queries
  // -------------------------------------------------------------------------------------------

  /** The last complete second and the last 60 seconds, current gauges and lifetime totals. */
  getCurrentMetrics(pool: string): CurrentMetrics {
    const p = this.read(pool);
    return {
      pool,
      timestampMs: this.clock.nowMs(),
      lastSecond: lastSecond(p),
      lastMinute: lastMinute(p),
      gauges: p.getGauges(),
      totals: p.getTotals(),
    };
  }

  /** Points over `[fromMs, toMs)`: per second up to 15 minutes (if still held), per minute beyond (the last hour). */
  getMetricsRange(pool: string, fromMs: number, toMs: number): MetricsRange {
    checkRange('getMetricsRange', fromMs, toMs);
    const r = metricsRange(this.read(pool), fromMs, toMs);
    r.pool = pool;
    return r;
  }

  /**
   * One worker slot: lifetime counts and latency over `window` (default `'1m'`; 10-second edges).
   * An id sharing the overflow slot answers with the overflow's figures and `workerId`
   * `OVERFLOW_WORKER_ID` (-1): keep one entry per returned `workerId`.
   */
  getWorkerMetrics(pool: string, workerId: number, window: WindowName = '1m'): WorkerMetrics {
    checkInteger('getWorkerMetrics', 'workerId', workerId, -1, Number.MAX_SAFE_INTEGER);
    checkWindow('getWorkerMetrics', window);
    const w = workerMetrics(this.read(pool), workerId, window);
    w.pool = pool;
    return w;
  }

  /**
   * Worker slots seen in a pool: the ids kept apart, ascending, then `OVERFLOW_WORKER_ID` (-1) once
   * when ids beyond them were seen (those ids are never listed: they share the overflow's figures).
   */
  getWorkerIds(pool: string): number[] {
    return workerIds(this.read(pool));
  }

  /** Failed operations over `window`, and `dspex:pool:error` events by category and type. */
  getErrorRates(pool: string, window: WindowName): ErrorRates {
    checkWindow('getErrorRates', window);
    const r = errorRates(this.read(pool), window);
    r.pool = pool;
    return r;
  }

  /**
   * The 1m, 5m and 15m windows: ops, throughput, error rate, latency and queue-wait quantiles,
   * utilization, queue depth and a health score (0..100):
   *
   * `100 − 40·min(1, errorRate/0.05) − 15·min(1, crashes/3) − 15·clamp((utilization−0.8)/0.2)
   *  − 15·min(1, queueDepthAvg/max(1, sizeAvg)) − 15·min(1, 2·queueWaitP99/latencyP99)`, rounded
   * (see {@link healthScore}).
   */
  getPerformanceSummary(pool: string): PerformanceSummary {
    const p = this.read(pool);
    return {
      pool,
      timestampMs: this.clock.nowMs(),
      windows: { '1m': windowSummary(p, '1m'), '5m': windowSummary(p, '5m'), '15m': windowSummary(p, '15m') },
    };
  }

  /**
   * One window of {@link getPerformanceSummary}, the same figures, for a consumer that polls some
   * windows and not all three (the AlertManager, every evaluation). `split: false` leaves out
   * `pythonUs` / `bridgeUs`, which halves the histogram merging.
   */
  getWindowSummary(pool: string, window: WindowName, options: { split?: boolean } = {}): WindowSummary {
    checkWindow('getWindowSummary', window);
    return windowSummary(this.read(pool), window, options.split ?? true);
  }

  /** Every command of a pool over `window` (10-second edges), most operations first. */
  getCommandMetrics(pool: string, window: WindowName): CommandMetrics[] {
    checkWindow('getCommandMetrics', window);
    const out = commandMetrics(this.read(pool), window);
    for (const c of out) c.pool = pool;
    return out;
  }

  /** Lifetime counters (Prometheus counters). */
  getTotals(pool: string): PoolTotals {
    return this.read(pool).getTotals();
  }

  /** Lifetime `dspex:pool:error` counts by category and type. */
  getErrorTotals(pool: string): ErrorTotal[] {
    return errorTotals(this.read(pool));
  }

  /** Lifetime operations and failed operations per command. */
  getOperationTotalsByCommand(pool: string): CommandTotals[] {
    return commandTotals(this.read(pool));
  }

  /**
   * The pool's lifetime distribution (or one command's) as a Prometheus cumulative histogram with
   * fixed `le` bounds from 100 µs to 60 s ({@link LATENCY_BUCKETS_S}). `count` equals the
   * operations counted (for `'operation'`).
   */
  getLatencyHistogram(pool: string, kind: LatencyKind, command?: string): CumulativeHistogram {
    checkKind('getLatencyHistogram', kind);
    return latencyHistogram(this.read(pool), kind, command);
  }

  /** Log-scaled buckets (`perDecade` per power of ten of µs) of a window, for the dashboard's histogram. */
  getLatencyDistribution(pool: string, window: WindowName, kind: LatencyKind = 'operation', perDecade = 4): LatencyBucket[] {
    checkWindow('getLatencyDistribution', window);
    checkKind('getLatencyDistribution', kind);
    checkInteger('getLatencyDistribution', 'perDecade', perDecade, 1, 100);
    return latencyDistribution(this.read(pool), window, kind, perDecade);
  }

  /**
   * Metrics recorded by the pool's Python code through `import dspex` (issue 19): lifetime values
   * per series, by name (bounded: see docs/MONITORING_GUIDE.md), and how many reported changes
   * were dropped (malformed, or beyond the caps).
   */
  getUserMetrics(pool: string): UserMetric[] {
    return this.read(pool).user.list();
  }

  /** Changes of user metrics dropped for a pool (malformed, conflicting, or beyond the caps). */
  getUserMetricsDropped(pool: string): number {
    return this.read(pool).user.droppedChanges;
  }

  /**
   * A copy of a pool's latency sketch (operation or queue wait) over a window, the last complete
   * second (`'second'`) or its lifetime, optionally of one command: what a fleet host serializes (`LogHistogram.serialize()`)
   * so that fleet percentiles come from merged sketches, never from averaged percentiles.
   */
  getLatencySketch(pool: string, kind: LatencyKind, span: SketchSpan, command?: string): LogHistogram {
    checkKind('getLatencySketch', kind);
    if (span !== 'second' && span !== 'lifetime') checkWindow('getLatencySketch', span);
    return latencySketch(this.read(pool), kind, span, command);
  }

  /** The last `n` complete seconds (up to 60), oldest first, each with a copy of its operation sketch. */
  getRecentSeconds(pool: string, n: number): RecentSecond[] {
    checkInteger('getRecentSeconds', 'n', n, 0, 60);
    return recentSeconds(this.read(pool), n);
  }

  /** Bytes held by one pool's figures (or all pools'), by construction. */
  memoryBytes(pool?: string): number {
    if (pool !== undefined) {
      const p = this.poolsByName.get(pool);
      return p !== undefined ? poolByteSize(p) : 0;
    }
    let bytes = 0;
    for (const p of this.poolsByName.values()) bytes += poolByteSize(p);
    return bytes;
  }

  /**
   * The most bytes one pool's figures can hold with this collector's caps: for `pool`, with its
   * current worker slots (a tracked pool keeps up to `min(maxSize, MAX_WORKER_SLOTS)` apart);
   * without, for a pool whose size is unknown (`limits.maxWorkerSlots`). The worst case of any
   * pool is `poolMemoryBound(limits, MAX_WORKER_SLOTS)`.
   */
  memoryBoundPerPool(pool?: string): number {
    const p = pool === undefined ? undefined : this.poolsByName.get(pool);
    return p !== undefined ? poolMemoryBound(p.limits, p.workers.length) : poolMemoryBound(this.limits);
  }

  // -------------------------------------------------------------------------------------------

  private schedule(): void {
    // Aligned on wall-clock seconds (a few ms after the boundary) so slots match real seconds.
    const delay = 1000 - (this.clock.nowMs() % 1000) + 5;
    this.timer = setTimeout(() => {
      this.timer = null;
      const t0 = performance.now();
      try {
        this.tick();
      } catch (err) {
        // A bug in one pool's rotation must not stop the timer: the next second tries again.
        this.tickErrors++;
        this.lastTickError = err instanceof Error ? err.message : String(err);
      } finally {
        this.lastTickDurationMs = performance.now() - t0;
        this.lastTickEndMs = this.clock.nowMs();
        this.ticks++;
        if (this.started) this.schedule();
      }
    }, delay);
    this.timer.unref();
  }

  /**
   * The gauges of tracked pool `t` for the seconds `p` is about to complete, or null to let `p`
   * estimate them from events. The pool's `maxSize` widens the worker slots (see {@link trackPool}).
   */
  private sample(name: string, t: TrackablePool, p: PoolMetrics): GaugeSample | null {
    let st: ReturnType<TrackablePool['status']>;
    try {
      st = t.status();
    } catch {
      // A stopped or failing pool must not break the collector's timer: keep the estimates.
      return null;
    }
    if (st.lifecycle === 'stopped') {
      // Stopped without a terminate event (pool events masked): stop sampling the dead pool.
      this.trackedPools.delete(name);
      p.touch();
      return null;
    }
    if (st.maxSize !== undefined && st.maxSize > p.workers.length) p.fitWorkerSlots(st.maxSize);
    // The status's `spares` is an object; the gauge is its ready count.
    return { size: st.size, busy: st.busy, idle: st.idle, starting: st.starting, queueDepth: st.queueDepth, spares: st.spares?.ready ?? 0 };
  }

  /**
   * A pool named `name` stopped: its tracked pool is no longer sampled — unless it is a different,
   * live pool tracked under the same name (its status says so: any lifecycle but `'stopped'`). A
   * tracked pool without a lifecycle is let go.
   */
  private releaseIfStopped(name: string): void {
    const t = this.trackedPools.get(name);
    if (t === undefined) return;
    let lifecycle: string | undefined;
    try {
      lifecycle = t.status().lifecycle;
    } catch {
      lifecycle = undefined;
    }
    if (lifecycle === undefined || lifecycle === 'stopped') this.trackedPools.delete(name);
  }

  /** Stop sampling the pool tracked under `name` — only if it is still `pool`, when given (a newer pool may have replaced it). */
  private untrack(name: string, pool?: TrackablePool): void {
    const p = this.poolsByName.get(name);
    if (p === undefined || (pool !== undefined && this.trackedPools.get(name) !== pool)) return;
    this.trackedPools.delete(name);
    p.touch();
  }

  /** The pool's figures for a query (an empty stand-in for a pool never heard from). */
  private read(name: string): PoolMetrics {
    if (typeof name !== 'string') throw invalidArgument('MetricsCollector query', 'pool', 'must be a pool name (string)');
    this.tick();
    const p = this.poolsByName.get(name);
    if (p !== undefined) return p;
    // Not kept: a query must not make a pool appear (names come from callers, unbounded).
    return new PoolMetrics(name, this.sec, this.limits);
  }

  /** The figures of a pool an event named, created on first sight; null when it cannot be kept. */
  private poolFor(name: string, tracking = false): PoolMetrics | null {
    if (name === this.lastPoolName && this.lastPool !== null) return this.lastPool;
    if (typeof name !== 'string') return null;
    let p = this.poolsByName.get(name);
    if (p === undefined) {
      if (this.poolsByName.size >= this.maxPools && !this.evictOne()) {
        this.droppedEvents++;
        if (!tracking) return null;
      }
      p = new PoolMetrics(name, this.sec, this.limits);
      if (this.level >= 1) p.shedWorkerDetail();
      if (this.level >= 2) p.shedCommandDetail();
      this.poolsByName.set(name, p);
    }
    this.lastPoolName = name;
    this.lastPool = p;
    p.touch();
    return p;
  }

  /** Drop the untracked pool heard from longest ago; false when every pool is tracked. */
  private evictOne(): boolean {
    let oldest: PoolMetrics | null = null;
    for (const p of this.poolsByName.values()) {
      if (!this.trackedPools.has(p.name) && (oldest === null || p.lastHeardSec < oldest.lastHeardSec)) oldest = p;
    }
    if (oldest === null) return false;
    this.forget(oldest.name);
    return true;
  }

  private forget(name: string): void {
    this.poolsByName.delete(name);
    if (this.lastPoolName === name) {
      this.lastPoolName = null;
      this.lastPool = null;
    }
  }
}

/** The channel objects the collector subscribes to (for tests checking `hasSubscribers`). */
export const collectorChannels = {
  operation: operationChannel,
  plain: [
    channels['dspex:pool:error'],
    channels['dspex:worker:checkout'],
    channels['dspex:worker:checkin'],
    channels['dspex:worker:init'],
    channels['dspex:worker:terminate'],
    channels['dspex:worker:recycle'],
    channels['dspex:worker:health_check'],
    channels['dspex:pool:queue:depth'],
    channels['dspex:pool:queue:rejected'],
    channels['dspex:pool:init'],
    channels['dspex:pool:terminate'],
    channels['dspex:python:metrics'],
  ],
} as const;
