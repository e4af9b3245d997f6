import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { KEY_COUNT, MIN_TRACKED_NS } from '../../src/metrics/log-histogram.js';
import { poolByteSize, poolMemoryBound } from '../../src/metrics/memory-bound.js';
import { PoolMetrics } from '../../src/metrics/pool-metrics.js';
import {
  commandMetrics,
  commandNames,
  commandTotals,
  errorRates,
  errorTotals,
  lastMinute,
  lastSecond,
  latencyDistribution,
  latencyHistogram,
  metricsRange,
  windowSummary,
  workerIds,
  workerMetrics,
} from '../../src/metrics/pool-queries.js';
import { DEFAULT_POOL_LIMITS } from '../../src/metrics/pool-state.js';
import { OVERFLOW_NAME, OVERFLOW_WORKER_ID, type WindowName } from '../../src/contract/metrics.js';
import { exactQuantile, logNormalNs, prng, relErr } from './helpers.js';

const MINUTE = 1_700_000_040; // a minute boundary, in seconds
const QS = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p95', 0.95],
  ['p99', 0.99],
  ['p999', 0.999],
] as const;

interface Op {
  sec: number;
  command: string;
  workerId: number;
  durationNs: number;
  queueWaitNs: number;
  failed: boolean;
}

/** Feed `seconds` seconds of synthetic traffic and keep every op for exact comparisons. */
function feed(pm: PoolMetrics, seconds: number, perSecond: (sec: number, rand: () => number) => Omit<Op, 'sec'>[], seed = 1): Op[] {
  const rand = prng(seed);
  const log: Op[] = [];
  for (let i = 0; i < seconds; i++) {
    const sec = pm.sec;
    for (const op of perSecond(sec, rand)) {
      pm.recordOperation(op.command, op.workerId, op.durationNs, op.queueWaitNs, op.failed, sec * 1000);
      log.push({ sec, ...op });
    }
    pm.endSecond();
  }
  return log;
}

function checkSummary(got: Record<(typeof QS)[number][0] | 'count' | 'min' | 'max' | 'mean', number>, valuesNs: number[]): void {
  expect(got.count).toBe(valuesNs.length);
  if (valuesNs.length === 0) return;
  const sorted = Float64Array.from(valuesNs).sort();
  expect(got.min).toBeCloseTo(sorted[0]! / 1e3, 9);
  expect(got.max).toBeCloseTo(sorted[sorted.length - 1]! / 1e3, 9);
  expect(got.mean).toBeCloseTo(valuesNs.reduce((a, b) => a + b, 0) / valuesNs.length / 1e3, 6);
  for (const [k, q] of QS) {
    const exact = exactQuantile(sorted, q);
    if (exact === 0) expect(got[k]).toBe(0);
    else expect(relErr(got[k] * 1e3, exact)).toBeLessThanOrEqual(0.01);
  }
}

/** Every window of `pm` against the ops of its span, given as a length in seconds ending at `pm.sec`. */
function check(pm: PoolMetrics, log: Op[], spansS: Record<WindowName, number>): void {
  for (const w of ['1m', '5m', '15m'] as WindowName[]) {
    const startSec = pm.sec - spansS[w];
    const ops = log.filter((o) => o.sec >= startSec && o.sec < pm.sec);
    const s = windowSummary(pm, w);
    expect(s.window).toBe(w);
    expect(s.coveredS).toBe(spansS[w]);
    expect(s.ops).toBe(ops.length);
    expect(s.errors).toBe(ops.filter((o) => o.failed).length);
    expect(s.errorRate).toBeCloseTo(s.errors / s.ops, 12);
    expect(s.throughputPerS).toBeCloseTo(ops.length / s.coveredS, 12);
    checkSummary(s.latencyUs, ops.map((o) => o.durationNs));
    checkSummary(s.queueWaitUs, ops.map((o) => o.queueWaitNs));
    expect(s.healthScore).toBeGreaterThanOrEqual(0);
    expect(s.healthScore).toBeLessThanOrEqual(100);
  }
}

