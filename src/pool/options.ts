/**
 * The pool's options as types, free of zod: the schema that validates them (with their defaults
 * and bounds) is internal, so our declarations never carry zod's types.
 *
 * @module
 */
import type { TelemetryGroup } from '../telemetry/telemetry.js';

/** The logger the pool writes to (pino's interface; `console`-like objects fit too). */
export interface PoolLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Options of `new SessionPool(options)`, as the user writes them. Written out (not inferred from
 * the schema) so that our declarations do not carry zod's types; the guard in the schema's module
 * fails to compile when the two drift apart.
 */
export interface PoolOptions {
  /** The pool's name: metrics, telemetry and Prometheus labels are keyed by it (letters, digits, `_ . : -`). Default `pool-N`. */
  name?: string | undefined;
  /** Workers started by `start()`. Default: the CPU count. */
  size?: number | undefined;
  /** Lower bound for `resize()`. Default 1. */
  minSize?: number | undefined;
  /** Upper bound for `resize()`. Default: max(size, 2 × CPU count). */
  maxSize?: number | undefined;
  /** Calls allowed to wait for a worker; beyond it calls reject at once with `overloaded`. Default 1000. */
  maxQueue?: number | undefined;
  /** How long a call may wait for a worker before rejecting with `timeout`/`checkout`. Default 5000. */
  checkoutTimeoutMs?: number | undefined;
  /** How long Python may take to answer; then the worker is killed and replaced. Default 30000. */
  operationTimeoutMs?: number | undefined;
  /** How often idle workers are pinged; 0 disables health checks. Default 30000. */
  healthCheckIntervalMs?: number | undefined;
  /** How long a ping may take before it counts as a failure. Default 5000. */
  healthCheckTimeoutMs?: number | undefined;
  /** Failed health checks in a row before a worker is replaced. Default 3. */
  maxHealthFailures?: number | undefined;
  /** Which idle worker serves next: the most recently used (`lifo`, warm caches) or the least (`fifo`). */
  strategy?: 'lifo' | 'fifo' | undefined;
  /** Largest frame either way, in bytes (request or reply). Default 16 MiB. */
  maxMessageBytes?: number | undefined;
  /** The Python executable. Default `python3`. */
  python?: string | undefined;
  /** Python modules imported at worker start; their public functions become `module.function` commands. */
  pythonModules?: string[] | undefined;
  /** Directories prepended to PYTHONPATH. */
  pythonPath?: string[] | undefined;
  /** Extra environment variables for the Python processes (values never logged). */
  env?: Record<string, string> | undefined;
  /** Sessions idle longer than this are ended. Default 30 min. */
  sessionTtlMs?: number | undefined;
  /** Most sessions tracked at once; beyond it the least recently used session is ended. Default 100000. */
  maxSessions?: number | undefined;
  /** How long a worker may take to start (import modules) before it counts as failed. Default 30000. */
  startTimeoutMs?: number | undefined;
  /** Start attempts per worker during `start()` before the pool gives up. Default 3. */
  startAttempts?: number | undefined;
  /**
   * Warm spares: processes started and past their imports that take over a replaced worker's slot
   * at once (crash, timeout, abort, failed health checks) and are replaced in the background; they
   * never serve a call before. 0..64, at most `maxSize`. Default 0.
   */
  spares?: number | undefined;
  /** Where user prints and pool diagnostics go. Default: pino to stderr at level `info`. */
  logger?: PoolLogger | undefined;
  /** Telemetry groups to switch off. */
  telemetry?: { disabled?: TelemetryGroup[] | undefined } | undefined;
}

/** Options after validation and defaults (what `pool.options` holds). */
export interface ResolvedPoolOptions {
  name: string;
  size: number;
  minSize: number;
  maxSize: number;
  maxQueue: number;
  checkoutTimeoutMs: number;
  operationTimeoutMs: number;
  healthCheckIntervalMs: number;
  healthCheckTimeoutMs: number;
  maxHealthFailures: number;
  strategy: 'lifo' | 'fifo';
  maxMessageBytes: number;
  python: string;
  pythonModules: string[];
  pythonPath: string[];
  env: Record<string, string>;
  sessionTtlMs: number;
  maxSessions: number;
  startTimeoutMs: number;
  startAttempts: number;
  spares: number;
  logger?: PoolLogger | undefined;
  telemetry: { disabled: TelemetryGroup[] };
}

