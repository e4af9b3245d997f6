/**
 * The advisor's analyses: pure functions from query results (the collector's summaries, command
 * and worker figures, error rates, and per-worker RSS history) to findings and recommendations.
 * Each states its minimum data and returns nothing below it: no recommendation from too little.
 *
 * Priority scoring (0..100, higher first), per kind:
 * - `grow_pool`: 50 + 40·min(1, (needed − size)/size) + 10·min(1, queueWaitMean/latencyMean).
 * - `memory_leak`: 40 + 40·min(1, slope/(1 MiB/s)) + 20·r².
 * - `crash_loop`: 60 + 10·min(4, crashes − 2), capped at 95.
 * - `timeouts`: 45 + 40·min(1, rate/0.1) for `timeout:operation` (each one costs a worker),
 *   40 + 40·min(1, rate/0.1) for `timeout:checkout`.
 * - `error_hotspot`: 30 + 50·min(1, rate/0.2).
 * - `latency_regression`: 30 + 10·min(4, ratio − 1).
 * - `slow_command`: 20 + 30·share.
 * - `shrink_pool`: 15 + 20·(1 − utilization).
 *
 * @module
 */
import type { Recommendation } from '../contract/advice.js';
import type { CommandMetrics, ErrorRates, LatencySummaryUs, WindowSummary, WorkerMetrics } from '../contract/metrics.js';

/** Everything the analyses read about one pool (plain data from the collector and the pool). */
export interface PoolFacts {
  pool: string;
  /** The last minute (the window growth and shrink rest on). */
  summary: WindowSummary;
  /** Target size and bounds, when the pool's status is known. */
  sizing: { size: number; minSize: number; maxSize: number } | null;
  /** Per-command figures over the last minute and over 15 minutes (the baseline). */
  commands: readonly CommandMetrics[];
  baseline: readonly CommandMetrics[];
  errors: ErrorRates | null;
  /** Per-worker RSS history (oldest first). */
  rss: readonly WorkerRssSeries[];
  /** The pool's `maxWorkerRssBytes` (0: off), when known. */
  maxWorkerRssBytes?: number;
  /** Each worker slot's figures over the last minute (optional: worker imbalance needs them). */
  workers?: readonly WorkerMetrics[];
  /** The pool's `operationTimeoutMs` and `checkoutTimeoutMs`, when known (the timeouts analysis). */
  timeouts?: { operationTimeoutMs: number; checkoutTimeoutMs: number } | null;
}

/** One worker process's RSS points. */
export interface WorkerRssSeries {
  workerId: number;
  pid: number;
  timesMs: readonly number[];
  rssBytes: readonly number[];
}

/** Thresholds of the analyses. */
export interface AnalysisSettings {
  /** Utilization the pool should run at; workers needed = L ÷ this. Default 0.7. */
  targetUtilization: number;
  /** Least seconds of data for growth / shrink. Default 20. */
  minCoveredS: number;
  /** Least operations for any latency / error figure. Default 30. */
  minOps: number;
  /** Least RSS points and span for a memory trend. Default 6 points, 30 s. */
  minRssPoints: number;
  minRssSpanMs: number;
  /** Slope that makes a leak suspect, bytes/s (with r² ≥ 0.8). Default 64 KiB/s. */
  leakSlopeBytesPerS: number;
}

export const DEFAULT_ANALYSIS_SETTINGS: Readonly<AnalysisSettings> = {
  targetUtilization: 0.7,
  minCoveredS: 20,
  minOps: 30,
  minRssPoints: 6,
  minRssSpanMs: 30_000,
  leakSlopeBytesPerS: 64 * 1024,
};

const r = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * Growth and shrink with Little's law: the calls in the system L = λ·W (throughput × mean time
 * per call, queue wait included), so the workers needed ≈ ⌈L ÷ target utilization⌉ within
 * min..max. A saturated pool's throughput understates demand, but its W grows by the queue wait,
 * so L still counts the callers. Minimum data: `minCoveredS` seconds and `minOps` operations.
 */
export function analyzeWorkerUtilization(f: PoolFacts, s: AnalysisSettings = DEFAULT_ANALYSIS_SETTINGS): Recommendation[] {
  return [...poolSizing(f, s), ...findWorkerImbalance(f, s)];
}

