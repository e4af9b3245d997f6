/**
 * One Python process of a pool: spawning it, its pipes, its frames, its exit. It knows nothing of
 * queues or sessions; the pool decides what it runs and what happens when it fails.
 *
 * Frames travel on dedicated pipes (fd 3 requests, fd 4 replies) so user `print()`s on stdout or
 * stderr can never corrupt them; those streams are split into lines and handed to the pool's
 * logger within the pool's output bounds (output.ts: a rate cap, a line-length cap, drops counted
 * and reported). Python exits by itself when fd 3 closes, so it never outlives this process.
 *
 * Each process leads its own process group (and session): whatever user code starts in it
 * (`subprocess`, `multiprocessing`, `os.fork()`) stays in that group unless it leaves on purpose,
 * and every way this module ends a worker signals the whole group. A group id is the leader's pid,
 * so it is signalled only while Node has not reaped the leader (its pid cannot be reused yet), or,
 * after the exit, only when {@link killGroupLeftovers} can tell the pid is not reused.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { FrameDecoder, FrameError, parseFrame, readReplyError, type Frame } from './protocol.js';
import { PythonBridgeError } from '../contract/errors.js';
import type { WorkerState } from '../contract/pool-status.js';
import { workerArgs, type WorkerSpawnOptions } from './worker-env.js';
import type { WorkerRef, WorkerTerminateReason } from '../telemetry/telemetry.js';
import { OutputGate, type DroppedOutput, type OutputStream } from './output.js';
import { nowNs } from '../contract/clock.js';

/** What the pool learns from a worker. Plain callbacks: cheaper than an EventEmitter on the hot path. */
export interface WorkerHooks<C = unknown> {
  /** A reply frame after start-up. */
  onFrame(worker: PoolWorker<C>, frame: Frame): void;
  /**
   * A periodic user-metrics frame (`{"id": 0, "event": "metrics"}`, sent during a long call; issue
   * 19): `raw` is its unchecked `metrics` field. Optional: without it such frames are dropped.
   */
  onMetrics?(worker: PoolWorker<C>, raw: unknown): void;
  /** The reply stream broke the protocol; the pool must kill the worker. */
  onProtocolError(worker: PoolWorker<C>, err: FrameError): void;
  /** The process ended (after any reply bytes it wrote were delivered). */
  onExit(worker: PoolWorker<C>): void;
  /**
   * One line the Python process printed, within the output bounds; `cutFromBytes` is the line's
   * full length when it was cut to `outputMaxLineBytes`, else null.
   */
  onOutput(worker: PoolWorker<C>, stream: OutputStream, line: string, cutFromBytes: number | null): void;
  /** Lines dropped over `outputLinesPerSecond` in the last `intervalMs` (one call per interval at most). */
  onOutputDropped(worker: PoolWorker<C>, dropped: DroppedOutput, intervalMs: number): void;
}

/** Lines of stderr kept per worker, for start-failure and crash messages. */
const STDERR_TAIL_LINES = 20;
/** After 'exit', how long to wait for the reply pipe to drain before declaring the worker gone. */
const EXIT_DRAIN_MS = 100;
/** Workers lead their own process group where there are process groups (POSIX). */
const OWN_GROUP = process.platform !== 'win32';
/** A stack dump is complete once fd 5 has been quiet this long (faulthandler has no end marker). */
const STACK_QUIET_MS = 50;
/** Most bytes of one stack dump kept (the rest is read and dropped). */
const MAX_STACK_BYTES = 1 << 20;

/** A stack dump in progress (see {@link PoolWorker.dumpStack}). */
interface StackDump {
  readonly promise: Promise<string>;
  resolve(text: string): void;
  reject(err: PythonBridgeError): void;
  chunks: Buffer[];
  bytes: number;
  quiet: NodeJS.Timeout | null;
  deadline: NodeJS.Timeout;
}

/**
 * SIGKILL what is left of the process group `pgid` after its leader (a worker) was reaped: user
 * code's children, a `multiprocessing` child, an `os.fork()` copy. Returns true when a group was
 * signalled.
 *
 * Call it in the same tick the leader's 'exit' was delivered. POSIX: a process id is not reused
 * while a process group with that id exists. So a process that holds the pid `pgid` now (found by
 * `kill(pgid, 0)`, a zombie included; EPERM counts as found) proves the group is gone and the id
 * may be someone else's: nothing is signalled. Otherwise the id is still the group's, or nobody's.
 */
