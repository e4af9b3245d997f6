/**
 * A soak run's lifecycle: start a pool and the full stack (`createMonitoring`), drive it with the
 * demo's mixed load, sample every interval, then drain, stop everything, judge and write the
 * report (docs/SOAK_REPORT.md and its SVG plots, optionally the samples as JSON).
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { SessionPool } from '../pool/session-pool.js';
import type { PoolLogger } from '../pool/options.js';
import { createMonitoring, type Monitoring } from '../config/create-monitoring.js';
import { LoadGenerator } from '../demo/load.js';
import { invalidArgument } from '../contract/errors.js';
import { analyzeSoak, defaultWarmupMs, type SoakAnalysis, type SoakEnd, type SoakParams } from './analysis.js';
import { activeAlertCount, AlertActivity, gcAvailable, takeSample, type SoakSample } from './samples.js';
import { soakCharts, soakMarkdown } from './report.js';

/** Options of {@link runSoak}. */
export interface SoakOptions {
  readonly durationMs: number;
  /** Default 10 000. */
  readonly intervalMs?: number;
  /** Default: {@link defaultWarmupMs} of the duration. */
  readonly warmupMs?: number;
  /** Default 200. */
  readonly opsPerS?: number;
  /** Default 4. */
  readonly poolSize?: number;
  /** Where SOAK_REPORT.md goes; the plots go to `<outDir>/soak/`. */
  readonly outDir: string;
  /** Also write the parameters, samples and analysis as JSON here. */
  readonly jsonPath?: string | null;
  /** Called after each sample (progress display). */
  readonly onSample?: (s: SoakSample, p: SoakParams) => void;
  /** The command line to name in the report. */
  readonly command?: string;
}

/** What a run produced. */
export interface SoakResult {
  readonly params: SoakParams;
  readonly samples: readonly SoakSample[];
  readonly analysis: SoakAnalysis;
  readonly end: SoakEnd;
  readonly reportPath: string;
  readonly chartPaths: readonly string[];
}

/** `2m`, `90s`, `1h`, `1h30m`, `500ms` → ms; null when it is not a duration. */
export function parseDuration(text: string): number | null {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    at = re.lastIndex;
  }
  return at === text.length && at > 0 ? Math.round(total) : null;
}

/** Counts the pool's warnings and errors; keeps none of their text (worker output stays out of the report). */
function countingLogger(): PoolLogger & { warnings: number; errors: number } {
  const l = {
    warnings: 0,
    errors: 0,
    debug: (): void => undefined,
    info: (): void => undefined,
    warn: (): void => {
      l.warnings++;
    },
    error: (): void => {
      l.errors++;
    },
  };
  return l;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run a soak (see the module doc). Resolves with the figures once the report is written; the verdict is in `analysis`. */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const intervalMs = o.intervalMs ?? 10_000;
  if (!Number.isFinite(o.durationMs) || o.durationMs < intervalMs) throw invalidArgument('runSoak', 'durationMs', `at least one sampling interval (${intervalMs} ms)`);
  const params: SoakParams = {
    durationMs: o.durationMs,
    intervalMs,
    warmupMs: o.warmupMs ?? defaultWarmupMs(o.durationMs),
    opsPerS: o.opsPerS ?? 200,
    poolSize: o.poolSize ?? 4,
    gc: gcAvailable,
    startedAt: new Date().toISOString(),
    node: process.version,
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}`,
  };
  const logger = countingLogger();
  const pool = new SessionPool({ name: `soak-${process.pid}`, size: params.poolSize, logger, healthCheckIntervalMs: 5000 });
  let monitoring: Monitoring | null = null;
  let startMs = Date.now();
  const alerts = new AlertActivity(() => startMs);
  // Steady state: errors, slow and CPU-bound calls, but no crashes. A crash is an incident (the
  // default DspexWorkerCrashed alert fires on any), and "no alert at steady state" is a target.
  const load = new LoadGenerator(pool, { opsPerS: params.opsPerS, crashRatio: 0 });
  const samples: SoakSample[] = [];
  // Read in the finally, before the stack stops.
  let endState = { poolWorkers: 0, alertManager: false };
  try {
    await pool.start();
    // The configuration is this run's alone: no dspex.config.json, no DSPEX_* variables.
    monitoring = await createMonitoring({ pools: [pool], server: { port: 0 }, configFile: false, env: false });
    alerts.start();
    startMs = Date.now();
    load.start();
    // Sample on a fixed schedule from the start (not after each sample's own duration).
    for (let i = 1; i * intervalMs <= params.durationMs; i++) {
      await sleep(Math.max(0, startMs + i * intervalMs - Date.now()));
      const s = await takeSample({ monitoring, load: load.stats, alerts, startMs });
      samples.push(s);
      o.onSample?.(s, params);
    }
  } finally {
    load.stop();
    // Drain: every call sent settles (a result or a typed error) before the pool stops.
    const deadline = Date.now() + 30_000;
    while (load.stats.ok + load.stats.failed < load.stats.sent && Date.now() < deadline) await sleep(50);
    alerts.stop();
    const st = pool.status();
    endState = { poolWorkers: st.workers.length, alertManager: monitoring !== null && activeAlertCount(monitoring) !== null };
    await monitoring?.stop();
    await pool.stop({ mode: 'reject' });
  }
  const end: SoakEnd = {
    ...load.stats,
    poolWorkers: endState.poolWorkers,
    poolSize: params.poolSize,
    steadyAlerts: alerts.events.filter((e) => e.tMs >= params.warmupMs),
  };
  const analysis = analyzeSoak(samples, params, end);

  const outDir = resolve(o.outDir);
  const chartDir = join(outDir, 'soak');
  mkdirSync(chartDir, { recursive: true });
  const charts = soakCharts(samples, params);
  const chartPaths = charts.map((c) => {
    const path = join(chartDir, c.file);
    writeFileSync(path, c.svg);
    return path;
  });
  const reportPath = join(outDir, 'SOAK_REPORT.md');
  const markdown = soakMarkdown({
    params,
    samples,
    analysis,
    end,
    alertEvents: alerts.events,
    alertManager: endState.alertManager,
    charts,
    chartDir: relative(outDir, chartDir),
    command: o.command ?? `dspex soak --duration ${o.durationMs} ms`,
  });
  writeFileSync(reportPath, markdown);
  if (o.jsonPath) writeFileSync(o.jsonPath, `${JSON.stringify({ params, end, analysis, samples, alerts: alerts.events, poolLog: { warnings: logger.warnings, errors: logger.errors } }, null, 2)}\n`);
  return { params, samples, analysis, end, reportPath, chartPaths };
}