/**
 * Workers much slower than their peers on the same pool: a worker whose p50 over the last minute
 * is at least 2× the median p50 of the others (and 1 ms more), each with at least `minOps` calls,
 * with at least two peers. The same commands on the same code should take the same time; one
 * slow process points at that process (memory pressure, a stuck background thread, a bad cache)
 * and recycling it is cheap. Uneven call *counts* are not flagged: the default `lifo` strategy
 * keeps a few workers hot by design. Pure.
 */
export function findWorkerImbalance(f: PoolFacts, s: AnalysisSettings = DEFAULT_ANALYSIS_SETTINGS): Recommendation[] {
  const ws = (f.workers ?? []).filter((w) => w.workerId >= 0 && w.latencyUs.count >= s.minOps);
  if (ws.length < 3) return [];
  const out: Recommendation[] = [];
  for (const w of ws) {
    const peers = ws.filter((o) => o !== w).map((o) => o.latencyUs.p50).sort((a, b) => a - b);
    const mid = peers.length % 2 === 1 ? peers[(peers.length - 1) / 2]! : (peers[peers.length / 2 - 1]! + peers[peers.length / 2]!) / 2;
    const ratio = mid > 0 ? w.latencyUs.p50 / mid : Infinity;
    if (ratio < 2 || w.latencyUs.p50 - mid < 1000) continue;
    out.push({
      id: `worker_imbalance:${f.pool}:${w.workerId}`,
      kind: 'worker_imbalance',
      pool: f.pool,
      priority: Math.round(clamp(35 + 15 * Math.log2(ratio), 0, 80)),
      title: `Worker ${w.workerId} of '${f.pool}' is ${r(ratio, 1)}× slower than its peers: recycle it`,
      detail: `Its median call takes ${r(w.latencyUs.p50 / 1000, 1)} ms against ${r(mid / 1000, 1)} ms on the other ${peers.length} workers (last minute, ${w.latencyUs.count} calls).`,
      evidence: {
        window: w.window ?? '1m',
        coveredS: w.coveredS ?? 60,
        figures: { workerId: w.workerId, pid: w.pid, p50Us: Math.round(w.latencyUs.p50), peersMedianP50Us: Math.round(mid), ratio: r(ratio, 2), calls: w.latencyUs.count, peers: peers.length },
        math: [`ratio = p50 ÷ median p50 of peers = ${Math.round(w.latencyUs.p50)} µs ÷ ${Math.round(mid)} µs = ${r(ratio, 2)} (flagged from 2)`],
      },
      action: { kind: 'recycleWorker', workerId: w.workerId },
    });
  }
  return out;
}

function poolSizing(f: PoolFacts, s: AnalysisSettings): Recommendation[] {
  const w = f.summary;
  if (f.sizing === null || w.coveredS < s.minCoveredS || w.ops < s.minOps) return [];
  const { size, minSize, maxSize } = f.sizing;
  const lambda = w.throughputPerS;
  const wS = w.latencyUs.mean / 1e6;
  const L = lambda * wS;
  const raw = Math.ceil(L / s.targetUtilization - 1e-9);
  const needed = clamp(raw, minSize, maxSize);
  const math = [
    `L = λ·W = ${r(lambda)}/s × ${r(wS, 4)} s = ${r(L)} calls in the system`,
    `workers needed = ⌈L ÷ ${s.targetUtilization}⌉ = ${raw}${raw !== needed ? ` → ${needed} within ${minSize}..${maxSize}` : ''}`,
  ];
  const figures = {
    throughputPerS: r(lambda),
    latencyMeanUs: r(w.latencyUs.mean),
    queueWaitMeanUs: r(w.queueWaitUs.mean),
    queueWaitP99Us: r(w.queueWaitUs.p99),
    queueDepthAvg: r(w.queueDepthAvg),
    utilization: r(w.utilization),
    callsInSystem: r(L),
    size,
    needed,
  };
  const evidence = { window: w.window, coveredS: w.coveredS, figures, math };
  const queueing = w.queueDepthAvg >= 0.5 || w.queueWaitUs.mean > 0.2 * w.latencyUs.mean;
  if (queueing && needed > size) {
    const waitShare = w.latencyUs.mean > 0 ? w.queueWaitUs.mean / w.latencyUs.mean : 0;
    return [
      {
        id: `grow_pool:${f.pool}`,
        kind: 'grow_pool',
        pool: f.pool,
        priority: Math.round(clamp(50 + 40 * Math.min(1, (needed - size) / size) + 10 * Math.min(1, waitShare), 0, 100)),
        title: `Grow pool '${f.pool}' from ${size} to ${needed} workers`,
        detail: `Calls queue (avg depth ${r(w.queueDepthAvg, 1)}, ${Math.round(waitShare * 100)}% of call time is queue wait): about ${r(L, 1)} calls are in the system, which needs ${needed} workers at ${Math.round(s.targetUtilization * 100)}% utilization.`,
        evidence,
        action: { kind: 'resize', size: needed },
      },
    ];
  }
  if (!queueing && w.utilization < 0.3 && needed < size) {
    return [
      {
        id: `shrink_pool:${f.pool}`,
        kind: 'shrink_pool',
        pool: f.pool,
        priority: Math.round(15 + 20 * (1 - w.utilization)),
        title: `Shrink pool '${f.pool}' from ${size} to ${needed} workers`,
        detail: `Workers are busy ${Math.round(w.utilization * 100)}% of the time and nothing queues: ${needed} workers serve the ${r(L, 2)} calls in the system.`,
        evidence,
        action: { kind: 'resize', size: needed },
      },
    ];
  }
  return [];
}

