/**
 * `dspex bench all`: every scenario, one after another, each in its own Node process (a fresh heap
 * and no JIT or GC state carried from the scenario before), then one JSON with every figure, ratio
 * and target, a table of the scenarios' headlines, and the design targets marked met or not.
 *
 * The design targets are read from the scenarios' own targets and extras by name
 * ({@link DESIGN_TARGETS}); a target whose scenario did not run (fleet without Redis) is reported
 * as not measured, never as met.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, renderTable, type BenchOptions, type BenchRow, type Headline } from './report.js';

/** What one scenario's `--json` file holds (the parts read here). */
export interface ScenarioDoc {
  name: string;
  quick: boolean;
  ratios: Record<string, number>;
  targets: Record<string, { target: string; value: number; pass: boolean }>;
  headline: Headline | null;
  [extra: string]: unknown;
}

/** How one scenario ended. */
export type ScenarioOutcome = { name: string; status: 'ok'; doc: ScenarioDoc; seconds: number } | { name: string; status: 'skipped' | 'failed'; reason: string; seconds: number };

/** A target of the original design or of this project, and where its figure comes from. */
export interface DesignTarget {
  /** Whose target: the original design's (DSPex V2 pool, phase 5) or this project's own. */
  origin: 'design' | 'dspex';
  what: string;
  target: string;
  scenario: string;
  /** The scenario's target of that name. */
  key: string;
  /** The pass rule for the figure, when it differs from the scenario's own (a looser design bound). */
  pass?: (value: number) => boolean;
}

/** Every design target and the scenario target that measures it. */
export const DESIGN_TARGETS: readonly DesignTarget[] = [
  { origin: 'design', what: 'latency p50 (echo, full monitoring)', target: '< 50 ms', scenario: 'monitoring', key: 'design: p50 latency with full monitoring, ms' },
  { origin: 'design', what: 'latency p99 (echo, full monitoring)', target: '< 100 ms', scenario: 'monitoring', key: 'design: p99 latency with full monitoring, ms' },
  { origin: 'design', what: 'throughput per pool (2 workers, full monitoring)', target: '> 1000 ops/s', scenario: 'monitoring', key: 'design: throughput per pool with full monitoring, ops/s' },
  { origin: 'design', what: 'recovery after kill -9, p99 (no spare)', target: '< 500 ms', scenario: 'pool', key: 'recovery p99, ms (kill -9 -> serving)', pass: (v) => v < 500 },
  { origin: 'design', what: 'memory per Python worker (RSS after load)', target: '< 50 MB', scenario: 'monitoring', key: 'design: memory per Python worker, MB' },
  { origin: 'design', what: 'CPU per idle worker', target: '< 10% of a core', scenario: 'monitoring', key: 'design: CPU per idle worker, % of a core' },
  { origin: 'dspex', what: 'pooled vs bare pipes, throughput (min over configs)', target: '>= 0.9x', scenario: 'pool', key: 'pooled_vs_bare_throughput (min over concurrency >= N)' },
  { origin: 'dspex', what: 'full monitoring vs none, throughput (echo: the worst case)', target: '>= 0.98x (<= 2% cost)', scenario: 'monitoring', key: 'full monitoring vs none, throughput' },
  { origin: 'dspex', what: 'full monitoring vs none, throughput of 1 ms calls', target: '>= 0.98x (<= 2% cost)', scenario: 'monitoring', key: 'full monitoring vs none, throughput of 1 ms calls' },
  { origin: 'dspex', what: 'metric record through the channel', target: '<= 100 ns', scenario: 'metrics', key: 'record ns per operation event (via channel)' },
  { origin: 'dspex', what: '100 alert rules x 4 pools, one cycle p99', target: '<= 1 ms', scenario: 'alerts', key: 'evaluate 100 rules x 4 pools, p99 ms' },
  { origin: 'dspex', what: 'recovery after kill -9 with a warm spare, p99', target: '<= 20 ms', scenario: 'pool', key: 'recovery p99 with spares 1, ms (kill -9 -> serving)' },
  { origin: 'dspex', what: 'OpenTelemetry bridge vs none, throughput (echo: the worst case)', target: '>= 0.95x', scenario: 'otel', key: 'otel_vs_bare_throughput' },
  { origin: 'dspex', what: 'OpenTelemetry bridge vs none, throughput of 1 ms calls', target: '>= 0.95x', scenario: 'otel', key: 'otel vs none, throughput of 1 ms calls' },
  { origin: 'dspex', what: 'OpenTelemetry bridge vs none, echo with 1 trace in 10 sampled', target: '>= 0.95x', scenario: 'otel', key: 'otel vs none, echo with 1 trace in 10 sampled' },
];

/** One row per design target: the figure and met / missed / not measured. Pure. */
export function designTargetRows(outcomes: readonly ScenarioOutcome[]): BenchRow[] {
  return DESIGN_TARGETS.map((d) => {
    const o = outcomes.find((x) => x.name === d.scenario);
    const t = o?.status === 'ok' ? o.doc.targets[d.key] : undefined;
    const quick = o?.status === 'ok' && o.doc.quick ? ' (quick)' : '';
    const verdict = t === undefined ? 'not measured' : ((d.pass ? d.pass(t.value) : t.pass) ? 'met' : 'MISSED') + quick;
    return { origin: d.origin, target: `${d.what} ${d.target}`, measured: t === undefined ? null : t.value, verdict, scenario: d.scenario };
  });
}

