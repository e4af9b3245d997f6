/**
 * `dspex bench fleet --quick` for real: a throwaway redis-server, a pool of 2 Python workers behind
 * a FleetWorker, a FleetClient, then the merge of real host reports. The figures must be finite
 * numbers (a NaN or Infinity is a broken measurement), and nothing the bench started may outlive it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { run, requireRedisServer, type MergeCase, type QueueCase } from '../../src/bench/fleet-bench.js';
import { BenchUnavailableError, emitReport, progressEnabled, type BenchReport } from '../../src/bench/report.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';
import { redisAvailable } from '../helpers/redis.js';

/** Pids of redis-server processes whose parent is this process. */
function ownRedisServers(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (ppid === process.pid && state !== 'Z' && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('redis-server')) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

function expectFiniteNumbers(o: object, where: string): void {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'object' && v !== null) expectFiniteNumbers(v as object, `${where}.${k}`);
    else expect(Number.isFinite(v), `${where}.${k} = ${String(v)}`).toBe(true);
  }
}

afterAll(async () => {
  await expectNoLeakedWorkers();
});

describe('bench fleet: the pure parts', () => {
  it('names make deps when redis-server is missing, and passes a found binary through', () => {
    expect(() => requireRedisServer(null)).toThrow(BenchUnavailableError);
    expect(() => requireRedisServer(null)).toThrow(/redis-server.*`make deps`/);
    expect(requireRedisServer('/usr/bin/redis-server')).toBe('/usr/bin/redis-server');
  });

  it('draws progress only on a terminal and never under CI', () => {
    expect(progressEnabled(true, {})).toBe(true);
    expect(progressEnabled(false, {})).toBe(false);
    expect(progressEnabled(true, { CI: 'true' })).toBe(false);
    expect(progressEnabled(true, { CI: '1' })).toBe(false);
    expect(progressEnabled(true, { CI: 'false' })).toBe(true);
  });
});

(redisAvailable() ? describe : describe.skip)('bench fleet --quick', () => {
  let report: BenchReport;

  it('measures the queue against the local pool and the merge, all figures finite, and stops everything it started', async () => {
    report = await run({ quick: true, jsonPath: null, flags: {} });
    expect(ownRedisServers()).toEqual([]);
    await expectNoLeakedWorkers();

    expect(report.name).toBe('fleet');
    const queue = report.extra?.['queue'] as QueueCase[];
    const merge = report.extra?.['merge'] as MergeCase[];
    expect(queue.map((c) => c.concurrency)).toEqual([1, 4]);
    expect(merge.map((m) => m.hosts)).toEqual([8]);
    for (const c of queue) {
      expectFiniteNumbers(c, `queue c${c.concurrency}`);
      for (const v of [c.fleetOpsPerS, c.localOpsPerS, c.fleetP50Us, c.localP50Us, c.fleetP99Us, c.localP99Us]) expect(v).toBeGreaterThan(0);
      expect(c.fleetP99Us).toBeGreaterThanOrEqual(c.fleetP50Us);
      // A queue hop through Redis cannot be cheaper than calling the same pool directly.
      expect(c.fleetP50Us).toBeGreaterThan(c.localP50Us);
    }
    for (const m of merge) {
      expectFiniteNumbers(m, `merge n${m.hosts}`);
      expect(m.perReportMeanUs).toBeGreaterThan(0);
      expect(m.parseMeanUs).toBeGreaterThan(0);
      expect(m.coreShare).toBeGreaterThan(0);
    }
    // The merged reports were real: built from the pool that served the calls.
    const hostReport = report.extra?.['hostReport'] as { bytes: number; pools: number; commands: number; recentSeconds: number };
    expect(hostReport.pools).toBe(1);
    expect(hostReport.commands).toBeGreaterThanOrEqual(1);
    expect(hostReport.recentSeconds).toBeGreaterThanOrEqual(1);
    expect(hostReport.bytes).toBeGreaterThan(1000);
    expect(Object.keys(report.ratios).sort()).toEqual(
      ['fleet_vs_local_throughput_c1', 'fleet_vs_local_p50_latency_c1', 'fleet_vs_local_cpu_per_call_c1', 'fleet_vs_local_throughput_c4', 'fleet_vs_local_p50_latency_c4', 'fleet_vs_local_cpu_per_call_c4', 'merge_vs_parse_per_report_n8'].sort(),
    );
    for (const [k, v] of Object.entries(report.ratios)) expect(Number.isFinite(v) && v > 0, `${k} = ${v}`).toBe(true);
    for (const row of report.rows) for (const [k, v] of Object.entries(row)) if (typeof v === 'number') expect(Number.isFinite(v), `${String(row['case'])}: ${k} = ${v}`).toBe(true);
  }, 60_000);

  it('prints both tables with the 2-core note, and writes the same figures as JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-fleet-bench-'));
    try {
      let text = '';
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          text += chunk.toString();
          cb();
        },
      });
      const jsonPath = join(dir, 'fleet.json');
      emitReport(report, { quick: true, jsonPath, flags: {} }, sink);
      expect(text).toContain('## through the queue vs the same pool directly');
      expect(text).toContain('## FleetCollector merge of host reports');
      expect(text).toMatch(/no scale-up on a 2-core machine/);
      const doc = JSON.parse(readFileSync(jsonPath, 'utf8')) as { ratios: Record<string, number>; merge: MergeCase[]; queue: QueueCase[]; notes: string[] };
      expect(doc.ratios).toEqual(report.ratios);
      expect(doc.merge[0]?.perReportMeanUs).toBe((report.extra?.['merge'] as MergeCase[])[0]?.perReportMeanUs);
      expect(doc.notes.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
