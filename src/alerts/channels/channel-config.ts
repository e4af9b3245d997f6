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
import { LogChannel } from './log.js';
import { parseChannelConfig } from './channel-schema.js';
import { RateLimitedChannel } from './rate-limit.js';
import type { ChannelInput } from './channel-types.js';
import { WebhookChannel } from './webhook.js';

export type { ChannelConfigBase, LogChannelConfig, FileChannelConfig, WebhookChannelConfig, EmailChannelConfig, ChannelConfig, ChannelInput } from './channel-types.js';

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
