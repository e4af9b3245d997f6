/**
 * The Prometheus exposition of dspex: metric families built from the collector's query results,
 * the pools' status and the latest resource sample, rendered in the text format (version 0.0.4)
 * that Prometheus scrapes and `promtool check metrics` accepts.
 *
 * Two stages, both pure: {@link buildFamilies} turns a {@link PrometheusInput} (plain objects) into
 * {@link MetricFamily} values; {@link renderExposition} writes them as text. {@link collectPrometheusInput}
 * is the only part that reads live sources. A scrape costs O(series): every figure is a lifetime
 * counter, a gauge or a cumulative histogram the collector already keeps; no event is replayed.
 *
 * Families and labels are listed in docs/MONITORING_GUIDE.md (## Prometheus and the HTTP API).
 *
 * @module
 */
import { OVERFLOW_WORKER_ID, type CommandTotals, type CumulativeHistogram, type ErrorTotal, type PoolGauges, type PoolTotals } from '../contract/metrics.js';
import type { PoolStatus } from '../contract/pool-status.js';
import type { ResourceSample } from '../contract/resources.js';
import type { SnapshotAlert } from '../contract/snapshot.js';
import type { UserMetric } from '../contract/inside-python.js';
import { resolvePools, safely, type MonitoringSources } from './sources.js';

/** The content type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The kinds of family dspex exports. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A label: name and value (the value is escaped when rendered). */
export type Label = readonly [name: string, value: string];

/** One sample line: its full name (a histogram's `_bucket` / `_sum` / `_count` included), labels and value. */
export interface MetricSample {
  name: string;
  labels: readonly Label[];
  value: number;
}

/** A metric family: `# HELP`, `# TYPE` and its samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: MetricSample[];
}

/** The lifetime figures of one worker slot. */
export interface WorkerExport {
  /** The slot, or `OVERFLOW_WORKER_ID` for the one slot ids beyond the collector's cap share (`worker_id="overflow"`). */
  workerId: number;
  /** Operations the slot served over its lifetime (all its processes). */
  operations: number;
  /** Failed operations of the slot over its lifetime. */
  errors: number;
}

/** Everything exported about one pool. Every part may be missing (null / empty): it is then left out. */
export interface PoolExport {
  name: string;
  /** The pool's live status, when a status source is known for it. */
  status: PoolStatus | null;
  /** The collector's latest gauges (used when `status` is null). */
  gauges: PoolGauges | null;
  totals: PoolTotals | null;
  errorTotals: readonly ErrorTotal[];
  commandTotals: readonly CommandTotals[];
  /** Lifetime operation latency per command. */
  operationHistograms: readonly { command: string; histogram: CumulativeHistogram }[];
  /** Lifetime queue wait of the pool. */
  queueWaitHistogram: CumulativeHistogram | null;
  /** Lifetime Python execution time per command (issue 19; absent: none exported). */
  pythonHistograms?: readonly { command: string; histogram: CumulativeHistogram }[];
  /** Lifetime bridge overhead per command (issue 19; absent: none exported). */
  bridgeHistograms?: readonly { command: string; histogram: CumulativeHistogram }[];
  /** Metrics recorded by the pool's Python code (issue 19), exported as `dspex_user_<name>`. */
  userMetrics?: readonly UserMetric[];
  workers: readonly WorkerExport[];
}

/** The input of {@link buildFamilies}: plain data, no live objects. */
export interface PrometheusInput {
  pools: readonly PoolExport[];
  resources: ResourceSample | null;
  alerts: readonly SnapshotAlert[];
}

// ---------------------------------------------------------------------------------------------
// Text format
// ---------------------------------------------------------------------------------------------

/** Escape a label value for the text format: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  let needs = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 92 || c === 34 || c === 10) {
      needs = true;
      break;
    }
  }
  if (!needs) return value;
  return value.replace(/[\\"\n]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '"' ? '\\"' : '\\n'));
}

/** Escape a HELP text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (ch) => (ch === '\\' ? '\\\\' : '\\n'));
}

/** A sample value as the text format writes it (`+Inf`, `-Inf`, `NaN` for the special values). */
export function formatValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

