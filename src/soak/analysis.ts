/**
 * The statistics of a soak run (pure): least-squares lines with their r², memory growth per hour
 * per component judged against a bound, the query-latency trend, alerts at steady state and the
 * verdict. No clock, no I/O: samples in, figures out, so every rule has a unit test.
 *
 * How growth is judged, and why (the thresholds a 2-minute run can use without false alarms):
 * - Only samples after the warm-up count ({@link defaultWarmupMs}: a quarter of the run, at least
 *   30 s, at most 10 min). The first seconds legitimately grow everything: V8 compiles and caches,
 *   the pool's sessions and the collector's per-command entries appear, malloc arenas expand.
 * - A component is flagged when its fitted line is BOTH significant (r² ≥ {@link GROWTH_R2},
 *   so a noisy flat series whose slope is an artefact of noise is not flagged) AND steep (slope
 *   beyond the component's bound per hour) AND the fitted rise over the window is above the
 *   component's noise floor (a straight but tiny drift in a short run is below what a heap after
 *   a GC can resolve).
 * - The collector's figures grow by design until its longest window (15 minutes, plus the minute
 *   in progress) has filled: before {@link COLLECTOR_FILL_MS} its slope is reported, not judged;
 *   it is judged at any time against its designed bound (`memoryBoundPerPool`), which it must
 *   never exceed. Its figures are mostly small typed arrays on the V8 heap, so the heap grows with
 *   them: the heap minus `collector.memoryBytes()` is judged from the warm-up on, the whole heap
 *   (like the collector) once the windows have filled. Measured on a 2-minute run at 200 calls/s:
 *   heap 14.3 → 15.3 MB after the warm-up (r² 0.99), of which the collector 0.8 → 1.4 MB.
 * - What a 2-minute run can detect: a fitted rise over the noise floor within the ~90 s judged,
 *   i.e. a heap leak of ≥ 40 MB/h outside the collector (≥ 55 bytes retained per call at
 *   200 calls/s). A one-hour run resolves the 16 MB/h bound itself.
 *
 * @module
 */

/** A fitted line `y = intercept + slope·x`, with its coefficient of determination. */
export interface LinearFit {
  /** Per unit of x. */
  readonly slope: number;
  readonly intercept: number;
  /** Coefficient of determination, 0..1 (1 when every y is equal: a flat line fits perfectly). */
  readonly r2: number;
  /** Points fitted. */
  readonly n: number;
}

/**
 * Least-squares line of `ys` against `xs`. x is centred before summing, so epoch-ms abscissas lose
 * no precision. Null with fewer than 2 points or when every x is equal.
 */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit | null {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return null;
  let xm = 0;
  let ym = 0;
  for (let i = 0; i < n; i++) {
    xm += xs[i]!;
    ym += ys[i]!;
  }
  xm /= n;
  ym /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - xm;
    const dy = ys[i]! - ym;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  // r² = explained / total variance; a constant series has nothing to explain: the line is exact.
  const r2 = syy === 0 ? 1 : Math.min(1, (sxy * sxy) / (sxx * syy));
  return { slope, intercept: ym - slope * xm, r2, n };
}

/** Minimum r² for a slope to count as a trend rather than noise. */
export const GROWTH_R2 = 0.6;

/** The collector's longest window (15 min) plus the minute in progress: before this its growth is by design. */
export const COLLECTOR_FILL_MS = 16 * 60_000;

/** The warm-up skipped before judging growth: a quarter of the run, clamped to 30 s..10 min. */
export function defaultWarmupMs(durationMs: number): number {
  return Math.min(600_000, Math.max(30_000, Math.round(durationMs / 4)));
}

/** How one component's memory may grow after warm-up before the run fails. */
export interface GrowthBound {
  /** Steeper than this (bytes per hour) and significant: a leak. */
  readonly maxBytesPerH: number;
  /** A fitted rise over the window below this (bytes) is within measuring noise, whatever the slope. */
  readonly noiseFloorBytes: number;
}

/**
 * The bounds per component. Node heap is sampled after a forced GC (retained memory only): 16 MB/h
 * is ~4.4 kB/s, at 200 calls/s about 22 bytes retained per call, the smallest leak worth failing
 * on. RSS is the coarse backstop for native leaks: it moves in steps as V8 reserves and returns
 * heap pages and malloc arenas grow (measured at a steady heap in a 2-minute run: 82 → 101 → 88 →
 * 103 MB, a fitted 420 MB/h with r² 0.85), so its noise floor is 24 MB: beyond any such step, and
 * below the 27 MB that its 32 MB/h bound adds over the 50 minutes judged in a one-hour run. A
 * Python worker: 8 MB/h (its RSS is flat to the kB once its first calls have run).
 */
