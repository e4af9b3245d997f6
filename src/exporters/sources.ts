/**
 * What the exporters read: the metrics collector's query API, the pools (for their live status),
 * and, when present, a resource monitor, active alerts and recommendations. Structural interfaces,
 * so the real classes fit without adapters and tests can pass plain objects.
 *
 * @module
 */
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
  WorkerMetrics,
} from '../contract/metrics.js';
import type { PoolStatus } from '../contract/pool-status.js';
import type { ResourceSample } from '../contract/resources.js';
import type { SnapshotAlert, SnapshotRecommendation } from '../contract/snapshot.js';
import type { TuningRecord } from '../contract/advice.js';
import type { MonitoringHealth } from '../contract/health.js';
import type { PythonStack, UserMetric } from '../contract/inside-python.js';

/**
 * The part of the `MetricsCollector` query API the exporters use. Every query may return null or
 * undefined (or throw) for a pool the collector does not know: the exporters then leave that
 * pool's figures out rather than fail.
 */
export interface CollectorQueries {
  /** Names of the pools the collector tracks. */
  pools(): readonly string[];
  getCurrentMetrics(pool: string): CurrentMetrics | null | undefined;
  getMetricsRange(pool: string, fromMs: number, toMs: number): MetricsRange | null | undefined;
  getWorkerMetrics(pool: string, workerId: number, window?: WindowName): WorkerMetrics | null | undefined;
  getErrorRates(pool: string, window: WindowName): ErrorRates | null | undefined;
  getPerformanceSummary(pool: string): PerformanceSummary | null | undefined;
  getTotals(pool: string): PoolTotals | null | undefined;
  getErrorTotals(pool: string): readonly ErrorTotal[] | null | undefined;
  getOperationTotalsByCommand(pool: string): readonly CommandTotals[] | null | undefined;
  getLatencyHistogram(pool: string, kind: LatencyKind, command?: string): CumulativeHistogram | null | undefined;
  getLatencyDistribution(pool: string, window: WindowName): readonly LatencyBucket[] | null | undefined;
  /** Worker slots seen in a pool (optional: used for pools without a status source). */
  getWorkerIds?(pool: string): readonly number[] | null | undefined;
  /** Every command of a pool over a window (optional: fills `PoolSnapshot.commands`). */
  getCommandMetrics?(pool: string, window: WindowName): readonly CommandMetrics[] | null | undefined;
  /** Metrics recorded by the pool's Python code (optional, issue 19: `PoolSnapshot.userMetrics`, `dspex_user_*`). */
  getUserMetrics?(pool: string): readonly UserMetric[] | null | undefined;
}

/** A pool as the exporters see it: a name and a live status (the real `SessionPool` fits). */
export interface StatusSource {
  readonly name: string;
  status(): PoolStatus;
  /** Every thread's Python stack of one worker (issue 19; `SessionPool.dumpStack`). Optional: without it `/api/stack` answers 404. */
  dumpStack?(workerId: number): Promise<PythonStack>;
}

/** A source of resource samples (the real `ResourceMonitor` fits). */
export interface ResourceSource {
  /** The latest sample; must not block for long (it is called on every scrape and snapshot). */
  getResources(): ResourceSample;
}

/**
 * Everything a snapshot, a scrape or the HTTP server reads. Only `collector` is required; the rest
 * adds figures when present.
 */
export interface MonitoringSources {
  /** The metrics collector (or anything with its query API). */
  collector: CollectorQueries;
  /**
   * Pools whose live status (workers by state, queue depth, sessions, lifecycle) is exported. A list,
   * or a function returning the current list (for programs that create pools over time). A pool the
   * collector tracks but that is not listed here is exported from the collector's gauges alone.
   */
  pools?: readonly StatusSource[] | (() => Iterable<StatusSource>);
  /** Resource monitor: Python RSS / CPU / fds per worker and Node process figures. */
  resources?: ResourceSource | null;
  /** Active alerts (once alerting lands): a function returning them. */
  alerts?: (() => readonly SnapshotAlert[]) | null;
  /** Optimization advisor recommendations (once the advisor lands). */
  recommendations?: (() => readonly SnapshotRecommendation[]) | null;
  /** The auto-tuners' latest steps, newest first (`MonitoringSnapshot.tuning`; `createMonitoring` sets it). */
  tuning?: (() => readonly TuningRecord[]) | null;
  /** The monitoring stack's own health, for `GET /api/health` (`createMonitoring` sets it). */
  health?: (() => MonitoringHealth) | null;
}

/** One pool's name with its status, if a status source exists for it. */
export interface ResolvedPool {
  name: string;
  status: PoolStatus | null;
  /** True when the collector has figures for it (otherwise its queries are skipped). */
  known: boolean;
}

function lifecycleRank(s: PoolStatus | null): number {
  if (s === null) return 0;
  switch (s.lifecycle) {
    case 'running':
      return 5;
    case 'starting':
      return 4;
    case 'stopping':
      return 3;
    case 'new':
      return 2;
    case 'stopped':
      return 1;
  }
}

/** Call `fn`, or give `fallback` when it throws (a source's bug must not break a scrape or a snapshot). */
export function safely<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/**
 * The pools to export, by name, sorted: the union of the collector's pools and the listed pools.
 * Two listed pools with the same name (an old, stopped one and its successor) resolve to the one
 * further along in life (running before starting before stopping before stopped), so a restart
 * never yields duplicate series.
 */
export function resolvePools(sources: MonitoringSources): ResolvedPool[] {
  const byName = new Map<string, PoolStatus | null>();
  const known = new Set(safely(() => sources.collector.pools(), []));
  const listed = sources.pools;
  const iterable = typeof listed === 'function' ? safely(listed, []) : (listed ?? []);
  for (const p of iterable) {
    const status = safely(() => p.status(), null);
    const name = status?.name ?? p.name;
    const prev = byName.get(name);
    if (prev === undefined || lifecycleRank(status) > lifecycleRank(prev)) byName.set(name, status);
  }
  for (const name of known) {
    if (!byName.has(name)) byName.set(name, null);
  }
  return [...byName.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([name, status]) => ({ name, status, known: known.has(name) }));
}