/** Least-squares fit of `ys` on `xs`: slope per unit of x and r² (null with < 2 distinct x). Pure. */
export function linearFit(xs: readonly number[], ys: readonly number[]): { slope: number; r2: number } | null {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, r2 };
}

/**
 * Per-worker RSS slope → leak suspects (slope ≥ `leakSlopeBytesPerS` with r² ≥ 0.8): a recycle
 * recommendation, and one to set `maxWorkerRssBytes` when it is off. Minimum data per worker
 * process: `minRssPoints` points spanning `minRssSpanMs`.
 */
export function detectMemoryTrends(f: PoolFacts, s: AnalysisSettings = DEFAULT_ANALYSIS_SETTINGS): Recommendation[] {
  const out: Recommendation[] = [];
  for (const series of f.rss) {
    const n = series.timesMs.length;
    if (n < s.minRssPoints || series.timesMs[n - 1]! - series.timesMs[0]! < s.minRssSpanMs) continue;
    const t0 = series.timesMs[0]!;
    const fit = linearFit(
      series.timesMs.map((t) => (t - t0) / 1000),
      series.rssBytes,
    );
    if (fit === null || fit.slope < s.leakSlopeBytesPerS || fit.r2 < 0.8) continue;
    const spanS = (series.timesMs[n - 1]! - t0) / 1000;
    const last = series.rssBytes[n - 1]!;
    const evidence = {
      window: 'rss',
      coveredS: r(spanS, 1),
      figures: { slopeBytesPerS: Math.round(fit.slope), r2: r(fit.r2, 3), rssBytes: last, points: n, workerId: series.workerId, pid: series.pid },
      math: [`RSS slope = ${r(fit.slope / 1024, 1)} KiB/s over ${r(spanS, 1)} s (${n} points), r² = ${r(fit.r2, 3)}`, `growth over the window ≈ ${r((fit.slope * spanS) / 2 ** 20, 1)} MiB`],
    };
    const priority = Math.round(clamp(40 + 40 * Math.min(1, fit.slope / 2 ** 20) + 20 * fit.r2, 0, 100));
    out.push({
      id: `memory_leak:${f.pool}:${series.workerId}`,
      kind: 'memory_leak',
      pool: f.pool,
      priority,
      title: `Worker ${series.workerId} of '${f.pool}' leaks memory: recycle it`,
      detail: `Its RSS grows ${r(fit.slope / 1024, 1)} KiB/s (r² ${r(fit.r2, 2)}) and is ${r(last / 2 ** 20, 1)} MiB now.`,
      evidence,
      action: { kind: 'recycleWorker', workerId: series.workerId },
    });
    if ((f.maxWorkerRssBytes ?? 0) === 0) {
      const limit = Math.ceil((last * 1.5) / 2 ** 20) * 2 ** 20;
      out.push({
        id: `memory_limit:${f.pool}`,
        kind: 'memory_leak',
        pool: f.pool,
        priority: priority - 10,
        title: `Set maxWorkerRssBytes on '${f.pool}' to recycle leaking workers automatically`,
        detail: `Worker ${series.workerId} grows steadily; a limit of ${limit / 2 ** 20} MiB (1.5 × its RSS now) recycles such workers before they exhaust memory.`,
        evidence,
        action: { kind: 'configure', key: 'maxWorkerRssBytes', value: limit },
      });
    }
  }
  return out;
}