/** Render families as the Prometheus text exposition format (a trailing line feed included). */
export function renderExposition(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      let line = s.name;
      if (s.labels.length > 0) {
        line += '{';
        for (let i = 0; i < s.labels.length; i++) {
          const l = s.labels[i]!;
          if (i > 0) line += ',';
          line += `${l[0]}="${escapeLabelValue(l[1])}"`;
        }
        line += '}';
      }
      out.push(`${line} ${formatValue(s.value)}`);
    }
  }
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Families
// ---------------------------------------------------------------------------------------------

/** Help text and type of every family dspex exports, in exposition order. */
export const FAMILIES = {
  dspex_pool_up: { type: 'gauge', help: '1 when the pool is running (serving calls), 0 otherwise.' },
  dspex_pool_operations_total: { type: 'counter', help: 'Operations completed, by command and result (ok or error).' },
  dspex_pool_errors_total: { type: 'counter', help: 'Errors, by category and type (rejected calls and failures of the pool\'s own work).' },
  dspex_pool_checkouts_total: { type: 'counter', help: 'Workers handed to calls.' },
  dspex_pool_queue_rejections_total: { type: 'counter', help: 'Calls refused because the queue was full.' },
  dspex_pool_worker_crashes_total: { type: 'counter', help: 'Python worker processes that ended unexpectedly.' },
  dspex_pool_worker_restarts_total: { type: 'counter', help: 'Python worker processes started to replace a failed one.' },
  dspex_pool_worker_recycles_total: { type: 'counter', help: 'Python worker processes recycled (planned restarts), by reason (max_calls, max_rss, manual, ...).' },
  dspex_pool_health_check_failures_total: { type: 'counter', help: 'Failed or timed-out worker health checks.' },
  dspex_session_moves_total: { type: 'counter', help: 'Session calls served by another worker than the session\'s last (affinity prefer): its Python-side state was left behind.' },
  dspex_pool_operation_duration_seconds: { type: 'histogram', help: 'Duration of operations (queue wait included), by command.' },
  dspex_pool_queue_wait_seconds: { type: 'histogram', help: 'Time calls waited for a worker.' },
  dspex_pool_python_duration_seconds: { type: 'histogram', help: 'Execution time of the handler in Python (perf_counter_ns around the function, reported by the worker), by command.' },
  dspex_pool_bridge_overhead_seconds: { type: 'histogram', help: 'The bridge\'s share of a call: end-to-end minus queue wait minus Python execution (JSON, framing, pipes, scheduling), by command.' },
  dspex_pool_workers: { type: 'gauge', help: 'Python workers by state (starting, idle, busy, stopping).' },
  dspex_pool_size: { type: 'gauge', help: 'Target number of workers.' },
  dspex_pool_max_size: { type: 'gauge', help: 'Largest number of workers the pool may grow to.' },
  dspex_pool_queue_depth: { type: 'gauge', help: 'Calls waiting for a worker.' },
  dspex_pool_queue_max: { type: 'gauge', help: 'Calls allowed to wait for a worker (maxQueue).' },
  dspex_pool_utilization_ratio: { type: 'gauge', help: 'Busy workers divided by the target size, 0..1.' },
  dspex_pool_spares: { type: 'gauge', help: 'Warm spares ready to take over a replaced worker\'s slot at once (spares option).' },
  dspex_pool_sessions: { type: 'gauge', help: 'Sessions tracked by the pool.' },
  dspex_pool_uptime_seconds: { type: 'gauge', help: 'Seconds since the pool started (0 before start).' },
  dspex_worker_operations_total: { type: 'counter', help: 'Operations served by a worker slot over its lifetime (all its processes).' },
  dspex_worker_errors_total: { type: 'counter', help: 'Failed operations of a worker slot over its lifetime.' },
  dspex_worker_generation: { type: 'gauge', help: 'Processes the worker slot had before the current one (its restarts).' },
  dspex_python_rss_bytes: { type: 'gauge', help: 'Resident memory of the worker\'s Python process.' },
  dspex_python_virtual_memory_bytes: { type: 'gauge', help: 'Virtual memory of the worker\'s Python process.' },
  dspex_python_cpu_seconds_total: { type: 'counter', help: 'CPU time (user and system) of the worker\'s current Python process.' },
  dspex_python_open_fds: { type: 'gauge', help: 'Open file descriptors of the worker\'s Python process.' },
  dspex_python_threads: { type: 'gauge', help: 'Threads of the worker\'s Python process.' },
  dspex_python_orphan_processes: { type: 'gauge', help: 'dspex Python processes no live Node process owns.' },
  dspex_node_rss_bytes: { type: 'gauge', help: 'Resident memory of the Node process.' },
  dspex_node_heap_used_bytes: { type: 'gauge', help: 'V8 heap in use.' },
  dspex_node_heap_total_bytes: { type: 'gauge', help: 'V8 heap allocated.' },
  dspex_node_heap_limit_bytes: { type: 'gauge', help: 'V8 heap size limit.' },
  dspex_node_external_bytes: { type: 'gauge', help: 'Memory of C++ objects bound to JavaScript objects.' },
  dspex_node_event_loop_delay_seconds: { type: 'gauge', help: 'Event-loop delay over the last sampling interval, by statistic (p50, p99, max, mean).' },
  dspex_node_event_loop_utilization_ratio: { type: 'gauge', help: 'Event-loop utilization over the last sampling interval, 0..1.' },
  dspex_node_cpu_usage_cores: { type: 'gauge', help: 'CPU use of the Node process over the last sampling interval, in cores (1 = one core busy).' },
  dspex_node_gc_pause_seconds: { type: 'gauge', help: 'Garbage-collection pause during the last sampling interval.' },
  dspex_node_active_handles: { type: 'gauge', help: 'Active libuv handles of the Node process.' },
  dspex_alerts: { type: 'gauge', help: 'Active dspex alerts (1 per alert), by alertname, alertstate, severity and pool.' },
} as const satisfies Record<string, { type: MetricType; help: string }>;

