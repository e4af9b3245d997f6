/**
 * The monitoring snapshot: everything a dashboard shows, as one JSON-serialisable object. It is
 * the contract between the producers (an in-process collector, or `GET /api/snapshot` of a
 * monitoring server in another process) and the consumers (terminal and web dashboards).
 *
 * @module
 */
import type { PoolStatus } from '../pool/types.js';
import type { CommandMetrics, CurrentMetrics, ErrorRates, PerformanceSummary, RangePoint, WindowName, WorkerMetrics } from '../contract/metrics.js';
import { windowSeconds } from '../contract/metrics.js';
import type { ResourceSample } from '../contract/resources.js';
import { resolvePools, safely, type MonitoringSources } from './sources.js';

/** One bucket of a latency distribution (log-scaled), for the histogram panel. */
export interface LatencyBucket {
  lowerUs: number;
  upperUs: number;
  count: number;
}

/** An active alert, as shown by dashboards (filled once alerting lands). */
export interface SnapshotAlert {
  name: string;
  severity: 'info' | 'warning' | 'critical';
  pool: string | null;
  message: string;
  sinceMs: number;
}

/** A recommendation of the optimization advisor (filled once the advisor lands). */
export interface SnapshotRecommendation {
  title: string;
  detail: string;
  /** 0..1: how much it matters. */
  score: number;
}

/** Everything about one pool. */
export interface PoolSnapshot {
  name: string;
  status: PoolStatus | null;
  current: CurrentMetrics | null;
  summary: PerformanceSummary | null;
  /** Per-second points over the selected window, oldest first. */
  series: RangePoint[];
  /** Latency distribution over the selected window. */
  latency: LatencyBucket[];
  errors: ErrorRates | null;
  workers: WorkerMetrics[];
  /** Per-command figures over the selected window, most operations first (added; absent from older producers). */
  commands?: CommandMetrics[];
}

/** The whole picture at one moment. */
export interface MonitoringSnapshot {
  timestampMs: number;
  /** The window the series, latency and errors cover. */
  window: WindowName;
  pools: PoolSnapshot[];
  resources: ResourceSample | null;
  alerts: SnapshotAlert[];
  recommendations: SnapshotRecommendation[];
}

/** A source of snapshots (the terminal dashboard's `SnapshotSource` has this shape). */
export interface SnapshotProvider {
  /** The picture for a window. May throw / reject. */
  snapshot(window: WindowName): Promise<MonitoringSnapshot> | MonitoringSnapshot;
}

/** The windows a snapshot may cover, for validating user input. */
export const SNAPSHOT_WINDOWS: readonly WindowName[] = ['1m', '5m', '15m'];

/** True when `value` names a snapshot window. */
export function isWindowName(value: unknown): value is WindowName {
  return value === '1m' || value === '5m' || value === '15m';
}

/**
 * Assemble a {@link MonitoringSnapshot} from live sources: every pool the collector tracks or the
 * sources list (by name, sorted), with its status, current metrics, performance summary, the
 * per-second series and latency distribution over `window`, error rates and per-slot worker
 * metrics; the latest resource sample; active alerts and recommendations. A source that throws
 * or does not know a pool leaves that part null or empty: a snapshot is always returned.
 *
 * Used by the monitoring server (`/api/snapshot`, `/api/events`) and by the in-process dashboard.
 */
export function buildSnapshot(sources: MonitoringSources, window: WindowName, nowMs: number = Date.now()): MonitoringSnapshot {
  const c = sources.collector;
  const spanMs = windowSeconds[window] * 1000;
  const pools: PoolSnapshot[] = [];
  for (const { name, status, known } of resolvePools(sources)) {
    if (!known) {
      // Not (yet) in the collector: its status only (querying would build empty stand-ins).
      pools.push({ name, status, current: null, summary: null, series: [], latency: [], errors: null, workers: [], commands: [] });
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
      series: [...(safely(() => c.getMetricsRange(name, nowMs - spanMs, nowMs), null)?.points ?? [])],
      latency: [...(safely(() => c.getLatencyDistribution(name, window), null) ?? [])],
      errors: safely(() => c.getErrorRates(name, window), null) ?? null,
      workers,
      commands: [...(safely(() => c.getCommandMetrics?.(name, window), null) ?? [])],
    });
  }
  return {
    timestampMs: nowMs,
    window,
    pools,
    resources: sources.resources ? (safely(() => sources.resources!.getResources(), null) ?? null) : null,
    alerts: sources.alerts ? [...safely(() => sources.alerts!(), [])] : [],
    recommendations: sources.recommendations ? [...safely(() => sources.recommendations!(), [])] : [],
  };
}

/** A {@link SnapshotProvider} over live sources (for the in-process dashboard). */
export function snapshotProvider(sources: MonitoringSources): SnapshotProvider {
  return { snapshot: (window) => buildSnapshot(sources, window) };
}
