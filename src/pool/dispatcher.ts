/**
 * The calls of a pool, from `execute*` to settling: validation, checkout (which worker, or where to
 * wait: checkout.ts), the request frame, the reply, checkin, and every way a call can fail
 * (timeouts, aborts, protocol errors, crashes, a session's worker gone). It keeps the invariants
 * listed in session-pool.ts; which processes exist is the supervisor's business.
 *
 * Abandoned calls: when a caller stops waiting for a call already in Python (its signal fired, or
 * its own `timeoutMs` passed) the call settles at once, but it stays its worker's call in flight
 * (`Call.abandoned`): the worker is not idle, gets no other call, and the reply it sends when done
 * carries that call's id, so onFrame drops it and releases the worker. A worker still running
 * the call `abortGraceMs` later is killed (abandonedTooLong) and the supervisor replaces it.
 *
 * size: over 600 lines because every path from `execute*` to settling is here, so that the
 * invariants (one settle per call, one call per worker, a reply reaches only its own call) can be
 * checked in one file.
 *
 * @module
 */
import { abortError, checkoutTimeoutError, crashError, operationTimeoutError, protocolError, queueFullError, replyError, sessionLostError, stoppedError } from './call-errors.js';
import { Call, disarmCall, type CallKind, type CallWorker } from './call-queue.js';
import { Checkout, LOST } from './checkout.js';
import { PythonBridgeError } from '../contract/errors.js';
import type { HealthMonitor } from './health.js';
import { encodeFrame, readReplyPythonNs, readUserMetrics, requestJson, type Frame, type FrameError } from './protocol.js';
import type { UserMetricChange } from '../contract/inside-python.js';
import type { SessionRegistry, SessionTouch } from './sessions.js';
import { CLOSE_GRACE_MS } from './supervisor.js';
import type { PoolLifecycle } from '../contract/pool-status.js';
import type { PoolLogger, ResolvedPoolOptions } from './options.js';
import {
  checkinObserved,
  checkoutObserved,
  emitCheckin,
  emitCheckout,
  emitErrorEvent,
  emitPoolEvent,
  emitPythonMetrics,
  executePoolOperation,
  groupEnabled,
  observed,
  operationChannel,
  pythonMetricsObserved,
  type OperationContext,
  type TelemetryMask,
  type WorkerTerminateReason,
} from '../telemetry/telemetry.js';
import { nowNs, wallMsAt } from '../contract/clock.js';

/** Per-call options of `executeInSession` / `executeAnonymous`. */
export interface ExecuteOptions {
  /**
   * The caller's deadline: past it the call rejects with `timeout`/`operation` at once. A request
   * already in Python is abandoned, not killed: its worker finishes it (the reply is dropped) and
   * serves again, unless it still runs `abortGraceMs` later (then it is killed and replaced).
   * Without it the pool's `operationTimeoutMs` applies, the hang guard that kills at once.
   */
  timeoutMs?: number;
  /**
   * Rejects the call with `aborted` when it fires: a queued call leaves the queue; a call already
   * in Python is abandoned like a passed `timeoutMs` (its worker gets `abortGraceMs` to finish).
   */
  signal?: AbortSignal;
  /**
   * `'idempotent'`: the call may run again (up to 2 more times) when its worker crashed. By
   * default a call is retried only when it provably never reached Python.
   */
  retry?: 'never' | 'idempotent';
}

/** Further attempts of a `retry: 'idempotent'` call whose worker crashed. */
const MAX_RETRIES = 2;
/** Longest wait for a hung worker's stack dump before it is killed anyway (issue 19). */
const STACK_BEFORE_KILL_MS = 500;

/** What the dispatcher needs from the pool. */
export interface DispatcherHost {
  /** The pool's life stage now. */
  lifecycle(): PoolLifecycle;
  /** `worker` has exited and its call was dealt with: free and maybe refill its slot. */
  workerExited(worker: CallWorker, reason: WorkerTerminateReason, failedAtNs: number): void;
  /** `worker` reached `maxCallsPerWorker` (jittered): recycle it. */
  callLimitReached(worker: CallWorker): void;
}

