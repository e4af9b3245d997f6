/**
 * What crosses the queue between a `FleetClient` and a `FleetWorker`: job data, replies and errors
 * as plain JSON, with the key names of a fleet. Pure functions; nothing here touches Redis.
 *
 * Errors keep their `category`, `type` and `code` across hosts: a worker serializes the
 * {@link PythonBridgeError} its pool rejected with, the client rebuilds the same error (same
 * `code`), with `details.host` naming the host that ran the call. Only primitive detail values
 * cross (strings, numbers, booleans, null), so nothing a caller did not expect leaks through.
 *
 * @module
 */
import { errorCategories, invalidArgument, invalidOption, PythonBridgeError, type ErrorCategory, type ErrorDetails } from '../contract/errors.js';

/** How a fleet call may be retried (the local pool's `retry` option, extended across hosts). */
export type FleetRetry = 'never' | 'idempotent';

/** The data of one fleet job (BullMQ job data). */
export interface FleetJobData {
  /** Format version. */
  v: 1;
  command: string;
  args: unknown;
  /** The session of `executeInSession`, null for anonymous calls. */
  sessionId: string | null;
  retry: FleetRetry;
  /** The caller's deadline, ms since the epoch (host clocks are assumed in sync to well under it), or null. */
  deadlineMs: number | null;
  /** The client that waits for the reply (its reply channel). */
  replyTo: string;
  /** For session calls: the host incarnation the session lives on (a restarted host has a new one). */
  incarnation: string | null;
}

/** A {@link PythonBridgeError} as JSON. */
export interface SerializedError {
  category: ErrorCategory;
  type: string;
  message: string;
  details: Record<string, string | number | boolean | null>;
}

/** A reply published on the client's reply channel. */
export type FleetReply =
  | { id: string; ok: true; value: unknown; host: string }
  | { id: string; ok: false; error: SerializedError; host: string };

/** The prefix of a BullMQ `failedReason` that holds a serialized error. */
export const FAILED_REASON_PREFIX = 'dspex-error:';

/** The error as JSON: a PythonBridgeError keeps category/type/message and primitive details; anything else becomes `worker`/`crashed`. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof PythonBridgeError) {
    const details: SerializedError['details'] = {};
    for (const [k, v] of Object.entries(err.details)) {
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') details[k] = v;
    }
    return { category: err.category, type: err.type, message: err.message, details };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { category: 'worker', type: 'crashed', message: `fleet host failed: ${message}`, details: {} };
}

/** The error back from JSON, with `details.host` when known. Anything malformed becomes `worker`/`malformed_reply`. */
export function deserializeError(value: unknown, host?: string): PythonBridgeError {
  const s = value as Partial<SerializedError> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    !errorCategories.includes(s.category as ErrorCategory) ||
    typeof s.type !== 'string' ||
    typeof s.message !== 'string'
  ) {
    return new PythonBridgeError('worker', 'malformed_reply', 'a fleet host sent an error that is not a serialized PythonBridgeError', { details: { host } });
  }
  const details: ErrorDetails = {};
  if (typeof s.details === 'object' && s.details !== null) {
    for (const [k, v] of Object.entries(s.details)) {
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') details[k] = v;
    }
  }
  if (host !== undefined) details['host'] = host;
  return new PythonBridgeError(s.category as ErrorCategory, s.type, s.message, { details });
}

/** A BullMQ `failedReason` holding a serialized error. */
export function failedReason(err: SerializedError): string {
  return FAILED_REASON_PREFIX + JSON.stringify(err);
}

/**
 * The error a failed job stands for: a serialized one (from our worker), or BullMQ's own reason
 * (a stalled job past `maxStalledCount`: the host running it died twice) as `worker`/`crashed`.
 */
export function errorFromFailedReason(reason: string | undefined, details: ErrorDetails): PythonBridgeError {
  if (reason !== undefined && reason.startsWith(FAILED_REASON_PREFIX)) {
    try {
      const e = deserializeError(JSON.parse(reason.slice(FAILED_REASON_PREFIX.length)), typeof details['host'] === 'string' ? details['host'] : undefined);
      return e;
    } catch {
      // fall through
    }
  }
  return new PythonBridgeError('worker', 'crashed', `the fleet job failed: ${reason ?? 'unknown reason'}`, { details });
}

