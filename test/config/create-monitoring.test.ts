import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { CLI } from '../cli/terminal.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMonitoring, isPythonBridgeError, type Monitoring, type MonitoringHealth } from '../../src/index.js';
import { FIXTURES, recordingLogger, startPool, stopAll, uniqueName } from '../helpers/pools.js';
import { expectAllGone, expectNoLeakedWorkers } from '../helpers/processes.js';

const started: Monitoring[] = [];
async function monitor(opts: Parameters<typeof createMonitoring>[0]): Promise<Monitoring> {
  const m = await createMonitoring({ env: false, configFile: false, ...opts });
  started.push(m);
  return m;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()));
  await stopAll();
});

async function getHealth(url: string): Promise<{ status: number; body: MonitoringHealth }> {
  const res = await fetch(`${url}/api/health`);
  return { status: res.status, body: (await res.json()) as MonitoringHealth };
}

describe('createMonitoring', () => {
  it('wires collector, resources and server around a pool in one call; stop() releases it all', async () => {
    const count = (kind: string): number => process.getActiveResourcesInfo().filter((r) => r === kind).length;
    const before = { timers: count('Timeout'), servers: count('TCPServerWrap') };
    const pool = await startPool({ size: 2 });
    const m = await monitor({ pools: [pool], server: { port: 0 }, resources: { intervalMs: 200 } });
    expect(m.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await Promise.all(Array.from({ length: 50 }, (_, i) => pool.executeAnonymous('echo', { i })));
    await vi.waitFor(() => expect(m.collector.getTotals(pool.name).operations).toBe(50), { timeout: 3000 });
    const snap = (await (await fetch(`${m.url}/api/snapshot`)).json()) as { pools: { name: string }[]; resources: unknown };
    expect(snap.pools.map((p) => p.name)).toContain(pool.name);
    expect(snap.resources).not.toBeNull();
    const metrics = await (await fetch(`${m.url}/metrics`)).text();
    expect(metrics).toContain(`dspex_pool_operations_total{pool="${pool.name}"`);
    await vi.waitFor(async () => expect((await getHealth(m.url!)).body.status).toBe('healthy'), { timeout: 5000 });
    const { status, body } = await getHealth(m.url!);
    expect(status).toBe(200);
    expect(body.components.map((c) => c.name)).toEqual(['collector', 'resources', 'alerts', 'advisor', 'server']);
    expect(body.eventLagMs).toBeLessThan(2500);
    expect(body.memory.usedBytes).toBeGreaterThan(0);
    expect(body.memory.usedBytes).toBeLessThan(body.memory.capBytes);

    await m.stop();
    await m.stop(); // idempotent
    expect(m.collector.running).toBe(false);
    expect(m.resources?.tickStats().running).toBe(false);
    expect(m.server?.listening).toBe(false);
    expect(m.health().status).toBe('unhealthy');
    await pool.stop();
    // Nothing of the stack is left (a closed server's handle goes on the next turn of the loop).
    await new Promise((r) => setTimeout(r, 20));
    expect(count('Timeout')).toBeLessThanOrEqual(before.timers);
    expect(count('TCPServerWrap')).toBeLessThanOrEqual(before.servers);
  });

  it('creates, watches and stops a pool from the pool section when given none (here from DSPEX_* variables)', async () => {
    const name = uniqueName('cfg');
    const m = await createMonitoring({
      configFile: false,
      env: { DSPEX_POOL_NAME: name, DSPEX_POOL_SIZE: '2', DSPEX_PYTHON_PATH: FIXTURES, DSPEX_METRICS_PORT: '0' },
      logger: recordingLogger(),
    });
    started.push(m);
    expect(m.pools.map((p) => p.name)).toEqual([name]);
    expect(m.pools[0]!.status().size).toBe(2);
    await expect(m.pools[0]!.executeAnonymous('echo', { ok: 1 })).resolves.toEqual({ ok: 1 });
    const pids = m.pools[0]!.pids();
    await m.stop();
    expect(m.pools[0]!.status().lifecycle).toBe('stopped');
    await expectAllGone(pids);
  });

  it('a bad configuration starts nothing: no pool, no port, no timer', async () => {
    const before = process.getActiveResourcesInfo().length;
    const err = await createMonitoring({
      configFile: false,
      env: { DSPEX_POOL_SIZE: 'two' },
      server: { port: 0, prot: 1 } as never,
    }).catch((e: unknown) => e);
    expect(isPythonBridgeError(err)).toBe(true);
    if (!isPythonBridgeError(err)) return;
    expect(err.message).toContain('pool.size (env DSPEX_POOL_SIZE): expected an integer');
    expect(err.message).toContain('server.prot (option): unknown key');
    expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(before);
  });

  it('a component that fails to start stops the ones started before it', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const name = uniqueName('cfg');
      await stopAll();
      const err = await createMonitoring({
        configFile: false,
        env: false,
        pool: { name, size: 1, pythonPath: [FIXTURES], healthCheckIntervalMs: 0 },
        server: { port },
        logger: recordingLogger(),
      }).catch((e: unknown) => e);
      expect(String(err)).toMatch(/EADDRINUSE|in use/i);
      // The pool it created (this file's only pool at this point) was stopped again.
      await expectNoLeakedWorkers();
    } finally {
      blocker.close();
    }
  });

  it('the self-check restarts a component that stopped behind its back, and health shows it', async () => {
    const pool = await startPool({ size: 1 });
    const logger = recordingLogger();
    const m = await monitor({ pools: [pool], server: { port: 0 }, resources: { intervalMs: 100 }, health: { intervalMs: 1000, stallAfterMs: 1000 }, logger });
    m.resources!.stop(); // as a crashed timer would leave it
    const h = m.health();
    expect(h.status).toBe('unhealthy');
    expect(h.components.find((c) => c.name === 'resources')?.state).toBe('stopped');
    expect((await getHealth(m.url!)).status).toBe(503);
    await vi.waitFor(() => expect(m.health().components.find((c) => c.name === 'resources')).toMatchObject({ state: 'running', restarts: 1 }), { timeout: 3000 });
    expect((await getHealth(m.url!)).status).toBe(200);
    expect(logger.lines.some((l) => l.level === 'warn' && l.obj['component'] === 'resources')).toBe(true);
  });

  it('a monitoring component that throws under load changes no call of the pool', async () => {
    const pool = await startPool({ size: 2 });
    const m = await monitor({ pools: [pool], server: { port: 0 }, resources: { intervalMs: 100 }, health: { intervalMs: 100, stallAfterMs: 1000 }, alerts: { intervalMs: 100 } });
    // Make each component throw: the collector on every operation, the resource monitor on every
    // sample, the alert manager on every evaluation (its queries), the advisor on every analysis
    // (so the server's snapshots meet a throwing source).
    (m.alerts as unknown as { signals: { collector: unknown } }).signals.collector = {
      pools: () => {
        throw new Error('alert query bug');
      },
    };
    (m.advisor as unknown as { analyze: () => never }).analyze = () => {
      throw new Error('advisor bug');
    };
    const collector = m.collector as unknown as { recordOperation: () => void };
    collector.recordOperation = () => {
      throw new Error('collector bug');
    };
    const resources = m.resources as unknown as { takeSample: () => void };
    resources.takeSample = () => {
      throw new Error('sampler bug');
    };
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown): void => void uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const scraping = (async () => {
        for (let i = 0; i < 20; i++) await fetch(`${m.url}/api/snapshot`).then((r) => r.text());
      })();
      const results = await Promise.all(Array.from({ length: 400 }, (_, i) => pool.executeAnonymous('echo', { i })));
      await scraping;
      expect(results).toEqual(Array.from({ length: 400 }, (_, i) => ({ i })));
      expect(uncaught).toEqual([]);
      const h = m.health();
      expect(h.components.find((c) => c.name === 'collector')).toMatchObject({ state: 'degraded' });
      expect(h.components.find((c) => c.name === 'collector')!.errors).toBeGreaterThanOrEqual(400);
      expect(h.components.find((c) => c.name === 'resources')!.errors).toBeGreaterThan(0);
      await vi.waitFor(() => expect(m.health().components.find((c) => c.name === 'alerts')!.errors).toBeGreaterThan(0), { timeout: 3000 });
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('configure(): live keys apply at once, others are reported as needing a restart, bad input changes nothing', async () => {
    const pool = await startPool({ size: 1 });
    const m = await monitor({ pools: [pool], server: { port: 0 } });
    const r = m.configure({ resources: { intervalMs: 250 }, dashboard: { refreshMs: 500 }, server: { port: 1 } });
    expect(r.applied).toEqual(['resources.intervalMs', 'dashboard.refreshMs']);
    expect(r.restartRequired).toEqual(['server.port']);
    expect(m.config.resources.intervalMs).toBe(250);
    expect(m.resources?.tickStats().intervalMs).toBe(250);
    expect(m.config.server.port).not.toBe(1);
    expect(() => m.configure({ resources: { intervalMs: -1 } })).toThrow(/resources\.intervalMs \(configure\(\)\)/);
    expect(m.config.resources.intervalMs).toBe(250);
  });

  it("the tuner's steps reach /api/snapshot (`tuning`, newest first) and `dspex advise`", async () => {
    const pool = await startPool({ size: 1, minSize: 1, maxSize: 3 });
    const m = await monitor({
      pools: [pool],
      server: { port: 0 },
      advisor: { minCoveredS: 3, minOps: 20 },
      tuner: { enabled: true, cooldownMs: 60_000, validationMs: 60_000, intervalMs: 250 },
    });
    let running = true;
    const loops = Array.from({ length: 4 }, async () => {
      while (running) await pool.executeAnonymous('sleep', { ms: 10 });
    });
    try {
      type Snap = { tuning?: { pool: string; parameter: string; from: number; to: number; status: string; recommendationId: string }[] };
      let snap: Snap = {};
      await vi.waitFor(
        async () => {
          snap = (await (await fetch(`${m.url}/api/snapshot`)).json()) as Snap;
          expect(snap.tuning?.length).toBeGreaterThan(0);
        },
        { timeout: 20_000, interval: 250 },
      );
      expect(snap.tuning![0]).toMatchObject({ pool: pool.name, parameter: 'size', from: 1, to: 3, status: 'validating', recommendationId: `grow_pool:${pool.name}` });
      const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'advise', '--url', m.url!], { encoding: 'utf8', timeout: 20_000 });
      expect(stdout).toContain('auto-tuner, newest first:');
      expect(stdout).toMatch(new RegExp(`#1 ${pool.name}: size 1 → 3 validating \\((now|-\\d+s)\\)`));
      expect(stdout).toContain(`for grow_pool:${pool.name}: `);
      expect(stdout).toMatch(/before: p99 [\d.]+ ms, errors 0%, [\d.]+\/s/);
    } finally {
      running = false;
      await Promise.all(loops);
    }
  });

  it('wires the advisor and one tuner per pool; the tuner is off by default, configure() turns it on and off; a bad tuner range fails at start', async () => {
    const pool = await startPool({ size: 1, maxSize: 4 });
    const m = await monitor({ pools: [pool], server: { port: 0 }, tuner: { cooldownMs: 1000, validationMs: 500 } });
    expect(m.advisor?.running).toBe(true);
    const tuner = m.tuners.get(pool.name);
    expect(tuner?.enabled).toBe(false);
    expect(m.configure({ tuner: { enabled: true } }).applied).toEqual(['tuner.enabled']);
    expect(tuner?.enabled).toBe(true);
    m.configure({ tuner: { enabled: false } });
    expect(tuner?.enabled).toBe(false);
    // A pool added later gets its tuner too.
    const second = await startPool({ size: 1 });
    m.addPool(second);
    expect(m.tuners.has(second.name)).toBe(true);
    const snap = (await (await fetch(`${m.url}/api/snapshot`)).json()) as { recommendations: unknown[] };
    expect(Array.isArray(snap.recommendations)).toBe(true);
    await m.stop();
    expect(m.advisor?.running).toBe(false);
    await expect(monitor({ pools: [pool], server: { enabled: false }, tuner: { ranges: { size: [8, 2] } } })).rejects.toThrow(/tuner\.ranges\.size.*min must not exceed max/);
    await expect(monitor({ pools: [pool], server: { enabled: false }, tuner: { cooldownMs: 10, validationMs: 20 } })).rejects.toThrow(/tuner\.validationMs/);
  });

  it('wires the alert manager: a worker crash fires DspexWorkerCrashed, seen in /api/snapshot, the dspex_alerts gauge and health', async () => {
    const pool = await startPool({ size: 1 });
    const m = await monitor({ pools: [pool], server: { port: 0 }, alerts: { intervalMs: 100 } });
    expect(m.alerts?.listRules().map((r) => r.name)).toContain('DspexWorkerCrashLoop');
    await expect(pool.executeAnonymous('crash', { code: 1 })).rejects.toMatchObject({ type: 'crashed' });
    await vi.waitFor(() => expect(m.alerts?.activeAlerts().filter((a) => a.state === 'firing').map((a) => a.rule)).toContain('DspexWorkerCrashed'), { timeout: 5000, interval: 50 });
    const snap = (await (await fetch(`${m.url}/api/snapshot`)).json()) as { alerts: { name: string; pool: string | null }[] };
    expect(snap.alerts).toContainEqual(expect.objectContaining({ name: 'DspexWorkerCrashed', pool: pool.name }));
    expect(await (await fetch(`${m.url}/metrics`)).text()).toMatch(new RegExp(`dspex_alerts\\{[^}]*alertname="DspexWorkerCrashed"[^}]*\\} 1`));
    expect(m.health().components.find((c) => c.name === 'alerts')?.state).toBe('running');
    // Thresholds are live: a rule set rebuilt in place, alert state of unchanged rules kept.
    expect(m.configure({ alerts: { thresholds: { errorRate: 0.5 } } }).applied).toEqual(['alerts.thresholds.errorRate']);
    expect(m.alerts?.listRules().find((r) => r.name === 'DspexHighErrorRate')).toMatchObject({ value: 0.5 });
    // …and the firing crash alert was not reset by it (no second firing).
    expect(m.alerts?.alertHistory().filter((t) => t.rule === 'DspexWorkerCrashed' && t.to === 'firing')).toHaveLength(1);
    expect(m.alerts?.activeAlerts().find((a) => a.rule === 'DspexWorkerCrashed')?.state).toBe('firing');
  });

  it('never shows the token: not in config, health or logs', async () => {
    const token = 'tok-abcdefghijklmnop-secret';
    const logger = recordingLogger();
    const pool = await startPool({ size: 1 });
    const m = await monitor({ pools: [pool], server: { port: 0, token }, logger });
    expect(JSON.stringify(m.config)).not.toContain(token);
    expect((await fetch(`${m.url}/api/health`)).status).toBe(401);
    const res = await fetch(`${m.url}/api/health`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain(token);
    expect(JSON.stringify(logger.lines)).not.toContain(token);
  });
});
