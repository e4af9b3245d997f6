/**
 * Shared output of `dspex bench NAME`: a table on stdout and, with `--json PATH`, the same figures
 * as JSON with a top-level `ratios` map (a comparison is always a ratio measured in the same run).
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import os from 'node:os';

/** Options every benchmark receives from the CLI. */
export interface BenchOptions {
  /** A short smoke version (seconds, not minutes), as `make test` runs it. */
  quick: boolean;
  /** Where to write the JSON report, if anywhere. */
  jsonPath: string | null;
  /** Extra `--key value` flags, for benchmark-specific knobs. */
  flags: Record<string, string>;
}

/** One row of a benchmark table. */
export type BenchRow = Record<string, string | number | null>;

/** What a benchmark returns. */
export interface BenchReport {
  name: string;
  /** Table rows, printed in order. */
  rows: BenchRow[];
  /**
   * When rows of different shapes would make one table unreadably wide: titled tables printed in
   * place of `rows` (which then holds the same rows, concatenated, for the JSON).
   */
  sections?: { title: string; rows: BenchRow[] }[];
  /** Comparisons measured in this run: name -> ratio. */
  ratios: Record<string, number>;
  /** Targets checked, name -> pass/fail with the figure. */
  targets?: Record<string, { target: string; value: number; pass: boolean }>;
  /** Anything else worth keeping in the JSON. */
  extra?: Record<string, unknown>;
  /** Lines a reader needs to read the figures right (printed under the table, kept in the JSON). */
  notes?: string[];
  /** The scenario's main figures in one shape, for `bench all` and a reader comparing scenarios. */
  headline?: Headline;
}

/**
 * One scenario's main operation in the same four figures for every benchmark: throughput,
 * latency p50 / p99 (µs) and bytes allocated on the Node heap per operation (see
 * src/bench/measure.ts). A figure the scenario cannot measure is null.
 */
export interface Headline {
  /** What one operation is, e.g. "pool echo, 4 workers, 4 callers". */
  case: string;
  opsPerS: number | null;
  p50Us: number | null;
  p99Us: number | null;
  heapBytesPerOp: number | null;
}

/** The headline as one printed line (pure). */
export function headlineLine(h: Headline): string {
  const part = (label: string, v: number | null, unit: string): string => `${label} ${v === null || !Number.isFinite(v) ? '-' : fmt(v)}${unit}`;
  return `headline (${h.case}): ${part('', h.opsPerS, ' ops/s').trim()}, ${part('p50', h.p50Us, ' µs')}, ${part('p99', h.p99Us, ' µs')}, ${part('heap', h.heapBytesPerOp, ' B/op')}`;
}

/**
 * A benchmark cannot run on this machine (a missing prerequisite): `dspex bench` prints its
 * message on one line and exits 1, without a stack trace.
 */
export class BenchUnavailableError extends Error {
  override readonly name = 'BenchUnavailableError';
}

/**
 * Whether to draw progress: only for a person watching (stderr is a terminal), never when piped
 * or under CI, so logs and `make test` output stay quiet. Pure.
 */
export function progressEnabled(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  return isTTY && (env['CI'] === undefined || env['CI'] === '' || env['CI'] === 'false');
}

/**
 * A progress line on stderr (rewritten in place) when {@link progressEnabled}; a no-op otherwise.
 * Call `done()` to clear it before the report is printed.
 */
export function progressLine(name: string, stream: NodeJS.WriteStream = process.stderr): { update(text: string): void; done(): void } {
  if (!progressEnabled(stream.isTTY === true, process.env)) return { update() {}, done() {} };
  let shown = false;
  return {
    update(text) {
      shown = true;
      stream.write(`\r\x1b[K[bench ${name}] ${text}`);
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}

/**
 * Quantile `q` (0..1) of ascending samples by nearest rank: the smallest sample with at least a
 * fraction `q` of all samples at or below it (always an observed value). 0 when empty.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const i = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[i] ?? 0;
}

/**
 * The median of `xs` (the mean of the middle two for an even count), NaN when empty. The figure
 * the round-based benchmarks report: the median of within-round ratios, which a few disturbed
 * rounds on a noisy machine do not move. Pure.
 */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The 25th and 75th percentiles of `xs` (nearest rank), the spread reported beside a median. NaN when empty. Pure. */
export function quartiles(xs: readonly number[]): [number, number] {
  if (xs.length === 0) return [Number.NaN, Number.NaN];
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor((s.length - 1) * 0.25)]!, s[Math.ceil((s.length - 1) * 0.75)]!];
}

/** p50, p99, mean and max of raw samples (any unit). Zeros when empty. */
export function summarizeSamples(samples: readonly number[]): { p50: number; p99: number; mean: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length);
  return { p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99), mean, max: sorted[sorted.length - 1] ?? 0 };
}

/** Format a number for a table: 3 significant digits, thousands kept readable. */
export function fmt(value: string | number | null): string {
  if (value === null) return '-';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs < 1000) return String(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return '0';
  return value.toPrecision(3);
}

/** Render rows as an aligned text table (pure). */
export function renderTable(rows: readonly BenchRow[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cells = rows.map((r) => cols.map((c) => fmt(r[c] ?? null)));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (vals: string[]): string => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join('  ');
  return [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** Print a report and write its JSON when asked. */
export function emitReport(report: BenchReport, opts: BenchOptions, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`\n# bench ${report.name}${opts.quick ? ' (quick)' : ''}\n\n`);
  if (report.sections === undefined) out.write(renderTable(report.rows) + '\n\n');
  else for (const sec of report.sections) out.write(`## ${sec.title}\n\n${renderTable(sec.rows)}\n\n`);
  for (const note of report.notes ?? []) out.write(`note: ${note}\n`);
  if ((report.notes ?? []).length > 0) out.write('\n');
  if (report.headline !== undefined) out.write(headlineLine(report.headline) + '\n');
  for (const [k, v] of Object.entries(report.ratios)) out.write(`ratio ${k}: ${v.toFixed(3)}\n`);
  if (report.targets) {
    // A quick run is a smoke test of the benchmark itself: too short for its figures to judge a target.
    const verdict = (pass: boolean): string => (opts.quick ? (pass ? 'pass (quick: indicative only)' : 'miss (quick: indicative only)') : pass ? 'PASS' : 'MISS');
    for (const [k, t] of Object.entries(report.targets)) out.write(`target ${k}: ${t.target} -> ${fmt(t.value)} ${verdict(t.pass)}\n`);
  }
  if (opts.jsonPath) {
    mkdirSync(dirname(opts.jsonPath), { recursive: true });
    const doc = {
      name: report.name,
      quick: opts.quick,
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', totalMemBytes: os.totalmem() },
      ratios: report.ratios,
      targets: report.targets ?? {},
      headline: report.headline ?? null,
      rows: report.rows,
      notes: report.notes ?? [],
      ...(report.extra ?? {}),
    };
    writeFileSync(opts.jsonPath, JSON.stringify(doc, null, 2) + '\n');
    out.write(`wrote ${opts.jsonPath}\n`);
  }
}
