/**
 * Leak checks for tests of code that uses dspex: which Python workers of this process are alive,
 * and a wait until none is. Linux only (reads /proc); elsewhere the list is empty.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { invalidArgument, PythonBridgeError } from '../contract/errors.js';
import { identifyWorker } from '../resources/proc.js';

/** True when the process is gone or a zombie (exited, not yet reaped). */
function goneOrZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/**
 * Pids of live dspex Python workers started by the process `ownerPid` (default: this one), by
 * the library's own recognition rule (a Python interpreter running `dspex_worker.py` whose run id
 * names the owner), so a pyenv shim or a shell that merely mentions the script is not counted.
 */
export function workerPids(ownerPid: number = process.pid): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const tag = `--dspex-run-id=${ownerPid}.`;
  const out: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    const args = cmdline.split('\0').filter((a) => a.length > 0);
    if (identifyWorker(args) === null || !args.some((a) => a.startsWith(tag))) continue;
    if (!goneOrZombie(Number(name))) out.push(Number(name));
  }
  return out;
}

/** Options of {@link waitForNoWorkers}. */
export interface WaitForNoWorkersOptions {
  /** Longest wait (default 5000 ms). */
  timeoutMs?: number;
  /** Poll interval (default 20 ms). */
  intervalMs?: number;
  /** Whose workers (default: this process). */
  ownerPid?: number;
}

/**
 * Resolves once no dspex worker of this process is alive (call it after stopping every pool in a
 * test); rejects with a {@link PythonBridgeError} (`timeout` / `operation`) listing the pids still
 * alive when `timeoutMs` passes.
 */
export async function waitForNoWorkers(options: WaitForNoWorkersOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 20;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw invalidArgument('waitForNoWorkers', 'timeoutMs', 'must be a number ≥ 0');
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw invalidArgument('waitForNoWorkers', 'intervalMs', 'must be a number > 0');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = workerPids(options.ownerPid);
    if (alive.length === 0) return;
    if (Date.now() >= deadline) {
      throw new PythonBridgeError('timeout', 'operation', `dspex workers still alive after ${timeoutMs} ms: pids ${alive.join(', ')}`, { details: { timeoutMs, pids: alive } });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
