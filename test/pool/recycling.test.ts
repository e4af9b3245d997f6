/**
 * Worker recycling and run-time options with real Python processes: `recycleWorker()` under load
 * (no call fails), `maxCallsPerWorker`, `maxWorkerRssBytes` with a leaking command, the session
 * semantics of a recycle, the recycle events and metrics, and `configure()` (applied, validated,
 * all or nothing). Which process served is told by pids, never by timing.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MetricsCollector, PythonBridgeError, type SessionPool } from '../../src/index.js';
import { renderMetrics } from '../../src/exporters/prometheus.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';
import { EventCollector } from '../helpers/events.js';
import { parseStatmResidentPages, readRssBytes } from '../../src/pool/worker-rss.js';

afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

const pidOf = async (pool: SessionPool): Promise<number> => (await pool.executeAnonymous<{ pid: number }>('ping')).pid;

/** Keep `concurrency` callers busy with short sleeps until `stop()`; collects every failure. */
function load(pool: SessionPool, concurrency: number): { stop: () => Promise<void>; failures: unknown[]; ok: () => number } {
  const failures: unknown[] = [];
  let ok = 0;
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        await pool.executeAnonymous('sleep', { ms: 5 });
        ok++;
      } catch (err) {
        failures.push(err);
      }
    }
  });
  return {
    failures,
    ok: () => ok,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('recycleWorker', () => {
  it('under load: the replacement starts first, the old process retires after its call, no call fails', async () => {
    const pool = await startPool({ size: 2 });
    const events = new EventCollector(['dspex:worker:recycle', 'dspex:worker:terminate', 'dspex:worker:init']);
    try {
      const before = pool.status().workers.map((w) => w.pid);
      const driver = load(pool, 6);
      await vi.waitFor(() => expect(driver.ok()).toBeGreaterThan(20), { timeout: 10_000 });
      await pool.recycleWorker(0, { reason: 'test' });
      await pool.recycleWorker(1);
      const okAtRecycle = driver.ok();
      await vi.waitFor(() => expect(driver.ok()).toBeGreaterThan(okAtRecycle + 20), { timeout: 10_000 });
      await driver.stop();
      expect(driver.failures).toEqual([]);
      const after = pool.status().workers.map((w) => w.pid);
      expect(after).toHaveLength(2);
      for (const p of after) expect(before).not.toContain(p);
      const recycles = events.of('dspex:worker:recycle');
      expect(recycles.map((e) => [e.workerId, e.reason])).toEqual([
        [0, 'test'],
        [1, 'manual'],
      ]);
      expect(recycles[0]!.pid).toBe(before[0]);
      expect(recycles[0]!.replacementPid).toBe(after[0]);
      await vi.waitFor(() => expect(events.of('dspex:worker:terminate').filter((e) => e.reason === 'recycle').map((e) => e.pid).sort()).toEqual([...before].sort()));
      expect(events.of('dspex:worker:init').filter((e) => e.reason === 'recycle').map((e) => e.pid)).toEqual(after);
      expect(pool.status().workers.map((w) => w.generation)).toEqual([1, 1]);
    } finally {
      events.stop();
    }
  });

  it('a busy worker finishes its call on the old process; the next call runs on the replacement', async () => {
    const pool = await startPool({ size: 1 });
    const old = await pidOf(pool);
    const slow = pool.executeAnonymous<{ slept_ms: number }>('sleep', { ms: 600 });
    const recycled = pool.recycleWorker(0);
    await expect(slow).resolves.toMatchObject({ slept_ms: expect.any(Number) });
    await recycled;
    const now = await pidOf(pool);
    expect(now).not.toBe(old);
  });

  it('takes a ready warm spare as the replacement', async () => {
    const pool = await startPool({ size: 1, spares: 1 });
    await vi.waitFor(() => expect(pool.status().spares?.ready).toBe(1), { timeout: 10_000 });
    const spare = pool.status().spares!.workers[0]!.pid;
    await pool.recycleWorker(0);
    expect(await pidOf(pool)).toBe(spare);
  });

  it('strict sessions on the recycled process lose their state once (session_lost), then start afresh; prefer sessions move', async () => {
    const strict = await startPool({ size: 1 });
    await strict.executeInSession('s1', 'session_set', { key: 'k', value: 1 });
    await strict.recycleWorker(0);
    const lost = await strict.executeInSession('s1', 'session_get', { key: 'k' }).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(PythonBridgeError);
    expect(lost).toMatchObject({ category: 'worker', type: 'session_lost' });
    await expect(strict.executeInSession('s1', 'session_get', { key: 'k' })).resolves.toBeNull();

    const prefer = await startPool({ size: 1, affinity: 'prefer' });
    await prefer.executeInSession('s1', 'session_set', { key: 'k', value: 1 });
    await prefer.recycleWorker(0);
    await expect(prefer.executeInSession('s1', 'session_get', { key: 'k' })).resolves.toBeNull();
  });

  it('refuses a bad slot, a bad reason and a pool that is not running, changing nothing', async () => {
    const pool = await startPool({ size: 1 });
    const pid = await pidOf(pool);
    await expect(pool.recycleWorker(5)).rejects.toMatchObject({ category: 'invalid_request', type: 'bad_args' });
    await expect(pool.recycleWorker(-1)).rejects.toMatchObject({ category: 'invalid_request' });
    await expect(pool.recycleWorker(0.5)).rejects.toMatchObject({ category: 'invalid_request' });
    await expect(pool.recycleWorker(0, { reason: 'has space' })).rejects.toThrow(/reason/);
    expect(await pidOf(pool)).toBe(pid);
    await pool.stop();
    await expect(pool.recycleWorker(0)).rejects.toMatchObject({ category: 'pool_unavailable' });
  });
});

describe('automatic recycling', () => {
  it('maxCallsPerWorker: each process is recycled once it served that many calls, counted per reason in metrics and Prometheus', async () => {
    const collector = new MetricsCollector();
    collector.start();
    const pool = await startPool({ size: 1, maxCallsPerWorker: 10, recycleJitterRatio: 0 });
    collector.trackPool(pool);
    try {
      // The limit is reached after the 10th call; the old process serves on until its replacement
      // is ready (a recycle never makes calls wait), so a process serves at least 10 calls.
      const pids = new Map<number, number>();
      await vi.waitFor(
        async () => {
          const pid = await pidOf(pool);
          pids.set(pid, (pids.get(pid) ?? 0) + 1);
          expect(pids.size).toBeGreaterThanOrEqual(4);
        },
        { timeout: 20_000, interval: 5 },
      );
      const counts = [...pids.values()].slice(0, -1);
      for (const n of counts) expect(n).toBeGreaterThanOrEqual(10);
      await vi.waitFor(() => expect(collector.getTotals(pool.name).workerRecycles?.['max_calls']).toBeGreaterThanOrEqual(3));
      expect(renderMetrics({ collector, pools: [pool] })).toMatch(new RegExp(`dspex_pool_worker_recycles_total\\{pool="${pool.name}",reason="max_calls"\\} [3-9]`));
    } finally {
      collector.stop();
    }
  });

  it('maxWorkerRssBytes: the worker a leaking command grows is recycled, no call fails', async () => {
    const pool = await startPool({ size: 2, pythonModules: ['leaky'], affinity: 'prefer', recycleCheckIntervalMs: 100, recycleJitterRatio: 0 });
    const events = new EventCollector(['dspex:worker:recycle']);
    try {
      const base = Math.max(...pool.status().workers.map((w) => readRssBytes(w.pid) ?? 0));
      expect(base).toBeGreaterThan(1 << 20);
      pool.configure({ maxWorkerRssBytes: base + 24 * (1 << 20) });
      const failures: unknown[] = [];
      let leakPid = 0;
      // One session leaks 4 MiB per call until its worker is recycled.
      await vi.waitFor(
        async () => {
          const r = await pool.executeInSession<{ pid: number }>('leaker', 'leaky.alloc', { kb: 4096 }).catch((e: unknown) => (failures.push(e), null));
          if (r && leakPid === 0) leakPid = r.pid;
          expect(events.of('dspex:worker:recycle')).toHaveLength(1);
        },
        { timeout: 20_000, interval: 20 },
      );
      const ev = events.of('dspex:worker:recycle')[0]!;
      expect(ev.reason).toBe('max_rss');
      expect(ev.pid).toBe(leakPid);
      expect(ev.rssBytes).toBeGreaterThan(base + 24 * (1 << 20));
      await vi.waitFor(() => expect(pool.status().workers.map((w) => w.pid)).not.toContain(leakPid), { timeout: 10_000 });
      await expect(pool.executeInSession('leaker', 'leaky.alloc', { kb: 4 })).resolves.toBeTruthy();
      expect(failures).toEqual([]);
    } finally {
      events.stop();
    }
  });

  it('parses statm and reads this process', () => {
    expect(parseStatmResidentPages('100 25 3 1 0 20 0\n')).toBe(25);
    expect(parseStatmResidentPages('garbage')).toBeNull();
    expect(readRssBytes(process.pid)).toBeGreaterThan(1 << 20);
    expect(readRssBytes(0)).toBeNull();
  });
});

describe('configure()', () => {
  it('changes the timeouts at run time, publishes the changes and shows them in options', async () => {
    const pool = await startPool({ size: 1 });
    const events = new EventCollector(['dspex:pool:configure']);
    try {
      await pool.executeAnonymous('ping'); // arms the worker's operation timer with the old value
      const changes = pool.configure({ operationTimeoutMs: 300, checkoutTimeoutMs: 250, healthCheckIntervalMs: 50, restartBackoffMs: 10 }, 'test');
      expect(changes.map((c) => c.option).sort()).toEqual(['checkoutTimeoutMs', 'healthCheckIntervalMs', 'operationTimeoutMs', 'restartBackoffMs']);
      expect(pool.options.operationTimeoutMs).toBe(300);
      expect(events.of('dspex:pool:configure')[0]).toMatchObject({ pool: pool.name, reason: 'test', changes: expect.arrayContaining([{ option: 'operationTimeoutMs', from: 30_000, to: 300 }]) });
      // The hang guard now fires at 300 ms (the worker is killed and replaced)…
      await expect(pool.executeAnonymous('sleep', { ms: 5000 })).rejects.toMatchObject({ category: 'timeout', type: 'operation' });
      // …and a call waiting for the busy worker gives up after 250 ms.
      await vi.waitFor(() => expect(pool.status().idle).toBe(1), { timeout: 10_000 });
      pool.configure({ operationTimeoutMs: 10_000 });
      const busy = pool.executeAnonymous('sleep', { ms: 1500 });
      await expect(pool.executeAnonymous('ping')).rejects.toMatchObject({ category: 'timeout', type: 'checkout' });
      await busy;
      // Same values again: nothing changes, nothing is published.
      expect(pool.configure({ operationTimeoutMs: 10_000 })).toEqual([]);
      expect(events.of('dspex:pool:configure')).toHaveLength(2);
    } finally {
      events.stop();
    }
  });

  it('validates with the pool schema, all or nothing, naming the option', async () => {
    const pool = await startPool({ size: 1 });
    const before = { ...pool.options };
    const bad = (arg: unknown): unknown => {
      try {
        pool.configure(arg as Parameters<SessionPool['configure']>[0]);
      } catch (err) {
        return err;
      }
      return null;
    };
    expect(bad({ operationTimeoutMs: 0 })).toMatchObject({ category: 'invalid_request', type: 'invalid_options', details: { option: 'operationTimeoutMs' } });
    expect(bad({ checkoutTimeoutMs: 100, maxCallsPerWorker: -1 })).toMatchObject({ details: { option: 'maxCallsPerWorker' } });
    expect(bad({ size: 3 })).toMatchObject({ message: expect.stringMatching(/size.*not configurable/) });
    expect(bad({ restartBackoffMs: 10_000 })).toMatchObject({ details: { option: 'restartBackoffMs' } });
    expect(bad({ recycleJitterRatio: 0.9 })).toMatchObject({ details: { option: 'recycleJitterRatio' } });
    expect(bad(null)).toBeInstanceOf(PythonBridgeError);
    expect({ ...pool.options }).toEqual(before);
    await expect(pool.executeAnonymous('ping')).resolves.toBeTruthy();
  });
});
