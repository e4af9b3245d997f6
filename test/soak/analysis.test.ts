/**
 * The soak's statistics (pure): least-squares slope and r² against series whose answer is known,
 * growth judged per component (a synthetic leak is flagged, a flat noisy series is not, the
 * collector's fill is not judged but its bound is), trends, downsampling and the run's verdict.
 */
import { describe, expect, it } from 'vitest';
import { prng } from '../../src/util/prng.js';
import { analyzeSoak, COLLECTOR_FILL_MS, defaultWarmupMs, downsample, GROWTH_BOUNDS, judgeGrowth, latencyGrowing, linearFit, pythonSlotSeries, trend, type AnalyzableSample, type SoakEnd } from '../../src/soak/analysis.js';
import { parseDuration } from '../../src/soak/run-soak.js';

const H = 3_600_000;
const times = (n: number, stepMs = 10_000): number[] => Array.from({ length: n }, (_, i) => (i + 1) * stepMs);

describe('linearFit', () => {
  it('recovers an exact line: slope, intercept, r² = 1', () => {
    const xs = [1, 2, 3, 4, 5];
    const fit = linearFit(xs, xs.map((x) => 3 + 2 * x))!;
    expect(fit.slope).toBeCloseTo(2, 12);
    expect(fit.intercept).toBeCloseTo(3, 12);
    expect(fit.r2).toBeCloseTo(1, 12);
    expect(fit.n).toBe(5);
  });

  it('matches the textbook values of a known small series', () => {
    // x 1..5, y 2 4 5 4 5: slope 0.6, intercept 2.2, r² 0.6 (Sxy 6, Sxx 10, Syy 6).
    const fit = linearFit([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])!;
    expect(fit.slope).toBeCloseTo(0.6, 12);
    expect(fit.intercept).toBeCloseTo(2.2, 12);
    expect(fit.r2).toBeCloseTo(0.6, 12);
  });

  it('keeps precision with epoch-millisecond abscissas', () => {
    const xs = times(50).map((t) => 1.8e12 + t);
    const fit = linearFit(xs, xs.map((x) => 5e6 + (x - 1.8e12) * 0.25))!;
    expect(fit.slope).toBeCloseTo(0.25, 9);
    expect(fit.r2).toBeCloseTo(1, 9);
  });

  it('a flat series fits exactly (r² 1, slope 0); fewer than 2 points or one abscissa: null', () => {
    expect(linearFit([1, 2, 3], [7, 7, 7])).toMatchObject({ slope: 0, r2: 1 });
    expect(linearFit([1], [1])).toBeNull();
    expect(linearFit([4, 4, 4], [1, 2, 3])).toBeNull();
  });

  it('pure noise has a low r²', () => {
    const rnd = prng(7);
    const xs = times(200);
    expect(linearFit(xs, xs.map(() => rnd()))!.r2).toBeLessThan(0.05);
  });
});

