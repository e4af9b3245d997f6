/**
 * Chaos with the whole stack running: `kill -9` of random workers every 200-500 ms while 50
 * callers send requests. Every call settles exactly once (the right result or a typed error), the
 * pool returns to full size, the collector's counts equal the callers' own, and no Python process
 * is left behind.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createMonitoring, errorCategories, isPythonBridgeError, type Monitoring } from '../../src/index.js';
import { prng } from '../../src/util/prng.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectAllGone, expectNoLeakedWorkers } from '../helpers/processes.js';

const CHAOS_MS = 12_000;
const CALLERS = 50;

let monitoring: Monitoring | null = null;
afterAll(async () => {
  await monitoring?.stop();
  await stopAll();
});

describe('chaos', () => {
  it('kill -9 every 200-500 ms under 50 callers: every call settles once, counts match, the pool heals, nothing is orphaned', { timeout: 60_000 }, async () => {
    const pool = await startPool({ size: 4, maxQueue: 10_000, checkoutTimeoutMs: 10_000 });
    monitoring = await createMonitoring({ pools: [pool], env: false, configFile: false, server: { port: 0 }, resources: { intervalMs: 500 }, health: { intervalMs: 500 } });
    const rand = prng(20261202);
    const seenPids = new Set<number>(pool.pids());
    let stopChaos = false;
    let kills = 0;
    const killer = (async () => {
      while (!stopChaos) {
        await new Promise((r) => setTimeout(r, 200 + rand() * 300));
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

    // No Python process outlives the pool.
    for (const p of pool.pids()) seenPids.add(p);
    await monitoring.stop();
    monitoring = null;
    await pool.stop();
    await expectAllGone([...seenPids]);
    await expectNoLeakedWorkers();
  });
});
