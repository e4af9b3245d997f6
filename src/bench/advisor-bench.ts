/**
 * `dspex bench advisor`: one full analysis (`OptimizationAdvisor.analyze(pool)`: the collector's
 * queries plus every pure analysis) of a pool with 32 workers and 50 commands, after 60 s of
 * recorded operations and 120 RSS points per worker (a leak on one), against a baseline measured
 * in the same run, interleaved: the collector queries alone (what any consumer pays). Target:
 * ≤ 5 ms per full analysis (p99).
 *
 * @module
 */
import { MetricsCollector } from '../metrics/metrics-collector.js';
import { ManualClock } from '../contract/clock.js';
import { OptimizationAdvisor, type AdvisedPool } from '../advisor/optimization-advisor.js';
import type { PoolStatus } from '../contract/pool-status.js';
import type { ResourceSample } from '../contract/resources.js';
import { summarizeSamples, type BenchOptions, type BenchReport, type BenchRow } from './report.js';
import { allocPerCall } from './measure.js';

const POOL = 'bench-advisor';
const WORKERS = 32;
const COMMANDS = 50;

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const iterations = opts.quick ? 100 : 1000;
  const clock = new ManualClock(1_700_000_000_000);
  const collector = new MetricsCollector({ clock, timer: false });
  collector.start();
  const status: PoolStatus = {
    name: POOL,
    lifecycle: 'running',
    size: WORKERS,
    minSize: 1,
    maxSize: 64,
    busy: WORKERS,
    idle: 0,
    starting: 0,
    queueDepth: 12,
    maxQueue: 1000,
    sessions: 0,
    uptimeMs: 60_000,
    workers: Array.from({ length: WORKERS }, (_, id) => ({ id, pid: 1000 + id, state: 'busy' as const, operations: 0, errors: 0, startedAtMs: 0, lastUsedAtMs: null, generation: 0, outputLinesDropped: 0, outputLinesCut: 0 })),
  };
  const pool: AdvisedPool = { name: POOL, status: () => status };
  collector.trackPool({ name: POOL, options: { maxSize: 64 }, status: () => status });
  // 60 s × 40 operations per worker-second spread over the commands (deterministic).
  let seed = 1;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let s = 0; s < 60; s++) {
    for (let w = 0; w < WORKERS; w++) {
      for (let k = 0; k < 40; k++) {
        const c = (w * 7 + k) % COMMANDS;
        collector.recordOperation({ pool: POOL, command: `cmd_${c}`, sessionId: null, workerId: w, pid: 1000 + w, timestampMs: clock.nowMs(), queueWaitNs: rnd() * 5e6, durationNs: (1 + c) * 1e5 * (0.5 + rnd()), ...(rnd() < 0.01 ? { error: new Error('x') } : {}) });
      }
    }
    clock.advance(1000);
    collector.tick();
  }
  const advisor = new OptimizationAdvisor({ collector, pools: [pool] });
  for (let i = 0; i < 120; i++) {
    const python = status.workers.map((w) => ({ pid: w.pid, pool: POOL, workerId: w.id, rssBytes: 50e6 + (w.id === 3 ? i * 500_000 : rnd() * 1e5) }));
    advisor.recordSample({ timestampMs: 1_700_000_000_000 + i * 5000, python } as unknown as ResourceSample);
  }

  const cases = [
    { name: 'full analysis, 32 workers x 50 commands', run: () => advisor.analyze(POOL).length },
    {
      name: 'baseline: the collector queries alone',
      run: () => collector.getPerformanceSummary(POOL).windows['1m'].ops + collector.getCommandMetrics(POOL, '1m').length + collector.getCommandMetrics(POOL, '15m').length + collector.getErrorRates(POOL, '1m').ops,
    },
  ];
  const samples = cases.map(() => [] as number[]);
  let sink = 0;
  let recs = 0;
  for (let i = 0; i < 20; i++) for (const c of cases) sink += c.run();
  for (let i = 0; i < iterations; i++) {
    for (let k = 0; k < cases.length; k++) {
      const idx = (i + k) % cases.length;
      const t0 = performance.now();
      const n = cases[idx]!.run();
      samples[idx]!.push(performance.now() - t0);
      if (idx === 0) recs = n;
      sink += n;
    }
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  // Heap per full analysis (the headline); analyze is synchronous.
  const analysisAlloc = allocPerCall(cases[0]!.run, opts.quick ? 10 : 30, 10);
  collector.stop();
  const stats = samples.map(summarizeSamples);
  const rows: BenchRow[] = cases.map((c, i) => ({ case: c.name, 'runs/s': 1000 / (stats[i]?.mean || Infinity), 'p50 ms': stats[i]?.p50 ?? 0, 'p99 ms': stats[i]?.p99 ?? 0 }));
  const p99 = stats[0]?.p99 ?? 0;
  return {
    name: 'advisor',
    rows,
    headline: { case: `one full analysis, ${WORKERS} workers x ${COMMANDS} commands`, opsPerS: 1000 / (stats[0]?.mean || Infinity), p50Us: (stats[0]?.p50 ?? 0) * 1000, p99Us: p99 * 1000, heapBytesPerOp: analysisAlloc.perCall },
    ratios: { analysis_vs_queries_p50: (stats[0]?.p50 ?? 0) / (stats[1]?.p50 || Infinity) },
    targets: { 'full analysis 32 workers x 50 commands, p99 ms': { target: '<= 5', value: p99, pass: p99 <= 5 } },
    extra: { iterations, recommendations: recs, analysisAlloc, sink },
  };
}
