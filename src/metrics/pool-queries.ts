/**
 * The read side of one pool's figures: summaries, ranges, windows, per-command, per-worker and
 * per-error results, as functions of a {@link PoolState} (a `PoolMetrics`). They keep no state of
 * their own; the ones merging histograms use the pool's scratch histograms, so allocate only their
 * results. Windows end at the last complete second: moving time on (the collector's `tick`) comes
 * before a query, never inside one.
 *
 * @module
 */
import { cumulativeHistogram, logBuckets } from './histogram-views.js';
import { healthScore } from './health-score.js';
import { emptyLatencySummary, LogHistogram } from './log-histogram.js';
import {
  BUSY,
  CRASHES,
  ERROR_CATEGORY_FIELD,
  ERRORS,
  IDLE,
  OPS,
  P50,
  P90,
  P99,
  QUEUE_DEPTH,
  READY_SPARES,
  SAMPLED,
  SIZE,
  STARTING,
  UTILIZATION,
  quantileTriple,
  type CommandState,
  type PoolState,
} from './pool-state.js';
import {
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
  type RangePoint,
  type WindowName,
  type WindowSummary,
  type WorkerMetrics,
} from '../contract/metrics.js';
import { POOL_TIERS, windowSpan, type SeriesRing, type TieredSketch, type WindowSpan } from './window-ring.js';
import { errorCategories, type ErrorCategory } from '../contract/errors.js';

/** The non-zero per-category error counts of one period of a series (most periods: none). */
function errorsByCategoryOf(ring: SeriesRing, period: number): Partial<Record<ErrorCategory, number>> {
  const out: Partial<Record<ErrorCategory, number>> = {};
  for (const c of errorCategories) {
    const n = ring.get(period, ERROR_CATEGORY_FIELD[c]);
    if (n > 0) out[c] = n;
  }
  return out;
}

/** The span of a pool-level window ending at the last complete second. */
export function poolSpan(pool: PoolState, window: WindowName): WindowSpan {
  return windowSpan(windowSeconds[window], pool.sec, POOL_TIERS);
}

/** Seconds of a span this pool has data for. */
function covered(pool: PoolState, span: WindowSpan): number {
  return Math.max(0, span.endSec - Math.max(span.startSec, pool.firstSec));
}

/**
 * One window of the performance summary. `split` false leaves out `pythonUs` / `bridgeUs` (half
 * the histogram merging), for consumers that read neither; every other figure is the same.
 */
export function windowSummary(pool: PoolState, window: WindowName, split = true): WindowSummary {
  const L = windowSeconds[window];
  const span = poolSpan(pool, window);
  const coveredS = covered(pool, span);
  const from = span.startSec;
  const to = span.endSec;
  const s = pool.seconds;
  const ops = s.sum(OPS, from, to);
  const errors = s.sum(ERRORS, from, to);
  const sampled = s.sum(SAMPLED, from, to);
  const lat = pool.scratch;
  lat.clear();
  pool.op.windowInto(lat, L);
  const qw = pool.scratch2;
  qw.clear();
  pool.queueWait.windowInto(qw, L);
  const latencyUs = lat.summaryUs();
  const queueWaitUs = qw.summaryUs();
  let pythonUs: WindowSummary['pythonUs'];
  let bridgeUs: WindowSummary['bridgeUs'];
  if (split) {
    // The split (issue 19): the scratch histograms are free again once the summaries are read.
    lat.clear();
    pool.python.windowInto(lat, L);
    pythonUs = lat.summaryUs();
    qw.clear();
    pool.bridge.windowInto(qw, L);
    bridgeUs = qw.summaryUs();
  }
  const utilization = sampled > 0 ? s.sum(UTILIZATION, from, to) / sampled : 0;
  const queueDepthAvg = sampled > 0 ? s.sum(QUEUE_DEPTH, from, to) / sampled : 0;
  const sizeAvg = sampled > 0 ? s.sum(SIZE, from, to) / sampled : 0;
  const errorRate = ops > 0 ? errors / ops : 0;
  const crashes = s.sum(CRASHES, from, to);
  const throughputPerS = coveredS > 0 ? ops / coveredS : 0;
  const score = healthScore({
    errorRate,
    crashes,
    utilization,
    queueDepthAvg,
    sizeAvg,
    latencyP99Us: latencyUs.p99,
    queueWaitP99Us: queueWaitUs.p99,
  });
  if (pythonUs === undefined || bridgeUs === undefined) {
    return { window, coveredS, ops, errors, throughputPerS, errorRate, latencyUs, queueWaitUs, utilization, queueDepthAvg, healthScore: score, workerCrashes: crashes };
  }
  return { window, coveredS, ops, errors, throughputPerS, errorRate, latencyUs, queueWaitUs, pythonUs, bridgeUs, utilization, queueDepthAvg, healthScore: score, workerCrashes: crashes };
}

