import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogHistogram, MAX_HISTOGRAM_BYTES } from '../../src/metrics/log-histogram.js';
import {
  COARSE_SLOTS,
  DETAIL_TIERS,
  HistogramPool,
  POOL_TIERS,
  SeriesRing,
  TieredCounter,
  TieredSketch,
  windowSpan,
} from '../../src/metrics/window-ring.js';
import { exactQuantile, prng, logNormalNs, QUANTILES, relErr } from './helpers.js';

const T0 = 1_700_000_000; // a minute boundary: 1_700_000_000 % 60 === 20, so offsets below are explicit

/**
 * The documented span lengths (module note of window-ring.ts), written out per case rather than
 * computed the way the code does: `p` completed seconds of the slot in progress plus the nearest
 * whole number of full slots, a half rounding up.
 * - pool minute (1-second slots): 60 s;
 * - detail minute (10-second slots), p = end mod 10: p ≤ 5 → 60 + p (60..65), else 50 + p (56..59);
 * - 5 minutes, p = end mod 60: p ≤ 30 → 300 + p (300..330), else 240 + p (271..299);
 * - 15 minutes: p ≤ 30 → 900 + p (900..930), else 840 + p (871..899).
 */
function documentedSpanS(lengthS: number, endSec: number, detail: boolean): number {
  if (lengthS === 60) {
    if (!detail) return 60;
    const p = endSec % 10;
    return p <= 5 ? 60 + p : 50 + p;
  }
  const p = endSec % 60;
  if (lengthS === 300) return p <= 30 ? 300 + p : 240 + p;
  if (lengthS === 900) return p <= 30 ? 900 + p : 840 + p;
  throw new Error(`no documented span for ${lengthS} s`);
}

describe('windowSpan', () => {
  it('answers a pool minute with exactly the last 60 complete seconds', () => {
    for (const end of [T0, T0 + 1, T0 + 37]) {
      expect(windowSpan(60, end, POOL_TIERS)).toEqual({ startSec: end - 60, endSec: end, fine: true, partialS: 0, slots: 60 });
    }
  });

  it('answers 5 and 15 minutes from minute slots: 271..330 s and 871..930 s', () => {
    const minute = 1_700_000_040; // % 60 === 0
    expect(minute % 60).toBe(0);
    expect(windowSpan(300, minute, POOL_TIERS)).toMatchObject({ startSec: minute - 300, fine: false, partialS: 0, slots: 5 });
    expect(windowSpan(300, minute + 29, POOL_TIERS)).toMatchObject({ startSec: minute - 300, partialS: 29, slots: 5 });
    expect(windowSpan(300, minute + 30, POOL_TIERS)).toMatchObject({ startSec: minute - 300, partialS: 30, slots: 5 });
    expect(windowSpan(300, minute + 31, POOL_TIERS)).toMatchObject({ startSec: minute - 240, partialS: 31, slots: 4 });
    expect(windowSpan(900, minute, POOL_TIERS)).toMatchObject({ startSec: minute - 900, partialS: 0, slots: 15 });
    expect(windowSpan(900, minute + 29, POOL_TIERS)).toMatchObject({ startSec: minute - 900, partialS: 29, slots: 15 });
    // The longest span: 30 s of the minute in progress plus all 15 minute slots kept = 930 s.
    expect(windowSpan(900, minute + 30, POOL_TIERS)).toEqual({ startSec: minute - 900, endSec: minute + 30, fine: false, partialS: 30, slots: 15 });
    // The shortest: 31 s plus 14 slots = 871 s.
    expect(windowSpan(900, minute + 31, POOL_TIERS)).toEqual({ startSec: minute - 840, endSec: minute + 31, fine: false, partialS: 31, slots: 14 });
    const lengths: Record<number, number[]> = { 300: [], 900: [] };
    for (let p = 0; p < 60; p++) {
      for (const L of [300, 900]) {
        const s = windowSpan(L, minute + p, POOL_TIERS);
        expect(s.endSec - s.startSec, `L=${L} p=${p}`).toBe(documentedSpanS(L, minute + p, false));
        expect(s.startSec % 60).toBe(0);
        lengths[L]!.push(s.endSec - s.startSec);
      }
    }
    expect([Math.min(...lengths[300]!), Math.max(...lengths[300]!)]).toEqual([271, 330]);
    expect([Math.min(...lengths[900]!), Math.max(...lengths[900]!)]).toEqual([871, 930]);
    expect(COARSE_SLOTS).toBe(15);
  });

  it('gives detail (per-command, per-worker) minutes 10-second edges: 56..65 s', () => {
    const expected = [60, 61, 62, 63, 64, 65, 56, 57, 58, 59]; // by p = end mod 10 (T0 % 10 === 0)
    for (let p = 0; p < 10; p++) {
      const s = windowSpan(60, T0 + p, DETAIL_TIERS);
      expect(s.fine).toBe(true);
      expect(s.endSec - s.startSec, `p=${p}`).toBe(expected[p]);
      expect(s.startSec % 10).toBe(0);
    }
  });
});

