/**
 * `dspex bench metrics`: what recording and reading pool metrics costs, and how accurate the
 * percentiles are, against the ecosystem's usual choices.
 *
 * 1. Record cost per operation event, the same value stream for every method, interleaved batch by
 *    batch (the order rotates each round): ours through the real `dspex:pool:operation` channel
 *    (`asyncEnd` published to a started collector: subscriber + sketches + counters), ours called
 *    directly (`collector.recordOperation`), prom-client `Histogram.observe` (labelled pool and
 *    command, default buckets), prom-client `Summary.observe` (same labels, default settings), and
 *    the exact reference (store every sample; sort at query time).
 * 2. Relative error at p50/p99/p99.9 of each method on one command's values, against sorting.
 * 3. Sustained events/s of the direct path with windows rotating (a manual clock moves one second
 *    per batch of events, 16 minutes in all), heap held after those events, and query latency on
 *    the full windows.
 * 4. A whole traced call (`executePoolOperation` on a resolved promise) with the collector
 *    subscribed vs nobody subscribed: what the collector adds to a real call, promise machinery
 *    included.
 *
 * @module
 */
import client from 'prom-client';
import { ManualClock } from '../contract/clock.js';
import { MetricsCollector } from '../metrics/metrics-collector.js';
import { ALL_GROUPS, executePoolOperation, operationChannel, type OperationContext } from '../telemetry/telemetry.js';
import { prng } from '../util/prng.js';
import type { BenchOptions, BenchReport, BenchRow } from './report.js';
import { allocPerCall, gcFunction } from './measure.js';

const COMMANDS = ['embed', 'predict', 'tokenize', 'classify', 'summarize', 'translate', 'score', 'rerank'];
const POOL = 'bench-metrics';
const QS = [0.5, 0.99, 0.999] as const;
const Q_NAMES = ['p50', 'p99', 'p999'] as const;

interface Stream {
  durationNs: Float64Array;
  queueWaitNs: Float64Array;
  command: Uint8Array;
  workerId: Uint8Array;
  failed: Uint8Array;
}

