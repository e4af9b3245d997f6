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
  /**
   * How long Python may take to answer a call without its own `timeoutMs`: the pool-wide hang
   * guard. Past it the call rejects with `timeout`/`operation` and the worker is killed and
   * replaced at once. Default 30000.
   */
  operationTimeoutMs?: number | undefined;
  /**
   * How long a worker may go on with a call its caller abandoned (the call's `signal` fired, or its
   * own per-call `timeoutMs` passed, while the request was in Python). The call rejects at once;
   * the worker takes no other call meanwhile, finishes the request and its late reply is dropped
   * (matched by id), then it serves again. Still running after `abortGraceMs`, it is killed and
   * replaced. For a call without its own `timeoutMs` the grace never runs past its
   * `operationTimeoutMs` deadline (the hang guard keeps its kill). 0 kills at once.
   *
   * Default 1000: a respawn costs a process start (~100–300 ms for the bare worker, seconds when
   * modules load models) and cold caches, while an abandoned call is usually close to done (callers
   * give up at deadlines near the command's normal latency), so a second covers that tail. A call
   * still running after a second is likely to run much longer, and waiting for it (e.g. the rest of
   * `operationTimeoutMs`, 30 s) would keep the worker from every other caller that long.
   */
  abortGraceMs?: number | undefined;
  /** How often idle workers are pinged; 0 disables health checks. Default 30000. */
  healthCheckIntervalMs?: number | undefined;
  /** How long a ping may take before it counts as a failure. Default 5000. */
  healthCheckTimeoutMs?: number | undefined;
  /** Failed health checks in a row before a worker is replaced. Default 3. */
  maxHealthFailures?: number | undefined;
  /** Which idle worker serves next: the most recently used (`lifo`, warm caches) or the least (`fifo`). */
  strategy?: 'lifo' | 'fifo' | undefined;
  /**
   * Session affinity. `'strict'` (default): a session's calls run only on the worker holding its
   * Python-side state, waiting for it (up to `checkoutTimeoutMs`) when it is busy; when that worker
   * dies, the session's next call rejects once with `worker`/`session_lost`. `'prefer'`: its worker
   * when idle, else any idle worker (the state is then lost, counted as a session move): for
   * stateless sessions.
   */
  affinity?: 'strict' | 'prefer' | undefined;
  /** Largest frame either way, in bytes (request or reply). Default 16 MiB. */
  maxMessageBytes?: number | undefined;
  /** The Python executable. Default `python3`. */
  python?: string | undefined;
  /** Python modules imported at worker start; their public functions become `module.function` commands. */
  pythonModules?: string[] | undefined;
  /** Directories put first on PYTHONPATH (then `env.PYTHONPATH`, then the inherited one). */
  pythonPath?: string[] | undefined;
  /** Extra environment variables for the Python processes (values never logged; names without `=` or NUL). */
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
   * Lines of Python output forwarded to the logger per second, sustained, per stream (stdout,
   * stderr) of each worker; lines beyond it are dropped, counted
   * (`status().workers[i].outputLinesDropped`) and reported in one `warn` record per second at most
   * per worker (`droppedLines: { stdout, stderr }`). Default 1000.
   */
  outputLinesPerSecond?: number | undefined;
  /** Lines a stream may print at once beyond the rate, after a quiet spell (its token bucket's size). Default 5000. */
  outputBurstLines?: number | undefined;
  /**
   * Longest line of Python output forwarded, in bytes; a longer line is cut and marked (`cut: true`,
   * `lineBytes`), and a line without a newline never holds more than this. Default 16 KiB.
   */
  outputMaxLineBytes?: number | undefined;
  /**
   * Warm spares: processes started and past their imports that take over a replaced worker's slot
   * at once (crash, timeout, abort, failed health checks) and are replaced in the background; they
   * never serve a call before. 0..64, at most `maxSize`. Default 0.
   */
  spares?: number | undefined;
  /**
   * Measure each call's own execution time in Python (`time.perf_counter_ns` around the handler)
   * and return it with the reply, so `dspex:pool:operation` contexts carry `pythonNs` and
   * `bridgeNs` (the split queue wait | bridge | Python). Default true; false only to measure
   * what the split costs (`bench pool`).
   */
  pythonTiming?: boolean | undefined;
  /**
   * Calls (user calls, served or failed in Python) a worker process serves before it is recycled:
   * a replacement is started first (or a ready spare taken), then the old process retires after
   * its current call; no call fails because of it (strict sessions it held lose their state: see
   * `recycleWorker`). The standard answer to slow leaks in long-lived workers (gunicorn's
   * `max_requests`, Celery's `max_tasks_per_child`). Lowered per process by up to
   * `recycleJitterRatio`. 0 (default): never.
   */
  maxCallsPerWorker?: number | undefined;
  /**
   * Resident memory (RSS, read from /proc/PID/statm every `recycleCheckIntervalMs`) beyond which a
   * worker process is recycled, like `maxCallsPerWorker` (Celery's `max_memory_per_child`).
   * Lowered per process by up to `recycleJitterRatio`. 0 (default): never.
   */
  maxWorkerRssBytes?: number | undefined;
  /**
   * Each process's recycling limits are lowered by a random fraction up to this (0..0.5), drawn
   * once per process, so workers started together do not recycle together. Default 0.1.
   */
  recycleJitterRatio?: number | undefined;
  /** How often worker RSS is read against `maxWorkerRssBytes`, ms (only while it is set). Default 5000. */
  recycleCheckIntervalMs?: number | undefined;
  /** Delay before restarting a worker slot whose start failed, ms; doubles per failure in a row. Default 100. */
  restartBackoffMs?: number | undefined;
  /** Longest delay between restarts of a failing worker slot, ms. Default 5000. */
  maxRestartBackoffMs?: number | undefined;
  /**
   * Where user prints and pool diagnostics go. Default: pino to stderr at level `info`, through a
   * bounded destination: at most 1 MiB waits for a slow stderr, beyond it records are dropped and
   * counted (default-logger.ts).
   */
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
  abortGraceMs: number;
  healthCheckIntervalMs: number;
  healthCheckTimeoutMs: number;
  maxHealthFailures: number;
  strategy: 'lifo' | 'fifo';
  affinity: 'strict' | 'prefer';
  maxMessageBytes: number;
  python: string;
  pythonModules: string[];
  pythonPath: string[];
  env: Record<string, string>;
  sessionTtlMs: number;
  maxSessions: number;
  startTimeoutMs: number;
  startAttempts: number;
  outputLinesPerSecond: number;
  outputBurstLines: number;
  outputMaxLineBytes: number;
  spares: number;
  pythonTiming: boolean;
  maxCallsPerWorker: number;
  maxWorkerRssBytes: number;
  recycleJitterRatio: number;
  recycleCheckIntervalMs: number;
  restartBackoffMs: number;
  maxRestartBackoffMs: number;
  logger?: PoolLogger | undefined;
  telemetry: { disabled: TelemetryGroup[] };
}


/**
 * What `pool.configure(partial)` may change at run time: the timeouts, the health-check interval,
 * the restart backoff and the recycling limits. Validated by the pool's schema (same bounds as at
 * construction).
 */
export type ConfigurablePoolOptions = Pick<
  PoolOptions,
  | 'operationTimeoutMs'
  | 'checkoutTimeoutMs'
  | 'healthCheckIntervalMs'
  | 'healthCheckTimeoutMs'
  | 'abortGraceMs'
  | 'restartBackoffMs'
  | 'maxRestartBackoffMs'
  | 'maxCallsPerWorker'
  | 'maxWorkerRssBytes'
  | 'recycleJitterRatio'
  | 'recycleCheckIntervalMs'
>;

/** Options of `pool.recycleWorker()`. */
export interface RecycleOptions {
  /** Why, recorded on `dspex:worker:recycle` and in the recycle metrics (`[A-Za-z0-9_.:-]`, 1..64). Default `manual`. */
  reason?: string;
}
