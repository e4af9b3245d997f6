/**
 * Plain-object sources for the pure exporter tests: a fake collector answering from fixed data, a
 * pool status, a resource sample. Deterministic; no processes.
 */
import type { CollectorQueries } from '../../src/exporters/index.js';
import type { CumulativeHistogram, LatencySummaryUs, PoolTotals, WindowName } from '../../src/contract/metrics.js';
import type { PoolStatus, WorkerState } from '../../src/contract/pool-status.js';
import type { PythonProcessResources, ResourceSample } from '../../src/contract/resources.js';

const zeroSummary: LatencySummaryUs = { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };

/** A histogram over the collector's fixed bounds with `counts[i]` values in bucket i. */
export function histogram(perBucket: number[], sumS: number): CumulativeHistogram {
  const bucketsS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60];
  const cumulativeCounts: number[] = [];
  let acc = 0;
  for (let i = 0; i < bucketsS.length; i++) {
    acc += perBucket[i] ?? 0;
    cumulativeCounts.push(acc);
  }
  // Values beyond the last bound count only in +Inf.
  const count = acc + (perBucket[bucketsS.length] ?? 0);
  return { bucketsS, cumulativeCounts, sumS, count };
}

/** A pool status with workers in the given states. */
export function status(name: string, states: WorkerState[], over: Partial<PoolStatus> = {}): PoolStatus {
  return {
    name,
    lifecycle: 'running',
    size: states.length,
    minSize: 1,
    maxSize: 8,
    busy: states.filter((s) => s === 'busy').length,
    idle: states.filter((s) => s === 'idle').length,
    starting: states.filter((s) => s === 'starting').length,
    queueDepth: 3,
    maxQueue: 100,
    sessions: 7,
    uptimeMs: 12_500,
    workers: states.map((state, id) => ({ id, pid: 1000 + id, state, operations: 10 * (id + 1), errors: id, startedAtMs: 1, lastUsedAtMs: null, generation: id, outputLinesDropped: 0, outputLinesCut: 0 })),
    ...over,
  };
}

/** What the fake collector knows about one pool. */
export interface FakePoolData {
  totals: PoolTotals;
  commands: { command: string; operations: number; errors: number; histogram: CumulativeHistogram }[];
  errors: { category: 'python' | 'timeout' | 'worker'; type: string; count: number }[];
  queueWait: CumulativeHistogram;
}

/** A fake collector over fixed data; `calls` counts queries by method name. */
export function fakeCollector(data: Record<string, FakePoolData>): CollectorQueries & { calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const count = (m: string): void => {
    calls.set(m, (calls.get(m) ?? 0) + 1);
  };
  const get = (pool: string): FakePoolData | undefined => data[pool];
  const gauges = { size: 2, busy: 1, idle: 1, starting: 0, queueDepth: 0, utilization: 0.5 };
  const period = (timestampMs: number) => ({ timestampMs, periodS: 1, ops: 0, errors: 0, throughputPerS: 0, errorRate: 0, latencyUs: zeroSummary, queueWaitUs: zeroSummary, gauges });
  return {
    calls,
    pools: () => (count('pools'), Object.keys(data)),
    getTotals: (p) => (count('getTotals'), get(p)?.totals),
    getErrorTotals: (p) => (count('getErrorTotals'), get(p)?.errors),
    getOperationTotalsByCommand: (p) => (count('getOperationTotalsByCommand'), get(p)?.commands.map(({ command, operations, errors }) => ({ command, operations, errors }))),
    getLatencyHistogram: (p, kind, command) => {
      count('getLatencyHistogram');
      const d = get(p);
      if (!d) return undefined;
      if (kind === 'queue_wait') return d.queueWait;
      return d.commands.find((c) => c.command === command)?.histogram;
    },
    getWorkerMetrics: (p, workerId, window: WindowName = '1m') => {
      count('getWorkerMetrics');
      return get(p) ? { pool: p, workerId, pid: 1000 + workerId, generation: 0, operations: 100 + workerId, errors: workerId, latencyUs: zeroSummary, lastSeenMs: 0, window, coveredS: 60 } : undefined;
    },
    getCurrentMetrics: (p) => {
      count('getCurrentMetrics');
      const d = get(p);
      return d ? { pool: p, timestampMs: 5000, lastSecond: period(4000), lastMinute: { ...period(0), periodS: 60 }, gauges, totals: d.totals } : undefined;
    },
    getMetricsRange: (p, fromMs, toMs) => (count('getMetricsRange'), get(p) ? { pool: p, fromMs, toMs, resolutionS: 1, points: [] } : undefined),
    getErrorRates: (p, window) => (count('getErrorRates'), get(p) ? { pool: p, window, ops: 0, errors: 0, errorRate: 0, byCategory: {}, byType: [] } : undefined),
    getPerformanceSummary: () => (count('getPerformanceSummary'), undefined),
    getLatencyDistribution: (p) => (count('getLatencyDistribution'), get(p) ? [{ lowerUs: 100, upperUs: 178, count: 3 }] : undefined),
  };
}

/** Totals with everything zero but `over`. */
export function totals(over: Partial<PoolTotals> = {}): PoolTotals {
  return { operations: 0, errors: 0, checkouts: 0, queueRejections: 0, workerCrashes: 0, workerRestarts: 0, healthCheckFailures: 0, sessionMoves: 0, ...over };
}

/** A Python process entry. */
export function pyProc(over: Partial<PythonProcessResources>): PythonProcessResources {
  return {
    pid: 2000,
    pool: 'p',
    workerId: 0,
    runId: 'r',
    orphan: false,
    state: 'S',
    cpuPercent: 1,
    rssBytes: 10_000_000,
    vmsBytes: 90_000_000,
    threads: 2,
    openFds: 6,
    startedAtMs: 1000,
    ageMs: 5000,
    restarts: 0,
    rssSlopeBytesPerS: null,
    cpuSeconds: 0.5,
    ...over,
  };
}

/** A resource sample with the given Python processes. */
export function resourceSample(python: PythonProcessResources[]): ResourceSample {
  return {
    timestampMs: 5000,
    node: {
      pid: 1,
      rssBytes: 80e6,
      heapUsedBytes: 20e6,
      heapTotalBytes: 30e6,
      heapLimitBytes: 4e9,
      externalBytes: 2e6,
      arrayBuffersBytes: 1e6,
      eventLoopDelayUs: { p50: 1000, p99: 20_000, max: 30_000, mean: 1500 },
      eventLoopUtilization: 0.25,
      gcCount: 2,
      gcPauseMs: 3,
      activeHandles: 9,
      activeRequests: 0,
      cpuPercent: 150,
      uptimeMs: 60_000,
    },
    system: { cpuCount: 2, totalMemBytes: 8e9, freeMemBytes: 4e9, loadAvg: [0.5, 0.4, 0.3] },
    python,
    vanished: [],
    warnings: [],
  };
}
