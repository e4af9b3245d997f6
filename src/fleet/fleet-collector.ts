/**
 * `FleetCollector`: one monitoring view of a fleet. It reads the hosts' reports from the metrics
 * stream (host-report.ts) and answers the query API of a local `MetricsCollector` (the exporters'
 * `CollectorQueries`) and the snapshot contract, for the fleet as a whole:
 *
 * - counts and rates are sums over hosts; latency percentiles come from the hosts' sketches
 *   merged (never from averaged percentiles: the p99 of the fleet is the p99 of every call, within
 *   the sketch's 0.99% relative error);
 * - windowed figures (current, summary, error rates, distributions, per-command, the per-second
 *   series) count live hosts only; lifetime totals and Prometheus histograms count every host
 *   heard from, stale ones included (counters do not go back), and a restarted host's previous
 *   totals are carried over;
 * - a host silent for longer than `staleAfterMs` is marked `stale` in `snapshot().fleet.hosts`,
 *   never silently dropped (up to `maxHosts`; beyond, the stale host silent longest is forgotten).
 *
 * Worker slots are per host (ids overlap across hosts): the fleet answers none, each host's row in
 * `snapshot().fleet.hosts[].pools[].workers` has them.
 *
 * Memory: per host its last report (with its sketches); per pool a ring of at most 900 fleet
 * seconds, each holding a merged sketch for its first {@link SKETCH_SECONDS} seconds, then only
 * its p50/p99.
 *
 * size: ~630 lines, a third TSDoc: every query of the collector API merged across hosts in one
 * place, so each merge rule (sum, merged sketch, live hosts only or all) is visible side by side.
 *
 * @module
 */
import type { Redis } from 'ioredis';
import { invalidOption } from '../contract/errors.js';
import { systemClock, type MetricsClock } from '../contract/clock.js';
import {
  windowSeconds,
  type CommandMetrics,
  type CommandTotals,
  type CumulativeHistogram,
  type CurrentMetrics,
  type ErrorRates,
  type ErrorTotal,
  type LatencyBucket,
  type LatencyKind,
  type MetricsRange,
  type PerformanceSummary,
  type PeriodMetrics,
  type PoolGauges,
  type PoolTotals,
  type RangePoint,
  type WindowName,
  type WindowSummary,
  type WorkerMetrics,
} from '../contract/metrics.js';
import type { FleetHostSnapshot, MonitoringSnapshot, PoolSnapshot, SnapshotProvider } from '../contract/snapshot.js';
import { numberOption } from '../contract/options.js';
import { healthScore } from '../metrics/health-score.js';
import { logBuckets } from '../metrics/histogram-views.js';
import { LogHistogram } from '../metrics/log-histogram.js';
import { buildSnapshot } from '../exporters/snapshot.js';
import type { CollectorQueries } from '../exporters/sources.js';
import { createRedis, type FleetConnection } from './connection.js';
import { parseHostReport, REPORT_WINDOWS, type HostPoolReport, type HostReport } from './host-report.js';
import { checkName, FleetKeys } from './wire.js';

/** Seconds of the fleet series kept per pool. */
export const SERIES_SECONDS = 900;
/** Newest seconds of the series that keep their merged sketch (late reports still merge into them). */
export const SKETCH_SECONDS = 10;

/** Options of {@link FleetCollector}. */
export interface FleetCollectorOptions {
  /** Redis: a URL or ioredis options (omit to feed reports with {@link FleetCollector.ingest} only). */
  connection?: FleetConnection;
  /** The fleet's queue name. */
  queue: string;
  /** BullMQ key prefix (default `dspex`). */
  prefix?: string;
  /** A host silent for longer than this is stale, ms (default: 3 × its publish interval, at least its host TTL: 5000). */
  staleAfterMs?: number;
  /** Most hosts kept (default 256). */
  maxHosts?: number;
  /** Wall clock (default `Date.now()`): staleness is judged by arrival time on this clock. */
  clock?: MetricsClock;
}

