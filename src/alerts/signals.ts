/**
 * The signals alert rules name: each a documented value with a unit and labels, read by a pure
 * function from what one evaluation gathered (the collector's per-pool query results, the pools'
 * status, the resource monitor's latest sample, the collector's degradation level).
 *
 * Pool signals are per pool (`pool` label) and, where the figure is a window's, computed over the
 * rule's window (`1m` / `5m` / `15m`); gauges (`pool.queueDepth`, `pool.size`, ...) are the values
 * now. Python signals are per worker process (`pool`, `workerId`, `pid`): a replaced process is a
 * new series, so the old one's alert resolves. Node and monitoring signals have no labels.
 *
 * @module
 */
import type { PerformanceSummary, PoolGauges, WindowName } from '../contract/metrics.js';
import type { PoolStatus } from '../contract/pool-status.js';
import type { ResourceSample } from '../contract/resources.js';
import { windowSeconds } from '../contract/metrics.js';
import type { Labels } from './labels.js';

/** Where a signal comes from. */
export type SignalSource = 'pool' | 'node' | 'python' | 'monitoring';

/** A signal's documentation. */
export interface SignalDefinition {
  unit: 'ratio' | 'perS' | 'us' | 'ms' | 'bytes' | 'bytesPerS' | 'count' | 'perMin' | 'score' | 'level';
  description: string;
  /** Labels of its series. */
  labels: readonly string[];
  source: SignalSource;
  /** True when the rule's window changes the value. */
  windowed: boolean;
}

const POOL = ['pool'] as const;
const WORKER = ['pool', 'workerId', 'pid'] as const;
const NONE = [] as const;

/** Every signal, by name: the table docs/MONITORING_GUIDE.md prints. */
export const SIGNALS = {
  'pool.errorRate': { unit: 'ratio', description: 'failed / completed operations over the window, 0..1 (0 without operations)', labels: POOL, source: 'pool', windowed: true },
  'pool.throughputPerS': { unit: 'perS', description: 'operations completed per second over the window', labels: POOL, source: 'pool', windowed: true },
  'pool.latencyP50Us': { unit: 'us', description: 'median operation latency (queue wait included) over the window', labels: POOL, source: 'pool', windowed: true },
  'pool.latencyP99Us': { unit: 'us', description: '99th percentile of operation latency (queue wait included) over the window', labels: POOL, source: 'pool', windowed: true },
  'pool.queueWaitP99Us': { unit: 'us', description: '99th percentile of the wait for a worker over the window', labels: POOL, source: 'pool', windowed: true },
  'pool.queueDepth': { unit: 'count', description: 'calls waiting for a worker now', labels: POOL, source: 'pool', windowed: false },
  'pool.queueFillRatio': { unit: 'ratio', description: 'calls waiting / maxQueue now, 0..1 (needs the pool in `pools`)', labels: POOL, source: 'pool', windowed: false },
  'pool.utilization': { unit: 'ratio', description: 'average busy / size over the window, 0..1', labels: POOL, source: 'pool', windowed: true },
  'pool.healthScore': { unit: 'score', description: 'the health score over the window, 0..100', labels: POOL, source: 'pool', windowed: true },
  'pool.workerCrashesPerMin': { unit: 'perMin', description: 'worker processes that crashed within the window, per minute of the window (3 crashes in a 5m window: 0.6)', labels: POOL, source: 'pool', windowed: true },
  'pool.size': { unit: 'count', description: 'the target number of workers now', labels: POOL, source: 'pool', windowed: false },
  'pool.minSize': { unit: 'count', description: 'the configured minimum size (needs the pool in `pools`)', labels: POOL, source: 'pool', windowed: false },
  'pool.workersBelowMinSize': { unit: 'count', description: 'minSize − serving (idle + busy) workers now, at least 0 (needs the pool in `pools`)', labels: POOL, source: 'pool', windowed: false },
  'pool.up': { unit: 'level', description: '1 while the pool is running, else 0 (needs the pool in `pools`)', labels: POOL, source: 'pool', windowed: false },
  'node.heapUsedRatio': { unit: 'ratio', description: "V8 heap used / V8's heap size limit, 0..1", labels: NONE, source: 'node', windowed: false },
  'node.eventLoopDelayP99Ms': { unit: 'ms', description: "99th percentile of the event loop's delay over the last sampling interval", labels: NONE, source: 'node', windowed: false },
  'node.rssBytes': { unit: 'bytes', description: 'resident memory of the Node process', labels: NONE, source: 'node', windowed: false },
  'python.rssBytes': { unit: 'bytes', description: 'resident memory of one worker process', labels: WORKER, source: 'python', windowed: false },
  'python.rssSlopeBytesPerS': { unit: 'bytesPerS', description: "least-squares slope of a worker's RSS over the resource monitor's trend window (absent until 3 samples)", labels: WORKER, source: 'python', windowed: false },
  'python.openFds': { unit: 'count', description: 'open file descriptors of one worker process (absent when /proc/PID/fd cannot be read)', labels: WORKER, source: 'python', windowed: false },
  'python.zombies': { unit: 'count', description: 'children of one worker in state Z (forked, never reaped)', labels: WORKER, source: 'python', windowed: false },
  'python.orphans': { unit: 'count', description: "this library's Python processes and their descendants left running without their owner", labels: NONE, source: 'python', windowed: false },
  'monitoring.degradationLevel': { unit: 'level', description: 'detail the collector shed to stay under its memory cap: 0 none, 1 per-worker, 2 per-command, 3 untracked pools', labels: NONE, source: 'monitoring', windowed: false },
} as const satisfies Record<string, SignalDefinition>;

