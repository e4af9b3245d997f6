/**
 * The health score of a pool over a window: a pure function, documented here and in
 * docs/MONITORING_GUIDE.md.
 *
 * @module
 */

/** What the health score is computed from (one window of one pool). */
export interface HealthInputs {
  /** Failed operations / operations, 0..1. */
  errorRate: number;
  /** Worker crashes in the window. */
  crashes: number;
  /** Average busy / size, 0..1. */
  utilization: number;
  /** Average number of waiting calls. */
  queueDepthAvg: number;
  /** Average pool size (workers). */
  sizeAvg: number;
  /** p99 of the operation duration, µs (queue wait included). */
  latencyP99Us: number;
  /** p99 of the queue wait, µs. */
  queueWaitP99Us: number;
}

const clamp01 = (x: number): number => (x <= 0 || !Number.isFinite(x) ? 0 : x >= 1 ? 1 : x);

/**
 * Health score, 0..100 (100 = healthy), rounded to an integer:
 *
 * `100 − 40·min(1, errorRate / 0.05)` (errors: 5% or more costs all 40)
 * `− 15·min(1, crashes / 3)` (3 or more crashes in the window cost all 15)
 * `− 15·clamp((utilization − 0.8) / 0.2)` (saturation: from 80% busy to 100%)
 * `− 15·min(1, queueDepthAvg / max(1, sizeAvg))` (backlog: a waiting call per worker costs all 15)
 * `− 15·min(1, 2·queueWaitP99 / latencyP99)` (queueing share: p99 queue wait at half the p99
 * duration or more costs all 15; 0 when there were no operations).
 *
 * An idle pool scores 100. Each term saturates, so one bad signal cannot hide the others.
 */
export function healthScore(i: HealthInputs): number {
  const errors = 40 * clamp01(i.errorRate / 0.05);
  const crashes = 15 * clamp01(i.crashes / 3);
  const saturation = 15 * clamp01((i.utilization - 0.8) / 0.2);
  const backlog = 15 * clamp01(i.queueDepthAvg / Math.max(1, i.sizeAvg));
  const queueing = i.latencyP99Us > 0 ? 15 * clamp01((2 * i.queueWaitP99Us) / i.latencyP99Us) : 0;
  const score = 100 - errors - crashes - saturation - backlog - queueing;
  return Math.max(0, Math.min(100, Math.round(score)));
}
