/**
 * The real OpenTelemetry SDK wired for tests: a MeterProvider with a reader collected on demand,
 * a tracer provider with an in-memory exporter, and a context manager on AsyncLocalStorage
 * (@opentelemetry/context-async-hooks is not installed; this is its essence, 20 lines).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type Histogram, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** A ContextManager on AsyncLocalStorage: `context.with` makes a context active across awaits. */
export class AlsContextManager implements ContextManager {
  private readonly als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.als.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as unknown as (...a: unknown[]) => unknown;
    return ((...a: unknown[]) => this.with(ctx, () => fn(...a))) as unknown as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.als.disable();
    return this;
  }
}

/** A reader the test collects from when it wants. */
export class TestReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** A fresh SDK setup; `shutdown()` releases it and the global context manager. */
export function sdk() {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const manager = new AlsContextManager();
  context.setGlobalContextManager(manager);
  return {
    reader,
    meterProvider,
    tracerProvider,
    exporter,
    async collect(): Promise<ResourceMetrics> {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new Error(`collect errors: ${errors.map(String).join('; ')}`);
      return resourceMetrics;
    },
    async shutdown(): Promise<void> {
      context.disable();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/** The data points of metric `name` (empty when absent). */
export function points(rm: ResourceMetrics, name: string): DataPoint<unknown>[] {
  const out: DataPoint<unknown>[] = [];
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.descriptor.name === name) out.push(...(m.dataPoints as DataPoint<unknown>[]));
  return out;
}

/** The unit of metric `name`, or undefined. */
export function unitOf(rm: ResourceMetrics, name: string): string | undefined {
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.descriptor.name === name) return m.descriptor.unit;
  return undefined;
}

/** Sum of histogram counts of `name` over the points whose attributes include `match`. */
export function histogramCount(rm: ResourceMetrics, name: string, match: Record<string, unknown> = {}): number {
  return points(rm, name)
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + (p.value as Histogram).count, 0);
}

/** Sum of counter/gauge values of `name` over the points whose attributes include `match`. */
export function sumOf(rm: ResourceMetrics, name: string, match: Record<string, unknown> = {}): number {
  return points(rm, name)
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + (p.value as number), 0);
}