/** The name of a family dspex exports. */
export type FamilyName = keyof typeof FAMILIES;

/** Every family name, in exposition order. */
export const FAMILY_NAMES = Object.keys(FAMILIES) as FamilyName[];

class FamilySet {
  private readonly byName = new Map<FamilyName, MetricFamily>();

  constructor() {
    for (const name of FAMILY_NAMES) {
      const f = FAMILIES[name];
      this.byName.set(name, { name, help: f.help, type: f.type, samples: [] });
    }
  }

  add(name: FamilyName, labels: readonly Label[], value: number, suffix = ''): void {
    this.byName.get(name)!.samples.push({ name: suffix === '' ? name : name + suffix, labels, value });
  }

  histogram(name: FamilyName, labels: readonly Label[], h: CumulativeHistogram): void {
    const n = Math.min(h.bucketsS.length, h.cumulativeCounts.length);
    for (let i = 0; i < n; i++) this.add(name, [...labels, ['le', formatValue(h.bucketsS[i]!)]], h.cumulativeCounts[i]!, '_bucket');
    this.add(name, [...labels, ['le', '+Inf']], h.count, '_bucket');
    this.add(name, labels, h.sumS, '_sum');
    this.add(name, labels, h.count, '_count');
  }

  /** The families that have samples, in exposition order. */
  result(): MetricFamily[] {
    const out: MetricFamily[] = [];
    for (const f of this.byName.values()) if (f.samples.length > 0) out.push(f);
    return out;
  }
}

const WORKER_STATES = ['starting', 'idle', 'busy', 'stopping'] as const;

