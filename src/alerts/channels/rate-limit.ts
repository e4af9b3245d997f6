/**
 * Rate limiting per channel: a pure token bucket, and {@link RateLimitedChannel}, a wrapper that
 * drops what exceeds it and later sends one `reason: 'suppressed'` summary.
 *
 * Rules (the choices, and why):
 * - A notification takes one token; without one it is dropped (`dropped` / `rate_limited`,
 *   counted in `stats.rateLimited`) and added to the pending summary (count, by alertname, since).
 * - The summary is itself a notification and takes a token: the limit protects the receiver (a
 *   pager, an inbox), so the summary counts against it. It has priority: it goes out at the first
 *   moment a token exists — on a timer set for when the next token is due (unref'd), or at the
 *   next `send` if that comes first — so dropped notifications are always reported, never lost
 *   silently, and a steady overload cannot starve the summary.
 * - A `resolved` notification whose alerts were ALL delivered as firing through this channel is
 *   never dropped: it is sent even with no token (it takes one if there is one). Dropping it would
 *   leave the receiver's incident open forever, the worst failure of alerting. The exemption is
 *   bounded: each delivered firing can exempt one resolution, so the bypass at most doubles the
 *   rate. A resolution of an alert whose firing was dropped goes through the bucket like any other
 *   (the receiver never saw the firing; the summary tells it something happened).
 * - The set of delivered-firing fingerprints is bounded ({@link MAX_TRACKED_FIRING}, oldest
 *   evicted): memory does not grow with uptime.
 *
 * @module
 */
import type { AlertChannel, AlertNotification, ChannelStats, DeliveryResult, RestoredAlert } from '../../contract/alerts.js';

/** A rate limit: `burst` tokens at most, refilled at `perMinute` per minute. */
export interface RateLimitOptions {
  /** Bucket capacity: notifications allowed back to back (≥ 1). */
  burst: number;
  /** Refill rate, tokens per minute (> 0). */
  perMinute: number;
}

/** A token bucket's state: tokens (fractional) at `updatedMs`. */
export interface TokenBucket {
  tokens: number;
  updatedMs: number;
}

/** A full bucket at `nowMs`. Pure. */
export function newBucket(limit: RateLimitOptions, nowMs: number): TokenBucket {
  return { tokens: limit.burst, updatedMs: nowMs };
}

/** The bucket refilled up to `nowMs` (time going backwards refills nothing). Pure. */
export function refill(bucket: TokenBucket, limit: RateLimitOptions, nowMs: number): TokenBucket {
  const elapsedMs = Math.max(0, nowMs - bucket.updatedMs);
  const tokens = Math.min(limit.burst, bucket.tokens + (elapsedMs * limit.perMinute) / 60_000);
  return { tokens, updatedMs: Math.max(nowMs, bucket.updatedMs) };
}

/** Try to take one token at `nowMs`: whether it was taken, and the new bucket. Pure. */
export function tryTake(bucket: TokenBucket, limit: RateLimitOptions, nowMs: number): { taken: boolean; bucket: TokenBucket } {
  const b = refill(bucket, limit, nowMs);
  if (b.tokens >= 1) return { taken: true, bucket: { tokens: b.tokens - 1, updatedMs: b.updatedMs } };
  return { taken: false, bucket: b };
}

/** Milliseconds from `nowMs` until the bucket holds one whole token (0 if it does). Pure. */
export function msUntilToken(bucket: TokenBucket, limit: RateLimitOptions, nowMs: number): number {
  const b = refill(bucket, limit, nowMs);
  if (b.tokens >= 1) return 0;
  return Math.ceil(((1 - b.tokens) * 60_000) / limit.perMinute);
}

/** Fingerprints of delivered firings remembered at most (for the resolved exemption). */
export const MAX_TRACKED_FIRING = 10_000;

/** What was dropped since the last summary. */
interface PendingSummary {
  count: number;
  byAlertname: Record<string, number>;
  sinceMs: number;
}

/** Options of {@link RateLimitedChannel} besides the limit. */
export interface RateLimitedChannelOptions {
  /** The wall clock (default `Date.now`); tests move it by hand. */
  now?: () => number;
}

/**
 * An {@link AlertChannel} that rate-limits another (see the module's rules). Its `name`, `type`
 * and `restore` are the inner channel's; its stats add `rateLimited`.
 */
