/** The statistics the round-based benchmarks report (src/bench/report.ts): median of within-round ratios and its quartiles. */
import { describe, expect, it } from 'vitest';
import { median, quantileSorted, quartiles } from '../../src/bench/report.js';
import { summarizeRuns } from '../../src/bench/closed-loop.js';

describe('bench statistics', () => {
  it('median: odd, even, unsorted input left as it was, NaN when empty', () => {
    const xs = [3, 1, 2];
    expect(median(xs)).toBe(2);
    expect(xs).toEqual([3, 1, 2]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    // One disturbed round does not move it (the reason the benches report it).
    expect(median([0.95, 0.97, 0.2, 0.96, 0.98])).toBe(0.96);
  });

  it('quartiles by nearest rank; quantileSorted picks an observed sample', () => {
    expect(quartiles([5, 1, 4, 2, 3])).toEqual([2, 4]);
    expect(quartiles([7])).toEqual([7, 7]);
    expect(quartiles([]).every(Number.isNaN)).toBe(true);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantileSorted([1, 2, 3, 4], 0.99)).toBe(4);
    expect(quantileSorted([], 0.5)).toBe(0);
  });

  it('summarizeRuns: ops over seconds of every run, percentiles over every call', () => {
    const a = { ops: 3, seconds: 1, latUs: Float64Array.from([1, 2, 9]) };
    const b = { ops: 1, seconds: 1, latUs: Float64Array.from([5]) };
    expect(summarizeRuns([a, b])).toEqual({ opsPerS: 2, p50Us: 2, p99Us: 9, calls: 4 });
    expect(summarizeRuns([b])).toEqual({ opsPerS: 1, p50Us: 5, p99Us: 5, calls: 1 });
  });
});
