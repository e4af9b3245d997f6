/**
 * The one error type dspex throws and rejects with.
 *
 * Every failure a caller can see is a {@link PythonBridgeError}: a plain `Error` subclass with a
 * machine-readable `category` (what kind of failure, for alerting and retries), `type` (the
 * precise cause within that category; for `python` errors the Python exception class name) and a
 * stable string `code` to branch on or grep logs for (`DSPEX_TIMEOUT_OPERATION`).
 *
 * | category | when | `type` values (→ `code`) |
 * |---|---|---|
 * | `timeout` | a deadline passed | `checkout` (no worker became free in time), `operation` (Python did not answer in time: past `operationTimeoutMs` the worker was killed and replaced; past the call's own `timeoutMs` it may first finish the request within `abortGraceMs`) |
 * | `python` | the Python code raised | the exception class name, e.g. `ValueError` (code `DSPEX_PYTHON_EXCEPTION` for every class); `details.traceback` holds the traceback |
 * | `worker` | the Python process failed | `crashed` (exited while serving the call), `malformed_reply` (a frame that is not valid protocol), `reply_too_large`, `start_failed` (the worker could not start; `details.traceback` when Python said why), `health_check` (published on `dspex:pool:error` only: a worker replaced after failed pings; no call rejects with it), `session_lost` (affinity `strict`: the worker holding the session's state died or was ended; the call was not run, and the session's next call starts it afresh), `stack_unavailable` (`dumpStack`: the worker could not dump its threads' stacks — not ready, exited, no faulthandler, or nothing came in time) |
 * | `overloaded` | the queue is full | `queue_full` |
 * | `aborted` | the caller's `AbortSignal` fired | `aborted` (a request already in Python is finished by its worker within `abortGraceMs`, its reply dropped, else the worker is replaced) |
 * | `invalid_request` | dspex cannot do what was asked | `unknown_command`, `bad_args`, `not_serializable` (args or result not JSON), `request_too_large`, `invalid_options` (bad options to a constructor or to `start()`; `details.option` names it), `invalid_argument` (a bad argument to a method; `details.argument` names it), `invalid_state` (a method called in the wrong state, e.g. `url` of a server not started) |
 * | `pool_unavailable` | the pool is not running | `not_started`, `starting` (`resize()` before `start()` finished), `stopping`, `stopped`, `already_started` (`start()` called twice); for a fleet (`dspex/fleet`): `queue_unreachable` (Redis could not be reached: the call was not enqueued), `job_lost` (the call's job vanished from Redis, e.g. Redis restarted without persistence; it may or may not have run), `no_host` (a session call found no live host to start on) |
 *
 * `instanceof PythonBridgeError` holds across two copies of the package (a dependency that bundles
 * its own dspex, or CJS and ESM copies side by side): the class tests a `Symbol.for` brand rather
 * than its prototype chain, as undici's errors do.
 *
 * This module imports nothing of ours: every stage may use it.
 *
 * @module
 */

/** The categories of {@link PythonBridgeError}. */
export type ErrorCategory = 'timeout' | 'python' | 'worker' | 'overloaded' | 'aborted' | 'invalid_request' | 'pool_unavailable';

/** All categories, for exhaustive iteration (metrics, docs). */
export const errorCategories: readonly ErrorCategory[] = ['timeout', 'python', 'worker', 'overloaded', 'aborted', 'invalid_request', 'pool_unavailable'];

/**
 * Every documented `type` of each category. `python` errors carry the Python exception class name
 * as their type, so that category lists none: its code is always `DSPEX_PYTHON_EXCEPTION`.
 */
export const errorTypes = {
  timeout: ['checkout', 'operation'],
  python: [],
  worker: ['crashed', 'malformed_reply', 'reply_too_large', 'start_failed', 'health_check', 'session_lost', 'stack_unavailable'],
  overloaded: ['queue_full'],
  aborted: ['aborted'],
  invalid_request: ['unknown_command', 'bad_args', 'not_serializable', 'request_too_large', 'invalid_options', 'invalid_argument', 'invalid_state'],
  pool_unavailable: ['not_started', 'starting', 'stopping', 'stopped', 'already_started', 'queue_unreachable', 'job_lost', 'no_host'],
} as const satisfies { readonly [C in ErrorCategory]: readonly string[] };

type KnownType<C extends ErrorCategory> = (typeof errorTypes)[C][number];

