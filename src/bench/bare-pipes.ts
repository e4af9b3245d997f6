/**
 * The baseline every pool benchmark is measured against: the pool's own Python worker script,
 * driven directly over the same fd 3 / fd 4 pipes and the same framing with no pool, no
 * supervision and no telemetry. One request in flight per process, callers queued in order (the
 * pool's own work model), so a pooled ÷ bare ratio is the pool's overhead and nothing else.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { WORKER_SCRIPT } from '../pool/worker-env.js';
import { encodeFrame, FrameDecoder } from '../pool/protocol.js';

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
