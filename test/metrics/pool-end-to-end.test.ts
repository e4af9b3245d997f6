/**
 * The metrics pipeline end to end with a real pool: pool → diagnostics_channel → collector →
 * query API. No synthetic events.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MetricsCollector } from '../../src/index.js';
import { ManualClock } from '../../src/contract/clock.js';
import { channels, operationChannel } from '../../src/telemetry/telemetry.js';
import { startPool, stopAll, uniqueName } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

const collectors: MetricsCollector[] = [];
afterEach(async () => {
  for (const c of collectors.splice(0)) c.stop();
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

describe('metrics from a real pool', () => {
  it('counts, errors, queue waits, crashes, gauges and latency match what the pool did', async () => {
    const collector = new MetricsCollector();
    collectors.push(collector);
    collector.start();
    // abortGraceMs 0: the timed-out call below has its worker killed at once (one restart).
    const pool = await startPool({ size: 2, abortGraceMs: 0 });
    collector.trackPool(pool);

    // 40 echoes at concurrency 8 (queue waits), 3 Python errors, 1 operation timeout.
    const clientMs: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          await pool.executeAnonymous('sleep', { ms: 5 });
          clientMs.push(performance.now() - t0);
        }
      }),
    );
    for (let i = 0; i < 3; i++) await expect(pool.executeAnonymous('fail', { type: 'ValueError', message: 'x' })).rejects.toThrow();
    await expect(pool.executeAnonymous('sleep', { ms: 5000 }, { timeoutMs: 100 })).rejects.toMatchObject({ category: 'timeout' });
    // A crash of an idle worker, from outside.
    await vi.waitFor(() => expect(pool.status().idle).toBe(2));
    const victim = pool.status().workers[0]!;
    process.kill(victim.pid, 'SIGKILL');
    await vi.waitFor(() => expect(collector.getTotals(pool.name).workerRestarts).toBeGreaterThanOrEqual(2), { timeout: 5000 });

    const totals = collector.getTotals(pool.name);
    expect(totals.operations).toBe(44);
    expect(totals.errors).toBe(4);
    expect(totals.checkouts).toBe(44);
    expect(totals.workerCrashes).toBe(1);
    // One restart after the timeout kill, one after the crash.
    expect(totals.workerRestarts).toBe(2);
    const errs = collector.getErrorTotals(pool.name).map((e) => `${e.category}/${e.type}:${e.count}`);
    expect(errs).toEqual(expect.arrayContaining(['python/ValueError:3', 'timeout/operation:1']));

    // Windows are made of complete seconds: the calls show once their second has rotated.
    await vi.waitFor(
      () => {
        collector.tick();
        expect(collector.getPerformanceSummary(pool.name).windows['1m'].ops).toBe(44);
      },
      { timeout: 3000, interval: 50 },
    );
    const summary = collector.getPerformanceSummary(pool.name).windows['1m'];
    expect(summary.errors).toBe(4);
    expect(summary.queueWaitUs.count).toBeGreaterThan(0);
    expect(summary.queueWaitUs.max).toBeGreaterThan(1000);
    // The sleep calls' p50 agrees with what the client measured (within 1% + scheduling noise).
    const byCmd = collector.getCommandMetrics(pool.name, '1m').find((c) => c.command === 'sleep');
    expect(byCmd).toBeDefined();
    const sortedClient = [...clientMs].sort((a, b) => a - b);
    const clientP50Us = sortedClient[Math.floor(0.5 * (sortedClient.length - 1))]! * 1000;
    expect(summary.latencyUs.p50).toBeGreaterThan(5000);
    expect(Math.abs(summary.latencyUs.p50 - clientP50Us) / clientP50Us).toBeLessThan(0.25);

    // Per-worker metrics carry the live pids.
    const status = pool.status();
    for (const w of status.workers) {
      await vi.waitFor(() => expect(collector.getWorkerMetrics(pool.name, w.id).pid).toBe(w.pid));
    }
    // Gauges equal the pool's own status once sampled. Sampling happens at second boundaries, so
    // the sample may predate the replacement worker becoming idle: poll until one after it.
    await vi.waitFor(() => expect(pool.status().idle).toBe(2));
    await vi.waitFor(
      () => {
        collector.tick();
        const st = pool.status();
        const g = collector.getCurrentMetrics(pool.name).gauges;
        expect({ size: g.size, busy: g.busy, idle: g.idle, queueDepth: g.queueDepth }).toEqual({ size: st.size, busy: st.busy, idle: st.idle, queueDepth: st.queueDepth });
      },
      { timeout: 3000, interval: 50 },
    );
  });

  it('stops sampling a stopped pool; a pool tracked later under the same name is the one sampled; an old untrack leaves it alone', async () => {
    // Injected clock: seconds complete on tick, and an untracked pool silent for 5 s is forgotten,
    // which shows whether a pool is still tracked (tracked pools are never forgotten).
    const clock = new ManualClock(Date.now());
    const collector = new MetricsCollector({ clock, forgetAfterS: 5 });
    collectors.push(collector);
    collector.start();
    const name = uniqueName('retrack');
    const gauges = (): { size: number; busy: number; idle: number } => {
      const { size, busy, idle } = collector.getCurrentMetrics(name).gauges;
      return { size, busy, idle };
    };

    const first = await startPool({ name, size: 2 });
    const untrackFirst = collector.trackPool(first);
    clock.advance(1000);
    expect(gauges()).toEqual({ size: 2, busy: 0, idle: 2 });

    await first.stop();
    expect(first.status()).toMatchObject({ lifecycle: 'stopped', size: 2 }); // what sampling the dead pool would report
    clock.advance(1000);
    expect(gauges()).toEqual({ size: 0, busy: 0, idle: 0 });
    clock.advance(10_000);
    expect(collector.pools()).not.toContain(name); // no longer tracked: forgotten after 5 s of silence

    const second = await startPool({ name, size: 3 });
    collector.trackPool(second);
    clock.advance(1000);
    expect(gauges()).toEqual({ size: 3, busy: 0, idle: 3 });
    untrackFirst(); // the first pool's closure must not untrack the second
    clock.advance(10_000);
    expect(collector.pools()).toContain(name);
    expect(gauges()).toEqual({ size: 3, busy: 0, idle: 3 });

    // A replacement tracked while the old pool still runs: the old pool's terminate leaves it tracked.
    const third = await startPool({ name, size: 1 });
    collector.trackPool(third);
    await second.stop();
    clock.advance(10_000);
    expect(collector.pools()).toContain(name);
    expect(gauges()).toEqual({ size: 1, busy: 0, idle: 1 });
    await third.stop();
    clock.advance(1000);
    expect(gauges()).toEqual({ size: 0, busy: 0, idle: 0 });
  });

  it('stop() unsubscribes from every channel', () => {
    const collector = new MetricsCollector();
    collector.start();
    expect(channels['dspex:worker:checkout'].hasSubscribers || operationChannel.hasSubscribers).toBe(true);
    collector.stop();
    for (const [name, ch] of Object.entries(channels)) expect(ch.hasSubscribers, name).toBe(false);
    expect(operationChannel.hasSubscribers).toBe(false);
  });
});
