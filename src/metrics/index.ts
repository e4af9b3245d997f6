/**
 * Metrics: the collector and its query results, plus the pure data structures behind them.
 *
 * @module
 */
export * from './types.js';
export { MetricsCollector, collectorChannels, type MetricsCollectorOptions } from './metrics-collector.js';
export { ManualClock, systemClock, type MetricsClock } from './clock.js';
export { DEFAULT_POOL_LIMITS, MAX_NAME_LENGTH, MAX_WORKER_SLOTS, PoolMetrics, poolMemoryBound, type PoolLimits, type TrackablePool } from './pool-metrics.js';
export {
  KEY_COUNT,
  LogHistogram,
  MAX_HISTOGRAM_BYTES,
  MAX_TRACKED_NS,
  MAX_WIDE_HISTOGRAM_BYTES,
  MIN_TRACKED_NS,
  RELATIVE_ACCURACY,
  emptyLatencySummary,
  keyOf,
  keyValueNs,
} from './log-histogram.js';
export {
  COARSE_SLOTS,
  COARSE_SLOT_S,
  DETAIL_TIERS,
  HistogramPool,
  POOL_TIERS,
  SeriesRing,
  TieredCounter,
  TieredSketch,
  windowSpan,
  type TierConfig,
  type WindowSpan,
} from './window-ring.js';
export { LATENCY_BUCKETS_S, cumulativeHistogram, logBuckets } from './histogram-views.js';
export { healthScore, type HealthInputs } from './health-score.js';
