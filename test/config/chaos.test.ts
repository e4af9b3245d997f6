/**
 * Chaos with the whole stack running: `kill -9` of random workers every 200-500 ms while 50
 * callers send requests. Every call settles exactly once (the right result or a typed error), the
 * pool returns to full size, the collector's counts equal the callers' own, and no Python process
 * is left behind. The crash-loop alert fires during the chaos and resolves after it.
 *
 * The crash-loop rule: the default DspexWorkerCrashLoop counts crashes over 5 minutes, so it
 * would resolve only 5 minutes after the chaos. Here the config replaces it (a rule with a
 * default's name replaces it) by a rate rule: "at least 3 more crashes in the last minute than
 * 5 s ago", which holds while workers keep dying and stops within ~5 s of the last kill. (That
 * form suits a loop younger than its 1m window, as here: in a loop older than a minute, crashes
 * leaving the window offset new ones.) The other default rules run too, as in production.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createMonitoring, errorCategories, isPythonBridgeError, type AlertTransition, type Monitoring } from '../../src/index.js';
import { prng } from '../../src/util/prng.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectAllGone, expectNoLeakedWorkers } from '../helpers/processes.js';

const CHAOS_MS = 12_000;
const CALLERS = 50;

let monitoring: Monitoring | null = null;
const transitions: AlertTransition[] = [];
const onTransition = (m: unknown): void => {
  transitions.push(m as AlertTransition);
};
subscribe('dspex:alert:firing', onTransition);
subscribe('dspex:alert:resolved', onTransition);
afterAll(async () => {
  unsubscribe('dspex:alert:firing', onTransition);
  unsubscribe('dspex:alert:resolved', onTransition);
  await monitoring?.stop();
  await stopAll();
});

describe('chaos', () => {
  it('kill -9 every 200-500 ms under 50 callers: every call settles once, counts match, the pool heals, the crash-loop alert fires and resolves, nothing is orphaned', { timeout: 60_000 }, async () => {
    const pool = await startPool({ size: 4, maxQueue: 10_000, checkoutTimeoutMs: 10_000 });
    const crashLoop = { name: 'DspexWorkerCrashLoop', kind: 'rate', mode: 'delta', signal: 'pool.workerCrashesPerMin', window: '1m', op: '>=', value: 3, overMs: 5000, forMs: 0, severity: 'critical' } as const;
    monitoring = await createMonitoring({ pools: [pool], env: false, configFile: false, server: { port: 0 }, resources: { intervalMs: 500 }, health: { intervalMs: 500 }, alerts: { intervalMs: 250, rules: [crashLoop] } });
    const crashLoopOf = (to: string) => transitions.filter((t) => t.rule === crashLoop.name && t.labels['pool'] === pool.name && t.to === to);
    const rand = prng(20261202);
    const seenPids = new Set<number>(pool.pids());
    let stopChaos = false;
    let kills = 0;
    const killer = (async () => {
      while (!stopChaos) {
        await new Promise((r) => setTimeout(r, 200 + rand() * 300));
        // No kill after the stop: one landing then could hit the call that checks the pool healed
        // (its exit not yet noticed, the slot still counted idle).
        if (stopChaos) break;
        const live = pool.pids();
        for (const p of live) seenPids.add(p);
        const victim = live[Math.floor(rand() * live.length)];
        if (victim === undefined) continue;
        try {
          process.kill(victim, 'SIGKILL');
          kills++;
        } catch {
          // already gone
        }
      }
    })();

    let calls = 0;
    let ok = 0;
    let typedErrors = 0;
    const wrong: string[] = [];
    const settledTwice: number[] = [];
    const byCategory = new Map<string, number>();
    const deadline = Date.now() + CHAOS_MS;
    const caller = async (c: number): Promise<void> => {
      let i = 0;
      while (Date.now() < deadline) {
        const id = `${c}:${i++}`;
        calls++;
        let settled = 0;
        try {
          const r = await pool.executeAnonymous('echo', { id });
          settled++;
          if ((r as { id?: string }).id === id) ok++;
          else wrong.push(`${id} got ${JSON.stringify(r)}`);
        } catch (err) {
          settled++;
          if (isPythonBridgeError(err) && errorCategories.includes(err.category)) {
            typedErrors++;
            byCategory.set(`${err.category}/${err.type}`, (byCategory.get(`${err.category}/${err.type}`) ?? 0) + 1);
          } else wrong.push(`${id} threw ${String(err)}`);
        }
        if (settled !== 1) settledTwice.push(calls);
      }
    };
    await Promise.all(Array.from({ length: CALLERS }, (_, c) => caller(c)));
    // The crash-loop alert fired while workers kept dying (seen on dspex:alert:firing).
    expect(crashLoopOf('firing')).toHaveLength(1);
    expect(monitoring.alerts!.activeAlerts().filter((a) => a.rule === crashLoop.name)).toEqual([expect.objectContaining({ state: 'firing', pool: pool.name })]);
    stopChaos = true;
    await killer;

    expect(wrong).toEqual([]);
    expect(settledTwice).toEqual([]);
    expect(ok + typedErrors).toBe(calls);
    expect(kills).toBeGreaterThanOrEqual(15);
    expect(ok).toBeGreaterThan(typedErrors); // the pool kept serving
    // Only the failures a killed worker explains.
    for (const k of byCategory.keys()) expect(['worker/crashed']).toContain(k);

    // The pool heals to full size, every slot idle and ready.
    await vi.waitFor(() => expect(pool.status()).toMatchObject({ size: 4, idle: 4, starting: 0 }), { timeout: 15_000, interval: 50 });
    await expect(pool.executeAnonymous('echo', { after: true })).resolves.toEqual({ after: true });
    calls++;
    ok++;

    // The collector counted exactly what the callers saw.
    await vi.waitFor(
      () => {
        const t = monitoring!.collector.getTotals(pool.name);
        expect(t.operations).toBe(calls);
        expect(t.errors).toBe(typedErrors);
      },
      { timeout: 3000 },
    );
    expect(monitoring.health().status).not.toBe('unhealthy');

    // Once the kills stop, the crash-loop alert resolves, once, and does not fire again.
    await vi.waitFor(() => expect(crashLoopOf('resolved')).toHaveLength(1), { timeout: 10_000, interval: 50 });
    expect(crashLoopOf('firing')).toHaveLength(1);
    expect(crashLoopOf('resolved')[0]!.fingerprint).toBe(crashLoopOf('firing')[0]!.fingerprint);
    expect(monitoring.alerts!.activeAlerts().filter((a) => a.rule === crashLoop.name)).toEqual([]);
    expect(monitoring.alerts!.alertHistory().filter((t) => t.rule === crashLoop.name && t.to !== 'pending').map((t) => t.to)).toEqual(['firing', 'resolved']);

    // No Python process outlives the pool.
    for (const p of pool.pids()) seenPids.add(p);
    await monitoring.stop();
    monitoring = null;
    await pool.stop();
    await expectAllGone([...seenPids]);
    await expectNoLeakedWorkers();
  });
});
