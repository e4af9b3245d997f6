/**
 * `dspex bench telemetry`: what observing the pool costs.
 *
 * 1. Cost per emit of `dspex:worker:checkout` (the hot-path event: guard + payload + publish) with
 *    0, 1 and 3 cheap subscribers, timed over tight loops of millions of emits (per-iteration
 *    harness overhead would dwarf a few nanoseconds, so no per-call timer). A bare
 *    `channel.publish` of a prebuilt object is measured alongside as the floor.
 * 2. The pool's echo throughput with every catalog channel (and the tracing channel) subscribed
 *    vs none, in the same run, interleaved round by round.
 *
 * @module
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { SessionPool } from '../pool/session-pool.js';
import {
  OPERATION_CHANNEL,
  channels,
  checkoutObserved,
  emitCheckout,
  operationChannel,
  telemetryEvents,
  telemetryMask,
  type OperationContext,
  type WorkerRef,
} from '../telemetry/telemetry.js';
import { fmt, type BenchOptions, type BenchReport, type BenchRow } from './report.js';
import { allocPerCall, type AllocFigure } from './measure.js';
import { drive, opsPerS } from './closed-loop.js';

let sink = 0;
const cheap = (): void => {
  sink++;
};

/** Median ns per iteration of `body` over `reps` timed loops of `n` iterations. */
function nsPerOp(n: number, reps: number, body: (i: number) => void): number {
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) body(i);
    samples.push(((performance.now() - t0) * 1e6) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? 0;
}

const worker: WorkerRef = { pool: 'bench', workerId: 1, pid: 1234, generation: 0 };
const mask = telemetryMask();

// As in the pool, the caller already holds a monotonic clock reading (it needs one for the queue
// wait): the emit derives the timestamp from it instead of reading the clock again.
const atNs = 1e12;
function emitOne(i: number): void {
  if (checkoutObserved(mask)) emitCheckout(worker, 'echo', null, i, 0, false, false, atNs + i);
}

/** Bytes allocated per emit with the subscribers of the moment (see allocPerCall). */
function emitAllocation(quick: boolean): AllocFigure {
  let i = 0;
  return allocPerCall(() => emitOne(i++), quick ? 10 : 30, 10_000);
}

/** Subscribe `k` cheap handlers to the checkout channel; returns the unsubscriber. */
function subscribeCheckout(k: number): () => void {
  const fns = Array.from({ length: k }, () => (_m: unknown) => cheap());
  for (const f of fns) diagnostics_channel.subscribe('dspex:worker:checkout', f);
  return () => {
    for (const f of fns) diagnostics_channel.unsubscribe('dspex:worker:checkout', f);
  };
}

