/**
 * The built `dspex` as a child process: the help forms (stdout, exit 0) and usage errors (one line
 * naming the offending argument plus a hint on stderr, exit 2, no stack trace).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchNames } from '../../src/bench/index.js';
import { monitorCommand, benchCommand } from '../../src/cli/commands.js';
import { CLI } from './terminal.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

// `npm run build` unless dist is already newer than every source (as after `make test`'s build),
// so this file never rewrites dist under the other CLI test files when nothing changed.
beforeAll(() => {
  if (!existsSync(CLI) || statSync(CLI).mtimeMs < newestMtime(join(ROOT, 'src'))) {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  }
}, 120_000);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function dspex(...args: string[]): Run {
  const env = { ...process.env };
  delete env['FORCE_COLOR'];
  delete env['DSPEX_TOKEN'];
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2, nothing on stdout, exactly the offending line plus the hint on stderr. */
function expectUsageError(r: Run, line: RegExp, hint: string): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n');
  expect(lines, r.stderr).toHaveLength(3); // two lines, newline-terminated
  expect(lines[0]).toMatch(line);
  expect(lines[1]).toBe(`run '${hint}' for usage`);
  expect(lines[2]).toBe('');
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

describe('dspex help', () => {
  it.each([['--help'], ['-h'], ['help']])('dspex %s: the overview on stdout, exit 0', (arg) => {
    const r = dspex(arg);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: dspex <command> \[options\]\n/);
    for (const command of ['monitor', 'bench NAME', 'soak', 'help [COMMAND]']) expect(r.stdout).toMatch(new RegExp(`^  ${command.replace(/[[\]]/g, '\\$&')}  `, 'm'));
  });

  it.each([
    [['help', 'monitor']],
    [['monitor', '--help']],
    [['monitor', '-h']],
    [['monitor', '--demo', '--bogus', '--help']],
  ])('dspex %j: the monitor help on stdout, exit 0', (args) => {
    const r = dspex(...args);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: dspex monitor --demo /);
  });

  it('monitor --help documents every declared flag with its value, range and default', () => {
    const { stdout } = dspex('monitor', '--help');
    for (const [name, flag] of Object.entries(monitorCommand.flags)) {
      const term = flag.kind === 'boolean' ? `--${name}` : `--${name} ${flag.kind === 'choice' ? flag.choices.join('|') : flag.value}`;
      const line = stdout.split('\n').find((l) => l.startsWith(`  ${term} `));
      expect(line, `no help line for ${term}`).toBeDefined();
      expect(line!.slice(`  ${term}`.length).trim().length, `${term} has no description`).toBeGreaterThan(0);
    }
    expect(stdout).toMatch(/--refresh MS +dashboard refresh interval, ms \(250\.\.60000; default 1000\)/);
    expect(stdout).toMatch(/--pool-size N +Python workers in the demo pool \(integer 1\.\.256; default 4; with --demo\)/);
    expect(stdout).toMatch(/--window 1m\|5m\|15m +metrics window shown \(default 1m\)/);
    expect(stdout).toMatch(/^ {2}-h, --help /m);
  });

  it.each([[['bench', '--help']], [['help', 'bench']]])('dspex %j: the bench help lists the benchmarks and every flag', (args) => {
    const r = dspex(...args);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: dspex bench NAME/);
    // The list wraps at the help's width (nine names no longer fit on one line): compare it unwrapped.
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(benchNames().join(', '));
    for (const name of Object.keys(benchCommand.flags)) expect(r.stdout).toMatch(new RegExp(`^  --${name}\\b`, 'm'));
  });

  it('dspex with no command: the overview on stderr, exit 2', () => {
    const r = dspex();
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^usage: dspex <command>/);
  });
});

describe('dspex usage errors', () => {
  it.each([
    [['monitor', '--once', '--demo', '--bogus'], /^dspex monitor: unknown flag '--bogus'$/, 'dspex help monitor'],
    [['monitor', '--demo', '--port', 'abc'], /^dspex monitor: --port must be an integer in 0\.\.65535, got 'abc'$/, 'dspex help monitor'],
    [['monitor', '--demo', '--refresh', '-5'], /^dspex monitor: --refresh must be a number in 250\.\.60000, got '-5'$/, 'dspex help monitor'],
    [['monitor', '--demo', '--refresh'], /^dspex monitor: missing value for --refresh \(MS\)$/, 'dspex help monitor'],
    [['monitor', '--demo', '--window', '2m'], /^dspex monitor: --window must be one of 1m, 5m, 15m, got '2m'$/, 'dspex help monitor'],
    [['monitor', '--demo', 'extra'], /^dspex monitor: unexpected argument 'extra'$/, 'dspex help monitor'],
    [['monitor', '--once=yes', '--demo'], /^dspex monitor: --once takes no value, got 'yes'$/, 'dspex help monitor'],
    [['monitor', '--once'], /^dspex monitor: pass exactly one of --demo, --url URL or --fleet REDIS_URL$/, 'dspex help monitor'],
    [['monitor', '--url', 'http://127.0.0.1:1', '--headless'], /^dspex monitor: --headless goes with --demo$/, 'dspex help monitor'],
    [['frobnicate'], /^dspex: unknown command 'frobnicate': one of monitor, advise, bench, soak, stack, config, help$/, 'dspex help'],
    [['--bogus'], /^dspex: unknown flag '--bogus'$/, 'dspex help'],
    [['help', 'frobnicate'], /^dspex help: unknown command 'frobnicate': one of monitor, advise, bench, soak, stack, config, help$/, 'dspex help'],
    [['bench'], /^dspex bench: missing bench NAME: one of pool, /, 'dspex help bench'],
    [['bench', 'nope'], new RegExp(`^dspex bench: unknown bench 'nope': one of ${benchNames().join(', ')}$`), 'dspex help bench'],
    [['bench', 'pool', '--bogus'], /^dspex bench: unknown flag '--bogus'$/, 'dspex help bench'],
    [['bench', 'metrics', '--procs', '4'], /^dspex bench: --procs is only for 'bench resources', not 'bench metrics'$/, 'dspex help bench'],
    [['bench', 'pool', '--rounds', '0'], /^dspex bench: --rounds must be an integer in 1\.\.1000, got '0'$/, 'dspex help bench'],
    [['soak', '--duration', '2x'], /^dspex soak: --duration must be a duration like 90s, 2m, 1h or 1h30m, got '2x'$/, 'dspex help soak'],
    [['soak', '--duration', '5s'], /^dspex soak: --duration \(5s\) must be at least one sampling interval \(10 s\)$/, 'dspex help soak'],
    [['soak', '--duration', '2m', '--warmup', '3m'], /^dspex soak: --warmup \(3m\) must be shorter than --duration \(2m\)$/, 'dspex help soak'],
    [['soak', '--ops-per-s', '0'], /^dspex soak: --ops-per-s must be a number in 1\.\.100000, got '0'$/, 'dspex help soak'],
  ])('dspex %j', (args, line, hint) => {
    expectUsageError(dspex(...args), line, hint);
  });
});

describe('dspex monitor still runs', () => {
  it('--demo --once with every demo flag: one colorless frame on stdout, exit 0', () => {
    const r = dspex('monitor', '--demo', '--once', '--pool-size', '1', '--load', '50', '--warmup=200', '--window', '5m', '--no-color');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Throughput[\s\S]*Workers/);
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('--url of a server that is not there: a one-line error, exit 1', () => {
    const r = dspex('monitor', '--url', 'http://127.0.0.1:1', '--once');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^dspex monitor: /);
  });
});
