/**
 * `dspex monitor`: the main job.
 *
 * - `--demo`: a real pool (4 Python workers by default) under a synthetic mixed load, with the
 *   full monitoring stack (metrics collector, resource monitor, monitoring HTTP server on
 *   127.0.0.1:9568 or `--port`), shown in the live terminal dashboard.
 * - `--url URL`: watch a pool in another process through its monitoring server.
 * - `--once`: print one frame to stdout and exit; `--headless` (with `--demo`): no terminal UI, run
 *   until SIGINT / SIGTERM (for a browser or a Prometheus to watch).
 *
 * A crash (an uncaught exception or an unhandled rejection anywhere in the process) still cleans
 * up: the terminal is restored, the demo stack (load, server, pool and its Python workers) is
 * stopped — bounded by {@link CRASH_CLEANUP_TIMEOUT_MS} — and the process exits 1 with the error on
 * stderr.
 *
 * @module
 */
import { appendFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { FlagValues } from './spec.js';
import type { monitorCommand } from './commands.js';
import { SessionPool } from '../pool/session-pool.js';
import { LoadGenerator } from '../demo/load.js';
import { createMonitoring, type Monitoring } from '../config/create-monitoring.js';
import { snapshotProvider } from '../exporters/snapshot.js';
import type { SnapshotProvider } from '../contract/snapshot.js';
import { HttpSnapshotSource } from '../exporters/client.js';
import { colorEnabled, renderOnce, startDashboard, type PerformanceDashboard } from '../dashboard/performance-dashboard.js';
import type { WindowName } from '../contract/metrics.js';

/** The validated flags of `dspex monitor` (declared, with their ranges and defaults, in commands.ts). */
export type MonitorFlags = FlagValues<typeof monitorCommand.flags>;

/** The running demo stack: everything `stop()` must release. */
interface DemoStack {
  pool: SessionPool;
  load: LoadGenerator;
  /** The whole monitoring stack (`createMonitoring`); null until the pool has started. */
  monitoring: Monitoring | null;
  /** Where worker prints and pool diagnostics go; the file exists once a line was logged. */
  logPath: string;
  logWritten(): boolean;
  stop(): Promise<void>;
}

/** The line printed once the demo stack has stopped. */
function demoStopped(stack: DemoStack): string {
  return `dspex demo stopped; ${stack.logWritten() ? `worker logs in ${stack.logPath}` : 'nothing was logged'}\n`;
}

/**
 * The demo's log: lines are appended to `path` (synchronously: they are rare, and the crash path
 * exits right after stopping), and the file is created by the first one, so a run that logs
 * nothing leaves nothing in the temporary directory.
 */
function demoLog(path: string): { stream: { write(line: string): void }; written: () => boolean } {
  let written = false;
  const write = (line: string): void => {
    try {
      appendFileSync(path, line);
      written = true;
    } catch {
      // A full or read-only temporary directory loses the demo's log, never the demo.
    }
  };
  return { stream: { write }, written: () => written };
}

/** How long a crash waits for the demo stack to stop before exiting anyway, ms. */
export const CRASH_CLEANUP_TIMEOUT_MS = 5000;

function describeError(err: unknown): string {
  return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
}

/**
 * Install the process-wide crash path for one `runMonitor` run; returns its uninstaller. On an
 * uncaught exception or unhandled rejection: give the terminal back (`restore`), write the error
 * to stderr, await `cleanup` for at most `timeoutMs`, then exit 1. Installing an
 * `uncaughtException` listener is what keeps Node from exiting before the async cleanup is done.
 */
function installCrashHandler(restore: () => void, cleanup: () => Promise<void>, timeoutMs = CRASH_CLEANUP_TIMEOUT_MS): { crashed: () => boolean; uninstall: () => void } {
  let crashed = false;
  const onCrash = (err: unknown): void => {
    if (crashed) {
      // A second failure while cleaning up: report it, keep waiting for the first cleanup's bound.
      process.stderr.write(`dspex monitor: another error while stopping: ${describeError(err)}\n`);
      return;
    }
    crashed = true;
    process.exitCode = 1;
    try {
      restore();
    } catch {
      // the terminal may be gone; the report below still goes to stderr
    }
    process.stderr.write(`dspex monitor crashed: ${describeError(err)}\n`);
    let timer: NodeJS.Timeout | null = null;
    const bound = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    void Promise.race([cleanup().then(() => 'done' as const, (e: unknown) => e), bound]).then((r) => {
      if (timer) clearTimeout(timer);
      if (r === 'timeout') process.stderr.write(`dspex monitor: cleanup did not finish within ${timeoutMs} ms; exiting anyway\n`);
      else if (r !== 'done') process.stderr.write(`dspex monitor: cleanup failed: ${describeError(r)}\n`);
      process.exit(1);
    });
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  return {
    crashed: () => crashed,
    uninstall: () => {
      process.removeListener('uncaughtException', onCrash);
      process.removeListener('unhandledRejection', onCrash);
    },
  };
}

/** Start the demo stack; `onCreated` gets it before anything starts, so a crash meanwhile can stop it. */
async function startDemo(f: MonitorFlags, serve: boolean, onCreated: (stack: DemoStack) => void): Promise<DemoStack> {
  const { 'pool-size': size, load: opsPerS, port } = f;
  // Worker prints and pool diagnostics go to a file, never into the terminal the dashboard owns.
  const logPath = join(os.tmpdir(), `dspex-demo-${process.pid}.log`);
  const log = demoLog(logPath);
  const logger = pino({ level: 'info' }, log.stream);
  // The demo's sessions keep no state: 'prefer' lets them move (and shows dspex_session_moves_total).
  const pool = new SessionPool({ name: 'demo', size, minSize: 1, maxSize: Math.max(size, 16), logger, healthCheckIntervalMs: 5000, affinity: 'prefer' });
  // Crashes at known times instead of by chance: two, 20 s in and every 6 minutes after. The
  // default DspexWorkerCrashed alert fires within one evaluation and resolves once they leave its
  // 1-minute window (about 90 s in): the first two minutes show an alert firing and resolving.
  // Two per incident stay under DspexWorkerCrashLoop (3 in 5 minutes).
  const load = new LoadGenerator(pool, { opsPerS, crashRatio: 0, incident: { firstAtMs: 20_000, everyMs: 360_000, crashes: 2, spacingMs: 3000 } });
  let stopped: Promise<void> | null = null;
  const stack: DemoStack = {
    pool,
    load,
    monitoring: null,
    logPath,
    logWritten: log.written,
    stop() {
      stopped ??= (async () => {
        load.stop();
        await stack.monitoring?.stop();
        await pool.stop({ mode: 'reject' });
      })();
      return stopped;
    },
  };
  onCreated(stack);
  try {
    await pool.start();
    // The one-call setup users get (createMonitoring), not a hand-wired copy: collector, resource
    // monitor, advisor (the demo's slow calls queue on 4 workers: a growth recommendation with
    // Little's law within its first minute) and server. The user's DSPEX_* variables and config
    // file are not read: the demo shows the defaults.
    stack.monitoring = await createMonitoring({ pools: [pool], env: false, configFile: false, logger, resources: { intervalMs: 2000 }, server: { port: serve ? port : 0 } });
  } catch (err) {
    await stack.stop();
    if (isPortInUse(err)) throw new Error(`port ${port} is already in use (another dspex monitor?): pass --port 0 for a free port, or --port P`);
    throw err;
  }
  load.start();
  return stack;
}

function isPortInUse(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' || /EADDRINUSE/.test(e.message)) return true;
  }
  return false;
}

/**
 * Print one frame; an unreachable server or a snapshot that cannot be drawn is a one-line error
 * and exit code 1 (an operator's script should not have to parse a stack trace).
 */
async function printOneFrame(source: SnapshotProvider, window: WindowName, size: { columns: number; rows: number }, color: boolean): Promise<number> {
  let frame: string;
  try {
    frame = renderOnce(await source.snapshot(window), size, { color });
  } catch (err) {
    process.stderr.write(`dspex monitor: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    return 1;
  }
  process.stdout.write(frame);
  return 0;
}

/**
 * Run the monitor command with its validated flags (exactly one of `demo` / `url`, demo-only
 * flags only with `demo`: the parse checked); resolves with the exit code.
 */
export async function runMonitor(f: MonitorFlags): Promise<number> {
  const { demo, url, once, headless, refresh: refreshMs, window } = f;
  const color = colorEnabled({ isTTY: process.stdout.isTTY === true, noColorFlag: f['no-color'] });
  const size = { columns: process.stdout.columns ?? 100, rows: process.stdout.rows ?? 30 };

  let stack: DemoStack | null = null;
  let dashboard: PerformanceDashboard | null = null;
  /** Stops the fleet collector of `--fleet` (its Redis connection), once the monitor is done. */
  const fleet: { stop: (() => Promise<void>) | null } = { stop: null };
  const crash = installCrashHandler(
    () => dashboard?.stop(),
    async () => {
      if (!stack) return;
      await stack.stop();
      process.stderr.write(demoStopped(stack));
    },
  );
  try {
    return await run();
  } finally {
    await fleet.stop?.();
    // On a crash the handler stays until it exits the process.
    if (!crash.crashed()) crash.uninstall();
  }

  async function run(): Promise<number> {
    let source: SnapshotProvider;
    if (demo) {
      stack = await startDemo(f, !once, (s) => {
        stack = s;
      });
      source = snapshotProvider((stack.monitoring as Monitoring).sources);
    } else if (f.fleet !== undefined) {
      // Loaded only here: bullmq / ioredis are optional, and only the fleet needs them.
      const { FleetCollector } = await import('../fleet/fleet-collector.js');
      const collector = new FleetCollector({ connection: f.fleet, queue: f.queue ?? 'dspex' });
      try {
        await collector.start();
      } catch (err) {
        await collector.stop();
        process.stderr.write(`dspex monitor: cannot read the fleet at ${f.fleet}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
        return 1;
      }
      fleet.stop = () => collector.stop();
      source = collector;
      if (once) {
        // Hosts publish once a second: give a host that just missed the stream's tail a moment.
        const deadline = Date.now() + 1500;
        while (collector.hosts().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      }
    } else {
      source = new HttpSnapshotSource({ url: url as string, token: f.token ?? process.env['DSPEX_TOKEN'] ?? null });
    }

    if (once) {
      try {
        // A demo needs a moment of load before there is anything to show.
        if (stack) await new Promise((r) => setTimeout(r, f.warmup));
        return await printOneFrame(source, window, size, color);
      } finally {
        await stack?.stop();
      }
    }

    const demoStack = stack;
    if (headless && demoStack) {
      process.stdout.write(`dspex demo: pool 'demo' (${demoStack.pool.status().size} workers) under load; monitoring at ${demoStack.monitoring?.url ?? '(no server)'} (/metrics, /api/snapshot, /api/events); logs go to ${demoStack.logPath}; Ctrl-C to stop\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await demoStack.stop();
      return 0;
    }

    if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
      process.stderr.write('dspex monitor: not a terminal; printing one frame (use --once for scripts, --headless for a server)\n');
      try {
        return await printOneFrame(source, window, size, color);
      } finally {
        await stack?.stop();
      }
    }

    return new Promise<number>((resolve) => {
      dashboard = startDashboard({
        source,
        refreshMs,
        color,
        window,
        onExit: (reason) => {
          // A crash (the dashboard saw it first, through `uncaughtExceptionMonitor`) is the crash
          // handler's to finish: stop the stack, report, exit 1.
          if (reason === 'crash' || crash.crashed()) return;
          void (async () => {
            await stack?.stop();
            if (stack) process.stderr.write(demoStopped(stack));
            resolve(0);
          })();
        },
      });
    });
  }
}