interface Sketches {
  operation: Record<string, LogHistogram>;
  queue_wait: Record<string, LogHistogram>;
  python: Record<string, LogHistogram>;
  bridge: Record<string, LogHistogram>;
  commands: Map<string, Record<string, LogHistogram>>;
}

interface HostEntry {
  hostId: string;
  incarnation: string;
  lastSeenMs: number;
  report: HostReport;
  pools: Map<string, { report: HostPoolReport; sketches: Sketches; series: RangePoint[] }>;
  /** Lifetime totals of earlier incarnations, per pool. */
  carried: Map<string, PoolTotals>;
}

interface FleetSecond {
  sec: number;
  ops: number;
  errors: number;
  queueDepth: number;
  utilizationSum: number;
  n: number;
  hosts: Set<string>;
  sketch: LogHistogram | null;
  p50Us: number;
  p99Us: number;
}

const ZERO_TOTALS = (): PoolTotals => ({ operations: 0, errors: 0, checkouts: 0, queueRejections: 0, workerCrashes: 0, workerRestarts: 0, healthCheckFailures: 0, sessionMoves: 0 });

function addTotals(into: PoolTotals, t: PoolTotals): void {
  for (const k of Object.keys(into) as (keyof PoolTotals)[]) {
    if (k === 'workerRecycles') continue;
    into[k] += t[k] ?? 0;
  }
  // Recycles by reason: a map, summed key by key.
  if (t.workerRecycles !== undefined) {
    const r = (into.workerRecycles ??= {});
    for (const [reason, n] of Object.entries(t.workerRecycles)) r[reason] = (r[reason] ?? 0) + n;
  }
}

const P50_P99 = [0.5, 0.99];

/** Merges the reports of a fleet's hosts. See the module note. */
export class FleetCollector implements CollectorQueries, SnapshotProvider {
  private readonly keys: FleetKeys;
  private readonly connection: FleetConnection | undefined;
  private readonly staleAfterMsOption: number | undefined;
  private readonly maxHosts: number;
  private readonly clock: MetricsClock;
  private readonly hostsById = new Map<string, HostEntry>();
  private readonly seriesByPool = new Map<string, Map<number, FleetSecond>>();
  private readonly newestSec = new Map<string, number>();
  private redis: Redis | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private lastId = '0-0';
  /** Stream entries that were not valid reports (skipped). */
  malformedReports = 0;
  /** Reports ignored because `maxHosts` live hosts were kept. */
  droppedReports = 0;
  /** Reports merged. */
  reports = 0;

  /** @throws PythonBridgeError `invalid_request`/`invalid_options` naming the bad option. */
  constructor(options: FleetCollectorOptions) {
    const where = 'FleetCollector';
    if (typeof options !== 'object' || options === null) throw invalidOption(where, 'options', 'must be an object');
    this.keys = new FleetKeys(checkName(where, 'prefix', options.prefix ?? 'dspex'), checkName(where, 'queue', options.queue));
    this.connection = options.connection;
    this.staleAfterMsOption = options.staleAfterMs === undefined ? undefined : numberOption(where, 'staleAfterMs', options.staleAfterMs, 5000, { min: 1, max: 86_400_000 });
    this.maxHosts = numberOption(where, 'maxHosts', options.maxHosts, 256, { min: 1, max: 100_000 });
    this.clock = options.clock ?? systemClock;
  }

