/**
 * Warm spares (the `spares` option) with real Python processes: a spare takes over a replaced
 * worker's slot, never serves a call before, is replaced when it dies, ends with the pool, and
 * shows in status, metrics, Prometheus and the dashboard. Which process served is always told by
 * pids (`ping` answers with its own), never by timing.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsCollector, PythonBridgeError, SessionPool } from '../../src/index.js';
import { ManualClock } from '../../src/contract/clock.js';
import { renderMetrics } from '../../src/exporters/prometheus.js';
import { joinWorkerRows, renderWorkerTable } from '../../src/dashboard/worker-table.js';
import type { SpareStatus } from '../../src/contract/pool-status.js';
import { recordingLogger, startPool, stopAll } from '../helpers/pools.js';
import { expectAllGone, expectNoLeakedWorkers, workerPidsOwnedBy } from '../helpers/processes.js';
import { EventCollector } from '../helpers/events.js';

afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

function spares(pool: SessionPool): SpareStatus {
  const s = pool.status().spares;
  if (s === undefined) throw new Error('status() has no spares');
  return s;
}

/** The pids of the ready spares. */
function readySpares(pool: SessionPool): number[] {
  return spares(pool)
    .workers.filter((w) => w.state === 'ready')
    .map((w) => w.pid);
}

async function pingPid(pool: SessionPool): Promise<number> {
  return (await pool.executeAnonymous<{ pid: number }>('ping')).pid;
}

/** Wait until the pool has `n` ready spares, none of them in `not`; returns their pids. */
async function waitReadySpares(pool: SessionPool, n: number, not: readonly number[] = []): Promise<number[]> {
  await vi.waitFor(
    () => {
      const pids = readySpares(pool);
      expect(pids).toHaveLength(n);
      for (const p of pids) expect(not).not.toContain(p);
    },
    { timeout: 10_000, interval: 10 },
  );
  return readySpares(pool);
}

