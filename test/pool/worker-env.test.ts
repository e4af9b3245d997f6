/**
 * The interpreter a pool spawns: a version manager's shim (a `#!` script, like pyenv's) is asked
 * once for its real interpreter, so each worker start skips it; anything else is kept as given.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveInterpreter, type WorkerSpawnOptions } from '../../src/pool/worker-env.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

const realPython = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const dir = mkdtempSync(join(tmpdir(), 'dspex-shim-'));
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
  await expectNoLeakedWorkers();
});

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const spawnOf = (python: string, env: NodeJS.ProcessEnv = process.env): WorkerSpawnOptions => ({ python, script: '', runId: '', env, maxMessageBytes: 1024, startTimeoutMs: 1000, output: { linesPerSecond: 1000, burstLines: 5000, maxLineBytes: 16384 } });

describe('resolveInterpreter', () => {
  it('a shim (a #! script) resolves to the interpreter it runs', async () => {
    const shim = script('python-shim', `exec ${JSON.stringify(realPython)} "$@"`);
    expect(await resolveInterpreter(spawnOf(shim))).toBe(realPython);
  });

  it('a shim found on PATH by name resolves too', async () => {
    script('pyshim', `exec ${JSON.stringify(realPython)} "$@"`);
    expect(await resolveInterpreter(spawnOf('pyshim', { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` }))).toBe(realPython);
  });

  it('a real interpreter, a missing one and a broken shim are kept as given (the start reports them)', async () => {
    expect(await resolveInterpreter(spawnOf(realPython))).toBe(realPython);
    expect(await resolveInterpreter(spawnOf('/nonexistent/python'))).toBe('/nonexistent/python');
    const broken = script('broken-shim', 'exit 3');
    expect(await resolveInterpreter(spawnOf(broken))).toBe(broken);
    const liar = script('liar-shim', 'echo not-a-path');
    expect(await resolveInterpreter(spawnOf(liar))).toBe(liar);
  });

  it('a pool started with a shim runs its workers on the real interpreter', async () => {
    const shim = script('pool-shim', `exec ${JSON.stringify(realPython)} "$@"`);
    const pool = await startPool({ size: 2, python: shim });
    for (const w of pool.status().workers) {
      expect(readFileSync(`/proc/${w.pid}/cmdline`, 'utf8').split('\0')[0]).toBe(realPython);
    }
    await expect(pool.executeAnonymous('echo', { x: 1 })).resolves.toEqual({ x: 1 });
  });
});