function addPool(fs: FamilySet, p: PoolExport): void {
  const pool: Label = ['pool', p.name];
  const pl: readonly Label[] = [pool];
  const st = p.status;
  if (st !== null) fs.add('dspex_pool_up', pl, st.lifecycle === 'running' ? 1 : 0);

  for (const c of p.commandTotals) {
    const errors = Math.max(0, c.errors);
    fs.add('dspex_pool_operations_total', [pool, ['command', c.command], ['result', 'ok']], Math.max(0, c.operations - errors));
    fs.add('dspex_pool_operations_total', [pool, ['command', c.command], ['result', 'error']], errors);
  }
  for (const e of p.errorTotals) fs.add('dspex_pool_errors_total', [pool, ['category', e.category], ['type', e.type]], e.count);
  const t = p.totals;
  if (t !== null) {
    fs.add('dspex_pool_checkouts_total', pl, t.checkouts);
    fs.add('dspex_pool_queue_rejections_total', pl, t.queueRejections);
    fs.add('dspex_pool_worker_crashes_total', pl, t.workerCrashes);
    fs.add('dspex_pool_worker_restarts_total', pl, t.workerRestarts);
    for (const [reason, n] of Object.entries(t.workerRecycles ?? {}).sort((a, b) => (a[0] < b[0] ? -1 : 1))) fs.add('dspex_pool_worker_recycles_total', [pool, ['reason', reason]], n);
    fs.add('dspex_pool_health_check_failures_total', pl, t.healthCheckFailures);
    fs.add('dspex_session_moves_total', pl, t.sessionMoves);
  }
  for (const { command, histogram } of p.operationHistograms) {
    fs.histogram('dspex_pool_operation_duration_seconds', [pool, ['command', command]], histogram);
  }
  if (p.queueWaitHistogram !== null) fs.histogram('dspex_pool_queue_wait_seconds', pl, p.queueWaitHistogram);
  for (const { command, histogram } of p.pythonHistograms ?? []) {
    if (histogram.count > 0) fs.histogram('dspex_pool_python_duration_seconds', [pool, ['command', command]], histogram);
  }
  for (const { command, histogram } of p.bridgeHistograms ?? []) {
    if (histogram.count > 0) fs.histogram('dspex_pool_bridge_overhead_seconds', [pool, ['command', command]], histogram);
  }

  if (st !== null) {
    const counts = { starting: 0, idle: 0, busy: 0, stopping: 0 };
    for (const w of st.workers) counts[w.state]++;
    for (const s of WORKER_STATES) fs.add('dspex_pool_workers', [pool, ['state', s]], counts[s]);
    fs.add('dspex_pool_size', pl, st.size);
    fs.add('dspex_pool_max_size', pl, st.maxSize);
    fs.add('dspex_pool_queue_depth', pl, st.queueDepth);
    fs.add('dspex_pool_queue_max', pl, st.maxQueue);
    fs.add('dspex_pool_utilization_ratio', pl, st.size > 0 ? Math.min(1, counts.busy / st.size) : 0);
    if (st.spares !== undefined) fs.add('dspex_pool_spares', pl, st.spares.ready);
    fs.add('dspex_pool_sessions', pl, st.sessions);
    fs.add('dspex_pool_uptime_seconds', pl, st.uptimeMs / 1000);
  } else if (p.gauges !== null) {
    const g = p.gauges;
    fs.add('dspex_pool_workers', [pool, ['state', 'starting']], g.starting);
    fs.add('dspex_pool_workers', [pool, ['state', 'idle']], g.idle);
    fs.add('dspex_pool_workers', [pool, ['state', 'busy']], g.busy);
    fs.add('dspex_pool_size', pl, g.size);
    fs.add('dspex_pool_queue_depth', pl, g.queueDepth);
    fs.add('dspex_pool_utilization_ratio', pl, g.utilization);
    if (g.spares !== undefined) fs.add('dspex_pool_spares', pl, g.spares);
  }

  for (const w of p.workers) {
    const wl: readonly Label[] = [pool, ['worker_id', w.workerId === OVERFLOW_WORKER_ID ? 'overflow' : String(w.workerId)]];
    fs.add('dspex_worker_operations_total', wl, w.operations);
    fs.add('dspex_worker_errors_total', wl, w.errors);
  }
  if (st !== null) {
    for (const w of st.workers) fs.add('dspex_worker_generation', [pool, ['worker_id', String(w.id)]], w.generation);
  }
}