export const GROWTH_BOUNDS: Readonly<Record<'heap' | 'rss' | 'collector' | 'python', GrowthBound>> = {
  heap: { maxBytesPerH: 16e6, noiseFloorBytes: 1e6 },
  rss: { maxBytesPerH: 32e6, noiseFloorBytes: 24e6 },
  collector: { maxBytesPerH: 1e6, noiseFloorBytes: 64e3 },
  python: { maxBytesPerH: 8e6, noiseFloorBytes: 1e6 },
};

/** A series of (elapsed ms, value) to judge. */
export interface Series {
  readonly tMs: readonly number[];
  readonly values: readonly number[];
}

/** The judgement of one component's memory. */
export interface GrowthResult {
  readonly component: string;
  /** Fitted slope after warm-up, bytes per hour; null with fewer than 3 points. */
  readonly bytesPerH: number | null;
  readonly r2: number | null;
  /** Points after warm-up. */
  readonly n: number;
  /** First and last value after warm-up, bytes. */
  readonly firstBytes: number | null;
  readonly lastBytes: number | null;
  /** `ok`, `growing` (fails the run), `not judged` (too few points, or growth by design: see `reason`). */
  readonly verdict: 'ok' | 'growing' | 'not judged';
  readonly reason: string;
}

/** Options of {@link judgeGrowth}. */
export interface JudgeOptions {
  readonly warmupMs: number;
  readonly bound: GrowthBound;
  /** Judge the slope only from this elapsed time on (the collector's fill); default: always. */
  readonly judgeSlopeFromMs?: number;
  /** A hard ceiling, bytes (the collector's designed bound): any value above fails. */
  readonly ceilingBytes?: number;
}

const MB = 1e6;
const mb = (b: number): string => `${(b / MB).toFixed(2)} MB`;

/** Judge one component's memory series (see the module's rules). */
export function judgeGrowth(component: string, s: Series, o: JudgeOptions): GrowthResult {
  const idx = s.tMs.map((t, i) => i).filter((i) => s.tMs[i]! >= o.warmupMs);
  const xs = idx.map((i) => s.tMs[i]!);
  const ys = idx.map((i) => s.values[i]!);
  const fit = xs.length >= 3 ? linearFit(xs, ys) : null;
  const base = { component, n: xs.length, firstBytes: ys[0] ?? null, lastBytes: ys.at(-1) ?? null };
  const bytesPerH = fit === null ? null : fit.slope * 3_600_000;
  const r2 = fit?.r2 ?? null;
  const peak = s.values.length ? Math.max(...s.values) : null;
  if (o.ceilingBytes !== undefined && peak !== null && peak > o.ceilingBytes) {
    return { ...base, bytesPerH, r2, verdict: 'growing', reason: `peaked at ${mb(peak)}, above its designed bound of ${mb(o.ceilingBytes)}` };
  }
  if (fit === null || bytesPerH === null) return { ...base, bytesPerH, r2, verdict: 'not judged', reason: `${xs.length} point(s) after the warm-up; 3 needed` };
  const lastT = xs.at(-1)!;
  if (o.judgeSlopeFromMs !== undefined && lastT < o.judgeSlopeFromMs) {
    const bound = o.ceilingBytes === undefined ? '' : ` (held under its bound of ${mb(o.ceilingBytes)})`;
    return { ...base, bytesPerH, r2, verdict: 'not judged', reason: `the collector's windows fill for the first ${Math.round(o.judgeSlopeFromMs / 60_000)} min: growth by design${bound}` };
  }
  const rise = fit.slope * (lastT - xs[0]!);
  const steep = bytesPerH > o.bound.maxBytesPerH;
  const significant = fit.r2 >= GROWTH_R2;
  const visible = rise > o.bound.noiseFloorBytes;
  if (steep && significant && visible) {
    return { ...base, bytesPerH, r2, verdict: 'growing', reason: `grows ${mb(bytesPerH)}/h (r² ${fit.r2.toFixed(2)}), bound ${mb(o.bound.maxBytesPerH)}/h` };
  }
  const why = !steep ? `slope within ${mb(o.bound.maxBytesPerH)}/h` : !significant ? `r² ${fit.r2.toFixed(2)} < ${GROWTH_R2}: noise, not a trend` : `fitted rise ${mb(rise)} within the ${mb(o.bound.noiseFloorBytes)} noise floor`;
  return { ...base, bytesPerH, r2, verdict: 'ok', reason: why };
}

