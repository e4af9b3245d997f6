import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ProcReader,
  ResourceMonitor,
  classifyOwnership,
  comparePidNamespace,
  cpuPercent,
  identifyWorker,
  inferPageSizeBytes,
  parseChildren,
  parseCmdline,
  parseStat,
  parseStatm,
  parseStatus,
  parseSystemStat,
  parseUptimeS,
  toProcError,
  type ProcResult,
  type ProcStat,
  type ProcStatus,
} from '../../src/resources/index.js';
import { FIXTURE_PID_NS, FakePool, fixtureProcTree } from './helpers.js';

// A copy of test/fixtures/proc with `self`, `ns/pid` links and NSpid (see fixtureProcTree).
const tree = fixtureProcTree();
const fixtureRoot = tree.root;
afterAll(() => tree.remove());

const realStat =
  '3719 (cat) R 3714 3714 2919 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 1 0 32307 3133440 359 18446744073709551615 94279907979264 94279907999145 140724889981248 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94279908015152 94279908016768 94280785215488 140724889987808 140724889987828 140724889987828 140724889989099 0\n';

describe('parseStat', () => {
  it('parses a real line', () => {
    expect(parseStat(realStat)).toEqual({
      pid: 3719,
      comm: 'cat',
      state: 'R',
      ppid: 3714,
      pgrp: 3714,
      session: 2919,
      utimeTicks: 7,
      stimeTicks: 3,
      threads: 1,
      startTicks: 32307,
      vsizeBytes: 3133440,
      rssPages: 359,
    });
  });

  it('splits after the LAST parenthesis: comm with spaces and parentheses', () => {
    for (const comm of ['py (x)) y', ') (', 'a b c', '((', 'x) S 1 2 3']) {
      const line = realStat.replace('(cat)', `(${comm})`);
      const s = parseStat(line);
      expect(s?.comm).toBe(comm);
      expect(s?.state).toBe('R');
      expect(s?.ppid).toBe(3714);
      expect(s?.startTicks).toBe(32307);
    }
  });

  it('returns null for empty, truncated and non-numeric input', () => {
    expect(parseStat('')).toBeNull();
    expect(parseStat('1014 (trunc) S 1 1 1 0\n')).toBeNull();
    expect(parseStat('abc (x) S ' + '1 '.repeat(50))).toBeNull();
    expect(parseStat(realStat.replace(' 32307 ', ' 3x307 '))).toBeNull();
    expect(parseStat('no parens at all')).toBeNull();
    expect(parseStat(realStat.replace(') R ', ') RR '))).toBeNull();
  });
});

