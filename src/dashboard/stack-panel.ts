/**
 * The stack overlay (key `d`, issue 19), pure: a worker's Python stacks as its pool returned them,
 * innermost frame first per thread, cut to the panel's height.
 *
 * @module
 */
import { painter, sanitizeText } from './ansi.js';
import { clampLines, titleLine } from './panel.js';
import type { RenderOptions } from './types.js';

/** What the overlay shows: the dump of one worker, a request in flight, or why there is none. */
export interface StackView {
  pool: string;
  workerId: number;
  pid: number;
  /** The dump's text, or null while it is being taken (or when it failed: see `error`). */
  text: string | null;
  error: string | null;
  timestampMs: number;
}

/** The overlay's lines. The text is sanitized (a file name could hold control characters). */
export function renderStackPanel(view: StackView | null, opts: RenderOptions): string[] {
  const paint = painter(opts.color);
  if (view === null) return clampLines([titleLine('Python stack', paint('gray', 'no worker to show'), opts.width, paint), '', paint('gray', '  d: next worker   Esc: close')], opts.width, opts.height);
  const who = `pool ${sanitizeText(view.pool)}, worker ${view.workerId}${view.pid > 0 ? `, pid ${view.pid}` : ''}`;
  const lines = [titleLine('Python stack', paint('gray', who), opts.width, paint)];
  if (view.error !== null) lines.push(paint('red', `  ${sanitizeText(view.error)}`));
  else if (view.text === null) lines.push(paint('gray', '  taking the stack…'));
  else {
    for (const raw of view.text.split('\n')) {
      const line = sanitizeText(raw);
      if (/^(Current thread|Thread) 0x/.test(line)) lines.push(paint(line.startsWith('Current') ? 'bold' : 'cyan', line));
      else lines.push(line);
    }
  }
  lines.push('', paint('gray', '  d: next worker   Esc: close'));
  return clampLines(lines, opts.width, opts.height);
}
