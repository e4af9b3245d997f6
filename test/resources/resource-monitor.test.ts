/**
 * The ResourceMonitor against real Python processes (fixtures/probe_worker.py, copied as
 * dspex_worker.py and started with a worker argv) and the real /proc.
 */
import { spawn } from 'node:child_process';
import diagnostics_channel from 'node:diagnostics_channel';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ResourceMonitor, identifyWorker, type PythonProcessResources, type ResourceSample } from '../../src/resources/index.js';
import { channels, type WorkerTerminateEvent } from '../../src/telemetry/telemetry.js';
import { FakePool, Probe, WAIT, cmdlineOf, isAlive, killStarted, startedPids, workerDir } from './helpers.js';

const MIB = 1024 * 1024;
let dir: ReturnType<typeof workerDir>;
const monitors: ResourceMonitor[] = [];

function newMonitor(pool?: FakePool, opts: ConstructorParameters<typeof ResourceMonitor>[0] = {}): ResourceMonitor {
  const m = new ResourceMonitor({ intervalMs: 60_000, pools: pool ? [pool] : [], ...opts });
  monitors.push(m);
  return m;
}

function entry(sample: ResourceSample, pid: number): PythonProcessResources {
  const e = sample.python.find((p) => p.pid === pid);
  if (!e) throw new Error(`pid ${pid} not in sample (${sample.python.map((p) => p.pid).join(',')})`);
  return e;
}

/** End a probe the polite way (stdin EOF) and wait for its exit. */
async function endProbe(p: Probe): Promise<void> {
  p.child.stdin!.end();
  await p.exited;
}

beforeAll(() => {
  dir = workerDir('probe_worker.py');
});

afterAll(() => {
  dir.remove();
});

afterEach(async () => {
  for (const m of monitors.splice(0)) m.stop();
  const leftover = await killStarted();
  expect(leftover, 'processes left running by the test').toEqual([]);
});

describe('lifecycle', () => {
  it('start() samples at once and publishes; stop() releases the timer, heartbeat and subscription', () => {
    const timeoutsBefore = process.getActiveResourcesInfo().filter((t) => t === 'Timeout').length;
    const got: ResourceSample[] = [];
    const onSample = (msg: unknown): void => {
      got.push((msg as { sample: ResourceSample }).sample);
    };
    diagnostics_channel.subscribe('dspex:resource:sample', onSample);
    try {
      const m = newMonitor(undefined, { unref: false }); // ref'd timers show in getActiveResourcesInfo()
      expect(channels['dspex:worker:terminate'].hasSubscribers).toBe(false);
      m.start();
      expect(m.running).toBe(true);
      expect(got).toHaveLength(1);
      expect(m.getResources()).toBe(got[0]);
      const s = got[0]!;
      expect(s.node.pid).toBe(process.pid);
      expect(s.node.rssBytes).toBeGreaterThan(10 * MIB);
      expect(s.node.heapLimitBytes).toBeGreaterThan(s.node.heapTotalBytes);
      expect(s.system.cpuCount).toBeGreaterThan(0);
      expect(s.system.totalMemBytes).toBeGreaterThan(s.system.freeMemBytes);
      expect(s.sampleDurationMs).toBeGreaterThan(0);
      expect(channels['dspex:worker:terminate'].hasSubscribers).toBe(true);
      expect(process.getActiveResourcesInfo().filter((t) => t === 'Timeout').length).toBe(timeoutsBefore + 2);
      m.stop();
      expect(m.running).toBe(false);
      expect(channels['dspex:worker:terminate'].hasSubscribers).toBe(false);
      expect(process.getActiveResourcesInfo().filter((t) => t === 'Timeout').length).toBe(timeoutsBefore);
      expect(m.getResources()).toBe(got[0]); // the latest stays readable
    } finally {
      diagnostics_channel.unsubscribe('dspex:resource:sample', onSample);
    }
  });

  it('getResources() before start() takes one sample; the telemetry group can be switched off', () => {
    const got: unknown[] = [];
    const onSample = (msg: unknown): void => void got.push(msg);
    diagnostics_channel.subscribe('dspex:resource:sample', onSample);
    try {
      const m = newMonitor(undefined, { telemetry: { disabled: ['resource'] } });
      const s = m.getResources();
      expect(s.timestampMs).toBeGreaterThan(0);
      expect(m.getResources()).toBe(s);
      expect(got).toHaveLength(0);
    } finally {
      diagnostics_channel.unsubscribe('dspex:resource:sample', onSample);
    }
  });

  it('a pool whose status() throws becomes a warning', () => {
    const m = newMonitor(undefined, { pools: [{ name: 'bad', status: () => { throw new Error('boom'); } }] });
    expect(m.sampleNow().warnings).toContain('pool "bad": status() threw: boom');
  });
});

