/**
 * `dspex bench monitoring`: what the whole monitoring stack costs a pool, and the original
 * design's per-pool and per-worker targets.
 *
 * 1. Echo throughput and latency of one pool (2 workers, 8 callers, 80-byte payload) with the
 *    full stack of `createMonitoring` (collector, resource monitor, alert manager with the default
 *    rules, advisor, the HTTP server, scraped once a second as a Prometheus would be, harder than
 *    its default 15 s) against the same pool with nothing subscribed. Many short rounds, both arms
 *    in every round in alternating order; the figure is the median over rounds of the within-round
 *    ratio, so the machine's drift moves both sides of a ratio together.
 *    The same for a 1 ms `sleep` call, where a call's own work dwarfs the stack's per-call cost.
 * 2. Bytes the Node heap allocates per call, with and without the stack.
 * 3. Each Python worker's resident memory after the load, and its CPU while the pool idles with
 *    its default health checks on, both read from /proc.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { SessionPool } from '../pool/session-pool.js';
import { createMonitoring, type Monitoring } from '../config/create-monitoring.js';
import { parseStat, parseStatus } from '../resources/proc.js';
import { allocPerOpAsync } from './measure.js';
import { drive, opsPerS, summarizeRuns, type RunResult } from './closed-loop.js';
import { median, progressLine, type BenchOptions, type BenchReport, type BenchRow } from './report.js';

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };
const PAYLOAD = { text: 'x'.repeat(80) };
const CONCURRENCY = 8;
/** Linux's USER_HZ, the unit of utime and stime in /proc/PID/stat. */
const CLOCK_TICKS_PER_S = 100;

type Arm = 'none' | 'full';



/** A call of `command` with `args`: the echo (the worst case: ~45 µs of work) or a 1 ms sleep. */
interface Workload {
  command: string;
  args: unknown;
}
const ECHO: Workload = { command: 'echo', args: PAYLOAD };
const SLEEP_1MS: Workload = { command: 'sleep', args: { ms: 1 } };

/** Calls from {@link CONCURRENCY} callers for `ms`; throughput and every latency in µs. */
function driveWorkload(pool: SessionPool, ms: number, w: Workload = ECHO): Promise<RunResult> {
  return drive(CONCURRENCY, ms, () => pool.executeAnonymous(w.command, w.args));
}

/**
 * The full stack over `pools`, as a service would start it, with a scrape every second; resolves
 * once past its start-up. Also used by `bench scaling` for the monitoring cost curves.
 */
export async function startStack(pools: readonly SessionPool[]): Promise<{ stop(): Promise<void> }> {
  const monitoring: Monitoring = await createMonitoring({ pools: [...pools], server: { port: 0 }, configFile: false, env: false });
  const url = monitoring.server?.url ?? undefined;
  let scraping = true;
  // The pause between scrapes ends early on stop(), so stopping the stack never waits a second.
  let wake: () => void = () => {};
  let pause: NodeJS.Timeout | undefined;
  const scrape = async (): Promise<void> => {
    while (scraping && url !== undefined) {
      try {
        const res = await fetch(new URL('/metrics', url));
        await res.text();
      } catch {
        // a failed scrape is not this benchmark's subject
      }
      if (!scraping) break;
      await new Promise<void>((r) => {
        wake = r;
        pause = setTimeout(r, 1000);
      });
    }
  };
  const scraper = scrape();
  // Past its start-up (the first resource sample, the orphan scan, the first scrape), which a
  // service pays once, not per call.
  await new Promise((r) => setTimeout(r, 150));
  return {
    async stop() {
      scraping = false;
      clearTimeout(pause);
      wake();
      await scraper;
      await monitoring.stop();
    },
  };
}

/** Resident bytes of `pid` (VmRSS), or null. */
function rssBytes(pid: number): number | null {
  try {
    return parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8')).rssBytes;
  } catch {
    return null;
  }
}

/** CPU ticks (user + system) of `pid` so far, or null. */
function cpuTicks(pid: number): number | null {
  try {
    const st = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return st === null ? null : st.utimeTicks + st.stimeTicks;
  } catch {
    return null;
  }
}

