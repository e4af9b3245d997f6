/**
 * The health of the monitoring stack, as pure functions of what each component reports
 * ({@link TickStats}) and the time: a component is `stopped` when not running, `stalled` when its
 * last tick completed longer ago than the deadline, `degraded` when a tick threw since the last
 * check or it sheds detail, `running` otherwise. The stack is `unhealthy` when any component is
 * stalled or stopped, `degraded` when one is degraded, else `healthy`.
 *
 * @module
 */
import type { ComponentHealth, ComponentState, MonitoringHealth, TickStats } from '../contract/health.js';

/** What the self-check knows of one component when it judges it. */
export interface ComponentReading {
  readonly name: string;
  /** Its tick stats; null for a component without periodic work (the server: running when listening). */
  readonly stats: TickStats | null;
  /** For a component without stats: whether it is up. */
  readonly up?: boolean;
  /** Wall time it was (re)started, ms: the stall clock starts there before its first tick. */
  readonly startedAtMs: number;
  /** Its error count at the previous check: more now means a tick threw since. */
  readonly errorsAtLastCheck: number;
  readonly restarts: number;
  /** A reason it is degraded although it ticks (e.g. shedding detail), or null. */
  readonly degradedReason: string | null;
}

/** How long a component may go without completing a tick: `stallAfterMs`, and never less than three of its periods. */
export function stallDeadlineMs(intervalMs: number, stallAfterMs: number): number {
  return Math.max(stallAfterMs, 3 * intervalMs);
}

/** One component's health at `nowMs`. */
export function judgeComponent(r: ComponentReading, nowMs: number, stallAfterMs: number): ComponentHealth {
  const s = r.stats;
  const base = { name: r.name, restarts: r.restarts, errors: s?.errors ?? 0, lastTickDurationMs: s?.lastTickDurationMs ?? null };
  const age = s === null || s.lastTickEndMs === null ? null : Math.max(0, nowMs - s.lastTickEndMs);
  const of = (state: ComponentState, reason: string): ComponentHealth => ({ ...base, state, reason, lastTickAgeMs: age });
  if (s === null) return r.up === false ? of('stopped', 'not running') : of(r.degradedReason === null ? 'running' : 'degraded', r.degradedReason ?? '');
  if (!s.running) return of('stopped', 'not running');
  if (s.intervalMs > 0) {
    const deadline = stallDeadlineMs(s.intervalMs, stallAfterMs);
    const since = nowMs - Math.max(s.lastTickEndMs ?? r.startedAtMs, r.startedAtMs);
    if (since > deadline) return of('stalled', `no tick completed for ${Math.round(since)} ms (deadline ${deadline} ms)`);
  }
  if (s.errors > r.errorsAtLastCheck) return of('degraded', `${s.errors - r.errorsAtLastCheck} tick(s) failed since the last check: ${s.lastError ?? 'unknown error'}`);
  if (r.degradedReason !== null) return of('degraded', r.degradedReason);
  return of('running', '');
}

/** The stack's status from its components'. */
export function overallStatus(components: readonly ComponentHealth[]): MonitoringHealth['status'] {
  if (components.some((c) => c.state === 'stalled' || c.state === 'stopped')) return 'unhealthy';
  if (components.some((c) => c.state === 'degraded')) return 'degraded';
  return 'healthy';
}
