/**
 * End to end, issue 12's last test: a real pool, the whole stack wired by createMonitoring, a real
 * webhook receiver on loopback. Kill workers in a loop → the crash-loop alert fires once → stop
 * killing → it resolves once, both seen on the webhook as Alertmanager v4 bodies.
 *
 * Why a 1m window and real time: createMonitoring owns its collector (no injected clock), and the
 * crash count of a window only falls when the crashes leave it. The rule fires at 3 crashes in
 * the last minute, so it resolves once the first of the last three kills is 60 s old. Killing
 * stops as soon as the firing arrives (3 or 4 kills), which keeps the test near 70 s.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createMonitoring, type Monitoring, type WebhookPayload } from '../../src/index.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectAllGone, expectNoLeakedWorkers } from '../helpers/processes.js';
import { httpServer } from './channels/helpers.js';

let monitoring: Monitoring | null = null;
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  await monitoring?.stop();
  await stopAll();
  for (const c of closers) await c();
});

const RULE = 'DspexWorkerCrashLoop';

describe('crash loop, end to end', () => {
  it('kill workers in a loop → one firing notification on the webhook → stop killing → one resolved notification', { timeout: 110_000 }, async () => {
    const hook = await httpServer((_r, res) => res.writeHead(200).end('ok'));
    closers.push(hook.close);
    const pool = await startPool({ size: 2 });
    monitoring = await createMonitoring({
      pools: [pool],
      env: false,
      configFile: false,
      server: { enabled: false },
      advisor: { enabled: false },
      resources: { enabled: false },
      alerts: {
        intervalMs: 200,
        defaultRules: false,
        rules: [
          {
            name: RULE,
            kind: 'threshold',
            signal: 'pool.workerCrashesPerMin',
            window: '1m',
            op: '>=',
            value: 3,
            forMs: 0,
            severity: 'critical',
            annotations: { summary: 'dspex pool {{pool}}: {{value}} worker crashes per minute', runbook: 'docs/OPERATIONS_PLAYBOOK.md#dspexworkercrashloop' },
          },
        ],
        channels: [{ type: 'webhook', url: hook.url, receiver: 'e2e', timeoutMs: 2000, retries: 2, backoffMs: 100 }],
      },
    });
    const bodies = (): WebhookPayload[] => hook.received.map((r) => JSON.parse(r.body) as WebhookPayload);
    const seenPids = new Set<number>(pool.pids());

    // Kill a serving worker every 700 ms until the firing notification arrives (at most 12 kills).
    const killTimes: number[] = [];
    let firedAt: number | null = null;
    while (firedAt === null && killTimes.length < 12) {
      await vi.waitFor(() => expect(pool.status().idle + pool.status().busy).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
      const victim = pool.pids()[0];
      if (victim !== undefined) {
        seenPids.add(victim);
        process.kill(victim, 'SIGKILL');
        killTimes.push(Date.now());
      }
      const until = Date.now() + 700;
      while (Date.now() < until && firedAt === null) {
        await new Promise((r) => setTimeout(r, 50));
        if (bodies().some((b) => b.status === 'firing')) firedAt = Date.now();
      }
    }
    expect(firedAt, 'the crash-loop alert fired').not.toBeNull();
    expect(killTimes.length).toBeGreaterThanOrEqual(3); // it needs 3 crashes in the window, not fewer
    for (const p of pool.pids()) seenPids.add(p);

    // The firing body: Alertmanager v4, one alert for the pool.
    const firing = bodies().filter((b) => b.status === 'firing');
    expect(firing).toHaveLength(1);
    const f = firing[0]!;
    expect(f).toMatchObject({ version: '4', status: 'firing', receiver: 'e2e', groupLabels: { alertname: RULE } });
    expect(f.alerts).toHaveLength(1);
    const fa = f.alerts[0]!;
    expect(fa.status).toBe('firing');
    expect(fa.labels).toMatchObject({ alertname: RULE, pool: pool.name, severity: 'critical' });
    expect(fa.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(Date.parse(fa.startsAt)).toBeGreaterThanOrEqual(killTimes[0]! - 1000);
    expect(monitoring.alerts!.activeAlerts()).toEqual([expect.objectContaining({ rule: RULE, state: 'firing', fingerprint: fa.fingerprint })]);

    // Stop killing: the pool heals, and the alert resolves once the crashes leave the 1m window.
    await vi.waitFor(() => expect(pool.status()).toMatchObject({ size: 2, idle: 2, starting: 0 }), { timeout: 15_000, interval: 50 });
    await vi.waitFor(() => expect(bodies().filter((b) => b.status === 'resolved')).toHaveLength(1), { timeout: 75_000, interval: 100 });
    const resolvedAt = Date.now();
    // Not before the third-last kill left the window (allow the collector's one-second slots).
    expect(resolvedAt).toBeGreaterThanOrEqual(killTimes[killTimes.length - 3]! + 58_000);
    const r = bodies().find((b) => b.status === 'resolved')!;
    expect(r).toMatchObject({ version: '4', status: 'resolved', groupLabels: { alertname: RULE } });
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]).toMatchObject({ status: 'resolved', fingerprint: fa.fingerprint, startsAt: fa.startsAt, labels: fa.labels });
    expect(Date.parse(r.alerts[0]!.endsAt)).toBeGreaterThanOrEqual(Date.parse(fa.startsAt));

    // A few more evaluations: nothing else is sent (no repeat, no second resolution, no re-firing).
    await new Promise((res) => setTimeout(res, 1500));
    expect(bodies().map((b) => `${b.status}:${b.alerts.map((a) => a.fingerprint).join(',')}`)).toEqual([`firing:${fa.fingerprint}`, `resolved:${fa.fingerprint}`]);
    expect(monitoring.alerts!.activeAlerts()).toEqual([]);
    const history = monitoring.alerts!.alertHistory().filter((t) => t.fingerprint === fa.fingerprint);
    expect(history.map((t) => t.to)).toEqual(['firing', 'resolved']);
    expect(monitoring.alerts!.dispatchStats()).toMatchObject({ notifications: 2, sent: 2, failed: 0, dropped: 0 });

    await monitoring.stop();
    monitoring = null;
    await pool.stop();
    await expectAllGone([...seenPids]);
    await expectNoLeakedWorkers();
  });
});