describe('judgeGrowth', () => {
  const heap = { warmupMs: 30_000, bound: GROWTH_BOUNDS.heap };

  it('flags a synthetic leak: 60 MB/h on a 14 MB heap with ±100 kB noise over a 2-minute run', () => {
    const rnd = prng(1);
    const t = times(12);
    const r = judgeGrowth('heap', { tMs: t, values: t.map((x) => 14e6 + (x * 60e6) / H + (rnd() - 0.5) * 2e5) }, heap);
    expect(r.verdict).toBe('growing');
    expect(r.bytesPerH! / 1e6).toBeGreaterThan(40);
    expect(r.bytesPerH! / 1e6).toBeLessThan(80);
    expect(r.r2!).toBeGreaterThan(0.9);
    expect(r.n).toBe(10); // 30 s of warm-up skipped
  });

  it('does not flag a flat noisy series (±1 MB around 14 MB over an hour)', () => {
    const rnd = prng(2);
    const t = times(360);
    const r = judgeGrowth('heap', { tMs: t, values: t.map(() => 14e6 + (rnd() - 0.5) * 2e6) }, { ...heap, warmupMs: 600_000 });
    expect(r.verdict).toBe('ok');
    expect(Math.abs(r.bytesPerH!)).toBeLessThan(GROWTH_BOUNDS.heap.maxBytesPerH);
  });

  it('a steep slope that is noise (low r²) is not a trend', () => {
    // Four points, huge scatter: the fitted slope is steep, r² is low.
    const r = judgeGrowth('rss', { tMs: [40_000, 50_000, 60_000, 70_000], values: [100e6, 80e6, 110e6, 90e6 + 12e6] }, { warmupMs: 30_000, bound: GROWTH_BOUNDS.rss });
    expect(r.r2!).toBeLessThan(0.6);
    expect(r.verdict).toBe('ok');
    expect(r.reason).toMatch(/noise, not a trend/);
  });

  it('RSS stepping as V8 reserves and returns pages (measured in a 2-minute run) is not a leak', () => {
    const rss = [82.38, 100.57, 102.8, 88.29, 91.3, 93.53, 97.07, 97.6, 97.73, 98.64, 99.3, 103.23].map((m) => m * 1e6);
    const r = judgeGrowth('rss', { tMs: times(12), values: rss }, { warmupMs: 30_000, bound: GROWTH_BOUNDS.rss });
    expect(r.bytesPerH!).toBeGreaterThan(GROWTH_BOUNDS.rss.maxBytesPerH);
    expect(r.verdict).toBe('ok');
  });

  it('a straight but tiny rise stays under the noise floor', () => {
    const t = times(12);
    const r = judgeGrowth('heap', { tMs: t, values: t.map((x) => 14e6 + (x * 20e6) / H) }, heap); // 0.5 MB over 90 s
    expect(r.r2!).toBeCloseTo(1, 6);
    expect(r.bytesPerH!).toBeGreaterThan(GROWTH_BOUNDS.heap.maxBytesPerH);
    expect(r.verdict).toBe('ok');
    expect(r.reason).toMatch(/noise floor/);
  });

  it('the collector filling its windows is not judged before they are full; above its bound always fails', () => {
    const t = times(12);
    const filling = { tMs: t, values: t.map((x) => 0.5e6 + x * 10) };
    const opts = { warmupMs: 30_000, bound: GROWTH_BOUNDS.collector, judgeSlopeFromMs: COLLECTOR_FILL_MS, ceilingBytes: 15e6 };
    expect(judgeGrowth('collector', filling, opts).verdict).toBe('not judged');
    expect(judgeGrowth('collector', filling, { ...opts, judgeSlopeFromMs: 0 }).verdict).toBe('growing');
    const over = { tMs: t, values: t.map((x, i) => (i === 5 ? 16e6 : 1e6)) };
    const r = judgeGrowth('collector', over, opts);
    expect(r.verdict).toBe('growing');
    expect(r.reason).toMatch(/above its designed bound/);
  });

  it('too few points after the warm-up: not judged', () => {
    expect(judgeGrowth('heap', { tMs: [10_000, 20_000, 30_000, 40_000], values: [1, 2, 3, 4] }, heap).verdict).toBe('not judged');
  });
});

describe('trend, latency and helpers', () => {
  it('a latency that climbs from 2 to 40 ms is growing; a steady one is not', () => {
    const t = times(60, 60_000);
    const climbing = trend({ tMs: t, values: t.map((x) => 2 + (38 * x) / t.at(-1)!) }, 0);
    expect(climbing.perH!).toBeGreaterThan(30);
    expect(latencyGrowing(climbing)).toBe(true);
    const rnd = prng(3);
    expect(latencyGrowing(trend({ tMs: t, values: t.map(() => 10 + rnd()) }, 0))).toBe(false);
  });

  it('trend skips non-finite values (a failed HTTP query)', () => {
    const tr = trend({ tMs: [1, 2, 3, 4], values: [1, Number.NaN, 3, 4] }, 0);
    expect(tr.r2).not.toBeNull();
    expect(tr.firstMean).toBe(1);
  });

  it('downsample keeps at most maxRows, the first and the last', () => {
    const items = Array.from({ length: 360 }, (_, i) => i);
    const d = downsample(items, 30);
    expect(d.length).toBeLessThanOrEqual(30);
    expect(d[0]).toBe(0);
    expect(d.at(-1)).toBe(359);
    expect(downsample([1, 2, 3], 30)).toEqual([1, 2, 3]);
    for (let n = 31; n < 100; n++) expect(downsample(Array.from({ length: n }, (_, i) => i), 30).length).toBeLessThanOrEqual(30);
  });

  it('the default warm-up: a quarter of the run, 30 s..10 min', () => {
    expect(defaultWarmupMs(120_000)).toBe(30_000);
    expect(defaultWarmupMs(20 * 60_000)).toBe(300_000);
    expect(defaultWarmupMs(H)).toBe(600_000);
  });

  it('parseDuration', () => {
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    for (const bad of ['', '2', 'm', '2x', '2m ', '-1m', '1m2']) expect(parseDuration(bad)).toBeNull();
  });
});