/**
 * Commands whose time dominates the pool's busy time (share ≥ 50% of ops × mean with at least two
 * commands), and commands whose p99 over the last minute is ≥ 2× their own 15-minute p99.
 * Minimum data: `minOps` operations of the command in each window compared.
 */
export function findSlowOperations(f: PoolFacts, s: AnalysisSettings = DEFAULT_ANALYSIS_SETTINGS): Recommendation[] {
  const out: Recommendation[] = [];
  const cmds = f.commands.filter((c) => c.ops >= s.minOps);
  const total = cmds.reduce((a, c) => a + c.ops * c.latencyUs.mean, 0);
  if (cmds.length >= 2 && total > 0) {
    for (const c of cmds) {
      const share = (c.ops * c.latencyUs.mean) / total;
      if (share < 0.5) continue;
      out.push({
        id: `slow_command:${f.pool}:${c.command}`,
        kind: 'slow_command',
        pool: f.pool,
        priority: Math.round(20 + 30 * share),
        title: `'${c.command}' takes ${Math.round(share * 100)}% of pool '${f.pool}' time`,
        detail: `p99 ${r(c.latencyUs.p99 / 1000, 1)} ms over ${c.ops} calls; speeding it up (or giving it a pool of its own) frees the most workers.`,
        evidence: { window: c.window, coveredS: c.coveredS, figures: { ops: c.ops, latencyMeanUs: r(c.latencyUs.mean), latencyP99Us: r(c.latencyUs.p99), timeShare: r(share, 3) }, math: [`share = ops × mean ÷ Σ(ops × mean) = ${c.ops} × ${r(c.latencyUs.mean)} µs ÷ ${r(total)} µs = ${r(share, 3)}`] },
        action: { kind: 'investigate', command: c.command },
      });
    }
  }
  for (const c of cmds) {
    const b = f.baseline.find((x) => x.command === c.command);
    if (!b || b.ops < 2 * s.minOps || b.latencyUs.p99 <= 0) continue;
    const ratio = c.latencyUs.p99 / b.latencyUs.p99;
    if (ratio < 2) continue;
    out.push({
      id: `latency_regression:${f.pool}:${c.command}`,
      kind: 'latency_regression',
      pool: f.pool,
      priority: Math.round(30 + 10 * Math.min(4, ratio - 1)),
      title: `'${c.command}' got ${r(ratio, 1)}× slower on '${f.pool}'`,
      detail: `p99 ${r(c.latencyUs.p99 / 1000, 1)} ms in the last minute against ${r(b.latencyUs.p99 / 1000, 1)} ms over 15 minutes.`,
      evidence: { window: c.window, coveredS: c.coveredS, figures: { p99Us: r(c.latencyUs.p99), baselineP99Us: r(b.latencyUs.p99), ratio: r(ratio, 2) }, math: [`ratio = ${r(c.latencyUs.p99)} µs ÷ ${r(b.latencyUs.p99)} µs = ${r(ratio, 2)}`] },
      action: { kind: 'investigate', command: c.command },
    });
  }
  return out;
}

/**
 * Error hotspots (an error type at ≥ 5% of operations, and a command failing ≥ 10%) and crash
 * loops (≥ 3 worker crashes in the window). Minimum data: `minOps` operations.
 */
