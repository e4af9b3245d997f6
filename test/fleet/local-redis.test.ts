/**
 * The throwaway redis-server launcher the tests and `bench fleet` share: it listens, restarts on
 * the same port, and leaves neither a process nor its directory behind; a binary that dies at
 * once is reported at once, not after the start timeout.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { findRedisServer, startLocalRedis } from '../../src/fleet/local-redis.js';
import { isZombieOrGone } from '../helpers/processes.js';

async function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1', () => c.write('PING\r\n'));
    c.once('data', (d) => {
      resolve(d.toString());
      c.end();
    });
    c.once('error', reject);
  });
}

describe('startLocalRedis', () => {
  it('finds no redis-server where there is none, but falls back to the Debian location', () => {
    const found = findRedisServer('/nonexistent');
    expect(found === null || found.startsWith('/usr/')).toBe(true);
  });

  (findRedisServer() === null ? it.skip : it)('serves, restarts on the same port, and stops without a trace', async () => {
    const redis = await startLocalRedis();
    const first = redis.child.pid!;
    expect(await ping(redis.port)).toBe('+PONG\r\n');
    await redis.restart();
    expect(redis.child.pid).not.toBe(first);
    expect(await ping(redis.port)).toBe('+PONG\r\n');
    const second = redis.child.pid!;
    await redis.stop();
    await redis.stop(); // idempotent
    expect(isZombieOrGone(first)).toBe(true);
    expect(isZombieOrGone(second)).toBe(true);
    expect(existsSync(redis.dir)).toBe(false);
    expect(process.listeners('exit').length).toBeLessThan(20);
  });

  it('rejects at once, naming the exit, when the server dies before listening', async () => {
    const t0 = Date.now();
    await expect(startLocalRedis({ binary: '/bin/false', startTimeoutMs: 8000 })).rejects.toThrow(/redis-server exited \(1\) before listening/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