describe('other parsers', () => {
  it('statm: pages to bytes', () => {
    expect(parseStatm('73242 5000 1200 1 0 4000 0\n')).toEqual({ vmsBytes: 73242 * 4096, rssBytes: 5000 * 4096, sharedBytes: 1200 * 4096 });
    expect(parseStatm('10 2 1 0 0 0 0', 16384)?.rssBytes).toBe(2 * 16384);
    expect(parseStatm('')).toBeNull();
    expect(parseStatm('1 x 2')).toBeNull();
  });

  it('status: VmRSS and friends; a zombie has no Vm lines', () => {
    const s = parseStatus('Name:\tpython3\nState:\tS (sleeping)\nVmHWM:\t   30000 kB\nVmRSS:\t   20000 kB\nVmSwap:\t      12 kB\nThreads:\t2\n');
    expect(s).toEqual({ name: 'python3', state: 'S', rssBytes: 20000 * 1024, peakRssBytes: 30000 * 1024, swapBytes: 12 * 1024, threads: 2, nsPids: null });
    const z = parseStatus('Name:\tpython3\nState:\tZ (zombie)\nThreads:\t1\n');
    expect(z.state).toBe('Z');
    expect(z.rssBytes).toBeNull();
    expect(parseStatus('').rssBytes).toBeNull();
  });

  it('status: NSpid lists the pid in each namespace, outermost first', () => {
    expect(parseStatus('Name:\tpython3\nNSpid:\t4242\n').nsPids).toEqual([4242]);
    expect(parseStatus('NSpid:\t4242\t17\n').nsPids).toEqual([4242, 17]);
    expect(parseStatus('NSpid:\t4242\tx\n').nsPids).toBeNull();
    expect(parseStatus('Name:\tpython3\n').nsPids).toBeNull(); // kernels before 4.1
  });

  it('cmdline: NUL-separated, trailing NUL, empty for zombies', () => {
    expect(parseCmdline('python3\0-u\0/a b/dspex_worker.py\0--dspex-run-id=1.ab\0')).toEqual(['python3', '-u', '/a b/dspex_worker.py', '--dspex-run-id=1.ab']);
    expect(parseCmdline('')).toEqual([]);
    expect(parseCmdline('setproctitle style')).toEqual(['setproctitle style']);
    expect(parseCmdline('a\0\0b\0')).toEqual(['a', '', 'b']);
  });

  it('children, /proc/stat, uptime', () => {
    expect(parseChildren('1005 1006 \n')).toEqual([1005, 1006]);
    expect(parseChildren('')).toEqual([]);
    expect(parseSystemStat('cpu  1000 0 500 8000 100 0 10 0 0 0\nbtime 1700000000\n')).toEqual({ totalTicks: 9610, idleTicks: 8100, bootTimeS: 1700000000 });
    expect(parseSystemStat('intr 1\n')).toBeNull();
    expect(parseUptimeS('1000.25 1900.00\n')).toBe(1000.25);
    expect(parseUptimeS('x')).toBeNull();
  });

  it('cpuPercent and page size inference', () => {
    expect(cpuPercent(100, 150, 1000)).toBe(50);
    expect(cpuPercent(100, 300, 1000)).toBe(200);
    expect(cpuPercent(100, 90, 1000)).toBeNull();
    expect(cpuPercent(100, 150, 0)).toBeNull();
    expect(inferPageSizeBytes(1000, 4096 * 1000 + 4096)).toBe(4096);
    expect(inferPageSizeBytes(1000, 65536 * 1000)).toBe(65536);
    expect(inferPageSizeBytes(0, 1)).toBeNull();
  });

  it('maps fs errors to data', () => {
    expect(toProcError(Object.assign(new Error('x'), { code: 'ENOENT' }), '/p').code).toBe('gone');
    expect(toProcError(Object.assign(new Error('x'), { code: 'ESRCH' }), '/p').code).toBe('gone');
    expect(toProcError(Object.assign(new Error('x'), { code: 'EACCES' }), '/p').code).toBe('permission');
    expect(toProcError(Object.assign(new Error('x'), { code: 'EPERM' }), '/p').code).toBe('permission');
    expect(toProcError(Object.assign(new Error('x'), { code: 'ENOTDIR' }), '/p')).toMatchObject({ code: 'io', errno: 'ENOTDIR', path: '/p' });
    expect(toProcError('weird', '/p')).toMatchObject({ code: 'io', errno: null });
  });
});

