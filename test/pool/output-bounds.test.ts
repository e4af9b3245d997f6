/**
 * Bounded Python output (src/pool/output.ts, src/pool/default-logger.ts): real Python processes
 * printing far too much, and Node processes whose stderr nobody reads.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SessionPool, type WorkerStatus } from '../../src/index.js';
import { FIXTURES, recordingLogger, startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

const MB = 1024 * 1024;
const DIST = new URL('../../dist/index.js', import.meta.url);

/**
 * The Node process of the child tests: one pool (the built package) whose logger is the DEFAULT one
 * (pino to this process's stderr, which the test never reads) or, with `record`, one that keeps
 * what it receives; one call of the noisy_output fixture; a report on stdout; `process.exit(0)`.
 * Its configuration comes in DSPEX_TEST_CHILD (JSON). Run with --expose-gc.
 */
const CHILD = `
  const cfg = JSON.parse(process.env.DSPEX_TEST_CHILD);
  const { SessionPool } = await import(cfg.dist);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // Memory after full collections: the RSS, and what JavaScript holds (heap + buffers). Twice, a
  // moment apart: V8 frees ArrayBuffers after a collection concurrently, so a figure read right
  // after one collection still counts the buffers it found dead.
  const memory = async () => {
    for (let i = 0; i < 2; i++) {
      globalThis.gc();
      await sleep(50);
    }
    const m = process.memoryUsage();
    return { rss: m.rss, held: m.heapUsed + m.external };
  };
  // Records as the logger got them; long messages are kept as their head, tail and length.
  const records = [];
  const at = (level) => (obj, msg = '') => records.push({ level, obj, head: msg.slice(0, 64), tail: msg.slice(-64), length: msg.length });
  const logger = cfg.record ? { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } : undefined;

  const pool = new SessionPool({ name: 'output-child', size: 1, healthCheckIntervalMs: 0, pythonPath: [cfg.fixtures], pythonModules: ['noisy_output'], logger, ...cfg.options });
  await pool.start();
  await sleep(200);
  const before = await memory();
  let peakRss = before.rss;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 50);
  const result = await pool.executeAnonymous(cfg.command, cfg.args, { timeoutMs: 60000 });
  await sleep(300);
  clearInterval(sampler);
  const after = await memory();
  peakRss = Math.max(peakRss, after.rss);
  const worker = pool.status().workers[0];
  await pool.stop();
  // A last line without a newline is forwarded when its pipe ends, just after the exit.
  await sleep(100);
  process.stdout.write(JSON.stringify({ before, after, peakRss, result, worker, records }) + '\\n');
  process.exit(0);
`;

interface Memory {
  rss: number;
  held: number;
}
interface ChildRecord {
  level: string;
  obj: Record<string, unknown>;
  head: string;
  tail: string;
  length: number;
}
interface ChildReport {
  before: Memory;
  after: Memory;
  peakRss: number;
  result: Record<string, number>;
  worker: WorkerStatus;
  records: ChildRecord[];
}

/**
 * Run {@link CHILD} (the built package, one pool, one call) with its stderr a pipe this test never
 * reads. Resolves with its report and how long its `process.exit(0)` took
 * (null: it had not exited `exitDeadlineMs` after the report, and was killed).
 */
function runChild(cfg: { command: string; args: unknown; options?: Record<string, unknown>; record?: boolean }, exitDeadlineMs: number): Promise<{ report: ChildReport; exitMs: number | null }> {
  expect(existsSync(DIST), 'run `npm run build` first').toBe(true);
  const env = { ...process.env, DSPEX_TEST_CHILD: JSON.stringify({ dist: DIST.href, fixtures: FIXTURES, options: {}, ...cfg }) };
  // stdio 'pipe' for stderr and no reader on it: the pipe fills and stays full.
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD], { stdio: ['ignore', 'pipe', 'pipe'], env });
  return new Promise((resolve, reject) => {
    let out = '';
    let report: ChildReport | null = null;
    let reportAt = 0;
    let deadline: NodeJS.Timeout | null = null;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (report !== null || nl === -1) return;
      report = JSON.parse(out.slice(0, nl)) as ChildReport;
      reportAt = performance.now();
      deadline = setTimeout(() => child.kill('SIGKILL'), exitDeadlineMs);
    });
    child.on('exit', (code, signal) => {
      if (deadline) clearTimeout(deadline);
      if (report === null) {
        // Only now read its stderr (what is left in the pipe), to say why.
        let err = '';
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (d: string) => (err += d));
        child.stderr.on('end', () => reject(new Error(`child exited (${code ?? signal}) without a report:\n${err.slice(-2000)}`)));
      } else resolve({ report, exitMs: signal === null ? performance.now() - reportAt : null });
    });
  });
}

