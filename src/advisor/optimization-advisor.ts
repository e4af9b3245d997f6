/**
 * The OptimizationAdvisor: gathers each pool's figures from the metrics collector's query API, the
 * pools' status and a per-worker RSS history it keeps from the resource monitor's samples, and
 * hands them to the pure analyses (analyses.ts). It owns only that history (bounded: at most
 * `rssPoints` points per worker process, processes of at most `maxWorkers` slots per pool).
 *
 * ```ts
 * const advisor = new OptimizationAdvisor({ collector, resources, pools: [pool] });
 * advisor.start();                       // records RSS from dspex:resource:sample
 * advisor.analyze('models');             // Recommendation[], highest priority first
 * new MonitoringServer({ collector, recommendations: () => advisor.snapshotRecommendations() });
 * ```
 *
 * @module
 */
import { subscribe } from '../telemetry/telemetry.js';
import type { Recommendation } from '../contract/advice.js';
import type { CommandMetrics, ErrorRates, PerformanceSummary, WorkerMetrics } from '../contract/metrics.js';
import type { PoolStatus } from '../contract/pool-status.js';
import type { ResourceSample } from '../contract/resources.js';
import type { SnapshotRecommendation } from '../contract/snapshot.js';
import { DEFAULT_ANALYSIS_SETTINGS, generateRecommendations, type AnalysisSettings, type PoolFacts, type WorkerRssSeries } from './analyses.js';
import { advisorOptionsSchema, parseAdvisorOptions } from './options.js';

/** The collector queries the advisor reads (the real MetricsCollector fits). */
export interface AdvisorCollector {
  pools(): readonly string[];
  getPerformanceSummary(pool: string): PerformanceSummary;
  getCommandMetrics(pool: string, window: '1m' | '5m' | '15m'): readonly CommandMetrics[];
  getErrorRates(pool: string, window: '1m' | '5m' | '15m'): ErrorRates;
  /** Worker slots seen (optional: with {@link getWorkerMetrics}, worker imbalance). */
  getWorkerIds?(pool: string): readonly number[];
  getWorkerMetrics?(pool: string, workerId: number, window?: '1m' | '5m' | '15m'): WorkerMetrics | null;
}

/** A pool as the advisor sees it (the real SessionPool fits). */
export interface AdvisedPool {
  readonly name: string;
  status(): PoolStatus;
  readonly options?: { readonly maxWorkerRssBytes?: number; readonly operationTimeoutMs?: number; readonly checkoutTimeoutMs?: number };
}

/** Options of {@link OptimizationAdvisor}. */
export interface OptimizationAdvisorOptions {
  collector: AdvisorCollector;
  /** The resource monitor (or anything with `getResources()`): RSS history for leak detection. */
  resources?: { getResources(): ResourceSample } | null;
  /** Pools whose sizing (size, min, max) growth and shrink need. */
  pools?: readonly AdvisedPool[];
  /** Analysis thresholds (defaults: {@link DEFAULT_ANALYSIS_SETTINGS}). */
  settings?: Partial<AnalysisSettings>;
  /** RSS points kept per worker process (default 120). */
  rssPoints?: number;
  /** Recommendations `snapshotRecommendations()` returns at most (default 5). */
  top?: number;
}

interface Ring {
  pid: number;
  times: number[];
  values: number[];
}

/** Recommends changes to pools from their metrics; see the module note. */
export class OptimizationAdvisor {
  private readonly collector: AdvisorCollector;
  private readonly resources: { getResources(): ResourceSample } | null;
  private readonly pools: AdvisedPool[];
  private readonly settings: AnalysisSettings;
  private readonly rssPoints: number;
  private readonly top: number;
  /** pool → workerId → the current process's RSS ring. */
  private readonly rss = new Map<string, Map<number, Ring>>();
  private lastSampleMs = -1;
  private unsubscribe: (() => void) | null = null;

  /** @throws PythonBridgeError `invalid_request`/`invalid_options` naming the option. */
  constructor(options: OptimizationAdvisorOptions) {
    const o = parseAdvisorOptions(advisorOptionsSchema, options);
    this.collector = options.collector;
    this.resources = options.resources ?? null;
    this.pools = [...(options.pools ?? [])];
    this.settings = { ...DEFAULT_ANALYSIS_SETTINGS, ...o.settings };
    this.rssPoints = o.rssPoints;
    this.top = o.top;
  }

