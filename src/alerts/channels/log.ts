/**
 * The log channel: one structured record per alert of a notification, at a level by severity
 * (`info` → info, `warning` → warn, `critical` → error; a resolution at info). Fields are the
 * alert's own (name, fingerprint, status, labels, annotations, value): a notification carries no
 * secret, and the channel adds none (no channel configs, no URLs).
 *
 * @module
 */
import type { AlertChannel, AlertNotification, AlertSeverity, ChannelStats, DeliveryResult } from '../../contract/alerts.js';
import { newCounters, toStats } from './delivery-queue.js';

/** The logger the channel writes to: pino's method shape (a pino logger fits). */
export interface AlertLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Options of {@link LogChannel}. */
export interface LogChannelOptions {
  logger: AlertLogger;
  /** Display name (default `log`). */
  name?: string;
}

/** The log level of an alert: by severity while firing, `info` once resolved. Pure. */
export function logLevelOf(severity: AlertSeverity, status: 'firing' | 'resolved'): 'info' | 'warn' | 'error' {
  if (status === 'resolved') return 'info';
  return severity === 'critical' ? 'error' : severity === 'warning' ? 'warn' : 'info';
}

/** The structured fields of one alert's log record. Pure. */
export function logRecordOf(n: AlertNotification, i: number): { level: 'info' | 'warn' | 'error'; fields: Record<string, unknown>; msg: string } {
  const a = n.alerts[i]!;
  const summary = a.annotations['summary'];
  return {
    level: logLevelOf(a.severity, a.status),
    fields: {
      alert: {
        alertname: a.alertname,
        fingerprint: a.fingerprint,
        status: a.status,
        severity: a.severity,
        labels: a.labels,
        annotations: a.annotations,
        startsAtMs: a.startsAtMs,
        endsAtMs: a.endsAtMs,
        value: a.value,
      },
      notificationId: n.id,
      reason: n.reason,
    },
    msg: `alert ${a.alertname} ${n.reason === 'repeat' ? 'still firing' : a.status}${summary !== undefined ? `: ${summary}` : ''}`,
  };
}

/** Writes alerts to a logger (see the module). Delivery is synchronous: `send` settles at once. */
export class LogChannel implements AlertChannel {
  readonly type = 'log';
  readonly name: string;
  private readonly logger: AlertLogger;
  private readonly counters = newCounters();
  private closed = false;

  constructor(options: LogChannelOptions) {
    this.logger = options.logger;
    this.name = options.name ?? 'log';
  }

  send(notification: AlertNotification): Promise<DeliveryResult> {
    if (this.closed) return Promise.resolve({ status: 'dropped', reason: 'closed' });
    try {
      if (notification.reason === 'suppressed') {
        const s = notification.suppressed;
        this.logger.warn({ suppressed: s, notificationId: notification.id, reason: 'suppressed' }, `${s?.count ?? 0} alert notifications suppressed by a rate limit`);
      }
      for (let i = 0; i < notification.alerts.length; i++) {
        const r = logRecordOf(notification, i);
        this.logger[r.level](r.fields, r.msg);
      }
      this.counters.sent++;
      this.counters.lastSentMs = Date.now();
      return Promise.resolve({ status: 'sent', attempts: 1 });
    } catch (err) {
      // A logger that throws (a broken destination) must not escape `send`.
      this.counters.failed++;
      this.counters.lastError = err instanceof Error ? err.message : String(err);
      return Promise.resolve({ status: 'failed', attempts: 1, error: this.counters.lastError });
    }
  }

  stats(): ChannelStats {
    return toStats(this.name, this.type, this.counters, 0);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