function addResources(fs: FamilySet, r: ResourceSample): void {
  // One process per (pool, worker slot): while a replacement starts, the newer process wins.
  const newest = new Map<string, ResourceSample['python'][number]>();
  let orphans = 0;
  for (const p of r.python) {
    if (p.orphan) orphans++;
    if (p.pool === null || p.workerId === null) continue;
    const key = `${p.pool}\u0000${p.workerId}`;
    const prev = newest.get(key);
    if (prev === undefined || p.startedAtMs > prev.startedAtMs || (p.startedAtMs === prev.startedAtMs && p.pid > prev.pid)) newest.set(key, p);
  }
  const procs = [...newest.values()].sort((a, b) => (a.pool! < b.pool! ? -1 : a.pool! > b.pool! ? 1 : a.workerId! - b.workerId!));
  for (const p of procs) {
    const wl: readonly Label[] = [
      ['pool', p.pool!],
      ['worker_id', String(p.workerId)],
    ];
    fs.add('dspex_python_rss_bytes', wl, p.rssBytes);
    fs.add('dspex_python_virtual_memory_bytes', wl, p.vmsBytes);
    fs.add('dspex_python_cpu_seconds_total', wl, p.cpuSeconds);
    if (p.openFds !== null) fs.add('dspex_python_open_fds', wl, p.openFds);
    fs.add('dspex_python_threads', wl, p.threads);
  }
  fs.add('dspex_python_orphan_processes', [], orphans);

  const n = r.node;
  fs.add('dspex_node_rss_bytes', [], n.rssBytes);
  fs.add('dspex_node_heap_used_bytes', [], n.heapUsedBytes);
  fs.add('dspex_node_heap_total_bytes', [], n.heapTotalBytes);
  fs.add('dspex_node_heap_limit_bytes', [], n.heapLimitBytes);
  fs.add('dspex_node_external_bytes', [], n.externalBytes);
  const d = n.eventLoopDelayUs;
  fs.add('dspex_node_event_loop_delay_seconds', [['stat', 'p50']], d.p50 / 1e6);
  fs.add('dspex_node_event_loop_delay_seconds', [['stat', 'p99']], d.p99 / 1e6);
  fs.add('dspex_node_event_loop_delay_seconds', [['stat', 'max']], d.max / 1e6);
  fs.add('dspex_node_event_loop_delay_seconds', [['stat', 'mean']], d.mean / 1e6);
  fs.add('dspex_node_event_loop_utilization_ratio', [], n.eventLoopUtilization);
  fs.add('dspex_node_cpu_usage_cores', [], n.cpuPercent / 100);
  fs.add('dspex_node_gc_pause_seconds', [], n.gcPauseMs / 1000);
  fs.add('dspex_node_active_handles', [], n.activeHandles);
}

function addAlerts(fs: FamilySet, alerts: readonly SnapshotAlert[]): void {
  const seen = new Set<string>();
  for (const a of alerts) {
    const labels: Label[] = [
      ['alertname', a.name],
      ['alertstate', 'firing'],
      ['severity', a.severity],
      ['pool', a.pool ?? ''],
    ];
    const key = labels.map((l) => l[1]).join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    fs.add('dspex_alerts', labels, 1);
  }
}

/**
 * The metric families of an input (pure). Families without samples are left out; the order is
 * {@link FAMILY_NAMES}'. Pools should have distinct names ({@link collectPrometheusInput} ensures it).
 */
export function buildFamilies(input: PrometheusInput): MetricFamily[] {
  const fs = new FamilySet();
  for (const p of input.pools) addPool(fs, p);
  if (input.resources !== null) addResources(fs, input.resources);
  addAlerts(fs, input.alerts);
  return [...fs.result(), ...userFamilies(input.pools)];
}

/** The prefix of the families of metrics recorded by Python code (`import dspex`; issue 19). */
export const USER_FAMILY_PREFIX = 'dspex_user_';

/**
 * The families of user metrics (issue 19), after the fixed ones: `dspex_user_<name>` with the
 * series' labels after `pool`. A name a pool uses with another kind than the first pool that has
 * it, or with other label names, is left out for that pool (one family, one type, one label set).
 */
