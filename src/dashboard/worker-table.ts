/**
 * The worker panel (pure): one row per worker slot — id, pid, state, operations, errors, p99,
 * RSS, CPU% and restarts — sorted by a chosen column, split into side-by-side columns when the
 * panel is wide enough, with a `+N more` line when the slots do not fit. A pool with warm spares
 * shows them in the title (`spares ready/target`).
 *
 * @module
 */
import type { WorkerMetrics } from '../contract/metrics.js';
import type { PoolStatus, SpareStatus, WorkerState } from '../contract/pool-status.js';
import type { PythonProcessResources } from '../contract/resources.js';
import { codePointWidth, painter, sanitizeText, trimEndVisible, visibleWidth, type ColorName, type Paint } from './ansi.js';
import { formatBytes, formatCompact, formatUs } from './format.js';
import { clampLines, hstack, titleLine } from './panel.js';
import type { RenderOptions } from './types.js';

/** The worker-table sort keys (`s` cycles through them in this order). */
export type WorkerSort = 'id' | 'ops' | 'p99' | 'rss' | 'cpu';

/** All sort keys, in cycling order. */
export const workerSorts: readonly WorkerSort[] = ['id', 'ops', 'p99', 'rss', 'cpu'];

/** One worker slot: its status joined with its metrics and its Python process' resources. */
export interface WorkerRow {
  id: number;
  /** 0 while spawning. */
  pid: number;
  /** Null when only metrics are known (no pool status). */
  state: WorkerState | null;
  operations: number;
  errors: number;
  /** Restarts of the slot. */
  generation: number;
  /** Last minute's p99, or null when the slot served nothing yet. */
  p99Us: number | null;
  rssBytes: number | null;
  cpuPercent: number | null;
  /** The /proc state letter of the Python process (Z, D, ... worth showing), or null. */
  procState: string | null;
}

/**
 * Join the three sources by slot and pid (pure): pool status (authoritative for which slots exist),
 * worker metrics (p99, by `workerId`) and resource samples (RSS, CPU, by `pid`). Without a status,
 * rows come from the metrics alone.
 */
export function joinWorkerRows(
  status: PoolStatus | null,
  metrics: readonly WorkerMetrics[],
  python: readonly PythonProcessResources[],
): WorkerRow[] {
  const bySlot = new Map<number, WorkerMetrics>();
  for (const m of metrics) bySlot.set(m.workerId, m);
  const byPid = new Map<number, PythonProcessResources>();
  for (const p of python) byPid.set(p.pid, p);
  const rows: WorkerRow[] = [];
  const push = (id: number, pid: number, state: WorkerState | null, operations: number, errors: number, generation: number): void => {
    const m = bySlot.get(id);
    const p = pid > 0 ? byPid.get(pid) : undefined;
    rows.push({
      id,
      pid,
      state,
      operations,
      errors,
      generation,
      p99Us: m && m.latencyUs.count > 0 ? m.latencyUs.p99 : null,
      rssBytes: p ? p.rssBytes : null,
      cpuPercent: p ? p.cpuPercent : null,
      procState: p ? p.state : null,
    });
  };
  if (status) for (const w of status.workers) push(w.id, w.pid, w.state, w.operations, w.errors, w.generation);
  else for (const m of metrics) push(m.workerId, m.pid, null, m.operations, m.errors, m.generation);
  return rows;
}

const sortValue: Record<WorkerSort, (r: WorkerRow) => number> = {
  id: (r) => r.id,
  ops: (r) => r.operations,
  p99: (r) => r.p99Us ?? -1,
  rss: (r) => r.rssBytes ?? -1,
  cpu: (r) => r.cpuPercent ?? -1,
};

/** Sort rows (pure, stable): `id` ascending, every other key descending (worst first), ties by id. */
export function sortWorkerRows(rows: readonly WorkerRow[], sort: WorkerSort): WorkerRow[] {
  const key = sortValue[sort];
  const dir = sort === 'id' ? 1 : -1;
  return [...rows].sort((a, b) => (key(a) - key(b)) * dir || a.id - b.id);
}

interface Column {
  head: string;
  width: number;
  sort?: WorkerSort;
  cell: (r: WorkerRow, paint: Paint) => string;
  left?: boolean;
}

const stateColor: Record<WorkerState, ColorName> = { busy: 'green', idle: 'gray', starting: 'yellow', stopping: 'magenta' };

function stateCell(r: WorkerRow, paint: Paint): string {
  if (r.procState === 'Z' || r.procState === 'D' || r.procState === 'T') return paint('red', `${sanitizeText(r.state ?? '?')}/${r.procState}`);
  if (r.state === null) return paint('gray', '—');
  // A state this version does not know (a newer or hostile producer) is shown uncolored.
  return paint(stateColor[r.state] ?? 'gray', sanitizeText(r.state));
}

const columns: Column[] = [
  { head: 'id', width: 3, sort: 'id', cell: (r) => String(r.id) },
  { head: 'pid', width: 7, cell: (r) => (r.pid > 0 ? String(r.pid) : '—') },
  { head: 'state', width: 8, left: true, cell: stateCell },
  { head: 'ops', width: 6, sort: 'ops', cell: (r) => formatCompact(r.operations) },
  { head: 'err', width: 5, cell: (r, p) => (r.errors > 0 ? p('red', formatCompact(r.errors)) : '0') },
  { head: 'p99', width: 6, sort: 'p99', cell: (r) => (r.p99Us === null ? '—' : formatUs(r.p99Us)) },
  { head: 'rss', width: 6, sort: 'rss', cell: (r) => (r.rssBytes === null ? '—' : formatBytes(r.rssBytes)) },
  { head: 'cpu%', width: 5, sort: 'cpu', cell: (r, p) => (r.cpuPercent === null ? '—' : r.cpuPercent >= 90 ? p('yellow', r.cpuPercent.toFixed(0)) : r.cpuPercent.toFixed(0)) },
  { head: 'rst', width: 3, cell: (r, p) => (r.generation > 0 ? p('yellow', String(r.generation)) : '0') },
];

