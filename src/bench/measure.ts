/**
 * Measuring helpers shared by the benchmarks: a `gc()` without `--expose-gc`, and the bytes a
 * call allocates, from V8 heap growth plus what collections inside the measurement freed.
 *
 * Why this way: Node 20 has no allocation counter. V8's `heapUsed` grows by exactly what was
 * allocated and shrinks only when a collection frees something, and `v8.GCProfiler` reports,
 * synchronously, `usedHeapSize` before and after every collection. So a batch's allocation is its
 * heap growth plus the bytes each collection inside it freed. Dropping the batches with a
 * collection in them would not work: the young generation starts at about 1 MB after a full
 * collection, so a batch allocating more has a scavenge in it almost every time, and its heap
 * usually still ends above where it started, so "the heap shrank" does not detect the scavenge.
 * Measured: a 100-element array counted 26 B per call that way, but 850 B per call
 * (the real figure) when accounted as here or with a 64 MB semi-space. Each batch starts after a
 * full collection; the median over batches is the figure. Objects that survive are counted like
 * ones that die: this is allocation, not retention.
 *
 * @module
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { summarizeSamples } from './report.js';

let cachedGc: (() => void) | null | undefined;

/**
 * A full collection, the same as `--expose-gc`'s `gc()` (exposed once through V8's flag and a
 * fresh context, so the benchmark needs no node flag), or null where that is refused.
 */
export function gcFunction(): (() => void) | null {
  if (cachedGc !== undefined) return cachedGc;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return (cachedGc = exposed);
  try {
    v8.setFlagsFromString('--expose-gc');
    cachedGc = runInNewContext('gc') as () => void;
  } catch {
    cachedGc = null;
  }
  return cachedGc;
}

/** What {@link allocPerCall} and {@link allocPerOpAsync} measured. */
export interface AllocFigure {
  /** Median bytes allocated per call over the batches (NaN when no batch was measured). */
  perCall: number;
  /** Batches measured. */
  batches: number;
  /** Collections that ran inside the batches (their freed bytes are counted as allocated). */
  collections: number;
}

const heapUsed = (): number => process.memoryUsage().heapUsed;

/** One batch's accounting: heap growth plus the bytes collections freed during it. */
class BatchMeter {
  private profiler: v8.GCProfiler | null = null;
  private h0 = 0;
  collections = 0;

  start(): void {
    gcFunction()?.();
    this.profiler = new v8.GCProfiler();
    this.profiler.start();
    this.h0 = heapUsed();
  }

  /** Bytes allocated since {@link start}. */
  stop(): number {
    const h1 = heapUsed();
    const stats = this.profiler?.stop().statistics ?? [];
    this.profiler = null;
    let freed = 0;
    for (const g of stats) freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
    this.collections += stats.length;
    return h1 - this.h0 + freed;
  }
}

function figure(per: number[], collections: number): AllocFigure {
  return { perCall: per.length === 0 ? Number.NaN : summarizeSamples(per).p50, batches: per.length, collections };
}

/** Bytes allocated per synchronous call of `fn`: `batches` batches of `batch` calls. */
export function allocPerCall(fn: () => unknown, batches: number, batch: number): AllocFigure {
  const meter = new BatchMeter();
  const per: number[] = [];
  for (let b = 0; b < batches; b++) {
    meter.start();
    for (let i = 0; i < batch; i++) fn();
    per.push(Math.max(0, meter.stop()) / batch);
  }
  return figure(per, meter.collections);
}

/**
 * Bytes allocated on the Node heap per asynchronous operation (`op` awaited `batch` times in
 * sequence), as {@link allocPerCall}. For a pool call this is everything Node allocates while it
 * runs: the request frame, the promise, the parsed reply, the telemetry payloads (and anything
 * else the process does meanwhile, so run nothing else alongside).
 */
export async function allocPerOpAsync(op: () => Promise<unknown>, batches: number, batch: number): Promise<AllocFigure> {
  const meter = new BatchMeter();
  const per: number[] = [];
  for (let b = 0; b < batches; b++) {
    meter.start();
    for (let i = 0; i < batch; i++) await op();
    per.push(Math.max(0, meter.stop()) / batch);
  }
  return figure(per, meter.collections);
}
