// The MONITORING_GUIDE's OpenTelemetry setup, runnable: `npm run build && node examples/otel.mjs`.
// A real service registers its SDK once (NodeSDK, or these providers with OTLP exporters) and
// uses AsyncLocalStorageContextManager from @opentelemetry/context-async-hooks; the tiny context
// manager below stands in for it so the example needs only the API and the two SDK packages.
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SessionPool } from 'dspex';
import { registerOpenTelemetry } from 'dspex/otel';

const als = new AsyncLocalStorage();
context.setGlobalContextManager({
  active: () => als.getStore() ?? ROOT_CONTEXT,
  with: (ctx, fn, thisArg, ...args) => als.run(ctx, () => fn.call(thisArg, ...args)),
  bind: (_ctx, target) => target,
  enable() { return this; },
  disable() { als.disable(); return this; },
});

class OnDemandReader extends MetricReader {
  onShutdown() { return Promise.resolve(); }
  onForceFlush() { return Promise.resolve(); }
}
const reader = new OnDemandReader();
const meterProvider = new MeterProvider({ readers: [reader] });
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });

let logged;
const pythonLogged = new Promise((resolve) => (logged = resolve));
const pool = new SessionPool({
  name: 'models',
  size: 2,
  pythonPath: [new URL('./py', import.meta.url).pathname],
  pythonModules: ['traced_model'],
  // Python's log lines (stderr) arrive here, with the trace id in them.
  logger: { debug() {}, info() {}, warn: (_obj, msg) => logged(msg), error() {} },
});
await pool.start();
const otel = registerOpenTelemetry({ meterProvider, tracerProvider, pools: [pool] });
try {
  // An incoming request's span: the pool call becomes its child, and Python logs its trace id.
  const tracer = tracerProvider.getTracer('my-service');
  const out = await tracer.startActiveSpan('GET /predict', async (span) => {
    try {
      return await pool.executeAnonymous('traced_model.predict', { text: 'a good day' });
    } finally {
      span.end();
    }
  });
  const [call, request] = spans.getFinishedSpans();
  console.log('span:', call.name, 'parent:', request.name, 'same trace:', call.spanContext().traceId === request.spanContext().traceId);
  console.log('python saw trace id:', out.trace_id === call.spanContext().traceId, call.spanContext().traceId);

  // stderr travels apart from the reply: wait for the line (at most 5 s).
  console.log('python log:', await Promise.race([pythonLogged, new Promise((r) => setTimeout(r, 5000, '(none)'))]));

  const { resourceMetrics } = await reader.collect();
  const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  const duration = metrics.find((m) => m.descriptor.name === 'dspex.operation.duration');
  console.log('dspex.operation.duration count:', duration.dataPoints[0].value.count, 'unit:', duration.descriptor.unit);
  console.log('instruments:', metrics.map((m) => m.descriptor.name).sort().join(' '));
} finally {
  otel.stop();
  await pool.stop();
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
}
