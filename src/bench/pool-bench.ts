/**
 * `dspex bench pool`: the pool's echo throughput and latency against bare pipes.
 *
 * Baseline, measured in the same run and interleaved round by round: N bare child processes
 * running the same worker script, driven directly over the same fd 3 / fd 4 pipes with no pool:
 * caller loop i is bound to process i mod N, and each process has one request in flight at a
 * time (the pool's own work model, so the ratio is the pool's overhead and nothing else). Many
 * short rounds (10 of 0.5 s), the order flipped each round; the ratio is the median over rounds of
 * pool ÷ bare within the round (drift on a noisy machine moves both sides of a round together),
 * with its quartiles; latency percentiles are over every round's calls.
 *
 * Also measured: time from `kill -9` of an idle worker to its replacement serving a call, without
 * spares (a new Python starts) and with `spares: 1` (a warm spare takes the slot), two pools
 * killed in turn, alternating which goes first, each at rest (every worker idle, every spare
 * ready) before each kill.
 *
 * Abort storm: 20,000 `sleep` calls of 0-3 ms, each with a deadline of 0-5 ms (one seeded plan),
 * on 4 workers from 4 and from 32 callers. Pool-side: the deadline is the call's
 * `AbortSignal.timeout`, so the pool aborts it (abandoning calls already in Python). Control,
 * caller-enforced: `Promise.race` of the plain call against a timer, the pool call left to finish.
 * Each variant has its own pool; rounds alternate between them (interleaved, order flipped each
 * round) and each round starts once both pools are idle again. Reported: successes of each, their
 * ratio, and respawns (`dspex:worker:terminate` events of each pool).
 *
 * Timing split (issue 19): two pools of 4 workers under a running MetricsCollector, one with
 * `pythonTiming` (the worker times its handler, the reply carries it, the collector keeps the
 * Python and bridge sketches) and one without; echo from 16 callers, rounds interleaved with the
 * order flipped each round. `--only split` runs this part alone.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { SessionPool } from '../pool/session-pool.js';
import { BareWorker } from './bare-pipes.js';
import { drive, summarizeRuns, type RunResult } from './closed-loop.js';
import { subscribe } from '../telemetry/telemetry.js';
import { MetricsCollector } from '../metrics/metrics-collector.js';
import { prng } from '../util/prng.js';
import { median, quantileSorted, quartiles, type BenchOptions, type BenchReport, type BenchRow, type Headline } from './report.js';
import { allocPerOpAsync } from './measure.js';

const PAYLOAD = { text: 'x'.repeat(80), n: 12345 }; // ~100 bytes of JSON

/** Resolves once `pool` is at rest: every slot's worker idle and every spare ready. */
async function atRest(pool: SessionPool): Promise<void> {
  for (;;) {
    const st = pool.status();
    const spares = st.spares;
    if (st.idle === st.size && (spares === undefined || spares.ready === spares.target)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** kill -9 of slot 0's idle worker; resolves with the ms until its replacement served a call. */
async function killOnce(pool: SessionPool, i: number): Promise<number> {
  const victim = pool.status().workers[0];
  if (!victim) throw new Error('no worker');
  const recovered = new Promise<void>((resolve) => {
    const off = subscribe('dspex:pool:recovery', (e) => {
      if (e.pool === pool.name && e.workerId === victim.id) {
        off();
        resolve();
      }
    });
  });
  const t0 = performance.now();
  process.kill(victim.pid, 'SIGKILL');
  await recovered;
  // Serving: the replacement answers a call (session affinity is not needed: slot 0 is idle
  // and, with LIFO, the most recently released worker serves next).
  await pool.executeAnonymous('echo', { i });
  return performance.now() - t0;
}

/**
 * Measure kill -9 → replacement serving, `kills` times each without spares and with `spares: 1`,
 * interleaved. Returns latencies in ms, sorted.
 */
async function measureRecovery(kills: number): Promise<{ none: Float64Array; spares: Float64Array }> {
  const make = (spares: number): SessionPool =>
    new SessionPool({ name: `bench-recovery-s${spares}-${process.pid}`, size: 2, spares, healthCheckIntervalMs: 0, logger: silentLogger });
  const pools = { none: make(0), spares: make(1) };
  const out = { none: new Float64Array(kills), spares: new Float64Array(kills) };
  try {
    await Promise.all([pools.none.start(), pools.spares.start()]);
    for (let i = 0; i < kills; i++) {
      for (const which of i % 2 === 0 ? (['none', 'spares'] as const) : (['spares', 'none'] as const)) {
        // Both at rest: no Python starting in the background of the measured kill.
        await Promise.all([atRest(pools.none), atRest(pools.spares)]);
        out[which][i] = await killOnce(pools[which], i);
      }
    }
  } finally {
    await Promise.all([pools.none.stop(), pools.spares.stop()]);
  }
  return { none: out.none.sort(), spares: out.spares.sort() };
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The calls of an abort storm: per call, the `sleep` in ms (0-3) and the caller's deadline in ms (0-5). */
interface StormPlan {
  sleepMs: Uint8Array;
  deadlineMs: Uint8Array;
}

function stormPlan(calls: number, seed: number): StormPlan {
  const rand = prng(seed);
  const sleepMs = new Uint8Array(calls);
  const deadlineMs = new Uint8Array(calls);
  for (let i = 0; i < calls; i++) {
    sleepMs[i] = Math.floor(rand() * 4);
    deadlineMs[i] = Math.floor(rand() * 6);
  }
  return { sleepMs, deadlineMs };
}

/** What one variant of the storm did, summed over its rounds. */
interface StormTally {
  ok: number;
  /** Failed calls by `category/type`. */
  failed: Record<string, number>;
  /** Processes of the variant's pool that ended during its rounds. */
  respawns: number;
  seconds: number;
}

type StormVariant = 'pool-side' | 'caller-side';

/** Calls `from..to` of `plan` from `callers` loops on `pool`, the deadline enforced per `variant`. */
async function stormRound(pool: SessionPool, plan: StormPlan, from: number, to: number, callers: number, variant: StormVariant, tally: StormTally): Promise<void> {
  let next = from;
  let settled = 0;
  const t0 = performance.now();
  const fail = (err: unknown): void => {
    const e = err as { category?: string; type?: string };
    const key = `${e.category ?? 'unknown'}/${e.type ?? 'unknown'}`;
    tally.failed[key] = (tally.failed[key] ?? 0) + 1;
  };
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < to) {
        const i = next++;
        const args = { ms: plan.sleepMs[i]! };
        const deadlineMs = plan.deadlineMs[i]!;
        if (variant === 'pool-side') {
          try {
            await pool.executeAnonymous('sleep', args, { signal: AbortSignal.timeout(deadlineMs) });
            tally.ok++;
          } catch (err) {
            fail(err);
          }
        } else {
          // The caller stops waiting at its deadline; the pool call goes on (its outcome ignored).
          const call = pool.executeAnonymous('sleep', args).then(
            () => true,
            (err: unknown) => err,
          );
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
          const outcome = await Promise.race([call, late]);
          clearTimeout(timer);
          if (outcome === true) tally.ok++;
          else if (outcome === 'late') fail({ category: 'caller', type: 'deadline' });
          else fail(outcome);
        }
        settled++;
      }
    }),
  );
  tally.seconds += (performance.now() - t0) / 1000;
  if (settled !== to - from) throw new Error(`abort storm: ${settled} of ${to - from} calls settled`);
}

