/**
 * The webhook channel: POSTs each notification as Alertmanager's webhook payload (version 4), so
 * receivers written for Alertmanager work unchanged.
 *
 * Delivery (through {@link DeliveryQueue}: bounded, sequential, drop-oldest — see there):
 * - each attempt has its own timeout (`AbortSignal.timeout`, whose timer does not hold the process);
 * - network errors, timeouts, 5xx and 429 are retried up to `retries` times with exponential
 *   backoff and full jitter (a 429's `Retry-After` is honoured, capped at `maxBackoffMs`); any
 *   other 4xx is the receiver refusing this payload, which a retry would not change: failed at once;
 * - `send` returns at once with a promise the manager does not await, so a dead or hanging
 *   endpoint delays neither evaluation nor other channels; `close()` aborts retries and the
 *   request in flight within its deadline.
 *
 * Secrets: the bearer token, header values and URL credentials / query never appear in `name`,
 * stats, `lastError` or log records; error messages are redacted against them before they are kept.
 * URL credentials (`https://user:pass@host/`) become a Basic `Authorization` header (fetch refuses
 * URLs with credentials).
 *
 * @module
 */
import type { AlertChannel, AlertNotification, ChannelStats, DeliveryResult, NotifiedAlert } from '../../contract/alerts.js';
import { backoffDelayMs, DeliveryQueue, redact, sleep, type AttemptOutcome } from './delivery-queue.js';

/** Alertmanager's zero time, sent as `endsAt` of an alert still firing. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** Options of {@link WebhookChannel} (defaults in brackets). */
export interface WebhookChannelOptions {
  url: string;
  /** Per-attempt timeout [5000]. */
  timeoutMs?: number;
  /** Retries after the first attempt [3]. */
  retries?: number;
  /** Backoff base: the first retry waits up to this [500]. */
  backoffMs?: number;
  /** Backoff cap [30000]. */
  maxBackoffMs?: number;
  /** Notifications waiting at most; beyond, the oldest is dropped [100]. */
  queueSize?: number;
  /** Extra request headers (values are secret: never logged). */
  headers?: Record<string, string>;
  /** Sent as `Authorization: Bearer …` (never logged). */
  bearerToken?: string;
  /** The payload's `receiver` [`dspex`]. */
  receiver?: string;
  /** The payload's `externalURL` [``]. */
  externalURL?: string;
  /** Display name [`webhook:scheme://host:port/path`]. */
  name?: string;
  /** How long `close()` lets queued deliveries finish before aborting them [2000]. */
  closeDeadlineMs?: number;
}

/** One alert of the v4 payload. */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** Alertmanager's webhook payload, version 4. */
export interface WebhookPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

/** RFC 3339 of epoch ms, or Alertmanager's zero time for 0 (unset). Pure. */
export function rfc3339(ms: number): string {
  return ms > 0 && Number.isFinite(ms) ? new Date(ms).toISOString() : GO_ZERO_TIME;
}

/** The key/values every record shares. Pure. */
export function commonOf(records: readonly Record<string, string>[]): Record<string, string> {
  const first = records[0];
  if (first === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) if (records.every((r) => r[k] === v)) out[k] = v;
  return out;
}

/** Alertmanager's group key format: `{}:{a="x", b="y"}` (sorted label names). Pure. */
export function groupKeyOf(groupLabels: Record<string, string>): string {
  const pairs = Object.keys(groupLabels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(groupLabels[k])}`);
  return `{}:{${pairs.join(', ')}}`;
}

function webhookAlert(a: NotifiedAlert): WebhookAlert {
  return {
    status: a.status,
    labels: { ...a.labels, alertname: a.alertname },
    annotations: { ...a.annotations },
    startsAt: rfc3339(a.startsAtMs),
    endsAt: a.status === 'resolved' ? rfc3339(a.endsAtMs) : GO_ZERO_TIME,
    generatorURL: a.annotations['generatorURL'] ?? '',
    fingerprint: a.fingerprint,
  };
}

/**
 * A notification → the v4 payload. A `suppressed` summary (no alerts of its own) becomes one
 * synthetic firing alert `DspexNotificationsSuppressed` whose annotations give the counts, so a
 * receiver shows it like any alert. Pure.
 */
export function webhookPayload(n: AlertNotification, receiver: string, externalURL = ''): WebhookPayload {
  let alerts = n.alerts.map(webhookAlert);
  if (n.reason === 'suppressed' && n.suppressed !== undefined) {
    const s = n.suppressed;
    const by = Object.entries(s.byAlertname)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    alerts = [
      {
        status: 'firing',
        labels: { alertname: 'DspexNotificationsSuppressed', severity: 'warning' },
        annotations: { summary: `${s.count} notifications suppressed by the channel's rate limit`, description: `dropped since ${rfc3339(s.sinceMs)}: ${by}`, suppressedCount: String(s.count) },
        startsAt: rfc3339(s.sinceMs),
        endsAt: GO_ZERO_TIME,
        generatorURL: '',
        fingerprint: 'suppressed',
      },
    ];
  }
  const groupLabels = Object.keys(n.groupLabels).length > 0 ? { ...n.groupLabels } : { alertname: alerts[0]?.labels['alertname'] ?? '' };
  return {
    version: '4',
    groupKey: groupKeyOf(groupLabels),
    truncatedAlerts: 0,
    status: n.status,
    receiver,
    groupLabels,
    commonLabels: commonOf(alerts.map((a) => a.labels)),
    commonAnnotations: commonOf(alerts.map((a) => a.annotations)),
    externalURL,
    alerts,
  };
}

