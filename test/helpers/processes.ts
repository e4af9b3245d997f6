import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { vi, expect } from 'vitest';
import { identifyWorker } from '../../src/resources/proc.js';

/** Pids of dspex Python workers whose run id names `ownerPid` (default: this process). */
export function workerPidsOwnedBy(ownerPid = process.pid): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    // The library's own rule (a Python interpreter running dspex_worker.py), so a pyenv shim or a
    // shell that merely mentions the script is not counted.
    const args = cmd.split('\0').filter((a) => a.length > 0);
    if (identifyWorker(args) === null) continue;
    if (args.some((a) => a.startsWith(`--dspex-run-id=${ownerPid}.`))) {
      if (!isZombieOrGone(Number(name))) out.push(Number(name));
    }
  }
  return out;
}

/** True when the process is gone or a zombie (exited, not yet reaped). */
export function isZombieOrGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/** Wait (with a deadline) until every pid is gone. */
export async function expectAllGone(pids: number[], timeoutMs = 5000): Promise<void> {
  await vi.waitFor(
    () => {
      const alive = pids.filter((p) => !isZombieOrGone(p));
      expect(alive, `processes still alive: ${alive.join(',')}`).toEqual([]);
    },
    { timeout: timeoutMs, interval: 20 },
  );
}

/** Assert that no worker of this process is left (call after stopping every pool of a file). */
export async function expectNoLeakedWorkers(timeoutMs = 5000): Promise<void> {
  await vi.waitFor(
    () => {
      expect(workerPidsOwnedBy(), 'leaked Python workers').toEqual([]);
    },
    { timeout: timeoutMs, interval: 20 },
  );
}

/** Every descendant of `pid` (children of each of its threads, recursively), from /proc. */
export function descendantPids(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue; // gone
    }
    for (const tid of tids) {
      let kids: number[] = [];
      try {
        kids = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      } catch {
        // the thread or the process ended meanwhile
      }
      for (const k of kids) {
        if (out.includes(k)) continue;
        out.push(k);
        stack.push(k);
      }
    }
  }
  return out;
}

/** SIGKILL each pid that is still alive (a failed test's leftovers); never throws. */
export function killAll(pids: Iterable<number>): void {
  for (const p of pids) {
    if (isZombieOrGone(p)) continue;
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Run an ES module `script` in a child Node process (it imports the built package: make test
 * builds first) and resolve with the JSON of the first line it prints.
 */
export function spawnScript<T>(script: string): { child: ChildProcessByStdio<null, Readable, null>; firstLine: Promise<T> } {
  expect(existsSync(new URL('../../dist/index.js', import.meta.url)), 'run `npm run build` first').toBe(true);
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const firstLine = new Promise<T>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0]!) as T);
    });
    child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  return { child, firstLine };
}
