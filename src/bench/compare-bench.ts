/**
 * `dspex bench compare`: the same echo through what a Node user would pick instead of dspex,
 * measured in the same run, reported as ratios.
 *
 * Arms, each one long-lived Python process, each returning the 80-character string it was sent:
 * - `bare`: the dspex worker script over its fd 3 / fd 4 pipes with no pool (src/bench/bare-pipes.ts);
 * - `dspex`: a {@link SessionPool} of one worker, `executeAnonymous('echo', { text })`;
 * - `python-shell`: python-shell in JSON mode, a script reading one JSON line per request on stdin
 *   and writing one per reply (replies come in order, so they are matched first in, first out);
 * - `pythonia`: JSPyBridge, `await mod.echo(text)` on an imported Python module;
 * - `dspex-4-workers`: the same pool with 4 workers, for the reader who wants dspex's own answer to
 *   concurrency (more processes, not a deeper pipe); not a like-for-like arm.
 *
 * From 1 caller (one call at a time) and from 8 (python-shell and pythonia then have several
 * requests in their pipe, the pool queues them in Node). Short rounds, every arm in every round in
 * a rotating order; a ratio is the median over rounds of the within-round ratio, so the machine's
 * drift moves both sides together. python-shell and pythonia are development dependencies: without
 * them the benchmark is unavailable (exit 1), never faked.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { SessionPool } from '../pool/session-pool.js';
import { BareWorker } from './bare-pipes.js';
import { drive, summarizeRuns, type RunResult } from './closed-loop.js';
import { BenchUnavailableError, median, progressLine, type BenchOptions, type BenchReport, type BenchRow } from './report.js';

const TEXT = 'x'.repeat(80);
const ARMS = ['bare', 'dspex', 'python-shell', 'pythonia', 'dspex-4-workers'] as const;
type Arm = (typeof ARMS)[number];
const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** One way of calling Python's echo: `call` resolves with the string it got back. */
interface Caller {
  call(text: string): Promise<string>;
  stop(): Promise<void>;
}

const SHELL_SCRIPT = `import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    sys.stdout.write(json.dumps({"id": msg["id"], "result": msg["args"]["text"]}) + "\\n")
    sys.stdout.flush()
`;

const PYTHONIA_MODULE = `def echo(text):
    return text
`;

async function loadOptional<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    throw new BenchUnavailableError(`${name} is not installed (a development dependency of this benchmark: npm ci): ${(err as Error).message}`);
  }
}

async function pythonShellCaller(dir: string): Promise<Caller> {
  const { PythonShell } = await loadOptional<typeof import('python-shell')>('python-shell');
  const script = join(dir, 'shell_echo.py');
  writeFileSync(script, SHELL_SCRIPT);
  const shell = new PythonShell(script, { mode: 'json', pythonOptions: ['-u'] });
  const waiting: { id: number; resolve(text: string): void; reject(err: Error): void }[] = [];
  shell.on('message', (m: { id: number; result: string }) => {
    const w = waiting.shift();
    if (w === undefined || w.id !== m.id) throw new Error(`python-shell: reply ${m.id} out of order`);
    w.resolve(m.result);
  });
  let failed: Error | null = null;
  shell.on('error', (err: Error) => {
    failed = err;
    for (const w of waiting.splice(0)) w.reject(err);
  });
  let nextId = 0;
  return {
    call(text) {
      if (failed !== null) return Promise.reject(failed);
      return new Promise((resolve, reject) => {
        const id = ++nextId;
        waiting.push({ id, resolve, reject });
        shell.send({ id, args: { text } });
      });
    },
    stop: () => new Promise((resolve) => shell.end(() => resolve())),
  };
}

async function pythoniaCaller(dir: string): Promise<Caller> {
  const { python } = await loadOptional<typeof import('pythonia')>('pythonia');
  const file = join(dir, 'pythonia_echo.py');
  writeFileSync(file, PYTHONIA_MODULE);
  const mod = (await python(file)) as { echo(text: string): Promise<string> };
  return {
    call: (text) => mod.echo(text),
    stop: () => {
      python.exit();
      return Promise.resolve();
    },
  };
}

async function bareCaller(): Promise<Caller> {
  const w = new BareWorker(0);
  await w.ready;
  return { call: async (text) => (await w.call('echo', { text }) as { text: string }).text, stop: () => w.stop() };
}

