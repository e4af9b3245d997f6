/**
 * The frame composer (pure): lays the panels out for a terminal size and returns exactly `rows`
 * lines, none wider than `columns` visible characters (a frame taller than the terminal scrolls
 * and flickers: ink #935).
 *
 * Layouts:
 * - under 80×24: one line, `terminal too small (need 80x24)`;
 * - 80..159 columns: header; throughput | latency; errors | resources; workers; alerts |
 *   recommendations; footer. Rows beyond 24 go mostly to the charts and the worker table; lines
 *   a small pool's table does not need go to the charts;
 * - 160+ columns: header; throughput | latency | errors; workers (in several column groups when
 *   wide enough) | resources, alerts, recommendations stacked; footer;
 * - active alerts, in both layouts, move right under the header, full width (up to a quarter of
 *   the body), most severe first.
 *
 * @module
 */
import type { MonitoringSnapshot, PoolSnapshot } from '../contract/snapshot.js';
import { windowSeconds } from '../contract/metrics.js';
import { painter, sanitizeText, trimEndVisible, truncateVisible } from './ansi.js';
import { renderErrorTrends } from './error-trends.js';
import { renderLatencyHistogram } from './latency-histogram.js';
import { fitBlock, hstack } from './panel.js';
import { renderAlerts, renderFooter, renderHeader, renderHelp, renderRecommendations } from './panels.js';
import { renderStackPanel, type StackView } from './stack-panel.js';
import { renderResourceGauges } from './resource-gauges.js';
import { sanitizeSnapshot } from './sanitize.js';
import { renderThroughputChart } from './throughput-chart.js';
import type { ViewState } from './view-state.js';
import { joinWorkerRows, renderWorkerTable } from './worker-table.js';
import { renderFleetTable } from './fleet-table.js';

/** Smallest terminal the dashboard draws in. */
export const MIN_COLUMNS = 80;
/** Smallest terminal the dashboard draws in. */
export const MIN_ROWS = 24;
/** From this width on, the three-column layout. */
export const WIDE_COLUMNS = 160;

/** A terminal size. */
export interface TerminalSize {
  columns: number;
  rows: number;
}

/** State outside the snapshot and the view that a frame shows. */
export interface FrameExtras {
  /** The last snapshot request's failure (shown in the header), or null. */
  error?: string | null;
  /** What the stack overlay (`d`, view.stackWorker) shows: see {@link StackView}. */
  stack?: StackView | null;
}

/** The pool a view shows: `poolIndex` modulo the number of pools, or null when there is none. */
export function selectPool(snapshot: MonitoringSnapshot, view: ViewState): PoolSnapshot | null {
  const n = snapshot.pools.length;
  if (n === 0) return null;
  return snapshot.pools[((view.poolIndex % n) + n) % n] ?? null;
}

/**
 * Compose one frame. Always exactly `size.rows` lines (none for `rows` ≤ 0), each at most
 * `size.columns` terminal columns; with `color` false, no escape sequence at all, with `color`
 * true only SGR colors. Every string of the snapshot and the error text is sanitized first
 * ({@link sanitizeSnapshot}): a producer's text never reaches the terminal as control characters.
 */