  /** Read the newest reports, then follow the stream (XREAD BLOCK) until {@link stop}. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.connection === undefined) throw invalidOption('FleetCollector', 'connection', 'is required to start (without it, feed reports with ingest())');
    this.running = true;
    const redis = (this.redis = createRedis('FleetCollector', this.connection, 'consumer'));
    redis.on('error', () => {});
    // The latest reports first (newest last after the reverse), so the view is full at once.
    const latest = (await redis.xrevrange(this.keys.metricsStream, '+', '-', 'COUNT', Math.min(1000, this.maxHosts * 3))).reverse();
    for (const [id, fields] of latest) this.onEntry(id, fields);
    this.loop = this.follow();
  }

  /** Stop following the stream. The figures stay readable. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.redis?.disconnect();
    await this.loop;
    this.loop = null;
  }

  private async follow(): Promise<void> {
    while (this.running && this.redis !== null) {
      try {
        const res = await this.redis.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', this.keys.metricsStream, this.lastId);
        for (const [, entries] of res ?? []) for (const [id, fields] of entries) this.onEntry(id, fields);
      } catch {
        if (!this.running) return;
        // Redis away: ioredis reconnects; try again shortly. A restarted, empty Redis starts its
        // ids again from the current time, which is past ours: nothing is skipped.
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private onEntry(id: string, fields: string[]): void {
    this.lastId = id;
    const i = fields.indexOf('report');
    const report = i >= 0 ? parseHostReport(fields[i + 1] ?? '') : null;
    if (report === null) {
      this.malformedReports++;
      return;
    }
    try {
      this.ingest(report);
    } catch {
      this.malformedReports++;
    }
  }

  /**
   * Merge one host report (what {@link start} does for each stream entry; public for tests and
   * benchmarks). Its sketches are checked (a bad one throws `invalid_request`/`invalid_argument`).
   */
  ingest(report: HostReport): void {
    // Every sketch is read before anything changes: a corrupt report leaves the view as it was.
    const parsed = report.pools.map((p) => {
      const sketches: Sketches = { operation: {}, queue_wait: {}, python: {}, bridge: {}, commands: new Map() };
      for (const kind of ['operation', 'queue_wait', 'python', 'bridge'] as const) {
        // A host of an older version sends no python / bridge sketches: those stay empty.
        for (const [span, s] of Object.entries(p.sketches[kind] ?? {})) sketches[kind][span] = LogHistogram.deserialize(s);
      }
      for (const [cmd, byWindow] of Object.entries(p.commandSketches ?? {})) {
        const rec: Record<string, LogHistogram> = {};
        for (const [w, s] of Object.entries(byWindow)) rec[w] = LogHistogram.deserialize(s);
        sketches.commands.set(cmd, rec);
      }
      const recent = (p.recent ?? []).map((r) => ({ point: r.point, sketch: LogHistogram.deserialize(r.sketch) }));
      return { p, sketches, recent };
    });
    const now = this.clock.nowMs();
    let h = this.hostsById.get(report.hostId);
    if (h === undefined) {
      if (this.hostsById.size >= this.maxHosts && !this.evictStale(now)) {
        this.droppedReports++;
        return;
      }
      h = { hostId: report.hostId, incarnation: report.incarnation, lastSeenMs: now, report, pools: new Map(), carried: new Map() };
      this.hostsById.set(report.hostId, h);
    } else if (h.incarnation !== report.incarnation) {
      // A restart: its counters start again from zero; keep what the old incarnation counted.
      for (const [name, p] of h.pools) {
        const c = h.carried.get(name) ?? ZERO_TOTALS();
        addTotals(c, p.report.current.totals);
        h.carried.set(name, c);
      }
      h.pools.clear();
      h.incarnation = report.incarnation;
    }
    h.lastSeenMs = now;
    h.report = report;
    for (const { p, sketches, recent } of parsed) {
      const series = h.pools.get(p.name)?.series ?? [];
      for (const r of recent) {
        const last = series[series.length - 1];
        if (last !== undefined && r.point.timestampMs <= last.timestampMs) continue;
        series.push(r.point);
        this.addSecond(p.name, report.hostId, r.point, r.sketch);
      }
      if (series.length > SERIES_SECONDS) series.splice(0, series.length - SERIES_SECONDS);
      h.pools.set(p.name, { report: p, sketches, series });
    }
    this.reports++;
  }

