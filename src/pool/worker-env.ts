/**
 * What a worker process is started with: the interpreter, the worker script, its argv and its
 * environment. Pure: computed once per pool, read at every spawn.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ResolvedPoolOptions } from './options.js';

/** The worker script shipped with the package (`python/dspex_worker.py`). */
export const WORKER_SCRIPT = fileURLToPath(new URL('../../python/dspex_worker.py', import.meta.url));

/** One id per Node process, carried by every worker it starts (argv), so orphans can be recognised. */
export const RUN_ID = `${process.pid}.${randomBytes(6).toString('hex')}`;

/** How to start a worker. */
export interface WorkerSpawnOptions {
  python: string;
  script: string;
  runId: string;
  env: NodeJS.ProcessEnv;
  maxMessageBytes: number;
  startTimeoutMs: number;
}

/** The spawn options of every worker of the pool `o` describes. */
export function workerSpawnOptions(o: Readonly<ResolvedPoolOptions>): WorkerSpawnOptions {
  const pythonPath = [...o.pythonPath, ...(process.env['PYTHONPATH'] ? [process.env['PYTHONPATH']] : [])].join(':');
  return {
    python: o.python,
    script: WORKER_SCRIPT,
    runId: RUN_ID,
    maxMessageBytes: o.maxMessageBytes,
    startTimeoutMs: o.startTimeoutMs,
    env: {
      ...process.env,
      ...o.env,
      PYTHONUNBUFFERED: '1',
      PYTHONPATH: pythonPath,
      DSPEX_RUN_ID: RUN_ID,
      DSPEX_POOL: o.name,
      DSPEX_OWNER_PID: String(process.pid),
      DSPEX_MODULES: o.pythonModules.join(','),
    },
  };
}

/**
 * The interpreter's argv for worker slot `workerId`. The run id and slot are on the command line
 * (not only in the environment) so `ps` and src/resources can attribute the process.
 */
export function workerArgs(opts: WorkerSpawnOptions, workerId: number): string[] {
  return ['-u', opts.script, `--dspex-run-id=${opts.runId}`, `--dspex-worker-id=${workerId}`];
}
