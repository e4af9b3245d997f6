/**
 * `dspex/fleet`: pools on many hosts behind BullMQ on Redis, and one monitoring view of the fleet.
 * bullmq and ioredis are optional peer dependencies of this subpath only: `import 'dspex'` never
 * loads them.
 *
 * ```ts
 * import { FleetClient, FleetWorker, FleetCollector } from 'dspex/fleet';
 * // each host
 * const worker = new FleetWorker({ connection: 'redis://10.0.0.5:6379', queue: 'models', pool });
 * await worker.start();
 * // any producer
 * const client = new FleetClient({ connection: 'redis://10.0.0.5:6379', queue: 'models' });
 * await client.execute('my_model.predict', { text: 'hi' }, { timeoutMs: 2000, retry: 'idempotent' });
 * ```
 *
 * @module
 */
export { FleetClient, type FleetClientOptions, type FleetExecuteOptions } from './fleet/fleet-client.js';
export { FleetWorker, type FleetPool, type FleetWorkerOptions, type FleetWorkerStopOptions } from './fleet/fleet-worker.js';
export { FleetCollector, SERIES_SECONDS, SKETCH_SECONDS, type FleetCollectorOptions } from './fleet/fleet-collector.js';
export { buildHostReport, parseHostReport, REPORT_COMMAND_SKETCHES, REPORT_RECENT_SECONDS, type HostPoolReport, type HostReport, type ReportSource } from './fleet/host-report.js';
export type { FleetConnection } from './fleet/connection.js';
export type { FleetHostSnapshot, FleetSnapshot } from './contract/snapshot.js';
export type { FleetRetry, HostRecord } from './fleet/wire.js';
