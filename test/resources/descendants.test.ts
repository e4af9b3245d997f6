/**
 * A worker's descendants (what user code started in it) and the descendants left running after
 * their worker ended: first on a fixture /proc tree, then with real pools and real processes
 * (fixture commands: test/fixtures/python/descendants.py).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ResourceMonitor, parseEnviron, type OrphanedDescendant, type ResourceSample } from '../../src/resources/index.js';
import { SessionPool } from '../../src/index.js';
import { RUN_ID } from '../../src/pool/session-pool.js';
import { FIXTURES, uniqueName } from '../helpers/pools.js';
import { descendantPids, expectAllGone, expectNoLeakedWorkers, killAll } from '../helpers/processes.js';
import { FakePool, WAIT, fixtureProcTree, isAlive } from './helpers.js';

const noop = (): void => undefined;
const silent = { debug: noop, info: noop, warn: noop, error: noop };

describe('parseEnviron', () => {
  it('keeps the variables with the prefix; the last duplicate wins; an entry without = is skipped', () => {
    const env = parseEnviron('PATH=/bin\0DSPEX_RUN_ID=1.ab\0DSPEX_POOL=a=b\0DSPEX_X\0DSPEX_RUN_ID=2.cd\0', 'DSPEX_');
    expect([...env]).toEqual([
      ['DSPEX_RUN_ID', '2.cd'],
      ['DSPEX_POOL', 'a=b'],
    ]);
    expect(parseEnviron('').size).toBe(0);
  });
});

describe('on a fixture /proc tree', () => {
  const tree = fixtureProcTree();
  afterAll(() => tree.remove());
  const stat = (pid: number, comm: string, ppid: number, sid: number, threads = 1, startTicks = 7000): string =>
    `${pid} (${comm}) S ${ppid} ${sid} ${sid} 0 -1 0 0 0 0 0 1 1 0 0 20 0 ${threads} 0 ${startTicks} 1000 10 0\n`;
  const children = (pid: number, tid: number, kids: number[]): void => {
    mkdirSync(join(tree.root, String(pid), 'task', String(tid)), { recursive: true });
    writeFileSync(join(tree.root, String(pid), 'task', String(tid), 'children'), kids.map((k) => `${k} `).join(''));
  };
  const environ = (pid: number, vars: string[]): void => writeFileSync(join(tree.root, String(pid), 'environ'), vars.map((v) => v + '\0').join(''));
  const worker = ['python3', '-u', '/x/dspex_worker.py', '--dspex-run-id=100.abc', '--dspex-worker-id=0'];

  // 5000: a pool worker (its own session), two threads; 5001 a child of its main thread, 5003 of
  // its second thread (with a child 5004); 5010 reparented to init but still in 5000's session.
  tree.addProcess(5000, { stat: stat(5000, 'python3', 100, 5000, 2, 6000), cmdline: worker });
  children(5000, 5000, [5001]);
  children(5000, 5002, [5003]);
  tree.addProcess(5001, { stat: stat(5001, 'sleep', 5000, 5000), cmdline: ['sleep', '300'] });
  tree.addProcess(5003, { stat: stat(5003, 'python3', 5000, 5000), cmdline: ['python3', 'x.py'] });
  children(5003, 5003, [5004]);
  tree.addProcess(5004, { stat: stat(5004, 'sh', 5003, 5000), cmdline: ['sh'] });
  tree.addProcess(5010, { stat: stat(5010, 'daemon', 1, 5000), cmdline: ['daemon'] });
  // Sessions whose leader is gone: 5020 names this process's run, 5021 a dead Node's, 5022 a live
  // older Node's (200: left alone), 5023 no run at all.
  tree.addProcess(5020, { stat: stat(5020, 'sleep', 1, 6000), cmdline: ['sleep'] });
  environ(5020, ['HOME=/root', 'DSPEX_RUN_ID=100.abc', 'DSPEX_POOL=fx', 'DSPEX_WORKER_ID=3']);
  tree.addProcess(5021, { stat: stat(5021, 'sleep', 1, 6001), cmdline: ['sleep'] });
  environ(5021, ['DSPEX_RUN_ID=999.abc', 'DSPEX_POOL=gone']);
  tree.addProcess(5022, { stat: stat(5022, 'sleep', 1, 6002), cmdline: ['sleep'] });
  environ(5022, ['DSPEX_RUN_ID=200.abc']);
  tree.addProcess(5023, { stat: stat(5023, 'sleep', 1, 6003), cmdline: ['sleep'] });
  environ(5023, ['HOME=/root']);

  const pool = new FakePool('fx');
  pool.add(5000, 0);
  const monitor = new ResourceMonitor({ procRoot: tree.root, selfPid: 100, pools: [pool], intervalMs: 60_000 });
  const entry = (s: ResourceSample, pid: number) => s.python.find((p) => p.pid === pid);

  it('lists a worker\'s descendants: the children of every thread, recursively, and its session; orphans by session and environment', () => {
    const s = monitor.sampleNow();
    const w = entry(s, 5000);
    expect(w?.descendants?.map((d) => d.pid).sort()).toEqual([5001, 5003, 5004, 5010]);
    expect(w?.descendants?.find((d) => d.pid === 5004)).toMatchObject({ ppid: 5003, pgid: 5000, sid: 5000, comm: 'sh', state: 'S', rssBytes: 10 * 4096 });
    expect(w?.childPids?.sort()).toEqual([5001, 5003]);
    expect(s.orphanedDescendants?.map((o) => [o.pid, o.workerPid, o.pool, o.workerId, o.runId, o.orphan])).toEqual([
      [5020, 6000, 'fx', 3, '100.abc', false],
      [5021, 6001, 'gone', null, '999.abc', true],
    ]);
    expect(s.warnings.filter((w) => w.includes('orphaned descendant'))).toHaveLength(2);
  });

  it('once the worker is gone, its remembered descendants are orphaned descendants (with its pool and slot)', () => {
    rmSync(join(tree.root, '5000'), { recursive: true });
    pool.workers = [];
    const s = monitor.sampleNow();
    const mine = s.orphanedDescendants?.filter((o) => o.workerPid === 5000);
    expect(mine?.map((o) => o.pid)).toEqual([5001, 5003, 5004, 5010]);
    expect(mine?.[0]).toMatchObject({ pool: 'fx', workerId: 0, runId: '100.abc', orphan: false, comm: 'sleep' });
    expect(s.warnings).toContain('pid 5001 (sleep) outlived its worker pid 5000 (pool "fx" worker 0): an orphaned descendant');
    // Gone: no longer reported.
    rmSync(join(tree.root, '5001'), { recursive: true });
    expect(monitor.sampleNow().orphanedDescendants?.map((o) => o.pid)).not.toContain(5001);
  });
});

describe('with real pools', () => {
  const started = new Set<number>();
  let pool: SessionPool | null = null;
  let monitor: ResourceMonitor | null = null;

  afterEach(async () => {
    monitor?.stop();
    monitor = null;
    await pool?.stop();
    pool = null;
    killAll(started);
    await expectAllGone([...started]);
    started.clear();
  });
  afterAll(async () => {
    await expectNoLeakedWorkers();
  });

  it('a worker\'s subprocess, multiprocessing child and fork copy are its descendants; one that left the session outlives a killed worker and is flagged', async () => {
    pool = new SessionPool({ name: uniqueName('desc'), size: 1, pythonPath: [FIXTURES], pythonModules: ['descendants'], healthCheckIntervalMs: 0, logger: silent });
    await pool.start();
    monitor = new ResourceMonitor({ pools: [pool], intervalMs: 60_000 });
    const worker = pool.pids()[0]!;
    const pids: number[] = [];
    for (const command of ['popen_sleep', 'mp_child', 'fork_copy', 'popen_new_session']) pids.push(await pool.executeAnonymous<number>(`descendants.${command}`));
    for (const p of [worker, ...pids, ...descendantPids(worker)]) started.add(p);
    const escaped = pids[3]!;

    const s0 = monitor.sampleNow();
    const w = s0.python.find((p) => p.pid === worker);
    expect(w?.descendants?.map((d) => d.pid)).toEqual(expect.arrayContaining(pids));
    expect(w?.childPids).toEqual(expect.arrayContaining(pids));
    expect(w?.descendants?.find((d) => d.pid === pids[0])).toMatchObject({ comm: 'sleep', pgid: worker, sid: worker });
    expect(w?.descendants?.find((d) => d.pid === escaped)).toMatchObject({ pgid: escaped, sid: escaped });
    expect(s0.orphanedDescendants).toEqual([]);

    process.kill(worker, 'SIGKILL');
    // The pool ends the worker's group; the process that left it survives, and is flagged.
    await expectAllGone([worker, ...pids.slice(0, 3)], 2000);
    expect(isAlive(escaped)).toBe(true);
    let s1: ResourceSample | null = null;
    await vi.waitFor(() => {
      s1 = monitor!.sampleNow();
      expect(s1.orphanedDescendants?.map((o) => o.pid)).toEqual([escaped]);
    }, WAIT);
    expect(s1!.orphanedDescendants?.[0]).toMatchObject({ workerPid: worker, pool: pool.name, workerId: 0, runId: RUN_ID, orphan: false, comm: 'sleep' });
    expect(s1!.warnings.some((x) => x.startsWith(`pid ${escaped} (sleep) outlived its worker pid ${worker}`))).toBe(true);
  });

  it('after kill -9 of a Node process, a monitor that never saw its worker flags the worker\'s leftover child by session and environment', async () => {
    const script = `
      import { SessionPool } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)};
      const quiet = () => {};
      const pool = new SessionPool({ name: 'left-behind', size: 1, healthCheckIntervalMs: 0, pythonPath: [${JSON.stringify(FIXTURES)}], pythonModules: ['descendants'], logger: { debug: quiet, info: quiet, warn: quiet, error: quiet } });
      await pool.start();
      const child = await pool.executeAnonymous('descendants.popen_sleep');
      process.stdout.write(JSON.stringify({ worker: pool.pids()[0], child }) + '\\n');
      setInterval(() => {}, 1000);
    `;
    expect(existsSync(new URL('../../dist/index.js', import.meta.url)), 'run `npm run build` first').toBe(true);
    const node = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.add(node.pid!);
    const { worker, child } = await new Promise<{ worker: number; child: number }>((resolve, reject) => {
      let buf = '';
      node.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0]!) as { worker: number; child: number });
      });
      node.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    started.add(worker);
    started.add(child);
    node.kill('SIGKILL');
    await expectAllGone([node.pid!, worker], 2000);
    expect(isAlive(child)).toBe(true);

    monitor = new ResourceMonitor({ intervalMs: 60_000 });
    let o: OrphanedDescendant | undefined;
    await vi.waitFor(() => {
      o = monitor!.sampleNow().orphanedDescendants?.find((d) => d.pid === child);
      expect(o).toBeDefined();
    }, WAIT);
    expect(o).toMatchObject({ workerPid: worker, pool: 'left-behind', workerId: 0, orphan: true, comm: 'sleep', sid: worker });
    expect(o?.runId.startsWith(`${node.pid}.`)).toBe(true);
  });
});
