/**
 * Time windows as rings of fixed slots: pure data structures, driven by an explicit "a second ended"
 * call so tests move time without waiting. Nothing here reads a clock.
 *
 * Time is counted in whole seconds since the epoch (`sec = floor(ms / 1000)`). A structure's
 * `endSec` is the first second not yet complete: windows end there (exclusive).
 *
 * ## Tiers and window spans
 *
 * A windowed value keeps two tiers of slots: a fine tier (1-second slots × 60 for pool-level
 * figures, 10-second slots × 6 for per-command and per-worker ones) and a coarse tier (1-minute
 * slots × 15). Slots are aligned on absolute boundaries (a minute slot is a wall-clock minute). Each
 * tier also has an accumulator holding the completed seconds of its slot in progress.
 *
 * A window of `L` seconds is answered by the finest tier that spans it, at that tier's granularity
 * `g` ({@link windowSpan}): the accumulator's `p = endSec mod g` seconds plus the `k` newest full
 * slots, `k = round((L − p) / g)` with halves rounding up. So a 1-minute pool window is exactly the
 * last 60 complete seconds; a 1-minute command window is 56..65 s (`60 + p` for `p ≤ 5`, else
 * `50 + p`); 5- and 15-minute windows are `L + p` for `p ≤ 30`, else `L − 60 + p`: 271..330 s and
 * 871..930 s, within −29..+30 s of their length. The longest, 930 s at `p = 30`, takes all 15 minute
 * slots kept. Every structure of one pool computes the same span for the same window, so counts,
 * rates and latency quantiles of a window always describe the same seconds.
 *
 * @module
 */
import { LogHistogram, MAX_HISTOGRAM_BYTES, MAX_WIDE_HISTOGRAM_BYTES } from './log-histogram.js';

/** Length of a coarse slot, seconds. */
export const COARSE_SLOT_S = 60;
/** Number of coarse slots kept (15 minutes). */
export const COARSE_SLOTS = 15;

/** The fine tier of a windowed structure. */
export interface TierConfig {
  /** Length of a fine slot, seconds (a divisor of 60). */
  readonly fineS: number;
  /** Number of fine slots kept. */
  readonly fineSlots: number;
}

/** Pool-level figures: 1-second slots for the last minute. */
export const POOL_TIERS: TierConfig = { fineS: 1, fineSlots: 60 };
/** Per-command and per-worker figures: 10-second slots for the last minute. */
export const DETAIL_TIERS: TierConfig = { fineS: 10, fineSlots: 6 };

/** Which seconds a window covers. */
export interface WindowSpan {
  /** First second of the span (inclusive). */
  startSec: number;
  /** First second after the span (exclusive). */
  endSec: number;
  /** True when answered by the fine tier. */
  fine: boolean;
  /** Completed seconds taken from the tier's accumulator. */
  partialS: number;
  /** Full slots taken, newest first. */
  slots: number;
}

/**
 * The span answering a window of `lengthS` seconds that ends at `endSec` (pure; see the module note).
 */
export function windowSpan(lengthS: number, endSec: number, tiers: TierConfig): WindowSpan {
  const fine = lengthS <= tiers.fineS * tiers.fineSlots;
  const g = fine ? tiers.fineS : COARSE_SLOT_S;
  const n = fine ? tiers.fineSlots : COARSE_SLOTS;
  const partialS = ((endSec % g) + g) % g;
  const slots = Math.min(n, Math.max(0, Math.round((lengthS - partialS) / g)));
  return { startSec: endSec - partialS - slots * g, endSec, fine, partialS, slots };
}

/**
 * A free list of cleared histograms, so rotating slots reuses storage instead of allocating.
 * Bounded: beyond `capacity` spare histograms, released ones are left to the garbage collector.
 */
export class HistogramPool {
  private readonly free: LogHistogram[] = [];
  /** @param capacity Most spare histograms kept. */
  constructor(readonly capacity = 64) {}

  /** A cleared narrow histogram. */
  take(): LogHistogram {
    return this.free.pop() ?? new LogHistogram();
  }

