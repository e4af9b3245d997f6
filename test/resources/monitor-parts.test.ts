/**
 * The ResourceMonitor's parts on their own, without processes: vanished-process tracking, system
 * sampling, and the discovery helpers (the monitor itself is tested in the other files).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcReader, parseStat, type ProcStat } from '../../src/resources/proc.js';
import { collectPoolEntries, toProcessInfo, type FoundProcess } from '../../src/resources/process-discovery.js';
import { ProcessTracker, readChildren } from '../../src/resources/process-tracker.js';
import { SystemSampler } from '../../src/resources/system-sampler.js';
import type { WorkerTerminateEvent } from '../../src/telemetry/telemetry.js';
import { FakePool, fixtureProcTree } from './helpers.js';

const tree = fixtureProcTree();
afterAll(() => tree.remove());
const reader = new ProcReader(tree.root);

function stat(pid: number, startTicks = 5000, cpuTicks = 0): ProcStat {
  const s = parseStat(`${pid} (python3) S 100 1 1 0 -1 0 0 0 0 0 ${cpuTicks} 0 0 0 20 0 1 0 ${startTicks} 1000 10 0\n`);
  if (!s) throw new Error('bad stat line');
  return s;
}

function found(pid: number, opts: { pool?: string | null; poolState?: string | null; startTicks?: number; cpuTicks?: number; runId?: string } = {}): FoundProcess {
  const runId = opts.runId ?? '100.abc';
  return {
    stat: stat(pid, opts.startTicks, opts.cpuTicks),
    identity: { runId, ownerPid: Number(runId.split('.')[0]), workerId: 0, script: '' },
    pool: opts.pool === undefined ? 'p' : opts.pool,
    workerId: 0,
    generation: 0,
    poolState: opts.poolState === undefined ? 'idle' : opts.poolState,
    orphan: false,
  };
}

function terminate(pid: number, reason: WorkerTerminateEvent['reason'], exitCode: number | null = 0): WorkerTerminateEvent {
  return { pool: 'p', timestampMs: 0, workerId: 0, pid, generation: 0, reason, exitCode, signal: null, uptimeMs: 1, operations: 0 };
}

function tracker(): ProcessTracker {
  let now = 1_000;
  return new ProcessTracker(reader, { trendCapacity: 16, trendWindowMs: 60_000, terminationMaxAgeMs: 60_000, clockTicksPerS: 100, now: () => (now += 1) });
}

const none: ReadonlySet<number> = new Set();

describe('ProcessTracker', () => {
  it('a pool worker that disappears without a terminate event waits one tick, then is a crash (unless it was stopping)', () => {
    const t = tracker();
    t.observe(found(1), 0, 0, 10);
    t.observe(found(2, { poolState: 'stopping' }), 0, 0, 10);
    expect(t.collectVanished(none, 1)).toEqual([]);
    const v = t.collectVanished(none, 2);
    expect(v.map((x) => [x.pid, x.crashed, x.reason])).toEqual([[1, true, null], [2, false, null]]);
    expect(v[0]).toMatchObject({ pool: 'p', runId: '100.abc', lastSeenAtMs: 10, exitCode: null, signal: null });
    expect(t.processes.size).toBe(0);
  });

  it('a terminate event reports it at once, with its reason and exit code', () => {
    const t = tracker();
    t.observe(found(1), 0, 0, 10);
    t.observe(found(2), 0, 0, 10);
    t.noteTerminated(terminate(1, 'crash', 1));
    t.noteTerminated(terminate(2, 'stop'));
    expect(t.collectVanished(none, 1).map((x) => [x.pid, x.crashed, x.reason, x.exitCode])).toEqual([[1, true, 'crash', 1], [2, false, 'stop', 0]]);
  });

  it('one that orphan cleanup signalled is no crash, but only with the same start time; one no pool lists is reported at once', () => {
    const t = tracker();
    t.observe(found(1, { pool: null, poolState: null }), 0, 0, 10);
    t.observe(found(2, { pool: null, poolState: null }), 0, 0, 10);
    t.noteSignalled(1, 5000);
    t.noteSignalled(2, 4999); // another process that once had the pid
    expect(t.collectVanished(none, 1).map((x) => [x.pid, x.crashed, x.reason])).toEqual([[1, false, 'orphan_cleanup'], [2, true, null]]);
  });

  it('a process seen again is not reported; CPU is measured between samples of the same process only', () => {
    const t = tracker();
    expect(t.observe(found(1, { cpuTicks: 100 }), 0, 0, 10).cpuPercent).toBeNull();
    expect(t.cpuPercentSince(1, 5000, 150, 1000)).toBe(50);
    expect(t.cpuPercentSince(1, 5001, 150, 1000)).toBeNull(); // pid reused
    expect(t.cpuPercentSince(7, 5000, 150, 1000)).toBeNull(); // never seen
    expect(t.observe(found(1, { cpuTicks: 200 }), 0, 1000, 20).cpuPercent).toBe(100);
    expect(t.collectVanished(new Set([1]), 1)).toEqual([]);
    // The pid is reused by another process: followed from scratch.
    const again = t.observe(found(1, { startTicks: 9000, cpuTicks: 5, runId: '100.def' }), 0, 2000, 30);
    expect(again).toMatchObject({ cpuPercent: null, runId: '100.def' });
  });

  it('prune forgets old terminate events of processes it does not follow', () => {
    const t = tracker();
    t.noteTerminated(terminate(1, 'crash'));
    t.prune(1_000_000);
    t.observe(found(1), 0, 0, 10);
    expect(t.collectVanished(none, 1)).toEqual([]); // no event left: waits a tick like any pool worker
  });

  it('readChildren lists the zombies among the children', () => {
    expect(readChildren(reader, 1001)).toEqual({ childPids: [1005], zombieChildPids: [1005] });
    expect(readChildren(reader, 424242)).toEqual({ childPids: [], zombieChildPids: [] });
  });
});

describe('SystemSampler', () => {
  it('utilization between two /proc/stat readings; boot time from uptime, else btime', () => {
    const t = fixtureProcTree();
    try {
      const s = new SystemSampler(new ProcReader(t.root));
      const warnings: string[] = [];
      expect(s.sample(warnings).cpuUtilization).toBeNull();
      // +1000 ticks in total, 250 of them idle
      writeFileSync(`${t.root}/stat`, 'cpu  1500 0 750 8250 100 0 10 0 0 0\nbtime 1700000000\n');
      expect(s.sample(warnings).cpuUtilization).toBeCloseTo(0.75, 10);
      expect(s.bootTimeMs(2_000_000)).toBe(1_000_000);
      rmSync(`${t.root}/uptime`);
      expect(s.bootTimeMs(2_000_000)).toBe(1_700_000_000_000);
      rmSync(`${t.root}/stat`);
      expect(s.sample(warnings).cpuUtilization).toBeNull();
      expect(warnings).toHaveLength(1);
    } finally {
      t.remove();
    }
  });
});

describe('discovery helpers', () => {
  it('collectPoolEntries skips unspawned slots and a pool whose status() throws', () => {
    const a = new FakePool('a');
    a.add(11, 0);
    a.add(0, 1);
    const broken = { name: 'b', status: () => { throw new Error('boom'); } };
    const warnings: string[] = [];
    const entries = collectPoolEntries([a, broken], warnings);
    expect([...entries.keys()]).toEqual([11]);
    expect(entries.get(11)).toMatchObject({ pool: 'a', worker: { id: 0 } });
    expect(warnings).toEqual(['pool "b": status() threw: boom']);
  });

  it('toProcessInfo', () => {
    expect(toProcessInfo({ ...found(5), identity: null, pool: null })).toEqual({ pid: 5, pool: null, workerId: 0, runId: '', ownerPid: null, orphan: false, ppid: 100, state: 'S', startTicks: 5000 });
  });
});
