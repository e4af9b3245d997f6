import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { healthScore, type HealthInputs } from '../../src/metrics/health-score.js';
import { cumulativeHistogram, LATENCY_BUCKETS_S, logBuckets } from '../../src/metrics/histogram-views.js';
import { LogHistogram } from '../../src/metrics/log-histogram.js';

const healthy: HealthInputs = { errorRate: 0, crashes: 0, utilization: 0.5, queueDepthAvg: 0, sizeAvg: 4, latencyP99Us: 1000, queueWaitP99Us: 0 };

describe('healthScore', () => {
  it('is 100 for a healthy or idle pool', () => {
    expect(healthScore(healthy)).toBe(100);
    expect(healthScore({ ...healthy, utilization: 0, sizeAvg: 0, latencyP99Us: 0 })).toBe(100);
  });

  it('applies each documented term, saturating', () => {
    expect(healthScore({ ...healthy, errorRate: 0.025 })).toBe(80);
    expect(healthScore({ ...healthy, errorRate: 0.5 })).toBe(60);
    expect(healthScore({ ...healthy, crashes: 1 })).toBe(95);
    expect(healthScore({ ...healthy, crashes: 30 })).toBe(85);
    expect(healthScore({ ...healthy, utilization: 0.9 })).toBe(93); // 100 - 7.5, rounded
    expect(healthScore({ ...healthy, utilization: 1 })).toBe(85);
    expect(healthScore({ ...healthy, queueDepthAvg: 2 })).toBe(93); // 2 waiting for 4 workers: 7.5
    expect(healthScore({ ...healthy, queueWaitP99Us: 250 })).toBe(93); // 2*250/1000 = 0.5 of 15
    expect(healthScore({ errorRate: 1, crashes: 9, utilization: 1, queueDepthAvg: 100, sizeAvg: 1, latencyP99Us: 10, queueWaitP99Us: 10 })).toBe(0);
  });

  it('stays in 0..100 on odd input', () => {
    for (const x of [Number.NaN, -1, Infinity]) {
      const s = healthScore({ errorRate: x, crashes: x, utilization: x, queueDepthAvg: x, sizeAvg: x, latencyP99Us: x, queueWaitP99Us: x });
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(100);
    }
  });
});

describe('cumulativeHistogram', () => {
  it('counts every value under the first bound at or above it, cumulatively', () => {
    const h = new LogHistogram(true);
    for (const ms of [0, 0.05, 0.3, 0.9, 7, 7, 70, 800, 90_000]) h.record(ms * 1e6);
    const c = cumulativeHistogram(h);
    expect(c.bucketsS).toEqual(LATENCY_BUCKETS_S);
    expect(c.count).toBe(9);
    expect(c.sumS).toBeCloseTo((0.05 + 0.3 + 0.9 + 14 + 70 + 800 + 90_000) / 1e3, 9);
    const at = (le: number): number => c.cumulativeCounts[LATENCY_BUCKETS_S.indexOf(le)]!;
    expect(at(0.0001)).toBe(2); // 0 and 50 µs
    expect(at(0.0005)).toBe(3);
    expect(at(0.001)).toBe(4);
    expect(at(0.01)).toBe(6);
    expect(at(0.1)).toBe(7);
    expect(at(1)).toBe(8);
    expect(at(60)).toBe(8); // 90 s only in +Inf (count)
  });

  it('keeps a bucket where it was when a larger maximum lands in the same sketch key (99.13 ms, then 101.1 ms)', () => {
    // Both values share one key, which straddles le="0.1": it may count on either side (0.99%
    // accuracy), but the side must not change when the larger value arrives.
    const h = new LogHistogram(true);
    h.record(99.13e6);
    const before = cumulativeHistogram(h).cumulativeCounts;
    h.record(101.1e6);
    const after = cumulativeHistogram(h);
    expect(after.cumulativeCounts[LATENCY_BUCKETS_S.indexOf(0.1)]).toBe(before[LATENCY_BUCKETS_S.indexOf(0.1)]);
    for (let i = 0; i < before.length; i++) expect(after.cumulativeCounts[i]).toBeGreaterThanOrEqual(before[i]!);
    expect(after.count).toBe(2);
  });

  it('never lowers a cumulative count as values are added, and +Inf (count) counts every value (property)', () => {
    // Half the values sit within ±3% of a bound, where one sketch key can straddle an `le`.
    const nearBound = fc
      .tuple(fc.integer({ min: 0, max: LATENCY_BUCKETS_S.length - 1 }), fc.double({ min: 0.97, max: 1.03, noNaN: true }))
      .map(([i, f]) => LATENCY_BUCKETS_S[i]! * 1e9 * f);
    const anywhere = fc.double({ min: 0, max: 1e11, noNaN: true });
    fc.assert(
      fc.property(fc.array(fc.oneof(nearBound, anywhere), { minLength: 1, maxLength: 300 }), (valuesNs) => {
        const h = new LogHistogram(true);
        let prev = cumulativeHistogram(h).cumulativeCounts;
        for (let n = 0; n < valuesNs.length; n++) {
          h.record(valuesNs[n]!);
          const c = cumulativeHistogram(h);
          for (let i = 0; i < prev.length; i++) expect(c.cumulativeCounts[i]).toBeGreaterThanOrEqual(prev[i]!);
          expect(c.count).toBe(n + 1);
          expect(c.cumulativeCounts.at(-1)).toBeLessThanOrEqual(c.count);
          prev = c.cumulativeCounts;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('has ~20 log-spaced bounds from 100 µs to 60 s', () => {
    expect(LATENCY_BUCKETS_S[0]).toBe(0.0001);
    expect(LATENCY_BUCKETS_S.at(-1)).toBe(60);
    expect(LATENCY_BUCKETS_S.length).toBeGreaterThanOrEqual(15);
    expect(LATENCY_BUCKETS_S.length).toBeLessThanOrEqual(25);
    for (let i = 1; i < LATENCY_BUCKETS_S.length; i++) expect(LATENCY_BUCKETS_S[i]! / LATENCY_BUCKETS_S[i - 1]!).toBeLessThanOrEqual(2.5);
  });
});

describe('logBuckets', () => {
  it('gives contiguous log-scaled buckets that add up to the count, zeros first', () => {
    const h = new LogHistogram();
    for (const us of [0, 0, 13, 16, 1500, 1600, 1700]) h.record(us * 1e3);
    const b = logBuckets(h, 4);
    expect(b[0]).toEqual({ lowerUs: 0, upperUs: 0, count: 2 });
    expect(b.reduce((a, x) => a + x.count, 0)).toBe(7);
    for (let i = 2; i < b.length; i++) expect(b[i]!.lowerUs).toBeCloseTo(b[i - 1]!.upperUs, 9);
    for (const x of b.slice(1)) expect(x.upperUs / x.lowerUs).toBeCloseTo(10 ** 0.25, 9);
    const containing = (us: number): number => b.find((x) => x.lowerUs <= us && us < x.upperUs)!.count;
    expect(containing(16)).toBe(2);
    expect(containing(1600)).toBe(3);
  });

  it('is empty for an empty histogram', () => {
    expect(logBuckets(new LogHistogram())).toEqual([]);
  });
});