/** The last complete second. */
export function lastSecond(pool: PoolState): PeriodMetrics {
  const t = pool.sec - 1;
  const s = pool.seconds;
  const ops = s.get(t, OPS);
  const errors = s.get(t, ERRORS);
  const last = t >= pool.firstSec ? pool.op.lastFineSlot() : null;
  const lastQw = t >= pool.firstSec ? pool.queueWait.lastFineSlot() : null;
  return {
    timestampMs: t * 1000,
    periodS: 1,
    ops,
    errors,
    throughputPerS: ops,
    errorRate: ops > 0 ? errors / ops : 0,
    latencyUs: summaryOf(last),
    queueWaitUs: summaryOf(lastQw),
    gauges: gaugesOver(pool, t, t + 1),
  };
}

/** The last 60 complete seconds. */
export function lastMinute(pool: PoolState): PeriodMetrics {
  const w = windowSummary(pool, '1m');
  const span = poolSpan(pool, '1m');
  return {
    timestampMs: span.startSec * 1000,
    periodS: 60,
    ops: w.ops,
    errors: w.errors,
    throughputPerS: w.throughputPerS,
    errorRate: w.errorRate,
    latencyUs: w.latencyUs,
    queueWaitUs: w.queueWaitUs,
    gauges: gaugesOver(pool, span.startSec, span.endSec),
  };
}

