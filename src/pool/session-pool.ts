/**
 * `SessionPool`: a supervised pool of Python worker processes with sessions, a bounded queue,
 * timeouts, aborts, health checks, crash recovery and runtime resizing. Every step is published on
 * the telemetry channels (src/telemetry/telemetry.ts).
 *
 * Invariants the code keeps (and the tests check):
 * - every call settles exactly once (`Call.settled` guards each path);
 * - a worker has at most one call in flight, and a reply is accepted only with the id of that call;
 *   anything else is a protocol error and the worker is killed, so a late or stray reply can never
 *   reach another call;
 * - a worker whose call timed out or was aborted is killed, never reused;
 * - a call is retried only when its frame provably never reached Python, or when the caller said
 *   `retry: 'idempotent'` and the worker crashed.
 *
 * @module
 */
import pino from 'pino';
import { Call, CallQueue, disarmCall, type CallKind } from './call-queue.js';
import { PythonBridgeError } from './errors.js';
import { HealthMonitor } from './health.js';
import type { PoolWorker, WorkerHooks } from './pool-worker.js';
import { encodeFrame, readReplyError, requestJson, type Frame, type FrameError } from './protocol.js';
import { SessionRegistry, type SessionInfo } from './sessions.js';
import { CLOSE_GRACE_MS, Supervisor } from './supervisor.js';
import type { PoolLifecycle, PoolStatus, WorkerStatus } from './types.js';
import { workerSpawnOptions } from './worker-env.js';
import { resolvePoolOptions, type PoolLogger, type PoolOptions, type ResolvedPoolOptions } from '../config/pool-options.js';
import {
  checkinObserved,
  checkoutObserved,
  emitCheckin,
  emitCheckout,
  emitErrorEvent,
  emitPoolEvent,
  executePoolOperation,
  groupEnabled,
  nowNs,
  observed,
  operationChannel,
  telemetryMask,
  wallMsAt,
  type OperationContext,
  type TelemetryMask,
  type WorkerTerminateReason,
} from '../telemetry/telemetry.js';

export type { SessionInfo } from './sessions.js';
export { RUN_ID } from './worker-env.js';

/** Per-call options of `executeInSession` / `executeAnonymous`. */
export interface ExecuteOptions {
  /** Deadline for Python's answer (default: the pool's `operationTimeoutMs`). */
  timeoutMs?: number;
  /** Rejects the call with `aborted` when it fires; a call already in Python has its worker replaced. */
  signal?: AbortSignal;
  /**
   * `'idempotent'`: the call may run again (up to 2 more times) when its worker crashed. By
   * default a call is retried only when it provably never reached Python.
   */
  retry?: 'never' | 'idempotent';
}

/** Options of `stop()`. */
export interface StopOptions {
  /** `'drain'` (default): finish queued and in-flight calls first; `'reject'`: reject them at once. */
  mode?: 'drain' | 'reject';
  /** Longest drain before the rest is rejected (default 5000 ms). */
  timeoutMs?: number;
}

let defaultLogger: PoolLogger | null = null;
function getDefaultLogger(): PoolLogger {
  defaultLogger ??= pino({ name: 'dspex', level: 'info' }, pino.destination(2));
  return defaultLogger;
}

/** Further attempts of a `retry: 'idempotent'` call whose worker crashed. */
const MAX_RETRIES = 2;

/**
 * A pool of Python workers.
 *
 * ```ts
 * const pool = new SessionPool({ name: 'models', size: 4, pythonModules: ['my_model'], pythonPath: ['./py'] });
 * await pool.start();
 * const out = await pool.executeAnonymous('my_model.predict', { text: 'hi' }, { timeoutMs: 2000 });
 * await pool.stop();
 * ```
 */
export class SessionPool {
  /** The validated options with defaults. */
  readonly options: Readonly<ResolvedPoolOptions>;
  /** The pool's name (telemetry, metrics and Prometheus labels use it). */
  readonly name: string;

  private lifecycle: PoolLifecycle = 'new';
  private readonly mask: TelemetryMask;
  private readonly logger: PoolLogger;
  private readonly supervisor: Supervisor;
  /** The supervisor's slots (the same array): the pool reads them, only the supervisor writes. */
  private readonly slots: readonly (PoolWorker | null)[];
  private readonly idle: PoolWorker[] = [];
  private readonly queue = new CallQueue();
  private readonly sessions: SessionRegistry;
  private readonly health: HealthMonitor;
  private nextId = 0;
  private startedAtMs = 0;
  private stopPromise: Promise<void> | null = null;
  private drainWaiter: (() => void) | null = null;
  /** True while stop() lets queued and in-flight calls finish. */
  private draining = false;
  private readonly commandJsonCache = new Map<string, string>();
  /** Deadline of a `session_end` control call. */
  private readonly sessionEndTimeoutMs: number;

