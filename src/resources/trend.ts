/**
 * A bounded time series with a least-squares slope, for per-worker memory trends (leak detection).
 * Pure data structure: no clock, no I/O; callers pass timestamps.
 *
 * @module
 */

/**
 * Least-squares slope of `ys` against `ts` (per unit of `ts`), over the points `[from, to)`.
 * Times are centred before summing, so large epoch timestamps lose no precision. Returns null with
 * fewer than `minPoints` points or when every time is equal.
 */
export function leastSquaresSlope(ts: ArrayLike<number>, ys: ArrayLike<number>, from = 0, to = ts.length, minPoints = 3): number | null {
  const n = to - from;
  if (n < Math.max(2, minPoints)) return null;
  let tMean = 0;
  let yMean = 0;
  for (let i = from; i < to; i++) {
    tMean += ts[i] ?? 0;
    yMean += ys[i] ?? 0;
  }
  tMean /= n;
  yMean /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = from; i < to; i++) {
    const dt = (ts[i] ?? 0) - tMean;
    sxy += dt * ((ys[i] ?? 0) - yMean);
    sxx += dt * dt;
  }
  return sxx > 0 ? sxy / sxx : null;
}

/**
 * A fixed-capacity ring of `(timeMs, value)` points. When full, the oldest point is overwritten.
 * {@link TrendRing.slopePerS} fits a line over the points inside a time window ending at the newest.
 */
export class TrendRing {
  /** Maximum number of points kept. */
  readonly capacity: number;
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private head = 0;
  private count = 0;
  // Scratch arrays for the fit, in chronological order (allocated once).
  private readonly tScratch: Float64Array;
  private readonly vScratch: Float64Array;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`TrendRing capacity must be an integer ≥ 2, got ${capacity}`);
    this.capacity = capacity;
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.tScratch = new Float64Array(capacity);
    this.vScratch = new Float64Array(capacity);
  }

  /** Number of points held. */
  get size(): number {
    return this.count;
  }

  /** Append a point. Times should not decrease; a point older than the newest is ignored. */
  push(timeMs: number, value: number): void {
    if (this.count > 0) {
      const newest = this.times[(this.head - 1 + this.capacity) % this.capacity] ?? 0;
      if (timeMs < newest) return;
    }
    this.times[this.head] = timeMs;
    this.values[this.head] = value;
    this.head = (this.head + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /**
   * Slope in value units per second over the points within `windowMs` of the newest point. Null
   * until `minPoints` points fall in the window.
   */
  slopePerS(windowMs: number, minPoints = 3): number | null {
    if (this.count === 0) return null;
    const start = (this.head - this.count + this.capacity) % this.capacity;
    const newest = this.times[(this.head - 1 + this.capacity) % this.capacity] ?? 0;
    const cutoff = newest - windowMs;
    let n = 0;
    for (let k = 0; k < this.count; k++) {
      const i = (start + k) % this.capacity;
      const t = this.times[i] ?? 0;
      if (t < cutoff) continue;
      this.tScratch[n] = t / 1000;
      this.vScratch[n] = this.values[i] ?? 0;
      n++;
    }
    return leastSquaresSlope(this.tScratch, this.vScratch, 0, n, minPoints);
  }
}
