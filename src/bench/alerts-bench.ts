/**
 * `dspex bench alerts`: one evaluation cycle of the AlertManager (`evaluate(now)`) with 100 rules
 * over 4 pools (60 s of recorded operations each, 4 worker processes per pool in the resource
 * sample): thresholds on pool, node and python signals, dynamic thresholds, rates and anomaly
 * rules, so every series has its baseline ring. Against a baseline measured in the same run,
 * interleaved: the collector queries alone (one performance summary per pool, what any consumer
 * pays). Target: ≤ 1 ms per cycle (p99). Also the bytes allocated per cycle (heap growth between
 * collections, median over batches).
 *
 * @module
 */
import { MetricsCollector } from '../metrics/metrics-collector.js';
import { ManualClock } from '../contract/clock.js';
import type { PoolStatus } from '../contract/pool-status.js';
import type { ResourceSample } from '../contract/resources.js';
import { AlertManager } from '../alerts/alert-manager.js';
import type { AlertRule } from '../alerts/rule-types.js';
import type { SignalName } from '../alerts/signals.js';
import { summarizeSamples, type BenchOptions, type BenchReport, type BenchRow } from './report.js';
import { allocPerCall, gcFunction } from './measure.js';

const POOLS = 4;
const WORKERS = 4;
const RULES = 100;

function status(name: string): PoolStatus {
  return {
    name,
    lifecycle: 'running',
    size: WORKERS,
    minSize: 2,
    maxSize: 8,
    busy: 2,
    idle: 2,
    starting: 0,
    queueDepth: 3,
    maxQueue: 100,
    sessions: 0,
    uptimeMs: 60_000,
    workers: Array.from({ length: WORKERS }, (_, id) => ({ id, pid: 1000 + id, state: 'busy' as const, operations: 0, errors: 0, startedAtMs: 0, lastUsedAtMs: null, generation: 0, outputLinesDropped: 0, outputLinesCut: 0 })),
  };
}

function sample(names: readonly string[], t: number): ResourceSample {
  return {
    timestampMs: t,
    node: { pid: 1, rssBytes: 2e8, heapUsedBytes: 5e7, heapTotalBytes: 8e7, heapLimitBytes: 4e9, externalBytes: 0, arrayBuffersBytes: 0, eventLoopDelayUs: { p50: 1000, p99: 5000, max: 9000, mean: 1200 }, eventLoopUtilization: 0.2, gcCount: 0, gcPauseMs: 0, activeHandles: 5, activeRequests: 0, cpuPercent: 20, uptimeMs: 60_000 },
    system: { cpuCount: 2, totalMemBytes: 8e9, freeMemBytes: 4e9, loadAvg: [1, 1, 1] },
    python: names.flatMap((pool, p) =>
      Array.from({ length: WORKERS }, (_, w) => ({
        pid: 2000 + p * 10 + w, pool, workerId: w, runId: 'r', orphan: false, state: 'S', cpuPercent: 10, rssBytes: 6e7 + w * 1e6, vmsBytes: 1e8, threads: 2, openFds: 20,
        startedAtMs: 0, ageMs: 60_000, restarts: 0, rssSlopeBytesPerS: 10, cpuSeconds: 1, zombieChildPids: [],
      })),
    ),
    vanished: [],
    warnings: [],
    orphanedDescendants: [],
  };
}

