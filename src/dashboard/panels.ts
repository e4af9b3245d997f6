/**
 * The small panels (pure): header, footer, alerts, recommendations and the help overlay.
 *
 * @module
 */
import type { PoolSnapshot, SnapshotAlert, SnapshotRecommendation } from '../contract/snapshot.js';
import type { WindowName } from '../contract/metrics.js';
import { painter, sanitizeText as safe, visibleWidth, type ColorName } from './ansi.js';
import { errorRateThresholds } from './error-trends.js';
import { formatAgo, formatClock, formatCompact, formatPercent, formatTuningStep, formatUptime, formatUs, type TuningStepLike } from './format.js';
import { clampLines, titleLine } from './panel.js';
import { gaugeThresholds } from './resource-gauges.js';
import { formatTimingSplit } from './timing-split.js';
import type { RenderOptions } from './types.js';
import type { ViewState } from './view-state.js';

/** Health score at or above which the header shows it green (`good`) or yellow (`fair`); red below. */
export const healthThresholds = { good: 80, fair: 50 } as const;

/** What the header shows besides the pool. */
export interface HeaderInfo {
  /** The shown pool, or null when there is none yet. */
  pool: PoolSnapshot | null;
  poolIndex: number;
  poolCount: number;
  /** The window the user asked for. */
  window: WindowName;
  /** The window the snapshot covers (differs briefly after a window key). */
  snapshotWindow: WindowName;
  timestampMs: number;
  paused: boolean;
  refreshMs: number;
  /** The last snapshot request's failure, shown in red. */
  error?: string | null;
}

function healthColor(score: number): ColorName {
  return score >= healthThresholds.good ? 'green' : score >= healthThresholds.fair ? 'yellow' : 'red';
}

function joinFit(parts: readonly string[], width: number, sep = '  '): string {
  let out = '';
  for (const p of parts) {
    if (!p) continue;
    const cand = out ? `${out}${sep}${p}` : p;
    if (visibleWidth(cand) > width) break;
    out = cand;
  }
  return out;
}

