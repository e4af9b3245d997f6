/**
 * The channel configs as written-out types (no zod: users compile against these). The schema in
 * channel-schema.ts must produce them, or it fails to compile.
 *
 * @module
 */
import type { AlertChannel } from '../../contract/alerts.js';
import type { AlertLogger } from './log.js';
import type { RateLimitOptions } from './rate-limit.js';

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

/** `{ type: 'webhook', url }`: Alertmanager's webhook payload v4 over HTTP(S). */
export interface WebhookChannelConfig extends ChannelConfigBase {
  type: 'webhook';
  url: string;
  /** Per attempt (default 5000). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** Backoff base (default 500) and cap (default 30000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Waiting notifications at most, the oldest dropped beyond (default 100). */
  queueSize?: number;
  /** Extra headers (values never logged). */
  headers?: Record<string, string>;
  /** `Authorization: Bearer …` (never logged). */
  bearerToken?: string;
  /** The payload's `receiver` (default `dspex`). */
  receiver?: string;
  /** The payload's `externalURL` (default empty). Addition to the list. */
  externalURL?: string;
  /** How long `close()` waits for queued deliveries (default 2000). Addition to the list. */
  closeDeadlineMs?: number;
}

/** `{ type: 'email', smtp, from, to }`: nodemailer over SMTP (an optional peer dependency). */
export interface EmailChannelConfig extends ChannelConfigBase {
  type: 'email';
  smtp: {
    host: string;
    port: number;
    secure?: boolean;
    requireTLS?: boolean;
    auth?: { user: string; pass: string };
    /** TLS verification options (addition to the list: a self-signed or private CA). */
    tls?: { rejectUnauthorized?: boolean; ca?: string; servername?: string };
  };
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

