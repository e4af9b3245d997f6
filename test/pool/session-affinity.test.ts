/**
 * Session state under load, with real Python processes: strict affinity (the default) keeps every
 * session on the worker that holds its state, waits for it rather than move, reports a dead
 * worker's sessions once as `worker`/`session_lost`, and never lets the pool's own calls (session
 * cleanups) push a session elsewhere; `'prefer'` may move sessions, and counts it.
 */
import { rejection } from '../helpers/errors.js';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsCollector, type SessionPool } from '../../src/index.js';
import { renderMetrics } from '../../src/exporters/index.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';
import { EventCollector } from '../helpers/events.js';

const collectors: MetricsCollector[] = [];
afterEach(async () => {
  for (const c of collectors.splice(0)) c.stop();
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

/** `n` callers working through `items` concurrently, each taking the next item when it is free. */
async function callers<T>(n: number, items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function workerOf(pool: SessionPool, sessionId: string): number {
  const s = pool.getSession(sessionId);
  expect(s, sessionId).toBeDefined();
  return s!.pid;
}

describe("strict affinity (affinity: 'strict', the default)", () => {
  it('16 concurrent callers x 10,000 sessions: every session_get returns the value set', async () => {
    const pool = await startPool({ size: 4 });
    expect(pool.options.affinity).toBe('strict');
    const ids = Array.from({ length: 10_000 }, (_, i) => `s-${i}`);
    await callers(16, ids, async (id) => {
      await pool.executeInSession(id, 'session_set', { key: 'k', value: id });
    });
    // Read back in another order, so a session's worker is usually busy with someone else.
    const lost: string[] = [];
    await callers(16, [...ids].reverse(), async (id) => {
      const v = await pool.executeInSession(id, 'session_get', { key: 'k' });
      if (v !== id) lost.push(id);
    });
    expect(lost.length, `sessions that lost their state, e.g. ${lost.slice(0, 3).join(', ')}`).toBe(0);
    expect(pool.status()).toMatchObject({ sessions: 10_000, queueDepth: 0 });
  }, 60_000);

  it('past maxSessions, evicting old sessions never costs a live session its state', async () => {
    const pool = await startPool({ size: 3, maxSessions: 100 });
    // 4 concurrent callers, each with 5 live sessions it reads in turn, creating a new session at
    // every step: 1,000 sessions in all, 920 evictions, each a cleanup call on some worker. The
    // callers go in rounds, so 5 rounds (40 distinct sessions) pass between reads of a live
    // session: within the 100 most recently used, however the processes are scheduled.
    const live = (c: number) => Array.from({ length: 5 }, (_, i) => `live-${c}-${i}`);
    await Promise.all([0, 1, 2, 3].map(async (c) => {
      for (const id of live(c)) await pool.executeInSession(id, 'session_set', { key: 'k', value: id });
    }));
    const lost: string[] = [];
    for (let step = 0; step < 245; step++) {
      await Promise.all(
        [0, 1, 2, 3].map(async (c) => {
          await pool.executeInSession(`tmp-${c}-${step}`, 'session_set', { key: 'k', value: step });
          const id = live(c)[step % 5]!;
          if ((await pool.executeInSession(id, 'session_get', { key: 'k' })) !== id) lost.push(id);
        }),
      );
    }
    expect(lost).toEqual([]);
    expect(pool.status()).toMatchObject({ sessions: 100, queueDepth: 0 });
    for (let c = 0; c < 4; c++) for (const id of live(c)) expect(pool.getSession(id)).toBeDefined();
  }, 60_000);

  it("a killed worker: the session's next call rejects once with worker/session_lost, then the session starts afresh", async () => {
    const pool = await startPool({ size: 2 });
    const errors = new EventCollector(['dspex:pool:error'], (p) => p['pool'] === pool.name);
    try {
      await pool.executeInSession('victim', 'session_set', { key: 'k', value: 'v' });
      const pid = workerOf(pool, 'victim');
      // A session on the other worker (the victim's is busy when it starts) is not affected.
      const hold = pool.executeInSession('victim', 'sleep', { ms: 200 });
      await pool.executeInSession('bystander', 'session_set', { key: 'k', value: 'b' });
      await hold;
      expect(workerOf(pool, 'bystander')).not.toBe(pid);

      process.kill(pid, 'SIGKILL');
      await vi.waitFor(() => expect(pool.pids()).not.toContain(pid), { timeout: 5000, interval: 10 });
      const err = await rejection(pool.executeInSession('victim', 'session_get', { key: 'k' }));
      expect(err).toMatchObject({ category: 'worker', type: 'session_lost', code: 'DSPEX_WORKER_SESSION_LOST' });
      expect(err.details).toMatchObject({ pool: pool.name, sessionId: 'victim', pid, command: 'session_get' });
      expect(errors.of('dspex:pool:error').filter((e) => e['type'] === 'session_lost')).toHaveLength(1);
      // Once: the next call runs, on empty state, and the session works again.
      await expect(pool.executeInSession('victim', 'session_get', { key: 'k' })).resolves.toBeNull();
      await pool.executeInSession('victim', 'session_set', { key: 'k', value: 'again' });
      await expect(pool.executeInSession('victim', 'session_get', { key: 'k' })).resolves.toBe('again');
      await expect(pool.executeInSession('bystander', 'session_get', { key: 'k' })).resolves.toBe('b');
    } finally {
      errors.stop();
    }
  });

  it('calls waiting for a worker that dies reject with session_lost; later calls start afresh', async () => {
    const pool = await startPool({ size: 2 });
    await pool.executeInSession('s', 'session_set', { key: 'k', value: 'v' });
    const pid = workerOf(pool, 's');
    // The session's worker runs a long call of the session; three more calls of s wait for it.
    const hold = pool.executeInSession('s', 'sleep', { ms: 5000 });
    const waiting = [1, 2, 3].map(() => rejection(pool.executeInSession('s', 'session_get', { key: 'k' })));
    expect(pool.status().queueDepth).toBe(3);
    // A call of another, new session is not held up by them: the other worker serves it.
    await expect(pool.executeInSession('fresh', 'echo', { x: 1 })).resolves.toEqual({ x: 1 });
    process.kill(pid, 'SIGKILL');
    expect(await rejection(hold)).toMatchObject({ category: 'worker', type: 'crashed' });
    for (const err of await Promise.all(waiting)) expect(err).toMatchObject({ category: 'worker', type: 'session_lost' });
    expect(pool.status().queueDepth).toBe(0);
    await expect(pool.executeInSession('s', 'session_get', { key: 'k' })).resolves.toBeNull();
  });

  it("retry: 'idempotent' does not run a session's call again on empty state: session_lost", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-affinity-'));
    try {
      const pool = await startPool({ size: 2, pythonModules: ['flaky'] });
      await pool.executeInSession('s', 'session_set', { key: 'k', value: 'v' });
      const err = await rejection(pool.executeInSession('s', 'flaky.crash_once', { marker: join(dir, 'm') }, { retry: 'idempotent' }));
      expect(err).toMatchObject({ category: 'worker', type: 'session_lost' });
      await expect(pool.executeInSession('s', 'session_get', { key: 'k' })).resolves.toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker retired by a shrink counts as dead for its sessions (session_lost once)', async () => {
    const pool = await startPool({ size: 2, minSize: 1 });
    // One session per worker: b starts while a's worker is busy.
    const hold = pool.executeInSession('a', 'session_set', { key: 'k', value: 'a' }).then(() => pool.executeInSession('a', 'sleep', { ms: 200 }));
    await vi.waitFor(() => expect(pool.status().busy).toBe(1));
    await pool.executeInSession('b', 'session_set', { key: 'k', value: 'b' });
    await hold;
    const slot1 = pool.status().workers.find((w) => w.id === 1)!.pid;
    const id = ['a', 'b'].find((s) => pool.getSession(s)!.pid === slot1)!;
    const kept = id === 'a' ? 'b' : 'a';
    await pool.resize(1);
    await vi.waitFor(() => expect(pool.pids()).not.toContain(slot1));
    expect(await rejection(pool.executeInSession(id, 'session_get', { key: 'k' }))).toMatchObject({ type: 'session_lost' });
    await expect(pool.executeInSession(id, 'session_get', { key: 'k' })).resolves.toBeNull();
    await expect(pool.executeInSession(kept, 'session_get', { key: 'k' })).resolves.toBe(kept);
  });

  it("waits for the session's busy worker within checkoutTimeoutMs, then timeout/checkout; other calls use idle workers meanwhile", async () => {
    const pool = await startPool({ size: 2, checkoutTimeoutMs: 300 });
    await pool.executeInSession('s', 'session_set', { key: 'k', value: 'v' });
    const pid = workerOf(pool, 's');
    const hold = pool.executeInSession('s', 'sleep', { ms: 800 });
    let waited = true;
    const timedOut = rejection(pool.executeInSession('s', 'session_get', { key: 'k' })).finally(() => (waited = false));
    expect(pool.status().queueDepth).toBe(1);
    // Anonymous calls and other sessions run on the idle worker while s waits.
    for (let i = 0; i < 5; i++) {
      await expect(pool.executeAnonymous('echo', { i })).resolves.toEqual({ i });
      await pool.executeInSession(`other-${i}`, 'session_set', { key: 'k', value: i });
      expect(pool.getSession(`other-${i}`)!.pid).not.toBe(pid);
    }
    expect(waited).toBe(true);
    expect(await timedOut).toMatchObject({ category: 'timeout', type: 'checkout' });
    expect(pool.status().queueDepth).toBe(0);
    await hold;
    // Still the same worker, state intact.
    await expect(pool.executeInSession('s', 'session_get', { key: 'k' })).resolves.toBe('v');
    expect(workerOf(pool, 's')).toBe(pid);
  });

  it("a session's queued calls run in submission order (FIFO per session), on its one worker", async () => {
    const pool = await startPool({ size: 3, pythonModules: ['misbehave'] });
    // Keep every worker busy so the calls queue, the session's first call included.
    const busy = [0, 1, 2].map(() => pool.executeAnonymous('sleep', { ms: 200 }));
    const results = await Promise.all(Array.from({ length: 30 }, () => pool.executeInSession<number>('fifo', 'misbehave.session_counter')));
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    await Promise.all(busy);
    expect(pool.getSession('fifo')!.operations).toBe(30);
    expect(pool.status().queueDepth).toBe(0);
  });
});

describe("affinity: 'prefer'", () => {
  it('a session moved off its busy worker is counted: sessionMoved on dspex:worker:checkout, the collector, dspex_session_moves_total', async () => {
    const collector = new MetricsCollector();
    collectors.push(collector);
    collector.start();
    const pool = await startPool({ size: 2, affinity: 'prefer' });
    collector.trackPool(pool);
    const events = new EventCollector(['dspex:worker:checkout'], (p) => p['pool'] === pool.name);
    try {
      await pool.executeInSession('s', 'session_set', { key: 'k', value: 'v' });
      const pid = workerOf(pool, 's');
      await pool.executeInSession('s', 'echo', {});
      // The session's own worker is busy with a user call: prefer moves the session (state lost).
      const hold = pool.executeInSession('hog', 'sleep', { ms: 300 });
      await vi.waitFor(() => expect(pool.status().workers.find((w) => w.pid === pid)?.state).toBe('busy'));
      await expect(pool.executeInSession('s', 'session_get', { key: 'k' })).resolves.toBeNull();
      expect(workerOf(pool, 's')).not.toBe(pid);
      await hold;
      const mine = events.of('dspex:worker:checkout').filter((e) => e['sessionId'] === 's');
      expect(mine.map((e) => [e['affinityHit'], e['sessionMoved']])).toEqual([
        [false, false],
        [true, false],
        [false, true],
      ]);
      expect(events.of('dspex:worker:checkout').filter((e) => e['sessionMoved'] === true)).toHaveLength(1);
      await vi.waitFor(() => expect(collector.getTotals(pool.name).sessionMoves).toBe(1));
      const text = renderMetrics({ collector, pools: [pool] });
      expect(text).toContain('# TYPE dspex_session_moves_total counter');
      expect(text).toMatch(new RegExp(`^dspex_session_moves_total\\{pool="${pool.name}"\\} 1$`, 'm'));
    } finally {
      events.stop();
    }
  });

  it("the pool's own calls never move a session: a cleanup on its worker makes it wait, not move", async () => {
    const pool = await startPool({ size: 2, affinity: 'prefer' });
    const events = new EventCollector(['dspex:worker:checkout'], (p) => p['pool'] === pool.name);
    try {
      for (let round = 0; round < 20; round++) {
        await pool.executeInSession(`gone-${round}`, 'session_set', { key: 'k', value: 1 });
        await pool.executeInSession('s', 'session_set', { key: 'k', value: round });
        // Both sessions on the same (idle) worker now, most likely; ending one sends a cleanup
        // call to it, and s's next call must wait for it rather than move.
        void pool.endSession(`gone-${round}`);
        await expect(pool.executeInSession('s', 'session_get', { key: 'k' })).resolves.toBe(round);
      }
      expect(events.of('dspex:worker:checkout').filter((e) => e['sessionMoved'] === true)).toEqual([]);
    } finally {
      events.stop();
    }
  });
});
