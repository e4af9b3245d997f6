/**
 * dspex/otel with the real OpenTelemetry SDK (sdk-metrics, sdk-trace-base, in-memory exporters)
 * and a real pool: histogram counts equal the pool's calls, one span per call under the caller's
 * span, error status, the same trace id in Python, bounded attributes, nothing after stop().
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { context, trace, SpanStatusCode } from '@opentelemetry/api';
import { registerOpenTelemetry, OTEL_INSTRUMENTS, formatTraceparent, parseTraceparent } from '../../src/otel.js';
import { operationChannel, channels } from '../../src/telemetry/telemetry.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';
import { thrownBridgeError } from '../helpers/errors.js';
import { histogramCount, points, sdk, sumOf, unitOf } from './helpers.js';

const I = OTEL_INSTRUMENTS;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

function setup(opts: Parameters<typeof registerOpenTelemetry>[0] = {}) {
  const s = sdk();
  const reg = registerOpenTelemetry({ meterProvider: s.meterProvider, tracerProvider: s.tracerProvider, ...opts });
  cleanups.push(() => s.shutdown(), () => reg.stop());
  return { ...s, reg };
}

interface PyContext {
  traceparent: string | null;
  trace_id: string | null;
  span_id: string | null;
  sampled: boolean;
  command: string;
  session_id: string | null;
}

describe('registerOpenTelemetry: metrics', () => {
  it('histogram counts equal the calls the pool served; errors carry error.type; gauges from pools', async () => {
    const pool = await startPool({ size: 2, pythonModules: ['traced'] });
    const o = setup({ pools: [pool] });
    // 24 sleeps at concurrency 6 on 2 workers (real queue waits), 3 Python errors, 1 unknown command.
    await Promise.all(Array.from({ length: 6 }, async () => {
      for (let i = 0; i < 4; i++) await pool.executeAnonymous('sleep', { ms: 2 });
    }));
    for (let i = 0; i < 3; i++) await expect(pool.executeAnonymous('fail', { type: 'ValueError', message: 'bad\nsecond line' })).rejects.toThrow();
    await expect(pool.executeAnonymous('nope')).rejects.toMatchObject({ category: 'invalid_request' });
    const served = pool.status().workers.reduce((n, w) => n + w.operations, 0);
    expect(served).toBe(28);

    const rm = await o.collect();
    expect(unitOf(rm, I.operationDuration.name)).toBe('s');
    expect(unitOf(rm, I.queueWaitTime.name)).toBe('s');
    expect(histogramCount(rm, I.operationDuration.name, { 'dspex.pool': pool.name })).toBe(served);
    expect(histogramCount(rm, I.queueWaitTime.name, { 'dspex.pool': pool.name })).toBe(served);
    expect(histogramCount(rm, I.operationDuration.name, { 'dspex.command': 'sleep' })).toBe(24);
    expect(histogramCount(rm, I.operationDuration.name, { 'dspex.command': 'fail', 'error.type': 'ValueError', 'dspex.error.category': 'python' })).toBe(3);
    expect(histogramCount(rm, I.operationDuration.name, { 'dspex.command': 'nope', 'error.type': 'unknown_command' })).toBe(1);
    // Successes carry no error.type.
    for (const p of points(rm, I.operationDuration.name)) if (p.attributes['dspex.command'] === 'sleep') expect(p.attributes['error.type']).toBeUndefined();
    expect(sumOf(rm, I.operations.name, { 'dspex.pool': pool.name })).toBe(served);
    // dspex.operations is read from the bridge's own counts at collection: failures under their error attributes.
    expect(sumOf(rm, I.operations.name, { 'dspex.command': 'fail', 'error.type': 'ValueError' })).toBe(3);
    expect(sumOf(rm, I.operations.name, { 'dspex.command': 'sleep' })).toBe(24);
    expect(sumOf(rm, I.errors.name, { 'dspex.pool': pool.name })).toBe(4);
    expect(sumOf(rm, I.errors.name, { 'error.type': 'ValueError' })).toBe(3);
    // The sleeps queued: the queue-wait sum is positive and within the durations' sum.
    const sumOfHist = (name: string) => points(rm, name).filter((p) => p.attributes['dspex.pool'] === pool.name).reduce((n, p) => n + (p.value as { sum: number }).sum, 0);
    expect(sumOfHist(I.queueWaitTime.name)).toBeGreaterThan(0);
    expect(sumOfHist(I.queueWaitTime.name)).toBeLessThan(sumOfHist(I.operationDuration.name));
    // Seconds, not ns: 2 ms sleeps are well under a second each.
    expect(sumOfHist(I.operationDuration.name) / served).toBeLessThan(1);
    expect(sumOf(rm, I.poolSize.name, { 'dspex.pool': pool.name })).toBe(2);
    expect(sumOf(rm, I.poolBusy.name, { 'dspex.pool': pool.name })).toBe(0);
    expect(sumOf(rm, I.queueDepth.name, { 'dspex.pool': pool.name })).toBe(0);
  });

  it('without pools, the gauges are estimated from events; RSS comes from resource samples', async () => {
    const o = setup();
    const pool = await startPool({ size: 2 });
    await Promise.all([pool.executeAnonymous('sleep', { ms: 300 }), pool.executeAnonymous('sleep', { ms: 300 }), (async () => {
      // While both workers sleep: 2 busy, the third call queued.
      await new Promise((r) => setTimeout(r, 100));
      const third = pool.executeAnonymous('echo', {});
      const rm = await o.collect();
      expect(sumOf(rm, I.poolSize.name, { 'dspex.pool': pool.name })).toBe(2);
      expect(sumOf(rm, I.poolBusy.name, { 'dspex.pool': pool.name })).toBe(2);
      expect(sumOf(rm, I.queueDepth.name, { 'dspex.pool': pool.name })).toBe(1);
      await third;
    })()]);
    const rm = await o.collect();
    expect(sumOf(rm, I.poolBusy.name, { 'dspex.pool': pool.name })).toBe(0);
    expect(sumOf(rm, I.queueDepth.name, { 'dspex.pool': pool.name })).toBe(0);
    // A resource sample (as the ResourceMonitor publishes it) becomes the per-worker memory gauge.
    const [w0, w1] = pool.status().workers;
    const python = [w0!, w1!].map((w) => ({ pid: w.pid, pool: pool.name, workerId: w.id, rssBytes: 1000 + w.id }));
    channels['dspex:resource:sample'].publish({ sample: { timestampMs: Date.now(), python, vanished: [], warnings: [] } });
    const rm2 = await o.collect();
    expect(sumOf(rm2, I.workerMemory.name, { 'dspex.pool': pool.name, 'dspex.worker.id': 0 })).toBe(1000);
    expect(sumOf(rm2, I.workerMemory.name, { 'dspex.pool': pool.name, 'dspex.worker.id': 1 })).toBe(1001);
    expect(unitOf(rm2, I.workerMemory.name)).toBe('By');
  });

  it('attribute cardinality is bounded: commands and error types beyond the caps are (other)', async () => {
    const o = setup({ maxCommands: 2, maxErrorTypes: 2 });
    const pool = await startPool({ size: 1 });
    for (const c of ['a1', 'a2', 'a3', 'a4', 'a5']) await expect(pool.executeAnonymous(c)).rejects.toThrow();
    for (const t of ['E1', 'E2', 'E3', 'E4']) await expect(pool.executeAnonymous('fail', { type: t })).rejects.toThrow();
    const rm = await o.collect();
    const commands = new Set(points(rm, I.operationDuration.name).map((p) => p.attributes['dspex.command']));
    expect([...commands].sort()).toEqual(['(other)', 'a1', 'a2']);
    expect(histogramCount(rm, I.operationDuration.name, { 'dspex.pool': pool.name })).toBe(9);
    const errorTypes = new Set(points(rm, I.errors.name).map((p) => p.attributes['error.type']));
    expect(errorTypes.size).toBeLessThanOrEqual(9);
    expect(sumOf(rm, I.errors.name, { 'dspex.pool': pool.name })).toBe(9);
  });

  it('bad options are typed errors naming the option, and subscribe nothing', () => {
    const before = operationChannel.start.hasSubscribers;
    const cases: [unknown, RegExp][] = [
      [{ maxCommands: 0 }, /'maxCommands'/],
      [{ meterProvider: {} }, /'meterProvider'/],
      [{ tracerProvider: 5 }, /'tracerProvider'/],
      [{ pools: [{}] }, /'pools\[0\]'/],
      [{ pools: 'p' }, /'pools'/],
      [null, /'options'/],
    ];
    for (const [opts, message] of cases) {
      const err = thrownBridgeError(() => registerOpenTelemetry(opts as never));
      expect(err).toMatchObject({ category: 'invalid_request', type: 'invalid_options' });
      expect(err.message).toMatch(message);
    }
    expect(operationChannel.start.hasSubscribers).toBe(before);
  });
});

describe('registerOpenTelemetry: traces', () => {
  it('one span per call, a child of the active span; Python receives the same trace id', async () => {
    const o = setup();
    const pool = await startPool({ size: 1, pythonModules: ['traced'] });
    const tracer = o.tracerProvider.getTracer('test');
    const parent = tracer.startSpan('request');
    const got = await context.with(trace.setSpan(context.active(), parent), async () => {
      // An await first: the context must survive it (the context manager's job, then the pool's start hook).
      await new Promise((r) => setTimeout(r, 1));
      const a = await pool.executeInSession<PyContext>('s-1', 'traced.context', {});
      const b = await pool.executeAnonymous<string>('traced.log_line', { message: 'hello' });
      return { a, b };
    });
    parent.end();
    const spans = o.exporter.getFinishedSpans().filter((s) => s.name.startsWith('dspex.execute'));
    expect(spans.map((s) => s.name)).toEqual(['dspex.execute traced.context', 'dspex.execute traced.log_line']);
    const [s1, s2] = spans;
    for (const s of spans) {
      expect(s.spanContext().traceId).toBe(parent.spanContext().traceId);
      expect(s.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(s.status.code).not.toBe(SpanStatusCode.ERROR);
      expect(s.attributes['dspex.pool']).toBe(pool.name);
      expect(s.attributes['dspex.worker.id']).toBe(0);
      expect(s.attributes['dspex.worker.pid']).toBe(pool.status().workers[0]!.pid);
      expect(typeof s.attributes['dspex.queue.wait_time']).toBe('number');
    }
    expect(s1!.attributes['dspex.session.id']).toBe('s-1');
    expect(s1!.attributes['dspex.command']).toBe('traced.context');
    // Python got this very span's context.
    expect(got.a.trace_id).toBe(s1!.spanContext().traceId);
    expect(got.a.span_id).toBe(s1!.spanContext().spanId);
    expect(got.a.traceparent).toBe(`00-${s1!.spanContext().traceId}-${s1!.spanContext().spanId}-01`);
    expect(got.a.sampled).toBe(true);
    expect(got.a.session_id).toBe('s-1');
    expect(got.b).toBe(`trace_id=${s2!.spanContext().traceId} span_id=${s2!.spanContext().spanId} hello`);
  });

  it('without an active span each call is a root span; an error sets the status with category and type', async () => {
    const o = setup();
    const pool = await startPool({ size: 1 });
    await expect(pool.executeAnonymous('fail', { type: 'LookupError', message: 'k\n--- more ---' })).rejects.toMatchObject({ category: 'python' });
    await expect(pool.executeAnonymous('sleep', { ms: 2000 }, { timeoutMs: 50 })).rejects.toMatchObject({ category: 'timeout' });
    const [failed, timedOut] = o.exporter.getFinishedSpans();
    expect(failed!.parentSpanContext).toBeUndefined();
    expect(failed!.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed!.status.message).toBe('LookupError: k');
    expect(failed!.attributes['error.type']).toBe('LookupError');
    expect(failed!.attributes['dspex.error.category']).toBe('python');
    expect(timedOut!.status.code).toBe(SpanStatusCode.ERROR);
    expect(timedOut!.attributes['error.type']).toBe('operation');
    expect(timedOut!.attributes['dspex.error.category']).toBe('timeout');
  });

  it('tracing only (meterProvider null) and no bridge at all: Python sees no traceparent', async () => {
    const pool = await startPool({ size: 1, pythonModules: ['traced'] });
    expect((await pool.executeAnonymous<PyContext>('traced.context', {})).traceparent).toBeNull();
    const o = setup({ meterProvider: null });
    const ctx = await pool.executeAnonymous<PyContext>('traced.context', {});
    expect(ctx.trace_id).toBe(o.exporter.getFinishedSpans()[0]!.spanContext().traceId);
    expect((await o.collect()).scopeMetrics).toEqual([]);
    // A plain function is called exactly as before.
    expect(await pool.executeAnonymous('traced.plain', { x: 7 })).toBe(7);
  });
});

describe('the traceparent hook without the bridge', () => {
  it('any start subscriber can set ctx.traceparent; invalid values reach Python as None; dspex_context is reserved', async () => {
    const pool = await startPool({ size: 1, pythonModules: ['traced'] });
    let value = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    const onStart = (m: unknown): void => {
      (m as { traceparent?: string }).traceparent = value;
    };
    operationChannel.start.subscribe(onStart);
    cleanups.push(() => void operationChannel.start.unsubscribe(onStart));
    const ok = await pool.executeAnonymous<PyContext>('traced.context', {});
    expect(ok).toMatchObject({ trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331', sampled: false });
    for (value of ['garbage', 'a"b}', '00-00000000000000000000000000000000-b7ad6b7169203331-01', '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01']) {
      expect(await pool.executeAnonymous<PyContext>('traced.context', {})).toMatchObject({ traceparent: null, trace_id: null });
    }
    await expect(pool.executeAnonymous('traced.context', { dspex_context: {} })).rejects.toMatchObject({ category: 'invalid_request', type: 'bad_args' });
    // The worker is unharmed.
    expect(await pool.executeAnonymous('traced.plain', { x: 2 })).toBe(2);
  });
});

describe('registerOpenTelemetry: stop()', () => {
  it('records nothing after stop() and unsubscribes from every channel', async () => {
    const o = setup();
    const pool = await startPool({ size: 1 });
    await pool.executeAnonymous('echo', {});
    const spansBefore = o.exporter.getFinishedSpans().length;
    expect(operationChannel.start.hasSubscribers).toBe(true);
    o.reg.stop();
    o.reg.stop(); // idempotent
    expect(operationChannel.start.hasSubscribers).toBe(false);
    expect(operationChannel.asyncEnd.hasSubscribers).toBe(false);
    expect(channels['dspex:pool:error'].hasSubscribers).toBe(false);
    expect(channels['dspex:worker:checkout'].hasSubscribers).toBe(false);
    await pool.executeAnonymous('echo', {});
    await expect(pool.executeAnonymous('fail', {})).rejects.toThrow();
    expect(o.exporter.getFinishedSpans().length).toBe(spansBefore);
    const rm = await o.collect();
    expect(histogramCount(rm, I.operationDuration.name)).toBe(1);
    expect(sumOf(rm, I.errors.name)).toBe(0);
    // Gauges are no longer observed.
    expect(points(rm, I.poolSize.name)).toEqual([]);
  });
});

describe('traceparent helpers', () => {
  it('format and parse W3C traceparents; invalid ids give nothing', () => {
    const ids = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
    expect(formatTraceparent(ids)).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(formatTraceparent({ ...ids, traceFlags: 0 })).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00');
    expect(formatTraceparent({ ...ids, traceId: '0'.repeat(32) })).toBeUndefined();
    expect(formatTraceparent({ ...ids, spanId: 'XYZ' })).toBeUndefined();
    expect(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toEqual({ traceId: ids.traceId, spanId: ids.spanId, sampled: true });
    expect(parseTraceparent('ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toBeNull();
    expect(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01')).toBeNull();
    expect(parseTraceparent('garbage')).toBeNull();
  });
});
