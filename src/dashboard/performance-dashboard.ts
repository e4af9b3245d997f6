/**
 * The live terminal dashboard: owns the terminal (alternate screen, hidden cursor, raw keys), a
 * refresh loop over a snapshot source, and the restore on every exit path.
 *
 * Drawing: each frame is exactly the terminal's height (see {@link renderFrame}); only lines that
 * changed since the last frame are rewritten, in place (cursor positioning + erase to end of
 * line), inside a synchronized-update bracket (DEC 2026, ignored by terminals that lack it). The
 * screen is never cleared and scrolled. Autowrap is off while the dashboard runs, so a line that a
 * terminal measures wider than we do is cut, not wrapped.
 *
 * Throttling: one snapshot request at a time (a tick that finds one pending is skipped), one write
 * at a time (when stdout reports back-pressure, the next frame waits for `drain`).
 *
 * Restore (leave the alternate screen, show the cursor, reset colors, autowrap on, raw mode off)
 * runs exactly once on: `q` / Ctrl-C, {@link PerformanceDashboard.stop}, SIGINT / SIGTERM, an
 * uncaught exception (via `uncaughtExceptionMonitor`, so the crash itself is not swallowed) and
 * process `exit`.
 *
 * @module
 */
import { invalidState } from '../contract/errors.js';
import type { MonitoringSnapshot } from '../contract/snapshot.js';
import type { WindowName } from '../contract/metrics.js';
import type { PythonStack } from '../contract/inside-python.js';
import type { StackView } from './stack-panel.js';
import { RESET, visibleWidth } from './ansi.js';
import { renderFrame, selectPool, type TerminalSize } from './frame.js';
import { emptySnapshot } from './sample.js';
import { clampRefreshMs, initialViewState, reduceKey, splitKeys, type ViewState } from './view-state.js';

/** Where the dashboard gets its data: an in-process collector, or a monitoring server's `/api/snapshot`. */
export interface SnapshotSource {
  /** The picture for a window. May throw / reject: the dashboard shows the error and retries next tick. */
  snapshot(window: WindowName): Promise<MonitoringSnapshot> | MonitoringSnapshot;
  /**
   * Every thread's Python stack of one worker, now (issue 19; key `d`). Optional: without it the
   * overlay says the source cannot take stacks.
   */
  stack?(pool: string, workerId: number): Promise<PythonStack>;
}

/** The keyboard side (process.stdin, or any readable for tests). */
export type DashboardInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };

/** The screen side (process.stdout, or any writable with `columns` / `rows` for tests). */
export type DashboardOutput = NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };

/** Why the dashboard ended. */
export type DashboardExitReason = 'quit' | 'stop' | 'signal' | 'crash' | 'exit';

/** Options of {@link PerformanceDashboard}. */
export interface DashboardOptions {
  source: SnapshotSource;
  /** Default `process.stdin`. */
  stdin?: DashboardInput;
  /** Default `process.stdout`. */
  stdout?: DashboardOutput;
  /** Refresh interval, ms (default 1000, clamped to 250..10000). */
  refreshMs?: number;
  /** Colors (default {@link colorEnabled} for stdout). */
  color?: boolean;
  /** Initial window (default `1m`). */
  window?: WindowName;
  /**
   * Called once after the terminal was restored. The dashboard never exits the process itself:
   * the owner stops its pools and exits here. Without `onExit`, a SIGINT / SIGTERM with no other
   * listener is re-raised after the restore (the default signal behavior).
   */
  onExit?: (reason: DashboardExitReason, detail?: unknown) => void;
  /** Install SIGINT / SIGTERM / uncaught-exception / exit hooks (default true; tests turn it off). */
  handleProcessEvents?: boolean;
  /** Size when stdout does not report one (default 100×30). */
  fallbackSize?: TerminalSize;
}

/** The escape sequences the dashboard writes around its frames. */
export const terminalSequences = {
  /** Alternate screen on, cursor hidden, autowrap off, cursor home. */
  enter: '\u001b[?1049h\u001b[?25l\u001b[?7l\u001b[H',
  /** Colors reset, autowrap on, cursor shown, alternate screen off. */
  leave: `${RESET}\u001b[?7h\u001b[?25h\u001b[?1049l`,
  beginSync: '\u001b[?2026h',
  endSync: '\u001b[?2026l',
  eraseLine: '\u001b[K',
} as const;

