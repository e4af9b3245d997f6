/**
 * `dspex bench queries`: what the consumers of the pipeline pay to read it. A collector on a
 * manual clock is filled with 16 minutes of operations (every per-second window and per-minute
 * ring full and wrapped; 8 commands, 8 worker slots, 2% errors), then each query of the API the
 * dashboards, alerts, advisor and Prometheus use is timed call by call: p50, p99 and the heap it
 * allocates per call (src/bench/measure.ts). The whole snapshot the monitoring server sends
 * (`buildSnapshot`, `/api/snapshot`) is timed the same way.
 *
 * Targets: a current snapshot of one pool ≤ 1 ms, a 15-minute per-second range ≤ 5 ms (the
 * web dashboard asks for these once a second), the whole server snapshot of one pool ≤ 5 ms.
 *
 * @module
 */
import { ManualClock } from '../contract/clock.js';
import { MetricsCollector } from '../metrics/metrics-collector.js';
import { buildSnapshot } from '../exporters/snapshot.js';
import type { OperationContext } from '../telemetry/telemetry.js';
import { prng } from '../util/prng.js';
import { allocPerCall } from './measure.js';
import { progressLine, quantileSorted, type BenchOptions, type BenchReport, type BenchRow } from './report.js';

const POOL = 'bench-queries';
const COMMANDS = ['embed', 'predict', 'tokenize', 'classify', 'summarize', 'translate', 'score', 'rerank'];

/** A collector holding `seconds` of `perSecond` operations each (seeded, log-normal durations). */
export function filledCollector(seconds: number, perSecond: number): { collector: MetricsCollector; clock: ManualClock } {
  const clock = new ManualClock(1_700_000_040_000);
  const collector = new MetricsCollector({ clock });
  const r = prng(7);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const failure = new Error('failed');
  const ctx: OperationContext = { pool: POOL, command: '', sessionId: null, workerId: 0, pid: 1, timestampMs: clock.nowMs(), queueWaitNs: 0, durationNs: 0 };
  for (let s = 0; s < seconds; s++) {
    for (let i = 0; i < perSecond; i++) {
      ctx.command = COMMANDS[Math.floor(r() * r() * COMMANDS.length)]!;
      ctx.workerId = Math.floor(r() * 8);
      ctx.durationNs = 2e6 * Math.exp(normal());
      ctx.queueWaitNs = r() < 0.6 ? 0 : 300e3 * Math.exp(normal());
      ctx.error = r() < 0.02 ? failure : undefined;
      collector.recordOperation(ctx);
    }
    clock.advance(1000);
    collector.tick();
  }
  return { collector, clock };
}

/** p50 / p99 in µs of `reps` single calls of `fn` (after a few to warm up). */
function timeEach(fn: () => unknown, reps: number): { p50Us: number; p99Us: number; meanUs: number } {
  for (let i = 0; i < Math.min(20, reps); i++) fn();
  const us = new Float64Array(reps);
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    us[i] = (performance.now() - t0) * 1000;
  }
  const mean = us.reduce((a, b) => a + b, 0) / reps;
  us.sort();
  return { p50Us: quantileSorted(us, 0.5), p99Us: quantileSorted(us, 0.99), meanUs: mean };
}

/** Run the benchmark (synchronous work: nothing here waits on I/O). */
export function run(opts: BenchOptions): Promise<BenchReport> {
  return Promise.resolve(measure(opts));
}

function measure(opts: BenchOptions): BenchReport {
  const progress = progressLine('queries');
  progress.update('filling 16 minutes of windows');
  const perSecond = opts.quick ? 100 : 1000;
  const { collector, clock } = filledCollector(960, perSecond);
  const now = clock.nowMs();
  const reps = opts.quick ? 100 : 1000;
  const sources = { collector };
  const queries: [string, () => unknown][] = [
    ['getCurrentMetrics', () => collector.getCurrentMetrics(POOL)],
    ['getPerformanceSummary', () => collector.getPerformanceSummary(POOL)],
    ['getWindowSummary 1m', () => collector.getWindowSummary(POOL, '1m')],
    ['getMetricsRange 15 min (per second)', () => collector.getMetricsRange(POOL, now - 900_000, now)],
    ['getMetricsRange 1 h (per minute)', () => collector.getMetricsRange(POOL, now - 3_600_000, now)],
    ['getCommandMetrics 5m', () => collector.getCommandMetrics(POOL, '5m')],
    ['getWorkerMetrics 1m (one slot)', () => collector.getWorkerMetrics(POOL, 3, '1m')],
    ['getLatencyHistogram (Prometheus)', () => collector.getLatencyHistogram(POOL, 'operation')],
    ['buildSnapshot 1m (/api/snapshot)', () => buildSnapshot(sources, '1m', now)],
    ['buildSnapshot 1m, newest 2 points (web page)', () => buildSnapshot(sources, '1m', now, 2)],
  ];
  const rows: BenchRow[] = [];
  const figures: Record<string, { p50Us: number; p99Us: number; meanUs: number; heapBytesPerCall: number }> = {};
  for (const [name, fn] of queries) {
    progress.update(name);
    const t = timeEach(fn, reps);
    const heap = allocPerCall(fn, opts.quick ? 3 : 10, opts.quick ? 10 : 50).perCall;
    figures[name] = { ...t, heapBytesPerCall: heap };
    rows.push({ query: name, 'p50 µs': t.p50Us, 'p99 µs': t.p99Us, 'mean µs': t.meanUs, 'heap B/call': heap });
  }
  progress.done();
  const f = (name: string) => figures[name]!;
  const current = f('getCurrentMetrics');
  const range = f('getMetricsRange 15 min (per second)');
  const snap = f('buildSnapshot 1m (/api/snapshot)');
  return {
    name: 'queries',
    rows,
    ratios: {
      snapshot_vs_current_metrics_p50: snap.p50Us / current.p50Us,
      web_snapshot_vs_full_snapshot_p50: f('buildSnapshot 1m, newest 2 points (web page)').p50Us / snap.p50Us,
    },
    headline: { case: 'getCurrentMetrics of one pool, windows full', opsPerS: 1e6 / current.meanUs, p50Us: current.p50Us, p99Us: current.p99Us, heapBytesPerOp: current.heapBytesPerCall },
    targets: {
      'current snapshot p99, ms': { target: '<= 1', value: current.p99Us / 1e3, pass: current.p99Us <= 1000 },
      '15-minute range p99, ms': { target: '<= 5', value: range.p99Us / 1e3, pass: range.p99Us <= 5000 },
      'server snapshot of one pool p99, ms': { target: '<= 5', value: snap.p99Us / 1e3, pass: snap.p99Us <= 5000 },
    },
    extra: { perSecond, seconds: 960, reps, queries: figures },
    notes: [
      `one collector, 960 s of ${perSecond} operations a second recorded on a manual clock (every window full); each query called ${reps} times, each call timed.`,
      'heap: bytes allocated per call (V8 heap growth plus what collections freed, median over batches), retained or not.',
    ],
  };
}
