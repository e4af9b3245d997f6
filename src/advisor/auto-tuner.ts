/**
 * The AutoTuner (off by default, one per pool): applies the advisor's safe recommendations —
 * `resize` and `configure` of the options it was given ranges for, clamped into them — one step
 * at a time with a cooldown, validates each over a window and rolls it back by itself when p99,
 * error rate or throughput regress beyond a tolerance (a raised timeout is judged on errors and
 * throughput only: the calls it lets finish raise p99 by design). A change that was rolled back is
 * not tried again for {@link ROLLBACK_HOLD_COOLDOWNS} cooldowns. Every step goes into a bounded
 * history and on `dspex:advisor:tuning`.
 *
 * ```ts
 * const tuner = new AutoTuner({ pool, collector, advisor, ranges: { size: [2, 8] } });
 * tuner.enable();          // evaluates every `intervalMs`
 * tuner.history();         // TuningRecord[], oldest first
 * tuner.rollback();        // undo the latest kept change by hand
 * tuner.disable();
 * ```
 *
 * @module
 */
import { z } from 'zod';
import { channels } from '../telemetry/telemetry.js';
import { invalidState } from '../contract/errors.js';
import { systemClock, type MetricsClock } from '../contract/clock.js';
import type { Recommendation, TunableOption, TuningFigures, TuningRecord } from '../contract/advice.js';
import type { PerformanceSummary } from '../contract/metrics.js';
import { parseAdvisorOptions } from './options.js';

/** What the tuner changes (the real SessionPool fits). */
export interface TunablePool {
  readonly name: string;
  readonly options: Readonly<Record<TunableOption, number>>;
  status(): { size: number };
  resize(n: number, reason?: string): Promise<void>;
  configure(partial: Partial<Record<TunableOption, number>>, reason?: string): unknown;
}

/** Ranges of what may be tuned: a parameter without a range is never touched. */
export type TuningRanges = Partial<Record<'size' | TunableOption, readonly [min: number, max: number]>>;

/** Options of {@link AutoTuner}. */
export interface AutoTunerOptions {
  pool: TunablePool;
  collector: { getPerformanceSummary(pool: string): PerformanceSummary };
  /** Where recommendations come from (an OptimizationAdvisor fits). */
  advisor: { analyze(pool?: string): Recommendation[] };
  ranges: TuningRanges;
  /** Least time between two changes, ms (default 120 000). */
  cooldownMs?: number;
  /** How long a change is watched before it is kept, ms (default 60 000; at most cooldownMs). */
  validationMs?: number;
  /** Regressions that roll back: p99 × (1 + p99), error rate + errorRate, throughput × (1 − throughput). */
  tolerance?: { p99?: number; errorRate?: number; throughput?: number };
  /** History entries kept (default 100). */
  historySize?: number;
  /** How often `enable()` evaluates, ms (default 5000). */
  intervalMs?: number;
  clock?: MetricsClock;
}

const schema = z.object({
  cooldownMs: z.number().int().min(1).default(120_000),
  validationMs: z.number().int().min(1).default(60_000),
  tolerance: z.object({ p99: z.number().min(0).default(0.25), errorRate: z.number().min(0).max(1).default(0.02), throughput: z.number().min(0).max(1).default(0.2) }).strict().default({ p99: 0.25, errorRate: 0.02, throughput: 0.2 }),
  historySize: z.number().int().min(1).max(10_000).default(100),
  intervalMs: z.number().int().min(10).default(5000),
  ranges: z.record(z.string(), z.tuple([z.number(), z.number()]).refine(([a, b]) => a <= b, 'min must not exceed max')),
});

const tuningChannel = channels['dspex:advisor:tuning'];

/** A change that was rolled back is not applied again for this many cooldowns (20 min by default). */
export const ROLLBACK_HOLD_COOLDOWNS = 10;

