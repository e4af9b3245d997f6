/**
 * The latency panel (pure): the window's latency distribution as a histogram on a log-scaled x
 * axis (ticks in µs / ms / s), with p50 and p99 marked under the bars.
 *
 * @module
 */
import type { LatencyBucket } from '../contract/metrics.js';
import { painter, trimEndVisible, type ColorName } from './ansi.js';
import { formatCompact, formatUs } from './format.js';
import { clampLines, titleLine } from './panel.js';
import type { RenderOptions } from './types.js';

/** The marked percentiles, microseconds (0 = unknown: not marked). */
export interface LatencyMarks {
  p50Us: number;
  p99Us: number;
}

const eighths = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

function niceFloor125(v: number): number {
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  const f = v / exp;
  return (f >= 5 ? 5 : f >= 2 ? 2 : 1) * exp;
}

function niceCeil125(v: number): number {
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  const f = v / exp;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * exp;
}

/** The x range shown: the non-empty buckets and both marks, widened to round values and ≥ 1 decade. */
export function latencyRange(buckets: readonly LatencyBucket[], marks: LatencyMarks): { loUs: number; hiUs: number } {
  let lo = Infinity;
  let hi = 0;
  for (const b of buckets) {
    if (!(b.count > 0)) continue;
    const a = b.lowerUs > 0 ? b.lowerUs : Math.max(b.upperUs / 2, 0.5);
    if (a < lo) lo = a;
    if (b.upperUs > hi) hi = b.upperUs;
  }
  for (const m of [marks.p50Us, marks.p99Us]) {
    if (m > 0) {
      lo = Math.min(lo, m);
      hi = Math.max(hi, m * 1.05);
    }
  }
  if (!Number.isFinite(lo) || hi <= 0) return { loUs: 10, hiUs: 1_000_000 };
  lo = Math.max(1, niceFloor125(lo));
  hi = niceCeil125(Math.max(hi, lo * 1.01));
  if (hi / lo < 10) {
    const widen = Math.sqrt(10 / (hi / lo));
    lo = Math.max(1, niceFloor125(lo / widen));
    hi = niceCeil125(Math.max(hi * widen, lo * 10));
  }
  return { loUs: lo, hiUs: hi };
}

/** Spread bucket counts over `n` log-spaced columns (each bucket split by its log overlap). */
export function binLogColumns(buckets: readonly LatencyBucket[], n: number, loUs: number, hiUs: number): Float64Array {
  const cols = new Float64Array(n);
  const l0 = Math.log(loUs);
  const span = Math.log(hiUs) - l0;
  if (n <= 0 || !(span > 0)) return cols;
  const toX = (us: number): number => ((Math.log(us) - l0) / span) * n;
  for (const b of buckets) {
    if (!(b.count > 0)) continue;
    const a = b.lowerUs > 0 ? b.lowerUs : Math.max(b.upperUs / 2, 0.5);
    const xa = Math.max(0, Math.min(n, toX(a)));
    const xb = Math.max(0, Math.min(n, toX(Math.max(b.upperUs, a))));
    if (xb - xa < 1e-9) {
      const c = Math.min(n - 1, Math.floor(xa));
      cols[c] = (cols[c] ?? 0) + b.count;
      continue;
    }
    for (let c = Math.floor(xa); c < Math.ceil(xb) && c < n; c++) {
      const overlap = Math.min(xb, c + 1) - Math.max(xa, c);
      if (overlap > 0) cols[c] = (cols[c] ?? 0) + (b.count * overlap) / (xb - xa);
    }
  }
  return cols;
}

function columnOf(us: number, n: number, loUs: number, hiUs: number): number {
  const x = Math.floor(((Math.log(us) - Math.log(loUs)) / (Math.log(hiUs) - Math.log(loUs))) * n);
  return Math.max(0, Math.min(n - 1, x));
}

function tickLabel(us: number): string {
  return formatUs(us);
}

function place(row: string[], text: string, at: number): boolean {
  if (at < 0 || at + text.length > row.length) return false;
  for (let i = Math.max(0, at - 1); i < Math.min(row.length, at + text.length + 1); i++) if (row[i] !== ' ') return false;
  for (let i = 0; i < text.length; i++) row[at + i] = text[i] ?? ' ';
  return true;
}

/**
 * Latency histogram: a title line (p50, p99, count), bars on a log x axis (columns at or below p50
 * green, up to p99 yellow, the tail red), a marker row (`▲p50`, `▲p99`) and a tick row in µs / ms / s.
 * Any non-empty column is at least one eighth high, so a rare slow tail stays visible.
 * `height` (default 8) counts all lines.
 */
