/**
 * The email channel: nodemailer over SMTP, an optional peer dependency loaded with a dynamic
 * `import('nodemailer')` only when an email channel is created (so `import 'dspex'` never needs
 * it). STARTTLS is used when the server offers it, required with `requireTLS`; `secure` is
 * implicit TLS (port 465); `auth` logs in (PLAIN/LOGIN, as the server offers).
 *
 * Messages follow Alertmanager's default email: the subject `[FIRING:1] DspexHighErrorRate
 * (pool=default)` (status, count of firing alerts, the group's alertname, the labels the alerts
 * share beyond alertname and severity), a plain-text body listing each alert with its labels,
 * annotations and runbook link, and the same as HTML.
 *
 * Delivery goes through {@link DeliveryQueue} (bounded, sequential, drop-oldest) with retries on
 * transient failures (connection errors, timeouts, SMTP 4xx replies), never on permanent 5xx
 * replies. nodemailer's own logger is off; the password is never logged, kept in stats or in
 * `lastError` (error texts are redacted against it).
 *
 * @module
 */
import { PythonBridgeError } from '../../contract/errors.js';
import type { AlertChannel, AlertNotification, ChannelStats, DeliveryResult, NotifiedAlert } from '../../contract/alerts.js';
import { backoffDelayMs, DeliveryQueue, redact, sleep, type AttemptOutcome } from './delivery-queue.js';

/** SMTP connection options of {@link EmailChannel}. */
export interface SmtpOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 465) [false: plain, upgraded by STARTTLS when offered]. */
  secure?: boolean;
  /** Fail unless STARTTLS succeeds [false]. */
  requireTLS?: boolean;
  auth?: { user: string; pass: string };
  /** TLS verification: `rejectUnauthorized: false` accepts a self-signed certificate; `ca` trusts one (PEM). */
  tls?: { rejectUnauthorized?: boolean; ca?: string; servername?: string };
}

/** Options of {@link EmailChannel} (defaults in brackets). */
export interface EmailChannelOptions {
  smtp: SmtpOptions;
  from: string;
  to: string | string[];
  /** Put before the subject, e.g. `[prod] `. */
  subjectPrefix?: string;
  /** Display name [`email:<host>:<port>`]. */
  name?: string;
  /** Connection / greeting / socket timeout per attempt [10000]. */
  timeoutMs?: number;
  /** Retries after the first attempt, for transient failures [2]. */
  retries?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Messages waiting at most; beyond, the oldest is dropped [100]. */
  queueSize?: number;
  /** How long `close()` lets queued messages go out before aborting [2000]. */
  closeDeadlineMs?: number;
}

/** The part of a nodemailer transport this channel uses (typed here: nodemailer's types are a dev dependency). */
interface MailTransport {
  sendMail(mail: { from: string; to: string | string[]; subject: string; text: string; html: string }): Promise<unknown>;
  close(): void;
}
interface NodemailerModule {
  createTransport(options: Record<string, unknown>): MailTransport;
}

/**
 * Load nodemailer, or throw `invalid_request` / `invalid_options` (`details.option: 'type'`)
 * saying it must be installed. `specifier` exists for tests (a package that is not installed).
 */
export async function loadNodemailer(specifier = 'nodemailer'): Promise<NodemailerModule> {
  // A variable specifier: TypeScript does not resolve it, so our declarations never name nodemailer's types.
  try {
    const mod = (await import(specifier)) as Partial<NodemailerModule> & { default?: Partial<NodemailerModule> };
    const createTransport = mod.createTransport ?? mod.default?.createTransport;
    if (typeof createTransport !== 'function') throw new Error('nodemailer has no createTransport');
    return { createTransport };
  } catch (err) {
    throw new PythonBridgeError('invalid_request', 'invalid_options', `email channel: the optional peer dependency '${specifier}' is not installed or cannot be loaded (npm install ${specifier})`, {
      details: { option: 'type' },
      cause: err,
    });
  }
}

const SHOWN_LABELS_EXCLUDED = new Set(['alertname', 'severity']);

