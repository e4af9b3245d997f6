import { describe, expect, it } from 'vitest';
import { fitWidth, painter, stripAnsi, trimEndVisible, truncateVisible, visibleWidth } from '../../src/dashboard/ansi.js';
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