const traffic = (sec: number, rand: () => number): Omit<Op, 'sec'>[] =>
  Array.from({ length: 5 + (sec % 11) }, (_, i) => ({
    command: ['embed', 'predict', 'tokenize'][i % 3]!,
    workerId: i % 4,
    durationNs: logNormalNs(rand, i % 3 === 1 ? 20e6 : 800e3, 0.7),
    queueWaitNs: rand() < 0.6 ? 0 : rand() * 3e6,
    failed: rand() < 0.05,
  }));

describe('PoolMetrics windows', () => {
  it('summarises 1m, 5m and 15m windows exactly over their spans (counts) and within 1% (quantiles)', () => {
    const pm = new PoolMetrics('p', MINUTE - 17);
    const log = feed(pm, 1007, traffic);
    // Documented spans (window-ring.ts): 60 s; p completed seconds of the minute plus the nearest
    // whole number of minutes. At p = 30 (MINUTE + 990) the longest: 330 s and 930 s.
    expect(pm.sec).toBe(MINUTE + 990);
    check(pm, log, { '1m': 60, '5m': 330, '15m': 930 });
    // One second later (p = 31) the shortest: 271 s and 871 s.
    log.push(...feed(pm, 1, traffic, 2));
    check(pm, log, { '1m': 60, '5m': 271, '15m': 871 });
  });

  it('covers only the seconds since the pool was first heard from', () => {
    const pm = new PoolMetrics('p', MINUTE);
    feed(pm, 10, () => [{ command: 'c', workerId: 0, durationNs: 1e6, queueWaitNs: 0, failed: false }]);
    const s = windowSummary(pm, '15m');
    expect(s.coveredS).toBe(10);
    expect(s.ops).toBe(10);
    expect(s.throughputPerS).toBe(1);
  });

  it('lastSecond and lastMinute describe the last complete second and the last 60', () => {
    const pm = new PoolMetrics('p', MINUTE);
    const log = feed(pm, 75, traffic);
    const last = lastSecond(pm);
    const lastOps = log.filter((o) => o.sec === pm.sec - 1);
    expect(last.timestampMs).toBe((pm.sec - 1) * 1000);
    expect(last.periodS).toBe(1);
    expect(last.ops).toBe(lastOps.length);
    checkSummary(last.latencyUs, lastOps.map((o) => o.durationNs));
    const minute = lastMinute(pm);
    const minuteOps = log.filter((o) => o.sec >= pm.sec - 60);
    expect(minute.timestampMs).toBe((pm.sec - 60) * 1000);
    expect(minute.periodS).toBe(60);
    expect(minute.ops).toBe(minuteOps.length);
    checkSummary(minute.queueWaitUs, minuteOps.map((o) => o.queueWaitNs));
  });

  it('a clock jump beyond the retention empties the windows but keeps lifetime totals', () => {
    const pm = new PoolMetrics('p', MINUTE);
    feed(pm, 30, traffic);
    const ops = pm.getTotals().operations;
    pm.advanceTo(pm.sec + 5000);
    expect(windowSummary(pm, '15m').ops).toBe(0);
    expect(pm.getTotals().operations).toBe(ops);
    expect(latencyHistogram(pm, 'operation').count).toBe(ops);
  });
});

