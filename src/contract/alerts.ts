/**
 * The shapes alerting shares between its stages: the alert manager (evaluation, state, grouping)
 * produces {@link AlertNotification}s, notification channels (log, file, webhook, email) deliver
 * them. Plain, JSON-serialisable objects; imports nothing of ours.
 *
 * @module
 */

/** How urgent an alert is. Logged at info / warn / error; `critical` inhibits a pool's warnings. */
export type AlertSeverity = 'info' | 'warning' | 'critical';

/**
 * The life of one alert (one fingerprint), as in Prometheus: `pending` while its condition holds
 * but `forMs` has not elapsed, `firing` after, `resolved` once false again for `keepFiringForMs`.
 */
export type AlertState = 'inactive' | 'pending' | 'firing' | 'resolved';

/** One alert inside a notification: what a receiver needs, Alertmanager's alert fields in our units. */
export interface NotifiedAlert {
  /** Stable hash of the rule name and labels (16 hex digits): one alert per fingerprint. */
  fingerprint: string;
  /** The rule's name (also `labels.alertname`). */
  alertname: string;
  status: 'firing' | 'resolved';
  severity: AlertSeverity;
  /** `alertname`, `severity`, the rule's labels and the signal's (`pool`, `workerId`, ...). */
  labels: Record<string, string>;
  /** `summary`, `description`, `runbook` (a link into docs/OPERATIONS_PLAYBOOK.md), with values filled in. */
  annotations: Record<string, string>;
  /** When it started firing (pending time excluded), ms since the epoch. */
  startsAtMs: number;
  /** When it resolved, ms since the epoch; 0 while firing. */
  endsAtMs: number;
  /** The signal value at the last evaluation (NaN when not applicable is sent as null). */
  value: number | null;
}

/** What one notification is about. */
export type NotificationReason =
  /** Became firing. */
  | 'firing'
  /** Still firing after `repeatIntervalMs`. */
  | 'repeat'
  /** Resolved. */
  | 'resolved'
  /** A channel's rate limit dropped notifications: this summarises them (`suppressed`). */
  | 'suppressed';

/**
 * A message to channels. Alertmanager sends a group per notification; so does this, a group being
 * the alerts of one rule that changed in the same evaluation (usually one).
 */
export interface AlertNotification {
  /** Unique per notification (used for de-duplication in the file channel and by receivers). */
  id: string;
  reason: NotificationReason;
  /** `firing` when any alert of the group fires, else `resolved` (Alertmanager's group status). */
  status: 'firing' | 'resolved';
  /** Labels the group's alerts share, by which it was grouped (at least `alertname`). */
  groupLabels: Record<string, string>;
  alerts: NotifiedAlert[];
  /** When the manager produced it, ms since the epoch. */
  timestampMs: number;
  /** For `reason: 'suppressed'`: how many notifications the channel dropped, by alertname. */
  suppressed?: { count: number; byAlertname: Record<string, number>; sinceMs: number };
}

/** Delivery figures of one channel (bounded: counters and the last error only). */
export interface ChannelStats {
  /** The channel's display name (never a secret: no tokens, no passwords, no URL credentials). */
  name: string;
  type: string;
  sent: number;
  failed: number;
  /** Dropped because the channel's bounded queue was full. */
  dropped: number;
  /** Dropped by the rate limit (then summarised in a `suppressed` notification). */
  rateLimited: number;
  /** Waiting in the channel's queue now. */
  queued: number;
  /** The last delivery error's message (redacted), or null. */
  lastError: string | null;
  lastSentMs: number | null;
}

/**
 * What the file channel kept of an alert, so a restarted manager resumes where it stopped: an
 * alert restored as firing whose condition still holds is not notified again, and its resolution
 * is notified exactly once.
 */
export interface RestoredAlert {
  fingerprint: string;
  alertname: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  startsAtMs: number;
  /** When it was last notified (firing or repeat). */
  lastNotifiedMs: number;
}

/**
 * A notification channel. `send` never throws and never blocks its caller for long: a channel
 * queues (bounded) and delivers in the background; the promise settles when this notification
 * was delivered, failed for good or was dropped, and says which.
 */
export interface AlertChannel {
  readonly type: string;
  /** Display name, safe to log (no secrets). */
  readonly name: string;
  send(notification: AlertNotification): Promise<DeliveryResult>;
  stats(): ChannelStats;
  /** Alert state kept by the channel (the file channel), read once by the manager on `start()`. */
  restore?(): Promise<RestoredAlert[]>;
  /** Flush what is queued (bounded by a deadline) and release timers, sockets, file handles. */
  close(): Promise<void>;
}

/** How one `send` ended. */
export type DeliveryResult =
  | { status: 'sent'; attempts: number }
  | { status: 'failed'; attempts: number; error: string }
  | { status: 'dropped'; reason: 'queue_full' | 'rate_limited' | 'closed' };

/** An alert as `activeAlerts()` and `alertHistory()` report it. */
export interface AlertInstance {
  fingerprint: string;
  rule: string;
  severity: AlertSeverity;
  state: AlertState;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Pool label, or null for node / machine alerts. */
  pool: string | null;
  /** When the condition first held (pending start), ms. */
  activeSinceMs: number;
  /** When it started firing, ms, or null while pending. */
  firingSinceMs: number | null;
  /** When it resolved, ms, or null. */
  resolvedAtMs: number | null;
  /** Last notification (firing/repeat), ms, or null. */
  lastNotifiedMs: number | null;
  /** The signal's value at the last evaluation (null when absent). */
  value: number | null;
  /** True while muted by a silence or inhibited by a critical alert of the same pool. */
  muted: boolean;
}

/** One transition as `alertHistory()` keeps it (a bounded ring) and `dspex:alert:*` publishes it. */
export interface AlertTransition {
  fingerprint: string;
  rule: string;
  severity: AlertSeverity;
  from: AlertState;
  to: AlertState;
  atMs: number;
  labels: Record<string, string>;
  value: number | null;
}