/** Average gauges over seconds `[from, to)` (the sample itself for one second). */
function gaugesOver(pool: PoolState, from: number, to: number): PoolGauges {
  const s = pool.seconds;
  const n = s.sum(SAMPLED, from, to);
  if (n === 0) return { size: 0, busy: 0, idle: 0, starting: 0, queueDepth: 0, utilization: 0, spares: 0 };
  return {
    size: s.sum(SIZE, from, to) / n,
    busy: s.sum(BUSY, from, to) / n,
    idle: s.sum(IDLE, from, to) / n,
    starting: s.sum(STARTING, from, to) / n,
    queueDepth: s.sum(QUEUE_DEPTH, from, to) / n,
    utilization: s.sum(UTILIZATION, from, to) / n,
    spares: s.sum(READY_SPARES, from, to) / n,
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
export function metricsRange(pool: PoolState, fromMs: number, toMs: number): MetricsRange {
  let fromSec = Math.floor(fromMs / 1000);
  let toSec = Math.min(Math.ceil(toMs / 1000), pool.sec);
  const spanS = Math.floor(toMs / 1000) - fromSec;
  fromSec = Math.max(fromSec, pool.firstSec);
  const points: RangePoint[] = [];
  const perSecond = spanS <= 900 && fromSec >= pool.seconds.oldest;
  if (perSecond) {
    const s = pool.seconds;
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
        latencyP90Us: s.get(t, P90),
        latencyP99Us: s.get(t, P99),
        queueDepth: s.get(t, QUEUE_DEPTH),
        utilization: s.get(t, UTILIZATION),
        errorsByCategory: errorsByCategoryOf(s, t),
      });
    }
    return { pool: pool.name, fromMs, toMs, resolutionS: 1, points };
  }
  const m = pool.minutes;
  const curMin = Math.floor(pool.sec / 60);
  const firstMin = Math.max(Math.floor(fromSec / 60), m.oldest, Math.floor(pool.firstSec / 60));
  toSec = Math.max(toSec, fromSec);
  const lastMin = Math.ceil(toSec / 60); // exclusive
  for (let mi = firstMin; mi < lastMin && mi <= curMin; mi++) {
    const inProgress = mi === curMin;
    const secondsIn = inProgress ? pool.sec - mi * 60 : 60;
    if (secondsIn <= 0) continue;
    const ops = m.get(mi, OPS);
    const errors = m.get(mi, ERRORS);
    const n = m.get(mi, SAMPLED);
    let p50 = m.get(mi, P50);
    let p90 = m.get(mi, P90);
    let p99 = m.get(mi, P99);
    if (inProgress) [p50, p90, p99] = quantileTriple(pool.op.minuteInProgress());
    const coveredS = Math.max(1, Math.min(secondsIn, (mi + 1) * 60 - pool.firstSec));
    points.push({
      timestampMs: mi * 60_000,
      ops,
      errors,
      throughputPerS: ops / coveredS,
      errorRate: ops > 0 ? errors / ops : 0,
      latencyP50Us: p50,
      latencyP90Us: p90,
      latencyP99Us: p99,
      queueDepth: n > 0 ? m.get(mi, QUEUE_DEPTH) / n : 0,
      utilization: n > 0 ? m.get(mi, UTILIZATION) / n : 0,
      errorsByCategory: errorsByCategoryOf(m, mi),
    });
  }
  return { pool: pool.name, fromMs, toMs, resolutionS: 60, points };
}

/**
 * One worker slot, latency over `window` (10-second edges). An id beyond the slots kept apart
 * (or {@link OVERFLOW_WORKER_ID}) answers for the overflow slot it shares, with `workerId`
 * {@link OVERFLOW_WORKER_ID}.
 */
export function workerMetrics(pool: PoolState, workerId: number, window: WindowName): WorkerMetrics {
  const own = workerId >= 0 && workerId < pool.workers.length;
  const w = own ? pool.workers[workerId] : pool.overflowWorker;
  if (!own) workerId = OVERFLOW_WORKER_ID;
  const L = windowSeconds[window];
  if (w === undefined) {
    return { pool: pool.name, workerId, pid: 0, generation: 0, operations: 0, errors: 0, latencyUs: summaryOf(null), lastSeenMs: 0, window, coveredS: 0 };
  }
  const h = pool.scratch;
  h.clear();
  const span = w.op.windowInto(h, L);
  return {
    pool: pool.name,
    workerId,
    pid: w.pid,
    generation: w.generation,
    operations: w.ops,
    errors: w.errors,
    latencyUs: h.summaryUs(),
    lastSeenMs: w.lastSeenMs,
    window,
    coveredS: covered(pool, span),
  };
}

/**
 * Worker slots seen: the ids kept apart, ascending, then {@link OVERFLOW_WORKER_ID} once when any
 * id beyond them was seen (never those ids themselves: they share the overflow's figures).
 */
export function workerIds(pool: PoolState): number[] {
  const ids: number[] = [];
  for (let i = 0; i < pool.workers.length; i++) if (pool.workers[i] !== undefined) ids.push(i);
  if (pool.overflowWorker !== undefined) ids.push(OVERFLOW_WORKER_ID);
  return ids;
}

