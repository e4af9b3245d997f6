import { eastAsianWidth } from 'get-east-asian-width';
import { describe, expect, it } from 'vitest';
import { codePointWidth, fitWidth, painter, stripAnsi, trimEndVisible, truncateVisible, visibleWidth } from '../../src/dashboard/ansi.js';
import { formatAgo, formatBytes, formatCompact, formatPercent, formatUptime, formatUs, niceCeil } from '../../src/dashboard/format.js';

describe('ansi helper', () => {
  it('emits nothing when color is off', () => {
    expect(painter(false)('red', 'x')).toBe('x');
    expect(painter(true)('red', 'x')).toBe('\u001b[31mx\u001b[0m');
    expect(painter(true)('red', '')).toBe('');
  });

  it('measures visible width ignoring escapes, counting braille and µ as one column', () => {
    const s = `${painter(true)('green', 'ab')}⣿µ▲`;
    expect(visibleWidth(s)).toBe(5);
    expect(stripAnsi(s)).toBe('ab⣿µ▲');
  });

  it('truncates by visible characters and closes an open color', () => {
    const s = painter(true)('red', 'abcdef');
    const t = truncateVisible(s, 3);
    expect(stripAnsi(t)).toBe('abc');
    expect(t.endsWith('\u001b[0m')).toBe(true);
    expect(truncateVisible('abc', 0)).toBe('');
    expect(truncateVisible('ab', 5)).toBe('ab');
  });

  it('pads and trims by visible width', () => {
    expect(visibleWidth(fitWidth(painter(true)('red', 'ab'), 6))).toBe(6);
    expect(trimEndVisible(`ab  ${painter(true)('red', '  ')}  `)).toBe('ab\u001b[31m\u001b[0m');
    expect(trimEndVisible('a b  ')).toBe('a b');
  });
});

describe('code point widths', () => {
  const widths = (cps: number[]): number[] => cps.map(codePointWidth);

  it('counts as wide what the frozen Unicode 14 table missed (Unicode 15 emoji, Unicode 16 symbols) and the newer CJK and emoji blocks', () => {
    // 🫷 🫸 (Unicode 15); trigrams ☰ ☷, digrams ⚊ ⚏, hexagrams ䷀ ䷿, Tai Xuan Jing 𝌀 𝍖, counting rods 𝍠 𝍶 (wide since 16).
    expect(widths([0x1faf7, 0x1faf8, 0x2630, 0x2637, 0x268a, 0x268f, 0x4dc0, 0x4dff, 0x1d300, 0x1d356, 0x1d360, 0x1d376])).toEqual(Array(12).fill(2));
    // CJK extensions H, I, J (Unicode 15, 15.1, 17) and Unicode 16 emoji (🫩, 🪉).
    expect(widths([0x31350, 0x323af, 0x2ebf0, 0x2ee5d, 0x323b0, 0x1fae9, 0x1fa89])).toEqual(Array(7).fill(2));
    expect(visibleWidth('䷀🫷\u{2ebf0}x')).toBe(7);
    expect(truncateVisible('a🫷b', 2)).toBe('a');
  });

  it('follows the table at the edges of the wide blocks', () => {
    expect(widths([0x10ff, 0x1100, 0x115f, 0x1160])).toEqual([1, 2, 2, 1]); // Hangul jamo
    expect(widths([0x2e7f, 0x2e80, 0x303e, 0x303f, 0x3041])).toEqual([1, 2, 2, 1, 2]); // CJK radicals .. kana
    expect(widths([0x2fff, 0x3000])).toEqual([2, 2]); // ideographic description (15.1), ideographic space (F)
    expect(widths([0xff00, 0xff01, 0xff60, 0xff61, 0xffe0, 0xffe6, 0xffe7])).toEqual([1, 2, 2, 1, 2, 2, 1]); // fullwidth / halfwidth forms
    expect(widths([0x1ffff, 0x20000, 0x2fffd, 0x30000, 0x3fffd, 0x40000])).toEqual([1, 2, 2, 2, 2, 1]); // planes 2 and 3
    expect(widths([0x25fc, 0x25fd, 0x25fe, 0x25ff, 0x2800, 0x28ff])).toEqual([1, 2, 2, 1, 1, 1]); // shapes, braille
    expect(widths([0xa1, 0x2460, 0x20a9])).toEqual([1, 1, 1]); // Ambiguous and Halfwidth are narrow
  });

  it('counts combining marks, variation selectors and zero-width characters as none', () => {
    expect(widths([0x2ff, 0x300, 0x36f, 0x20e3])).toEqual([1, 0, 0, 0]); // modifier letter, combining marks, keycap (Me)
    expect(widths([0xfe00, 0xfe0f, 0xe0100, 0xe01ef])).toEqual([0, 0, 0, 0]); // variation selectors
    expect(widths([0x200a, 0x200b, 0x200d, 0x200e, 0x2060, 0x2064, 0x2065, 0xfeff])).toEqual([1, 0, 0, 1, 0, 0, 1, 0]);
    // Wide wins over combining (over-counting only costs a blank).
    expect(widths([0x302a, 0x3099])).toEqual([2, 2]);
    expect(visibleWidth('👨\u200d👩\u200d👧')).toBe(6);
    expect(visibleWidth('❤\ufe0f')).toBe(1);
  });

  it('skips the table only where the table says narrow anyway', () => {
    for (const [first, last] of [[0, 0x2ff], [0x2500, 0x25fc], [0x2800, 0x28ff]] as const) {
      for (let cp = first; cp <= last; cp++) expect(eastAsianWidth(cp, { ambiguousAsWide: false }), cp.toString(16)).toBe(1);
    }
  });
});

describe('formatters', () => {
  it('formats durations in µs / ms / s', () => {
    expect(formatUs(0)).toBe('0µs');
    expect(formatUs(850)).toBe('850µs');
    expect(formatUs(1200)).toBe('1.2ms');
    expect(formatUs(35_000)).toBe('35ms');
    expect(formatUs(1_500_000)).toBe('1.5s');
    expect(formatUs(Number.NaN)).toBe('—');
  });

  it('formats counts, bytes, percentages, uptimes and ages compactly', () => {
    expect(formatCompact(0)).toBe('0');
    expect(formatCompact(12.5)).toBe('12.5');
    expect(formatCompact(1234)).toBe('1.2k');
    expect(formatCompact(2_500_000)).toBe('2.5M');
    expect(formatBytes(512)).toBe('512B');
    expect(formatBytes(96 * 1024 * 1024)).toBe('96M');
    expect(formatPercent(0.0042)).toBe('0.42%');
    expect(formatPercent(0.00000001)).toBe('<0.01%');
    expect(formatPercent(0.5)).toBe('50%');
    expect(formatUptime(3_725_000)).toBe('1h02m');
    expect(formatAgo(0)).toBe('now');
    expect(formatAgo(150_000)).toBe('-2m30s');
    expect(formatAgo(300_000)).toBe('-5m');
  });

  it('picks nice chart scales with a floor', () => {
    expect(niceCeil(0, 1)).toBe(1);
    expect(niceCeil(1234, 1)).toBe(2000);
    expect(niceCeil(2100, 1)).toBe(2500);
    expect(niceCeil(0.3, 1)).toBe(1);
  });
});
