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
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { PythonBridgeError } from './errors.js';
import { PoolWorker, WORKER_SCRIPT, type WorkerHooks, type WorkerSpawnOptions } from './pool-worker.js';
import { encodeFrame, readReplyError, requestJson, type Frame, type FrameError } from './protocol.js';
import type { PoolLifecycle, PoolStatus, WorkerStatus } from '../contract/pool-status.js';
import { resolvePoolOptions } from '../config/pool-options.js';
import type { PoolLogger, PoolOptions, ResolvedPoolOptions } from './options.js';
import {
  checkinObserved,
  checkoutObserved,
  emitCheckin,
  emitCheckout,
  emitErrorEvent,
  emitPoolEvent,
  emitRecoveryEvent,
  emitWorkerEvent,
  executePoolOperation,
  groupEnabled,
  nowNs,
  observed,
  operationChannel,
  telemetryMask,
  wallMsAt,
  wallNowMs,
  type OperationContext,
  type TelemetryMask,
  type WorkerStartReason,
  type WorkerTerminateReason,
} from '../telemetry/telemetry.js';

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

/** What the session registry keeps per session. */
export interface SessionInfo {
  id: string;
  /** The worker slot that served the session last. */
  workerId: number;
  /** The pid of that worker when it served the session. */
  pid: number;
  operations: number;
  createdAtMs: number;
  lastActivityAtMs: number;
}

type CallKind = 'user' | 'health' | 'control';

/** One call through the pool. Internal: holds everything a settle path needs, no closures. */
class Call {
  id = 0;
  worker: PoolWorker | null = null;
  settled = false;
  queued = false;
  attempts = 0;
  enqueuedNs = 0;
  dispatchedNs = 0;
  timer: NodeJS.Timeout | null = null;
  onAbort: (() => void) | null = null;

  constructor(
    readonly kind: CallKind,
    readonly sessionId: string | null,
    readonly command: string,
    readonly commandJson: string,
    readonly argsJson: string,
    readonly timeoutMs: number,
    readonly signal: AbortSignal | null,
    readonly retry: boolean,
    readonly resolve: (value: unknown) => void,
    readonly reject: (err: PythonBridgeError) => void,
    readonly ctx: OperationContext | null,
  ) {}
}

/** A FIFO of calls with lazy deletion (aborted calls stay until reached); O(1) push and shift. */
class CallQueue {
  private items: (Call | null)[] = [];
  private head = 0;
  /** Live (unsettled) calls in the queue. */
  live = 0;

  push(call: Call): void {
    this.items.push(call);
    this.live++;
  }

  unshift(call: Call): void {
    if (this.head > 0) this.items[--this.head] = call;
    else this.items.unshift(call);
    this.live++;
  }

  /** The next unsettled call, or null. */
  shift(): Call | null {
    while (this.head < this.items.length) {
      const c = this.items[this.head];
      this.items[this.head++] = null;
      if (c && !c.settled) {
        this.live--;
        this.compact();
        return c;
      }
      if (c) this.dead = Math.max(0, this.dead - 1);
    }
    this.compact();
    return null;
  }

  /** Settled calls still in `items`, dropped lazily. */
  private dead = 0;

  /** Mark a queued call as gone (it was settled elsewhere). */
  forget(): void {
    this.live--;
    // Callers that abort while no worker frees up would otherwise pile settled calls (and their
    // args) up in the array: compact once the dead outnumber the live.
    if (++this.dead > 1024 && this.dead > this.live) {
      this.items = this.items.slice(this.head).filter((c) => c !== null && !c.settled);
      this.head = 0;
      this.dead = 0;
    }
  }

