/**
 * A throwaway local Redis: Debian's `redis-server` (installed by `make deps`) on a free loopback
 * port with its own temporary directory and no persistence (`--save '' --appendonly no`), never
 * the system service. The tests and `dspex bench fleet` start one each; `stop()` kills it and
 * removes its directory, and a process `exit` hook kills it too, so a caller that dies on an error
 * (or exits without awaiting `stop()`) leaves no redis-server behind. `restart()` keeps the port,
 * so clients reconnect to the same address.
 *
 * Internal: not part of `dspex/fleet` (a fleet runs against the user's Redis).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../util/free-port.js';

/** Where `redis-server` is looked for after `$PATH` (Debian installs it in /usr/bin). */
const FALLBACK_DIRS = ['/usr/bin', '/usr/local/bin', '/usr/sbin'];

/** The path of an executable `redis-server` (`$PATH` first, then the Debian locations), or null. Pure but for the file checks. */
export function findRedisServer(pathEnv: string = process.env['PATH'] ?? ''): string | null {
  for (const dir of [...pathEnv.split(delimiter).filter((d) => d !== ''), ...FALLBACK_DIRS]) {
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Resolves once `port` accepts a connection; rejects past `timeoutMs` or when `child` exits first. */
async function waitForPort(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}) before listening on 127.0.0.1:${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.end('PING\r\n');
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A running throwaway Redis. */
export interface LocalRedis {
  port: number;
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** Its working directory (removed by {@link LocalRedis.stop}). */
  dir: string;
  /** The current server process. */
  readonly child: ChildProcess;
  /** Stop the server (SIGKILL: nothing saved) and start it again on the same port. Resolves when it listens. */
  restart(opts?: { downMs?: number }): Promise<void>;
  /** Stop it for good and remove its directory (idempotent). */
  stop(): Promise<void>;
}

/** Options of {@link startLocalRedis}. */
export interface LocalRedisOptions {
  /** The `redis-server` binary (default: {@link findRedisServer}). */
  binary?: string;
  /** Longest wait for it to listen, ms (default 10000). */
  startTimeoutMs?: number;
}

/**
 * Start a throwaway redis-server. Rejects when the binary is missing (the message names
 * `make deps`) or the server does not listen in time (the process is killed first).
 */
export async function startLocalRedis(opts: LocalRedisOptions = {}): Promise<LocalRedis> {
  const binary = opts.binary ?? findRedisServer();
  if (binary === null) throw new Error('redis-server not found (looked in $PATH and /usr/bin): install it with `make deps` (Debian package redis-server)');
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'dspex-redis-'));
  const port = await freePort();
  const launch = (): ChildProcess =>
    spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: 'ignore' });
  let child = launch();
  // A synchronous kill on exit: the last resort when the owner dies without calling stop().
  const onExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const kill = async (c: ChildProcess): Promise<void> => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    await kill(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, startTimeoutMs, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get child() {
      return child;
    },
    async restart(o = {}) {
      await kill(child);
      if (o.downMs !== undefined) await new Promise((r) => setTimeout(r, o.downMs));
      child = launch();
      await waitForPort(port, startTimeoutMs, child);
    },
    stop,
  };
}
