import { describe, expect, it } from 'vitest';
import { stripAnsi } from '../../src/dashboard/ansi.js';
import { renderErrorTrends } from '../../src/dashboard/error-trends.js';
import { binLogColumns, latencyRange, renderLatencyHistogram } from '../../src/dashboard/latency-histogram.js';
import { resample, timeAxis } from '../../src/dashboard/line-chart.js';
import { renderAlerts, renderFooter, renderHeader, renderRecommendations } from '../../src/dashboard/panels.js';
import { gaugeThresholds, levelColor, renderResourceGauges } from '../../src/dashboard/resource-gauges.js';
import { sampleSnapshot } from '../../src/dashboard/sample.js';
import { renderThroughputChart } from '../../src/dashboard/throughput-chart.js';
import { initialViewState } from '../../src/dashboard/view-state.js';
import { joinWorkerRows, renderWorkerTable, sortWorkerRows, workerSorts, type WorkerRow } from '../../src/dashboard/worker-table.js';
import type { LatencyBucket } from '../../src/contract/metrics.js';
import { NOW, brailleCount, hasEscapes, maxWidth, points } from './helpers.js';

const plain = (lines: string[]): string[] => lines.map(stripAnsi);
const span = { endMs: NOW, spanMs: 60_000 };

describe('renderThroughputChart', () => {
  it('draws a labelled, auto-scaled y axis and relative time labels', () => {
    const lines = renderThroughputChart(points(60, NOW, (i) => 1000 + 10 * i), { width: 60, height: 10, color: false, ...span });
    expect(lines).toHaveLength(10);
    expect(maxWidth(lines)).toBeLessThanOrEqual(60);
    expect(lines[0]).toContain('Throughput ops/s');
    expect(lines[0]).toContain('max 1.6k');
    expect(lines[1]).toMatch(/^2k┤/); // nice ceiling of 1590
    expect(lines[8]).toMatch(/^ 0┤/);
    expect(lines.some((l) => /1k┤/.test(l))).toBe(true);
    expect(lines[9]).toMatch(/-1m/);
    expect(lines[9]?.trimEnd().endsWith('now')).toBe(true);
    expect(hasEscapes(lines)).toBe(false);
  });

  it('says "no data yet" with no points and never throws', () => {
    const lines = renderThroughputChart([], { width: 40, height: 6, color: true, ...span });
    expect(lines).toHaveLength(6);
    expect(plain(lines).join('\n')).toContain('no data yet');
    expect(maxWidth(lines)).toBeLessThanOrEqual(40);
  });

  it('draws a single point as one dot at the right edge', () => {
    const lines = plain(renderThroughputChart(points(1, NOW, () => 5), { width: 40, height: 6, color: false, ...span }));
    const chart = lines.slice(1, -1);
    expect(chart.reduce((n, l) => n + brailleCount(l), 0)).toBeGreaterThanOrEqual(1);
    const dotted = chart.find((l) => brailleCount(l) > 0) ?? '';
    expect(dotted.trimEnd().length).toBeGreaterThan(35);
  });

  it('scales to a huge spike and still draws the baseline', () => {
    const lines = plain(renderThroughputChart(points(60, NOW, (i) => (i === 30 ? 100_000 : 100)), { width: 60, height: 10, color: false, ...span }));
    expect(lines[1]).toMatch(/^100k┤/);
    expect(brailleCount(lines[1] ?? '')).toBeGreaterThan(0); // the spike reaches the top row
    expect(brailleCount(lines[8] ?? '')).toBeGreaterThan(20); // the baseline along the bottom
  });

  it('draws zero throughput as a flat line on the bottom row with scale 1', () => {
    const lines = plain(renderThroughputChart(points(60, NOW, () => 0), { width: 50, height: 8, color: false, ...span }));
    expect(lines[1]).toMatch(/^ *1┤/);
    expect(lines[0]).toContain('max 0');
    for (const l of lines.slice(1, 6)) expect(brailleCount(l)).toBe(0);
    expect(brailleCount(lines[6] ?? '')).toBeGreaterThan(40);
  });

  it('fits a very narrow width', () => {
    for (const width of [1, 5, 12]) {
      const lines = renderThroughputChart(points(60, NOW, (i) => i * 1000), { width, height: 5, color: true, ...span });
      expect(maxWidth(lines)).toBeLessThanOrEqual(width);
      expect(lines).toHaveLength(5);
    }
  });

  it('resamples per-second points to columns, with gaps where there is no point', () => {
    const cols = resample([{ timestampMs: NOW - 60_000, value: 4 }, { timestampMs: NOW - 1000, value: 8 }], 60, NOW, 60_000, 1000);
    expect(cols[0]).toBe(4);
    expect(cols[59]).toBe(8);
    expect(cols[30]).toBeNull();
    expect(timeAxis(40, 300_000).trimEnd().endsWith('now')).toBe(true);
  });
});

