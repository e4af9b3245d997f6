/**
 * Channel configurations as data: one zod schema (a discriminated union on `type`), the written-out
 * config types, and {@link createChannel}, which validates a config and builds its channel.
 *
 * A bad config throws `invalid_request` / `invalid_options` naming the field (`details.option`,
 * dotted: `smtp.port`, `rateLimit.burst`) and listing every problem (`details.issues`), as
 * `loadConfig` does; values are never echoed, since a field may hold a secret.
 *
 * @module
 */
import { z } from 'zod';
import type { AlertChannel } from '../../contract/alerts.js';
import { PythonBridgeError } from '../../contract/errors.js';
import { getDefaultLogger } from '../../pool/default-logger.js';
import { EmailChannel } from './email.js';
import { FileChannel } from './file.js';
import { LogChannel, type AlertLogger } from './log.js';
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
  /** The payload's `externalURL` (default empty). Addition to the issue's list. */
  externalURL?: string;
  /** How long `close()` waits for queued deliveries (default 2000). Addition to the issue's list. */
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
    /** TLS verification options (addition to the issue's list: a self-signed or private CA). */
    tls?: { rejectUnauthorized?: boolean; ca?: string; servername?: string };
  };
  from: string;
  to: string | string[];
  subjectPrefix?: string;
  /** Additions to the issue's list: per-attempt timeout (default 10000), retries (default 2), queue (default 100). */
  timeoutMs?: number;
  retries?: number;
  queueSize?: number;
  closeDeadlineMs?: number;
}

/** Any channel config. */
export type ChannelConfig = LogChannelConfig | FileChannelConfig | WebhookChannelConfig | EmailChannelConfig;

/** What {@link createChannel} accepts: a config, or a channel of your own (returned as it is). */
export type ChannelInput = ChannelConfig | AlertChannel;

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const nonEmpty = z.string().min(1);

const base = {
  name: nonEmpty.optional(),
  rateLimit: z.strictObject({ burst: positiveInt, perMinute: z.number().positive().finite() }).optional(),
};

const loggerSchema = z.custom<AlertLogger>(
  (v) => typeof v === 'object' && v !== null && ['info', 'warn', 'error'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
  { message: 'must be a logger with info, warn and error methods (a pino logger)' },
);

const httpUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  },
  { message: 'must be an http:// or https:// URL' },
);

const email = z.string().regex(/^[^\s@]+@[^\s@]+$|<[^\s@]+@[^\s@]+>$/, { message: 'must be an email address' });

/** The schema of {@link ChannelConfig} (strict: an unknown key is an error). */
export const channelConfigSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('log'), ...base, logger: loggerSchema.optional() }),
  z.strictObject({ type: z.literal('file'), ...base, path: nonEmpty, maxBytes: positiveInt.optional(), maxFiles: nonNegativeInt.optional() }),
  z.strictObject({
    type: z.literal('webhook'),
    ...base,
    url: httpUrl,
    timeoutMs: positiveInt.optional(),
    retries: nonNegativeInt.optional(),
    backoffMs: positiveInt.optional(),
    maxBackoffMs: positiveInt.optional(),
    queueSize: positiveInt.optional(),
    headers: z.record(z.string(), z.string()).optional(),
    bearerToken: nonEmpty.optional(),
    receiver: nonEmpty.optional(),
    externalURL: z.string().optional(),
    closeDeadlineMs: nonNegativeInt.optional(),
  }),
  z.strictObject({
    type: z.literal('email'),
    ...base,
    smtp: z.strictObject({
      host: nonEmpty,
      port: z.number().int().min(1).max(65_535),
      secure: z.boolean().optional(),
      requireTLS: z.boolean().optional(),
      auth: z.strictObject({ user: nonEmpty, pass: z.string() }).optional(),
      tls: z.strictObject({ rejectUnauthorized: z.boolean().optional(), ca: z.string().optional(), servername: z.string().optional() }).optional(),
    }),
    from: email,
    to: z.union([email, z.array(email).min(1)]),
    subjectPrefix: z.string().optional(),
    timeoutMs: positiveInt.optional(),
    retries: nonNegativeInt.optional(),
    queueSize: positiveInt.optional(),
    closeDeadlineMs: nonNegativeInt.optional(),
  }),
]);

/** One problem of a channel config: the dotted field and why. */
export interface ChannelConfigIssue {
  readonly option: string;
  readonly message: string;
}

function issuesOf(error: z.ZodError): ChannelConfigIssue[] {
  const out: ChannelConfigIssue[] = [];
  for (const issue of error.issues) {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') for (const k of issue.keys) out.push({ option: at === '' ? k : `${at}.${k}`, message: 'unknown key' });
    else out.push({ option: at === '' ? '(config)' : at, message: at === 'type' ? "must be 'log', 'file', 'webhook' or 'email'" : issue.message });
  }
  return out;
}

/**
 * Validate a channel config: the typed config, or throw `invalid_options` naming the field.
 * `where` prefixes the message (default `createChannel`).
 */
export function parseChannelConfig(config: unknown, where = 'createChannel'): ChannelConfig {
  const r = channelConfigSchema.safeParse(config);
  // No assertion: the schema's output must stay assignable to the written-out types (a drift fails to compile).
  if (r.success) return r.data;
  const issues = issuesOf(r.error);
  const list = issues.map((i) => `'${i.option}': ${i.message}`).join('; ');
  throw new PythonBridgeError('invalid_request', 'invalid_options', `${where}: invalid channel config: ${list}`, {
    details: { option: issues[0]?.option, issues: issues.map((i) => ({ ...i })) },
  });
}

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