export function killGroupLeftovers(pgid: number): boolean {
  if (!OWN_GROUP || !(pgid > 1)) return false;
  try {
    process.kill(pgid, 0);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') return false;
  }
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false; // ESRCH: no member left
  }
}

/**
 * One Python process. Created by the pool; `start()` once; ends through `kill()` or `close()`.
 * `C` is the type of the call in flight: the pool's dispatcher owns it (`CallWorker` in
 * call-queue.ts), so this module needs to know nothing about calls.
 */
export class PoolWorker<C = unknown> implements WorkerRef {
  pid = 0;
  state: WorkerState = 'starting';
  /** Operations served / failed by this process. */
  operations = 0;
  errors = 0;
  readonly startedAtMs = Date.now();
  lastUsedAtMs: number | null = null;
  /** When it last answered anything (calls, health pings, control calls), ms since the epoch. */
  lastActiveAtMs: number | null = null;
  /** The call in flight (owned by the pool), or null. */
  inflight: C | null = null;
  /** Health checks failed in a row. */
  healthFailures = 0;
  /** When the pool decided to end this worker, why (else an exit is a crash). */
  endReason: WorkerTerminateReason | null = null;
  /** Set once the process has exited and its pipes drained. */
  exited = false;
  exitCode: number | null = null;
  signal: string | null = null;
  /** When the worker became ready (ns, monotonic). */
  readyAtNs = 0;
  /** Set when this worker should leave after its current call (pool shrinking, or recycled). */
  retiring = false;
  /** The terminate reason a retiring worker closes with: `resize` (shrink) or `recycle`. */
  retireReason: WorkerTerminateReason = 'resize';
  /** Set once a recycle of this process was decided (it is not decided twice). */
  recycling = false;
  /**
   * This process's draw in 0..1 for the recycling jitter: its limits are lowered by
   * `recycleJitterRatio × jitter`, so processes started together do not recycle together.
   */
  readonly jitter = Math.random();
  /** The duration the operation-timeout timer was armed with (see Dispatcher.run). */
  opTimerMs = 0;
  /** The pool's operation-timeout timer for this worker, re-armed per call (see Dispatcher.run). */
  opTimer: NodeJS.Timeout | null = null;
  /** True once the ready frame said faulthandler listens on SIGUSR2 (`stack_dump`; issue 19). */
  stackDumpReady = false;
  /** The dump being read from fd 5, or null. */
  private stackDump: StackDump | null = null;

  /** Bounds this process's stdout/stderr; counts what it dropped and cut (set by start()). */
  private output: OutputGate | null = null;
  private child: ChildProcess | null = null;
  private requests: Writable | null = null;
  private readonly stderrTail: string[] = [];
  private ready = false;
  private exitSeen = false;
  private repliesEnded = false;
  private exitDrainTimer: NodeJS.Timeout | null = null;
  private startSettle: ((err: PythonBridgeError | null) => void) | null = null;
  private readonly exitWaiters: (() => void)[] = [];

  /**
   * @param workerId the slot, or -1 for a warm spare (see spares.ts): a spare is given its slot
   *   and generation (`workerId`, `generation`) when it takes one, and keeps them.
   */
  constructor(
    readonly pool: string,
    public workerId: number,
    public generation: number,
    private readonly hooks: WorkerHooks<C>,
  ) {}

