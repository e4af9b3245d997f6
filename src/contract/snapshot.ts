/**
 * The monitoring snapshot: everything a dashboard shows, as one JSON-serialisable object. It is
 * the contract between the producers (an in-process collector, or `GET /api/snapshot` of a
 * monitoring server in another process) and the consumers (terminal and web dashboards).
 *
 * This module imports only other contract modules: every stage may use it.
 *
 * @module
 */
import type { CommandMetrics, CurrentMetrics, ErrorRates, LatencyBucket, PerformanceSummary, RangePoint, WindowName, WorkerMetrics } from './metrics.js';
import type { PoolStatus } from './pool-status.js';
import type { ResourceSample } from './resources.js';
import type { PythonStack, UserMetric } from './inside-python.js';
import type { RecommendationAction, RecommendationEvidence, RecommendationKind, TuningRecord } from './advice.js';

/** An active alert, as shown by dashboards (filled once alerting lands). */
export interface SnapshotAlert {
  name: string;
  severity: 'info' | 'warning' | 'critical';
  pool: string | null;
  message: string;
  sinceMs: number;
}

/**
 * A recommendation of the optimization advisor as the snapshot carries it: `title`, `detail` and
 * `score` are what every consumer needs; the advisor also fills the rest (its full
 * `Recommendation`, src/contract/advice.ts), optional so that hand-built ones stay valid.
 */
export interface SnapshotRecommendation {
  title: string;
  detail: string;
  /** 0..1: how much it matters (the advisor's `priority` / 100). */
  score: number;
  /** Stable id while the cause lasts (`kind:pool[:subject]`). */
  id?: string;
  kind?: RecommendationKind;
  pool?: string;
  /** 0..100. */
  priority?: number;
  /** The figures and the window they came from, with the arithmetic. */
  evidence?: RecommendationEvidence;
  /** The concrete change proposed. */
  action?: RecommendationAction;
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
  /**
   * Per-command figures over the selected window, most operations first (added; absent from older
   * producers). Each has `pythonUs` / `bridgeUs` (issue 19), like `summary.windows[w]`.
   */
  commands?: CommandMetrics[];
  /**
   * Metrics recorded by Python code through `import dspex` (issue 19): lifetime values per series,
   * by metric name. Absent from older producers.
   */
  userMetrics?: UserMetric[];
}

/**
 * One host of a fleet (`dspex/fleet`'s `FleetCollector`): its own figures, as a local snapshot
 * would show them. A host that stopped publishing is kept and marked `stale`.
 */
export interface FleetHostSnapshot {
  /** The host's id (the `host` / `instance` label). */
  host: string;
  /** Changes when the host restarts. */
  incarnation: string;
  /** When its last report arrived (collector clock), ms since the epoch. */
  lastSeenMs: number;
  /** ms since its last report. */
  ageMs: number;
  /** True when silent for longer than `FleetSnapshot.staleAfterMs`: its windowed figures are left out of the fleet's. */
  stale: boolean;
  /** Its pools, with the same fields as `MonitoringSnapshot.pools` (`status` null, `series` per second). */
  pools: PoolSnapshot[];
}

/** The fleet part of a snapshot (absent from single-process producers). */
export interface FleetSnapshot {
  /** The fleet's queue. */
  queue: string;
  /** A host silent for longer than this is stale, ms. */
  staleAfterMs: number;
  /** Every host heard from (stale ones included), by id. */
  hosts: FleetHostSnapshot[];
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
  /**
   * The auto-tuners' latest steps, newest first (added: absent from producers without a tuner
   * and from older servers). What the tuner changed, and whether it kept or reverted it, is the
   * first question after "why did p99 move".
   */
  tuning?: TuningRecord[];
  /**
   * Per-host rows of a fleet (added; only from a `FleetCollector`). `pools` then holds the fleet
   * totals: counts summed, percentiles from merged sketches.
   */
  fleet?: FleetSnapshot;
}

/** A source of snapshots (the terminal dashboard's `SnapshotSource` has this shape). */
export interface SnapshotProvider {
  /** The picture for a window. May throw / reject. */
  snapshot(window: WindowName): Promise<MonitoringSnapshot> | MonitoringSnapshot;
  /** Every thread's Python stack of one worker of a pool, now (issue 19). Optional. */
  stack?(pool: string, workerId: number): Promise<PythonStack>;
}

/** The windows a snapshot may cover, for validating user input. */
export const SNAPSHOT_WINDOWS: readonly WindowName[] = ['1m', '5m', '15m'];

/** True when `value` names a snapshot window. */
export function isWindowName(value: unknown): value is WindowName {
  return value === '1m' || value === '5m' || value === '15m';
}