export function renderFrame(rawSnapshot: MonitoringSnapshot, view: ViewState, size: TerminalSize, color: boolean, extras: FrameExtras = {}): string[] {
  const cols = Math.max(0, Math.floor(size.columns));
  const rows = Math.max(0, Math.floor(size.rows));
  if (rows === 0) return [];
  if (cols < MIN_COLUMNS || rows < MIN_ROWS) {
    const msg = painter(color)('yellow', `terminal too small (need ${MIN_COLUMNS}x${MIN_ROWS}, have ${cols}x${rows})`);
    const out = new Array<string>(rows).fill('');
    out[0] = truncateVisible(msg, cols);
    return out;
  }
  const snapshot = sanitizeSnapshot(rawSnapshot);
  const pool = selectPool(snapshot, view);
  const header = renderHeader(
    {
      pool,
      poolIndex: view.poolIndex,
      poolCount: snapshot.pools.length,
      window: view.window,
      snapshotWindow: snapshot.window,
      timestampMs: snapshot.timestampMs,
      paused: view.paused,
      refreshMs: view.refreshMs,
      error: extras.error == null ? null : sanitizeText(extras.error),
    },
    { width: cols, color },
  );
  const footer = renderFooter(view, { width: cols, color });
  const bodyH = rows - header.length - 1;
  const body = view.help
    ? fitBlock(renderHelp(view, { width: cols, height: bodyH, color }), cols, bodyH)
    : view.stackWorker != null
      ? fitBlock(renderStackPanel(extras.stack ?? null, { width: cols, height: bodyH, color }), cols, bodyH)
      : renderBody(snapshot, pool, view, cols, bodyH, color);
  const lines = [...header, ...body, footer];
  const out = new Array<string>(rows);
  for (let i = 0; i < rows; i++) out[i] = trimEndVisible(truncateVisible(lines[i] ?? '', cols));
  return out;
}

