/**
 * A braille line chart (pure): 2×4 dots per character cell, an auto-scaled labelled y axis on the
 * left and relative time labels (`-4m … now`) on the bottom row. Shared by the throughput and
 * error-trend panels.
 *
 * @module
 */
import { painter, type ColorName } from './ansi.js';
import { formatAgo, niceCeil } from './format.js';

/** One value at one moment (a per-second point, usually). */
export interface TimedValue {
  timestampMs: number;
  /** The value to plot. */
  value: number;
  /** Weight when several points fall in one column (e.g. ops for a rate); 1 when absent. */
  weight?: number;
}

/** Options of {@link renderLineChart}. */
export interface LineChartOptions {
  /** Total width including the y-axis gutter. */
  width: number;
  /** Total lines including the time-label row (at least 2). */
  height: number;
  color: boolean;
  lineColor: ColorName;
  /** The x axis ends here (usually the snapshot's time). */
  endMs: number;
  /** The x axis covers this much time before `endMs`. */
  spanMs: number;
  /** The y scale never goes below this maximum (so zero is drawn at the bottom, not mid-chart). */
  minScale: number;
  /** Format a y label. */
  formatY: (value: number) => string;
  /** Resolution of the points in ms (how long one point covers); inferred when absent. */
  resolutionMs?: number;
}

// Dot bits of a braille cell, [column][row from top].
const dotBits: readonly (readonly number[])[] = [
  [0x01, 0x02, 0x04, 0x40],
  [0x08, 0x10, 0x20, 0x80],
];

/** Infer a series' resolution: the smallest positive gap between timestamps (1 s by default). */
function inferResolutionMs(points: readonly { timestampMs: number }[]): number {
  let best = Infinity;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (!a || !b) continue;
    const d = b.timestampMs - a.timestampMs;
    if (d > 0 && d < best) best = d;
  }
  return Number.isFinite(best) ? best : 1000;
}

/**
 * Resample a series into `n` equal time columns ending at `endMs`: the weighted mean of the points
 * overlapping each column, or null where no point falls (a gap, drawn as nothing).
 */
export function resample(points: readonly TimedValue[], n: number, endMs: number, spanMs: number, resolutionMs: number): (number | null)[] {
  const sums = new Float64Array(n);
  const weights = new Float64Array(n);
  const hit = new Uint8Array(n);
  if (n <= 0 || spanMs <= 0) return [];
  const start = endMs - spanMs;
  const bw = spanMs / n;
  for (const p of points) {
    if (!Number.isFinite(p.value)) continue;
    const t0 = p.timestampMs;
    const t1 = t0 + Math.max(1, resolutionMs);
    if (t1 <= start) continue;
    let b0 = Math.floor((t0 - start) / bw);
    let b1 = Math.ceil((t1 - start) / bw) - 1;
    if (b0 < 0) b0 = 0;
    if (b1 > n - 1) b1 = n - 1;
    if (b0 > n - 1) b0 = n - 1; // a point at or after the end belongs to the last column
    if (b1 < b0) b1 = b0;
    const w = p.weight ?? 1;
    for (let b = b0; b <= b1; b++) {
      sums[b] = (sums[b] ?? 0) + p.value * w;
      weights[b] = (weights[b] ?? 0) + w;
      hit[b] = 1;
    }
  }
  const out: (number | null)[] = new Array<number | null>(n);
  for (let i = 0; i < n; i++) {
    const w = weights[i] ?? 0;
    out[i] = hit[i] ? (w > 0 ? (sums[i] ?? 0) / w : 0) : null;
  }
  return out;
}

const tickStepsMs = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((s) => s * 1000);