/** The lines a recording logger got whose message matches `re`. */
const matching = (logger: ReturnType<typeof recordingLogger>, re: RegExp) => logger.lines.filter((l) => re.test(l.msg));

async function outputPool(opts: Parameters<typeof startPool>[0] = {}): Promise<{ pool: SessionPool; logger: ReturnType<typeof recordingLogger> }> {
  const logger = recordingLogger();
  const pool = await startPool({ size: 1, pythonModules: ['noisy_output'], logger, ...opts });
  return { pool, logger };
}

describe('output bounds', () => {
  it('default logger, stderr a pipe nobody reads: 3 s of print loop keep RSS under +50 MB, and process.exit(0) returns at once', async () => {
    const { report, exitMs } = await runChild({ command: 'noisy_output.spam', args: { seconds: 3, width: 1000 } }, 5000);
    // Python printed all along (Node kept reading): ~100,000 lines of 1 KB on an idle 2-core VM,
    // fewer when the machine is busy.
    expect(report.result['lines']).toBeGreaterThan(1000);
    const growthMb = (report.peakRss - report.before.rss) / MB;
    expect(growthMb, `RSS ${(report.before.rss / MB).toFixed(0)} → ${(report.peakRss / MB).toFixed(0)} MB`).toBeLessThan(50);
    expect(exitMs, 'process.exit(0) did not return within 5 s').not.toBeNull();
    expect(exitMs).toBeLessThan(3000);
    // The rate cap dropped most of it, and says so.
    expect(report.worker.outputLinesDropped).toBeGreaterThan(report.result['lines']! / 2);
  }, 60_000);

  it('a 10 MB line without a newline holds the line cap, not 10 MB; it is forwarded cut when the pipe ends', async () => {
    const { report } = await runChild({ command: 'noisy_output.partial', args: { nbytes: 10 * MB }, record: true }, 5000);
    // After a full GC, what JavaScript holds grew by far less than the 10 MB that went through.
    const heldMb = (report.after.held - report.before.held) / MB;
    expect(heldMb, `held ${(report.before.held / MB).toFixed(1)} → ${(report.after.held / MB).toFixed(1)} MB`).toBeLessThan(2);
    const lines = report.records.filter((r) => r.head.startsWith('ppp'));
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.level).toBe('info');
    expect(line.obj).toMatchObject({ stream: 'stdout', cut: true, lineBytes: 10 * MB });
    // The default cap, 16 KiB, then the mark.
    expect(line.tail).toMatch(/p …\[cut: 10485760 bytes\]$/);
    expect(line.length).toBe(16 * 1024 + ' …[cut: 10485760 bytes]'.length);
    expect(report.worker.outputLinesCut).toBe(0); // the line was still open while the worker lived
  }, 60_000);

  it('rate cap: a burst of 100,000 lines forwards at most burst + rate × time per stream, and dropped records account for the rest', async () => {
    const { pool, logger } = await outputPool({ outputLinesPerSecond: 200, outputBurstLines: 1000 });
    const t0 = performance.now();
    await expect(pool.executeAnonymous('noisy_output.burst', { lines: 100_000, stream: 'both' })).resolves.toMatchObject({ lines: 100_000 });
    const forwarded = () => matching(logger, /^burst \d+$/);
    const reports = () => logger.lines.filter((l) => l.obj['droppedLines'] !== undefined);
    const dropped = (stream: 'stdout' | 'stderr') => reports().reduce((n, l) => n + (l.obj['droppedLines'] as Record<string, number>)[stream]!, 0);
    await vi.waitFor(() => expect(forwarded().length + dropped('stdout') + dropped('stderr')).toBe(100_000), { timeout: 5000, interval: 50 });
    const seconds = (performance.now() - t0) / 1000;
    const fwd = forwarded();
    // Even lines went to stdout (info), odd ones to stderr (warn); each stream has its own bucket.
    for (const [stream, level, first] of [['stdout', 'info', 0], ['stderr', 'warn', 1]] as const) {
      const mine = fwd.filter((l) => l.obj['stream'] === stream);
      expect(mine.length, stream).toBeGreaterThanOrEqual(1000);
      expect(mine.length, stream).toBeLessThanOrEqual(1000 + Math.ceil(200 * seconds));
      // The counts add up.
      expect(mine.length + dropped(stream), stream).toBe(50_000);
      expect(mine.every((l) => l.level === level)).toBe(true);
      // The burst goes through whole (the stream's first 1000 lines), then lines as tokens refill, in order.
      const nums = mine.map((l) => Number(l.msg.slice('burst '.length)));
      expect(nums.slice(0, 1000)).toEqual(Array.from({ length: 1000 }, (_, i) => first + 2 * i));
      expect(nums.every((v, i) => v % 2 === first && (i === 0 || v > nums[i - 1]!))).toBe(true);
    }
    // One record per interval (1 s), not one per line.
    const recs = reports();
    expect(recs.length).toBeGreaterThanOrEqual(1);
    expect(recs.length).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(recs[0]).toMatchObject({ level: 'warn', obj: { pool: pool.name, workerId: 0, intervalMs: expect.any(Number) } });
    expect(recs[0]?.msg).toMatch(/^\d+ lines of Python output dropped in \d+ ms/);
    expect(pool.status().workers[0]?.outputLinesDropped).toBe(100_000 - fwd.length);
  });

  it('line-length cap: long lines are cut to outputMaxLineBytes at a character boundary and marked', async () => {
    const { pool, logger } = await outputPool({ outputMaxLineBytes: 1000 });
    await pool.executeAnonymous('noisy_output.long_line', { nbytes: 100_000, stream: 'stderr' });
    // 'x' then 600 two-byte characters: 1201 bytes; byte 1000 falls inside a character.
    await pool.executeAnonymous('noisy_output.normal', { out: [`x${'é'.repeat(600)}`] });
    await vi.waitFor(() => expect(logger.lines.filter((l) => l.obj['cut'] === true)).toHaveLength(2));
    const [long, wide] = logger.lines.filter((l) => l.obj['cut'] === true);
    expect(long).toMatchObject({ level: 'warn', obj: { stream: 'stderr', cut: true, lineBytes: 100_000 } });
    expect(long?.msg).toBe(`L${'x'.repeat(999)} …[cut: 100000 bytes]`);
    expect(wide).toMatchObject({ level: 'info', obj: { stream: 'stdout', cut: true, lineBytes: 1201 } });
    expect(wide?.msg).toBe(`x${'é'.repeat(499)} …[cut: 1201 bytes]`);
    expect(pool.status().workers[0]).toMatchObject({ outputLinesCut: 2, outputLinesDropped: 0 });
  });

  it('normal prints arrive intact under tight caps: stdout → info, stderr → warn, lines split across writes joined', async () => {
    const { pool, logger } = await outputPool({ outputMaxLineBytes: 64, outputLinesPerSecond: 10, outputBurstLines: 20 });
    const exact = 'ü'.repeat(32); // 64 bytes: at the cap, not over it
    await pool.executeAnonymous('noisy_output.normal', { out: ['hello', '', exact, 'tab\there'], err: ['Traceback (most recent call last):', '  File "x.py", line 1'] });
    await pool.executeAnonymous('noisy_output.partial', { nbytes: 50, chunk: 7 });
    await pool.executeAnonymous('noisy_output.finish_line', {});
    await vi.waitFor(() => expect(logger.lines.filter((l) => l.obj['stream'] !== undefined)).toHaveLength(7));
    // Each stream in order (the two pipes are read independently, so not interleaved in order).
    const of = (stream: string) => logger.lines.filter((l) => l.obj['stream'] === stream).map((l) => [l.level, l.msg]);
    expect(of('stdout')).toEqual([
      ['info', 'hello'],
      ['info', ''],
      ['info', exact],
      ['info', 'tab\there'],
      ['info', 'p'.repeat(50)],
    ]);
    expect(of('stderr')).toEqual([
      ['warn', 'Traceback (most recent call last):'],
      ['warn', '  File "x.py", line 1'],
    ]);
    expect(logger.lines.every((l) => l.obj['cut'] === undefined && l.obj['droppedLines'] === undefined)).toBe(true);
    expect(pool.status().workers[0]).toMatchObject({ outputLinesCut: 0, outputLinesDropped: 0 });
  });

  it('the output options are validated and have defaults', async () => {
    const { pool } = await outputPool();
    expect(pool.options).toMatchObject({ outputLinesPerSecond: 1000, outputBurstLines: 5000, outputMaxLineBytes: 16 * 1024 });
    for (const bad of [{ outputLinesPerSecond: 0 }, { outputBurstLines: 1.5 }, { outputMaxLineBytes: 10 }, { outputMaxLineBytes: 2 * MB }]) {
      const option = Object.keys(bad)[0]!;
      expect(() => new SessionPool({ ...bad, logger: recordingLogger() }), option).toThrow(new RegExp(`invalid pool option '${option}'`));
    }
  });
});