/** Tunes one pool; see the module note. */
export class AutoTuner {
  private readonly pool: TunablePool;
  private readonly o: z.output<typeof schema>;
  private readonly ranges: TuningRanges;
  private readonly clock: MetricsClock;
  private readonly records: TuningRecord[] = [];
  private nextId = 1;
  private lastChangeMs = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  /** @throws PythonBridgeError `invalid_request`/`invalid_options` naming the option. */
  constructor(private readonly opts: AutoTunerOptions) {
    this.o = parseAdvisorOptions(schema, opts, 'AutoTuner');
    if (this.o.validationMs > this.o.cooldownMs) throw invalidState('AutoTuner', `validationMs (${this.o.validationMs}) must not exceed cooldownMs (${this.o.cooldownMs})`);
    this.pool = opts.pool;
    this.ranges = opts.ranges;
    this.clock = opts.clock ?? systemClock;
  }

  /** True while enabled. */
  get enabled(): boolean {
    return this.timer !== null;
  }

  /** Evaluate every `intervalMs` (unref'd timer). Idempotent. */
  enable(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.evaluate(), this.o.intervalMs);
    this.timer.unref();
  }

  /** Stop evaluating (a change being validated stays as it is). Idempotent. */
  disable(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The tuning history, oldest first (copies). */
  history(): TuningRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  /**
   * One evaluation: conclude a change whose validation window passed (kept, or rolled back on a
   * regression), else — past the cooldown — apply the highest-priority safe recommendation.
   * Returns the record it touched, or null.
   */
  async evaluate(): Promise<TuningRecord | null> {
    if (this.busy) return null;
    this.busy = true;
    try {
      const now = this.clock.nowMs();
      const pending = this.records.find((r) => r.status === 'validating');
      if (pending) {
        if (now - pending.appliedAtMs < this.o.validationMs) return null;
        const observed = this.figures();
        pending.observed = observed;
        pending.concludedAtMs = now;
        const why = regression(pending.baseline, observed, this.o.tolerance, pending);
        if (why === null) pending.status = 'kept';
        else {
          await this.set(pending.parameter, pending.from, 'rollback');
          pending.status = 'rolled_back';
          pending.outcome = why;
          // A rollback is a change too: the next step waits a whole cooldown.
          this.lastChangeMs = now;
        }
        this.publish(pending);
        return pending;
      }
      if (now - this.lastChangeMs < this.o.cooldownMs) return null;
      for (const rec of this.opts.advisor.analyze(this.pool.name)) {
        const step = this.safeStep(rec);
        if (step === null || this.heldBack(step, now)) continue;
        const record: TuningRecord = {
          id: this.nextId++,
          pool: this.pool.name,
          parameter: step.parameter,
          from: step.from,
          to: step.to,
          recommendationId: rec.id,
          reason: rec.title,
          appliedAtMs: now,
          status: 'validating',
          baseline: this.figures(),
          observed: null,
          concludedAtMs: null,
          outcome: null,
        };
        try {
          await this.set(step.parameter, step.to, 'auto_tune');
        } catch (err) {
          record.status = 'failed';
          record.concludedAtMs = now;
          record.outcome = err instanceof Error ? err.message : String(err);
        }
        this.lastChangeMs = now;
        this.push(record);
        return record;
      }
      return null;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Undo the latest change that is validating or kept (restores its `from`); returns its record,
   * or null when there is none.
   */
  async rollback(): Promise<TuningRecord | null> {
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i]!;
      if (r.status !== 'validating' && r.status !== 'kept') continue;
      await this.set(r.parameter, r.from, 'rollback');
      r.status = 'reverted';
      r.concludedAtMs = this.clock.nowMs();
      this.lastChangeMs = r.concludedAtMs;
      this.publish(r);
      return { ...r };
    }
    return null;
  }

  /**
   * True when the same change (parameter and value) was rolled back less than
   * {@link ROLLBACK_HOLD_COOLDOWNS} cooldowns ago: without it a recommendation that keeps standing
   * would be applied and rolled back every cooldown.
   */
  private heldBack(step: { parameter: 'size' | TunableOption; to: number }, now: number): boolean {
    const holdMs = ROLLBACK_HOLD_COOLDOWNS * this.o.cooldownMs;
    return this.records.some((r) => r.status === 'rolled_back' && r.parameter === step.parameter && r.to === step.to && r.concludedAtMs !== null && now - r.concludedAtMs < holdMs);
  }

  /** The change `rec` proposes, clamped into its range, or null when it is not safe to apply. */
  private safeStep(rec: Recommendation): { parameter: 'size' | TunableOption; from: number; to: number } | null {
    const a = rec.action;
    let parameter: 'size' | TunableOption;
    let value: number;
    let from: number;
    if (a.kind === 'resize') {
      parameter = 'size';
      value = a.size;
      from = this.pool.status().size;
    } else if (a.kind === 'configure') {
      parameter = a.key;
      value = a.value;
      from = this.pool.options[a.key];
    } else return null;
    const range = this.ranges[parameter];
    if (range === undefined || !Number.isFinite(value)) return null;
    const to = clampInto(Math.round(value), range);
    return to === from ? null : { parameter, from, to };
  }

  private async set(parameter: 'size' | TunableOption, value: number, reason: string): Promise<void> {
    if (parameter === 'size') await this.pool.resize(value, reason);
    else this.pool.configure({ [parameter]: value }, reason);
  }

  private figures(): TuningFigures {
    const w = this.opts.collector.getPerformanceSummary(this.pool.name).windows['1m'];
    return { latencyP99Us: w.latencyUs.p99, errorRate: w.errorRate, throughputPerS: w.throughputPerS, ops: w.ops };
  }

  private push(r: TuningRecord): void {
    this.records.push(r);
    // Bounded: the oldest concluded entries go first.
    while (this.records.length > this.o.historySize) {
      const i = this.records.findIndex((x) => x.status !== 'validating');
      this.records.splice(i === -1 ? 0 : i, 1);
    }
    this.publish(r);
  }

  private publish(r: TuningRecord): void {
    if (tuningChannel.hasSubscribers) tuningChannel.publish({ pool: r.pool, timestampMs: this.clock.nowMs(), record: { ...r } });
  }
}