/** A trend that is not memory (query latency): fitted slope per hour and relative change. */
export interface Trend {
  readonly perH: number | null;
  readonly r2: number | null;
  /** Mean of the first and of the last third of the points after warm-up. */
  readonly firstMean: number | null;
  readonly lastMean: number | null;
}

/** The trend of a series after `warmupMs`. */
export function trend(s: Series, warmupMs: number): Trend {
  const idx = s.tMs.map((t, i) => i).filter((i) => s.tMs[i]! >= warmupMs && Number.isFinite(s.values[i]!));
  const xs = idx.map((i) => s.tMs[i]!);
  const ys = idx.map((i) => s.values[i]!);
  const fit = linearFit(xs, ys);
  const third = Math.max(1, Math.floor(ys.length / 3));
  const mean = (a: readonly number[]): number | null => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);
  return { perH: fit === null ? null : fit.slope * 3_600_000, r2: fit?.r2 ?? null, firstMean: mean(ys.slice(0, third)), lastMean: mean(ys.slice(-third)) };
}

/** Every `step`-th item so that at most `maxRows` remain; the last item is always kept. */
export function downsample<T>(items: readonly T[], maxRows: number): T[] {
  if (items.length <= maxRows) return [...items];
  const step = Math.ceil(items.length / maxRows);
  const out = items.filter((_, i) => i % step === 0);
  const last = items.at(-1)!;
  if (out.at(-1) !== last) {
    if (out.length >= maxRows) out[out.length - 1] = last;
    else out.push(last);
  }
  return out;
}

/** Query latency grows (fails the run) when significant and above this many ms per hour and visibly (x2 from first to last third). */
export const LATENCY_BOUND_MS_PER_H = 20;

/** Whether a latency trend fails the run (see {@link LATENCY_BOUND_MS_PER_H}). */
export function latencyGrowing(t: Trend): boolean {
  return t.perH !== null && t.r2 !== null && t.r2 >= GROWTH_R2 && t.perH > LATENCY_BOUND_MS_PER_H && t.firstMean !== null && t.lastMean !== null && t.lastMean > 2 * Math.max(t.firstMean, 1);
}

// ---------------------------------------------------------------------------------------------
// The run as a whole

/** What a run was asked to do. */
export interface SoakParams {
  readonly durationMs: number;
  readonly intervalMs: number;
  readonly warmupMs: number;
  readonly opsPerS: number;
  readonly poolSize: number;
  /** Samples taken after a forced GC. */
  readonly gc: boolean;
  readonly startedAt: string;
  readonly node: string;
  readonly machine: string;
}

/** The figures of a run's end: the load's counters once every call settled (or the drain gave up). */
export interface SoakEnd {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  /** Workers in the pool's status at the end, and the size it should have. */
  readonly poolWorkers: number;
  readonly poolSize: number;
  /** Alert events seen after the warm-up (each with its name and time). */
  readonly steadyAlerts: readonly { readonly tMs: number; readonly kind: string; readonly name: string }[];
}

/** The judgement of a run. */
export interface SoakAnalysis {
  /** Memory growth per component (Node heap, RSS, the collector, each Python worker slot). */
  readonly growth: readonly GrowthResult[];
  readonly queryLatency: Trend;
  readonly snapshotLatency: Trend;
  readonly latencyGrowing: boolean;
  /** Alerts fired after the warm-up (target: none). */
  readonly alertsFiredAtSteadyState: number;
  readonly verdict: 'pass' | 'fail';
  /** Why it failed (empty when it passed). */
  readonly failures: readonly string[];
}

/** The minimal shape of a sample {@link analyzeSoak} reads (see `SoakSample`). */
export interface AnalyzableSample {
  readonly tMs: number;
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
  readonly collectorBytes: number;
  readonly collectorBoundBytes: number;
  readonly queryMs: number;
  readonly snapshotMs: number | null;
  readonly workers: readonly { readonly workerId: number | null; readonly pid: number; readonly rssBytes: number }[];
}

/**
 * A replacement Python process warms up like the first ones did (measured: 13.2 → 17.1 MB over
 * its first 20 s after a crash): its samples in this long after it was first seen are not judged.
 */
export const PYTHON_PROCESS_WARMUP_MS = 30_000;

/**
 * Each Python worker slot's RSS over the samples where it ran its final process (a crashed
 * worker's replacement starts small again: across processes the series would saw-tooth), from
 * {@link PYTHON_PROCESS_WARMUP_MS} after that process was first seen.
 */
