/**
 * `dspex bench exporters`: what a Prometheus scrape and a monitoring snapshot cost.
 *
 * A real {@link MetricsCollector} (manual clock, no timer) is fed operations directly; pools are
 * plain status sources and the resource sample is a fixed object, so no Python process runs. Cases,
 * interleaved round by round (the order rotates):
 *
 * - scrape (collect + render) of a small setup (1 pool, 4 workers, 2 commands) and a large one
 *   (4 pools × 32 workers × 64 commands: the collector's caps), after 10 000 events;
 * - the large scrape again after 10× the events: the cost must not grow with events (O(series));
 * - `buildSnapshot` of the large setup (what each SSE tick and `/api/snapshot` costs);
 * - baseline: prom-client rendering a Gauge with as many series as the large scrape has lines.
 *
 * @module
 */
import { Gauge, Registry } from 'prom-client';
import { ManualClock } from '../contract/clock.js';
import { MetricsCollector } from '../metrics/metrics-collector.js';
import type { PoolStatus, WorkerState } from '../contract/pool-status.js';
import type { PythonProcessResources, ResourceSample } from '../contract/resources.js';
import { renderMetrics } from '../exporters/prometheus.js';
import { buildSnapshot } from '../exporters/snapshot.js';
import type { MonitoringSources } from '../exporters/sources.js';
import { summarizeSamples, type BenchOptions, type BenchReport, type BenchRow } from './report.js';
import { allocPerCall } from './measure.js';

interface Setup {
  sources: MonitoringSources;
  collector: MetricsCollector;
  clock: ManualClock;
  feed(events: number): void;
}

function status(name: string, workers: number): PoolStatus {
  const states: WorkerState[] = ['idle', 'busy', 'busy', 'starting'];
  return {
    name,
    lifecycle: 'running',
    size: workers,
    minSize: 1,
    maxSize: workers,
    busy: 0,
    idle: 0,
    starting: 0,
    queueDepth: 2,
    maxQueue: 1000,
    sessions: 10,
    uptimeMs: 60_000,
    workers: Array.from({ length: workers }, (_, id) => ({ id, pid: 10_000 + id, state: states[id % 4]!, operations: 0, errors: 0, startedAtMs: 0, lastUsedAtMs: null, generation: 0, outputLinesDropped: 0, outputLinesCut: 0 })),
  };
}

function pyProcs(pools: string[], workers: number): PythonProcessResources[] {
  return pools.flatMap((pool, p) =>
    Array.from({ length: workers }, (_, id) => ({
      pid: 20_000 + p * 100 + id,
      pool,
      workerId: id,
      runId: 'bench',
      orphan: false,
      state: 'S',
      cpuPercent: 3,
      rssBytes: 50e6 + id,
      vmsBytes: 300e6,
      threads: 2,
      openFds: 7,
      startedAtMs: 1,
      ageMs: 1000,
      restarts: 0,
      rssSlopeBytesPerS: null,
      cpuSeconds: 1.5,
    })),
  );
}

