/**
 * The report a fleet host publishes once a second: for each pool of its collector, the query
 * results of the local collector (per-host rows), the lifetime counters and Prometheus histograms
 * (fleet totals: sums), and serialized latency sketches (fleet percentiles: merged sketches, never
 * averaged percentiles). Pure: built from a collector's query API, checked when read back.
 *
 * @module
 */
import type {
  CommandMetrics,
  CommandTotals,
  CumulativeHistogram,
  CurrentMetrics,
  ErrorRates,
  ErrorTotal,
  LatencyKind,
  PerformanceSummary,
  RangePoint,
  WindowName,
  WorkerMetrics,
} from '../contract/metrics.js';
import type { LogHistogram, SerializedSketch } from '../metrics/log-histogram.js';
import type { RecentSecond, SketchSpan } from '../metrics/pool-queries.js';

/** Complete seconds each report repeats (so a report arriving late or a skipped second loses nothing). */
export const REPORT_RECENT_SECONDS = 3;

/** The spans whose sketches a host publishes per pool. */
export const REPORT_SPANS = ['second', '1m', '5m', '15m'] as const satisfies readonly SketchSpan[];
/** The windows of a report. */
export const REPORT_WINDOWS = ['1m', '5m', '15m'] as const satisfies readonly WindowName[];
/** Commands (most operations first) whose sketches a host publishes per pool: the rest are counted, not sketched. */
export const REPORT_COMMAND_SKETCHES = 8;

/** One pool of one host. */
export interface HostPoolReport {
  name: string;
  current: CurrentMetrics;
  summary: PerformanceSummary;
  errors: Record<WindowName, ErrorRates>;
  workers: WorkerMetrics[];
  commands: Record<WindowName, CommandMetrics[]>;
  errorTotals: ErrorTotal[];
  commandTotals: CommandTotals[];
  histograms: Record<LatencyKind, CumulativeHistogram>;
  sketches: Record<LatencyKind, Record<(typeof REPORT_SPANS)[number], SerializedSketch>>;
  /** Per-command operation sketches over each window, for the {@link REPORT_COMMAND_SKETCHES} busiest commands. */
  commandSketches: Record<string, Record<WindowName, SerializedSketch>>;
  /** The last {@link REPORT_RECENT_SECONDS} complete seconds, oldest first: points and operation sketches. */
  recent: { point: RangePoint; sketch: SerializedSketch }[];
}

/** One host's report (the `report` field of a metrics stream entry, as JSON). */
export interface HostReport {
  v: 1;
  hostId: string;
  incarnation: string;
  /** When the host built it, ms since the epoch (host clock). */
  timestampMs: number;
  /** The host key's TTL: a host silent for longer than this is stale. */
  hostTtlMs: number;
  pools: HostPoolReport[];
}

/** What a report is built from (the real `MetricsCollector` fits). */
export interface ReportSource {
  pools(): readonly string[];
  getCurrentMetrics(pool: string): CurrentMetrics;
  getPerformanceSummary(pool: string): PerformanceSummary;
  getErrorRates(pool: string, window: WindowName): ErrorRates;
  getWorkerIds(pool: string): readonly number[];
  getWorkerMetrics(pool: string, workerId: number, window?: WindowName): WorkerMetrics;
  getCommandMetrics(pool: string, window: WindowName): CommandMetrics[];
  getErrorTotals(pool: string): ErrorTotal[];
  getOperationTotalsByCommand(pool: string): CommandTotals[];
  getLatencyHistogram(pool: string, kind: LatencyKind, command?: string): CumulativeHistogram;
  getLatencySketch(pool: string, kind: LatencyKind, span: SketchSpan, command?: string): LogHistogram;
  getRecentSeconds(pool: string, n: number): RecentSecond[];
}

/** Build one host's report from its collector. */
export function buildHostReport(source: ReportSource, hostId: string, incarnation: string, hostTtlMs: number, nowMs: number): HostReport {
  const pools: HostPoolReport[] = [];
  for (const name of source.pools()) {
    const sketch = (kind: LatencyKind): HostPoolReport['sketches'][LatencyKind] => ({
      second: source.getLatencySketch(name, kind, 'second').serialize(),
      '1m': source.getLatencySketch(name, kind, '1m').serialize(),
      '5m': source.getLatencySketch(name, kind, '5m').serialize(),
      '15m': source.getLatencySketch(name, kind, '15m').serialize(),
    });
    const commands = {
      '1m': source.getCommandMetrics(name, '1m'),
      '5m': source.getCommandMetrics(name, '5m'),
      '15m': source.getCommandMetrics(name, '15m'),
    };
    const commandSketches: HostPoolReport['commandSketches'] = {};
    for (const c of commands['15m'].slice(0, REPORT_COMMAND_SKETCHES)) {
      commandSketches[c.command] = {
        '1m': source.getLatencySketch(name, 'operation', '1m', c.command).serialize(),
        '5m': source.getLatencySketch(name, 'operation', '5m', c.command).serialize(),
        '15m': source.getLatencySketch(name, 'operation', '15m', c.command).serialize(),
      };
    }
    pools.push({
      name,
      current: source.getCurrentMetrics(name),
      summary: source.getPerformanceSummary(name),
      errors: { '1m': source.getErrorRates(name, '1m'), '5m': source.getErrorRates(name, '5m'), '15m': source.getErrorRates(name, '15m') },
      workers: source.getWorkerIds(name).map((id) => source.getWorkerMetrics(name, id, '1m')),
      commands,
      errorTotals: source.getErrorTotals(name),
      commandTotals: source.getOperationTotalsByCommand(name),
      histograms: {
        operation: source.getLatencyHistogram(name, 'operation'),
        queue_wait: source.getLatencyHistogram(name, 'queue_wait'),
        python: source.getLatencyHistogram(name, 'python'),
        bridge: source.getLatencyHistogram(name, 'bridge'),
      },
      sketches: { operation: sketch('operation'), queue_wait: sketch('queue_wait'), python: sketch('python'), bridge: sketch('bridge') },
      commandSketches,
      recent: source.getRecentSeconds(name, REPORT_RECENT_SECONDS).map((r) => ({ point: r.point, sketch: r.sketch.serialize() })),
    });
  }
  return { v: 1, hostId, incarnation, timestampMs: nowMs, hostTtlMs, pools };
}

/** Parse a report from the stream; null when it is not one (a malformed entry is skipped, not fatal). */
export function parseHostReport(json: string): HostReport | null {
  let r: unknown;
  try {
    r = JSON.parse(json);
  } catch {
    return null;
  }
  const o = r as Partial<HostReport> | null;
  if (typeof o !== 'object' || o === null || o.v !== 1 || typeof o.hostId !== 'string' || typeof o.incarnation !== 'string') return null;
  if (typeof o.timestampMs !== 'number' || typeof o.hostTtlMs !== 'number' || !Array.isArray(o.pools)) return null;
  for (const p of o.pools as unknown[]) {
    const pp = p as Partial<HostPoolReport> | null;
    if (typeof pp !== 'object' || pp === null || typeof pp.name !== 'string' || typeof pp.current !== 'object' || typeof pp.summary !== 'object' || typeof pp.sketches !== 'object') return null;
  }
  return o as HostReport;
}
