/**
 * What the allocation-free evaluation path must keep: the per-window collector query returns the
 * figures of the full summary; the manager's kept signal slots (value objects reused, arrays
 * shrinking and growing) give the same transitions as the full-summary path, also when series
 * appear and disappear; readSignalInto reuses and truncates.
 */
import { describe, expect, it } from 'vitest';
import { MetricsCollector } from '../../src/index.js';
import { ManualClock } from '../../src/contract/clock.js';
import type { ResourceSample } from '../../src/contract/resources.js';
import type { AlertTransition } from '../../src/contract/alerts.js';
import { AlertManager, LabelCache, type AlertCollector, type AlertRule } from '../../src/alerts/index.js';
import { readSignalInto, type SignalInputs, type SignalValue } from '../../src/alerts/signals.js';
import { isPythonBridgeError } from '../../src/contract/errors.js';

const T0 = 1_700_000_000_000;

function feed(collector: MetricsCollector, clock: ManualClock, pool: string, ops: number, errors: number): void {
  for (let i = 0; i < ops; i++) collector.recordOperation({ pool, command: 'c', sessionId: null, workerId: i % 2, pid: 10 + (i % 2), timestampMs: clock.nowMs(), queueWaitNs: 1000 * (i + 1), durationNs: 1e6 * (1 + (i % 7)), pythonNs: 5e5, ...(i < errors ? { error: new Error('x') } : {}) });
}

function sample(t: number, workers: { pool: string; workerId: number; pid: number; rss: number }[]): ResourceSample {
  return {
    timestampMs: t,
    node: { pid: 1, rssBytes: 2e8, heapUsedBytes: 5e7, heapTotalBytes: 8e7, heapLimitBytes: 4e9, externalBytes: 0, arrayBuffersBytes: 0, eventLoopDelayUs: { p50: 1000, p99: 5000, max: 9000, mean: 1200 }, eventLoopUtilization: 0.2, gcCount: 0, gcPauseMs: 0, activeHandles: 5, activeRequests: 0, cpuPercent: 20, uptimeMs: 60_000 },
    system: { cpuCount: 2, totalMemBytes: 8e9, freeMemBytes: 4e9, loadAvg: [1, 1, 1] },
    python: workers.map((w) => ({ pid: w.pid, pool: w.pool, workerId: w.workerId, runId: 'r', orphan: false, state: 'S', cpuPercent: 1, rssBytes: w.rss, vmsBytes: 1e8, threads: 2, openFds: 20, startedAtMs: 0, ageMs: 1000, restarts: 0, rssSlopeBytesPerS: null, cpuSeconds: 1, zombieChildPids: [] })),
    vanished: [],
    warnings: [],
    orphanedDescendants: [],
  };
}

