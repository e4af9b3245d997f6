import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/contract/clock.js';
import { LATENCY_BUCKETS_S } from '../../src/metrics/histogram-views.js';
import { collectorChannels, MetricsCollector } from '../../src/metrics/metrics-collector.js';
import { PythonBridgeError } from '../../src/contract/errors.js';
import { channels, operationChannel, type OperationContext } from '../../src/telemetry/telemetry.js';
import type { LatencyKind, WindowName } from '../../src/contract/metrics.js';

const T0 = 1_700_000_040_000; // a wall-clock minute boundary, ms

const collectors: MetricsCollector[] = [];
function makeCollector(clock = new ManualClock(T0), opts: ConstructorParameters<typeof MetricsCollector>[0] = {}): { c: MetricsCollector; clock: ManualClock } {
  const c = new MetricsCollector({ clock, ...opts });
  collectors.push(c);
  c.start();
  return { c, clock };
}

afterEach(() => {
  for (const c of collectors.splice(0)) c.stop();
  vi.useRealTimers();
});

let poolSeq = 0;
const uniquePool = (): string => `metrics-test-${process.pid}-${++poolSeq}`;

function ctxFor(pool: string, command: string, workerId: number, durationNs: number, queueWaitNs = 0): OperationContext {
  return { pool, command, sessionId: null, workerId, pid: 1000 + workerId, timestampMs: T0, queueWaitNs, durationNs: 0 };
}

/** One traced operation on the real channel, as the pool runs it: durations set before settling. */
async function traced(ctx: OperationContext, durationNs: number, error?: Error): Promise<void> {
  const run = operationChannel.tracePromise(() => {
    ctx.durationNs = durationNs;
    return error ? Promise.reject(error) : Promise.resolve('ok');
  }, ctx);
  await run.catch(() => undefined);
}