/** Latency-like values: log-normal durations (median 2 ms, sigma 1), a 5% slow mode, 60% zero queue waits. */
function makeStream(n: number): Stream {
  const r = prng(42);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const s: Stream = {
    durationNs: new Float64Array(n),
    queueWaitNs: new Float64Array(n),
    command: new Uint8Array(n),
    workerId: new Uint8Array(n),
    failed: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    const slow = r() < 0.05;
    s.durationNs[i] = (slow ? 150e6 : 2e6) * Math.exp(normal() * (slow ? 0.5 : 1));
    s.queueWaitNs[i] = r() < 0.6 ? 0 : 300e3 * Math.exp(normal());
    s.command[i] = Math.floor(r() * r() * COMMANDS.length); // skewed: a few hot commands
    s.workerId[i] = Math.floor(r() * 8);
    s.failed[i] = r() < 0.02 ? 1 : 0;
  }
  return s;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

/** Prometheus `histogram_quantile`: linear interpolation inside the bucket holding the rank. */
function histogramQuantile(q: number, bounds: readonly number[], cumulative: readonly number[], count: number): number {
  const rank = q * count;
  let prevBound = 0;
  let prevCount = 0;
  for (let i = 0; i < bounds.length; i++) {
    const c = cumulative[i]!;
    if (c >= rank) {
      const inBucket = c - prevCount;
      return inBucket === 0 ? bounds[i]! : prevBound + ((bounds[i]! - prevBound) * (rank - prevCount)) / inBucket;
    }
    prevBound = bounds[i]!;
    prevCount = c;
  }
  return bounds[bounds.length - 1] ?? 0; // rank in +Inf: Prometheus returns the highest bound
}

function heapBytes(gc: (() => void) | null): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const n = opts.quick ? 200_000 : 2_000_000;
  const batch = opts.quick ? 20_000 : 50_000;
  const stream = makeStream(n);
  const rows: BenchRow[] = [];
  const gc = gcFunction();

  // --- the methods, each fed the same events --------------------------------------------------
  const clock = new ManualClock(1_700_000_040_000);
  const viaChannel = new MetricsCollector({ clock });
  const direct = new MetricsCollector({ clock });
  viaChannel.start();
  const registry = new client.Registry();
  const promHistogram = new client.Histogram({
    name: 'bench_op_seconds_h',
    help: 'bench',
    labelNames: ['pool', 'command'] as const,
    registers: [registry],
  });
  const promSummary = new client.Summary({
    name: 'bench_op_seconds_s',
    help: 'bench',
    labelNames: ['pool', 'command'] as const,
    percentiles: [...QS],
    registers: [registry],
  });
  const exact = new Float64Array(n);
  let exactLen = 0;

  const ctx: OperationContext = { pool: POOL, command: '', sessionId: null, workerId: 0, pid: 1, timestampMs: clock.nowMs(), queueWaitNs: 0, durationNs: 0 };
  const failure = new Error('failed');
  const asyncEnd = operationChannel.asyncEnd;
  const fill = (i: number): void => {
    ctx.command = COMMANDS[stream.command[i]!]!;
    ctx.workerId = stream.workerId[i]!;
    ctx.durationNs = stream.durationNs[i]!;
    ctx.queueWaitNs = stream.queueWaitNs[i]!;
    ctx.error = stream.failed[i] ? failure : undefined;
  };
  const methods: Record<string, (from: number, to: number) => void> = {
    ours_channel: (from, to) => {
      for (let i = from; i < to; i++) {
        fill(i);
        asyncEnd.publish(ctx);
      }
    },
    ours_direct: (from, to) => {
      for (let i = from; i < to; i++) {
        fill(i);
        direct.recordOperation(ctx);
      }
    },
    promclient_histogram: (from, to) => {
      for (let i = from; i < to; i++) {
        fill(i);
        promHistogram.observe({ pool: POOL, command: ctx.command }, ctx.durationNs / 1e9);
      }
    },
    promclient_summary: (from, to) => {
      for (let i = from; i < to; i++) {
        fill(i);
        promSummary.observe({ pool: POOL, command: ctx.command }, ctx.durationNs / 1e9);
      }
    },
    exact_sort: (from, to) => {
      for (let i = from; i < to; i++) {
        fill(i);
        exact[exactLen++] = ctx.durationNs;
      }
    },
  };
  // A loop that only fills the context: subtracted, so each figure is the method's own cost.
  let sink = 0;
  const baseline = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      fill(i);
      sink += ctx.workerId;
    }
  };

  // Warm-up on a separate collector-free pass of the baseline only (JIT), then interleaved rounds.
  for (let w = 0; w < 3; w++) baseline(0, Math.min(n, batch));
  const names = Object.keys(methods);
  const samples: Record<string, number[]> = Object.fromEntries([...names, 'baseline'].map((k) => [k, []]));
  let round = 0;
  for (let from = 0; from < n; from += batch, round++) {
    const to = Math.min(n, from + batch);
    const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length), 'baseline'];
    for (const name of order) {
      const fn = name === 'baseline' ? baseline : methods[name]!;
      const t0 = performance.now();
      fn(from, to);
      samples[name]!.push(((performance.now() - t0) * 1e6) / (to - from));
    }
  }
  // The first rounds include JIT warm-up of each method: keep the later half.
  const steady = (k: string): number => median(samples[k]!.slice(Math.floor(samples[k]!.length / 2)));
  const base = steady('baseline');
  const recordNs: Record<string, number> = {};
  for (const k of names) recordNs[k] = Math.max(0, steady(k) - base);

  // --- accuracy on one command's values ----------------------------------------------------------
  clock.advance(1000);
  const cmd = COMMANDS[0]!;
  const cmdValues: number[] = [];
  for (let i = 0; i < n; i++) if (stream.command[i] === 0) cmdValues.push(stream.durationNs[i]!);
  const sortT0 = performance.now();
  const sortedAll = exact.slice(0, exactLen).sort();
  const sortMs = performance.now() - sortT0;
  const sorted = Float64Array.from(cmdValues).sort();
  const truth = QS.map((q) => sorted[Math.floor(q * (sorted.length - 1))]!);
  const relErr = (got: number[]): Record<string, number> =>
    Object.fromEntries(Q_NAMES.map((k, i) => [k, Math.abs(got[i]! - truth[i]!) / truth[i]!]));

  const oursCmd = direct.getCommandMetrics(POOL, '15m').find((c) => c.command === cmd);
  const oursLat = oursCmd?.latencyUs;
  const oursErr = relErr(oursLat ? [oursLat.p50 * 1e3, oursLat.p99 * 1e3, oursLat.p999 * 1e3] : [0, 0, 0]);
  const chanCmd = viaChannel.getCommandMetrics(POOL, '15m').find((c) => c.command === cmd)?.latencyUs;
  const chanErr = relErr(chanCmd ? [chanCmd.p50 * 1e3, chanCmd.p99 * 1e3, chanCmd.p999 * 1e3] : [0, 0, 0]);

  // prom-client types its labels by the declared names; `quantile` and `le` are added on read.
  type Labels = Record<string, string | number | undefined>;
  const summaryValues = (await promSummary.get()).values.filter((v) => v.labels['command'] === cmd);
  const summaryAt = (q: number): number => (summaryValues.find((v) => (v.labels as Labels)['quantile'] === q)?.value ?? 0) * 1e9;
  const summaryErr = relErr(QS.map(summaryAt));

  const histValues = (await promHistogram.get()).values
    .filter((v) => v.labels['command'] === cmd && v.metricName === 'bench_op_seconds_h_bucket')
    .map((v) => ({ le: (v.labels as Labels)['le'], value: v.value }));
  const finite = histValues.filter((v) => v.le !== '+Inf');
  const bounds = finite.map((v) => Number(v.le));
  const cumulative = finite.map((v) => v.value);
  const histCount = histValues.find((v) => v.le === '+Inf')?.value ?? 0;
  const histErr = relErr(QS.map((q) => histogramQuantile(q, bounds, cumulative, histCount) * 1e9));
  const poolSummary = direct.getPerformanceSummary(POOL).windows['15m'].latencyUs;
  const poolTruth = QS.map((q) => sortedAll[Math.floor(q * (sortedAll.length - 1))]!);
  const poolErr = Object.fromEntries(
    Q_NAMES.map((k, i) => [k, Math.abs([poolSummary.p50, poolSummary.p99, poolSummary.p999][i]! * 1e3 - poolTruth[i]!) / poolTruth[i]!]),
  );
  // Heap per record through the channel (the headline), on the same started collector, once the
  // accuracy figures are taken; the fill-only loop alongside shows what the harness itself allocates.
  const allocBatches = opts.quick ? 20 : 60;
  let ai = 0;
  const recordAlloc = allocPerCall(() => {
    fill(ai);
    asyncEnd.publish(ctx);
    ai = ai + 1 === n ? 0 : ai + 1;
  }, allocBatches, 1000);
  const fillAlloc = allocPerCall(() => {
    fill(ai);
    sink += ctx.workerId;
    ai = ai + 1 === n ? 0 : ai + 1;
  }, allocBatches, 1000);
  viaChannel.stop();

  const fmtErr = (e: Record<string, number>): string => Q_NAMES.map((k) => `${((e[k] ?? 0) * 100).toFixed(2)}%`).join(' / ');
  rows.push({ case: 'ours, via dspex:pool:operation (subscriber+sketch+counters)', 'ns/event': recordNs['ours_channel']!, 'rel err p50/p99/p99.9': fmtErr(chanErr) });
  rows.push({ case: 'ours, record path called directly', 'ns/event': recordNs['ours_direct']!, 'rel err p50/p99/p99.9': fmtErr(oursErr) });
  rows.push({ case: 'prom-client Histogram.observe (labelled, default buckets)', 'ns/event': recordNs['promclient_histogram']!, 'rel err p50/p99/p99.9': fmtErr(histErr) });
  rows.push({ case: 'prom-client Summary.observe (labelled)', 'ns/event': recordNs['promclient_summary']!, 'rel err p50/p99/p99.9': fmtErr(summaryErr) });
  rows.push({ case: `exact: store every sample (+ sort ${sortMs.toFixed(1)} ms for ${exactLen})`, 'ns/event': recordNs['exact_sort']!, 'rel err p50/p99/p99.9': fmtErr({ p50: 0, p99: 0, p999: 0 }) });

  // --- sustained, with windows rotating; heap; queries ------------------------------------------
  const sustainedN = opts.quick ? 1_000_000 : 10_000_000;
  const seconds = 960; // 16 minutes: every window and ring fills and wraps
  const perSecond = Math.ceil(sustainedN / seconds);
  const sClock = new ManualClock(1_700_000_040_000);
  const heapBefore = heapBytes(gc);
  const sustained = new MetricsCollector({ clock: sClock });
  const sCtx: OperationContext = { ...ctx, error: undefined };
  const t0 = performance.now();
  for (let i = 0, j = 0; i < sustainedN; i++, j = j + 1 === n ? 0 : j + 1) {
    sCtx.command = COMMANDS[stream.command[j]!]!;
    sCtx.workerId = stream.workerId[j]!;
    sCtx.durationNs = stream.durationNs[j]!;
    sCtx.queueWaitNs = stream.queueWaitNs[j]!;
    sCtx.error = stream.failed[j] ? failure : undefined;
    sustained.recordOperation(sCtx);
    if (i % perSecond === perSecond - 1) {
      sClock.advance(1000);
      sustained.tick();
    }
  }
  const sustainedS = (performance.now() - t0) / 1000;
  const eventsPerS = sustainedN / sustainedS;
  const heapAfter = heapBytes(gc);
  const heldBytes = sustained.memoryBytes(POOL);
  const boundBytes = sustained.memoryBoundPerPool();
  rows.push({ case: `sustained record path, windows rotating (${sustainedN.toLocaleString('en-US')} events over ${seconds} s)`, 'events/s': eventsPerS });
  rows.push({ case: 'heap after sustained events (by construction / measured delta / bound), MB', value: `${(heldBytes / 1e6).toFixed(2)} / ${((heapAfter - heapBefore) / 1e6).toFixed(2)} / ${(boundBytes / 1e6).toFixed(2)}` });

  const now = sClock.nowMs();
  const queryUs = (fn: () => void, reps: number): number => {
    fn();
    const xs: number[] = [];
    for (let r = 0; r < 5; r++) {
      const q0 = performance.now();
      for (let i = 0; i < reps; i++) fn();
      xs.push(((performance.now() - q0) * 1e3) / reps);
    }
    return median(xs);
  };
  const queries: Record<string, number> = {
    getCurrentMetrics: queryUs(() => sustained.getCurrentMetrics(POOL), 50),
    getPerformanceSummary: queryUs(() => sustained.getPerformanceSummary(POOL), 20),
    'getMetricsRange 15 min (per second)': queryUs(() => sustained.getMetricsRange(POOL, now - 900_000, now), 20),
    'getMetricsRange 1 h (per minute)': queryUs(() => sustained.getMetricsRange(POOL, now - 3_600_000, now), 50),
    'getCommandMetrics 5m': queryUs(() => sustained.getCommandMetrics(POOL, '5m'), 20),
    'getLatencyHistogram (Prometheus)': queryUs(() => sustained.getLatencyHistogram(POOL, 'operation'), 50),
  };
  for (const [k, v] of Object.entries(queries)) rows.push({ case: `query ${k}`, 'µs': v });

  // --- a whole traced call: collector subscribed vs nobody ---------------------------------------
  const calls = opts.quick ? 20_000 : 200_000;
  const callCollector = new MetricsCollector({ clock });
  const resolved = Promise.resolve('ok');
  const callCtx = (): OperationContext => ({ pool: POOL, command: 'embed', sessionId: null, workerId: 0, pid: 1, timestampMs: 0, queueWaitNs: 0, durationNs: 0 });
  const cycle = async (): Promise<number> => {
    const c0 = performance.now();
    for (let i = 0; i < calls; i++) await executePoolOperation(ALL_GROUPS, callCtx(), () => resolved);
    return ((performance.now() - c0) * 1e6) / calls;
  };
  const cycleNs = { bare: [] as number[], collector: [] as number[] };
  await cycle();
  for (let r = 0; r < 4; r++) {
    for (const which of r % 2 === 0 ? (['bare', 'collector'] as const) : (['collector', 'bare'] as const)) {
      if (which === 'collector') callCollector.start();
      cycleNs[which].push(await cycle());
      callCollector.stop();
    }
  }
  const bareCall = median(cycleNs.bare);
  const instrumentedCall = median(cycleNs.collector);
  rows.push({ case: 'executePoolOperation cycle, nobody subscribed', 'ns/call': bareCall });
  rows.push({ case: 'executePoolOperation cycle, collector subscribed', 'ns/call': instrumentedCall });

  const ours = recordNs['ours_channel']!;
  const oursMaxErr = Math.max(...Object.values(chanErr), ...Object.values(oursErr), ...Object.values(poolErr));
  const ratios = {
    promclient_summary_vs_ours_record_cost: recordNs['promclient_summary']! / ours,
    promclient_histogram_vs_ours_record_cost: recordNs['promclient_histogram']! / ours,
    promclient_summary_vs_ours_direct_record_cost: recordNs['promclient_summary']! / recordNs['ours_direct']!,
    promclient_histogram_vs_ours_direct_record_cost: recordNs['promclient_histogram']! / recordNs['ours_direct']!,
    collector_vs_bare_traced_call_cost: instrumentedCall / bareCall,
  };
  return {
    name: 'metrics',
    rows,
    ratios,
    // Batches of thousands of records are timed, not each record (a ~100 ns call is below a
    // per-call timer's resolution): no p50 / p99.
    headline: { case: 'record one operation via dspex:pool:operation', opsPerS: ours > 0 ? 1e9 / ours : null, p50Us: null, p99Us: null, heapBytesPerOp: recordAlloc.perCall },
    targets: {
      'record ns per operation event (via channel)': { target: '<= 100', value: ours, pass: ours <= 100 },
      promclient_summary_vs_ours_record_cost: { target: '>= 10', value: ratios.promclient_summary_vs_ours_record_cost, pass: ratios.promclient_summary_vs_ours_record_cost >= 10 },
      promclient_histogram_vs_ours_record_cost: { target: '>= 3', value: ratios.promclient_histogram_vs_ours_record_cost, pass: ratios.promclient_histogram_vs_ours_record_cost >= 3 },
      'max relative error p50/p99/p99.9 (ours)': { target: '<= 0.01', value: oursMaxErr, pass: oursMaxErr <= 0.01 },
      'current snapshot, ms': { target: '<= 1', value: queries['getCurrentMetrics']! / 1e3, pass: queries['getCurrentMetrics']! <= 1000 },
      '15-minute range, ms': { target: '<= 5', value: queries['getMetricsRange 15 min (per second)']! / 1e3, pass: queries['getMetricsRange 15 min (per second)']! <= 5000 },
    },
    extra: {
      events: n,
      batch,
      baselineNsPerEvent: base,
      recordNsPerEvent: recordNs,
      relativeError: {
        command: cmd,
        commandSamples: cmdValues.length,
        ours_direct: oursErr,
        ours_channel: chanErr,
        ours_pool_level: poolErr,
        promclient_histogram: histErr,
        promclient_summary: summaryErr,
        exact_sort: { p50: 0, p99: 0, p999: 0 },
      },
      exactSortMs: sortMs,
      recordAlloc: { viaChannel: recordAlloc, fillOnly: fillAlloc },
      sustained: { events: sustainedN, seconds, eventsPerS, heldBytes, heapDeltaBytes: heapAfter - heapBefore, boundBytes, gcAvailable: gc !== null },
      queryUs: queries,
      tracedCallNs: cycleNs,
      sink,
    },
  };
}