export function identifyErrorPatterns(f: PoolFacts, s: AnalysisSettings = DEFAULT_ANALYSIS_SETTINGS): Recommendation[] {
  const e = f.errors;
  const out: Recommendation[] = [];
  if (e === null) return out;
  const crashes = e.byType.filter((t) => t.category === 'worker' && t.type === 'crashed').reduce((a, t) => a + t.count, 0);
  if (crashes >= 3) {
    out.push({
      id: `crash_loop:${f.pool}`,
      kind: 'crash_loop',
      pool: f.pool,
      priority: Math.min(95, 60 + 10 * Math.min(4, crashes - 2)),
      title: `Workers of '${f.pool}' crash repeatedly (${crashes} in ${e.window})`,
      detail: 'Each crash fails its call and costs a process start; look at the workers’ stderr in the pool logger.',
      evidence: { window: e.window, coveredS: f.summary.coveredS, figures: { crashes, ops: e.ops }, math: [`${crashes} crashed calls in ${e.window}`] },
      action: { kind: 'investigate', errorType: 'worker:crashed' },
    });
  }
  if (e.ops < s.minOps) return out;
  for (const t of e.byType) {
    // Crashes and timeouts have analyses of their own (crash_loop above, findTimeouts).
    if (t.rate < 0.05 || (t.category === 'worker' && t.type === 'crashed') || t.category === 'timeout') continue;
    out.push({
      id: `error_hotspot:${f.pool}:${t.category}:${t.type}`,
      kind: 'error_hotspot',
      pool: f.pool,
      priority: Math.round(30 + 50 * Math.min(1, t.rate / 0.2)),
      title: `${Math.round(t.rate * 100)}% of calls on '${f.pool}' fail with ${t.category}/${t.type}`,
      detail: `${t.count} of ${e.ops} operations in ${e.window}.`,
      evidence: { window: e.window, coveredS: f.summary.coveredS, figures: { count: t.count, ops: e.ops, rate: r(t.rate, 4) }, math: [`rate = ${t.count} ÷ ${e.ops} = ${r(t.rate, 4)}`] },
      action: { kind: 'investigate', errorType: `${t.category}:${t.type}` },
    });
  }
  for (const c of f.commands) {
    if (c.ops < s.minOps || c.errorRate < 0.1) continue;
    out.push({
      id: `error_hotspot:${f.pool}:${c.command}`,
      kind: 'error_hotspot',
      pool: f.pool,
      priority: Math.round(30 + 50 * Math.min(1, c.errorRate / 0.2)),
      title: `'${c.command}' fails ${Math.round(c.errorRate * 100)}% of its calls on '${f.pool}'`,
      detail: `${c.errors} of ${c.ops} calls in ${c.window}.`,
      evidence: { window: c.window, coveredS: c.coveredS, figures: { errors: c.errors, ops: c.ops, errorRate: r(c.errorRate, 4) }, math: [`rate = ${c.errors} ÷ ${c.ops} = ${r(c.errorRate, 4)}`] },
      action: { kind: 'investigate', command: c.command },
    });
  }
  return out;
}

/** The least share of operations that makes timeouts a finding (and at least {@link MIN_TIMEOUTS} of them). */
const TIMEOUT_RATE = 0.01;
const MIN_TIMEOUTS = 3;

/**
 * The highest of the summary's quantiles that lies below the slowest `share` of calls, with its
 * name: with `share` of the calls timing out (the longest durations of the window), it describes
 * calls that did not. The first choice keeps a margin (q ≤ 1 − 2·share: the timed-out calls are
 * not all exactly the slowest); when no quantile does (a quarter of the calls or more time out),
 * the highest with q < 1 − share. Null when not even the median is below them. Pure.
 */
export function tailBelow(l: LatencySummaryUs, share: number): { name: string; us: number } | null {
  const qs = [['p999', 0.999, l.p999], ['p99', 0.99, l.p99], ['p95', 0.95, l.p95], ['p90', 0.9, l.p90], ['p50', 0.5, l.p50]] as const;
  for (const [name, q, us] of qs) if (q <= 1 - 2 * share) return { name, us };
  for (const [name, q, us] of qs) if (q < 1 - share) return { name, us };
  return null;
}

/**
 * Calls that time out (`timeout:*` at ≥ 1% of operations, at least 3). Two kinds, two answers:
 *
 * - `timeout:operation`. When the longest calls reach the pool's `operationTimeoutMs` (the window's
 *   max ≥ 90% of it) the hang guard fired (each such call also killed and replaced its worker).
 *   The error type does not tell the guard from a caller's own `timeoutMs`; a caller deadline as
 *   long as the guard reads as the guard here (raising the guard then changes nothing for those
 *   calls, and the tuner keeps it only if errors and throughput do not get worse).
 *   If the calls that did finish run close to the guard too (the quantile just below the timed-out
 *   share ≥ half of it), the guard is tighter than the work: raise it to 2× (`configure`, which the
 *   auto-tuner validates and reverts when p99 or errors get worse). If they finish far below it,
 *   the timed-out calls hang (a deadlock, a blocking read, a remote call without a deadline):
 *   investigate; a larger guard would only hold workers longer. With half the calls or more timing
 *   out nothing is known about the others: investigate. When the longest calls stay below the
 *   guard, the deadlines are the callers' own per-call `timeoutMs`: investigate.
 * - `timeout:checkout`: calls waited `checkoutTimeoutMs` for a worker. The pool is short of
 *   workers: grow it (Little's law as for `grow_pool`, at least one more) while it is below
 *   `maxSize` (and `minCoveredS` seconds are covered, as for growth); at `maxSize`, investigate
 *   (raise `maxSize`, shed load earlier with `maxQueue`, or make the commands faster). Calls of a
 *   strict session wait for their own worker whatever the pool's size: the detail says so.
 *
 * Minimum data: `minOps` operations. Pure.
 */
