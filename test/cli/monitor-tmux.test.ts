/**
 * End to end: `dspex monitor` in a real terminal (tmux), driven by keypresses like a person would.
 * Runs the built CLI (make test builds before testing).
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isZombieOrGone } from '../helpers/processes.js';
import { hostileSnapshot } from '../dashboard/helpers.js';
import { CLI, capture, checkRawFrames, expectExit, killSessions, paneInfo, startSession, tmux, waitForScreen } from './terminal.js';

const children: ChildProcess[] = [];
const servers: Server[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'dspex-tmux-'));

const expectCleanExit = (session: string): Promise<string> => expectExit(session, 0);

afterEach(async () => {
  killSessions();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await vi.waitFor(() => expect(children.every((c) => c.exitCode !== null || c.signalCode !== null)).toBe(true), { timeout: 10_000 });
});

describe('dspex monitor in a terminal', () => {
  it('--demo: draws the dashboard, p pauses, 5 switches the window, q exits 0 and restores the terminal', async () => {
    expect(existsSync(CLI), 'run `npm run build` first').toBe(true);
    const rawPath = join(tmp, 'demo.raw');
    const s = startSession(`node ${CLI} monitor --demo --port 0 --pool-size 2 --load 150`, { rawPath });
    // The first frames come before the first snapshot ("no pool yet"): wait for the pool.
    const first = await waitForScreen(s, /pool demo[\s\S]*Throughput[\s\S]*Workers/);
    expect(first).toMatch(/window 1m/);
    expect(paneInfo(s, '#{alternate_on}')).toBe('1');

    tmux('send-keys', '-t', s, 'p');
    await waitForScreen(s, /PAUSED/);
    tmux('send-keys', '-t', s, 'p');
    await waitForScreen(s, /^(?![\s\S]*PAUSED)/);

    tmux('send-keys', '-t', s, '5');
    // The header follows the key at once ("window 5m (loading)"); the axis once the 5m snapshot is in.
    await waitForScreen(s, /window 5m[\s\S]*-5m/);

    tmux('send-keys', '-t', s, 'q');
    await expectCleanExit(s);
    // What the program wrote, before tmux clips anything to the pane: every line drawn from a
    // cursor position fits in 120 columns, and only the dashboard's own sequences were sent.
    const report = checkRawFrames(readFileSync(rawPath, 'utf8'));
    expect(report.segments).toBeGreaterThan(40);
    expect(report.maxWidth).toBeLessThanOrEqual(120);
    expect(report.maxWidth).toBeGreaterThan(100); // the measure is real: the header spans the width
    expect(report.foreignEscapes).toEqual([]);
    expect(report.controls).toEqual([]);
  });

  it('--url: a hostile server cannot inject escape sequences or overflow lines', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(hostileSnapshot()));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const rawPath = join(tmp, 'hostile.raw');
    const s = startSession(`node ${CLI} monitor --url ${url} --refresh 250`, { rawPath });
    // Several hostile snapshots drawn (the request after a frame comes once that frame is written).
    await vi.waitFor(() => expect(requests).toBeGreaterThanOrEqual(4), { timeout: 15_000, interval: 50 });
    const screen = capture(s);
    const title = paneInfo(s, '#{pane_title}');
    tmux('send-keys', '-t', s, 'q');
    await expectCleanExit(s);
    const report = checkRawFrames(readFileSync(rawPath, 'utf8'));
    expect(report.foreignEscapes).toEqual([]);
    expect(report.controls).toEqual([]);
    expect(report.maxWidth).toBeLessThanOrEqual(120);
    // The text is there, neutralised; the title OSC in the pool name did not reach the terminal.
    expect(screen).toMatch(/表格名称[\s\S]*Workers/);
    expect(screen).toContain('?]52;c;');
    expect(title).not.toContain('pwned');
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
      server.stdout.on('data', (d: Buffer) => {
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

  it('--once against an unreachable server: one line on stderr, exit code 1', async () => {
    const { createServer } = await import('node:net');
    const srv = createServer();
    const port = await new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)));
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    const r = spawnSync(process.execPath, [CLI, 'monitor', '--url', `http://127.0.0.1:${port}`, '--once'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^dspex monitor: GET http:\/\/127\.0\.0\.1:\d+\/api\/snapshot/);
  });

  it('--once prints one frame to stdout and exits', () => {
    const out = execFileSync(process.execPath, [CLI, 'monitor', '--demo', '--once', '--port', '0', '--pool-size', '1', '--load', '50', '--warmup', '1200'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 });
    expect(out).toMatch(/pool demo/);
    expect(out).toMatch(/Workers/);
    expect(out.includes('\u001b[')).toBe(false); // NO_COLOR: no escape sequences at all
  });
});