describe('PoolMetrics range', () => {
  it('gives per-second points up to 15 minutes', () => {
    const pm = new PoolMetrics('p', MINUTE);
    const log = feed(pm, 200, traffic);
    const toMs = pm.sec * 1000;
    const r = metricsRange(pm, toMs - 120_000, toMs);
    expect(r.resolutionS).toBe(1);
    expect(r.points).toHaveLength(120);
    for (const p of r.points) {
      const ops = log.filter((o) => o.sec * 1000 === p.timestampMs);
      expect(p.ops).toBe(ops.length);
      expect(p.errors).toBe(ops.filter((o) => o.failed).length);
      const sorted = Float64Array.from(ops.map((o) => o.durationNs)).sort();
      expect(relErr(p.latencyP50Us * 1e3, exactQuantile(sorted, 0.5))).toBeLessThanOrEqual(0.01);
      expect(relErr(p.latencyP90Us! * 1e3, exactQuantile(sorted, 0.9))).toBeLessThanOrEqual(0.01);
      expect(relErr(p.latencyP99Us * 1e3, exactQuantile(sorted, 0.99))).toBeLessThanOrEqual(0.01);
    }
  });

  it('counts errors by category per second and per minute (the web dashboard\'s error chart)', () => {
    const pm = new PoolMetrics('p', MINUTE);
    pm.recordError('python', 'ValueError');
    pm.recordError('python', 'KeyError');
    pm.recordError('timeout', 'operation');
    pm.endSecond();
    pm.endSecond();
    pm.recordError('worker', 'crashed');
    pm.endSecond();
    const toMs = pm.sec * 1000;
    const r = metricsRange(pm, toMs - 3000, toMs);
    expect(r.points.map((p) => p.errorsByCategory)).toEqual([{ python: 2, timeout: 1 }, {}, { worker: 1 }]);
    const m = metricsRange(pm, toMs - 3_600_000, toMs);
    expect(m.points.at(-1)!.errorsByCategory).toEqual({ python: 2, timeout: 1, worker: 1 });
  });

  it('gives per-minute points beyond 15 minutes, for the last hour, minute in progress included', () => {
    const pm = new PoolMetrics('p', MINUTE);
    const log = feed(pm, 30 * 60 + 20, traffic);
    const toMs = pm.sec * 1000;
    const r = metricsRange(pm, toMs - 3_600_000, toMs);
    expect(r.resolutionS).toBe(60);
    expect(r.points).toHaveLength(31);
    for (const p of r.points) {
      const ops = log.filter((o) => Math.floor(o.sec / 60) * 60_000 === p.timestampMs);
      expect(p.ops).toBe(ops.length);
      const sorted = Float64Array.from(ops.map((o) => o.durationNs)).sort();
      expect(relErr(p.latencyP99Us * 1e3, exactQuantile(sorted, 0.99))).toBeLessThanOrEqual(0.01);
    }
    expect(r.points.at(-1)!.throughputPerS).toBeCloseTo(r.points.at(-1)!.ops / 20, 9);
  });
});

