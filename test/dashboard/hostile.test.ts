/**
 * Text a dashboard does not control — pool names, command and error types, alert messages, a remote
 * server's error text, anything in a snapshot fetched with `--url` — cannot drive the terminal
 * (escape sequences, line breaks) nor push a frame line past the terminal's width (CJK and emoji
 * are two columns). Widths and control characters are checked by Python's `unicodedata`
 * ({@link independentCheck}), not by the renderers' own width function.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitWidth, sanitizeText, stripAnsi, truncateVisible, visibleWidth } from '../../src/dashboard/ansi.js';
import { renderFrame } from '../../src/dashboard/frame.js';
import { renderOnce } from '../../src/dashboard/performance-dashboard.js';
import { sampleSnapshot } from '../../src/dashboard/sample.js';
import { initialViewState } from '../../src/dashboard/view-state.js';
import type { ErrorCategory } from '../../src/contract/errors.js';
import { NOW, OSC52, hostileTexts, checkTerminalLines, hostileSnapshot } from './helpers.js';

const sizes = [
  { columns: 80, rows: 24 },
  { columns: 120, rows: 40 },
  { columns: 200, rows: 60 },
];

describe('hostile text in a snapshot', () => {
  it('never reaches the terminal as control characters, and no frame line is wider than the terminal', () => {
    const snap = hostileSnapshot();
    const frames: { columns: number; lines: string[] }[] = [];
    for (const size of sizes) {
      for (const color of [false, true]) {
        for (const view of [initialViewState({ window: '1m' }), initialViewState({ window: '1m', sort: 'p99', paused: true })]) {
          const lines = renderFrame(snap, view, size, color, { error: `GET http://h/api/snapshot: 500 ${hostileTexts.join(' ')}` });
          expect(lines).toHaveLength(size.rows);
          frames.push({ columns: size.columns, lines });
        }
      }
    }
    const checks = checkTerminalLines(frames.flatMap((f) => f.lines));
    let k = 0;
    for (const f of frames) {
      for (const line of f.lines) {
        const c = checks[k++]!;
        expect(c.controls, `control characters in ${JSON.stringify(line)}`).toEqual([]);
        expect(c.width, `line wider than ${f.columns}: ${JSON.stringify(stripAnsi(line))}`).toBeLessThanOrEqual(f.columns);
      }
    }
    // The text is shown (neutralised), not dropped.
    const plain = renderOnce(snap, { columns: 200, rows: 60 }, { color: false });
    expect(plain).toContain('?]52;c;');
    expect(plain).toContain('表格名称🚀a??b');
  });

  it('holds for any mix of controls, wide, combining and plain characters in every name (property)', () => {
    const unit = fc.constantFrom('a', 'Z', ' ', '\u001b', '\u0007', '\r', '\n', '\t', '\u009b', '\u007f', '\u0000', ']', '[', '表', '🚀', '𠀀', 'ｱ', 'Ａ', '\u0301', '\u200d', '\u202e', '\ud800', '─', 'µ');
    const text = fc.string({ unit, maxLength: 60 });
    const frames: { columns: number; lines: string[] }[] = [];
    fc.assert(
      fc.property(fc.array(text, { minLength: 6, maxLength: 6 }), fc.integer({ min: 80, max: 220 }), fc.integer({ min: 24, max: 50 }), fc.boolean(), (names, columns, rows, color) => {
        const [a = '', b = '', c = '', d = '', e = '', f = ''] = names;
        const snap = sampleSnapshot({
          workers: 3,
          window: '1m',
          alerts: [{ name: a, severity: 'critical', pool: b, message: c, sinceMs: NOW }],
          recommendations: [{ title: d, detail: e, score: 0.8 }],
        });
        snap.pools[0]!.name = f;
        snap.pools[0]!.errors!.byType = [{ category: a as ErrorCategory, type: d, count: 3, rate: 0.1 }];
        frames.push({ columns, lines: renderFrame(snap, initialViewState(), { columns, rows }, color, { error: e }) });
      }),
      { numRuns: 60, seed: 4242 },
    );
    const checks = checkTerminalLines(frames.flatMap((f) => f.lines));
    let k = 0;
    for (const f of frames) {
      for (const line of f.lines) {
        const c = checks[k++]!;
        expect(c.controls, JSON.stringify(line)).toEqual([]);
        expect(c.width, JSON.stringify(stripAnsi(line))).toBeLessThanOrEqual(f.columns);
      }
    }
  });
});

describe('width arithmetic (checked against unicodedata)', () => {
  it('counts CJK, fullwidth and emoji as two columns and combining marks as none', () => {
    const samples = ['表格名称', '🚀', 'ｱＡ', 'e\u0301', 'ab⣿µ▲─', '𠀀x', `\u001b[31m表\u001b[0m`];
    const reference = checkTerminalLines(samples).map((c) => c.width);
    expect(samples.map(visibleWidth)).toEqual(reference);
    expect(reference).toEqual([8, 2, 3, 1, 6, 3, 2]);
  });

  it('truncates and pads without splitting a wide character past the width', () => {
    const widths = Array.from({ length: 12 }, (_, w) => w);
    const cut = widths.map((w) => truncateVisible(`a表格名称🚀\u001b[31m中\u001b[0m`, w));
    const fit = widths.map((w) => fitWidth('表格名称🚀', w));
    const checks = checkTerminalLines([...cut, ...fit]);
    for (const w of widths) {
      expect(checks[w]!.width).toBeLessThanOrEqual(w);
      expect(checks[w]!.width).toBeGreaterThanOrEqual(Math.min(w - 1, 13));
      expect(checks[widths.length + w]!.width).toBe(w);
    }
  });

  it('sanitizeText replaces C0, DEL, C1, bidi controls and lone surrogates, and keeps the rest', () => {
    expect(sanitizeText(`${OSC52}a\r\nb\u009b\u007f\u202e\ud800表🚀e\u0301`)).toBe('?]52;c;cm0gLXJmIH4=?a??b????表🚀e\u0301');
    const same = 'pool-1 表格 🚀';
    expect(sanitizeText(same)).toBe(same);
  });
});
