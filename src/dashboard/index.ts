/**
 * The terminal dashboard: pure renderers (charts, tables, gauges, the frame composer), the key
 * reducer, and the {@link PerformanceDashboard} that owns the terminal.
 *
 * @module
 */
export type { RenderOptions } from './types.js';
export { painter, stripAnsi, visibleWidth, truncateVisible, sanitizeText, codePointWidth, type ColorName, type Paint } from './ansi.js';
export { sanitizeSnapshot } from './sanitize.js';
export { formatBytes, formatCompact, formatPercent, formatUptime, formatUs } from './format.js';
export { renderThroughputChart, type TimeChartOptions } from './throughput-chart.js';
export { renderLatencyHistogram, type LatencyMarks } from './latency-histogram.js';
export { renderErrorTrends, errorRateThresholds } from './error-trends.js';
export { renderWorkerTable, joinWorkerRows, sortWorkerRows, workerSorts, type WorkerRow, type WorkerSort, type WorkerTableOptions } from './worker-table.js';
export { renderResourceGauges, gaugeThresholds, type GaugeOptions, type Threshold } from './resource-gauges.js';
export { renderAlerts, renderRecommendations, renderHeader, renderFooter, renderHelp, healthThresholds, type HeaderInfo, type AlertPanelOptions } from './panels.js';
export { renderFrame, selectPool, MIN_COLUMNS, MIN_ROWS, WIDE_COLUMNS, type TerminalSize, type FrameExtras } from './frame.js';
export {
  reduceKey,
  splitKeys,
  initialViewState,
  clampRefreshMs,
  refreshStepsMs,
  MIN_REFRESH_MS,
  MAX_REFRESH_MS,
  DEFAULT_REFRESH_MS,
  type ViewState,
  type KeyResult,
} from './view-state.js';
export {
  PerformanceDashboard,
  startDashboard,
  stopDashboard,
  renderOnce,
  colorEnabled,
  terminalSequences,
  type DashboardOptions,
  type SnapshotSource,
  type DashboardExitReason,
  type DashboardInput,
  type DashboardOutput,
} from './performance-dashboard.js';
export { timingSplit, formatTimingSplit, type TimingSplit } from './timing-split.js';
export { sampleSnapshot, emptySnapshot, type SampleOptions } from './sample.js';
