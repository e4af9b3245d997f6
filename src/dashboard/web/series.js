// @ts-check
/**
 * The data side of the web dashboard: the bounded per-second history the charts draw (columns, as
 * uPlot wants them), the worker table's rows, the latency histogram's bars and the figures of the
 * panel headers. Pure functions over plain objects (the JSON of `/api/range` and of the snapshot
 * events: `MonitoringSnapshot` in src/contract/snapshot.ts), no DOM: the page imports them and
 * test/dashboard/web-pure.test.ts runs them under Node.
 *
 * The history never holds more than the selected window's seconds (plus one): points older than
 * the newest minus the window are dropped as new ones arrive, so an open page does not grow.
 *
 * @module
 */

/** @typedef {'1m' | '5m' | '15m'} WindowName */

/** @type {Readonly<Record<WindowName, number>>} */
export const WINDOW_SECONDS = { '1m': 60, '5m': 300, '15m': 900 };

/** The error categories, in the order of src/contract/errors.ts (`errorCategories`). */
export const ERROR_CATEGORIES = /** @type {const} */ (['timeout', 'python', 'worker', 'overloaded', 'aborted', 'invalid_request', 'pool_unavailable']);

/**
 * One point of `/api/range` (RangePoint); the two added fields may be absent from older servers.
 * @typedef {{ timestampMs: number, ops: number, errors: number, throughputPerS: number, errorRate: number,
 *   latencyP50Us: number, latencyP90Us?: number, latencyP99Us: number, queueDepth: number, utilization: number,
 *   errorsByCategory?: Partial<Record<string, number>> }} RangePoint
 */

/**
 * The chart columns: `x` in seconds since the epoch; latency null where a second had no
 * operation (a gap, not a fall to zero); rates as ratios 0..1.
 * @typedef {{ x: number[], throughput: number[], p50: (number | null)[], p90: (number | null)[], p99: (number | null)[],
 *   errorRate: number[], byCategory: number[][], utilization: number[], queueDepth: number[] }} History
 */

/** @returns {History} an empty history */
export function emptyHistory() {
  return { x: [], throughput: [], p50: [], p90: [], p99: [], errorRate: [], byCategory: ERROR_CATEGORIES.map(() => []), utilization: [], queueDepth: [] };
}

/**
 * Write point `p` at index `i` of every column (`i === length` appends).
 * @param {History} h
 * @param {number} i
 * @param {RangePoint} p
 */
function writePoint(h, i, p) {
  const ops = p.ops;
  h.x[i] = Math.round(p.timestampMs / 1000);
  h.throughput[i] = p.throughputPerS;
  h.p50[i] = ops > 0 ? p.latencyP50Us : null;
  h.p90[i] = ops > 0 ? (p.latencyP90Us ?? null) : null;
  h.p99[i] = ops > 0 ? p.latencyP99Us : null;
  h.errorRate[i] = p.errorRate;
  const by = p.errorsByCategory ?? {};
  for (let c = 0; c < ERROR_CATEGORIES.length; c++) {
    const n = by[ERROR_CATEGORIES[c]] ?? 0;
    h.byCategory[c][i] = ops > 0 ? n / ops : 0;
  }
  h.utilization[i] = p.utilization;
  h.queueDepth[i] = p.queueDepth;
}

/**
 * Drop the first `n` entries of every column.
 * @param {History} h
 * @param {number} n
 */
function dropFirst(h, n) {
  if (n <= 0) return;
  h.x.splice(0, n);
  h.throughput.splice(0, n);
  h.p50.splice(0, n);
  h.p90.splice(0, n);
  h.p99.splice(0, n);
  h.errorRate.splice(0, n);
  for (const col of h.byCategory) col.splice(0, n);
  h.utilization.splice(0, n);
  h.queueDepth.splice(0, n);
}

/**
 * Merge points (oldest first, as `/api/range` and the snapshot series give them) into the history:
 * a second already held is overwritten (the server's figure for it is final once complete), a
 * newer one appended, an older one not held is skipped (history is loaded whole from
 * `/api/range`). Then everything older than the newest second minus `windowS` is dropped.
 * Returns true when anything changed.
 * @param {History} h
 * @param {readonly RangePoint[]} points
 * @param {number} windowS
 * @returns {boolean}
 */
export function mergePoints(h, points, windowS) {
  let changed = false;
  for (const p of points) {
    if (p === null || typeof p !== 'object' || !Number.isFinite(p.timestampMs)) continue;
    const t = Math.round(p.timestampMs / 1000);
    const n = h.x.length;
    if (n === 0 || t > h.x[n - 1]) {
      writePoint(h, n, p);
      changed = true;
      continue;
    }
    // Usually one of the last few seconds: search from the end.
    for (let i = n - 1; i >= 0 && h.x[i] >= t; i--) {
      if (h.x[i] === t) {
        writePoint(h, i, p);
        changed = true;
        break;
      }
    }
  }
  const n = h.x.length;
  if (n > 0) {
    const oldest = h.x[n - 1] - windowS;
    let drop = 0;
    while (drop < n && h.x[drop] < oldest) drop++;
    dropFirst(h, drop);
    if (drop > 0) changed = true;
  }
  return changed;
}

/**
 * The categories with any error in the history (the error chart shows those only).
 * @param {History} h
 * @returns {boolean[]} one flag per entry of {@link ERROR_CATEGORIES}
 */
export function categoriesSeen(h) {
  return h.byCategory.map((col) => col.some((v) => v > 0));
}

