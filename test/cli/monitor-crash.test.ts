/**
 * `dspex monitor --demo` crashing (an uncaught exception, an unhandled rejection) still stops what
 * it started: the pool and its Python workers, the monitoring server, the log; it restores the
 * terminal and exits 1 with the error on stderr. The crash is a real one in the real CLI process,
 * preloaded from fixtures/crash-on-signal.mjs and set off by SIGUSR2 (no hook in src/).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { workerPidsOwnedBy } from '../helpers/processes.js';
import { CLI, expectExit, killSessions, programPid, startSession, waitForScreen } from './terminal.js';

const CRASH = fileURLToPath(new URL('./fixtures/crash-on-signal.mjs', import.meta.url));
const started: number[] = [];

/** Wait until `pid` runs `n` Python workers of its own (their cmdline names `--dspex-run-id=<pid>.`). */
async function waitForWorkers(pid: number, n: number): Promise<number[]> {
  let pids: number[] = [];
  await vi.waitFor(
    () => {
      pids = workerPidsOwnedBy(pid);
      expect(pids).toHaveLength(n);
    },
    { timeout: 20_000, interval: 50 },
  );
  return pids;
}

async function expectNoWorkersOf(pid: number): Promise<void> {
  await vi.waitFor(() => expect(workerPidsOwnedBy(pid), `Python workers of ${pid} left`).toEqual([]), { timeout: 10_000, interval: 50 });
}

afterEach(() => killSessions());
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

describe('dspex monitor on a crash', () => {
  for (const kind of ['exception', 'rejection'] as const) {
    it(`--headless, an unhandled ${kind}: stops the pool, says why on stderr, exits 1`, async () => {
      const child = spawn(process.execPath, ['--import', CRASH, CLI, 'monitor', '--demo', '--headless', '--port', '0', '--pool-size', '2', '--load', '100'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, DSPEX_TEST_CRASH: kind },
      });
      started.push(child.pid!);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      await vi.waitFor(() => expect(stdout).toMatch(/monitoring at http/), { timeout: 20_000, interval: 50 });
      await waitForWorkers(child.pid!, 2);

      child.kill('SIGUSR2');
      expect(await exited).toBe(1);
      expect(stderr).toMatch(new RegExp(`dspex monitor crashed: Error: test ${kind === 'exception' ? 'crash' : 'rejection'}`));
      // Printed once stack.stop() has resolved: pool and server were shut down.
      expect(stderr).toMatch(/dspex demo stopped; (worker logs in \S+|nothing was logged)/);
      await expectNoWorkersOf(child.pid!);
    });
  }

  it('in a terminal: restores it, stops the pool, exits 1 with the error on stderr', async () => {
    const s = startSession(`node --import ${CRASH} ${CLI} monitor --demo --port 0 --pool-size 2 --load 100`);
    await waitForScreen(s, /Throughput[\s\S]*Workers/);
    const pid = await programPid(s);
    started.push(pid);
    await waitForWorkers(pid, 2);

    process.kill(pid, 'SIGUSR2');
    const screen = await expectExit(s, 1);
    expect(screen).toMatch(/dspex monitor crashed: Error: test crash/);
    expect(screen).toMatch(/dspex demo stopped; (worker logs in|nothing was logged)/);
    await expectNoWorkersOf(pid);
  });
});