/** Runs the calls of one pool on its workers. */
export class Dispatcher {
  private readonly name: string;
  /** The idle workers and the waiting calls (the pool reads which sessions are in use there). */
  readonly checkout: Checkout;
  private nextId = 0;
  private drainWaiter: (() => void) | null = null;
  /** True while stop() lets queued and in-flight calls finish. */
  private draining = false;
  private readonly commandJsonCache = new Map<string, string>();
  /** Deadline of a `session_end` control call (at most `operationTimeoutMs`, which `configure()` may change). */
  private readonly sessionEndTimeoutMs: number;
  /** `pythonTiming`: read the reply's timing into the operation context. */
  private readonly timing: boolean;

  /** `slots` is the supervisor's array, read only here. */
  constructor(
    private readonly host: DispatcherHost,
    private readonly options: Readonly<ResolvedPoolOptions>,
    private readonly mask: TelemetryMask,
    private readonly logger: PoolLogger,
    private readonly slots: readonly (CallWorker | null)[],
    private readonly sessions: SessionRegistry,
    private readonly health: HealthMonitor,
  ) {
    this.name = options.name;
    this.sessionEndTimeoutMs = 10_000;
    this.timing = options.pythonTiming;
    this.checkout = new Checkout(slots, sessions, options);
  }

  /** Calls waiting for a worker. */
  get queueDepth(): number {
    return this.checkout.waiting;
  }

  /** Run `session_end` for `sessionId` on `worker` if it is in the idle list. */
  endSessionOnIdle(worker: CallWorker, sessionId: string): void {
    this.runOnIdle(worker, 'control', 'session_end', sessionId, Math.min(this.options.operationTimeoutMs, this.sessionEndTimeoutMs));
  }

  /** Send a health-check `ping` to `worker` if it is in the idle list. */
  pingOnIdle(worker: CallWorker): void {
    this.runOnIdle(worker, 'health', 'ping', null, this.options.healthCheckTimeoutMs);
  }

  // -------------------------------------------------------------------------------------------
  // Stopping
  // -------------------------------------------------------------------------------------------

  /** True while a user call is queued or in flight. */
  pending(): boolean {
    return this.checkout.waiting > 0 || this.inflightCount() > 0;
  }

  /**
   * Let queued and in-flight calls finish although the pool is stopping; resolves once none is
   * left, or after `timeoutMs`.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const drained = new Promise<void>((resolve) => (this.drainWaiter = resolve));
    let timer: NodeJS.Timeout | null = null;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([drained, timeout]);
    if (timer) clearTimeout(timer);
    this.drainWaiter = null;
    this.draining = false;
  }

  /**
   * Reject every queued and in-flight call with `pool_unavailable`/`stopped`, killing the workers
   * that run them, and forget the idle workers. Returns how many user calls were rejected.
   */
  rejectAll(): number {
    let rejected = 0;
    for (const call of this.checkout.drain()) {
      this.recordQueueWait(call);
      this.settleError(call, stoppedError(this.name));
      rejected++;
    }
    for (const w of this.slots) {
      const call = w?.inflight;
      if (!w || !call) continue;
      if (!call.settled && call.kind === 'user') rejected++;
      w.kill('stop');
      this.settleError(call, stoppedError(this.name));
    }
    this.checkout.idle.length = 0;
    return rejected;
  }

  // -------------------------------------------------------------------------------------------
  // Calls
  // -------------------------------------------------------------------------------------------