describe('PoolMetrics details', () => {
  it('keeps per-command and per-worker figures with 10-second window edges', () => {
    const start = MINUTE + 3;
    const pm = new PoolMetrics('p', start);
    const log = feed(pm, 400, traffic);
    // Ends at MINUTE + 403. Documented detail spans: a minute is p = 403 mod 10 = 3 seconds plus
    // 6 ten-second slots = 63 s; 5 and 15 minutes are p = 403 mod 60 = 43 seconds plus 4 and 14
    // minutes = 283 s and 883 s, of which the pool has 400 s.
    expect(pm.sec).toBe(MINUTE + 403);
    const spansS: Record<WindowName, number> = { '1m': 63, '5m': 283, '15m': 883 };
    const coveredS: Record<WindowName, number> = { '1m': 63, '5m': 283, '15m': 400 };
    for (const w of ['1m', '5m', '15m'] as WindowName[]) {
      const startSec = pm.sec - spansS[w];
      const cmds = commandMetrics(pm, w);
      expect(cmds.map((c) => c.command).sort()).toEqual(['embed', 'predict', 'tokenize']);
      for (const c of cmds) {
        const ops = log.filter((o) => o.command === c.command && o.sec >= startSec && o.sec < pm.sec);
        expect(c.ops).toBe(ops.length);
        expect(c.errors).toBe(ops.filter((o) => o.failed).length);
        expect(c.coveredS).toBe(coveredS[w]);
        checkSummary(c.latencyUs, ops.map((o) => o.durationNs));
      }
      const wm = workerMetrics(pm, 2, w);
      const wops = log.filter((o) => o.workerId === 2 && o.sec >= startSec && o.sec < pm.sec);
      checkSummary(wm.latencyUs, wops.map((o) => o.durationNs));
      expect(wm.window).toBe(w);
      expect(wm.operations).toBe(log.filter((o) => o.workerId === 2).length);
    }
    expect(workerIds(pm)).toEqual([0, 1, 2, 3]);
    expect(commandTotals(pm).find((c) => c.command === 'embed')?.operations).toBe(log.filter((o) => o.command === 'embed').length);
  });

  it('caps commands, worker slots and error types, counting the rest under the overflow', () => {
    const limits = { maxCommands: 4, maxWorkerSlots: 2, maxErrorTypes: 3 };
    const pm = new PoolMetrics('p', MINUTE, limits);
    for (let i = 0; i < 10; i++) pm.recordOperation(`cmd${i}`, i, 1e6, 0, false, 0);
    for (let i = 0; i < 6; i++) pm.recordError('python', `Error${i}`);
    pm.endSecond();
    const names = commandNames(pm);
    expect(names).toHaveLength(5);
    expect(names).toContain(OVERFLOW_NAME);
    expect(commandTotals(pm).find((c) => c.command === OVERFLOW_NAME)?.operations).toBe(6);
    expect(workerIds(pm)).toEqual([0, 1, OVERFLOW_WORKER_ID]); // ids 2..9 share the overflow slot: listed once
    expect(workerMetrics(pm, 7, '1m')).toMatchObject({ workerId: OVERFLOW_WORKER_ID, operations: 8 });
    const types = errorTotals(pm);
    expect(types).toHaveLength(4);
    expect(types.find((t) => t.type === OVERFLOW_NAME)).toEqual({ category: 'python', type: OVERFLOW_NAME, count: 3 });
    pm.recordOperation('x'.repeat(10_000), 0, 1e6, 0, false, 0);
    expect(commandNames(pm).every((n) => n.length <= 128)).toBe(true);
  });

  it('counts two long error types with the same 128-character prefix as one entry', () => {
    const pm = new PoolMetrics('p', MINUTE, { ...DEFAULT_POOL_LIMITS, maxErrorTypes: 2 });
    const prefix = 'E'.repeat(128);
    pm.recordError('python', prefix + 'a'.repeat(72));
    pm.recordError('python', prefix + 'b'.repeat(72));
    pm.recordError('python', 'KeyError'); // a second entry fits: the long types took one slot
    pm.endSecond();
    expect(errorTotals(pm)).toEqual([
      { category: 'python', type: prefix, count: 2 },
      { category: 'python', type: 'KeyError', count: 1 },
    ]);
    expect(errorRates(pm, '1m').byType.filter((t) => t.type === prefix)).toEqual([{ category: 'python', type: prefix, count: 2, rate: 0 }]);
  });

  it('counts errors by category and type over windows', () => {
    const pm = new PoolMetrics('p', MINUTE);
    for (let s = 0; s < 120; s++) {
      for (let i = 0; i < 10; i++) pm.recordOperation('c', 0, 1e6, 0, i < 2, 0);
      pm.recordError('python', 'ValueError');
      if (s >= 100) pm.recordError('timeout', 'operation');
      pm.endSecond();
    }
    const r = errorRates(pm, '1m');
    expect(r.ops).toBe(600);
    expect(r.errors).toBe(120);
    expect(r.errorRate).toBeCloseTo(0.2, 12);
    expect(r.byCategory.python).toEqual({ count: 60, rate: 0.1 });
    expect(r.byCategory.timeout?.count).toBe(20);
    expect(r.byType[0]).toEqual({ category: 'python', type: 'ValueError', count: 60, rate: 0.1 });
    expect(errorTotals(pm)).toEqual([
      { category: 'python', type: 'ValueError', count: 120 },
      { category: 'timeout', type: 'operation', count: 20 },
    ]);
  });

  it('takes the gauges handed in for a second (a tracked pool\'s), or estimates them from events', () => {
    const pm = new PoolMetrics('p', MINUTE);
    pm.recordWorkerInit(0, 100, 0, false, 0);
    pm.recordWorkerInit(1, 101, 0, false, 0);
    pm.recordCheckout(0, 100, 0, 3, 0);
    pm.endSecond();
    expect(pm.getGauges()).toEqual({ size: 2, busy: 1, idle: 1, starting: 0, queueDepth: 3, utilization: 0.5, spares: 0 });
    pm.endSecond({ size: 4, busy: 3, idle: 1, starting: 1, queueDepth: 7 });
    expect(pm.getGauges()).toEqual({ size: 4, busy: 3, idle: 1, starting: 1, queueDepth: 7, utilization: 0.75, spares: 0 });
    expect(lastSecond(pm).gauges.queueDepth).toBe(7);
    expect(windowSummary(pm, '1m').utilization).toBeCloseTo((0.5 + 0.75) / 2, 12);
    // Without a sample (a tracked pool whose status() threw: see the collector's tests), the estimates.
    expect(() => pm.endSecond(null)).not.toThrow();
    expect(pm.getGauges()).toEqual({ size: 2, busy: 1, idle: 1, starting: 0, queueDepth: 3, utilization: 0.5, spares: 0 });
    pm.recordPoolTerminate();
    pm.endSecond();
    expect(pm.getGauges().size).toBe(0);
  });

  it('keeps the ready spares of the samples as a gauge, averaged over windows', () => {
    const pm = new PoolMetrics('p', MINUTE);
    pm.endSecond({ size: 2, busy: 0, idle: 2, starting: 0, queueDepth: 0, spares: 2 });
    expect(pm.getGauges().spares).toBe(2);
    expect(lastSecond(pm).gauges.spares).toBe(2);
    pm.endSecond({ size: 2, busy: 0, idle: 2, starting: 0, queueDepth: 0, spares: 1 });
    expect(lastSecond(pm).gauges.spares).toBe(1);
    expect(lastMinute(pm).gauges.spares).toBeCloseTo(1.5, 12);
    // A sample without spares (a pool that has none), or none at all: 0.
    pm.endSecond({ size: 2, busy: 0, idle: 2, starting: 0, queueDepth: 0 });
    expect(pm.getGauges().spares).toBe(0);
    pm.endSecond(null);
    expect(pm.getGauges().spares).toBe(0);
  });

  it('lifetime histograms agree with the totals, the second in progress included', () => {
    const pm = new PoolMetrics('p', MINUTE);
    feed(pm, 5, traffic);
    pm.recordOperation('embed', 0, 2e6, 5e5, false, 0); // still in the second in progress
    const totals = pm.getTotals();
    const h = latencyHistogram(pm, 'operation');
    expect(h.count).toBe(totals.operations);
    expect(h.cumulativeCounts.at(-1)).toBeLessThanOrEqual(h.count);
    const byCommand = commandTotals(pm).reduce((a, c) => a + latencyHistogram(pm, 'operation', c.command).count, 0);
    expect(byCommand).toBe(totals.operations);
    expect(latencyHistogram(pm, 'queue_wait', 'embed').count).toBeGreaterThan(0);
    expect(latencyHistogram(pm, 'operation', 'nope').count).toBe(0);
    const dist = latencyDistribution(pm, '1m', 'operation', 4);
    expect(dist.reduce((a, b) => a + b.count, 0)).toBe(windowSummary(pm, '1m').ops);
  });
});

