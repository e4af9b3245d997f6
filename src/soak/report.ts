/**
 * The soak report (pure): the charts of a run as SVG documents ({@link soakCharts}) and
 * docs/SOAK_REPORT.md as a string ({@link soakMarkdown}) — run parameters, verdict, memory growth
 * per component with slope and r², query-latency trend, alerts at steady state, Python RSS, a
 * table of samples downsampled to at most {@link MAX_TABLE_ROWS} rows, and the plots.
 *
 * @module
 */
import { downsample, GROWTH_BOUNDS, GROWTH_R2, COLLECTOR_FILL_MS, LATENCY_BOUND_MS_PER_H, type SoakAnalysis, type SoakEnd, type SoakParams, type Trend } from './analysis.js';
import type { AlertEvent, SoakSample } from './samples.js';
import { lineChartSvg, type ChartSeries } from '../util/svg.js';

/** Rows of the sample table at most. */
export const MAX_TABLE_ROWS = 30;

/** One chart file. */
export interface SoakChart {
  /** File name (`memory.svg`). */
  readonly file: string;
  readonly title: string;
  readonly svg: string;
}

const MB = 1e6;
const minutes = (ms: number): number => ms / 60_000;

/** The charts of a run: Node memory, the collector, Python RSS per worker, query latency, throughput. */
export function soakCharts(samples: readonly SoakSample[], p: Pick<SoakParams, 'warmupMs'>): SoakChart[] {
  const xs = samples.map((s) => minutes(s.tMs));
  const warm = [{ axis: 'x' as const, value: minutes(p.warmupMs), label: 'end of warm-up' }];
  const line = (name: string, ys: number[]): ChartSeries => ({ name, xs, ys });
  const xLabel = 'time since the load started (min)';
  const charts: SoakChart[] = [];
  const chart = (file: string, title: string, yLabel: string, series: ChartSeries[]): void => {
    charts.push({ file, title, svg: lineChartSvg({ title, xLabel, yLabel, series, markers: warm }) });
  };
  chart('memory.svg', 'Node process memory (sampled after a forced GC)', 'MB', [
    line('heap used', samples.map((s) => s.heapUsedBytes / MB)),
    line('RSS', samples.map((s) => s.rssBytes / MB)),
    line('external (typed arrays)', samples.map((s) => s.externalBytes / MB)),
  ]);
  const bound = samples.at(-1)?.collectorBoundBytes ?? 0;
  chart('collector.svg', `Metrics collector state (designed bound ${(bound / MB).toFixed(1)} MB)`, 'MB', [line('collector.memoryBytes()', samples.map((s) => s.collectorBytes / MB))]);
  const pySeries: ChartSeries[] = [];
  for (const id of [...new Set(samples.flatMap((s) => s.workers.map((w) => w.workerId)).filter((w): w is number => w !== null))].sort((a, b) => a - b)) {
    pySeries.push({ name: `worker ${id}`, xs, ys: samples.map((s) => (s.workers.find((w) => w.workerId === id)?.rssBytes ?? Number.NaN) / MB) });
  }
  chart('python-rss.svg', 'Python worker RSS (a drop: the worker crashed and was replaced)', 'MB', pySeries);
  chart('latency.svg', 'Query latency', 'ms', [line('collector summary + current', samples.map((s) => s.queryMs)), line('GET /api/snapshot', samples.map((s) => s.snapshotMs ?? Number.NaN))]);
  const rate = (k: 'ok' | 'failed'): number[] =>
    samples.map((s, i) => {
      const prev = samples[i - 1];
      const dt = prev === undefined ? s.tMs : s.tMs - prev.tMs;
      return dt > 0 ? ((s[k] - (prev?.[k] ?? 0)) * 1000) / dt : Number.NaN;
    });
  chart('throughput.svg', 'Calls settled per second', 'calls/s', [line('ok', rate('ok')), line('failed', rate('failed'))]);
  return charts;
}

