/**
 * A signal's own recent history, per alert series and condition: a fixed-capacity ring of
 * (time, value) points and an EWMA mean / variance. Memory is fixed at creation (two
 * Float64Arrays of `capacity`), never grows with uptime. With the statistics the conditions need
 * (median, MAD, least-squares slope, value `overMs` ago), computed without allocating.
 *
 * @module
 */

/** A bounded history of one series' values. */
export class BaselineRing {
  readonly times: Float64Array;
  readonly values: Float64Array;
  /** Index of the oldest point. */
  private head = 0;
  /** Points held (≤ capacity). */
  count = 0;
  /** Values seen in total (the EWMA's), for `minSamples`. */
  seen = 0;
  ewmaMean = 0;
  ewmaVar = 0;

  constructor(readonly capacity: number) {
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  /** The i-th oldest point's index in the arrays. */
  at(i: number): number {
    return (this.head + i) % this.capacity;
  }

  push(timeMs: number, value: number, alpha: number): void {
    const c = this.capacity;
    let idx: number;
    if (this.count < c) idx = (this.head + this.count++) % c;
    else {
      // Full: the oldest point makes room.
      idx = this.head;
      this.head = (this.head + 1) % c;
    }
    this.times[idx] = timeMs;
    this.values[idx] = value;
    if (this.seen === 0) {
      this.ewmaMean = value;
      this.ewmaVar = 0;
    } else {
      const diff = value - this.ewmaMean;
      const incr = alpha * diff;
      this.ewmaMean += incr;
      this.ewmaVar = (1 - alpha) * (this.ewmaVar + diff * incr);
    }
    this.seen++;
  }
}

let scratch = new Float64Array(256);

function fill(ring: BaselineRing): Float64Array {
  if (scratch.length < ring.count) scratch = new Float64Array(ring.capacity);
  for (let i = 0; i < ring.count; i++) scratch[i] = ring.values[ring.at(i)]!;
  return scratch;
}

/** The k-th smallest of a[0..n) (Hoare's selection; reorders `a`). */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

function medianOf(a: Float64Array, n: number): number {
  const hi = select(a, n, n >> 1);
  if (n % 2 === 1) return hi;
  // The lower middle is the largest of the lower half, which `select` left below index n/2.
  let lo = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (a[i]! > lo) lo = a[i]!;
  return (lo + hi) / 2;
}

/** Median of the ring's values (NaN when empty). */
export function ringMedian(ring: BaselineRing): number {
  if (ring.count === 0) return NaN;
  return medianOf(fill(ring), ring.count);
}

/** Median and median absolute deviation of the ring's values, written into `out` (NaN when empty; no allocation). */
export function ringMedianMad(ring: BaselineRing, out: { median: number; mad: number }): { median: number; mad: number } {
  const n = ring.count;
  if (n === 0) {
    out.median = out.mad = NaN;
    return out;
  }
  const a = fill(ring);
  const median = medianOf(a, n);
  for (let i = 0; i < n; i++) a[i] = Math.abs(a[i]! - median);
  out.median = median;
  out.mad = medianOf(a, n);
  return out;
}

/** The oldest point no older than `sinceMs` (its index in the arrays), or -1. */
export function oldestSince(ring: BaselineRing, sinceMs: number): number {
  for (let i = 0; i < ring.count; i++) {
    const idx = ring.at(i);
    if (ring.times[idx]! >= sinceMs) return idx;
  }
  return -1;
}

/**
 * Least-squares slope per second of the points no older than `sinceMs` plus (`nowMs`, `value`);
 * null with fewer than 3 points or a span under `minSpanMs`. Times are centred before summing.
 */
export function ringSlopePerS(ring: BaselineRing, sinceMs: number, nowMs: number, value: number, minSpanMs: number): number | null {
  // `+ 0`: accumulators that start as a parameter stay boxed in optimized code (a HeapNumber per
  // loop iteration, ~230 bytes a call, measured); `x + 0` is x and makes them unboxed doubles.
  let n = 1;
  let tSum = nowMs + 0;
  let ySum = value + 0;
  let first = nowMs + 0;
  for (let i = 0; i < ring.count; i++) {
    const idx = ring.at(i);
    const t = ring.times[idx]!;
    if (t < sinceMs) continue;
    if (n === 1) first = t;
    n++;
    tSum += t;
    ySum += ring.values[idx]!;
  }
  if (n < 3 || nowMs - first < minSpanMs) return null;
  const tMean = tSum / n;
  const yMean = ySum / n;
  let sxy = (nowMs - tMean) * (value - yMean);
  let sxx = (nowMs - tMean) ** 2;
  for (let i = 0; i < ring.count; i++) {
    const idx = ring.at(i);
    const t = ring.times[idx]!;
    if (t < sinceMs) continue;
    const dt = t - tMean;
    sxy += dt * (ring.values[idx]! - yMean);
    sxx += dt * dt;
  }
  return sxx > 0 ? (sxy / sxx) * 1000 : null;
}
