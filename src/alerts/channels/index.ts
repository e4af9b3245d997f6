/**
 * The notification channels of alerting: log, file (JSON Lines journal with restore), webhook
 * (Alertmanager payload v4), email (nodemailer, optional), the rate-limit wrapper, the config
 * schema with {@link createChannel}, and {@link sendAlert}.
 *
 * @module
 */
export { channelConfigSchema, parseChannelConfig, type ChannelConfigIssue } from './channel-schema.js';
export {
  createChannel,
  isAlertChannel,
  type ChannelConfig,
  type ChannelConfigBase,
  type ChannelInput,
  type CreateChannelOptions,
  type EmailChannelConfig,
  type FileChannelConfig,
  type LogChannelConfig,
  type WebhookChannelConfig,
} from './channel-config.js';
export { backoffDelayMs } from './delivery-queue.js';
export { EmailChannel, emailHtml, emailSubject, emailText, loadNodemailer, type EmailChannelOptions, type SmtpOptions } from './email.js';
export { FileChannel, parseJournal, type FileChannelLogger, type FileChannelOptions, type ParsedJournal } from './file.js';
export { LogChannel, logLevelOf, type AlertLogger, type LogChannelOptions } from './log.js';
export { msUntilToken, newBucket, RateLimitedChannel, refill, tryTake, type RateLimitedChannelOptions, type RateLimitOptions, type TokenBucket } from './rate-limit.js';
export { sendAlert, type ChannelDelivery, type SendAlertOptions } from './send-alert.js';
export { GO_ZERO_TIME, WebhookChannel, webhookPayload, type WebhookAlert, type WebhookChannelOptions, type WebhookPayload } from './webhook.js';
