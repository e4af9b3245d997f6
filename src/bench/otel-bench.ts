/**
 * `dspex bench otel`: what the OpenTelemetry bridge costs on pool throughput. The same pool is
 * driven with echo calls at concurrency 8 in many short rounds; each round runs every arm — no
 * bridge, and the bridge registered with real SDK providers (a MeterProvider with a reader, a
 * BasicTracerProvider with a span processor that drops spans, so exporting is not what is
 * measured) — in rotated order. The figure is the median over rounds of the within-round ratio.
 * A third arm samples 1 trace in 10 (parent-based, trace-id ratio), as production tracing of a
 * hot path usually does; `--breakdown` adds metrics-only and traces-only arms. The echo (~45 µs of
 * work) is the worst case; the same rounds with a 1 ms `sleep` call show the cost for a call that
 * does something. A tight loop over `executePoolOperation` gives the Node time one call adds,
 * independent of the pool, and the same OpenTelemetry calls made directly (no dspex) give the
 * SDK's own floor: the difference is what the bridge itself costs.
 *
 * The SDK packages are dev dependencies of dspex: in an installation without them the benchmark
 * says so and measures nothing.
 *
 * @module
 */
import { SessionPool } from '../pool/session-pool.js';
import { registerOpenTelemetry } from '../otel/bridge.js';
import { DURATION_BUCKETS_S } from '../otel/names.js';
import { executePoolOperation, telemetryMask, type OperationContext } from '../telemetry/telemetry.js';
import { drive, opsPerS } from './closed-loop.js';
import { allocPerOpAsync } from './measure.js';
import { median, progressLine, quartiles, type BenchOptions, type BenchReport, type BenchRow } from './report.js';

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The instrumentation scope of the SDK-floor loop's own tracer and meter. */
const FLOOR_SCOPE = 'dspex-bench-floor';

interface Providers {
  meterProvider: import('@opentelemetry/api').MeterProvider;
  tracerProvider: import('@opentelemetry/api').TracerProvider;
  /** The same, sampling 1 trace in 10 (parent-based, trace-id ratio): what production tracing of a hot path usually runs. */
  sampledTracerProvider: import('@opentelemetry/api').TracerProvider;
  collect(): Promise<number>;
  shutdown(): Promise<void>;
}

/** The SDK providers, or null when the SDK packages are not installed. */
async function sdkProviders(): Promise<Providers | null> {
  let m: typeof import('@opentelemetry/sdk-metrics');
  let t: typeof import('@opentelemetry/sdk-trace-base');
  try {
    m = await import('@opentelemetry/sdk-metrics');
    t = await import('@opentelemetry/sdk-trace-base');
  } catch {
    return null;
  }
  class Reader extends m.MetricReader {
    protected onShutdown(): Promise<void> {
      return Promise.resolve();
    }
    protected onForceFlush(): Promise<void> {
      return Promise.resolve();
    }
  }
  const reader = new Reader();
  const meterProvider = new m.MeterProvider({ readers: [reader] });
  // Every span is sampled, started and ended, then dropped by the processor.
  const tracerProvider = new t.BasicTracerProvider({ spanProcessors: [new t.NoopSpanProcessor()] });
  const sampledTracerProvider = new t.BasicTracerProvider({
    spanProcessors: [new t.NoopSpanProcessor()],
    sampler: new t.ParentBasedSampler({ root: new t.TraceIdRatioBasedSampler(0.1) }),
  });
  return {
    meterProvider,
    tracerProvider,
    sampledTracerProvider,
    async collect() {
      const { resourceMetrics } = await reader.collect();
      // The bridge's instruments (the floor's own scope is not counted).
      return resourceMetrics.scopeMetrics.reduce((n, s) => n + (s.scope.name === FLOOR_SCOPE ? 0 : s.metrics.length), 0);
    },
    async shutdown() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
      await sampledTracerProvider.shutdown();
    },
  };
}

/** The bridge arms a round can run: none (the baseline), both signals, one of them, or both with 1 trace in 10 sampled. */
type Arm = 'none' | 'metrics' | 'traces' | 'both' | 'sampled';



