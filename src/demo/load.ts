/**
 * A synthetic mixed load for demos and soak runs: fast echoes, slow calls, CPU work, occasional
 * Python errors and, now and then, a worker crash. Bounded: at most `maxInFlight` calls at once,
 * paced to `opsPerS`, and it stops by itself on `stop()`.
 *
 * @module
 */
import type { SessionPool } from '../pool/session-pool.js';

/** Options of {@link LoadGenerator}. */
export interface LoadOptions {
  /** Target calls per second. */
  opsPerS: number;
  /** Most calls in flight at once (calls beyond it are skipped, not queued without bound). */
  maxInFlight?: number;
  /** Probability of a Python error per call (0..1). */
  errorRatio?: number;
  /** Probability of a worker crash per call (0..1). */
  crashRatio?: number;
  /** Probability of a slow call (50-250 ms sleep) per call (0..1). */
  slowRatio?: number;
  /**
   * A scripted incident, repeated: `crashes` worker crashes `spacingMs` apart, the first
   * `firstAtMs` after `start()`, again every `everyMs`. The demo uses it so that the crash-loop
   * alert fires and resolves at a known time rather than by chance.
   */
  incident?: { firstAtMs: number; everyMs: number; crashes: number; spacingMs: number } | null;
}

/** Counters of what the generator did. */
export interface LoadStats {
  sent: number;
  ok: number;
  failed: number;
  skipped: number;
}

/** Drives a pool with a mixed load until stopped. */
export class LoadGenerator {
  readonly stats: LoadStats = { sent: 0, ok: 0, failed: 0, skipped: 0 };
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private carry = 0;
  private readonly opts: Required<LoadOptions>;
  private incidentTimers: NodeJS.Timeout[] = [];

  constructor(
    private readonly pool: SessionPool,
    opts: LoadOptions,
  ) {
    // Defaults: a mostly healthy pool with visible incidents (at 300 ops/s, ~1.5 Python errors a
    // second and a worker crash every ~30 s).
    this.opts = { maxInFlight: 256, errorRatio: 0.005, crashRatio: 0.0001, slowRatio: 0.05, incident: null, ...opts };
  }

  /** Start sending (every 20 ms, a batch sized to the target rate). */
  start(): void {
    if (this.timer) return;
    const tickMs = 20;
    this.timer = setInterval(() => {
      this.carry += (this.opts.opsPerS * tickMs) / 1000;
      const n = Math.floor(this.carry);
      this.carry -= n;
      for (let i = 0; i < n; i++) this.one();
    }, tickMs);
    this.timer.unref();
    const inc = this.opts.incident;
    if (inc !== null) {
      const burst = (): void => {
        for (let i = 0; i < inc.crashes; i++) this.later(i * inc.spacingMs, () => this.send(this.pool.executeAnonymous('crash', { code: 1 })));
        this.later(inc.everyMs, burst);
      };
      this.later(inc.firstAtMs, burst);
    }
  }

  /** Stop sending; calls in flight settle on their own. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const t of this.incidentTimers) clearTimeout(t);
    this.incidentTimers = [];
  }

  /** A one-shot timer forgotten once it fired, so the list stays as short as the pending ones. */
  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.incidentTimers = this.incidentTimers.filter((x) => x !== t);
      if (this.timer !== null) fn();
    }, ms);
    t.unref();
    this.incidentTimers.push(t);
  }

  private one(): void {
    if (this.inFlight >= this.opts.maxInFlight) {
      this.stats.skipped++;
      return;
    }
    const r = Math.random();
    const o = this.opts;
    let p: Promise<unknown>;
    if (r < o.crashRatio) p = this.pool.executeAnonymous('crash', { code: 1 });
    else if (r < o.crashRatio + o.errorRatio) p = this.pool.executeAnonymous('fail', { type: Math.random() < 0.5 ? 'ValueError' : 'TimeoutError', message: 'synthetic failure' });
    else if (r < o.crashRatio + o.errorRatio + o.slowRatio) p = this.pool.executeAnonymous('sleep', { ms: 50 + Math.floor(Math.random() * 200) });
    else if (r < o.crashRatio + o.errorRatio + o.slowRatio + 0.1) p = this.pool.executeAnonymous('compute', { size: 20_000 });
    else p = this.pool.executeInSession(`user-${Math.floor(Math.random() * 50)}`, 'echo', { q: 'hello', n: r });
    this.send(p);
  }

  private send(p: Promise<unknown>): void {
    this.inFlight++;
    this.stats.sent++;
    p.then(
      () => {
        this.inFlight--;
        this.stats.ok++;
      },
      () => {
        this.inFlight--;
        this.stats.failed++;
      },
    );
  }
}