describe('Python processes', () => {
  it('CPU% rises under a CPU-bound loop and falls back', async () => {
    const pool = new FakePool('cpu');
    const p = await Probe.start(dir.script, 0);
    pool.add(p.pid, 0, 1);
    const m = newMonitor(pool);
    expect(entry(m.sampleNow(), p.pid).cpuPercent).toBeNull(); // first sample
    await vi.waitFor(() => expect(entry(m.sampleNow(), p.pid).cpuPercent).toBeLessThan(20), { timeout: 10_000, interval: 300 });
    await p.send('burn');
    await vi.waitFor(() => expect(entry(m.sampleNow(), p.pid).cpuPercent).toBeGreaterThan(50), { timeout: 10_000, interval: 300 });
    const burning = entry(m.getResources(), p.pid);
    expect(burning).toMatchObject({ pool: 'cpu', workerId: 0, restarts: 1, runId: p.runId, orphan: false, ppid: process.pid });
    expect(burning.cpuSeconds).toBeGreaterThan(0);
    await p.send('idle');
    await vi.waitFor(() => expect(entry(m.sampleNow(), p.pid).cpuPercent).toBeLessThan(20), { timeout: 10_000, interval: 300 });
    await endProbe(p);
  });

  it('RSS rises by ~50 MB after allocating 50 MB and falls after freeing; the slope shows the growth', async () => {
    const pool = new FakePool('mem');
    const p = await Probe.start(dir.script, 0);
    pool.add(p.pid, 0);
    const m = newMonitor(pool, { trendWindowMs: 60_000 });
    const base = entry(m.sampleNow(), p.pid).rssBytes;
    entry(m.sampleNow(), p.pid);
    await p.send('alloc 50');
    await vi.waitFor(() => expect(entry(m.sampleNow(), p.pid).rssBytes - base).toBeGreaterThan(45 * MIB), WAIT);
    const grown = entry(m.getResources(), p.pid);
    expect(grown.rssBytes - base).toBeLessThan(60 * MIB);
    expect(grown.rssSlopeBytesPerS).toBeGreaterThan(0);
    await p.send('free');
    await vi.waitFor(() => expect(entry(m.sampleNow(), p.pid).rssBytes - base).toBeLessThan(10 * MIB), WAIT);
    await endProbe(p);
  });

  it('counts open file descriptors exactly', async () => {
    const p = await Probe.start(dir.script, 0);
    const pool = new FakePool('fds');
    pool.add(p.pid, 0);
    const m = newMonitor(pool);
    const base = entry(m.sampleNow(), p.pid).openFds;
    expect(base).toBeGreaterThanOrEqual(3);
    await p.send('open 10');
    expect(entry(m.sampleNow(), p.pid).openFds).toBe((base ?? 0) + 10);
    const direct = m.collectProcessStats(p.pid);
    expect(direct.ok && direct.value.openFds).toBe((base ?? 0) + 10);
    await p.send('close');
    expect(entry(m.sampleNow(), p.pid).openFds).toBe(base);
    await endProbe(p);
  });

  it('detects a zombie child (forked and never reaped) with state Z', async () => {
    const p = await Probe.start(dir.script, 0);
    const pool = new FakePool('zombie');
    pool.add(p.pid, 0);
    const m = newMonitor(pool);
    const reply = await p.send('zombie');
    const childPid = Number(reply.split(' ')[1]);
    await vi.waitFor(() => expect(entry(m.sampleNow(), p.pid).zombieChildPids).toEqual([childPid]), WAIT);
    // Sample again: within the sample that first saw the zombie, the child may still have been alive when listed.
    expect(entry(m.sampleNow(), p.pid).zombieChildPids).toEqual([childPid]);
    expect(entry(m.getResources(), p.pid).childPids).toContain(childPid);
    const z = m.collectProcessStats(childPid);
    expect(z.ok && z.value.state).toBe('Z');
    // The zombie is not a worker: it has no argv and is never listed as one.
    expect(m.getResources().python.some((e) => e.pid === childPid)).toBe(false);
    await endProbe(p);
  });

  it('finds this process\'s workers outside any pool by their argv, and never its decoys', async () => {
    const p = await Probe.start(dir.script, 3);
    // Decoys: the worker script without a run id, and a run id without the worker script.
    const decoys = [
      spawn('python3', [dir.script, '--dspex-worker-id=1'], { stdio: ['pipe', 'ignore', 'inherit'] }),
      spawn('python3', ['-c', 'import sys; sys.stdin.read()', `--dspex-run-id=${process.pid}.abcdef`], { stdio: ['pipe', 'ignore', 'inherit'] }),
    ];
    for (const d of decoys) startedPids.add(d.pid!);
    await vi.waitFor(() => {
      for (const d of decoys) expect(cmdlineOf(d.pid!)[0]).toMatch(/(^|\/)python[0-9.]*$/); // exec'd into Python (past any shim; argv[0] may be a bare name)
    }, WAIT);
    const m = newMonitor();
    const s = m.sampleNow();
    const e = entry(s, p.pid);
    expect(e).toMatchObject({ pool: null, workerId: 3, orphan: false, runId: p.runId, restarts: 0 });
    expect(m.getPythonProcesses().find((x) => x.pid === p.pid)).toMatchObject({ ownerPid: process.pid, orphan: false });
    for (const d of decoys) {
      expect(s.python.some((x) => x.pid === d.pid)).toBe(false);
      expect(m.getPythonProcesses().some((x) => x.pid === d.pid)).toBe(false);
    }
    await endProbe(p);
    await Promise.all(decoys.map((d) => new Promise((resolve) => {
      d.once('exit', resolve);
      d.stdin.end();
    })));
  });
});