  /** Every unsettled call, emptying the queue. */
  drain(): Call[] {
    const out: Call[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const c = this.items[i];
      if (c && !c.settled) out.push(c);
    }
    this.items = [];
    this.head = 0;
    this.live = 0;
    this.dead = 0;
    return out;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

let defaultLogger: PoolLogger | null = null;
function getDefaultLogger(): PoolLogger {
  defaultLogger ??= pino({ name: 'dspex', level: 'info' }, pino.destination(2));
  return defaultLogger;
}

/** One id per Node process, carried by every worker it starts (argv), so orphans can be recognised. */
export const RUN_ID = `${process.pid}.${randomBytes(6).toString('hex')}`;

const MAX_RETRIES = 2;
const START_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
const CLOSE_GRACE_MS = 1000;

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
  private readonly slots: (PoolWorker | null)[];
  private readonly idle: PoolWorker[] = [];
  private readonly queue = new CallQueue();
  private readonly sessions = new Map<string, SessionInfo>();
  private targetSize: number;
  private nextId = 0;
  private startedAtMs = 0;
  private healthTimer: NodeJS.Timeout | null = null;
  private sessionTimer: NodeJS.Timeout | null = null;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly restartFailures: number[];
  /** The generation the next process of each slot gets (its restart count). */
  private readonly generations: number[];
  private readonly pendingSessionEnds = new Map<PoolWorker, Set<string>>();
  private stopPromise: Promise<void> | null = null;
  private drainWaiter: (() => void) | null = null;
  /** True while stop() lets queued and in-flight calls finish. */
  private draining = false;
  private readonly spawnOptions: WorkerSpawnOptions;
  private readonly hooks: WorkerHooks;
  private readonly commandJsonCache = new Map<string, string>();

  /** @throws PythonBridgeError `invalid_request`/`invalid_options` naming the bad option. */
  constructor(options: PoolOptions = {}) {
    this.options = resolvePoolOptions(options);
    this.name = this.options.name;
    this.mask = telemetryMask(this.options.telemetry.disabled);
    this.logger = this.options.logger ?? getDefaultLogger();
    this.slots = new Array<PoolWorker | null>(this.options.maxSize).fill(null);
    this.restartFailures = new Array<number>(this.options.maxSize).fill(0);
    this.generations = new Array<number>(this.options.maxSize).fill(0);
    this.targetSize = this.options.size;
    const o = this.options;
    const pythonPath = [...o.pythonPath, ...(process.env['PYTHONPATH'] ? [process.env['PYTHONPATH']] : [])].join(':');
    this.spawnOptions = {
      python: o.python,
      script: WORKER_SCRIPT,
      runId: RUN_ID,
      maxMessageBytes: o.maxMessageBytes,
      startTimeoutMs: o.startTimeoutMs,
      env: {
        ...process.env,
        ...o.env,
        PYTHONUNBUFFERED: '1',
        PYTHONPATH: pythonPath,
        DSPEX_RUN_ID: RUN_ID,
        DSPEX_POOL: this.name,
        DSPEX_OWNER_PID: String(process.pid),
        DSPEX_MODULES: o.pythonModules.join(','),
      },
    };
    this.hooks = {
      onFrame: (w, f) => this.onFrame(w, f),
      onProtocolError: (w, e) => this.onProtocolError(w, e),
      onExit: (w) => this.onExit(w),
      onOutput: (w, stream, line) => {
        const fields = { pool: this.name, workerId: w.workerId, workerPid: w.pid, stream };
        if (stream === 'stderr') this.logger.warn(fields, line);
        else this.logger.info(fields, line);
      },
    };
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
      await Promise.all(Array.from({ length: this.targetSize }, (_, slot) => this.startInitial(slot)));
    } catch (err) {
      await this.stop({ mode: 'reject' });
      throw err;
    }
    if (this.lifecycle !== 'starting') {
      throw new PythonBridgeError('pool_unavailable', 'stopped', `pool '${this.name}' was stopped while starting`, { details: { pool: this.name } });
    }
    this.lifecycle = 'running';
    // A slot whose replacement gave up while the pool was still starting: refill it now.
    for (let slot = 0; slot < this.targetSize; slot++) if (this.slots[slot] === null) this.replace(slot, null, 0, nowNs());
    const o = this.options;
    if (o.healthCheckIntervalMs > 0) {
      this.healthTimer = setInterval(() => this.healthTick(), o.healthCheckIntervalMs);
      this.healthTimer.unref();
    }
    this.sessionTimer = setInterval(() => this.expireSessions(), Math.min(60_000, Math.max(250, Math.floor(o.sessionTtlMs / 2))));
    this.sessionTimer.unref();
    emitPoolEvent(this.mask, 'dspex:pool:init', this.name, {
      size: this.targetSize,
      minSize: o.minSize,
      maxSize: o.maxSize,
      ready: this.countState('idle') + this.countState('busy'),
      startDurationNs: nowNs() - t0,
    });
  }

