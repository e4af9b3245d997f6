/**
 * The resource panel (pure): horizontal gauges for the Node process, its Python workers and the
 * pool's queue, each green / yellow / red by {@link gaugeThresholds}.
 *
 * @module
 */
import type { PoolGauges } from '../contract/metrics.js';
import type { ResourceSample } from '../contract/resources.js';
import { painter, sanitizeText, type ColorName, type Paint } from './ansi.js';
import { formatBytes, formatPercent, formatUs } from './format.js';
import { clampLines, titleLine } from './panel.js';
import type { RenderOptions } from './types.js';

/** A gauge's thresholds: at or above `warn` it is yellow, at or above `critical` red. */
export interface Threshold {
  warn: number;
  critical: number;
}

/**
 * The documented gauge thresholds (also in docs/MONITORING_GUIDE.md, "Terminal dashboard").
 * Ratios are 0..1; delays in microseconds.
 */
export const gaugeThresholds = {
  /** Node heap used / V8 heap limit. */
  heapRatio: { warn: 0.7, critical: 0.85 },
  /** Node RSS / machine memory. */
  nodeRssRatio: { warn: 0.25, critical: 0.5 },
  /** Event-loop delay p99, µs. */
  eventLoopDelayP99Us: { warn: 50_000, critical: 200_000 },
  /** Event-loop utilization. */
  eventLoopUtilization: { warn: 0.7, critical: 0.9 },
  /** Sum of the Python processes' RSS / machine memory. */
  pythonRssRatio: { warn: 0.25, critical: 0.5 },
  /** Queue depth / max queue (when the pool has a bound). */
  queueRatio: { warn: 0.5, critical: 0.8 },
  /** Queue depth / pool size (when the queue is unbounded or the bound is unknown). */
  queuePerWorker: { warn: 1, critical: 4 },
} as const satisfies Record<string, Threshold>;

/** The color of a value against a threshold. */
export function levelColor(value: number, t: Threshold): ColorName {
  return value >= t.critical ? 'red' : value >= t.warn ? 'yellow' : 'green';
}

function worse(a: ColorName, b: ColorName): ColorName {
  const rank = (c: ColorName): number => (c === 'red' ? 2 : c === 'yellow' ? 1 : 0);
  return rank(a) >= rank(b) ? a : b;
}