export function renderLatencyHistogram(buckets: readonly LatencyBucket[], marks: LatencyMarks, opts: RenderOptions): string[] {
  const paint = painter(opts.color);
  const height = Math.max(3, opts.height ?? 8);
  let total = 0;
  for (const b of buckets) if (b.count > 0) total += b.count;
  const facts =
    total > 0 || marks.p50Us > 0
      ? `${paint('gray', 'p50')} ${formatUs(marks.p50Us)}  ${paint('gray', 'p99')} ${formatUs(marks.p99Us)}  ${paint('gray', 'n')} ${formatCompact(total)}`
      : paint('gray', 'no data yet');
  const body = height - 1;
  const withMarkers = body >= 5;
  const barRows = Math.max(1, body - (withMarkers ? 2 : 1));
  const { loUs, hiUs } = latencyRange(buckets, marks);

  // Two passes: the gutter holds the tallest column's count, which depends on the binning width.
  const plotWGuess = Math.max(1, opts.width - 6);
  let cols = binLogColumns(buckets, plotWGuess, loUs, hiUs);
  let maxCount = 0;
  for (const c of cols) if (c > maxCount) maxCount = c;
  const gutterText = total > 0 ? formatCompact(Math.round(maxCount)) : '';
  const gutter = gutterText.length + 1;
  const plotW = Math.max(1, opts.width - gutter);
  if (plotW !== plotWGuess) {
    cols = binLogColumns(buckets, plotW, loUs, hiUs);
    maxCount = 0;
    for (const c of cols) if (c > maxCount) maxCount = c;
  }

  const x50 = marks.p50Us > 0 ? columnOf(marks.p50Us, plotW, loUs, hiUs) : -1;
  const x99 = marks.p99Us > 0 ? columnOf(marks.p99Us, plotW, loUs, hiUs) : -1;
  const colColor = (x: number): ColorName => (x99 >= 0 && x > x99 ? 'red' : x50 >= 0 && x > x50 ? 'yellow' : 'green');
  const units = new Int32Array(plotW);
  for (let x = 0; x < plotW; x++) {
    const c = cols[x] ?? 0;
    units[x] = c > 0 ? Math.max(1, Math.round((c / maxCount) * barRows * 8)) : 0;
  }

  const lines: string[] = [titleLine('Latency', facts, opts.width, paint)];
  for (let r = 0; r < barRows; r++) {
    const label = r === 0 ? gutterText : '';
    const base = (barRows - 1 - r) * 8;
    let row = '';
    let run = '';
    let runColor: ColorName | null = null;
    for (let x = 0; x < plotW; x++) {
      const fill = Math.max(0, Math.min(8, (units[x] ?? 0) - base));
      const ch = fill === 0 ? ' ' : (eighths[fill - 1] ?? '█');
      const color = colColor(x);
      if (ch === ' ') {
        if (run) row += runColor ? paint(runColor, run) : run;
        run = '';
        runColor = null;
        row += ' ';
        continue;
      }
      if (runColor !== color && run) {
        row += runColor ? paint(runColor, run) : run;
        run = '';
      }
      runColor = color;
      run += ch;
    }
    if (run) row += runColor ? paint(runColor, run) : run;
    if (total === 0 && r === Math.floor((barRows - 1) / 2)) {
      const msg = 'no data yet';
      row = paint('dim', (' '.repeat(Math.max(0, Math.floor((plotW - msg.length) / 2))) + msg).slice(0, plotW));
    }
    lines.push(paint('gray', label.padStart(gutter - 1) + (r === 0 && label ? '┤' : '│')) + trimEndVisible(row));
  }

  if (withMarkers) {
    const row: string[] = new Array<string>(plotW).fill(' ');
    if (x50 >= 0 && x50 === x99) {
      if (!place(row, '▲p50,p99', x50)) place(row, 'p50,p99▲', x50 - 7);
    } else {
      for (const [x, name] of [[x50, 'p50'], [x99, 'p99']] as const) {
        if (x < 0 || place(row, `▲${name}`, x) || place(row, `${name}▲`, x - 3)) continue;
        place(row, '▲', x);
      }
    }
    lines.push(' '.repeat(gutter) + paint('cyan', row.join('').trimEnd()));
  }

  const ticks: number[] = [];
  const decades = Math.log10(hiUs / loUs);
  const mantissas = decades < 2.5 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(loUs)); e <= Math.ceil(Math.log10(hiUs)); e++) {
    for (const m of mantissas) {
      const v = m * Math.pow(10, e);
      if (v >= loUs * 0.999 && v <= hiUs * 1.001) ticks.push(v);
    }
  }
  const tickRow: string[] = new Array<string>(plotW).fill(' ');
  for (const v of ticks) {
    const label = tickLabel(v);
    const x = Math.round(((Math.log(v) - Math.log(loUs)) / (Math.log(hiUs) - Math.log(loUs))) * (plotW - 1));
    if (!place(tickRow, label, x)) place(tickRow, label, x - label.length + 1);
  }
  lines.push(paint('gray', ' '.repeat(gutter) + tickRow.join('').trimEnd()));
  return clampLines(lines, opts.width, height);
}
