/**
 * Issue 19: the collector keeps the Python and bridge shares of each call per pool and per
 * command, and every consumer (queries, Prometheus, the terminal header) shows them.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/contract/clock.js';
import { MetricsCollector } from '../../src/metrics/metrics-collector.js';
import type { OperationContext } from '../../src/telemetry/telemetry.js';
import { renderMetrics } from '../../src/exporters/prometheus.js';
import { buildSnapshot } from '../../src/exporters/snapshot.js';
import { formatTimingSplit, timingSplit } from '../../src/dashboard/timing-split.js';
import { stripAnsi } from '../../src/dashboard/ansi.js';

const T0 = 1_700_000_040_000;

/** Within the sketches' stated relative error (0.99%), with a margin. */
function near(value: number, expected: number): void {
  expect(Math.abs(value - expected) / expected).toBeLessThan(0.015);
}

function ctx(pool: string, command: string, durationNs: number, queueWaitNs: number, pythonNs: number | null): OperationContext {
  const bridgeNs = pythonNs === null ? null : durationNs - queueWaitNs - pythonNs;
  return { pool, command, sessionId: null, workerId: 0, pid: 1, timestampMs: T0, queueWaitNs, durationNs, pythonNs, bridgeNs };
}

describe('timing split in the collector', () => {
  it('keeps python and bridge sketches per pool and per command; untimed calls count in neither', () => {
    const clock = new ManualClock(T0);
    const c = new MetricsCollector({ clock, timer: false });
    const pool = `split-${process.pid}`;
    for (let i = 0; i < 100; i++) c.recordOperation(ctx(pool, 'embed', 60e6, 1e6, 50e6)); // bridge 9 ms
    for (let i = 0; i < 50; i++) c.recordOperation(ctx(pool, 'rank', 3e6, 0, 1e6)); // bridge 2 ms
    for (let i = 0; i < 10; i++) c.recordOperation(ctx(pool, 'rank', 3e6, 0, null)); // no timing
    clock.advance(1000);
    const w = c.getPerformanceSummary(pool).windows['1m'];
    expect(w.ops).toBe(160);
    expect(w.pythonUs!.count).toBe(150);
    expect(w.bridgeUs!.count).toBe(150);
    near(w.pythonUs!.max, 50_000);
    near(w.bridgeUs!.p50, 9_000);
    const byCmd = Object.fromEntries(c.getCommandMetrics(pool, '1m').map((m) => [m.command, m]));
    near(byCmd['embed']!.pythonUs!.p50, 50_000);
    expect(byCmd['rank']!.pythonUs!.count).toBe(50);
    near(byCmd['rank']!.bridgeUs!.p99, 2_000);
    // Lifetime histograms for Prometheus (the second in progress included).
    c.recordOperation(ctx(pool, 'embed', 60e6, 1e6, 50e6));
    expect(c.getLatencyHistogram(pool, 'python', 'embed').count).toBe(101);
    expect(c.getLatencyHistogram(pool, 'bridge').count).toBe(151);
    expect(c.getLatencyDistribution(pool, '1m', 'python').reduce((n, b) => n + b.count, 0)).toBe(150);
    expect(() => c.getLatencyHistogram(pool, 'pyth' as 'python')).toThrow(/kind/);
    // Bounded by construction: the new sketches are in both the bound and the measure.
    expect(c.memoryBytes(pool)).toBeLessThanOrEqual(c.memoryBoundPerPool(pool));

    const text = renderMetrics({ collector: c });
    expect(text).toContain(`dspex_pool_python_duration_seconds_count{pool="${pool}",command="embed"} 101`);
    expect(text).toContain(`dspex_pool_bridge_overhead_seconds_count{pool="${pool}",command="rank"} 50`);
    expect(text).toContain('# TYPE dspex_pool_bridge_overhead_seconds histogram');

    const snap = buildSnapshot({ collector: c }, '1m', clock.nowMs());
    const ps = snap.pools.find((p) => p.name === pool)!;
    expect(ps.summary!.windows['1m'].pythonUs!.count).toBe(150);
    expect(ps.commands!.find((m) => m.command === 'embed')!.bridgeUs!.count).toBe(100);

    const split = timingSplit(w)!;
    expect(split.timedOps).toBe(150);
    expect(split.pythonShare).toBeGreaterThan(0.5);
    const shown = stripAnsi(formatTimingSplit(w, true));
    expect(shown).toMatch(/^q \S+ \| bridge \S+ \| py \S+ \(\d+% py\)$/);
  });

  it('a window without timed calls shows no split', () => {
    const clock = new ManualClock(T0);
    const c = new MetricsCollector({ clock, timer: false });
    const pool = `split-none-${process.pid}`;
    c.recordOperation(ctx(pool, 'x', 1e6, 0, null));
    clock.advance(1000);
    const w = c.getPerformanceSummary(pool).windows['1m'];
    expect(w.pythonUs!.count).toBe(0);
    expect(timingSplit(w)).toBeNull();
    expect(formatTimingSplit(w, false)).toBe('');
    expect(renderMetrics({ collector: c })).not.toContain('dspex_pool_python_duration_seconds');
  });
});