  /** Add one host's second to the pool's fleet series (once per host and second). */
  private addSecond(pool: string, hostId: string, point: RangePoint, sketch: LogHistogram): void {
    let ring = this.seriesByPool.get(pool);
    if (ring === undefined) {
      ring = new Map<number, FleetSecond>();
      this.seriesByPool.set(pool, ring);
    }
    const sec = Math.floor(point.timestampMs / 1000);
    let s = ring.get(sec);
    if (s === undefined) {
      s = { sec, ops: 0, errors: 0, queueDepth: 0, utilizationSum: 0, n: 0, hosts: new Set(), sketch: new LogHistogram(), p50Us: 0, p99Us: 0 };
      ring.set(sec, s);
    }
    if (s.hosts.has(hostId) || s.sketch === null) return; // already counted, or too late to merge
    s.hosts.add(hostId);
    s.ops += point.ops;
    s.errors += point.errors;
    s.queueDepth += point.queueDepth;
    s.utilizationSum += point.utilization;
    s.n++;
    s.sketch.merge(sketch);
    // Bound the ring, once per new newest second: forget seconds beyond the series, freeze
    // seconds beyond the sketch horizon (their p50/p99 computed once, the sketch released).
    const newest = this.newestSec.get(pool) ?? -Infinity;
    if (sec <= newest) return;
    this.newestSec.set(pool, sec);
    for (const [k, v] of ring) {
      if (k <= sec - SERIES_SECONDS) ring.delete(k);
      else if (k <= sec - SKETCH_SECONDS && v.sketch !== null) {
        const q = v.sketch.quantilesNs(P50_P99, []);
        v.p50Us = q[0]! / 1e3;
        v.p99Us = q[1]! / 1e3;
        v.sketch = null;
        v.hosts.clear();
      }
    }
  }

  private evictStale(now: number): boolean {
    let victim: HostEntry | null = null;
    for (const h of this.hostsById.values()) if (this.isStale(h, now) && (victim === null || h.lastSeenMs < victim.lastSeenMs)) victim = h;
    if (victim === null) return false;
    this.hostsById.delete(victim.hostId);
    return true;
  }

  private staleAfter(h: HostEntry): number {
    return this.staleAfterMsOption ?? Math.max(5000, h.report.hostTtlMs);
  }

  private isStale(h: HostEntry, now: number): boolean {
    return now - h.lastSeenMs > this.staleAfter(h);
  }

  /** The hosts heard from: id, incarnation, last report, staleness. */
  hosts(): { hostId: string; incarnation: string; lastSeenMs: number; stale: boolean; pools: string[] }[] {
    const now = this.clock.nowMs();
    return [...this.hostsById.values()]
      .sort((a, b) => (a.hostId < b.hostId ? -1 : 1))
      .map((h) => ({ hostId: h.hostId, incarnation: h.incarnation, lastSeenMs: h.lastSeenMs, stale: this.isStale(h, now), pools: [...h.pools.keys()] }));
  }

  /** The pool's report of every live host (windowed figures). */
  private live(pool: string): HostPoolReport[] {
    const now = this.clock.nowMs();
    const out: HostPoolReport[] = [];
    for (const h of this.hostsById.values()) {
      const p = h.pools.get(pool);
      if (p !== undefined && !this.isStale(h, now)) out.push(p.report);
    }
    return out;
  }

  private liveSketches(pool: string): Sketches[] {
    const now = this.clock.nowMs();
    const out: Sketches[] = [];
    for (const h of this.hostsById.values()) {
      const p = h.pools.get(pool);
      if (p !== undefined && !this.isStale(h, now)) out.push(p.sketches);
    }
    return out;
  }

