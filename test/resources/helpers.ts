/**
 * Helpers for the resource tests: real Python processes that look like dspex workers, and a
 * record of every pid a test started so it can assert none is left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import type { ResourcePoolSource, ResourcePoolWorker } from '../../src/resources/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A temp dir holding a copy of a fixture script named `dspex_worker.py` (so it is recognised as a worker). */
export function workerDir(fixture: 'probe_worker.py' | 'stuck_worker.py'): { dir: string; script: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'dspex-res-'));
  const script = join(dir, 'dspex_worker.py');
  copyFileSync(join(fixtures, fixture), script);
  return { dir, script, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A run id in the library's format for the given owner pid. */
export function makeRunId(owner: number = process.pid): string {
  return `${owner}.${randomBytes(6).toString('hex')}`;
}

/** Options for `vi.waitFor` in these tests: Python start-up through a pyenv shim on a loaded 2-core machine can take seconds. */
export const WAIT = { timeout: 10_000, interval: 25 } as const;

/** Every pid a test in this file started (Python processes and helper Node processes). */
export const startedPids = new Set<number>();

/** True when the pid is a live process (present in /proc and not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** SIGKILL every started pid still alive and wait until all are gone; returns the pids that were still alive. */
export async function killStarted(): Promise<number[]> {
  const leftover: number[] = [];
  for (const pid of startedPids) {
    if (!isAlive(pid)) continue;
    leftover.push(pid);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await vi.waitFor(() => {
    for (const pid of startedPids) if (isAlive(pid)) throw new Error(`pid ${pid} still alive`);
  }, { timeout: 10_000, interval: 20 });
  startedPids.clear();
  return leftover;
}

/** A probe process (fixtures/probe_worker.py) driven over stdin/stdout. */
export class Probe {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly runId: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly lines: string[] = [];
  private waiter: ((line: string) => void) | null = null;

  private constructor(child: ChildProcess, runId: string) {
    this.child = child;
    this.runId = runId;
    if (child.pid === undefined) throw new Error('spawn failed');
    this.pid = child.pid;
    startedPids.add(this.pid);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(line);
      } else this.lines.push(line);
    });
  }

  /** Start a probe from `script` with a worker-like argv; resolves once it said "ready". */
  static async start(script: string, workerId = 0, runId = makeRunId()): Promise<Probe> {
    const child = spawn('python3', ['-u', script, `--dspex-run-id=${runId}`, `--dspex-worker-id=${workerId}`], { stdio: ['pipe', 'pipe', 'inherit'] });
    const probe = new Probe(child, runId);
    const ready = await probe.next();
    if (!ready.startsWith('ready')) throw new Error(`probe said ${ready}`);
    return probe;
  }

  private next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('probe did not answer within 15 s')), 15_000);
      this.waiter = (l) => {
        clearTimeout(timer);
        resolve(l);
      };
    });
  }

  /** Send one command and wait for its reply line. */
  async send(command: string): Promise<string> {
    this.child.stdin!.write(command + '\n');
    const reply = await this.next();
    if (!reply.startsWith('ok')) throw new Error(`probe: ${command} -> ${reply}`);
    return reply;
  }

  /** Send a command that gets no reply (exit). */
  fire(command: string): void {
    this.child.stdin!.write(command + '\n');
  }
}

/** A fake pool listing the given probes as its workers. */
export class FakePool implements ResourcePoolSource {
  readonly name: string;
  workers: ResourcePoolWorker[] = [];
  constructor(name: string) {
    this.name = name;
  }
  add(pid: number, id: number, generation = 0): void {
    this.workers.push({ id, pid, state: 'idle', generation });
  }
  status(): { workers: readonly ResourcePoolWorker[] } {
    return { workers: this.workers };
  }
}

/**
 * Start a short-lived Node process that spawns `script` detached with a worker argv whose run id
 * names that Node process as owner, and prints the Python pid. Returns both; the caller decides
 * whether to kill the Node process (making the Python process an orphan).
 */
export async function spawnOwnedWorker(script: string, extraArgs: string[] = []): Promise<{ owner: ChildProcess; ownerPid: number; pythonPid: number; runId: string; ownerExited: Promise<void> }> {
  const code = `
    const { spawn } = require('node:child_process');
    const runId = process.pid + '.' + require('node:crypto').randomBytes(6).toString('hex');
    const c = spawn('python3', [${JSON.stringify(script)}, '--dspex-run-id=' + runId, '--dspex-worker-id=0', ...${JSON.stringify(extraArgs)}], { detached: true, stdio: 'ignore' });
    c.unref();
    process.stdout.write(JSON.stringify({ pid: c.pid, runId }) + '\\n');
    setInterval(() => {}, 1000);
  `;
  const owner = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  if (owner.pid === undefined) throw new Error('spawn failed');
  startedPids.add(owner.pid);
  const ownerExited = new Promise<void>((resolve) => owner.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: owner.stdout });
    const timer = setTimeout(() => reject(new Error('owner did not report within 15 s')), 15_000);
    rl.once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
  });
  const { pid, runId } = JSON.parse(line) as { pid: number; runId: string };
  startedPids.add(pid);
  return { owner, ownerPid: owner.pid, pythonPid: pid, runId, ownerExited };
}

/** The argv of a live process, or [] (for assertions on real /proc). */
export function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((x) => x.length > 0);
  } catch {
    return [];
  }
}

/** The `ns/pid` link every process of the fixture tree shares with `self` (pid 100). */
export const FIXTURE_PID_NS = 'pid:[4026531836]';

/**
 * The shared fixture /proc tree (test/fixtures/proc, see its README) copied to a temp dir and
 * completed with what a real /proc has for every process and the checked-in tree lacks: `self`
 * (-> 100, the `selfPid` of the fixture tests), an `ns/pid` link (all in {@link FIXTURE_PID_NS}),
 * and a `status` with `NSpid` where the tree has no status. `addProcess` adds cases of a test's own.
 */
export function fixtureProcTree(): {
  root: string;
  addProcess(pid: number, files: { stat: string; cmdline: string[]; status?: string; pidNs?: string | null }): void;
  remove(): void;
} {
  const root = join(mkdtempSync(join(tmpdir(), 'dspex-proc-')), 'proc');
  cpSync(fileURLToPath(new URL('../fixtures/proc', import.meta.url)), root, { recursive: true });
  symlinkSync('100', join(root, 'self'));
  for (const name of readdirSync(root)) {
    if (!/^[0-9]+$/.test(name)) continue;
    mkdirSync(join(root, name, 'ns'));
    symlinkSync(FIXTURE_PID_NS, join(root, name, 'ns', 'pid'));
    if (!existsSync(join(root, name, 'status'))) writeFileSync(join(root, name, 'status'), `NSpid:\t${name}\n`);
  }
  return {
    root,
    addProcess(pid, files) {
      const d = join(root, String(pid));
      mkdirSync(join(d, 'fd'), { recursive: true });
      writeFileSync(join(d, 'stat'), files.stat);
      writeFileSync(join(d, 'cmdline'), files.cmdline.join('\0') + '\0');
      writeFileSync(join(d, 'status'), files.status ?? `NSpid:\t${pid}\n`);
      if (files.pidNs !== null) {
        mkdirSync(join(d, 'ns'));
        symlinkSync(files.pidNs ?? FIXTURE_PID_NS, join(d, 'ns', 'pid'));
      }
    },
    remove: () => rmSync(join(root, '..'), { recursive: true, force: true }),
  };
}
