/**
 * The ResourceMonitor wired to a real SessionPool (the structural ResourcePoolSource), with the
 * real worker (python/dspex_worker.py) and its `compute` / `alloc` / `crash` commands.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ResourceMonitor, type PythonProcessResources, type ResourceSample } from '../../src/resources/index.js';
import { SessionPool } from '../../src/index.js';
import { RUN_ID } from '../../src/pool/session-pool.js';
import { WAIT, isAlive } from './helpers.js';

const MIB = 1024 * 1024;
let pool: SessionPool | null = null;
let monitor: ResourceMonitor | null = null;
const seenPids = new Set<number>();
const noop = (): void => undefined;
const silent = { debug: noop, info: noop, warn: noop, error: noop };

function worker(sample: ResourceSample, slot: number): PythonProcessResources {
  const e = sample.python.find((p) => p.pool === pool?.name && p.workerId === slot);
  if (!e) throw new Error(`slot ${slot} not in sample`);
  seenPids.add(e.pid);
  return e;
}

afterEach(async () => {
  monitor?.stop();
  monitor = null;
  await pool?.stop();
  pool = null;
  await vi.waitFor(() => {
    for (const pid of seenPids) expect(isAlive(pid), `worker ${pid} left running`).toBe(false);
  }, WAIT);
  seenPids.clear();
});

describe('with a real SessionPool', () => {
  it('reports the pool\'s workers; a crash is reported with its exit code and the restart counted', async () => {
    pool = new SessionPool({ name: `res-${process.pid}-${Date.now()}`, size: 2, healthCheckIntervalMs: 0, logger: silent });
    await pool.start();
    monitor = new ResourceMonitor({ pools: [pool], intervalMs: 60_000 });
    monitor.start();
    const s0 = monitor.getResources();
    const w0 = worker(s0, 0);
    const w1 = worker(s0, 1);
    expect(w0).toMatchObject({ runId: RUN_ID, orphan: false, restarts: 0, ppid: process.pid, state: expect.stringMatching(/^[RS]$/) });
    expect(w0.openFds).toBeGreaterThanOrEqual(5); // stdio + fds 3/4
    expect(w1.pid).not.toBe(w0.pid);

    // CPU under `compute`, memory under `alloc`
    monitor.sampleNow();
    const busy = pool.executeAnonymous('compute', { size: 3_000_000 });
    await busy;
    await pool.executeAnonymous('alloc', { mb: 50 });
    const s1 = monitor.sampleNow();
    const grown = s1.python.filter((p) => p.pool === pool?.name);
    expect(Math.max(...grown.map((p) => p.cpuPercent ?? 0))).toBeGreaterThan(20);
    expect(Math.max(...grown.map((p) => p.rssBytes))).toBeGreaterThan(Math.min(w0.rssBytes, w1.rssBytes) + 45 * MIB);

    // crash one worker: the pool publishes dspex:worker:terminate (reason crash) and replaces it
    const before = new Set(grown.map((p) => p.pid));
    await pool.executeAnonymous('crash', { code: 7 }).catch(() => undefined);
    let crashed: ResourceSample['vanished'][number] | undefined;
    await vi.waitFor(() => {
      const s = monitor!.sampleNow();
      crashed ??= s.vanished.find((v) => before.has(v.pid));
      expect(crashed).toBeDefined();
    }, WAIT);
    expect(crashed).toMatchObject({ pool: pool.name, crashed: true, exitCode: 7, reason: 'crash', runId: RUN_ID });
    await vi.waitFor(() => {
      const restarted = worker(monitor!.sampleNow(), crashed!.workerId!);
      expect(restarted.restarts).toBe(1);
      expect(restarted.pid).not.toBe(crashed!.pid);
    }, WAIT);
  });
});
