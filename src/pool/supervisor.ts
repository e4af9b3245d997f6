/**
 * Slot supervision: which process runs in each worker slot, starting and replacing them, with
 * exponential backoff when a start fails. One process per slot, always; a slot is free again only
 * once its previous process's exit has been processed. A slot to refill goes to a ready warm spare
 * first, when the pool keeps some (spares.ts).
 *
 * @module
 */
import { PythonBridgeError } from '../contract/errors.js';
import type { Call, CallWorker } from './call-queue.js';
import { PoolWorker, type WorkerHooks } from './pool-worker.js';
import { Spares } from './spares.js';
import type { PoolLifecycle } from '../contract/pool-status.js';
import type { WorkerSpawnOptions } from './worker-env.js';
import type { PoolLogger } from './options.js';
import { emitErrorEvent, emitRecoveryEvent, emitWorkerEvent, type TelemetryMask, type WorkerStartReason, type WorkerTerminateReason } from '../telemetry/telemetry.js';
import { nowNs } from '../contract/clock.js';

/** How long a closing worker gets to exit by itself before SIGKILL. */
export const CLOSE_GRACE_MS = 1000;
const START_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

/** What the supervisor needs from the pool. */
export interface SupervisorHost {
  /** The pool's life stage now. */
  lifecycle(): PoolLifecycle;
  /** A new worker is ready: give it work or idle it (see Dispatcher.release). */
  release(worker: CallWorker): void;
  /** Take `worker` out of the idle list (to retire it); false when it is not idle. */
  takeFromIdle(worker: CallWorker): boolean;
}

/** The fixed facts a supervisor works with. */
export interface SupervisorSettings {
  /** The pool's name. */
  pool: string;
  mask: TelemetryMask;
  logger: PoolLogger;
  spawn: WorkerSpawnOptions;
  hooks: WorkerHooks<Call>;
  /** Slots (the pool's `maxSize`). */
  maxSize: number;
  /** The initial target size. */
  size: number;
  /** Tries per slot during `start()`. */
  startAttempts: number;
  /** Warm spares to keep (the `spares` option). */
  spares: number;
}

/** The worker slots of one pool and the processes in them. */
export class Supervisor {
  /** The process of each slot (null: none). The pool reads it; only the supervisor writes it. */
  readonly slots: (CallWorker | null)[];
  /** Slots that should be live: 0..targetSize-1 (the pool's size). */
  targetSize: number;
  /** The warm spares (read by the pool for status; only the supervisor hands them slots). */
  readonly spares: Spares;

  private readonly restartTimers = new Set<NodeJS.Timeout>();
  /** Wake-ups of the backoff sleeps of `startInitial` (a stop ends them at once). */
  private readonly startBackoffs = new Set<() => void>();
  private readonly restartFailures: number[];
  /** The generation the next process of each slot gets (its restart count). */
  private readonly generations: number[];

  constructor(
    private readonly host: SupervisorHost,
    private readonly settings: SupervisorSettings,
  ) {
    this.slots = new Array<CallWorker | null>(settings.maxSize).fill(null);
    this.restartFailures = new Array<number>(settings.maxSize).fill(0);
    this.generations = new Array<number>(settings.maxSize).fill(0);
    this.targetSize = settings.size;
    this.spares = new Spares(
      { lifecycle: () => host.lifecycle(), backoffMs: (failures) => Math.min(MAX_BACKOFF_MS, START_BACKOFF_MS * 2 ** (failures - 1)) },
      { pool: settings.pool, mask: settings.mask, logger: settings.logger, spawn: settings.spawn, hooks: settings.hooks, target: settings.spares, closeGraceMs: CLOSE_GRACE_MS },
    );
  }

  /**
   * Start the first worker of `slot` during `start()`, retrying with backoff up to
   * `startAttempts` times; a Python import error fails at once. Rejects with the last error.
   */
  async startInitial(slot: number): Promise<void> {
    let lastErr: unknown = null;
    for (let attempt = 0; attempt < this.settings.startAttempts; attempt++) {
      if (this.host.lifecycle() !== 'starting') return;
      await this.whenSlotFree(slot);
      if (this.host.lifecycle() !== 'starting') return;
      try {
        await this.spawnWorker(slot, 'initial');
        return;
      } catch (err) {
        lastErr = err;
        // An import error or bad module is deterministic: retrying would only fail again.
        if (err instanceof PythonBridgeError && err.details.traceback) throw err;
        // Stopped meanwhile (its close may be what failed this start): no backoff to wait out;
        // nor after the last attempt.
        if (this.host.lifecycle() !== 'starting') return;
        if (attempt + 1 < this.settings.startAttempts) await this.startBackoff(Math.min(MAX_BACKOFF_MS, START_BACKOFF_MS * 2 ** attempt));
      }
    }
    throw lastErr;
  }

