/**
 * Health checks: every `healthCheckIntervalMs`, each worker idle for at least half an interval
 * gets a `ping`; a worker that fails `maxHealthFailures` checks in a row is killed (and, like any
 * dead worker, replaced by the supervisor).
 *
 * @module
 */
import { disarmCall, type Call, type CallWorker } from './call-queue.js';
import type { Frame } from './protocol.js';
import { emitErrorEvent, emitWorkerEvent, type TelemetryMask } from '../telemetry/telemetry.js';
import { nowNs, wallNowMs } from '../contract/clock.js';

/** What health checks need from the pool. */
export interface HealthHost {
  /** The pool's worker slots (read only). */
  readonly slots: readonly (CallWorker | null)[];
  /** True while the pool is running (checks pause while it starts or stops). */
  running(): boolean;
  /** Send a `ping` to `worker`, which is idle, if it is in the idle list. */
  ping(worker: CallWorker): void;
  /** `worker` is free again (see Dispatcher.release). */
  release(worker: CallWorker): void;
}

/** The health-check settings of a pool. */
export interface HealthSettings {
  intervalMs: number;
  timeoutMs: number;
  maxFailures: number;
}

/** The health checks of one pool. */
export class HealthMonitor {
  private timer: NodeJS.Timeout | null = null;
  private readonly settings: HealthSettings;

  constructor(
    private readonly host: HealthHost,
    private readonly pool: string,
    private readonly mask: TelemetryMask,
    settings: Readonly<HealthSettings>,
  ) {
    // A copy: configure() changes it.
    this.settings = { ...settings };
  }

  /** Start the periodic checks (none when the interval is 0). */
  start(): void {
    if (this.settings.intervalMs > 0) {
      this.timer = setInterval(() => this.tick(), this.settings.intervalMs);
      this.timer.unref();
    }
  }

  /** Stop the periodic checks. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * New settings at run time (`pool.configure()`): a changed interval re-arms the timer (0 stops
   * the checks) when `running`.
   */
  configure(settings: Partial<HealthSettings>, running: boolean): void {
    const before = this.settings.intervalMs;
    Object.assign(this.settings, settings);
    if (running && this.settings.intervalMs !== before) {
      this.stop();
      this.start();
    }
  }

  /** The answer to a ping arrived (`worker.inflight` already cleared). */
  reply(worker: CallWorker, call: Call, frame: Frame, durationNs: number): void {
    call.settled = true;
    disarmCall(call);
    const late = durationNs > this.settings.timeoutMs * 1e6;
    if (frame['error'] !== undefined || late) {
      if (!late) this.failed(worker, call, durationNs);
      if (worker.healthFailures >= this.settings.maxFailures) return;
    } else {
      worker.healthFailures = 0;
      emitWorkerEvent(this.mask, 'dspex:worker:health_check', worker, { ok: true, durationNs, consecutiveFailures: 0 });
    }
    this.host.release(worker);
  }

  /** A ping's deadline passed. */
  timeout(worker: CallWorker, call: Call): void {
    // The worker keeps the ping: a slow worker may still answer. Each interval without an answer
    // counts as one more failure (tick), until maxHealthFailures replaces it.
    this.failed(worker, call, nowNs() - call.dispatchedNs);
  }

  private tick(): void {
    if (!this.host.running()) return;
    const now = wallNowMs();
    const interval = this.settings.intervalMs;
    for (const w of this.host.slots) {
      if (!w) continue;
      const call = w.inflight;
      if (call && call.kind === 'health') {
        // Still no answer to the previous ping: another failed check in a row.
        this.failed(w, call, nowNs() - call.dispatchedNs);
        continue;
      }
      if (w.state !== 'idle' || now - (w.lastActiveAtMs ?? w.startedAtMs) < interval * 0.5) continue;
      this.host.ping(w);
    }
  }

  private failed(worker: CallWorker, call: Call, durationNs: number): void {
    worker.healthFailures++;
    emitWorkerEvent(this.mask, 'dspex:worker:health_check', worker, { ok: false, durationNs, consecutiveFailures: worker.healthFailures });
    if (worker.healthFailures >= this.settings.maxFailures) {
      call.settled = true;
      disarmCall(call);
      worker.inflight = null;
      emitErrorEvent(
        this.mask,
        this.pool,
        { category: 'worker', type: 'health_check', message: `worker ${worker.workerId} (pid ${worker.pid}) failed ${worker.healthFailures} health checks in a row; replacing it` },
        { workerId: worker.workerId, pid: worker.pid },
      );
      worker.kill('health_check');
    }
  }
}