/** A signal's name. */
export type SignalName = keyof typeof SIGNALS;

/** Every signal name, in the table's order. */
export const signalNames = Object.keys(SIGNALS) as SignalName[];

/** One series of a signal at one evaluation. */
export interface SignalValue {
  labels: Labels;
  value: number;
}

/** What one evaluation gathered of one pool (each queried once per evaluation). */
export interface PoolFacts {
  pool: string;
  /**
   * `collector.getPerformanceSummary(pool)`, or (the AlertManager with a collector that has
   * `getWindowSummary`) only the windows this evaluation's rules read: a window absent here reads
   * as missing input.
   */
  summary: PerformanceSummary | null;
  /** The pool's status when the manager was given the pool, else null. */
  status: PoolStatus | null;
  /** The collector's gauges, used when `status` is null. */
  gauges: PoolGauges | null;
}

/** Everything signals are read from at one evaluation. */
export interface SignalInputs {
  pools: readonly PoolFacts[];
  sample: ResourceSample | null;
  /** The collector's degradation level, or null when it has none. */
  degradation: number | null;
}

/**
 * Label objects, kept between evaluations so that the same series has the same (frozen) object:
 * no allocation per evaluation, and the evaluator's fingerprint cache hits. Bounded: cleared when
 * it holds more than `max` entries (label sets of replaced processes).
 */
export class LabelCache {
  private readonly byPool = new Map<string, Labels>();
  // By pid, checked against pool and worker id: no key string or closure per lookup.
  private readonly byPid = new Map<number, { pool: string; workerId: number; labels: Labels }>();
  readonly none: Labels = Object.freeze({});
  constructor(private readonly max = 4096) {}

  pool(pool: string): Labels {
    let l = this.byPool.get(pool);
    if (l === undefined) {
      if (this.byPool.size >= this.max) this.byPool.clear();
      l = Object.freeze({ pool });
      this.byPool.set(pool, l);
    }
    return l;
  }

  worker(pool: string, workerId: number, pid: number): Labels {
    const e = this.byPid.get(pid);
    if (e !== undefined && e.pool === pool && e.workerId === workerId) return e.labels;
    if (this.byPid.size >= this.max) this.byPid.clear();
    const labels: Labels = Object.freeze({ pool, workerId: String(workerId), pid: String(pid) });
    this.byPid.set(pid, { pool, workerId, labels });
    return labels;
  }
}

/**
 * The series of `signal` (for pool signals over `window`, restricted to `pool` when given),
 * appended to `out` (which is returned). Pure but for the label cache. Series whose input is
 * missing (no summary, no sample, a figure the sample could not read) are left out: an alert on a
 * series that disappears resolves.
 */
export function readSignal(signal: SignalName, window: WindowName, pool: string | undefined, inputs: SignalInputs, labels: LabelCache, out: SignalValue[] = []): SignalValue[] {
  fillSignal(signal, window, pool, inputs, labels, out, out.length);
  return out;
}

/**
 * {@link readSignal} into `out` from index 0, reusing the value objects already there and
 * truncating the rest: what the manager's per-signal slots use, so that a steady set of series
 * allocates nothing per evaluation. The objects are overwritten by the next call: read them
 * before.
 */
