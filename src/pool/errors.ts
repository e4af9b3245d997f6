/**
 * The one error type the pool rejects with.
 *
 * Every failure a caller can see is a {@link PythonBridgeError}: a plain `Error` subclass with a
 * machine-readable `category` (what kind of failure, for alerting and retries) and `type` (the
 * precise cause within that category; for `python` errors the Python exception class name).
 *
 * | category | when | `type` values |
 * |---|---|---|
 * | `timeout` | a deadline passed | `checkout` (no worker became free in time), `operation` (Python did not answer in time; the worker was killed and replaced) |
 * | `python` | the Python code raised | the exception class name, e.g. `ValueError`; `details.traceback` holds the traceback |
 * | `worker` | the Python process failed | `crashed` (exited while serving the call), `malformed_reply` (a frame that is not valid protocol), `reply_too_large`, `start_failed` (the worker could not start; `details.traceback` when Python said why), `health_check` (published on `dspex:pool:error` only: a worker replaced after failed pings; no call rejects with it) |
 * | `overloaded` | the queue is full | `queue_full` |
 * | `aborted` | the caller's `AbortSignal` fired | `aborted` |
 * | `invalid_request` | the call cannot be served as asked | `unknown_command`, `bad_args`, `not_serializable` (args or result not JSON), `request_too_large`, `invalid_options` (bad pool options) |
 * | `pool_unavailable` | the pool is not running | `not_started`, `starting` (`resize()` before `start()` finished), `stopping`, `stopped`, `already_started` (`start()` called twice) |
 *
 * @module
 */

/** The categories of {@link PythonBridgeError}. */
export type ErrorCategory =
  | 'timeout'
  | 'python'
  | 'worker'
  | 'overloaded'
  | 'aborted'
  | 'invalid_request'
  | 'pool_unavailable';

/** All categories, for exhaustive iteration (metrics, docs). */
export const errorCategories: readonly ErrorCategory[] = [
  'timeout',
  'python',
  'worker',
  'overloaded',
  'aborted',
  'invalid_request',
  'pool_unavailable',
];

/** Extra facts about an error. Never holds secrets: env values and args are not copied here. */
export interface ErrorDetails {
  /** The pool's name. */
  pool?: string;
  /** The worker slot that served (or was serving) the call. */
  workerId?: number;
  /** The Python process id. */
  pid?: number;
  /** The command that was called. */
  command?: string;
  /** The session the call belonged to. */
  sessionId?: string | null;
  /** The Python traceback, for `python` errors and start failures. */
  traceback?: string;
  /** The exit code of a crashed worker, or null when it was killed by a signal. */
  exitCode?: number | null;
  /** The signal that killed a crashed worker. */
  signal?: string | null;
  /** The deadline that passed, for timeouts. */
  timeoutMs?: number;
  /** Whether the request frame had been written to Python when the failure happened. */
  sent?: boolean;
  /** For invalid options: the option's name. */
  option?: string;
  [key: string]: unknown;
}

/** Options of {@link PythonBridgeError}'s constructor. */
export interface PythonBridgeErrorOptions {
  details?: ErrorDetails;
  cause?: unknown;
}

/**
 * The error every pool call rejects with. `category` and `type` are stable strings to branch on;
 * `message` is for people.
 */
export class PythonBridgeError extends Error {
  override readonly name = 'PythonBridgeError';
  /** What kind of failure this is. */
  readonly category: ErrorCategory;
  /** The precise cause within the category (for `python`, the exception class name). */
  readonly type: string;
  /** Facts about where and how it happened. */
  readonly details: ErrorDetails;

  constructor(category: ErrorCategory, type: string, message: string, options: PythonBridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.category = category;
    this.type = type;
    this.details = options.details ?? {};
  }
}

/** True when `err` is a {@link PythonBridgeError}, optionally of the given category. */
export function isPythonBridgeError(err: unknown, category?: ErrorCategory): err is PythonBridgeError {
  return err instanceof PythonBridgeError && (category === undefined || err.category === category);
}