describe('analyzeSoak', () => {
  const sample = (tMs: number, over: Partial<AnalyzableSample> = {}): AnalyzableSample => ({
    tMs,
    heapUsedBytes: 14e6,
    rssBytes: 100e6,
    collectorBytes: 1e6,
    collectorBoundBytes: 15e6,
    queryMs: 1,
    snapshotMs: 10,
    workers: [{ workerId: 0, pid: 100, rssBytes: 17e6 }],
    ...over,
  });
  const end: SoakEnd = { sent: 1000, ok: 990, failed: 10, skipped: 0, poolWorkers: 4, poolSize: 4, steadyAlerts: [] };
  const t = times(12);

  it('a steady run passes', () => {
    const a = analyzeSoak(t.map((x) => sample(x)), { warmupMs: 30_000 }, end);
    expect(a.failures).toEqual([]);
    expect(a.verdict).toBe('pass');
    expect(a.growth.map((g) => g.component)).toEqual(['node heap outside the collector', 'node heap (after GC)', 'node RSS', 'metrics collector', 'python worker 0']);
  });

  it('the heap growing with the collector is by design; growing outside it fails', () => {
    const withCollector = t.map((x) => sample(x, { heapUsedBytes: 14e6 + x * 20, collectorBytes: 1e6 + x * 20 }));
    expect(analyzeSoak(withCollector, { warmupMs: 30_000 }, end).verdict).toBe('pass');
    const leak = t.map((x) => sample(x, { heapUsedBytes: 14e6 + x * 20 }));
    const a = analyzeSoak(leak, { warmupMs: 30_000 }, end);
    expect(a.verdict).toBe('fail');
    expect(a.failures[0]).toMatch(/^node heap outside the collector grows/);
  });

  it('a leaking Python worker fails; a replaced one (RSS back down, new pid) does not', () => {
    const leaking = t.map((x) => sample(x, { workers: [{ workerId: 0, pid: 100, rssBytes: 17e6 + x * 30 }] }));
    expect(analyzeSoak(leaking, { warmupMs: 30_000 }, end).failures.join()).toMatch(/python worker 0 grows/);
    const replaced = t.map((x, i) => sample(x, { workers: [{ workerId: 0, pid: i < 6 ? 100 : 200, rssBytes: i < 6 ? 17e6 + i * 1e6 : 17e6 }] }));
    expect(pythonSlotSeries(replaced).get(0)!.tMs.length).toBe(3); // its first 30 s are its warm-up
    // A replacement warming from 13.2 to 17.1 MB over its first 30 s (as measured) is not a leak;
    // judged from its first sample it would be (a steady 4 MB rise).
    const rss = [17.2, 17.2, 17.2, 17.2, 17.2, 17.2, 13.18, 14.5, 15.8, 17.1, 17.13, 17.13];
    const warming = t.map((x, i) => sample(x, { workers: [{ workerId: 0, pid: i < 6 ? 100 : 200, rssBytes: rss[i]! * 1e6 }] }));
    expect(analyzeSoak(warming, { warmupMs: 30_000 }, end).verdict).toBe('pass');
    const fromFirst = judgeGrowth('py', { tMs: t.slice(6), values: rss.slice(6).map((m) => m * 1e6) }, { warmupMs: 0, bound: GROWTH_BOUNDS.python });
    expect(fromFirst.verdict).toBe('growing');
    expect(analyzeSoak(replaced, { warmupMs: 30_000 }, end).verdict).toBe('pass');
  });

  it('fails on alerts at steady state, unsettled calls, a shrunken pool and failing snapshots', () => {
    const steady = t.map((x) => sample(x));
    const f = (e: Partial<SoakEnd>, s = steady): readonly string[] => analyzeSoak(s, { warmupMs: 30_000 }, { ...end, ...e }).failures;
    expect(f({ steadyAlerts: [{ tMs: 60_000, kind: 'firing', name: 'crash_loop' }] })).toEqual(['1 alert(s) fired at steady state: crash_loop']);
    expect(f({ steadyAlerts: [{ tMs: 60_000, kind: 'resolved', name: 'crash_loop' }] })).toEqual([]);
    expect(f({ ok: 980 })).toEqual(['10 call(s) never settled']);
    expect(f({ poolWorkers: 3 })).toEqual(['the pool ended with 3 of 4 workers']);
    expect(f({}, t.map((x) => sample(x, { snapshotMs: null })))).toEqual(['every /api/snapshot query failed']);
  });
});