/** `value` within `[min, max]`. Pure. */
export function clampInto(value: number, range: readonly [number, number]): number {
  return Math.min(range[1], Math.max(range[0], value));
}

/**
 * Why `observed` regressed against `baseline` beyond `tol`, or null. With `change`, a raised
 * `operationTimeoutMs` / `checkoutTimeoutMs` is not judged on p99 (see the body). Pure.
 */
export function regression(
  baseline: TuningFigures,
  observed: TuningFigures,
  tol: { p99: number; errorRate: number; throughput: number },
  change?: { parameter: 'size' | TunableOption; from: number; to: number },
): string | null {
  // A longer deadline lets calls that were cut at the old one run to their end: their true length
  // raises p99 by design (a timed-out call is recorded at the deadline). Such a change is judged on
  // errors and throughput only.
  const longerDeadline = change !== undefined && (change.parameter === 'operationTimeoutMs' || change.parameter === 'checkoutTimeoutMs') && change.to > change.from;
  if (!longerDeadline && baseline.latencyP99Us > 0 && observed.latencyP99Us > baseline.latencyP99Us * (1 + tol.p99)) {
    return `p99 ${Math.round(observed.latencyP99Us)} µs > ${Math.round(baseline.latencyP99Us)} µs × ${1 + tol.p99}`;
  }
  if (observed.errorRate > baseline.errorRate + tol.errorRate) return `error rate ${observed.errorRate.toFixed(4)} > ${baseline.errorRate.toFixed(4)} + ${tol.errorRate}`;
  if (baseline.throughputPerS > 0 && observed.throughputPerS < baseline.throughputPerS * (1 - tol.throughput)) {
    return `throughput ${observed.throughputPerS.toFixed(1)}/s < ${baseline.throughputPerS.toFixed(1)}/s × ${1 - tol.throughput}`;
  }
  return null;
}

/**
 * The newest `n` steps of several tuners (one per pool), newest first: what the snapshot carries
 * as `tuning`. A step's time is when it concluded, or when it was applied while it validates. Pure.
 */
export function latestTuning(tuners: Iterable<{ history(): TuningRecord[] }>, n: number): TuningRecord[] {
  const all: TuningRecord[] = [];
  for (const t of tuners) all.push(...t.history());
  const at = (r: TuningRecord): number => r.concludedAtMs ?? r.appliedAtMs;
  return all.sort((a, b) => at(b) - at(a) || (a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : b.id - a.id)).slice(0, Math.max(0, n));
}
