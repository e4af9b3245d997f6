/**
 * The parts of `bench scaling` and `bench compare` that can be checked without timing anything:
 * the bare-pipes baseline answers like the pool, the generated module of distinct command names
 * really registers them in a worker, the plots are drawn from the points given (log axes, both
 * series), and a real `bench compare --quick` gets the text back from every tool it compares,
 * with finite ratios and no Python process left behind.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BareWorker } from '../../src/bench/bare-pipes.js';
import { drive } from '../../src/bench/closed-loop.js';
import { commandsModule, scalingCharts, type CostPoint, type VersusPoint } from '../../src/bench/scaling-bench.js';
import { SessionPool } from '../../src/pool/session-pool.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

afterAll(async () => {
  await expectNoLeakedWorkers();
});

describe('bare pipes', () => {
  it('echoes what it is sent, one call at a time, and drive counts every call with its latency', async () => {
    const w = new BareWorker(0);
    await w.ready;
    try {
      expect(await w.echo({ text: 'héllo', n: [1, 2] })).toEqual({ text: 'héllo', n: [1, 2] });
      // Concurrent callers are queued in order: each gets its own reply.
      const got = await Promise.all([0, 1, 2, 3].map((i) => w.echo({ i })));
      expect(got).toEqual([0, 1, 2, 3].map((i) => ({ i })));
      let calls = 0;
      const res = await drive(3, 150, async () => {
        calls++;
        return w.echo('x');
      });
      expect(res.ops).toBe(calls);
      expect(res.latUs.length).toBe(calls);
      for (let i = 1; i < res.latUs.length; i++) expect(res.latUs[i]!).toBeGreaterThanOrEqual(res.latUs[i - 1]!);
      expect(res.latUs[0]!).toBeGreaterThan(0);
    } finally {
      await w.stop();
    }
  });
});

describe('bench scaling: distinct command names', () => {
  it('the generated module gives a worker that many commands, each echoing its argument', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-scaling-cmds-'));
    writeFileSync(join(dir, 'cmds500.py'), commandsModule(500));
    const pool = new SessionPool({ name: 'scaling-cmds', size: 1, pythonModules: ['cmds500'], pythonPath: [dir], healthCheckIntervalMs: 0, logger: silentLogger });
    try {
      await pool.start();
      expect(await pool.executeAnonymous('cmds500.c0', { text: 'a' })).toBe('a');
      expect(await pool.executeAnonymous('cmds500.c499', { text: 'b' })).toBe('b');
      await expect(pool.executeAnonymous('cmds500.c500', { text: 'c' })).rejects.toMatchObject({ name: expect.stringMatching(/Error$/) });
    } finally {
      await pool.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bench scaling: plots', () => {
  const stats = (opsPerS: number, p99Us: number) => ({ opsPerS, p50Us: p99Us / 3, p99Us, calls: 100 });
  const versus = (xs: number[]): VersusPoint[] => xs.map((x, i) => ({ x, pool: stats(1000 * (i + 1), 100 * (i + 1)), bare: stats(1100 * (i + 1), 90 * (i + 1)), ratio: 0.91 }));
  const cost = (xs: number[]): CostPoint[] =>
    xs.map((x, i) => ({ x, ratio: 0.98, noneOpsPerS: 10_000, fullOpsPerS: 9_800, noneCpuUsPerCall: 40, fullCpuUsPerCall: 41 + i, noneIdleMsPerS: 2, fullIdleMsPerS: 9 }));

  it('draws throughput and p99 for each axis and the monitoring cost for each, on log axes', () => {
    const charts = scalingCharts(
      { workers: versus([1, 2, 4, 8, 16]), callers: versus([1, 4, 16, 64, 256]), payload: versus([100, 1e3, 1e4, 1e5, 1e6, 1e7]) },
      { pools: cost([1, 2, 4, 8]), workers: cost([1, 4, 16, 64]), commands: cost([1, 10, 100, 500]) },
    );
    expect(Object.keys(charts).sort()).toEqual(
      [
        'monitoring-cost-commands.svg',
        'monitoring-cost-pools.svg',
        'monitoring-cost-workers.svg',
        'scaling-callers-p99.svg',
        'scaling-callers-throughput.svg',
        'scaling-payload-p99.svg',
        'scaling-payload-throughput.svg',
        'scaling-workers-p99.svg',
        'scaling-workers-throughput.svg',
      ].sort(),
    );
    const payload = charts['scaling-payload-throughput.svg']!;
    expect(payload.startsWith('<?xml')).toBe(true);
    expect(payload).toContain('pool ops/s');
    expect(payload).toContain('bare pipes ops/s');
    // Log x axis over 100 B .. 10 MB: ticks at powers of ten.
    for (const tick of ['>100<', '>1000<', '>10M<']) expect(payload).toContain(tick);
    const cmds = charts['monitoring-cost-commands.svg']!;
    expect(cmds).toContain('full stack');
    expect(cmds).toContain('nothing subscribed');
  });
});

describe('bench compare (quick, real)', () => {
  it('gets the text back through every tool, with finite ratios of each against bare pipes', async () => {
    const { run } = await import('../../src/bench/compare-bench.js');
    const report = await run({ quick: true, jsonPath: null, flags: {} });
    const arms = report.rows.map((r) => `${r['callers']}:${r['arm']}`);
    for (const c of [1, 8]) for (const arm of ['bare', 'dspex', 'python-shell', 'pythonia', 'dspex-4-workers']) expect(arms).toContain(`${c}:${arm}`);
    for (const key of ['dspex_vs_bare_throughput_c1', 'dspex_vs_python_shell_throughput_c1', 'dspex_vs_pythonia_throughput_c1', 'dspex_vs_python_shell_throughput_c8']) {
      expect(Number.isFinite(report.ratios[key])).toBe(true);
      expect(report.ratios[key]!).toBeGreaterThan(0);
    }
  }, 60_000);
});