describe('identifyWorker', () => {
  const W = '/opt/app/python/dspex_worker.py';
  it('recognises the worker argv: a Python interpreter, its options, the script, then the run id', () => {
    expect(identifyWorker(['/usr/bin/python3', '-u', W, '--dspex-run-id=4242.a1b2c3', '--dspex-worker-id=7'])).toEqual({ runId: '4242.a1b2c3', ownerPid: 4242, workerId: 7, script: W });
    expect(identifyWorker(['python3', 'dspex_worker.py', '--dspex-run-id=1.f'])).toMatchObject({ ownerPid: 1, workerId: null });
    expect(identifyWorker(['/root/.pyenv/versions/3.11.7/bin/python3.11', '-u', '-X', 'dev', '-W', 'error', W, '--dspex-run-id=9.ab'])?.ownerPid).toBe(9);
    expect(identifyWorker(['/venv/bin/python', '-B', W, 'extra', '--dspex-run-id=9.ab'])?.ownerPid).toBe(9);
    expect(identifyWorker(['pypy3', W, '--dspex-run-id=9.ab'])?.ownerPid).toBe(9);
  });

  it('nothing else is mistaken for a worker', () => {
    expect(identifyWorker([])).toBeNull();
    expect(identifyWorker(['python3', W])).toBeNull(); // no run id
    expect(identifyWorker(['python3', '--dspex-run-id=1.ab', W])).toBeNull(); // run id before the script
    expect(identifyWorker(['python3', '/x/not_dspex_worker.py', '--dspex-run-id=1.ab'])).toBeNull();
    expect(identifyWorker(['python3', W, '--dspex-run-id=r'])).toBeNull(); // malformed run id
    expect(identifyWorker(['python3', W, '--dspex-run-id=0.ab'])).toBeNull();
    expect(identifyWorker(['python3', W, '--dspex-run-id=12.'])).toBeNull();
    expect(identifyWorker(['python3', W, '--dspex-run-id=12.a b'])).toBeNull();
    expect(identifyWorker(['bash', '-c', `python3 ${W} --dspex-run-id=1.ab`])).toBeNull(); // a shell line mentioning it
    expect(identifyWorker(['python3', '/tmp/dspex_drv/rawecho.py', '--dspex-run-id=r', '--dspex-worker-id=1'])).toBeNull();
    // launchers seen while a worker starts: a pyenv shim and its forked subshells
    expect(identifyWorker(['bash', '/root/.pyenv/shims/python3', W, '--dspex-run-id=1.ab'])).toBeNull();
    expect(identifyWorker(['bash', '/root/.pyenv/libexec/pyenv', 'exec', 'python3', W, '--dspex-run-id=1.ab'])).toBeNull();
    expect(identifyWorker(['uv', 'run', 'python', W, '--dspex-run-id=1.ab'])).toBeNull();
    // the worker script as an argument of another script, or no script at all
    expect(identifyWorker(['python3', '/x/other.py', W, '--dspex-run-id=1.ab'])).toBeNull();
    expect(identifyWorker(['python3', '-c', 'pass', W, '--dspex-run-id=1.ab'])).toBeNull();
    expect(identifyWorker(['python3', '-m', 'dspex_worker.py', '--dspex-run-id=1.ab'])).toBeNull();
    expect(identifyWorker(['vim', W, '--dspex-run-id=1.ab'])).toBeNull();
  });
});

describe('classifyOwnership', () => {
  const id = { runId: '200.ab', ownerPid: 200, workerId: 0, script: 'dspex_worker.py' };
  const ownerStat = (state: string, startTicks: number): ProcStat => ({ pid: 200, comm: 'node', state, ppid: 1, pgrp: 200, session: 200, utimeTicks: 0, stimeTicks: 0, threads: 1, startTicks, vsizeBytes: 0, rssPages: 0 });
  it('self, foreign, orphan', () => {
    expect(classifyOwnership({ ...id, ownerPid: 100 }, 5000, 100, { kind: 'absent' }, 'same')).toBe('self');
    expect(classifyOwnership(id, 5000, 100, { kind: 'absent' }, 'same')).toBe('orphan');
    expect(classifyOwnership(id, 5000, 100, { kind: 'present', stat: ownerStat('S', 4000) }, 'same')).toBe('foreign');
    expect(classifyOwnership(id, 5000, 100, { kind: 'present', stat: ownerStat('S', 5000) }, 'same')).toBe('foreign'); // same tick: in doubt
    expect(classifyOwnership(id, 5000, 100, { kind: 'present', stat: ownerStat('S', 6000) }, 'same')).toBe('orphan'); // pid reused
    expect(classifyOwnership(id, 5000, 100, { kind: 'present', stat: ownerStat('Z', 4000) }, 'same')).toBe('orphan');
    expect(classifyOwnership(id, 5000, 100, { kind: 'unreadable' }, 'same')).toBe('foreign');
  });

  it('a worker in another PID namespace, or one whose namespace is unproven, is foreign whatever its owner pid says', () => {
    for (const ns of ['other', 'unverifiable'] as const) {
      expect(classifyOwnership(id, 5000, 100, { kind: 'absent' }, ns)).toBe('foreign');
      expect(classifyOwnership(id, 5000, 100, { kind: 'present', stat: ownerStat('S', 6000) }, ns)).toBe('foreign');
      expect(classifyOwnership(id, 5000, 100, { kind: 'present', stat: ownerStat('Z', 4000) }, ns)).toBe('foreign');
      expect(classifyOwnership({ ...id, ownerPid: 100 }, 5000, 100, { kind: 'absent' }, ns)).toBe('foreign'); // its pid 100 is not ours
    }
  });
});

