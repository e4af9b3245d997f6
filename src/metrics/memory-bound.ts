/**
 * Memory accounting of one pool's figures, by construction (typed arrays and a fixed allowance per
 * object): the most bytes they can hold with given caps ({@link poolMemoryBound}) and the bytes
 * they hold now ({@link poolByteSize}). Both count the same things the same way, so that the
 * second never exceeds the first.
 *
 * @module
 */
import { MAX_HISTOGRAM_BYTES, MAX_WIDE_HISTOGRAM_BYTES } from './log-histogram.js';
import { DEFAULT_POOL_LIMITS, FIELDS, MAX_NAME_LENGTH, MINUTE_SLOTS, SECOND_SLOTS, SPARE_HISTOGRAMS, type PoolLimits, type PoolState } from './pool-state.js';
import { DETAIL_TIERS, POOL_TIERS, TieredCounter, TieredSketch } from './window-ring.js';
import { UserMetricsStore } from './user-metrics.js';

/** Fixed allowance per map entry / small object when bounding memory (V8 object + Map entry + name string). */
const ENTRY_BYTES = 512 + 2 * MAX_NAME_LENGTH;
const ERROR_CATEGORY_COUNT = 7;

/**
 * The most bytes one pool's metrics can hold with these caps, by construction: every histogram
 * slot full over the whole key range, every command, worker slot (plus the overflow slot) and error
 * type in use, the spare list full. Independent of event count and uptime.
 *
 * `workerSlots` is the number of worker ids kept apart: `limits.maxWorkerSlots` for a pool whose
 * size is unknown (the default), `max(limits.maxWorkerSlots, min(maxSize, MAX_WORKER_SLOTS))` for
 * a tracked pool (`poolMemoryBound(pool.limits, pool.workers.length)` gives a pool's own). The
 * worst case of any pool is `poolMemoryBound(limits, MAX_WORKER_SLOTS)` (with the default caps
 * about 136 MB, against about 15 MB for 32 slots: each slot kept apart adds a detail sketch, about
 * 122 kB at worst).
 */
export function poolMemoryBound(limits: PoolLimits = DEFAULT_POOL_LIMITS, workerSlots: number = limits.maxWorkerSlots): number {
  const poolSketch = TieredSketch.maxBytes(POOL_TIERS, true);
  const detailSketch = TieredSketch.maxBytes(DETAIL_TIERS, false);
  const counter = new TieredCounter(DETAIL_TIERS, 0).byteSize();
  const poolCounter = new TieredCounter(POOL_TIERS, 0).byteSize();
  const series = (SECOND_SLOTS + MINUTE_SLOTS) * FIELDS * 8 + 256;
  // per command: windowed sketch and its lifetime, queue wait of the second in progress and lifetime,
  // the Python and bridge sketches (windowed, with lifetimes)
  const splitSketch = TieredSketch.maxBytes(DETAIL_TIERS, true);
  const commands = (limits.maxCommands + 1) * (detailSketch + MAX_HISTOGRAM_BYTES + 2 * MAX_WIDE_HISTOGRAM_BYTES + counter + 2 * splitSketch + ENTRY_BYTES);
  const workers = (workerSlots + 1) * (detailSketch + ENTRY_BYTES) + 8 * workerSlots;
  const errorTypes = (limits.maxErrorTypes + ERROR_CATEGORY_COUNT) * (poolCounter + ENTRY_BYTES);
  const spares = SPARE_HISTOGRAMS * MAX_HISTOGRAM_BYTES;
  const scratch = 2 * MAX_WIDE_HISTOGRAM_BYTES;
  return UserMetricsStore.maxBytes() + 4 * poolSketch + series + commands + workers + errorTypes + spares + scratch + 4096;
}

/** Bytes one pool's figures hold now, by construction (typed arrays and a fixed allowance per object). */
export function poolByteSize(pool: PoolState): number {
  let bytes = pool.op.byteSize() + pool.queueWait.byteSize() + pool.python.byteSize() + pool.bridge.byteSize() + pool.seconds.byteSize() + pool.minutes.byteSize();
  bytes += pool.spares.byteSize() + pool.scratch.byteSize() + pool.scratch2.byteSize() + 4096;
  for (const c of pool.commands.values()) {
    bytes += c.op.byteSize() + c.queueWaitCur.byteSize() + c.queueWait.byteSize() + c.errors.byteSize() + c.python.byteSize() + c.bridge.byteSize() + ENTRY_BYTES;
  }
  bytes += 8 * pool.workers.length;
  for (const w of pool.workers) if (w) bytes += w.op.byteSize() + ENTRY_BYTES;
  if (pool.overflowWorker) bytes += pool.overflowWorker.op.byteSize() + ENTRY_BYTES;
  for (const e of pool.errorTypes.values()) bytes += e.counter.byteSize() + ENTRY_BYTES;
  return bytes + pool.user.byteSize();
}