/**
 * Whether to use colors: off when `NO_COLOR` is set and non-empty (no-color.org) or `--no-color`
 * was given, on when `FORCE_COLOR` is set and not `0`, otherwise on for a TTY.
 */
export function colorEnabled(opts: { env?: NodeJS.ProcessEnv; isTTY?: boolean; noColorFlag?: boolean } = {}): boolean {
  const env = opts.env ?? process.env;
  if (opts.noColorFlag) return false;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  return opts.isTTY ?? process.stdout.isTTY === true;
}

/**
 * One frame as plain text for `--once`: the lines joined with newlines (trailing newline), no
 * cursor or screen sequences; colors only when `color` is true.
 */
export function renderOnce(snapshot: MonitoringSnapshot, size: TerminalSize, opts: { color?: boolean; view?: Partial<ViewState> } = {}): string {
  const view = initialViewState({ window: snapshot.window, ...opts.view });
  return renderFrame(snapshot, view, size, opts.color ?? false).join('\n') + '\n';
}

function message(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}

/** The live dashboard. `start()` takes the terminal over; `stop()` (or any exit path) gives it back. */
export class PerformanceDashboard {
  readonly #source: SnapshotSource;
  readonly #stdin: DashboardInput;
  readonly #stdout: DashboardOutput;
  readonly #color: boolean;
  readonly #onExit: DashboardOptions['onExit'];
  readonly #handleProcessEvents: boolean;
  readonly #fallback: TerminalSize;
  #view: ViewState;
  #snapshot: MonitoringSnapshot | null = null;
  /** The last snapshot that rendered without error. */
  #lastDrawn: MonitoringSnapshot | null = null;
  #error: string | null = null;
  #running = false;
  #ended = false;
  #timer: NodeJS.Timeout | null = null;
  #pending = false;
  #pendingWindow: WindowName | null = null;
  #blocked = false;
  #dirty = false;
  #prev: string[] | null = null;
  #rawModeSet = false;
  #renders = 0;
  #skippedTicks = 0;
  /** The stack overlay's content (key `d`), and which request it is for. */
  #stack: StackView | null = null;
  #stackSeq = 0;