  /** Start a worker in every wanted slot that has none (a replacement gave up while starting). */
  fillEmptySlots(): void {
    for (let slot = 0; slot < this.targetSize; slot++) if (this.slots[slot] === null) this.replace(slot, null, 0, nowNs());
  }

  /** The pool grew to `targetSize`: fill the new slots; resolves when their workers are ready. */
  async grow(): Promise<void> {
    const starts: Promise<unknown>[] = [];
    for (let slot = 0; slot < this.targetSize; slot++) {
      const w = this.slots[slot];
      if (w && !w.exited) {
        // Retiring but not yet closing: keep it instead of starting another. One already closing
        // is replaced when it exits (onExit sees the slot is wanted again); one that was killed
        // before it ever became ready is not (its own retries gave up on the shrink): respawn it
        // here once it is gone.
        if (w.retiring && w.state !== 'stopping') w.retiring = false;
        else if (w.readyAtNs === 0 && w.endReason !== null) {
          void this.whenSlotFree(slot).then(() => {
            if (this.host.lifecycle() === 'running' && this.slots[slot] === null && slot < this.targetSize) this.replace(slot, null, 0, nowNs());
          });
        }
        continue;
      }
      if (this.takeSpare(slot, null, 0, 0)) continue;
      starts.push(this.spawnWorker(slot, 'resize').catch((err: unknown) => this.retryLater(slot, null, 0, nowNs(), err)));
    }
    await Promise.all(starts);
  }

  /**
   * The pool shrank to `targetSize`: retire the workers above it, idle ones at once, busy ones
   * after their call (Dispatcher.release closes a retiring worker).
   */
  shrink(): void {
    for (let slot = this.targetSize; slot < this.slots.length; slot++) {
      const w = this.slots[slot];
      if (!w) continue;
      w.retiring = true;
      if (this.host.takeFromIdle(w)) void w.close('resize', CLOSE_GRACE_MS);
    }
  }

  /** End every process, spares included (the pool is stopping); resolves when all have exited. */
  async closeAll(): Promise<void> {
    const exits: Promise<void>[] = [this.spares.closeAll()];
    for (const w of this.slots) if (w) exits.push(w.close('stop', CLOSE_GRACE_MS));
    await Promise.all(exits);
  }

  /**
   * A worker's process ended (its in-flight call already dealt with): publish it, free its slot,
   * and replace it when the slot is still wanted.
   */
  onExit(worker: CallWorker, reason: WorkerTerminateReason, failedAtNs: number): void {
    const { pool, mask, logger } = this.settings;
    emitWorkerEvent(mask, 'dspex:worker:terminate', worker, {
      reason,
      exitCode: worker.exitCode,
      signal: worker.signal,
      uptimeMs: Date.now() - worker.startedAtMs,
      operations: worker.operations,
    });
    if (reason === 'crash') {
      logger.warn({ pool, workerId: worker.workerId, workerPid: worker.pid, exitCode: worker.exitCode, signal: worker.signal }, 'worker exited unexpectedly; replacing it');
    }
    const slot = worker.workerId;
    if (this.slots[slot] === worker) {
      this.slots[slot] = null;
      // A worker that never became ready: the spawn's own failure path retries it, with backoff.
      // Replacing it here too would respawn in a hot loop (a missing interpreter fails at once).
      const wasReady = worker.readyAtNs !== 0;
      const lifecycle = this.host.lifecycle();
      if (wasReady && (lifecycle === 'running' || lifecycle === 'starting') && slot < this.targetSize) {
        // A worker retired by a shrink is replaced only if the pool grew back meanwhile; that is
        // not a recovery from a failure.
        this.replace(slot, reason === 'resize' ? null : reason, worker.pid, failedAtNs);
      }
    }
  }

  /** Cancel every pending restart and cut short the start backoffs (the pool is stopping). */
  cancelRestarts(): void {
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    for (const wake of this.startBackoffs) wake();
    this.spares.cancelRestarts();
  }

