/**
 * The soak's SVG charts and markdown report (pure): well-formed XML by a real parser, axis labels,
 * ticks and legend present, text escaped, gaps for missing values; the report's sections and a
 * table of at most 30 rows.
 */
import { describe, expect, it } from 'vitest';
import { lineChartSvg, logTicks, niceTicks, tickLabel, xmlEscape } from '../../src/util/svg.js';
import { MAX_TABLE_ROWS, soakCharts, soakMarkdown } from '../../src/soak/report.js';
import { analyzeSoak, type SoakEnd, type SoakParams } from '../../src/soak/analysis.js';
import type { SoakSample } from '../../src/soak/samples.js';
import { parseSvg } from './svg-parse.js';

describe('lineChartSvg', () => {
  it('is well-formed XML with its title, axis labels, tick labels and legend', () => {
    const svg = lineChartSvg({
      title: 'Heap <after GC> & "RSS"',
      xLabel: 'time (min)',
      yLabel: 'MB',
      series: [
        { name: 'heap', xs: [0, 1, 2, 3], ys: [10, 11, 12, 13] },
        { name: 'rss', xs: [0, 1, 2, 3], ys: [90, 95, Number.NaN, 99] },
      ],
      markers: [{ axis: 'x', value: 0.5, label: 'end of warm-up' }],
    });
    const doc = parseSvg(svg);
    expect(doc.root).toBe('svg');
    expect([doc.width, doc.height]).toEqual(['720', '320']);
    expect(doc.xLabel).toBe('time (min)');
    expect(doc.yLabel).toBe('MB');
    expect(doc.texts).toContain('Heap <after GC> & "RSS"');
    expect(doc.texts).toEqual(expect.arrayContaining(['heap', 'rss', 'end of warm-up', '0', '100']));
    expect(doc.paths).toBe(2);
    // The NaN leaves a gap: the rss path is two pieces.
    const rss = /<path d="([^"]+)"[^>]*><title>rss</.exec(svg)![1]!;
    expect(rss.match(/M/g)).toHaveLength(2);
  });

  it('stays well-formed with no data at all and with a single point', () => {
    for (const series of [[], [{ name: 'one', xs: [5], ys: [5] }]]) {
      const doc = parseSvg(lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series }));
      expect(doc.xLabel).toBe('x');
      expect(svgHasNoNaN(lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series }))).toBe(true);
    }
  });

  it('niceTicks cover the range with 1-2-5 steps; tickLabel shortens', () => {
    expect(niceTicks(0, 13.7)).toEqual([0, 5, 10, 15]);
    expect(niceTicks(0, 13.7, 8)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    const t = niceTicks(14.2, 15.4, 5);
    expect(t[0]).toBeLessThanOrEqual(14.2);
    expect(t.at(-1)).toBeGreaterThanOrEqual(15.4);
    expect(niceTicks(3, 3).length).toBeGreaterThanOrEqual(2);
    expect(tickLabel(25_000)).toBe('25k');
    expect(tickLabel(0.30000000000000004)).toBe('0.3');
    expect(xmlEscape(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });

  it('logTicks: powers of ten over many decades, 1-2-5 over few, always covering the range', () => {
    expect(logTicks(100, 10_000_000)).toEqual([100, 1000, 10_000, 100_000, 1_000_000, 10_000_000]);
    expect(logTicks(1, 64)).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(logTicks(3, 7)).toEqual([2, 5, 10]);
    expect(logTicks(0, 5)).toEqual([1, 10]);
  });

  it('a log-log chart places 1, 10, 100 evenly and leaves values <= 0 out as gaps', () => {
    const svg = lineChartSvg({ title: 'scaling', xLabel: 'workers', yLabel: 'ops/s', xLog: true, yLog: true, series: [{ name: 'pool', xs: [1, 10, 100], ys: [10, 100, 1000] }, { name: 'zero', xs: [1, 10], ys: [0, 5] }] });
    expect(svgHasNoNaN(svg)).toBe(true);
    const doc = parseSvg(svg);
    expect(doc.xLabel).toBe('workers');
    const d = /<path d="([^"]+)"[^>]*><title>pool</.exec(svg)?.[1] ?? '';
    const pts = [...d.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    expect(pts).toHaveLength(3);
    // Equal ratios, equal steps: a straight line on log-log axes.
    expect(pts[1]![0] - pts[0]![0]).toBeCloseTo(pts[2]![0] - pts[1]![0], 0);
    expect(pts[0]![1] - pts[1]![1]).toBeCloseTo(pts[1]![1] - pts[2]![1], 0);
    const zero = /<path d="([^"]+)"[^>]*><title>zero</.exec(svg)?.[1] ?? '';
    expect(zero.match(/[ML]/g)).toEqual(['M']);
  });
});

