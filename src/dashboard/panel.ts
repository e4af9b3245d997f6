/**
 * Panel chrome (pure): a one-line title with facts and a rule, and block fitting helpers the frame
 * composer uses to place panels side by side.
 *
 * @module
 */
import { fitWidth, truncateVisible, visibleWidth, type Paint } from './ansi.js';

/** A panel's title line: `── Title  facts ─────────`, exactly `width` visible columns. */
export function titleLine(title: string, facts: string, width: number, paint: Paint): string {
  if (width <= 0) return '';
  const head = `${paint('dim', '─')} ${paint('bold', title)}`;
  const factsPart = facts ? `  ${facts}` : '';
  const used = visibleWidth(head) + visibleWidth(factsPart) + 1;
  const fill = width - used;
  const line = fill > 0 ? `${head}${factsPart} ${paint('dim', '─'.repeat(fill))}` : `${head}${factsPart}`;
  return fitWidth(line, width);
}

/** Cut every line to `width` and the block to `height` lines (without padding). */
export function clampLines(lines: readonly string[], width: number, height?: number): string[] {
  const out: string[] = [];
  const n = height === undefined ? lines.length : Math.min(height, lines.length);
  for (let i = 0; i < n; i++) out.push(truncateVisible(lines[i] ?? '', width));
  return out;
}

/** Pad or cut a block to exactly `width` × `height` (for side-by-side composition). */
export function fitBlock(lines: readonly string[], width: number, height: number): string[] {
  const out: string[] = new Array<string>(height);
  for (let i = 0; i < height; i++) out[i] = fitWidth(lines[i] ?? '', width);
  return out;
}

/** Join blocks of equal height side by side with a gap. */
export function hstack(blocks: readonly { lines: readonly string[]; width: number }[], height: number, gap = 1): string[] {
  const fitted = blocks.map((b) => fitBlock(b.lines, b.width, height));
  const sep = ' '.repeat(gap);
  const out: string[] = new Array<string>(height);
  for (let i = 0; i < height; i++) out[i] = fitted.map((f) => f[i] ?? '').join(sep);
  return out;
}