export function readSignalInto(signal: SignalName, window: WindowName, pool: string | undefined, inputs: SignalInputs, labels: LabelCache, out: SignalValue[]): SignalValue[] {
  const n = fillSignal(signal, window, pool, inputs, labels, out, 0);
  if (out.length !== n) out.length = n;
  return out;
}

/** Write one series at `out[n]` (reusing the object there, if any); returns n + 1. */
function put(out: SignalValue[], n: number, labels: Labels, value: number): number {
  const v = out[n];
  if (v === undefined) out.push({ labels, value });
  else {
    v.labels = labels;
    v.value = value;
  }
  return n + 1;
}

/** The series of `signal` written into `out` from index `n`; returns the index after the last. */
function fillSignal(signal: SignalName, window: WindowName, pool: string | undefined, inputs: SignalInputs, labels: LabelCache, out: SignalValue[], n: number): number {
  const def: SignalDefinition = SIGNALS[signal];
  if (def.source === 'pool') {
    for (const p of inputs.pools) {
      if (pool !== undefined && p.pool !== pool) continue;
      const v = poolValue(signal, window, p);
      if (v !== null) n = put(out, n, labels.pool(p.pool), v);
    }
    return n;
  }
  if (def.source === 'monitoring') {
    if (inputs.degradation !== null) n = put(out, n, labels.none, inputs.degradation);
    return n;
  }
  const s = inputs.sample;
  if (s === null) return n;
  if (def.source === 'node') {
    const nd = s.node;
    const v = signal === 'node.heapUsedRatio' ? (nd.heapLimitBytes > 0 ? nd.heapUsedBytes / nd.heapLimitBytes : null) : signal === 'node.eventLoopDelayP99Ms' ? nd.eventLoopDelayUs.p99 / 1000 : nd.rssBytes;
    if (v !== null) n = put(out, n, labels.none, v);
    return n;
  }
  if (signal === 'python.orphans') {
    let c = s.orphanedDescendants?.length ?? 0;
    for (const p of s.python) if (p.orphan) c++;
    return put(out, n, labels.none, c);
  }
  for (const p of s.python) {
    if (p.pool === null || p.workerId === null || p.orphan) continue;
    if (pool !== undefined && p.pool !== pool) continue;
    const v = signal === 'python.rssBytes' ? p.rssBytes : signal === 'python.rssSlopeBytesPerS' ? p.rssSlopeBytesPerS : signal === 'python.openFds' ? p.openFds : (p.zombieChildPids?.length ?? 0);
    if (v !== null) n = put(out, n, labels.worker(p.pool, p.workerId, p.pid), v);
  }
  return n;
}

/** One pool signal's value, or null when its input is missing. Pure. */
export function poolValue(signal: SignalName, window: WindowName, p: PoolFacts): number | null {
  const w = p.summary?.windows[window] ?? null;
  const st = p.status;
  switch (signal) {
    case 'pool.errorRate':
      return w && w.errorRate;
    case 'pool.throughputPerS':
      return w && w.throughputPerS;
    case 'pool.latencyP50Us':
      return w && w.latencyUs.p50;
    case 'pool.latencyP99Us':
      return w && w.latencyUs.p99;
    case 'pool.queueWaitP99Us':
      return w && w.queueWaitUs.p99;
    case 'pool.utilization':
      return w && w.utilization;
    case 'pool.healthScore':
      return w && w.healthScore;
    case 'pool.workerCrashesPerMin':
      // Per minute of the window's length (not of the seconds covered): right after start, 3
      // crashes in 20 s of a 5m window count as 0.6/min, as they will once the window is full.
      return w && (w.workerCrashes ?? 0) / (windowSeconds[window] / 60);
    case 'pool.queueDepth':
      return st ? st.queueDepth : (p.gauges?.queueDepth ?? null);
    case 'pool.size':
      return st ? st.size : (p.gauges?.size ?? null);
    case 'pool.queueFillRatio':
      return st && st.maxQueue > 0 && Number.isFinite(st.maxQueue) ? st.queueDepth / st.maxQueue : null;
    case 'pool.minSize':
      return st && st.minSize;
    case 'pool.workersBelowMinSize':
      return st && Math.max(0, st.minSize - st.idle - st.busy);
    case 'pool.up':
      return st && (st.lifecycle === 'running' ? 1 : 0);
    default:
      return null;
  }
}