function svgHasNoNaN(svg: string): boolean {
  return !/NaN|Infinity/.test(svg);
}

describe('soak report', () => {
  const sample = (i: number): SoakSample => ({
    tMs: (i + 1) * 10_000,
    timestampMs: 1.8e12 + i * 10_000,
    heapUsedBytes: 14e6 + (i % 3) * 1e4,
    rssBytes: 100e6,
    externalBytes: 4e6,
    collectorBytes: 1e6 + i * 100,
    collectorBoundBytes: 15e6,
    trackedProcesses: 2,
    resourcesTickMs: 2,
    serverConnections: 0,
    queryMs: 1.5,
    snapshotMs: i === 4 ? null : 10,
    alertsFired: 0,
    alertsResolved: 0,
    alertsActive: null,
    health: 'healthy',
    workers: [
      { workerId: 0, pid: 10, rssBytes: 17e6 },
      { workerId: 1, pid: i < 50 ? 11 : 12, rssBytes: 17e6 },
    ],
    pythonRssMeanBytes: 17e6,
    pythonRssMaxBytes: 17e6,
    restarts: i < 50 ? 0 : 1,
    poolWorkers: 2,
    sent: (i + 1) * 2000,
    ok: (i + 1) * 1990,
    failed: (i + 1) * 10,
    skipped: 0,
  });
  const samples = Array.from({ length: 360 }, (_, i) => sample(i));
  const params: SoakParams = { durationMs: 3_600_000, intervalMs: 10_000, warmupMs: 600_000, opsPerS: 200, poolSize: 2, gc: true, startedAt: '2026-12-02T00:00:00.000Z', node: 'v20', machine: 'test' };
  const end: SoakEnd = { sent: 720_000, ok: 716_400, failed: 3600, skipped: 0, poolWorkers: 2, poolSize: 2, steadyAlerts: [] };
  const analysis = analyzeSoak(samples, params, end);
  const charts = soakCharts(samples, params);
  const md = soakMarkdown({ params, samples, analysis, end, alertEvents: [], alertManager: false, charts, chartDir: 'soak', command: 'dspex soak --duration 1h' });

  it('draws five well-formed charts, each with axis labels and the warm-up marker', () => {
    expect(charts.map((c) => c.file)).toEqual(['memory.svg', 'collector.svg', 'python-rss.svg', 'latency.svg', 'throughput.svg']);
    for (const c of charts) {
      const doc = parseSvg(c.svg);
      expect(doc.xLabel).toBe('time since the load started (min)');
      expect(doc.yLabel).not.toBe('');
      expect(doc.texts).toContain('end of warm-up');
      expect(doc.paths).toBeGreaterThan(0);
      expect(svgHasNoNaN(c.svg)).toBe(true);
    }
  });

  it('writes the sections, the verdict, every component and a table of at most 30 rows', () => {
    expect(analysis.verdict).toBe('pass');
    expect(md).toMatch(/^# Soak report/);
    expect(md).toContain('**Verdict: PASS**');
    for (const h of ['## Run', '## Memory growth per component', '## Query latency', '## Alerts', '## Python RSS', '## Plots', '## Samples']) expect(md).toContain(`\n${h}\n`);
    for (const g of analysis.growth) expect(md).toContain(`| ${g.component} |`);
    for (const c of charts) expect(md).toContain(`](soak/${c.file})`);
    const rows = md.split('\n').filter((l) => /^\| \d+:\d\d \|/.test(l));
    expect(rows.length).toBeLessThanOrEqual(MAX_TABLE_ROWS);
    expect(rows.length).toBeGreaterThan(20);
    expect(rows.at(-1)).toMatch(/^\| 60:00 \|/);
    expect(md).toContain('fired at steady state (after the warm-up): 0**');
  });

  it('a failing run says why in the verdict line', () => {
    const leaking = samples.map((s) => ({ ...s, heapUsedBytes: s.heapUsedBytes + s.tMs * 20 })); // 72 MB/h
    const a = analyzeSoak(leaking, params, end);
    const text = soakMarkdown({ params, samples: leaking, analysis: a, end, alertEvents: [], alertManager: false, charts, chartDir: 'soak', command: 'x' });
    expect(text).toMatch(/\*\*Verdict: FAIL\*\* — node heap outside the collector grows 7[12]\.\d\d MB\/h \(r² 1\.00\)/);
  });
});