/**
 * A stable error code: `DSPEX_<CATEGORY>_<TYPE>` in upper case (`DSPEX_TIMEOUT_OPERATION`,
 * `DSPEX_POOL_UNAVAILABLE_STOPPED`), `DSPEX_ABORTED` for aborts and `DSPEX_PYTHON_EXCEPTION` for
 * any Python exception. A type outside {@link errorTypes} gets `DSPEX_<CATEGORY>_OTHER`.
 */
export type ErrorCode =
  | { [C in ErrorCategory]: C extends 'python' ? 'DSPEX_PYTHON_EXCEPTION' : C extends 'aborted' ? 'DSPEX_ABORTED' : `DSPEX_${Uppercase<C>}_${Uppercase<KnownType<C>>}` }[ErrorCategory]
  | `DSPEX_${Uppercase<ErrorCategory>}_OTHER`;

/** The code of a category and type (see {@link ErrorCode}). Pure. */
export function errorCode(category: ErrorCategory, type: string): ErrorCode {
  if (category === 'python') return 'DSPEX_PYTHON_EXCEPTION';
  if (category === 'aborted') return 'DSPEX_ABORTED';
  const known = (errorTypes[category] as readonly string[]).includes(type);
  return `DSPEX_${category.toUpperCase()}_${known ? type.toUpperCase() : 'OTHER'}` as ErrorCode;
}

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
  /** For `invalid_options`: the option's name (dotted for nested options). */
  option?: string;
  /** For `invalid_argument`: the argument's name. */
  argument?: string;
  /**
   * For `timeout` / `operation` past `operationTimeoutMs`: every thread's Python traceback, taken
   * (faulthandler) just before the hung worker was killed; absent when it could not be taken.
   */
  pythonStack?: string;
  [key: string]: unknown;
}

/** Options of {@link PythonBridgeError}'s constructor. */
export interface PythonBridgeErrorOptions {
  details?: ErrorDetails;
  cause?: unknown;
}

/** The brand: `Symbol.for` so that two copies of the package share it. */
const kPythonBridgeError = Symbol.for('dspex.error.PythonBridgeError');

/**
 * The error every dspex failure throws or rejects with. `category`, `type` and `code` are stable
 * strings to branch on; `message` is for people.
 */
export class PythonBridgeError extends Error {
  override readonly name = 'PythonBridgeError';
  /** What kind of failure this is. */
  readonly category: ErrorCategory;
  /** The precise cause within the category (for `python`, the exception class name). */
  readonly type: string;
  /** A stable code derived from `category` and `type` (see {@link ErrorCode}). */
  readonly code: ErrorCode;
  /** Facts about where and how it happened. */
  readonly details: ErrorDetails;
  constructor(category: ErrorCategory, type: string, message: string, options: PythonBridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.category = category;
    this.type = type;
    this.code = errorCode(category, type);
    this.details = options.details ?? {};
  }

  /** `instanceof` by brand, so it holds for an error made by another copy of dspex. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [kPythonBridgeError]?: unknown })[kPythonBridgeError] === true;
  }
}

// On the prototype, not enumerable: it stays out of JSON, logs and `Object.keys(err)`.
Object.defineProperty(PythonBridgeError.prototype, kPythonBridgeError, { value: true });

/** True when `err` is a {@link PythonBridgeError}, optionally of the given category. */
export function isPythonBridgeError(err: unknown, category?: ErrorCategory): err is PythonBridgeError {
  return err instanceof PythonBridgeError && (category === undefined || err.category === category);
}

/** An `invalid_request` / `invalid_options` error naming the option (`where`: the class or function). */
export function invalidOption(where: string, option: string, reason: string): PythonBridgeError {
  return new PythonBridgeError('invalid_request', 'invalid_options', `${where}: invalid option '${option}': ${reason}`, { details: { option } });
}

/** An `invalid_request` / `invalid_argument` error naming the argument (`where`: the method). */
export function invalidArgument(where: string, argument: string, reason: string): PythonBridgeError {
  return new PythonBridgeError('invalid_request', 'invalid_argument', `${where}: invalid argument '${argument}': ${reason}`, { details: { argument } });
}

/** An `invalid_request` / `invalid_state` error (`where`: the method). */
export function invalidState(where: string, reason: string): PythonBridgeError {
  return new PythonBridgeError('invalid_request', 'invalid_state', `${where}: ${reason}`);
}