function setup(pools: number, workers: number, commands: number): Setup {
  const clock = new ManualClock(1_700_000_000_000);
  const collector = new MetricsCollector({ clock, timer: false });
  const names = Array.from({ length: pools }, (_, i) => `bench-exp-${pools}-${i}`);
  const cmds = Array.from({ length: commands }, (_, i) => `module.command_${i}`);
  const statuses = names.map((n) => status(n, workers));
  const sample: ResourceSample = {
    timestampMs: 0,
    node: {
      pid: process.pid,
      rssBytes: 1,
      heapUsedBytes: 1,
      heapTotalBytes: 1,
      heapLimitBytes: 1,
      externalBytes: 1,
      arrayBuffersBytes: 1,
      eventLoopDelayUs: { p50: 1, p99: 1, max: 1, mean: 1 },
      eventLoopUtilization: 0.1,
      gcCount: 0,
      gcPauseMs: 0,
      activeHandles: 3,
      activeRequests: 0,
      cpuPercent: 10,
      uptimeMs: 1,
    },
    system: { cpuCount: 2, totalMemBytes: 1, freeMemBytes: 1, loadAvg: [0, 0, 0] },
    python: pyProcs(names, workers),
    vanished: [],
    warnings: [],
  };
  let n = 0;
  const feed = (events: number): void => {
    for (let i = 0; i < events; i++, n++) {
      collector.recordOperation({
        pool: names[n % pools]!,
        command: cmds[(Math.floor(n / pools) * 7) % commands]!,
        sessionId: null,
        workerId: n % workers,
        pid: 0,
        timestampMs: clock.nowMs(),
        queueWaitNs: (n % 13) * 10_000,
        durationNs: 200_000 + ((n * 7919) % 50_000_000),
        error: n % 50 === 0 ? new Error('x') : undefined,
      });
      if (n % 1000 === 999) {
        clock.advance(1000);
        collector.tick();
      }
    }
  };
  const sources: MonitoringSources = {
    collector,
    pools: names.map((name, i) => ({ name, status: () => statuses[i]! })),
    resources: { getResources: () => sample },
  };
  return { sources, collector, clock, feed };
}

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const iterations = opts.quick ? 30 : 300;
  const warmup = opts.quick ? 5 : 30;
  const small = setup(1, 4, 2);
  const large = setup(4, 32, 64);
  const largeMany = setup(4, 32, 64);
  small.feed(10_000);
  large.feed(10_000);
  largeMany.feed(100_000);
  const largeLines = renderMetrics(large.sources).split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;

  const registry = new Registry();
  const gauge = new Gauge({ name: 'bench_series', help: 'Baseline.', labelNames: ['pool', 'command', 'le'], registers: [registry] });
  for (let i = 0; i < largeLines; i++) gauge.set({ pool: `p${i % 4}`, command: `c${i % 64}`, le: String(i) }, i);

  const cases: { name: string; run: () => Promise<number> | number }[] = [
    { name: 'scrape: 1 pool, 4 workers, 2 commands', run: () => renderMetrics(small.sources).length },
    { name: 'scrape: 4 pools x 32 workers x 64 commands', run: () => renderMetrics(large.sources).length },
    { name: 'scrape: same, after 10x the events', run: () => renderMetrics(largeMany.sources).length },
    { name: 'snapshot 1m: 4 pools x 32 workers', run: () => JSON.stringify(buildSnapshot(large.sources, '1m')).length },
    { name: `baseline: prom-client gauge, ${largeLines} series`, run: async () => (await registry.metrics()).length },
  ];
  const samples = cases.map(() => [] as number[]);
  const bytes = cases.map(() => 0);
  for (let i = 0; i < warmup; i++) for (const c of cases) await c.run();
  for (let i = 0; i < iterations; i++) {
    for (let k = 0; k < cases.length; k++) {
      const idx = (i + k) % cases.length;
      const t0 = performance.now();
      const b = await cases[idx]!.run();
      samples[idx]!.push(performance.now() - t0);
      bytes[idx] = b;
    }
  }
  // Heap per large scrape (the headline); renderMetrics is synchronous.
  const scrapeAlloc = allocPerCall(() => renderMetrics(large.sources).length, opts.quick ? 10 : 30, 2);
  const stats = samples.map(summarizeSamples);
  const rows: BenchRow[] = cases.map((c, i) => ({
    case: c.name,
    'ops/s': 1000 / (stats[i]!.mean || Infinity),
    'p50 ms': stats[i]!.p50,
    'p99 ms': stats[i]!.p99,
    bytes: bytes[i]!,
  }));
  const s = (i: number) => stats[i]!;
  const largeP99 = s(1).p99;
  for (const x of [small, large, largeMany]) x.collector.stop();
  return {
    name: 'exporters',
    rows,
    headline: { case: 'one scrape, 4 pools x 32 workers x 64 commands', opsPerS: 1000 / (s(1).mean || Infinity), p50Us: s(1).p50 * 1000, p99Us: largeP99 * 1000, heapBytesPerOp: scrapeAlloc.perCall },
    ratios: {
      scrape_large_10x_events_vs_large_p50: s(2).p50 / (s(1).p50 || Infinity),
      scrape_large_vs_promclient_same_series_p50: s(1).p50 / (s(4).p50 || Infinity),
      scrape_large_vs_small_p50: s(1).p50 / (s(0).p50 || Infinity),
    },
    targets: {
      'scrape 4x32x64, p99 ms': { target: '<= 50', value: largeP99, pass: largeP99 <= 50 },
      'scrape cost with 10x events, p50 ratio': { target: '<= 1.5', value: s(2).p50 / (s(1).p50 || Infinity), pass: s(2).p50 / (s(1).p50 || Infinity) <= 1.5 },
    },
    extra: { iterations, warmup, largeSeries: largeLines, scrapeAlloc },
  };
}
