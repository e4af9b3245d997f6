/**
 * `dspex soak`: validate the durations, re-run under `node --expose-gc` when GC is not exposed
 * (heap samples must count retained memory, not garbage), show one updating progress line on a
 * terminal (nothing when piped or under CI), run the soak and print the verdict. Exit code 0 on
 * a pass, 1 on a fail.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { relative } from 'node:path';
import type { FlagValues } from './spec.js';
import { UsageError } from './spec.js';
import type { soakCommand } from './commands.js';
import { parseDuration, runSoak } from '../soak/run-soak.js';
import type { SoakParams } from '../soak/analysis.js';
import type { SoakSample } from '../soak/samples.js';

type SoakFlags = FlagValues<(typeof soakCommand)['flags']>;

/** Set in the re-spawned child so it never spawns again. */
const CHILD_ENV = 'DSPEX_SOAK_CHILD';

/** The progress line after a sample (pure). */
export function progressLine(s: SoakSample, p: SoakParams): string {
  const pct = Math.min(100, (100 * s.tMs) / p.durationMs);
  const mb = (b: number): string => (b / 1e6).toFixed(1);
  return `soak ${pct.toFixed(0).padStart(3)}% ${(s.tMs / 60_000).toFixed(1)}/${(p.durationMs / 60_000).toFixed(1)} min | heap ${mb(s.heapUsedBytes)} MB rss ${mb(s.rssBytes)} MB collector ${mb(s.collectorBytes)} MB | py ${mb(s.pythonRssMeanBytes)} MB | sent ${s.sent} ok ${s.ok} failed ${s.failed} | snapshot ${s.snapshotMs === null ? '–' : s.snapshotMs.toFixed(1)} ms | alerts ${s.alertsFired}`;
}

function durationFlag(name: string, raw: string): number {
  const ms = parseDuration(raw);
  if (ms === null || ms <= 0) throw new UsageError('soak', `--${name} must be a duration like 90s, 2m, 1h or 1h30m, got '${raw}'`);
  return ms;
}

/** Re-run this command line under `--expose-gc`; resolves with the child's exit code. */
function respawnWithGc(): Promise<number> {
  return new Promise((resolveCode, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, [CHILD_ENV]: '1' } });
    // Ctrl-C reaches the child through the terminal's process group; keep this parent until it exits.
    const ignore = (): void => undefined;
    process.on('SIGINT', ignore);
    process.on('SIGTERM', ignore);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', ignore);
      resolveCode(code ?? (signal ? 1 : 0));
    });
  });
}

/** Run `dspex soak`; resolves with the exit code. */
export async function runSoakCommand(v: SoakFlags): Promise<number> {
  const durationMs = durationFlag('duration', v.duration);
  const warmupMs = v.warmup === undefined ? undefined : durationFlag('warmup', v.warmup);
  const intervalMs = Math.round(v['interval-s'] * 1000);
  if (durationMs < intervalMs) throw new UsageError('soak', `--duration (${v.duration}) must be at least one sampling interval (${v['interval-s']} s)`);
  if (warmupMs !== undefined && warmupMs >= durationMs) throw new UsageError('soak', `--warmup (${v.warmup}) must be shorter than --duration (${v.duration})`);
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function' && process.env[CHILD_ENV] !== '1') return respawnWithGc();

  const tty = process.stderr.isTTY === true && !process.env['CI'];
  const command = `dspex soak --duration ${v.duration} --ops-per-s ${v['ops-per-s']} --pool-size ${v['pool-size']} --interval-s ${v['interval-s']}${v.warmup === undefined ? '' : ` --warmup ${v.warmup}`}`;
  const result = await runSoak({
    durationMs,
    intervalMs,
    ...(warmupMs === undefined ? {} : { warmupMs }),
    opsPerS: v['ops-per-s'],
    poolSize: v['pool-size'],
    outDir: v.out,
    jsonPath: v.json ?? null,
    command,
    onSample: tty
      ? (s, p) => {
          const cols = process.stderr.columns || 120;
          process.stderr.write(`\r\x1b[2K${progressLine(s, p).slice(0, cols - 1)}`);
        }
      : undefined,
  });
  if (tty) process.stderr.write('\r\x1b[2K');
  const a = result.analysis;
  const rel = relative(process.cwd(), result.reportPath);
  const where = rel === '' || rel.startsWith('..') ? result.reportPath : rel;
  process.stdout.write(`soak: ${a.verdict === 'pass' ? 'PASS' : 'FAIL'}${a.failures.length ? ` (${a.failures.join('; ')})` : ''}\n`);
  process.stdout.write(`soak: ${result.end.sent} calls sent, ${result.end.ok} ok, ${result.end.failed} failed; ${result.samples.length} samples; report ${where}\n`);
  return a.verdict === 'pass' ? 0 : 1;
}