/** Subscribe a cheap handler to every catalog channel and the tracing channel. */
function subscribeAll(): () => void {
  const offs: (() => void)[] = [];
  for (const e of telemetryEvents) {
    if (e.name === OPERATION_CHANNEL) {
      const h = { start: cheap, end: cheap, asyncStart: cheap, asyncEnd: (c: OperationContext) => void (sink += c.durationNs > 0 ? 1 : 0), error: cheap };
      operationChannel.subscribe(h);
      offs.push(() => operationChannel.unsubscribe(h));
    } else {
      const f = (_m: unknown): void => cheap();
      diagnostics_channel.subscribe(e.name, f);
      offs.push(() => diagnostics_channel.unsubscribe(e.name, f));
    }
  }
  return () => offs.forEach((o) => o());
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const n = opts.quick ? 2_000_000 : 5_000_000;
  const reps = opts.quick ? 5 : 11;
  const rows: BenchRow[] = [];

  // Warm the JIT on every path first.
  for (const k of [0, 1, 3]) {
    const off = subscribeCheckout(k);
    nsPerOp(200_000, 2, emitOne);
    off();
  }
  const emitNs: Record<number, number> = {};
  const prebuilt = { pool: 'bench', workerId: 1 };
  const raw = channels['dspex:worker:checkout'];
  const rawNs: Record<number, number> = {};
  let emitAlloc: AllocFigure | null = null;
  for (const k of [0, 1, 3]) {
    const off = subscribeCheckout(k);
    emitNs[k] = nsPerOp(n, reps, emitOne);
    rawNs[k] = nsPerOp(n, reps, () => raw.publish(prebuilt));
    if (k === 1) emitAlloc = emitAllocation(opts.quick);
    off();
    rows.push({ case: `emit checkout, ${k} subscriber${k === 1 ? '' : 's'}`, 'ns/emit': emitNs[k] ?? 0, 'bare publish ns': rawNs[k] ?? 0 });
  }
  // The cheap subscribers ignore the payload, so the optimizer may drop it from the loop (the
  // figure above is then ~0): the same emit to a subscriber that keeps the payload shows its size.
  let kept: unknown = null;
  const keep = (m: unknown): void => void (kept = m);
  diagnostics_channel.subscribe('dspex:worker:checkout', keep);
  nsPerOp(200_000, 1, emitOne);
  const keptAlloc = emitAllocation(opts.quick);
  diagnostics_channel.unsubscribe('dspex:worker:checkout', keep);
  if (kept === null) throw new Error('bench telemetry: the keeping subscriber saw no payload');

  // Pool throughput, instrumented vs bare, interleaved.
  const roundMs = opts.quick ? 400 : 2000;
  const rounds = opts.quick ? 2 : 6;
  const concurrency = 8;
  const pool = new SessionPool({ name: `bench-telemetry-${process.pid}`, size: 2, healthCheckIntervalMs: 0, logger: silentLogger });
  await pool.start();
  const driveOps = async (ms: number): Promise<number> => opsPerS(await drive(concurrency, ms, () => pool.executeAnonymous('echo', { text: 'x'.repeat(80) }), { latency: false }));
  const acc = { bare: [] as number[], instrumented: [] as number[] };
  try {
    await driveOps(300);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['bare', 'instrumented'] as const) : (['instrumented', 'bare'] as const);
      for (const which of order) {
        const off = which === 'instrumented' ? subscribeAll() : () => {};
        acc[which].push(await driveOps(roundMs));
        off();
      }
    }
  } finally {
    await pool.stop();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const bare = mean(acc.bare);
  const instrumented = mean(acc.instrumented);
  const ratio = instrumented / bare;
  rows.push({ case: 'pool echo, no subscriber', 'ops/s': bare });
  rows.push({ case: 'pool echo, every channel subscribed', 'ops/s': instrumented });

  return {
    name: 'telemetry',
    rows,
    ratios: { instrumented_vs_bare_throughput: ratio },
    // Per-emit latency is a few ns, below what a per-call timer can resolve: no p50 / p99.
    headline: { case: 'emit checkout, 1 subscriber', opsPerS: 1e9 / (emitNs[1] || Infinity), p50Us: null, p99Us: null, heapBytesPerOp: emitAlloc?.perCall ?? null },
    targets: {
      'unsubscribed emit, ns': { target: '<= 5', value: emitNs[0] ?? 0, pass: (emitNs[0] ?? 0) <= 5 },
      'one-subscriber emit incl. payload, ns': { target: '<= 50', value: emitNs[1] ?? 0, pass: (emitNs[1] ?? 0) <= 50 },
      'instrumented_vs_bare_throughput': { target: '>= 0.98', value: ratio, pass: ratio >= 0.98 },
    },
    extra: { sink, rounds, roundMs, concurrency, throughputRounds: acc, emitAlloc, keptPayloadAlloc: keptAlloc },
    notes: [
      `heap per emit with the 1 cheap subscriber: ${fmt(emitAlloc?.perCall ?? null)} B (it ignores the payload, which the optimizer can then elide); to a subscriber that keeps the payload: ${fmt(keptAlloc.perCall)} B`,
    ],
  };
}
