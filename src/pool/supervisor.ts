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
  /** The restart backoff, read at each restart (`configure()` may change it). */
  backoff: Readonly<{ restartBackoffMs: number; maxRestartBackoffMs: number }>;
}

/** A recycle in progress: the replacement (`standby`) starts outside the slot, then takes it over. */
interface Recycle {
  old: CallWorker;
  reason: string;
  rssBytes: number | null;
  standby: CallWorker | null;
  /** The standby is ready (and the old worker was retired). */
  ready: boolean;
  startDurationNs: number;
  done: Promise<void>;
  resolve: () => void;
}

const live = (lifecycle: PoolLifecycle): boolean => lifecycle === 'running' || lifecycle === 'starting';

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
  /** Recycles in progress, by slot. */
  private readonly recycles = new Map<number, Recycle>();

  constructor(
    private readonly host: SupervisorHost,
    private readonly settings: SupervisorSettings,
  ) {
    this.slots = new Array<CallWorker | null>(settings.maxSize).fill(null);
    this.restartFailures = new Array<number>(settings.maxSize).fill(0);
    this.generations = new Array<number>(settings.maxSize).fill(0);
    this.targetSize = settings.size;
    this.spares = new Spares(
      { lifecycle: () => host.lifecycle(), backoffMs: (failures) => this.backoffMs(failures) },
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
        if (attempt + 1 < this.settings.startAttempts) await this.startBackoff(this.backoffMs(attempt + 1));
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
        if (w.retiring && w.retireReason === 'resize' && w.state !== 'stopping') w.retiring = false;
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
    for (const r of this.recycles.values()) {
      const sb = r.standby;
      if (sb === null) continue;
      if (sb.state === 'starting') {
        sb.kill('stop');
        exits.push(sb.waitExit());
      } else exits.push(sb.close('stop', CLOSE_GRACE_MS));
    }
    await Promise.all(exits);
    for (const r of [...this.recycles.values()]) this.finishRecycle(r);
  }

  /** Pids of the replacements of recycles in progress (started, not yet in their slot). */
  standbyPids(out: number[]): void {
    for (const r of this.recycles.values()) if (r.standby && r.standby.pid > 0 && !r.standby.exited) out.push(r.standby.pid);
  }

  // -------------------------------------------------------------------------------------------
  // Recycling
  // -------------------------------------------------------------------------------------------

  /**
   * Recycle `old` (a live, ready worker of a slot): its replacement starts first, outside the slot
   * (or a ready spare is taken); once that is ready, `old` retires (at once when idle, else after
   * its current call, see Dispatcher.release) and the replacement takes the slot when `old` has
   * exited. Resolves when the recycle is over: the replacement serves, or the recycle became moot
   * (the old worker died meanwhile, the pool shrank or stopped). A replacement that fails to start
   * cancels the recycle (`old` keeps serving; the failure is logged and published); the promise
   * still resolves. A second call for the same process returns the first one's promise.
   */
  recycle(old: CallWorker, reason: string, rssBytes: number | null): Promise<void> {
    const slot = old.workerId;
    const pending = this.recycles.get(slot);
    if (pending !== undefined) return pending.done;
    old.recycling = true;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const r: Recycle = { old, reason, rssBytes, standby: null, ready: false, startDurationNs: 0, done, resolve };
    this.recycles.set(slot, r);
    const spare = this.spares.take();
    if (spare !== null) {
      spare.workerId = slot;
      r.standby = spare;
      r.startDurationNs = this.spares.takeStartDuration(spare);
      this.standbyReady(r);
      return done;
    }
    const { pool, mask, logger, spawn, hooks } = this.settings;
    const standby = new PoolWorker<Call>(pool, slot, 0, hooks);
    r.standby = standby;
    standby.start(spawn).then(
      (startDurationNs) => {
        r.startDurationNs = startDurationNs;
        this.standbyReady(r);
      },
      (err: unknown) => {
        standby.kill('start_failed');
        if (this.recycles.get(slot) !== r) return;
        const e = err instanceof PythonBridgeError ? err : new PythonBridgeError('worker', 'start_failed', String(err));
        if (live(this.host.lifecycle())) {
          emitErrorEvent(mask, pool, e, { workerId: slot });
          logger.error({ pool, workerId: slot, workerPid: old.pid, reason }, `recycle cancelled: the replacement failed to start: ${e.message}`);
        }
        old.recycling = false;
        this.finishRecycle(r);
        // The old worker died while its replacement was starting: its slot still needs a process.
        if (this.slots[slot] === null && live(this.host.lifecycle()) && slot < this.targetSize) this.replace(slot, null, 0, nowNs());
      },
    );
    return done;
  }

  /** The replacement of `r` is ready: retire the old worker (or, if it is gone already, take its slot). */
  private standbyReady(r: Recycle): void {
    const old = r.old;
    const slot = old.workerId;
    const standby = r.standby!;
    r.ready = true;
    if (!live(this.host.lifecycle()) || slot >= this.targetSize || old.exited || this.slots[slot] !== old) {
      // Moot: the pool stops or shrank, or the old worker died (its slot may be free for the standby).
      if (this.slots[slot] === null && live(this.host.lifecycle()) && slot < this.targetSize) this.install(r);
      else {
        void standby.close(live(this.host.lifecycle()) ? 'resize' : 'stop', CLOSE_GRACE_MS);
        this.finishRecycle(r);
      }
      return;
    }
    old.retiring = true;
    old.retireReason = 'recycle';
    emitWorkerEvent(this.settings.mask, 'dspex:worker:recycle', old, { reason: r.reason, operations: old.operations, rssBytes: r.rssBytes, replacementPid: standby.pid });
    if (this.host.takeFromIdle(old)) void old.close('recycle', CLOSE_GRACE_MS);
  }

  /** Put the ready replacement of `r` into its (free) slot and let it serve. */
  private install(r: Recycle): void {
    const standby = r.standby!;
    const slot = r.old.workerId;
    standby.workerId = slot;
    standby.generation = this.generations[slot]!++;
    this.slots[slot] = standby;
    this.restartFailures[slot] = 0;
    this.finishRecycle(r);
    emitWorkerEvent(this.settings.mask, 'dspex:worker:init', standby, { reason: 'recycle', startDurationNs: r.startDurationNs });
    this.host.release(standby);
  }

  private finishRecycle(r: Recycle): void {
    const slot = r.old.workerId;
    if (this.recycles.get(slot) === r) this.recycles.delete(slot);
    r.resolve();
  }

  /** The delay before the next start after `failures` failed starts in a row. */
  private backoffMs(failures: number): number {
    const b = this.settings.backoff;
    return Math.min(b.maxRestartBackoffMs, b.restartBackoffMs * 2 ** Math.max(0, failures - 1));
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
    const recycle = this.recycles.get(slot);
    if (recycle !== undefined && recycle.standby === worker && this.slots[slot] !== worker) {
      // A recycle's replacement died before it took the slot: its start's failure path (or, once
      // it was ready, this) cancels the recycle; the old worker keeps serving.
      if (recycle.ready) {
        recycle.old.recycling = false;
        recycle.old.retiring = recycle.old.retiring && recycle.old.retireReason !== 'recycle';
        this.finishRecycle(recycle);
      }
      return;
    }
    if (this.slots[slot] === worker) {
      this.slots[slot] = null;
      if (recycle !== undefined && recycle.old === worker) {
        // The recycled worker is gone: its ready replacement takes the slot (one still starting
        // takes it when ready, see standbyReady; none is spawned meanwhile).
        if (recycle.ready) {
          if (live(this.host.lifecycle()) && slot < this.targetSize) this.install(recycle);
          else {
            void recycle.standby?.close(live(this.host.lifecycle()) ? 'resize' : 'stop', CLOSE_GRACE_MS);
            this.finishRecycle(recycle);
          }
        }
        return;
      }
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
    const delay = this.backoffMs(failures);
    const e = err instanceof PythonBridgeError ? err : new PythonBridgeError('worker', 'start_failed', String(err));
    emitErrorEvent(mask, pool, e, { workerId: slot });
    // A startup_error's message already says so (pool-worker.ts): do not say it twice.
    const message = e.message.startsWith('worker failed to start') ? e.message : `worker failed to start: ${e.message}`;
    logger.error({ pool, workerId: slot, attempt: failures, retryInMs: delay, traceback: e.details.traceback }, message);
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