const fmtMB = (b: number | null): string => (b === null ? '–' : (b / MB).toFixed(2));
const fmtMs = (v: number | null): string => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(2));
const fmtMin = (ms: number): string => `${minutes(ms).toFixed(1)}`;
/** Elapsed time as `m:ss` (samples 10 s apart need the seconds). */
const fmtClock = (ms: number): string => {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

function durationText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

function trendRow(name: string, t: Trend): string {
  const change = t.firstMean !== null && t.lastMean !== null ? `${fmtMs(t.firstMean)} → ${fmtMs(t.lastMean)}` : '–';
  return `| ${name} | ${change} | ${t.perH === null ? '–' : t.perH.toFixed(2)} | ${t.r2 === null ? '–' : t.r2.toFixed(2)} |`;
}

/** Everything {@link soakMarkdown} writes about. */
export interface SoakReportInput {
  readonly params: SoakParams;
  readonly samples: readonly SoakSample[];
  readonly analysis: SoakAnalysis;
  readonly end: SoakEnd;
  readonly alertEvents: readonly AlertEvent[];
  /** Whether the stack had an alert manager (`monitoring.alerts`). */
  readonly alertManager: boolean;
  readonly charts: readonly SoakChart[];
  /** Path of the charts relative to the report (`soak`). */
  readonly chartDir: string;
  /** The command line that produced it. */
  readonly command: string;
}

/** docs/SOAK_REPORT.md. */
export function soakMarkdown(r: SoakReportInput): string {
  const { params: p, samples, analysis: a, end } = r;
  const out: string[] = [];
  out.push('# Soak report', '');
  out.push(`Generated by \`${r.command}\`: a pool of Python workers under steady mixed load (echo, CPU work, slow calls, Python errors; no deliberate crashes: a crash is an incident, and the default rules alert on any) with the whole monitoring stack of \`createMonitoring\` (collector, resource monitor, HTTP server${r.alertManager ? ', alert manager' : ''}), sampled every ${p.intervalMs / 1000} s.`, '');
  out.push(`**Verdict: ${a.verdict === 'pass' ? 'PASS' : 'FAIL'}**${a.failures.length ? ` — ${a.failures.join('; ')}` : ' — no component grows after the warm-up, query latency holds, no alert at steady state, every call settled.'}`, '');

  out.push('## Run', '');
  out.push('| parameter | value |', '|---|---|');
  out.push(`| started | ${p.startedAt} |`);
  out.push(`| duration | ${durationText(p.durationMs)} (${samples.length} samples) |`);
  out.push(`| sampling interval | ${p.intervalMs / 1000} s${p.gc ? ', each after a forced GC (`--expose-gc`)' : ' (no forced GC: heap figures include garbage)'} |`);
  out.push(`| warm-up (not judged) | ${fmtMin(p.warmupMs)} min |`);
  out.push(`| load | ${p.opsPerS} calls/s target, LoadGenerator defaults without crashes (0.5 % Python errors, 5 % slow, 10 % CPU) |`);
  out.push(`| pool | ${p.poolSize} workers |`);
  out.push(`| Node | ${p.node} |`);
  out.push(`| machine | ${p.machine} |`);
  out.push('');
  const settled = end.ok + end.failed;
  out.push(`Calls: ${end.sent.toLocaleString('en-US')} sent, ${end.ok.toLocaleString('en-US')} ok, ${end.failed.toLocaleString('en-US')} failed (the synthetic Python errors), ${(end.sent - settled).toLocaleString('en-US')} unsettled, ${end.skipped.toLocaleString('en-US')} skipped (in-flight cap). The pool ended with ${end.poolWorkers}/${end.poolSize} workers.`, '');

  out.push('## Memory growth per component', '');
  out.push(`Least-squares line over the samples after the warm-up. A component fails the run when its slope is significant (r² ≥ ${GROWTH_R2}), beyond its bound per hour, and its fitted rise exceeds the noise floor; the collector is judged against its designed bound at every sample, and on its slope only once its longest window has filled (${COLLECTOR_FILL_MS / 60_000} min).`, '');
  out.push('| component | after warm-up (MB) | slope (MB/h) | r² | verdict | why |', '|---|---|---|---|---|---|');
  for (const g of a.growth) {
    out.push(`| ${g.component} | ${fmtMB(g.firstBytes)} → ${fmtMB(g.lastBytes)} | ${g.bytesPerH === null ? '–' : (g.bytesPerH / MB).toFixed(2)} | ${g.r2 === null ? '–' : g.r2.toFixed(2)} | ${g.verdict} | ${g.reason} |`);
  }
  out.push('');
  out.push(`Bounds: Node heap ${GROWTH_BOUNDS.heap.maxBytesPerH / MB} MB/h (noise floor ${GROWTH_BOUNDS.heap.noiseFloorBytes / MB} MB), RSS ${GROWTH_BOUNDS.rss.maxBytesPerH / MB} MB/h (${GROWTH_BOUNDS.rss.noiseFloorBytes / MB} MB), collector ${GROWTH_BOUNDS.collector.maxBytesPerH / MB} MB/h after its fill, Python worker ${GROWTH_BOUNDS.python.maxBytesPerH / MB} MB/h (${GROWTH_BOUNDS.python.noiseFloorBytes / MB} MB). A Python worker is followed over its final process only: a replacement after a crash starts small again.`, '');

  out.push('## Query latency', '');
  out.push('| query | mean ms, first → last third | slope (ms/h) | r² |', '|---|---|---|---|');
  out.push(trendRow('collector: performance summary + current metrics', a.queryLatency));
  out.push(trendRow('GET /api/snapshot over HTTP', a.snapshotLatency));
  out.push('', `Latency fails the run when it grows significantly (r² ≥ ${GROWTH_R2}), by more than ${LATENCY_BOUND_MS_PER_H} ms/h, and doubles: ${a.latencyGrowing ? '**it does**' : 'it does not'}.`, '');

  out.push('## Alerts', '');
  const steady = end.steadyAlerts.filter((e) => e.kind === 'firing');
  const source = r.alertManager ? 'the alert manager (`monitoring.alerts`) and the `dspex:alert:firing` / `dspex:alert:resolved` channels' : 'the `dspex:alert:firing` / `dspex:alert:resolved` channels (this stack has no alert manager yet: none can fire)';
  out.push(`Read from ${source}. Fired over the run: ${r.alertEvents.filter((e) => e.kind === 'firing').length}; resolved: ${r.alertEvents.filter((e) => e.kind === 'resolved').length}; **fired at steady state (after the warm-up): ${steady.length}** (target: none).`);
  for (const e of steady.slice(0, 20)) out.push(`- ${fmtMin(e.tMs)} min: ${e.name}`);
  out.push('');

  out.push('## Python RSS', '');
  const py = a.growth.filter((g) => g.component.startsWith('python'));
  if (py.length === 0) out.push('No Python worker was sampled.');
  else out.push(py.map((g) => `- ${g.component}: ${fmtMB(g.firstBytes)} → ${fmtMB(g.lastBytes)} MB, ${g.bytesPerH === null ? '–' : (g.bytesPerH / MB).toFixed(2)} MB/h (r² ${g.r2 === null ? '–' : g.r2.toFixed(2)}): ${g.verdict}`).join('\n'));
  out.push('');

  out.push('## Plots', '');
  for (const c of r.charts) out.push(`![${c.title}](${r.chartDir}/${c.file})`, '');

  out.push('## Samples', '');
  const rows = downsample(samples, MAX_TABLE_ROWS);
  out.push(`${rows.length} of ${samples.length} samples. Memory in MB, latency in ms, calls cumulative.`, '');
  out.push('| t (m:ss) | heap | RSS | collector | Python RSS mean / max | query | snapshot | alerts fired / active | sent | ok | failed | health |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of rows) {
    out.push(
      `| ${fmtClock(s.tMs)} | ${fmtMB(s.heapUsedBytes)} | ${fmtMB(s.rssBytes)} | ${fmtMB(s.collectorBytes)} | ${fmtMB(s.pythonRssMeanBytes)} / ${fmtMB(s.pythonRssMaxBytes)} | ${fmtMs(s.queryMs)} | ${fmtMs(s.snapshotMs)} | ${s.alertsFired} / ${s.alertsActive ?? '–'} | ${s.sent} | ${s.ok} | ${s.failed} | ${s.health} |`,
    );
  }
  out.push('');
  return `${out.join('\n')}\n`;
}
