/**
 * Metrics: the collector and its query results, plus the pure data structures behind them.
 *
 * @module
 */
export * from '../contract/metrics.js';
export { MetricsCollector, collectorChannels, type MetricsCollectorOptions, type TrackablePool } from './metrics-collector.js';
export { ManualClock, systemClock, type MetricsClock } from '../contract/clock.js';
export { PoolMetrics, type GaugeSample } from './pool-metrics.js';
export { DEFAULT_POOL_LIMITS, MAX_NAME_LENGTH, MAX_WORKER_SLOTS, type PoolLimits, type PoolState } from './pool-state.js';
/** The queries of one pool's figures (`poolQueries.windowSummary(poolMetrics, '1m')`, …). */
export * as poolQueries from './pool-queries.js';
export { poolByteSize, poolMemoryBound } from './memory-bound.js';
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
  type SerializedSketch,
} from './log-histogram.js';
export type { RecentSecond, SketchSpan } from './pool-queries.js';
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