describe('the process scan', () => {
  it('a pid seen as a non-worker that later execs into a worker is found within scanRecheckTicks ticks', async () => {
    const runId = `${process.pid}.5ca9`;
    // bash waits for a line on stdin, then execs the worker (same pid).
    const child = spawn('bash', ['-c', `read line; exec python3 -u "${dir.script}" --dspex-run-id=${runId} --dspex-worker-id=9`], { stdio: ['pipe', 'pipe', 'inherit'] });
    const pid = child.pid!;
    startedPids.add(pid);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const m = newMonitor(undefined, { scanRecheckTicks: 3 });
    expect(m.sampleNow().python.some((p) => p.pid === pid)).toBe(false); // bash: cached as "not a worker"
    child.stdin.write('go\n');
    await vi.waitFor(() => expect(identifyWorker(cmdlineOf(pid))?.runId).toBe(runId), WAIT);
    let ticks = 0;
    while (!m.sampleNow().python.some((p) => p.pid === pid)) {
      ticks++;
      expect(ticks).toBeLessThan(3);
    }
    expect(m.getPythonProcesses().some((p) => p.pid === pid)).toBe(true); // explicit calls read every argv
    child.stdin.end();
    await exited;
  });
});

describe('vanished processes', () => {
  function terminate(pool: string, pid: number, reason: WorkerTerminateEvent['reason'], exitCode: number | null, signal: string | null): void {
    const ev: WorkerTerminateEvent = { pool, workerId: 0, pid, generation: 0, timestampMs: Date.now(), reason, exitCode, signal, uptimeMs: 1, operations: 0 };
    channels['dspex:worker:terminate'].publish(ev);
  }

  it('a killed pool worker the pool did not report: crashed after one tick of grace', async () => {
    const pool = new FakePool('vanish');
    const p = await Probe.start(dir.script, 0);
    pool.add(p.pid, 0);
    const m = newMonitor(pool);
    m.start();
    entry(m.sampleNow(), p.pid);
    p.child.kill('SIGKILL');
    await p.exited;
    const s1 = m.sampleNow();
    expect(s1.python.some((e) => e.pid === p.pid)).toBe(false);
    expect(s1.vanished).toEqual([]); // waiting one tick for the pool's terminate event
    const s2 = m.sampleNow();
    expect(s2.vanished).toEqual([expect.objectContaining({ pid: p.pid, pool: 'vanish', workerId: 0, crashed: true, exitCode: null, signal: null, reason: null, runId: p.runId })]);
    expect(m.sampleNow().vanished).toEqual([]); // reported once
  });

  it('with the pool\'s terminate event: crash with exit code, or a stop that is no crash', async () => {
    const pool = new FakePool('vanish2');
    const a = await Probe.start(dir.script, 0);
    const b = await Probe.start(dir.script, 1);
    pool.add(a.pid, 0);
    pool.add(b.pid, 1);
    const m = newMonitor(pool);
    m.start();
    const s0 = m.sampleNow();
    entry(s0, a.pid);
    entry(s0, b.pid);
    a.fire('exit 3');
    const aExit = await a.exited;
    expect(aExit.code).toBe(3);
    terminate('vanish2', a.pid, 'crash', 3, null);
    b.child.kill('SIGTERM');
    await b.exited;
    terminate('vanish2', b.pid, 'stop', null, 'SIGTERM');
    const s1 = m.sampleNow();
    const byPid = new Map(s1.vanished.map((v) => [v.pid, v]));
    expect(byPid.get(a.pid)).toMatchObject({ crashed: true, exitCode: 3, signal: null, reason: 'crash' });
    expect(byPid.get(b.pid)).toMatchObject({ crashed: false, exitCode: null, signal: 'SIGTERM', reason: 'stop' });
  });

  it('a killed worker outside any pool is reported at once', async () => {
    const p = await Probe.start(dir.script, 5);
    const m = newMonitor();
    entry(m.sampleNow(), p.pid);
    p.child.kill('SIGKILL');
    await p.exited;
    expect(m.sampleNow().vanished).toEqual([expect.objectContaining({ pid: p.pid, pool: null, workerId: 5, crashed: true })]);
  });
});

