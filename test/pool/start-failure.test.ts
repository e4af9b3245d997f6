/**
 * Start errors are never lost: while `start()` (or `resize()`, or `stop()`) is pending, the pool
 * keeps Node's event loop alive, so a plain ESM script that awaits it at top level sees the typed
 * rejection instead of Node exiting under it (code 13, "unsettled top-level await", or code 0 with
 * no output at all). Each case runs the built package in its own Node process, as a user would.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SessionPool } from '../../src/index.js';
import { FIXTURES, recordingLogger, uniqueName } from '../helpers/pools.js';

const DIST = new URL('../../dist/index.js', import.meta.url);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `body` as an ESM script (top-level await) with `SessionPool`, `quiet` and `report` in scope. */
function runScript(body: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  expect(existsSync(DIST), 'run `npm run build` first').toBe(true);
  const script = `
    import { SessionPool } from ${JSON.stringify(DIST.href)};
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const report = (e) => console.log(JSON.stringify({ name: e?.name, category: e?.category, type: e?.type, message: e?.message }));
    ${body}
  `;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, timeout: 20_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The one JSON line a script printed with `report(e)`. */
function reported(run: Run): { name: string; category: string; type: string; message: string } {
  const line = run.stdout.split('\n').find((l) => l.startsWith('{'));
  expect(line, `no error printed (exit code ${run.code}); stderr:\n${run.stderr}`).toBeDefined();
  return JSON.parse(line!) as { name: string; category: string; type: string; message: string };
}

describe('start() failures reach a top-level await', () => {
  it.each([
    { case: 'a missing interpreter', opts: `python: '/nonexistent/python'`, cause: /could not spawn \/nonexistent\/python: .*ENOENT/ },
    { case: 'an interpreter that exits at once', opts: `python: '/bin/false'`, cause: /exited before it was ready \(code 1\)/ },
    {
      case: 'a module import slower than startTimeoutMs',
      opts: `pythonPath: [${JSON.stringify(FIXTURES)}], pythonModules: ['slow_import'], startTimeoutMs: 50`,
      cause: /did not become ready within 50 ms/,
    },
  ])('$case: start() rejects with worker/start_failed naming the cause', async ({ opts, cause }) => {
    const run = await runScript(`
      const pool = new SessionPool({ size: 2, logger: quiet, ${opts} });
      try {
        await pool.start();
        console.log('started');
      } catch (e) {
        report(e);
        console.log(JSON.stringify(pool.status().lifecycle));
      }
    `);
    expect(run.code, run.stderr).toBe(0);
    const e = reported(run);
    expect(e).toMatchObject({ name: 'PythonBridgeError', category: 'worker', type: 'start_failed' });
    expect(e.message).toMatch(cause);
    expect(run.stdout).toContain('"stopped"');
  });

  it('an uncaught start failure ends Node with the error (exit 1), not an unsettled await (exit 13)', async () => {
    const run = await runScript(`await new SessionPool({ size: 1, logger: quiet, python: '/bin/false' }).start();`);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('PythonBridgeError');
    expect(run.stderr).toContain("type: 'start_failed'");
  });

  it('stop() while start() is retrying: start() rejects promptly with pool_unavailable/stopped', async () => {
    // Attempt n (its process has generation n) is followed by a backoff of 100 × 2^n ms: wait until
    // attempt 4 or later has failed (its slot is empty again), so the stop lands in a backoff of
    // at least 1.6 s, which must not be waited out.
    const run = await runScript(`
      const pool = new SessionPool({ size: 1, logger: quiet, python: '/bin/false', startAttempts: 20 });
      const started = pool.start();
      await new Promise((resolve) => {
        let late = false;
        const poll = setInterval(() => {
          const w = pool.status().workers[0];
          if (w && w.generation >= 4) late = true;
          else if (late && !w) resolve(clearInterval(poll));
        }, 2);
      });
      const t0 = performance.now();
      await pool.stop();
      try {
        await started;
        console.log('started');
      } catch (e) {
        report(e);
        console.log(JSON.stringify({ settledAfterStopMs: performance.now() - t0 }));
      }
    `);
    expect(run.code, run.stderr).toBe(0);
    expect(reported(run)).toMatchObject({ name: 'PythonBridgeError', category: 'pool_unavailable', type: 'stopped' });
    const timing = JSON.parse(run.stdout.split('\n').find((l) => l.includes('settledAfterStopMs'))!) as { settledAfterStopMs: number };
    expect(timing.settledAfterStopMs).toBeLessThan(800);
  });

  it('resize() growth whose new worker cannot start, then stop(): both settle and Node exits cleanly', async () => {
    // A module that fails to import in worker slot 1 only: the pool starts, its growth cannot.
    const run = await runScript(`
      import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      const dir = mkdtempSync(join(tmpdir(), 'dspex-grow-'));
      writeFileSync(join(dir, 'only_slot_0.py'), 'import os\\nif os.environ["DSPEX_WORKER_ID"] != "0":\\n    raise ImportError("slot 1 fails on purpose")\\n');
      const pool = new SessionPool({ size: 1, maxSize: 2, logger: quiet, pythonPath: [dir], pythonModules: ['only_slot_0'] });
      try {
        await pool.start();
        await pool.resize(2);
        console.log('resized', pool.status().idle);
        await pool.stop();
        console.log('stopped');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    `);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('resized 1\nstopped\n');
  });

  it('no backoff is waited out after the last attempt', async () => {
    // Backoffs between 4 attempts: 100 + 200 + 400 ms; one more (800 ms) after the last would be waste.
    const pool = new SessionPool({ name: uniqueName(), size: 1, python: '/bin/false', startAttempts: 4, logger: recordingLogger() });
    const t0 = performance.now();
    await expect(pool.start()).rejects.toMatchObject({ category: 'worker', type: 'start_failed' });
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(700);
    expect(ms).toBeLessThan(1500);
  });
});
