/**
 * The channel configs as written-out types (no zod: users compile against these). The schema in
 * channel-schema.ts must produce them, or it fails to compile.
 *
 * @module
 */
import type { AlertChannel } from '../../contract/alerts.js';
import type { AlertLogger } from './log.js';
import type { RateLimitOptions } from './rate-limit.js';
import type { WebhookChannelOptions } from './webhook.js';
import type { SmtpOptions } from './email.js';

/** Fields every channel config may have. */
export interface ChannelConfigBase {
  /** Display name (never put a secret here: it is logged and shown in stats). */
  name?: string;
  /** A token bucket per channel; what it drops is summarised in a `suppressed` notification. */
  rateLimit?: RateLimitOptions;
}

/** `{ type: 'log' }`: alerts as log records, level by severity. */
export interface LogChannelConfig extends ChannelConfigBase {
  type: 'log';
  /** A pino-compatible logger (default: dspex's logger, pino on a bounded stderr destination). */
  logger?: AlertLogger;
}

/** `{ type: 'file', path }`: a JSON Lines journal, fsync'd, rotated, restored on restart. */
export interface FileChannelConfig extends ChannelConfigBase {
  type: 'file';
  path: string;
  /** Rotate past this size (default 10 MiB). */
  maxBytes?: number;
  /** Rotated files kept (default 3). */
  maxFiles?: number;
}

/** `{ type: 'webhook', url }`: Alertmanager's webhook payload v4 over HTTP(S); the options of `WebhookChannel` (its `name` is the base's). */
export interface WebhookChannelConfig extends ChannelConfigBase, Omit<WebhookChannelOptions, 'name'> {
  type: 'webhook';
}

/** `{ type: 'email', smtp, from, to }`: nodemailer over SMTP (an optional peer dependency). */
export interface EmailChannelConfig extends ChannelConfigBase {
  type: 'email';
  smtp: SmtpOptions;
  from: string;
  to: string | string[];
  subjectPrefix?: string;
  /** Additions to the list: per-attempt timeout (default 10000), retries (default 2), queue (default 100). */
  timeoutMs?: number;
  retries?: number;
  queueSize?: number;
  closeDeadlineMs?: number;
}

/** Any channel config. */
export type ChannelConfig = LogChannelConfig | FileChannelConfig | WebhookChannelConfig | EmailChannelConfig;

/** What `createChannel` accepts: a config, or a channel of your own (returned as it is). */
export type ChannelInput = ChannelConfig | AlertChannel;