function userFamilies(pools: readonly PoolExport[]): MetricFamily[] {
  const byName = new Map<string, { family: MetricFamily; labelNames: string }>();
  for (const p of pools) {
    for (const m of p.userMetrics ?? []) {
      const name = USER_FAMILY_PREFIX + m.name;
      const labelNames = m.labelNames.join(',');
      let entry = byName.get(name);
      if (entry === undefined) {
        entry = { family: { name, help: `Recorded by Python code through dspex.${m.kind}('${m.name}').`, type: m.kind, samples: [] }, labelNames };
        byName.set(name, entry);
      } else if (entry.family.type !== m.kind || entry.labelNames !== labelNames) continue;
      const samples = entry.family.samples;
      for (const s of m.series) {
        const labels: Label[] = [['pool', p.name]];
        for (const n of m.labelNames) labels.push([n, s.labels[n] ?? '']);
        const h = s.histogram;
        if (m.kind !== 'histogram' || h === undefined) {
          samples.push({ name, labels, value: s.value });
          continue;
        }
        for (let i = 0; i < h.bucketsLe.length; i++) samples.push({ name: name + '_bucket', labels: [...labels, ['le', formatValue(h.bucketsLe[i]!)]], value: h.cumulativeCounts[i]! });
        samples.push({ name: name + '_bucket', labels: [...labels, ['le', '+Inf']], value: h.count });
        samples.push({ name: name + '_sum', labels, value: h.sum });
        samples.push({ name: name + '_count', labels, value: h.count });
      }
    }
  }
  return [...byName.values()].map((e) => e.family).filter((f) => f.samples.length > 0);
}

/** The exposition text of an input (pure): `renderExposition(buildFamilies(input))`. */
export function renderPrometheus(input: PrometheusInput): string {
  return renderExposition(buildFamilies(input));
}

// ---------------------------------------------------------------------------------------------
// Reading the live sources
// ---------------------------------------------------------------------------------------------

/**
 * Query the sources for one scrape: per pool, the collector's lifetime totals, per-command totals
 * and histograms, per-slot counts, and the pool's status; the latest resource sample; active
 * alerts. A source that throws or does not know a pool leaves that part out.
 */
export function collectPrometheusInput(sources: MonitoringSources): PrometheusInput {
  const c = sources.collector;
  const pools: PoolExport[] = [];
  for (const { name, status, known } of resolvePools(sources)) {
    if (!known) {
      pools.push({ name, status, gauges: null, totals: null, errorTotals: [], commandTotals: [], operationHistograms: [], queueWaitHistogram: null, workers: [] });
      continue;
    }
    const commandTotals = safely(() => c.getOperationTotalsByCommand(name), null) ?? [];
    const operationHistograms: { command: string; histogram: CumulativeHistogram }[] = [];
    const pythonHistograms: { command: string; histogram: CumulativeHistogram }[] = [];
    const bridgeHistograms: { command: string; histogram: CumulativeHistogram }[] = [];
    for (const ct of commandTotals) {
      const h = safely(() => c.getLatencyHistogram(name, 'operation', ct.command), null);
      if (h) operationHistograms.push({ command: ct.command, histogram: h });
      const py = safely(() => c.getLatencyHistogram(name, 'python', ct.command), null);
      if (py) pythonHistograms.push({ command: ct.command, histogram: py });
      const br = safely(() => c.getLatencyHistogram(name, 'bridge', ct.command), null);
      if (br) bridgeHistograms.push({ command: ct.command, histogram: br });
    }
    const workers: WorkerExport[] = [];
    if (status !== null) {
      // Ids beyond the collector's cap all answer for the overflow slot (m.workerId): export it once.
      const seen = new Set<number>();
      for (const w of status.workers) {
        const m = safely(() => c.getWorkerMetrics(name, w.id), null);
        if (m && !seen.has(m.workerId)) {
          seen.add(m.workerId);
          workers.push({ workerId: m.workerId, operations: m.operations, errors: m.errors });
        }
      }
    }
    pools.push({
      name,
      status,
      gauges: status === null ? (safely(() => c.getCurrentMetrics(name), null)?.gauges ?? null) : null,
      totals: safely(() => c.getTotals(name), null) ?? null,
      errorTotals: safely(() => c.getErrorTotals(name), null) ?? [],
      commandTotals,
      operationHistograms,
      queueWaitHistogram: safely(() => c.getLatencyHistogram(name, 'queue_wait'), null) ?? null,
      pythonHistograms,
      bridgeHistograms,
      userMetrics: safely(() => c.getUserMetrics?.(name), null) ?? [],
      workers,
    });
  }
  const resources = sources.resources ? safely(() => sources.resources!.getResources(), null) : null;
  const alerts = sources.alerts ? safely(() => sources.alerts!(), []) : [];
  return { pools, resources, alerts };
}

/** One scrape of the live sources as exposition text. */
export function renderMetrics(sources: MonitoringSources): string {
  return renderPrometheus(collectPrometheusInput(sources));
}
