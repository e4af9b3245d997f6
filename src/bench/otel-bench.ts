/**
 * `dspex bench otel`: what the OpenTelemetry bridge costs on pool throughput. The same pool is
 * driven with echo calls at concurrency 8, alternating rounds with the bridge registered (real SDK
 * providers: a MeterProvider with a reader, a BasicTracerProvider with a span processor that
 * drops spans, so exporting is not what is measured) and without it, in the same run.
 *
 * The SDK packages are dev dependencies of dspex: in an installation without them the benchmark
 * says so and measures nothing.
 *
 * @module
 */
import { SessionPool } from '../pool/session-pool.js';
import { registerOpenTelemetry } from '../otel/bridge.js';
import type { BenchOptions, BenchReport, BenchRow } from './report.js';

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

interface Providers {
  meterProvider: import('@opentelemetry/api').MeterProvider;
  tracerProvider: import('@opentelemetry/api').TracerProvider;
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
  return {
    meterProvider,
    tracerProvider,
    async collect() {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics.reduce((n, s) => n + s.metrics.length, 0);
    },
    async shutdown() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const providers = await sdkProviders();
  if (providers === null) {
    return { name: 'otel', rows: [{ case: 'skipped: @opentelemetry/sdk-metrics and sdk-trace-base are not installed' }], ratios: {} };
  }
  const roundMs = opts.quick ? 400 : 2000;
  const rounds = opts.quick ? 2 : 8;
  const concurrency = 8;
  const pool = new SessionPool({ name: `bench-otel-${process.pid}`, size: 2, healthCheckIntervalMs: 0, logger: silentLogger });
  await pool.start();
  const drive = async (ms: number): Promise<number> => {
    let ops = 0;
    const t0 = performance.now();
    const end = t0 + ms;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          await pool.executeAnonymous('echo', { text: 'x'.repeat(80) });
          ops++;
        }
      }),
    );
    return ops / ((performance.now() - t0) / 1000);
  };
  const acc = { bare: [] as number[], otel: [] as number[] };
  let instruments = 0;
  try {
    // Warm both paths.
    await drive(200);
    const warm = registerOpenTelemetry({ meterProvider: providers.meterProvider, tracerProvider: providers.tracerProvider, pools: [pool] });
    await drive(200);
    warm.stop();
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['bare', 'otel'] as const) : (['otel', 'bare'] as const);
      for (const which of order) {
        const reg = which === 'otel' ? registerOpenTelemetry({ meterProvider: providers.meterProvider, tracerProvider: providers.tracerProvider, pools: [pool] }) : null;
        acc[which].push(await drive(roundMs));
        reg?.stop();
      }
    }
    instruments = await providers.collect();
  } finally {
    await pool.stop();
    await providers.shutdown();
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const bare = mean(acc.bare);
  const otel = mean(acc.otel);
  const ratio = otel / bare;
  const rows: BenchRow[] = [
    { case: 'pool echo, no bridge', 'ops/s': bare, 'µs/op': 1e6 / bare },
    { case: 'pool echo, bridge + SDK metrics and traces', 'ops/s': otel, 'µs/op': 1e6 / otel },
  ];
  return {
    name: 'otel',
    rows,
    ratios: { otel_vs_bare_throughput: ratio },
    targets: { otel_vs_bare_throughput: { target: '>= 0.95', value: ratio, pass: ratio >= 0.95 } },
    extra: { rounds, roundMs, concurrency, instruments, throughputRounds: acc },
  };
}