describe('MetricsCollector subscriptions', () => {
  it('subscribes on start and leaves no subscription after stop', () => {
    const all = [collectorChannels.operation, ...collectorChannels.plain];
    for (const ch of all) expect(ch.hasSubscribers).toBe(false);
    const c = new MetricsCollector({ clock: new ManualClock(T0) });
    c.start();
    c.start(); // idempotent: one subscription each
    expect(c.running).toBe(true);
    for (const ch of all) expect(ch.hasSubscribers).toBe(true);
    c.stop();
    c.stop();
    expect(c.running).toBe(false);
    for (const ch of all) expect(ch.hasSubscribers).toBe(false);
    expect(operationChannel.start.hasSubscribers || operationChannel.error.hasSubscribers).toBe(false);
  });

  it('records operations published on the real tracing channel: success, rejection, synchronous throw', async () => {
    const { c, clock } = makeCollector();
    const pool = uniquePool();
    await traced(ctxFor(pool, 'embed', 0, 0, 250_000), 2_000_000);
    await traced(ctxFor(pool, 'embed', 1, 0, 0), 4_000_000);
    await traced(ctxFor(pool, 'predict', 1, 0, 0), 8_000_000, new PythonBridgeError('python', 'ValueError', 'bad'));
    // A synchronous throw: Node publishes error + end, no asyncEnd.
    const syncCtx = ctxFor(pool, 'predict', -1, 0);
    expect(() =>
      operationChannel.tracePromise(() => {
        throw new PythonBridgeError('invalid_request', 'bad_args', 'sync');
      }, syncCtx),
    ).toThrow('sync');
    clock.advance(1000);
    const cur = c.getCurrentMetrics(pool);
    expect(cur.lastSecond.ops).toBe(4);
    expect(cur.lastSecond.errors).toBe(2);
    expect(cur.totals.operations).toBe(4);
    expect(cur.totals.errors).toBe(2);
    expect(cur.lastSecond.latencyUs.count).toBe(4);
    expect(cur.lastSecond.latencyUs.max).toBe(8000);
    expect(cur.lastSecond.latencyUs.min).toBe(0); // the synchronous throw never measured a duration
    // Queue wait: the three calls that got a worker.
    expect(cur.lastSecond.queueWaitUs.count).toBe(3);
    expect(cur.lastSecond.queueWaitUs.max).toBe(250);
    const byCmd = c.getOperationTotalsByCommand(pool);
    expect(byCmd).toEqual(
      expect.arrayContaining([
        { command: 'embed', operations: 2, errors: 0 },
        { command: 'predict', operations: 2, errors: 2 },
      ]),
    );
    const w1 = c.getWorkerMetrics(pool, 1);
    expect(w1.operations).toBe(2);
    expect(w1.errors).toBe(1);
    expect(w1.latencyUs.count).toBe(2);
  });

  it('counts checkouts, session moves, rejections, errors by category and type, crashes, restarts and health-check failures', () => {
    const { c, clock } = makeCollector();
    const pool = uniquePool();
    const base = { pool, timestampMs: T0, pid: 42, generation: 0 };
    channels['dspex:worker:init'].publish({ ...base, workerId: 0, reason: 'initial', startDurationNs: 1 });
    channels['dspex:worker:init'].publish({ ...base, workerId: 1, reason: 'initial', startDurationNs: 1 });
    channels['dspex:worker:checkout'].publish({ ...base, workerId: 0, command: 'x', sessionId: null, queueWaitNs: 0, queueDepth: 2, affinityHit: false, sessionMoved: false });
    channels['dspex:worker:checkout'].publish({ ...base, workerId: 1, command: 'x', sessionId: 's', queueWaitNs: 0, queueDepth: 1, affinityHit: false, sessionMoved: true });
    channels['dspex:worker:checkin'].publish({ ...base, workerId: 1, command: 'x', sessionId: null, result: 'ok', busyNs: 5 });
    channels['dspex:pool:queue:rejected'].publish({ pool, timestampMs: T0, command: 'x', sessionId: null, queueDepth: 10, maxQueue: 10 });
    channels['dspex:pool:queue:depth'].publish({ pool, timestampMs: T0, queueDepth: 4, maxQueue: 10 });
    const err = { pool, timestampMs: T0, message: 'm', workerId: 0, pid: 42, command: 'x', sessionId: null };
    channels['dspex:pool:error'].publish({ ...err, category: 'python', type: 'KeyError' });
    channels['dspex:pool:error'].publish({ ...err, category: 'python', type: 'KeyError' });
    channels['dspex:pool:error'].publish({ ...err, category: 'timeout', type: 'operation' });
    channels['dspex:worker:terminate'].publish({ ...base, workerId: 0, reason: 'crash', exitCode: 1, signal: null, uptimeMs: 9, operations: 3 });
    channels['dspex:worker:terminate'].publish({ ...base, workerId: 1, reason: 'stop', exitCode: 0, signal: null, uptimeMs: 9, operations: 3 });
    channels['dspex:worker:init'].publish({ ...base, pid: 43, generation: 1, workerId: 0, reason: 'replacement', startDurationNs: 1 });
    channels['dspex:worker:health_check'].publish({ ...base, workerId: 0, ok: false, durationNs: 1, consecutiveFailures: 1 });
    channels['dspex:worker:health_check'].publish({ ...base, workerId: 0, ok: true, durationNs: 1, consecutiveFailures: 0 });
    clock.advance(1000);
    expect(c.getTotals(pool)).toEqual({
      operations: 0,
      errors: 0,
      checkouts: 2,
      queueRejections: 1,
      workerCrashes: 1,
      workerRestarts: 1,
      healthCheckFailures: 1,
      sessionMoves: 1,
      workerRecycles: {},
    });
    expect(c.getErrorTotals(pool)).toEqual([
      { category: 'python', type: 'KeyError', count: 2 },
      { category: 'timeout', type: 'operation', count: 1 },
    ]);
    const rates = c.getErrorRates(pool, '1m');
    expect(rates.byCategory).toEqual({ python: { count: 2, rate: 0 }, timeout: { count: 1, rate: 0 } });
    // Untracked pool: gauges estimated from events (1 live worker, busy clamped to it, last queue depth).
    expect(c.getCurrentMetrics(pool).gauges).toEqual({ size: 1, busy: 1, idle: 0, starting: 0, queueDepth: 4, utilization: 1, spares: 0 });
    const w0 = c.getWorkerMetrics(pool, 0);
    // The health checks above carry the replaced process's generation: they must not bring its pid back.
    expect(w0).toMatchObject({ pid: 43, generation: 1, lastSeenMs: T0 });
    expect(c.getWorkerIds(pool)).toEqual([0, 1]);
  });

  it('ignores malformed payloads instead of throwing inside publish', () => {
    makeCollector();
    expect(() => {
      channels['dspex:pool:error'].publish({});
      channels['dspex:worker:checkout'].publish({});
      operationChannel.asyncEnd.publish({});
      operationChannel.asyncEnd.publish({ pool: uniquePool() });
    }).not.toThrow();
  });
});