/**
 * The bridge's cost per call outside the pool: `executePoolOperation` around an already settled
 * promise, in a tight loop, with and without the bridge subscribed. This is the Node CPU time one
 * call adds; the throughput ratio below is what that time costs a pool on this machine.
 */
async function perCallNs(providers: Providers, arms: readonly Arm[], calls: number, floor: (n: number) => number): Promise<Record<Arm, number> & { floor: number }> {
  const mask = telemetryMask();
  const done = Promise.resolve(1);
  const fn = (): Promise<number> => done;
  const loop = async (n: number): Promise<number> => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      await executePoolOperation(mask, newContext(), fn);
    }
    return Number(process.hrtime.bigint() - t0) / n;
  };
  const out = { none: 0, metrics: 0, traces: 0, both: 0, sampled: 0, floor: 0 };
  const samples: Record<Arm | 'floor', number[]> = { none: [], metrics: [], traces: [], both: [], sampled: [], floor: [] };
  // The SDK floor is sampled in the same rounds as the arms (the machine drifts between rounds).
  for (let r = 0; r < 5; r++) {
    for (const arm of rotate([...arms, 'floor' as const], r)) {
      if (arm === 'floor') {
        floor(Math.min(2000, calls));
        samples.floor.push(floor(calls));
        continue;
      }
      const reg = register(providers, arm, []);
      await loop(Math.min(2000, calls)); // warm this arm's caches
      samples[arm].push(await loop(calls));
      reg?.stop();
    }
  }
  for (const arm of [...arms, 'floor' as const]) out[arm] = median(samples[arm]);
  return out;
}

/**
 * The SDK's own floor: exactly the OpenTelemetry calls the bridge makes for one successful call
 * (a span started with the pool and command attributes under the active context, its traceparent
 * formatted, three attributes set, ended; two histogram records with a cached attribute set), in
 * a tight loop without dspex. The bridge's per-call cost minus this is what the bridge itself adds.
 */
async function sdkFloorLoop(providers: Providers): Promise<(n: number) => number> {
  const api = await import('@opentelemetry/api');
  const tracer = providers.tracerProvider.getTracer(FLOOR_SCOPE);
  const meter = providers.meterProvider.getMeter(FLOOR_SCOPE);
  const advice = { explicitBucketBoundaries: [...DURATION_BUCKETS_S] };
  const duration = meter.createHistogram('floor.duration', { unit: 's', advice });
  const queueWait = meter.createHistogram('floor.queue_wait', { unit: 's', advice });
  const attrs = { 'dspex.pool': 'bench', 'dspex.command': 'echo' };
  let sink = 0;
  const loop = (n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const span = tracer.startSpan('dspex.execute echo', { kind: api.SpanKind.CLIENT, attributes: { 'dspex.pool': 'bench', 'dspex.command': 'echo' } }, api.context.active());
      const sc = span.spanContext();
      sink += `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`.length;
      span.setAttribute('dspex.worker.id', 0);
      span.setAttribute('dspex.worker.pid', 1);
      span.setAttribute('dspex.queue_wait', 0);
      span.end();
      duration.record(0.00005, attrs);
      queueWait.record(0, attrs);
    }
    if (sink < 0) throw new Error('unreachable');
    return Number(process.hrtime.bigint() - t0) / n;
  };
  return loop;
}

/** A context as the dispatcher builds it for an anonymous echo call. */
function newContext(): OperationContext {
  return { pool: 'bench', command: 'echo', sessionId: null, workerId: 0, pid: 1, timestampMs: 0, queueWaitNs: 0, durationNs: 0, traceparent: undefined };
}

function register(p: Providers, arm: Arm, pools: SessionPool[]): { stop(): void } | null {
  if (arm === 'none') return null;
  return registerOpenTelemetry({
    meterProvider: arm === 'traces' ? null : p.meterProvider,
    tracerProvider: arm === 'metrics' ? null : arm === 'sampled' ? p.sampledTracerProvider : p.tracerProvider,
    pools,
  });
}

