/**
 * The benchmark registry behind `dspex bench NAME`. Each benchmark is a module exporting
 * `run(opts): Promise<BenchReport>`, loaded on demand.
 *
 * @module
 */
import type { ParsedArgs } from '../cli/args.js';
import { emitReport, type BenchOptions, type BenchReport } from './report.js';

type BenchModule = { run(opts: BenchOptions): Promise<BenchReport> };

const registry: Record<string, () => Promise<BenchModule>> = {
  pool: () => import('./pool-bench.js'),
  metrics: () => import('./metrics-bench.js'),
  telemetry: () => import('./telemetry-bench.js'),
  dashboard: () => import('./dashboard-bench.js'),
  resources: () => import('./resources-bench.js'),
  exporters: () => import('./exporters-bench.js'),
};

/** Names of the available benchmarks. */
export function benchNames(): string[] {
  return Object.keys(registry);
}

/** Run one benchmark from parsed CLI args; returns the exit code. */
export async function runBench(name: string, args: ParsedArgs): Promise<number> {
  const load = registry[name];
  if (!load) return 2;
  const opts: BenchOptions = {
    quick: args.flags['quick'] === 'true',
    jsonPath: args.flags['json'] ?? null,
    flags: args.flags,
  };
  const mod = await load();
  const report = await mod.run(opts);
  emitReport(report, opts);
  return 0;
}