  /** Record RSS from every `dspex:resource:sample`. Idempotent. */
  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = subscribe('dspex:resource:sample', (e) => this.recordSample(e.sample));
  }

  /** True between `start()` and `stop()` (recording resource samples). */
  get running(): boolean {
    return this.unsubscribe !== null;
  }

  /** Stop recording. Idempotent; the history stays. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Add a pool (its sizing is then known). */
  addPool(pool: AdvisedPool): void {
    if (!this.pools.includes(pool)) this.pools.push(pool);
  }

  /** Record one resource sample's Python RSS figures (each sample once, by timestamp). */
  recordSample(sample: ResourceSample): void {
    if (sample.timestampMs <= this.lastSampleMs) return;
    this.lastSampleMs = sample.timestampMs;
    for (const p of sample.python) {
      if (p.pool === null || p.workerId === null) continue;
      let byWorker = this.rss.get(p.pool);
      if (!byWorker) {
        if (this.rss.size >= 64) continue;
        this.rss.set(p.pool, (byWorker = new Map<number, Ring>()));
      }
      let ring = byWorker.get(p.workerId);
      if (!ring || ring.pid !== p.pid) {
        // A new process in the slot starts a new history (a replacement does not inherit a trend).
        if (!ring && byWorker.size >= 1024) continue;
        ring = { pid: p.pid, times: [], values: [] };
        byWorker.set(p.workerId, ring);
      }
      ring.times.push(sample.timestampMs);
      ring.values.push(p.rssBytes);
      if (ring.times.length > this.rssPoints) {
        ring.times.shift();
        ring.values.shift();
      }
    }
  }

  /** The facts the analyses read for `pool` (exported through `analyze`; public for tests and the bench). */
  facts(pool: string): PoolFacts {
    const c = this.collector;
    const live = this.pools.find((p) => p.name === pool);
    let sizing: PoolFacts['sizing'] = null;
    const rssSeries: WorkerRssSeries[] = [];
    const livePids = new Set<number>();
    if (live) {
      const st = live.status();
      sizing = { size: st.size, minSize: st.minSize, maxSize: st.maxSize };
      for (const w of st.workers) livePids.add(w.pid);
    }
    for (const [workerId, ring] of this.rss.get(pool) ?? []) {
      if (live && !livePids.has(ring.pid)) continue;
      rssSeries.push({ workerId, pid: ring.pid, timesMs: ring.times, rssBytes: ring.values });
    }
    return {
      pool,
      summary: c.getPerformanceSummary(pool).windows['1m'],
      sizing,
      commands: c.getCommandMetrics(pool, '1m'),
      baseline: c.getCommandMetrics(pool, '15m'),
      errors: c.getErrorRates(pool, '1m'),
      rss: rssSeries,
      maxWorkerRssBytes: live?.options?.maxWorkerRssBytes ?? 0,
      timeouts: live?.options?.operationTimeoutMs !== undefined && live.options.checkoutTimeoutMs !== undefined ? { operationTimeoutMs: live.options.operationTimeoutMs, checkoutTimeoutMs: live.options.checkoutTimeoutMs } : null,
      workers: this.workers(pool, live ? livePids : null),
    };
  }

  /** The live worker slots' last-minute figures (slots whose process is gone are left out). */
  private workers(pool: string, livePids: ReadonlySet<number> | null): WorkerMetrics[] {
    const c = this.collector;
    if (c.getWorkerIds === undefined || c.getWorkerMetrics === undefined) return [];
    const out: WorkerMetrics[] = [];
    for (const id of c.getWorkerIds(pool)) {
      const w = c.getWorkerMetrics(pool, id, '1m');
      if (w !== null && (livePids === null || livePids.has(w.pid))) out.push(w);
    }
    return out;
  }

  /** Recommendations for one pool, or every pool the collector knows, highest priority first. */
  analyze(pool?: string): Recommendation[] {
    if (this.resources && this.unsubscribe === null) {
      try {
        this.recordSample(this.resources.getResources());
      } catch {
        // a failing monitor leaves the RSS history as it is
      }
    }
    const names = pool === undefined ? [...new Set([...this.collector.pools(), ...this.pools.map((p) => p.name)])] : [pool];
    const out: Recommendation[] = [];
    for (const name of names) out.push(...generateRecommendations(this.facts(name), this.settings));
    return out.sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1));
  }

  /** The top recommendations as the snapshot carries them (for `MonitoringSources.recommendations`). */
  snapshotRecommendations(): SnapshotRecommendation[] {
    return this.analyze()
      .slice(0, this.top)
      .map((rec) => toSnapshotRecommendation(rec));
  }
}

/** A recommendation as the snapshot carries it (`score` = priority / 100). Pure. */
export function toSnapshotRecommendation(rec: Recommendation): SnapshotRecommendation {
  const math = rec.evidence.math.length > 0 ? ` [${rec.evidence.math.join('; ')}]` : '';
  return { ...rec, detail: rec.detail + math, score: rec.priority / 100 };
}
