/**
 * The zod schema of channel configs (a discriminated union on `type`) and its validation. Kept
 * apart from channel-config.ts so that the declarations users compile against never name zod.
 *
 * @module
 */
import { z } from 'zod';
import { PythonBridgeError } from '../../contract/errors.js';
import type { AlertLogger } from './log.js';
import type { ChannelConfig } from './channel-types.js';

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

