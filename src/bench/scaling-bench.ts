/**
 * `dspex bench scaling`: how throughput, p99 and the monitoring cost change with the size of the
 * job.
 *
 * Against bare pipes (src/bench/bare-pipes.ts), in the same run, rounds interleaved with the order
 * flipped each round; a ratio is the median over rounds of pool ÷ bare within the round:
 * - workers 1, 2, 4, 8, 16 (2 callers per worker, so each has one call waiting behind the one in flight);
 * - concurrent callers 1, 4, 16, 64, 256 on 4 workers;
 * - payload 100 B to 10 MB (the JSON of the echo's argument) on 4 workers from 4 callers.
 *
 * The monitoring cost, the full stack of `createMonitoring` (as `bench monitoring` starts it, a
 * scrape every second) against nothing subscribed, on the same pools, arms alternating:
 * - pools 1, 2, 4, 8 of 2 workers, 8 callers spread over them;
 * - workers 1, 4, 16, 64 in one pool, max(8, workers) callers;
 * - distinct command names 1, 10, 100, 500 (functions of a generated Python module) on 2 workers;
 *   past `limits.maxCommands` (64) the collector counts them under one overflow name.
 * Per case: the throughput ratio, Node's CPU per call in each arm (µs, process.cpuUsage: what the
 * stack adds to every call, its ticks included) and Node's CPU while idle (ms per second: the
 * stack's sampling, rotation, rule evaluation and scrape, with no calls at all).
 *
 * `--out DIR` writes the curves as SVG plots to DIR/perf/.
 *
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { SessionPool } from '../pool/session-pool.js';
import { lineChartSvg, type ChartSeries } from '../util/svg.js';
import { BareWorker } from './bare-pipes.js';
import { drive, summarizeRuns, type RunResult } from './closed-loop.js';
import { startStack } from './monitoring-bench.js';
import { median, progressLine, type BenchOptions, type BenchReport, type BenchRow } from './report.js';

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The echo's argument whose JSON is `bytes` long (`{"text":"xx…"}`: 11 bytes of it are the wrapper). */
function payloadOf(bytes: number): { text: string } {
  return { text: 'x'.repeat(Math.max(0, bytes - 11)) };
}



/** One point of a pool-vs-bare curve. */
export interface VersusPoint {
  x: number;
  pool: { opsPerS: number; p50Us: number; p99Us: number; calls: number };
  bare: { opsPerS: number; p50Us: number; p99Us: number; calls: number };
  /** Median over rounds of pool ÷ bare throughput within the round. */
  ratio: number;
}

interface Rig {
  pool: SessionPool;
  bare: BareWorker[];
}

async function startRig(n: number): Promise<Rig> {
  const pool = new SessionPool({ name: `bench-scaling-${n}-${process.pid}`, size: n, healthCheckIntervalMs: 0, logger: silentLogger });
  const bare = Array.from({ length: n }, (_, i) => new BareWorker(i));
  await Promise.all([pool.start(), ...bare.map((b) => b.ready)]);
  return { pool, bare };
}

async function stopRig(r: Rig): Promise<void> {
  await Promise.all([r.pool.stop(), ...r.bare.map((b) => b.stop())]);
}

/** Pool against bare on `rig` from `callers` loops with `args`, `rounds` interleaved rounds. */
async function versus(rig: Rig, x: number, callers: number, args: unknown, roundMs: number, rounds: number): Promise<VersusPoint> {
  const n = rig.bare.length;
  const poolCall = (): Promise<unknown> => rig.pool.executeAnonymous('echo', args);
  const bareCall = (loop: number): Promise<unknown> => rig.bare[loop % n]!.echo(args);
  // Warm both paths at this shape (JIT, pipe buffers).
  await drive(callers, Math.min(200, roundMs), poolCall);
  await drive(callers, Math.min(200, roundMs), bareCall);
  const acc = { pool: [] as RunResult[], bare: [] as RunResult[] };
  const within: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const got: { pool?: RunResult; bare?: RunResult } = {};
    for (const which of r % 2 === 0 ? (['bare', 'pool'] as const) : (['pool', 'bare'] as const)) {
      got[which] = await drive(callers, roundMs, which === 'pool' ? poolCall : bareCall);
      acc[which].push(got[which]);
    }
    within.push(got.pool!.ops / got.pool!.seconds / (got.bare!.ops / got.bare!.seconds));
  }
  return { x, pool: summarizeRuns(acc.pool), bare: summarizeRuns(acc.bare), ratio: median(within) };
}

