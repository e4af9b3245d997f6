/**
 * The monitoring snapshot: everything a dashboard shows, as one JSON-serialisable object. It is
 * the contract between the producers (an in-process collector, or `GET /api/snapshot` of a
 * monitoring server in another process) and the consumers (terminal and web dashboards).
 *
 * @module
 */
import type { PoolStatus } from '../pool/types.js';
import type { CurrentMetrics, ErrorRates, PerformanceSummary, RangePoint, WindowName, WorkerMetrics } from '../metrics/types.js';
import type { ResourceSample } from '../resources/types.js';

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