describe('warm spares take over replaced slots', () => {
  it('kill -9 of a worker: its slot goes to the ready spare, which serves the next calls; the spare set refills', async () => {
    // slow_import: every Python start takes 0.2 s more, as a real program's imports do.
    const pool = await startPool({ size: 2, spares: 1, pythonModules: ['slow_import'] });
    // start() resolves with the spares ready too.
    expect(spares(pool)).toMatchObject({ target: 1, ready: 1, starting: 0 });
    const [sparePid] = readySpares(pool);
    const before = pool.status().workers;
    expect(before.map((w) => w.pid)).not.toContain(sparePid);
    const events = new EventCollector(['dspex:pool:recovery', 'dspex:worker:init'], (p) => p['pool'] === pool.name);
    const victim = before[0]!;
    const other = before[1]!;

    process.kill(victim.pid, 'SIGKILL');
    await vi.waitFor(() => expect(pool.status().workers[0]?.pid).toBe(sparePid), { timeout: 5000, interval: 5 });
    const slot = pool.status().workers[0]!;
    expect(slot).toMatchObject({ id: 0, pid: sparePid, generation: 1 });
    expect(['idle', 'busy']).toContain(slot.state);
    // Two calls at once: one per worker, the former spare serves one of them.
    const served = await Promise.all([pingPid(pool), pingPid(pool)]);
    expect(served.sort()).toEqual([sparePid, other.pid].sort());

    // The telemetry names the spare as the replacement that serves.
    const recovery = events.of('dspex:pool:recovery');
    expect(recovery).toHaveLength(1);
    expect(recovery[0]).toMatchObject({ workerId: 0, pid: sparePid, generation: 1, failure: 'crash', failedPid: victim.pid });
    expect(recovery[0]!['recoveryNs']).toEqual(expect.any(Number));
    expect(events.of('dspex:worker:init')).toEqual([expect.objectContaining({ workerId: 0, pid: sparePid, generation: 1, reason: 'replacement' })]);
    events.stop();

    // A new spare is started in the background: a new process, not one of the slots'.
    const [refill] = await waitReadySpares(pool, 1, [sparePid!, victim.pid, other.pid]);
    expect(pool.status().workers.map((w) => w.pid)).toEqual([sparePid, other.pid]);
    expect(pool.pids().sort()).toEqual([sparePid, other.pid, refill].sort());
  });

  it('an operation timeout: the killed worker\'s slot goes to the spare, which serves the call queued meanwhile', async () => {
    const pool = await startPool({ size: 1, spares: 1 });
    const [sparePid] = readySpares(pool);
    const slotPid = pool.pids()[0]!;
    const err = await pool.executeAnonymous('sleep', { ms: 10_000 }, { timeoutMs: 150 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PythonBridgeError);
    expect((err as PythonBridgeError).category).toBe('timeout');
    // Issued at once: it waits for the slot, and the spare is what serves it.
    expect(await pingPid(pool)).toBe(sparePid);
    await expectAllGone([slotPid]);
    expect(pool.status().workers[0]).toMatchObject({ pid: sparePid, generation: 1 });
  });

  it('resize() growth takes a ready spare first', async () => {
    const pool = await startPool({ size: 1, maxSize: 3, spares: 1 });
    const [sparePid] = readySpares(pool);
    const events = new EventCollector(['dspex:worker:init'], (p) => p['pool'] === pool.name);
    await pool.resize(2);
    expect(pool.status().workers[1]).toMatchObject({ id: 1, pid: sparePid, generation: 0, state: 'idle' });
    expect(events.of('dspex:worker:init')).toEqual([expect.objectContaining({ workerId: 1, pid: sparePid, reason: 'resize' })]);
    events.stop();
    // The third slot has no spare left: a new process starts for it.
    await pool.resize(3);
    expect(pool.status().workers[2]?.pid).not.toBe(sparePid);
    expect(pool.status().idle).toBe(3);
    await waitReadySpares(pool, 1, pool.status().workers.map((w) => w.pid));
  });
});

describe('a spare until it takes a slot', () => {
  it('is never given a call: with every worker busy and a spare ready, calls queue for the worker', async () => {
    const pool = await startPool({ size: 1, spares: 1, healthCheckIntervalMs: 50 });
    const [sparePid] = readySpares(pool);
    const slotPid = pool.pids()[0]!;
    const busy = pool.executeAnonymous('sleep', { ms: 500 });
    await vi.waitFor(() => expect(pool.status().busy).toBe(1));
    const pings = [pingPid(pool), pingPid(pool), pingPid(pool)];
    await new Promise((r) => setTimeout(r, 100));
    expect(pool.status().queueDepth).toBe(3);
    expect(readySpares(pool)).toEqual([sparePid]);
    await busy;
    expect(await Promise.all(pings)).toEqual([slotPid, slotPid, slotPid]);
    // Health checks went to the worker only: the spare is still the same, ready, process.
    await new Promise((r) => setTimeout(r, 150));
    expect(readySpares(pool)).toEqual([sparePid]);
    expect(pool.status().workers.map((w) => w.pid)).toEqual([slotPid]);
  });

  it('is replaced when it dies while it waits; the slots are not touched', async () => {
    const logger = recordingLogger();
    const pool = await startPool({ size: 1, spares: 1, logger });
    const [sparePid] = readySpares(pool);
    const slot = pool.status().workers[0]!;
    process.kill(sparePid!, 'SIGKILL');
    await expectAllGone([sparePid!]);
    const [next] = await waitReadySpares(pool, 1, [sparePid!, slot.pid]);
    expect(next).toBeGreaterThan(0);
    expect(pool.status().workers).toEqual([expect.objectContaining({ id: 0, pid: slot.pid, generation: 0, state: 'idle' })]);
    expect(logger.lines.some((l) => l.level === 'warn' && l.msg.includes('spare exited unexpectedly') && l.obj['workerPid'] === sparePid)).toBe(true);
    // And it is a spare like the first: the next crash goes to it.
    process.kill(slot.pid, 'SIGKILL');
    await vi.waitFor(() => expect(pool.status().workers[0]?.pid).toBe(next), { timeout: 5000, interval: 5 });
    expect(await pingPid(pool)).toBe(next);
  });
});

describe('spares and the pool lifecycle', () => {
  it('stop() ends every spare, ready or still importing: no process is left', async () => {
    const pool = await startPool({ size: 1, spares: 2, pythonModules: ['slow_import'] });
    const pids = pool.pids();
    expect(pids).toHaveLength(3);
    // Take one spare (a crash) so that its replacement is still importing when the pool stops.
    process.kill(pool.status().workers[0]!.pid, 'SIGKILL');
    await vi.waitFor(() => expect(spares(pool).starting).toBe(1), { timeout: 5000, interval: 5 });
    const all = [...new Set([...pids, ...pool.pids(), ...spares(pool).workers.map((w) => w.pid)])].filter((p) => p > 0);
    expect(all).toHaveLength(4);
    await pool.stop();
    await expectAllGone(all);
    expect(workerPidsOwnedBy().filter((p) => all.includes(p))).toEqual([]);
    expect(pool.pids()).toEqual([]);
    expect(spares(pool)).toEqual({ target: 2, ready: 0, starting: 0, workers: [] });
  });

  it('a spare that fails to start does not fail start(); it is retried with backoff until it starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-spares-'));
    const marker = join(dir, 'fail');
    writeFileSync(marker, '');
    try {
      const logger = recordingLogger();
      const errors = new EventCollector(['dspex:pool:error']);
      const pool = await startPool({ size: 1, spares: 1, logger, pythonModules: ['spare_import'], env: { DSPEX_TEST_SPARE_FAIL_MARKER: marker } });
      expect(await pool.executeAnonymous('spare_import.whoami')).toBe('0');
      const failures = () => logger.lines.filter((l) => l.level === 'error' && l.msg.startsWith('spare failed to start'));
      await vi.waitFor(() => expect(failures().length).toBeGreaterThanOrEqual(3), { timeout: 15_000, interval: 20 });
      // The slots' rule: 100 ms, then doubling.
      expect(failures().slice(0, 3).map((l) => [l.obj['attempt'], l.obj['retryInMs']])).toEqual([
        [1, 100],
        [2, 200],
        [3, 400],
      ]);
      expect(failures()[0]!.obj['traceback']).toEqual(expect.stringContaining('spares may not start yet'));
      const published = errors.of('dspex:pool:error').filter((e) => e['pool'] === pool.name);
      expect(published[0]).toMatchObject({ category: 'worker', type: 'start_failed', workerId: null });
      errors.stop();
      expect(spares(pool).ready).toBe(0);
      rmSync(marker);
      const [sparePid] = await waitReadySpares(pool, 1);
      // And it is a working spare: it takes the slot of the next crash.
      process.kill(pool.status().workers[0]!.pid, 'SIGKILL');
      await vi.waitFor(() => expect(pool.status().workers[0]?.pid).toBe(sparePid), { timeout: 5000, interval: 5 });
      // Its environment still says what it was started as.
      expect(await pool.executeAnonymous('spare_import.whoami')).toBe('spare');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates spares: an integer 0..64, at most maxSize; 0 by default', () => {
    for (const bad of [-1, 1.5, 65, '1']) {
      let caught: unknown;
      try {
        new SessionPool({ size: 1, maxSize: 64, spares: bad as number });
      } catch (e) {
        caught = e;
      }
      expect(caught, `spares ${String(bad)}`).toBeInstanceOf(PythonBridgeError);
      expect((caught as PythonBridgeError).details.option).toBe('spares');
    }
    expect(() => new SessionPool({ size: 1, maxSize: 2, spares: 3 })).toThrow(/invalid pool option 'spares': spares \(3\) is larger than maxSize \(2\)/);
    const pool = new SessionPool({ size: 1 });
    expect(pool.options.spares).toBe(0);
    expect(pool.status().spares).toEqual({ target: 0, ready: 0, starting: 0, workers: [] });
  });
});