async function dspexCaller(size: number): Promise<Caller> {
  const pool = new SessionPool({ name: `bench-compare-${size}-${process.pid}`, size, healthCheckIntervalMs: 0, logger: silentLogger });
  await pool.start();
  return { call: async (text) => (await pool.executeAnonymous<{ text: string }>('echo', { text })).text, stop: () => pool.stop() };
}



/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const roundMs = opts.quick ? 200 : Number(opts.flags['round-ms'] ?? 500);
  const rounds = opts.quick ? 2 : Number(opts.flags['rounds'] ?? 12);
  const callerCounts = [1, 8];
  const progress = progressLine('compare');
  const dir = mkdtempSync(join(os.tmpdir(), 'dspex-bench-compare-'));
  const callers: Partial<Record<Arm, Caller>> = {};
  const rows: BenchRow[] = [];
  const ratios: Record<string, number> = {};
  try {
    // The optional ones first: their absence makes the benchmark unavailable before anything starts.
    callers['python-shell'] = await pythonShellCaller(dir);
    callers.pythonia = await pythoniaCaller(dir);
    callers.bare = await bareCaller();
    callers.dspex = await dspexCaller(1);
    callers['dspex-4-workers'] = await dspexCaller(4);
    const use = (arm: Arm): Caller => callers[arm]!;
    // Each arm answers correctly before it is timed, and is warm.
    for (const arm of ARMS) {
      const got = await use(arm).call(TEXT);
      if (got !== TEXT) throw new Error(`compare: ${arm} returned ${JSON.stringify(got).slice(0, 80)}, not the text sent`);
      await drive(8, 200, () => use(arm).call(TEXT));
    }
    for (const c of callerCounts) {
      const acc = Object.fromEntries(ARMS.map((a) => [a, [] as RunResult[]])) as Record<Arm, RunResult[]>;
      const within: Record<string, number[]> = {};
      const push = (k: string, v: number): void => void (within[k] ??= []).push(v);
      for (let r = 0; r < rounds; r++) {
        progress.update(`${c} caller${c === 1 ? '' : 's'}, round ${r + 1}/${rounds}`);
        const order = ARMS.map((_, i) => ARMS[(i + r) % ARMS.length]!);
        const got: Partial<Record<Arm, RunResult>> = {};
        for (const arm of order) {
          got[arm] = await drive(c, roundMs, () => use(arm).call(TEXT));
          acc[arm].push(got[arm]);
        }
        const rate = (a: Arm): number => got[a]!.ops / got[a]!.seconds;
        for (const a of ARMS) if (a !== 'bare') push(`${a}_vs_bare`, rate(a) / rate('bare'));
        push('dspex_vs_python_shell', rate('dspex') / rate('python-shell'));
        push('dspex_vs_pythonia', rate('dspex') / rate('pythonia'));
      }
      for (const [k, v] of Object.entries(within)) ratios[`${k}_throughput_c${c}`] = median(v);
      for (const arm of ARMS) {
        const s = summarizeRuns(acc[arm]);
        rows.push({
          callers: c,
          arm,
          'ops/s': s.opsPerS,
          'p50 µs': s.p50Us,
          'p99 µs': s.p99Us,
          'vs bare (median)': arm === 'bare' ? 1 : ratios[`${arm}_vs_bare_throughput_c${c}`]!,
        });
      }
    }
  } finally {
    progress.done();
    await Promise.all(Object.values(callers).map((c) => c.stop().catch(() => {})));
    rmSync(dir, { recursive: true, force: true });
  }
  const one = rows.find((r) => r['callers'] === 1 && r['arm'] === 'dspex')!;
  return {
    name: 'compare',
    rows,
    ratios,
    headline: { case: 'dspex echo, 1 worker, 1 caller (compare run)', opsPerS: one['ops/s'] as number, p50Us: one['p50 µs'] as number, p99Us: one['p99 µs'] as number, heapBytesPerOp: null },
    extra: { roundMs, rounds, callerCounts },
    notes: [
      `${rounds} rounds of ${roundMs} ms per arm and caller count, arm order rotating; ratios: median over rounds of the within-round ratio.`,
      'Each arm: one Python process echoing an 80-character string. python-shell pipelines requests on stdin; the pool and bare pipes have one in flight per process.',
      'dspex here is the pool with its supervision and telemetry channels (nothing subscribed); see bench monitoring for the full stack. dspex-4-workers runs 4 Python processes where every other arm runs 1.',
    ],
  };
}
