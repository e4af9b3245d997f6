/**
 * `dspex/prometheus`: the pool's metrics in the Prometheus ecosystem. `registerDspexMetrics` and
 * `createDspexRegistry` put them into a prom-client `Registry` (yours, merged with your own
 * metrics); `metricsHandler` serves them from Express, Fastify or `node:http`; `renderMetrics`
 * is the exposition renderer the monitoring server uses, without prom-client.
 *
 * prom-client is an optional peer dependency, loaded only by this subpath: `import 'dspex'`
 * never loads it.
 *
 * @module
 */
export {
  registerDspexMetrics,
  createDspexRegistry,
  metricsHandler,
  type RegisterOptions,
  type MetricsHandlerOptions,
  type MetricsRequestHandler,
} from './exporters/prom-client.js';
export { renderMetrics, PROMETHEUS_CONTENT_TYPE, FAMILY_NAMES, type FamilyName } from './exporters/prometheus.js';