describe('the Node process', () => {
  it('a 300 ms busy loop shows in eventLoopDelayUs.max', async () => {
    const samples: ResourceSample[] = [];
    const onSample = (msg: unknown): void => void samples.push((msg as { sample: ResourceSample }).sample);
    diagnostics_channel.subscribe('dspex:resource:sample', onSample);
    try {
      const m = newMonitor(undefined, { intervalMs: 100, scanProcesses: false });
      m.start();
      await vi.waitFor(() => expect(samples.length).toBeGreaterThanOrEqual(2), { timeout: 5000, interval: 20 });
      const t = performance.now();
      while (performance.now() - t < 300) {
        // block the event loop
      }
      const from = samples.length;
      await vi.waitFor(() => expect(samples.length - from).toBeGreaterThanOrEqual(2), { timeout: 5000, interval: 20 });
      const max = Math.max(...samples.slice(from).map((s) => s.node.eventLoopDelayUs.max));
      expect(max).toBeGreaterThanOrEqual(250_000);
      expect(max).toBeLessThan(2_000_000);
      // and, right after the stall, the event loop was fully used
      expect(Math.max(...samples.slice(from).map((s) => s.node.eventLoopUtilization))).toBeGreaterThan(0.5);
    } finally {
      diagnostics_channel.unsubscribe('dspex:resource:sample', onSample);
    }
  });

  it('a stall right after a manual sample is not lost (the reset keeps the heartbeat time)', () => {
    const m = newMonitor(undefined, { scanProcesses: false });
    m.start();
    m.sampleNow();
    const t = performance.now();
    while (performance.now() - t < 300) {
      // block the event loop
    }
    expect(m.sampleNow().node.eventLoopDelayUs.max).toBeGreaterThanOrEqual(250_000);
  });

  it('counts CPU, the heap the garbage occupies, and GC pauses', async () => {
    const m = newMonitor(undefined, { scanProcesses: false });
    m.start();
    const before = m.sampleNow();
    // 200 ms of allocation; the arrays stay referenced until the sample right after, then become garbage.
    const churn = (): { arrays: number; during: ResourceSample } => {
      const junk: unknown[][] = [];
      const t = performance.now();
      while (performance.now() - t < 200) junk.push(new Array(1000).fill({ a: 1 }));
      return { arrays: junk.length, during: m.sampleNow() };
    };
    const { arrays, during } = churn();
    // A busy loop is ~100% of a core; an idle process reads a few %. > 20: a loaded 2-core CI machine gave it 48%.
    expect(during.node.cpuPercent).toBeGreaterThan(20);
    // The live arrays (1000 slots of at least 4 bytes each) show in the sampled heap.
    expect(arrays).toBeGreaterThan(100);
    expect(during.node.heapUsedBytes - before.node.heapUsedBytes).toBeGreaterThan(arrays * 4000);
    await vi.waitFor(() => {
      const s = m.sampleNow();
      expect(s.node.gcCount).toBeGreaterThan(0);
      expect(s.node.gcPauseMs).toBeGreaterThan(0); // the pauses themselves, not only their number
    }, { timeout: 5000, interval: 50 });
  });
});

it('leaves no started process behind (every pid above is gone)', () => {
  for (const pid of startedPids) expect(isAlive(pid)).toBe(false);
});
