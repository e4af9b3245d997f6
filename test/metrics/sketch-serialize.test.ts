/**
 * Serialized sketches (what fleet hosts publish): a round trip keeps every quantile, merging
 * deserialized sketches equals recording every value in one sketch, and hostile input is refused
 * with a typed error instead of building a sketch that reads wrong quantiles.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogHistogram, RELATIVE_ACCURACY } from '../../src/metrics/log-histogram.js';
import { isPythonBridgeError } from '../../src/contract/errors.js';
import { distributions, exactQuantile, QUANTILES, relErr } from './helpers.js';

const fill = (values: readonly number[], wide = false): LogHistogram => {
  const h = new LogHistogram(wide);
  for (const v of values) h.record(v);
  return h;
};

describe('LogHistogram serialize / deserialize / merge', () => {
  it('a round trip through JSON reads the same quantiles, count, sum, min and max (narrow and wide)', () => {
    fc.assert(
      fc.property(distributions['log-normal'], fc.boolean(), (values, wide) => {
        const h = fill([0, ...values], wide);
        const back = LogHistogram.deserialize(JSON.parse(JSON.stringify(h.serialize())));
        expect(back.wide).toBe(wide);
        expect(back.summaryUs()).toEqual(h.summaryUs());
        for (const q of QUANTILES) expect(back.quantileNs(q)).toBe(h.quantileNs(q));
      }),
      { numRuns: 60 },
    );
  });

  it('an empty sketch round-trips to an empty one', () => {
    const back = LogHistogram.deserialize(JSON.parse(JSON.stringify(new LogHistogram().serialize())));
    expect(back.count).toBe(0);
    expect(back.summaryUs().p99).toBe(0);
  });

  it('merging deserialized per-host sketches gives the quantiles of all raw values, within the relative accuracy', () => {
    fc.assert(
      fc.property(distributions.bimodal, distributions['log-normal'], distributions.uniform, (a, b, c) => {
        const merged = new LogHistogram();
        for (const part of [a, b, c]) merged.merge(LogHistogram.deserialize(JSON.parse(JSON.stringify(fill(part).serialize()))));
        const all = Float64Array.from([...a, ...b, ...c]).sort();
        expect(merged.count).toBe(all.length);
        for (const q of QUANTILES) expect(relErr(merged.quantileNs(q), exactQuantile(all, q))).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-12);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses hostile input with invalid_argument naming the sketch and the field', () => {
    const good = fill([1_000, 2_000_000, 5e9]).serialize();
    const cases: [unknown, RegExp][] = [
      [null, /object/],
      [{ ...good, v: 2 }, /version/],
      [{ ...good, count: -1 }, /'count'/],
      [{ ...good, count: 4 }, /add up/],
      [{ ...good, lo: 1e9 }, /'lo'/],
      [{ ...good, lo: 1.5 }, /'lo'/],
      [{ ...good, counts: 'AAA' }, /length/],
      [{ ...good, counts: 42 }, /base64/],
      [{ ...good, minNs: 10, maxNs: 1 }, /minNs/],
      [{ ...good, sumNs: Number.NaN }, /sumNs/],
    ];
    for (const [input, why] of cases) {
      let caught: unknown;
      try {
        LogHistogram.deserialize(input);
      } catch (err) {
        caught = err;
      }
      expect(isPythonBridgeError(caught, 'invalid_request'), JSON.stringify(input)).toBe(true);
      const e = caught as { type: string; details: { argument?: string }; message: string };
      expect(e.type).toBe('invalid_argument');
      expect(e.details.argument).toBe('sketch');
      expect(e.message).toMatch(why);
    }
  });
});
