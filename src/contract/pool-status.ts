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
  workers: WorkerStatus[];
}

/** The pool's own life stage. */
export type PoolLifecycle = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';
