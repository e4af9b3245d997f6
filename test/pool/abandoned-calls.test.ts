/**
 * Calls abandoned while in Python (the caller's signal fired, or its own `timeoutMs` passed): the
 * call settles at once, the worker finishes the request out of service, its late reply is dropped
 * by id, and only a request still running after `abortGraceMs` costs the process.
 */
import { rejection } from '../helpers/errors.js';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { OPERATION_CHANNEL, PythonBridgeError, type SessionPool } from '../../src/index.js';
import { prng } from '../../src/util/prng.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectAllGone, expectNoLeakedWorkers, isZombieOrGone } from '../helpers/processes.js';
import { EventCollector } from '../helpers/events.js';

afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

/** The pool's worker lifecycle events and the errors it published. */
function poolEvents(pool: SessionPool): EventCollector {
  return new EventCollector(['dspex:worker:terminate', 'dspex:worker:init', 'dspex:pool:error', 'dspex:worker:checkout', 'dspex:worker:checkin', OPERATION_CHANNEL], (p) => p['pool'] === pool.name);
}

/** Where in the collector's stream the first event of `channel` matching `match` is (-1: none). */
function indexOf(ev: EventCollector, channel: string, match: Record<string, unknown>): number {
  return ev.events.findIndex((e) => e.channel === channel && Object.entries(match).every(([k, v]) => e.payload[k] === v));
}

/** Wait until the pool's only worker is dispatched a call. */
async function waitBusy(pool: SessionPool): Promise<void> {
  await vi.waitFor(() => expect(pool.status().busy).toBe(1), { timeout: 2000, interval: 2 });
}

