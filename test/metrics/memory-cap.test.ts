import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/contract/clock.js';
import { MetricsCollector } from '../../src/metrics/metrics-collector.js';
import type { OperationContext } from '../../src/telemetry/telemetry.js';

const T0 = 1_700_000_040_000;
const collectors: MetricsCollector[] = [];
afterEach(() => {
  for (const c of collectors.splice(0)) c.stop();
});

function ctx(pool: string, command: string, workerId: number, durationNs: number): OperationContext {
  return { pool, command, sessionId: null, workerId, pid: 1000 + workerId, timestampMs: T0, queueWaitNs: 1000, durationNs };
}

/** Wide traffic: many commands and workers, durations over six decades (every sketch well filled). */
function traffic(c: MetricsCollector, pool: string, clock: ManualClock, seconds: number): number {
  let n = 0;
  for (let s = 0; s < seconds; s++) {
    for (let i = 0; i < 400; i++) {
      c.recordOperation(ctx(pool, `cmd${i % 40}`, i % 16, 1000 * 1.5 ** (i % 40)));
      n++;
    }
    clock.advance(1000);
    c.tick();
  }
  return n;
}

describe('the memory cap', () => {
  it('sheds per-worker, then per-command detail, one step a second, keeping the pool figures exact', () => {
    const clock = new ManualClock(T0);
    const free = new MetricsCollector({ clock });
    const capped = new MetricsCollector({ clock, memoryCapBytes: 64 * 1024 });
    expect(() => new MetricsCollector({ clock, memoryCapBytes: 10 })).toThrow(/memoryCapBytes/);
    collectors.push(free, capped);
    free.start();
    capped.start();
    const pool = 'cap-pool';
    // Record the same traffic into both; the uncapped one is the reference.
    const both = (fn: (c: MetricsCollector) => void): void => {
      fn(free);
      fn(capped);
    };
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < 400; i++) both((c) => c.recordOperation(ctx(pool, `cmd${i % 40}`, i % 16, 1000 * 1.5 ** (i % 40))));
      clock.advance(1000);
      both((c) => c.tick());
    }
    // The cap is tiny: one step per second, all three taken by now.
    expect(capped.degradation).toBe(3);
    expect(free.degradation).toBe(0);
    expect(capped.memoryBytes()).toBeLessThan(free.memoryBytes() / 3);
    // The pool is untracked, so the third step dropped its figures (a tracked pool's stay: below).
    expect(capped.pools()).toEqual([]);
    expect(free.getTotals(pool).operations).toBe(1200);
  });

  it('a tracked pool keeps exact totals and percentiles while detail is shed', () => {
    const clock = new ManualClock(T0);
    const reference = new MetricsCollector({ clock });
    collectors.push(reference);
    reference.start();
    const pool = 'cap-tracked';
    const n = traffic(reference, pool, clock, 3);
    const bytes = reference.memoryBytes();

    const clock2 = new ManualClock(T0);
    const capped = new MetricsCollector({ clock: clock2, memoryCapBytes: Math.floor(bytes / 2) });
    collectors.push(capped);
    capped.start();
    capped.trackPool({ name: pool, status: () => ({ size: 16, busy: 0, idle: 16, starting: 0, queueDepth: 0 }) });
    traffic(capped, pool, clock2, 3);
    expect(capped.degradation).toBeGreaterThanOrEqual(1);
    expect(capped.memoryBytes()).toBeLessThan(bytes);
    expect(capped.getTotals(pool).operations).toBe(n);
    const a = reference.getPerformanceSummary(pool).windows['1m'].latencyUs;
    const b = capped.getPerformanceSummary(pool).windows['1m'].latencyUs;
    expect(b.p50).toBeCloseTo(a.p50, 6);
    expect(b.p99).toBeCloseTo(a.p99, 6);
    // Shed detail: a worker's percentiles read as empty, its counts stay.
    const w = capped.getWorkerMetrics(pool, 0);
    expect(w.operations).toBeGreaterThan(0);
    // Recording goes on after shedding, and stays under the cap.
    traffic(capped, pool, clock2, 5);
    expect(capped.getTotals(pool).operations).toBe(n + 5 * 400);
    expect(capped.memoryBytes()).toBeLessThanOrEqual(Math.floor(bytes / 2));
    if (capped.degradation >= 2) expect(capped.getCommandMetrics(pool, '1m').map((c) => c.command)).toEqual(['(other)']);
  });
});
