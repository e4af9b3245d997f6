/**
 * `dspex bench resources`: what one ResourceMonitor sampling tick costs with many Python workers,
 * and whether it stalls the event loop.
 *
 * Setup: N idle Python processes (64; 16 with `--quick`; `--procs N` to choose) started with the
 * worker argv (`<tmp>/dspex_worker.py --dspex-run-id=<this pid>.<hex> --dspex-worker-id=i`, via
 * the real interpreter, not a pyenv shim), listed by a stand-in pool, plus whatever else runs on the
 * machine (the orphan scan reads every process's argv).
 *
 * 1. Tick cost, interleaved round by round (the loop yields between cases):
 *    - `full`: a monitor with the pool and the process scan (the default configuration);
 *    - `pool-only`: the same without the scan (`scanProcesses: false`);
 *    - `node-only`: no pool, no scan: Node and system figures only (the 0-process baseline);
 *    - `stat-only`: just reading and parsing /proc/PID/stat of each of the N pids (the floor of
 *      any per-process sampling).
 * 2. Event-loop stall: a monitor with its own timer ticking every 50 ms for a while, with a
 *    separate 1 ms-resolution delay histogram watching the loop: the max delay is the worst stall
 *    a tick caused (plus any unrelated noise on a shared machine).
 *
 * Everything started is ended afterwards (stdin EOF, then SIGKILL for stragglers).
 *
 * @module
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { ResourceMonitor } from '../resources/resource-monitor.js';
import type { ResourcePoolSource, ResourcePoolWorker } from '../resources/process-discovery.js';
import { ProcReader, identifyWorker } from '../resources/proc.js';
import { subscribe } from '../telemetry/telemetry.js';
import { quantileSorted, type BenchOptions, type BenchReport, type BenchRow } from './report.js';
import { allocPerCall } from './measure.js';

const IDLE_WORKER = 'import sys\nsys.stdin.read()\n';

function summarize(name: string, procs: number, ms: number[]): BenchRow {
  const s = [...ms].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return { case: name, procs, ticks: s.length, p50Ms: quantileSorted(s, 0.5), p99Ms: quantileSorted(s, 0.99), maxMs: s[s.length - 1] ?? 0, meanMs: mean, ticksPerS: mean > 0 ? 1000 / mean : 0 };
}

const yieldLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`bench resources: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const n = Number(opts.flags['procs'] ?? (opts.quick ? 16 : 64));
  const rounds = Number(opts.flags['ticks'] ?? (opts.quick ? 40 : 300));
  const stallMs = opts.quick ? 1000 : 5000;
  const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'dspex-bench-res-'));
  const script = join(dir, 'dspex_worker.py');
  writeFileSync(script, IDLE_WORKER);
  const runId = `${process.pid}.${randomBytes(6).toString('hex')}`;
  const children: ChildProcess[] = [];
  const reader = new ProcReader();
  const monitors: ResourceMonitor[] = [];
  try {
    for (let i = 0; i < n; i++) {
      children.push(spawn(python, ['-u', script, `--dspex-run-id=${runId}`, `--dspex-worker-id=${i}`], { stdio: ['pipe', 'ignore', 'ignore'] }));
    }
    const pids = children.map((c) => c.pid ?? 0).filter((p) => p > 0);
    await waitFor(() => pids.every((pid) => { const c = reader.readCmdline(pid); return c.ok && identifyWorker(c.value)?.runId === runId; }), 60_000, 'the Python processes to start');
    const workers: ResourcePoolWorker[] = pids.map((pid, i) => ({ id: i, pid, state: 'idle', generation: 0 }));
    const pool: ResourcePoolSource = { name: 'bench', status: () => ({ workers }) };
    const systemProcs = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;

    const full = new ResourceMonitor({ pools: [pool], intervalMs: 60_000 });
    const poolOnly = new ResourceMonitor({ pools: [pool], intervalMs: 60_000, scanProcesses: false });
    const nodeOnly = new ResourceMonitor({ intervalMs: 60_000, scanProcesses: false });
    monitors.push(full, poolOnly, nodeOnly);
    let listed = 0;
    const cases: { name: string; procs: number; tick: () => void; ms: number[] }[] = [
      { name: 'full (pool + scan)', procs: n, tick: () => void (listed = full.sampleNow().python.length), ms: [] },
      { name: 'pool-only (no scan)', procs: n, tick: () => void poolOnly.sampleNow(), ms: [] },
      { name: 'node-only (0 procs)', procs: 0, tick: () => void nodeOnly.sampleNow(), ms: [] },
      { name: 'stat-only', procs: n, tick: () => { for (const pid of pids) reader.readStat(pid); }, ms: [] },
    ];
    for (const c of cases) for (let i = 0; i < 3; i++) c.tick(); // warm up
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < cases.length; k++) {
        const c = cases[(r + k) % cases.length]!;
        const t0 = performance.now();
        c.tick();
        c.ms.push(performance.now() - t0);
        await yieldLoop();
      }
    }
    if (listed < n) throw new Error(`bench resources: the monitor listed ${listed} of ${n} processes`);
    // Heap per full tick (the headline): sampleNow is synchronous, so nothing else runs in a batch.
    const tickAlloc = allocPerCall(cases[0]!.tick, opts.quick ? 10 : 30, 5);

    // Event-loop stall under a timer-driven monitor.
    const eld = monitorEventLoopDelay({ resolution: 1 });
    const timed = new ResourceMonitor({ pools: [pool], intervalMs: 50 });
    monitors.push(timed);
    const tickMs: number[] = [];
    const unsubscribe = subscribe('dspex:resource:sample', (ev) => void tickMs.push(ev.sample.sampleDurationMs ?? 0));
    const eldBaseline = monitorEventLoopDelay({ resolution: 1 });
    eldBaseline.enable();
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, stallMs)));
    eldBaseline.disable();
    eld.enable();
    timed.start();
    const stallStart = performance.now();
    await waitFor(() => performance.now() - stallStart >= stallMs, stallMs + 5000, 'the stall phase');
    timed.stop();
    unsubscribe();
    eld.disable();
    const stallMaxMs = Math.max(0, eld.max / 1e6 - 1);
    const idleMaxMs = Math.max(0, eldBaseline.max / 1e6 - 1);

    const rows = cases.map((c) => summarize(c.name, c.procs, c.ms));
    const [fullRow, poolRow, nodeRow, statRow] = rows;
    const p50 = (row: BenchRow | undefined): number => Number(row?.['p50Ms'] ?? 0);
    const p99 = (row: BenchRow | undefined): number => Number(row?.['p99Ms'] ?? 0);
    rows.push(summarize('full, timer-driven every 50 ms', n, tickMs));
    rows.push({ case: 'event-loop delay max, monitor every 50 ms', procs: n, maxMs: stallMaxMs });
    rows.push({ case: 'event-loop delay max, no monitor (noise)', procs: 0, maxMs: idleMaxMs });
    return {
      name: 'resources',
      rows,
      headline: {
        case: `one sampling tick, ${n} Python processes (pool + scan)`,
        opsPerS: Number(fullRow?.['ticksPerS'] ?? 0) || null,
        p50Us: p50(fullRow) * 1000,
        p99Us: p99(fullRow) * 1000,
        heapBytesPerOp: tickAlloc.perCall,
      },
      ratios: {
        full_vs_node_only_p50: p50(nodeRow) > 0 ? p50(fullRow) / p50(nodeRow) : 0,
        full_vs_stat_only_p50: p50(statRow) > 0 ? p50(fullRow) / p50(statRow) : 0,
        scan_share_p50: p50(fullRow) > 0 ? Math.max(0, p50(fullRow) - p50(poolRow)) / p50(fullRow) : 0,
      },
      targets: {
        [`tick p99 with ${n} Python processes`]: { target: '<= 10 ms', value: p99(fullRow), pass: p99(fullRow) <= 10 },
        'max event-loop stall while sampling': { target: '<= 10 ms', value: stallMaxMs, pass: stallMaxMs <= 10 },
      },
      extra: { procs: n, rounds, systemProcesses: systemProcs, python, tickAlloc },
    };
  } finally {
    for (const m of monitors) m.stop();
    for (const c of children) c.stdin?.end();
    const alive = (): ChildProcess[] => children.filter((c) => c.exitCode === null && c.signalCode === null);
    try {
      await waitFor(() => alive().length === 0, 5000, 'the Python processes to exit');
    } catch {
      for (const c of alive()) c.kill('SIGKILL');
      await waitFor(() => alive().length === 0, 5000, 'the Python processes to die').catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