describe('abandoned calls', () => {
  it('a call aborted while in Python rejects at once; the same process finishes it and serves the next call', async () => {
    const pool = await startPool({ size: 1 }); // abortGraceMs: the default, 1000 ms
    const ev = poolEvents(pool);
    const pid = pool.pids()[0]!;
    const ac = new AbortController();
    const p = pool.executeAnonymous('sleep', { ms: 500 }, { signal: ac.signal });
    await waitBusy(pool);
    const t0 = performance.now();
    ac.abort(new Error('caller gave up'));
    const err = await rejection(p);
    // At once: not after the 500 ms the sleep takes.
    expect(performance.now() - t0).toBeLessThan(250);
    expect([err.category, err.type]).toEqual(['aborted', 'aborted']);
    expect(err.details).toMatchObject({ sent: true, pid, workerId: 0 });
    // Finishing the abandoned request: visible, busy, out of service.
    expect(pool.status()).toMatchObject({ busy: 1, idle: 0, workers: [{ pid, state: 'busy', abandoned: true, generation: 0 }] });
    const next = await pool.executeAnonymous<{ pid: number }>('ping');
    expect(next.pid).toBe(pid);
    expect(pool.status().workers[0]).toMatchObject({ pid, state: 'idle', abandoned: false, generation: 0 });
    expect(ev.of('dspex:worker:terminate')).toEqual([]);
    // One checkout and one checkin per call; the abandoned call checks in (with the real busy
    // time) once the worker has finished it, and only then is the ping checked out.
    expect(ev.of('dspex:worker:checkout')).toHaveLength(2);
    expect(ev.of('dspex:worker:checkin').map((e) => e['result'])).toEqual(['failed', 'ok']);
    expect((ev.of('dspex:worker:checkin')[0]!['busyNs'] as number) / 1e6).toBeGreaterThanOrEqual(490);
    expect(indexOf(ev, 'dspex:worker:checkin', { command: 'sleep' })).toBeLessThan(indexOf(ev, 'dspex:worker:checkout', { command: 'ping' }));
    ev.stop();
  });

  it('the late reply of an abandoned call is dropped by id and never reaches the next call', async () => {
    const pool = await startPool({ size: 1 });
    const ev = poolEvents(pool);
    const pid = pool.pids()[0]!;
    const ac = new AbortController();
    // A's reply ({slept_ms}) arrives long after B and C were submitted: delivered to the call
    // waiting next instead of dropped, B or C would resolve with it.
    const a = pool.executeAnonymous('sleep', { ms: 400 }, { signal: ac.signal });
    await waitBusy(pool);
    ac.abort();
    const aErr = rejection(a);
    const b = pool.executeAnonymous('echo', { call: 'B' });
    const c = pool.executeAnonymous<{ slept_ms: number }>('sleep', { ms: 1 });
    expect(pool.status().queueDepth).toBe(2);
    expect((await aErr).category).toBe('aborted');
    await expect(b).resolves.toEqual({ call: 'B' });
    const cOut = await c;
    expect(cOut.slept_ms).toBeLessThan(300);
    // Nothing broke the protocol, the process was kept, and B was sent only once A's reply came.
    expect(ev.of('dspex:pool:error').map((e) => e['category'])).toEqual(['aborted']);
    expect(ev.of('dspex:worker:terminate')).toEqual([]);
    expect(pool.status().workers[0]).toMatchObject({ pid, generation: 0, state: 'idle' });
    expect(indexOf(ev, 'dspex:worker:checkin', { command: 'sleep', result: 'failed' })).toBeLessThan(indexOf(ev, 'dspex:worker:checkout', { command: 'echo' }));
    expect(ev.of('dspex:worker:checkin').map((e) => `${String(e['command'])}:${String(e['result'])}`)).toEqual(['sleep:failed', 'echo:ok', 'sleep:ok']);
    await expect(pool.executeAnonymous('echo', { call: 'D' })).resolves.toEqual({ call: 'D' });
    ev.stop();
  });

  it('a call still running past abortGraceMs gets its worker killed (reason aborted) and replaced', async () => {
    const pool = await startPool({ size: 1 }); // abortGraceMs: the default, 1000 ms
    const ev = poolEvents(pool);
    const pid = pool.pids()[0]!;
    const ac = new AbortController();
    const p = pool.executeAnonymous('sleep', { ms: 10_000 }, { signal: ac.signal });
    await waitBusy(pool);
    const t0 = performance.now();
    ac.abort();
    expect((await rejection(p)).category).toBe('aborted');
    expect(performance.now() - t0).toBeLessThan(300);
    // Not killed at the abort: the process lives on through the grace, out of service.
    expect(isZombieOrGone(pid)).toBe(false);
    expect(pool.status().workers[0]).toMatchObject({ pid, state: 'busy', abandoned: true });
    // A call made during the grace waits for the worker, then is served by its replacement.
    const queued = pool.executeAnonymous('echo', { served: 'by the replacement' });
    await sleep(300);
    expect(ev.of('dspex:worker:terminate')).toEqual([]);
    const [term] = await ev.waitFor('dspex:worker:terminate');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(990);
    expect(term).toMatchObject({ reason: 'aborted', pid, signal: 'SIGKILL' });
    await expect(queued).resolves.toEqual({ served: 'by the replacement' });
    await expectAllGone([pid]);
    expect(pool.status().workers[0]).toMatchObject({ generation: 1, abandoned: false });
    expect(pool.pids()).not.toContain(pid);
    expect(ev.of('dspex:worker:init').map((e) => e['reason'])).toEqual(['replacement']);
    ev.stop();
  });

  it('a per-call timeoutMs abandons the call (timeout/operation at once); operationTimeoutMs still kills at once', async () => {
    const pool = await startPool({ size: 1 }); // abortGraceMs: the default, 1000 ms
    const ev = poolEvents(pool);
    const pid = pool.pids()[0]!;
    // Within the grace: rejected at the deadline, the process finishes and serves again.
    let t0 = performance.now();
    const err = await rejection(pool.executeAnonymous('sleep', { ms: 700 }, { timeoutMs: 100 }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
    expect(performance.now() - t0).toBeLessThan(500);
    expect([err.category, err.type]).toEqual(['timeout', 'operation']);
    expect(err.details).toMatchObject({ timeoutMs: 100, sent: true, pid });
    expect(err.message).toMatch(/abortGraceMs \(1000 ms/);
    expect(pool.status().workers[0]).toMatchObject({ pid, state: 'busy', abandoned: true });
    expect((await pool.executeAnonymous<{ pid: number }>('ping')).pid).toBe(pid);
    expect(indexOf(ev, 'dspex:worker:checkin', { command: 'sleep', result: 'failed' })).toBeLessThan(indexOf(ev, 'dspex:worker:checkout', { command: 'ping' }));
    expect(ev.of('dspex:worker:terminate')).toEqual([]);

    // Past the grace: killed with reason `timeout` (deadline + abortGraceMs), then replaced.
    t0 = performance.now();
    await expect(pool.executeAnonymous('sleep', { ms: 10_000 }, { timeoutMs: 100 })).rejects.toMatchObject({ category: 'timeout', type: 'operation' });
    expect(performance.now() - t0).toBeLessThan(500);
    expect(isZombieOrGone(pid)).toBe(false);
    const [term] = await ev.waitFor('dspex:worker:terminate');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1090);
    expect(term).toMatchObject({ reason: 'timeout', pid });
    await expectAllGone([pid]);

    // No timeoutMs: the pool-wide operationTimeoutMs is the hang guard and kills at once.
    const guarded = await startPool({ size: 1, operationTimeoutMs: 200, abortGraceMs: 5000 });
    const gev = poolEvents(guarded);
    const gpid = guarded.pids()[0]!;
    t0 = performance.now();
    const gErr = await rejection(guarded.executeAnonymous('sleep', { ms: 10_000 }));
    expect([gErr.category, gErr.type]).toEqual(['timeout', 'operation']);
    expect(gErr.message).toMatch(/was killed/);
    const [gTerm] = await gev.waitFor('dspex:worker:terminate');
    expect(gTerm).toMatchObject({ reason: 'timeout', pid: gpid });
    expect(performance.now() - t0).toBeLessThan(3000);
    // A signal on such a call gets the grace, capped by that guard (200 ms after dispatch).
    await vi.waitFor(() => expect(guarded.status().idle).toBe(1), { timeout: 5000 });
    const g2 = guarded.pids()[0]!;
    const ac = new AbortController();
    const p = guarded.executeAnonymous('sleep', { ms: 10_000 }, { signal: ac.signal });
    await waitBusy(guarded);
    t0 = performance.now();
    ac.abort();
    expect((await rejection(p)).category).toBe('aborted');
    await gev.waitFor('dspex:worker:terminate', (e) => e.length === 2);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(gev.of('dspex:worker:terminate')[1]).toMatchObject({ reason: 'aborted', pid: g2 });
    ev.stop();
    gev.stop();
  });

  it('an abort storm (2,000 calls, deadlines 0-5 ms on 0-3 ms sleeps) keeps every process; each call settles once', async () => {
    const pool = await startPool({ size: 4 });
    const ev = poolEvents(pool);
    const before = pool.pids().sort();
    const rand = prng(42);
    const N = 2000;
    const plan = Array.from({ length: N }, (_, i) => ({ sleepMs: Math.floor(rand() * 4), deadlineMs: Math.floor(rand() * 6), bySignal: i % 2 === 0 }));
    const outcomes = new Array<string | undefined>(N).fill(undefined);
    let settledTwice = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < N) {
          const i = next++;
          const { sleepMs, deadlineMs, bySignal } = plan[i]!;
          // Half by AbortSignal.timeout (0-5 ms), half by the call's own timeoutMs (1-5 ms).
          const opts = bySignal ? { signal: AbortSignal.timeout(deadlineMs) } : { timeoutMs: Math.max(1, deadlineMs) };
          const outcome = await pool.executeAnonymous('sleep', { ms: sleepMs }, opts).then(
            () => 'ok',
            (err: PythonBridgeError) => `${err.category}/${err.type}`,
          );
          if (outcomes[i] !== undefined) settledTwice++;
          outcomes[i] = outcome;
        }
      }),
    );
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o ?? 'unsettled'] = (counts[o ?? 'unsettled'] ?? 0) + 1;
    expect(settledTwice).toBe(0);
    expect(counts['unsettled']).toBeUndefined();
    expect(Object.keys(counts).sort()).toEqual(expect.arrayContaining(['aborted/aborted', 'ok', 'timeout/operation']));
    expect(Object.keys(counts).every((k) => ['ok', 'aborted/aborted', 'timeout/operation'].includes(k))).toBe(true);
    // Far more successes than the 53 of 20,000 of a pool that respawned on each abort.
    expect(counts['ok']).toBeGreaterThan(N * 0.05);
    // The pool published exactly one error and traced exactly one rejection per failed call.
    const failed = N - counts['ok']!;
    expect(ev.of('dspex:pool:error').filter((e) => e['command'] === 'sleep')).toHaveLength(failed);
    expect(ev.of(`${OPERATION_CHANNEL}:error`)).toHaveLength(failed);
    // Full size, the same processes, every worker idle once the abandoned sleeps are done.
    await vi.waitFor(() => expect(pool.status()).toMatchObject({ size: 4, idle: 4, busy: 0, queueDepth: 0 }), { timeout: 3000 });
    expect(pool.status().workers.every((w) => w.abandoned === false)).toBe(true);
    // No respawn expected (a 0-3 ms sleep would have to outlast the 1 s grace); one tolerated on a
    // badly overloaded machine.
    const respawns = ev.of('dspex:worker:terminate').length;
    expect(respawns).toBeLessThanOrEqual(1);
    if (respawns === 0) expect(pool.pids().sort()).toEqual(before);
    // Every checkout was checked in once (busy accounting from events stays exact).
    expect(ev.of('dspex:worker:checkin')).toHaveLength(ev.of('dspex:worker:checkout').length);
    ev.stop();
  });
});