describe('comparePidNamespace', () => {
  const ok = <T,>(value: T): ProcResult<T> => ({ ok: true, value });
  const err = (errno: string): ProcResult<never> => ({ ok: false, error: { code: errno === 'ENOENT' ? 'gone' : 'permission', errno, path: '/proc/x', message: errno } });
  const status = (nspid: string | null): ProcResult<ProcStatus> => ok(parseStatus(nspid === null ? 'Name:\tpython3\n' : `Name:\tpython3\nNSpid:\t${nspid}\n`));
  const SELF = ok('pid:[4026531836]');
  it('same only when the links agree and NSpid (if present) is exactly the pid', () => {
    expect(comparePidNamespace(4242, SELF, ok('pid:[4026531836]'), status('4242'))).toBe('same');
    expect(comparePidNamespace(4242, SELF, ok('pid:[4026531836]'), status(null))).toBe('same'); // no NSpid line (old kernel)
  });
  it('other when the links differ', () => {
    expect(comparePidNamespace(4242, SELF, ok('pid:[4026531999]'), status('4242\t7'))).toBe('other');
    expect(comparePidNamespace(4242, SELF, ok('pid:[4026531999]'), err('ENOENT'))).toBe('other');
  });
  it('unverifiable when a link or the status cannot be read, a link is malformed, or NSpid disagrees', () => {
    expect(comparePidNamespace(4242, SELF, err('EACCES'), status('4242'))).toBe('unverifiable'); // another user's process
    expect(comparePidNamespace(4242, SELF, err('ENOENT'), status('4242'))).toBe('unverifiable');
    expect(comparePidNamespace(4242, err('ENOENT'), ok('pid:[4026531836]'), status('4242'))).toBe('unverifiable');
    expect(comparePidNamespace(4242, SELF, ok('garbage'), status('4242'))).toBe('unverifiable');
    expect(comparePidNamespace(4242, SELF, ok('pid:[4026531836]'), err('ENOENT'))).toBe('unverifiable');
    // Same namespace, but this procfs belongs to an ancestor namespace: its pid 4242 is not the pid kill() takes (7).
    expect(comparePidNamespace(4242, SELF, ok('pid:[4026531836]'), status('4242\t7'))).toBe('unverifiable');
    expect(comparePidNamespace(4242, SELF, ok('pid:[4026531836]'), status('4243'))).toBe('unverifiable');
  });
});

