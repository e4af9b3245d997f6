/**
 * Warm spares (the `spares` option): Python processes started like any worker and already past
 * their imports, waiting outside the worker slots. When a slot's process is replaced (crash,
 * timeout, abort, failed health checks, protocol error) or the pool grows, the supervisor hands
 * the slot to a ready spare at once instead of waiting for a new Python to start and import its
 * modules (seconds for a DSPy program), and a new spare starts here in the background.
 *
 * A spare is a {@link PoolWorker} with `workerId` -1 until it takes a slot:
 * - it never serves a call before: it is in no idle list, gets no health check, and nothing is
 *   ever written to it; a frame from it breaks the protocol and it is killed;
 * - one that exits is replaced: at once when it had become ready, with the supervisor's backoff
 *   when it failed to start (and only once the failed process has exited);
 * - it publishes no worker event until it takes a slot (`dspex:worker:init` then, with its own
 *   start duration); a failed start publishes `dspex:pool:error` worker/start_failed (workerId
 *   null) and is logged.
 *
 * @module
 */
import { PythonBridgeError } from '../contract/errors.js';
import type { Call, CallWorker } from './call-queue.js';
import { PoolWorker, type WorkerHooks } from './pool-worker.js';
import type { PoolLifecycle, SpareStatus, SpareWorkerStatus } from '../contract/pool-status.js';
import type { WorkerSpawnOptions } from './worker-env.js';
import type { PoolLogger } from './options.js';
import { emitErrorEvent, type TelemetryMask } from '../telemetry/telemetry.js';

/** The `workerId` of a process that is a spare (it has no slot yet). */
export const SPARE_ID = -1;

/** What the spares need from the supervisor. */
export interface SpareHost {
  /** The pool's life stage now. */
  lifecycle(): PoolLifecycle;
  /** The delay before the next start after `failures` failed starts in a row (the slots' rule). */
  backoffMs(failures: number): number;
}

/** The fixed facts the spares work with. */
export interface SpareSettings {
  /** The pool's name. */
  pool: string;
  mask: TelemetryMask;
  logger: PoolLogger;
  spawn: WorkerSpawnOptions;
  /** The pool's worker hooks: a spare uses them once it has a slot. */
  hooks: WorkerHooks<Call>;
  /** Spares to keep (the `spares` option). */
  target: number;
  /** How long a closing spare gets to exit by itself before SIGKILL. */
  closeGraceMs: number;
}

/**
 * How long after a spare took a slot its replacement is spawned. `spawn()` blocks the event loop
 * while Node forks (5-10 ms measured on a loaded 2-core VM): right at the takeover it would delay
 * the very calls the spare was taken for. A new spare needs far longer to import than this anyway.
 */
export const REFILL_DELAY_MS = 100;

const live = (lifecycle: PoolLifecycle): boolean => lifecycle === 'running' || lifecycle === 'starting';

/** The warm spares of one pool. */
export class Spares {
  /** The spare processes, starting or ready, oldest first. */
  private readonly workers: CallWorker[] = [];
  /** Spares that failed to start and are being ended (stop() waits for them too). */
  private readonly ending = new Set<CallWorker>();
  /** Start duration of each ready spare, reported when it takes a slot. */
  private readonly startDurations = new Map<CallWorker, number>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  /** Failed starts in a row (any spare: they are interchangeable). */
  private failures = 0;
  /** The hooks every spare is spawned with: its own handling while a spare, the pool's after. */
  private readonly hooks: WorkerHooks<Call>;

  constructor(
    private readonly host: SpareHost,
    private readonly settings: SpareSettings,
  ) {
    const pool = settings.hooks;
    this.hooks = {
      // Output goes to the pool's logger whether or not it is still a spare.
      ...pool,
      onFrame: (w, f) => (w.workerId === SPARE_ID ? this.misbehaved(w, `a frame (id ${f.id}) before it had a slot`) : pool.onFrame(w, f)),
      onProtocolError: (w, e) => (w.workerId === SPARE_ID ? this.misbehaved(w, e.message) : pool.onProtocolError(w, e)),
      onExit: (w) => (w.workerId === SPARE_ID ? this.onExit(w) : pool.onExit(w)),
    };
  }

  /** Spares to keep. */
  get target(): number {
    return this.settings.target;
  }

  /**
   * Start every spare (during `start()`); resolves once each has become ready or failed once (a
   * failed one is retried in the background: a spare never fails the pool's start).
   */
  async fill(): Promise<void> {
    const starts: Promise<void>[] = [];
    for (let i = this.workers.length; i < this.settings.target; i++) starts.push(this.startOne());
    await Promise.all(starts);
  }

  /**
   * A ready spare, taken out of the set (the caller gives it a slot), or null when none is ready.
   * Its replacement starts in the background, {@link REFILL_DELAY_MS} later.
   */
  take(): CallWorker | null {
    for (let i = 0; i < this.workers.length; i++) {
      const w = this.workers[i]!;
      if (w.state !== 'idle' || w.exited || w.endReason !== null) continue;
      this.workers.splice(i, 1);
      this.startLater(REFILL_DELAY_MS, null);
      return w;
    }
    return null;
  }