/**
 * @typedef {{ id: number, state: string, pid: number, ops: number, errors: number, p99Us: number | null,
 *   rssBytes: number | null, cpuPercent: number | null, restarts: number }} WorkerRow
 */

/**
 * The worker table of one pool: its status's workers (slot, state, pid, operations, errors,
 * restarts = generation), with the slot's p99 over the window from the metrics and the process's
 * RSS and CPU from the resource sample (matched by pid). Without a status, the metrics' slots.
 * @param {any} pool a PoolSnapshot
 * @param {any} resources a ResourceSample or null
 * @returns {WorkerRow[]}
 */
export function workerRows(pool, resources) {
  if (pool === null || typeof pool !== 'object') return [];
  /** @type {Map<number, any>} */
  const metrics = new Map();
  for (const m of Array.isArray(pool.workers) ? pool.workers : []) metrics.set(m.workerId, m);
  /** @type {Map<number, any>} */
  const procs = new Map();
  for (const p of Array.isArray(resources?.python) ? resources.python : []) procs.set(p.pid, p);
  const p99 = (/** @type {any} */ m) => (m && m.latencyUs && m.latencyUs.count > 0 ? m.latencyUs.p99 : null);
  const statusWorkers = Array.isArray(pool.status?.workers) ? pool.status.workers : null;
  if (statusWorkers !== null) {
    return statusWorkers.map((/** @type {any} */ w) => {
      const proc = w.pid > 0 ? procs.get(w.pid) : undefined;
      return {
        id: w.id,
        state: w.abandoned === true ? `${w.state} (abandoned)` : String(w.state),
        pid: w.pid,
        ops: w.operations,
        errors: w.errors,
        p99Us: p99(metrics.get(w.id)),
        rssBytes: proc ? proc.rssBytes : null,
        cpuPercent: proc && proc.cpuPercent !== null ? proc.cpuPercent : null,
        restarts: w.generation,
      };
    });
  }
  return [...metrics.values()].map((m) => {
    const proc = m.pid > 0 ? procs.get(m.pid) : undefined;
    return {
      id: m.workerId,
      state: 'unknown',
      pid: m.pid,
      ops: m.operations,
      errors: m.errors,
      p99Us: p99(m),
      rssBytes: proc ? proc.rssBytes : null,
      cpuPercent: proc && proc.cpuPercent !== null ? proc.cpuPercent : null,
      restarts: m.generation,
    };
  });
}

/** The sortable columns of the worker table. */
export const WORKER_COLUMNS = /** @type {const} */ (['id', 'state', 'pid', 'ops', 'errors', 'p99Us', 'rssBytes', 'cpuPercent', 'restarts']);

/**
 * Rows sorted by a column (nulls last either way, then by slot id), a new array.
 * @param {readonly WorkerRow[]} rows
 * @param {keyof WorkerRow} key
 * @param {'ascending' | 'descending'} direction
 * @returns {WorkerRow[]}
 */
export function sortRows(rows, key, direction) {
  const sign = direction === 'descending' ? -1 : 1;
  return [...rows].sort((a, b) => {
    const va = a[key];
    const vb = b[key];
    if (va === null && vb !== null) return 1;
    if (vb === null && va !== null) return -1;
    if (va !== null && vb !== null && va !== vb) return (va < vb ? -1 : 1) * sign;
    return a.id - b.id;
  });
}

/**
 * The latency histogram's bars from the snapshot's buckets: labels (upper bound) and counts.
 * @param {readonly { lowerUs: number, upperUs: number, count: number }[] | undefined} buckets
 * @returns {{ x: number[], counts: number[], upperUs: number[], total: number }}
 */
export function histogramBars(buckets) {
  const x = [];
  const counts = [];
  const upperUs = [];
  let total = 0;
  for (const b of Array.isArray(buckets) ? buckets : []) {
    x.push(x.length);
    counts.push(b.count);
    upperUs.push(b.upperUs);
    total += b.count;
  }
  return { x, counts, upperUs, total };
}

/**
 * The newest figures of a pool, for the panel headers (the charts' text equivalent): the last
 * complete second's throughput and latency, the window's error rate by category, the gauges.
 * @param {any} pool a PoolSnapshot
 * @param {WindowName} window
 */
export function headline(pool, window) {
  const s = pool?.current?.lastSecond ?? null;
  const w = pool?.summary?.windows?.[window] ?? null;
  const g = pool?.current?.gauges ?? null;
  const by = pool?.errors?.byCategory ?? {};
  /** @type {{ category: string, rate: number, count: number }[]} */
  const categories = [];
  for (const c of ERROR_CATEGORIES) {
    const e = by[c];
    if (e && e.count > 0) categories.push({ category: c, rate: e.rate, count: e.count });
  }
  return {
    throughputPerS: s ? s.throughputPerS : null,
    windowThroughputPerS: w ? w.throughputPerS : null,
    p50Us: s && s.ops > 0 ? s.latencyUs.p50 : null,
    p90Us: s && s.ops > 0 ? s.latencyUs.p90 : null,
    p99Us: s && s.ops > 0 ? s.latencyUs.p99 : null,
    errorRate: pool?.errors ? pool.errors.errorRate : null,
    errors: pool?.errors ? pool.errors.errors : null,
    categories,
    utilization: g ? g.utilization : null,
    queueDepth: g ? g.queueDepth : null,
    size: g ? g.size : null,
    busy: g ? g.busy : null,
    healthScore: w ? w.healthScore : null,
    lifecycle: pool?.status?.lifecycle ?? null,
  };
}
