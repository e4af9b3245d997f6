/**
 * Exporters: the monitoring snapshot (the dashboards' JSON contract), the Prometheus exposition,
 * the prom-client integration and request handler, and the monitoring HTTP server.
 * See docs/MONITORING_GUIDE.md (## Prometheus and the HTTP API).
 *
 * @module
 */
export type { MonitoringSnapshot, PoolSnapshot, SnapshotAlert, SnapshotRecommendation, SnapshotProvider } from '../contract/snapshot.js';
export { buildSnapshot, snapshotProvider } from './snapshot.js';
export { isWindowName, SNAPSHOT_WINDOWS } from '../contract/snapshot.js';
export { resolvePools, type CollectorQueries, type MonitoringSources, type ResolvedPool, type ResourceSource, type StatusSource } from './sources.js';
export {
  FAMILIES,
  FAMILY_NAMES,
  PROMETHEUS_CONTENT_TYPE,
  buildFamilies,
  collectPrometheusInput,
  escapeHelp,
  escapeLabelValue,
  formatValue,
  renderExposition,
  renderMetrics,
  renderPrometheus,
  type FamilyName,
  type Label,
  type MetricFamily,
  type MetricSample,
  type MetricType,
  type PoolExport,
  type PrometheusInput,
  type WorkerExport,
} from './prometheus.js';
export {
  createDspexRegistry,
  metricsHandler,
  registerDspexMetrics,
  type MetricsHandlerOptions,
  type MetricsRequestHandler,
  type RegisterOptions,
} from './prom-client.js';
export { bearerTokenMatches, constantTimeEquals } from './auth.js';
export {
  DEFAULT_MONITORING_PORT,
  MONITORING_ROUTES,
  MonitoringServer,
  type MonitoringServerLogger,
  type MonitoringServerOptions,
} from './http-server.js';
export { HttpSnapshotSource, MonitoringHttpError, apiUrl, fetchSnapshot, type FetchSnapshotOptions, type HttpSnapshotSourceOptions } from './client.js';