describe('renderLatencyHistogram', () => {
  const buckets: LatencyBucket[] = sampleSnapshot().pools[0]?.latency ?? [];

  it('labels a log x axis in µs/ms and marks p50 and p99 in order', () => {
    const lines = plain(renderLatencyHistogram(buckets, { p50Us: 950, p99Us: 38_000 }, { width: 60, height: 10, color: false }));
    expect(lines).toHaveLength(10);
    expect(maxWidth(lines)).toBeLessThanOrEqual(60);
    expect(lines[0]).toContain('p50 950µs');
    expect(lines[0]).toContain('p99 38ms');
    const marker = lines[8] ?? '';
    expect(marker.indexOf('▲p50')).toBeGreaterThan(0);
    expect(marker.indexOf('▲p99')).toBeGreaterThan(marker.indexOf('▲p50'));
    const ticks = lines[9] ?? '';
    expect(ticks).toMatch(/µs/);
    expect(ticks).toMatch(/1ms/);
    expect(ticks).toMatch(/10ms/);
  });

  it('keeps a rare slow tail visible (at least one eighth)', () => {
    const lines = plain(renderLatencyHistogram([{ lowerUs: 900, upperUs: 1000, count: 1_000_000 }, { lowerUs: 900_000, upperUs: 1_000_000, count: 1 }], { p50Us: 950, p99Us: 990 }, { width: 60, height: 8, color: false }));
    const bottom = lines[5] ?? '';
    const bars = [...bottom].filter((c) => '▁▂▃▄▅▆▇█'.includes(c));
    expect(bars.length).toBeGreaterThanOrEqual(2);
    expect(lines[7]).toContain('1s');
  });

  it('says "no data yet" without buckets, and widens a single bucket to a decade', () => {
    const empty = plain(renderLatencyHistogram([], { p50Us: 0, p99Us: 0 }, { width: 40, height: 6, color: false }));
    expect(empty.join('\n')).toContain('no data yet');
    const r = latencyRange([{ lowerUs: 1000, upperUs: 1100, count: 5 }], { p50Us: 1050, p99Us: 1090 });
    expect(r.hiUs / r.loUs).toBeGreaterThanOrEqual(10);
    const cols = binLogColumns([{ lowerUs: 0, upperUs: 100, count: 10 }], 10, r.loUs, r.hiUs);
    expect(cols.reduce((a, b) => a + b, 0)).toBeCloseTo(10);
  });

  it('colors the tail beyond p99 red and fits a narrow width', () => {
    const colored = renderLatencyHistogram(buckets, { p50Us: 950, p99Us: 38_000 }, { width: 60, height: 8, color: true });
    expect(colored.join('')).toContain('\u001b[31m');
    for (const width of [1, 8, 20]) expect(maxWidth(renderLatencyHistogram(buckets, { p50Us: 950, p99Us: 38_000 }, { width, height: 8, color: true }))).toBeLessThanOrEqual(width);
  });
});

