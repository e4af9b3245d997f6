/**
 * A tiny ANSI helper: SGR colors that vanish when color is off, text sanitizing, and width
 * arithmetic that ignores escape sequences (a frame line is measured in terminal columns, never in
 * bytes or UTF-16 units).
 *
 * Widths: every character the renderers emit themselves (ASCII, box drawing, block elements,
 * braille, `µ`, `▲`) is one column. Text from elsewhere (pool names, error types, alert messages,
 * a remote server's error text) may hold East Asian wide / fullwidth characters and emoji (two
 * columns: {@link codePointWidth}) and combining marks (none). Before such text is laid out it goes
 * through {@link sanitizeText}, so it can never carry an escape sequence or a line break.
 *
 * @module
 */
import { eastAsianWidth } from 'get-east-asian-width';

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

const paintOn: Paint = (color, text) => {
  // A color name that came from data (an unknown severity or state) must not become `ESC[undefinedm`.
  const code = sgr[color] as string | undefined;
  return text.length === 0 || code === undefined ? text : `\u001b[${code}m${text}${RESET}`;
};
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

// Characters a terminal would act on rather than show: C0 controls (ESC, CR, LF, BEL, ...), DEL and
// C1 controls (U+009B is a one-character CSI); the line / paragraph separators; the bidirectional
// controls (they reorder what follows on the line); and lone surrogates (not text at all).
// eslint-disable-next-line no-control-regex
const unsafePattern = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// eslint-disable-next-line no-control-regex
const unsafeTest = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/;

/**
 * Text from outside the renderers made safe to lay out: every control character (C0, DEL, C1),
 * line / paragraph separator, bidirectional control and lone surrogate becomes `?`. The result
 * holds no escape sequence and no line break. Returns `text` itself when there is nothing to
 * replace (no allocation on the common path).
 */
export function sanitizeText(text: string): string {
  if (!unsafeTest.test(text)) return text;
  return text.replace(unsafePattern, '?');
}

// Zero columns: combining marks (they join the previous cell; the variation selectors U+FE00-FE0F
// and U+E0100-E01EF are among them) and the zero-width format characters (ZWSP, ZWNJ, ZWJ, word
// joiner, invisible operators, BOM). Other format characters count one column: over-counting only
// costs a blank, under-counting would overflow the line.
const zeroWidthPattern = /^[\p{Mn}\p{Me}\u200b-\u200d\u2060-\u2064\ufeff]$/u;
const widthCache = new Map<number, number>();

/**
 * Terminal columns a code point takes: 2 for East Asian Wide (W) and Fullwidth (F) — CJK (all of
 * planes 2 and 3), Hangul, kana, fullwidth forms and the emoji with default emoji presentation —
 * by the current Unicode data of `get-east-asian-width` (Ambiguous counts narrow); else 0 for
 * combining marks and zero-width characters; else 1 (controls too: {@link sanitizeText} replaces
 * them before anything is measured). A combining mark that is also wide (U+302A, U+3099) counts 2.
 * Each code point is measured alone: a text-presentation character followed by U+FE0F (`❤️`)
 * counts 1, an emoji ZWJ sequence the sum of its parts.
 */
export function codePointWidth(cp: number): number {
  if (cp < 0x300) return 1;
  // The renderers' own characters, narrow in the table too (a test checks): box drawing, blocks,
  // geometric shapes (but U+25FD/E), braille.
  if ((cp >= 0x2500 && cp <= 0x25fc) || (cp >= 0x2800 && cp <= 0x28ff)) return 1;
  const cached = widthCache.get(cp);
  if (cached !== undefined) return cached;
  const w = eastAsianWidth(cp, { ambiguousAsWide: false }) === 2 ? 2 : zeroWidthPattern.test(String.fromCodePoint(cp)) ? 0 : 1;
  if (widthCache.size >= 4096) widthCache.clear();
  widthCache.set(cp, w);
  return w;
}

/** Visible width of a string in terminal columns (see {@link codePointWidth}), ignoring ANSI escape sequences. */
export function visibleWidth(text: string): number {
  let n = 0;
  const len = text.length;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x300) {
      if (c === 0x1b) {
        i = skipEscape(text, i) - 1;
        continue;
      }
      n++;
      continue;
    }
    let cp = c;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
        i++;
      }
    }
    n += codePointWidth(cp);
  }
  return n;
}

/**
 * Cut a string to at most `width` columns, keeping escape sequences; a wide character that would
 * straddle the edge is left out (the result may then be one column short). Appends a reset when
 * the cut may have left a color open.
 */
export function truncateVisible(text: string, width: number): string {
  if (width <= 0) return '';
  // Every UTF-16 unit is at most two columns (a wide BMP character: one unit; astral: two units).
  if (text.length * 2 <= width) return text;
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
    let cp = c;
    let step = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
        step = 2;
      }
    }
    const w = c < 0x300 ? 1 : codePointWidth(cp);
    if (seen + w > width) return sawEscape ? text.slice(0, i) + RESET : text.slice(0, i);
    seen += w;
    i += step;
  }
  return text;
}

/** Pad (or cut) to exactly `width` columns (a cut before a wide character is padded back). */
export function fitWidth(text: string, width: number): string {
  const w = visibleWidth(text);
  if (w === width) return text;
  if (w < width) return text + ' '.repeat(width - w);
  const cut = truncateVisible(text, width);
  const cw = visibleWidth(cut);
  return cw < width ? cut + ' '.repeat(width - cw) : cut;
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
