/**
 * Worker ids beyond the slots a pool keeps apart share one overflow slot: every consumer must count
 * each operation once (the collector's lists, the Prometheus exposition, the snapshot).
 */
import { describe, expect, it } from 'vitest';
import { buildSnapshot } from '../../src/exporters/snapshot.js';
import { collectPrometheusInput, renderPrometheus } from '../../src/exporters/prometheus.js';
import type { StatusSource } from '../../src/exporters/sources.js';
import { ManualClock } from '../../src/contract/clock.js';
import { MetricsCollector } from '../../src/metrics/metrics-collector.js';
import { poolMemoryBound } from '../../src/metrics/memory-bound.js';
import { MAX_WORKER_SLOTS } from '../../src/metrics/pool-state.js';
import { OVERFLOW_WORKER_ID } from '../../src/contract/metrics.js';
import type { PoolStatus, WorkerStatus } from '../../src/contract/pool-status.js';
import type { OperationContext } from '../../src/telemetry/telemetry.js';

const T0 = 1_700_000_040_000;
let seq = 0;
const uniquePool = (): string => `overflow-test-${process.pid}-${++seq}`;

/** `n` workers, each id `i` serving `i + 1` operations; returns the total. */
function feed(c: MetricsCollector, pool: string, n: number): number {
  let total = 0;
  for (let id = 0; id < n; id++) {
    for (let k = 0; k <= id; k++) {
      const ctx: OperationContext = { pool, command: 'c', sessionId: null, workerId: id, pid: 5000 + id, timestampMs: T0, queueWaitNs: 0, durationNs: 1e6 };
      c.recordOperation(ctx);
      total++;
    }
  }
  return total;
}

/** A status source with workers 0..n-1 (what a pool of that size reports). */
function statusOf(name: string, n: number): StatusSource {
  const workers: WorkerStatus[] = Array.from({ length: n }, (_, id) => ({ id, pid: 5000 + id, state: 'idle', operations: 0, errors: 0, startedAtMs: T0, lastUsedAtMs: null, generation: 0, outputLinesDropped: 0, outputLinesCut: 0 }));
  const status: PoolStatus = { name, lifecycle: 'running', size: n, minSize: n, maxSize: n, busy: 0, idle: n, starting: 0, queueDepth: 0, maxQueue: 100, sessions: 0, uptimeMs: 1, workers };
  return { name, status: () => status };
}

function collector(): { c: MetricsCollector; clock: ManualClock } {
  const clock = new ManualClock(T0);
  return { c: new MetricsCollector({ clock }), clock };
}

describe('worker ids beyond the cap', () => {
  it('40 worker ids with cap 32: the per-worker operations of the listed ids add up to the total', () => {
    const { c, clock } = collector();
    const pool = uniquePool();
    const total = feed(c, pool, 40);
    clock.advance(1000);
    expect(c.getTotals(pool).operations).toBe(total);

    const ids = c.getWorkerIds(pool);
    expect(ids).toEqual([...Array.from({ length: 32 }, (_, i) => i), OVERFLOW_WORKER_ID]);
    expect(ids.reduce((a, id) => a + c.getWorkerMetrics(pool, id).operations, 0)).toBe(total);
    // An id sharing the overflow answers for it, and says so.
    expect(c.getWorkerMetrics(pool, 35)).toMatchObject({ workerId: OVERFLOW_WORKER_ID, operations: 33 + 34 + 35 + 36 + 37 + 38 + 39 + 40 });
  });

  it('the Prometheus exposition and the snapshot count each operation once, the overflow as one worker', () => {
    const { c, clock } = collector();
    const pool = uniquePool();
    const total = feed(c, pool, 40);
    clock.advance(1000);
    const source = statusOf(pool, 40); // the pool lists all 40 workers; the collector keeps 32 apart

    const text = renderPrometheus(collectPrometheusInput({ collector: c, pools: [source] }));
    const samples = [...text.matchAll(/^dspex_worker_operations_total\{([^}]*)\} (\S+)$/gm)].filter(([, labels]) => labels!.includes(`pool="${pool}"`));
    expect(samples.reduce((a, [, , v]) => a + Number(v), 0)).toBe(total);
    expect(samples.filter(([, labels]) => labels!.includes('worker_id="overflow"'))).toHaveLength(1);
    expect(samples.some(([, labels]) => /worker_id="3[2-9]"/.test(labels!))).toBe(false);
    expect(samples).toHaveLength(33);

    for (const pools of [[source], []]) {
      // With a status source (ids from the pool) and without (ids from the collector).
      const snap = buildSnapshot({ collector: c, pools }, '1m', clock.nowMs());
      const workers = snap.pools.find((p) => p.name === pool)!.workers;
      expect(workers.reduce((a, w) => a + w.operations, 0)).toBe(total);
      expect(workers.filter((w) => w.workerId === OVERFLOW_WORKER_ID)).toHaveLength(1);
    }
  });

  it('a tracked pool keeps its maxSize worker ids apart, up to the hard cap, and the memory bound follows', () => {
    const { c, clock } = collector();
    const pool = uniquePool();
    // A pool exposing its options (as SessionPool does) is sized when tracked.
    c.trackPool({ ...statusOf(pool, 40), options: { maxSize: 40 } });
    const total = feed(c, pool, 40);
    clock.advance(1000);
    const ids = c.getWorkerIds(pool);
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(ids.reduce((a, id) => a + c.getWorkerMetrics(pool, id).operations, 0)).toBe(total);
    expect(c.memoryBoundPerPool(pool)).toBe(poolMemoryBound(undefined, 40));
    expect(c.memoryBoundPerPool(pool)).toBeGreaterThan(c.memoryBoundPerPool());

    // Otherwise from its status, once sampled; never beyond the hard cap.
    const huge = uniquePool();
    c.trackPool(statusOf(huge, 5000));
    expect(c.memoryBoundPerPool(huge)).toBe(poolMemoryBound());
    clock.advance(1000);
    c.tick();
    expect(c.memoryBoundPerPool(huge)).toBe(poolMemoryBound(undefined, MAX_WORKER_SLOTS));
    feed(c, huge, 1); // workers 0 only
    const overflowCtx: OperationContext = { pool: huge, command: 'c', sessionId: null, workerId: 4000, pid: 1, timestampMs: T0, queueWaitNs: 0, durationNs: 1e6 };
    c.recordOperation(overflowCtx);
    expect(c.getWorkerIds(huge)).toEqual([0, OVERFLOW_WORKER_ID]);
  });
});