  private async startInitial(slot: number): Promise<void> {
    let lastErr: unknown = null;
    for (let attempt = 0; attempt < this.options.startAttempts; attempt++) {
      if (this.lifecycle !== 'starting') return;
      await this.whenSlotFree(slot);
      if (this.lifecycle !== 'starting') return;
      try {
        await this.spawnWorker(slot, 'initial');
        return;
      } catch (err) {
        lastErr = err;
        // An import error or bad module is deterministic: retrying would only fail again.
        if (err instanceof PythonBridgeError && err.details.traceback) throw err;
        await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, START_BACKOFF_MS * 2 ** attempt)).unref());
      }
    }
    throw lastErr;
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
    if (this.healthTimer) clearInterval(this.healthTimer);
    if (this.sessionTimer) clearInterval(this.sessionTimer);
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
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
      if (w.inflight) {
        const call = w.inflight as Call;
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
      if (call.sessionId !== null) affinityHit = this.touchSession(call.sessionId, worker);
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
    const call = worker.inflight as Call | null;
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
    const call = worker.inflight as Call | null;
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
      this.healthReply(worker, call, frame, busyNs);
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
    const pending = this.pendingSessionEnds.get(worker);
    if (pending && pending.size > 0) {
      const sessionId = pending.values().next().value as string;
      pending.delete(sessionId);
      if (pending.size === 0) this.pendingSessionEnds.delete(worker);
      this.runInternal(worker, 'control', 'session_end', sessionId, Math.min(this.options.operationTimeoutMs, 10_000));
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
      this.healthTimeout(worker, call);
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
    const call = worker.inflight as Call | null;
    worker.inflight = null;
    // A stray frame can come from an idle worker: it must not be handed another call meanwhile.
    const idleAt = this.idle.indexOf(worker);
    if (idleAt !== -1) this.idle.splice(idleAt, 1);
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
    const idx = this.idle.indexOf(worker);
    if (idx !== -1) this.idle.splice(idx, 1);
    this.pendingSessionEnds.delete(worker);
    const reason: WorkerTerminateReason = worker.endReason ?? 'crash';
    const call = worker.inflight as Call | null;
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
    emitWorkerEvent(this.mask, 'dspex:worker:terminate', worker, {
      reason,
      exitCode: worker.exitCode,
      signal: worker.signal,
      uptimeMs: Date.now() - worker.startedAtMs,
      operations: worker.operations,
    });
    if (reason === 'crash') {
      this.logger.warn(
        { pool: this.name, workerId: worker.workerId, workerPid: worker.pid, exitCode: worker.exitCode, signal: worker.signal },
        'worker exited unexpectedly; replacing it',
      );
    }
    const slot = worker.workerId;
    if (this.slots[slot] === worker) {
      this.slots[slot] = null;
      // A worker that never became ready: the spawn's own failure path retries it, with backoff.
      // Replacing it here too would respawn in a hot loop (a missing interpreter fails at once).
      const wasReady = worker.readyAtNs !== 0;
      if (wasReady && (this.lifecycle === 'running' || this.lifecycle === 'starting') && slot < this.targetSize) {
        // A worker retired by a shrink is replaced only if the pool grew back meanwhile; that is
        // not a recovery from a failure.
        this.replace(slot, reason === 'resize' ? null : reason, worker.pid, failedAtNs);
      }
    }
    this.maybeDrained();
  }

  /** Wake a draining stop() once nothing is queued or in flight. */
  private maybeDrained(): void {
    if (this.drainWaiter && this.queue.live === 0 && this.inflightCount() === 0) this.drainWaiter();
  }

  /**
   * Start a worker in the empty `slot` (after a failure when `failure` is set, else for a resize);
   * a start failure is retried with exponential backoff while the pool runs.
   */
  private replace(slot: number, failure: WorkerTerminateReason | null, failedPid: number, failedAtNs: number): void {
    this.spawnWorker(slot, failure === null ? 'resize' : 'replacement').then(
      (w) => {
        this.restartFailures[slot] = 0;
        if (failure !== null) emitRecoveryEvent(this.mask, w, failure, failedPid, nowNs() - failedAtNs);
      },
      (err: unknown) => this.retryLater(slot, failure, failedPid, failedAtNs, err),
    );
  }

  /**
   * Resolves once `slot` has no live process: a killed worker counts as gone only when its exit
   * has been processed (which also clears the slot), and that can take a while (a child holding
   * its pipes, a slow teardown).
   */
  private whenSlotFree(slot: number): Promise<void> {
    const cur = this.slots[slot];
    return cur && !cur.exited ? cur.waitExit() : Promise.resolve();
  }

  private retryLater(slot: number, failure: WorkerTerminateReason | null, failedPid: number, failedAtNs: number, err: unknown): void {
    if ((this.lifecycle !== 'running' && this.lifecycle !== 'starting') || slot >= this.targetSize) return;
    const failures = ++this.restartFailures[slot]!;
    const delay = Math.min(MAX_BACKOFF_MS, START_BACKOFF_MS * 2 ** (failures - 1));
    const e = err instanceof PythonBridgeError ? err : new PythonBridgeError('worker', 'start_failed', String(err));
    emitErrorEvent(this.mask, this.name, e, { workerId: slot });
    this.logger.error({ pool: this.name, workerId: slot, attempt: failures, retryInMs: delay, traceback: e.details.traceback }, `worker failed to start: ${e.message}`);
    const t = setTimeout(() => {
      this.restartTimers.delete(t);
      void this.whenSlotFree(slot).then(() => {
        const live = this.lifecycle === 'running' || this.lifecycle === 'starting';
        if (live && this.slots[slot] === null && slot < this.targetSize) this.replace(slot, failure, failedPid, failedAtNs);
      });
    }, delay);
    t.unref();
    this.restartTimers.add(t);
  }

  /** Spawn a worker into the empty `slot`; on ready it is released (idle, or straight to a queued call). */
  private spawnWorker(slot: number, reason: WorkerStartReason): Promise<PoolWorker> {
    const current = this.slots[slot];
    if (current && !current.exited) {
      // Invariant: one process per slot. Reaching this is a bug, not a user error.
      return Promise.reject(new Error(`dspex: slot ${slot} of pool '${this.name}' is occupied by pid ${current.pid}`));
    }
    const generation = this.generations[slot]!++;
    const worker = new PoolWorker(this.name, slot, generation, this.hooks);
    this.slots[slot] = worker;
    return worker.start(this.spawnOptions).then(
      (startDurationNs) => {
        if (this.lifecycle === 'stopping' || this.lifecycle === 'stopped' || slot >= this.targetSize) {
          void worker.close(this.lifecycle === 'stopping' || this.lifecycle === 'stopped' ? 'stop' : 'resize', CLOSE_GRACE_MS);
          return worker;
        }
        emitWorkerEvent(this.mask, 'dspex:worker:init', worker, { reason, startDurationNs });
        this.release(worker);
        return worker;
      },
      (err: unknown) => {
        worker.kill('start_failed');
        throw err;
      },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Settling
  // -------------------------------------------------------------------------------------------

  private settleValue(call: Call, value: unknown): void {
    if (call.settled) return;
    call.settled = true;
    this.cleanup(call);
    call.resolve(value);
  }

  private settleError(call: Call, err: PythonBridgeError): void {
    if (call.settled) return;
    call.settled = true;
    this.cleanup(call);
    if (call.kind === 'user') {
      emitErrorEvent(this.mask, this.name, err, { workerId: call.worker?.workerId ?? null, pid: call.worker?.pid ?? null, command: call.command, sessionId: call.sessionId });
    }
    call.reject(err);
  }

  private cleanup(call: Call): void {
    if (call.timer) clearTimeout(call.timer);
    call.timer = null;
    if (call.onAbort && call.signal) call.signal.removeEventListener('abort', call.onAbort);
    call.onAbort = null;
  }

  // -------------------------------------------------------------------------------------------
  // Health checks
  // -------------------------------------------------------------------------------------------

  private healthTick(): void {
    if (this.lifecycle !== 'running') return;
    const now = wallNowMs();
    const interval = this.options.healthCheckIntervalMs;
    for (const w of this.slots) {
      if (!w) continue;
      const call = w.inflight as Call | null;
      if (call && call.kind === 'health') {
        // Still no answer to the previous ping: another failed check in a row.
        this.healthFailed(w, call, nowNs() - call.dispatchedNs);
        continue;
      }
      if (w.state !== 'idle' || now - (w.lastActiveAtMs ?? w.startedAtMs) < interval * 0.5) continue;
      const i = this.idle.indexOf(w);
      if (i === -1) continue;
      this.idle.splice(i, 1);
      this.runInternal(w, 'health', 'ping', null, this.options.healthCheckTimeoutMs);
    }
  }

  private healthReply(worker: PoolWorker, call: Call, frame: Frame, durationNs: number): void {
    call.settled = true;
    this.cleanup(call);
    const late = durationNs > this.options.healthCheckTimeoutMs * 1e6;
    if (frame['error'] !== undefined || late) {
      if (!late) this.healthFailed(worker, call, durationNs);
      if (worker.healthFailures >= this.options.maxHealthFailures) return;
    } else {
      worker.healthFailures = 0;
      emitWorkerEvent(this.mask, 'dspex:worker:health_check', worker, { ok: true, durationNs, consecutiveFailures: 0 });
    }
    this.release(worker);
  }

  private healthTimeout(worker: PoolWorker, call: Call): void {
    // The worker keeps the ping: a slow worker may still answer. Each interval without an answer
    // counts as one more failure (healthTick), until maxHealthFailures replaces it.
    this.healthFailed(worker, call, nowNs() - call.dispatchedNs);
  }

  private healthFailed(worker: PoolWorker, call: Call, durationNs: number): void {
    worker.healthFailures++;
    emitWorkerEvent(this.mask, 'dspex:worker:health_check', worker, { ok: false, durationNs, consecutiveFailures: worker.healthFailures });
    if (worker.healthFailures >= this.options.maxHealthFailures) {
      call.settled = true;
      this.cleanup(call);
      worker.inflight = null;
      emitErrorEvent(
        this.mask,
        this.name,
        { category: 'worker', type: 'health_check', message: `worker ${worker.workerId} (pid ${worker.pid}) failed ${worker.healthFailures} health checks in a row; replacing it` },
        { workerId: worker.workerId, pid: worker.pid },
      );
      worker.kill('health_check');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sessions
  // -------------------------------------------------------------------------------------------

  /** Record that `worker` serves `sessionId`; returns true when it served it last time too. */
  private touchSession(sessionId: string, worker: PoolWorker): boolean {
    const now = Date.now();
    let s = this.sessions.get(sessionId);
    let hit = false;
    if (s) {
      hit = s.workerId === worker.workerId && s.pid === worker.pid;
      // The session moved (its worker was busy): its state on the old worker is stale now, and
      // would otherwise stay in that Python process for as long as it lives.
      if (!hit) this.clearPythonSession(sessionId, s.workerId, s.pid);
      // Re-insert so the Map's order stays least-recently-used first (cheap expiry and eviction).
      this.sessions.delete(sessionId);
    } else {
      s = { id: sessionId, workerId: worker.workerId, pid: worker.pid, operations: 0, createdAtMs: now, lastActivityAtMs: now };
      if (this.sessions.size >= this.options.maxSessions) {
        const oldest = this.sessions.keys().next().value;
        if (oldest !== undefined) void this.endSession(oldest);
      }
    }
    s.workerId = worker.workerId;
    s.pid = worker.pid;
    s.operations++;
    s.lastActivityAtMs = now;
    this.sessions.set(sessionId, s);
    return hit;
  }

  /** The registry entry of a session, or undefined. */
  getSession(sessionId: string): Readonly<SessionInfo> | undefined {
    return this.sessions.get(sessionId);
  }

  /**
   * End a session: forget it and clear its Python-side state on the worker that holds it (at once
   * if that worker is idle, else right after its current call).
   */
  async endSession(sessionId: string): Promise<boolean> {
    const s = this.sessions.get(sessionId);
    if (!s) return false;
    this.sessions.delete(sessionId);
    this.clearPythonSession(sessionId, s.workerId, s.pid);
    return true;
  }

  /**
   * Drop a session's Python-side state on the worker that holds it: at once if that worker is
   * idle, else right after its current call. Pending ends are bounded by maxSessions per worker.
   */
  private clearPythonSession(sessionId: string, workerId: number, pid: number): void {
    const w = this.slots[workerId];
    if (!w || w.pid !== pid || w.exited || this.lifecycle !== 'running') return;
    if (w.state === 'idle') {
      const i = this.idle.indexOf(w);
      if (i !== -1) {
        this.idle.splice(i, 1);
        this.runInternal(w, 'control', 'session_end', sessionId, Math.min(this.options.operationTimeoutMs, 10_000));
      }
      return;
    }
    let set = this.pendingSessionEnds.get(w);
    if (!set) this.pendingSessionEnds.set(w, (set = new Set()));
    set.add(sessionId);
  }

  private expireSessions(): void {
    const cutoff = Date.now() - this.options.sessionTtlMs;
    for (const s of this.sessions.values()) {
      if (s.lastActivityAtMs > cutoff) break; // LRU order: the rest are younger
      void this.endSession(s.id);
      emitPoolEvent(this.mask, 'dspex:session:expire', this.name, { sessionId: s.id, idleMs: Date.now() - s.lastActivityAtMs, operations: s.operations });
    }
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
    const from = this.targetSize;
    if (n === from) return;
    this.targetSize = n;
    emitPoolEvent(this.mask, 'dspex:pool:resize', this.name, { from, to: n, reason });
    if (n > from) {
      const starts: Promise<unknown>[] = [];
      for (let slot = 0; slot < n; slot++) {
        const w = this.slots[slot];
        if (w && !w.exited) {
          // Retiring but not yet closing: keep it instead of starting another. One already closing
          // is replaced when it exits (onExit sees the slot is wanted again); one that was killed
          // before it ever became ready is not (its own retries gave up on the shrink): respawn it
          // here once it is gone.
          if (w.retiring && w.state !== 'stopping') w.retiring = false;
          else if (w.readyAtNs === 0 && w.endReason !== null) {
            void this.whenSlotFree(slot).then(() => {
              if (this.lifecycle === 'running' && this.slots[slot] === null && slot < this.targetSize) this.replace(slot, null, 0, nowNs());
            });
          }
          continue;
        }
        starts.push(this.spawnWorker(slot, 'resize').then(noop, (err: unknown) => this.retryLater(slot, null, 0, nowNs(), err)));
      }
      await Promise.all(starts);
      return;
    }
    for (let slot = n; slot < this.slots.length; slot++) {
      const w = this.slots[slot];
      if (!w) continue;
      w.retiring = true;
      const i = this.idle.indexOf(w);
      if (i !== -1) {
        this.idle.splice(i, 1);
        void w.close('resize', CLOSE_GRACE_MS);
      }
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
      size: this.targetSize,
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
    for (const w of this.slots) if (w && w.inflight && (w.inflight as Call).kind === 'user') n++;
    return n;
  }
}

function noop(): void {}
