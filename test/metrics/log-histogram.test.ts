import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KEY_COUNT,
  LogHistogram,
  MAX_HISTOGRAM_BYTES,
  MAX_TRACKED_NS,
  MAX_WIDE_HISTOGRAM_BYTES,
  MIN_TRACKED_NS,
  RELATIVE_ACCURACY,
  keyOf,
} from '../../src/metrics/log-histogram.js';
import { distributions, exactQuantile, QUANTILES, relErr } from './helpers.js';

describe('keyOf', () => {
  it('maps zero, negatives and NaN to -1 and clamps to the key range', () => {
    expect(keyOf(0)).toBe(-1);
    expect(keyOf(-5)).toBe(-1);
    expect(keyOf(Number.NaN)).toBe(-1);
    expect(keyOf(1)).toBe(0);
    expect(keyOf(MIN_TRACKED_NS)).toBe(0);
    expect(keyOf(MAX_TRACKED_NS * 100)).toBe(KEY_COUNT - 1);
  });

  it('is monotone', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 1e13, noNaN: true }), fc.double({ min: 1, max: 1e13, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(keyOf(lo)).toBeLessThanOrEqual(keyOf(hi));
      }),
    );
  });
});

describe('LogHistogram', () => {
  it('keeps count, sum, min, max and mean exact', () => {
    const h = new LogHistogram();
    for (const v of [5_000, 1_000_000, 0, 42_000]) h.record(v);
    const s = h.summaryUs();
    expect(s.count).toBe(4);
    expect(s.min).toBe(0);
    expect(s.max).toBe(1000);
    expect(s.mean).toBeCloseTo((5 + 1000 + 0 + 42) / 4, 10);
    expect(h.zeroCount).toBe(1);
  });

  it('reads quantiles at rank floor(q*(n-1)) (lower nearest rank), exact at q=0 and q=1', () => {
    const h = new LogHistogram();
    const values = [10_000, 20_000, 30_000, 40_000];
    for (const v of values) h.record(v);
    expect(h.quantileNs(0)).toBe(10_000);
    expect(h.quantileNs(1)).toBe(40_000);
    // floor(0.5 * 3) = 1 -> 20 µs; floor(0.99 * 3) = 2 -> 30 µs
    expect(relErr(h.quantileNs(0.5), 20_000)).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    expect(relErr(h.quantileNs(0.99), 30_000)).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    expect(relErr(h.quantileNs(0.2), 10_000)).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    const one = new LogHistogram();
    one.record(12_345);
    expect(one.quantileNs(0.5)).toBe(12_345); // a single value: the read-back is clamped to the exact min/max
  });

  it('returns zeros for an empty histogram', () => {
    const h = new LogHistogram();
    expect(h.quantileNs(0.5)).toBe(0);
    expect(h.summaryUs()).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 });
  });

  it('reads zero for ranks inside the zero count', () => {
    const h = new LogHistogram();
    for (let i = 0; i < 90; i++) h.record(0);
    for (let i = 0; i < 10; i++) h.record(1e6);
    expect(h.quantileNs(0.5)).toBe(0);
    expect(relErr(h.quantileNs(0.95), 1e6)).toBeLessThanOrEqual(RELATIVE_ACCURACY);
  });

  for (const [name, gen] of Object.entries(distributions)) {
    it(`every quantile is within 1% of exact sorting: ${name} (property)`, () => {
      fc.assert(
        fc.property(gen, (values) => {
          const h = new LogHistogram();
          for (const v of values) h.record(v);
          const sorted = Float64Array.from(values).sort();
          const got = h.quantilesNs(QUANTILES, []);
          QUANTILES.forEach((q, i) => {
            const exact = exactQuantile(sorted, q);
            // The promise holds from 1 µs up (shorter durations read as ~1 µs: documented).
            if (exact < MIN_TRACKED_NS) return;
            expect(relErr(got[i]!, exact)).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-12);
            expect(relErr(h.quantileNs(q), exact)).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-12);
          });
          expect(h.count).toBe(values.length);
          expect(h.minNs).toBe(sorted[0]);
          expect(h.maxNs).toBe(sorted[sorted.length - 1]);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('merging equals recording everything into one (property)', () => {
    fc.assert(
      fc.property(distributions['log-normal'], distributions.bimodal, (a, b) => {
        const ha = new LogHistogram();
        const hb = new LogHistogram();
        const all = new LogHistogram(true);
        for (const v of a) {
          ha.record(v);
          all.record(v);
        }
        for (const v of b) {
          hb.record(v);
          all.record(v);
        }
        const merged = new LogHistogram(true);
        merged.merge(ha);
        merged.merge(hb);
        expect(merged.count).toBe(all.count);
        expect(merged.minNs).toBe(all.minNs);
        expect(merged.maxNs).toBe(all.maxNs);
        expect(merged.sumNs).toBeCloseTo(all.sumNs, 0);
        expect(merged.quantilesNs(QUANTILES, [])).toEqual(all.quantilesNs(QUANTILES, []));
      }),
      { numRuns: 40 },
    );
  });

  it('clear() forgets values but keeps (and reuses) its storage', () => {
    const h = new LogHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i * 10_000);
    const bytes = h.byteSize();
    h.clear();
    expect(h.count).toBe(0);
    expect(h.quantileNs(0.5)).toBe(0);
    expect(h.byteSize()).toBe(bytes);
    for (let i = 1; i <= 1000; i++) h.record(i * 10_000);
    expect(h.byteSize()).toBe(bytes);
    expect(relErr(h.quantileNs(0.5), 500 * 10_000)).toBeLessThanOrEqual(0.01);
  });

  it('never holds more than the full key range', () => {
    const narrow = new LogHistogram();
    const wide = new LogHistogram(true);
    for (const v of [1, MIN_TRACKED_NS, 3e6, MAX_TRACKED_NS, MAX_TRACKED_NS * 10]) {
      narrow.record(v);
      wide.record(v);
    }
    expect(narrow.byteSize()).toBeLessThanOrEqual(MAX_HISTOGRAM_BYTES);
    expect(wide.byteSize()).toBeLessThanOrEqual(MAX_WIDE_HISTOGRAM_BYTES);
    expect(narrow.byteSize()).toBe(KEY_COUNT * 4 + (MAX_HISTOGRAM_BYTES - KEY_COUNT * 4));
  });

  it('grows only as far as the values seen', () => {
    const h = new LogHistogram();
    for (let i = 0; i < 10_000; i++) h.record(1e6 + (i % 100) * 1e4); // 1..2 ms: ~35 keys
    expect(h.byteSize()).toBeLessThan(MAX_HISTOGRAM_BYTES / 4);
  });

  it('visits buckets in ascending order, zeros first', () => {
    const h = new LogHistogram();
    for (const v of [0, 1e3, 1e6, 1e9]) h.record(v);
    const seen: [number, number, number, number][] = [];
    h.forEachBucket((lo, hi, c, v) => seen.push([lo, hi, c, v]));
    expect(seen[0]).toEqual([0, 0, 1, 0]);
    expect(seen.map((s) => s[2]).reduce((a, b) => a + b)).toBe(4);
    for (let i = 2; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThanOrEqual(seen[i - 1]![1]);
    for (const [lo, hi, , v] of seen.slice(1)) {
      expect(v).toBeGreaterThan(lo * 0.99);
      expect(v).toBeLessThanOrEqual(hi);
    }
  });
});
