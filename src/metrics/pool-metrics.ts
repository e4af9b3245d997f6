/**
 * Everything the collector keeps about one pool: counters, gauge samples and latency sketches over
 * time, with a fixed worst-case size (`poolMemoryBound` in memory-bound.ts). No clock, no channels
 * and no live pool: the collector calls the `record*` methods from its subscribers and
 * {@link PoolMetrics.endSecond} as each second completes, handing in the gauges it sampled from a
 * tracked pool, which makes this class testable (and benchmarkable) on its own. This is the record
 * side; the figures are read through the functions of pool-queries.ts.
 *
 * @module
 */
import type { ErrorCategory } from '../contract/errors.js';
import { keyOf, LogHistogram } from './log-histogram.js';
import {
  BUSY,
  CHECKOUTS,
  CRASHES,
  DEFAULT_POOL_LIMITS,
  ERROR_CATEGORY_BASE,
  ERROR_CATEGORY_FIELD,
  ERRORS,
  FIELDS,
  HC_FAILURES,
  IDLE,
  MAX_NAME_LENGTH,
  MAX_WORKER_SLOTS,
  MINUTE_SLOTS,
  OPS,
  P50,
  P90,
  P99,
  QUEUE_DEPTH,
  READY_SPARES,
  quantileTriple,
  REJECTIONS,
  RESTARTS,
  SAMPLED,
  SECOND_SLOTS,
  SIZE,
  SPARE_HISTOGRAMS,
  STARTING,
  UTILIZATION,
  type CommandState,
  type ErrorTypeState,
  type PoolLimits,
  type PoolState,
  type WorkerState,
} from './pool-state.js';
import { OVERFLOW_NAME, OVERFLOW_WORKER_ID, type PoolGauges, type PoolTotals } from '../contract/metrics.js';
import { UserMetricsStore } from './user-metrics.js';
import { DETAIL_TIERS, HistogramPool, POOL_TIERS, SeriesRing, TieredCounter, TieredSketch } from './window-ring.js';

/**
 * Gauges of one second sampled from a live pool (a pool's `status()` with `spares` as the ready
 * count); `utilization` is derived from them.
 */
export type GaugeSample = Readonly<Pick<PoolGauges, 'size' | 'busy' | 'idle' | 'starting' | 'queueDepth' | 'spares'>>;

/** Distinct recycle reasons counted apart (reasons are free strings from `recycleWorker()` callers). */
export const MAX_RECYCLE_REASONS = 16;

const cut = (name: string): string => (name.length > MAX_NAME_LENGTH ? name.slice(0, MAX_NAME_LENGTH) : name);

/**
 * One pool's metrics: the record side and the {@link PoolState} the queries read. The state
 * fields are public for the read side and the memory accounting; only this class writes them.
 */
export class PoolMetrics implements PoolState {
  /** The second in progress (seconds since the epoch): completed seconds are `< sec`. */
  sec: number;
  /** The second this pool was first heard from. */
  readonly firstSec: number;
  /** The last second an event of this pool was seen. */
  lastHeardSec: number;

  readonly spares = new HistogramPool(SPARE_HISTOGRAMS);
  readonly op: TieredSketch;
  readonly queueWait: TieredSketch;
  readonly python: TieredSketch;
  readonly bridge: TieredSketch;
  readonly seconds: SeriesRing;
  readonly minutes: SeriesRing;
  readonly commands = new Map<string, CommandState>();
  /** Worker slots kept apart, by id (ids 0..length-1); grows to a tracked pool's maxSize. */
  readonly workers: (WorkerState | undefined)[];
  /** Behind {@link overflowWorker} (the hot path reads the field itself, not the getter). */
  private overflow: WorkerState | undefined = undefined;
  readonly errorTypes = new Map<string, ErrorTypeState>();
  readonly user = new UserMetricsStore();
  readonly scratch = new LogHistogram(true);
  readonly scratch2 = new LogHistogram(true);

