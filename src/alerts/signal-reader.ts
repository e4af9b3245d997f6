/**
 * The signal values of one evaluation, for the AlertManager: each (signal, window, pool) read
 * once per evaluation, each pool queried once, and only for the windows the rules read (with a
 * collector that has `getWindowSummary`, one window at a time without the Python / bridge split).
 * State kept across evaluations (slots, pool facts, label objects) is marked fresh by an epoch,
 * so a steady evaluation allocates no cache keys, arrays or value objects; it is bounded by the
 * signals × windows, the pools of one evaluation and the pools the rules name.
 *
 * @module
 */
import type { MetricsClock } from '../contract/clock.js';
import type { CurrentMetrics, PerformanceSummary, WindowName, WindowSummary } from '../contract/metrics.js';
import type { PoolStatus } from '../contract/pool-status.js';
import type { ResourceSample } from '../contract/resources.js';
import type { SignalLookup } from './evaluate.js';
import { LabelCache, readSignalInto, signalNames, SIGNALS, type PoolFacts, type SignalInputs, type SignalName, type SignalValue } from './signals.js';

/** The collector queries the manager reads (the real MetricsCollector fits). */
export interface AlertCollector {
  pools(): readonly string[];
  getPerformanceSummary(pool: string): PerformanceSummary;
  /**
   * One window of the summary (the MetricsCollector has it): when present, the manager queries
   * only the windows its rules read, without the Python / bridge split, instead of every window.
   */
  getWindowSummary?(pool: string, window: WindowName, options?: { split?: boolean }): WindowSummary;
  getCurrentMetrics(pool: string): CurrentMetrics;
  /** The memory-cap degradation level (`monitoring.degradationLevel`). */
  readonly degradation?: number;
}

/** A pool as the manager sees it (the real SessionPool fits). */
export interface AlertedPool {
  readonly name: string;
  status(): PoolStatus;
}

/** One (signal, window, pool?)'s series at the evaluation `epoch` (objects reused across evaluations). */
interface SignalSlot {
  epoch: number;
  values: SignalValue[];
}

/** A pool's facts, kept across evaluations and refreshed at each (see `gatherPools`). */
interface KeptFacts extends PoolFacts {
  epoch: number;
  /** The summary this manager fills window by window (with `getWindowSummary`). */
  own: PerformanceSummary;
}

const WINDOW_INDEX: Record<WindowName, number> = { '1m': 0, '5m': 1, '15m': 2 };
const SIGNAL_INDEX = new Map<SignalName, number>(signalNames.map((n, i) => [n, i]));
const NO_SPLIT = Object.freeze({ split: false });

/** Reads signals for the evaluations of one manager; see the module note. */
export class SignalReader {
  private readonly labelCache = new LabelCache();
  // Per-evaluation state, kept across evaluations and marked fresh by `epoch` (one per
  // evaluation): a steady evaluation allocates no cache keys, arrays or value objects.
  private epoch = 0;
  /** Slots of rules without a `pool`, by signal × window index. */
  private readonly globalSlots: (SignalSlot | undefined)[] = [];
  /** Slots of rules naming a pool (bounded by the rules; cleared when one is removed). */
  private readonly poolSlots = new Map<string, (SignalSlot | undefined)[]>();
  private readonly poolFacts: KeptFacts[] = [];
  private readonly inputs: SignalInputs = { pools: this.poolFacts, sample: null, degradation: null };
  private readonly factsByPool = new Map<string, KeptFacts>();
  private readonly windowEpoch = [-1, -1, -1];
  private readonly livePools = new Map<string, AlertedPool>();

  constructor(
    private readonly collector: AlertCollector,
    private readonly pools: readonly AlertedPool[],
    private readonly clock: MetricsClock,
  ) {
    for (const p of this.pools) if (!this.livePools.has(p.name)) this.livePools.set(p.name, p);
  }

  /** Forget the slots of rules naming a pool (after a rule is removed, so they stay bounded). */
  forgetPoolSlots(): void {
    this.poolSlots.clear();
  }

  /** A new evaluation over `sample`: every slot is stale; pools are queried lazily (only when a rule reads a pool signal). */
  begin(sample: ResourceSample | null): void {
    this.epoch++;
    const deg = this.collector.degradation;
    this.inputs.sample = sample;
    this.inputs.degradation = typeof deg === 'number' ? deg : null;
    this.poolFacts.length = 0;
    this.poolsGathered = false;
  }

  private poolsGathered = false;

  /** Each pool's status (or the collector's gauges); summaries come per window, in `ensureWindow`. */
  private gatherPools(): void {
    this.poolsGathered = true;
    for (const name of this.collector.pools()) this.addFacts(name);
    for (const p of this.pools) this.addFacts(p.name);
    // Forget pools gone (the map stays as large as the pools of one evaluation).
    if (this.factsByPool.size > this.poolFacts.length) for (const [name, f] of this.factsByPool) if (f.epoch !== this.epoch) this.factsByPool.delete(name);
  }

  private addFacts(name: string): void {
    let f = this.factsByPool.get(name);
    if (f?.epoch === this.epoch) return; // listed twice
    if (f === undefined) {
      // The windows are filled by ensureWindow before any read of them (an absent one reads as missing).
      f = { pool: name, summary: null, status: null, gauges: null, epoch: this.epoch, own: { pool: name, timestampMs: 0, windows: {} as PerformanceSummary['windows'] } };
      this.factsByPool.set(name, f);
    }
    f.epoch = this.epoch;
    f.summary = null;
    const live = this.livePools.get(name);
    let status: PoolStatus | null = null;
    if (live !== undefined) {
      try {
        status = live.status();
      } catch {
        status = null;
      }
    }
    f.status = status;
    f.gauges = status === null ? this.collector.getCurrentMetrics(name).gauges : null;
    this.poolFacts.push(f);
  }

  /** Every pool's summary of window `w`, once per evaluation (one window if the collector can, else all). */
  private ensureWindow(w: WindowName): void {
    const wi = WINDOW_INDEX[w];
    if (this.windowEpoch[wi] === this.epoch) return;
    this.windowEpoch[wi] = this.epoch;
    const c = this.collector;
    for (const f of this.poolFacts) {
      if (c.getWindowSummary !== undefined) {
        f.own.windows[w] = c.getWindowSummary(f.pool, w, NO_SPLIT);
        f.own.timestampMs = this.clock.nowMs();
        f.summary = f.own;
      } else f.summary ??= c.getPerformanceSummary(f.pool);
    }
  }

  /** The per-evaluation signal cache: each (signal, window, pool) read once. */
  readonly lookup: SignalLookup = (signal: SignalName, window: WindowName, pool: string | undefined): readonly SignalValue[] => {
    const def = SIGNALS[signal];
    const w = def.windowed ? window : '1m';
    let row = this.globalSlots;
    if (pool !== undefined) {
      const kept = this.poolSlots.get(pool);
      if (kept !== undefined) row = kept;
      else this.poolSlots.set(pool, (row = []));
    }
    const idx = SIGNAL_INDEX.get(signal)! * 3 + WINDOW_INDEX[w];
    let slot = row[idx];
    if (slot === undefined) row[idx] = slot = { epoch: -1, values: [] };
    if (slot.epoch !== this.epoch) {
      if (def.source === 'pool') {
        if (!this.poolsGathered) this.gatherPools();
        if (def.windowed) this.ensureWindow(w);
      }
      readSignalInto(signal, w, pool, this.inputs, this.labelCache, slot.values);
      slot.epoch = this.epoch;
    }
    return slot.values;
  };
}
