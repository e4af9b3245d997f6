/**
 * A tiny ANSI helper: SGR colors that vanish when color is off, and width arithmetic that ignores
 * escape sequences (a frame line is measured in visible characters, never in bytes or UTF-16 units).
 *
 * Every character the renderers emit (ASCII, box drawing, block elements, braille, `µ`, `▲`) is one
 * terminal column wide, so the visible width of a string is its code-point count without escapes.
 *
 * @module
 */

/** The colors the dashboard uses. */
export type ColorName = 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'gray' | 'bold' | 'dim' | 'inverse';

const sgr: Readonly<Record<ColorName, string>> = {
  red: '31',
  green: '32',
  yellow: '33',
  blue: '34',
  magenta: '35',
  cyan: '36',
  gray: '90',
  bold: '1',
  dim: '2',
  inverse: '7',
};

/** Reset all attributes. */
export const RESET = '\u001b[0m';

/** A styling function: wraps text in a color, or returns it untouched when color is off. */
export type Paint = (color: ColorName, text: string) => string;

const paintOn: Paint = (color, text) => (text.length === 0 ? text : `\u001b[${sgr[color]}m${text}${RESET}`);
const paintOff: Paint = (_color, text) => text;

/** The styling function for a color setting (`color: false` emits no escape sequence at all). */
export function painter(color: boolean): Paint {
  return color ? paintOn : paintOff;
}

// CSI ... final byte, or OSC ... BEL/ST: everything a renderer could emit or a test could feed.
// eslint-disable-next-line no-control-regex
const ansiPattern = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;

/** Remove ANSI escape sequences. */
export function stripAnsi(text: string): string {
  return text.includes('\u001b') ? text.replace(ansiPattern, '') : text;
}

/**
 * Index just past the escape sequence starting at `i` (which holds ESC): CSI (`ESC [ params
 * intermediates final`), OSC (`ESC ] ... BEL` or `ESC ] ... ESC \\`), or a two-character escape.
 */
function skipEscape(text: string, i: number): number {
  const len = text.length;
  const kind = text.charCodeAt(i + 1);
  if (kind === 0x5b) {
    let j = i + 2;
    while (j < len && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x3f) j++;
    while (j < len && text.charCodeAt(j) >= 0x20 && text.charCodeAt(j) <= 0x2f) j++;
    return j < len && text.charCodeAt(j) >= 0x40 && text.charCodeAt(j) <= 0x7e ? j + 1 : j;
  }
  if (kind === 0x5d) {
    for (let j = i + 2; j < len; j++) {
      const c = text.charCodeAt(j);
      if (c === 0x07) return j + 1;
      if (c === 0x1b && text.charCodeAt(j + 1) === 0x5c) return j + 2;
    }
    return len;
  }
  return Math.min(len, i + 2);
}

/** Visible width of a string: code points, ignoring ANSI escape sequences (one scan, no regex). */
export function visibleWidth(text: string): number {
  let n = 0;
  const len = text.length;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x1b) {
      i = skipEscape(text, i) - 1;
      continue;
    }
    // A high surrogate and its low surrogate are one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) i++;
    n++;
  }
  return n;
}

/**
 * Cut a string to at most `width` visible characters, keeping escape sequences; appends a reset
 * when the cut may have left a color open.
 */
export function truncateVisible(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text; // every visible character is at least one UTF-16 unit
  let seen = 0;
  let sawEscape = false;
  let i = 0;
  const len = text.length;
  while (i < len) {
    const c = text.charCodeAt(i);
    if (c === 0x1b) {
      sawEscape = true;
      i = skipEscape(text, i);
      continue;
    }
    if (seen === width) return sawEscape ? text.slice(0, i) + RESET : text.slice(0, i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < len ? 2 : 1;
    seen++;
  }
  return text;
}

/** Pad (or cut) to exactly `width` visible characters. */
export function fitWidth(text: string, width: number): string {
  const w = visibleWidth(text);
  if (w === width) return text;
  if (w < width) return text + ' '.repeat(width - w);
  return truncateVisible(text, width);
}

/** Right-align in `width` visible characters (cut on the right when too long). */
export function padStartVisible(text: string, width: number): string {
  const w = visibleWidth(text);
  if (w >= width) return truncateVisible(text, width);
  return ' '.repeat(width - w) + text;
}

/** Remove trailing spaces (visible ones; SGR sequences among or after them are kept, in order). */
export function trimEndVisible(text: string): string {
  let i = text.length;
  let keep = '';
  let trimmed = false;
  while (i > 0) {
    const c = text.charCodeAt(i - 1);
    if (c === 0x20) {
      i--;
      trimmed = true;
      continue;
    }
    if (c === 0x6d) {
      // maybe the end of an SGR sequence: ESC [ digits/semicolons m
      let j = i - 2;
      while (j >= 0 && ((text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) || text.charCodeAt(j) === 0x3b)) j--;
      if (j >= 1 && text.charCodeAt(j) === 0x5b && text.charCodeAt(j - 1) === 0x1b) {
        keep = text.slice(j - 1, i) + keep;
        i = j - 1;
        continue;
      }
    }
    break;
  }
  return trimmed ? text.slice(0, i) + keep : text;
}