/** Width of one table column-group (all columns and their gaps). */
const workerTableRowWidth = columns.reduce((s, c) => s + c.width, 0) + columns.length - 1;

function pad(text: string, visible: number, width: number, left: boolean): string {
  const fill = Math.max(0, width - visible);
  return left ? text + ' '.repeat(fill) : ' '.repeat(fill) + text;
}

/** Options of {@link renderWorkerTable}. */
export interface WorkerTableOptions extends RenderOptions {
  sort: WorkerSort;
  /** The pool's warm spares (`status().spares`), or null / absent: none shown. */
  spares?: Pick<SpareStatus, 'ready' | 'target'> | null;
}

/** `spares 1/2` for the title (yellow while some are missing), or null without spares. */
function sparesFact(spares: WorkerTableOptions['spares'], paint: Paint): string | null {
  // From a snapshot: possibly a remote (older, or hostile) producer's; only finite counts are shown.
  const ready = spares?.ready;
  const target = spares?.target;
  if (typeof ready !== 'number' || typeof target !== 'number' || !Number.isFinite(ready) || !Number.isFinite(target) || target <= 0) return null;
  return `${paint(ready < target ? 'yellow' : 'cyan', 'spares')} ${formatCompact(ready)}/${formatCompact(target)}`;
}

/**
 * The worker table: a title line (count by state, sort key), a header (sorted column marked `▼`,
 * or `▲` for id) and rows. With `height` (default: all rows) and room for several column groups
 * (`width` ≥ 2 × {@link workerTableRowWidth} + 3), the rows flow into side-by-side groups; what
 * still does not fit is summarised as `+N more (sorted by …)`.
 */
export function renderWorkerTable(rows: readonly WorkerRow[], opts: WorkerTableOptions): string[] {
  const paint = painter(opts.color);
  const sorted = sortWorkerRows(rows, opts.sort);
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.state ?? 'unknown'] = (counts[r.state ?? 'unknown'] ?? 0) + 1;
  const spares = sparesFact(opts.spares, paint);
  const facts = [
    `${rows.length}`,
    ...(['busy', 'idle', 'starting', 'stopping'] as const).filter((s) => counts[s]).map((s) => `${paint(stateColor[s], s)} ${counts[s]}`),
    ...(spares === null ? [] : [spares]),
  ]
    .join('  ')
    .concat(`  ${paint('gray', `sort ${opts.sort}`)}`);
  const title = titleLine('Workers', facts, opts.width, paint);
  const height = opts.height ?? sorted.length + 2;
  if (height <= 1) return clampLines([title], opts.width, height);
  if (rows.length === 0) return clampLines([title, paint('gray', '  no workers')], opts.width, height);

  const groupW = workerTableRowWidth;
  const gap = 3;
  const groups = Math.max(1, Math.floor((opts.width + gap) / (groupW + gap)));
  const perGroup = Math.max(0, height - 2);
  let capacity = perGroup * groups;
  let overflow = 0;
  if (sorted.length > capacity) {
    capacity = Math.max(0, capacity - 1); // last slot becomes the `+N more` line
    overflow = sorted.length - capacity;
  }
  const shown = sorted.slice(0, capacity);
  const usedGroups = Math.max(1, Math.min(groups, Math.ceil((shown.length + (overflow > 0 ? 1 : 0)) / Math.max(1, perGroup))));
  const header = columns
    .map((c) => {
      const mark = c.sort === opts.sort ? (c.sort === 'id' ? '▲' : '▼') : '';
      const text = c.head + mark;
      return pad(text, text.length, c.width, c.left ?? false);
    })
    .join(' ');
  const blocks: { lines: string[]; width: number }[] = [];
  for (let g = 0; g < usedGroups; g++) {
    const lines = [paint('bold', header)];
    for (const r of shown.slice(g * perGroup, (g + 1) * perGroup)) {
      lines.push(
        columns
          .map((c) => {
            const cell = c.cell(r, paint);
            return pad(cell, visibleWidth(cell), c.width, c.left ?? false);
          })
          .join(' '),
      );
    }
    blocks.push({ lines, width: groupW });
  }
  const body = hstack(blocks, perGroup + 1, gap);
  if (overflow > 0) {
    const more = paint('gray', `+${overflow} more (sorted by ${opts.sort}; s to change)`);
    const lastGroup = usedGroups - 1;
    const lastRows = shown.length - lastGroup * perGroup;
    const lineIdx = 1 + Math.min(perGroup - 1, lastRows);
    const prefix = lastGroup * (groupW + gap);
    const existing = body[lineIdx] ?? '';
    body[lineIdx] = lastGroup === 0 ? more : `${sliceStart(existing, prefix)}${more}`;
  }
  return clampLines([title, ...body.map(trimEndVisible)], opts.width, height);
}

// Keep the first `n` columns of a line (used to append into the last column group); a wide
// character that would straddle column `n` is left out and the gap padded.
function sliceStart(line: string, n: number): string {
  let out = '';
  let seen = 0;
  let i = 0;
  while (i < line.length && seen < n) {
    if (line.charCodeAt(i) === 0x1b) {
      const end = line.indexOf('m', i);
      if (end < 0) break;
      out += line.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    const cp = line.codePointAt(i) ?? 0;
    const ch = String.fromCodePoint(cp);
    const w = codePointWidth(cp);
    if (seen + w > n) break;
    out += ch;
    i += ch.length;
    seen += w;
  }
  return out.padEnd(out.length + (n - seen));
}
