/**
 * The shapes of the optimization advisor's output (recommendations with their evidence and a
 * concrete action) and of the auto-tuner's history. Shared by the advisor (producer), the
 * telemetry catalog (`dspex:advisor:tuning`), the snapshot (`/api/snapshot`), the dashboard and
 * the CLI (`dspex advise`). Plain, JSON-serialisable objects.
 *
 * This module imports nothing of ours: every stage may use it.
 *
 * @module
 */

/** What a recommendation is about. */
export type RecommendationKind =
  /** Calls queue: the pool is smaller than the concurrency it must serve (Little's law). */
  | 'grow_pool'
  /** Workers sit idle: the pool is larger than demand. */
  | 'shrink_pool'
  /** A worker's resident memory grows steadily: a leak suspect. */
  | 'memory_leak'
  /** One worker serves far more / less, or far slower, than its peers. */
  | 'worker_imbalance'
  /** A command's p99 dominates the pool's busy time. */
  | 'slow_command'
  /** A command got slower than its own baseline. */
  | 'latency_regression'
  /** Errors concentrate on a command, a worker or an error type. */
  | 'error_hotspot'
  /** Workers crash and restart over and over. */
  | 'crash_loop'
  /** Calls time out: against `operationTimeoutMs` or their own `timeoutMs` (`timeout:operation`), or waiting for a worker (`timeout:checkout`). */
  | 'timeouts';

/** The pool options a recommendation (or the auto-tuner) may change at run time with `configure()`. */
export type TunableOption =
  | 'operationTimeoutMs'
  | 'checkoutTimeoutMs'
  | 'healthCheckIntervalMs'
  | 'restartBackoffMs'
  | 'maxRestartBackoffMs'
  | 'maxCallsPerWorker'
  | 'maxWorkerRssBytes';

/** The concrete change a recommendation proposes. */
export type RecommendationAction =
  /** `pool.resize(size)`. */
  | { kind: 'resize'; size: number }
  /** `pool.recycleWorker(workerId)`. */
  | { kind: 'recycleWorker'; workerId: number }
  /** `pool.configure({ [key]: value })`. */
  | { kind: 'configure'; key: TunableOption; value: number }
  /** Nothing the pool can do by itself: look at this command / worker / error type. */
  | { kind: 'investigate'; command?: string; workerId?: number; errorType?: string };

/** The figures a recommendation rests on and the window they come from. */
export interface RecommendationEvidence {
  /** The window the figures cover (`'1m'`, `'5m'`, `'15m'`, or `'rss'` for the memory history). */
  window: string;
  /** Seconds of data the figures actually cover. */
  coveredS: number;
  /** The figures, unit-suffixed names (`throughputPerS`, `queueWaitP99Us`, `slopeBytesPerS`, `r2`). */
  figures: Record<string, number>;
  /** The arithmetic, one step per line, e.g. `L = λ·W = 49.8/s × 0.161 s = 8.0 calls in the system`. */
  math: string[];
}

/** One recommendation of the optimization advisor. */
export interface Recommendation {
  /** Stable across analyses while the cause lasts: `kind:pool[:subject]`. */
  id: string;
  kind: RecommendationKind;
  pool: string;
  /** 0..100, higher first (scoring: docs/MONITORING_GUIDE.md, "Advisor and auto-tuner"). */
  priority: number;
  /** One line. */
  title: string;
  /** One or two sentences: what was seen and what to do. */
  detail: string;
  evidence: RecommendationEvidence;
  action: RecommendationAction;
}

/** How a tuning step ended. */
export type TuningStatus =
  /** Applied; its validation window has not passed yet. */
  | 'validating'
  /** The validation window passed without a regression. */
  | 'kept'
  /** A regression was seen during validation: the previous value was restored. */
  | 'rolled_back'
  /** Undone by hand (`AutoTuner.rollback()`). */
  | 'reverted'
  /** The pool refused the change (it threw): nothing changed. */
  | 'failed';

/** The figures a tuning step is validated on. */
export interface TuningFigures {
  latencyP99Us: number;
  errorRate: number;
  throughputPerS: number;
  /** Operations the figures rest on. */
  ops: number;
}

/** One entry of the auto-tuner's history. */
export interface TuningRecord {
  /** Increasing per tuner. */
  id: number;
  pool: string;
  /** `size`, or a {@link TunableOption}. */
  parameter: 'size' | TunableOption;
  from: number;
  to: number;
  /** The recommendation that led to it (its id), and why. */
  recommendationId: string;
  reason: string;
  appliedAtMs: number;
  status: TuningStatus;
  /** Figures over the window before the change. */
  baseline: TuningFigures;
  /** Figures over the validation window (null until it passed). */
  observed: TuningFigures | null;
  /** When validation (or a rollback) concluded, else null. */
  concludedAtMs: number | null;
  /** Why it was rolled back or failed (the regressed figure and by how much), else null. */
  outcome: string | null;
}
