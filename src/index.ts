/**
 * dspex: a supervised pool of Python workers for Node.js, and the monitoring around it.
 *
 * The pipeline: pool operation → diagnostics_channel event → metric writes → window rotation →
 * query API → consumers (dashboards, alerts, advisor, Prometheus).
 *
 * Every export is listed by name: this is the public surface (test/api/surface.test.ts snapshots
 * it, so a change is always a visible decision). Optional integrations live in subpaths and load
 * their dependencies only there: `dspex/prometheus` (prom-client) and `dspex/testing`.
 *
 * @module
 */

// The pool.
export { SessionPool, type ExecuteOptions, type StopOptions, type SessionInfo } from './pool/session-pool.js';
export type {
  PoolStatus,
  WorkerStatus,
  WorkerState,
  PoolLifecycle,
  SpareStatus,
  SpareWorkerStatus,
} from './contract/pool-status.js';
export type { PoolOptions, ResolvedPoolOptions, PoolLogger, ConfigurablePoolOptions, RecycleOptions } from './pool/options.js';

// Errors.
export {
  PythonBridgeError,
  isPythonBridgeError,
  errorCategories,
  errorTypes,
  errorCode,
  type ErrorCategory,
  type ErrorCode,
  type ErrorDetails,
  type PythonBridgeErrorOptions,
} from './contract/errors.js';

// Telemetry: the channel catalog and a typed subscribe.
export {
  telemetryEvents,
  telemetryGroups,
  subscribe,
  OPERATION_CHANNEL,
  type TelemetryEventMap,
  type TelemetryEventName,
  type TelemetryGroup,
  type OperationContext,
  type PoolEventBase,
  type WorkerEventBase,
  type PoolInitEvent,
  type PoolTerminateEvent,
  type WorkerStartReason,
  type WorkerInitEvent,
  type WorkerTerminateReason,
  type WorkerTerminateEvent,
  type WorkerCheckoutEvent,
  type CheckinResult,
  type WorkerCheckinEvent,
  type WorkerHealthCheckEvent,
  type QueueDepthEvent,
  type QueueRejectedEvent,
  type PoolErrorEvent,
  type RecoveryEvent,
  type ResizeEvent,
  type SessionExpireEvent,
  type ResourceSampleEvent,
  type PythonMetricsEvent,
  type WorkerRecycleEvent,
  type PoolConfigureEvent,
  type OptionChange,
  type TuningEvent,
} from './telemetry/telemetry.js';

// Inside Python (issue 19): stack dumps and metrics recorded by Python code.
export { USER_METRIC_LIMITS, type PythonStack, type UserMetric, type UserMetricChange, type UserMetricKind, type UserMetricSeries } from './contract/inside-python.js';

// Metrics: the collector and its query results.
export { MetricsCollector, type MetricsCollectorOptions } from './metrics/metrics-collector.js';
export type { MetricsClock } from './contract/clock.js';
export type {
  WindowName,
  LatencySummaryUs,
  WindowSummary,
  PerformanceSummary,
  PoolGauges,
  PeriodMetrics,
  CurrentMetrics,
  PoolTotals,
  RangePoint,
  MetricsRange,
  WorkerMetrics,
  ErrorRates,
  CumulativeHistogram,
  LatencyKind,
  LatencyBucket,
  ErrorTotal,
  CommandTotals,
  CommandMetrics,
} from './contract/metrics.js';

// Resources: Node, the machine and every Python process.
export {
  ResourceMonitor,
  type ResourceMonitorOptions,
  type ResourcePoolSource,
  type ResourcePoolWorker,
  type CleanupOrphansOptions,
  type CleanupOrphansResult,
  type OrphanAction,
  type OrphanCleanupEntry,
  type PythonProcessInfo,
} from './resources/index.js';
export type { EventLoopDelayUs, NodeResources, PythonProcessResources, ResourceSample, SystemResources, VanishedProcess } from './contract/resources.js';

