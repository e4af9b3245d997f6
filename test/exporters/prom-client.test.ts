/**
 * Mounting dspex metrics in an application's own monitoring: a prom-client Registry that already
 * has the application's metrics, and the request handler in a plain node:http server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, type OpenMetricsContentType } from 'prom-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAMILY_NAMES, createDspexRegistry, metricsHandler, registerDspexMetrics, type MonitoringSources } from '../../src/exporters/index.js';
import { fakeCollector, histogram, pyProc, resourceSample, status, totals } from './fixtures.js';
import { request, requireTool, run, sampleValue } from './helpers.js';

beforeAll(() => requireTool('promtool'));

function sources(): MonitoringSources & { collector: ReturnType<typeof fakeCollector> } {
  const collector = fakeCollector({
    'app-pool': {
      totals: totals({ operations: 9, errors: 2, checkouts: 9 }),
      commands: [{ command: 'predict', operations: 9, errors: 2, histogram: histogram([0, 0, 0, 9], 0.006) }],
      errors: [{ category: 'python', type: 'KeyError', count: 2 }],
      queueWait: histogram([9], 0.0001),
    },
  });
  return {
    collector,
    pools: [{ name: 'app-pool', status: () => status('app-pool', ['idle', 'busy']) }],
    resources: { getResources: () => resourceSample([pyProc({ pool: 'app-pool', workerId: 0 })]) },
  };
}

describe('registerDspexMetrics', () => {
  it('adds our families next to the application\'s metrics, which keep working', async () => {
    const registry = new Registry();
    const requests = new Counter({ name: 'app_requests_total', help: 'Requests.', labelNames: ['route'], registers: [registry] });
    let queueLen = 4;
    new Gauge({
      name: 'app_queue_length',
      help: 'Queue length.',
      registers: [registry],
      collect() {
        this.set(queueLen);
      },
    });
    requests.inc({ route: '/a' }, 2);
    registerDspexMetrics(registry, sources());

    let text = await registry.metrics();
    expect(sampleValue(text, 'app_requests_total{route="/a"}')).toBe(2);
    expect(sampleValue(text, 'app_queue_length')).toBe(4);
    expect(sampleValue(text, 'dspex_pool_operations_total{pool="app-pool",command="predict",result="ok"}')).toBe(7);
    expect(sampleValue(text, 'dspex_pool_operation_duration_seconds_bucket{pool="app-pool",command="predict",le="0.001"}')).toBe(9);
    expect(sampleValue(text, 'dspex_pool_operation_duration_seconds_count{pool="app-pool",command="predict"}')).toBe(9);
    expect(sampleValue(text, 'dspex_python_rss_bytes{pool="app-pool",worker_id="0"}')).toBe(10_000_000);

    requests.inc({ route: '/a' });
    queueLen = 5;
    text = await registry.metrics();
    expect(sampleValue(text, 'app_requests_total{route="/a"}')).toBe(3);
    expect(sampleValue(text, 'app_queue_length')).toBe(5);

    const r = await run('promtool', ['check', 'metrics'], text);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('queries the sources once per scrape, not once per family', async () => {
    const s = sources();
    const registry = createDspexRegistry(s);
    await registry.metrics();
    expect(s.collector.calls.get('getTotals')).toBe(1);
    await new Promise((r) => setImmediate(r));
    await registry.metrics();
    expect(s.collector.calls.get('getTotals')).toBe(2);
  });

  it('works with the registry\'s default labels, Registry.merge and getMetricsAsJSON', async () => {
    const app = new Registry();
    new Counter({ name: 'app_jobs_total', help: 'Jobs.', registers: [app] }).inc();
    const merged = Registry.merge([app, createDspexRegistry(sources())]);
    merged.setDefaultLabels({ service: 'api' });
    const text = await merged.metrics();
    expect(sampleValue(text, 'app_jobs_total{service="api"}')).toBe(1);
    expect(text).toContain('dspex_pool_up{pool="app-pool",service="api"} 1');
    const json = await merged.getMetricsAsJSON();
    expect(json.find((m) => m.name === 'dspex_pool_errors_total')?.values).toEqual([{ value: 2, labels: { pool: 'app-pool', category: 'python', type: 'KeyError', service: 'api' } }]);
  });

  it('writes counters with _total in OpenMetrics mode too', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    registerDspexMetrics(registry, sources());
    const text = await registry.metrics();
    expect(text).toContain('# TYPE dspex_pool_operations counter');
    expect(text).toContain('dspex_pool_operations_total{pool="app-pool",command="predict",result="ok"} 7');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });

  it('refuses a registry that already has one of our names, registering nothing; unregister removes ours only', async () => {
    const registry = new Registry();
    new Gauge({ name: 'dspex_pool_up', help: 'someone else', registers: [registry] });
    expect(() => registerDspexMetrics(registry, sources())).toThrow(/dspex_pool_up/);
    expect(registry.getMetricsAsArray()).toHaveLength(1);

    const other = new Registry();
    const unregister = registerDspexMetrics(other, sources());
    expect(other.getMetricsAsArray()).toHaveLength(FAMILY_NAMES.length);
    unregister();
    expect(other.getMetricsAsArray()).toHaveLength(0);
    // Registering again after unregistering works.
    registerDspexMetrics(other, sources(), { families: ['dspex_pool_up'] });
    expect(await other.metrics()).toContain('dspex_pool_up{pool="app-pool"} 1');
  });
});

describe('metricsHandler', () => {
  let server: Server | null = null;

  afterEach(async () => {
    const s = server;
    server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  });

  async function mount(token?: string): Promise<string> {
    const handler = metricsHandler(sources(), { token });
    server = createServer((req, res) => {
      if (req.url === '/metrics') handler(req, res);
      else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('serves the exposition in a plain node:http app; HEAD without a body; other methods 405', async () => {
    const url = await mount();
    const r = await request(url, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sampleValue(r.body, 'dspex_pool_checkouts_total{pool="app-pool"}')).toBe(9);
    const head = await request(url, '/metrics', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const post = await request(url, '/metrics', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
  });

  it('requires the token when given one', async () => {
    const url = await mount('s3cret-token');
    expect((await request(url, '/metrics')).status).toBe(401);
    const wrong = await request(url, '/metrics', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).not.toContain('s3cret');
    expect((await request(url, '/metrics', { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
  });
});
