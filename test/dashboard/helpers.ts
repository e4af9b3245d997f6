import { visibleWidth } from '../../src/dashboard/ansi.js';
import type { RangePoint } from '../../src/metrics/types.js';

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