/** Every command over `window`, most operations first. */
export function commandMetrics(pool: PoolState, window: WindowName): CommandMetrics[] {
  const L = windowSeconds[window];
  const out: CommandMetrics[] = [];
  const h = pool.scratch;
  for (const c of pool.commands.values()) {
    h.clear();
    const span = c.op.windowInto(h, L);
    const coveredS = covered(pool, span);
    const ops = h.count;
    const errors = c.errors.window(L);
    const latencyUs = h.summaryUs();
    h.clear();
    c.python.windowInto(h, L);
    const pythonUs = h.summaryUs();
    h.clear();
    c.bridge.windowInto(h, L);
    const bridgeUs = h.summaryUs();
    out.push({
      pool: pool.name,
      command: c.name,
      window,
      coveredS,
      ops,
      errors,
      throughputPerS: coveredS > 0 ? ops / coveredS : 0,
      errorRate: ops > 0 ? errors / ops : 0,
      latencyUs,
      pythonUs,
      bridgeUs,
    });
  }
  return out.sort((a, b) => b.ops - a.ops || (a.command < b.command ? -1 : 1));
}

/** Errors over `window`, by category and type. */
export function errorRates(pool: PoolState, window: WindowName): ErrorRates {
  const L = windowSeconds[window];
  const span = poolSpan(pool, window);
  const ops = pool.seconds.sum(OPS, span.startSec, span.endSec);
  const errors = pool.seconds.sum(ERRORS, span.startSec, span.endSec);
  const byCategory: ErrorRates['byCategory'] = {};
  const byType: ErrorRates['byType'] = [];
  for (const e of pool.errorTypes.values()) {
    const count = e.counter.window(L);
    if (count === 0) continue;
    const rate = ops > 0 ? count / ops : 0;
    byType.push({ category: e.category, type: e.type, count, rate });
    const c = (byCategory[e.category] ??= { count: 0, rate: 0 });
    c.count += count;
    c.rate = ops > 0 ? c.count / ops : 0;
  }
  byType.sort((a, b) => b.count - a.count);
  return { pool: pool.name, window, ops, errors, errorRate: ops > 0 ? errors / ops : 0, byCategory, byType };
}

/** Lifetime error counts by category and type, most frequent first. */
export function errorTotals(pool: PoolState): ErrorTotal[] {
  const out: ErrorTotal[] = [];
  for (const e of pool.errorTypes.values()) out.push({ category: e.category, type: e.type, count: e.counter.total });
  return out.sort((a, b) => b.count - a.count);
}

/** Lifetime operations and errors per command. */
export function commandTotals(pool: PoolState): CommandTotals[] {
  const out: CommandTotals[] = [];
  for (const c of pool.commands.values()) out.push({ command: c.name, operations: c.ops, errors: c.errorCount });
  return out;
}

/** Names of the commands seen (including `OVERFLOW_NAME` once the cap was passed). */
export function commandNames(pool: PoolState): string[] {
  return [...pool.commands.keys()];
}

/**
 * The lifetime distribution (up to this moment: the second in progress included) of the pool, or
 * of one command, as a Prometheus cumulative histogram. An unknown command gives an empty one.
 */
