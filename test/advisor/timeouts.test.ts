/**
 * The advisor's timeouts analysis (`findTimeouts`): calls that outrun the `operationTimeoutMs`
 * hang guard → raise it (and, applied, the timeouts stop); calls that hang far beyond the others
 * → investigate; callers' own deadlines → investigate; calls refused after `checkoutTimeoutMs` in
 * the queue → grow the pool, or investigate at `maxSize`. Pure cases first, then real pools.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MetricsCollector, PythonBridgeError, type SessionPool } from '../../src/index.js';
import { OptimizationAdvisor } from '../../src/advisor/optimization-advisor.js';
import { AutoTuner } from '../../src/advisor/auto-tuner.js';
import { ManualClock } from '../../src/contract/clock.js';
import { findTimeouts, generateRecommendations, identifyErrorPatterns, tailBelow, type PoolFacts } from '../../src/advisor/analyses.js';
import type { LatencySummaryUs } from '../../src/contract/metrics.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

const lat = (over: Partial<LatencySummaryUs>): LatencySummaryUs => ({ count: 1000, min: 1000, mean: 50_000, p50: 40_000, p90: 80_000, p95: 90_000, p99: 200_000, p999: 300_000, max: 300_000, ...over });

function facts(over: { op?: number; checkout?: number; ops?: number; latency?: Partial<LatencySummaryUs>; sizing?: PoolFacts['sizing']; guardMs?: number | null }): PoolFacts {
  const ops = over.ops ?? 1000;
  const byType: { category: 'timeout'; type: string; count: number; rate: number }[] = [];
  if (over.op) byType.push({ category: 'timeout', type: 'operation', count: over.op, rate: over.op / ops });
  if (over.checkout) byType.push({ category: 'timeout', type: 'checkout', count: over.checkout, rate: over.checkout / ops });
  const errors = (over.op ?? 0) + (over.checkout ?? 0);
  return {
    pool: 'p',
    summary: {
      window: '1m', coveredS: 60, ops, errors, throughputPerS: ops / 60, errorRate: errors / ops,
      latencyUs: lat(over.latency ?? {}), queueWaitUs: lat({ mean: 10_000, p99: 90_000 }), utilization: 1, queueDepthAvg: 3, healthScore: 50,
    },
    sizing: over.sizing === undefined ? { size: 2, minSize: 1, maxSize: 8 } : over.sizing,
    commands: [],
    baseline: [],
    errors: { pool: 'p', window: '1m', ops, errors, errorRate: errors / ops, byCategory: { timeout: { count: errors, rate: errors / ops } }, byType },
    rss: [],
    timeouts: over.guardMs === null ? null : { operationTimeoutMs: over.guardMs ?? 300, checkoutTimeoutMs: 100 },
  };
}

describe('findTimeouts (pure)', () => {
  it('tailBelow: the highest quantile below the timed-out share, with a margin', () => {
    const l = lat({});
    expect(tailBelow(l, 0.0004)).toEqual({ name: 'p999', us: 300_000 });
    expect(tailBelow(l, 0.004)).toEqual({ name: 'p99', us: 200_000 });
    expect(tailBelow(l, 0.02)).toEqual({ name: 'p95', us: 90_000 });
    expect(tailBelow(l, 0.2)).toEqual({ name: 'p50', us: 40_000 });
    // Past a quarter, without the margin; from half on, nothing is known of the others.
    expect(tailBelow(l, 0.3)).toEqual({ name: 'p50', us: 40_000 });
    expect(tailBelow(l, 0.04)).toEqual({ name: 'p90', us: 80_000 });
    expect(tailBelow(l, 0.5)).toBeNull();
  });

  it('calls that finish close to the guard: raise operationTimeoutMs to 2×', () => {
    // 3% time out at the 300 ms guard; p90 (below them) is 200 ms, two thirds of the guard.
    const [rec, ...rest] = findTimeouts(facts({ op: 30, latency: { p90: 200_000, p95: 290_000, p99: 300_000, max: 301_000 } }));
    expect(rest).toEqual([]);
    expect(rec!.id).toBe('timeouts:p:operation');
    expect(rec!.kind).toBe('timeouts');
    expect(rec!.action).toEqual({ kind: 'configure', key: 'operationTimeoutMs', value: 600 });
    expect(rec!.priority).toBe(Math.round(45 + 40 * 0.3));
    expect(rec!.evidence.math).toEqual(['rate = 30 ÷ 1000 = 0.03', 'longest call 301 ms ≥ 90% of operationTimeoutMs 300 ms', 'p90 (below the timed-out 3%) = 200 ms ≥ half the guard']);
    expect(rec!.evidence.figures).toMatchObject({ timeouts: 30, operationTimeoutMs: 300, latencyP90Us: 200_000 });
  });

  it('calls that finish far below the guard while others reach it: they hang, investigate', () => {
    const [rec] = findTimeouts(facts({ op: 30, latency: { p90: 5_000, max: 300_500 } }));
    expect(rec!.action).toEqual({ kind: 'investigate', errorType: 'timeout:operation' });
    expect(rec!.title).toMatch(/hang until the 300 ms guard kills their worker/);
    expect(rec!.detail).toMatch(/pythonStack/);
  });

  it('half the calls or more at the guard: nothing known of the others, investigate without calling it a hang', () => {
    const [rec] = findTimeouts(facts({ op: 600, latency: { p50: 300_000, max: 301_000 } }));
    expect(rec!.action).toEqual({ kind: 'investigate', errorType: 'timeout:operation' });
    expect(rec!.title).toMatch(/60% of calls on 'p' run into the 300 ms operationTimeoutMs guard/);
    expect(rec!.detail).not.toMatch(/hang \(/);
  });

  it('the longest call stays below the guard: the callers’ own deadlines, investigate', () => {
    const [rec] = findTimeouts(facts({ op: 30, guardMs: 30_000, latency: { max: 250_000 } }));
    expect(rec!.action).toEqual({ kind: 'investigate', errorType: 'timeout:operation' });
    expect(rec!.title).toMatch(/miss their callers' deadlines/);
    // Without the pool's options nothing is said about the guard, and nothing is configured.
    const [blind] = findTimeouts(facts({ op: 30, guardMs: null, latency: { p90: 200_000, max: 301_000 } }));
    expect(blind!.action.kind).toBe('investigate');
  });

  it('checkout timeouts: grow below maxSize (Little’s law, at least one more), investigate at it', () => {
    const [grow] = findTimeouts(facts({ checkout: 50 }));
    // λ = 1000/60 s, W = 50 ms: L ≈ 0.83 → ⌈L ÷ 0.7⌉ = 2, so at least size + 1 = 3.
    expect(grow!.action).toEqual({ kind: 'resize', size: 3 });
    expect(grow!.id).toBe('timeouts:p:checkout');
    expect(grow!.title).toMatch(/Grow pool 'p' from 2 to 3 workers: 5% of calls time out waiting for one/);
    // Too little covered to size a growth: nothing yet.
    const young = facts({ checkout: 50 });
    expect(findTimeouts({ ...young, summary: { ...young.summary, coveredS: 5 } })).toEqual([]);
    const [atMax] = findTimeouts(facts({ checkout: 50, sizing: { size: 8, minSize: 1, maxSize: 8 } }));
    expect(atMax!.action).toEqual({ kind: 'investigate', errorType: 'timeout:checkout' });
    expect(atMax!.detail).toMatch(/raise maxSize/);
  });

  it('says nothing below 1% or 3 timeouts or 30 operations; error_hotspot leaves timeouts to it', () => {
    expect(findTimeouts(facts({ op: 9 }))).toEqual([]);
    expect(findTimeouts(facts({ op: 2, ops: 40 }))).toEqual([]);
    expect(findTimeouts(facts({ op: 5, ops: 20 }))).toEqual([]);
    const heavy = facts({ op: 100, checkout: 100 });
    expect(identifyErrorPatterns(heavy).filter((r) => r.kind === 'error_hotspot')).toEqual([]);
    expect(generateRecommendations(heavy).filter((r) => r.kind === 'timeouts').map((r) => r.id).sort()).toEqual(['timeouts:p:checkout', 'timeouts:p:operation']);
  });
});

const collector = new MetricsCollector();
collector.start();
afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  collector.stop();
  await expectNoLeakedWorkers();
});

/** `n` callers looping `sleep` with `ms(i)` for their i-th call until stop(); errors are counted by type. */
function load(pool: SessionPool, n: number, ms: (i: number) => number): { stop: () => Promise<void>; errors: Map<string, number> } {
  let running = true;
  const errors = new Map<string, number>();
  const loops = Array.from({ length: n }, async () => {
    for (let i = 0; running; i++) {
      try {
        await pool.executeAnonymous('sleep', { ms: ms(i) });
      } catch (err) {
        if (!(err instanceof PythonBridgeError)) throw err;
        const k = `${err.category}:${err.type}`;
        errors.set(k, (errors.get(k) ?? 0) + 1);
      }
    }
  });
  return {
    errors,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('findTimeouts on real pools', () => {
  const fast = { minCoveredS: 3, minOps: 20 };

  it('calls of 200 ms with every eighth of 500 ms against a 300 ms guard → raise it to 600 ms; the AutoTuner applies and keeps it, the timeouts stop', async () => {
    const pool = await startPool({ size: 2, operationTimeoutMs: 300 });
    collector.trackPool(pool);
    const advisor = new OptimizationAdvisor({ collector, pools: [pool], settings: fast });
    const clock = new ManualClock();
    const tuner = new AutoTuner({ pool, collector, advisor, ranges: { operationTimeoutMs: [300, 1200] }, cooldownMs: 1000, validationMs: 1000, clock });
    const l = load(pool, 2, (i) => (i % 8 === 7 ? 500 : 200));
    try {
      let rec = advisor.analyze(pool.name).find((r) => r.id === `timeouts:${pool.name}:operation`);
      await vi.waitFor(
        () => {
          rec = advisor.analyze(pool.name).find((r) => r.id === `timeouts:${pool.name}:operation`);
          expect(rec?.action.kind).toBe('configure');
        },
        { timeout: 30_000, interval: 250 },
      );
      expect(l.errors.get('timeout:operation')).toBeGreaterThanOrEqual(3);
      expect(rec!.action).toEqual({ kind: 'configure', key: 'operationTimeoutMs', value: 600 });
      expect(rec!.evidence.figures['operationTimeoutMs']).toBe(300);
      expect(await tuner.evaluate()).toMatchObject({ parameter: 'operationTimeoutMs', from: 300, to: 600, status: 'validating' });
      expect(pool.options.operationTimeoutMs).toBe(600);
      const before = l.errors.get('timeout:operation') ?? 0;
      await new Promise((r) => setTimeout(r, 2500));
      // A call already past its old deadline when the change landed may still time out: at most one per caller.
      expect((l.errors.get('timeout:operation') ?? 0) - before).toBeLessThanOrEqual(2);
      // The 500 ms calls now finish: p99 rises by design; judged on errors and throughput, it is kept.
      clock.advance(1000);
      const done = await tuner.evaluate();
      expect(done, JSON.stringify(done)).toMatchObject({ status: 'kept' });
      expect(pool.options.operationTimeoutMs).toBe(600);
    } finally {
      await l.stop();
    }
  }, 60_000);

  it('6 callers of 60 ms on 1 worker with checkoutTimeoutMs 100 → grow the pool', async () => {
    const pool = await startPool({ size: 1, minSize: 1, maxSize: 4, checkoutTimeoutMs: 100 });
    collector.trackPool(pool);
    const advisor = new OptimizationAdvisor({ collector, pools: [pool], settings: fast });
    const l = load(pool, 6, () => 60);
    try {
      await vi.waitFor(
        () => {
          const rec = advisor.analyze(pool.name).find((r) => r.id === `timeouts:${pool.name}:checkout`);
          expect(rec?.action.kind).toBe('resize');
          expect(rec!.action.kind === 'resize' && rec!.action.size).toBeGreaterThanOrEqual(2);
        },
        { timeout: 30_000, interval: 250 },
      );
      expect(l.errors.get('timeout:checkout')).toBeGreaterThanOrEqual(3);
      expect(l.errors.get('timeout:operation') ?? 0).toBe(0);
    } finally {
      await l.stop();
    }
  }, 60_000);
});
