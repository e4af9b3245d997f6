/**
 * The health of the monitoring stack itself: what each component reports of its periodic work
 * ({@link TickStats}), and the report `monitoring.health()` and `GET /api/health` give
 * ({@link MonitoringHealth}).
 *
 * @module
 */

/** What a periodic component reports of its own work (the collector, the resource monitor, the alert manager, the advisor). */
export interface TickStats {
  /** True between the component's `start()` and `stop()`. */
  readonly running: boolean;
  /** Its period, ms: a tick older than a few periods means it stalled. */
  readonly intervalMs: number;
  /** Wall time the last tick completed, ms since the epoch; null before the first. */
  readonly lastTickEndMs: number | null;
  /** How long the last tick took, ms. */
  readonly lastTickDurationMs: number | null;
  /** Ticks completed since construction. */
  readonly ticks: number;
  /** Ticks that threw (the component kept going). */
  readonly errors: number;
  /** The last error's message, secrets never included. */
  readonly lastError: string | null;
}

/** A component's state, as Kubernetes-style probes need it. */
export type ComponentState = 'running' | 'degraded' | 'stalled' | 'stopped';

/** One component's health. */
export interface ComponentHealth {
  /** `collector`, `resources`, `alerts`, `advisor`, `tuner`, `server`. */
  readonly name: string;
  readonly state: ComponentState;
  /** Why it is not `running`, in a sentence; empty when running. */
  readonly reason: string;
  /** Time since its last tick completed, ms; null before the first (or for the server). */
  readonly lastTickAgeMs: number | null;
  readonly lastTickDurationMs: number | null;
  readonly errors: number;
  /** Times the self-check restarted it after a stall. */
  readonly restarts: number;
}

/** `monitoring.health()`, and the body of `GET /api/health`. */
export interface MonitoringHealth {
  /** `healthy`: every component running; `degraded`: one degraded (still serving); `unhealthy`: one stalled or stopped. */
  readonly status: 'healthy' | 'degraded' | 'unhealthy';
  readonly checkedAtMs: number;
  readonly components: readonly ComponentHealth[];
  /**
   * Event-processing lag, ms: how old the newest figures a query can see are. Events are recorded
   * as they are published; queries see them once their second is rotated into the windows, so this
   * is the time since the collector's last rotation (about 1000 ms at most when healthy).
   */
  readonly eventLagMs: number | null;
  /** Bytes held by the metrics against the cap, and how much detail is shed (0 none, 1 per-worker, 2 per-command, 3 sampling). */
  readonly memory: { readonly usedBytes: number; readonly capBytes: number; readonly degradation: 0 | 1 | 2 | 3 };
}