/**
 * `scheme://host:port` of a URL, with `/…` when it has a path: no credentials, no path, no query,
 * no fragment. The path is left out because hook URLs often carry their secret there (Slack's
 * `/services/T…/B…/<secret>`). Pure.
 */
export function safeUrl(url: URL): string {
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  return `${url.protocol}//${url.hostname}:${port}${url.pathname.length > 1 ? '/…' : ''}`;
}

/** True for statuses worth retrying: 5xx, 429 (and 408, a receiver's own timeout). Pure. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** Posts notifications to a URL (see the module). */
export class WebhookChannel implements AlertChannel {
  readonly type = 'webhook';
  readonly name: string;
  private readonly target: string;
  private readonly headers: Record<string, string>;
  private readonly secrets: string[];
  private readonly queue: DeliveryQueue;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly receiver: string;
  private readonly externalURL: string;
  private readonly closeDeadlineMs: number;

  constructor(options: WebhookChannelOptions) {
    const url = new URL(options.url);
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    // The path too (see safeUrl): a fetch error that quotes the URL must not leak a path secret.
    this.secrets = [url.pathname.length > 1 ? url.pathname : '', url.search.slice(1), url.username, url.password, user, pass, options.bearerToken ?? '', ...Object.values(options.headers ?? {})].filter((s) => s !== '');
    this.headers = { 'content-type': 'application/json', 'user-agent': 'dspex-alerts', ...(options.headers ?? {}) };
    if (user !== '' || pass !== '') {
      const basic = Buffer.from(`${user}:${pass}`).toString('base64');
      this.headers['authorization'] = `Basic ${basic}`;
      this.secrets.push(basic);
    }
    if (options.bearerToken !== undefined) this.headers['authorization'] = `Bearer ${options.bearerToken}`;
    url.username = '';
    url.password = '';
    this.target = url.href;
    this.name = options.name ?? `webhook:${safeUrl(url)}`;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.retries = options.retries ?? 3;
    this.backoffMs = options.backoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.receiver = options.receiver ?? 'dspex';
    this.externalURL = options.externalURL ?? '';
    this.closeDeadlineMs = options.closeDeadlineMs ?? 2000;
    this.queue = new DeliveryQueue(this.name, this.type, options.queueSize ?? 100, (n, signal) => this.deliver(n, signal));
  }

  send(notification: AlertNotification): Promise<DeliveryResult> {
    return this.queue.enqueue(notification);
  }

  private async deliver(n: AlertNotification, closing: AbortSignal): Promise<AttemptOutcome> {
    const body = JSON.stringify(webhookPayload(n, this.receiver, this.externalURL));
    let error = '';
    for (let attempt = 1; ; attempt++) {
      let waitMs: number | null = null;
      try {
        const res = await fetch(this.target, {
          method: 'POST',
          headers: this.headers,
          body,
          redirect: 'error',
          signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), closing]),
        });
        // Read (and discard) the body so the connection is reused rather than left half-read.
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return { status: 'sent', attempts: attempt };
        error = `HTTP ${res.status}`;
        if (!retryableStatus(res.status)) return { status: 'failed', attempts: attempt, error };
        const retryAfterS = Number(res.headers.get('retry-after'));
        if (res.status === 429 && Number.isFinite(retryAfterS) && retryAfterS > 0) waitMs = Math.min(this.maxBackoffMs, retryAfterS * 1000);
      } catch (err) {
        error = this.describe(err);
      }
      if (closing.aborted) return { status: 'failed', attempts: attempt, error: `${error} (channel closed)` };
      if (attempt > this.retries) return { status: 'failed', attempts: attempt, error };
      if (!(await sleep(waitMs ?? backoffDelayMs(attempt - 1, this.backoffMs, this.maxBackoffMs), closing))) return { status: 'failed', attempts: attempt, error: `${error} (channel closed)` };
    }
  }

  /** A failed attempt's reason, without the URL's secrets. */
  private describe(err: unknown): string {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    let text: string;
    if (e.name === 'TimeoutError') text = `timed out after ${this.timeoutMs} ms`;
    else if (e.name === 'AbortError') text = 'aborted';
    else text = [e.message ?? String(err), e.cause?.code ?? e.cause?.message].filter((s) => s !== undefined && s !== '').join(': ');
    return redact(text, this.secrets);
  }

  stats(): ChannelStats {
    return this.queue.stats();
  }

  /** Let queued deliveries finish within `closeDeadlineMs`, then abort retries and requests. */
  close(): Promise<void> {
    return this.queue.close(this.closeDeadlineMs);
  }
}
