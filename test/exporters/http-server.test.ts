/**
 * The monitoring server over real HTTP (port 0) in front of a real pool of Python workers: every
 * route and status code, the token, SSE, bad clients, and a clean stop.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MonitoringServer, type MonitoringServerOptions, type MonitoringSnapshot } from '../../src/exporters/index.js';
import { PythonBridgeError } from '../../src/index.js';
import { MetricsCollector } from '../../src/metrics/index.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { rawExchange, request, startStack, sumSamples, type Stack } from './helpers.js';

const WAIT = { timeout: 10_000, interval: 50 };

/** Read SSE events from a stream until `count` snapshots arrived (or the stream ended). */
interface EventStream {
  status: number;
  snapshots: MonitoringSnapshot[];
  raw: string;
  ended: boolean;
  /** Disconnect (the client side). */
  close: () => void;
  /** Settles when the server ends the stream or the connection closes. */
  closed: Promise<void>;
}

function readEvents(url: string, path: string, count: number, headers: Record<string, string> = {}): Promise<EventStream> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers, agent: false }, (res) => {
      let raw = '';
      const snapshots: MonitoringSnapshot[] = [];
      const close = (): void => {
        req.destroy();
      };
      const closed = new Promise<void>((r) => res.once('close', () => r()));
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, snapshots, raw, ended: true, close, closed }));
        return;
      }
      let done = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        let i: number;
        while ((i = raw.indexOf('\n\n')) >= 0) {
          const block = raw.slice(0, i);
          raw = raw.slice(i + 2);
          const lines = block.split('\n');
          if (lines.includes('event: snapshot')) {
            const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
            snapshots.push(JSON.parse(data) as MonitoringSnapshot);
          }
        }
        if (!done && snapshots.length >= count) {
          done = true;
          resolve({ status: 200, snapshots, raw, ended: false, close, closed });
        }
      });
      res.on('end', () => {
        if (!done) resolve({ status: 200, snapshots, raw, ended: true, close, closed });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('MonitoringServer with a real pool', () => {
  let stack: Stack;
  let url: string;
  const calls = { ok: 0, failed: 0 };

  beforeAll(async () => {
    stack = await startStack({ resources: true, server: { sseIntervalMs: 200, maxSseClients: 2 } });
    url = stack.server.url;
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        i % 4 === 0 ? stack.pool.executeAnonymous('fail', { type: 'ValueError', message: 'nope' }) : stack.pool.executeAnonymous('echo', { i }),
      ),
    );
    for (const r of results) {
      if (r.status === 'fulfilled') calls.ok++;
      else calls.failed++;
    }
  });

  afterAll(async () => {
    await stack.stop();
    await expectNoLeakedWorkers();
  });

  it('binds loopback on a free port and reports it in url', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.server.port).toBeGreaterThan(0);
  });

  it('GET /metrics: the pool\'s counts, workers, histograms and Python RSS', async () => {
    const r = await request(url, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const pool = `pool="${stack.pool.name}"`;
    expect(sumSamples(r.body, 'dspex_pool_operations_total', [pool])).toBe(40);
    expect(sumSamples(r.body, 'dspex_pool_operations_total', [pool, 'result="error"'])).toBe(calls.failed);
    expect(sumSamples(r.body, 'dspex_pool_errors_total', [pool, 'category="python"', 'type="ValueError"'])).toBe(10);
    expect(sumSamples(r.body, 'dspex_pool_operation_duration_seconds_count', [pool])).toBe(40);
    expect(sumSamples(r.body, 'dspex_pool_workers', [pool])).toBe(2);
    expect(sumSamples(r.body, 'dspex_worker_operations_total', [pool])).toBe(40);
    const rss = r.body.split('\n').filter((l) => l.startsWith(`dspex_python_rss_bytes{${pool}`));
    expect(rss).toHaveLength(2);
    for (const l of rss) expect(Number(l.split(' ')[1])).toBeGreaterThan(1_000_000);
  });

  it('GET /api/snapshot: the default window is 1m; 5m and 15m on request', async () => {
    // Windows cover completed seconds: wait until the calls' second is one.
    let r = await request(url, '/api/snapshot');
    await vi.waitFor(async () => {
      r = await request(url, '/api/snapshot');
      const s = JSON.parse(r.body) as MonitoringSnapshot;
      expect(s.pools.find((x) => x.name === stack.pool.name)?.summary?.windows['1m'].ops).toBe(40);
    }, WAIT);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    const snap = JSON.parse(r.body) as MonitoringSnapshot;
    expect(snap.window).toBe('1m');
    const p = snap.pools.find((x) => x.name === stack.pool.name)!;
    expect(p.status?.lifecycle).toBe('running');
    expect(p.current?.totals.operations).toBe(40);
    expect(p.summary?.windows['1m'].ops).toBe(40);
    expect(p.workers.map((w) => w.workerId)).toEqual([0, 1]);
    expect(p.errors?.byType[0]).toMatchObject({ category: 'python', type: 'ValueError', count: 10 });
    expect(p.latency.reduce((a, b) => a + b.count, 0)).toBe(40);
    expect(p.commands?.map((c) => c.command).sort()).toEqual(['echo', 'fail']);
    expect(snap.resources?.python.filter((x) => x.pool === stack.pool.name)).toHaveLength(2);
    for (const w of ['5m', '15m'] as const) {
      const s = JSON.parse((await request(url, `/api/snapshot?window=${w}`)).body) as MonitoringSnapshot;
      expect(s.window).toBe(w);
    }
  });

  it('GET /api/range: per-second points of one pool', async () => {
    const to = Date.now() + 5000;
    let body = { pool: '', resolutionS: 0, points: [] as { ops: number }[] };
    await vi.waitFor(async () => {
      const r = await request(url, `/api/range?pool=${encodeURIComponent(stack.pool.name)}&from=${to - 60_000}&to=${to}`);
      expect(r.status).toBe(200);
      body = JSON.parse(r.body) as typeof body;
      expect(body.points.reduce((a, p) => a + p.ops, 0)).toBe(40);
    }, WAIT);
    expect(body.pool).toBe(stack.pool.name);
    expect(body.resolutionS).toBe(1);
    const iso = await request(url, `/api/range?pool=${encodeURIComponent(stack.pool.name)}&from=${new Date(to - 60_000).toISOString()}`);
    expect(iso.status).toBe(200);
    const leapDay = await request(url, `/api/range?pool=${encodeURIComponent(stack.pool.name)}&from=2024-02-29T00:00:00Z&to=2024-02-29T00:01:00Z`);
    expect(leapDay.status, leapDay.body).toBe(200);
  });

  it('answers 400 with a message for bad query parameters', async () => {
    const name = encodeURIComponent(stack.pool.name);
    const cases: [string, RegExp][] = [
      ['/api/snapshot?window=2m', /window must be one of 1m, 5m, 15m/],
      ['/api/snapshot?window=', /window must be one of/],
      ['/api/snapshot?windw=5m', /unknown query parameter "windw"/],
      ['/api/snapshot?window=1m&window=5m', /more than once/],
      ['/metrics?x=1', /takes no query parameters/],
      ['/api/range', /pool is required/],
      ['/api/range?pool=', /pool is required/],
      [`/api/range?pool=${name}&from=yesterday`, /from must be milliseconds/],
      [`/api/range?pool=${name}&to=1e9`, /to must be milliseconds/],
      [`/api/range?pool=${name}&from=2024-02-30T00:00:00Z`, /^from is not a calendar date: 2024-02-30$/],
      [`/api/range?pool=${name}&to=2023-02-29T12:00Z`, /^to is not a calendar date: 2023-02-29$/],
      [`/api/range?pool=${name}&to=2024-04-31T00:00:00%2B02:00`, /^to is not a calendar date: 2024-04-31$/],
      [`/api/range?pool=${name}&from=2024-00-10T00:00Z`, /^from is not a calendar date/],
      [`/api/range?pool=${name}&from=2000&to=1000`, /from must not be after to/],
      [`/api/range?pool=${name}&from=0&to=999999999999`, /must not span more than/],
      [`/api/events?window=1h`, /window must be one of/],
      [`/api/snapshot?${'a=1&'.repeat(20)}`, /too many query parameters|unknown query parameter/],
    ];
    for (const [path, message] of cases) {
      const r = await request(url, path);
      expect(r.status, path).toBe(400);
      const body = JSON.parse(r.body) as { error: string; status: number };
      expect(body.error, path).toMatch(message);
      expect(body.status).toBe(400);
    }
  });

  it('answers 404 for unknown paths and pools, 405 with Allow for other methods', async () => {
    for (const path of ['/nope', '/metrics/', '/api', '/api/snapshot/extra', '//metrics', '/__proto__', '/%6detrics', '*']) {
      expect((await request(url, path)).status, path).toBe(404);
    }
    const unknown = await request(url, '/api/range?pool=no-such-pool');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toEqual({ error: 'no pool with that name', status: 404 });
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await request(url, '/metrics', { method, body: method === 'POST' ? 'x'.repeat(100_000) : undefined });
      expect(r.status, method).toBe(405);
      expect(r.headers['allow']).toBe('GET, HEAD');
    }
    const head = await request(url, '/api/snapshot', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('GET / serves a placeholder page listing the endpoints', async () => {
    const r = await request(url, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toContain('/api/events');
  });

  it('GET /api/events pushes a snapshot each interval; a closed client is forgotten', async () => {
    const t0 = Date.now();
    const ev = await readEvents(url, '/api/events?window=5m', 3);
    expect(ev.status).toBe(200);
    expect(ev.snapshots.length).toBeGreaterThanOrEqual(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300); // 1 at once, then one per 200 ms
    for (const s of ev.snapshots) expect(s.window).toBe('5m');
    expect(ev.snapshots[2]!.timestampMs).toBeGreaterThan(ev.snapshots[0]!.timestampMs);
    expect(ev.snapshots[0]!.pools.some((p) => p.name === stack.pool.name)).toBe(true);
    expect(stack.server.sseClientCount).toBe(1);
    ev.close();
    await vi.waitFor(() => expect(stack.server.sseClientCount).toBe(0), WAIT);
  });

  it('refuses SSE clients beyond the limit with 503, and accepts again once one leaves', async () => {
    const a = await readEvents(url, '/api/events', 1);
    const b = await readEvents(url, '/api/events', 1);
    const c = await readEvents(url, '/api/events', 1);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 503]);
    a.close();
    await vi.waitFor(() => expect(stack.server.sseClientCount).toBe(1), WAIT);
    const d = await readEvents(url, '/api/events', 1);
    expect(d.status).toBe(200);
    b.close();
    d.close();
    await vi.waitFor(() => expect(stack.server.sseClientCount).toBe(0), WAIT);
  });

  it('survives malformed requests, oversized headers and many bad requests, and keeps serving', async () => {
    const garbage = await rawExchange(url, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400/);
    const huge = await rawExchange(url, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431/);
    const longPath = await request(url, `/${'p'.repeat(10_000)}`);
    expect(longPath.status).toBe(404);
    const bad = await Promise.all(Array.from({ length: 200 }, (_, i) => request(url, `/api/snapshot?window=${i}`)));
    expect(bad.every((r) => r.status === 400)).toBe(true);
    expect((await request(url, '/metrics')).status).toBe(200);
  });
});

