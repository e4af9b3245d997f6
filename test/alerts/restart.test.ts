/**
 * The file channel across a real restart of the manager's process: a child Node process (the
 * built package: a real pool, collector and AlertManager) fires an alert on failing calls and is
 * SIGKILLed; a second process with the same journal and rule starts while the calls still fail
 * (no second firing notification), then the calls succeed (exactly one resolved notification).
 *
 * The rule reads `pool.errorRate` over 1m, which the child drives: `fail` calls make it 1, a
 * flood of `echo` calls dilutes it under the threshold within a second or two.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { expectAllGone, killAll, workerPidsOwnedBy } from '../helpers/processes.js';

const DIST = new URL('../../dist/index.js', import.meta.url).href;
const POOL = 'restart-pool';
const RULE = 'RestartErrorRate';

/** What the child prints: once started, then after every evaluation. */
interface ChildLine {
  event: 'started' | 'tick';
  pids: number[];
  ticks: number;
  active: { fingerprint: string; state: string }[];
  errorRate: number;
}

/**
 * The manager's process. Makes failing calls until it reads `heal` on stdin, then floods
 * successful ones. `waitForErrors`: start the manager only once the collector sees the error rate
 * above the threshold (a restart in the middle of an incident).
 */
function childScript(journal: string, waitForErrors: boolean): string {
  return `
    import { SessionPool, MetricsCollector, AlertManager } from ${JSON.stringify(DIST)};
    import { createInterface } from 'node:readline';
    const pool = new SessionPool({ name: ${JSON.stringify(POOL)}, size: 1, healthCheckIntervalMs: 0 });
    const collector = new MetricsCollector();
    collector.start();
    collector.trackPool(pool);
    await pool.start();
    let healed = false;
    createInterface({ input: process.stdin }).on('line', (l) => { if (l.trim() === 'heal') healed = true; });
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const load = async () => {
      for (;;) {
        if (healed) await pool.executeAnonymous('echo', { ok: true }).catch(() => {});
        else {
          await pool.executeAnonymous('fail', { type: 'ValueError', message: 'driven' }).catch(() => {});
          await sleep(50);
        }
      }
    };
    for (let i = 0; i < 4; i++) void load();
    const rate = () => collector.getPerformanceSummary(${JSON.stringify(POOL)}).windows['1m'].errorRate;
    if (${waitForErrors}) while (!(rate() > 0.5)) await sleep(20);
    const alerts = new AlertManager({
      collector,
      pools: [pool],
      intervalMs: 100,
      rules: [{ name: ${JSON.stringify(RULE)}, kind: 'threshold', signal: 'pool.errorRate', window: '1m', op: '>', value: 0.5, forMs: 300, pool: ${JSON.stringify(POOL)}, severity: 'warning', annotations: { summary: 'errors {{value}}' } }],
      channels: [{ type: 'file', path: ${JSON.stringify(journal)} }],
    });
    await alerts.start();
    const line = (event) => process.stdout.write(JSON.stringify({ event, pids: pool.pids(), ticks: alerts.tickStats().ticks, active: alerts.activeAlerts().map((a) => ({ fingerprint: a.fingerprint, state: a.state })), errorRate: rate() }) + '\\n');
    line('started');
    setInterval(() => line('tick'), 100);
  `;
}

interface Child {
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  lines: ChildLine[];
  stderr: () => string;
  exited: Promise<NodeJS.Signals | number | null>;
}

const children: Child[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const c of children) {
    killAll(c.lines.flatMap((l) => l.pids));
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function start(journal: string, waitForErrors: boolean): Child {
  expect(existsSync(new URL(DIST)), 'run `npm run build` first').toBe(true);
  const child = spawn(process.execPath, ['--input-type=module', '-e', childScript(journal, waitForErrors)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: ChildLine[] = [];
  let buf = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)) as ChildLine);
      buf = buf.slice(nl + 1);
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const c: Child = { child, lines, stderr: () => err, exited };
  children.push(c);
  return c;
}