/** The time-label row: ticks at a round step counted back from `now`, never overlapping. */
export function timeAxis(width: number, spanMs: number): string {
  if (width <= 0) return '';
  const row: string[] = new Array<string>(width).fill(' ');
  const maxTicks = Math.max(1, Math.floor(width / 9));
  const step = tickStepsMs.find((s) => spanMs / s <= maxTicks) ?? spanMs;
  let lastLeft = width; // leftmost used column so far (we place right to left)
  for (let k = 0; k * step <= spanMs + 1e-6; k++) {
    const ago = k * step;
    const label = formatAgo(ago);
    const x = Math.round((1 - ago / spanMs) * (width - 1));
    let left = k === 0 ? width - label.length : x - Math.floor(label.length / 2);
    if (left < 0) left = 0;
    if (left + label.length > lastLeft - 1 && k !== 0) continue;
    if (left + label.length > width) continue;
    for (let i = 0; i < label.length; i++) row[left + i] = label[i] ?? ' ';
    lastLeft = left;
  }
  return row.join('');
}

/** Render a line chart: `height - 1` braille rows with a y gutter, then the time-label row. */
export function renderLineChart(points: readonly TimedValue[], opts: LineChartOptions): string[] {
  const paint = painter(opts.color);
  const height = Math.max(2, Math.floor(opts.height));
  const rows = height - 1;
  const resolution = opts.resolutionMs ?? inferResolutionMs(points);
  let maxValue = 0;
  for (const p of points) if (Number.isFinite(p.value) && p.value > maxValue) maxValue = p.value;
  const scale = niceCeil(maxValue, opts.minScale);
  const labels = new Map<number, string>();
  labels.set(0, opts.formatY(scale));
  labels.set(rows - 1, opts.formatY(0));
  if (rows >= 5) {
    // Label the row where the line would draw scale / 2, so the label is exact.
    const d = Math.round(0.5 * (rows * 4 - 1));
    labels.set((rows * 4 - 1 - d) >> 2, opts.formatY(scale / 2));
  }
  let gutter = 0;
  for (const l of labels.values()) gutter = Math.max(gutter, l.length);
  gutter += 1; // the axis character
  const plotW = Math.max(1, opts.width - gutter);
  const lines: string[] = [];
  const dotRows = rows * 4;
  const cols = resample(points, plotW * 2, opts.endMs, opts.spanMs, resolution);
  const cells = new Uint8Array(plotW * rows);
  let prevY: number | null = null;
  for (let x = 0; x < cols.length; x++) {
    const v = cols[x];
    if (v === null || v === undefined) {
      prevY = null;
      continue;
    }
    const y = Math.max(0, Math.min(dotRows - 1, Math.round((v / scale) * (dotRows - 1))));
    const lo = prevY === null ? y : Math.min(prevY, y);
    const hi = prevY === null ? y : Math.max(prevY, y);
    const cx = x >> 1;
    const bitCol = dotBits[x & 1] ?? dotBits[0];
    for (let d = lo; d <= hi; d++) {
      if (prevY !== null && d === prevY && lo !== hi) continue; // the previous column drew it
      const fromTop = dotRows - 1 - d;
      const r = fromTop >> 2;
      const idx = r * plotW + cx;
      cells[idx] = (cells[idx] ?? 0) | (bitCol?.[fromTop & 3] ?? 0);
    }
    prevY = y;
  }
  const empty = points.length === 0;
  for (let r = 0; r < rows; r++) {
    const label = labels.get(r);
    const axis = label !== undefined ? '┤' : '│';
    let row = '';
    for (let cx = 0; cx < plotW; cx++) {
      const bits = cells[r * plotW + cx] ?? 0;
      row += bits === 0 ? ' ' : String.fromCharCode(0x2800 + bits);
    }
    if (empty && r === Math.floor((rows - 1) / 2)) {
      const msg = 'no data yet';
      const at = Math.max(0, Math.floor((plotW - msg.length) / 2));
      row = (' '.repeat(at) + msg).slice(0, plotW).padEnd(plotW);
      lines.push(paint('gray', (label ?? '').padStart(gutter - 1) + axis) + paint('dim', row));
      continue;
    }
    lines.push(paint('gray', (label ?? '').padStart(gutter - 1) + axis) + paint(opts.lineColor, row.trimEnd()));
  }
  lines.push(paint('gray', ' '.repeat(gutter) + timeAxis(plotW, opts.spanMs)));
  return lines;
}