describe('MonitoringServer settings and lifecycle', () => {
  const servers: MonitoringServer[] = [];
  const collectors: MetricsCollector[] = [];

  function collector(): MetricsCollector {
    const c = new MetricsCollector();
    c.start();
    collectors.push(c);
    return c;
  }

  async function server(opts: Partial<ConstructorParameters<typeof MonitoringServer>[0]> = {}): Promise<MonitoringServer> {
    const s = new MonitoringServer({ collector: collector(), port: 0, ...opts });
    servers.push(s);
    await s.start();
    return s;
  }

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    for (const c of collectors.splice(0)) c.stop();
    await stopAll();
  });

  it('requires the bearer token on every route; never echoes or logs it', async () => {
    const token = 'tok-Secret-123';
    const logged: string[] = [];
    const s = await server({
      token,
      logger: { warn: (obj, msg) => logged.push(JSON.stringify(obj) + (msg ?? '')) },
      alerts: () => {
        throw new Error('alert source broke');
      },
    });
    for (const path of ['/', '/metrics', '/api/snapshot', '/api/range?pool=x', '/api/events', '/nope']) {
      const none = await request(s.url, path);
      expect(none.status, path).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="dspex"');
    }
    for (const authorization of ['Bearer tok-Secret-12', 'Bearer tok-Secret-1234', `Basic ${token}`, `Bearer  `, token, `Bearer ${token} extra`]) {
      const r = await request(s.url, '/metrics', { headers: { authorization } });
      expect(r.status, authorization).toBe(401);
      expect(r.body).not.toContain('Secret');
      expect(JSON.stringify(r.headers)).not.toContain('Secret');
    }
    const ok = await request(s.url, '/metrics', { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect((await request(s.url, '/api/snapshot', { headers: { authorization: `bearer ${token}` } })).status).toBe(200);
    expect(logged.join('\n')).not.toContain('Secret');
  });

  it('rejects bad options at construction with a typed error naming the option', () => {
    const c = collector();
    const thrown = (fn: () => unknown): PythonBridgeError => {
      try {
        fn();
      } catch (err) {
        if (err instanceof PythonBridgeError) return err;
        throw err;
      }
      throw new Error('did not throw');
    };
    const cases: [Partial<MonitoringServerOptions>, string][] = [
      [{ token: '' }, 'token'],
      [{ port: 70_000 }, 'port'],
      [{ port: 1.5 }, 'port'],
      [{ host: '' }, 'host'],
      [{ sseIntervalMs: Number.NaN }, 'sseIntervalMs'],
      [{ sseIntervalMs: 10 }, 'sseIntervalMs'],
      [{ maxConnections: 0 }, 'maxConnections'],
      [{ maxSseClients: -1 }, 'maxSseClients'],
      [{ requestTimeoutMs: 50 }, 'requestTimeoutMs'],
      [{ maxRangeSpanMs: 'long' as unknown as number }, 'maxRangeSpanMs'],
    ];
    for (const [opts, option] of cases) {
      const err = thrown(() => new MonitoringServer({ collector: c, ...opts }));
      expect([err.code, err.details.option], JSON.stringify(opts)).toEqual(['DSPEX_INVALID_REQUEST_INVALID_OPTIONS', option]);
      expect(err.message).toContain(option);
    }
    expect(thrown(() => new MonitoringServer({ collector: null as unknown as MetricsCollector })).details.option).toBe('collector');
    const notStarted = thrown(() => new MonitoringServer({ collector: c }).url);
    expect([notStarted.code, notStarted.message]).toEqual(['DSPEX_INVALID_REQUEST_INVALID_STATE', expect.stringMatching(/not started/)]);
  });

  it('answers 500 without details when a source fails past the guards, logs it, and keeps serving', async () => {
    const logged: unknown[] = [];
    // A pool listing that throws is absorbed: the scrape still answers.
    const s = await server({
      pools: () => {
        throw new Error('listing failed');
      },
    });
    expect((await request(s.url, '/metrics')).status).toBe(200);
    // A failure past the guards: JSON.stringify of a snapshot holding a BigInt.
    const s2 = await server({ recommendations: () => [{ title: 't', detail: 'd', score: 10n as unknown as number }], logger: { warn: (obj) => logged.push(obj) } });
    const r = await request(s2.url, '/api/snapshot');
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body)).toEqual({ error: 'internal error', status: 500 });
    expect(logged).toHaveLength(1);
    expect((await request(s2.url, '/metrics')).status).toBe(200);
  });

  it('closes a client that does not finish its request within requestTimeoutMs', async () => {
    const s = await server({ requestTimeoutMs: 300 });
    const t0 = Date.now();
    const out = await rawExchange(s.url, 'GET /metrics HTTP/1.1\r\nHost: x\r\n', 5000);
    expect(out === '' || /^HTTP\/1\.1 408/.test(out)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect((await request(s.url, '/metrics')).status).toBe(200);
  });

  it('fails start() when the port is taken', async () => {
    const a = await server();
    const b = new MonitoringServer({ collector: collector(), port: a.port });
    await expect(b.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(b.listening).toBe(false);
    await b.stop();
  });

  it('stop() ends SSE streams, closes connections and releases its timer; start() again works', async () => {
    const s = await server({ sseIntervalMs: 100 });
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const streams = await Promise.all([readEvents(s.url, '/api/events', 1), readEvents(s.url, '/api/events?window=15m', 1)]);
    expect(s.sseClientCount).toBe(2);
    const oldUrl = s.url;
    await s.stop();
    // Both clients see their stream end.
    await Promise.all(streams.map((st) => st.closed));
    expect(s.listening).toBe(false);
    expect(s.sseClientCount).toBe(0);
    await expect(request(oldUrl, '/metrics')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await vi.waitFor(() => expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(before), WAIT);
    await s.start();
    expect((await request(s.url, '/metrics')).status).toBe(200);
    // start() during a stop() waits for it, then listens again.
    const stopping = s.stop();
    const restarting = s.start();
    await Promise.all([stopping, restarting]);
    expect(s.listening).toBe(true);
    expect((await request(s.url, '/metrics')).status).toBe(200);
    await Promise.all([s.stop(), s.stop()]); // idempotent
    expect(s.listening).toBe(false);
  });

  it('keeps the scrape valid while a worker restarts and when a pool is replaced by one of the same name', async () => {
    const c = collector();
    const pool = await startPool({ size: 1 });
    c.trackPool(pool);
    const pools = [pool];
    const s = await server({ collector: c, pools: () => pools });
    await pool.executeAnonymous('echo', {});
    const crash = pool.executeAnonymous('crash', {}).catch(() => 'crashed');
    // Scrape repeatedly while the slot is replaced.
    const scrapes: string[] = [];
    while (scrapes.length < 20) scrapes.push((await request(s.url, '/metrics')).body);
    expect(await crash).toBe('crashed');
    await vi.waitFor(async () => {
      const body = (await request(s.url, '/metrics')).body;
      expect(sumSamples(body, 'dspex_pool_worker_restarts_total', [`pool="${pool.name}"`])).toBe(1);
    }, WAIT);
    for (const body of scrapes) {
      const lines = body.split('\n').filter((l) => l && !l.startsWith('#'));
      const keys = lines.map((l) => l.slice(0, l.lastIndexOf(' ')));
      expect(new Set(keys).size).toBe(keys.length);
    }
    // Replace the pool by a new one of the same name: still one series per label set.
    await pool.stop();
    const next = await startPool({ size: 1, name: pool.name });
    pools.push(next);
    const body = (await request(s.url, '/metrics')).body;
    expect(body.match(new RegExp(`^dspex_pool_up\\{pool="${pool.name}"\\} 1$`, 'm'))).not.toBeNull();
    expect(body.match(/^dspex_pool_up\{/gm)).toHaveLength(1);
  });
});
