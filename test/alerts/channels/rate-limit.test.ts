import { describe, expect, it, vi } from 'vitest';
import { createChannel, msUntilToken, newBucket, RateLimitedChannel, refill, tryTake } from '../../../src/alerts/channels/index.js';
import type { AlertChannel, AlertNotification, ChannelStats, DeliveryResult } from '../../../src/contract/alerts.js';
import { alert, notification, resolved } from './helpers.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('token bucket (pure)', () => {
  const limit = { burst: 3, perMinute: 6 }; // one token per 10 s
  it('starts full, takes one per notification, refuses when empty', () => {
    let b = newBucket(limit, 0);
    const taken: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const r = tryTake(b, limit, 0);
      taken.push(r.taken);
      b = r.bucket;
    }
    expect(taken).toEqual([true, true, true, false]);
    expect(b.tokens).toBe(0);
  });
  it('refills at perMinute, capped at burst; time going backwards refills nothing', () => {
    const empty = { tokens: 0, updatedMs: 0 };
    expect(refill(empty, limit, 5000).tokens).toBeCloseTo(0.5, 10);
    expect(refill(empty, limit, 10_000).tokens).toBeCloseTo(1, 10);
    expect(refill(empty, limit, 3_600_000).tokens).toBe(3);
    expect(refill({ tokens: 1, updatedMs: 1000 }, limit, 0)).toEqual({ tokens: 1, updatedMs: 1000 });
    expect(msUntilToken(empty, limit, 0)).toBe(10_000);
    expect(msUntilToken(empty, limit, 7500)).toBe(2500);
    expect(msUntilToken({ tokens: 1.2, updatedMs: 0 }, limit, 0)).toBe(0);
    expect(tryTake(empty, limit, 9999).taken).toBe(false);
    expect(tryTake(empty, limit, 10_000).taken).toBe(true);
  });
});

/** A channel that records what reached it (a real in-memory channel, not a stub of the wrapper). */
class Recorder implements AlertChannel {
  readonly type = 'recorder';
  readonly name = 'recorder';
  readonly got: AlertNotification[] = [];
  send(n: AlertNotification): Promise<DeliveryResult> {
    this.got.push(n);
    return Promise.resolve({ status: 'sent', attempts: 1 });
  }
  stats(): ChannelStats {
    return { name: this.name, type: this.type, sent: this.got.length, failed: 0, dropped: 0, rateLimited: 0, queued: 0, lastError: null, lastSentMs: null };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('RateLimitedChannel', () => {
  it('drops beyond the burst, then sends one suppressed summary when a token is back', async () => {
    const inner = new Recorder();
    // 600 per minute: a token every 100 ms (real time, so the summary timer really fires).
    const ch = new RateLimitedChannel(inner, { burst: 2, perMinute: 600 });
    const results = [];
    for (const name of ['A', 'A', 'B', 'A', 'B']) results.push(await ch.send(notification({}, [alert({ alertname: name, fingerprint: `fp-${name}-${results.length}` })])));
    expect(results.map((r) => r.status)).toEqual(['sent', 'sent', 'dropped', 'dropped', 'dropped']);
    expect(results[2]).toEqual({ status: 'dropped', reason: 'rate_limited' });
    expect(ch.stats()).toMatchObject({ rateLimited: 3, sent: 2 });
    await vi.waitFor(() => expect(inner.got).toHaveLength(3), { timeout: 2000, interval: 10 });
    const summary = inner.got[2]!;
    expect(summary.reason).toBe('suppressed');
    expect(summary.alerts).toEqual([]);
    expect(summary.suppressed).toMatchObject({ count: 3, byAlertname: { B: 2, A: 1 } });
    expect(summary.suppressed!.sinceMs).toBeGreaterThan(Date.now() - 5000);
    await ch.close();
  });

  it('never drops the resolution of an alert whose firing it delivered; does drop others', async () => {
    const inner = new Recorder();
    let now = 0;
    const ch = new RateLimitedChannel(inner, { burst: 1, perMinute: 1 }, { now: () => now });
    const a = alert({ fingerprint: 'delivered00000000' });
    const b = alert({ fingerprint: 'dropped000000000' });
    expect((await ch.send(notification({}, [a]))).status).toBe('sent');
    expect((await ch.send(notification({}, [b]))).status).toBe('dropped');
    now = 1000; // still no token
    expect((await ch.send(notification({}, [resolved(a)]))).status).toBe('sent');
    expect((await ch.send(notification({}, [resolved(b)]))).status).toBe('dropped');
    // A second resolution of `a` is no longer exempt (its firing was resolved already).
    expect((await ch.send(notification({}, [resolved(a)]))).status).toBe('dropped');
    expect(inner.got.map((n) => n.alerts[0]!.status)).toEqual(['firing', 'resolved']);
    expect(ch.stats().rateLimited).toBe(3);
    await ch.close();
  });

  it('the summary goes out before the next notification once a token exists (injected clock)', async () => {
    const inner = new Recorder();
    let now = 0;
    const ch = new RateLimitedChannel(inner, { burst: 1, perMinute: 60 }, { now: () => now });
    await ch.send(notification());
    await ch.send(notification());
    now = 2000; // two tokens' worth, capped at burst 1 → one token: the summary takes it
    expect((await ch.send(notification())).status).toBe('dropped');
    expect(inner.got.map((n) => n.reason)).toEqual(['firing', 'suppressed']);
    expect(inner.got[1]!.suppressed!.count).toBe(1);
    await ch.close();
  });

  it('createChannel wraps a config with rateLimit; the file channel records the summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-rl-'));
    try {
      const ch = createChannel({ type: 'file', path: join(dir, 'a.jsonl'), rateLimit: { burst: 1, perMinute: 120 } });
      // A token every 500 ms: the second send comes well within it even on a loaded machine (fsync included).
      expect(ch).toBeInstanceOf(RateLimitedChannel);
      expect(ch.name).toBe(`file:${join(dir, 'a.jsonl')}`);
      expect(typeof ch.restore).toBe('function');
      await ch.send(notification());
      expect((await ch.send(notification())).status).toBe('dropped');
      // `sent` counts once the record is fsync'd, a moment after its bytes are visible.
      await vi.waitFor(() => expect(ch.stats()).toMatchObject({ type: 'file', sent: 2, rateLimited: 1 }), { timeout: 5000, interval: 10 });
      expect(readFileSync(join(dir, 'a.jsonl'), 'utf8')).toContain('"reason":"suppressed"');
      await ch.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