/** Drive a sketch and a brute-force log of (second, value) side by side. */
function drive(tiers: typeof POOL_TIERS, seconds: number, perSecond: (sec: number) => number[]): { t: TieredSketch; log: [number, number][] } {
  const pool = new HistogramPool();
  const t = new TieredSketch(tiers, pool, T0, true);
  const log: [number, number][] = [];
  for (let i = 0; i < seconds; i++) {
    const sec = t.endSec;
    for (const v of perSecond(sec)) {
      t.cur.record(v);
      log.push([sec, v]);
    }
    t.endSecond();
  }
  return { t, log };
}

describe('TieredSketch', () => {
  it('answers each window with exactly the seconds of its span (count, min, max, quantiles)', () => {
    const rand = prng(7);
    for (const tiers of [POOL_TIERS, DETAIL_TIERS]) {
      // 1030 seconds from T0 (≡ 20 mod 60): the windows end at p = 30 of a minute, where the
      // 5- and 15-minute spans are longest (330 s and 930 s); the detail minute ends at p = 0 (60 s).
      const { t, log } = drive(tiers, 1030, (sec) => Array.from({ length: (sec % 7) + 1 }, () => logNormalNs(rand, 1e6 + (sec % 50) * 1e5, 0.8)));
      const end = T0 + 1030;
      expect(t.endSec).toBe(end);
      for (const [L, spanS] of [
        [60, 60],
        [300, 330],
        [900, 930],
      ] as const) {
        const out = new LogHistogram(true);
        expect(t.windowInto(out, L)).toMatchObject({ startSec: end - spanS, endSec: end });
        const inSpan = log.filter(([s]) => s >= end - spanS && s < end).map(([, v]) => v);
        expect(out.count).toBe(inSpan.length);
        const sorted = Float64Array.from(inSpan).sort();
        expect(out.minNs).toBe(sorted[0]);
        expect(out.maxNs).toBe(sorted[sorted.length - 1]);
        for (const q of QUANTILES) expect(relErr(out.quantileNs(q), exactQuantile(sorted, q))).toBeLessThanOrEqual(0.01);
      }
      expect(t.lifetime?.count).toBe(log.length);
    }
  });

  it('keeps quantiles within 1% over windows of arbitrary traffic (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: 0, max: 5e9, noNaN: true }), { maxLength: 20 }), { minLength: 61, maxLength: 400 }),
        fc.constantFrom(60, 300, 900),
        (perSecond, L) => {
          let i = 0;
          const { t, log } = drive(POOL_TIERS, perSecond.length, () => perSecond[i++]!);
          const startSec = t.endSec - documentedSpanS(L, t.endSec, false);
          const out = new LogHistogram(true);
          t.windowInto(out, L);
          const inSpan = log.filter(([s]) => s >= startSec && s < t.endSec).map(([, v]) => v);
          expect(out.count).toBe(inSpan.length);
          if (inSpan.length === 0) return;
          const sorted = Float64Array.from(inSpan).sort();
          for (const q of QUANTILES) {
            const exact = exactQuantile(sorted, q);
            // Durations under 1 µs read as ~1 µs: compare only where the sketch promises accuracy.
            if (exact >= 1e3) expect(relErr(out.quantileNs(q), exact)).toBeLessThanOrEqual(0.01);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('the last fine slot of a pool sketch is the last second; empty seconds read as null', () => {
    const pool = new HistogramPool();
    const t = new TieredSketch(POOL_TIERS, pool, T0);
    t.cur.record(5e6);
    t.endSecond();
    expect(t.lastFineSlot()?.count).toBe(1);
    t.endSecond();
    expect(t.lastFineSlot()).toBeNull();
  });

  it('holds a bounded number of histograms however long it runs, and reuses them', () => {
    const pool = new HistogramPool(8);
    const t = new TieredSketch(POOL_TIERS, pool, T0);
    for (let s = 0; s < 3000; s++) {
      t.cur.record(1 + s * 1e6);
      t.cur.record(1e12);
      t.endSecond();
    }
    expect(t.byteSize()).toBeLessThanOrEqual(TieredSketch.maxHistograms(POOL_TIERS) * MAX_HISTOGRAM_BYTES);
    expect(pool.size).toBeLessThanOrEqual(8);
  });

  it('reset() drops the windows and keeps the lifetime', () => {
    const { t } = drive(POOL_TIERS, 120, () => [1e6]);
    t.reset(T0 + 10_000);
    const out = new LogHistogram();
    t.windowInto(out, 900);
    expect(out.count).toBe(0);
    expect(t.lifetime?.count).toBe(120);
  });
});

describe('TieredCounter', () => {
  it('sums exactly the seconds of each span, like the sketches', () => {
    const rand = prng(3);
    for (const tiers of [POOL_TIERS, DETAIL_TIERS]) {
      const c = new TieredCounter(tiers, T0);
      const perSec: number[] = [];
      for (let i = 0; i < 1200; i++) {
        const n = Math.floor(rand() * 5);
        c.add(n);
        perSec.push(n);
        c.endSecond();
        if (i % 97 === 0 || i > 1190) {
          for (const L of [60, 300, 900]) {
            const span = windowSpan(L, c.endSec, tiers);
            let expected = 0;
            for (let s = span.startSec; s < span.endSec; s++) expected += perSec[s - T0] ?? 0;
            expect(c.window(L)).toBe(expected);
          }
        }
      }
      expect(c.total).toBe(perSec.reduce((a, b) => a + b, 0));
    }
  });
});

describe('SeriesRing', () => {
  it('holds the last `capacity` periods, clears reused slots and sums ranges', () => {
    const r = new SeriesRing(5, 2, 100);
    r.set(100, 0, 1);
    r.advanceTo(101);
    r.set(101, 0, 2);
    r.add(101, 0, 3);
    expect(r.get(101, 0)).toBe(5);
    expect(r.sum(0, 90, 200)).toBe(6);
    r.advanceTo(104);
    expect(r.holds(100)).toBe(true);
    r.advanceTo(105);
    expect(r.holds(100)).toBe(false);
    expect(r.get(100, 0)).toBe(0);
    expect(r.sum(0, 0, 1000)).toBe(5);
    r.advanceTo(1000); // a jump clears everything
    expect(r.sum(0, 0, 2000)).toBe(0);
    r.set(10, 0, 9); // outside: ignored
    expect(r.get(10, 0)).toBe(0);
  });

  it('sums any range across the wrap as the periods one by one (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 40 }), fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }), fc.integer({ min: -5, max: 60 }), fc.integer({ min: 0, max: 30 }), (cap, start, values, from, len) => {
        const r = new SeriesRing(cap, 3, start);
        values.forEach((v, i) => {
          if (i > 0) r.advanceTo(start + i);
          r.set(start + i, 1, v);
        });
        let naive = 0;
        for (let p = start + from; p < start + from + len; p++) naive += r.get(p, 1);
        expect(r.sum(1, start + from, start + from + len)).toBe(naive);
      }),
    );
  });
});

describe('HistogramPool', () => {
  it('hands back cleared histograms and keeps at most `capacity`', () => {
    const pool = new HistogramPool(2);
    const hs = [pool.take(), pool.take(), pool.take()];
    for (const h of hs) {
      h.record(1e6);
      pool.give(h);
    }
    expect(pool.size).toBe(2);
    expect(pool.take().count).toBe(0);
  });
});
