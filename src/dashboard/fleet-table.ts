/**
 * The fleet table of the terminal dashboard (`dspex monitor --fleet`): one row per host (stale
 * hosts marked, never dropped) and a fleet-totals row, for the selected pool and window. Pure:
 * snapshot in, lines out.
 *
 * @module
 */
import type { WindowName } from '../contract/metrics.js';
import type { FleetSnapshot, PoolSnapshot } from '../contract/snapshot.js';
import { painter, visibleWidth } from './ansi.js';
import { formatAgo, formatCompact, formatPercent, formatUs } from './format.js';
import { clampLines, titleLine } from './panel.js';

/** Options of {@link renderFleetTable}. */
export interface FleetTableOptions {
  width: number;
  height?: number;
  color: boolean;
  /** The pool shown (per-host rows are that pool's on each host). */
  pool: string | null;
  window: WindowName;
  nowMs: number;
}

const COLS = [
  { head: 'host', width: 16, left: true },
  { head: 'state', width: 6, left: true },
  { head: 'seen', width: 8 },
  { head: 'size', width: 5 },
  { head: 'busy', width: 5 },
  { head: 'ops/s', width: 8 },
  { head: 'err%', width: 6 },
  { head: 'p50', width: 8 },
  { head: 'p99', width: 8 },
  { head: 'queue', width: 6 },
] as const;

function pad(text: string, width: number, left: boolean): string {
  const w = visibleWidth(text);
  if (w >= width) return text;
  return left ? text + ' '.repeat(width - w) : ' '.repeat(width - w) + text;
}

function cells(p: PoolSnapshot | undefined, window: WindowName): string[] {
  const s = p?.summary?.windows[window];
  const g = p?.current?.gauges;
  return [
    g ? formatCompact(g.size) : '-',
    g ? formatCompact(g.busy) : '-',
    s ? formatCompact(s.throughputPerS) : '-',
    s ? formatPercent(s.errorRate) : '-',
    s ? formatUs(s.latencyUs.p50) : '-',
    s ? formatUs(s.latencyUs.p99) : '-',
    g ? formatCompact(g.queueDepth) : '-',
  ];
}

/**
 * Per-host rows and the fleet's totals (the fleet row's percentiles come from merged sketches; a
 * stale host's row shows its last figures, in gray, and the fleet row leaves it out).
 */
export function renderFleetTable(fleet: FleetSnapshot, totals: PoolSnapshot | null, opts: FleetTableOptions): string[] {
  const paint = painter(opts.color);
  const stale = fleet.hosts.filter((h) => h.stale).length;
  const facts = `${fleet.hosts.length} hosts  ${paint('green', 'live')} ${fleet.hosts.length - stale}${stale > 0 ? `  ${paint('yellow', 'stale')} ${stale}` : ''}  ${paint('gray', `queue ${fleet.queue}`)}`;
  const lines = [titleLine('Fleet', facts, opts.width, paint)];
  const row = (values: string[]): string => values.map((v, i) => pad(v, COLS[i]!.width, 'left' in COLS[i]! && COLS[i].left)).join(' ');
  lines.push(paint('bold', row(COLS.map((c) => c.head))));
  for (const h of fleet.hosts) {
    const p = h.pools.find((x) => x.name === opts.pool);
    const text = row([h.host.slice(0, 16), h.stale ? 'stale' : 'live', formatAgo(h.ageMs), ...cells(p, opts.window)]);
    lines.push(h.stale ? paint('gray', text) : text);
  }
  if (fleet.hosts.length === 0) lines.push(paint('gray', '  no host has reported yet'));
  lines.push(paint('bold', row(['fleet', '', '', ...cells(totals ?? undefined, opts.window)])));
  return clampLines(lines, opts.width, opts.height);
}