describe('PoolMetrics memory', () => {
  it('stays within the stated bound after 10 million recorded events', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = (): number => {
      gc();
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const limits = DEFAULT_POOL_LIMITS;
    const bound = poolMemoryBound(limits);
    // Names built up front so the measurement sees only the structures.
    const commands = Array.from({ length: limits.maxCommands + 16 }, (_, i) => `command-${i}`);
    const types = Array.from({ length: limits.maxErrorTypes + 16 }, (_, i) => `Error${i}`);
    const before = heap();
    const pm = new PoolMetrics('mem', MINUTE, limits);
    const N = 10_000_000;
    const perSecond = 10_000; // 1000 seconds: every ring wraps
    const g = Math.pow(1.02, 1); // spread values over the whole key range, so slots grow to full size
    let k = 0;
    for (let i = 0; i < N; i++) {
      k = (k + 389) % KEY_COUNT;
      const v = MIN_TRACKED_NS * Math.pow(g, k);
      pm.recordOperation(commands[i % commands.length]!, i % (limits.maxWorkerSlots + 8), v, i & 1 ? v / 3 : 0, (i & 63) === 0, 0);
      if ((i & 1023) === 0) pm.recordError('python', types[(i >> 10) % types.length]!);
      if (i % perSecond === perSecond - 1) pm.endSecond();
    }
    const held = poolByteSize(pm);
    const after = heap();
    console.log(`memory: bound ${bound} B, held by construction ${held} B, heap delta ${after - before} B`);
    expect(pm.getTotals().operations).toBe(N);
    expect(held).toBeLessThanOrEqual(bound);
    expect(after - before).toBeLessThanOrEqual(bound);
    // The bound is tight enough to mean something: this load fills most of it.
    expect(held).toBeGreaterThan(bound / 3);
  }, 60_000);
});
