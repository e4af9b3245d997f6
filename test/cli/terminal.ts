/**
 * Driving the built CLI in a real terminal (tmux) for the CLI tests: sessions, screen captures,
 * the raw bytes the program wrote (tmux `pipe-pane`), and an independent check of those bytes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, vi } from 'vitest';
import { checkTerminalLines } from '../dashboard/helpers.js';

/** The built CLI (`npx tsc -p tsconfig.build.json` first). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

const sessions: string[] = [];

export function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

export function capture(session: string): string {
  return tmux('capture-pane', '-p', '-t', session);
}

export function paneInfo(session: string, format: string): string {
  return tmux('display-message', '-p', '-t', session, format).trim();
}

/**
 * Start `command` in a detached 120x40 tmux session. A shell wraps it and stays alive afterwards
 * (tmux reports no cursor state for a dead pane), printing the exit status as `EXIT=<code>`.
 * With `rawPath`, the command waits for Enter until everything the pane's program writes is piped
 * (raw, escape sequences included) into that file, so not a byte is missed.
 */
export function startSession(command: string, opts: { rawPath?: string } = {}): string {
  const name = `dspex-test-${process.pid}-${sessions.length}`;
  const gate = opts.rawPath ? 'read _; ' : '';
  tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', `sh -c '${gate}${command}; echo "EXIT=$?"; sleep 60'`);
  sessions.push(name);
  if (opts.rawPath) {
    tmux('pipe-pane', '-O', '-t', name, `cat > ${opts.rawPath}`);
    tmux('send-keys', '-t', name, 'Enter');
  }
  return name;
}

/** Kill every session {@link startSession} started (afterEach). */
export function killSessions(): void {
  for (const s of sessions.splice(0)) {
    try {
      tmux('kill-session', '-t', s);
    } catch {
      /* already gone */
    }
  }
}

export async function waitForScreen(session: string, pattern: RegExp, timeout = 15_000): Promise<string> {
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

/** Assert the CLI exited with `code` and the terminal is restored: main screen, cursor shown, colors reset. */
export async function expectExit(session: string, code: number): Promise<string> {
  const screen = await waitForScreen(session, /EXIT=\d+/, 15_000);
  expect(screen).toMatch(new RegExp(`EXIT=${code}\\b`));
  expect(paneInfo(session, '#{alternate_on}')).toBe('0');
  expect(paneInfo(session, '#{cursor_flag}')).toBe('1');
  // Colors reset: the shell's own line is drawn with default attributes.
  const last = tmux('capture-pane', '-p', '-e', '-t', session).split('\n').find((l) => l.includes('EXIT=')) ?? '';
  expect(last.slice(0, last.indexOf('EXIT=')).includes('\u001b[')).toBe(false);
  return screen;
}

/** The pid of the program the pane's shell started (its only child). */
export async function programPid(session: string): Promise<number> {
  const shell = Number(paneInfo(session, '#{pane_pid}'));
  let pid = 0;
  await vi.waitFor(
    () => {
      const children = readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      expect(children).toHaveLength(1);
      pid = children[0]!;
    },
    { timeout: 10_000, interval: 50 },
  );
  return pid;
}

/** What {@link checkRawFrames} found in the bytes written while the dashboard held the screen. */
export interface RawFrameReport {
  /** Line segments written between cursor-positioning sequences. */
  segments: number;
  /** The widest segment, in columns, by Python's unicodedata (not the renderers' width function). */
  maxWidth: number;
  /** Escape sequences other than the dashboard's own (SGR, cursor position, erase line, its modes). */
  foreignEscapes: string[];
  /** Control characters outside escape sequences (CR, LF, BEL, C1, ...). */
  controls: string[];
}

// eslint-disable-next-line no-control-regex
const escapePattern = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[\s\S]?)/g;
// eslint-disable-next-line no-control-regex
const cursorPosition = /^\u001b\[\d*(?:;\d*)?H$/;
// eslint-disable-next-line no-control-regex
const allowed = /^\u001b\[(?:[0-9;]*m|K|\?(?:25|7|2026|1049)[hl])$/;

/**
 * Check the raw output of a dashboard run (from the alternate-screen switch to the switch back):
 * split it at every cursor-positioning sequence, drop the dashboard's own sequences, and measure
 * each segment — what the terminal draws from that cursor position on, before tmux clips it.
 */
export function checkRawFrames(raw: string): RawFrameReport {
  const start = raw.indexOf('\u001b[?1049h');
  const end = raw.lastIndexOf('\u001b[?1049l');
  expect(start, 'the dashboard never entered the alternate screen').toBeGreaterThanOrEqual(0);
  const region = raw.slice(start, end > start ? end : raw.length);
  const segments: string[] = [];
  const foreignEscapes: string[] = [];
  let current = '';
  let last = 0;
  for (const m of region.matchAll(escapePattern)) {
    current += region.slice(last, m.index);
    last = m.index + m[0].length;
    if (cursorPosition.test(m[0])) {
      segments.push(current);
      current = '';
    } else if (!allowed.test(m[0])) {
      foreignEscapes.push(JSON.stringify(m[0]));
    }
  }
  segments.push(current + region.slice(last));
  const checks = checkTerminalLines(segments);
  return {
    segments: segments.length,
    maxWidth: checks.reduce((mw, c) => Math.max(mw, c.width), 0),
    foreignEscapes,
    controls: [...new Set(checks.flatMap((c) => c.controls))],
  };
}