/** Parse a reply message; null when it is not one. */
export function parseReply(message: string): FleetReply | null {
  let r: unknown;
  try {
    r = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof r !== 'object' || r === null) return null;
  const o = r as { id?: unknown; ok?: unknown; host?: unknown };
  if (typeof o.id !== 'string' || typeof o.ok !== 'boolean' || typeof o.host !== 'string') return null;
  return r as FleetReply;
}

/** Check a job's data (a job in Redis may have been written by anyone); throws `invalid_request`/`bad_args`. */
export function checkJobData(value: unknown): FleetJobData {
  const d = value as Partial<FleetJobData> | null;
  const bad = (why: string): never => {
    throw new PythonBridgeError('invalid_request', 'bad_args', `fleet job: ${why}`);
  };
  if (typeof d !== 'object' || d === null || d.v !== 1) return bad('not a dspex fleet job (version 1)');
  if (typeof d.command !== 'string' || d.command.length === 0) bad("'command' must be a non-empty string");
  if (d.sessionId !== null && typeof d.sessionId !== 'string') bad("'sessionId' must be a string or null");
  if (d.retry !== 'never' && d.retry !== 'idempotent') bad("'retry' must be 'never' or 'idempotent'");
  if (d.deadlineMs !== null && typeof d.deadlineMs !== 'number') bad("'deadlineMs' must be a number or null");
  if (typeof d.replyTo !== 'string') bad("'replyTo' must be a string");
  if (d.incarnation !== null && typeof d.incarnation !== 'string') bad("'incarnation' must be a string or null");
  return d as FleetJobData;
}

const NAME = /^[A-Za-z0-9_.{}-]{1,100}$/;

/** Check a queue name, host id or prefix: letters, digits, `_ . - { }` (no `:`: BullMQ refuses it in queue names). */
export function checkName(where: string, option: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) throw invalidOption(where, option, `must be 1..100 characters of A-Z a-z 0-9 _ . - { }, got ${JSON.stringify(value)}`);
  return value;
}

/** Check a session id (any non-empty string up to 256 characters: it becomes part of a Redis key). */
export function checkSessionId(where: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) throw invalidArgument(where, 'sessionId', 'must be a non-empty string of at most 256 characters');
  return value;
}

/**
 * The Redis names of one fleet (`prefix` is BullMQ's; use a hash tag such as `{dspex}` on Redis
 * Cluster so every key of the fleet lands in one slot).
 */
export class FleetKeys {
  constructor(
    readonly prefix: string,
    readonly queue: string,
  ) {}
  /** The BullMQ queue of anonymous calls, shared by every host. */
  get sharedQueue(): string {
    return this.queue;
  }
  /** The BullMQ queue of one host's session calls. */
  hostQueue(hostId: string): string {
    return `${this.queue}.host.${hostId}`;
  }
  /** A live host's key (JSON {@link HostRecord}, with a TTL the host renews). */
  hostKey(hostId: string): string {
    return `${this.prefix}:${this.queue}:fleet:host:${hostId}`;
  }
  /** The set of every host id ever registered (entries whose key expired are dead hosts). */
  get hostsSet(): string {
    return `${this.prefix}:${this.queue}:fleet:hosts`;
  }
  /** Where a session lives: `hostId incarnation`. */
  sessionKey(sessionId: string): string {
    return `${this.prefix}:${this.queue}:fleet:session:${sessionId}`;
  }
  /** The pub/sub channel of one client's replies. */
  replyChannel(clientId: string): string {
    return `${this.prefix}:${this.queue}:fleet:reply:${clientId}`;
  }
  /** The pub/sub channel of cancellations (a job id per message). */
  get cancelChannel(): string {
    return `${this.prefix}:${this.queue}:fleet:cancel`;
  }
  /** The stream of host metric reports. */
  get metricsStream(): string {
    return `${this.prefix}:${this.queue}:fleet:metrics`;
  }
}

/** A live host's record (the value of its host key). */
export interface HostRecord {
  hostId: string;
  /** Random per start: a restarted host has a new one, so sessions of the old one are known lost. */
  incarnation: string;
  /** Pool size (its BullMQ concurrency). */
  size: number;
  startedAtMs: number;
}

/** Parse a host record; null when absent or malformed. */
export function parseHostRecord(value: string | null): HostRecord | null {
  if (value === null) return null;
  try {
    const r = JSON.parse(value) as Partial<HostRecord>;
    return typeof r.hostId === 'string' && typeof r.incarnation === 'string' ? (r as HostRecord) : null;
  } catch {
    return null;
  }
}