  /** @throws PythonBridgeError `invalid_request`/`invalid_options` naming the bad option. */
  constructor(options: PoolOptions = {}) {
    this.options = resolvePoolOptions(options);
    this.name = this.options.name;
    this.mask = telemetryMask(this.options.telemetry.disabled);
    this.logger = this.options.logger ?? getDefaultLogger();
    const o = this.options;
    this.sessionEndTimeoutMs = Math.min(o.operationTimeoutMs, 10_000);
    const hooks: WorkerHooks = {
      onFrame: (w, f) => this.onFrame(w, f),
      onProtocolError: (w, e) => this.onProtocolError(w, e),
      onExit: (w) => this.onExit(w),
      onOutput: (w, stream, line) => {
        const fields = { pool: this.name, workerId: w.workerId, workerPid: w.pid, stream };
        if (stream === 'stderr') this.logger.warn(fields, line);
        else this.logger.info(fields, line);
      },
    };
    // The helpers get narrow views of the pool, built once here (no closures per call).
    this.supervisor = new Supervisor(
      { lifecycle: () => this.lifecycle, release: (w) => this.release(w) },
      { pool: this.name, mask: this.mask, logger: this.logger, spawn: workerSpawnOptions(o), hooks, maxSize: o.maxSize, size: o.size, startAttempts: o.startAttempts },
    );
    this.slots = this.supervisor.slots;
    this.sessions = new SessionRegistry(
      {
        sessionWorker: (workerId, pid) => {
          const w = this.slots[workerId];
          return w && w.pid === pid && !w.exited && this.lifecycle === 'running' ? w : null;
        },
        endOnIdle: (w, sessionId) => this.runOnIdle(w, 'control', 'session_end', sessionId, this.sessionEndTimeoutMs),
      },
      this.name,
      this.mask,
      o.maxSessions,
      o.sessionTtlMs,
    );
    this.health = new HealthMonitor(
      {
        slots: this.slots,
        running: () => this.lifecycle === 'running',
        ping: (w) => this.runOnIdle(w, 'health', 'ping', null, o.healthCheckTimeoutMs),
        release: (w) => this.release(w),
      },
      this.name,
      this.mask,
      { intervalMs: o.healthCheckIntervalMs, timeoutMs: o.healthCheckTimeoutMs, maxFailures: o.maxHealthFailures },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------------------------

  /**
   * Start `size` workers concurrently; resolves when all are ready. A worker that fails to start
   * is retried with backoff up to `startAttempts` times; a Python import error fails at once.
   * On failure every started worker is ended and the promise rejects with `worker`/`start_failed`.
   */
  async start(): Promise<void> {
    if (this.lifecycle !== 'new') {
      throw new PythonBridgeError('pool_unavailable', this.lifecycle === 'stopped' ? 'stopped' : 'already_started', `pool '${this.name}' was already started`, {
        details: { pool: this.name },
      });
    }
    this.lifecycle = 'starting';
    const t0 = nowNs();
    this.startedAtMs = Date.now();
    try {
      await Promise.all(Array.from({ length: this.supervisor.targetSize }, (_, slot) => this.supervisor.startInitial(slot)));
    } catch (err) {
      await this.stop({ mode: 'reject' });
      throw err;
    }
    if (this.lifecycle !== 'starting') {
      throw new PythonBridgeError('pool_unavailable', 'stopped', `pool '${this.name}' was stopped while starting`, { details: { pool: this.name } });
    }
    this.lifecycle = 'running';
    // A slot whose replacement gave up while the pool was still starting: refill it now.
    this.supervisor.fillEmptySlots();
    this.health.start();
    this.sessions.startExpiry();
    const o = this.options;
    emitPoolEvent(this.mask, 'dspex:pool:init', this.name, {
      size: this.supervisor.targetSize,
      minSize: o.minSize,
      maxSize: o.maxSize,
      ready: this.countState('idle') + this.countState('busy'),
      startDurationNs: nowNs() - t0,
    });
  }

  /**
   * Stop the pool: no new calls; queued and in-flight calls drain (or are rejected, per `mode`);
   * every Python process is ended (request pipe closed, SIGKILL after a grace period). Resolves
   * when every process has exited. Idempotent.
   */
  stop(opts: StopOptions = {}): Promise<void> {
    this.stopPromise ??= this.doStop(opts);
    return this.stopPromise;
  }

  private async doStop(opts: StopOptions): Promise<void> {
    const t0 = nowNs();
    const wasStarted = this.lifecycle !== 'new';
    this.lifecycle = 'stopping';
    this.health.stop();
    this.sessions.stopExpiry();
    this.supervisor.cancelRestarts();
    let rejected = 0;
    if ((opts.mode ?? 'drain') === 'drain' && (this.queue.live > 0 || this.inflightCount() > 0)) {
      this.draining = true;
      const drained = new Promise<void>((resolve) => (this.drainWaiter = resolve));
      let timer: NodeJS.Timeout | null = null;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.timeoutMs ?? 5000)));
      await Promise.race([drained, timeout]);
      if (timer) clearTimeout(timer);
      this.drainWaiter = null;
      this.draining = false;
    }
    const stopErr = (): PythonBridgeError =>
      new PythonBridgeError('pool_unavailable', 'stopped', `pool '${this.name}' stopped before the call completed`, { details: { pool: this.name } });
    for (const call of this.queue.drain()) {
      this.recordQueueWait(call);
      this.settleError(call, stopErr());
      rejected++;
    }
    const exits: Promise<void>[] = [];
    for (const w of this.slots) {
      if (!w) continue;
      const call = w.inflight;
      if (call) {
        if (!call.settled && call.kind === 'user') rejected++;
        w.kill('stop');
        this.settleError(call, stopErr());
      }
      exits.push(w.close('stop', CLOSE_GRACE_MS));
    }
    this.idle.length = 0;
    await Promise.all(exits);
    this.lifecycle = 'stopped';
    if (wasStarted) {
      emitPoolEvent(this.mask, 'dspex:pool:terminate', this.name, { uptimeMs: Date.now() - this.startedAtMs, rejected, stopDurationNs: nowNs() - t0 });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Calls
  // -------------------------------------------------------------------------------------------

  /**
   * Run `command` in the context of a session: the worker that served the session last is
   * preferred (Python-side session state lives there), any idle worker otherwise.
   * @throws PythonBridgeError (rejects) — see errors.ts for categories.
   */
  executeInSession<T = unknown>(sessionId: string, command: string, args?: unknown, opts?: ExecuteOptions): Promise<T> {
    if (typeof sessionId !== 'string' || sessionId.length === 0) {
      return this.refuse(new PythonBridgeError('invalid_request', 'bad_args', 'sessionId must be a non-empty string', { details: { pool: this.name, command } }), command, null);
    }
    return this.execute(sessionId, command, args, opts) as Promise<T>;
  }

  /** Run `command` on any worker. @throws PythonBridgeError (rejects). */
  executeAnonymous<T = unknown>(command: string, args?: unknown, opts?: ExecuteOptions): Promise<T> {
    return this.execute(null, command, args, opts) as Promise<T>;
  }

  private execute(sessionId: string | null, command: string, args: unknown, opts: ExecuteOptions | undefined): Promise<unknown> {
    if (groupEnabled(this.mask, 'operation') && operationChannel.hasSubscribers) {
      const ctx: OperationContext = {
        pool: this.name,
        command,
        sessionId,
        workerId: -1,
        pid: 0,
        timestampMs: Date.now(),
        queueWaitNs: 0,
        durationNs: 0,
      };
      return executePoolOperation(this.mask, ctx, (c) => this.submit(sessionId, command, args, opts, c));
    }
    return this.submit(sessionId, command, args, opts, null);
  }

  private submit(sessionId: string | null, command: string, args: unknown, opts: ExecuteOptions | undefined, ctx: OperationContext | null): Promise<unknown> {
    // Validation first, without a Promise or closures: the common (valid) path allocates only the
    // Promise and the Call.
    const argsJson = this.encodeArgs(sessionId, command, args);
    if (typeof argsJson !== 'string') return this.refuse(argsJson, command, sessionId);
    const signal = opts?.signal ?? null;
    if (signal?.aborted) {
      return this.refuse(new PythonBridgeError('aborted', 'aborted', `call to '${command}' was aborted before it started`, { cause: signal.reason, details: { pool: this.name, command, sessionId } }), command, sessionId);
    }
    const timeoutMs = opts?.timeoutMs ?? this.options.operationTimeoutMs;
    if (!(timeoutMs > 0)) {
      return this.refuse(new PythonBridgeError('invalid_request', 'bad_args', `timeoutMs must be a positive number, got ${timeoutMs}`, { details: { pool: this.name, command } }), command, sessionId);
    }
    return new Promise<unknown>((resolve, reject) => {
      const call = new Call('user', sessionId, command, this.commandJson(command), argsJson, timeoutMs, signal, opts?.retry === 'idempotent', resolve, reject, ctx);
      if (signal) {
        call.onAbort = () => this.abortCall(call);
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      this.dispatch(call);
    });
  }

  /** The request's args as JSON, or the error that refuses the call. */
  private encodeArgs(sessionId: string | null, command: string, args: unknown): string | PythonBridgeError {
    const details = { pool: this.name, command, sessionId };
    if (this.lifecycle !== 'running' && this.lifecycle !== 'starting') {
      const type = this.lifecycle === 'new' ? 'not_started' : this.lifecycle;
      return new PythonBridgeError('pool_unavailable', type, `pool '${this.name}' is ${this.lifecycle === 'new' ? 'not started' : this.lifecycle}`, { details });
    }
    if (typeof command !== 'string' || command.length === 0) {
      return new PythonBridgeError('invalid_request', 'bad_args', 'command must be a non-empty string', { details: { pool: this.name } });
    }
    let argsJson: string | undefined;
    try {
      argsJson = args === undefined ? '{}' : JSON.stringify(args);
    } catch (err) {
      return new PythonBridgeError('invalid_request', 'not_serializable', `args of '${command}' are not JSON-serialisable: ${(err as Error).message}`, { cause: err, details });
    }
    if (argsJson === undefined) {
      return new PythonBridgeError('invalid_request', 'not_serializable', `args of '${command}' are not JSON-serialisable`, { details });
    }
    // Bytes ≤ 3 × UTF-16 length: count exactly only when the string could be near the limit.
    if (argsJson.length * 3 + 256 > this.options.maxMessageBytes && Buffer.byteLength(argsJson) + command.length + 256 > this.options.maxMessageBytes) {
      return new PythonBridgeError('invalid_request', 'request_too_large', `request for '${command}' exceeds maxMessageBytes (${this.options.maxMessageBytes})`, { details });
    }
    return argsJson;
  }

  /** Reject a call that never entered the pool (and publish its error). */
  private refuse(err: PythonBridgeError, command: string, sessionId: string | null): Promise<never> {
    emitErrorEvent(this.mask, this.name, err, { command, sessionId });
    return Promise.reject(err);
  }

  private commandJson(command: string): string {
    let json = this.commandJsonCache.get(command);
    if (json === undefined) {
      json = JSON.stringify(command);
      if (this.commandJsonCache.size < 1024) this.commandJsonCache.set(command, json);
    }
    return json;
  }

  /** Give `call` to an idle worker, or queue it. */
  private dispatch(call: Call): void {
    const worker = this.takeIdle(call.sessionId);
    if (worker) {
      this.run(worker, call, false);
      return;
    }
    if (this.queue.live >= this.options.maxQueue) {
      if (observed(this.mask, 'dspex:pool:queue:rejected')) {
        emitPoolEvent(this.mask, 'dspex:pool:queue:rejected', this.name, { command: call.command, sessionId: call.sessionId, queueDepth: this.queue.live, maxQueue: this.options.maxQueue });
      }
      this.settleError(
        call,
        new PythonBridgeError('overloaded', 'queue_full', `pool '${this.name}' is overloaded: ${this.queue.live} calls already waiting (maxQueue ${this.options.maxQueue})`, {
          details: { pool: this.name, command: call.command, sessionId: call.sessionId },
        }),
      );
      return;
    }
    call.queued = true;
    call.enqueuedNs = nowNs();
    this.queue.push(call);
    call.timer = setTimeout(() => this.checkoutTimeout(call), this.options.checkoutTimeoutMs);
    this.emitQueueDepth();
  }

  /** A call leaving the queue without a worker still waited: the longest waits must be counted. */
  private recordQueueWait(call: Call): void {
    if (call.ctx) call.ctx.queueWaitNs = nowNs() - call.enqueuedNs;
  }

  private emitQueueDepth(): void {
    if (observed(this.mask, 'dspex:pool:queue:depth')) {
      emitPoolEvent(this.mask, 'dspex:pool:queue:depth', this.name, { queueDepth: this.queue.live, maxQueue: this.options.maxQueue });
    }
  }

  /** An idle worker for a call: the session's own worker if it is idle, else per strategy. */
  private takeIdle(sessionId: string | null): PoolWorker | null {
    const idle = this.idle;
    if (idle.length === 0) return null;
    if (sessionId !== null) {
      const s = this.sessions.get(sessionId);
      if (s) {
        const w = this.slots[s.workerId];
        if (w && w.pid === s.pid && w.state === 'idle') {
          const i = idle.lastIndexOf(w);
          if (i !== -1) {
            idle.splice(i, 1);
            return w;
          }
        }
      }
    }
    return (this.options.strategy === 'lifo' ? idle.pop() : idle.shift()) ?? null;
  }

  /** Send `call` to `worker` (which the caller has taken out of the idle list). */
  private run(worker: PoolWorker, call: Call, fromQueue: boolean): void {
    // One clock read serves the queue wait, the busy time and the event timestamp.
    const now = nowNs();
    let queueWaitNs = 0;
    if (fromQueue) {
      call.queued = false;
      if (call.timer) clearTimeout(call.timer);
      call.timer = null;
      queueWaitNs = now - call.enqueuedNs;
    }
    worker.state = 'busy';
    worker.inflight = call;
    call.worker = worker;
    call.attempts++;
    const id = ++this.nextId;
    call.id = id;
    if (call.kind === 'user') {
      let affinityHit = false;
      if (call.sessionId !== null) affinityHit = this.sessions.touch(call.sessionId, worker);
      const ctx = call.ctx;
      if (ctx) {
        ctx.workerId = worker.workerId;
        ctx.pid = worker.pid;
        ctx.queueWaitNs = queueWaitNs;
      }
      if (checkoutObserved(this.mask)) emitCheckout(worker, call.command, call.sessionId, queueWaitNs, this.queue.live, affinityHit, now);
      if (fromQueue) this.emitQueueDepth();
    }
    call.dispatchedNs = now;
    if (!worker.send(encodeFrame(requestJson(id, call.commandJson, call.argsJson, call.sessionId)))) {
      // The process is gone and its exit not yet processed: the frame never reached Python, so the
      // call may run elsewhere. The worker stays out of the idle list; onExit replaces it.
      worker.inflight = null;
      call.worker = null;
      call.attempts--;
      if (call.kind === 'user') this.requeueFront(call);
      else this.settleError(call, this.crashError(worker, call));
      return;
    }
    if (call.kind === 'user' && call.timeoutMs === this.options.operationTimeoutMs) {
      // The common case: the worker's own timer, re-armed (refresh: ~50 ns) instead of a new
      // setTimeout + clearTimeout per call (~300 ns). It fires timeoutMs after the latest dispatch,
      // which is exactly the deadline of the call in flight; when that call already finished, the
      // firing finds nothing to do.
      if (worker.opTimer === null) {
        worker.opTimer = setTimeout(() => this.workerTimerFired(worker), call.timeoutMs);
        worker.opTimer.unref();
      } else worker.opTimer.refresh();
    } else {
      call.timer = setTimeout(() => this.operationTimeout(call), call.timeoutMs);
    }
  }

  private workerTimerFired(worker: PoolWorker): void {
    const call = worker.inflight;
    if (call === null || call.kind !== 'user' || call.settled || call.timer !== null || call.worker !== worker) return;
    this.operationTimeout(call);
  }

  private requeueFront(call: Call): void {
    const w = this.takeIdle(call.sessionId);
    if (w) return this.run(w, call, false);
    call.queued = true;
    call.enqueuedNs = nowNs();
    this.queue.unshift(call);
    call.timer = setTimeout(() => this.checkoutTimeout(call), this.options.checkoutTimeoutMs);
  }

  private onFrame(worker: PoolWorker, frame: Frame): void {
    const call = worker.inflight;
    if (call === null || frame.id !== call.id) {
      this.onProtocolError(worker, {
        kind: 'missing_id',
        message: call === null ? `reply with id ${frame.id} while no call was in flight` : `reply with id ${frame.id} for call ${call.id}`,
      });
      return;
    }
    worker.inflight = null;
    if (call.timer) clearTimeout(call.timer);
    call.timer = null;
    const doneNs = nowNs();
    const busyNs = doneNs - call.dispatchedNs;
    const doneMs = wallMsAt(doneNs);
    worker.lastActiveAtMs = doneMs;
    if (call.kind === 'health') {
      this.health.reply(worker, call, frame, busyNs);
      return;
    }
    const err = frame['error'];
    const failure = err === undefined ? null : this.replyError(worker, call, err);
    if (call.kind === 'user') {
      // Control calls (session ends) are the pool's own work: not the user's operations.
      worker.lastUsedAtMs = doneMs;
      worker.operations++;
      if (failure) worker.errors++;
      if (checkinObserved(this.mask)) emitCheckin(worker, call.command, call.sessionId, failure ? 'python_error' : 'ok', busyNs, doneNs);
    }
    if (failure) this.settleError(call, failure);
    else this.settleValue(call, frame['result']);
    this.release(worker);
  }

  private replyError(worker: PoolWorker, call: Call, raw: unknown): PythonBridgeError {
    const e = readReplyError(raw);
    const details = { pool: this.name, workerId: worker.workerId, pid: worker.pid, command: call.command, sessionId: call.sessionId, traceback: e.traceback };
    switch (e.kind) {
      case 'unknown_command':
        return new PythonBridgeError('invalid_request', 'unknown_command', e.message || `unknown command '${call.command}'`, { details });
      case 'bad_args':
        return new PythonBridgeError('invalid_request', 'bad_args', `bad arguments for '${call.command}': ${e.message}`, { details });
      case 'serialization':
        return new PythonBridgeError('invalid_request', 'not_serializable', `result of '${call.command}' is not JSON-serialisable: ${e.message}`, { details });
      default:
        return new PythonBridgeError('python', e.type, `${e.type}: ${e.message}`, { details });
    }
  }

  /** A worker is free again: retire it, run a pending control call, serve the queue, or idle it. */
  private release(worker: PoolWorker): void {
    if (worker.retiring) {
      void worker.close('resize', CLOSE_GRACE_MS);
      return;
    }
    const sessionId = this.sessions.takePendingEnd(worker);
    if (sessionId !== null) {
      this.runInternal(worker, 'control', 'session_end', sessionId, this.sessionEndTimeoutMs);
      return;
    }
    if (this.lifecycle === 'running' || this.lifecycle === 'starting' || this.draining) {
      const next = this.queue.shift();
      if (next) {
        this.run(worker, next, true);
        return;
      }
    }
    worker.state = 'idle';
    this.idle.push(worker);
    this.maybeDrained();
  }

  private runInternal(worker: PoolWorker, kind: CallKind, command: string, sessionId: string | null, timeoutMs: number): void {
    const call = new Call(kind, sessionId, command, this.commandJson(command), '{}', timeoutMs, null, false, noop, noop, null);
    this.run(worker, call, false);
  }

  /** `runInternal` on `worker` if it is in the idle list (taking it out); else nothing. */
  private runOnIdle(worker: PoolWorker, kind: CallKind, command: string, sessionId: string | null, timeoutMs: number): void {
    if (this.takeFromIdle(worker)) this.runInternal(worker, kind, command, sessionId, timeoutMs);
  }

  /** Take `worker` out of the idle list; false when it was not there. */
  private takeFromIdle(worker: PoolWorker): boolean {
    const i = this.idle.indexOf(worker);
    if (i === -1) return false;
    this.idle.splice(i, 1);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Failures
  // -------------------------------------------------------------------------------------------

  private checkoutTimeout(call: Call): void {
    if (call.settled || !call.queued) return;
    call.timer = null;
    // Settled calls are skipped (and dropped) when the queue reaches them.
    call.queued = false;
    this.recordQueueWait(call);
    this.queue.forget();
    this.maybeDrained();
    this.settleError(
      call,
      new PythonBridgeError('timeout', 'checkout', `no worker of pool '${this.name}' became free within ${this.options.checkoutTimeoutMs} ms`, {
        details: { pool: this.name, command: call.command, sessionId: call.sessionId, timeoutMs: this.options.checkoutTimeoutMs },
      }),
    );
    this.emitQueueDepth();
  }

  private operationTimeout(call: Call): void {
    call.timer = null;
    const worker = call.worker;
    if (call.settled || !worker) return;
    if (call.kind === 'health') {
      this.health.timeout(worker, call);
      return;
    }
    // The process may still answer later: kill it so that answer can never reach another call.
    worker.inflight = null;
    if (call.kind === 'user') worker.errors++;
    worker.kill('timeout');
    this.settleError(
      call,
      new PythonBridgeError('timeout', 'operation', `'${call.command}' did not complete within ${call.timeoutMs} ms; worker ${worker.workerId} (pid ${worker.pid}) was killed and is being replaced`, {
        details: { pool: this.name, workerId: worker.workerId, pid: worker.pid, command: call.command, sessionId: call.sessionId, timeoutMs: call.timeoutMs, sent: true },
      }),
    );
    this.checkinFailed(worker, call);
  }

  private abortCall(call: Call): void {
    if (call.settled) return;
    const err = new PythonBridgeError('aborted', 'aborted', `call to '${call.command}' was aborted`, {
      cause: call.signal?.reason,
      details: { pool: this.name, command: call.command, sessionId: call.sessionId, sent: call.worker !== null },
    });
    if (call.queued) {
      call.queued = false;
      this.recordQueueWait(call);
      this.queue.forget();
      this.settleError(call, err);
      this.emitQueueDepth();
      this.maybeDrained();
      return;
    }
    const worker = call.worker;
    if (worker) {
      worker.inflight = null;
      worker.errors++;
      worker.kill('aborted');
      err.details.workerId = worker.workerId;
      err.details.pid = worker.pid;
      this.settleError(call, err);
      this.checkinFailed(worker, call);
    }
  }

  private checkinFailed(worker: PoolWorker, call: Call): void {
    if (call.kind === 'user' && checkinObserved(this.mask)) {
      const now = nowNs();
      emitCheckin(worker, call.command, call.sessionId, 'failed', now - call.dispatchedNs, now);
    }
  }

  private onProtocolError(worker: PoolWorker, err: Pick<FrameError, 'kind' | 'message'>): void {
    const call = worker.inflight;
    worker.inflight = null;
    // A stray frame can come from an idle worker: it must not be handed another call meanwhile.
    this.takeFromIdle(worker);
    worker.kill('protocol_error');
    this.logger.error({ pool: this.name, workerId: worker.workerId, workerPid: worker.pid, kind: err.kind }, `worker broke the protocol: ${err.message}`);
    const type = err.kind === 'frame_too_large' ? 'reply_too_large' : 'malformed_reply';
    const error = new PythonBridgeError('worker', type, `worker ${worker.workerId} (pid ${worker.pid}) sent an invalid reply: ${err.message}; it was killed and is being replaced`, {
      cause: err,
      details: { pool: this.name, workerId: worker.workerId, pid: worker.pid, command: call?.command, sessionId: call?.sessionId, sent: true },
    });
    if (call && !call.settled) {
      if (call.timer) clearTimeout(call.timer);
      if (call.kind === 'user') worker.errors++;
      this.settleError(call, error);
      this.checkinFailed(worker, call);
    } else {
      emitErrorEvent(this.mask, this.name, error, { workerId: worker.workerId, pid: worker.pid });
    }
  }

  private crashError(worker: PoolWorker, call: Call | null): PythonBridgeError {
    const how = worker.signal ? `killed by ${worker.signal}` : `exited with code ${worker.exitCode}`;
    const tail = worker.stderrText();
    return new PythonBridgeError('worker', 'crashed', `worker ${worker.workerId} (pid ${worker.pid}) ${how} while serving '${call?.command ?? '?'}'${tail ? `\n--- stderr ---\n${tail}` : ''}`, {
      details: { pool: this.name, workerId: worker.workerId, pid: worker.pid, command: call?.command, sessionId: call?.sessionId, exitCode: worker.exitCode, signal: worker.signal, sent: true },
    });
  }

  private onExit(worker: PoolWorker): void {
    const failedAtNs = nowNs();
    if (worker.opTimer) clearTimeout(worker.opTimer);
    this.takeFromIdle(worker);
    this.sessions.forgetWorker(worker);
    const reason: WorkerTerminateReason = worker.endReason ?? 'crash';
    const call = worker.inflight;
    worker.inflight = null;
    if (call && !call.settled) {
      if (call.timer) clearTimeout(call.timer);
      call.timer = null;
      if (call.kind === 'user') worker.errors++;
      if (call.kind === 'user' && call.retry && call.attempts <= MAX_RETRIES && this.lifecycle === 'running') {
        this.checkinFailed(worker, call);
        call.worker = null;
        this.requeueFront(call);
      } else {
        this.settleError(call, this.crashError(worker, call));
        this.checkinFailed(worker, call);
      }
    }
    this.supervisor.onExit(worker, reason, failedAtNs);
    this.maybeDrained();
  }

  /** Wake a draining stop() once nothing is queued or in flight. */
  private maybeDrained(): void {
    if (this.drainWaiter && this.queue.live === 0 && this.inflightCount() === 0) this.drainWaiter();
  }

  // -------------------------------------------------------------------------------------------
  // Settling
  // -------------------------------------------------------------------------------------------

  private settleValue(call: Call, value: unknown): void {
    if (call.settled) return;
    call.settled = true;
    disarmCall(call);
    call.resolve(value);
  }

  private settleError(call: Call, err: PythonBridgeError): void {
    if (call.settled) return;
    call.settled = true;
    disarmCall(call);
    if (call.kind === 'user') {
      emitErrorEvent(this.mask, this.name, err, { workerId: call.worker?.workerId ?? null, pid: call.worker?.pid ?? null, command: call.command, sessionId: call.sessionId });
    }
    call.reject(err);
  }

  // -------------------------------------------------------------------------------------------
  // Sessions
  // -------------------------------------------------------------------------------------------

  /** The registry entry of a session, or undefined. */
  getSession(sessionId: string): Readonly<SessionInfo> | undefined {
    return this.sessions.get(sessionId);
  }

  /**
   * End a session: forget it and clear its Python-side state on the worker that holds it (at once
   * if that worker is idle, else right after its current call).
   */
  async endSession(sessionId: string): Promise<boolean> {
    return this.sessions.end(sessionId);
  }

  // -------------------------------------------------------------------------------------------
  // Sizing and status
  // -------------------------------------------------------------------------------------------

  /**
   * Grow or shrink to `n` workers (within minSize..maxSize). Growing resolves when the new
   * workers are ready; shrinking retires idle workers at once and busy ones after their call.
   * @param reason recorded on `dspex:pool:resize` (e.g. 'manual', 'auto_tune').
   */
  async resize(n: number, reason = 'manual'): Promise<void> {
    const o = this.options;
    if (!Number.isInteger(n) || n < o.minSize || n > o.maxSize) {
      throw new PythonBridgeError('invalid_request', 'bad_args', `resize(${n}): size must be an integer in ${o.minSize}..${o.maxSize}`, { details: { pool: this.name } });
    }
    if (this.lifecycle !== 'running') {
      throw new PythonBridgeError('pool_unavailable', this.lifecycle === 'new' ? 'not_started' : this.lifecycle, `pool '${this.name}' is not running`, { details: { pool: this.name } });
    }
    const from = this.supervisor.targetSize;
    if (n === from) return;
    this.supervisor.targetSize = n;
    emitPoolEvent(this.mask, 'dspex:pool:resize', this.name, { from, to: n, reason });
    if (n > from) {
      await this.supervisor.grow();
      return;
    }
    for (let slot = n; slot < this.slots.length; slot++) {
      const w = this.slots[slot];
      if (!w) continue;
      w.retiring = true;
      if (this.takeFromIdle(w)) void w.close('resize', CLOSE_GRACE_MS);
    }
  }

  /** A snapshot of the pool's state (cheap: no I/O). */
  status(): PoolStatus {
    const workers: WorkerStatus[] = [];
    let busy = 0;
    let idle = 0;
    let starting = 0;
    for (const w of this.slots) {
      if (!w) continue;
      if (w.state === 'busy') busy++;
      else if (w.state === 'idle') idle++;
      else if (w.state === 'starting') starting++;
      workers.push({ id: w.workerId, pid: w.pid, state: w.state, operations: w.operations, errors: w.errors, startedAtMs: w.startedAtMs, lastUsedAtMs: w.lastUsedAtMs, generation: w.generation });
    }
    return {
      name: this.name,
      lifecycle: this.lifecycle,
      size: this.supervisor.targetSize,
      minSize: this.options.minSize,
      maxSize: this.options.maxSize,
      busy,
      idle,
      starting,
      queueDepth: this.queue.live,
      maxQueue: this.options.maxQueue,
      sessions: this.sessions.size,
      uptimeMs: this.startedAtMs === 0 ? 0 : Date.now() - this.startedAtMs,
      workers,
    };
  }

  /** The pids of the live Python processes. */
  pids(): number[] {
    const out: number[] = [];
    for (const w of this.slots) if (w && w.pid > 0 && !w.exited) out.push(w.pid);
    return out;
  }

  private countState(state: string): number {
    let n = 0;
    for (const w of this.slots) if (w && w.state === state) n++;
    return n;
  }

  private inflightCount(): number {
    let n = 0;
    for (const w of this.slots) if (w && w.inflight && w.inflight.kind === 'user') n++;
    return n;
  }
}

function noop(): void {}