function commonLabels(alerts: readonly NotifiedAlert[]): Record<string, string> {
  const first = alerts[0];
  if (first === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first.labels)) if (alerts.every((a) => a.labels[k] === v)) out[k] = v;
  return out;
}

/** The subject: `[FIRING:1] DspexHighErrorRate (pool=default)`, `[RESOLVED] …`, `[SUPPRESSED:5] …`. Pure. */
export function emailSubject(n: AlertNotification, prefix = ''): string {
  if (n.reason === 'suppressed') return `${prefix}[SUPPRESSED:${n.suppressed?.count ?? 0}] alert notifications dropped by the rate limit`;
  const firing = n.alerts.filter((a) => a.status === 'firing').length;
  const head = n.status === 'firing' ? `[FIRING:${firing}]` : '[RESOLVED]';
  const name = n.groupLabels['alertname'] ?? n.alerts[0]?.alertname ?? 'alert';
  const extra = Object.entries(commonLabels(n.alerts))
    .filter(([k]) => !SHOWN_LABELS_EXCLUDED.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  return `${prefix}${head} ${name}${extra.length > 0 ? ` (${extra.join(' ')})` : ''}`;
}

const iso = (ms: number): string => (ms > 0 ? new Date(ms).toISOString() : '-');
const pairs = (r: Record<string, string>): string =>
  Object.keys(r)
    .sort()
    .map((k) => `${k}=${r[k]}`)
    .join(', ');

function alertLines(a: NotifiedAlert): string[] {
  const lines = [`- ${a.alertname} (${a.severity}) ${a.status === 'firing' ? `firing since ${iso(a.startsAtMs)}` : `resolved at ${iso(a.endsAtMs)} (fired ${iso(a.startsAtMs)})`}${a.value !== null ? `, value ${a.value}` : ''}`];
  for (const key of ['summary', 'description']) if (a.annotations[key] !== undefined) lines.push(`  ${key}: ${a.annotations[key]}`);
  const runbook = a.annotations['runbook'] ?? a.annotations['runbook_url'];
  if (runbook !== undefined) lines.push(`  runbook: ${runbook}`);
  for (const [k, v] of Object.entries(a.annotations)) if (!['summary', 'description', 'runbook', 'runbook_url'].includes(k)) lines.push(`  ${k}: ${v}`);
  lines.push(`  labels: ${pairs(a.labels)}`, `  fingerprint: ${a.fingerprint}`);
  return lines;
}

/** The plain-text body: the subject, then the firing and the resolved alerts with their details. Pure. */
export function emailText(n: AlertNotification, prefix = ''): string {
  const out = [emailSubject(n, prefix), ''];
  if (n.reason === 'suppressed' && n.suppressed !== undefined) {
    out.push(`${n.suppressed.count} notifications were dropped by this channel's rate limit since ${iso(n.suppressed.sinceMs)}:`);
    for (const [k, v] of Object.entries(n.suppressed.byAlertname)) out.push(`- ${k}: ${v}`);
  }
  const firing = n.alerts.filter((a) => a.status === 'firing');
  const resolved = n.alerts.filter((a) => a.status === 'resolved');
  if (firing.length > 0) out.push(n.reason === 'repeat' ? 'Alerts still firing:' : 'Alerts firing:', ...firing.flatMap(alertLines), '');
  if (resolved.length > 0) out.push('Alerts resolved:', ...resolved.flatMap(alertLines), '');
  out.push(`Sent by dspex at ${iso(n.timestampMs)} (notification ${n.id}).`);
  return `${out.join('\n')}\n`;
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The HTML body: the plain text, escaped, in a `<pre>` (mail clients show it as sent). Pure. */
export function emailHtml(n: AlertNotification, prefix = ''): string {
  return `<!doctype html><html><body><pre style="font-family:monospace">${escapeHtml(emailText(n, prefix))}</pre></body></html>`;
}

/** Transient SMTP failure: connection-level errors and 4xx replies; 5xx replies are permanent. Pure. */
export function transientSmtpError(err: unknown): boolean {
  const code = (err as { responseCode?: unknown }).responseCode;
  if (typeof code === 'number') return code >= 400 && code < 500;
  const kind = (err as { code?: unknown }).code;
  // EAUTH (bad credentials) and EENVELOPE (refused address) will not change on a retry.
  return kind !== 'EAUTH' && kind !== 'EENVELOPE' && kind !== 'EMESSAGE';
}

/** Sends notifications as email (see the module). */
export class EmailChannel implements AlertChannel {
  readonly type = 'email';
  readonly name: string;
  private readonly options: EmailChannelOptions;
  private readonly secrets: string[];
  private readonly queue: DeliveryQueue;
  private transport: MailTransport | null = null;
  private readonly loading: Promise<MailTransport>;

  /** Starts loading nodemailer; `ready()` says whether it could. Prefer {@link EmailChannel.create}. */
  constructor(options: EmailChannelOptions) {
    this.options = options;
    this.name = options.name ?? `email:${options.smtp.host}:${options.smtp.port}`;
    this.secrets = options.smtp.auth !== undefined ? [options.smtp.auth.pass] : [];
    this.loading = loadNodemailer().then((m) => {
      const timeoutMs = options.timeoutMs ?? 10_000;
      const s = options.smtp;
      this.transport = m.createTransport({
        host: s.host,
        port: s.port,
        secure: s.secure ?? false,
        requireTLS: s.requireTLS ?? false,
        ...(s.auth !== undefined ? { auth: { user: s.auth.user, pass: s.auth.pass } } : {}),
        ...(s.tls !== undefined ? { tls: { ...s.tls } } : {}),
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
        logger: false,
        debug: false,
      });
      return this.transport;
    });
    // Failures surface through `ready()` and each delivery; an unobserved rejection must not crash.
    this.loading.catch(() => undefined);
    this.queue = new DeliveryQueue(this.name, this.type, options.queueSize ?? 100, (n, signal) => this.deliver(n, signal));
  }

  /** A channel whose transport is loaded: rejects with the typed error when nodemailer is missing. */
  static async create(options: EmailChannelOptions): Promise<EmailChannel> {
    const ch = new EmailChannel(options);
    await ch.ready();
    return ch;
  }

  /** Resolves once nodemailer is loaded; rejects with {@link loadNodemailer}'s typed error. */
  async ready(): Promise<void> {
    await this.loading;
  }

  send(notification: AlertNotification): Promise<DeliveryResult> {
    return this.queue.enqueue(notification);
  }

  private async deliver(n: AlertNotification, closing: AbortSignal): Promise<AttemptOutcome> {
    let transport: MailTransport;
    try {
      transport = await this.loading;
    } catch (err) {
      return { status: 'failed', attempts: 0, error: (err as Error).message };
    }
    const o = this.options;
    const prefix = o.subjectPrefix ?? '';
    const mail = { from: o.from, to: o.to, subject: emailSubject(n, prefix), text: emailText(n, prefix), html: emailHtml(n, prefix) };
    const retries = o.retries ?? 2;
    for (let attempt = 1; ; attempt++) {
      let error: string;
      let transient: boolean;
      try {
        // nodemailer takes no AbortSignal: closing races the send and `close()` closes the transport.
        await untilAborted(transport.sendMail(mail), closing);
        return { status: 'sent', attempts: attempt };
      } catch (err) {
        error = redact(err instanceof Error ? err.message : String(err), this.secrets);
        transient = transientSmtpError(err);
      }
      if (closing.aborted) return { status: 'failed', attempts: attempt, error: `${error} (channel closed)` };
      if (!transient || attempt > retries) return { status: 'failed', attempts: attempt, error };
      if (!(await sleep(backoffDelayMs(attempt - 1, o.backoffMs ?? 1000, o.maxBackoffMs ?? 30_000), closing))) return { status: 'failed', attempts: attempt, error: `${error} (channel closed)` };
    }
  }

  stats(): ChannelStats {
    return this.queue.stats();
  }

  /** Let queued messages go out within the deadline, then abort and close the SMTP transport. */
  async close(): Promise<void> {
    await this.queue.close(this.options.closeDeadlineMs ?? 2000);
    this.transport?.close();
  }
}

/** `p`, or a rejection as soon as `signal` aborts; the listener is removed either way (no growth per send). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
