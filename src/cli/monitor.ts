/**
 * `dspex monitor`: the main job. With `--demo` it starts a real pool under a synthetic mixed load.
 *
 * @module
 */
import type { ParsedArgs } from './args.js';
import { numberFlag } from './args.js';
import { SessionPool } from '../pool/session-pool.js';
import { LoadGenerator } from '../demo/load.js';
import pino from 'pino';

/** Run the monitor command; resolves with the exit code. */
export async function runMonitor(args: ParsedArgs): Promise<number> {
  const f = args.flags;
  if (f['demo'] !== 'true') {
    process.stderr.write('dspex monitor: pass --demo (a watched pool in another process via --url arrives with the dashboard)\n');
    return 2;
  }
  const size = numberFlag(f, 'pool-size', 4, 1, 256);
  const opsPerS = numberFlag(f, 'load', 400, 0, 1_000_000);
  const durationS = numberFlag(f, 'duration', 10, 1, 86_400);
  // Worker prints go to a log file, never into the terminal.
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/tmp/dspex-demo.log', sync: false }));
  const pool = new SessionPool({ name: 'demo', size, logger });
  await pool.start();
  const load = new LoadGenerator(pool, { opsPerS });
  load.start();
  const started = Date.now();
  let last = 0;
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      const s = pool.status();
      const ops = load.stats.ok + load.stats.failed;
      process.stdout.write(
        `[${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] workers ${s.workers.length}/${s.size} busy ${s.busy} idle ${s.idle} starting ${s.starting} queue ${s.queueDepth} ` +
          `sessions ${s.sessions} ops/s ${ops - last} ok ${load.stats.ok} failed ${load.stats.failed} restarts ${s.workers.reduce((a, w) => a + w.generation, 0)}\n`,
      );
      last = ops;
      if (Date.now() - started >= durationS * 1000) {
        clearInterval(t);
        resolve();
      }
    }, 1000);
    process.once('SIGINT', () => {
      clearInterval(t);
      resolve();
    });
  });
  load.stop();
  await pool.stop();
  return 0;
}
