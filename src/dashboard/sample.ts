/**
 * A deterministic, realistic {@link MonitoringSnapshot} for tests, benchmarks, docs and trying the
 * renderers without a pool (pure: the same options give the same snapshot).
 *
 * @module
 */
import type { LatencyBucket, LatencySummaryUs, RangePoint, WindowName, WindowSummary, WorkerMetrics } from '../contract/metrics.js';
import { windowSeconds } from '../contract/metrics.js';
import type { WorkerStatus } from '../contract/pool-status.js';
import type { PythonProcessResources } from '../contract/resources.js';
import type { MonitoringSnapshot, SnapshotAlert, SnapshotRecommendation } from '../contract/snapshot.js';
import { prng } from '../util/prng.js';

/** Options of {@link sampleSnapshot}. */
export interface SampleOptions {
  /** Worker slots (default 4). */
  workers?: number;
  window?: WindowName;
  /** Snapshot time (default 2025-01-01T12:00:00Z). */
  nowMs?: number;
  /** Mean throughput, ops/s (default 1200; 0 for an idle pool). */
  throughputPerS?: number;
  /** Seconds of data (default: the whole window). */
  coveredS?: number;
  /** Add a 20× throughput spike 30 s ago. */
  spike?: boolean;
  alerts?: SnapshotAlert[];
  recommendations?: SnapshotRecommendation[];
  /** Seed of the pseudo-random noise (default 1). */
  seed?: number;
}

function summary(count: number, p50: number, p99: number): LatencySummaryUs {
  if (count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };
  return { count, min: p50 * 0.2, mean: p50 * 1.4, p50, p90: p50 * 3, p95: p50 * 5, p99, p999: p99 * 2, max: p99 * 4 };
}

