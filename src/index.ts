/**
 * dspex: a supervised pool of Python workers for Node.js, and the monitoring around it.
 *
 * The pipeline: pool operation → diagnostics_channel event → metric writes → window rotation →
 * query API → consumers (dashboards, alerts, advisor, Prometheus).
 *
 * @module
 */
export { SessionPool, RUN_ID, type ExecuteOptions, type StopOptions, type SessionInfo } from './pool/session-pool.js';
export { PythonBridgeError, isPythonBridgeError, errorCategories, type ErrorCategory, type ErrorDetails } from './pool/errors.js';
export type { PoolStatus, WorkerStatus, WorkerState, PoolLifecycle } from './pool/types.js';
export { poolOptionsSchema, type PoolOptions, type ResolvedPoolOptions, type PoolLogger } from './config/pool-options.js';
export * from './telemetry/telemetry.js';
export * from './resources/index.js';
export * from './dashboard/index.js';
export * from './exporters/index.js';
export * from './metrics/index.js';
