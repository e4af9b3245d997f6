/**
 * The FleetCollector's merge, without Redis: three real MetricsCollectors (one per "host", fed
 * through their record path on a ManualClock) publish reports through JSON, as hosts do; the
 * fleet's figures are checked against the raw durations of all hosts together.
 */
import { describe, expect, it } from 'vitest';
import { FleetCollector } from '../../src/fleet/fleet-collector.js';
import { buildHostReport, type HostReport } from '../../src/fleet/host-report.js';
import { ManualClock, MetricsCollector, RELATIVE_ACCURACY } from '../../src/metrics/index.js';
import type { OperationContext } from '../../src/telemetry/catalog.js';
import { prng } from '../../src/util/prng.js';
import { isPythonBridgeError } from '../../src/contract/errors.js';

const T0 = 1_700_000_000_000;

function op(pool: string, command: string, durationNs: number, atMs: number, failed = false): OperationContext {
  return { pool, command, sessionId: null, workerId: 0, pid: 1, timestampMs: atMs, queueWaitNs: durationNs / 10, durationNs, ...(failed ? { error: new Error('x') } : {}) };
}

const viaJson = (r: HostReport): HostReport => JSON.parse(JSON.stringify(r)) as HostReport;

/** Three hosts with different latency profiles over `seconds` seconds; returns every raw duration. */
function fleet(clock: ManualClock, seconds: number): { hosts: MetricsCollector[]; raw: number[]; perSecond: Map<number, number[]> } {
  const hosts = [0, 1, 2].map(() => new MetricsCollector({ clock, timer: false }));
  const rand = prng(42);
  const raw: number[] = [];
  const perSecond = new Map<number, number[]>();
  const medians = [2e6, 8e6, 40e6]; // the third host is slow: averaging p99s would hide how slow
  for (let s = 0; s < seconds; s++) {
    for (let h = 0; h < 3; h++) {
      for (let i = 0; i < 50 + h * 30; i++) {
        const d = medians[h]! * Math.exp(0.8 * (rand() + rand() + rand() - 1.5));
        hosts[h]!.recordOperation(op('models', i % 3 === 0 ? 'embed' : 'predict', d, clock.nowMs(), i % 25 === 0));
        raw.push(d);
        const sec = Math.floor(clock.nowMs() / 1000);
        perSecond.set(sec, [...(perSecond.get(sec) ?? []), d]);
      }
    }
    clock.advance(1000);
    for (const c of hosts) c.tick();
  }
  return { hosts, raw, perSecond };
}

const q = (values: number[], p: number): number => [...values].sort((a, b) => a - b)[Math.floor(p * (values.length - 1))]!;

