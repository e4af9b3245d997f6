/**
 * A real, throwaway Redis for tests: Debian's redis-server on a free loopback port with its own
 * temporary directory, no persistence unless asked (`--save '' --appendonly no`), never the
 * system service. `restart()` keeps the port (clients reconnect to the same address).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = '/usr/bin/redis-server';

/** True when redis-server is installed (the fleet tests skip cleanly without it). */
export function redisAvailable(): boolean {
  return existsSync(REDIS_SERVER);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.end('PING\r\n');
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A running test Redis. */
export interface TestRedis {
  port: number;
  url: string;
  dir: string;
  /** The current server process. */
  readonly child: ChildProcess;
  /** Stop the server (SIGKILL: nothing saved) and start it again on the same port. Resolves when it listens. */
  restart(opts?: { downMs?: number }): Promise<void>;
  /** Stop it for good and remove its directory. */
  stop(): Promise<void>;
}

/** Start a throwaway redis-server. */
export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'dspex-redis-'));
  const port = await freePort();
  const launch = (): ChildProcess =>
    spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: 'ignore',
    });
  let child = launch();
  await waitForPort(port, 10_000);
  const kill = async (c: ChildProcess): Promise<void> => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get child() {
      return child;
    },
    async restart(opts = {}) {
      await kill(child);
      if (opts.downMs !== undefined) await new Promise((r) => setTimeout(r, opts.downMs));
      child = launch();
      await waitForPort(port, 10_000);
    },
    async stop() {
      await kill(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