/** 100 rules: every kind, over pool, node and python signals (each rule reads all 4 pools). */
function rules(): AlertRule[] {
  const poolSignals: SignalName[] = ['pool.errorRate', 'pool.throughputPerS', 'pool.latencyP50Us', 'pool.latencyP99Us', 'pool.queueWaitP99Us', 'pool.utilization', 'pool.healthScore', 'pool.workerCrashesPerMin', 'pool.queueDepth', 'pool.queueFillRatio'];
  const windows = ['1m', '5m', '15m'] as const;
  const out: AlertRule[] = [];
  for (let i = 0; i < RULES; i++) {
    const signal = poolSignals[i % poolSignals.length]!;
    const window = windows[i % 3]!;
    const name = `BenchRule${i}`;
    switch (i % 10) {
      case 6:
        out.push({ name, kind: 'threshold', signal: i % 20 === 6 ? 'python.rssBytes' : 'python.openFds', op: '>', value: 1e12, forMs: 60_000 });
        break;
      case 7:
        out.push({ name, kind: 'anomaly', signal, window, minSamples: 20 });
        break;
      case 8:
        out.push({ name, kind: 'dynamic', signal, window, op: '>', multiple: 3, minSamples: 10 });
        break;
      case 9:
        out.push({ name, kind: 'rate', signal, window, mode: i % 20 === 9 ? 'ratio' : 'perSecond', op: '>', value: 3, overMs: 300_000 });
        break;
      case 5:
        out.push({ name, kind: 'threshold', signal: i % 20 === 5 ? 'node.heapUsedRatio' : 'node.eventLoopDelayP99Ms', op: '>', value: 1e9 });
        break;
      default:
        out.push({ name, kind: 'threshold', signal, window, op: '>', value: 1e12, forMs: 30_000, annotations: { summary: '{{pool}} {{value}}' } });
    }
  }
  return out;
}

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const cycles = opts.quick ? 300 : 3000;
  const clock = new ManualClock(1_700_000_000_000);
  const collector = new MetricsCollector({ clock, timer: false });
  collector.start();
  const names = Array.from({ length: POOLS }, (_, i) => `bench-alerts-${i}`);
  const statuses = names.map(status);
  names.forEach((name, i) => collector.trackPool({ name, options: { maxSize: 8 }, status: () => statuses[i]! }));
  let seed = 1;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let s = 0; s < 60; s++) {
    for (const pool of names) {
      for (let k = 0; k < 50; k++) {
        collector.recordOperation({ pool, command: `cmd_${k % 5}`, sessionId: null, workerId: k % WORKERS, pid: 1000 + (k % WORKERS), timestampMs: clock.nowMs(), queueWaitNs: rnd() * 2e6, durationNs: 1e6 * (0.5 + rnd()), ...(rnd() < 0.02 ? { error: new Error('x') } : {}) });
      }
    }
    clock.advance(1000);
    collector.tick();
  }
  let resources = sample(names, clock.nowMs());
  const alertClock = new ManualClock(clock.nowMs());
  const manager = new AlertManager({ collector, resources: { getResources: () => resources }, pools: names.map((name, i) => ({ name, status: () => statuses[i]! })), rules: rules(), clock: alertClock });
  if (manager.ruleErrors().length > 0) throw new Error(`bench rules invalid: ${manager.ruleErrors()[0]!.error.message}`);
  let t = alertClock.nowMs();
  let transitions = 0;
  const cases = [
    {
      name: `evaluate: ${RULES} rules x ${POOLS} pools`,
      run: () => {
        t += 5000;
        return manager.evaluate(t).length;
      },
    },
    { name: 'baseline: one performance summary per pool', run: () => names.reduce((acc, n) => acc + collector.getPerformanceSummary(n).windows['1m'].ops, 0) },
  ];
  const samples = cases.map(() => [] as number[]);
  // Warm up past every baseline's minSamples.
  for (let i = 0; i < 40; i++) for (const c of cases) c.run();
  for (let i = 0; i < cycles; i++) {
    for (let k = 0; k < cases.length; k++) {
      const idx = (i + k) % cases.length;
      const t0 = performance.now();
      const n = cases[idx]!.run();
      samples[idx]!.push(performance.now() - t0);
      if (idx === 0) transitions += n;
    }
    if (i % 50 === 49) {
      resources = sample(names, clock.nowMs());
      await new Promise((r) => setImmediate(r));
    }
  }
  // Allocation: nothing else runs between the two measurements; see allocPerCall.
  const batches = opts.quick ? 20 : 100;
  const evalAlloc = allocPerCall(cases[0]!.run, batches, 20);
  const baseAlloc = allocPerCall(cases[1]!.run, batches, 20);
  collector.stop();
  const stats = samples.map(summarizeSamples);
  const alloc = evalAlloc.perCall;
  const allocBase = baseAlloc.perCall;
  const rows: BenchRow[] = cases.map((c, i) => ({ case: c.name, 'cycles/s': 1000 / (stats[i]?.mean || Infinity), 'p50 ms': stats[i]?.p50 ?? 0, 'p99 ms': stats[i]?.p99 ?? 0, 'bytes/cycle': i === 0 ? alloc : allocBase }));
  const p99 = stats[0]?.p99 ?? 0;
  const series = manager.listRules().length;
  return {
    name: 'alerts',
    rows,
    ratios: {
      evaluate_vs_queries_p50: (stats[0]?.p50 ?? 0) / (stats[1]?.p50 || Infinity),
      evaluate_vs_queries_p99: (stats[0]?.p99 ?? 0) / (stats[1]?.p99 || Infinity),
      evaluate_vs_queries_bytes: alloc / (allocBase || Infinity),
    },
    headline: {
      case: `one evaluation cycle, ${RULES} rules x ${POOLS} pools`,
      opsPerS: 1000 / (stats[0]?.mean || Infinity),
      p50Us: (stats[0]?.p50 ?? 0) * 1000,
      p99Us: p99 * 1000,
      heapBytesPerOp: alloc,
    },
    targets: { [`evaluate ${RULES} rules x ${POOLS} pools, p99 ms`]: { target: '<= 1', value: p99, pass: p99 <= 1 } },
    extra: { cycles, rules: series, transitions, allocBytesPerCycle: alloc, allocBatches: evalAlloc.batches, baselineAllocBytesPerCycle: allocBase, baselineAllocBatches: baseAlloc.batches },
    notes: [
      'bytes/cycle: V8 heapUsed growth over batches of 20 cycles plus what collections inside a batch freed (src/bench/measure.ts), median of the batches' + (gcFunction() !== null ? ' (each batch starts after a full collection)' : ' (no gc() here: batches start wherever the heap is)'),
      'baseline: what any consumer of the collector pays for the same pools (every window, with the Python / bridge split); the evaluation reads only the windows its rules name, without the split',
    ],
  };
}
