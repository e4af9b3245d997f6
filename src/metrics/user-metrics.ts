/**
 * The metrics Python code records through `import dspex` (issue 19), for one pool: lifetime
 * counters, gauges and fixed-bucket histograms per label set, built from the deltas workers report
 * on `dspex:python:metrics`. Bounded by {@link USER_METRIC_LIMITS} whatever the workers send: at
 * most `maxMetrics` names plus Python's three `overflow_<kind>` catch-alls (changes to further
 * names are dropped and counted), `maxSeries` label sets per metric plus one (further ones add up
 * in the series whose label values are all `(other)`), label
 * names fixed by a metric's first change, histogram bounds fixed likewise.
 *
 * @module
 */
import { OVERFLOW_NAME } from '../contract/metrics.js';
import { USER_METRIC_LIMITS, type UserMetric, type UserMetricChange, type UserMetricKind } from '../contract/inside-python.js';

interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** Counter total, gauge value, or histogram count. */
  value: number;
  /** Histogram only: counts per bucket (not cumulative), `+Inf` last. */
  counts: Float64Array | null;
  sum: number;
}

interface Metric {
  readonly name: string;
  readonly kind: UserMetricKind;
  readonly labelNames: readonly string[];
  readonly bucketsLe: readonly number[] | null;
  readonly series: Map<string, Series>;
}

/** What Python records names beyond its cap into (python/dspex.py). */
const OVERFLOW_METRICS: ReadonlySet<string> = new Set(['overflow_counter', 'overflow_gauge', 'overflow_histogram']);

/** Bytes allowed per series (labels at their longest, a histogram's counts at the most buckets). */
const SERIES_BYTES = 256 + USER_METRIC_LIMITS.maxLabels * 2 * (USER_METRIC_LIMITS.maxNameLength + USER_METRIC_LIMITS.maxLabelValueLength) + (USER_METRIC_LIMITS.maxBuckets + 1) * 8;
/** Bytes allowed per metric besides its series (the entry, its name, label names and bounds). */
const METRIC_BYTES = 512 + USER_METRIC_LIMITS.maxNameLength * 2 + USER_METRIC_LIMITS.maxLabels * USER_METRIC_LIMITS.maxNameLength * 2 + USER_METRIC_LIMITS.maxBuckets * 8;

/** One pool's user metrics (see the module note). */
export class UserMetricsStore {
  private readonly metrics = new Map<string, Metric>();
  /** Changes dropped here (beyond the caps, conflicting kind, labels or bounds) or by the pool's parser. */
  droppedChanges = 0;

  /** The most bytes a store can hold, by construction. */
  static maxBytes(): number {
    const L = USER_METRIC_LIMITS;
    return 256 + (L.maxMetrics + OVERFLOW_METRICS.size) * (METRIC_BYTES + (L.maxSeries + 1) * SERIES_BYTES);
  }

  /** Bytes held now, by the same measure as {@link maxBytes}. */
  byteSize(): number {
    let bytes = 256;
    for (const m of this.metrics.values()) bytes += METRIC_BYTES + m.series.size * SERIES_BYTES;
    return bytes;
  }

  /** Apply one report of a worker: `dropped` entries its parser already refused are counted too. */
  apply(changes: readonly UserMetricChange[], dropped = 0): void {
    this.droppedChanges += dropped;
    for (const c of changes) if (!this.applyOne(c)) this.droppedChanges++;
  }

  /** Every metric, by name, with its series (lifetime values; histograms cumulative, Prometheus-style). */
  list(): UserMetric[] {
    const out: UserMetric[] = [];
    for (const m of this.metrics.values()) {
      const series = [];
      for (const s of m.series.values()) {
        if (m.kind !== 'histogram' || s.counts === null) {
          series.push({ labels: { ...s.labels }, value: s.value });
          continue;
        }
        const cumulativeCounts: number[] = [];
        let acc = 0;
        for (let i = 0; i < m.bucketsLe!.length; i++) cumulativeCounts.push((acc += s.counts[i]!));
        series.push({ labels: { ...s.labels }, value: s.value, histogram: { bucketsLe: [...m.bucketsLe!], cumulativeCounts, sum: s.sum, count: s.value } });
      }
      out.push({ name: m.name, kind: m.kind, labelNames: [...m.labelNames], series });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private applyOne(c: UserMetricChange): boolean {
    const names = Object.keys(c.labels);
    let m = this.metrics.get(c.name);
    if (m === undefined) {
      // The three catch-alls of names beyond Python's own cap (`overflow_<kind>`) always fit.
      if (this.metrics.size >= USER_METRIC_LIMITS.maxMetrics && !OVERFLOW_METRICS.has(c.name)) return false;
      m = { name: c.name, kind: c.kind, labelNames: names, bucketsLe: c.kind === 'histogram' ? [...(c.bucketsLe ?? [])] : null, series: new Map() };
      this.metrics.set(c.name, m);
    }
    if (m.kind !== c.kind || names.length !== m.labelNames.length || names.some((n, i) => n !== m.labelNames[i])) return false;
    if (m.kind === 'histogram' && !sameBounds(m.bucketsLe!, c.bucketsLe)) return false;
    let key = '';
    for (const n of m.labelNames) key += c.labels[n] + '\u0000';
    let s = m.series.get(key);
    if (s === undefined) {
      if (m.series.size >= USER_METRIC_LIMITS.maxSeries) {
        key = '';
        const labels: Record<string, string> = {};
        for (const n of m.labelNames) {
          labels[n] = OVERFLOW_NAME;
          key += OVERFLOW_NAME + '\u0000';
        }
        s = m.series.get(key);
        if (s === undefined) {
          s = newSeries(m, labels);
          m.series.set(key, s);
        }
      } else {
        s = newSeries(m, c.labels);
        m.series.set(key, s);
      }
    }
    if (m.kind === 'counter') s.value += c.value;
    else if (m.kind === 'gauge') s.value = c.value;
    else {
      const counts = c.bucketCounts!;
      for (let i = 0; i < counts.length; i++) s.counts![i]! += counts[i]!;
      s.value += c.count ?? 0;
      s.sum += c.sum ?? 0;
    }
    return true;
  }
}

function newSeries(m: Metric, labels: Readonly<Record<string, string>>): Series {
  return { labels: { ...labels }, value: 0, counts: m.kind === 'histogram' ? new Float64Array(m.bucketsLe!.length + 1) : null, sum: 0 };
}

function sameBounds(a: readonly number[], b: readonly number[] | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