/** Each worker's CPU over `ms` of idling, as a percentage of one core. */
async function idleCpuPercent(pids: readonly number[], ms: number): Promise<number[]> {
  const before = pids.map(cpuTicks);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const elapsedS = (performance.now() - t0) / 1000;
  return pids.flatMap((pid, i) => {
    const a = before[i];
    const b = cpuTicks(pid);
    return a == null || b === null ? [] : [((b - a) / CLOCK_TICKS_PER_S / elapsedS) * 100];
  });
}

/**
 * `rounds` rounds of `w`, each with both arms in alternating order; every arm's rounds and the
 * within-round ratios full ÷ none.
 */
async function interleaved(pool: SessionPool, rounds: number, roundMs: number, w: Workload, onRound: (r: number) => void): Promise<{ acc: Record<Arm, RunResult[]>; ratios: number[] }> {
  const acc: Record<Arm, RunResult[]> = { none: [], full: [] };
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    onRound(r);
    const got: Partial<Record<Arm, RunResult>> = {};
    for (const arm of r % 2 === 0 ? (['none', 'full'] as const) : (['full', 'none'] as const)) {
      // The stack starts before and stops after the timed part: its start-up is not measured.
      const stack = arm === 'full' ? await startStack([pool]) : null;
      got[arm] = await driveWorkload(pool, roundMs, w);
      await stack?.stop();
      acc[arm].push(got[arm]);
    }
    ratios.push(opsPerS(got.full!) / opsPerS(got.none!));
  }
  return { acc, ratios };
}

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const roundMs = opts.quick ? 250 : Number(opts.flags['round-ms'] ?? 500);
  const rounds = opts.quick ? 2 : Number(opts.flags['rounds'] ?? 20);
  const idleMs = opts.quick ? 1500 : 10_000;
  const progress = progressLine('monitoring');
  // Default health checks: the idle CPU figure must include what a real pool does when idle.
  const pool = new SessionPool({ name: `bench-monitoring-${process.pid}`, size: 2, logger: silentLogger });
  await pool.start();
  let acc: Record<Arm, RunResult[]> = { none: [], full: [] };
  let ratios: number[] = [];
  let sleepRatios: number[] = [];
  let heapFull = Number.NaN;
  let heapNone = Number.NaN;
  let rss: number[] = [];
  let idleCpu: number[] = [];
  try {
    await driveWorkload(pool, 300); // warm the pool's path
    const warm = await startStack([pool]);
    await driveWorkload(pool, 300); // and the stack's
    await warm.stop();
    ({ acc, ratios } = await interleaved(pool, rounds, roundMs, ECHO, (r) => progress.update(`echo, round ${r + 1}/${rounds}`)));
    ({ ratios: sleepRatios } = await interleaved(pool, rounds, roundMs, SLEEP_1MS, (r) => progress.update(`1 ms calls, round ${r + 1}/${rounds}`)));
    progress.update('allocation');
    const batches = opts.quick ? 5 : 30;
    const stack = await startStack([pool]);
    heapFull = (await allocPerOpAsync(() => pool.executeAnonymous('echo', PAYLOAD), batches, 50)).perCall;
    await stack.stop();
    heapNone = (await allocPerOpAsync(() => pool.executeAnonymous('echo', PAYLOAD), batches, 50)).perCall;
    const pids = pool.status().workers.map((w) => w.pid);
    rss = pids.flatMap((pid) => {
      const b = rssBytes(pid);
      return b === null ? [] : [b];
    });
    progress.update(`idle CPU (${idleMs / 1000} s)`);
    idleCpu = await idleCpuPercent(pids, idleMs);
  } finally {
    progress.done();
    await pool.stop();
  }

  const summarize = (arm: Arm) => {
    const { p50Us, p99Us } = summarizeRuns(acc[arm]);
    return { opsPerS: median(acc[arm].map(opsPerS)), p50Us, p99Us };
  };
  const none = summarize('none');
  const full = summarize('full');
  const ratio = median(ratios);
  const sleepRatio = median(sleepRatios);
  const sorted = [...ratios].sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((sorted.length - 1) * p)))] ?? Number.NaN;
  const maxRssMb = rss.length === 0 ? Number.NaN : Math.max(...rss) / 2 ** 20;
  const maxIdleCpu = idleCpu.length === 0 ? Number.NaN : Math.max(...idleCpu);
  const rows: BenchRow[] = [
    { case: 'pool echo, nothing subscribed', 'ops/s (median)': none.opsPerS, 'p50 µs': none.p50Us, 'p99 µs': none.p99Us, 'heap B/op': heapNone, ratio: 1 },
    { case: 'pool echo, full monitoring stack', 'ops/s (median)': full.opsPerS, 'p50 µs': full.p50Us, 'p99 µs': full.p99Us, 'heap B/op': heapFull, ratio },
    { case: 'pool sleep 1 ms, full stack vs nothing subscribed', 'ops/s (median)': null, 'p50 µs': null, 'p99 µs': null, 'heap B/op': null, ratio: sleepRatio },
    { case: `Python worker RSS after the load, max of ${rss.length}`, 'ops/s (median)': null, 'p50 µs': null, 'p99 µs': null, 'heap B/op': null, ratio: null, MB: maxRssMb },
    { case: `Python worker CPU while idle ${idleMs / 1000} s, max of ${idleCpu.length}`, 'ops/s (median)': null, 'p50 µs': null, 'p99 µs': null, 'heap B/op': null, ratio: null, '% of a core': maxIdleCpu },
  ];
  const ms = (us: number): number => us / 1000;
  return {
    name: 'monitoring',
    rows,
    ratios: { full_monitoring_vs_none_throughput: ratio, full_monitoring_vs_none_throughput_1ms_calls: sleepRatio, full_monitoring_vs_none_p99: full.p99Us / none.p99Us, full_monitoring_vs_none_heap_per_op: heapFull / heapNone },
    headline: { case: 'pool echo, 2 workers, 8 callers, full monitoring stack', opsPerS: full.opsPerS, p50Us: full.p50Us, p99Us: full.p99Us, heapBytesPerOp: heapFull },
    targets: {
      'full monitoring vs none, throughput': { target: '>= 0.98', value: ratio, pass: ratio >= 0.98 },
      'full monitoring vs none, throughput of 1 ms calls': { target: '>= 0.98', value: sleepRatio, pass: sleepRatio >= 0.98 },
      'design: p50 latency with full monitoring, ms': { target: '< 50', value: ms(full.p50Us), pass: ms(full.p50Us) < 50 },
      'design: p99 latency with full monitoring, ms': { target: '< 100', value: ms(full.p99Us), pass: ms(full.p99Us) < 100 },
      'design: throughput per pool with full monitoring, ops/s': { target: '> 1000', value: full.opsPerS, pass: full.opsPerS > 1000 },
      'design: memory per Python worker, MB': { target: '< 50', value: maxRssMb, pass: maxRssMb < 50 },
      'design: CPU per idle worker, % of a core': { target: '< 10', value: maxIdleCpu, pass: maxIdleCpu < 10 },
    },
    extra: { rounds, roundMs, concurrency: CONCURRENCY, roundRatios: ratios, sleepRoundRatios: sleepRatios, ratioQuartiles: [q(0.25), q(0.75)], workerRssBytes: rss, idleCpuPercent: idleCpu, idleMs },
    notes: [
      `${rounds} rounds of ${roundMs} ms per arm, order alternating; ratio: median over rounds of full ÷ none within the round (q1..q3 ${q(0.25).toFixed(3)}..${q(0.75).toFixed(3)}).`,
      'echo is the worst case (~45 µs of Python work per call: the stack\'s per-call cost is the largest share of it); the 1 ms sleep is the same measurement for a call with 1 ms of work.',
      'full stack: createMonitoring({ pools: [pool], server: { port: 0 } }) with its defaults (collector, resources every 1 s, default alert rules, advisor) and GET /metrics every second.',
      'p50/p99: every call of every round of the arm. Python RSS: /proc/PID/status VmRSS after the load; idle CPU: utime+stime from /proc/PID/stat, health checks at their default interval.',
    ],
  };
}
