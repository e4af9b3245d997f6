/**
 * A real, throwaway Redis for tests: the runtime launcher in src/fleet/local-redis.ts (the
 * benchmark uses the same one), under the names the tests use.
 */
import { findRedisServer, startLocalRedis, type LocalRedis } from '../../src/fleet/local-redis.js';

/** A running test Redis. */
export type TestRedis = LocalRedis;

/** True when redis-server is installed (the fleet tests skip cleanly without it). */
export function redisAvailable(): boolean {
  return findRedisServer() !== null;
}

/** Start a throwaway redis-server. */
export function startRedis(): Promise<TestRedis> {
  return startLocalRedis();
}
