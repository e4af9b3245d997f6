/**
 * Orphans with real processes: a short-lived Node process starts a worker-like Python process
 * (fixtures/stuck_worker.py, copied as dspex_worker.py: no watchdog, like a real worker stuck in
 * native code) detached, with a run id naming itself as owner; then the test `kill -9`s that Node
 * process. cleanupOrphans is always restricted (`only`) to the pids this test started, so the test
 * never touches anything else on a shared machine.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ResourceMonitor, identifyWorker } from '../../src/resources/index.js';
import { WAIT, cmdlineOf, isAlive, killStarted, spawnOwnedWorker, startedPids, workerDir } from './helpers.js';

let dir: ReturnType<typeof workerDir>;
const monitors: ResourceMonitor[] = [];

function newMonitor(): ResourceMonitor {
  const m = new ResourceMonitor({ intervalMs: 60_000 });
  monitors.push(m);
  return m;
}

beforeAll(() => {
  dir = workerDir('stuck_worker.py');
});

afterAll(() => {
  dir.remove();
});

afterEach(async () => {
  for (const m of monitors.splice(0)) m.stop();
  const leftover = await killStarted();
  expect(leftover, 'processes left running by the test').toEqual([]);
});

async function orphan(extraArgs: string[] = []): Promise<{ pid: number; runId: string; ownerPid: number }> {
  const w = await spawnOwnedWorker(dir.script, extraArgs);
  w.owner.kill('SIGKILL');
  await w.ownerExited;
  expect(isAlive(w.ownerPid)).toBe(false);
  expect(isAlive(w.pythonPid)).toBe(true);
  return { pid: w.pythonPid, runId: w.runId, ownerPid: w.ownerPid };
}

describe('orphans', () => {
  it('an orphan left by kill -9 of its Node process is found, reported and ended by SIGTERM', async () => {
    const o = await orphan();
    const m = newMonitor();
    await vi.waitFor(() => expect(m.getPythonProcesses().find((p) => p.pid === o.pid)).toMatchObject({ orphan: true, ownerPid: o.ownerPid, runId: o.runId, pool: null }), WAIT);
    const e = m.sampleNow().python.find((p) => p.pid === o.pid);
    expect(e).toMatchObject({ orphan: true, pool: null, workerId: 0, runId: o.runId });
    expect(e?.ppid).not.toBe(o.ownerPid);

    const dry = await m.cleanupOrphans({ dryRun: true, only: (p) => p.pid === o.pid });
    expect(dry.orphans).toEqual([expect.objectContaining({ pid: o.pid, action: 'skipped', signals: [] })]);
    expect(isAlive(o.pid)).toBe(true);

    const res = await m.cleanupOrphans({ graceMs: 5000, only: (p) => p.pid === o.pid });
    expect(res.orphans).toEqual([{ pid: o.pid, runId: o.runId, ownerPid: o.ownerPid, action: 'terminated', signals: ['SIGTERM'], error: null }]);
    expect(isAlive(o.pid)).toBe(false);
    // Its disappearance is not a crash: the cleanup ended it.
    expect(m.sampleNow().vanished).toEqual([expect.objectContaining({ pid: o.pid, crashed: false, reason: 'orphan_cleanup' })]);
  });

  it('an orphan that ignores SIGTERM gets SIGKILL after the grace period', async () => {
    const o = await orphan(['--ignore-term']);
    // Wait until Python has installed SIG_IGN for SIGTERM (bit 15 of SigIgn in /proc/PID/status).
    await vi.waitFor(() => {
      const sigIgn = /SigIgn:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${o.pid}/status`, 'latin1'))?.[1] ?? '0';
      expect(BigInt('0x' + sigIgn) & (1n << 14n)).not.toBe(0n);
    }, WAIT);
    const m = newMonitor();
    await vi.waitFor(() => expect(m.getPythonProcesses().some((p) => p.pid === o.pid && p.orphan)).toBe(true), WAIT);
    const t0 = performance.now();
    const res = await m.cleanupOrphans({ graceMs: 300, only: (p) => p.pid === o.pid });
    expect(res.orphans).toEqual([expect.objectContaining({ pid: o.pid, action: 'killed', signals: ['SIGTERM', 'SIGKILL'] })]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(isAlive(o.pid)).toBe(false);
  });

  it('a worker of another live Node process is counted as foreign, never reported, never signalled', async () => {
    const w = await spawnOwnedWorker(dir.script);
    const m = newMonitor();
    await vi.waitFor(() => expect(identifyWorker(cmdlineOf(w.pythonPid))?.runId).toBe(w.runId), WAIT); // exec'd into Python
    expect(m.sampleNow().foreignWorkers).toBeGreaterThanOrEqual(1);
    expect(m.getResources().python.some((p) => p.pid === w.pythonPid)).toBe(false);
    expect(m.getPythonProcesses().some((p) => p.pid === w.pythonPid)).toBe(false);
    // Even a cleanup that would accept it does not see it.
    const res = await m.cleanupOrphans({ graceMs: 100, only: (p) => p.pid === w.pythonPid });
    expect(res.orphans).toEqual([]);
    expect(isAlive(w.pythonPid)).toBe(true);
    expect(isAlive(w.ownerPid)).toBe(true);
    // End both (they are this test's): the worker first, so it never becomes an orphan.
    process.kill(w.pythonPid, 'SIGKILL');
    w.owner.kill('SIGKILL');
    await w.ownerExited;
    await vi.waitFor(() => expect(isAlive(w.pythonPid)).toBe(false), WAIT);
  });
});

it('leaves no started process behind', () => {
  for (const pid of startedPids) expect(isAlive(pid)).toBe(false);
});
