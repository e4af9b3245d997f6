/**
 * The demo's log file (worker prints and pool diagnostics, kept out of the dashboard's terminal)
 * lives in the temporary directory only when something was logged: a run that logs nothing leaves
 * no file behind.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from './terminal.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** `dspex monitor --demo --once` with its own TMPDIR; returns that directory's files afterwards. */
function demoOnce(env: NodeJS.ProcessEnv = {}): { dir: string; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'dspex-demo-log-'));
  dirs.push(dir);
  const r = spawnSync(process.execPath, [CLI, 'monitor', '--demo', '--once', '--pool-size', '1', '--load', '0', '--warmup=0', '--no-color'], {
    encoding: 'utf8',
    env: { ...process.env, ...env, TMPDIR: dir },
    timeout: 20_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return { dir, files: readdirSync(dir) };
}

describe('dspex monitor --demo log file', () => {
  it('a run that logs nothing leaves nothing in the temporary directory', () => {
    expect(demoOnce().files).toEqual([]);
  });

  it('a run whose worker prints keeps the log, with the line in it', () => {
    // An invalid PYTHONWARNINGS makes every Python process print one line on stderr at start-up.
    const { dir, files } = demoOnce({ PYTHONWARNINGS: 'bogus::Bogus' });
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^dspex-demo-\d+\.log$/);
    expect(readFileSync(join(dir, files[0]!), 'utf8')).toContain('Invalid -W option ignored');
  });
});
