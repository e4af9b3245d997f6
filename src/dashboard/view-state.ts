/**
 * What the user chose with the keyboard, and the pure key reducer.
 *
 * | key | effect |
 * |---|---|
 * | `q`, `Q`, Ctrl-C | quit |
 * | `p`, space | pause / resume (a paused dashboard keeps the last frame; keys still work) |
 * | `+` (or `=`) | slower: next step of {@link refreshStepsMs} (max 10 s) |
 * | `-` (or `_`) | faster: previous step (min 250 ms) |
 * | `1`, `5`, `f` | window of 1, 5 or 15 minutes |
 * | `s` | cycle the worker-table sort: id → ops → p99 → rss → cpu |
 * | `h`, `?` | help overlay on / off (Escape closes it too) |
 * | `d` | the Python stack of a worker of the shown pool (issue 19): first press the first worker, each next press the next one; Escape closes it |
 * | Tab | next pool (when several) |
 *
 * @module
 */
import type { WindowName } from '../contract/metrics.js';
import { workerSorts, type WorkerSort } from './worker-table.js';

/** The dashboard's view settings. */
export interface ViewState {
  window: WindowName;
  paused: boolean;
  refreshMs: number;
  sort: WorkerSort;
  help: boolean;
  /** Which pool is shown (taken modulo the number of pools when rendering). */
  poolIndex: number;
  /**
   * The stack overlay (`d`): which worker of the shown pool, as an index into its workers (taken
   * modulo their number); absent or null while the overlay is closed.
   */
  stackWorker?: number | null;
}

/** Refresh interval steps for `+` / `-`, ms. */
export const refreshStepsMs: readonly number[] = [250, 500, 1000, 2000, 5000, 10000];

/** Shortest refresh interval, ms. */
export const MIN_REFRESH_MS = 250;
/** Longest refresh interval, ms. */
export const MAX_REFRESH_MS = 10_000;
/** Default refresh interval, ms. */
export const DEFAULT_REFRESH_MS = 1000;

/** Clamp a refresh interval to 250 ms .. 10 s (non-numbers become the default). */
export function clampRefreshMs(ms: number): number {
  if (!Number.isFinite(ms)) return DEFAULT_REFRESH_MS;
  return Math.max(MIN_REFRESH_MS, Math.min(MAX_REFRESH_MS, Math.round(ms)));
}

/** The initial view. */
export function initialViewState(overrides: Partial<ViewState> = {}): ViewState {
  const v: ViewState = { window: '1m', paused: false, refreshMs: DEFAULT_REFRESH_MS, sort: 'id', help: false, poolIndex: 0, ...overrides };
  v.refreshMs = clampRefreshMs(v.refreshMs);
  return v;
}

/** What a key did: the next view, and whether the user asked to quit. */
export interface KeyResult {
  view: ViewState;
  quit: boolean;
}

/** The refresh step after `ms` (`+`) or before it (`-`), for values on or between steps. */
export function stepRefresh(ms: number, direction: 1 | -1): number {
  if (direction > 0) return refreshStepsMs.find((s) => s > ms) ?? MAX_REFRESH_MS;
  let prev = MIN_REFRESH_MS;
  for (const s of refreshStepsMs) if (s < ms) prev = s;
  return prev;
}

/**
 * Apply one keypress (pure). Unknown keys return the same view object (callers can skip a render
 * when `result.view === view`).
 */
export function reduceKey(view: ViewState, key: string): KeyResult {
  const next = (patch: Partial<ViewState>): KeyResult => ({ view: { ...view, ...patch }, quit: false });
  switch (key) {
    case 'q':
    case 'Q':
    case '\u0003':
      return { view, quit: true };
    case 'p':
    case ' ':
      return next({ paused: !view.paused });
    case '+':
    case '=':
      return next({ refreshMs: stepRefresh(view.refreshMs, 1) });
    case '-':
    case '_':
      return next({ refreshMs: stepRefresh(view.refreshMs, -1) });
    case '1':
      return next({ window: '1m' });
    case '5':
      return next({ window: '5m' });
    case 'f':
      return next({ window: '15m' });
    case 's': {
      const i = workerSorts.indexOf(view.sort);
      return next({ sort: workerSorts[(i + 1) % workerSorts.length] ?? 'id' });
    }
    case 'h':
    case '?':
      return next({ help: !view.help, stackWorker: null });
    case 'd':
      return next({ stackWorker: view.stackWorker == null ? 0 : view.stackWorker + 1, help: false });
    case '\u001b':
      if (view.stackWorker != null) return next({ stackWorker: null });
      return view.help ? next({ help: false }) : { view, quit: false };
    case '\t':
      return next({ poolIndex: view.poolIndex + 1 });
    default:
      return { view, quit: false };
  }
}

/** Split a raw stdin chunk into keys: escape sequences (arrows, mouse) are one key each, ignored by {@link reduceKey}. */
export function splitKeys(chunk: string): string[] {
  const keys: string[] = [];
  let i = 0;
  while (i < chunk.length) {
    const c = chunk[i] ?? '';
    if (c === '\u001b' && (chunk[i + 1] === '[' || chunk[i + 1] === 'O')) {
      // CSI / SS3: ESC [ params final-byte
      let j = i + 2;
      while (j < chunk.length && !/[@-~]/.test(chunk[j] ?? '')) j++;
      keys.push(chunk.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    const cp = chunk.codePointAt(i) ?? 0;
    const len = cp > 0xffff ? 2 : 1;
    keys.push(chunk.slice(i, i + len));
    i += len;
  }
  return keys;
}
