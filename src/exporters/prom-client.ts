/**
 * Mounting dspex metrics in an application's own monitoring: a prom-client integration (merge our
 * families into an existing `Registry`, next to the application's own metrics) and a plain request
 * handler for `node:http`, Express or Fastify.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry, type Metric, type RegistryContentType } from 'prom-client';
import { invalidArgument } from '../contract/errors.js';
import { bearerTokenMatches } from './auth.js';
import {
  buildFamilies,
  collectPrometheusInput,
  FAMILIES,
  FAMILY_NAMES,
  PROMETHEUS_CONTENT_TYPE,
  renderExposition,
  type FamilyName,
  type MetricFamily,
} from './prometheus.js';
import type { MonitoringSources } from './sources.js';

/** A sample as prom-client's registry reads it from `get()`. */
interface PromClientValue {
  value: number;
  labels: Record<string, string>;
  metricName?: string;
}

/** The shape prom-client's registry reads from a registered metric. */
interface PromClientMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: PromClientValue[] }>;
  reset(): void;
}

/**
 * One collection of the sources shared by every family of one registry scrape. prom-client asks
 * each metric for its values in the same tick (`Promise.all`), so the cache lives until the next
 * `setImmediate`: one scrape queries the collector once.
 */
class SharedCollection {
  private cached: Map<string, MetricFamily> | null = null;

  constructor(private readonly sources: MonitoringSources) {}

  family(name: FamilyName): MetricFamily | undefined {
    if (this.cached === null) {
      const byName = new Map<string, MetricFamily>();
      for (const f of buildFamilies(collectPrometheusInput(this.sources))) byName.set(f.name, f);
      this.cached = byName;
      setImmediate(() => {
        this.cached = null;
      }).unref();
    }
    return this.cached.get(name);
  }
}

function toPromClient(family: MetricFamily | undefined): PromClientValue[] {
  if (family === undefined) return [];
  const out: PromClientValue[] = new Array<PromClientValue>(family.samples.length);
  for (let i = 0; i < family.samples.length; i++) {
    const s = family.samples[i]!;
    const labels: Record<string, string> = {};
    for (const [k, v] of s.labels) labels[k] = v;
    // Counters keep prom-client's own naming (it appends `_total` itself in OpenMetrics mode).
    out[i] = family.type === 'counter' ? { value: s.value, labels } : { value: s.value, labels, metricName: s.name };
  }
  return out;
}

/** Options of {@link registerDspexMetrics}. */
export interface RegisterOptions {
  /** Register only these families (default: all of {@link FAMILY_NAMES}). */
  families?: readonly FamilyName[];
}

/**
 * Register dspex's metric families in a prom-client `Registry` (the application's own, or
 * prom-client's global `register`), next to the metrics already there. The values are read from
 * the sources at each scrape (`registry.metrics()`); the sources are queried once per scrape.
 *
 * Throws, registering nothing, when the registry already has a metric with one of our names.
 *
 * @returns a function that removes the families again.
 */
export function registerDspexMetrics<T extends RegistryContentType>(registry: Registry<T>, sources: MonitoringSources, opts: RegisterOptions = {}): () => void {
  const names = opts.families ?? FAMILY_NAMES;
  for (const name of names) {
    if (registry.getSingleMetric(name) !== undefined) throw invalidArgument('registerDspexMetrics', 'registry', `it already has a metric named ${name}`);
  }
  const shared = new SharedCollection(sources);
  const registered: { name: string; metric: PromClientMetric }[] = [];
  for (const name of names) {
    const { help, type } = FAMILIES[name];
    const metric: PromClientMetric = {
      name,
      help,
      type,
      aggregator: 'sum',
      // prom-client renames counters in OpenMetrics mode: read `metric.name` at call time.
      get: () => Promise.resolve({ name: metric.name, help, type, aggregator: 'sum' as const, values: toPromClient(shared.family(name)) }),
      reset: () => {},
    };
    registry.registerMetric(metric as unknown as Metric);
    registered.push({ name, metric });
  }
  return () => {
    for (const { name, metric } of registered) {
      if ((registry.getSingleMetric(metric.name) as unknown) === metric) registry.removeSingleMetric(metric.name);
      else if ((registry.getSingleMetric(name) as unknown) === metric) registry.removeSingleMetric(name);
    }
  };
}

/** A new prom-client `Registry` holding only dspex's families (for `Registry.merge`). */
export function createDspexRegistry(sources: MonitoringSources, opts: RegisterOptions = {}): Registry {
  const registry = new Registry();
  registerDspexMetrics(registry, sources, opts);
  return registry;
}

/** Options of {@link metricsHandler}. */
export interface MetricsHandlerOptions {
  /** Require `Authorization: Bearer <token>` (compared in constant time). */
  token?: string | null;
}

/** A request handler: `(req, res)` for node:http and Express; the optional third argument is ignored. */
export type MetricsRequestHandler = (req: IncomingMessage, res: ServerResponse, next?: unknown) => void;

/**
 * A request handler answering with the exposition text of the sources. Mount it where you like:
 *
 * - node:http: `http.createServer((req, res) => req.url === '/metrics' ? handler(req, res) : …)`
 * - Express: `app.get('/metrics', handler)`
 * - Fastify: `app.get('/metrics', (request, reply) => { reply.hijack(); handler(request.raw, reply.raw); })`
 *
 * Answers GET and HEAD (200), other methods 405, a missing or wrong token 401, and 500 (without
 * details) when rendering fails.
 */
export function metricsHandler(sources: MonitoringSources, opts: MetricsHandlerOptions = {}): MetricsRequestHandler {
  const token = opts.token ?? null;
  return (req, res) => {
    if (token !== null && !bearerTokenMatches(req.headers.authorization, token)) {
      sendText(res, 401, 'unauthorized\n', { 'www-authenticate': 'Bearer realm="dspex"' });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    let body: string;
    try {
      body = renderExposition(buildFamilies(collectPrometheusInput(sources)));
    } catch {
      sendText(res, 500, 'internal error\n');
      return;
    }
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
