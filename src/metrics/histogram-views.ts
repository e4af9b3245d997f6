/**
 * Pure views of a {@link LogHistogram}: the cumulative histogram Prometheus exposes and the
 * log-scaled buckets the dashboard draws.
 *
 * @module
 */
import { keyValueNs, type LogHistogram } from './log-histogram.js';
import type { CumulativeHistogram, LatencyBucket } from '../contract/metrics.js';

/**
 * The `le` bounds of {@link CumulativeHistogram}s, seconds: a 1-2.5-5 series from 100 µs to 60 s
 * (18 buckets plus the implicit `+Inf`). Fixed, so series stay comparable across scrapes and pools.
 */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60,
];

/**
 * A Prometheus cumulative histogram from a sketch. A sketch key counts under the first bound its
 * representative value ({@link keyValueNs}, not clamped to the histogram's min/max) does not exceed,
 * so a value within 0.99% of a bound may land on either side of it, but always on the same side:
 * a key's bucket never changes as values are added, so no cumulative count ever decreases between
 * scrapes (Prometheus `rate()` reads a decrease as a counter reset). `count` (the `+Inf` bucket) and
 * `sumS` are exact.
 */
export function cumulativeHistogram(h: LogHistogram, boundsS: readonly number[] = LATENCY_BUCKETS_S): CumulativeHistogram {
  const perBucket = new Array<number>(boundsS.length).fill(0);
  let b = 0;
  h.forEachBucket((_lo, _hi, count, _valueNs, key) => {
    const valueS = key < 0 ? 0 : keyValueNs(key) / 1e9;
    while (b < boundsS.length && valueS > boundsS[b]!) b++;
    if (b < boundsS.length) perBucket[b]! += count;
  });
  const cumulativeCounts = new Array<number>(boundsS.length);
  let acc = 0;
  for (let i = 0; i < boundsS.length; i++) {
    acc += perBucket[i]!;
    cumulativeCounts[i] = acc;
  }
  return { bucketsS: boundsS.slice(), cumulativeCounts, sumS: h.sumNs / 1e9, count: h.count };
}

/**
 * Log-scaled buckets for a latency chart: `perDecade` buckets per power of ten of microseconds,
 * contiguous from the lowest to the highest non-empty one (empty ones in between included, so the
 * axis is continuous). Zero durations, when any, come first as `{ lowerUs: 0, upperUs: 0 }`.
 * Each sketch bucket is placed by its read-back value.
 */
export function logBuckets(h: LogHistogram, perDecade = 4): LatencyBucket[] {
  let zero = 0;
  const byIndex = new Map<number, number>();
  let minI = Infinity;
  let maxI = -Infinity;
  h.forEachBucket((_lo, _hi, count, valueNs) => {
    if (valueNs <= 0) {
      zero += count;
      return;
    }
    const i = Math.floor(Math.log10(valueNs / 1e3) * perDecade + 1e-9);
    byIndex.set(i, (byIndex.get(i) ?? 0) + count);
    if (i < minI) minI = i;
    if (i > maxI) maxI = i;
  });
  const out: LatencyBucket[] = [];
  if (zero > 0) out.push({ lowerUs: 0, upperUs: 0, count: zero });
  for (let i = minI; i <= maxI; i++) {
    out.push({ lowerUs: 10 ** (i / perDecade), upperUs: 10 ** ((i + 1) / perDecade), count: byIndex.get(i) ?? 0 });
  }
  return out;
}