  /** Return a histogram (cleared here). */
  give(h: LogHistogram): void {
    if (this.free.length >= this.capacity) return;
    h.clear();
    this.free.push(h);
  }

  /** Bytes held by the spare histograms. */
  byteSize(): number {
    let bytes = 0;
    for (const h of this.free) bytes += h.byteSize();
    return bytes;
  }

  /** Number of spare histograms. */
  get size(): number {
    return this.free.length;
  }
}

/** A ring of histogram slots plus the accumulator of the slot in progress. Empty slots hold null. */
class SketchRing {
  private readonly slots: (LogHistogram | null)[];
  /** Index of the newest slot. */
  private head = 0;
  acc: LogHistogram | null = null;

  constructor(n: number) {
    this.slots = new Array<LogHistogram | null>(n).fill(null);
  }

  accumulate(h: LogHistogram, pool: HistogramPool): void {
    (this.acc ??= pool.take()).merge(h);
  }

  /** The accumulator becomes the newest slot; the oldest slot is released. */
  push(pool: HistogramPool): void {
    const n = this.slots.length;
    this.head = (this.head + 1) % n;
    const evicted = this.slots[this.head];
    if (evicted) pool.give(evicted);
    const acc = this.acc;
    if (acc !== null && acc.count > 0) {
      this.slots[this.head] = acc;
      this.acc = null;
    } else {
      this.slots[this.head] = null;
    }
  }

  /** The i-th newest slot (0 = newest). */
  newest(i: number): LogHistogram | null {
    const n = this.slots.length;
    return this.slots[(((this.head - i) % n) + n) % n] ?? null;
  }

  clear(pool: HistogramPool): void {
    for (let i = 0; i < this.slots.length; i++) {
      const h = this.slots[i];
      if (h) pool.give(h);
      this.slots[i] = null;
    }
    if (this.acc) pool.give(this.acc);
    this.acc = null;
  }

  byteSize(): number {
    let bytes = this.acc ? this.acc.byteSize() : 0;
    for (const h of this.slots) if (h) bytes += h.byteSize();
    return bytes;
  }

  get length(): number {
    return this.slots.length;
  }
}

/**
 * A latency distribution over time: record into {@link cur} (the second in progress), call
 * {@link endSecond} as each second completes, read any window with {@link windowInto}. Optionally
 * keeps a lifetime histogram (wide counts) merged once a second.
 */
export class TieredSketch {
  /** The second in progress: the record path writes here. */
  cur: LogHistogram;
  /** Everything ever recorded (merged each second), when kept. */
  readonly lifetime: LogHistogram | null;
  private readonly fine: SketchRing;
  private readonly coarse = new SketchRing(COARSE_SLOTS);
  /** First second not yet complete. */
  endSec: number;

  constructor(
    readonly tiers: TierConfig,
    private readonly pool: HistogramPool,
    startSec: number,
    withLifetime = false,
  ) {
    this.fine = new SketchRing(tiers.fineSlots);
    this.cur = pool.take();
    this.lifetime = withLifetime ? new LogHistogram(true) : null;
    this.endSec = startSec;
  }

  /** The second `endSec` completed: fold it into the tiers and rotate the slots that ended with it. */
  endSecond(): void {
    const sec = this.endSec;
    const cur = this.cur;
    const fineS = this.tiers.fineS;
    if (cur.count > 0) {
      this.lifetime?.merge(cur);
      this.coarse.accumulate(cur, this.pool);
      if (fineS === 1) {
        // A 1-second slot is the second itself: hand the histogram over instead of copying it.
        if (this.fine.acc) this.pool.give(this.fine.acc);
        this.fine.acc = cur;
        this.cur = this.pool.take();
      } else {
        this.fine.accumulate(cur, this.pool);
        cur.clear();
      }
    }
    if ((sec + 1) % fineS === 0) this.fine.push(this.pool);
    if ((sec + 1) % COARSE_SLOT_S === 0) this.coarse.push(this.pool);
    this.endSec = sec + 1;
  }