  /** Spawn the process and resolve when its ready frame arrives; rejects with `worker`/`start_failed`. */
  start(opts: WorkerSpawnOptions): Promise<number> {
    const startNs = nowNs();
    return new Promise<number>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      this.startSettle = (err) => {
        this.startSettle = null;
        if (timer) clearTimeout(timer);
        if (err) reject(err);
        else resolve(nowNs() - startNs);
      };
      let child: ChildProcess;
      try {
        child = spawn(opts.python, workerArgs(opts, this.workerId), {
          // fd 5: faulthandler's stack dumps (dumpStack; DSPEX_STACK_FD in worker-env.ts).
          stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
          env: opts.env,
          // Its own process group and session (setsid), so the pool can end everything it starts.
          // Not unref'd: a live worker keeps Node's event loop alive exactly as a plain spawn does.
          // Outside the terminal's foreground group it gets no terminal SIGINT/SIGHUP: Node's own
          // exit ends it (EOF on fd 3, or PR_SET_PDEATHSIG, see dspex_worker.py).
          detached: OWN_GROUP,
        });
      } catch (err) {
        // spawn() throws synchronously for some bad input (e.g. a NUL byte in argv or env): no
        // process, so no 'exit' will come. Finish here so close()/waitExit() never hang.
        this.failStart(`could not spawn ${opts.python}: ${(err as Error).message}`, err);
        this.exitSeen = true;
        this.finishExit();
        return;
      }
      this.child = child;
      this.pid = child.pid ?? 0;
      timer = setTimeout(() => {
        this.failStart(`worker did not become ready within ${opts.startTimeoutMs} ms`);
        this.kill('start_failed');
      }, opts.startTimeoutMs);
      timer.unref();

      const requests = child.stdio[3] as Writable;
      const replies = child.stdio[4] as Readable;
      const stacks = (child.stdio as unknown as readonly (Readable | null | undefined)[])[5] ?? null;
      if (stacks) {
        // Always read: a dump nobody waits for (a late one) is dropped, never left in the pipe.
        stacks.on('data', (chunk: Buffer) => this.stackChunk(chunk));
        stacks.on('error', () => {});
      }
      this.requests = requests;
      // A write to a dead process fails with EPIPE; its exit is handled by the 'exit' listener.
      requests.on('error', () => {});
      const decoder = new FrameDecoder(opts.maxMessageBytes, (text) => this.handleText(text));
      replies.on('data', (chunk: Buffer) => {
        // Once the pool has decided to end this process, nothing it says is trusted any more.
        if (this.exited || this.endReason !== null) return;
        try {
          decoder.push(chunk);
        } catch (err) {
          if (err instanceof FrameError) this.protocolError(err);
          else throw err;
        }
      });
      const onRepliesEnd = (): void => {
        this.repliesEnded = true;
        if (this.exitSeen) this.finishExit();
      };
      replies.on('end', onRepliesEnd);
      replies.on('close', onRepliesEnd);
      replies.on('error', () => {});
      const output = new OutputGate(opts.output, {
        line: (stream, text, cutFromBytes) => this.line(stream, text, cutFromBytes),
        dropped: (counts, intervalMs) => this.hooks.onOutputDropped(this, counts, intervalMs),
      });
      this.output = output;
      this.pipeLines(child.stdout as Readable, output, 'stdout');
      this.pipeLines(child.stderr as Readable, output, 'stderr');
      child.on('error', (err) => {
        // spawn failures (ENOENT, EACCES) arrive here; no 'exit' may follow.
        this.failStart(`could not spawn ${opts.python}: ${err.message}`, err);
        if (!this.exitSeen) {
          this.exitSeen = true;
          this.finishExit();
        }
      });
      child.on('exit', (code, signal) => {
        this.exitCode = code;
        this.signal = signal;
        this.exitSeen = true;
        // Node reaped the worker just before this listener ran: end its group's leftovers now,
        // before anything else (finishExit may spawn the replacement) and before the pid can be reused.
        killGroupLeftovers(this.pid);
        // Reply bytes written just before the exit may still be in the pipe: let them through.
        if (this.repliesEnded) this.finishExit();
        else {
          this.exitDrainTimer = setTimeout(() => this.finishExit(), EXIT_DRAIN_MS);
          this.exitDrainTimer.unref();
        }
      });
    });
  }

  /** Write one encoded frame. Returns false when the process can no longer receive it. */
  send(frame: Buffer): boolean {
    const req = this.requests;
    if (this.exitSeen || req === null || req.destroyed || !req.writable) return false;
    req.write(frame);
    return true;
  }

  /** Lines of output dropped over the rate cap so far (both streams). */
  get outputLinesDropped(): number {
    return this.output?.linesDropped ?? 0;
  }

  /** Lines of output cut to the line-length cap so far (both streams). */
  get outputLinesCut(): number {
    return this.output?.linesCut ?? 0;
  }

  /** The last lines of stderr, for error messages. */
  stderrText(): string {
    return this.stderrTail.join('\n');
  }

  /**
   * Decide to end this process (for `reason`) without killing it yet: from now on nothing it sends
   * on fd 4 is trusted (late replies are dropped) and it serves nothing; the stack-dump pipe stays
   * open, so a last {@link dumpStack} can run before {@link kill} (issue 19, the hang guard).
   */
  condemn(reason: WorkerTerminateReason): void {
    if (this.endReason === null) this.endReason = reason;
    this.state = 'stopping';
  }

  /** Kill the process and its process group at once (SIGKILL). `reason` is recorded for the terminate event. */
  kill(reason: WorkerTerminateReason): void {
    if (this.endReason === null) this.endReason = reason;
    this.state = 'stopping';
    this.killGroup();
  }

  /**
   * End the process gracefully: close its request pipe (Python exits on EOF), SIGKILL to its
   * process group after `graceMs`; whatever is left of the group when it exits gets SIGKILL too.
   * Resolves when it has exited.
   */
  close(reason: WorkerTerminateReason, graceMs: number): Promise<void> {
    if (this.endReason === null) this.endReason = reason;
    this.state = 'stopping';
    if (this.exited) return Promise.resolve();
    const done = this.waitExit();
    if (this.child && !this.exitSeen) {
      this.requests?.end();
      const t = setTimeout(() => this.killGroup(), graceMs);
      t.unref();
      void done.then(() => clearTimeout(t));
    }
    return done;
  }

  /** Resolves once the process has exited. */
  waitExit(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /**
   * SIGKILL the worker's process group (the worker included), only while Node has not reaped the
   * worker: until then its pid, hence the group id, cannot be reused. Falls back to the worker
   * alone when the group cannot be signalled.
   */
  private killGroup(): void {
    const child = this.child;
    if (!child || this.exitSeen) return;
    if (OWN_GROUP && this.pid > 0) {
      try {
        process.kill(-this.pid, 'SIGKILL');
        return;
      } catch {
        // EPERM (a member changed its user) or ESRCH: at least end the worker itself
      }
    }
    child.kill('SIGKILL');
  }

  private failStart(message: string, cause?: unknown, traceback?: string): void {
    const settle = this.startSettle;
    if (!settle) return;
    const tail = this.stderrText();
    settle(
      new PythonBridgeError('worker', 'start_failed', message + (tail && !traceback ? `\n--- stderr ---\n${tail}` : ''), {
        cause,
        details: { pool: this.pool, workerId: this.workerId, pid: this.pid, ...(traceback ? { traceback } : {}) },
      }),
    );
  }

  private handleText(text: string): void {
    if (this.endReason !== null) return;
    let frame: Frame;
    try {
      frame = parseFrame(text);
    } catch (err) {
      if (err instanceof FrameError) return this.protocolError(err);
      throw err;
    }
    if (this.ready) {
      // A periodic user-metrics frame (issue 19) is the only frame with id 0 after ready.
      if (frame.id === 0 && frame['event'] === 'metrics') this.hooks.onMetrics?.(this, frame['metrics']);
      else this.hooks.onFrame(this, frame);
      return;
    }
    // Start-up: the first frame is `ready` or `startup_error`.
    if (frame.id === 0 && frame['event'] === 'ready') {
      this.ready = true;
      this.stackDumpReady = frame['stack_dump'] === true;
      this.state = 'idle';
      this.readyAtNs = nowNs();
      this.startSettle?.(null);
      return;
    }
    if (frame.id === 0 && frame['event'] === 'startup_error') {
      const e = readReplyError(frame['error']);
      this.failStart(`worker failed to start: ${e.type}: ${e.message}`, undefined, e.traceback);
      return;
    }
    this.protocolError(new FrameError('missing_id', 'expected a ready frame first'));
  }

  private protocolError(err: FrameError): void {
    if (this.startSettle) {
      this.failStart(`worker sent an invalid start-up frame: ${err.message}`, err);
      this.kill('protocol_error');
      return;
    }
    this.hooks.onProtocolError(this, err);
  }

  /**
   * The Python traceback of every thread of this process, now, without stopping it (issue 19):
   * SIGUSR2 makes faulthandler write them to fd 5 from its signal handler (no GIL needed, so it
   * works while the worker is busy in Python code); the text is complete once fd 5 has been quiet
   * for 50 ms. Concurrent requests share one dump. Rejects with `worker` / `stack_unavailable`
   * when the worker cannot dump (not ready, exited, faulthandler not registered) or nothing came
   * within `timeoutMs`.
   */
  dumpStack(timeoutMs = 2000): Promise<string> {
    if (this.stackDump !== null) return this.stackDump.promise;
    const unavailable = (why: string): PythonBridgeError =>
      new PythonBridgeError('worker', 'stack_unavailable', `no stack from worker ${this.workerId} (pid ${this.pid}): ${why}`, {
        details: { pool: this.pool, workerId: this.workerId, pid: this.pid },
      });
    if (!this.ready || !this.stackDumpReady || this.exitSeen || this.pid <= 0) {
      return Promise.reject(unavailable(this.exitSeen ? 'it has exited' : !this.ready ? 'it is not ready' : 'its stack dumps are off (no fd 5, or faulthandler could not register)'));
    }
    let resolve!: (text: string) => void;
    let reject!: (err: PythonBridgeError) => void;
    const promise = new Promise<string>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const dump: StackDump = {
      promise,
      resolve,
      reject,
      chunks: [],
      bytes: 0,
      quiet: null,
      deadline: setTimeout(() => this.endStackDump(unavailable(`nothing within ${timeoutMs} ms`)), timeoutMs),
    };
    dump.deadline.unref();
    this.stackDump = dump;
    try {
      // The worker alone, not its group: its children have no such handler (SIGUSR2 would end them).
      process.kill(this.pid, 'SIGUSR2');
    } catch (err) {
      this.endStackDump(unavailable(`could not signal it: ${(err as Error).message}`));
    }
    return promise;
  }

  private stackChunk(chunk: Buffer): void {
    const d = this.stackDump;
    if (d === null) return;
    if (d.bytes < MAX_STACK_BYTES) {
      const keep = chunk.length <= MAX_STACK_BYTES - d.bytes ? chunk : chunk.subarray(0, MAX_STACK_BYTES - d.bytes);
      d.chunks.push(keep);
      d.bytes += keep.length;
    }
    if (d.quiet === null) {
      d.quiet = setTimeout(() => this.endStackDump(null), STACK_QUIET_MS);
      d.quiet.unref();
    } else d.quiet.refresh();
  }

  /** Finish the dump in progress: with its text (`err` null), or with `err` when nothing came. */
  private endStackDump(err: PythonBridgeError | null): void {
    const d = this.stackDump;
    if (d === null) return;
    this.stackDump = null;
    clearTimeout(d.deadline);
    if (d.quiet) clearTimeout(d.quiet);
    if (d.bytes > 0) d.resolve(Buffer.concat(d.chunks, d.bytes).toString('utf8'));
    else d.reject(err ?? new PythonBridgeError('worker', 'stack_unavailable', `no stack from worker ${this.workerId} (pid ${this.pid})`, { details: { pool: this.pool, workerId: this.workerId, pid: this.pid } }));
  }

  private finishExit(): void {
    if (this.exited) return;
    this.exited = true;
    // A dump in progress ends with what arrived before the exit (or fails).
    if (this.stackDump !== null) this.endStackDump(new PythonBridgeError('worker', 'stack_unavailable', `worker ${this.workerId} (pid ${this.pid}) exited during the stack dump`, { details: { pool: this.pool, workerId: this.workerId, pid: this.pid } }));
    if (this.exitDrainTimer) clearTimeout(this.exitDrainTimer);
    this.state = 'stopping';
    const how = this.signal ? `signal ${this.signal}` : `code ${this.exitCode}`;
    this.failStart(`worker exited before it was ready (${how})`);
    this.hooks.onExit(this);
    for (const w of this.exitWaiters.splice(0)) w();
  }

  /** Read `stream` to its end, always: what the bounds drop is read and discarded, never left in the pipe. */
  private pipeLines(stream: Readable, output: OutputGate, name: OutputStream): void {
    const reader = output.reader(name);
    stream.on('data', (chunk: Buffer) => reader.push(chunk));
    stream.once('end', () => reader.end());
    stream.on('error', () => {});
  }

  private line(stream: OutputStream, line: string, cutFromBytes: number | null): void {
    if (stream === 'stderr') {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    }
    this.hooks.onOutput(this, stream, line, cutFromBytes);
  }
}