/** A bar of `width` cells filled to `ratio` (clamped to 0..1), in eighths. */
function bar(ratio: number, width: number, color: ColorName, paint: Paint): string {
  if (width <= 0) return '';
  const r = Number.isFinite(ratio) ? Math.max(0, Math.min(1, ratio)) : 0;
  const units = Math.round(r * width * 8);
  const full = Math.floor(units / 8);
  const part = units % 8;
  const partial = part > 0 ? (['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][part] ?? '') : '';
  const filled = '█'.repeat(full) + partial;
  const rest = width - full - (partial ? 1 : 0);
  return paint(color, filled) + paint('dim', '░'.repeat(Math.max(0, rest)));
}

/** Options of {@link renderResourceGauges}. */
export interface GaugeOptions extends RenderOptions {
  /** The pool's queue bound (from its status), for the queue gauge. */
  maxQueue?: number | null;
  /** Count only this pool's Python processes (default: all of the library's). */
  pool?: string | null;
}

/**
 * Resource gauges: Node heap (used / limit), Node RSS, event-loop delay p99 and utilization, total
 * Python RSS (with process count, orphans and the summed RSS trend), queue depth. With more than
 * six lines, GC, handles and machine load follow. `height` (default 6) counts all lines.
 */
export function renderResourceGauges(resources: ResourceSample | null, gauges: PoolGauges | null, opts: GaugeOptions): string[] {
  const paint = painter(opts.color);
  const height = Math.max(2, opts.height ?? 6);
  const labelW = 7;
  const barW = Math.max(4, Math.min(40, opts.width - labelW - 26));
  const line = (label: string, ratio: number, color: ColorName, value: string): string =>
    `${paint('gray', label.padEnd(labelW))}${bar(ratio, barW, color, paint)} ${value}`;

  const lines: string[] = [];
  const sys = resources?.system;
  const facts = sys
    ? `${paint('gray', 'load')} ${sys.loadAvg.map((l) => l.toFixed(1)).join(' ')}  ${paint('gray', 'mem free')} ${formatBytes(sys.freeMemBytes)}/${formatBytes(sys.totalMemBytes)}`
    : paint('gray', 'waiting for a sample');
  lines.push(titleLine('Resources', facts, opts.width, paint));

  if (resources) {
    const n = resources.node;
    const totalMem = resources.system.totalMemBytes > 0 ? resources.system.totalMemBytes : 1;
    const heapRatio = n.heapLimitBytes > 0 ? n.heapUsedBytes / n.heapLimitBytes : 0;
    const heapColor = levelColor(heapRatio, gaugeThresholds.heapRatio);
    lines.push(line('heap', heapRatio, heapColor, `${paint(heapColor, formatPercent(heapRatio))} ${formatBytes(n.heapUsedBytes)}/${formatBytes(n.heapLimitBytes)}`));
    const rssRatio = n.rssBytes / totalMem;
    const rssColor = levelColor(rssRatio, gaugeThresholds.nodeRssRatio);
    lines.push(line('rss', rssRatio, rssColor, `${paint(rssColor, formatBytes(n.rssBytes))} ${paint('gray', `cpu ${n.cpuPercent.toFixed(0)}%`)}`));
    const delay = n.eventLoopDelayUs.p99;
    const loopColor = worse(levelColor(delay, gaugeThresholds.eventLoopDelayP99Us), levelColor(n.eventLoopUtilization, gaugeThresholds.eventLoopUtilization));
    lines.push(
      line('loop', delay / gaugeThresholds.eventLoopDelayP99Us.critical, loopColor, `${paint(loopColor, `p99 ${formatUs(delay)}`)} ${paint('gray', `elu ${formatPercent(n.eventLoopUtilization)}`)}`),
    );
    const procs = resources.python.filter((p) => opts.pool == null || p.pool === opts.pool || p.orphan);
    let pyRss = 0;
    let slope = 0;
    let slopeKnown = false;
    let orphans = 0;
    for (const p of procs) {
      pyRss += p.rssBytes;
      if (p.rssSlopeBytesPerS !== null) {
        slope += p.rssSlopeBytesPerS;
        slopeKnown = true;
      }
      if (p.orphan) orphans++;
    }
    const pyRatio = pyRss / totalMem;
    const pyColor = orphans > 0 ? 'red' : levelColor(pyRatio, gaugeThresholds.pythonRssRatio);
    const trend = slopeKnown && Math.abs(slope) >= 1024 ? ` ${paint(slope > 0 ? 'yellow' : 'gray', `${slope > 0 ? '+' : '-'}${formatBytes(Math.abs(slope))}/s`)}` : '';
    const orphanText = orphans > 0 ? ` ${paint('red', `${orphans} orphan${orphans > 1 ? 's' : ''}`)}` : '';
    lines.push(line('python', pyRatio, pyColor, `${paint(pyColor, formatBytes(pyRss))} ${paint('gray', `${procs.length - orphans} proc`)}${orphanText}${trend}`));
  } else {
    for (const label of ['heap', 'rss', 'loop', 'python']) lines.push(`${paint('gray', label.padEnd(labelW))}${paint('dim', '—')}`);
  }

  if (gauges) {
    const depth = gauges.queueDepth;
    const bounded = opts.maxQueue != null && Number.isFinite(opts.maxQueue) && opts.maxQueue > 0;
    const ratio = bounded ? depth / (opts.maxQueue as number) : depth / Math.max(1, gauges.size) / gaugeThresholds.queuePerWorker.critical;
    const color = bounded ? levelColor(depth / (opts.maxQueue as number), gaugeThresholds.queueRatio) : levelColor(depth / Math.max(1, gauges.size), gaugeThresholds.queuePerWorker);
    const of = bounded ? `/${opts.maxQueue}` : '';
    lines.push(line('queue', ratio, color, `${paint(color, `${depth}${of}`)} ${paint('gray', `busy ${gauges.busy}/${gauges.size}`)}`));
  } else {
    lines.push(`${paint('gray', 'queue'.padEnd(labelW))}${paint('dim', '—')}`);
  }

  if (resources && height > lines.length) {
    const n = resources.node;
    lines.push(`${paint('gray', 'gc'.padEnd(labelW))}${n.gcCount} ${paint('gray', `(${n.gcPauseMs.toFixed(1)}ms)`)}  ${paint('gray', 'handles')} ${n.activeHandles}  ${paint('gray', 'ext')} ${formatBytes(n.externalBytes)}`);
  }
  if (resources && height > lines.length) {
    const s = resources.system;
    lines.push(`${paint('gray', 'host'.padEnd(labelW))}${s.cpuCount} cpu  ${paint('gray', 'used mem')} ${formatPercent(1 - s.freeMemBytes / Math.max(1, s.totalMemBytes))}`);
  }
  if (resources && resources.warnings.length > 0 && height > lines.length) {
    lines.push(paint('yellow', `! ${sanitizeText(resources.warnings[0] ?? '')}`));
  }
  return clampLines(lines, opts.width, height);
}
