/**
 * The benchmark registry behind `dspex bench NAME`. Each benchmark is a module exporting
 * `run(opts): Promise<BenchReport>`, loaded on demand; `all` runs each of them in its own process
 * (src/bench/all.ts).
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BenchUnavailableError, emitReport, type BenchOptions, type BenchReport } from './report.js';

type BenchModule = { run(opts: BenchOptions): Promise<BenchReport> };

const registry: Record<string, () => Promise<BenchModule>> = {
  pool: () => import('./pool-bench.js'),
  metrics: () => import('./metrics-bench.js'),
  queries: () => import('./queries-bench.js'),
  telemetry: () => import('./telemetry-bench.js'),
  dashboard: () => import('./dashboard-bench.js'),
  resources: () => import('./resources-bench.js'),
  exporters: () => import('./exporters-bench.js'),
  otel: () => import('./otel-bench.js'),
  advisor: () => import('./advisor-bench.js'),
  fleet: () => import('./fleet-bench.js'),
  alerts: () => import('./alerts-bench.js'),
  monitoring: () => import('./monitoring-bench.js'),
  scaling: () => import('./scaling-bench.js'),
  compare: () => import('./compare-bench.js'),
};

/** Names of the available benchmarks, and `all` (every one of them in turn). */
export function benchNames(): string[] {
  return [...Object.keys(registry), 'all'];
}

/**
 * Run one benchmark with options the CLI validated; returns the exit code (2: no such benchmark,
 * 1: it cannot run here, the reason printed on stderr in one line).
 */
export async function runBench(name: string, opts: BenchOptions): Promise<number> {
  if (name === 'all') {
    const { runAll } = await import('./all.js');
    const { code, doc } = await runAll(Object.keys(registry), opts);
    if (opts.jsonPath) {
      mkdirSync(dirname(opts.jsonPath), { recursive: true });
      writeFileSync(opts.jsonPath, JSON.stringify(doc, null, 2) + '\n');
      process.stdout.write(`wrote ${opts.jsonPath}\n`);
    }
    return code;
  }
  const load = registry[name];
  if (!load) return 2;
  const mod = await load();
  let report: BenchReport;
  try {
    report = await mod.run(opts);
  } catch (err) {
    if (!(err instanceof BenchUnavailableError)) throw err;
    process.stderr.write(`dspex bench ${name}: ${err.message}\n`);
    return 1;
  }
  emitReport(report, opts);
  return 0;
}