describe('FleetCollector merge', () => {
  it('fleet percentiles are those of the merged raw durations (within the sketch error), not averaged percentiles', () => {
    const clock = new ManualClock(T0);
    const { hosts, raw } = fleet(clock, 20);
    const fc = new FleetCollector({ queue: 'q', clock });
    hosts.forEach((c, i) => fc.ingest(viaJson(buildHostReport(c, `h${i}`, `inc${i}`, 5000, clock.nowMs()))));
    const w = fc.getPerformanceSummary('models').windows['1m'];
    expect(w.ops).toBe(raw.length);
    for (const [p, key] of [
      [0.5, 'p50'],
      [0.99, 'p99'],
      [0.999, 'p999'],
    ] as const) {
      const exact = q(raw, p) / 1e3;
      expect(Math.abs(w.latencyUs[key] - exact) / exact, key).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-9);
    }
    // The average of the hosts' p99s is far from the fleet's: merging is not averaging.
    const avgP99 = hosts.reduce((a, c) => a + c.getPerformanceSummary('models').windows['1m'].latencyUs.p99, 0) / 3;
    expect(Math.abs(avgP99 - w.latencyUs.p99) / w.latencyUs.p99).toBeGreaterThan(0.05);
    // Counts are sums; lifetime totals and Prometheus histograms too.
    expect(fc.getTotals('models').operations).toBe(raw.length);
    expect(fc.getLatencyHistogram('models', 'operation')?.count).toBe(raw.length);
    expect(fc.getErrorRates('models', '1m').errors).toBe(hosts.reduce((a, c) => a + c.getErrorRates('models', '1m').errors, 0));
    const cmds = fc.getCommandMetrics('models', '1m');
    expect(cmds.map((c) => c.command).sort()).toEqual(['embed', 'predict']);
    expect(cmds.reduce((a, c) => a + c.ops, 0)).toBe(raw.length);
    expect(fc.getLatencyDistribution('models', '1m').reduce((a, b) => a + b.count, 0)).toBe(raw.length);
  });

  it('the per-second series comes from merged per-second sketches, each second counted once despite repeated reports', () => {
    const clock = new ManualClock(T0);
    const { hosts, perSecond } = fleet(clock, 6);
    const fc = new FleetCollector({ queue: 'q', clock });
    // Each report repeats the last 3 seconds: publish twice, as jittery hosts do.
    for (let rep = 0; rep < 2; rep++) hosts.forEach((c, i) => fc.ingest(viaJson(buildHostReport(c, `h${i}`, `inc${i}`, 5000, clock.nowMs()))));
    const pts = fc.getMetricsRange('models', T0, clock.nowMs()).points;
    expect(pts.length).toBe(3);
    for (const p of pts) {
      const values = perSecond.get(p.timestampMs / 1000)!;
      expect(p.ops).toBe(values.length);
      const exact = q(values, 0.99) / 1e3;
      expect(Math.abs(p.latencyP99Us - exact) / exact).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-9);
    }
  });

  it('marks a silent host stale (kept in the snapshot, left out of windowed figures, kept in totals) and carries totals over a restart', () => {
    const clock = new ManualClock(T0);
    const { hosts } = fleet(clock, 5);
    const fc = new FleetCollector({ queue: 'q', clock, staleAfterMs: 3000 });
    hosts.forEach((c, i) => fc.ingest(viaJson(buildHostReport(c, `h${i}`, `inc${i}`, 2000, clock.nowMs()))));
    const totalOps = fc.getTotals('models').operations;
    const h2Ops = hosts[2]!.getPerformanceSummary('models').windows['1m'].ops;
    clock.advance(4000);
    for (const c of hosts) c.tick();
    hosts.slice(0, 2).forEach((c, i) => fc.ingest(viaJson(buildHostReport(c, `h${i}`, `inc${i}`, 2000, clock.nowMs()))));
    const snap = fc.snapshot('1m');
    expect(snap.fleet?.hosts.map((h) => [h.host, h.stale])).toEqual([
      ['h0', false],
      ['h1', false],
      ['h2', true],
    ]);
    expect(snap.fleet?.hosts[2]?.ageMs).toBe(4000);
    expect(snap.fleet?.hosts[2]?.pools[0]?.summary?.windows['1m'].ops).toBe(h2Ops);
    expect(snap.pools.map((p) => p.name)).toEqual(['models']);
    expect(snap.pools[0]?.summary?.windows['1m'].ops).toBe(totalOps - h2Ops);
    expect(fc.getTotals('models').operations).toBe(totalOps);
    // h0 restarts (new incarnation, counters from zero): the fleet's totals do not go back.
    const fresh = new MetricsCollector({ clock, timer: false });
    fresh.recordOperation(op('models', 'predict', 1e6, clock.nowMs()));
    clock.advance(1000);
    fresh.tick();
    fc.ingest(viaJson(buildHostReport(fresh, 'h0', 'inc0-b', 2000, clock.nowMs())));
    expect(fc.getTotals('models').operations).toBe(totalOps + 1);
  });

  it('refuses a report with a corrupt sketch (typed error) and leaves the view as it was; bounds the hosts kept', () => {
    const clock = new ManualClock(T0);
    const { hosts } = fleet(clock, 2);
    const fc = new FleetCollector({ queue: 'q', clock, maxHosts: 2, staleAfterMs: 1000 });
    const r = viaJson(buildHostReport(hosts[0]!, 'h0', 'i', 2000, clock.nowMs()));
    const bad = viaJson(r);
    bad.hostId = 'evil';
    bad.pools[0]!.sketches.operation['1m'].count += 5;
    let caught: unknown;
    try {
      fc.ingest(bad);
    } catch (err) {
      caught = err;
    }
    expect(isPythonBridgeError(caught, 'invalid_request')).toBe(true);
    expect(fc.hosts()).toEqual([]); // nothing of it was kept
    expect(fc.pools()).toEqual([]);
    fc.ingest(r);
    expect(fc.pools()).toEqual(['models']);
    fc.ingest(viaJson(buildHostReport(hosts[1]!, 'h1', 'i', 2000, clock.nowMs())));
    expect(fc.droppedReports).toBe(0);
    fc.ingest(viaJson(buildHostReport(hosts[2]!, 'h2', 'i', 2000, clock.nowMs())));
    expect(fc.droppedReports).toBe(1); // two live hosts kept, the third refused
    expect(() => new FleetCollector({ queue: 'q', maxHosts: 0 })).toThrow(/maxHosts/);
  });
});