  /** The merged sketch of a pool over a span, live hosts only. */
  mergedSketch(pool: string, kind: LatencyKind, span: 'second' | WindowName): LogHistogram {
    const out = new LogHistogram();
    for (const s of this.liveSketches(pool)) {
      const h = s[kind][span];
      if (h !== undefined) out.merge(h);
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // The query API (CollectorQueries)
  // -------------------------------------------------------------------------------------------

  /** Every pool any host reported, sorted. */
  pools(): string[] {
    const names = new Set<string>();
    for (const h of this.hostsById.values()) for (const n of h.pools.keys()) names.add(n);
    return [...names].sort();
  }

  getCurrentMetrics(pool: string): CurrentMetrics {
    const live = this.live(pool);
    const period = (pick: (r: HostPoolReport) => PeriodMetrics, span: 'second' | '1m', periodS: number): PeriodMetrics => {
      let ops = 0;
      let errors = 0;
      let ts = 0;
      let throughputPerS = 0;
      const gauges: PoolGauges[] = [];
      for (const r of live) {
        const m = pick(r);
        ops += m.ops;
        errors += m.errors;
        throughputPerS += m.throughputPerS;
        ts = Math.max(ts, m.timestampMs);
        gauges.push(m.gauges);
      }
      return {
        timestampMs: ts,
        periodS,
        ops,
        errors,
        throughputPerS,
        errorRate: ops > 0 ? errors / ops : 0,
        latencyUs: this.mergedSketch(pool, 'operation', span).summaryUs(),
        queueWaitUs: this.mergedSketch(pool, 'queue_wait', span).summaryUs(),
        gauges: sumGauges(gauges),
      };
    };
    return {
      pool,
      timestampMs: this.clock.nowMs(),
      lastSecond: period((r) => r.current.lastSecond, 'second', 1),
      lastMinute: period((r) => r.current.lastMinute, '1m', 60),
      gauges: sumGauges(live.map((r) => r.current.gauges)),
      totals: this.getTotals(pool),
    };
  }

  getPerformanceSummary(pool: string): PerformanceSummary {
    const windows = {} as Record<WindowName, WindowSummary>;
    for (const w of REPORT_WINDOWS) windows[w] = this.windowSummary(pool, w);
    return { pool, timestampMs: this.clock.nowMs(), windows };
  }

  private windowSummary(pool: string, window: WindowName): WindowSummary {
    const live = this.live(pool);
    let ops = 0;
    let errors = 0;
    let coveredS = 0;
    let throughputPerS = 0;
    let queueDepthAvg = 0;
    let sizeSum = 0;
    let busyWeighted = 0;
    let utilSum = 0;
    let crashes = 0;
    for (const r of live) {
      const s = r.summary.windows[window];
      ops += s.ops;
      errors += s.errors;
      coveredS = Math.max(coveredS, s.coveredS);
      throughputPerS += s.throughputPerS;
      queueDepthAvg += s.queueDepthAvg;
      const size = r.current.gauges.size;
      sizeSum += size;
      busyWeighted += s.utilization * size;
      utilSum += s.utilization;
      for (const t of r.errors[window]?.byType ?? []) if (t.category === 'worker' && t.type === 'crashed') crashes += t.count;
    }
    const utilization = sizeSum > 0 ? busyWeighted / sizeSum : live.length > 0 ? utilSum / live.length : 0;
    const latencyUs = this.mergedSketch(pool, 'operation', window).summaryUs();
    const queueWaitUs = this.mergedSketch(pool, 'queue_wait', window).summaryUs();
    const errorRate = ops > 0 ? errors / ops : 0;
    return {
      window,
      coveredS,
      ops,
      errors,
      throughputPerS,
      errorRate,
      latencyUs,
      queueWaitUs,
      utilization,
      queueDepthAvg,
      healthScore: healthScore({ errorRate, crashes, utilization, queueDepthAvg, sizeAvg: sizeSum, latencyP99Us: latencyUs.p99, queueWaitP99Us: queueWaitUs.p99 }),
    };
  }

  getErrorRates(pool: string, window: WindowName): ErrorRates {
    let ops = 0;
    let errors = 0;
    const byType = new Map<string, ErrorRates['byType'][number]>();
    for (const r of this.live(pool)) {
      const e = r.errors[window];
      if (e === undefined) continue;
      ops += e.ops;
      errors += e.errors;
      for (const t of e.byType) {
        const key = `${t.category}:${t.type}`;
        const cur = byType.get(key);
        if (cur === undefined) byType.set(key, { ...t });
        else cur.count += t.count;
      }
    }
    const byCategory: ErrorRates['byCategory'] = {};
    const list = [...byType.values()].sort((a, b) => b.count - a.count);
    for (const t of list) {
      t.rate = ops > 0 ? t.count / ops : 0;
      const c = (byCategory[t.category] ??= { count: 0, rate: 0 });
      c.count += t.count;
      c.rate = ops > 0 ? c.count / ops : 0;
    }
    return { pool, window, ops, errors, errorRate: ops > 0 ? errors / ops : 0, byCategory, byType: list };
  }

  /** Lifetime counters summed over every host heard from (stale and earlier incarnations included). */
  getTotals(pool: string): PoolTotals {
    const out = ZERO_TOTALS();
    for (const h of this.hostsById.values()) {
      const p = h.pools.get(pool);
      if (p !== undefined) addTotals(out, p.report.current.totals);
      const c = h.carried.get(pool);
      if (c !== undefined) addTotals(out, c);
    }
    return out;
  }

  getErrorTotals(pool: string): ErrorTotal[] {
    const m = new Map<string, ErrorTotal>();
    for (const h of this.hostsById.values()) {
      for (const e of h.pools.get(pool)?.report.errorTotals ?? []) {
        const key = `${e.category}:${e.type}`;
        const cur = m.get(key);
        if (cur === undefined) m.set(key, { ...e });
        else cur.count += e.count;
      }
    }
    return [...m.values()].sort((a, b) => b.count - a.count);
  }

  getOperationTotalsByCommand(pool: string): CommandTotals[] {
    const m = new Map<string, CommandTotals>();
    for (const h of this.hostsById.values()) {
      for (const c of h.pools.get(pool)?.report.commandTotals ?? []) {
        const cur = m.get(c.command);
        if (cur === undefined) m.set(c.command, { ...c });
        else {
          cur.operations += c.operations;
          cur.errors += c.errors;
        }
      }
    }
    return [...m.values()];
  }

  /** The pool's lifetime histogram summed over every host (same `le` bounds everywhere); per command: null (hosts publish pool-level histograms only). */
  getLatencyHistogram(pool: string, kind: LatencyKind, command?: string): CumulativeHistogram | null {
    if (command !== undefined) return null;
    let out: CumulativeHistogram | null = null;
    for (const h of this.hostsById.values()) {
      const hist = h.pools.get(pool)?.report.histograms[kind];
      if (hist === undefined) continue;
      if (out === null) out = { bucketsS: [...hist.bucketsS], cumulativeCounts: [...hist.cumulativeCounts], sumS: hist.sumS, count: hist.count };
      else if (out.bucketsS.length === hist.bucketsS.length) {
        for (let i = 0; i < out.cumulativeCounts.length; i++) out.cumulativeCounts[i]! += hist.cumulativeCounts[i] ?? 0;
        out.sumS += hist.sumS;
        out.count += hist.count;
      }
    }
    return out;
  }

  getLatencyDistribution(pool: string, window: WindowName, kind: LatencyKind = 'operation', perDecade = 4): LatencyBucket[] {
    return logBuckets(this.mergedSketch(pool, kind, window), perDecade);
  }

  /** Per command: counts summed over live hosts, latency from the merged sketches of the hosts that sketched it (each host sketches its 8 busiest). */
  getCommandMetrics(pool: string, window: WindowName): CommandMetrics[] {
    const byCommand = new Map<string, CommandMetrics & { sketch: LogHistogram }>();
    const now = this.clock.nowMs();
    for (const h of this.hostsById.values()) {
      const p = h.pools.get(pool);
      if (p === undefined || this.isStale(h, now)) continue;
      for (const c of p.report.commands[window] ?? []) {
        let cur = byCommand.get(c.command);
        if (cur === undefined) byCommand.set(c.command, (cur = { ...c, pool, ops: 0, errors: 0, coveredS: 0, throughputPerS: 0, sketch: new LogHistogram() }));
        cur.ops += c.ops;
        cur.errors += c.errors;
        cur.coveredS = Math.max(cur.coveredS, c.coveredS);
        cur.throughputPerS += c.throughputPerS;
        const s = p.sketches.commands.get(c.command)?.[window];
        if (s !== undefined) cur.sketch.merge(s);
      }
    }
    const out: CommandMetrics[] = [];
    for (const { sketch, ...c } of byCommand.values()) out.push({ ...c, errorRate: c.ops > 0 ? c.errors / c.ops : 0, latencyUs: sketch.summaryUs() });
    return out.sort((a, b) => b.ops - a.ops || (a.command < b.command ? -1 : 1));
  }

  /** Fleet per-second points over `[fromMs, toMs)` (the last 15 minutes are kept), from merged per-second sketches. */
  getMetricsRange(pool: string, fromMs: number, toMs: number): MetricsRange {
    const ring = this.seriesByPool.get(pool);
    const points: RangePoint[] = [];
    if (ring !== undefined) {
      const from = Math.floor(fromMs / 1000);
      const to = Math.ceil(toMs / 1000);
      for (const s of [...ring.values()].sort((a, b) => a.sec - b.sec)) {
        if (s.sec < from || s.sec >= to) continue;
        let p50 = s.p50Us;
        let p99 = s.p99Us;
        if (s.sketch !== null) {
          const q = s.sketch.quantilesNs(P50_P99, []);
          p50 = q[0]! / 1e3;
          p99 = q[1]! / 1e3;
        }
        points.push({
          timestampMs: s.sec * 1000,
          ops: s.ops,
          errors: s.errors,
          throughputPerS: s.ops,
          errorRate: s.ops > 0 ? s.errors / s.ops : 0,
          latencyP50Us: p50,
          latencyP99Us: p99,
          queueDepth: s.queueDepth,
          utilization: s.n > 0 ? s.utilizationSum / s.n : 0,
        });
      }
    }
    return { pool, fromMs, toMs, resolutionS: 1, points };
  }

  /** Worker slots are per host: the fleet lists none (see the hosts' rows). */
  getWorkerIds(): number[] {
    return [];
  }

  /** Worker slots are per host: null at fleet level. */
  getWorkerMetrics(): WorkerMetrics | null {
    return null;
  }

  // -------------------------------------------------------------------------------------------

  /** The snapshot contract: fleet totals in `pools`, per-host rows in `fleet.hosts`. */
  snapshot(window: WindowName): MonitoringSnapshot {
    const now = this.clock.nowMs();
    const snap = buildSnapshot({ collector: this }, window, now);
    const hosts: FleetHostSnapshot[] = [];
    for (const h of [...this.hostsById.values()].sort((a, b) => (a.hostId < b.hostId ? -1 : 1))) {
      const pools: PoolSnapshot[] = [];
      for (const [name, p] of h.pools) {
        const r = p.report;
        const fromSec = Math.floor(now / 1000) - windowSeconds[window];
        pools.push({
          name,
          status: null,
          current: r.current,
          summary: r.summary,
          series: p.series.filter((pt) => pt.timestampMs >= fromSec * 1000),
          latency: logBuckets(p.sketches.operation[window] ?? new LogHistogram()),
          errors: r.errors[window] ?? null,
          workers: r.workers,
          commands: r.commands[window] ?? [],
        });
      }
      hosts.push({ host: h.hostId, incarnation: h.incarnation, lastSeenMs: h.lastSeenMs, ageMs: Math.max(0, now - h.lastSeenMs), stale: this.isStale(h, now), pools });
    }
    const staleAfterMs = this.staleAfterMsOption ?? Math.max(5000, ...[...this.hostsById.values()].map((h) => h.report.hostTtlMs));
    snap.fleet = { queue: this.keys.queue, staleAfterMs, hosts };
    return snap;
  }
}

/** Gauges summed over hosts (utilization recomputed as busy / size). */
function sumGauges(gs: readonly PoolGauges[]): PoolGauges {
  const out: PoolGauges = { size: 0, busy: 0, idle: 0, starting: 0, queueDepth: 0, utilization: 0, spares: 0 };
  for (const g of gs) {
    out.size += g.size;
    out.busy += g.busy;
    out.idle += g.idle;
    out.starting += g.starting;
    out.queueDepth += g.queueDepth;
    out.spares! += g.spares ?? 0;
  }
  out.utilization = out.size > 0 ? out.busy / out.size : 0;
  return out;
}