// The monitoring server (/metrics, /api/*), its client, and the snapshot contract the dashboards read.
export { MonitoringServer, DEFAULT_MONITORING_PORT, type MonitoringServerOptions, type MonitoringServerLogger } from './exporters/http-server.js';
export { fetchSnapshot, fetchStack, HttpSnapshotSource, MonitoringHttpError, type FetchSnapshotOptions, type HttpSnapshotSourceOptions } from './exporters/client.js';
export { snapshotProvider } from './exporters/snapshot.js';
export { type MonitoringSnapshot, type PoolSnapshot, type SnapshotAlert, type SnapshotRecommendation, type SnapshotProvider } from './contract/snapshot.js';

// Advisor: recommendations with their evidence, and the auto-tuner.
export {
  type Recommendation,
  type RecommendationKind,
  type RecommendationAction,
  type RecommendationEvidence,
  type TunableOption,
  type TuningRecord,
  type TuningStatus,
  type TuningFigures,
} from './contract/advice.js';
export { OptimizationAdvisor, toSnapshotRecommendation, type OptimizationAdvisorOptions, type AdvisorCollector, type AdvisedPool } from './advisor/optimization-advisor.js';
export { AutoTuner, latestTuning, type AutoTunerOptions, type TunablePool, type TuningRanges } from './advisor/auto-tuner.js';
export {
  analyzeWorkerUtilization,
  detectMemoryTrends,
  findSlowOperations,
  identifyErrorPatterns,
  findTimeouts,
  generateRecommendations,
  DEFAULT_ANALYSIS_SETTINGS,
  type PoolFacts,
  type WorkerRssSeries,
  type AnalysisSettings,
} from './advisor/analyses.js';
export type { MonitoringSources, StatusSource, ResourceSource } from './exporters/sources.js';

// Alerts: rules over the collector's and the resource monitor's figures, Prometheus-style states,
// silences and inhibition, and the notification channels.
export { AlertManager, type AlertManagerOptions, type AlertCollector, type AlertedPool, type AlertLogger, type DispatchStats, type RuleError, type Silence } from './alerts/alert-manager.js';
export { defaultAlertRules, DEFAULT_ALERT_THRESHOLDS, type DefaultAlertRulesOptions, type DefaultAlertThresholds } from './alerts/default-rules.js';
export { validateRule } from './alerts/validate.js';
export type { AlertRule, ParsedAlertRule, AlertCondition, ConditionOp, ThresholdCondition, DynamicCondition, RateCondition, AnomalyCondition, CompositeRule, AlertRuleCommon } from './alerts/rule-types.js';
export { SIGNALS as ALERT_SIGNALS, type SignalName as AlertSignalName, type SignalDefinition as AlertSignalDefinition } from './alerts/signals.js';
export type { LabelMatcher, MatchOp } from './alerts/labels.js';
export {
  createChannel,
  type ChannelConfig,
  type ChannelInput,
  type LogChannelConfig,
  type FileChannelConfig,
  type WebhookChannelConfig,
  type EmailChannelConfig,
} from './alerts/channels/channel-config.js';
export { sendAlert, type ChannelDelivery } from './alerts/channels/send-alert.js';
export { webhookPayload, type WebhookPayload, type WebhookAlert } from './alerts/channels/webhook.js';
export type {
  AlertChannel,
  AlertNotification,
  NotifiedAlert,
  NotificationReason,
  AlertInstance,
  AlertTransition,
  AlertSeverity,
  AlertState,
  DeliveryResult,
  ChannelStats,
  RestoredAlert,
} from './contract/alerts.js';

// The terminal dashboard.
export {
  PerformanceDashboard,
  startDashboard,
  stopDashboard,
  renderOnce,
  type DashboardOptions,
  type DashboardInput,
  type DashboardOutput,
  type DashboardExitReason,
  type SnapshotSource,
} from './dashboard/performance-dashboard.js';

// One call for the whole stack, from one configuration (defaults, dspex.config.json, DSPEX_* variables, options).
export { createMonitoring, type Monitoring, type MonitoringOptions, type ConfigureResult } from './config/create-monitoring.js';
export type {
  MonitoringConfig,
  ResolvedMonitoringConfig,
  ResolvedPoolConfig,
  MetricsConfig,
  ResourcesConfig,
  ServerConfig,
  DashboardConfig,
  HealthConfig,
  TelemetryConfig,
} from './config/types.js';
export type { MonitoringHealth, ComponentHealth, ComponentState, TickStats } from './contract/health.js';