  // Counters of the second in progress (plain fields: the hot path does not index arrays).
  private curOps = 0;
  private curErrors = 0;
  private curCheckouts = 0;
  private curRejections = 0;
  private curCrashes = 0;
  private curRestarts = 0;
  private curHcFailures = 0;
  /** Errors of the second in progress by category ({@link ERROR_CATEGORY_FIELD} − base). */
  private readonly curByCategory = new Float64Array(FIELDS - ERROR_CATEGORY_BASE);

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
    sessionMoves: 0,
  };
  /** Recycles by reason (at most {@link MAX_RECYCLE_REASONS} reasons; more count as `OVERFLOW_NAME`). */
  private readonly recycles: Record<string, number> = {};
  private recycleReasons = 0;

  // Gauge estimates from events, for seconds completed without a sample (pools that are not tracked).
  private liveWorkers = 0;
  private busyWorkers = 0;
  private lastQueueDepth = 0;
  private gauges: Required<PoolGauges> = { size: 0, busy: 0, idle: 0, starting: 0, queueDepth: 0, utilization: 0, spares: 0 };

  // Detail kept under the memory cap (see shedWorkerDetail / shedCommandDetail).
  private workerDetail = true;
  private commandDetail = true;

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
    this.python = new TieredSketch(POOL_TIERS, this.spares, startSec, true);
    this.bridge = new TieredSketch(POOL_TIERS, this.spares, startSec, true);
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
   * `pid` the Python process that served it. `pythonNs` / `bridgeNs`: the split of the call
   * (`OperationContext`), -1 when the reply carried no timing.
   */
  recordOperation(command: string, workerId: number, durationNs: number, queueWaitNs: number, failed: boolean, startMs: number, pid = 0, pythonNs = -1, bridgeNs = -1): void {
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
    if (pythonNs >= 0) {
      c.python.cur.record(pythonNs);
      c.bridge.cur.record(bridgeNs >= 0 ? bridgeNs : 0);
    }
    if (workerId >= 0) {
      const ws = this.workers;
      const w = (workerId < ws.length ? ws[workerId] : this.overflow) ?? this.workerFor(workerId);
      if (this.workerDetail) w.op.cur.recordKey(kd, durationNs);
      w.ops++;
      if (failed) w.errors++;
      w.lastSeenMs = startMs + durationNs / 1e6;
      // Worker events carry pid and generation; this is for slots first seen through operations.
      if (w.pid === 0) w.pid = pid;
    }
    this.lastHeardSec = this.sec;
  }

  /** A call got a worker; `sessionMoved`: its session left its previous worker. */
  recordCheckout(workerId: number, pid: number, generation: number, queueDepth: number, timestampMs: number, sessionMoved = false): void {
    this.curCheckouts++;
    this.totals.checkouts++;
    if (sessionMoved) this.totals.sessionMoves++;
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

  /** A worker was recycled for `reason`. */
  recordRecycle(reason: string, workerId: number, pid: number, generation: number, timestampMs: number): void {
    let key = cut(reason);
    if (this.recycles[key] === undefined) {
      if (this.recycleReasons >= MAX_RECYCLE_REASONS) key = OVERFLOW_NAME;
      if (this.recycles[key] === undefined) {
        this.recycles[key] = 0;
        this.recycleReasons++;
      }
    }
    this.recycles[key]!++;
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
    const field = ERROR_CATEGORY_FIELD[category] as number | undefined;
    if (field !== undefined) this.curByCategory[field - ERROR_CATEGORY_BASE]!++;
    this.lastHeardSec = this.sec;
  }

  /**
   * A pool of this name stopped: the event-estimated gauges drop to zero. (Whether a tracked pool
   * is still sampled is the collector's call: it owns the tracked pools.)
   */
  recordPoolTerminate(): void {
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
   * and move to the next second. The gauge sample is `sample` (what the collector read from a
   * tracked pool's `status()`), or without it the estimates from worker and queue events.
   */
  endSecond(sample: GaugeSample | null = null): void {
    const s = this.sec;
    const g = this.sampleGauges(sample);
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
    seconds.set(s, READY_SPARES, g.spares);
    const byCategory = this.curByCategory;
    for (let i = 0; i < byCategory.length; i++) seconds.set(s, ERROR_CATEGORY_BASE + i, byCategory[i]!);
    byCategory.fill(0);

    // The pool's second is the sum of its commands' (every operation has a command, or the overflow).
    const opCur = this.op.cur;
    const qwCur = this.queueWait.cur;
    const pyCur = this.python.cur;
    const brCur = this.bridge.cur;
    for (const c of this.commands.values()) {
      if (c.op.cur.count > 0) opCur.merge(c.op.cur);
      if (c.queueWaitCur.count > 0) qwCur.merge(c.queueWaitCur);
      if (c.python.cur.count > 0) {
        pyCur.merge(c.python.cur);
        brCur.merge(c.bridge.cur);
      }
    }
    this.op.endSecond();
    this.queueWait.endSecond();
    this.python.endSecond();
    this.bridge.endSecond();
    for (const c of this.commands.values()) {
      c.op.endSecond();
      c.python.endSecond();
      c.bridge.endSecond();
      c.errors.endSecond();
      if (c.queueWaitCur.count > 0) {
        c.queueWait.merge(c.queueWaitCur);
        c.queueWaitCur.clear();
      }
    }
    for (const w of this.workers) w?.op.endSecond();
    this.overflow?.op.endSecond();
    for (const e of this.errorTypes.values()) e.counter.endSecond();

    // Per-second quantiles for the range query (the fine slot just pushed is this second).
    const q = quantileTriple(this.op.lastFineSlot());
    seconds.set(s, P50, q[0]);
    seconds.set(s, P90, q[1]);
    seconds.set(s, P99, q[2]);

    const m = Math.floor(s / 60);
    const minutes = this.minutes;
    minutes.advanceTo(m);
    for (let f = OPS; f <= UTILIZATION; f++) minutes.add(m, f, seconds.get(s, f));
    minutes.add(m, READY_SPARES, seconds.get(s, READY_SPARES));
    for (let f = ERROR_CATEGORY_BASE; f < FIELDS; f++) minutes.add(m, f, seconds.get(s, f));
    if ((s + 1) % 60 === 0) {
      const mq = quantileTriple(this.op.lastCoarseSlot());
      minutes.set(m, P50, mq[0]);
      minutes.set(m, P90, mq[1]);
      minutes.set(m, P99, mq[2]);
    }

    this.curOps = this.curErrors = this.curCheckouts = this.curRejections = 0;
    this.curCrashes = this.curRestarts = this.curHcFailures = 0;
    this.sec = s + 1;
    seconds.advanceTo(this.sec);
  }

  /**
   * Move to second `sec` (> {@link sec}), completing every second in between with the same gauge
   * `sample` (see {@link endSecond}). A jump beyond the retention drops the windows at once instead
   * of rotating through empty seconds.
   */
  advanceTo(sec: number, sample: GaugeSample | null = null): void {
    if (sec <= this.sec) return;
    if (sec - this.sec > SECOND_SLOTS + 60) {
      this.endSecond(sample); // keep what the second in progress holds in the lifetime figures
      this.op.reset(sec);
      this.queueWait.reset(sec);
      this.python.reset(sec);
      this.bridge.reset(sec);
      for (const c of this.commands.values()) {
        c.op.reset(sec);
        c.python.reset(sec);
        c.bridge.reset(sec);
        c.errors.reset(sec);
      }
      for (const w of this.workers) w?.op.reset(sec);
      this.overflow?.op.reset(sec);
      for (const e of this.errorTypes.values()) e.counter.reset(sec);
      this.seconds.advanceTo(sec);
      this.minutes.advanceTo(Math.floor(sec / 60));
      this.sec = sec;
      return;
    }
    while (this.sec < sec) this.endSecond(sample);
  }

  // -------------------------------------------------------------------------------------------
  // State
  // -------------------------------------------------------------------------------------------

  /** The slot every worker id beyond {@link workers} shares (reported as {@link OVERFLOW_WORKER_ID}). */
  get overflowWorker(): Readonly<WorkerState> | undefined {
    return this.overflow;
  }

  /** Lifetime counters (a copy). */
  getTotals(): PoolTotals {
    return { ...this.totals, operations: this.opsTotal, errors: this.errorsTotal, workerRecycles: { ...this.recycles } };
  }

  /** Gauges as sampled most recently (a copy). */
  getGauges(): PoolGauges {
    return { ...this.gauges };
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

  // -------------------------------------------------------------------------------------------

  /** The gauges of the second ending: `sample` when given, else the estimates from events. */
  private sampleGauges(sample: GaugeSample | null): Required<PoolGauges> {
    const g = this.gauges;
    let size: number;
    let busy: number;
    let idle: number;
    let starting: number;
    let queueDepth: number;
    let spares = 0;
    if (sample !== null) {
      ({ size, busy, idle, starting, queueDepth } = sample);
      spares = sample.spares ?? 0;
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
    g.spares = spares;
    return g;
  }

  /** True while per-worker latency sketches are kept (false once shed under the memory cap). */
  get keepsWorkerDetail(): boolean {
    return this.workerDetail;
  }

  /** True while commands are kept apart (false once shed under the memory cap). */
  get keepsCommandDetail(): boolean {
    return this.commandDetail;
  }

  /**
   * Shed per-worker latency detail (the first step under the memory cap): every worker's sketch is
   * replaced by an empty one and no longer written. Counts, pids and states stay; a worker's
   * percentiles read as empty.
   */
  shedWorkerDetail(): void {
    if (!this.workerDetail) return;
    this.workerDetail = false;
    for (const w of this.workers) if (w) w.op = new TieredSketch(DETAIL_TIERS, this.spares, this.sec);
    if (this.overflow) this.overflow.op = new TieredSketch(DETAIL_TIERS, this.spares, this.sec);
  }

  /**
   * Shed per-command detail (the second step): every command's figures go into the overflow series
   * from now on, and the second in progress of each is folded into it first, so the pool's own
   * figures (the sum of its commands') lose nothing.
   */
  shedCommandDetail(): void {
    if (!this.commandDetail) return;
    this.commandDetail = false;
    const overflow = this.newCommand(OVERFLOW_NAME);
    const old = this.commands.get(OVERFLOW_NAME);
    for (const c of this.commands.values()) {
      if (c.op.cur.count > 0) overflow.op.cur.merge(c.op.cur);
      if (c.queueWaitCur.count > 0) overflow.queueWaitCur.merge(c.queueWaitCur);
      if (c.python.cur.count > 0) {
        overflow.python.cur.merge(c.python.cur);
        overflow.bridge.cur.merge(c.bridge.cur);
      }
      overflow.ops += c.ops;
      overflow.errorCount += c.errorCount;
    }
    if (old) overflow.queueWait.merge(old.queueWait);
    this.commands.clear();
    this.commands.set(OVERFLOW_NAME, overflow);
    this.lastCommandName = null;
    this.lastCommand = null;
  }

  private newCommand(name: string): CommandState {
    return {
      name,
      op: new TieredSketch(DETAIL_TIERS, this.spares, this.sec, true),
      queueWaitCur: new LogHistogram(),
      queueWait: new LogHistogram(true),
      errors: new TieredCounter(DETAIL_TIERS, this.sec),
      ops: 0,
      errorCount: 0,
      python: new TieredSketch(DETAIL_TIERS, this.spares, this.sec, true),
      bridge: new TieredSketch(DETAIL_TIERS, this.spares, this.sec, true),
    };
  }

  private commandFor(command: string): CommandState {
    let c = this.commands.get(command);
    if (c === undefined) {
      const name = !this.commandDetail || this.commands.size >= this.limits.maxCommands ? OVERFLOW_NAME : cut(command);
      c = this.commands.get(name);
      if (c === undefined) {
        c = this.newCommand(name);
        this.commands.set(name, c);
      }
    }
    this.lastCommandName = command;
    this.lastCommand = c;
    return c;
  }

  private workerFor(workerId: number): WorkerState {
    if (workerId >= 0 && workerId < this.workers.length) return (this.workers[workerId] ??= this.newWorker(workerId));
    return (this.overflow ??= this.newWorker(OVERFLOW_WORKER_ID));
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
