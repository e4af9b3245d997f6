/**
 * Signals read from a real MetricsCollector fed by a real SessionPool running Python: the error
 * rate of failed calls and the crashes of killed workers, and an alert on each.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MetricsCollector } from '../../src/index.js';
import { AlertManager, LabelCache, readSignal, type PoolFacts } from '../../src/alerts/index.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

const collectors: MetricsCollector[] = [];
afterEach(async () => {
  for (const c of collectors.splice(0)) c.stop();
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

describe('signals from a real pool', () => {
  it('pool.errorRate and pool.workerCrashesPerMin follow what the pool did, and alerts fire on them', async () => {
    const collector = new MetricsCollector();
    collectors.push(collector);
    collector.start();
    const pool = await startPool({ size: 2 });
    collector.trackPool(pool);
    const alerts = new AlertManager({
      collector,
      pools: [pool],
      rules: [
        { name: 'Errors', kind: 'threshold', signal: 'pool.errorRate', window: '1m', op: '>', value: 0.2, pool: pool.name },
        { name: 'Crashes', kind: 'threshold', signal: 'pool.workerCrashesPerMin', window: '1m', op: '>=', value: 2, pool: pool.name, severity: 'critical' },
      ],
    });
    for (let i = 0; i < 6; i++) await pool.executeAnonymous('sleep', { ms: 1 });
    for (let i = 0; i < 4; i++) await expect(pool.executeAnonymous('fail', { type: 'ValueError', message: 'x' })).rejects.toThrow();
    // Two crashes from outside, each waited for until the replacement serves.
    for (let k = 0; k < 2; k++) {
      await vi.waitFor(() => expect(pool.status().idle).toBe(2), { timeout: 10_000 });
      process.kill(pool.status().workers[0]!.pid, 'SIGKILL');
      await vi.waitFor(() => expect(collector.getTotals(pool.name).workerCrashes).toBe(k + 1), { timeout: 10_000 });
    }
    const labels = new LabelCache();
    const facts = (): PoolFacts[] => [{ pool: pool.name, summary: collector.getPerformanceSummary(pool.name), status: pool.status(), gauges: null }];
    await vi.waitFor(
      () => {
        collector.tick();
        expect(collector.getPerformanceSummary(pool.name).windows['1m'].workerCrashes).toBe(2);
        expect(collector.getPerformanceSummary(pool.name).windows['1m'].ops).toBe(10);
      },
      { timeout: 5000, interval: 50 },
    );
    const inputs = { pools: facts(), sample: null, degradation: 0 };
    expect(readSignal('pool.errorRate', '1m', undefined, inputs, labels)).toEqual([{ labels: { pool: pool.name }, value: 0.4 }]);
    expect(readSignal('pool.workerCrashesPerMin', '1m', undefined, inputs, labels)).toEqual([{ labels: { pool: pool.name }, value: 2 }]);
    expect(readSignal('pool.workerCrashesPerMin', '5m', undefined, inputs, labels)[0]!.value).toBeCloseTo(0.4, 9);
    expect(readSignal('pool.up', '1m', undefined, inputs, labels)[0]!.value).toBe(1);
    expect(readSignal('pool.minSize', '1m', undefined, inputs, labels)[0]!.value).toBe(pool.status().minSize);
    const fired = alerts.evaluate().filter((t) => t.to === 'firing').map((t) => `${t.rule}:${t.value}`);
    expect(fired.sort()).toEqual(['Crashes:2', 'Errors:0.4']);
    await alerts.stop();
  }, 30_000);
});
