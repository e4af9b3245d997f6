/**
 * End to end: `dspex monitor` in a real terminal (tmux), driven by keypresses like a person would.
 * Runs the built CLI (make test builds before testing).
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isZombieOrGone } from '../helpers/processes.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const sessions: string[] = [];
const children: ChildProcess[] = [];

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

function capture(session: string): string {
  return tmux('capture-pane', '-p', '-t', session);
}

function paneInfo(session: string, format: string): string {
  return tmux('display-message', '-p', '-t', session, format).trim();
}

/**
 * Start `command` in a detached 120x40 tmux session. A shell wraps it and stays alive afterwards
 * (tmux reports no cursor state for a dead pane), printing the exit status.
 */
function startSession(command: string): string {
  const name = `dspex-test-${process.pid}-${sessions.length}`;
  tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', `sh -c '${command}; echo "EXIT=$?"; sleep 60'`);
  sessions.push(name);
  return name;
}

async function waitForScreen(session: string, pattern: RegExp, timeout = 15_000): Promise<string> {
  let screen = '';
  await vi.waitFor(
    () => {
      screen = capture(session);
      expect(screen).toMatch(pattern);
    },
    { timeout, interval: 100 },
  );
  return screen;
}

/** Assert the CLI exited 0 with the terminal restored: main screen, cursor shown, colors reset. */
async function expectCleanExit(session: string): Promise<void> {
  const screen = await waitForScreen(session, /EXIT=\d+/, 10_000);
  expect(screen).toMatch(/EXIT=0/);
  expect(paneInfo(session, '#{alternate_on}')).toBe('0');
  expect(paneInfo(session, '#{cursor_flag}')).toBe('1');
  // Colors reset: the shell's own line is drawn with default attributes.
  const last = tmux('capture-pane', '-p', '-e', '-t', session).split('\n').find((l) => l.includes('EXIT=')) ?? '';
  expect(last.slice(0, last.indexOf('EXIT=')).includes('\u001b[')).toBe(false);
}

afterEach(() => {
  for (const s of sessions.splice(0)) {
    try {
      tmux('kill-session', '-t', s);
    } catch {
      /* already gone */
    }
  }
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await vi.waitFor(() => expect(children.every((c) => c.exitCode !== null || c.signalCode !== null)).toBe(true), { timeout: 10_000 });
});

describe('dspex monitor in a terminal', () => {
  it('--demo: draws the dashboard, p pauses, 5 switches the window, q exits 0 and restores the terminal', async () => {
    expect(existsSync(CLI), 'run `npm run build` first').toBe(true);
    const s = startSession(`node ${CLI} monitor --demo --port 0 --pool-size 2 --load 150`);
    const first = await waitForScreen(s, /Throughput[\s\S]*Workers/);
    expect(first).toMatch(/window 1m/);
    expect(first).toMatch(/pool demo/);
    expect(paneInfo(s, '#{alternate_on}')).toBe('1');
    // Frames keep within the terminal: 40 rows, none wider than 120 columns.
    expect(first.split('\n').every((l) => l.length <= 120)).toBe(true);

    tmux('send-keys', '-t', s, 'p');
    await waitForScreen(s, /PAUSED/);
    tmux('send-keys', '-t', s, 'p');
    await waitForScreen(s, /^(?![\s\S]*PAUSED)/);

    tmux('send-keys', '-t', s, '5');
    const five = await waitForScreen(s, /window 5m/);
    expect(five).toMatch(/-5m/);

    tmux('send-keys', '-t', s, 'q');
    await expectCleanExit(s);
  });

  it('Ctrl-C also exits cleanly', async () => {
    const s = startSession(`node ${CLI} monitor --demo --port 0 --pool-size 1 --load 50`);
    await waitForScreen(s, /Throughput/);
    tmux('send-keys', '-t', s, 'C-c');
    await expectCleanExit(s);
  });

  it('--url: watches a pool running in another process through its monitoring server', async () => {
    const server = spawn(process.execPath, [CLI, 'monitor', '--demo', '--headless', '--port', '0', '--pool-size', '2', '--load', '100'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(server);
    const url = await new Promise<string>((resolve, reject) => {
      let buf = '';
      server.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /monitoring at (http:\/\/127\.0\.0\.1:\d+)/.exec(buf);
        if (m) resolve(m[1]!);
      });
      server.on('exit', (code) => reject(new Error(`headless demo exited early (${code})`)));
    });
    const s = startSession(`node ${CLI} monitor --url ${url}`);
    const screen = await waitForScreen(s, /pool demo[\s\S]*Workers/);
    expect(screen).toMatch(/window 1m/);
    tmux('send-keys', '-t', s, 'f');
    await waitForScreen(s, /window 15m/);
    tmux('send-keys', '-t', s, 'q');
    await expectCleanExit(s);

    server.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => server.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(isZombieOrGone(server.pid!)).toBe(true);
  });

  it('--once prints one frame to stdout and exits', () => {
    const out = execFileSync(process.execPath, [CLI, 'monitor', '--demo', '--once', '--port', '0', '--pool-size', '1', '--load', '50', '--warmup', '1200'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 });
    expect(out).toMatch(/pool demo/);
    expect(out).toMatch(/Workers/);
    expect(out.includes('\u001b[')).toBe(false); // NO_COLOR: no escape sequences at all
  });
});
