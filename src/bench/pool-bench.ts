/**
 * `dspex bench pool`: the pool's echo throughput and latency against bare pipes.
 *
 * Baseline, measured in the same run and interleaved round by round: N bare child processes
 * running the same worker script, driven directly over the same fd 3 / fd 4 pipes with no pool:
 * caller loop i is bound to process i mod N, and each process has one request in flight at a
 * time (the pool's own work model, so the ratio is the pool's overhead and nothing else).
 *
 * Also measured: time from `kill -9` of an idle worker to its replacement serving a call, without
 * spares (a new Python starts) and with `spares: 1` (a warm spare takes the slot), two pools
 * killed in turn, alternating which goes first, each at rest (every worker idle, every spare
 * ready) before each kill.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { SessionPool } from '../pool/session-pool.js';
import { WORKER_SCRIPT } from '../pool/worker-env.js';
import { encodeFrame, FrameDecoder } from '../pool/protocol.js';
import { subscribe } from '../telemetry/telemetry.js';
import { quantileSorted, type BenchOptions, type BenchReport, type BenchRow } from './report.js';

const PAYLOAD = { text: 'x'.repeat(80), n: 12345 }; // ~100 bytes of JSON

interface RunResult {
  ops: number;
  seconds: number;
  latUs: Float64Array;
}

/** Drive `call` from `concurrency` loops for `ms`, recording each call's latency. */
async function drive(concurrency: number, ms: number, call: (loop: number) => Promise<unknown>): Promise<RunResult> {
  const lat = new Float64Array(4_000_000);
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      while (performance.now() < end) {
        const s = performance.now();
        await call(loop);
        if (n < lat.length) lat[n] = (performance.now() - s) * 1000;
        n++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { ops: n, seconds, latUs: lat.slice(0, Math.min(n, lat.length)).sort() };
}

/** One bare worker process: one request in flight, callers queued in order. */
class BareWorker {
  private readonly child: ChildProcess;
  private readonly requests: Writable;
  private pending: ((text: string) => void) | null = null;
  private readonly waiting: (() => void)[] = [];
  private nextId = 0;
  readonly ready: Promise<void>;

  constructor(slot: number) {
    this.child = spawn('python3', ['-u', WORKER_SCRIPT, `--dspex-run-id=${process.pid}.bench`, `--dspex-worker-id=${slot}`], {
      stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', DSPEX_OWNER_PID: String(process.pid), DSPEX_MODULES: '' },
    });
    this.requests = this.child.stdio[3] as Writable;
    let onReady: () => void = () => {};
    this.ready = new Promise((r) => (onReady = r));
    let first = true;
    const decoder = new FrameDecoder(1 << 24, (text) => {
      if (first) {
        first = false;
        onReady();
        return;
      }
      const p = this.pending;
      this.pending = null;
      p?.(text);
      this.waiting.shift()?.();
    });
    (this.child.stdio[4] as Readable).on('data', (c: Buffer) => decoder.push(c));
  }

  async echo(args: unknown): Promise<unknown> {
    while (this.pending !== null) await new Promise<void>((r) => this.waiting.push(r));
    return new Promise((resolve) => {
      this.pending = (text) => resolve((JSON.parse(text) as { result: unknown }).result);
      const id = ++this.nextId;
      this.requests.write(encodeFrame(`{"id":${id},"command":"echo","args":${JSON.stringify(args)},"session_id":null}`));
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.requests.end();
    });
  }
}

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

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const roundMs = opts.quick ? 300 : Number(opts.flags['round-ms'] ?? 2000);
  const rounds = opts.quick ? 1 : Number(opts.flags['rounds'] ?? 3);
  const sizes = [2, 4];
  const rows: BenchRow[] = [];
  const ratios: Record<string, number> = {};
  let minRatioAtN = Infinity;
  let worstP50OverheadUs = -Infinity;

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
        const summarize = (rs: RunResult[]) => {
          const ops = rs.reduce((a, r) => a + r.ops, 0);
          const secs = rs.reduce((a, r) => a + r.seconds, 0);
          const all = new Float64Array(rs.reduce((a, r) => a + r.latUs.length, 0));
          let o = 0;
          for (const r of rs) {
            all.set(r.latUs, o);
            o += r.latUs.length;
          }
          all.sort();
          return { opsPerS: ops / secs, p50Us: quantileSorted(all, 0.5), p99Us: quantileSorted(all, 0.99) };
        };
        const p = summarize(acc.pool);
        const b = summarize(acc.bare);
        const ratio = p.opsPerS / b.opsPerS;
        ratios[`pooled_vs_bare_throughput_n${n}_c${c}`] = ratio;
        if (c >= n) minRatioAtN = Math.min(minRatioAtN, ratio);
        worstP50OverheadUs = Math.max(worstP50OverheadUs, p.p50Us - b.p50Us);
        rows.push({
          workers: n,
          concurrency: c,
          'pool ops/s': p.opsPerS,
          'bare ops/s': b.opsPerS,
          ratio,
          'pool p50 µs': p.p50Us,
          'bare p50 µs': b.p50Us,
          'pool p99 µs': p.p99Us,
          'bare p99 µs': b.p99Us,
        });
      }
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

  return {
    name: 'pool',
    rows,
    ratios,
    targets: {
      'pooled_vs_bare_throughput (min over concurrency >= N)': { target: '>= 0.9', value: minRatioAtN, pass: minRatioAtN >= 0.9 },
      'p50 overhead over bare, µs (worst config)': { target: '<= 20', value: worstP50OverheadUs, pass: worstP50OverheadUs <= 20 },
      'recovery p99, ms (kill -9 -> serving)': { target: '<= 150', value: recP99, pass: recP99 <= 150 },
      'recovery p99 with spares 1, ms (kill -9 -> serving)': { target: '<= 20', value: spareP99, pass: spareP99 <= 20 },
    },
    extra: {
      recoveryMs: { p50: recP50, p99: recP99, samples: Array.from(rec.none) },
      recoveryWithSpareMs: { p50: spareP50, p99: spareP99, samples: Array.from(rec.spares) },
      roundMs,
      rounds,
    },
  };
}
