/**
 * Issue 19, the stack of a stuck worker from outside the process: `GET /api/stack` of the
 * monitoring server (token-protected like every route), `dspex stack --url … POOL WORKER`, and
 * the terminal dashboard's `d` key over the same server.
 */
import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { HttpSnapshotSource } from '../../src/exporters/client.js';
import { PerformanceDashboard } from '../../src/dashboard/performance-dashboard.js';
import { request, startStack, type Stack } from './helpers.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

const TOKEN = 'stack-route-test-token';
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Start a long call and wait until the worker has it (wrapped: an async function would adopt the promise). */
async function busy(s: Stack): Promise<{ call: Promise<unknown> }> {
  const call = s.pool.executeAnonymous('inside.spin_in_known_function', { seconds: 3 });
  call.catch(() => undefined); // a failed test stops the pool under it: no unhandled rejection
  await vi.waitFor(() => expect(s.pool.status().busy).toBe(1), { timeout: 2000, interval: 5 });
  return { call };
}

describe('/api/stack', () => {
  it('serves the stack of a busy worker behind the token; bad input is 400/404', async () => {
    stack = await startStack({ pool: { size: 1, pythonModules: ['inside'] }, server: { token: TOKEN } });
    const s = stack;
    const { call } = await busy(s);
    const path = `/api/stack?pool=${encodeURIComponent(s.pool.name)}&worker=0`;
    expect((await request(s.server.url, path)).status).toBe(401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    let body: { stack: string; pid: number; workerId: number; pool: string } = { stack: '', pid: 0, workerId: -1, pool: '' };
    await vi.waitFor(
      async () => {
        const res = await request(s.server.url, path, { headers: auth });
        expect(res.status).toBe(200);
        body = JSON.parse(res.body) as typeof body;
        expect(body.stack).toContain('in spin_in_known_function');
      },
      { timeout: 3000, interval: 50 },
    );
    expect(body).toMatchObject({ pool: s.pool.name, workerId: 0, pid: s.pool.status().workers[0]!.pid });
    expect((await request(s.server.url, `/api/stack?pool=${encodeURIComponent(s.pool.name)}`, { headers: auth })).status).toBe(400);
    expect((await request(s.server.url, `/api/stack?pool=${encodeURIComponent(s.pool.name)}&worker=x`, { headers: auth })).status).toBe(400);
    expect((await request(s.server.url, `/api/stack?pool=${encodeURIComponent(s.pool.name)}&worker=99`, { headers: auth })).status).toBe(400);
    expect((await request(s.server.url, '/api/stack?pool=nope&worker=0', { headers: auth })).status).toBe(404);
    expect((await request(s.server.url, `/api/stack?pool=${encodeURIComponent(s.pool.name)}&worker=0`, { method: 'POST', headers: auth })).status).toBe(405);
    await call; // the worker was not disturbed
  });

  it('dspex stack prints it; a wrong token is exit code 1 with the reason', async () => {
    stack = await startStack({ pool: { size: 1, pythonModules: ['inside'] }, server: { token: TOKEN } });
    const s = stack;
    const { call } = await busy(s);
    let out = { code: -1, stdout: '', stderr: '' };
    await vi.waitFor(
      async () => {
        out = await runCli(['stack', '--url', s.server.url, s.pool.name, '0'], { DSPEX_TOKEN: TOKEN });
        expect(out.stdout).toContain('in spin_in_known_function');
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^# pool ${s.pool.name}, worker 0, pid \\d+`));
    const bad = await runCli(['stack', '--url', s.server.url, s.pool.name, '0'], { DSPEX_TOKEN: 'not-the-token-4711' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('401');
    expect(bad.stderr).not.toContain('not-the-token-4711');
    const usage = await runCli(['stack', '--url', s.server.url, s.pool.name, 'x'], {});
    expect(usage.code).toBe(2);
    await call;
  });

  it("the dashboard's d key shows the stack through the server", async () => {
    stack = await startStack({ pool: { size: 1, pythonModules: ['inside'] }, server: { token: TOKEN } });
    const s = stack;
    const { call } = await busy(s);
    const stdin = Object.assign(new PassThrough(), { isTTY: false });
    let written = '';
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 40 });
    stdout.on('data', (c: Buffer) => (written += c.toString('utf8')));
    const dash = new PerformanceDashboard({ source: new HttpSnapshotSource({ url: s.server.url, token: TOKEN }), stdin, stdout, color: false, handleProcessEvents: false, onExit: () => {} });
    dash.start();
    try {
      await vi.waitFor(() => expect(written).toContain(s.pool.name), { timeout: 5000 });
      await vi.waitFor(
        () => {
          written = '';
          dash.handleKeys('\u001b');
          dash.handleKeys('d');
          return vi.waitFor(() => expect(written).toContain('in spin_in_known_function'), { timeout: 500, interval: 20 });
        },
        { timeout: 5000, interval: 50 },
      );
      expect(written).toContain('Python stack');
      expect(dash.view.stackWorker).toBe(0);
      dash.handleKeys('\u001b');
      expect(dash.view.stackWorker).toBeNull();
    } finally {
      dash.stop();
    }
    await call;
  });
});
