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

/**
 * Code points drawn two columns wide: East Asian Wide (W) and Fullwidth (F) in Unicode 14
 * (EastAsianWidth.txt, assigned code points; runs separated only by unassigned ones merged) — CJK,
 * Hangul, kana, fullwidth forms and the emoji with default emoji presentation — plus the
 * supplementary ideographic planes 2 and 3. Sorted inclusive [first, last] pairs.
 */
const wideRanges = new Uint32Array([
  0x1100, 0x115f, 0x231a, 0x231b, 0x2329, 0x232a, 0x23e9, 0x23ec, 0x23f0, 0x23f0, 0x23f3, 0x23f3, 0x25fd, 0x25fe, 0x2614, 0x2615,
  0x2648, 0x2653, 0x267f, 0x267f, 0x2693, 0x2693, 0x26a1, 0x26a1, 0x26aa, 0x26ab, 0x26bd, 0x26be, 0x26c4, 0x26c5, 0x26ce, 0x26ce,
  0x26d4, 0x26d4, 0x26ea, 0x26ea, 0x26f2, 0x26f3, 0x26f5, 0x26f5, 0x26fa, 0x26fa, 0x26fd, 0x26fd, 0x2705, 0x2705, 0x270a, 0x270b,
  0x2728, 0x2728, 0x274c, 0x274c, 0x274e, 0x274e, 0x2753, 0x2755, 0x2757, 0x2757, 0x2795, 0x2797, 0x27b0, 0x27b0, 0x27bf, 0x27bf,
  0x2b1b, 0x2b1c, 0x2b50, 0x2b50, 0x2b55, 0x2b55, 0x2e80, 0x303e, 0x3041, 0x3247, 0x3250, 0x4dbf, 0x4e00, 0xa4c6, 0xa960, 0xa97c,
  0xac00, 0xd7a3, 0xf900, 0xfad9, 0xfe10, 0xfe19, 0xfe30, 0xfe6b, 0xff01, 0xff60, 0xffe0, 0xffe6, 0x16fe0, 0x1b2fb, 0x1f004, 0x1f004,
  0x1f0cf, 0x1f0cf, 0x1f18e, 0x1f18e, 0x1f191, 0x1f19a, 0x1f200, 0x1f320, 0x1f32d, 0x1f335, 0x1f337, 0x1f37c, 0x1f37e, 0x1f393, 0x1f3a0, 0x1f3ca,
  0x1f3cf, 0x1f3d3, 0x1f3e0, 0x1f3f0, 0x1f3f4, 0x1f3f4, 0x1f3f8, 0x1f43e, 0x1f440, 0x1f440, 0x1f442, 0x1f4fc, 0x1f4ff, 0x1f53d, 0x1f54b, 0x1f54e,
  0x1f550, 0x1f567, 0x1f57a, 0x1f57a, 0x1f595, 0x1f596, 0x1f5a4, 0x1f5a4, 0x1f5fb, 0x1f64f, 0x1f680, 0x1f6c5, 0x1f6cc, 0x1f6cc, 0x1f6d0, 0x1f6d2,
  0x1f6d5, 0x1f6df, 0x1f6eb, 0x1f6ec, 0x1f6f4, 0x1f6fc, 0x1f7e0, 0x1f7f0, 0x1f90c, 0x1f93a, 0x1f93c, 0x1f945, 0x1f947, 0x1f9ff, 0x1fa70, 0x1faf6,
  0x20000, 0x3fffd,
]);

// Zero columns: combining marks (they join the previous cell) and the zero-width format
// characters (ZWSP, ZWNJ, ZWJ, word joiner, invisible operators, BOM). Other format characters
// count one column: over-counting only costs a blank, under-counting would overflow the line.
const zeroWidthPattern = /^[\p{Mn}\p{Me}\u200b-\u200d\u2060-\u2064\ufeff]$/u;
const widthCache = new Map<number, number>();

/**
 * Terminal columns a code point takes: 2 for East Asian wide / fullwidth and emoji, 0 for
 * combining marks and zero-width characters, 1 otherwise (controls too: {@link sanitizeText}
 * replaces them before anything is measured).
 */
export function codePointWidth(cp: number): number {
  if (cp < 0x300) return 1;
  // The renderers' own characters: box drawing, blocks, geometric shapes (but U+25FD/E), braille.
  if ((cp >= 0x2500 && cp <= 0x25fc) || (cp >= 0x2800 && cp <= 0x28ff)) return 1;
  const cached = widthCache.get(cp);
  if (cached !== undefined) return cached;
  let w = 1;
  let lo = 0;
  let hi = wideRanges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < (wideRanges[mid * 2] ?? 0)) hi = mid - 1;
    else if (cp > (wideRanges[mid * 2 + 1] ?? 0)) lo = mid + 1;
    else {
      w = 2;
      break;
    }
  }
  if (w === 1 && zeroWidthPattern.test(String.fromCodePoint(cp))) w = 0;
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

/** Right-align in `width` columns (cut on the right when too long). */
export function padStartVisible(text: string, width: number): string {
  const w = visibleWidth(text);
  if (w > width) {
    const cut = truncateVisible(text, width);
    return ' '.repeat(Math.max(0, width - visibleWidth(cut))) + cut;
  }
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