/** Resolves once `pool` has nothing queued and every worker is idle (abandoned and left-over calls done). */
async function whenIdle(pool: SessionPool, timeoutMs = 30_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const s = pool.status();
    if (s.queueDepth === 0 && s.idle === s.size) return;
    if (performance.now() > end) throw new Error(`abort storm: pool ${pool.name} not idle after ${timeoutMs} ms (${JSON.stringify({ idle: s.idle, busy: s.busy, starting: s.starting, queueDepth: s.queueDepth })})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The abort storm at each caller count: pool-side aborts against the caller-enforced control. */
async function abortStorm(calls: number, rounds: number, callerCounts: readonly number[]): Promise<{ callers: number; poolSide: StormTally; callerSide: StormTally }[]> {
  const workers = 4;
  const plan = stormPlan(calls, 0x5eed);
  const pools: Record<StormVariant, SessionPool> = {
    'pool-side': new SessionPool({ name: `bench-storm-pool-side-${process.pid}`, size: workers, healthCheckIntervalMs: 0, logger: silentLogger }),
    'caller-side': new SessionPool({ name: `bench-storm-caller-side-${process.pid}`, size: workers, healthCheckIntervalMs: 0, logger: silentLogger }),
  };
  const ended: Record<string, number> = {};
  const off = subscribe('dspex:worker:terminate', (e) => {
    ended[e.pool] = (ended[e.pool] ?? 0) + 1;
  });
  const out: { callers: number; poolSide: StormTally; callerSide: StormTally }[] = [];
  try {
    await Promise.all([pools['pool-side'].start(), pools['caller-side'].start()]);
    // Warm-up both paths.
    for (const v of ['pool-side', 'caller-side'] as const) await stormRound(pools[v], plan, 0, Math.min(200, calls), workers, v, { ok: 0, failed: {}, respawns: 0, seconds: 0 });
    for (const v of ['pool-side', 'caller-side'] as const) await whenIdle(pools[v]);
    for (const callers of callerCounts) {
      const tallies: Record<StormVariant, StormTally> = {
        'pool-side': { ok: 0, failed: {}, respawns: 0, seconds: 0 },
        'caller-side': { ok: 0, failed: {}, respawns: 0, seconds: 0 },
      };
      const per = Math.ceil(calls / rounds);
      for (let r = 0; r < rounds; r++) {
        const from = r * per;
        const to = Math.min(calls, from + per);
        const order: StormVariant[] = r % 2 === 0 ? ['pool-side', 'caller-side'] : ['caller-side', 'pool-side'];
        for (const v of order) {
          const name = pools[v].name;
          const endedBefore = ended[name] ?? 0;
          await stormRound(pools[v], plan, from, to, callers, v, tallies[v]);
          await whenIdle(pools[v]);
          tallies[v].respawns += (ended[name] ?? 0) - endedBefore;
        }
      }
      out.push({ callers, poolSide: tallies['pool-side'], callerSide: tallies['caller-side'] });
    }
  } finally {
    off();
    await Promise.all([pools['pool-side'].stop(), pools['caller-side'].stop()]);
  }
  return out;
}

/** CPU seconds (user + system) the processes `pids` have used so far (Linux /proc; 0 elsewhere). */
function cpuSecondsOf(pids: readonly number[]): number {
  const tick = 100; // USER_HZ on Linux
  let s = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      s += (Number(f[11]) + Number(f[12])) / tick;
    } catch {
      // gone
    }
  }
  return s;
}

interface SplitResult {
  withOpsPerS: number;
  withoutOpsPerS: number;
  ratio: number;
  /** CPU per call (Node's and the workers'), µs, with and without the split: less sensitive to a loaded machine than throughput. */
  withCpuUsPerOp: number;
  withoutCpuUsPerOp: number;
}

/** Throughput with the timing split against the same pool without it (see the module note). */
async function splitCost(roundMs: number, rounds: number): Promise<SplitResult> {
  const collector = new MetricsCollector();
  collector.start();
  const make = (timing: boolean) =>
    new SessionPool({ name: `bench-split-${timing ? 'on' : 'off'}-${process.pid}`, size: 4, pythonTiming: timing, healthCheckIntervalMs: 0, logger: silentLogger });
  const on = make(true);
  const off = make(false);
  await Promise.all([on.start(), off.start()]);
  const acc = { on: { ops: 0, s: 0, cpu: 0 }, off: { ops: 0, s: 0, cpu: 0 } };
  try {
    await drive(16, 200, () => on.executeAnonymous('echo', PAYLOAD));
    await drive(16, 200, () => off.executeAnonymous('echo', PAYLOAD));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
      for (const which of order) {
        const pool = which === 'on' ? on : off;
        const pids = pool.pids();
        const node0 = process.cpuUsage();
        const py0 = cpuSecondsOf(pids);
        const res = await drive(16, roundMs, () => pool.executeAnonymous('echo', PAYLOAD));
        const node = process.cpuUsage(node0);
        acc[which].ops += res.ops;
        acc[which].s += res.seconds;
        acc[which].cpu += (node.user + node.system) / 1e6 + (cpuSecondsOf(pids) - py0);
      }
    }
  } finally {
    await Promise.all([on.stop(), off.stop()]);
    collector.stop();
  }
  const withOpsPerS = acc.on.ops / acc.on.s;
  const withoutOpsPerS = acc.off.ops / acc.off.s;
  return {
    withOpsPerS,
    withoutOpsPerS,
    ratio: withOpsPerS / withoutOpsPerS,
    withCpuUsPerOp: (acc.on.cpu / acc.on.ops) * 1e6,
    withoutCpuUsPerOp: (acc.off.cpu / acc.off.ops) * 1e6,
  };
}

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  if (opts.flags['only'] === 'split') {
    const roundMs = opts.quick ? 300 : Number(opts.flags['round-ms'] ?? 2000);
    const rounds = opts.quick ? 2 : Number(opts.flags['rounds'] ?? 6);
    const s = await splitCost(roundMs, rounds);
    return {
      name: 'pool',
      rows: [splitRow(s)],
      ratios: { timing_split_vs_none_throughput: s.ratio, timing_split_vs_none_cpu_per_op: s.withCpuUsPerOp / s.withoutCpuUsPerOp },
      targets: { 'timing split vs none, throughput': { target: '>= 0.98', value: s.ratio, pass: s.ratio >= 0.98 } },
      extra: { roundMs, rounds },
    };
  }
  const roundMs = opts.quick ? 300 : Number(opts.flags['round-ms'] ?? 500);
  const rounds = opts.quick ? 2 : Number(opts.flags['rounds'] ?? 10);
  const sizes = [2, 4];
  const rows: BenchRow[] = [];
  const ratios: Record<string, number> = {};
  let minRatioAtN = Infinity;
  let worstP50OverheadUs = -Infinity;
  // The headline: pool echo at 4 workers x 4 callers, from that row's figures.
  const headline: Headline = { case: 'pool echo, 4 workers, 4 callers', opsPerS: null, p50Us: null, p99Us: null, heapBytesPerOp: null };

  for (const n of sizes) {
    const pool = new SessionPool({ name: `bench-pool-${n}-${process.pid}`, size: n, healthCheckIntervalMs: 0, logger: silentLogger });
    const bare = Array.from({ length: n }, (_, i) => new BareWorker(i));
    await Promise.all([pool.start(), ...bare.map((b) => b.ready)]);
    try {
      // Warm-up both paths (JIT, pipes).
      await drive(n, 200, () => pool.executeAnonymous('echo', PAYLOAD));
      await drive(n, 200, (loop) => bare[loop % n]!.echo(PAYLOAD));
      for (const c of [1, n, 4 * n]) {
        const acc = { pool: [] as RunResult[], bare: [] as RunResult[] };
        for (let r = 0; r < rounds; r++) {
          // Interleaved, alternating which goes first, so drift on a noisy machine hits both.
          const first = r % 2 === 0 ? 'bare' : 'pool';
          for (const which of first === 'bare' ? (['bare', 'pool'] as const) : (['pool', 'bare'] as const)) {
            const res = which === 'pool' ? await drive(c, roundMs, () => pool.executeAnonymous('echo', PAYLOAD)) : await drive(c, roundMs, (loop) => bare[loop % n]!.echo(PAYLOAD));
            acc[which].push(res);
          }
        }
        const p = summarizeRuns(acc.pool);
        const b = summarizeRuns(acc.bare);
        const roundRatios = acc.pool.map((pr, i) => pr.ops / pr.seconds / (acc.bare[i]!.ops / acc.bare[i]!.seconds));
        const ratio = median(roundRatios);
        const [q1, q3] = quartiles(roundRatios);
        ratios[`pooled_vs_bare_throughput_n${n}_c${c}`] = ratio;
        if (c >= n) minRatioAtN = Math.min(minRatioAtN, ratio);
        worstP50OverheadUs = Math.max(worstP50OverheadUs, p.p50Us - b.p50Us);
        if (n === 4 && c === 4) {
          headline.opsPerS = p.opsPerS;
          headline.p50Us = p.p50Us;
          headline.p99Us = p.p99Us;
        }
        rows.push({
          workers: n,
          concurrency: c,
          'pool ops/s': p.opsPerS,
          'bare ops/s': b.opsPerS,
          'ratio (median of rounds)': ratio,
          'ratio q1..q3': `${q1.toFixed(3)}..${q3.toFixed(3)}`,
          'pool p50 µs': p.p50Us,
          'bare p50 µs': b.p50Us,
          'pool p99 µs': p.p99Us,
          'bare p99 µs': b.p99Us,
        });
      }
      // Heap per echo: sequential calls on this pool while it is alive (the Node side of a call).
      if (n === 4) headline.heapBytesPerOp = (await allocPerOpAsync(() => pool.executeAnonymous('echo', PAYLOAD), opts.quick ? 10 : 30, 50)).perCall;
    } finally {
      await Promise.all([pool.stop(), ...bare.map((b) => b.stop())]);
    }
  }
  ratios['pooled_vs_bare_throughput'] = minRatioAtN;

  const kills = opts.quick ? 3 : 20;
  const rec = await measureRecovery(kills);
  const recP50 = quantileSorted(rec.none, 0.5);
  const recP99 = quantileSorted(rec.none, 0.99);
  const spareP50 = quantileSorted(rec.spares, 0.5);
  const spareP99 = quantileSorted(rec.spares, 0.99);
  const spareRatio = spareP99 / recP99;
  ratios['recovery_p99_spares1_vs_none'] = spareRatio;
  rows.push({ workers: 2, concurrency: `kill -9 to serving x${kills}`, 'pool ops/s': null, 'bare ops/s': null, ratio: null, 'pool p50 µs': recP50 * 1000, 'bare p50 µs': null, 'pool p99 µs': recP99 * 1000, 'bare p99 µs': null });
  rows.push({ workers: 2, concurrency: `same, spares 1 x${kills}`, 'pool ops/s': null, 'bare ops/s': null, ratio: null, 'pool p50 µs': spareP50 * 1000, 'bare p50 µs': null, 'pool p99 µs': spareP99 * 1000, 'bare p99 µs': null });

  // Abort storm: successes with pool-side aborts vs the caller-enforced control, and respawns.
  const stormCalls = opts.quick ? 1000 : 20_000;
  const stormRounds = opts.quick ? 2 : 4;
  const storm = await abortStorm(stormCalls, stormRounds, [4, 32]);
  let minStormRatio = Infinity;
  let stormRespawns = 0;
  for (const { callers, poolSide, callerSide } of storm) {
    const ratio = poolSide.ok / Math.max(1, callerSide.ok);
    ratios[`abort_storm_pool_vs_caller_successes_c${callers}`] = ratio;
    minStormRatio = Math.min(minStormRatio, ratio);
    stormRespawns += poolSide.respawns;
    rows.push({
      workers: 4,
      concurrency: `abort storm c${callers} x${stormCalls}`,
      'pool ops/s': null,
      'bare ops/s': null,
      ratio,
      'pool p50 µs': null,
      'bare p50 µs': null,
      'pool p99 µs': null,
      'bare p99 µs': null,
      'ok pool-side': poolSide.ok,
      'ok caller-side': callerSide.ok,
      'respawns pool/caller': `${poolSide.respawns}/${callerSide.respawns}`,
    });
  }
  ratios['abort_storm_pool_vs_caller_successes'] = minStormRatio;

  const split = await splitCost(roundMs, opts.quick ? 2 : Math.max(4, 2 * rounds));
  ratios['timing_split_vs_none_throughput'] = split.ratio;
  ratios['timing_split_vs_none_cpu_per_op'] = split.withCpuUsPerOp / split.withoutCpuUsPerOp;
  rows.push(splitRow(split));

  return {
    name: 'pool',
    rows,
    ratios,
    headline,
    targets: {
      'pooled_vs_bare_throughput (min over concurrency >= N)': { target: '>= 0.9', value: minRatioAtN, pass: minRatioAtN >= 0.9 },
      'p50 overhead over bare, µs (worst config)': { target: '<= 20', value: worstP50OverheadUs, pass: worstP50OverheadUs <= 20 },
      'recovery p99, ms (kill -9 -> serving)': { target: '<= 150', value: recP99, pass: recP99 <= 150 },
      'recovery p99 with spares 1, ms (kill -9 -> serving)': { target: '<= 20', value: spareP99, pass: spareP99 <= 20 },
      'abort storm successes, pool-side aborts vs caller-enforced (min over callers)': { target: '>= 0.8', value: minStormRatio, pass: minStormRatio >= 0.8 },
      'abort storm respawns with pool-side aborts (all caller counts)': { target: '<= 1', value: stormRespawns, pass: stormRespawns <= 1 },
      'timing split vs none, throughput': { target: '>= 0.98', value: split.ratio, pass: split.ratio >= 0.98 },
    },
    extra: {
      recoveryMs: { p50: recP50, p99: recP99, samples: Array.from(rec.none) },
      recoveryWithSpareMs: { p50: spareP50, p99: spareP99, samples: Array.from(rec.spares) },
      roundMs,
      rounds,
      abortStorm: { calls: stormCalls, rounds: stormRounds, workers: 4, sleepMs: '0-3', deadlineMs: '0-5', results: storm },
    },
  };
}

function splitRow(s: SplitResult): BenchRow {
  return {
    workers: 4,
    concurrency: 'timing split on vs off, c16',
    'pool ops/s': s.withOpsPerS,
    'bare ops/s': null,
    ratio: s.ratio,
    'pool p50 µs': null,
    'bare p50 µs': null,
    'pool p99 µs': null,
    'bare p99 µs': null,
    'ops/s without split': s.withoutOpsPerS,
    'cpu µs/op with/without': `${s.withCpuUsPerOp.toFixed(1)}/${s.withoutCpuUsPerOp.toFixed(1)}`,
  };
}