/** Format a refresh interval: `250ms`, `1s`, `2.5s`. */
function formatRefresh(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Number((ms / 1000).toFixed(1))}s`;
}

/**
 * The two header lines: identity (pool, lifecycle, window, clock, refresh, `PAUSED`, source error)
 * and the headline figures of the window (throughput, p50 / p99, error rate, health, uptime,
 * workers busy, queue). Facts that do not fit are dropped from the right.
 */
export function renderHeader(info: HeaderInfo, opts: RenderOptions): string[] {
  const paint = painter(opts.color);
  const pool = info.pool;
  const life = pool?.status?.lifecycle;
  const lifeColor: ColorName = life === 'running' ? 'green' : life === 'starting' ? 'yellow' : 'red';
  const left = [
    paint('bold', 'dspex'),
    pool ? `${paint('gray', 'pool')} ${paint('bold', safe(pool.name))}${info.poolCount > 1 ? paint('gray', ` (${(info.poolIndex % info.poolCount) + 1}/${info.poolCount}, tab)`) : ''}` : paint('gray', 'no pool yet'),
    life ? paint(lifeColor, safe(life)) : '',
    `${paint('gray', 'window')} ${paint('bold', info.window)}${info.window !== info.snapshotWindow ? paint('gray', ' (loading)') : ''}`,
    paint('gray', formatClock(info.timestampMs)),
    `${paint('gray', 'every')} ${formatRefresh(info.refreshMs)}`,
  ];
  const right: string[] = [];
  if (info.error) right.push(paint('red', `source error: ${safe(info.error)}`));
  if (info.paused) right.push(paint('inverse', ' PAUSED '));
  const rightText = right.join(' ');
  const leftText = joinFit(left, Math.max(0, opts.width - visibleWidth(rightText) - 1));
  const gap = opts.width - visibleWidth(leftText) - visibleWidth(rightText);
  const line1 = gap >= 1 ? `${leftText}${' '.repeat(gap)}${rightText}` : `${leftText} ${rightText}`;

  const w = pool?.summary?.windows[info.snapshotWindow] ?? null;
  const cur = pool?.current ?? null;
  const status = pool?.status ?? null;
  const facts: string[] = [];
  if (w) {
    const errColor: ColorName = w.errorRate >= errorRateThresholds.critical ? 'red' : w.errorRate >= errorRateThresholds.warn ? 'yellow' : 'green';
    facts.push(`${paint('gray', 'thr')} ${paint('bold', formatCompact(w.throughputPerS))}/s`);
    if (cur) facts.push(`${paint('gray', 'now')} ${formatCompact(cur.lastSecond.throughputPerS)}/s`);
    const none = w.latencyUs.count === 0;
    facts.push(`${paint('gray', 'p50')} ${none ? '—' : formatUs(w.latencyUs.p50)}`);
    facts.push(`${paint('gray', 'p99')} ${none ? '—' : paint('bold', formatUs(w.latencyUs.p99))}`);
    facts.push(`${paint('gray', 'err')} ${paint(errColor, formatPercent(w.errorRate))}`);
    facts.push(`${paint('gray', 'health')} ${paint(healthColor(w.healthScore), String(Math.round(w.healthScore)))}`);
  } else {
    facts.push(paint('gray', pool ? 'no summary yet' : 'waiting for data'));
  }
  if (status) facts.push(`${paint('gray', 'up')} ${formatUptime(status.uptimeMs)}`);
  const g = cur?.gauges ?? null;
  if (g) {
    facts.push(`${paint('gray', 'busy')} ${g.busy}/${g.size}`);
    const qColor: ColorName = g.queueDepth / Math.max(1, g.size) >= gaugeThresholds.queuePerWorker.critical ? 'red' : g.queueDepth > 0 ? 'yellow' : 'green';
    facts.push(`${paint('gray', 'queue')} ${paint(qColor, String(g.queueDepth))}`);
  }
  if (cur && cur.totals.workerCrashes > 0) facts.push(paint('red', `crashes ${cur.totals.workerCrashes}`));
  // Where the time goes (issue 19): last, so narrow terminals drop it before the headline figures.
  facts.push(formatTimingSplit(w, opts.color));
  return clampLines([line1, joinFit(facts, opts.width)], opts.width);
}

/** The footer: the keys, and the current refresh and sort. */
export function renderFooter(view: ViewState, opts: RenderOptions): string {
  const paint = painter(opts.color);
  const k = (key: string, what: string): string => `${paint('bold', key)} ${paint('gray', what)}`;
  const parts = [
    k('q', 'quit'),
    k('p', view.paused ? 'resume' : 'pause'),
    k('+/-', `refresh ${formatRefresh(view.refreshMs)}`),
    k('1/5/f', `window ${view.window}`),
    k('s', `sort ${view.sort}`),
    k('h', 'help'),
    k('tab', 'pool'),
    k('d', 'stack'),
  ];
  return joinFit(parts, opts.width, '  ');
}

/** Options of the alert panel. */
export interface AlertPanelOptions extends RenderOptions {
  /** Now, to show how long an alert has been firing. */
  nowMs: number;
}

const severityColor: Record<SnapshotAlert['severity'], ColorName> = { critical: 'red', warning: 'yellow', info: 'cyan' };
const severityRank: Record<SnapshotAlert['severity'], number> = { critical: 0, warning: 1, info: 2 };

/**
 * Active alerts, most severe first: `CRIT name  message  (pool, -2m)`. With none, a single title
 * line saying `none`. `height` caps the lines (`+N more` when cut).
 */
export function renderAlerts(alerts: readonly SnapshotAlert[], opts: AlertPanelOptions): string[] {
  const paint = painter(opts.color);
  if (alerts.length === 0) return clampLines([titleLine('Alerts', paint('green', 'none'), opts.width, paint)], opts.width);
  const sorted = [...alerts].sort((a, b) => severityRank[a.severity] - severityRank[b.severity] || a.sinceMs - b.sinceMs);
  const crit = alerts.filter((a) => a.severity === 'critical').length;
  const lines = [titleLine('Alerts', paint(crit > 0 ? 'red' : 'yellow', `${alerts.length} active${crit > 0 ? `, ${crit} critical` : ''}`), opts.width, paint)];
  const room = (opts.height ?? sorted.length + 1) - 1;
  const shown = sorted.length > room ? Math.max(0, room - 1) : sorted.length;
  for (const a of sorted.slice(0, shown)) {
    const tag = a.severity === 'critical' ? 'CRIT' : a.severity === 'warning' ? 'WARN' : 'INFO';
    const where = [a.pool === null ? null : safe(a.pool), formatAgo(Math.max(0, opts.nowMs - a.sinceMs))].filter(Boolean).join(', ');
    lines.push(`${paint(severityColor[a.severity], tag)} ${paint('bold', safe(a.name))}  ${safe(a.message)}  ${paint('gray', `(${where})`)}`);
  }
  if (shown < sorted.length && room > 0) lines.push(paint('gray', `+${sorted.length - shown} more`));
  return clampLines(lines, opts.width, opts.height);
}

/**
 * Top recommendations by score: `▸ title — detail`. With none, a single title line saying `none`.
 * With `tuning` (the auto-tuners' steps, newest first) and a line to spare below the
 * recommendations, the newest step: `tuner  pool: size 2 → 4 kept (-2m)`.
 */
export function renderRecommendations(recs: readonly SnapshotRecommendation[], opts: RenderOptions & { tuning?: readonly TuningStepLike[]; nowMs?: number }): string[] {
  const paint = painter(opts.color);
  const step = opts.tuning?.[0];
  const tunerLine = step === undefined ? null : `${paint('gray', 'tuner')}  ${safe(formatTuningStep(step, opts.nowMs ?? Date.now()))}`;
  if (recs.length === 0) {
    const lines = [titleLine('Recommendations', paint('gray', 'none'), opts.width, paint)];
    if (tunerLine !== null && (opts.height ?? 2) >= 2) lines.push(tunerLine);
    return clampLines(lines, opts.width, opts.height);
  }
  const sorted = [...recs].sort((a, b) => b.score - a.score);
  const lines = [titleLine('Recommendations', paint('gray', `${recs.length}`), opts.width, paint)];
  const room = (opts.height ?? sorted.length + 1 + (tunerLine === null ? 0 : 1)) - 1;
  // The tuner's line takes the last row only when every recommendation is shown and one is left.
  const withTuner = tunerLine !== null && room > sorted.length;
  for (const r of sorted.slice(0, Math.max(0, room))) {
    const color: ColorName = r.score >= 0.7 ? 'yellow' : 'cyan';
    lines.push(`${paint(color, '▸')} ${paint('bold', safe(r.title))} ${paint('gray', '—')} ${safe(r.detail)}`);
  }
  if (withTuner) lines.push(tunerLine);
  return clampLines(lines, opts.width, opts.height);
}

/** The help overlay's text (keys, windows, colors). */
export function renderHelp(view: ViewState, opts: RenderOptions): string[] {
  const paint = painter(opts.color);
  const t = gaugeThresholds;
  const rows: [string, string][] = [
    ['q, Ctrl-C', 'quit (the terminal is restored)'],
    ['p, space', `pause / resume refreshing (${view.paused ? 'paused now' : 'running now'})`],
    ['+ / -', `refresh interval 250ms 500ms 1s 2s 5s 10s (now ${formatRefresh(view.refreshMs)})`],
    ['1, 5, f', `window: 1, 5 or 15 minutes (now ${view.window})`],
    ['s', `sort workers: id, ops, p99, rss, cpu (now ${view.sort})`],
    ['tab', 'next pool'],
    ['d', 'Python stack of a worker, taken now (again: the next worker; Esc closes)'],
    ['h, ?, Esc', 'close this help'],
  ];
  const lines = [titleLine('Help', paint('gray', 'dspex monitor'), opts.width, paint), ''];
  for (const [k, v] of rows) lines.push(`  ${paint('bold', k.padEnd(11))} ${v}`);
  lines.push('', `  ${paint('bold', 'Colors')}  ${paint('green', 'green')} ok, ${paint('yellow', 'yellow')} warn, ${paint('red', 'red')} critical:`);
  lines.push(`    heap/limit ${pct(t.heapRatio.warn)}/${pct(t.heapRatio.critical)}, node rss/machine ${pct(t.nodeRssRatio.warn)}/${pct(t.nodeRssRatio.critical)}`);
  lines.push(`    loop p99 ${formatUs(t.eventLoopDelayP99Us.warn)}/${formatUs(t.eventLoopDelayP99Us.critical)}, loop util ${pct(t.eventLoopUtilization.warn)}/${pct(t.eventLoopUtilization.critical)}`);
  lines.push(`    python rss/machine ${pct(t.pythonRssRatio.warn)}/${pct(t.pythonRssRatio.critical)}, queue/max ${pct(t.queueRatio.warn)}/${pct(t.queueRatio.critical)} (unbounded: ${t.queuePerWorker.warn}/${t.queuePerWorker.critical} per worker)`);
  lines.push(`    error rate ${pct(errorRateThresholds.warn)}/${pct(errorRateThresholds.critical)}, health below ${healthThresholds.good}/${healthThresholds.fair}`);
  lines.push('', `  Latency bars: ${paint('green', 'up to p50')}, ${paint('yellow', 'p50..p99')}, ${paint('red', 'beyond p99')}. Worker p99 is the last minute.`);
  return clampLines(lines, opts.width, opts.height);
}

function pct(r: number): string {
  return `${Math.round(r * 100)}%`;
}