  /**
   * Merge the window of `lengthS` seconds ending at {@link endSec} into `out` (which is not cleared
   * first). Returns the span it covers.
   */
  windowInto(out: LogHistogram, lengthS: number): WindowSpan {
    const span = windowSpan(lengthS, this.endSec, this.tiers);
    const ring = span.fine ? this.fine : this.coarse;
    if (span.partialS > 0 && ring.acc) out.merge(ring.acc);
    for (let i = 0; i < span.slots; i++) {
      const h = ring.newest(i);
      if (h) out.merge(h);
    }
    return span;
  }

  /** The newest complete fine slot (for a pool: the last complete second), or null when empty. */
  lastFineSlot(): LogHistogram | null {
    return this.fine.newest(0);
  }

  /** The i-th newest complete fine slot (0 = newest), or null when empty. */
  fineSlot(i: number): LogHistogram | null {
    return i >= 0 && i < this.tiers.fineSlots ? this.fine.newest(i) : null;
  }

  /** The newest complete minute, or null when empty. */
  lastCoarseSlot(): LogHistogram | null {
    return this.coarse.newest(0);
  }

  /** The completed seconds of the minute in progress, or null when empty. */
  minuteInProgress(): LogHistogram | null {
    return this.coarse.acc;
  }

  /** Drop every windowed value (after a clock jump beyond the retention); the lifetime stays. */
  reset(endSec: number): void {
    this.fine.clear(this.pool);
    this.coarse.clear(this.pool);
    this.cur.clear();
    this.endSec = endSec;
  }

  /** Bytes held, by construction (slot histograms, accumulators, the second in progress, lifetime). */
  byteSize(): number {
    const own = TieredSketch.structBytes(this.tiers);
    return own + this.cur.byteSize() + this.fine.byteSize() + this.coarse.byteSize() + (this.lifetime ? this.lifetime.byteSize() : 0);
  }

  /** The most histograms this structure can hold at once (for the memory bound). */
  static maxHistograms(tiers: TierConfig): number {
    // cur + fine slots + fine accumulator + coarse slots + coarse accumulator
    return 1 + tiers.fineSlots + 1 + COARSE_SLOTS + 1;
  }

  /** The most bytes one such structure can hold: every histogram over the full key range. */
  static maxBytes(tiers: TierConfig, withLifetime: boolean): number {
    return (
      TieredSketch.structBytes(tiers) +
      TieredSketch.maxHistograms(tiers) * MAX_HISTOGRAM_BYTES +
      (withLifetime ? MAX_WIDE_HISTOGRAM_BYTES : 0)
    );
  }

  /** The structure's own objects: itself, two rings and their slot arrays. */
  private static structBytes(tiers: TierConfig): number {
    return 512 + 8 * (tiers.fineSlots + COARSE_SLOTS);
  }
}

/**
 * A count over time with the same tiers and spans as {@link TieredSketch}: add to {@link cur},
 * call {@link endSecond} each second, read a window with {@link window}. Also keeps the lifetime total.
 */
export class TieredCounter {
  /** The second in progress. */
  cur = 0;
  /** Lifetime total (including the second in progress). */
  total = 0;
  private readonly fine: Float64Array;
  private fineHead = 0;
  private fineAcc = 0;
  private readonly coarse = new Float64Array(COARSE_SLOTS);
  private coarseHead = 0;
  private coarseAcc = 0;
  endSec: number;

  constructor(
    readonly tiers: TierConfig,
    startSec: number,
  ) {
    this.fine = new Float64Array(tiers.fineSlots);
    this.endSec = startSec;
  }

  /** Count `n` events in the second in progress. */
  add(n = 1): void {
    this.cur += n;
    this.total += n;
  }

  /** The second `endSec` completed. */
  endSecond(): void {
    const sec = this.endSec;
    this.fineAcc += this.cur;
    this.coarseAcc += this.cur;
    this.cur = 0;
    if ((sec + 1) % this.tiers.fineS === 0) {
      this.fineHead = (this.fineHead + 1) % this.fine.length;
      this.fine[this.fineHead] = this.fineAcc;
      this.fineAcc = 0;
    }
    if ((sec + 1) % COARSE_SLOT_S === 0) {
      this.coarseHead = (this.coarseHead + 1) % COARSE_SLOTS;
      this.coarse[this.coarseHead] = this.coarseAcc;
      this.coarseAcc = 0;
    }
    this.endSec = sec + 1;
  }