  /** Run a user call (see SessionPool.executeInSession / executeAnonymous). */
  execute(sessionId: string | null, command: string, args: unknown, opts: ExecuteOptions | undefined): Promise<unknown> {
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
        pythonNs: null,
        bridgeNs: null,
        traceparent: undefined,
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
      call.ownTimeout = opts?.timeoutMs !== undefined;
      if (signal) {
        call.onAbort = () => this.abortCall(call);
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      this.dispatch(call);
    });
  }

  /** The request's args as JSON, or the error that refuses the call. */
  private encodeArgs(sessionId: string | null, command: string, args: unknown): string | PythonBridgeError {
    // Built only on the way to an error: the valid path allocates nothing but the JSON.
    const details = (): { pool: string; command: string; sessionId: string | null } => ({ pool: this.name, command, sessionId });
    const lifecycle = this.host.lifecycle();
    if (lifecycle !== 'running' && lifecycle !== 'starting') {
      const type = lifecycle === 'new' ? 'not_started' : lifecycle;
      return new PythonBridgeError('pool_unavailable', type, `pool '${this.name}' is ${lifecycle === 'new' ? 'not started' : lifecycle}`, { details: details() });
    }
    if (typeof command !== 'string' || command.length === 0) {
      return new PythonBridgeError('invalid_request', 'bad_args', 'command must be a non-empty string', { details: { pool: this.name } });
    }
    let argsJson: string | undefined;
    try {
      argsJson = args === undefined ? '{}' : JSON.stringify(args);
    } catch (err) {
      return new PythonBridgeError('invalid_request', 'not_serializable', `args of '${command}' are not JSON-serialisable: ${(err as Error).message}`, { cause: err, details: details() });
    }
    if (argsJson === undefined) {
      return new PythonBridgeError('invalid_request', 'not_serializable', `args of '${command}' are not JSON-serialisable`, { details: details() });
    }
    // Bytes ≤ 3 × UTF-16 length: count exactly only when the string could be near the limit.
    if (argsJson.length * 3 + 256 > this.options.maxMessageBytes && Buffer.byteLength(argsJson) + command.length + 256 > this.options.maxMessageBytes) {
      return new PythonBridgeError('invalid_request', 'request_too_large', `request for '${command}' exceeds maxMessageBytes (${this.options.maxMessageBytes})`, { details: details() });
    }
    return argsJson;
  }

  /** Reject a call that never entered the pool (and publish its error). */
  refuse(err: PythonBridgeError, command: string, sessionId: string | null): Promise<never> {
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

  /** Give `call` to a worker (see checkout.ts), or queue it. */
  private dispatch(call: Call): void {
    if (this.tryRun(call, false)) return;
    const waiting = this.checkout.waiting;
    if (waiting >= this.options.maxQueue) {
      if (observed(this.mask, 'dspex:pool:queue:rejected')) {
        emitPoolEvent(this.mask, 'dspex:pool:queue:rejected', this.name, { command: call.command, sessionId: call.sessionId, queueDepth: waiting, maxQueue: this.options.maxQueue });
      }
      this.settleError(call, queueFullError(this.name, call, waiting, this.options.maxQueue));
      return;
    }
    call.queued = true;
    call.enqueuedNs = nowNs();
    this.checkout.wait(call);
    call.timer = setTimeout(() => this.checkoutTimeout(call), this.options.checkoutTimeoutMs);
    this.emitQueueDepth();
  }

  /** Run `call` where checkout says, or reject it (session lost); false: it must wait. `waiting`: it was waiting. */
  private tryRun(call: Call, waiting: boolean): boolean {
    const worker = this.checkout.take(call);
    if (worker === null) return false;
    if (waiting) this.checkout.leave(call);
    if (worker === LOST) this.sessionLost(call);
    else this.run(worker, call, waiting);
    return true;
  }

  /** Place a call that was waiting already (next in its session's line, or a dead worker's); stopping: stop() rejects it. */
  private route(call: Call): void {
    if (!this.serving() || !this.tryRun(call, true)) this.checkout.place(call, false);
  }

  /** A strict session's worker is gone: reject `call` and the calls behind it (`session_lost`); the next starts afresh. */
  private sessionLost(call: Call): void {
    const sessionId = call.sessionId!;
    const s = this.sessions.get(sessionId);
    this.sessions.forget(sessionId);
    const calls = [call, ...this.checkout.endLine(sessionId)];
    const queued = calls.some((c) => c.queued);
    for (const c of calls) {
      if (c.queued) this.recordQueueWait(c);
      c.queued = false;
      this.settleError(c, sessionLostError(this.name, c, s?.workerId ?? -1, s?.pid ?? 0));
    }
    if (queued) this.emitQueueDepth();
    this.maybeDrained();
  }

  /** A call leaving the queue without a worker still waited: the longest waits must be counted. */
  private recordQueueWait(call: Call): void {
    if (call.ctx) call.ctx.queueWaitNs = nowNs() - call.enqueuedNs;
  }

  private emitQueueDepth(): void {
    if (observed(this.mask, 'dspex:pool:queue:depth')) {
      emitPoolEvent(this.mask, 'dspex:pool:queue:depth', this.name, { queueDepth: this.checkout.waiting, maxQueue: this.options.maxQueue });
    }
  }

  /** Send `call` to `worker` (which the caller has taken out of the idle list). */
  private run(worker: CallWorker, call: Call, fromQueue: boolean): void {
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
    let touch: SessionTouch = 'new';
    if (call.kind === 'user') {
      if (call.sessionId !== null) touch = this.sessions.touch(call.sessionId, worker);
      const ctx = call.ctx;
      if (ctx) {
        ctx.workerId = worker.workerId;
        ctx.pid = worker.pid;
        ctx.queueWaitNs = queueWaitNs;
      }
      if (checkoutObserved(this.mask)) emitCheckout(worker, call.command, call.sessionId, queueWaitNs, this.checkout.waiting, touch === 'hit', touch === 'moved', now);
      if (fromQueue) this.emitQueueDepth();
    }
    call.dispatchedNs = now;
    if (!worker.send(encodeFrame(requestJson(id, call.commandJson, call.argsJson, call.sessionId, call.ctx?.traceparent)))) {
      // The process is gone and its exit not yet processed: the frame never reached Python, so the
      // call may run elsewhere. The worker stays out of the idle list; onExit replaces it.
      worker.inflight = null;
      call.worker = null;
      call.attempts--;
      // A session this call was about to start holds no state on that worker yet: not lost.
      if (touch === 'new' && call.sessionId !== null && call.kind === 'user') this.sessions.forget(call.sessionId);
      if (call.kind === 'user') this.requeueFront(call);
      else this.settleError(call, crashError(this.name, worker, call));
      return;
    }
    if (call.kind === 'user' && call.timeoutMs === this.options.operationTimeoutMs) {
      // The common case: the worker's own timer, re-armed (refresh: ~50 ns) instead of a new
      // setTimeout + clearTimeout per call (~300 ns). It fires timeoutMs after the latest dispatch,
      // which is exactly the deadline of the call in flight; when that call already finished, the
      // firing finds nothing to do.
      if (worker.opTimer === null || worker.opTimerMs !== call.timeoutMs) {
        // First call, or `configure()` changed operationTimeoutMs: a timer with the new duration.
        if (worker.opTimer !== null) clearTimeout(worker.opTimer);
        worker.opTimer = setTimeout(() => this.workerTimerFired(worker), call.timeoutMs);
        worker.opTimer.unref();
        worker.opTimerMs = call.timeoutMs;
      } else worker.opTimer.refresh();
    } else {
      call.timer = setTimeout(() => this.operationTimeout(call), call.timeoutMs);
    }
  }

  private workerTimerFired(worker: CallWorker): void {
    const call = worker.inflight;
    if (call === null || call.kind !== 'user' || call.settled || call.timer !== null || call.worker !== worker) return;
    this.operationTimeout(call);
  }

  private requeueFront(call: Call): void {
    if (this.tryRun(call, false)) return;
    call.queued = true;
    call.enqueuedNs = nowNs();
    this.checkout.waitFront(call);
    call.timer = setTimeout(() => this.checkoutTimeout(call), this.options.checkoutTimeoutMs);
  }

  /** A reply frame from `worker` (its WorkerHooks.onFrame). */
  onFrame(worker: CallWorker, frame: Frame): void {
    // User metrics ride on any reply (issue 19), the late reply of an abandoned call included.
    if (frame['metrics'] !== undefined) this.onMetrics(worker, frame['metrics']);
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
    if (call.abandoned) {
      // The late reply of a call its caller gave up on (settled already): dropped, the worker is free.
      this.endAbandoned(worker, call);
      this.release(worker);
      return;
    }
    if (call.kind === 'health') {
      this.health.reply(worker, call, frame, busyNs);
      return;
    }
    const err = frame['error'];
    const failure = err === undefined ? null : replyError(this.name, worker, call, err);
    if (call.kind === 'user') {
      const ctx = call.ctx;
      if (ctx !== null && this.timing) ctx.pythonNs = readReplyPythonNs(frame);
      // Control calls (session ends) are the pool's own work: not the user's operations.
      worker.lastUsedAtMs = doneMs;
      worker.operations++;
      if (failure) worker.errors++;
      if (checkinObserved(this.mask)) emitCheckin(worker, call.command, call.sessionId, failure ? 'python_error' : 'ok', busyNs, doneNs);
      const maxCalls = this.options.maxCallsPerWorker;
      if (maxCalls > 0 && !worker.recycling && worker.operations >= maxCalls - Math.floor(maxCalls * this.options.recycleJitterRatio * worker.jitter)) {
        this.host.callLimitReached(worker);
      }
    }
    if (failure) this.settleError(call, failure);
    else this.settleValue(call, frame['result']);
    this.release(worker);
  }

  /**
   * The `metrics` of a reply or a periodic frame of `worker` (its WorkerHooks.onMetrics): parsed
   * and published on `dspex:python:metrics` only when someone listens (issue 19).
   */
  onMetrics(worker: CallWorker, raw: unknown): void {
    if (!pythonMetricsObserved(this.mask)) return;
    const changes: UserMetricChange[] = [];
    const dropped = readUserMetrics(raw, changes);
    if (changes.length > 0 || dropped > 0) emitPythonMetrics(worker, changes, dropped);
  }

  /** A worker is free again: retire it, run a pending control call, serve the queue, or idle it. */
  release(worker: CallWorker): void {
    if (worker.retiring) {
      void worker.close(worker.retireReason, CLOSE_GRACE_MS);
      return;
    }
    const sessionId = this.sessions.takePendingEnd(worker);
    if (sessionId !== null) {
      this.runInternal(worker, 'control', 'session_end', sessionId, Math.min(this.options.operationTimeoutMs, this.sessionEndTimeoutMs));
      return;
    }
    const next = this.serving() ? this.checkout.next(worker) : null;
    if (next) {
      this.run(worker, next, true);
      return;
    }
    worker.state = 'idle';
    this.checkout.idle.push(worker);
    this.maybeDrained();
  }

  /** True while workers may take queued calls. */
  private serving(): boolean {
    const lifecycle = this.host.lifecycle();
    return lifecycle === 'running' || lifecycle === 'starting' || this.draining;
  }

  private runInternal(worker: CallWorker, kind: CallKind, command: string, sessionId: string | null, timeoutMs: number): void {
    const call = new Call(kind, sessionId, command, this.commandJson(command), '{}', timeoutMs, null, false, noop, noop, null);
    this.run(worker, call, false);
  }

  /** `runInternal` on `worker` if it is in the idle list (taking it out); else nothing. */
  private runOnIdle(worker: CallWorker, kind: CallKind, command: string, sessionId: string | null, timeoutMs: number): void {
    if (this.takeFromIdle(worker)) this.runInternal(worker, kind, command, sessionId, timeoutMs);
  }

  /** Take `worker` out of the idle list; false when it was not there. */
  takeFromIdle(worker: CallWorker): boolean {
    return this.checkout.takeFromIdle(worker);
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
    this.checkout.forget(call);
    this.maybeDrained();
    this.settleError(call, checkoutTimeoutError(this.name, call, this.options.checkoutTimeoutMs));
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
    if (call.kind === 'user' && call.ownTimeout) {
      // The caller's own deadline: the request may be nearly done; give the worker its grace.
      const graceMs = this.graceMs(call);
      this.abandon(worker, call, operationTimeoutError(this.name, worker, call, graceMs > 0 ? graceMs : null), graceMs, 'timeout');
      return;
    }
    // The hang guard: the process may still answer later; kill it so that answer can never reach
    // another call.
    worker.inflight = null;
    if (call.kind === 'user') worker.errors++;
    if (call.kind === 'user') {
      // Issue 19: what was it doing? Its stack first (condemned meanwhile: a late reply is
      // dropped and it gets nothing else), then the kill; the error and the log carry the stack.
      this.withLastStack(worker, 'timeout', (stack) => {
        worker.kill('timeout');
        if (stack !== null) this.logHungStack(worker, call, stack, `still ran after ${call.timeoutMs} ms (operationTimeoutMs)`);
        this.settleError(call, operationTimeoutError(this.name, worker, call, null, stack));
        this.checkinFailed(worker, call);
      });
      return;
    }
    worker.kill('timeout');
    this.settleError(call, operationTimeoutError(this.name, worker, call));
    this.checkinFailed(worker, call);
  }

  /**
   * Condemn `worker` (see PoolWorker.condemn) and hand its last stack dump to `then` (null when it
   * cannot dump, or nothing came within STACK_BEFORE_KILL_MS); `then` kills it.
   */
  private withLastStack(worker: CallWorker, reason: WorkerTerminateReason, then: (stack: string | null) => void): void {
    if (!worker.stackDumpReady || worker.exited) {
      then(null);
      return;
    }
    worker.condemn(reason);
    worker.dumpStack(STACK_BEFORE_KILL_MS).then(then, () => then(null));
  }

  private logHungStack(worker: CallWorker, call: Call, stack: string, what: string): void {
    this.logger.error(
      { pool: this.name, workerId: worker.workerId, workerPid: worker.pid, command: call.command, timeoutMs: call.timeoutMs, pythonStack: stack },
      `'${call.command}' ${what}; its worker is killed. Its Python stack:\n${stack}`,
    );
  }

  private abortCall(call: Call): void {
    if (call.settled) return;
    const err = abortError(this.name, call);
    if (call.queued) {
      call.queued = false;
      this.recordQueueWait(call);
      this.checkout.forget(call);
      this.settleError(call, err);
      this.emitQueueDepth();
      this.maybeDrained();
      return;
    }
    const worker = call.worker;
    if (worker && worker.inflight === call) {
      err.details.workerId = worker.workerId;
      err.details.pid = worker.pid;
      this.abandon(worker, call, err, this.graceMs(call), 'aborted');
    }
  }

  /**
   * How long `call`'s worker may go on with it once abandoned: `abortGraceMs`, but never past the
   * pool's `operationTimeoutMs` hang guard for a call without its own `timeoutMs`.
   */
  private graceMs(call: Call): number {
    const grace = this.options.abortGraceMs;
    if (call.ownTimeout || grace === 0) return grace;
    const leftMs = call.timeoutMs - (nowNs() - call.dispatchedNs) / 1e6;
    return leftMs <= 0 ? 0 : Math.min(grace, Math.ceil(leftMs));
  }

  /**
   * The caller stopped waiting for `call`, in Python on `worker`: settle it with `err` now. With a
   * grace period the worker keeps the call in flight (marked abandoned: no other call is sent to
   * it, its late reply is dropped in onFrame) and is killed with `reason` only if the call still
   * runs `graceMs` later; without one it is killed at once.
   */
  private abandon(worker: CallWorker, call: Call, err: PythonBridgeError, graceMs: number, reason: 'aborted' | 'timeout'): void {
    worker.errors++;
    if (graceMs <= 0) {
      worker.inflight = null;
      worker.kill(reason);
      this.settleError(call, err);
      this.checkinFailed(worker, call);
      return;
    }
    // Settling clears the call's timer and abort listener; the grace timer is armed after it.
    this.settleError(call, err);
    call.abandoned = true;
    call.timer = setTimeout(() => this.abandonedTooLong(worker, call, reason), graceMs);
    // An abandoned call is no longer pending: a draining stop() need not wait for it.
    this.maybeDrained();
  }

  /** The grace period of abandoned `call` passed: kill its worker if it is still running it (logging its stack first). */
  private abandonedTooLong(worker: CallWorker, call: Call, reason: 'aborted' | 'timeout'): void {
    call.timer = null;
    if (worker.inflight !== call) return;
    worker.inflight = null;
    this.withLastStack(worker, reason, (stack) => {
      worker.kill(reason);
      if (stack !== null) this.logHungStack(worker, call, stack, `still ran ${this.options.abortGraceMs} ms after it was abandoned (${reason})`);
      this.endAbandoned(worker, call);
    });
  }

  /** `worker` is done with abandoned `call` (late reply, kill, exit): its checkin comes now. */
  private endAbandoned(worker: CallWorker, call: Call): void {
    if (call.timer) clearTimeout(call.timer);
    call.timer = null;
    this.checkinFailed(worker, call);
  }

  private checkinFailed(worker: CallWorker, call: Call): void {
    if (call.kind === 'user' && checkinObserved(this.mask)) {
      const now = nowNs();
      emitCheckin(worker, call.command, call.sessionId, 'failed', now - call.dispatchedNs, now);
    }
  }

  /** `worker` broke the protocol: kill it and fail its call (its WorkerHooks.onProtocolError). */
  onProtocolError(worker: CallWorker, err: Pick<FrameError, 'kind' | 'message'>): void {
    const call = worker.inflight;
    worker.inflight = null;
    // A stray frame can come from an idle worker: it must not be handed another call meanwhile.
    this.takeFromIdle(worker);
    worker.kill('protocol_error');
    this.logger.error({ pool: this.name, workerId: worker.workerId, workerPid: worker.pid, kind: err.kind }, `worker broke the protocol: ${err.message}`);
    const error = protocolError(this.name, worker, call, err);
    if (call?.abandoned) this.endAbandoned(worker, call);
    if (call && !call.settled) {
      if (call.timer) clearTimeout(call.timer);
      if (call.kind === 'user') worker.errors++;
      this.settleError(call, error);
      this.checkinFailed(worker, call);
    } else {
      emitErrorEvent(this.mask, this.name, error, { workerId: worker.workerId, pid: worker.pid });
    }
  }

  /** `worker`'s process ended: fail or retry its call, then let the supervisor replace it. */
  onExit(worker: CallWorker): void {
    const failedAtNs = nowNs();
    if (worker.opTimer) clearTimeout(worker.opTimer);
    this.takeFromIdle(worker);
    this.sessions.forgetWorker(worker);
    const reason: WorkerTerminateReason = worker.endReason ?? 'crash';
    const call = worker.inflight;
    worker.inflight = null;
    // Died while finishing a call its caller had given up on: nothing left to settle.
    if (call?.abandoned) this.endAbandoned(worker, call);
    else if (call && !call.settled) {
      if (call.timer) clearTimeout(call.timer);
      call.timer = null;
      if (call.kind === 'user') worker.errors++;
      if (call.kind === 'user' && call.retry && call.attempts <= MAX_RETRIES && this.host.lifecycle() === 'running') {
        this.checkinFailed(worker, call);
        call.worker = null;
        this.requeueFront(call);
      } else {
        this.settleError(call, crashError(this.name, worker, call));
        this.checkinFailed(worker, call);
      }
    }
    // Calls waiting for this worker: strict sessions lost their state, the others go elsewhere.
    for (const c of this.checkout.workerGone(worker)) this.route(c);
    this.host.workerExited(worker, reason, failedAtNs);
    this.maybeDrained();
  }

  /** Wake a draining stop() once nothing is queued or in flight. */
  private maybeDrained(): void {
    if (this.drainWaiter && this.checkout.waiting === 0 && this.inflightCount() === 0) this.drainWaiter();
  }

  private inflightCount(): number {
    let n = 0;
    for (const w of this.slots) if (w && w.inflight && w.inflight.kind === 'user' && !w.inflight.abandoned) n++;
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Settling
  // -------------------------------------------------------------------------------------------

  private settleValue(call: Call, value: unknown): void {
    if (call.settled) return;
    call.settled = true;
    disarmCall(call);
    call.resolve(value);
    this.nextInLine(call);
  }

  /** A strict session's call settled: the session's next call, if any, is placed now. */
  private nextInLine(call: Call): void {
    if (call.sessionId === null || call.kind !== 'user' || !this.checkout.strict) return;
    const next = this.checkout.lineDone(call);
    if (next !== null) this.route(next);
  }

  private settleError(call: Call, err: PythonBridgeError): void {
    if (call.settled) return;
    call.settled = true;
    disarmCall(call);
    if (call.kind === 'user') {
      emitErrorEvent(this.mask, this.name, err, { workerId: call.worker?.workerId ?? null, pid: call.worker?.pid ?? null, command: call.command, sessionId: call.sessionId });
    }
    call.reject(err);
    this.nextInLine(call);
  }
}

function noop(): void {}