  /** How long `worker` (a spare just taken) took to start, in nanoseconds; forgets it. */
  takeStartDuration(worker: CallWorker): number {
    const ns = this.startDurations.get(worker) ?? 0;
    this.startDurations.delete(worker);
    return ns;
  }

  /** The spares' part of `pool.status()`. */
  status(): SpareStatus {
    const workers: SpareWorkerStatus[] = [];
    let ready = 0;
    let starting = 0;
    for (const w of this.workers) {
      // One being ended (it broke the protocol, or the pool stops) is neither, until it has exited.
      if (w.state !== 'idle' && w.state !== 'starting') continue;
      const state = w.state === 'idle' ? 'ready' : 'starting';
      if (state === 'ready') ready++;
      else starting++;
      workers.push({ pid: w.pid, state, startedAtMs: w.startedAtMs });
    }
    return { target: this.settings.target, ready, starting, workers };
  }

  /** Add the pids of the live spare processes to `out`. */
  pids(out: number[]): void {
    for (const w of this.workers) if (w.pid > 0 && !w.exited) out.push(w.pid);
  }

  /** Cancel every pending start (the pool is stopping). */
  cancelRestarts(): void {
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
  }

  /**
   * End every spare (the pool is stopping): a ready one closes like a worker, one still importing
   * is killed at once (it holds no work). Resolves when all have exited.
   */
  async closeAll(): Promise<void> {
    const exits: Promise<void>[] = [];
    for (const w of [...this.workers, ...this.ending]) {
      if (w.state === 'starting') {
        w.kill('stop');
        exits.push(w.waitExit());
      } else exits.push(w.close('stop', this.settings.closeGraceMs));
    }
    await Promise.all(exits);
  }

  /** Spawn one spare; resolves once it is ready or has failed (then a restart is scheduled). */
  private startOne(): Promise<void> {
    if (!live(this.host.lifecycle())) return Promise.resolve();
    const worker = new PoolWorker<Call>(this.settings.pool, SPARE_ID, 0, this.hooks);
    this.workers.push(worker);
    return worker.start(this.settings.spawn).then(
      (startDurationNs) => {
        if (!live(this.host.lifecycle())) {
          void worker.close('stop', this.settings.closeGraceMs);
          return;
        }
        this.failures = 0;
        if (this.workers.includes(worker)) this.startDurations.set(worker, startDurationNs);
      },
      (err: unknown) => {
        worker.kill('start_failed');
        this.remove(worker);
        if (!worker.exited) this.ending.add(worker);
        this.retryLater(worker, err);
      },
    );
  }

  /** A spare's process ended: one that had become ready is replaced at once. */
  private onExit(worker: CallWorker): void {
    this.ending.delete(worker);
    // Not in the set: it failed to start (its start's failure path restarts it) or was replaced.
    if (!this.remove(worker)) return;
    this.startDurations.delete(worker);
    // One that never became ready: its start's failure path restarts it, with backoff.
    if (worker.readyAtNs === 0) return;
    if (!live(this.host.lifecycle())) return;
    if (worker.endReason === null) {
      const { pool, logger } = this.settings;
      logger.warn({ pool, spare: true, workerPid: worker.pid, exitCode: worker.exitCode, signal: worker.signal }, 'spare exited unexpectedly; replacing it');
    }
    void this.startOne();
  }

  /** Start a spare again after a failed start, with backoff, once the failed process is gone. */
  private retryLater(failed: CallWorker, err: unknown): void {
    if (!live(this.host.lifecycle())) return;
    const { pool, mask, logger } = this.settings;
    const failures = ++this.failures;
    const delay = this.host.backoffMs(failures);
    const e = err instanceof PythonBridgeError ? err : new PythonBridgeError('worker', 'start_failed', String(err));
    emitErrorEvent(mask, pool, e, { workerId: null, pid: failed.pid > 0 ? failed.pid : null });
    logger.error({ pool, spare: true, attempt: failures, retryInMs: delay, traceback: e.details.traceback }, `spare failed to start: ${e.message}`);
    this.startLater(delay, failed);
  }

  /** Start a spare in `delayMs`, once `after` (a failed spare) has exited, if the pool still runs. */
  private startLater(delayMs: number, after: CallWorker | null): void {
    const t = setTimeout(() => {
      this.restartTimers.delete(t);
      void (after ? after.waitExit() : Promise.resolve()).then(() => {
        if (live(this.host.lifecycle())) void this.startOne();
      });
    }, delayMs);
    t.unref();
    this.restartTimers.add(t);
  }

  /** A spare said something although nothing was asked of it: it is not trusted any more. */
  private misbehaved(worker: CallWorker, what: string): void {
    const { pool, logger } = this.settings;
    logger.error({ pool, spare: true, workerPid: worker.pid }, `spare broke the protocol (${what}); replacing it`);
    worker.kill('protocol_error');
  }

  /** Take `worker` out of the set; false when it was not there. */
  private remove(worker: CallWorker): boolean {
    const i = this.workers.indexOf(worker);
    if (i === -1) return false;
    this.workers.splice(i, 1);
    return true;
  }
}