interface JournalRecord {
  kind: string;
  reason: string;
  status: string;
  alerts: { fingerprint: string; alertname: string; status: string }[];
}

/** The journal's notification records, as (reason, status, fingerprint) per alert. */
function journal(path: string): { reason: string; status: string; fingerprint: string; alertname: string }[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JournalRecord)
    .filter((r) => r.kind === 'notification')
    .flatMap((r) => r.alerts.map((a) => ({ reason: r.reason, status: a.status, fingerprint: a.fingerprint, alertname: a.alertname })));
}

const last = (c: Child): ChildLine | undefined => c.lines[c.lines.length - 1];

describe('file channel across a restart of the manager process', () => {
  it('SIGKILL after firing: the restarted manager sends no second firing while it holds, and exactly one resolution when it stops', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-restart-'));
    dirs.push(dir);
    const path = join(dir, 'alerts.jsonl');

    // First life: failing calls → firing, journaled (fsync'd), then kill -9.
    const first = start(path, false);
    await vi.waitFor(() => expect(journal(path), first.stderr()).toHaveLength(1), { timeout: 20_000, interval: 50 });
    const [fired] = journal(path);
    expect(fired).toMatchObject({ reason: 'firing', status: 'firing', alertname: RULE });
    await vi.waitFor(() => expect(last(first)?.active).toEqual([{ fingerprint: fired!.fingerprint, state: 'firing' }]), { timeout: 5000, interval: 20 });
    const firstPids = first.lines.flatMap((l) => l.pids);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    await expectAllGone([...new Set(firstPids)], 5000); // its Python workers notice their parent's death

    // Second life, same journal and rule, the calls still failing: firing restored, not re-sent.
    const second = start(path, false); // cold: the new collector is empty at first (the restored alert must not flap on it)
    await vi.waitFor(() => expect(second.lines.find((l) => l.event === 'started'), second.stderr()).toBeDefined(), { timeout: 20_000, interval: 50 });
    const startedTicks = second.lines.find((l) => l.event === 'started')!.ticks;
    // Well past forMs (300 ms at 100 ms evaluations): a fresh alert would have fired by now.
    await vi.waitFor(() => expect(last(second)!.ticks).toBeGreaterThanOrEqual(startedTicks + 15), { timeout: 10_000, interval: 50 });
    expect(last(second)!.errorRate).toBeGreaterThan(0.5);
    expect(last(second)!.active).toEqual([{ fingerprint: fired!.fingerprint, state: 'firing' }]);
    expect(second.lines.every((l) => l.active.every((a) => a.state === 'firing'))).toBe(true); // never back through pending
    expect(journal(path)).toEqual([fired]);

    // The calls succeed: the error rate falls under 0.5 → exactly one resolved notification.
    second.child.stdin.write('heal\n');
    await vi.waitFor(() => expect(journal(path)).toHaveLength(2), { timeout: 20_000, interval: 50 });
    await vi.waitFor(() => expect(last(second)!.active).toEqual([]), { timeout: 5000, interval: 20 });
    const ticksAtResolve = last(second)!.ticks;
    await vi.waitFor(() => expect(last(second)!.ticks).toBeGreaterThanOrEqual(ticksAtResolve + 10), { timeout: 10_000, interval: 50 });
    expect(last(second)!.errorRate).toBeLessThanOrEqual(0.5);
    expect(journal(path)).toEqual([fired, { reason: 'resolved', status: 'resolved', fingerprint: fired!.fingerprint, alertname: RULE }]);

    const secondPids = second.lines.flatMap((l) => l.pids);
    second.child.kill('SIGKILL');
    expect(await second.exited).toBe('SIGKILL');
    await expectAllGone([...new Set(secondPids)], 5000);
    expect(workerPidsOwnedBy(first.child.pid)).toEqual([]);
    expect(workerPidsOwnedBy(second.child.pid)).toEqual([]);
  });
});