export function findTimeouts(f: PoolFacts, s: AnalysisSettings = DEFAULT_ANALYSIS_SETTINGS): Recommendation[] {
  const e = f.errors;
  if (e === null || e.ops < s.minOps) return [];
  const out: Recommendation[] = [];
  const w = f.summary;
  const count = (type: string): number => e.byType.filter((t) => t.category === 'timeout' && t.type === type).reduce((a, t) => a + t.count, 0);
  const op = count('operation');
  const opRate = op / e.ops;
  if (op >= MIN_TIMEOUTS && opRate >= TIMEOUT_RATE) {
    const guardMs = f.timeouts?.operationTimeoutMs ?? null;
    const guardHit = guardMs !== null && guardMs > 0 && w.latencyUs.max >= 0.9 * guardMs * 1000;
    const tail = tailBelow(w.latencyUs, opRate);
    const figures: Record<string, number> = { timeouts: op, ops: e.ops, rate: r(opRate, 4), latencyMaxUs: r(w.latencyUs.max) };
    const math = [`rate = ${op} ÷ ${e.ops} = ${r(opRate, 4)}`];
    if (guardMs !== null) {
      figures['operationTimeoutMs'] = guardMs;
      math.push(`longest call ${r(w.latencyUs.max / 1000, 1)} ms ${guardHit ? '≥' : '<'} 90% of operationTimeoutMs ${guardMs} ms`);
    }
    if (tail !== null) {
      figures[`latency${tail.name.toUpperCase()}Us`] = r(tail.us);
      if (guardHit) math.push(`${tail.name} (below the timed-out ${r(opRate * 100, 1)}%) = ${r(tail.us / 1000, 1)} ms ${tail.us >= 0.5 * guardMs * 1000 ? '≥' : '<'} half the guard`);
    }
    const base = { id: `timeouts:${f.pool}:operation`, kind: 'timeouts' as const, pool: f.pool, priority: Math.round(45 + 40 * Math.min(1, opRate / 0.1)), evidence: { window: e.window, coveredS: w.coveredS, figures, math } };
    const pct = `${r(opRate * 100, 1)}%`;
    if (guardHit && tail !== null && tail.us >= 0.5 * guardMs * 1000) {
      out.push({
        ...base,
        title: `Raise operationTimeoutMs of '${f.pool}' from ${guardMs} to ${2 * guardMs} ms: ${pct} of calls outrun it`,
        detail: `Calls that finish take up to ${r(tail.us / 1000, 1)} ms (${tail.name}) against a ${guardMs} ms guard: the work is longer than the guard allows, and each timed-out call also kills and replaces its worker.`,
        action: { kind: 'configure', key: 'operationTimeoutMs', value: 2 * guardMs },
      });
    } else if (guardHit && tail === null) {
      out.push({
        ...base,
        title: `${pct} of calls on '${f.pool}' run into the ${guardMs} ms operationTimeoutMs guard`,
        detail: `So many time out that nothing is known of the others: either most inputs take longer than the guard, or the command hangs. Compare with its earlier latency (the 15-minute window) and read the error's details.pythonStack.`,
        action: { kind: 'investigate', errorType: 'timeout:operation' },
      });
    } else if (guardHit && tail !== null) {
      out.push({
        ...base,
        title: `${pct} of calls on '${f.pool}' hang until the ${guardMs} ms guard kills their worker`,
        detail: `Calls that finish take ${r(tail.us / 1000, 1)} ms (${tail.name}), far below the guard: the others hang (a deadlock, a blocking read, a remote call without a deadline). The error's details.pythonStack shows where; raising the guard would only hold workers longer.`,
        action: { kind: 'investigate', errorType: 'timeout:operation' },
      });
    } else {
      out.push({
        ...base,
        title: `${pct} of calls on '${f.pool}' miss their callers' deadlines (timeoutMs)`,
        detail: `The longest call took ${r(w.latencyUs.max / 1000, 1)} ms, below the pool's guard${guardMs === null ? '' : ` (${guardMs} ms)`}: the deadlines are the callers' own per-call timeoutMs, shorter than the command's tail${tail === null ? '' : ` (${tail.name} ${r(tail.us / 1000, 1)} ms)`}.`,
        action: { kind: 'investigate', errorType: 'timeout:operation' },
      });
    }
  }
  const co = count('checkout');
  const coRate = co / e.ops;
  if (co >= MIN_TIMEOUTS && coRate >= TIMEOUT_RATE) {
    const waitMs = f.timeouts?.checkoutTimeoutMs ?? null;
    const figures: Record<string, number> = { timeouts: co, ops: e.ops, rate: r(coRate, 4), queueWaitP99Us: r(w.queueWaitUs.p99), queueDepthAvg: r(w.queueDepthAvg) };
    if (waitMs !== null) figures['checkoutTimeoutMs'] = waitMs;
    const math = [`rate = ${co} ÷ ${e.ops} = ${r(coRate, 4)}`];
    const base = { id: `timeouts:${f.pool}:checkout`, kind: 'timeouts' as const, pool: f.pool, priority: Math.round(40 + 40 * Math.min(1, coRate / 0.1)) };
    const pct = `${r(coRate * 100, 1)}%`;
    const wait = waitMs === null ? 'checkoutTimeoutMs' : `checkoutTimeoutMs (${waitMs} ms)`;
    const sz = f.sizing;
    const canGrow = sz !== null && sz.size < sz.maxSize;
    if (canGrow && w.coveredS < s.minCoveredS) {
      // Too little covered to size the growth: nothing yet (as for grow_pool).
    } else if (sz !== null && canGrow) {
      const L = w.throughputPerS * (w.latencyUs.mean / 1e6);
      const raw = Math.ceil(L / s.targetUtilization - 1e-9);
      const to = clamp(Math.max(sz.size + 1, raw), sz.minSize, sz.maxSize);
      math.push(`L = λ·W = ${r(w.throughputPerS)}/s × ${r(w.latencyUs.mean / 1e6, 4)} s = ${r(L)}; workers = max(size + 1, ⌈L ÷ ${s.targetUtilization}⌉) = ${Math.max(sz.size + 1, raw)}${to !== Math.max(sz.size + 1, raw) ? ` → ${to} within ${sz.minSize}..${sz.maxSize}` : ''}`);
      figures['size'] = sz.size;
      figures['needed'] = to;
      out.push({
        ...base,
        title: `Grow pool '${f.pool}' from ${sz.size} to ${to} workers: ${pct} of calls time out waiting for one`,
        detail: `Calls waited longer than ${wait} for a free worker and were refused; more workers drain the queue. (Calls of a strict session wait for their own worker whatever the size: if the timeouts are theirs, it is that session's calls that queue.)`,
        evidence: { window: e.window, coveredS: w.coveredS, figures, math },
        action: { kind: 'resize', size: to },
      });
    } else {
      out.push({
        ...base,
        title: `${pct} of calls on '${f.pool}' time out waiting for a worker${sz === null ? '' : ` (at maxSize ${sz.maxSize})`}`,
        detail: `Calls waited longer than ${wait} for a free worker. ${sz === null ? 'The pool’s sizing is unknown here: track the pool to get a size.' : 'The pool cannot grow: raise maxSize, refuse load earlier with maxQueue, or make the commands faster.'}`,
        evidence: { window: e.window, coveredS: w.coveredS, figures, math },
        action: { kind: 'investigate', errorType: 'timeout:checkout' },
      });
    }
  }
  return out;
}

/** Every analysis of one pool, highest priority first (ties by id). Pure. */
export function generateRecommendations(f: PoolFacts, s: AnalysisSettings = DEFAULT_ANALYSIS_SETTINGS): Recommendation[] {
  const all = [...analyzeWorkerUtilization(f, s), ...detectMemoryTrends(f, s), ...findSlowOperations(f, s), ...identifyErrorPatterns(f, s), ...findTimeouts(f, s)];
  return all.sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1));
}
