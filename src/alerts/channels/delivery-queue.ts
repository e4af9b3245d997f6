/**
 * The bounded, sequential delivery queue the network channels (webhook, email) share.
 *
 * Invariants:
 * - At most `capacity` notifications wait (the one being delivered is not counted). When a new one
 *   arrives at a full queue, the OLDEST waiting one is dropped (its promise settles `dropped` /
 *   `queue_full`, counted in `stats.dropped`). Why oldest: the newest notification carries the
 *   latest state of an alert; dropping the newest could lose a resolution and leave a receiver's
 *   incident open forever, while dropping an old firing at worst shows a receiver a resolution of
 *   an alert it never saw, which receivers written for Alertmanager tolerate.
 * - One delivery at a time, in arrival order, so a receiver sees firing before resolved.
 * - `enqueue` never awaits the delivery: the caller gets a promise it may ignore.
 * - `close(deadlineMs)` stops accepting, aborts the delivery in flight and its retries once the
 *   deadline passes, and settles every waiting promise (`closed`). No timer outlives it.
 *
 * @module
 */
import type { AlertNotification, ChannelStats, DeliveryResult } from '../../contract/alerts.js';

/** What a delivery function returns: sent after N attempts, or failed for good. */
export type AttemptOutcome = { status: 'sent'; attempts: number } | { status: 'failed'; attempts: number; error: string };

/** Delivers one notification; must honour `signal` (aborted on close past its deadline). */
export type DeliverFn = (notification: AlertNotification, signal: AbortSignal) => Promise<AttemptOutcome>;

interface Waiting {
  readonly notification: AlertNotification;
  readonly settle: (result: DeliveryResult) => void;
}

/** Mutable delivery counters of one channel, turned into {@link ChannelStats} by {@link DeliveryQueue.stats}. */
export interface StatsCounters {
  sent: number;
  failed: number;
  dropped: number;
  lastError: string | null;
  lastSentMs: number | null;
}

/** A fresh set of counters. */
export function newCounters(): StatsCounters {
  return { sent: 0, failed: 0, dropped: 0, lastError: null, lastSentMs: null };
}

/** Counters → the contract's {@link ChannelStats}. Pure. */
export function toStats(name: string, type: string, c: StatsCounters, queued: number): ChannelStats {
  return { name, type, sent: c.sent, failed: c.failed, dropped: c.dropped, rateLimited: 0, queued, lastError: c.lastError, lastSentMs: c.lastSentMs };
}

/** A bounded FIFO delivered by one sequential loop (see the module's invariants). */
export class DeliveryQueue {
  private readonly waiting: Waiting[] = [];
  private running = false;
  private closing = false;
  private readonly abort = new AbortController();
  private idle: Promise<void> = Promise.resolve();
  private readonly counters = newCounters();

  constructor(
    private readonly name: string,
    private readonly type: string,
    private readonly capacity: number,
    private readonly deliver: DeliverFn,
  ) {}

  /** Aborted when `close` gives up waiting: deliveries stop their retries on it. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Queue a notification; the promise settles when it was delivered, failed for good or dropped. */
  enqueue(notification: AlertNotification): Promise<DeliveryResult> {
    if (this.closing) return Promise.resolve({ status: 'dropped', reason: 'closed' });
    return new Promise<DeliveryResult>((settle) => {
      if (this.waiting.length >= this.capacity) {
        const oldest = this.waiting.shift();
        if (oldest !== undefined) {
          this.counters.dropped++;
          oldest.settle({ status: 'dropped', reason: 'queue_full' });
        }
      }
      if (this.capacity === 0) {
        this.counters.dropped++;
        settle({ status: 'dropped', reason: 'queue_full' });
        return;
      }
      this.waiting.push({ notification, settle });
      if (!this.running) this.idle = this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (let next = this.waiting.shift(); next !== undefined; next = this.waiting.shift()) {
        let outcome: AttemptOutcome;
        try {
          outcome = await this.deliver(next.notification, this.abort.signal);
        } catch (err) {
          // A delivery function is written not to throw; if it does, the loop must survive it.
          outcome = { status: 'failed', attempts: 1, error: err instanceof Error ? err.message : String(err) };
        }
        if (outcome.status === 'sent') {
          this.counters.sent++;
          this.counters.lastSentMs = Date.now();
        } else {
          this.counters.failed++;
          this.counters.lastError = outcome.error;
        }
        next.settle(outcome);
      }
    } finally {
      this.running = false;
    }
  }

  /** Counters and the current queue length. */
  stats(): ChannelStats {
    return toStats(this.name, this.type, this.counters, this.waiting.length);
  }

  /**
   * Stop accepting; let what is queued be delivered until `deadlineMs` passes, then abort the
   * delivery in flight and settle what still waits as `closed`.
   */
  async close(deadlineMs: number): Promise<void> {
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
      timer.unref();
    });
    await Promise.race([this.idle, deadline]);
    clearTimeout(timer);
    this.abort.abort(new Error('channel closed'));
    for (let w = this.waiting.shift(); w !== undefined; w = this.waiting.shift()) w.settle({ status: 'dropped', reason: 'closed' });
    // The in-flight delivery sees the abort at once (fetch, backoff sleeps and SMTP all listen).
    await this.idle;
  }
}

/** Sleep `ms` (unref'd), or until `signal` aborts; resolves either way (false when aborted). */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    timer.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): a uniform draw in [0, min(maxMs, baseMs·2^retry)). Full jitter spreads retries of many
 * clients hitting one receiver best. Pure given `random`.
 */
export function backoffDelayMs(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** retry);
  return Math.floor(random() * cap);
}

/** Replace every occurrence of each secret (non-empty, ≥ 3 chars) in `text` by `[redacted]`. Pure. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join('[redacted]');
  return out;
}
