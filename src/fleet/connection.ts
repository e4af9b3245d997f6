/**
 * Redis connections of a fleet. Producers fail fast (no offline queue: a call made while Redis is
 * unreachable rejects at once with `pool_unavailable`/`queue_unreachable` instead of waiting in
 * memory); consumers retry for ever (`maxRetriesPerRequest: null`, as BullMQ requires of workers)
 * and reconnect with a capped backoff, as BullMQ's production guide recommends.
 *
 * @module
 */
import { Redis, type RedisOptions } from 'ioredis';
import { invalidOption } from '../contract/errors.js';

/** Where Redis is: a `redis://` / `rediss://` URL, or ioredis options. */
export type FleetConnection = string | RedisOptions;

/** Reconnect backoff: 100 ms, 200 ms, … capped at 2 s. */
export function reconnectDelayMs(times: number): number {
  return Math.min(2000, 100 * Math.max(1, times));
}

/** A new ioredis connection for a role (`producer`: fail fast; `consumer`: retry for ever). */
export function createRedis(where: string, connection: FleetConnection, role: 'producer' | 'consumer'): Redis {
  const roleOptions: RedisOptions =
    role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: reconnectDelayMs }
      : { maxRetriesPerRequest: null, retryStrategy: reconnectDelayMs };
  if (typeof connection === 'string') {
    if (!/^rediss?:\/\//.test(connection)) throw invalidOption(where, 'connection', 'must be a redis:// or rediss:// URL, or ioredis options');
    return new Redis(connection, roleOptions);
  }
  if (typeof connection !== 'object' || connection === null) throw invalidOption(where, 'connection', 'must be a redis:// or rediss:// URL, or ioredis options');
  if (connection.keyPrefix !== undefined) throw invalidOption(where, 'connection', 'keyPrefix is not supported by BullMQ: use the `prefix` option');
  return new Redis({ ...connection, ...roleOptions });
}

/** The connection's address for messages (never its password). */
export function describeConnection(connection: FleetConnection): string {
  if (typeof connection === 'string') {
    try {
      const u = new URL(connection);
      return `${u.protocol}//${u.hostname}:${u.port || '6379'}`;
    } catch {
      return 'redis';
    }
  }
  return `redis://${connection.host ?? '127.0.0.1'}:${connection.port ?? 6379}`;
}
