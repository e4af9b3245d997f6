/**
 * The advisor over real pools: overload → growth with Little's-law arithmetic (applied, throughput
 * rises); idle → shrink toward the minimum; a leaking command on one session → that worker is the
 * leak suspect → recycle; the recommendations reach /api/snapshot and `dspex advise`. The
 * analyses' minimum data is lowered (`minCoveredS: 3`) so each scenario takes seconds.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MetricsCollector, MonitoringServer, type SessionPool } from '../../src/index.js';
import { OptimizationAdvisor } from '../../src/advisor/optimization-advisor.js';
import { analyzeWorkerUtilization, detectMemoryTrends, linearFit, type PoolFacts } from '../../src/advisor/analyses.js';
import { formatRecommendations } from '../../src/cli/advise.js';
import { fetchSnapshot } from '../../src/exporters/client.js';
import { readRssBytes } from '../../src/pool/worker-rss.js';
import type { ResourceSample } from '../../src/contract/resources.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

const collector = new MetricsCollector();
collector.start();
afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  collector.stop();
  await expectNoLeakedWorkers();
});

const fast = { minCoveredS: 3, minOps: 20 };

/** `n` callers looping `sleep ms` until stop(); counts completions. */
function callers(pool: SessionPool, n: number, ms: number, gapMs = 0): { stop: () => Promise<void>; done: () => number } {
  let running = true;
  let done = 0;
  const loops = Array.from({ length: n }, async () => {
    while (running) {
      await pool.executeAnonymous('sleep', { ms });
      done++;
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    }
  });
  return {
    done: () => done,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function rate(count: () => number, ms: number): Promise<number> {
  const a = count();
  await new Promise((r) => setTimeout(r, ms));
  return ((count() - a) * 1000) / ms;
}

describe('OptimizationAdvisor on real pools', () => {
  it('overload: 8 callers of 20 ms on 1 worker → grow with L = λ·W ≈ 8; applied, throughput rises', async () => {
    const pool = await startPool({ size: 1, minSize: 1, maxSize: 8 });
    collector.trackPool(pool);
    const advisor = new OptimizationAdvisor({ collector, pools: [pool], settings: fast });
    const load = callers(pool, 8, 20);
    try {
      let rec = advisor.analyze(pool.name).find((r) => r.kind === 'grow_pool');
      await vi.waitFor(
        () => {
          rec = advisor.analyze(pool.name).find((r) => r.kind === 'grow_pool');
          expect(rec).toBeDefined();
        },
        { timeout: 20_000, interval: 250 },
      );
      const g = rec!;
      expect(g.action).toEqual({ kind: 'resize', size: 8 });
      expect(g.evidence.math[0]).toMatch(/^L = λ·W = [\d.]+\/s × [\d.]+ s = [\d.]+ calls in the system$/);
      // A saturated worker shows ~1/20ms of throughput, but the queue wait puts L near the 8 callers.
      expect(g.evidence.figures['callsInSystem']).toBeGreaterThan(5);
      expect(g.evidence.figures['callsInSystem']).toBeLessThan(9.5);
      expect(g.priority).toBeGreaterThanOrEqual(80);
      const before = await rate(load.done, 1000);
      await pool.resize(g.action.kind === 'resize' ? g.action.size : 1, 'advisor');
      await vi.waitFor(() => expect(pool.status().idle + pool.status().busy).toBe(8), { timeout: 15_000 });
      const after = await rate(load.done, 1000);
      expect(after).toBeGreaterThan(before * 2.5);
    } finally {
      await load.stop();
    }
  });

  it('idle: a trickle of calls on 4 workers → shrink toward the minimum', async () => {
    const pool = await startPool({ size: 4, minSize: 1, maxSize: 4 });
    collector.trackPool(pool);
    const advisor = new OptimizationAdvisor({ collector, pools: [pool], settings: fast });
    const load = callers(pool, 1, 2, 20);
    try {
      await vi.waitFor(() => expect(advisor.analyze(pool.name).find((r) => r.kind === 'shrink_pool')?.action).toEqual({ kind: 'resize', size: 1 }), { timeout: 20_000, interval: 250 });
      expect(advisor.analyze(pool.name).some((r) => r.kind === 'grow_pool')).toBe(false);
    } finally {
      await load.stop();
    }
  });

  it('a leaking command on one session → its worker is the leak suspect → recycle; served over /api/snapshot and dspex advise', async () => {
    const pool = await startPool({ size: 2, pythonModules: ['leaky'] });
    collector.trackPool(pool);
    const advisor = new OptimizationAdvisor({ collector, pools: [pool], settings: fast });
    // Real RSS readings of the real processes, stamped 10 s apart (as a resource monitor's
    // samples every 10 s would be) so the trend needs no minutes of wall time.
    let t = 1_700_000_000_000;
    let leakPid = 0;
    for (let i = 0; i < 8; i++) {
      leakPid = (await pool.executeInSession<{ pid: number }>('leaker', 'leaky.alloc', { kb: 2048 })).pid;
      const python = pool.status().workers.map((w) => ({ pid: w.pid, pool: pool.name, workerId: w.id, rssBytes: readRssBytes(w.pid) ?? 0 }));
      advisor.recordSample({ timestampMs: (t += 10_000), python } as unknown as ResourceSample);
    }
    const leakWorker = pool.status().workers.find((w) => w.pid === leakPid)!.id;
    const recs = advisor.analyze(pool.name).filter((r) => r.kind === 'memory_leak');
    expect(recs.map((r) => r.action)).toEqual([
      { kind: 'recycleWorker', workerId: leakWorker },
      { kind: 'configure', key: 'maxWorkerRssBytes', value: expect.any(Number) },
    ]);
    expect(recs[0]!.evidence.figures['r2']).toBeGreaterThan(0.9);
    expect(recs[0]!.evidence.figures['slopeBytesPerS']).toBeGreaterThan(150 * 1024);

    const server = new MonitoringServer({ collector, pools: [pool], recommendations: () => advisor.snapshotRecommendations(), port: 0 });
    await server.start();
    try {
      const snap = await fetchSnapshot(server.url);
      const top = snap.recommendations.find((r) => r.kind === 'memory_leak');
      expect(top).toMatchObject({ pool: pool.name, action: { kind: 'recycleWorker', workerId: leakWorker } });
      const text = formatRecommendations(snap.recommendations);
      expect(text).toContain(`action: ${pool.name}.recycleWorker(${leakWorker})`);
      expect(text).toMatch(/RSS slope = [\d.]+ KiB\/s over 70 s \(8 points\), r² = (1|0\.9)/);
    } finally {
      await server.stop();
    }
    // Applying it: the suspect is recycled and no call fails.
    await pool.recycleWorker(leakWorker, { reason: 'advisor' });
    expect(pool.status().workers.map((w) => w.pid)).not.toContain(leakPid);
  });
});

describe('analyses (pure): minimum data', () => {
  const summary = (over: Partial<PoolFacts['summary']>): PoolFacts['summary'] => ({
    window: '1m',
    coveredS: 60,
    ops: 3000,
    errors: 0,
    throughputPerS: 50,
    errorRate: 0,
    latencyUs: { count: 3000, min: 0, mean: 160_000, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 },
    queueWaitUs: { count: 3000, min: 0, mean: 140_000, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 },
    utilization: 1,
    queueDepthAvg: 7,
    healthScore: 50,
    ...over,
  });
  const facts = (over: Partial<PoolFacts> = {}): PoolFacts => ({ pool: 'p', summary: summary({}), sizing: { size: 1, minSize: 1, maxSize: 16 }, commands: [], baseline: [], errors: null, rss: [], ...over });

  it("the issue's example: 8 callers of 20 ms on 1 worker show 50/s, L = 8, 12 workers at 70%", () => {
    const [g] = analyzeWorkerUtilization(facts());
    expect(g!.evidence.math).toEqual(['L = λ·W = 50/s × 0.16 s = 8 calls in the system', 'workers needed = ⌈L ÷ 0.7⌉ = 12']);
    expect(g!.action).toEqual({ kind: 'resize', size: 12 });
  });

  it('says nothing below its minimum data or without the sizing', () => {
    expect(analyzeWorkerUtilization(facts({ summary: summary({ coveredS: 5 }) }))).toEqual([]);
    expect(analyzeWorkerUtilization(facts({ summary: summary({ ops: 10 }) }))).toEqual([]);
    expect(analyzeWorkerUtilization(facts({ sizing: null }))).toEqual([]);
    const few = { workerId: 0, pid: 1, timesMs: [0, 10_000, 20_000], rssBytes: [1e6, 2e6, 3e6] };
    expect(detectMemoryTrends(facts({ rss: [few] }))).toEqual([]);
  });

  it('linearFit: slope and r²', () => {
    expect(linearFit([0, 1, 2, 3], [1, 3, 5, 7])).toEqual({ slope: 2, r2: 1 });
    expect(linearFit([1, 1], [1, 2])).toBeNull();
  });
});
