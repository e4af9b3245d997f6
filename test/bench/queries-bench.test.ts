/**
 * `bench queries`: the collector it queries really holds the 16 minutes it claims (every
 * operation counted, the 15-minute range one point per second), and a quick run times every
 * query with finite figures and checks its three targets.
 */
import { describe, expect, it } from 'vitest';
import { filledCollector, run } from '../../src/bench/queries-bench.js';

describe('bench queries', () => {
  it('fills every window: all operations counted, a point per second over 15 minutes', () => {
    const { collector, clock } = filledCollector(960, 50);
    const t = collector.getTotals('bench-queries');
    expect(t.operations).toBe(960 * 50);
    expect(t.errors).toBeGreaterThan(0);
    expect(t.errors).toBeLessThan(960 * 50 * 0.05);
    const now = clock.nowMs();
    const range = collector.getMetricsRange('bench-queries', now - 900_000, now);
    expect(range.points.length).toBeGreaterThanOrEqual(899);
    expect(range.points.every((p) => p.ops === 50)).toBe(true);
  });

  it('a quick run times each query and reports its targets with finite figures', async () => {
    const report = await run({ quick: true, jsonPath: null, flags: {} });
    expect(report.rows.map((r) => r['query'])).toContain('buildSnapshot 1m (/api/snapshot)');
    for (const r of report.rows) {
      expect(Number.isFinite(r['p50 µs'])).toBe(true);
      expect(r['p99 µs'] as number).toBeGreaterThanOrEqual(r['p50 µs'] as number);
    }
    expect(Object.keys(report.targets ?? {})).toEqual(['current snapshot p99, ms', '15-minute range p99, ms', 'server snapshot of one pool p99, ms']);
    for (const t of Object.values(report.targets ?? {})) expect(Number.isFinite(t.value)).toBe(true);
  });
});
