/**
 * Orphans with real processes: a short-lived Node process starts a worker-like Python process
 * (fixtures/stuck_worker.py, copied as dspex_worker.py: no watchdog, like a real worker stuck in
 * native code) detached, with a run id naming itself as owner; then the test `kill -9`s that Node
 * process. cleanupOrphans is always restricted (`only`) to the pids this test started, so the test
 * never touches anything else on a shared machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ResourceMonitor, identifyWorker } from '../../src/resources/index.js';
import { descendantPids } from '../helpers/processes.js';
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

/** Root can make a new PID namespace here (util-linux `unshare`); otherwise the container test is skipped. */
const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--kill-child', 'true'], { stdio: 'ignore' }).status === 0;

/** A pid with no process on this machine (the highest free one below pid_max: the least likely to be allocated meanwhile). */
function absentPid(): number {
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
  for (let p = pidMax - 1; p > 300; p--) if (!existsSync(`/proc/${p}`)) return p;
  throw new Error('no free pid');
}

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

  it.skipIf(!canUnshare)('a live worker in another PID namespace (a container) whose owner pid is absent here is foreign: never an orphan, never signalled', async () => {
    // Inside a new PID namespace, a Node owner gets pid `ownerNsPid` (set through ns_last_pid), a pid
    // that does not exist in ours, and starts a worker with run id `<ownerNsPid>.<random>`. Seen from
    // here, the run id's owner is absent: by the run id alone, an orphan. It is a live container's worker.
    const ownerNsPid = absentPid();
    const inner = `
      const { spawn } = require('node:child_process');
      const runId = process.pid + '.' + require('node:crypto').randomBytes(6).toString('hex');
      const c = spawn('python3', [${JSON.stringify(dir.script)}, '--dspex-run-id=' + runId, '--dspex-worker-id=0'], { stdio: 'ignore' });
      process.stdout.write(JSON.stringify({ runId, ownerNsPid: process.pid, workerNsPid: c.pid }) + '\\n');
      setInterval(() => {}, 1000);
    `;
    // sh is the namespace's init (pid 1); `; exit $?` keeps sh from exec'ing node, so node is forked at ownerNsPid.
    const ns = spawn('unshare', ['--pid', '--fork', '--kill-child', '--', 'sh', '-c', 'echo $(($0 - 1)) > /proc/sys/kernel/ns_last_pid && "$1" -e "$2"; exit $?', String(ownerNsPid), process.execPath, inner], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (ns.pid === undefined) throw new Error('spawn failed');
    startedPids.add(ns.pid);
    const nsExited = new Promise<void>((resolve) => ns.once('exit', () => resolve()));
    const inNamespace = new Set<number>();
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the namespaced owner did not report within 15 s')), 15_000);
        createInterface({ input: ns.stdout }).once('line', (l) => {
          clearTimeout(timer);
          resolve(l);
        });
      });
      const inside = JSON.parse(line) as { runId: string; ownerNsPid: number; workerNsPid: number };
      expect(inside.ownerNsPid).toBe(ownerNsPid);
      // The worker as seen from here: the descendant whose argv carries the run id, once it is Python.
      let hostPid = 0;
      await vi.waitFor(() => {
        const all = descendantPids(ns.pid!);
        for (const p of all) {
          startedPids.add(p);
          inNamespace.add(p);
        }
        hostPid = all.find((p) => identifyWorker(cmdlineOf(p))?.runId === inside.runId) ?? 0;
        expect(hostPid).toBeGreaterThan(0);
      }, WAIT);
      // Really in another namespace, and its owner's pid really is absent here.
      expect(readlinkSync(`/proc/${hostPid}/ns/pid`)).not.toBe(readlinkSync('/proc/self/ns/pid'));
      expect(/NSpid:\s*(.*)/.exec(readFileSync(`/proc/${hostPid}/status`, 'latin1'))?.[1]?.split(/\s+/).map(Number)).toEqual([hostPid, inside.workerNsPid]);
      expect(existsSync(`/proc/${ownerNsPid}`)).toBe(false);

      const m = newMonitor();
      const sample = m.sampleNow();
      expect(sample.python.some((p) => p.pid === hostPid)).toBe(false);
      expect(sample.foreignWorkers).toBeGreaterThanOrEqual(1);
      expect(m.getPythonProcesses().some((p) => p.pid === hostPid)).toBe(false);
      const res = await m.cleanupOrphans({ graceMs: 200, killTimeoutMs: 200, only: (p) => p.pid === hostPid });
      expect(res.orphans).toEqual([]);
      expect(isAlive(hostPid)).toBe(true);
    } finally {
      // --kill-child: unshare's death kills the namespace's init, and with it every process inside.
      ns.kill('SIGKILL');
      await nsExited;
      await vi.waitFor(() => {
        for (const p of inNamespace) expect(isAlive(p), `pid ${p} of the namespace`).toBe(false);
      }, WAIT);
    }
  });
});

it('leaves no started process behind', () => {
  for (const pid of startedPids) expect(isAlive(pid)).toBe(false);
});