describe('evaluation without per-cycle allocation', () => {
  it('getWindowSummary returns the figures of getPerformanceSummary, with or without the split', () => {
    const clock = new ManualClock(T0);
    const collector = new MetricsCollector({ clock, timer: false });
    collector.start();
    for (let s = 0; s < 90; s++) {
      feed(collector, clock, 'q', 20 + (s % 5), s % 3);
      clock.advance(1000);
      collector.tick();
    }
    const full = collector.getPerformanceSummary('q');
    for (const w of ['1m', '5m', '15m'] as const) {
      expect(collector.getWindowSummary('q', w)).toEqual(full.windows[w]);
      const { pythonUs, bridgeUs, ...rest } = full.windows[w];
      expect(pythonUs?.count).toBeGreaterThan(0);
      expect(bridgeUs).toBeDefined();
      const lean = collector.getWindowSummary('q', w, { split: false });
      expect(lean).toEqual(rest);
      expect('pythonUs' in lean).toBe(false);
    }
    expect(full.windows['1m'].errors).toBeGreaterThan(0);
    let err: unknown;
    try {
      collector.getWindowSummary('q', '2m' as '1m');
    } catch (e) {
      err = e;
    }
    expect(isPythonBridgeError(err)).toBe(true);
    collector.stop();
  });

  it('kept slots give the transitions of the full-summary path, as series come and go', () => {
    const clock = new ManualClock(T0);
    const collector = new MetricsCollector({ clock, timer: false });
    collector.start();
    const rules: AlertRule[] = [
      { name: 'Err1m', kind: 'threshold', signal: 'pool.errorRate', window: '1m', op: '>', value: 0.2 },
      { name: 'Err5m', kind: 'threshold', signal: 'pool.errorRate', window: '5m', op: '>', value: 0.1, forMs: 20_000 },
      { name: 'ErrB', kind: 'threshold', signal: 'pool.errorRate', window: '1m', op: '>', value: 0.2, pool: 'b' },
      { name: 'Rss', kind: 'threshold', signal: 'python.rssBytes', op: '>', value: 100 },
      { name: 'Both', kind: 'composite', op: 'all', conditions: [{ kind: 'threshold', signal: 'pool.errorRate', window: '1m', op: '>', value: 0.2 }, { kind: 'threshold', signal: 'pool.throughputPerS', window: '1m', op: '>', value: 0 }] },
    ];
    let res = sample(T0, []);
    const resources = { getResources: () => res };
    // The same collector seen without getWindowSummary: the manager falls back to one full summary per pool.
    const plain: AlertCollector = { pools: () => collector.pools(), getPerformanceSummary: (p) => collector.getPerformanceSummary(p), getCurrentMetrics: (p) => collector.getCurrentMetrics(p) };
    const lean = new AlertManager({ collector, resources, rules, clock });
    const full = new AlertManager({ collector: plain, resources, rules, clock });
    const seen: { lean: AlertTransition[]; full: AlertTransition[] } = { lean: [], full: [] };
    // Workers: 2 at first, then worker 1 replaced (new pid: its old series resolves), then one gone.
    const workerPlan = (s: number) =>
      s < 20
        ? [
            { pool: 'a', workerId: 0, pid: 100, rss: 500 },
            { pool: 'a', workerId: 1, pid: 101, rss: 50 + s * 10 },
          ]
        : s < 40
          ? [
              { pool: 'a', workerId: 0, pid: 100, rss: 500 },
              { pool: 'a', workerId: 1, pid: 201, rss: 500 },
            ]
          : [{ pool: 'a', workerId: 0, pid: 100, rss: 50 }];
    for (let s = 0; s < 120; s++) {
      feed(collector, clock, 'a', 10, s >= 10 && s < 50 ? 5 : 0);
      if (s >= 30) feed(collector, clock, 'b', 10, s < 70 ? 4 : 0); // pool b appears later
      clock.advance(1000);
      collector.tick();
      res = sample(clock.nowMs(), workerPlan(s));
      if (s % 5 === 0) {
        seen.lean.push(...lean.evaluate(clock.nowMs()));
        seen.full.push(...full.evaluate(clock.nowMs()));
      }
    }
    expect(lean.tickStats().errors).toBe(0);
    expect(seen.lean).toEqual(seen.full);
    const kinds = (rule: string) => seen.lean.filter((t) => t.rule === rule).map((t) => `${t.labels.pool ?? ''}/${t.labels.pid ?? ''}:${t.to}`);
    expect(kinds('ErrB')).toEqual(['b/:firing', 'b/:resolved']);
    // A present series is evaluated before the sweep of the gone ones: 201 fires, then 101 resolves.
    expect(kinds('Rss')).toEqual(['a/100:firing', 'a/101:firing', 'a/201:firing', 'a/101:resolved', 'a/100:resolved', 'a/201:resolved']);
    expect(kinds('Both').length).toBeGreaterThanOrEqual(2);
    expect(kinds('Err5m')).toContain('a/:firing');
    collector.stop();
  });

  it('readSignalInto reuses the value objects and truncates', () => {
    const labels = new LabelCache();
    const inputs: SignalInputs = { pools: [], sample: sample(T0, [{ pool: 'a', workerId: 0, pid: 1, rss: 10 }, { pool: 'a', workerId: 1, pid: 2, rss: 20 }]), degradation: null };
    const out: SignalValue[] = [];
    readSignalInto('python.rssBytes', '1m', undefined, inputs, labels, out);
    const first = out[0];
    expect(out).toEqual([{ labels: { pool: 'a', workerId: '0', pid: '1' }, value: 10 }, { labels: { pool: 'a', workerId: '1', pid: '2' }, value: 20 }]);
    inputs.sample = sample(T0, [{ pool: 'a', workerId: 1, pid: 2, rss: 30 }]);
    readSignalInto('python.rssBytes', '1m', undefined, inputs, labels, out);
    expect(out).toEqual([{ labels: { pool: 'a', workerId: '1', pid: '2' }, value: 30 }]);
    expect(out[0]).toBe(first);
    // The same worker keeps its labels object (the evaluator's fingerprint cache relies on it).
    expect(out[0]!.labels).toBe(labels.worker('a', 1, 2));
  });
});
