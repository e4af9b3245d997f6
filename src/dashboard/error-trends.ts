/**
 * The error panel (pure): error rate over the window as a braille line chart, and the most
 * frequent error types under it.
 *
 * @module
 */
import type { ErrorRates, RangePoint } from '../contract/metrics.js';
import { painter, sanitizeText, visibleWidth } from './ansi.js';
import { formatCompact, formatPercent } from './format.js';
import { renderLineChart } from './line-chart.js';
import { clampLines, titleLine } from './panel.js';
import { chartSpan, type TimeChartOptions } from './throughput-chart.js';

/** Error rate at or above which the panel's figures turn yellow / red (ratios). */
export const errorRateThresholds = { warn: 0.01, critical: 0.05 } as const;

/**
 * Error-rate trend: a title line (the window's rate, errors / ops), a line chart of the error
 * rate in percent (weighted by ops per column; scale at least 1%), and the top `category:type`
 * entries of `errors.byType` packed into the remaining lines. `height` (default 8) counts all lines.
 */
export function renderErrorTrends(points: readonly RangePoint[], errors: ErrorRates | null, opts: TimeChartOptions): string[] {
  const paint = painter(opts.color);
  const height = Math.max(3, opts.height ?? 8);
  const { endMs, spanMs } = chartSpan(points, opts);
  let ops = 0;
  let errs = 0;
  for (const p of points) {
    ops += p.ops;
    errs += p.errors;
  }
  if (errors) {
    ops = errors.ops;
    errs = errors.errors;
  }
  const rate = ops > 0 ? errs / ops : 0;
  const rateColor = rate >= errorRateThresholds.critical ? 'red' : rate >= errorRateThresholds.warn ? 'yellow' : 'green';
  const facts =
    points.length === 0 && !errors
      ? paint('gray', 'no data yet')
      : `${paint(rateColor, formatPercent(rate))} ${paint('gray', `(${formatCompact(errs)} of ${formatCompact(ops)} ops)`)}`;

  const types = [...(errors?.byType ?? [])].sort((a, b) => b.count - a.count);
  const entries = types.map((t) => `${paint('red', sanitizeText(`${t.category}:${t.type}`))} ${formatCompact(t.count)} ${paint('gray', formatPercent(t.rate))}`);
  const packed: string[] = [];
  for (const e of entries) {
    const cur = packed[packed.length - 1];
    if (cur !== undefined && visibleWidth(cur) + 2 + visibleWidth(e) <= opts.width) packed[packed.length - 1] = `${cur}  ${e}`;
    else packed.push(e);
  }
  const body = height - 1;
  let listLines = Math.min(packed.length, Math.max(1, Math.floor(body / 3)));
  if (body - listLines < 2) listLines = Math.max(0, body - 2);
  const chart = renderLineChart(
    points.map((p) => ({ timestampMs: p.timestampMs, value: p.errorRate * 100, weight: p.ops > 0 ? p.ops : 0 })),
    { width: opts.width, height: body - listLines, color: opts.color, lineColor: 'red', endMs, spanMs, minScale: 1, formatY: (v) => `${formatCompact(v)}%` },
  );
  return clampLines([titleLine('Errors', facts, opts.width, paint), ...chart, ...packed.slice(0, listLines)], opts.width, height);
}