describe('spares are visible', () => {
  it('in status(), the collector\'s gauges, Prometheus and the dashboard\'s worker table', async () => {
    const pool = await startPool({ size: 1, spares: 2 });
    const st = pool.status();
    expect(st.spares).toEqual({
      target: 2,
      ready: 2,
      starting: 0,
      workers: [expect.objectContaining({ state: 'ready', pid: expect.any(Number) }), expect.objectContaining({ state: 'ready', pid: expect.any(Number) })],
    });
    // Spares are not workers: the slot counts stay as they were.
    expect([st.size, st.idle, st.busy, st.starting, st.workers.length]).toEqual([1, 1, 0, 0, 1]);

    const clock = new ManualClock(Date.now());
    const collector = new MetricsCollector({ clock });
    collector.start();
    try {
      collector.trackPool(pool);
      clock.advance(1000);
      expect(collector.getCurrentMetrics(pool.name).gauges.spares).toBe(2);
      const label = `dspex_pool_spares{pool="${pool.name}"}`;
      expect(renderMetrics({ collector, pools: [pool] })).toContain(`\n${label} 2\n`);
      // Without the pool as a status source: from the collector's gauges.
      expect(renderMetrics({ collector })).toContain(`\n${label} 2\n`);
    } finally {
      collector.stop();
    }

    const table = renderWorkerTable(joinWorkerRows(st, [], []), { width: 80, height: 6, color: false, sort: 'id', spares: st.spares ?? null });
    expect(table[0]).toMatch(/Workers\s+1\s+idle 1\s+spares 2\/2/);
  });
});