/** One point of a monitoring-cost curve. */
export interface CostPoint {
  x: number;
  /** Median over rounds of full ÷ none throughput within the round. */
  ratio: number;
  noneOpsPerS: number;
  fullOpsPerS: number;
  /** Node CPU per call, µs, in each arm. */
  noneCpuUsPerCall: number;
  fullCpuUsPerCall: number;
  /** Node CPU while no call runs, ms per second, in each arm. */
  noneIdleMsPerS: number;
  fullIdleMsPerS: number;
}

function cpuUs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** The full stack against nothing on `pools`, calls from `callers` loops; see the module note. */
async function monitoringCost(pools: readonly SessionPool[], x: number, callers: number, call: (loop: number) => Promise<unknown>, roundMs: number, rounds: number, idleMs: number): Promise<CostPoint> {
  await drive(callers, Math.min(200, roundMs), call);
  const warm = await startStack(pools);
  await drive(callers, Math.min(200, roundMs), call);
  await warm.stop();
  const tally = { none: { ops: 0, s: 0, cpu: 0 }, full: { ops: 0, s: 0, cpu: 0 } };
  const within: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const rate: { none?: number; full?: number } = {};
    for (const arm of r % 2 === 0 ? (['none', 'full'] as const) : (['full', 'none'] as const)) {
      // The stack starts before and stops after the timed part: its start-up is not measured.
      const stack = arm === 'full' ? await startStack(pools) : null;
      const c0 = process.cpuUsage();
      const res = await drive(callers, roundMs, call);
      tally[arm].cpu += cpuUs(c0);
      await stack?.stop();
      tally[arm].ops += res.ops;
      tally[arm].s += res.seconds;
      rate[arm] = res.ops / res.seconds;
    }
    within.push(rate.full! / rate.none!);
  }
  const idle = async (arm: 'none' | 'full'): Promise<number> => {
    const stack = arm === 'full' ? await startStack(pools) : null;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const ms = cpuUs(c0) / 1000 / ((performance.now() - t0) / 1000);
    await stack?.stop();
    return ms;
  };
  const fullIdle = await idle('full');
  const noneIdle = await idle('none');
  return {
    x,
    ratio: median(within),
    noneOpsPerS: tally.none.ops / tally.none.s,
    fullOpsPerS: tally.full.ops / tally.full.s,
    noneCpuUsPerCall: tally.none.cpu / tally.none.ops,
    fullCpuUsPerCall: tally.full.cpu / tally.full.ops,
    noneIdleMsPerS: noneIdle,
    fullIdleMsPerS: fullIdle,
  };
}

function makePool(name: string, size: number, extra: { pythonModules?: string[]; pythonPath?: string[] } = {}): SessionPool {
  return new SessionPool({ name: `bench-scaling-${name}-${process.pid}`, size, healthCheckIntervalMs: 0, logger: silentLogger, ...extra });
}

/** A Python module of `count` functions `c0` … `c{count-1}`, each returning its argument. */
export function commandsModule(count: number): string {
  return [
    '"""Generated by dspex bench scaling: distinct command names."""',
    'def _make(i):',
    '    def f(text):',
    '        return text',
    '    f.__name__ = "c%d" % i',
    '    return f',
    `for _i in range(${count}):`,
    '    globals()["c%d" % _i] = _make(_i)',
    '',
  ].join('\n');
}

/** Axis lists: the full run and `--quick`. */
const AXES = {
  full: { workers: [1, 2, 4, 8, 16], callers: [1, 4, 16, 64, 256], payload: [100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000], pools: [1, 2, 4, 8], poolWorkers: [1, 4, 16, 64], commands: [1, 10, 100, 500] },
  quick: { workers: [1, 4], callers: [1, 16], payload: [100, 100_000], pools: [1, 2], poolWorkers: [1, 4], commands: [1, 100] },
} as const;

function versusRow(axis: string, p: VersusPoint): BenchRow {
  return { axis, x: p.x, 'pool ops/s': p.pool.opsPerS, 'bare ops/s': p.bare.opsPerS, ratio: p.ratio, 'pool p50 µs': p.pool.p50Us, 'pool p99 µs': p.pool.p99Us, 'bare p99 µs': p.bare.p99Us, 'pool calls': p.pool.calls };
}

function costRow(axis: string, p: CostPoint): BenchRow {
  return {
    axis,
    x: p.x,
    'none ops/s': p.noneOpsPerS,
    'full ops/s': p.fullOpsPerS,
    ratio: p.ratio,
    'CPU µs/call none': p.noneCpuUsPerCall,
    'CPU µs/call full': p.fullCpuUsPerCall,
    'idle CPU ms/s none': p.noneIdleMsPerS,
    'idle CPU ms/s full': p.fullIdleMsPerS,
  };
}

