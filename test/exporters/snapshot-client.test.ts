/**
 * buildSnapshot over plain sources, and the client side (`fetchSnapshot`, `HttpSnapshotSource`)
 * against a real server: what `dspex monitor --url` relies on.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { renderOnce } from '../../src/dashboard/performance-dashboard.js';
import {
  HttpSnapshotSource,
  MonitoringHttpError,
  MonitoringServer,
  apiUrl,
  buildSnapshot,
  fetchSnapshot,
  snapshotProvider,
  type MonitoringSources,
} from '../../src/exporters/index.js';
import { fakeCollector, histogram, pyProc, resourceSample, status, totals } from './fixtures.js';

function sources(): MonitoringSources & { collector: ReturnType<typeof fakeCollector> } {
  return {
    collector: fakeCollector({
      known: { totals: totals({ operations: 3 }), commands: [{ command: 'echo', operations: 3, errors: 0, histogram: histogram([3], 0.0001) }], errors: [], queueWait: histogram([3], 0) },
    }),
    pools: [
      { name: 'known', status: () => status('known', ['idle', 'busy']) },
      { name: 'fresh', status: () => status('fresh', ['starting']) },
    ],
    resources: { getResources: () => resourceSample([pyProc({ pool: 'known', workerId: 0 })]) },
    alerts: () => [{ name: 'A', severity: 'info', pool: null, message: 'm', sinceMs: 1 }],
    recommendations: () => [{ title: 't', detail: 'd', score: 0.5 }],
  };
}

describe('buildSnapshot', () => {
  it('assembles every pool, the resources, alerts and recommendations for a window', () => {
    const s = sources();
    const snap = buildSnapshot(s, '5m', 1_000_000);
    expect(snap.timestampMs).toBe(1_000_000);
    expect(snap.window).toBe('5m');
    expect(snap.pools.map((p) => p.name)).toEqual(['fresh', 'known']);
    const known = snap.pools[1]!;
    expect(known.status?.workers).toHaveLength(2);
    expect(known.current?.totals.operations).toBe(3);
    expect(known.workers.map((w) => [w.workerId, w.window])).toEqual([
      [0, '5m'],
      [1, '5m'],
    ]);
    expect(known.errors?.window).toBe('5m');
    expect(known.latency).toEqual([{ lowerUs: 100, upperUs: 178, count: 3 }]);
    expect(snap.resources?.python).toHaveLength(1);
    expect(snap.alerts).toHaveLength(1);
    expect(snap.recommendations).toHaveLength(1);
    // The range asked for is the window, ending now.
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });

  it('shows a pool the collector does not know by its status alone, without querying for it', () => {
    const s = sources();
    const snap = buildSnapshot(s, '1m');
    const fresh = snap.pools.find((p) => p.name === 'fresh')!;
    expect(fresh).toMatchObject({ current: null, summary: null, series: [], latency: [], errors: null, workers: [] });
    expect(fresh.status?.starting).toBe(1);
    expect(s.collector.calls.get('getCurrentMetrics')).toBe(1);
  });

  it('turns failing sources into nulls and empty lists', () => {
    const boom = (): never => {
      throw new Error('boom');
    };
    const snap = buildSnapshot({ collector: { ...fakeCollector({}), pools: boom }, pools: boom, resources: { getResources: boom }, alerts: boom, recommendations: boom }, '15m');
    expect(snap).toMatchObject({ window: '15m', pools: [], resources: null, alerts: [], recommendations: [] });
  });

  it('is what the terminal dashboard renders', async () => {
    const provider = snapshotProvider(sources());
    const snap = await provider.snapshot('1m');
    const frame = renderOnce(snap, { columns: 120, rows: 40 }, { color: false });
    expect(frame).toContain('pool fresh (1/2');
  });
});

describe('fetchSnapshot and HttpSnapshotSource', () => {
  const servers: MonitoringServer[] = [];
  let plain: Server | null = null;

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    if (plain) {
      const p = plain;
      plain = null;
      p.closeAllConnections();
      await new Promise<void>((r) => p.close(() => r()));
    }
  });

  async function serve(token?: string): Promise<MonitoringServer> {
    const s = new MonitoringServer({ ...sources(), port: 0, token });
    servers.push(s);
    await s.start();
    return s;
  }

  async function plainServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
    plain = createServer(handler);
    await new Promise<void>((r) => plain!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  }

  it('fetches a snapshot for a window, with the token when the server requires one', async () => {
    const s = await serve('tkn-abc');
    const snap = await fetchSnapshot(s.url, { window: '15m', token: 'tkn-abc' });
    expect(snap.window).toBe('15m');
    expect(snap.pools.map((p) => p.name)).toEqual(['fresh', 'known']);
    const source = new HttpSnapshotSource({ url: `${s.url}/`, token: 'tkn-abc' });
    expect((await source.snapshot('5m')).window).toBe('5m');
  });

  it('rejects with the status and the server\'s message, never the token', async () => {
    const s = await serve('tkn-abc');
    const err = await fetchSnapshot(s.url, { token: 'tkn-wrong' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MonitoringHttpError);
    expect((err as MonitoringHttpError).status).toBe(401);
    expect((err as Error).message).toContain('missing or wrong bearer token');
    expect((err as Error).message).not.toContain('tkn-');
  });

  it('rejects a body that is not a snapshot, a refused connection and a timeout', async () => {
    const url = await plainServer((req, res) => {
      if (req.url?.startsWith('/hang')) return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url?.startsWith('/text') ? 'not json' : '{"pools": 3}');
    });
    await expect(fetchSnapshot(url)).rejects.toThrow(/not a monitoring snapshot/);
    await expect(fetchSnapshot(`${url}/text`)).rejects.toThrow(/not JSON/);
    await expect(fetchSnapshot(`${url}/hang`, { timeoutMs: 200 })).rejects.toMatchObject({ status: null, message: expect.stringMatching(/timed out/) });
    const s = await serve();
    const closedUrl = s.url;
    await s.stop();
    await expect(fetchSnapshot(closedUrl)).rejects.toMatchObject({ name: 'MonitoringHttpError', status: null });
  });

  it('never puts URL credentials in an error: user info is sent as Basic auth, not echoed', async () => {
    const seen: (string | undefined)[] = [];
    const url = await plainServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":"busy"}');
    });
    const secret = 's3cret-pw%2Fx';
    const withCreds = url.replace('http://', `http://alice:${secret}@`);
    const check = (err: unknown): void => {
      const shown = `${String(err)}\n${inspect(err, { depth: 8 })}`;
      expect(shown).not.toContain('s3cret');
      expect(shown).not.toContain('alice:');
    };

    const err = await fetchSnapshot(withCreds).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MonitoringHttpError);
    expect((err as MonitoringHttpError).status).toBe(503);
    expect((err as Error).message).toContain('busy');
    check(err);
    // The credentials reached the server, percent-decoded, as RFC 7617 Basic auth.
    expect(seen).toEqual([`Basic ${Buffer.from('alice:s3cret-pw/x').toString('base64')}`]);
    await expect(new HttpSnapshotSource({ url: withCreds }).snapshot('1m')).rejects.toMatchObject({ status: 503 });

    // No response at all (a closed port): the message names the origin without user info.
    const s = await serve();
    const closed = s.url.replace('http://', `http://alice:${secret}@`);
    await s.stop();
    const refused = await fetchSnapshot(closed).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'MonitoringHttpError', status: null });
    check(refused);

    // Credentials and a token would both set Authorization: refused, without echoing either.
    const both = await fetchSnapshot(withCreds, { token: 'tkn-xyz' }).catch((e: unknown) => e);
    expect(both).toBeInstanceOf(MonitoringHttpError);
    expect((both as Error).message).toMatch(/user info.*token/);
    check(both);
    expect(String(both)).not.toContain('tkn-');
    // A malformed URL with credentials: the error does not carry the input.
    let bad: unknown = null;
    try {
      new HttpSnapshotSource({ url: `http://alice:${secret}@[::1` });
    } catch (e) {
      bad = e;
    }
    expect(bad).toBeInstanceOf(Error);
    check(bad);
  });

  it("strips control characters from the server's error message", async () => {
    const url = await plainServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `\u001b]52;c;${Buffer.from('pwned').toString('base64')}\u0007bad\r\nthing\u009b2J${'x'.repeat(1000)}` }));
    });
    const err = (await fetchSnapshot(url).catch((e: unknown) => e)) as MonitoringHttpError;
    expect(err.status).toBe(500);
    // eslint-disable-next-line no-control-regex
    expect(err.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(err.message).toContain('bad?');
    expect(err.message.length).toBeLessThan(400);
  });

  it('joins routes under a base URL with a path prefix', () => {
    expect(apiUrl('http://h:1/dspex', '/api/snapshot', { window: '5m' }).href).toBe('http://h:1/dspex/api/snapshot?window=5m');
    expect(apiUrl('http://h:1/', '/api/snapshot').href).toBe('http://h:1/api/snapshot');
    expect(() => new HttpSnapshotSource({ url: 'not a url' })).toThrow();
  });
});
