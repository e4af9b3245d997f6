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
 * - a call its caller abandoned while it ran in Python (its `signal` fired, or its own `timeoutMs`
 *   passed) settles at once but stays its worker's call in flight: the worker gets no other call
 *   until the reply with that call's id arrives, and that reply is dropped;
 * - a worker past the pool's `operationTimeoutMs` (the hang guard), or still running an abandoned
 *   call `abortGraceMs` after it was abandoned, is killed, never reused;
 * - a call is retried only when its frame provably never reached Python, or when the caller said
 *   `retry: 'idempotent'` and the worker crashed;
 * - affinity `strict`: a session's calls run only on the worker holding its state, one at a time,
 *   in submission order, and never on state that died with a worker (they reject with
 *   `worker`/`session_lost` instead, a retried call too); the pool's own calls (session cleanups,
 *   health pings) never move a session in either mode (checkout.ts).
 * - a warm spare (the `spares` option, spares.ts) serves no call before it has taken a slot.
 * - no process outlives its worker: each worker leads its own process group, which is killed
 *   wherever the worker ends (stop, replacement, crash; see pool-worker.ts).
 *
 * @module
 */
import { Dispatcher, type ExecuteOptions } from './dispatcher.js';
import { invalidArgument, PythonBridgeError } from '../contract/errors.js';
import type { PythonStack } from '../contract/inside-python.js';
import { HealthMonitor } from './health.js';
import type { Call } from './call-queue.js';
import type { WorkerHooks } from './pool-worker.js';
import { SessionRegistry, type SessionInfo } from './sessions.js';
import { Supervisor } from './supervisor.js';
import type { PoolLifecycle, PoolStatus, WorkerStatus } from '../contract/pool-status.js';
import { resolveInterpreter, workerSpawnOptions, type WorkerSpawnOptions } from './worker-env.js';
import { resolveConfigure, resolvePoolOptions } from './options-schema.js';
import type { ConfigurablePoolOptions, PoolLogger, PoolOptions, RecycleOptions, ResolvedPoolOptions } from './options.js';
import { readRssBytes } from './worker-rss.js';
import { getDefaultLogger } from './default-logger.js';
import { emitPoolEvent, telemetryMask, type OptionChange, type TelemetryMask } from '../telemetry/telemetry.js';
import { nowNs } from '../contract/clock.js';

export type { ExecuteOptions } from './dispatcher.js';
export type { SessionInfo } from './sessions.js';
export { RUN_ID } from './worker-env.js';

/** Options of `stop()`. */
export interface StopOptions {
  /** `'drain'` (default): finish queued and in-flight calls first; `'reject'`: reject them at once. */
  mode?: 'drain' | 'reject';
  /** Longest drain before the rest is rejected (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * Keep Node's event loop alive until the returned release is called. The pool's own timers
 * (start timeouts, restart backoff, health checks, session expiry) are unref'd so that they never
 * keep a process alive by themselves; whatever a caller awaits (`start()`, `resize()` growth,
 * `stop()`) holds the loop with this instead, so the promise settles before Node can exit.
 */
function holdEventLoop(): () => void {
  const hold = setInterval(() => {}, 0x7fffffff);
  return () => clearInterval(hold);
}

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
  private readonly sessions: SessionRegistry;
  private readonly health: HealthMonitor;
  private readonly dispatcher: Dispatcher;
  private readonly spawn: WorkerSpawnOptions;
  private startedAtMs = 0;
  private stopPromise: Promise<void> | null = null;
  /** The `maxWorkerRssBytes` check, while that option is set and the pool runs. */
  private rssTimer: NodeJS.Timeout | null = null;

