/**
 * The AutoTuner: a real pool's growth applied and, when a regression is injected after it, rolled
 * back by itself (recorded in the history and on `dspex:advisor:tuning`); and a fast-check property:
 * whatever recommendations and figures it is fed, it never leaves its ranges and changes at most
 * one parameter per cooldown. Time of the tuner is a ManualClock.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { MetricsCollector } from '../../src/index.js';
import { ManualClock } from '../../src/contract/clock.js';
import { OptimizationAdvisor } from '../../src/advisor/optimization-advisor.js';
import { AutoTuner, ROLLBACK_HOLD_COOLDOWNS, regression, type TunablePool } from '../../src/advisor/auto-tuner.js';
import type { Recommendation, TunableOption } from '../../src/contract/advice.js';
import type { PerformanceSummary, WindowSummary } from '../../src/contract/metrics.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';
import { EventCollector } from '../helpers/events.js';

afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

describe('AutoTuner on a real pool', () => {
  it('applies the growth, then rolls it back by itself when p99 regresses during validation', async () => {
    const collector = new MetricsCollector();
    collector.start();
    const pool = await startPool({ size: 1, minSize: 1, maxSize: 4 });
    collector.trackPool(pool);
    const advisor = new OptimizationAdvisor({ collector, pools: [pool], settings: { minCoveredS: 3, minOps: 20 } });
    const clock = new ManualClock();
    const tuner = new AutoTuner({ pool, collector, advisor, ranges: { size: [1, 3] }, cooldownMs: 1000, validationMs: 1000, clock });
    const events = new EventCollector(['dspex:advisor:tuning']);
    let sleepMs = 10;
    let running = true;
    const loops = Array.from({ length: 4 }, async () => {
      while (running) await pool.executeAnonymous('sleep', { ms: sleepMs });
    });
    try {
      expect(tuner.enabled).toBe(false);
      await vi.waitFor(async () => expect((await tuner.evaluate())?.status).toBe('validating'), { timeout: 20_000, interval: 250 });
      // The advisor asked for 4 (or more): the range caps it at 3.
      expect(pool.status().size).toBe(3);
      expect(tuner.history()[0]).toMatchObject({ parameter: 'size', from: 1, to: 3, recommendationId: `grow_pool:${pool.name}` });
      // The injected regression: every call now takes 20× longer.
      sleepMs = 200;
      await new Promise((r) => setTimeout(r, 1500));
      clock.advance(1000);
      const concluded = await tuner.evaluate();
      expect(concluded).toMatchObject({ status: 'rolled_back', outcome: expect.stringMatching(/^p99 /) });
      expect(pool.status().size).toBe(1);
      expect(events.of('dspex:advisor:tuning').map((e) => (e['record'] as { status: string }).status)).toEqual(['validating', 'rolled_back']);
      // Nothing new before the cooldown passed.
      expect(await tuner.evaluate()).toBeNull();
    } finally {
      running = false;
      await Promise.all(loops);
      events.stop();
      collector.stop();
    }
  });

  it('rollback() undoes the latest change by hand; bad options are refused naming the option', async () => {
    const pool = await startPool({ size: 1 });
    const collector = new MetricsCollector();
    const rec: Recommendation = {
      id: 'timeouts:p',
      kind: 'timeouts',
      pool: pool.name,
      priority: 50,
      title: 't',
      detail: 'd',
      evidence: { window: '1m', coveredS: 60, figures: {}, math: [] },
      action: { kind: 'configure', key: 'operationTimeoutMs', value: 99_999 },
    };
    const tuner = new AutoTuner({ pool: pool, collector, advisor: { analyze: () => [rec] }, ranges: { operationTimeoutMs: [1000, 60_000] } });
    expect(await tuner.evaluate()).toMatchObject({ parameter: 'operationTimeoutMs', from: 30_000, to: 60_000 });
    expect(pool.options.operationTimeoutMs).toBe(60_000);
    expect(await tuner.rollback()).toMatchObject({ status: 'reverted' });
    expect(pool.options.operationTimeoutMs).toBe(30_000);
    expect(() => new AutoTuner({ pool, collector, advisor: { analyze: () => [] }, ranges: {}, cooldownMs: -1 })).toThrow(/cooldownMs/);
    expect(() => new AutoTuner({ pool, collector, advisor: { analyze: () => [] }, ranges: { size: [3, 1] } })).toThrow(/ranges.size/);
  });
});

describe('AutoTuner property', () => {
  const win = (p99: number, errorRate: number, tp: number): WindowSummary => ({
    window: '1m',
    coveredS: 60,
    ops: 1000,
    errors: 0,
    throughputPerS: tp,
    errorRate,
    latencyUs: { count: 1, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99, p999: 0, max: 0 },
    queueWaitUs: { count: 1, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 },
    utilization: 0.5,
    queueDepthAvg: 0,
    healthScore: 100,
  });
  const keys: TunableOption[] = ['operationTimeoutMs', 'checkoutTimeoutMs', 'maxCallsPerWorker', 'maxWorkerRssBytes'];
  const action = fc.oneof(
    fc.record({ kind: fc.constant('resize' as const), size: fc.integer({ min: -5, max: 2000 }) }),
    fc.record({ kind: fc.constant('configure' as const), key: fc.constantFrom(...keys), value: fc.double({ min: -1e9, max: 1e12, noNaN: true }) }),
    fc.record({ kind: fc.constant('recycleWorker' as const), workerId: fc.nat(10) }),
  );
  const step = fc.record({ advanceMs: fc.integer({ min: 0, max: 3000 }), actions: fc.array(action, { maxLength: 3 }), p99: fc.double({ min: 0, max: 1e6, noNaN: true }), err: fc.double({ min: 0, max: 1, noNaN: true }), tp: fc.double({ min: 0, max: 1e4, noNaN: true }) });

  it('never leaves its ranges; at most one change (one parameter) per cooldown', async () => {
    const ranges = { size: [2, 8], operationTimeoutMs: [1000, 60_000], maxCallsPerWorker: [0, 10_000] } as const;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const clock = new ManualClock(0);
        const state: Record<string, number> = { size: 4, operationTimeoutMs: 30_000, checkoutTimeoutMs: 5000, maxCallsPerWorker: 0, maxWorkerRssBytes: 0 };
        const changes: { atMs: number; parameter: string; rollback: boolean }[] = [];
        const pool: TunablePool = {
          name: 'p',
          options: state as Record<TunableOption, number>,
          status: () => ({ size: state['size']! }),
          resize: (n, reason) => {
            state['size'] = n;
            changes.push({ atMs: clock.nowMs(), parameter: 'size', rollback: reason === 'rollback' });
            return Promise.resolve();
          },
          configure: (p, reason) => {
            for (const [k, v] of Object.entries(p)) {
              state[k] = v;
              changes.push({ atMs: clock.nowMs(), parameter: k, rollback: reason === 'rollback' });
            }
            return [];
          },
        };
        let current = steps[0]!;
        const summary = (): PerformanceSummary => ({ pool: 'p', timestampMs: 0, windows: { '1m': win(current.p99, current.err, current.tp), '5m': win(0, 0, 0), '15m': win(0, 0, 0) } });
        const tuner = new AutoTuner({
          pool,
          collector: { getPerformanceSummary: summary },
          advisor: { analyze: () => current.actions.map((a, i) => ({ id: `r${i}`, kind: 'grow_pool', pool: 'p', priority: 50, title: 't', detail: 'd', evidence: { window: '1m', coveredS: 60, figures: {}, math: [] }, action: a })) },
          ranges,
          cooldownMs: 2000,
          validationMs: 1000,
          clock,
        });
        for (const s of steps) {
          current = s;
          clock.advance(s.advanceMs);
          await tuner.evaluate();
          for (const [k, [lo, hi]] of Object.entries(ranges)) {
            // Untouched values may start outside a range; anything the tuner set is inside it.
            if (!changes.some((c) => c.parameter === k)) continue;
            expect(state[k]).toBeGreaterThanOrEqual(lo);
            expect(state[k]).toBeLessThanOrEqual(hi);
          }
          expect(state['checkoutTimeoutMs']).toBe(5000);
          expect(state['maxWorkerRssBytes']).toBe(0);
        }
        const applies = changes.filter((c) => !c.rollback);
        for (let i = 1; i < applies.length; i++) expect(applies[i]!.atMs - applies[i - 1]!.atMs).toBeGreaterThanOrEqual(2000);
        // A rollback restores the parameter of the change before it, within that change's cooldown.
        for (const rb of changes.filter((c) => c.rollback)) {
          const prev = applies.filter((a) => a.atMs <= rb.atMs).at(-1)!;
          expect(rb.parameter).toBe(prev.parameter);
          expect(rb.atMs - prev.atMs).toBeLessThan(2000 + 3000);
        }
        expect(tuner.history().length).toBeLessThanOrEqual(100);
      }),
      { numRuns: 200 },
    );
  });

  it('regression(): p99, error rate and throughput beyond tolerance', () => {
    const b = { latencyP99Us: 1000, errorRate: 0.01, throughputPerS: 100, ops: 1 };
    const tol = { p99: 0.25, errorRate: 0.02, throughput: 0.2 };
    expect(regression(b, { ...b, latencyP99Us: 1200 }, tol)).toBeNull();
    expect(regression(b, { ...b, latencyP99Us: 1300 }, tol)).toMatch(/^p99/);
    expect(regression(b, { ...b, errorRate: 0.05 }, tol)).toMatch(/^error rate/);
    expect(regression(b, { ...b, throughputPerS: 70 }, tol)).toMatch(/^throughput/);
    // A raised timeout lets the calls it cut finish: not judged on p99, still on errors and throughput.
    const longer = { parameter: 'operationTimeoutMs' as const, from: 300, to: 600 };
    expect(regression(b, { ...b, latencyP99Us: 5000 }, tol, longer)).toBeNull();
    expect(regression(b, { ...b, latencyP99Us: 5000 }, tol, { ...longer, parameter: 'checkoutTimeoutMs' })).toBeNull();
    expect(regression(b, { ...b, errorRate: 0.05 }, tol, longer)).toMatch(/^error rate/);
    expect(regression(b, { ...b, latencyP99Us: 5000 }, tol, { ...longer, from: 600, to: 300 })).toMatch(/^p99/);
    expect(regression(b, { ...b, latencyP99Us: 5000 }, tol, { parameter: 'size', from: 2, to: 4 })).toMatch(/^p99/);
  });

  it(`a change that was rolled back is not applied again for ${ROLLBACK_HOLD_COOLDOWNS} cooldowns`, async () => {
    const clock = new ManualClock(0);
    const state = { size: 2 };
    const pool: TunablePool = {
      name: 'p',
      options: { operationTimeoutMs: 30_000, checkoutTimeoutMs: 5000, healthCheckIntervalMs: 0, restartBackoffMs: 0, maxRestartBackoffMs: 0, maxCallsPerWorker: 0, maxWorkerRssBytes: 0 },
      status: () => ({ size: state.size }),
      resize: (n) => {
        state.size = n;
        return Promise.resolve();
      },
      configure: () => [],
    };
    let p99 = 1000;
    const summary = (): PerformanceSummary => ({ pool: 'p', timestampMs: 0, windows: { '1m': win(p99, 0, 100), '5m': win(0, 0, 0), '15m': win(0, 0, 0) } });
    const grow: Recommendation = { id: 'grow_pool:p', kind: 'grow_pool', pool: 'p', priority: 80, title: 'grow', detail: 'd', evidence: { window: '1m', coveredS: 60, figures: {}, math: [] }, action: { kind: 'resize', size: 4 } };
    const tuner = new AutoTuner({ pool, collector: { getPerformanceSummary: summary }, advisor: { analyze: () => [grow] }, ranges: { size: [1, 8] }, cooldownMs: 1000, validationMs: 1000, clock });
    expect(await tuner.evaluate()).toMatchObject({ to: 4, status: 'validating' });
    p99 = 5000; // it got worse
    clock.advance(1000);
    expect(await tuner.evaluate()).toMatchObject({ status: 'rolled_back' });
    expect(state.size).toBe(2);
    p99 = 1000;
    // The recommendation still stands; past the cooldown the same change is held back.
    for (let i = 1; i < ROLLBACK_HOLD_COOLDOWNS; i++) {
      clock.advance(1000);
      expect(await tuner.evaluate()).toBeNull();
    }
    expect(state.size).toBe(2);
    clock.advance(1000);
    expect(await tuner.evaluate()).toMatchObject({ to: 4, status: 'validating' });
  });
});
