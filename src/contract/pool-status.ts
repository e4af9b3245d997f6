/**
 * Public types of the pool: its status and its workers' states.
 *
 * @module
 */

/** The life stage of a worker. */
export type WorkerState = 'starting' | 'idle' | 'busy' | 'stopping';

/** One worker in {@link PoolStatus.workers}. */
export interface WorkerStatus {
  /** The worker slot, 0..maxSize-1 (a replacement takes over its predecessor's slot). */
  id: number;
  /** The Python process id (0 while it is being spawned). */
  pid: number;
  state: WorkerState;
  /** Operations this process has served. */
  operations: number;
  /** Operations of this process that failed. */
  errors: number;
  /** When this process started, ms since the epoch. */
  startedAtMs: number;
  /** When it last finished a call, ms since the epoch, or null. */
  lastUsedAtMs: number | null;
  /** Processes this slot had before the current one (restarts). */
  generation: number;
  /**
   * True while the process finishes a call its caller abandoned (aborted, or past its own
   * `timeoutMs`): `state` stays `busy` and it takes no other call until that call's late reply
   * arrives (and is dropped) or `abortGraceMs` passes (then it is killed and replaced).
   * `pool.status()` always sets it; optional so that statuses built by hand stay valid.
   */
  abandoned?: boolean;
  /** Lines this process printed (stdout + stderr) that were dropped over `outputLinesPerSecond`. */
  outputLinesDropped: number;
  /** Lines this process printed that were cut to `outputMaxLineBytes`. */
  outputLinesCut: number;
}

/** One warm spare in {@link SpareStatus.workers}. */
export interface SpareWorkerStatus {
  /** The Python process id (0 while it is being spawned). */
  pid: number;
  /** `starting`: importing the modules; `ready`: can take over a slot at once. */
  state: 'starting' | 'ready';
  /** When this process started, ms since the epoch. */
  startedAtMs: number;
}

/**
 * The warm spares of a pool (the `spares` option): processes past their imports that take over a
 * replaced worker's slot at once. They serve no call before that and are not in
 * {@link PoolStatus.workers} (nor in its busy / idle / starting counts) until then.
 */
export interface SpareStatus {
  /** Spares the pool keeps (the `spares` option). */
  target: number;
  /** Ready to take over a slot now. */
  ready: number;
  /**
   * Being started. `target - ready - starting` wait to be started: a refill just after a spare
   * took a slot, or a restart (with backoff) after a failed start.
   */
  starting: number;
  workers: SpareWorkerStatus[];
}

/** `pool.status()`. */
export interface PoolStatus {
  name: string;
  /** Whether the pool is serving: 'starting' | 'running' | 'stopping' | 'stopped' | 'new'. */
  lifecycle: PoolLifecycle;
  /** Target number of workers. */
  size: number;
  minSize: number;
  maxSize: number;
  busy: number;
  idle: number;
  starting: number;
  queueDepth: number;
  maxQueue: number;
  sessions: number;
  uptimeMs: number;
  /** The worker slots' processes (spares not included). */
  workers: WorkerStatus[];
  /** The warm spares. Always set by `SessionPool`; absent from producers that predate spares. */
  spares?: SpareStatus;
}

/** The pool's own life stage. */
export type PoolLifecycle = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';