  /** The count over the window of `lengthS` seconds ending at {@link endSec}. */
  window(lengthS: number): number {
    const span = windowSpan(lengthS, this.endSec, this.tiers);
    const ring = span.fine ? this.fine : this.coarse;
    const head = span.fine ? this.fineHead : this.coarseHead;
    let sum = span.partialS > 0 ? (span.fine ? this.fineAcc : this.coarseAcc) : 0;
    const n = ring.length;
    for (let i = 0; i < span.slots; i++) sum += ring[(((head - i) % n) + n) % n]!;
    return sum;
  }

  /** Drop the windowed counts (the lifetime total stays). */
  reset(endSec: number): void {
    this.fine.fill(0);
    this.coarse.fill(0);
    this.fineAcc = 0;
    this.coarseAcc = 0;
    this.cur = 0;
    this.endSec = endSec;
  }

  /** Bytes held, by construction (small typed arrays live on the V8 heap with their headers). */
  byteSize(): number {
    return this.fine.byteLength + this.coarse.byteLength + 512;
  }
}

/**
 * A ring of `capacity` periods (seconds or minutes) × `fields` numbers in one Float64Array: per-period
 * counters and gauge samples. Periods are absolute indexes (`sec`, or `floor(sec / 60)`); a slot
 * not written since it was reused reads as 0.
 */
export class SeriesRing {
  private readonly data: Float64Array;
  /** The newest period held (the one being written). */
  newest: number;

  constructor(
    readonly capacity: number,
    readonly fields: number,
    start: number,
  ) {
    this.data = new Float64Array(capacity * fields);
    this.newest = start;
  }

  /** Move to period `p` (> newest), clearing the reused slots. */
  advanceTo(p: number): void {
    if (p <= this.newest) return;
    const steps = Math.min(p - this.newest, this.capacity);
    for (let i = 1; i <= steps; i++) {
      const base = this.slot(this.newest + i) * this.fields;
      this.data.fill(0, base, base + this.fields);
    }
    this.newest = p;
  }

  /** True when period `p` is still held. */
  holds(p: number): boolean {
    return p <= this.newest && p > this.newest - this.capacity;
  }

  /** Oldest period held. */
  get oldest(): number {
    return this.newest - this.capacity + 1;
  }

  /** Read a field of period `p` (0 when not held). */
  get(p: number, field: number): number {
    if (!this.holds(p)) return 0;
    return this.data[this.slot(p) * this.fields + field]!;
  }

  /** Write a field of period `p` (ignored when not held). */
  set(p: number, field: number, value: number): void {
    if (!this.holds(p)) return;
    this.data[this.slot(p) * this.fields + field] = value;
  }

  /** Add to a field of period `p` (ignored when not held). */
  add(p: number, field: number, value: number): void {
    if (!this.holds(p)) return;
    this.data[this.slot(p) * this.fields + field]! += value;
  }

  /** Sum a field over periods `[from, to)` (periods not held count as 0). */
  sum(field: number, from: number, to: number): number {
    let s = 0;
    const lo = Math.max(from, this.oldest);
    const hi = Math.min(to, this.newest + 1);
    if (hi <= lo) return s;
    // The slot advances with the period (wrapping), instead of two modulos per period: the same
    // values summed in the same order, at a fraction of the cost (a 15m window sums 900).
    const cap = this.capacity;
    const stride = this.fields;
    const data = this.data;
    let i = this.slot(lo);
    for (let p = lo; p < hi; p++) {
      s += data[i * stride + field]!;
      if (++i === cap) i = 0;
    }
    return s;
  }

  /** Bytes held, by construction. */
  byteSize(): number {
    return this.data.byteLength + 128;
  }

  private slot(p: number): number {
    return ((p % this.capacity) + this.capacity) % this.capacity;
  }
}
