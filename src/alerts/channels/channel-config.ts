/**
 * Channel configurations as data: the written-out config types and {@link createChannel}, which
 * validates a config (the zod schema is in channel-schema.ts, out of our declarations) and builds
 * its channel.
 *
 * A bad config throws `invalid_request` / `invalid_options` naming the field (`details.option`,
 * dotted: `smtp.port`, `rateLimit.burst`) and listing every problem (`details.issues`), as
 * `loadConfig` does; values are never echoed, since a field may hold a secret.
 *
 * @module
 */
import type { AlertChannel } from '../../contract/alerts.js';
import { getDefaultLogger } from '../../pool/default-logger.js';
import { EmailChannel } from './email.js';
import { FileChannel } from './file.js';
import { LogChannel, type AlertLogger } from './log.js';
import { parseChannelConfig } from './channel-schema.js';
import { RateLimitedChannel, type RateLimitOptions } from './rate-limit.js';
import { WebhookChannel } from './webhook.js';

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

/** What {@link createChannel} accepts: a config, or a channel of your own (returned as it is). */
export type ChannelInput = ChannelConfig | AlertChannel;

/** True when `v` is already a channel (has `send`, `stats`, `close`). */
export function isAlertChannel(v: unknown): v is AlertChannel {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['send'] === 'function' && typeof o['stats'] === 'function' && typeof o['close'] === 'function';
}

/** Options of {@link createChannel}. */
export interface CreateChannelOptions {
  /** Wall clock of the rate limit (tests). */
  now?: () => number;
}

/**
 * A channel from its config (validated; throws `invalid_options` naming the field), wrapped in a
 * {@link RateLimitedChannel} when `rateLimit` is set. A channel object is returned as it is.
 * An email channel loads nodemailer in the background: `EmailChannel.ready()` (or
 * `EmailChannel.create`) reports a missing package as a typed error, and each delivery fails with it.
 */
export function createChannel(input: ChannelInput, options: CreateChannelOptions = {}): AlertChannel {
  if (isAlertChannel(input)) return input;
  const c = parseChannelConfig(input);
  let ch: AlertChannel;
  switch (c.type) {
    case 'log':
      ch = new LogChannel({ logger: c.logger ?? getDefaultLogger(), ...(c.name !== undefined ? { name: c.name } : {}) });
      break;
    case 'file':
      ch = new FileChannel({ path: c.path, maxBytes: c.maxBytes, maxFiles: c.maxFiles, name: c.name, logger: getDefaultLogger() });
      break;
    case 'webhook': {
      const { type: _t, rateLimit: _r, ...rest } = c;
      ch = new WebhookChannel(rest);
      break;
    }
    case 'email': {
      const { type: _t, rateLimit: _r, ...rest } = c;
      ch = new EmailChannel(rest);
      break;
    }
  }
  return c.rateLimit !== undefined ? new RateLimitedChannel(ch, c.rateLimit, options.now !== undefined ? { now: options.now } : {}) : ch;
}