describe('renderErrorTrends', () => {
  it('shows the window rate and the top error types by count', () => {
    const pool = sampleSnapshot({ window: '1m' }).pools[0];
    const lines = plain(renderErrorTrends(pool?.series ?? [], pool?.errors ?? null, { width: 60, height: 10, color: false, ...span }));
    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatch(/Errors {2}0\.\d+% \(/);
    const list = lines.slice(-3).join('\n');
    expect(list).toContain('python:ValueError');
    expect(list.indexOf('python:ValueError')).toBeLessThan(list.indexOf('timeout:operation'));
  });

  it('draws zero errors flat on the bottom and no data as "no data yet"', () => {
    const lines = plain(renderErrorTrends(points(60, NOW, () => 10), null, { width: 50, height: 6, color: false, ...span }));
    expect(lines[0]).toContain('0% (0 of 600 ops)');
    expect(brailleCount(lines[4] ?? '')).toBeGreaterThan(20);
    expect(plain(renderErrorTrends([], null, { width: 50, height: 6, color: false, ...span }))[0]).toContain('no data yet');
  });
});

describe('worker table', () => {
  const snap = sampleSnapshot({ workers: 64 });
  const pool = snap.pools[0];
  const rows = joinWorkerRows(pool?.status ?? null, pool?.workers ?? [], snap.resources?.python ?? []);

  it('joins status, metrics (by slot) and resources (by pid)', () => {
    expect(rows).toHaveLength(64);
    const r3 = rows[3];
    expect(r3?.pid).toBe(40_021);
    expect(r3?.p99Us).toBe(pool?.workers[3]?.latencyUs.p99);
    expect(r3?.rssBytes).toBe(snap.resources?.python[3]?.rssBytes);
    const spawning = joinWorkerRows(
      { ...(pool?.status ?? never()), workers: [{ id: 0, pid: 0, state: 'starting', operations: 0, errors: 0, startedAtMs: 0, lastUsedAtMs: null, generation: 2, outputLinesDropped: 0, outputLinesCut: 0 }] },
      [],
      snap.resources?.python ?? [],
    );
    expect(spawning[0]).toMatchObject({ pid: 0, rssBytes: null, cpuPercent: null, p99Us: null, generation: 2 });
    const metricsOnly = joinWorkerRows(null, pool?.workers ?? [], []);
    expect(metricsOnly).toHaveLength(64);
    expect(metricsOnly[0]?.state).toBeNull();
  });

  it('sorts by every key, worst first (id ascending)', () => {
    for (const sort of workerSorts) {
      const sorted = sortWorkerRows(rows, sort);
      const key = (r: WorkerRow): number => ({ id: r.id, ops: r.operations, p99: r.p99Us ?? -1, rss: r.rssBytes ?? -1, cpu: r.cpuPercent ?? -1 })[sort];
      for (let i = 1; i < sorted.length; i++) {
        const a = key(sorted[i - 1] as WorkerRow);
        const b = key(sorted[i] as WorkerRow);
        if (sort === 'id') expect(a).toBeLessThan(b);
        else expect(a).toBeGreaterThanOrEqual(b);
      }
    }
  });

  it('shows 64 workers within its height, with "+N more"', () => {
    const lines = plain(renderWorkerTable(rows, { width: 80, height: 10, color: false, sort: 'cpu' }));
    expect(lines).toHaveLength(10);
    expect(lines[0]).toContain('Workers  64');
    expect(lines[1]).toMatch(/id +pid state +ops +err +p99 +rss +cpu%▼ rst/);
    expect(lines[9]).toContain('+57 more (sorted by cpu');
    expect(maxWidth(lines)).toBeLessThanOrEqual(80);
    const top = sortWorkerRows(rows, 'cpu')[0];
    expect(lines[2]).toMatch(new RegExp(`^ *${top?.id} +${top?.pid} `));
  });

  it('flows rows into side-by-side groups when wide, and handles no workers', () => {
    const wide = plain(renderWorkerTable(rows, { width: 130, height: 34, color: false, sort: 'id' }));
    expect(wide[1]?.match(/id▲/g)).toHaveLength(2);
    expect(wide.join('\n')).not.toContain('more');
    expect(maxWidth(wide)).toBeLessThanOrEqual(130);
    expect(plain(renderWorkerTable([], { width: 80, height: 5, color: false, sort: 'id' }))[1]).toContain('no workers');
    expect(maxWidth(renderWorkerTable(rows, { width: 7, height: 5, color: true, sort: 'id' }))).toBeLessThanOrEqual(7);
  });

  it('shows the warm spares in the title (yellow while some are missing), and nothing without spares', () => {
    const few = rows.slice(0, 2);
    const title = (spares: unknown, color = false): string =>
      renderWorkerTable(few, { width: 80, height: 4, color, sort: 'id', spares: spares as { ready: number; target: number } })[0] ?? '';
    expect(stripAnsi(title({ ready: 1, target: 2 }))).toMatch(/Workers {2}2 .* {2}spares 1\/2 {2}sort id/);
    expect(title({ ready: 1, target: 2 }, true)).toContain('\u001b[33mspares');
    expect(title({ ready: 2, target: 2 }, true)).toContain('\u001b[36mspares');
    // No spares, or a producer without (or with nonsense in) the field: no mention at all.
    for (const none of [undefined, null, { ready: 0, target: 0 }, { ready: 'x', target: 2 }, { ready: Number.NaN, target: 1 }, {}]) {
      expect(stripAnsi(title(none))).not.toContain('spares');
    }
    expect(maxWidth(renderWorkerTable(few, { width: 30, height: 4, color: true, sort: 'id', spares: { ready: 1, target: 1 } }))).toBeLessThanOrEqual(30);
  });
});

describe('renderResourceGauges', () => {
  const snap = sampleSnapshot();
  const gauges = snap.pools[0]?.current?.gauges ?? null;

  it('draws heap, rss, loop, python and queue gauges', () => {
    const lines = plain(renderResourceGauges(snap.resources, gauges, { width: 60, height: 6, color: false, maxQueue: 1000, pool: 'demo' }));
    expect(lines).toHaveLength(6);
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['─', 'heap', 'rss', 'loop', 'python', 'queue']);
    expect(lines[4]).toContain('4 proc');
    expect(lines[5]).toContain('1/1000');
    expect(maxWidth(lines)).toBeLessThanOrEqual(60);
  });

  it('colors by the documented thresholds', () => {
    expect(levelColor(0.5, gaugeThresholds.heapRatio)).toBe('green');
    expect(levelColor(0.7, gaugeThresholds.heapRatio)).toBe('yellow');
    expect(levelColor(0.9, gaugeThresholds.heapRatio)).toBe('red');
    const res = snap.resources ?? never();
    const hot = { ...res, node: { ...res.node, heapUsedBytes: res.node.heapLimitBytes * 0.9, eventLoopDelayUs: { ...res.node.eventLoopDelayUs, p99: 60_000 } } };
    const lines = renderResourceGauges(hot, gauges, { width: 60, height: 6, color: true });
    expect(lines[1]).toContain('\u001b[31m'); // heap red
    expect(lines[3]).toContain('\u001b[33m'); // loop yellow
    expect(lines[3]).not.toContain('\u001b[31m');
  });

  it('shows orphans in red and dashes before the first sample', () => {
    const res = snap.resources ?? never();
    const withOrphan = { ...res, python: [...res.python, { ...(res.python[0] ?? never()), pid: 99, pool: null, orphan: true }] };
    expect(stripAnsi(renderResourceGauges(withOrphan, gauges, { width: 70, color: false }).join('\n'))).toContain('1 orphan');
    const none = plain(renderResourceGauges(null, null, { width: 40, color: false }));
    expect(none[0]).toContain('waiting for a sample');
    expect(none.slice(1).every((l) => l.endsWith('—'))).toBe(true);
  });
});

