/**
 * The baseline every pool benchmark is measured against: the pool's own Python worker script,
 * driven directly over the same fd 3 / fd 4 pipes and the same framing with no pool, no
 * supervision and no telemetry. One request in flight per process, callers queued in order (the
 * pool's own work model), so a pooled ÷ bare ratio is the pool's overhead and nothing else.
 *
 * Also here: {@link drive}, the closed loop of callers every throughput figure comes from.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { WORKER_SCRIPT } from '../pool/worker-env.js';
import { encodeFrame, FrameDecoder } from '../pool/protocol.js';
import { quantileSorted } from './report.js';

/** What {@link drive} measured. */
export interface RunResult {
  ops: number;
  seconds: number;
  /** Every call's latency in µs (up to the first 4 M calls), ascending. */
  latUs: Float64Array;
}

/**
 * Drive `call` from `concurrency` loops for `ms` (each loop awaits its call before the next: a
 * closed loop, as a service's request handlers are), recording each call's latency.
 */
export async function drive(concurrency: number, ms: number, call: (loop: number) => Promise<unknown>): Promise<RunResult> {
  const lat = new Float64Array(4_000_000);
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      while (performance.now() < end) {
        const s = performance.now();
        await call(loop);
        if (n < lat.length) lat[n] = (performance.now() - s) * 1000;
        n++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { ops: n, seconds, latUs: lat.slice(0, Math.min(n, lat.length)).sort() };
}

/** Throughput and p50 / p99 (µs, nearest rank over every call's latency) of several {@link drive} runs together. Pure. */
export function summarizeRuns(rs: readonly RunResult[]): { opsPerS: number; p50Us: number; p99Us: number; calls: number } {
  const all = new Float64Array(rs.reduce((a, r) => a + r.latUs.length, 0));
  let o = 0;
  for (const r of rs) {
    all.set(r.latUs, o);
    o += r.latUs.length;
  }
  all.sort();
  const ops = rs.reduce((a, r) => a + r.ops, 0);
  return { opsPerS: ops / rs.reduce((a, r) => a + r.seconds, 0), p50Us: quantileSorted(all, 0.5), p99Us: quantileSorted(all, 0.99), calls: ops };
}

/** One bare worker process: one request in flight, callers queued in order. */
export class BareWorker {
  private readonly child: ChildProcess;
  private readonly requests: Writable;
  private pending: ((text: string) => void) | null = null;
  private readonly waiting: (() => void)[] = [];
  private nextId = 0;
  /** Resolves on the worker's `ready` frame; rejects on `startup_error` or an exit before it. */
  readonly ready: Promise<void>;

  /**
   * @param slot the worker id the script is given
   * @param maxFrameBytes the largest reply frame accepted (the pool's default is 16 MiB)
   */
  constructor(slot: number, maxFrameBytes = 1 << 24) {
    this.child = spawn('python3', ['-u', WORKER_SCRIPT, `--dspex-run-id=${process.pid}.bench`, `--dspex-worker-id=${slot}`], {
      stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', DSPEX_OWNER_PID: String(process.pid), DSPEX_MODULES: '' },
    });
    this.requests = this.child.stdio[3] as Writable;
    let onReady: () => void = () => {};
    let onFail: (err: Error) => void = () => {};
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    let first = true;
    const decoder = new FrameDecoder(maxFrameBytes, (text) => {
      if (first) {
        first = false;
        const frame = JSON.parse(text) as { event?: string; error?: { message?: string } };
        if (frame.event === 'ready') onReady();
        else onFail(new Error(`bare worker ${slot} did not start: ${frame.error?.message ?? text.slice(0, 200)}`));
        return;
      }
      const p = this.pending;
      this.pending = null;
      p?.(text);
      this.waiting.shift()?.();
    });
    (this.child.stdio[4] as Readable).on('data', (c: Buffer) => decoder.push(c));
    this.child.once('error', (err) => onFail(err));
    this.child.once('exit', (code, signal) => {
      if (first) onFail(new Error(`bare worker ${slot} exited before it was ready (${signal ?? `code ${code}`})`));
    });
  }

  /** The worker's `echo` command: returns `args` as Python parsed and re-serialized them. */
  echo(args: unknown): Promise<unknown> {
    return this.call('echo', args);
  }

  /** Any command of the worker script, one in flight at a time. */
  async call(command: string, args: unknown): Promise<unknown> {
    while (this.pending !== null) await new Promise<void>((r) => this.waiting.push(r));
    return new Promise((resolve) => {
      this.pending = (text) => resolve((JSON.parse(text) as { result: unknown }).result);
      const id = ++this.nextId;
      this.requests.write(encodeFrame(`{"id":${id},"command":${JSON.stringify(command)},"args":${JSON.stringify(args)},"session_id":null}`));
    });
  }

  /** The process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Close its request pipe (the script exits at end of input) and wait for the exit. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.requests.end();
    });
  }
}