/** Build a sample snapshot. */
export function sampleSnapshot(opts: SampleOptions = {}): MonitoringSnapshot {
  const rand = prng(opts.seed ?? 1);
  const n = opts.workers ?? 4;
  const window = opts.window ?? '5m';
  const nowMs = opts.nowMs ?? Date.UTC(2025, 0, 1, 12, 0, 0);
  const tput = opts.throughputPerS ?? 1200;
  const covered = Math.min(windowSeconds[window], opts.coveredS ?? windowSeconds[window]);
  const series: RangePoint[] = [];
  let opsTotal = 0;
  let errTotal = 0;
  for (let i = covered; i >= 1; i--) {
    const t = nowMs - i * 1000;
    const wave = 1 + 0.25 * Math.sin(i / 40) + 0.1 * (rand() - 0.5);
    let thr = Math.max(0, Math.round(tput * wave));
    if (opts.spike && i === 30) thr = tput * 20;
    const errors = thr > 0 ? Math.round(thr * (i % 97 < 6 ? 0.04 : 0.004) * rand()) : 0;
    opsTotal += thr;
    errTotal += errors;
    series.push({
      timestampMs: t,
      ops: thr,
      errors,
      throughputPerS: thr,
      errorRate: thr > 0 ? errors / thr : 0,
      latencyP50Us: 800 + 200 * rand(),
      latencyP99Us: 12_000 + 4000 * rand(),
      queueDepth: i % 50 < 3 ? 3 : 0,
      utilization: 0.6 + 0.2 * rand(),
    });
  }
  const latency: LatencyBucket[] = [];
  if (opsTotal > 0) {
    for (let lower = 50; lower < 2_000_000; lower *= 1.25) {
      const upper = lower * 1.25;
      const mid = Math.sqrt(lower * upper);
      const z = Math.log(mid / 900) / 0.7;
      const body = Math.exp(-0.5 * z * z) * opsTotal * 0.12;
      const tail = Math.exp(-0.5 * Math.pow(Math.log(mid / 40_000) / 0.5, 2)) * opsTotal * 0.004;
      const count = Math.round(body + tail);
      if (count > 0) latency.push({ lowerUs: lower, upperUs: upper, count });
    }
  }
  const lat = summary(opsTotal, 950, 38_000);
  const win = (w: WindowName): WindowSummary => ({
    window: w,
    coveredS: covered,
    ops: opsTotal,
    errors: errTotal,
    throughputPerS: covered > 0 ? opsTotal / covered : 0,
    errorRate: opsTotal > 0 ? errTotal / opsTotal : 0,
    latencyUs: lat,
    queueWaitUs: summary(opsTotal, 40, 900),
    utilization: 0.7,
    queueDepthAvg: 0.2,
    healthScore: 87,
  });
  const states = ['busy', 'busy', 'idle', 'busy', 'starting'] as const;
  const statuses: WorkerStatus[] = [];
  const metrics: WorkerMetrics[] = [];
  const python: PythonProcessResources[] = [];
  for (let id = 0; id < n; id++) {
    const pid = 40_000 + id * 7;
    const ops = Math.round((opsTotal / Math.max(1, n)) * (0.8 + 0.4 * rand())) + 1000 * id;
    const gen = id % 11 === 3 ? 1 : 0;
    statuses.push({ id, pid, state: states[id % states.length] ?? 'idle', operations: ops, errors: Math.round(ops * 0.004), startedAtMs: nowMs - 3_600_000, lastUsedAtMs: nowMs - 20, generation: gen, outputLinesDropped: 0, outputLinesCut: 0 });
    metrics.push({ pool: 'demo', workerId: id, pid, generation: gen, operations: ops, errors: Math.round(ops * 0.004), latencyUs: summary(ops, 900 + id * 10, 20_000 + 3000 * (id % 5)), lastSeenMs: nowMs - 20 });
    python.push({
      pid,
      pool: 'demo',
      workerId: id,
      runId: 'sample',
      orphan: false,
      state: 'S',
      cpuPercent: 20 + ((id * 37) % 70),
      rssBytes: (28 + ((id * 13) % 20)) * 1024 * 1024,
      vmsBytes: 300 * 1024 * 1024,
      threads: 1,
      openFds: 12,
      startedAtMs: nowMs - 3_600_000,
      ageMs: 3_600_000,
      restarts: gen,
      rssSlopeBytesPerS: 120,
      cpuSeconds: 100,
    });
  }
  const busy = statuses.filter((w) => w.state === 'busy').length;
  const gauges = { size: n, busy, idle: statuses.filter((w) => w.state === 'idle').length, starting: statuses.filter((w) => w.state === 'starting').length, queueDepth: 1, utilization: n > 0 ? busy / n : 0 };
  const last = series[series.length - 1];
  const period = {
    timestampMs: nowMs - 1000,
    periodS: 1,
    ops: last?.ops ?? 0,
    errors: last?.errors ?? 0,
    throughputPerS: last?.throughputPerS ?? 0,
    errorRate: last?.errorRate ?? 0,
    latencyUs: lat,
    queueWaitUs: summary(0, 0, 0),
    gauges,
  };
  return {
    timestampMs: nowMs,
    window,
    pools: [
      {
        name: 'demo',
        status: { name: 'demo', lifecycle: 'running', size: n, minSize: n, maxSize: n, busy, idle: gauges.idle, starting: gauges.starting, queueDepth: 1, maxQueue: 1000, sessions: 0, uptimeMs: 3_725_000, workers: statuses },
        current: { pool: 'demo', timestampMs: nowMs, lastSecond: period, lastMinute: { ...period, periodS: 60 }, gauges, totals: { operations: opsTotal, errors: errTotal, checkouts: opsTotal, queueRejections: 0, workerCrashes: 1, workerRestarts: 1, healthCheckFailures: 0, sessionMoves: 0 } },
        summary: { pool: 'demo', timestampMs: nowMs, windows: { '1m': win('1m'), '5m': win('5m'), '15m': win('15m') } },
        series,
        latency,
        errors: {
          pool: 'demo',
          window,
          ops: opsTotal,
          errors: errTotal,
          errorRate: opsTotal > 0 ? errTotal / opsTotal : 0,
          byCategory: { python: { count: Math.round(errTotal * 0.9), rate: (errTotal * 0.9) / Math.max(1, opsTotal) } },
          byType:
            errTotal > 0
              ? [
                  { category: 'python', type: 'ValueError', count: Math.round(errTotal * 0.9), rate: (errTotal * 0.9) / opsTotal },
                  { category: 'timeout', type: 'operation', count: Math.round(errTotal * 0.08), rate: (errTotal * 0.08) / opsTotal },
                  { category: 'worker', type: 'crashed', count: 1, rate: 1 / opsTotal },
                ]
              : [],
        },
        workers: metrics,
      },
    ],
    resources: {
      timestampMs: nowMs,
      node: {
        pid: 1234,
        rssBytes: 96 * 1024 * 1024,
        heapUsedBytes: 38 * 1024 * 1024,
        heapTotalBytes: 52 * 1024 * 1024,
        heapLimitBytes: 4144 * 1024 * 1024,
        externalBytes: 3 * 1024 * 1024,
        arrayBuffersBytes: 1024 * 1024,
        eventLoopDelayUs: { p50: 10_100, p99: 12_400, max: 21_000, mean: 10_300 },
        eventLoopUtilization: 0.34,
        gcCount: 3,
        gcPauseMs: 2.1,
        activeHandles: 4 + n * 3,
        activeRequests: 0,
        cpuPercent: 41,
        uptimeMs: 3_730_000,
      },
      system: { cpuCount: 2, totalMemBytes: 8 * 1024 ** 3, freeMemBytes: 5.2 * 1024 ** 3, loadAvg: [1.42, 1.1, 0.87] },
      python,
      vanished: [],
      warnings: [],
    },
    alerts: opts.alerts ?? [],
    recommendations: opts.recommendations ?? [],
  };
}

/** A snapshot with no data at all (a monitor that just started, or before the first sample). */
export function emptySnapshot(nowMs: number, window: WindowName = '1m'): MonitoringSnapshot {
  return { timestampMs: nowMs, window, pools: [], resources: null, alerts: [], recommendations: [] };
}