export function pythonSlotSeries(samples: readonly AnalyzableSample[]): Map<number, Series> {
  const finalPid = new Map<number, number>();
  const firstSeen = new Map<number, number>();
  for (const s of samples) {
    for (const w of s.workers) {
      if (w.workerId === null) continue;
      if (finalPid.get(w.workerId) !== w.pid) firstSeen.set(w.workerId, s.tMs);
      finalPid.set(w.workerId, w.pid);
    }
  }
  const out = new Map<number, { tMs: number[]; values: number[] }>();
  for (const s of samples) {
    for (const w of s.workers) {
      if (w.workerId === null || finalPid.get(w.workerId) !== w.pid) continue;
      // The first processes are covered by the run's warm-up; a replacement gets its own.
      const seen = firstSeen.get(w.workerId)!;
      if (seen > samples[0]!.tMs && s.tMs < seen + PYTHON_PROCESS_WARMUP_MS) continue;
      let e = out.get(w.workerId);
      if (!e) out.set(w.workerId, (e = { tMs: [], values: [] }));
      e.tMs.push(s.tMs);
      e.values.push(w.rssBytes);
    }
  }
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}

/** Judge a run: memory growth per component, latency trends, steady-state alerts, calls and pool size. */
export function analyzeSoak(samples: readonly AnalyzableSample[], p: Pick<SoakParams, 'warmupMs'>, end: SoakEnd): SoakAnalysis {
  const tMs = samples.map((s) => s.tMs);
  const col = (k: 'heapUsedBytes' | 'rssBytes' | 'collectorBytes'): Series => ({ tMs, values: samples.map((s) => s[k]) });
  const ceiling = samples.length ? Math.max(...samples.map((s) => s.collectorBoundBytes)) : undefined;
  // The collector's figures live on the heap and grow by design while its windows fill: the heap
  // without them is judged from the warm-up on, the whole heap only once they have filled.
  const heapOutside: Series = { tMs, values: samples.map((s) => s.heapUsedBytes - s.collectorBytes) };
  const growth: GrowthResult[] = [
    judgeGrowth('node heap outside the collector', heapOutside, { warmupMs: p.warmupMs, bound: GROWTH_BOUNDS.heap }),
    judgeGrowth('node heap (after GC)', col('heapUsedBytes'), { warmupMs: p.warmupMs, bound: GROWTH_BOUNDS.heap, judgeSlopeFromMs: COLLECTOR_FILL_MS }),
    judgeGrowth('node RSS', col('rssBytes'), { warmupMs: p.warmupMs, bound: GROWTH_BOUNDS.rss }),
    judgeGrowth('metrics collector', col('collectorBytes'), { warmupMs: p.warmupMs, bound: GROWTH_BOUNDS.collector, judgeSlopeFromMs: COLLECTOR_FILL_MS, ...(ceiling === undefined ? {} : { ceilingBytes: ceiling }) }),
  ];
  for (const [id, s] of pythonSlotSeries(samples)) growth.push(judgeGrowth(`python worker ${id}`, s, { warmupMs: p.warmupMs, bound: GROWTH_BOUNDS.python }));
  const queryLatency = trend({ tMs, values: samples.map((s) => s.queryMs) }, p.warmupMs);
  const snapshotLatency = trend({ tMs, values: samples.map((s) => s.snapshotMs ?? Number.NaN) }, p.warmupMs);
  const growingLatency = latencyGrowing(queryLatency) || latencyGrowing(snapshotLatency);
  const fired = end.steadyAlerts.filter((a) => a.kind === 'firing');

  const failures: string[] = [];
  for (const g of growth) if (g.verdict === 'growing') failures.push(`${g.component} ${g.reason}`);
  if (growingLatency) failures.push('query latency grows steadily after the warm-up');
  if (fired.length > 0) failures.push(`${fired.length} alert(s) fired at steady state: ${[...new Set(fired.map((a) => a.name))].join(', ')}`);
  const unsettled = end.sent - end.ok - end.failed;
  if (unsettled !== 0) failures.push(`${unsettled} call(s) never settled`);
  if (end.poolWorkers < end.poolSize) failures.push(`the pool ended with ${end.poolWorkers} of ${end.poolSize} workers`);
  if (end.sent === 0) failures.push('no call was sent');
  const snapshotsFailed = samples.filter((s) => s.snapshotMs === null).length;
  if (samples.length > 0 && snapshotsFailed === samples.length) failures.push('every /api/snapshot query failed');
  return { growth, queryLatency, snapshotLatency, latencyGrowing: growingLatency, alertsFiredAtSteadyState: fired.length, verdict: failures.length === 0 ? 'pass' : 'fail', failures };
}