describe('ProcReader on the fixture tree', () => {
  const reader = new ProcReader(fixtureRoot);

  it('does not use the stat-size fd fast path outside a real procfs', () => {
    expect(reader.fdCountFromStat).toBe(false);
  });

  it('reads stat, cmdline, fds, children, status', () => {
    const s = reader.readStat(1002);
    expect(s.ok && s.value.comm).toBe('py (x)) y');
    expect(reader.countFds(1001)).toEqual({ ok: true, value: 7 });
    expect(reader.readChildren(1001)).toEqual({ ok: true, value: [1005] });
    const st = reader.readStatus(1001);
    expect(st.ok && st.value.rssBytes).toBe(20000 * 1024);
    const c = reader.readCmdline(1001);
    expect(c.ok && identifyWorker(c.value)?.runId).toBe('100.a1b2c3');
    const pids = reader.listPids();
    expect(pids.ok && pids.value).toContain(1014);
  });

  it('missing files, an empty read mid-exit and a malformed line come back as data', () => {
    expect(reader.readStat(424242)).toMatchObject({ ok: false, error: { code: 'gone', errno: 'ENOENT' } });
    expect(reader.readStat(1006)).toMatchObject({ ok: false, error: { code: 'gone', errno: null } }); // empty stat
    expect(reader.readStat(1014)).toMatchObject({ ok: false, error: { code: 'parse' } });
    expect(reader.countFds(1005)).toMatchObject({ ok: false, error: { code: 'gone' } }); // zombie: no fd dir
    expect(reader.countFds(1011)).toMatchObject({ ok: false, error: { code: 'io', errno: 'ENOTDIR' } });
    expect(reader.readChildren(1003)).toMatchObject({ ok: false, error: { code: 'gone' } });
    expect(reader.observeOwner(999)).toEqual({ kind: 'absent' });
    expect(reader.observeOwner(200).kind).toBe('present');
    expect(new ProcReader('/nonexistent-proc-root').listPids()).toMatchObject({ ok: false, error: { code: 'gone' } });
  });

  it('namespace links: read as data, a missing or non-link entry is an error result, never a throw', () => {
    expect(reader.readPidNamespace('self')).toEqual({ ok: true, value: FIXTURE_PID_NS });
    expect(reader.readPidNamespace(1003)).toEqual({ ok: true, value: FIXTURE_PID_NS });
    expect(reader.readPidNamespace(424242)).toMatchObject({ ok: false, error: { code: 'gone', errno: 'ENOENT' } });
    expect(reader.readLink('1003/stat')).toMatchObject({ ok: false, error: { code: 'io', errno: 'EINVAL' } }); // a regular file
    expect(reader.checkPidNamespace(1003, reader.readPidNamespace('self'))).toBe('same');
    expect(reader.checkPidNamespace(424242, reader.readPidNamespace('self'))).toBe('unverifiable');
  });

  it('real /proc: this process is in its own namespace by every check', () => {
    const real = new ProcReader('/proc');
    const self = real.readPidNamespace('self');
    expect(self.ok && self.value).toMatch(/^pid:\[[0-9]+\]$/);
    expect(real.checkPidNamespace(process.pid, self)).toBe('same');
  });
});

