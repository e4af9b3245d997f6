/**
 * Building the monitoring snapshot (the contract in src/contract/snapshot.ts) from live sources.
 *
 * @module
 */
import { windowSeconds, type RangePoint, type WindowName, type WorkerMetrics } from '../contract/metrics.js';
import type { MonitoringSnapshot, PoolSnapshot, SnapshotProvider } from '../contract/snapshot.js';
import { resolvePools, safely, type MonitoringSources } from './sources.js';

/**
 * Assemble a {@link MonitoringSnapshot} from live sources: every pool the collector tracks or the
 * sources list (by name, sorted), with its status, current metrics, performance summary, the
 * per-second series and latency distribution over `window`, error rates and per-slot worker
 * metrics; the latest resource sample; active alerts and recommendations. A source that throws
 * or does not know a pool leaves that part null or empty: a snapshot is always returned.
 *
 * `seriesPoints`, when given, keeps only the newest that many points of each series (0: none), for
 * clients that hold their own history.
 *
 * Used by the monitoring server (`/api/snapshot`, `/api/events`) and by the in-process dashboard.
 */
export function buildSnapshot(sources: MonitoringSources, window: WindowName, nowMs: number = Date.now(), seriesPoints?: number): MonitoringSnapshot {
  const c = sources.collector;
  const windowMs = windowSeconds[window] * 1000;
  // A client that keeps its own history (the web page) asks for the newest few points only.
  const spanMs = seriesPoints === undefined ? windowMs : Math.min(windowMs, seriesPoints * 1000);
  const pools: PoolSnapshot[] = [];
  for (const { name, status, known } of resolvePools(sources)) {
    if (!known) {
      // Not (yet) in the collector: its status only (querying would build empty stand-ins).
      pools.push({ name, status, current: null, summary: null, series: [], latency: [], errors: null, workers: [], commands: [], userMetrics: [] });
      continue;
    }
    const workers: WorkerMetrics[] = [];
    const ids = status !== null ? status.workers.map((w) => w.id) : (safely(() => c.getWorkerIds?.(name), null) ?? []);
    // Ids beyond the collector's cap all answer for the overflow slot (m.workerId): keep it once.
    const seen = new Set<number>();
    for (const id of ids) {
      const m = safely(() => c.getWorkerMetrics(name, id, window), null);
      if (m && !seen.has(m.workerId)) {
        seen.add(m.workerId);
        workers.push(m);
      }
    }
    pools.push({
      name,
      status,
      current: safely(() => c.getCurrentMetrics(name), null) ?? null,
      summary: safely(() => c.getPerformanceSummary(name), null) ?? null,
      series: seriesOf(safely(() => c.getMetricsRange(name, nowMs - spanMs, nowMs), null)?.points, seriesPoints),
      latency: [...(safely(() => c.getLatencyDistribution(name, window), null) ?? [])],
      errors: safely(() => c.getErrorRates(name, window), null) ?? null,
      workers,
      commands: [...(safely(() => c.getCommandMetrics?.(name, window), null) ?? [])],
      userMetrics: [...(safely(() => c.getUserMetrics?.(name), null) ?? [])],
    });
  }
  return {
    timestampMs: nowMs,
    window,
    pools,
    resources: sources.resources ? (safely(() => sources.resources!.getResources(), null) ?? null) : null,
    alerts: sources.alerts ? [...safely(() => sources.alerts!(), [])] : [],
    recommendations: sources.recommendations ? [...safely(() => sources.recommendations!(), [])] : [],
    ...(sources.tuning ? { tuning: [...safely(() => sources.tuning!(), [])] } : {}),
  };
}

/** A copy of the range's points, the newest `limit` of them when given (a range not aligned on seconds holds one more). */
function seriesOf(points: readonly RangePoint[] | undefined, limit: number | undefined): RangePoint[] {
  if (points === undefined) return [];
  return limit === undefined || points.length <= limit ? [...points] : points.slice(points.length - limit);
}

/** A {@link SnapshotProvider} over live sources (for the in-process dashboard). */
export function snapshotProvider(sources: MonitoringSources): SnapshotProvider {
  return {
    snapshot: (window) => buildSnapshot(sources, window),
    // Issue 19: the dashboard's `d` key, from a listed pool that can dump stacks.
    stack: (pool, workerId) => {
      const listed = sources.pools;
      const iterable = typeof listed === 'function' ? safely(listed, []) : (listed ?? []);
      for (const p of iterable) if (p.name === pool && typeof p.dumpStack === 'function') return p.dumpStack(workerId);
      return Promise.reject(new Error(`no pool '${pool}' that can dump stacks`));
    },
  };
}
