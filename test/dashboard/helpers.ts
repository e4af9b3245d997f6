import { execFileSync } from 'node:child_process';
import { visibleWidth } from '../../src/dashboard/ansi.js';
import type { MonitoringSnapshot } from '../../src/contract/snapshot.js';
import type { RangePoint } from '../../src/contract/metrics.js';
import type { ErrorCategory } from '../../src/contract/errors.js';
import { sampleSnapshot } from '../../src/dashboard/sample.js';

/** Assert-friendly: the widest visible line. */
export function maxWidth(lines: readonly string[]): number {
  return lines.reduce((m, l) => Math.max(m, visibleWidth(l)), 0);
}

/** Any escape sequence in the lines? */
export function hasEscapes(lines: readonly string[]): boolean {
  return lines.some((l) => l.includes('\u001b'));
}

/** Per-second points ending at `endMs`, with throughput from `f(i)` (i = 0 oldest). */
export function points(n: number, endMs: number, f: (i: number) => number, errors: (i: number) => number = () => 0): RangePoint[] {
  const out: RangePoint[] = [];
  for (let i = 0; i < n; i++) {
    const thr = f(i);
    const err = errors(i);
    out.push({
      timestampMs: endMs - (n - i) * 1000,
      ops: thr,
      errors: err,
      throughputPerS: thr,
      errorRate: thr > 0 ? err / thr : 0,
      latencyP50Us: 1000,
      latencyP99Us: 10_000,
      queueDepth: 0,
      utilization: 0.5,
    });
  }
  return out;
}

/** Braille cells in a line (the chart's drawn dots). */
export function brailleCount(line: string): number {
  let n = 0;
  for (const ch of line) {
    const c = ch.codePointAt(0) ?? 0;
    if (c > 0x2800 && c <= 0x28ff) n++;
  }
  return n;
}

export const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

/**
 * An independent check of terminal lines, by Python's `unicodedata` (not our width table):
 * each line's display width once the SGR color codes (`ESC [ digits ; m`, the only sequences the
 * renderers may emit) are removed, counting East Asian Wide / Fullwidth (CJK, emoji) as two
 * columns and combining marks / format characters as zero; and the control characters (C0, DEL,
 * C1, including any other ESC) left after that, which a frame must never contain.
 */
export interface TerminalLineCheck {
  width: number;
  controls: string[];
}

const pythonCheck = String.raw`
import json, re, sys, unicodedata
sgr = re.compile(r'\x1b\[[0-9;]*m')
out = []
for line in json.load(sys.stdin):
    text = sgr.sub('', line)
    width = 0
    controls = []
    for ch in text:
        cp = ord(ch)
        if cp < 0x20 or 0x7f <= cp < 0xa0:
            controls.append('U+%04X' % cp)
        elif unicodedata.category(ch) in ('Mn', 'Me', 'Cf'):
            pass
        elif unicodedata.east_asian_width(ch) in ('W', 'F'):
            width += 2
        else:
            width += 1
    out.append({'width': width, 'controls': controls})
json.dump(out, sys.stdout)
`;

/** Check many lines with one Python process (see {@link TerminalLineCheck}). */
export function checkTerminalLines(lines: readonly string[]): TerminalLineCheck[] {
  const out = execFileSync('python3', ['-c', pythonCheck], { input: JSON.stringify(lines), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out) as TerminalLineCheck[];
}

/** The widest line and every control character found, by {@link checkTerminalLines}. */
export function independentCheck(lines: readonly string[]): { maxWidth: number; controls: string[] } {
  const checks = checkTerminalLines(lines);
  return { maxWidth: checks.reduce((m, c) => Math.max(m, c.width), 0), controls: checks.flatMap((c) => c.controls) };
}

export const OSC52 = `\u001b]52;c;${Buffer.from('rm -rf ~').toString('base64')}\u0007`;
/** Strings a hostile producer could put anywhere in a snapshot. */
export const hostileTexts = [OSC52, '\u001b]2;pwned-title\u0007', 'a\r\nb', '表格名称', '🚀', '\u009b2J\u007f', '\u202eevil', 'e\u0301', '\u001b[31mred\u001b[0m', '\u001b[2J\u001b[H', '中'.repeat(120)];
const joined = hostileTexts.join(' ');

/** A snapshot in which every string a producer controls is hostile (as a hostile server could send). */
export function hostileSnapshot(workers = 6): MonitoringSnapshot {
  const snap = sampleSnapshot({
    workers,
    window: '1m',
    alerts: hostileTexts.map((h, i) => ({ name: `${h}${i}`, severity: i % 2 ? 'critical' : 'warning', pool: h, message: joined, sinceMs: NOW - 1000 })),
    recommendations: hostileTexts.map((h, i) => ({ title: h, detail: joined, score: i / 10 })),
  });
  const pool = snap.pools[0]!;
  pool.name = `${OSC52}\u001b]2;pwned-title\u0007表格名称🚀a\r\nb`;
  pool.status!.name = pool.name;
  // A hostile server is not bound by ErrorCategory.
  pool.errors!.byType = hostileTexts.map((h, i) => ({ category: h as ErrorCategory, type: `${h}Error`, count: 10 - i, rate: 0.01 }));
  for (const p of snap.resources!.python) p.state = OSC52;
  snap.resources!.warnings = [joined];
  // Values of the wrong kind where the renderers look colors up: no stray escape either.
  (pool.status!.workers[0] as { state: string }).state = '\u001b]0;x\u0007';
  (snap.alerts[0] as { severity: string }).severity = 'evil';
  return snap;
}
