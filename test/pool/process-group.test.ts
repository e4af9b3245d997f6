/**
 * No process outlives its worker: processes started by user code (subprocess, multiprocessing,
 * os.fork) end with the worker's process group when the pool stops or the worker dies, and a
 * worker blocked in native code holding the GIL still dies with its Node process
 * (PR_SET_PDEATHSIG). Fixture commands: test/fixtures/python/descendants.py.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killGroupLeftovers } from '../../src/pool/pool-worker.js';
import { FIXTURES, startPool, stopAll } from '../helpers/pools.js';
import { descendantPids, expectAllGone, expectNoLeakedWorkers, isZombieOrGone, killAll, spawnScript } from '../helpers/processes.js';

/** Every pid a test saw, so a failing test still leaves nothing behind. */
const seen = new Set<number>();

afterEach(async () => {
  await stopAll();
  killAll(seen);
  await expectAllGone([...seen]);
  seen.clear();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

/**
 * The worker's pid and its descendants once `commands` ran on it (a pool of one worker): what the
 * commands returned (a reparented grandchild is no longer in the worker's process tree) and the
 * whole tree, all alive.
 */
async function workerWithDescendants(commands: string[]): Promise<{ pool: Awaited<ReturnType<typeof startPool>>; worker: number; descendants: number[] }> {
  const pool = await startPool({ size: 1, pythonModules: ['descendants'] });
  const worker = pool.pids()[0]!;
  seen.add(worker);
  const started: number[] = [];
  for (const command of commands) started.push(...[await pool.executeAnonymous<number | number[]>(`descendants.${command}`)].flat());
  const descendants = [...new Set([...started, ...descendantPids(worker)])];
  for (const p of descendants) seen.add(p);
  expect(descendants.filter((p) => isZombieOrGone(p)), 'descendants already gone').toEqual([]);
  return { pool, worker, descendants };
}

describe('a worker leads a process group that the pool ends', () => {
  it('the worker is the leader of its own process group and session', async () => {
    const { worker } = await workerWithDescendants(['popen_sleep']);
    const stat = readFileSync(`/proc/${worker}/stat`, 'utf8');
    const [, , pgrp, session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(Number(pgrp)).toBe(worker);
    expect(Number(session)).toBe(worker);
  });

  it.each(['popen_sleep', 'mp_child', 'fork_copy', 'reparented_grandchild'])('%s: after pool.stop() the worker and every descendant are gone within 2 s', async (command) => {
    const { pool, worker, descendants } = await workerWithDescendants([command]);
    await pool.stop();
    await expectAllGone([worker, ...descendants], 2000);
  });

  it('kill -9 of the worker: its children and grandchildren are gone within 2 s', async () => {
    const { worker, descendants } = await workerWithDescendants(['popen_sleep', 'mp_child', 'fork_copy', 'grandchild', 'reparented_grandchild']);
    expect(descendants.length).toBeGreaterThanOrEqual(6);
    process.kill(worker, 'SIGKILL');
    await expectAllGone([worker, ...descendants], 2000);
  });

  it('a call timing out: the worker and its descendants are killed together', async () => {
    const { pool, worker, descendants } = await workerWithDescendants(['popen_sleep', 'fork_copy']);
    await expect(pool.executeAnonymous('sleep', { ms: 10_000 }, { timeoutMs: 100 })).rejects.toMatchObject({ category: 'timeout' });
    await expectAllGone([worker, ...descendants], 2000);
  });
});

describe('killGroupLeftovers (after the leader was reaped)', () => {
  it('kills what is left of a group whose leader is gone, and nothing when a live process holds the id (a reused pid)', async () => {
    // A leader that exits at once, leaving a member behind in its group.
    const sh = spawn('sh', ['-c', 'sleep 30 & echo $!'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    seen.add(sh.pid!);
    const [member] = await Promise.all([
      new Promise<number>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))),
      new Promise<void>((resolve) => sh.once('exit', () => resolve())),
    ]);
    seen.add(member);
    expect(isZombieOrGone(member)).toBe(false);
    expect(killGroupLeftovers(sh.pid!)).toBe(true);
    await expectAllGone([member], 2000);

    // A live process holds the id: as if the pid had been reused since, so nothing is signalled.
    const leader = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    seen.add(leader.pid!);
    expect(killGroupLeftovers(leader.pid!)).toBe(false);
    expect(isZombieOrGone(leader.pid!)).toBe(false);
  });
});

describe('kill -9 of the Node process', () => {
  it('a worker holding the GIL in a C call, a busy one and an idle one: none survives 2 s', async () => {
    const script = `
      import { SessionPool } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)};
      let report = () => {};
      const quiet = () => {};
      const logger = { debug: quiet, warn: quiet, error: quiet, info: (_o, msg) => { if (msg === 'holding the GIL') report(); } };
      const pool = new SessionPool({ name: 'gil-test', size: 3, healthCheckIntervalMs: 0, pythonPath: [${JSON.stringify(FIXTURES)}], pythonModules: ['descendants'], logger });
      await pool.start();
      report = () => process.stdout.write(JSON.stringify(pool.pids()) + '\\n');
      pool.executeAnonymous('descendants.hold_gil', { seconds: 30 }).catch(() => {});
      pool.executeAnonymous('sleep', { ms: 60000 }).catch(() => {});
      setInterval(() => {}, 1000);
    `;
    const { child, firstLine } = spawnScript<number[]>(script);
    seen.add(child.pid!);
    const pids = await firstLine;
    for (const p of pids) seen.add(p);
    expect(pids).toHaveLength(3);
    expect(pids.every((p) => !isZombieOrGone(p))).toBe(true);
    child.kill('SIGKILL');
    await expectAllGone(pids, 2000);
  });
});
