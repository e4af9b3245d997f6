/**
 * Resource monitoring: the Node process, the machine, and every Python process of the library,
 * with crash, zombie and orphan detection. See docs/MONITORING_GUIDE.md (## Resources).
 *
 * @module
 */
export type { DescendantProcess, EventLoopDelayUs, NodeResources, OrphanedDescendant, PythonProcessResources, ResourceSample, SystemResources, VanishedProcess } from '../contract/resources.js';
export { ResourceMonitor, type ProcessStats, type ResourceMonitorOptions } from './resource-monitor.js';
export { DescendantTracker, MAX_DESCENDANTS, walkTree, type DescendantTrackerOptions, type DescendantsSample } from './descendants.js';
export type { PythonProcessInfo, ResourcePoolSource, ResourcePoolWorker } from './process-discovery.js';
export type { CleanupOrphansOptions, CleanupOrphansResult, OrphanAction, OrphanCleanupEntry } from './orphan-cleanup.js';
export { NodeSampler, countActiveResources, heartbeatDelayNs, summarizeDelayHistogram, type NodeSamplerOptions } from './node-sampler.js';
export {
  DEFAULT_CLOCK_TICKS_PER_S,
  DEFAULT_PAGE_SIZE_BYTES,
  ProcReader,
  RUN_ID_ARG_PREFIX,
  WORKER_ID_ARG_PREFIX,
  WORKER_SCRIPT_SUFFIX,
  classifyOwnership,
  comparePidNamespace,
  cpuPercent,
  identifyWorker,
  inferPageSizeBytes,
  parseChildren,
  parseCmdline,
  parseEnviron,
  parseStat,
  parseStatm,
  parseStatus,
  parseSystemStat,
  parseUptimeS,
  runIdOwner,
  toProcError,
  type OwnerObservation,
  type PidNamespaceCheck,
  type Ownership,
  type ProcError,
  type ProcErrorCode,
  type ProcReaderOptions,
  type ProcResult,
  type ProcStat,
  type ProcStatm,
  type ProcStatus,
  type SystemStat,
  type WorkerIdentity,
} from './proc.js';
export { TrendRing, leastSquaresSlope } from './trend.js';