describe('ResourceMonitor on the fixture tree', () => {
  function fixtureMonitor(signalProcess?: (pid: number, sig: NodeJS.Signals) => void): { monitor: ResourceMonitor; pool: FakePool } {
    const pool = new FakePool('fx');
    pool.add(1001, 0, 2);
    const monitor = new ResourceMonitor({ procRoot: fixtureRoot, selfPid: 100, pools: [pool], now: () => 1_700_000_000_000 + 1_000_000, ...(signalProcess ? { signalProcess } : {}) });
    return { monitor, pool };
  }

  it('reports pool workers, own workers and orphans; skips foreign workers, decoys and vanished entries', () => {
    const { monitor } = fixtureMonitor();
    const sample = monitor.sampleNow();
    const byPid = new Map(sample.python.map((p) => [p.pid, p]));
    expect([...byPid.keys()].sort()).toEqual([1001, 1002, 1003, 1009, 1010, 1011]);
    expect(sample.foreignWorkers).toBe(1); // 1004
    const w = byPid.get(1001)!;
    expect(w).toMatchObject({
      pool: 'fx',
      workerId: 0,
      restarts: 2,
      runId: '100.a1b2c3',
      orphan: false,
      state: 'S',
      cpuPercent: null,
      rssBytes: 5000 * 4096,
      vmsBytes: 300_000_000,
      threads: 2,
      openFds: 7,
      cpuSeconds: 3,
      ppid: 100,
      childPids: [1005],
      zombieChildPids: [1005],
      rssSlopeBytesPerS: null,
    });
    // started 6000 ticks (60 s) after boot; boot = now - 1000 s of uptime
    expect(w.startedAtMs).toBe(1_700_000_000_000 + 1_000_000 - 1_000_000 + 60_000);
    expect(w.ageMs).toBe(940_000);
    expect(byPid.get(1002)).toMatchObject({ pool: null, workerId: 1, orphan: false, state: 'R' });
    for (const pid of [1003, 1009, 1010]) expect(byPid.get(pid)).toMatchObject({ orphan: true, pool: null });
    expect(byPid.get(1011)?.openFds).toBeNull();
    expect(sample.warnings.some((x) => x.includes('1011'))).toBe(true);
    expect(sample.vanished).toEqual([]);
    expect(sample.system.cpuUtilization).toBeNull(); // first sample
    monitor.stop();
  });

  it('getPythonProcesses lists the same set with ownership', () => {
    const { monitor } = fixtureMonitor();
    const list = monitor.getPythonProcesses();
    expect(list.filter((p) => p.orphan).map((p) => p.pid).sort()).toEqual([1003, 1009, 1010]);
    expect(list.find((p) => p.pid === 1001)).toMatchObject({ pool: 'fx', workerId: 0, ownerPid: 100, ppid: 100, state: 'S' });
  });

  it('collectProcessStats returns stats, or an error result for a missing pid', () => {
    const { monitor } = fixtureMonitor();
    const r = monitor.collectProcessStats(1001);
    expect(r.ok && r.value).toMatchObject({ pid: 1001, peakRssBytes: 30000 * 1024, swapBytes: 12 * 1024, openFds: 7, zombieChildPids: [1005] });
    const z = monitor.collectProcessStats(1005);
    expect(z.ok && z.value.state).toBe('Z');
    expect(monitor.collectProcessStats(987654)).toMatchObject({ ok: false, error: { code: 'gone' } });
  });

  it('cleanupOrphans never signals anything without a real /proc, and only orphans with an injected signaller', async () => {
    const { monitor } = fixtureMonitor();
    const dry = await monitor.cleanupOrphans({ graceMs: 0 });
    expect(dry.orphans.map((o) => [o.pid, o.action])).toEqual(expect.arrayContaining([[1003, 'skipped'], [1009, 'skipped'], [1010, 'skipped']]));
    expect(dry.orphans).toHaveLength(3);

    const sent: [number, string][] = [];
    const { monitor: m2 } = fixtureMonitor((pid, sig) => sent.push([pid, sig]));
    const res = await m2.cleanupOrphans({ graceMs: 30, killTimeoutMs: 30, only: (o) => o.pid !== 1010 });
    // Fixture processes never die: SIGTERM, then SIGKILL after the grace, then "survived".
    expect(sent.sort()).toEqual([[1003, 'SIGKILL'], [1003, 'SIGTERM'], [1009, 'SIGKILL'], [1009, 'SIGTERM']]);
    expect(res.orphans.map((o) => o.action)).toEqual(['survived', 'survived']);
  });
});