export function latencyHistogram(pool: PoolState, kind: LatencyKind, command?: string): CumulativeHistogram {
  const h = pool.scratch;
  h.clear();
  if (command === undefined) {
    const t = poolSketch(pool, kind);
    if (t.lifetime) h.merge(t.lifetime);
    // The second in progress lives in the commands' histograms until it completes.
    for (const c of pool.commands.values()) h.merge(kind === 'queue_wait' ? c.queueWaitCur : commandSketch(c, kind).cur);
  } else {
    const c = pool.commands.get(command);
    if (c !== undefined) {
      if (kind === 'python' || kind === 'bridge') {
        const t = commandSketch(c, kind);
        if (t.lifetime) h.merge(t.lifetime);
        h.merge(t.cur);
      } else if (kind === 'queue_wait') {
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

/** What {@link latencySketch} covers: a window, the last complete second, or the pool's lifetime. */
export type SketchSpan = WindowName | 'second' | 'lifetime';

/**
 * A copy of the pool's latency sketch over `span` (a new histogram the caller owns: fleet hosts
 * serialize it, a fleet collector merges such copies from many hosts). `'second'` is the last
 * complete second; `'lifetime'` everything ever recorded up to this moment (wide counts). With
 * `command`, that command's operation durations (10-second slots: its `'second'` sketch is empty).
 */
export function latencySketch(pool: PoolState, kind: LatencyKind, span: SketchSpan, command?: string): LogHistogram {
  if (command !== undefined) {
    // One command's operation durations (its queue waits are kept for its lifetime only).
    const c = pool.commands.get(command);
    const out = new LogHistogram(span === 'lifetime');
    if (c === undefined || kind !== 'operation') return out;
    if (span === 'lifetime') {
      if (c.op.lifetime) out.merge(c.op.lifetime);
      out.merge(c.op.cur);
    } else if (span === 'second') {
      // Command slots are 10 s wide: no per-second figure; the empty sketch says so.
    } else {
      c.op.windowInto(out, windowSeconds[span]);
    }
    return out;
  }
  if (span === 'lifetime') {
    const out = new LogHistogram(true);
    const h = pool.scratch;
    h.clear();
    const t = kind === 'operation' ? pool.op : pool.queueWait;
    if (t.lifetime) out.merge(t.lifetime);
    for (const c of pool.commands.values()) out.merge(kind === 'operation' ? c.op.cur : c.queueWaitCur);
    return out;
  }
  const out = new LogHistogram();
  const t = kind === 'operation' ? pool.op : pool.queueWait;
  if (span === 'second') {
    const last = pool.sec - 1 >= pool.firstSec ? t.lastFineSlot() : null;
    if (last !== null) out.merge(last);
    return out;
  }
  t.windowInto(out, windowSeconds[span]);
  return out;
}

/** One complete second of a pool: its point and a copy of its operation sketch. */
export interface RecentSecond {
  point: RangePoint;
  sketch: LogHistogram;
}

/**
 * The last `n` complete seconds (at most 60), oldest first, each with a copy of its operation
 * sketch: what a fleet host publishes so the fleet's per-second series come from merged sketches
 * even when its reports arrive with jitter (each report repeats the seconds before it).
 */
export function recentSeconds(pool: PoolState, n: number): RecentSecond[] {
  const k = Math.max(0, Math.min(n, 60, pool.sec - pool.firstSec));
  const fromSec = pool.sec - k;
  const points = metricsRange(pool, fromSec * 1000, pool.sec * 1000).points;
  return points.map((point) => {
    const ago = pool.sec - 1 - point.timestampMs / 1000;
    const sketch = new LogHistogram();
    const slot = pool.op.fineSlot(ago);
    if (slot !== null) sketch.merge(slot);
    return { point, sketch };
  });
}

/** Log-scaled buckets of the pool's distribution over `window`. */
export function latencyDistribution(pool: PoolState, window: WindowName, kind: LatencyKind, perDecade: number): LatencyBucket[] {
  const h = pool.scratch;
  h.clear();
  poolSketch(pool, kind).windowInto(h, windowSeconds[window]);
  return logBuckets(h, perDecade);
}

/** The pool-level sketch of a latency kind. */
function poolSketch(pool: PoolState, kind: LatencyKind): TieredSketch {
  return kind === 'operation' ? pool.op : kind === 'queue_wait' ? pool.queueWait : kind === 'python' ? pool.python : pool.bridge;
}

/** A command's windowed sketch of a latency kind (queue waits have none: see CommandState). */
function commandSketch(c: Readonly<CommandState>, kind: Exclude<LatencyKind, 'queue_wait'>): TieredSketch {
  return kind === 'operation' ? c.op : kind === 'python' ? c.python : c.bridge;
}

function summaryOf(h: LogHistogram | null): ReturnType<LogHistogram['summaryUs']> {
  return h === null ? emptyLatencySummary() : h.summaryUs();
}