/** One row per scenario: its headline, or why it has none. Pure. */
export function headlineRows(outcomes: readonly ScenarioOutcome[]): BenchRow[] {
  return outcomes.map((o) => {
    if (o.status !== 'ok') return { scenario: o.name, operation: `${o.status}: ${o.reason}`, 'ops/s': null, 'p50 µs': null, 'p99 µs': null, 'heap B/op': null, s: o.seconds };
    const h = o.doc.headline;
    const num = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : v);
    return { scenario: o.name, operation: h?.case ?? '(no headline)', 'ops/s': num(h?.opsPerS), 'p50 µs': num(h?.p50Us), 'p99 µs': num(h?.p99Us), 'heap B/op': num(h?.heapBytesPerOp), s: o.seconds };
  });
}

/** Every scenario's targets in one list. Pure. */
export function targetRows(outcomes: readonly ScenarioOutcome[]): BenchRow[] {
  return outcomes.flatMap((o) =>
    o.status !== 'ok' ? [] : Object.entries(o.doc.targets).map(([k, t]) => ({ scenario: o.name, target: `${k} ${t.target}`, measured: t.value, verdict: o.doc.quick ? (t.pass ? 'pass (quick)' : 'miss (quick)') : t.pass ? 'PASS' : 'MISS' })),
  );
}

/** The combined JSON document. Pure (the date is passed in). */
export function combinedDoc(outcomes: readonly ScenarioOutcome[], quick: boolean, date: string): Record<string, unknown> {
  const ratios: Record<string, number> = {};
  const scenarios: Record<string, unknown> = {};
  for (const o of outcomes) {
    if (o.status === 'ok') {
      for (const [k, v] of Object.entries(o.doc.ratios)) ratios[`${o.name}.${k}`] = v;
      scenarios[o.name] = { status: 'ok', seconds: o.seconds, ...o.doc };
    } else {
      scenarios[o.name] = { status: o.status, reason: o.reason, seconds: o.seconds };
    }
  }
  return {
    name: 'all',
    quick,
    date,
    machine: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', totalMemBytes: os.totalmem(), loadAverage: os.loadavg() },
    designTargets: designTargetRows(outcomes),
    headlines: headlineRows(outcomes),
    ratios,
    scenarios,
  };
}

/** Run one scenario in a child Node process; its table goes straight to our stdout. */
async function runScenario(name: string, quick: boolean, dir: string, main: string): Promise<ScenarioOutcome> {
  const json = join(dir, `${name}.json`);
  const t0 = performance.now();
  let stderr = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [main, 'bench', name, '--json', json, ...(quick ? ['--quick'] : [])], { stdio: ['ignore', 'inherit', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => {
      process.stderr.write(d);
      // The last line tells why it could not run; keep a bounded tail only.
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  const reason = stderr.trim().split('\n').pop()?.replace(/^dspex bench \w+: /, '') ?? '';
  if (code === 1 && reason !== '') return { name, status: 'skipped', reason, seconds };
  if (code !== 0) return { name, status: 'failed', reason: `exit code ${code ?? 'signal'}${reason ? `: ${reason}` : ''}`, seconds };
  return { name, status: 'ok', doc: JSON.parse(readFileSync(json, 'utf8')) as ScenarioDoc, seconds };
}

/**
 * Run every scenario in `names` and print the summary; returns the exit code (1 when a scenario
 * failed; a skipped one, such as fleet without Redis, is not a failure) and the combined document.
 */
export async function runAll(
  names: readonly string[],
  opts: BenchOptions,
  out: NodeJS.WritableStream = process.stdout,
  /** The CLI each scenario runs in (default: this build's). */
  main: string = fileURLToPath(new URL('../cli/main.js', import.meta.url)),
): Promise<{ code: number; doc: Record<string, unknown> }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'dspex-bench-all-'));
  const outcomes: ScenarioOutcome[] = [];
  try {
    for (const name of names) {
      process.stderr.write(`dspex bench all: ${name} (${outcomes.length + 1}/${names.length})\n`);
      outcomes.push(await runScenario(name, opts.quick, dir, main));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const doc = combinedDoc(outcomes, opts.quick, new Date().toISOString());
  out.write(`\n# bench all${opts.quick ? ' (quick)' : ''}\n\n## Headlines\n\n${renderTable(headlineRows(outcomes))}\n\n`);
  out.write(`## Targets of every scenario\n\n${renderTable(targetRows(outcomes))}\n\n`);
  out.write(`## Design targets${opts.quick ? ' (quick: indicative only)' : ''}\n\n${renderTable(designTargetRows(outcomes))}\n`);
  const failed = outcomes.filter((o) => o.status === 'failed');
  for (const f of failed) out.write(`failed: ${f.name}: ${f.status === 'failed' ? f.reason : ''}\n`);
  out.write(`total ${fmt(outcomes.reduce((n, o) => n + o.seconds, 0))} s\n`);
  return { code: failed.length > 0 ? 1 : 0, doc };
}