function renderBody(snapshot: MonitoringSnapshot, pool: PoolSnapshot | null, view: ViewState, cols: number, bodyH: number, color: boolean): string[] {
  const series = pool?.series ?? [];
  const spanMs = windowSeconds[snapshot.window] * 1000;
  const endMs = snapshot.timestampMs;
  const win = pool?.summary?.windows[snapshot.window];
  const marks = { p50Us: win?.latencyUs.p50 ?? 0, p99Us: win?.latencyUs.p99 ?? 0 };
  const workerRows = joinWorkerRows(pool?.status ?? null, pool?.workers ?? [], snapshot.resources?.python ?? []);
  const spares = pool?.status?.spares ?? null;
  const gauges = pool?.current?.gauges ?? null;
  const gaugeOpts = { color, maxQueue: pool?.status?.maxQueue ?? null, pool: pool?.name ?? null };
  const { alerts, recommendations: recs } = snapshot;
  const tuning = snapshot.tuning ?? [];
  // The newest tuner step takes a line under the recommendations when there is one.
  const tunerRow = tuning.length > 0 ? 1 : 0;
  const nowMs = snapshot.timestampMs;
  const gap = 1;
  const cap = Math.max(2, Math.floor(bodyH / 4));
  // A fleet snapshot (dspex monitor --fleet) shows its hosts where a local one shows its workers.
  const fleet = snapshot.fleet;
  const lowerTable = (width: number, height: number): string[] =>
    fleet !== undefined
      ? renderFleetTable(fleet, pool, { width, height, color, pool: pool?.name ?? null, window: snapshot.window, nowMs })
      : renderWorkerTable(workerRows, { width, height, color, sort: view.sort, spares });
  // Active alerts go right under the header, full width: the first thing on-call reads.
  const alertsH = alerts.length > 0 ? Math.min(alerts.length + 1, cap) : 0;
  const top = alertsH > 0 ? fitBlock(renderAlerts(alerts, { width: cols, height: alertsH, color, nowMs }), cols, alertsH) : [];

  if (cols >= WIDE_COLUMNS) {
    const h = bodyH - top.length;
    // The lower row needs room for the worker table (and the gauges beside it); every line it
    // does not need goes to the charts, which read better tall.
    const lowerNeed = Math.max((fleet !== undefined ? fleet.hosts.length + 1 : workerRows.length) + 2, 8 + 1 + Math.max(2, recs.length + 1 + tunerRow));
    const b = Math.max(Math.min(h - 8, lowerNeed), Math.min(10, h - 8));
    const a = h - b;
    const w1 = Math.floor((cols - 2 * gap) / 3);
    const w2 = w1;
    const w3 = cols - 2 * gap - w1 - w2;
    const rowA = hstack(
      [
        { lines: renderThroughputChart(series, { width: w1, height: a, color, endMs, spanMs }), width: w1 },
        { lines: renderLatencyHistogram(pool?.latency ?? [], marks, { width: w2, height: a, color }), width: w2 },
        { lines: renderErrorTrends(series, pool?.errors ?? null, { width: w3, height: a, color, endMs, spanMs }), width: w3 },
      ],
      a,
      gap,
    );
    const rightW = Math.max(56, Math.floor(cols / 3));
    const leftW = cols - gap - rightW;
    const gaugeH = Math.min(b, 8);
    const noAlertsH = alerts.length === 0 && b > gaugeH ? 1 : 0;
    const recsH = Math.max(0, b - gaugeH - noAlertsH);
    const right = [
      ...fitBlock(renderResourceGauges(snapshot.resources, gauges, { ...gaugeOpts, width: rightW, height: gaugeH }), rightW, gaugeH),
      ...(noAlertsH ? fitBlock(renderAlerts([], { width: rightW, color, nowMs }), rightW, 1) : []),
      ...(recsH > 0 ? fitBlock(renderRecommendations(recs, { width: rightW, height: recsH, color, tuning, nowMs }), rightW, recsH) : []),
    ];
    const rowB = hstack(
      [
        { lines: lowerTable(leftW, b), width: leftW },
        { lines: right, width: rightW },
      ],
      b,
      gap,
    );
    return [...top, ...rowA, ...rowB];
  }

  const leftW = Math.floor((cols - gap) / 2);
  const rightW = cols - gap - leftW;
  let bottom: string[];
  if (recs.length === 0) {
    const h = 1 + tunerRow;
    bottom =
      alerts.length === 0
        ? hstack(
            [
              { lines: renderAlerts([], { width: leftW, color, nowMs }), width: leftW },
              { lines: renderRecommendations([], { width: rightW, height: h, color, tuning, nowMs }), width: rightW },
            ],
            h,
            gap,
          )
        : fitBlock(renderRecommendations([], { width: cols, height: h, color, tuning, nowMs }), cols, h);
  } else {
    const noAlerts = alerts.length === 0 ? fitBlock(renderAlerts([], { width: cols, color, nowMs }), cols, 1) : [];
    const recsH = Math.max(1, Math.min(recs.length + 1 + tunerRow, cap - noAlerts.length - (alertsH > 0 ? 1 : 0)));
    bottom = [...noAlerts, ...fitBlock(renderRecommendations(recs, { width: cols, height: recsH, color, tuning, nowMs }), cols, recsH)];
  }
  const r = bodyH - top.length - bottom.length;
  let a = Math.max(7, Math.round(r * 0.36));
  let b = Math.max(6, Math.round(r * 0.25));
  let c = r - a - b;
  while (c < 5 && (a > 6 || b > 6)) {
    if (a >= b && a > 6) a--;
    else b--;
    c = r - a - b;
  }
  // Few workers: their unused lines go to the charts.
  const wantedC = Math.max(3, (fleet !== undefined ? fleet.hosts.length + 1 : workerRows.length) + 2);
  if (c > wantedC) {
    a += c - wantedC;
    c = wantedC;
  }
  c = Math.max(0, c);
  const rowA = hstack(
    [
      { lines: renderThroughputChart(series, { width: leftW, height: a, color, endMs, spanMs }), width: leftW },
      { lines: renderLatencyHistogram(pool?.latency ?? [], marks, { width: rightW, height: a, color }), width: rightW },
    ],
    a,
    gap,
  );
  const rowB = hstack(
    [
      { lines: renderErrorTrends(series, pool?.errors ?? null, { width: leftW, height: b, color, endMs, spanMs }), width: leftW },
      { lines: renderResourceGauges(snapshot.resources, gauges, { ...gaugeOpts, width: rightW, height: b }), width: rightW },
    ],
    b,
    gap,
  );
  const rowC = c > 0 ? fitBlock(lowerTable(cols, c), cols, c) : [];
  return [...top, ...rowA, ...rowB, ...rowC, ...bottom];
}