  /** @throws PythonBridgeError `invalid_request`/`invalid_options` naming the bad option. */
  constructor(options: PoolOptions = {}) {
    this.options = resolvePoolOptions(options);
    this.name = this.options.name;
    this.mask = telemetryMask(this.options.telemetry.disabled);
    this.logger = this.options.logger ?? getDefaultLogger();
    // One object for every spawn: start() swaps a shim for the real interpreter in it.
    this.spawn = workerSpawnOptions(this.options);
    const o = this.options;
    // The parts reach each other through narrow views built once here (no closures per call);
    // the views name `this.dispatcher` lazily, as it is built last.
    const hooks: WorkerHooks<Call> = {
      onFrame: (w, f) => this.dispatcher.onFrame(w, f),
      onMetrics: (w, raw) => this.dispatcher.onMetrics(w, raw),
      onProtocolError: (w, e) => this.dispatcher.onProtocolError(w, e),
      onExit: (w) => this.dispatcher.onExit(w),
      onOutput: (w, stream, line, cutFromBytes) => {
        const fields = { pool: this.name, workerId: w.workerId, workerPid: w.pid, stream };
        const cut = cutFromBytes !== null;
        const record = cut ? { ...fields, cut, lineBytes: cutFromBytes } : fields;
        const msg = cut ? `${line} …[cut: ${cutFromBytes} bytes]` : line;
        if (stream === 'stderr') this.logger.warn(record, msg);
        else this.logger.info(record, msg);
      },
      onOutputDropped: (w, dropped, intervalMs) => {
        const n = dropped.stdout + dropped.stderr;
        this.logger.warn(
          { pool: this.name, workerId: w.workerId, workerPid: w.pid, droppedLines: dropped, intervalMs },
          `${n} lines of Python output dropped in ${intervalMs} ms (over outputLinesPerSecond ${o.outputLinesPerSecond}, burst ${o.outputBurstLines})`,
        );
      },
    };
    const lifecycle = (): PoolLifecycle => this.lifecycle;
    this.supervisor = new Supervisor(
      { lifecycle, release: (w) => this.dispatcher.release(w), takeFromIdle: (w) => this.dispatcher.takeFromIdle(w) },
      { pool: this.name, mask: this.mask, logger: this.logger, spawn: this.spawn, hooks, maxSize: o.maxSize, size: o.size, startAttempts: o.startAttempts, spares: o.spares, backoff: o },
    );
    const slots = this.supervisor.slots;
    this.sessions = new SessionRegistry(
      {
        sessionWorker: (workerId, pid) => {
          const w = slots[workerId];
          return w && w.pid === pid && !w.exited && this.lifecycle === 'running' ? w : null;
        },
        endOnIdle: (w, sessionId) => this.dispatcher.endSessionOnIdle(w, sessionId),
        inUse: (sessionId) => this.dispatcher.checkout.inUse(sessionId),
      },
      this.name,
      this.mask,
      o.maxSessions,
      o.sessionTtlMs,
    );
    this.health = new HealthMonitor(
      {
        slots,
        running: () => this.lifecycle === 'running',
        ping: (w) => this.dispatcher.pingOnIdle(w),
        release: (w) => this.dispatcher.release(w),
      },
      this.name,
      this.mask,
      { intervalMs: o.healthCheckIntervalMs, timeoutMs: o.healthCheckTimeoutMs, maxFailures: o.maxHealthFailures },
    );
    this.dispatcher = new Dispatcher(
      {
        lifecycle,
        workerExited: (w, reason, failedAtNs) => this.supervisor.onExit(w, reason, failedAtNs),
        callLimitReached: (w) => void this.supervisor.recycle(w, 'max_calls', null),
      },
      o,
      this.mask,
      this.logger,
      slots,
      this.sessions,
      this.health,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------------------------

  /**
   * Start `size` workers (and the `spares`) concurrently; resolves when all are ready. A worker
   * that fails to start is retried with backoff up to `startAttempts` times; a Python import error
   * fails at once. On failure every started worker is ended and the promise rejects with
   * `worker`/`start_failed`. A spare that fails to start does not fail the start: it is retried
   * in the background, with backoff.
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
    const release = holdEventLoop();
    try {
      this.spawn.python = await resolveInterpreter(this.spawn);
      await Promise.all([...Array.from({ length: this.supervisor.targetSize }, (_, slot) => this.supervisor.startInitial(slot)), this.supervisor.spares.fill()]);
    } catch (err) {
      await this.stop({ mode: 'reject' });
      throw err;
    } finally {
      release();
    }
    if (this.lifecycle !== 'starting') {
      throw new PythonBridgeError('pool_unavailable', 'stopped', `pool '${this.name}' was stopped while starting`, { details: { pool: this.name } });
    }
    this.lifecycle = 'running';
    // A slot whose replacement gave up while the pool was still starting: refill it now.
    this.supervisor.fillEmptySlots();
    this.health.start();
    this.sessions.startExpiry();
    this.armRssCheck();
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
   * every Python process, spares included, is ended (request pipe closed, SIGKILL to its process
   * group after a grace period, and to what is left of the group once it exited). Resolves when
   * every process has exited (Node's event loop is held open until then). Idempotent.
   */
  stop(opts: StopOptions = {}): Promise<void> {
    if (!this.stopPromise) {
      const release = holdEventLoop();
      this.stopPromise = this.doStop(opts).finally(release);
    }
    return this.stopPromise;
  }

  private async doStop(opts: StopOptions): Promise<void> {
    const t0 = nowNs();
    const wasStarted = this.lifecycle !== 'new';
    this.lifecycle = 'stopping';
    this.health.stop();
    this.disarmRssCheck();
    this.sessions.stopExpiry();
    this.supervisor.cancelRestarts();
    if ((opts.mode ?? 'drain') === 'drain' && this.dispatcher.pending()) await this.dispatcher.drain(opts.timeoutMs ?? 5000);
    const rejected = this.dispatcher.rejectAll();
    await this.supervisor.closeAll();
    this.lifecycle = 'stopped';
    if (wasStarted) {
      emitPoolEvent(this.mask, 'dspex:pool:terminate', this.name, { uptimeMs: Date.now() - this.startedAtMs, rejected, stopDurationNs: nowNs() - t0 });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Calls
  // -------------------------------------------------------------------------------------------

  /**
   * Run `command` in the context of a session, on the worker that holds the session's Python-side
   * state. Affinity `'strict'` (default): the call waits for that worker (up to
   * `checkoutTimeoutMs`), a session's calls run one at a time in submission order, and when that
   * worker has died the call rejects with `worker`/`session_lost` (the session's calls waiting for
   * it too); the next call starts the session afresh on any worker. Affinity `'prefer'`: that
   * worker when idle, else any idle worker (the session moves; its state stays behind).
   * @throws PythonBridgeError (rejects) — see errors.ts for categories.
   */
  executeInSession<T = unknown>(sessionId: string, command: string, args?: unknown, opts?: ExecuteOptions): Promise<T> {
    if (typeof sessionId !== 'string' || sessionId.length === 0) {
      return this.dispatcher.refuse(new PythonBridgeError('invalid_request', 'bad_args', 'sessionId must be a non-empty string', { details: { pool: this.name, command } }), command, null);
    }
    return this.dispatcher.execute(sessionId, command, args, opts) as Promise<T>;
  }

  /** Run `command` on any worker. @throws PythonBridgeError (rejects). */
  executeAnonymous<T = unknown>(command: string, args?: unknown, opts?: ExecuteOptions): Promise<T> {
    return this.dispatcher.execute(null, command, args, opts) as Promise<T>;
  }

  // -------------------------------------------------------------------------------------------
  // Sessions
  // -------------------------------------------------------------------------------------------

  /** A copy of the registry entry of a session (a snapshot: later calls do not change it), or undefined. */
  getSession(sessionId: string): Readonly<SessionInfo> | undefined {
    const s = this.sessions.get(sessionId);
    return s && { ...s };
  }

  /**
   * End a session: forget it and clear its Python-side state on the worker that holds it (at once
   * if that worker is idle, else right after its current call).
   */
  endSession(sessionId: string): Promise<boolean> {
    return Promise.resolve(this.sessions.end(sessionId));
  }

  // -------------------------------------------------------------------------------------------
  // Sizing and status
  // -------------------------------------------------------------------------------------------

  /**
   * Grow or shrink to `n` workers (within minSize..maxSize). Growing resolves when the new
   * workers are ready (a ready spare takes a new slot at once; Node's event loop is held open
   * until then); shrinking retires idle workers at once and busy ones after their call.
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
    if (n < from) {
      this.supervisor.shrink();
      return;
    }
    const release = holdEventLoop();
    try {
      await this.supervisor.grow();
    } finally {
      release();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Recycling and run-time options
  // -------------------------------------------------------------------------------------------

  /**
   * Recycle the worker in slot `workerId`: a planned restart, e.g. for a process whose memory grew.
   * The replacement starts first (or a ready warm spare is taken), outside the slot; once it is
   * ready the old process retires, at once when idle, else after its current call, and the
   * replacement takes over the slot (`dspex:worker:recycle`, then `dspex:worker:terminate` with
   * reason `recycle` and `dspex:worker:init` with reason `recycle`). No call fails because of it:
   * calls in flight finish, queued calls go to the replacement or any other worker.
   *
   * Sessions whose Python-side state the old process holds lose it, as when a worker dies (the
   * pool's session semantics): with affinity `strict`, each such session's next call, and its
   * calls already waiting for that worker, reject once with `worker`/`session_lost` and the call
   * after starts the session afresh; with `prefer`, its next call runs on any worker (a session
   * move). So recycle pools with strict sessions when they are idle, or give the sessions a way
   * to rebuild their state.
   *
   * Resolves when the replacement serves (or the recycle became moot: the old process died
   * meanwhile, the pool shrank below the slot or stopped). A replacement that fails to start
   * cancels the recycle: the old process keeps serving, the failure is logged and published on
   * `dspex:pool:error`, and the promise still resolves. Recycling a process already being
   * recycled returns the same promise.
   *
   * @throws PythonBridgeError (rejects) `invalid_request`/`bad_args` when no live worker is in that
   *   slot or the reason is malformed; `pool_unavailable` when the pool is not running.
   */
  recycleWorker(workerId: number, opts: RecycleOptions = {}): Promise<void> {
    const reason = opts.reason ?? 'manual';
    if (typeof reason !== 'string' || !/^[\w.:-]{1,64}$/.test(reason)) {
      return Promise.reject(new PythonBridgeError('invalid_request', 'bad_args', `recycleWorker: reason must be 1..64 of letters, digits, _ . : -, got ${JSON.stringify(reason)}`, { details: { pool: this.name } }));
    }
    if (this.lifecycle !== 'running') {
      return Promise.reject(
        new PythonBridgeError('pool_unavailable', this.lifecycle === 'new' ? 'not_started' : this.lifecycle, `pool '${this.name}' is not running`, { details: { pool: this.name } }),
      );
    }
    const w = Number.isInteger(workerId) && workerId >= 0 ? this.supervisor.slots[workerId] : undefined;
    if (!w || w.exited || w.endReason !== null || w.readyAtNs === 0 || (w.retiring && w.retireReason === 'resize')) {
      return Promise.reject(
        new PythonBridgeError('invalid_request', 'bad_args', `recycleWorker(${workerId}): no live, ready worker in that slot of pool '${this.name}'`, { details: { pool: this.name, workerId } }),
      );
    }
    const release = holdEventLoop();
    return this.supervisor.recycle(w, reason, null).finally(release);
  }

  /**
   * Change options at run time: `operationTimeoutMs`, `checkoutTimeoutMs`,
   * `healthCheckIntervalMs`, `healthCheckTimeoutMs`, `abortGraceMs`, the restart backoff
   * (`restartBackoffMs`, `maxRestartBackoffMs`) and the recycling limits (`maxCallsPerWorker`,
   * `maxWorkerRssBytes`, `recycleJitterRatio`, `recycleCheckIntervalMs`), validated by the same
   * schema and bounds as at construction; all or nothing. New values apply to calls dispatched
   * and timers armed from now on (a call already waiting keeps its deadline). `pool.options`
   * shows them; `dspex:pool:configure` lists what changed. Returns the changes.
   * @param reason recorded on `dspex:pool:configure` (e.g. 'manual', 'auto_tune', 'rollback').
   * @throws PythonBridgeError `invalid_request`/`invalid_options` naming the option (nothing changed);
   *   `pool_unavailable` once the pool stopped.
   */
  configure(partial: ConfigurablePoolOptions, reason = 'manual'): OptionChange[] {
    if (this.lifecycle === 'stopping' || this.lifecycle === 'stopped') {
      throw new PythonBridgeError('pool_unavailable', this.lifecycle, `pool '${this.name}' is ${this.lifecycle}`, { details: { pool: this.name } });
    }
    const next = resolveConfigure(partial, this.options);
    const o = this.options as ResolvedPoolOptions;
    const changes: OptionChange[] = [];
    for (const [key, value] of Object.entries(next) as [keyof typeof next, number][]) {
      if (o[key] === value) continue;
      changes.push({ option: key, from: o[key], to: value });
      o[key] = value;
    }
    if (changes.length === 0) return changes;
    const running = this.lifecycle === 'running';
    this.health.configure({ intervalMs: o.healthCheckIntervalMs, timeoutMs: o.healthCheckTimeoutMs }, running);
    if (running) {
      this.disarmRssCheck();
      this.armRssCheck();
    }
    emitPoolEvent(this.mask, 'dspex:pool:configure', this.name, { changes, reason });
    return changes;
  }

  private armRssCheck(): void {
    if (this.options.maxWorkerRssBytes <= 0 || this.rssTimer !== null) return;
    this.rssTimer = setInterval(() => this.checkRss(), this.options.recycleCheckIntervalMs);
    this.rssTimer.unref();
  }

  private disarmRssCheck(): void {
    if (this.rssTimer !== null) clearInterval(this.rssTimer);
    this.rssTimer = null;
  }

  /** Recycle the workers over `maxWorkerRssBytes` (each lowered by its jitter draw). */
  private checkRss(): void {
    const o = this.options;
    const max = o.maxWorkerRssBytes;
    if (this.lifecycle !== 'running' || max <= 0) return;
    for (const w of this.supervisor.slots) {
      if (!w || w.exited || w.endReason !== null || w.recycling || w.retiring || w.readyAtNs === 0) continue;
      const rss = readRssBytes(w.pid);
      if (rss !== null && rss > max - Math.floor(max * o.recycleJitterRatio * w.jitter)) void this.supervisor.recycle(w, 'max_rss', rss);
    }
  }

  /** A snapshot of the pool's state (cheap: no I/O). */
  status(): PoolStatus {
    const workers: WorkerStatus[] = [];
    let busy = 0;
    let idle = 0;
    let starting = 0;
    for (const w of this.supervisor.slots) {
      if (!w) continue;
      if (w.state === 'busy') busy++;
      else if (w.state === 'idle') idle++;
      else if (w.state === 'starting') starting++;
      workers.push({
        id: w.workerId,
        pid: w.pid,
        state: w.state,
        operations: w.operations,
        errors: w.errors,
        startedAtMs: w.startedAtMs,
        lastUsedAtMs: w.lastUsedAtMs,
        generation: w.generation,
        abandoned: w.inflight?.abandoned === true,
        outputLinesDropped: w.outputLinesDropped,
        outputLinesCut: w.outputLinesCut,
      });
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
      queueDepth: this.dispatcher.queueDepth,
      maxQueue: this.options.maxQueue,
      sessions: this.sessions.size,
      uptimeMs: this.startedAtMs === 0 ? 0 : Date.now() - this.startedAtMs,
      workers,
      spares: this.supervisor.spares.status(),
    };
  }

  /**
   * The Python traceback of every thread of worker `workerId`, right now, without stopping it
   * (faulthandler on SIGUSR2 writing to a pipe Node reads: works while the worker is busy in
   * Python code; docs/PROTOCOL.md). Rejects with `invalid_request` / `invalid_argument` for an id
   * that is not a slot, and `worker` / `stack_unavailable` when that slot has no live worker or
   * the dump does not come within `timeoutMs` (default 2000).
   */
  dumpStack(workerId: number, timeoutMs = 2000): Promise<PythonStack> {
    if (!Number.isInteger(workerId) || workerId < 0 || workerId >= this.options.maxSize) {
      return Promise.reject(invalidArgument('SessionPool.dumpStack', 'workerId', `must be a worker slot, an integer in 0..${this.options.maxSize - 1}, got ${JSON.stringify(workerId)}`));
    }
    if (!(timeoutMs > 0) || timeoutMs > 60_000) return Promise.reject(invalidArgument('SessionPool.dumpStack', 'timeoutMs', `must be in (0, 60000], got ${timeoutMs}`));
    const w = this.supervisor.slots[workerId];
    if (!w || w.exited) {
      return Promise.reject(new PythonBridgeError('worker', 'stack_unavailable', `pool '${this.name}' has no live worker in slot ${workerId}`, { details: { pool: this.name, workerId } }));
    }
    const pid = w.pid;
    return w.dumpStack(timeoutMs).then((stack) => ({ pool: this.name, workerId, pid, timestampMs: Date.now(), stack }));
  }

  /** The pids of the live Python processes: the slots' workers, then the spares. */
  pids(): number[] {
    const out: number[] = [];
    for (const w of this.supervisor.slots) if (w && w.pid > 0 && !w.exited) out.push(w.pid);
    this.supervisor.spares.pids(out);
    this.supervisor.standbyPids(out);
    return out;
  }

  private countState(state: string): number {
    let n = 0;
    for (const w of this.supervisor.slots) if (w && w.state === state) n++;
    return n;
  }
}
