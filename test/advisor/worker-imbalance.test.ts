/**
 * Worker imbalance (issue 13, analyzeWorkerUtilization: "workers that are hot or idle compared
 * with their peers"): a real pool whose slot 1 is 10× slower at the same command gets a recycle
 * recommendation for that worker, with the arithmetic; equal workers get none.
 */
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import { MetricsCollector } from '../../src/index.js';
import { OptimizationAdvisor } from '../../src/advisor/optimization-advisor.js';
import { findWorkerImbalance, type PoolFacts } from '../../src/advisor/analyses.js';
import type { WorkerMetrics } from '../../src/contract/metrics.js';
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

it('a worker 10× slower than its peers at the same command is the one to recycle', { timeout: 40_000 }, async () => {
  // fifo: the least recently used idle worker serves next, so every slot gets its share.
  const pool = await startPool({ size: 3, strategy: 'fifo', pythonModules: ['slow_worker'] });
  collector.trackPool(pool);
  // Load until the per-worker windows show it (they have 10-second edges: a fresh slot's last
  // minute can be empty for up to 10 s).
  let running = true;
  const load = Promise.all(
    Array.from({ length: 3 }, async () => {
      while (running) await pool.executeAnonymous('slow_worker.work');
    }),
  );
  const advisor = new OptimizationAdvisor({ collector, pools: [pool], settings: { minCoveredS: 1, minOps: 20 } });
  let recs: ReturnType<OptimizationAdvisor['analyze']> = [];
  try {
    await vi.waitFor(
      () => {
        recs = advisor.analyze(pool.name).filter((r) => r.kind === 'worker_imbalance');
        expect(recs.map((r) => r.action)).toEqual([{ kind: 'recycleWorker', workerId: 1 }]);
      },
      { timeout: 25_000, interval: 250 },
    );
  } finally {
    running = false;
    await load;
  }
  const figures = recs[0]!.evidence.figures;
  expect(figures['ratio']).toBeGreaterThan(4);
  expect(recs[0]!.evidence.math[0]).toMatch(/ratio = p50 ÷ median p50 of peers/);
});

const worker = (workerId: number, p50: number, count = 100): WorkerMetrics => ({
  pool: 'p',
  workerId,
  pid: 100 + workerId,
  generation: 0,
  operations: count,
  errors: 0,
  latencyUs: { count, min: p50 / 2, mean: p50, p50, p90: p50 * 1.5, p95: p50 * 1.6, p99: p50 * 2, p999: p50 * 2, max: p50 * 3 },
  lastSeenMs: 0,
});
const facts = (workers: WorkerMetrics[]): PoolFacts => ({ pool: 'p', summary: {} as PoolFacts['summary'], sizing: null, commands: [], baseline: [], errors: null, rss: [], workers });

it('no imbalance among equal workers, with fewer than three busy workers, or a difference under 1 ms', () => {
  expect(findWorkerImbalance(facts([worker(0, 2000), worker(1, 2100), worker(2, 1900), worker(3, 2050)]))).toEqual([]);
  expect(findWorkerImbalance(facts([worker(0, 2000), worker(1, 20_000)]))).toEqual([]);
  // 3× slower but only 600 µs: noise at this scale, not a sick process.
  expect(findWorkerImbalance(facts([worker(0, 300), worker(1, 900), worker(2, 310)]))).toEqual([]);
  // Too few calls on the slow one to tell.
  expect(findWorkerImbalance(facts([worker(0, 2000), worker(1, 20_000, 5), worker(2, 2000)]))).toEqual([]);
  expect(findWorkerImbalance(facts([worker(0, 2000), worker(1, 20_000), worker(2, 2000)])).map((r) => r.id)).toEqual(['worker_imbalance:p:1']);
});