describe('ResourceMonitor on the fixture tree: PID namespaces', () => {
  // Workers whose run id names an owner that is absent here (7, 999): by the run id alone, orphans.
  const stat = (pid: number): string => `${pid} (python3) S 1 1 1 0 -1 4194304 100 0 0 0 1 1 0 0 20 0 1 0 7000 100000000 1000 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n`;
  const argv = (runId: string): string[] => ['python3', '/opt/app/python/dspex_worker.py', `--dspex-run-id=${runId}`, '--dspex-worker-id=0'];
  const nsTree = fixtureProcTree();
  // A container's live worker seen from the host: another namespace; its owner is pid 7 of the container.
  nsTree.addProcess(1020, { stat: stat(1020), cmdline: argv('7.c0ffee'), status: 'Name:\tpython3\nNSpid:\t1020\t12\n', pidNs: 'pid:[4026531999]' });
  // No ns/pid link to read (e.g. another user's process without ptrace access): cannot prove it is ours.
  nsTree.addProcess(1021, { stat: stat(1021), cmdline: argv('999.abc1'), pidNs: null });
  // Same link but NSpid two levels deep: this procfs is an ancestor namespace's (the host's /proc mounted into a container).
  nsTree.addProcess(1022, { stat: stat(1022), cmdline: argv('999.abc2'), status: 'Name:\tpython3\nNSpid:\t1022\t3\n' });
  afterAll(() => nsTree.remove());
  const monitorOn = (root: string, signalProcess?: (pid: number, sig: NodeJS.Signals) => void): ResourceMonitor =>
    new ResourceMonitor({ procRoot: root, selfPid: 100, now: () => 1_700_000_000_000, ...(signalProcess ? { signalProcess } : {}) });

  it('a worker in another PID namespace, or in one that cannot be verified, is foreign and never signalled by cleanupOrphans', async () => {
    const m = monitorOn(nsTree.root);
    const sample = m.sampleNow();
    const pids = sample.python.map((p) => p.pid);
    for (const pid of [1020, 1021, 1022]) expect(pids).not.toContain(pid);
    expect(sample.foreignWorkers).toBe(4); // 1004 (live owner) + 1020, 1021, 1022
    const listed = m.getPythonProcesses().map((p) => p.pid);
    for (const pid of [1020, 1021, 1022]) expect(listed).not.toContain(pid);
    // Cached verdicts hold on later ticks.
    expect(m.sampleNow().foreignWorkers).toBe(4);

    const sent: [number, string][] = [];
    const res = await monitorOn(nsTree.root, (pid, sig) => sent.push([pid, sig])).cleanupOrphans({ graceMs: 10, killTimeoutMs: 10 });
    expect(res.orphans.map((o) => o.pid).sort()).toEqual([1003, 1009, 1010]); // the same-namespace orphans still are
    for (const [pid] of sent) expect([1003, 1009, 1010]).toContain(pid);
    expect(sent).toHaveLength(6);
  });

  it('the namespace is checked again right before every signal (no SIGKILL once it no longer proves to be ours)', async () => {
    const t = fixtureProcTree();
    try {
      const sent: [number, string][] = [];
      const m = monitorOn(t.root, (pid, sig) => {
        sent.push([pid, sig]);
        // After the SIGTERM, 1009's NSpid no longer matches: the SIGKILL re-check must refuse it.
        if (pid === 1009) writeFileSync(`${t.root}/1009/status`, 'NSpid:\t1009\t5\n');
      });
      const res = await m.cleanupOrphans({ graceMs: 10, killTimeoutMs: 10, only: (o) => o.pid === 1009 });
      expect(sent).toEqual([[1009, 'SIGTERM']]);
      expect(res.orphans).toEqual([expect.objectContaining({ pid: 1009, signals: ['SIGTERM'] })]);
    } finally {
      t.remove();
    }
  });

  it('when this process\'s own namespace cannot be read, no worker outside the pools is an orphan', async () => {
    const t = fixtureProcTree();
    try {
      rmSync(`${t.root}/self`);
      const sent: number[] = [];
      const m = monitorOn(t.root, (pid) => sent.push(pid));
      const sample = m.sampleNow();
      expect(sample.python.filter((p) => p.orphan)).toEqual([]);
      expect(sample.warnings.some((w) => w.includes('PID namespace'))).toBe(true);
      expect((await m.cleanupOrphans({ graceMs: 0 })).orphans).toEqual([]);
      expect(sent).toEqual([]);
    } finally {
      t.remove();
    }
  });
});
