/**
 * The monitoring server over real HTTP (port 0) in front of a real pool of Python workers: every
 * route and status code, the token, SSE, bad clients, and a clean stop.
 */
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MonitoringServer, type MonitoringServerOptions, type MonitoringSnapshot } from '../../src/exporters/index.js';
import { thrownBridgeError } from '../helpers/errors.js';
import { clientAddressKey, hostHeaderName, isLoopbackHostName } from '../../src/exporters/http-guards.js';
import { PythonBridgeError } from '../../src/index.js';
import { MetricsCollector } from '../../src/metrics/index.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { rawExchange, request, slowloris, startStack, sumSamples, timedRequest, type SlowlorisStats, type Stack } from './helpers.js';

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

  it('GET / redirects to the web dashboard; /dashboard and its files are served from the package, unknown files 404', async () => {
    const r = await request(url, '/');
    expect(r.status).toBe(302);
    expect(r.headers['location']).toBe('/dashboard');
    const page = await request(url, '/dashboard');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('/dashboard/app.js');
    const uplot = await request(url, '/dashboard/uplot.js');
    expect(uplot.status).toBe(200);
    expect(uplot.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(uplot.body).toContain('uPlot');
    for (const path of ['/dashboard/../package.json', '/dashboard/nope.js', '/dashboard/', '/dashboard/app.js?x=1']) {
      expect((await request(url, path)).status, path).toBeGreaterThanOrEqual(400);
    }
    expect((await request(url, '/dashboard/app.js', { method: 'POST' })).status).toBe(405);
  });

  it('?points= keeps the newest series points of each pool; a bad value is 400', async () => {
    const r = await request(url, '/api/snapshot?window=5m&points=2');
    expect(r.status).toBe(200);
    const snap = JSON.parse(r.body) as { pools: { series: unknown[] }[] };
    for (const p of snap.pools) expect(p.series.length).toBeLessThanOrEqual(2);
    for (const bad of ['-1', '902', '1.5', 'x', '']) {
      const e = await request(url, `/api/snapshot?points=${bad}`);
      expect(e.status, bad).toBe(400);
      expect(e.body).toContain('points must be an integer from 0 to 901');
    }
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
    // The page and its files hold no data: served without the token (the page asks for it).
    expect((await request(s.url, '/dashboard')).status).toBe(200);
    expect((await request(s.url, '/dashboard/app.js')).status).toBe(200);
    expect((await request(s.url, '/')).status).toBe(302);
    for (const path of ['/metrics', '/api/snapshot', '/api/range?pool=x', '/api/events', '/nope']) {
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
      const err = thrownBridgeError(() => new MonitoringServer({ collector: c, ...opts }));
      expect([err.code, err.details.option], JSON.stringify(opts)).toEqual(['DSPEX_INVALID_REQUEST_INVALID_OPTIONS', option]);
      expect(err.message).toContain(option);
    }
    expect(thrownBridgeError(() => new MonitoringServer({ collector: null as unknown as MetricsCollector })).details.option).toBe('collector');
    const notStarted = thrownBridgeError(() => new MonitoringServer({ collector: c }).url);
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

describe('MonitoringServer hardening: Host check, headers, slow clients', () => {
  const servers: MonitoringServer[] = [];
  const collectors: MetricsCollector[] = [];
  const sockets: Socket[] = [];
  const requests: ClientRequest[] = [];

  async function server(opts: Partial<MonitoringServerOptions> = {}): Promise<MonitoringServer> {
    const c = new MetricsCollector();
    c.start();
    collectors.push(c);
    const s = new MonitoringServer({ collector: c, port: 0, ...opts });
    servers.push(s);
    await s.start();
    return s;
  }

  /** A connection from `localAddress` that sends nothing; `closed` settles when the server closes it. */
  async function idleSocket(s: MonitoringServer, localAddress: string): Promise<{ socket: Socket; closed: Promise<void> }> {
    const socket = connect({ host: '127.0.0.1', port: s.port, localAddress });
    sockets.push(socket);
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    return { socket, closed };
  }

  /** An `/api/events` stream from `localAddress`, resolved with its headers once the first event arrived. */
  function openStream(s: MonitoringServer, localAddress = '127.0.0.1'): Promise<{ req: ClientRequest; headers: IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: s.port, path: '/api/events', localAddress, agent: false }, (res) => {
        res.once('data', () => resolve({ req, headers: res.headers }));
        res.on('error', () => undefined);
      });
      requests.push(req);
      req.on('error', reject);
      req.end();
    });
  }

  afterEach(async () => {
    for (const r of requests.splice(0)) r.destroy();
    for (const so of sockets.splice(0)) so.destroy();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    for (const c of collectors.splice(0)) c.stop();
  });

  it('answers 421 to a foreign Host on every route, token or not (DNS rebinding)', async () => {
    const open = await server();
    const guarded = await server({ token: 'tok-1' });
    const routes = ['/', '/metrics', '/api/snapshot', '/api/range?pool=x', '/api/events', '/nope'];
    const foreign = ['evil.example', `evil.example:${open.port}`, 'localhost.evil.example', `127.0.0.1.nip.io:${open.port}`, '128.0.0.1', '[::2]:80', '0x7f.0.0.1', '127.1'];
    for (const host of foreign) {
      for (const path of routes) {
        const r = await request(open.url, path, { headers: { host } });
        expect(r.status, `${host} ${path}`).toBe(421);
        expect(JSON.parse(r.body)).toMatchObject({ status: 421, error: expect.stringMatching(/does not answer for that Host/) });
        expect(r.body).not.toContain('pools');
        expect(r.headers['x-content-type-options']).toBe('nosniff');
      }
    }
    // Checked before the token: a right token from a foreign origin still gets 421.
    const attempts: Record<string, string>[] = [{ host: 'evil.example' }, { host: 'evil.example', authorization: 'Bearer tok-1' }];
    for (const headers of attempts) {
      expect((await request(guarded.url, '/api/snapshot', { headers })).status).toBe(421);
    }
    expect((await request(guarded.url, '/api/snapshot', { headers: { authorization: 'Bearer tok-1' } })).status).toBe(200);
  });

  it('accepts the loopback names with or without a port, allowedHosts, and a non-loopback bind host', async () => {
    const s = await server({ allowedHosts: ['dash.internal', 'Metrics.Example.COM', '10.1.2.3', '::1'] });
    const p = s.port;
    const ok = ['127.0.0.1', `127.0.0.1:${p}`, '127.255.0.9:80', 'localhost', `LocalHost:${p}`, '[::1]', `[::1]:${p}`, 'dash.internal', 'DASH.INTERNAL:8443', 'metrics.example.com', '10.1.2.3:9568'];
    for (const host of ok) expect((await request(s.url, '/metrics', { headers: { host } })).status, host).toBe(200);
    for (const host of ['other.internal', 'dash.internal.evil', 'sub.dash.internal', '10.1.2.4', 'dash.internal.']) {
      expect((await request(s.url, '/metrics', { headers: { host } })).status, host).toBe(421);
    }
    // The URL the server reports (what `dspex monitor --url` is given) is accepted as is.
    expect((await fetch(`${s.url}/api/snapshot`)).status).toBe(200);
    const wide = await server({ host: '0.0.0.0' });
    expect((await request(`http://127.0.0.1:${wide.port}`, '/metrics', { headers: { host: `0.0.0.0:${wide.port}` } })).status).toBe(200);
    expect((await request(`http://127.0.0.1:${wide.port}`, '/metrics')).status).toBe(200);
    expect((await request(`http://127.0.0.1:${wide.port}`, '/metrics', { headers: { host: 'evil.example' } })).status).toBe(421);
  });

  it('answers 400 to a missing (HTTP/1.0 too), repeated or malformed Host', async () => {
    const s = await server();
    const cases: [string, RegExp][] = [
      ['GET /api/snapshot HTTP/1.0\r\n\r\n', /a Host header is required/],
      ['GET /api/snapshot HTTP/1.1\r\nConnection: close\r\n\r\n', /a Host header is required/],
      ['GET /api/snapshot HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n', /a Host header is required/],
      ['GET /api/snapshot HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n', /more than one Host header/],
      ['GET /api/snapshot HTTP/1.1\r\nHost: 127.0.0.1:99999\r\nConnection: close\r\n\r\n', /malformed Host header/],
      ['GET /api/snapshot HTTP/1.1\r\nHost: a:b:c\r\nConnection: close\r\n\r\n', /malformed Host header/],
    ];
    for (const [bytes, message] of cases) {
      const out = await rawExchange(s.url, bytes);
      expect(out, bytes).toMatch(/^HTTP\/1\.1 400 /);
      expect(out, bytes).toMatch(message);
      expect(out).not.toContain('"pools"');
    }
    const ok = await rawExchange(s.url, 'GET /api/snapshot HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n');
    expect(ok).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('sends nosniff on every response, no-store on the API, a restrictive CSP and no referrer on the page', async () => {
    const s = await server({ requestTimeoutMs: 300 });
    for (const path of ['/', '/metrics', '/api/snapshot', '/api/range?pool=x', '/nope', '/api/snapshot?window=2h']) {
      const r = await request(s.url, path);
      expect(r.headers['x-content-type-options'], path).toBe('nosniff');
      expect(r.headers['cache-control'], path).toBe('no-store');
    }
    const page = await request(s.url, '/dashboard');
    const csp = String(page.headers['content-security-policy']);
    expect(csp.split(';').map((d) => d.trim())).toEqual(expect.arrayContaining(["default-src 'none'", "frame-ancestors 'none'", "script-src 'self'", "connect-src 'self'"]));
    expect(csp).not.toMatch(/unsafe|\*/);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['x-frame-options']).toBe('DENY');
    const stream = await openStream(s);
    expect(stream.headers['x-content-type-options']).toBe('nosniff');
    expect(stream.headers['cache-control']).toBe('no-store');
    stream.req.destroy();
    // What Node's parser rejects is answered with the same headers.
    const raw = [
      await rawExchange(s.url, 'NOT HTTP AT ALL\r\n\r\n'),
      await rawExchange(s.url, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
      await rawExchange(s.url, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n'),
    ];
    expect(raw.map((o) => o.slice(0, 12))).toEqual(['HTTP/1.1 400', 'HTTP/1.1 431', 'HTTP/1.1 408']);
    for (const o of raw) {
      expect(o).toMatch(/\r\nX-Content-Type-Options: nosniff\r\n/i);
      expect(o).toMatch(/\r\nCache-Control: no-store\r\n/i);
    }
    // An Expect Node would answer 417 by itself goes through the routes.
    expect((await request(s.url, '/metrics', { headers: { expect: 'something' } })).headers['x-content-type-options']).toBe('nosniff');
  });

  it('closes a client that is slow to send its headers after headersTimeoutMs, well before requestTimeoutMs', async () => {
    const s = await server({ headersTimeoutMs: 300, requestTimeoutMs: 20_000 });
    const t0 = Date.now();
    const out = await rawExchange(s.url, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a', 5000);
    expect(out === '' || /^HTTP\/1\.1 408/.test(out)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await request(s.url, '/metrics')).status).toBe(200);
  });

  it('caps connections per client address: the oldest waiting one makes room, busy ones are kept', async () => {
    const s = await server({ maxConnectionsPerAddress: 3, maxSseClients: 10 });
    // Three streams from one address are busy: a fourth connection from it is closed at accept…
    const streams = [await openStream(s, '127.0.0.6'), await openStream(s, '127.0.0.6'), await openStream(s, '127.0.0.6')];
    expect(s.sseClientCount).toBe(3);
    await expect(timedRequest(s.url, '/metrics', { localAddress: '127.0.0.6' })).rejects.toThrow(/ECONNRESET|socket hang up/);
    expect(s.sseClientCount).toBe(3);
    // …while other addresses are served, and a stream that ends makes room.
    expect((await timedRequest(s.url, '/metrics', { localAddress: '127.0.0.7' })).status).toBe(200);
    streams[0]!.req.destroy();
    await vi.waitFor(() => expect(s.sseClientCount).toBe(2), WAIT);
    expect((await timedRequest(s.url, '/metrics', { localAddress: '127.0.0.6' })).status).toBe(200);
    // Three connections from another address that never send a request: a fourth evicts the oldest.
    const idle = [await idleSocket(s, '127.0.0.5'), await idleSocket(s, '127.0.0.5'), await idleSocket(s, '127.0.0.5')];
    await vi.waitFor(() => expect(s.connectionCount).toBe(5), WAIT);
    expect((await timedRequest(s.url, '/metrics', { localAddress: '127.0.0.5' })).status).toBe(200);
    await idle[0]!.closed;
    expect([idle[1]!.socket.destroyed, idle[2]!.socket.destroyed]).toEqual([false, false]);
  });

  const attackers: [string, string[]][] = [
    ['the address of the scrape', ['127.0.0.1']],
    ['six addresses (more than maxConnections in all)', ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7']],
  ];
  it.each(attackers)('serves a scrape within 1 s while 300 slow-header sockets attack from %s', async (_, localAddresses) => {
    const s = await server(); // the defaults
    const baseline = (await request(s.url, '/metrics')).body;
    const attack = slowloris(s.url, { sockets: 300, durationMs: 6000, trickleMs: 250, localAddresses });
    const latencies: number[] = [];
    let stats: SlowlorisStats | null = null;
    try {
      // Every attacking socket has connected and is trickling before the first scrape.
      await attack.ready;
      await sleep(300);
      const held = s.connectionCount;
      for (let round = 0; round < 5; round++) {
        for (const localAddress of ['127.0.0.1', '127.0.0.9']) {
          const r = await timedRequest(s.url, '/metrics', { localAddress, timeoutMs: 3000 });
          expect(r.status).toBe(200);
          expect(r.body).toBe(baseline);
          latencies.push(r.ms);
        }
        await sleep(200);
      }
      expect(Math.max(...latencies), latencies.map((ms) => ms.toFixed(1)).join(' ')).toBeLessThan(1000);
      // The attack was real: it kept the server full (per address or in all).
      expect(held).toBeGreaterThanOrEqual(Math.min(64 * localAddresses.length, 256) - 10);
    } finally {
      stats = await attack.stop();
    }
    // …and the server had to close its sockets to make room.
    expect(stats.closedByServer).toBeGreaterThan(0);
    await vi.waitFor(() => expect(s.connectionCount).toBe(0), WAIT);
  }, 30_000);

  it('reads Host values and counts an IPv6 client by its /64', () => {
    const names = ['127.0.0.1:9568', 'LocalHost', '[::1]:80', '[::1]', 'Evil.Example:1', 'a:b', '127.0.0.1:99999', '::1', '', '[::1', '127.0.0.1:'];
    expect(names.map(hostHeaderName)).toEqual(['127.0.0.1', 'localhost', '[::1]', '[::1]', 'evil.example', null, null, null, null, null, null]);
    expect(['localhost', '127.0.0.1', '127.200.3.4', '[::1]', 'localhost.', '127.1', '127.0.0.01', '128.0.0.1', '[::2]', '127.0.0.1.nip.io'].map(isLoopbackHostName)).toEqual([
      true, true, true, true, false, false, false, false, false, false,
    ]);
    const keys = ['127.0.0.1', '::ffff:127.0.0.1', '::1', '2001:db8:1:2:3:4:5:6', '2001:DB8:1:2::9', '2001:db8::1', 'fe80::1%eth0', '64:ff9b::1.2.3.4', undefined];
    expect(keys.map(clientAddressKey)).toEqual(['127.0.0.1', '127.0.0.1', '0:0:0:0::/64', '2001:db8:1:2::/64', '2001:db8:1:2::/64', '2001:db8:0:0::/64', 'fe80:0:0:0::/64', '64:ff9b:0:0::/64', null]);
  });

  it('rejects bad host and connection options with a typed error naming the option', () => {
    const c = new MetricsCollector();
    const cases: [Partial<MonitoringServerOptions>, string][] = [
      [{ allowedHosts: 'dash.internal' as unknown as string[] }, 'allowedHosts'],
      [{ allowedHosts: ['dash.internal:9568'] }, 'allowedHosts'],
      [{ allowedHosts: ['*.internal'] }, 'allowedHosts'],
      [{ allowedHosts: ['http://dash.internal'] }, 'allowedHosts'],
      [{ allowedHosts: [''] }, 'allowedHosts'],
      [{ allowedHosts: [42 as unknown as string] }, 'allowedHosts'],
      [{ allowedHosts: ['127.0.0.01'] }, 'allowedHosts'],
      [{ maxConnectionsPerAddress: 0 }, 'maxConnectionsPerAddress'],
      [{ maxConnectionsPerAddress: 2.5 }, 'maxConnectionsPerAddress'],
      [{ headersTimeoutMs: 50 }, 'headersTimeoutMs'],
      [{ headersTimeoutMs: 20_000 }, 'headersTimeoutMs'],
      [{ headersTimeoutMs: 2000, requestTimeoutMs: 1000 }, 'headersTimeoutMs'],
    ];
    for (const [opts, option] of cases) {
      let caught: unknown = null;
      try {
        new MonitoringServer({ collector: c, ...opts });
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(opts)).toBeInstanceOf(PythonBridgeError);
      const err = caught as PythonBridgeError;
      expect([err.code, err.details.option]).toEqual(['DSPEX_INVALID_REQUEST_INVALID_OPTIONS', option]);
      expect(err.message).toContain(option);
    }
    expect(() => new MonitoringServer({ collector: c, allowedHosts: ['dash.internal', 'Dash.Example.', '10.0.0.1', '[fd00::1]', 'my_host'], requestTimeoutMs: 300 })).not.toThrow();
  });
});
