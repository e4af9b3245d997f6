import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TrendRing, leastSquaresSlope } from '../../src/resources/index.js';
import { countActiveResources, heartbeatDelayNs, summarizeDelayHistogram } from '../../src/resources/index.js';

describe('leastSquaresSlope', () => {
  it('recovers the slope of a line, even at epoch-sized times', () => {
    const ts = [0, 1, 2, 3, 4].map((t) => 1.7e9 + t);
    const ys = ts.map((t) => 3 * (t - 1.7e9) + 10);
    expect(leastSquaresSlope(ts, ys)).toBeCloseTo(3, 9);
  });

  it('null below the minimum points or with equal times', () => {
    expect(leastSquaresSlope([1, 2], [1, 2])).toBeNull();
    expect(leastSquaresSlope([1, 1, 1], [1, 2, 3])).toBeNull();
  });

  it('property: exact for any line', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.integer({ min: 3, max: 50 }), (a, b, n) => {
        const ts = Array.from({ length: n }, (_, i) => i * 5);
        const ys = ts.map((t) => a * t + b);
        const s = leastSquaresSlope(ts, ys);
        expect(s).not.toBeNull();
        expect(Math.abs((s ?? 0) - a)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(a), Math.abs(b) / 100));
      }),
    );
  });
});

describe('TrendRing', () => {
  it('slope per second over the window; the ring is bounded', () => {
    const r = new TrendRing(4);
    expect(r.slopePerS(60_000)).toBeNull();
    r.push(0, 0);
    r.push(1000, 100);
    expect(r.slopePerS(60_000)).toBeNull(); // fewer than 3 points
    r.push(2000, 200);
    expect(r.slopePerS(60_000)).toBeCloseTo(100);
    for (let i = 3; i < 10; i++) r.push(i * 1000, i * 100 + (i >= 7 ? (i - 6) * 1000 : 0));
    expect(r.size).toBe(4);
    // last 4 points: t=6..9 s, values 600, 1700, 2800, 3900 -> 1100/s
    expect(r.slopePerS(60_000)).toBeCloseTo(1100);
  });

  it('only points inside the window count', () => {
    const r = new TrendRing(100);
    for (let i = 0; i < 10; i++) r.push(i * 1000, i < 5 ? 0 : (i - 5) * 500);
    expect(r.slopePerS(4000)).toBeCloseTo(500); // t = 5..9 s
    expect(r.slopePerS(60_000)).toBeGreaterThan(0);
  });

  it('ignores a point older than the newest and rejects bad capacities', () => {
    const r = new TrendRing(3);
    r.push(1000, 1);
    r.push(500, 99);
    expect(r.size).toBe(1);
    expect(() => new TrendRing(1)).toThrow(RangeError);
  });
});

describe('node-sampler helpers', () => {
  it('splits active resources into handles and requests', () => {
    expect(countActiveResources(['TTYWrap', 'Timeout', 'FSReqCallback', 'TCPServerWrap', 'GetAddrInfoReqWrap', 'WriteWrap'])).toEqual({ handles: 3, requests: 3 });
  });

  it('summarises a histogram in microseconds; zeros when empty', () => {
    expect(summarizeDelayHistogram({ count: 0, percentile: () => 9e18, max: 9e18, mean: NaN })).toEqual({ p50: 0, p99: 0, max: 0, mean: 0 });
    expect(summarizeDelayHistogram({ count: 3, percentile: (p) => (p === 50 ? 11e6 : 20e6), max: 300e6, mean: 12e6 })).toEqual({ p50: 11_000, p99: 20_000, max: 300_000, mean: 12_000 });
  });

  it('heartbeat delay: beyond the resolution, in ns, at least 1', () => {
    expect(heartbeatDelayNs(310, 10)).toBe(300e6);
    expect(heartbeatDelayNs(9.5, 10)).toBe(1);
  });
});
