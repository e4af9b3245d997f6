/**
 * Soak: a pool with the full monitoring stack under mixed load (errors, slow calls, crashes) for
 * SOAK_MINUTES. Asserts every call settled, the pool stayed at size, memory stayed bounded and no
 * process leaked. `make soak-vitest` (the report-writing soak is `dspex soak`: `make soak`).
 */
import { afterAll, expect, it } from 'vitest';
import { MetricsCollector, ResourceMonitor } from '../../src/index.js';
import { LoadGenerator } from '../../src/demo/load.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

const minutes = Number(process.env['SOAK_MINUTES'] ?? 10);

afterAll(async () => {
  await stopAll();
  await expectNoLeakedWorkers();
});

it(`holds up for ${minutes} minutes under mixed load`, async () => {
  expect(typeof global.gc, 'vitest.soak.config.ts passes --expose-gc').toBe('function');
  const collector = new MetricsCollector();
  collector.start();
  const pool = await startPool({ size: 4, maxSize: 8 });
  collector.trackPool(pool);
  const resources = new ResourceMonitor({ pools: [pool], intervalMs: 5000 });
  resources.start();
  const load = new LoadGenerator(pool, { opsPerS: 500, crashRatio: 0.0002 });
  load.start();
  const heapAt: number[] = [];
  const end = Date.now() + minutes * 60_000;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 10_000));
    global.gc?.();
    heapAt.push(process.memoryUsage().heapUsed);
    const s = pool.status();
    process.stdout.write(`soak: ${load.stats.sent} sent, ${load.stats.ok} ok, ${load.stats.failed} failed, workers ${s.workers.length}/${s.size}, heap ${(heapAt.at(-1)! / 1e6).toFixed(1)} MB, collector ${(collector.memoryBytes() / 1e6).toFixed(2)} MB\n`);
  }
  load.stop();
  await expect.poll(() => load.stats.ok + load.stats.failed, { timeout: 30_000 }).toBe(load.stats.sent);
  expect(pool.status().workers.length).toBe(4);
  // Bounded memory: after the first minute, the heap (sampled after a forced GC) does not keep
  // growing; 10 MB of slack for the windows filling up and V8's own variance.
  const warm = heapAt.slice(Math.min(6, heapAt.length - 1));
  expect(Math.max(...warm) - Math.min(...warm)).toBeLessThan(10e6);
  resources.stop();
  collector.stop();
});