  /**
   * Sleep `ms` between start attempts, or less when the pool stops meanwhile. Unref'd: the
   * pending `start()` holds the event loop (see SessionPool.start).
   */
  private startBackoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.startBackoffs.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.startBackoffs.add(wake);
    });
  }

  /**
   * Start a worker in the empty `slot` (after a failure when `failure` is set, else for a resize);
   * a start failure is retried with exponential backoff while the pool runs.
   */
  private replace(slot: number, failure: WorkerTerminateReason | null, failedPid: number, failedAtNs: number): void {
    if (this.takeSpare(slot, failure, failedPid, failedAtNs)) return;
    this.spawnWorker(slot, failure === null ? 'resize' : 'replacement').then(
      (w) => {
        this.restartFailures[slot] = 0;
        if (failure !== null) emitRecoveryEvent(this.settings.mask, w, failure, failedPid, nowNs() - failedAtNs);
      },
      (err: unknown) => this.retryLater(slot, failure, failedPid, failedAtNs, err),
    );
  }

  /**
   * Hand the empty `slot` to a ready spare, if there is one (after a failure when `failure` is
   * set, else for a resize): it is released at once, so it serves the next queued call. Returns
   * false when no spare is ready.
   */
  private takeSpare(slot: number, failure: WorkerTerminateReason | null, failedPid: number, failedAtNs: number): boolean {
    const current = this.slots[slot];
    if (current && !current.exited) return false;
    const worker = this.spares.take();
    if (worker === null) return false;
    worker.workerId = slot;
    worker.generation = this.generations[slot]!++;
    this.slots[slot] = worker;
    this.restartFailures[slot] = 0;
    const { mask } = this.settings;
    emitWorkerEvent(mask, 'dspex:worker:init', worker, { reason: failure === null ? 'resize' : 'replacement', startDurationNs: this.spares.takeStartDuration(worker) });
    this.host.release(worker);
    // Serving now: the recovery took no Python start.
    if (failure !== null) emitRecoveryEvent(mask, worker, failure, failedPid, nowNs() - failedAtNs);
    return true;
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
    const lifecycle = this.host.lifecycle();
    if ((lifecycle !== 'running' && lifecycle !== 'starting') || slot >= this.targetSize) return;
    const { pool, mask, logger } = this.settings;
    const failures = ++this.restartFailures[slot]!;
    const delay = Math.min(MAX_BACKOFF_MS, START_BACKOFF_MS * 2 ** (failures - 1));
    const e = err instanceof PythonBridgeError ? err : new PythonBridgeError('worker', 'start_failed', String(err));
    emitErrorEvent(mask, pool, e, { workerId: slot });
    logger.error({ pool, workerId: slot, attempt: failures, retryInMs: delay, traceback: e.details.traceback }, `worker failed to start: ${e.message}`);
    const t = setTimeout(() => {
      this.restartTimers.delete(t);
      void this.whenSlotFree(slot).then(() => {
        const stage = this.host.lifecycle();
        const live = stage === 'running' || stage === 'starting';
        if (live && this.slots[slot] === null && slot < this.targetSize) this.replace(slot, failure, failedPid, failedAtNs);
      });
    }, delay);
    t.unref();
    this.restartTimers.add(t);
  }

  /** Spawn a worker into the empty `slot`; on ready it is released (idle, or straight to a queued call). */
  private spawnWorker(slot: number, reason: WorkerStartReason): Promise<CallWorker> {
    const { pool, mask } = this.settings;
    const current = this.slots[slot];
    if (current && !current.exited) {
      // Invariant: one process per slot. Reaching this is a bug, not a user error.
      return Promise.reject(new Error(`dspex: slot ${slot} of pool '${pool}' is occupied by pid ${current.pid}`));
    }
    const generation = this.generations[slot]!++;
    const worker = new PoolWorker<Call>(pool, slot, generation, this.settings.hooks);
    this.slots[slot] = worker;
    return worker.start(this.settings.spawn).then(
      (startDurationNs) => {
        const lifecycle = this.host.lifecycle();
        const stopping = lifecycle === 'stopping' || lifecycle === 'stopped';
        if (stopping || slot >= this.targetSize) {
          void worker.close(stopping ? 'stop' : 'resize', CLOSE_GRACE_MS);
          return worker;
        }
        emitWorkerEvent(mask, 'dspex:worker:init', worker, { reason, startDurationNs });
        this.host.release(worker);
        return worker;
      },
      (err: unknown) => {
        worker.kill('start_failed');
        throw err;
      },
    );
  }
}