describe('MetricsCollector windows with the injected clock', () => {
  it('moves events across second, minute and 5-minute boundaries without waiting', async () => {
    const { c, clock } = makeCollector();
    const pool = uniquePool();
    for (let i = 0; i < 5; i++) await traced(ctxFor(pool, 'a', 0, 0), 1_000_000 * (i + 1));
    clock.advance(999);
    expect(c.getCurrentMetrics(pool).lastSecond.ops).toBe(0); // the second is not complete yet
    clock.advance(1);
    let cur = c.getCurrentMetrics(pool);
    expect(cur.lastSecond.ops).toBe(5);
    expect(cur.lastSecond.timestampMs).toBe(T0);
    expect(cur.lastMinute.ops).toBe(5);
    clock.advance(59_000); // second 0 is now the oldest of the last 60
    expect(c.getCurrentMetrics(pool).lastMinute.ops).toBe(5);
    clock.advance(1000); // and now it left the minute
    cur = c.getCurrentMetrics(pool);
    expect(cur.lastMinute.ops).toBe(0);
    const summary = c.getPerformanceSummary(pool);
    expect(summary.windows['1m'].ops).toBe(0);
    expect(summary.windows['5m'].ops).toBe(5);
    expect(Math.abs(summary.windows['5m'].latencyUs.p50 - 3000) / 3000).toBeLessThanOrEqual(0.01);
    expect(summary.windows['15m'].ops).toBe(5);
    clock.advance(5 * 60_000);
    expect(c.getPerformanceSummary(pool).windows['5m'].ops).toBe(0);
    expect(c.getPerformanceSummary(pool).windows['15m'].ops).toBe(5);
    expect(c.getTotals(pool).operations).toBe(5);
    clock.advance(9 * 60_000);
    expect(c.getPerformanceSummary(pool).windows['15m'].ops).toBe(0);
    clock.advance(2 * 60_000); // 16 minutes without a word: an untracked pool is forgotten
    expect(c.pools()).not.toContain(pool);
  });

  it('samples tracked pools once a second and forgets untracked pools after 15 minutes of silence', async () => {
    const { c, clock } = makeCollector();
    const tracked = uniquePool();
    const silent = uniquePool();
    let busy = 1;
    const untrack = c.trackPool({ name: tracked, status: () => ({ size: 4, busy, idle: 4 - busy, starting: 0, queueDepth: busy * 2 }) });
    await traced(ctxFor(silent, 'a', 0, 0), 1e6);
    clock.advance(1000);
    c.tick(); // with an injected clock, seconds complete (and gauges are sampled) on tick or query
    busy = 3;
    clock.advance(1000);
    const g = c.getCurrentMetrics(tracked);
    expect(g.gauges).toEqual({ size: 4, busy: 3, idle: 1, starting: 0, queueDepth: 6, utilization: 0.75, spares: 0 });
    expect(g.lastMinute.gauges.utilization).toBeCloseTo((0.25 + 0.75) / 2, 12);
    expect(c.pools().sort()).toEqual([tracked, silent].sort());
    clock.advance(901_000);
    expect(c.pools()).toEqual([tracked]); // tracked pools are kept
    untrack();
    clock.advance(901_000);
    expect(c.pools()).toEqual([]);
  });

  it('keeps the event estimates while a tracked pool\'s status() throws, and lets the pool go on its terminate', () => {
    const { c, clock } = makeCollector(new ManualClock(T0), { forgetAfterS: 5 });
    const pool = uniquePool();
    let failing = false;
    c.trackPool({
      name: pool,
      status: () => {
        if (failing) throw new Error('stopped');
        return { size: 4, busy: 3, idle: 1, starting: 1, queueDepth: 7 };
      },
    });
    const base = { pool, timestampMs: T0, pid: 42, generation: 0 };
    channels['dspex:worker:init'].publish({ ...base, workerId: 0, reason: 'initial', startDurationNs: 1 });
    channels['dspex:worker:init'].publish({ ...base, workerId: 1, reason: 'initial', startDurationNs: 1 });
    channels['dspex:worker:checkout'].publish({ ...base, workerId: 0, command: 'x', sessionId: null, queueWaitNs: 0, queueDepth: 3, affinityHit: false });
    clock.advance(1000);
    expect(c.getCurrentMetrics(pool).gauges).toEqual({ size: 4, busy: 3, idle: 1, starting: 1, queueDepth: 7, utilization: 0.75, spares: 0 });
    failing = true;
    clock.advance(1000);
    expect(() => c.tick()).not.toThrow();
    expect(c.getCurrentMetrics(pool).gauges).toEqual({ size: 2, busy: 1, idle: 1, starting: 0, queueDepth: 3, utilization: 0.5, spares: 0 });
    clock.advance(10_000);
    expect(c.pools()).toContain(pool); // still tracked: never forgotten
    // The terminate cannot read a lifecycle from the failing pool: it is let go.
    channels['dspex:pool:terminate'].publish({ pool, timestampMs: T0, uptimeMs: 1, rejected: 0, stopDurationNs: 1 });
    clock.advance(1000);
    expect(c.getCurrentMetrics(pool).gauges.size).toBe(0);
    clock.advance(10_000);
    expect(c.pools()).not.toContain(pool);
  });

  it('keeps a bounded number of pools, dropping the one heard from longest ago', async () => {
    const { c, clock } = makeCollector(new ManualClock(T0), { maxPools: 2 });
    const [a, b, d] = [uniquePool(), uniquePool(), uniquePool()];
    await traced(ctxFor(a, 'x', 0, 0), 1e6);
    clock.advance(1000);
    await traced(ctxFor(b, 'x', 0, 0), 1e6);
    clock.advance(1000);
    await traced(ctxFor(d, 'x', 0, 0), 1e6);
    expect(c.pools().sort()).toEqual([b, d].sort());
  });

  it('rotates from an unref’d 1-second timer with the real clock, and stop() clears it', async () => {
    vi.useFakeTimers({ now: T0 + 500 });
    const c = new MetricsCollector();
    collectors.push(c);
    c.start();
    const pool = uniquePool();
    const status = vi.fn(() => ({ size: 2, busy: 1, idle: 1, starting: 0, queueDepth: 0 }));
    c.trackPool({ name: pool, status });
    await traced(ctxFor(pool, 'a', 0, 0), 1e6);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(400);
    expect(status).not.toHaveBeenCalled(); // the second has not ended yet
    vi.advanceTimersByTime(200);
    // The timer fired just after the boundary and completed the second on its own (no query ran).
    expect(status).toHaveBeenCalledTimes(1);
    expect(c.getCurrentMetrics(pool).lastSecond.ops).toBe(1);
    vi.advanceTimersByTime(3000);
    expect(status).toHaveBeenCalledTimes(4);
    c.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('MetricsCollector queries', () => {
  async function busyPool(): Promise<{ c: MetricsCollector; clock: ManualClock; pool: string }> {
    const { c, clock } = makeCollector();
    const pool = uniquePool();
    for (let s = 0; s < 120; s++) {
      for (let i = 0; i < 10; i++) {
        const fail = i === 9 ? new PythonBridgeError('python', 'ValueError', 'x') : undefined;
        await traced(ctxFor(pool, i % 2 ? 'embed' : 'predict', i % 3, 0, i * 100_000), (i + 1) * 1_000_000, fail);
        if (fail) channels['dspex:pool:error'].publish({ pool, timestampMs: T0, category: 'python', type: 'ValueError', message: 'x', workerId: 0, pid: 1, command: 'embed', sessionId: null });
      }
      clock.advance(1000);
      c.tick();
    }
    return { c, clock, pool };
  }

  it('answers every query with the documented shapes and values', async () => {
    const { c, clock, pool } = await busyPool();
    const now = clock.nowMs();

    const cur = c.getCurrentMetrics(pool);
    expect(cur).toMatchObject({ pool, timestampMs: now, totals: { operations: 1200, errors: 120 } });
    expect(cur.lastSecond).toMatchObject({ periodS: 1, ops: 10, errors: 1, throughputPerS: 10, errorRate: 0.1 });
    expect(cur.lastMinute).toMatchObject({ periodS: 60, ops: 600, errors: 60, throughputPerS: 10 });
    expect(cur.lastMinute.latencyUs.p50).toBeCloseTo(5000, -2);
    expect(cur.lastMinute.latencyUs.max).toBe(10_000);

    const summary = c.getPerformanceSummary(pool);
    expect(Object.keys(summary.windows)).toEqual(['1m', '5m', '15m']);
    const w5 = summary.windows['5m'];
    expect(w5).toMatchObject({ window: '5m', coveredS: 120, ops: 1200, errors: 120, errorRate: 0.1, throughputPerS: 10 });
    for (const k of ['count', 'min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const) {
      expect(typeof w5.latencyUs[k]).toBe('number');
      expect(typeof w5.queueWaitUs[k]).toBe('number');
    }
    expect(w5.latencyUs.mean).toBeCloseTo(5500, 6);
    expect(w5.queueWaitUs.max).toBe(900);
    // errorRate 0.1 costs 40·min(1, 0.1/0.05) = 40; queue wait p99 (900 µs) vs duration p99 (10 ms) costs 15·0.18 = 2.7.
    expect(w5.healthScore).toBe(57);

    const range = c.getMetricsRange(pool, now - 60_000, now);
    expect(range).toMatchObject({ pool, fromMs: now - 60_000, toMs: now, resolutionS: 1 });
    expect(range.points).toHaveLength(60);
    expect(range.points[0]).toMatchObject({ timestampMs: now - 60_000, ops: 10, errors: 1, throughputPerS: 10, errorRate: 0.1 });
    // 10 calls a second: p99 is rank floor(0.99 * 9) = 8, the 9 ms call.
    expect(Math.abs(range.points[0]!.latencyP99Us - 9000) / 9000).toBeLessThanOrEqual(0.01);
    const hour = c.getMetricsRange(pool, now - 3_600_000, now);
    expect(hour.resolutionS).toBe(60);
    expect(hour.points.map((p) => p.ops)).toEqual([600, 600]);

    const errors = c.getErrorRates(pool, '1m');
    expect(errors).toEqual({
      pool,
      window: '1m',
      ops: 600,
      errors: 60,
      errorRate: 0.1,
      byCategory: { python: { count: 60, rate: 0.1 } },
      byType: [{ category: 'python', type: 'ValueError', count: 60, rate: 0.1 }],
    });

    const worker = c.getWorkerMetrics(pool, 0, '5m');
    expect(worker).toMatchObject({ pool, workerId: 0, pid: 1000, operations: 480, errors: 120, window: '5m' });
    expect(worker.latencyUs.count).toBe(480);

    const commands = c.getCommandMetrics(pool, '1m');
    expect(commands.map((x) => x.command).sort()).toEqual(['embed', 'predict']);
    expect(commands.reduce((a, x) => a + x.errors, 0)).toBe(c.getErrorRates(pool, '1m').errors);

    const hist = c.getLatencyHistogram(pool, 'operation');
    expect(hist.bucketsS).toEqual(LATENCY_BUCKETS_S);
    expect(hist.count).toBe(1200);
    expect(hist.sumS).toBeCloseTo(1200 * 0.0055, 9);
    for (let i = 1; i < hist.cumulativeCounts.length; i++) expect(hist.cumulativeCounts[i]).toBeGreaterThanOrEqual(hist.cumulativeCounts[i - 1]!);
    const at = (le: number): number => hist.cumulativeCounts[LATENCY_BUCKETS_S.indexOf(le)]!;
    expect(at(0.0025)).toBe(240); // the 1 ms and 2 ms calls
    // The 10 ms calls sit on a bound: within 0.99% they may count on either side of it (always the same one).
    expect(at(0.01)).toBeGreaterThanOrEqual(1080);
    expect(at(0.025)).toBe(1200);
    const embedWait = c.getLatencyHistogram(pool, 'queue_wait', 'embed');
    expect(embedWait.count).toBe(600);

    const dist = c.getLatencyDistribution(pool, '1m');
    expect(dist.reduce((a, b) => a + b.count, 0)).toBe(600);
    for (const b of dist) expect(b.upperUs).toBeGreaterThan(b.lowerUs);
    expect(dist[0]!.lowerUs).toBeLessThanOrEqual(1000);
  });

  it('keeps a 15-minute range per second when a second ends between taking "now" and querying', () => {
    const { c, clock } = makeCollector();
    const pool = uniquePool();
    const ctx = ctxFor(pool, 'a', 0, 1e6);
    for (let s = 0; s < 1000; s++) {
      ctx.durationNs = 1e6;
      c.recordOperation(ctx);
      clock.advance(1000);
      c.tick();
    }
    clock.advance(500); // mid-second, as a snapshot's Date.now() usually is
    const nowMs = clock.nowMs();
    const S = Math.floor(nowMs / 1000);
    // Queried within the same second: seconds S-900 .. S-1 (second S is not complete yet).
    const same = c.getMetricsRange(pool, nowMs - 900_000, nowMs);
    expect(same.resolutionS).toBe(1);
    expect(same.points).toHaveLength(900);
    expect(same.points[0]!.timestampMs).toBe((S - 900) * 1000);
    // A second boundary passes before the query runs: second S completed and overlaps the range.
    clock.advance(600);
    const late = c.getMetricsRange(pool, nowMs - 900_000, nowMs);
    expect(late.resolutionS).toBe(1);
    expect(late.points).toHaveLength(901);
    expect(late.points[0]!.timestampMs).toBe((S - 900) * 1000);
    expect(late.points.at(-1)!.timestampMs).toBe(S * 1000);
    expect(late.points.slice(0, -1).every((p) => p.ops === 1)).toBe(true);
    expect(late.points.at(-1)!.ops).toBe(0); // the traffic stopped at second S-1
  });

  it('answers for a pool never heard from with zeros, without keeping it', () => {
    const { c } = makeCollector();
    const name = uniquePool();
    const s = c.getPerformanceSummary(name);
    expect(s.windows['15m']).toMatchObject({ coveredS: 0, ops: 0, throughputPerS: 0, errorRate: 0 });
    expect(c.getCurrentMetrics(name).totals.operations).toBe(0);
    expect(c.getMetricsRange(name, 0, Date.now()).points).toEqual([]);
    expect(c.getLatencyHistogram(name, 'operation').count).toBe(0);
    expect(c.getWorkerMetrics(name, 3)).toMatchObject({ pool: name, workerId: 3, operations: 0, pid: 0 });
    expect(c.pools()).not.toContain(name);
  });
});

describe('long ranges', () => {
  // Query latency is a benchmark figure (`npx dspex bench metrics`), not a timed unit test.
  it('a 15-minute range over 16 minutes of traffic is per second, every second full', () => {
    const { c, clock, pool } = makeCollectorWithTraffic();
    const now = clock.nowMs();
    const r = c.getMetricsRange(pool, now - 900_000, now);
    expect(r.resolutionS).toBe(1);
    expect(r.points.length).toBeGreaterThanOrEqual(899);
    expect(r.points.every((p) => p.ops === 200)).toBe(true);
    expect(c.getPerformanceSummary(pool).windows['15m'].ops).toBeGreaterThanOrEqual(200 * 899);
  });
});

/** 16 minutes of recorded traffic through the direct record path (fast to build). */
function makeCollectorWithTraffic(): { c: MetricsCollector; clock: ManualClock; pool: string } {
  const { c, clock } = makeCollector();
  const pool = uniquePool();
  const ctx = ctxFor(pool, 'a', 0, 0);
  for (let s = 0; s < 960; s++) {
    for (let i = 0; i < 200; i++) {
      ctx.command = `cmd${i % 8}`;
      ctx.workerId = i % 8;
      ctx.durationNs = 1e5 * (1 + ((i * 7919 + s) % 1000));
      ctx.queueWaitNs = i % 3 === 0 ? 0 : 1e4 * (i % 50);
      c.recordOperation(ctx);
    }
    clock.advance(1000);
    c.tick();
  }
  return { c, clock, pool };
}

describe('query arguments', () => {
  it('a bad window, range, kind or worker id throws a typed error naming the argument; good queries still answer', () => {
    const c = new MetricsCollector({ clock: new ManualClock(), timer: false });
    const cases: [() => unknown, string][] = [
      [() => c.getErrorRates('p', '2m' as WindowName), 'window'],
      [() => c.getCommandMetrics('p', undefined as unknown as WindowName), 'window'],
      [() => c.getWorkerMetrics('p', 1.5), 'workerId'],
      [() => c.getWorkerMetrics('p', 0, 'hour' as WindowName), 'window'],
      [() => c.getMetricsRange('p', Number.NaN, 1), 'fromMs'],
      [() => c.getMetricsRange('p', 10, 5), 'fromMs'],
      [() => c.getMetricsRange('p', 0, Infinity), 'toMs'],
      [() => c.getLatencyHistogram('p', 'total' as LatencyKind), 'kind'],
      [() => c.getLatencyDistribution('p', '1m', 'operation', 0), 'perDecade'],
      [() => c.getCurrentMetrics(42 as unknown as string), 'pool'],
    ];
    for (const [query, argument] of cases) {
      let caught: unknown = null;
      try {
        query();
      } catch (err) {
        caught = err;
      }
      expect(caught, argument).toBeInstanceOf(PythonBridgeError);
      expect((caught as PythonBridgeError).code).toBe('DSPEX_INVALID_REQUEST_INVALID_ARGUMENT');
      expect((caught as PythonBridgeError).details.argument).toBe(argument);
    }
    expect(c.getErrorRates('p', '5m').errors).toBe(0);
    expect(c.getMetricsRange('p', 0, 0).points).toEqual([]);
  });
});
