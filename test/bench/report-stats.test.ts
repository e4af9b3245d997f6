/** The statistics the round-based benchmarks report (src/bench/report.ts): median of within-round ratios and its quartiles. */
import { describe, expect, it } from 'vitest';
import { median, quantileSorted, quartiles } from '../../src/bench/report.js';

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
});
