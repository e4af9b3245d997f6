/**
 * The throughput panel (pure): operations per second over the window as a braille line chart.
 *
 * @module
 */
import type { RangePoint } from '../contract/metrics.js';
import { painter } from './ansi.js';
import { formatCompact } from './format.js';
import { renderLineChart } from './line-chart.js';
import { clampLines, titleLine } from './panel.js';
import type { RenderOptions } from './types.js';

/** Options of {@link renderThroughputChart}. */
export interface TimeChartOptions extends RenderOptions {
  /** End of the x axis (default: the last point's time + 1 s). */
  endMs?: number;
  /** Length of the x axis in ms (default: the points' span, at least 60 s). */
  spanMs?: number;
}

/** The x axis of a chart: explicit, or derived from the points. */
export function chartSpan(points: readonly RangePoint[], opts: TimeChartOptions): { endMs: number; spanMs: number } {
  const first = points[0];
  const last = points[points.length - 1];
  const endMs = opts.endMs ?? (last ? last.timestampMs + 1000 : 0);
  const spanMs = opts.spanMs ?? Math.max(60_000, first ? endMs - first.timestampMs : 0);
  return { endMs, spanMs };
}

/**
 * Throughput over time: a title line (`now`, `avg`, `max` ops/s) and a line chart with a labelled,
 * auto-scaled y axis (1-2-2.5-5 steps, at least 1 op/s) and relative time labels. `height`
 * (default 8) counts all lines; zero throughput draws a flat line on the bottom, no points
 * draws `no data yet`.
 */
export function renderThroughputChart(points: readonly RangePoint[], opts: TimeChartOptions): string[] {
  const paint = painter(opts.color);
  const height = Math.max(3, opts.height ?? 8);
  const { endMs, spanMs } = chartSpan(points, opts);
  let max = 0;
  let sum = 0;
  for (const p of points) {
    sum += p.throughputPerS;
    if (p.throughputPerS > max) max = p.throughputPerS;
  }
  const last = points[points.length - 1];
  const facts = last
    ? `${paint('gray', 'now')} ${formatCompact(last.throughputPerS)}  ${paint('gray', 'avg')} ${formatCompact(sum / points.length)}  ${paint('gray', 'max')} ${formatCompact(max)}`
    : paint('gray', 'no data yet');
  const chart = renderLineChart(
    points.map((p) => ({ timestampMs: p.timestampMs, value: p.throughputPerS })),
    { width: opts.width, height: height - 1, color: opts.color, lineColor: 'cyan', endMs, spanMs, minScale: 1, formatY: formatCompact },
  );
  return clampLines([titleLine('Throughput ops/s', facts, opts.width, paint), ...chart], opts.width, height);
}