/** The SVG plots of a run (pure): file name → document. */
export function scalingCharts(v: Record<'workers' | 'callers' | 'payload', readonly VersusPoint[]>, c: Record<'pools' | 'workers' | 'commands', readonly CostPoint[]>): Record<string, string> {
  const out: Record<string, string> = {};
  const xLabels = { workers: 'workers', callers: 'concurrent callers (4 workers)', payload: 'payload, bytes of JSON (4 workers, 4 callers)' } as const;
  for (const axis of ['workers', 'callers', 'payload'] as const) {
    const pts = v[axis];
    const xs = pts.map((p) => p.x);
    const series = (pick: (p: VersusPoint) => number, what: string): ChartSeries[] => [
      { name: `pool ${what}`, xs, ys: pts.map((p) => pick(p)), color: '#1f77b4' },
      { name: `bare pipes ${what}`, xs, ys: pts.map((p) => pick({ ...p, pool: p.bare })), color: '#ff7f0e' },
    ];
    out[`scaling-${axis}-throughput.svg`] = lineChartSvg({ title: `Echo throughput against ${axis}`, xLabel: xLabels[axis], yLabel: 'calls per second', series: series((p) => p.pool.opsPerS, 'ops/s'), xLog: true, yLog: axis === 'payload' });
    out[`scaling-${axis}-p99.svg`] = lineChartSvg({ title: `Echo p99 latency against ${axis}`, xLabel: xLabels[axis], yLabel: 'p99, µs', series: series((p) => p.pool.p99Us, 'p99'), xLog: true, yLog: true });
  }
  const costLabels = { pools: 'pools (2 workers each)', workers: 'workers in one pool', commands: 'distinct command names (2 workers)' } as const;
  for (const axis of ['pools', 'workers', 'commands'] as const) {
    const pts = c[axis];
    const xs = pts.map((p) => p.x);
    out[`monitoring-cost-${axis}.svg`] = lineChartSvg({
      title: `What the full monitoring stack adds to Node's CPU, against ${axis}`,
      xLabel: costLabels[axis],
      yLabel: 'Node CPU per call, µs',
      series: [
        { name: 'full stack', xs, ys: pts.map((p) => p.fullCpuUsPerCall), color: '#d62728' },
        { name: 'nothing subscribed', xs, ys: pts.map((p) => p.noneCpuUsPerCall), color: '#2ca02c' },
      ],
      xLog: true,
    });
  }
  return out;
}

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const roundMs = opts.quick ? 150 : Number(opts.flags['round-ms'] ?? 500);
  const rounds = opts.quick ? 2 : Number(opts.flags['rounds'] ?? 6);
  const idleMs = opts.quick ? 300 : 2000;
  const axes = opts.quick ? AXES.quick : AXES.full;
  const progress = progressLine('scaling');
  const v = { workers: [] as VersusPoint[], callers: [] as VersusPoint[], payload: [] as VersusPoint[] };
  const c = { pools: [] as CostPoint[], workers: [] as CostPoint[], commands: [] as CostPoint[] };

  // Pool against bare: workers, then callers and payload on 4 workers.
  const callersAndPayloadOn = 4;
  const workerList: number[] = [...axes.workers];
  if (!workerList.includes(callersAndPayloadOn)) workerList.push(callersAndPayloadOn);
  for (const n of workerList) {
    progress.update(`pool vs bare, ${n} workers`);
    const rig = await startRig(n);
    try {
      if ((axes.workers as readonly number[]).includes(n)) v.workers.push(await versus(rig, n, 2 * n, payloadOf(100), roundMs, rounds));
      if (n === callersAndPayloadOn) {
        for (const callers of axes.callers) {
          progress.update(`pool vs bare, ${callers} callers`);
          v.callers.push(await versus(rig, callers, callers, payloadOf(100), roundMs, rounds));
        }
        for (const bytes of axes.payload) {
          progress.update(`pool vs bare, ${bytes} B payload`);
          // Large payloads: longer rounds, so each has more than a handful of calls.
          v.payload.push(await versus(rig, bytes, 4, payloadOf(bytes), bytes >= 1_000_000 ? roundMs * 4 : roundMs, rounds));
        }
      }
    } finally {
      await stopRig(rig);
    }
  }

  // The monitoring cost.
  for (const count of axes.pools) {
    progress.update(`monitoring cost, ${count} pools`);
    const pools = Array.from({ length: count }, (_, i) => makePool(`p${count}-${i}`, 2));
    try {
      await Promise.all(pools.map((p) => p.start()));
      c.pools.push(await monitoringCost(pools, count, 8, (loop) => pools[loop % count]!.executeAnonymous('echo', payloadOf(100)), roundMs, rounds, idleMs));
    } finally {
      await Promise.all(pools.map((p) => p.stop()));
    }
  }
  for (const size of axes.poolWorkers) {
    progress.update(`monitoring cost, ${size} workers`);
    const pool = makePool(`w${size}`, size);
    try {
      await pool.start();
      c.workers.push(await monitoringCost([pool], size, Math.max(8, size), () => pool.executeAnonymous('echo', payloadOf(100)), roundMs, rounds, idleMs));
    } finally {
      await pool.stop();
    }
  }
  const dir = mkdtempSync(join(os.tmpdir(), 'dspex-bench-scaling-'));
  try {
    for (const count of axes.commands) {
      progress.update(`monitoring cost, ${count} command names`);
      const mod = `bench_scaling_cmds_${count}`;
      writeFileSync(join(dir, `${mod}.py`), commandsModule(count));
      const pool = makePool(`c${count}`, 2, { pythonModules: [mod], pythonPath: [dir] });
      const names = Array.from({ length: count }, (_, i) => `${mod}.c${i}`);
      let next = 0;
      const arg = { text: 'x'.repeat(80) };
      try {
        await pool.start();
        c.commands.push(await monitoringCost([pool], count, 8, () => pool.executeAnonymous(names[next++ % count]!, arg), roundMs, rounds, idleMs));
      } finally {
        await pool.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  progress.done();

  const ratios: Record<string, number> = {};
  for (const axis of ['workers', 'callers', 'payload'] as const) for (const p of v[axis]) ratios[`pooled_vs_bare_throughput_${axis}_${p.x}`] = p.ratio;
  for (const axis of ['pools', 'workers', 'commands'] as const) for (const p of c[axis]) ratios[`full_monitoring_vs_none_throughput_${axis}_${p.x}`] = p.ratio;
  const versusRows = [...v.workers.map((p) => versusRow('workers', p)), ...v.callers.map((p) => versusRow('callers', p)), ...v.payload.map((p) => versusRow('payload B', p))];
  const costRows = [...c.pools.map((p) => costRow('pools', p)), ...c.workers.map((p) => costRow('workers', p)), ...c.commands.map((p) => costRow('commands', p))];
  const minVersus = Math.min(...[...v.workers, ...v.callers].map((p) => p.ratio));
  const minCost = Math.min(...[...c.pools, ...c.workers, ...c.commands].map((p) => p.ratio));

  const written: string[] = [];
  const outDir = opts.flags['out'];
  if (outDir !== undefined) {
    const perf = join(outDir, 'perf');
    mkdirSync(perf, { recursive: true });
    for (const [file, svg] of Object.entries(scalingCharts(v, c))) {
      writeFileSync(join(perf, file), svg);
      written.push(join(perf, file));
    }
  }
  const h = v.callers.find((p) => p.x === 16) ?? v.callers.at(-1)!;
  return {
    name: 'scaling',
    rows: [...versusRows, ...costRows],
    sections: [
      { title: 'pool against bare pipes (echo; x: workers, callers or payload bytes)', rows: versusRows },
      { title: 'full monitoring stack against nothing subscribed (x: pools, workers or command names)', rows: costRows },
    ],
    ratios: { ...ratios, pooled_vs_bare_throughput_min_workers_callers: minVersus, full_monitoring_vs_none_throughput_min: minCost },
    headline: { case: `pool echo, 4 workers, ${h.x} callers (scaling run)`, opsPerS: h.pool.opsPerS, p50Us: h.pool.p50Us, p99Us: h.pool.p99Us, heapBytesPerOp: null },
    extra: { roundMs, rounds, idleMs, versus: v, cost: c, plots: written },
    notes: [
      `${rounds} rounds of ${roundMs} ms per arm and point (payloads of 1 MB and more: ${roundMs * 4} ms), arms alternating; ratio: median over rounds of the within-round ratio.`,
      'workers axis: 2 callers per worker; callers and payload axes: 4 workers. Payload: bytes of the JSON argument, echoed back (so twice that crosses the pipes).',
      'monitoring cost: createMonitoring({ pools, server: { port: 0 } }) with its defaults and GET /metrics every second, against the same pools with nothing subscribed; CPU is the Node process\'s (process.cpuUsage).',
      ...(written.length > 0 ? [`plots: ${written.join(', ')}`] : []),
    ],
  };
}
