/**
 * The 2-minute soak, in `make test`: the built `dspex soak --duration 2m` as a child process
 * (under --expose-gc, so it runs in that very process and its Python workers are named after its
 * pid), a real pool, the whole stack of createMonitoring, real files. Asserts the verdict passes,
 * the report and its SVG plots exist and parse, the samples are complete, no worker is left —
 * and that the same analysis, fed the run's own samples with a leak added, fails.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeSoak, type SoakAnalysis, type SoakEnd, type SoakParams } from '../../src/soak/analysis.js';
import type { SoakSample } from '../../src/soak/samples.js';
import { CLI } from '../cli/terminal.js';
import { workerPidsOwnedBy } from '../helpers/processes.js';
import { parseSvg } from './svg-parse.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DURATION_MS = 120_000;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number;
}

let dir = '';
let run: Run;
let json: { params: SoakParams; end: SoakEnd; analysis: SoakAnalysis; samples: SoakSample[] };

beforeAll(async () => {
  if (!existsSync(CLI) || statSync(CLI).mtimeMs < newestMtime(join(ROOT, 'src'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  dir = mkdtempSync(join(os.tmpdir(), 'dspex-soak-'));
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  delete env['DSPEX_TOKEN'];
  delete env['DSPEX_CONFIG'];
  run = await new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', CLI, 'soak', '--duration', '2m', '--out', dir, '--json', join(dir, 'soak.json')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr, pid: child.pid ?? -1 }));
  });
  json = JSON.parse(readFileSync(join(dir, 'soak.json'), 'utf8')) as typeof json;
}, DURATION_MS + 90_000);

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('dspex soak --duration 2m', () => {
  it('passes: exit 0, the verdict on stdout, nothing on stderr when piped', () => {
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/^soak: PASS\n/);
    expect(run.stderr).toBe('');
    expect(json.analysis.verdict).toBe('pass');
    expect(json.analysis.failures).toEqual([]);
  });

  it('sampled every 10 s for 2 minutes after a forced GC, under real load, and every call settled', () => {
    expect(json.params.gc).toBe(true);
    expect(json.samples).toHaveLength(12);
    const t = json.samples.map((s) => s.tMs);
    for (let i = 1; i < t.length; i++) expect(t[i]! - t[i - 1]!).toBeGreaterThan(8_000);
    expect(json.end.sent).toBeGreaterThan(10_000);
    expect(json.end.ok + json.end.failed).toBe(json.end.sent);
    expect(json.end.poolWorkers).toBe(4);
    for (const s of json.samples) {
      expect(s.collectorBytes).toBeGreaterThan(0);
      expect(s.collectorBytes).toBeLessThan(s.collectorBoundBytes);
      expect(s.heapUsedBytes).toBeGreaterThan(0);
    }
    // The HTTP snapshot query and the resource monitor's Python samples worked.
    expect(json.samples.filter((s) => s.snapshotMs !== null).length).toBe(12);
    expect(json.samples.at(-1)!.workers.length).toBeGreaterThanOrEqual(4);
    expect(json.samples.at(-1)!.pythonRssMeanBytes).toBeGreaterThan(1e6);
  });

  it('wrote SOAK_REPORT.md and its SVG plots, each well-formed with axis labels', () => {
    const md = readFileSync(join(dir, 'SOAK_REPORT.md'), 'utf8');
    expect(md).toContain('**Verdict: PASS**');
    for (const g of json.analysis.growth) expect(md).toContain(`| ${g.component} |`);
    const svgs = readdirSync(join(dir, 'soak')).filter((f) => f.endsWith('.svg'));
    expect(svgs.sort()).toEqual(['collector.svg', 'latency.svg', 'memory.svg', 'python-rss.svg', 'throughput.svg']);
    for (const f of svgs) {
      expect(md).toContain(`](soak/${f})`);
      const doc = parseSvg(readFileSync(join(dir, 'soak', f), 'utf8'));
      expect(doc.root).toBe('svg');
      expect(doc.xLabel).toBe('time since the load started (min)');
      expect(doc.yLabel).not.toBe('');
      expect(doc.paths).toBeGreaterThan(0);
    }
  });

  it('left no Python worker behind', () => {
    expect(workerPidsOwnedBy(run.pid)).toEqual([]);
  });

  it('the same analysis fails on this run with a leak it can detect added (60 MB/h of heap, 12 MB/h per Python worker)', () => {
    const heapLeak = json.samples.map((s) => ({ ...s, heapUsedBytes: s.heapUsedBytes + (s.tMs * 60e6) / 3_600_000 }));
    const a = analyzeSoak(heapLeak, json.params, json.end);
    expect(a.verdict).toBe('fail');
    expect(a.failures.join('; ')).toMatch(/node heap outside the collector grows/);
    const pyLeak = json.samples.map((s) => ({ ...s, workers: s.workers.map((w) => ({ ...w, rssBytes: w.rssBytes + (s.tMs * 60e6) / 3_600_000 })) }));
    expect(analyzeSoak(pyLeak, json.params, json.end).failures.join('; ')).toMatch(/python worker \d+ grows/);
  });
});