/** `arms` rotated by `r`: each arm leads in turn, so no arm always follows another's garbage. */
function rotate<T>(arms: readonly T[], r: number): T[] {
  const k = r % arms.length;
  const order = [...arms.slice(k), ...arms.slice(0, k)];
  return r % 2 === 1 ? order.reverse() : order;
}

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const providers = await sdkProviders();
  if (providers === null) {
    return { name: 'otel', rows: [{ case: 'skipped: @opentelemetry/sdk-metrics and sdk-trace-base are not installed' }], ratios: {} };
  }
  // Many short rounds, each arm in every round, ratios taken within a round and the median over
  // rounds: the machine's drift (other jobs, thermal, GC of a previous arm) moves both sides of a
  // round together, and a few disturbed rounds do not move a median.
  const roundMs = opts.quick ? 200 : Number(opts.flags['round-ms'] ?? 400);
  const rounds = opts.quick ? 3 : Number(opts.flags['rounds'] ?? 30);
  const breakdown = opts.flags['breakdown'] === 'true';
  const arms: Arm[] = breakdown ? ['none', 'metrics', 'traces', 'both', 'sampled'] : ['none', 'both', 'sampled'];
  const concurrency = 8;
  const progress = progressLine('otel');
  const pool = new SessionPool({ name: `bench-otel-${process.pid}`, size: 2, healthCheckIntervalMs: 0, logger: silentLogger });
  await pool.start();
  const echo = (): Promise<unknown> => pool.executeAnonymous('echo', { text: 'x'.repeat(80) });
  const sleep1ms = (): Promise<unknown> => pool.executeAnonymous('sleep', { ms: 1 });
  // Throughput only: no clock read per call beyond the loop's own.
  const driveOps = async (ms: number, call: () => Promise<unknown> = echo): Promise<number> => opsPerS(await drive(concurrency, ms, call, { latency: false }));
  const acc: Record<Arm, number[]> = { none: [], metrics: [], traces: [], both: [], sampled: [] };
  const roundRatios: Record<Arm, number[]> = { none: [], metrics: [], traces: [], both: [], sampled: [] };
  const sleepRatios: number[] = [];
  let instruments = 0;
  let perCall: Record<Arm, number> & { floor: number };
  let heapPerOp = Number.NaN;
  let heapPerOpBare = Number.NaN;
  try {
    // Warm every arm.
    for (const arm of arms) {
      const reg = register(providers, arm, [pool]);
      await driveOps(200);
      reg?.stop();
    }
    for (let r = 0; r < rounds; r++) {
      progress.update(`round ${r + 1}/${rounds}`);
      const got: Partial<Record<Arm, number>> = {};
      for (const arm of rotate(arms, r)) {
        const reg = register(providers, arm, [pool]);
        got[arm] = await driveOps(roundMs);
        reg?.stop();
        acc[arm].push(got[arm]);
      }
      for (const arm of arms) roundRatios[arm].push(got[arm]! / got.none!);
    }
    // The same for a call with 1 ms of work: what the bridge costs a call that does something.
    for (let r = 0; r < rounds; r++) {
      progress.update(`1 ms calls, round ${r + 1}/${rounds}`);
      const got: Partial<Record<Arm, number>> = {};
      for (const arm of rotate(['none', 'both'] as const, r)) {
        const reg = register(providers, arm, [pool]);
        got[arm] = await driveOps(roundMs, sleep1ms);
        reg?.stop();
      }
      sleepRatios.push(got.both! / got.none!);
    }
    progress.update('allocation');
    const reg = register(providers, 'both', [pool]);
    heapPerOp = (await allocPerOpAsync(() => pool.executeAnonymous('echo', { text: 'x'.repeat(80) }), opts.quick ? 5 : 30, 50)).perCall;
    reg?.stop();
    heapPerOpBare = (await allocPerOpAsync(() => pool.executeAnonymous('echo', { text: 'x'.repeat(80) }), opts.quick ? 5 : 30, 50)).perCall;
    progress.update('per-call cost');
    perCall = await perCallNs(providers, arms, opts.quick ? 5_000 : 50_000, await sdkFloorLoop(providers));
    instruments = await providers.collect();
  } finally {
    progress.done();
    await pool.stop();
    await providers.shutdown();
  }
  const label: Record<Arm, string> = {
    none: 'pool echo, no bridge',
    metrics: 'pool echo, bridge: SDK metrics only',
    traces: 'pool echo, bridge: SDK traces only',
    both: 'pool echo, bridge + SDK metrics and traces',
    sampled: 'pool echo, bridge + SDK metrics, 1 trace in 10 sampled',
  };
  const floorNs = perCall.floor;
  const rows: BenchRow[] = arms.map((arm) => {
    const [q1, q3] = quartiles(roundRatios[arm]);
    return {
      case: label[arm],
      'ops/s (median)': median(acc[arm]),
      'ratio (median of rounds)': median(roundRatios[arm]),
      'ratio q1..q3': arm === 'none' ? '—' : `${q1.toFixed(3)}..${q3.toFixed(3)}`,
      'ns/call added (tight loop)': arm === 'none' ? 0 : perCall[arm] - perCall.none,
    };
  });
  const ratio = median(roundRatios.both);
  const sleepRatio = median(sleepRatios);
  rows.push({ case: 'the same SDK calls without dspex (span + 2 records), tight loop', 'ops/s (median)': null, 'ratio (median of rounds)': null, 'ratio q1..q3': '—', 'ns/call added (tight loop)': floorNs });
  rows.push({ case: 'pool sleep 1 ms, bridge + SDK metrics and traces', 'ops/s (median)': null, 'ratio (median of rounds)': sleepRatio, 'ratio q1..q3': quartiles(sleepRatios).map((x) => x.toFixed(3)).join('..'), 'ns/call added (tight loop)': null });
  const ratios: Record<string, number> = { otel_vs_bare_throughput: ratio, otel_vs_bare_throughput_1ms_calls: sleepRatio, otel_ns_per_call: perCall.both - perCall.none, otel_sdk_floor_ns_per_call: floorNs, otel_bridge_own_ns_per_call: perCall.both - perCall.none - floorNs, otel_vs_bare_heap_per_op: heapPerOp / heapPerOpBare };
  const sampledRatio = median(roundRatios.sampled);
  ratios['otel_sampled_10pct_vs_bare_throughput'] = sampledRatio;
  if (breakdown) {
    ratios['otel_metrics_only_vs_bare_throughput'] = median(roundRatios.metrics);
    ratios['otel_traces_only_vs_bare_throughput'] = median(roundRatios.traces);
  }
  return {
    name: 'otel',
    rows,
    ratios,
    headline: { case: 'pool echo, 2 workers, 8 callers, bridge + SDK metrics and traces', opsPerS: median(acc.both), p50Us: null, p99Us: null, heapBytesPerOp: heapPerOp },
    targets: {
      otel_vs_bare_throughput: { target: '>= 0.95', value: ratio, pass: ratio >= 0.95 },
      'otel vs none, throughput of 1 ms calls': { target: '>= 0.95', value: sleepRatio, pass: sleepRatio >= 0.95 },
      'otel vs none, echo with 1 trace in 10 sampled': { target: '>= 0.95', value: sampledRatio, pass: sampledRatio >= 0.95 },
    },
    extra: { rounds, roundMs, concurrency, arms, instruments, throughputRounds: acc, roundRatios, sleepRoundRatios: sleepRatios, perCallNs: perCall, sdkFloorNs: floorNs },
    notes: [
      `${rounds} rounds of ${roundMs} ms per arm, arms rotated each round; the ratio is taken within each round, then the median over rounds.`,
      'ns/call added: executePoolOperation around a settled promise in a tight loop, bridge arm minus no-bridge arm (median of 5).',
      'SDK floor: the OpenTelemetry calls the bridge makes per call, made directly in a tight loop; bridge own ns = ns/call added − floor.',
    ],
  };
}