describe('small panels', () => {
  it('alerts and recommendations say "none", then list by severity / score', () => {
    expect(stripAnsi(renderAlerts([], { width: 40, color: true, nowMs: NOW })[0] ?? '')).toMatch(/Alerts {2}none/);
    expect(stripAnsi(renderRecommendations([], { width: 40, color: true })[0] ?? '')).toMatch(/Recommendations {2}none/);
    const alerts = plain(
      renderAlerts(
        [
          { name: 'A', severity: 'warning', pool: 'p', message: 'warn', sinceMs: NOW - 5000 },
          { name: 'B', severity: 'critical', pool: 'p', message: 'crit', sinceMs: NOW - 120_000 },
          { name: 'C', severity: 'info', pool: null, message: 'info', sinceMs: NOW },
        ],
        { width: 80, color: false, nowMs: NOW, height: 3 },
      ),
    );
    expect(alerts[0]).toContain('3 active, 1 critical');
    expect(alerts[1]).toMatch(/^CRIT B {2}crit {2}\(p, -2m\)/);
    expect(alerts[2]).toBe('+2 more');
    const recs = plain(renderRecommendations([{ title: 'low', detail: 'd', score: 0.1 }, { title: 'high', detail: 'd', score: 0.9 }], { width: 80, color: false }));
    expect(recs[1]).toContain('high');
  });

  it('header shows identity, headline figures and the paused marker; footer lists the keys', () => {
    const pool = sampleSnapshot().pools[0] ?? null;
    const header = plain(renderHeader({ pool, poolIndex: 0, poolCount: 1, window: '5m', snapshotWindow: '5m', timestampMs: NOW, paused: true, refreshMs: 1000, error: null }, { width: 100, color: false }));
    expect(header[0]).toMatch(/^dspex {2}pool demo {2}running {2}window 5m/);
    expect(header[0]?.trimEnd().endsWith('PAUSED')).toBe(true);
    expect(header[1]).toMatch(/thr 1\.2k\/s .*p50 950µs {2}p99 38ms {2}err 0\.\d+% {2}health 87 {2}up 1h02m/);
    const footer = stripAnsi(renderFooter(initialViewState(), { width: 100, color: true }));
    for (const k of ['q quit', 'p pause', '+/- refresh 1s', '1/5/f window 1m', 's sort id', 'h help']) expect(footer).toContain(k);
  });
});

function never(): never {
  throw new Error('fixture missing');
}