export class RateLimitedChannel implements AlertChannel {
  readonly type: string;
  readonly name: string;
  readonly restore?: () => Promise<RestoredAlert[]>;
  private bucket: TokenBucket;
  private readonly now: () => number;
  private pending: PendingSummary | null = null;
  private timer: NodeJS.Timeout | null = null;
  private rateLimited = 0;
  private readonly deliveredFiring = new Set<string>();
  private closed = false;
  private summarySeq = 0;

  constructor(
    private readonly inner: AlertChannel,
    private readonly limit: RateLimitOptions,
    options: RateLimitedChannelOptions = {},
  ) {
    this.type = inner.type;
    this.name = inner.name;
    this.now = options.now ?? Date.now;
    this.bucket = newBucket(limit, this.now());
    if (inner.restore !== undefined) {
      const restore = inner.restore.bind(inner);
      this.restore = restore;
    }
  }

  send(notification: AlertNotification): Promise<DeliveryResult> {
    if (this.closed) return Promise.resolve({ status: 'dropped', reason: 'closed' });
    const nowMs = this.now();
    this.flushSummary(nowMs);
    const taken = this.take(nowMs);
    if (!taken && !this.exempt(notification)) {
      this.rateLimited++;
      this.addToSummary(notification, nowMs);
      return Promise.resolve({ status: 'dropped', reason: 'rate_limited' });
    }
    return this.forward(notification);
  }

  private take(nowMs: number): boolean {
    const r = tryTake(this.bucket, this.limit, nowMs);
    this.bucket = r.bucket;
    return r.taken;
  }

  /** A resolution every alert of which was delivered firing here is never dropped. */
  private exempt(n: AlertNotification): boolean {
    return n.reason === 'resolved' && n.alerts.length > 0 && n.alerts.every((a) => this.deliveredFiring.has(a.fingerprint));
  }

  private forward(notification: AlertNotification): Promise<DeliveryResult> {
    let result: Promise<DeliveryResult>;
    try {
      result = this.inner.send(notification);
    } catch (err) {
      return Promise.resolve({ status: 'failed', attempts: 0, error: err instanceof Error ? err.message : String(err) });
    }
    return result.then((r) => {
      if (r.status === 'sent') this.track(notification);
      return r;
    });
  }

  private track(n: AlertNotification): void {
    for (const a of n.alerts) {
      if (a.status === 'resolved') this.deliveredFiring.delete(a.fingerprint);
      else {
        this.deliveredFiring.delete(a.fingerprint);
        this.deliveredFiring.add(a.fingerprint);
        if (this.deliveredFiring.size > MAX_TRACKED_FIRING) {
          const oldest = this.deliveredFiring.values().next().value;
          if (oldest !== undefined) this.deliveredFiring.delete(oldest);
        }
      }
    }
  }

  private addToSummary(n: AlertNotification, nowMs: number): void {
    const p = (this.pending ??= { count: 0, byAlertname: {}, sinceMs: nowMs });
    p.count++;
    const names = new Set(n.alerts.map((a) => a.alertname));
    if (names.size === 0) names.add(n.groupLabels['alertname'] ?? '(none)');
    for (const name of names) p.byAlertname[name] = (p.byAlertname[name] ?? 0) + 1;
    this.schedule(nowMs);
  }

  private schedule(nowMs: number): void {
    if (this.timer !== null || this.closed) return;
    const waitMs = Math.max(1, msUntilToken(this.bucket, this.limit, nowMs));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushSummary(this.now());
    }, waitMs);
    this.timer.unref();
  }

  /** Send the pending summary if a token is available now; else (re)arm the timer. */
  private flushSummary(nowMs: number): void {
    if (this.pending === null || this.closed) return;
    if (!this.take(nowMs)) {
      this.schedule(nowMs);
      return;
    }
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const p = this.pending;
    this.pending = null;
    void this.forward(summaryNotification(p, nowMs, `${this.name}:suppressed:${nowMs}:${++this.summarySeq}`));
  }

  stats(): ChannelStats {
    return { ...this.inner.stats(), rateLimited: this.rateLimited };
  }

  /** Stop the summary timer (a pending summary is lost with the channel) and close the inner channel. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.inner.close();
  }
}

/** The `suppressed` notification summarising dropped ones. Pure. */
export function summaryNotification(p: PendingSummary, nowMs: number, id: string): AlertNotification {
  return {
    id,
    reason: 'suppressed',
    status: 'firing',
    groupLabels: { alertname: 'DspexNotificationsSuppressed' },
    alerts: [],
    timestampMs: nowMs,
    suppressed: { count: p.count, byAlertname: { ...p.byAlertname }, sinceMs: p.sinceMs },
  };
}
