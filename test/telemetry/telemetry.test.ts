import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { OPERATION_CHANNEL, PythonBridgeError, telemetryEvents, type OperationContext } from '../../src/index.js';
import { emitWorkerEvent, executePoolOperation, operationChannel, telemetryMask } from '../../src/telemetry/telemetry.js';
import { EventCollector } from '../helpers/events.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

const collectors: EventCollector[] = [];
function collect(pool?: string, names?: readonly string[]): EventCollector {
  const c = new EventCollector(names, pool ? (p) => p['pool'] === pool || (p['sample'] !== undefined) : undefined);
  collectors.push(c);
  return c;
}

afterEach(async () => {
  for (const c of collectors.splice(0)) c.stop();
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

const worker = { pool: expect.any(String), workerId: expect.any(Number), pid: expect.any(Number), generation: expect.any(Number), timestampMs: expect.any(Number) };

describe('the emit helpers', () => {
  it('executePoolOperation returns and rethrows exactly what fn does, with and without subscribers', async () => {
    const mask = telemetryMask();
    const ctx = (): OperationContext => ({ pool: 'x', command: 'c', sessionId: null, workerId: -1, pid: 0, timestampMs: 0, queueWaitNs: 0, durationNs: 0 });
    const value = { v: 1 };
    const err = new Error('boom');
    expect(await executePoolOperation(mask, ctx(), () => Promise.resolve(value))).toBe(value);
    await expect(executePoolOperation(mask, ctx(), () => Promise.reject(err))).rejects.toBe(err);
    const seen: string[] = [];
    const handlers = {
      start: () => seen.push('start'),
      end: () => seen.push('end'),
      asyncStart: () => seen.push('asyncStart'),
      asyncEnd: (c: OperationContext) => seen.push(`asyncEnd:${c.durationNs > 0}`),
      error: (c: OperationContext) => seen.push(`error:${(c.error as Error).message}:${c.durationNs > 0}`),
    };
    operationChannel.subscribe(handlers);
    try {
      expect(await executePoolOperation(mask, ctx(), () => Promise.resolve(value))).toBe(value);
      await expect(executePoolOperation(mask, ctx(), () => Promise.reject(err))).rejects.toBe(err);
      // Disabled group: a plain call, nothing published.
      expect(await executePoolOperation(telemetryMask(['operation']), ctx(), () => Promise.resolve(value))).toBe(value);
    } finally {
      operationChannel.unsubscribe(handlers);
    }
    expect(seen).toEqual(['start', 'end', 'asyncStart', 'asyncEnd:true', 'start', 'end', 'error:boom:true', 'asyncStart', 'asyncEnd:true']);
  });

  it('stores bound to the start phase (AsyncLocalStorage) are active inside the operation, as with tracePromise', async () => {
    const als = new AsyncLocalStorage<string>();
    operationChannel.start.bindStore(als, (ctx) => `traced:${ctx.command}`);
    try {
      const seen = await executePoolOperation(telemetryMask(), { pool: 'x', command: 'cmd', sessionId: null, workerId: -1, pid: 0, timestampMs: 0, queueWaitNs: 0, durationNs: 0 }, async () => {
        await Promise.resolve();
        return als.getStore();
      });
      expect(seen).toBe('traced:cmd');
    } finally {
      operationChannel.start.unbindStore(als);
    }
  });

  it('emit helpers build nothing when nobody listens', () => {
    const fields = { reason: 'initial' as const, startDurationNs: 1 };
    emitWorkerEvent(telemetryMask(), 'dspex:worker:init', { pool: 'p', workerId: 0, pid: 1, generation: 0 }, fields);
    // The payload object was not completed with the standard fields: the helper returned early.
    expect(fields).toEqual({ reason: 'initial', startDurationNs: 1 });
  });
});

describe('a fully instrumented pool', () => {
  it('publishes every catalog channel with complete payloads (no catalog drift)', async () => {
    const c = collect();
    const pool = await startPool({ size: 2, maxSize: 3, maxQueue: 1, healthCheckIntervalMs: 400, sessionTtlMs: 200, pythonModules: ['inside'] });
    const { ResourceMonitor } = await import('../../src/resources/index.js');
    const monitor = new ResourceMonitor({ pools: [pool], intervalMs: 60_000 });
    monitor.start();
    try {
      monitor.sampleNow();
      await pool.executeInSession('sess-a', 'echo', { a: 1 });
      await pool.executeAnonymous('inside.record', { tokens: 3 }); // dspex:python:metrics
      await expect(pool.executeAnonymous('fail', { type: 'KeyError', message: 'missing' })).rejects.toThrow();
      // Fill the pool and the queue, then one more call is rejected.
      const busy = [pool.executeAnonymous('sleep', { ms: 150 }), pool.executeAnonymous('sleep', { ms: 150 })];
      const queued = pool.executeAnonymous('echo', { queued: true });
      await expect(pool.executeAnonymous('echo', { rejected: true })).rejects.toMatchObject({ category: 'overloaded' });
      await Promise.all([...busy, queued]);
      await pool.resize(3);
      await expect(pool.executeAnonymous('crash')).rejects.toMatchObject({ category: 'worker', type: 'crashed' });
      await c.waitFor('dspex:pool:recovery');
      await c.waitFor('dspex:worker:health_check');
      await c.waitFor('dspex:session:expire', undefined, 3000);
      pool.configure({ checkoutTimeoutMs: 4000 });
      await pool.recycleWorker(0);
    } finally {
      monitor.stop();
    }
    await pool.stop();
    await c.waitFor('dspex:pool:terminate');

    // The auto-tuner and the alert manager publish their own channels (test/advisor/auto-tuner.test.ts,
    // test/alerts/alert-manager.test.ts); this pool runs neither.
    const expected = new Set(telemetryEvents.map((e) => e.name).filter((n) => n !== 'dspex:advisor:tuning' && !n.startsWith('dspex:alert:')));
    expect([...c.channelsSeen()].sort()).toEqual([...expected].sort());

    expect(c.of('dspex:pool:init')[0]).toEqual({ pool: pool.name, timestampMs: expect.any(Number), size: 2, minSize: 1, maxSize: 3, ready: 2, startDurationNs: expect.any(Number) });
    expect(c.of('dspex:worker:init')[0]).toEqual({ ...worker, reason: 'initial', startDurationNs: expect.any(Number) });
    expect(c.of('dspex:worker:init').some((e) => e['reason'] === 'resize')).toBe(true);
    expect(c.of('dspex:worker:init').some((e) => e['reason'] === 'replacement')).toBe(true);
    expect(c.of('dspex:worker:checkout')[0]).toEqual({ ...worker, command: 'echo', sessionId: 'sess-a', queueWaitNs: 0, queueDepth: 0, affinityHit: false, sessionMoved: false });
    expect(c.of('dspex:worker:checkout').find((e) => (e['queueWaitNs'] as number) > 0)).toMatchObject({ command: 'echo' });
    expect(c.of('dspex:worker:checkin')[0]).toEqual({ ...worker, command: 'echo', sessionId: 'sess-a', result: 'ok', busyNs: expect.any(Number) });
    expect(c.of('dspex:worker:checkin').map((e) => e['result'])).toEqual(expect.arrayContaining(['ok', 'python_error', 'failed']));
    expect(c.of('dspex:worker:health_check')[0]).toEqual({ ...worker, ok: true, durationNs: expect.any(Number), consecutiveFailures: 0 });
    expect(c.of('dspex:worker:terminate').find((e) => e['reason'] === 'crash')).toEqual({ ...worker, reason: 'crash', exitCode: 1, signal: null, uptimeMs: expect.any(Number), operations: expect.any(Number) });
    expect(c.of('dspex:worker:terminate').filter((e) => e['reason'] === 'stop')).toHaveLength(3);
    expect(c.of('dspex:pool:queue:depth').map((e) => e['queueDepth'])).toEqual(expect.arrayContaining([1, 0]));
    expect(c.of('dspex:pool:queue:rejected')[0]).toEqual({ pool: pool.name, timestampMs: expect.any(Number), command: 'echo', sessionId: null, queueDepth: 1, maxQueue: 1 });
    const errors = c.of('dspex:pool:error');
    expect(errors.find((e) => e['category'] === 'python')).toEqual({ pool: pool.name, timestampMs: expect.any(Number), category: 'python', type: 'KeyError', message: expect.stringContaining('missing'), workerId: expect.any(Number), pid: expect.any(Number), command: 'fail', sessionId: null });
    expect(errors.map((e) => `${String(e['category'])}/${String(e['type'])}`)).toEqual(expect.arrayContaining(['python/KeyError', 'overloaded/queue_full', 'worker/crashed']));
    expect(c.of('dspex:pool:recovery')[0]).toEqual({ ...worker, failure: 'crash', failedPid: expect.any(Number), recoveryNs: expect.any(Number) });
    expect(c.of('dspex:pool:resize')[0]).toEqual({ pool: pool.name, timestampMs: expect.any(Number), from: 2, to: 3, reason: 'manual' });
    expect(c.of('dspex:session:expire')[0]).toEqual({ pool: pool.name, timestampMs: expect.any(Number), sessionId: 'sess-a', idleMs: expect.any(Number), operations: 1 });
    expect(c.of('dspex:pool:terminate')[0]).toEqual({ pool: pool.name, timestampMs: expect.any(Number), uptimeMs: expect.any(Number), rejected: 0, stopDurationNs: expect.any(Number) });
    expect(c.of('dspex:python:metrics')[0]).toMatchObject({ pool: pool.name, droppedChanges: 0, changes: expect.arrayContaining([{ name: 'tokens_total', kind: 'counter', labels: { model: 'gpt' }, value: 3 }]) });
    expect(c.of('dspex:resource:sample')[0]?.['sample']).toMatchObject({ node: expect.any(Object), system: expect.any(Object), python: expect.any(Array) });

    const ends = c.of(`${OPERATION_CHANNEL}:asyncEnd`);
    expect(ends[0]).toMatchObject({ pool: pool.name, command: 'echo', sessionId: 'sess-a', workerId: expect.any(Number), pid: expect.any(Number), result: { a: 1 } });
    const err = c.of(`${OPERATION_CHANNEL}:error`).find((e) => e['command'] === 'fail');
    expect(err?.['error']).toBeInstanceOf(PythonBridgeError);
    expect(err?.['error']).toMatchObject({ category: 'python', type: 'KeyError' });
  });

  it('measures durationNs: a 50 ms sleep reports 50 ms plus a small overhead', async () => {
    const pool = await startPool({ size: 1 });
    const c = collect(pool.name, [OPERATION_CHANNEL]);
    for (let i = 0; i < 5; i++) await pool.executeAnonymous('sleep', { ms: 50 });
    const durations = c.of(`${OPERATION_CHANNEL}:asyncEnd`).map((e) => (e['durationNs'] as number) / 1e6);
    expect(durations).toHaveLength(5);
    // Lower bound: Python sleeps at least 50 ms, and the measurement spans the whole call.
    // Upper bound: 50 ms + 40 ms for two pipe hops and scheduling on a loaded 2-core machine
    // (an unloaded round trip is ~50 µs; the median must be far tighter, see below).
    for (const d of durations) {
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThan(90);
    }
    const sorted = [...durations].sort((a, b) => a - b);
    expect(sorted[2]!).toBeLessThan(60);
  });

  it('switched-off groups publish nothing', async () => {
    const pool = await startPool({ size: 1, telemetry: { disabled: ['worker', 'operation'] } });
    const c = collect(pool.name);
    await pool.executeAnonymous('echo', {});
    await expect(pool.executeAnonymous('fail', { type: 'ValueError', message: 'x' })).rejects.toThrow();
    await c.waitFor('dspex:pool:error');
    expect(c.of('dspex:worker:checkout')).toEqual([]);
    expect(c.of('dspex:worker:checkin')).toEqual([]);
    expect(c.of(`${OPERATION_CHANNEL}:asyncEnd`)).toEqual([]);
  });
});

describe('a throwing subscriber', () => {
  it('does not disturb the pool or other subscribers; Node reports it as an uncaught exception', () => {
    const dist = new URL('../../dist/index.js', import.meta.url);
    expect(existsSync(dist), 'run `npm run build` first').toBe(true);
    // In a separate process, so the uncaught exception Node raises on nextTick is observed as a
    // real process would see it (vitest would report it as a test failure instead).
    const script = `
      import diagnostics_channel from 'node:diagnostics_channel';
      import { SessionPool } from ${JSON.stringify(dist.href)};
      let uncaught = 0, other = 0;
      process.on('uncaughtException', () => { uncaught++; });
      diagnostics_channel.subscribe('dspex:worker:checkin', () => { throw new Error('bad subscriber'); });
      diagnostics_channel.subscribe('dspex:worker:checkin', () => { other++; });
      diagnostics_channel.tracingChannel('dspex:pool:operation').subscribe({ asyncEnd() { throw new Error('bad tracer'); } });
      const pool = new SessionPool({ name: 'throwing', size: 2, healthCheckIntervalMs: 0 });
      await pool.start();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.executeAnonymous('echo', { i })));
      const ok = results.every((r, i) => r.i === i);
      const status = pool.status();
      await pool.stop();
      await new Promise((r) => setImmediate(r)); // the re-thrown subscriber errors surface on nextTick
      console.log(JSON.stringify({ ok, other, uncaught, idle: status.idle }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; other: number; uncaught: number; idle: number };
    expect(out.ok).toBe(true);
    expect(out.other).toBe(20);
    expect(out.idle).toBe(2);
    // Each throw surfaces once as an uncaught exception (20 checkins + 20 asyncEnds).
    expect(out.uncaught).toBe(40);
  });
});
