/**
 * What a worker process is started with: the interpreter, the worker script, its argv and its
 * environment. Pure: computed once per pool, read at every spawn.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedPoolOptions } from './options.js';
import type { OutputLimits } from './output.js';

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
  /** Bounds on the stdout/stderr lines forwarded to the logger. */
  output: OutputLimits;
}

/** The spawn options of every worker of the pool `o` describes. */
export function workerSpawnOptions(o: Readonly<ResolvedPoolOptions>): WorkerSpawnOptions {
  // The pool's directories first, then the caller's `env.PYTHONPATH`, then the inherited one.
  const pythonPath = [...o.pythonPath, o.env['PYTHONPATH'], process.env['PYTHONPATH']].filter((p) => p !== undefined && p !== '').join(delimiter);
  return {
    python: o.python,
    script: WORKER_SCRIPT,
    runId: RUN_ID,
    maxMessageBytes: o.maxMessageBytes,
    startTimeoutMs: o.startTimeoutMs,
    output: { linesPerSecond: o.outputLinesPerSecond, burstLines: o.outputBurstLines, maxLineBytes: o.outputMaxLineBytes },
    env: {
      ...process.env,
      ...o.env,
      PYTHONUNBUFFERED: '1',
      PYTHONPATH: pythonPath,
      DSPEX_RUN_ID: RUN_ID,
      DSPEX_POOL: o.name,
      DSPEX_OWNER_PID: String(process.pid),
      DSPEX_MODULES: o.pythonModules.join(','),
      // Issue 19: the timing split in replies, and the pipe (fd 5) faulthandler dumps stacks to.
      DSPEX_TIMING: o.pythonTiming ? '1' : '0',
      DSPEX_STACK_FD: '5',
    },
  };
}

/**
 * The interpreter's argv for worker slot `workerId` (-1: a warm spare, `spare`, which learns no
 * slot). The run id and slot are on the command line (not only in the environment) so `ps` and
 * src/resources can attribute the process.
 */
export function workerArgs(opts: WorkerSpawnOptions, workerId: number): string[] {
  return ['-u', opts.script, `--dspex-run-id=${opts.runId}`, `--dspex-worker-id=${workerId < 0 ? 'spare' : workerId}`];
}

/** `name` found on `PATH` (or itself when it holds a slash), or null. */
function whichExecutable(name: string, path: string | undefined): string | null {
  if (name.includes('/')) return name;
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      closeSync(openSync(candidate, 'r'));
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** True when the file starts with `#!`: a script (a version manager's shim), not the interpreter. */
function isScript(file: string): boolean {
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x23 && head[1] === 0x21;
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * The interpreter to spawn workers with. When `python` is a script — a version manager's shim
 * (pyenv, asdf), which re-resolves the version on every start — it is asked once for
 * `sys.executable`, in the workers' own environment and directory, and that binary is used for
 * every worker of this `start()`: each worker start (and each crash recovery) then skips the shim,
 * measured at ~300 ms per start with pyenv on a 2-core VM (370 ms through the shim, 80 ms direct).
 * A virtualenv's `bin/python` is itself the interpreter (not a script) and is kept as it is.
 *
 * Resolves to `spawn.python` unchanged when it is not a script, or when asking fails in any way:
 * the worker start then reports the failure with its usual typed error.
 */
export function resolveInterpreter(spawn: Readonly<WorkerSpawnOptions>): Promise<string> {
  const found = whichExecutable(spawn.python, spawn.env['PATH']);
  if (found === null || !isScript(found)) return Promise.resolve(spawn.python);
  return new Promise((resolve) => {
    execFile(
      spawn.python,
      ['-c', 'import sys; sys.stdout.write(sys.executable or "")'],
      // Its own deadline, not startTimeoutMs: the shim alone may take longer than a tight worker start.
      { env: spawn.env, timeout: Math.max(spawn.startTimeoutMs, 5000), encoding: 'utf8', windowsHide: true },
      (err, stdout) => {
        const exe = typeof stdout === 'string' ? stdout.trim() : '';
        resolve(err === null && isAbsolute(exe) && !isScript(exe) ? exe : spawn.python);
      },
    );
  });
}