  readonly #onData = (chunk: string | Buffer): void => this.#handleInput(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
  readonly #onResize = (): void => {
    this.#prev = null;
    this.#render();
  };
  readonly #onDrain = (): void => {
    this.#blocked = false;
    if (this.#dirty) this.#render();
  };
  readonly #onSigint = (): void => this.#onSignal('SIGINT');
  readonly #onSigterm = (): void => this.#onSignal('SIGTERM');
  readonly #onCrash = (err: unknown): void => this.#exit('crash', err);
  readonly #onProcessExit = (): void => this.#exit('exit');

  /** Create a dashboard; nothing touches the terminal before {@link start}. */
  constructor(opts: DashboardOptions) {
    this.#source = opts.source;
    this.#stdin = opts.stdin ?? process.stdin;
    this.#stdout = opts.stdout ?? process.stdout;
    this.#color = opts.color ?? colorEnabled({ isTTY: this.#stdout.isTTY === true });
    this.#onExit = opts.onExit;
    this.#handleProcessEvents = opts.handleProcessEvents ?? true;
    this.#fallback = opts.fallbackSize ?? { columns: 100, rows: 30 };
    this.#view = initialViewState({ refreshMs: clampRefreshMs(opts.refreshMs ?? 1000), window: opts.window ?? '1m' });
  }

  /** The current view (window, pause, refresh, sort, help, pool). */
  get view(): ViewState {
    return this.#view;
  }

  /** Whether the dashboard holds the terminal. */
  get running(): boolean {
    return this.#running;
  }

  /** Frames written and ticks skipped because a snapshot request was still pending. */
  get stats(): { renders: number; skippedTicks: number } {
    return { renders: this.#renders, skippedTicks: this.#skippedTicks };
  }

  /** Take the terminal over and start refreshing. Throws when already started or ended. */
  start(): void {
    if (this.#running || this.#ended) throw invalidState('PerformanceDashboard.start', 'start() was called twice');
    this.#running = true;
    this.#stdout.write(terminalSequences.enter);
    if (this.#stdin.isTTY && typeof this.#stdin.setRawMode === 'function') {
      this.#stdin.setRawMode(true);
      this.#rawModeSet = true;
    }
    this.#stdin.on('data', this.#onData);
    this.#stdin.resume();
    this.#stdout.on('resize', this.#onResize);
    this.#stdout.on('drain', this.#onDrain);
    if (this.#handleProcessEvents) {
      process.on('SIGINT', this.#onSigint);
      process.on('SIGTERM', this.#onSigterm);
      process.on('uncaughtExceptionMonitor', this.#onCrash);
      process.on('exit', this.#onProcessExit);
    }
    this.#render();
    this.#schedule();
    void this.#refresh();
  }

  /** Give the terminal back (idempotent); calls `onExit('stop')`. */
  stop(): void {
    this.#exit('stop');
  }

  /** Apply keys as if typed (what stdin data does). */
  handleKeys(chunk: string): void {
    this.#handleInput(chunk);
  }

  /** Fetch a snapshot now and render it (resolves when drawn; no-op while one is pending). */
  refreshNow(): Promise<void> {
    return this.#refresh();
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#schedule();
      if (!this.#view.paused) void this.#refresh();
    }, this.#view.refreshMs);
  }

  async #refresh(): Promise<void> {
    if (!this.#running) return;
    if (this.#pending) {
      this.#skippedTicks++;
      return;
    }
    this.#pending = true;
    const window = this.#view.window;
    this.#pendingWindow = window;
    try {
      const snap = await this.#source.snapshot(window);
      if (!this.#running) return;
      this.#snapshot = snap;
      this.#error = null;
    } catch (err) {
      this.#error = message(err);
    } finally {
      this.#pending = false;
      this.#pendingWindow = null;
    }
    if (!this.#running) return;
    this.#render();
    // The window changed while the request was out: fetch the one now asked for.
    if (this.#view.window !== window) void this.#refresh();
  }

  #handleInput(chunk: string): void {
    if (!this.#running) return;
    const before = this.#view;
    for (const key of splitKeys(chunk)) {
      const r = reduceKey(this.#view, key);
      if (r.quit) {
        this.#exit('quit');
        return;
      }
      this.#view = r.view;
    }
    const after = this.#view;
    if (after === before) return;
    if (after.stackWorker != null && (after.stackWorker !== before.stackWorker || after.poolIndex !== before.poolIndex)) this.#takeStack();
    if (after.stackWorker == null) this.#stack = null;
    if (after.refreshMs !== before.refreshMs) this.#schedule();
    this.#render();
    const resumed = before.paused && !after.paused;
    const windowChanged = after.window !== before.window && this.#pendingWindow !== after.window;
    if (resumed || windowChanged) void this.#refresh();
  }

  /** Ask the source for the stack of the worker the view points at (one dump per keypress, not per tick). */
  #takeStack(): void {
    const seq = ++this.#stackSeq;
    const pool = this.#snapshot ? selectPool(this.#snapshot, this.#view) : null;
    const workers = pool === null ? [] : (pool.status?.workers.map((w) => ({ id: w.id, pid: w.pid })) ?? pool.workers.filter((w) => w.workerId >= 0).map((w) => ({ id: w.workerId, pid: w.pid })));
    if (pool === null || workers.length === 0) {
      this.#stack = null;
      return;
    }
    const w = workers[(this.#view.stackWorker ?? 0) % workers.length]!;
    const view: StackView = { pool: pool.name, workerId: w.id, pid: w.pid, text: null, error: null, timestampMs: Date.now() };
    this.#stack = view;
    const source = this.#source;
    if (typeof source.stack !== 'function') {
      this.#stack = { ...view, error: 'this snapshot source cannot take stacks (use an in-process pool, or a monitoring server: dspex monitor --url)' };
      return;
    }
    let pending: Promise<PythonStack>;
    try {
      pending = source.stack(pool.name, w.id);
    } catch (err) {
      pending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    pending.then(
      (s) => {
        if (seq !== this.#stackSeq || !this.#running) return;
        this.#stack = { ...view, pid: s.pid, text: s.stack, timestampMs: s.timestampMs };
        this.#render();
      },
      (err: unknown) => {
        if (seq !== this.#stackSeq || !this.#running) return;
        this.#stack = { ...view, error: message(err) };
        this.#render();
      },
    );
  }

  #size(): TerminalSize {
    const columns = this.#stdout.columns && this.#stdout.columns > 0 ? this.#stdout.columns : this.#fallback.columns;
    const rows = this.#stdout.rows && this.#stdout.rows > 0 ? this.#stdout.rows : this.#fallback.rows;
    return { columns, rows };
  }

  #render(): void {
    if (!this.#running) return;
    if (this.#blocked) {
      this.#dirty = true;
      return;
    }
    this.#dirty = false;
    const size = this.#size();
    const snapshot = this.#snapshot ?? emptySnapshot(Date.now(), this.#view.window);
    let lines: string[];
    try {
      lines = renderFrame(snapshot, this.#view, size, this.#color, { error: this.#error, stack: this.#stack });
      this.#lastDrawn = snapshot;
    } catch (err) {
      // A snapshot the renderers cannot draw (an incompatible or hostile server sent a badly
      // shaped one): keep showing the last one that drew, say why, and try again next tick.
      this.#error = `unusable snapshot: ${message(err)}`;
      this.#snapshot = this.#lastDrawn;
      lines = renderFrame(this.#lastDrawn ?? emptySnapshot(Date.now(), this.#view.window), this.#view, size, this.#color, { error: this.#error });
    }
    const prev = this.#prev && this.#prev.length === lines.length ? this.#prev : null;
    let out = '';
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      if (prev && prev[i] === line) continue;
      out += `\u001b[${i + 1};1H${line}`;
      if (visibleWidth(line) < size.columns) out += terminalSequences.eraseLine;
    }
    this.#prev = lines;
    if (out === '') return;
    this.#renders++;
    const ok = this.#stdout.write(terminalSequences.beginSync + out + terminalSequences.endSync);
    if (!ok) this.#blocked = true;
  }

  #onSignal(signal: 'SIGINT' | 'SIGTERM'): void {
    const hadOnExit = this.#onExit !== undefined;
    this.#exit('signal', signal);
    if (!hadOnExit && process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  }

  #exit(reason: DashboardExitReason, detail?: unknown): void {
    if (!this.#running) return;
    this.#running = false;
    this.#ended = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#stdin.removeListener('data', this.#onData);
    this.#stdout.removeListener('resize', this.#onResize);
    this.#stdout.removeListener('drain', this.#onDrain);
    if (this.#handleProcessEvents) {
      process.removeListener('SIGINT', this.#onSigint);
      process.removeListener('SIGTERM', this.#onSigterm);
      process.removeListener('uncaughtExceptionMonitor', this.#onCrash);
      process.removeListener('exit', this.#onProcessExit);
    }
    try {
      this.#stdout.write(terminalSequences.leave);
    } finally {
      if (this.#rawModeSet && typeof this.#stdin.setRawMode === 'function') {
        try {
          this.#stdin.setRawMode(false);
        } catch {
          // stdin already closed: nothing to restore
        }
      }
      this.#rawModeSet = false;
      this.#stdin.pause();
      if (current === this) current = null;
    }
    this.#onExit?.(reason, detail);
  }
}

let current: PerformanceDashboard | null = null;

/**
 * Start the in-process dashboard (one at a time): builds a {@link PerformanceDashboard} over
 * `opts.source` and starts it. Throws when one is already running.
 */
export function startDashboard(opts: DashboardOptions): PerformanceDashboard {
  if (current?.running) throw invalidState('startDashboard', 'a dashboard is already running; call stopDashboard() first');
  const d = new PerformanceDashboard(opts);
  current = d;
  d.start();
  return d;
}

/** Stop the dashboard {@link startDashboard} started, restoring the terminal. Returns whether one was running. */
export function stopDashboard(): boolean {
  const d = current;
  current = null;
  if (!d?.running) return false;
  d.stop();
  return true;
}
