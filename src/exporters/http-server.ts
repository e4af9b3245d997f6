/**
 * The monitoring HTTP server: Prometheus `/metrics`, the JSON API the dashboards read
 * (`/api/snapshot`, `/api/range`) and a Server-Sent Events stream of snapshots (`/api/events`).
 * Plain `node:http`, bound to loopback by default, with an optional bearer token.
 *
 * Every client-controlled quantity is bounded: header size and count, time to send a request,
 * connections, SSE clients (beyond the limit: 503) and each SSE client's unsent output (a client
 * that stops reading is disconnected). Routes, parameters and status codes are documented in
 * docs/MONITORING_GUIDE.md (## Prometheus and the HTTP API).
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WindowName } from '../contract/metrics.js';
import { invalidOption, invalidState } from '../contract/errors.js';
import { numberOption } from '../contract/options.js';
import { bearerTokenMatches } from './auth.js';
import { collectPrometheusInput, PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.js';
import { buildSnapshot } from './snapshot.js';
import { isWindowName, SNAPSHOT_WINDOWS } from '../contract/snapshot.js';
import { resolvePools, safely, type MonitoringSources } from './sources.js';

/** Where the server reports its own problems (a pino logger fits). Never receives the token. */
export interface MonitoringServerLogger {
  warn(obj: object, msg?: string): void;
}

/** Options of {@link MonitoringServer}: the sources it serves, and how it listens. */
export interface MonitoringServerOptions extends MonitoringSources {
  /** Interface to bind (default `127.0.0.1`: loopback only). */
  host?: string;
  /** Port (default 9568; 0 picks a free port, see {@link MonitoringServer.url}). */
  port?: number;
  /** When set, every request needs `Authorization: Bearer <token>` (compared in constant time). */
  token?: string | null;
  /** Most SSE clients at once; more get 503 (default 32, 0..10000). */
  maxSseClients?: number;
  /** Interval between SSE snapshots, ms (default 1000, 50..3600000). */
  sseIntervalMs?: number;
  /** Longest time a client may take to send its request (headers included), ms (default 10000, at least 100). */
  requestTimeoutMs?: number;
  /** Most open connections at once; more are refused by the OS-level accept (default 256, at least 1). */
  maxConnections?: number;
  /** Unsent SSE output beyond which a slow client is disconnected, bytes (default 4 MiB, at least 64 KiB). */
  maxSseBufferBytes?: number;
  /** Longest span of `/api/range`, ms (default 24 h, at least 1000). */
  maxRangeSpanMs?: number;
  /** Receives the server's own failures (a source that throws while rendering). Default: none. */
  logger?: MonitoringServerLogger | null;
}

/** The default port (unassigned in the Prometheus default port allocations list at the time of writing). */
export const DEFAULT_MONITORING_PORT = 9568;

/** The routes the server answers, with the query parameters each accepts. */
export const MONITORING_ROUTES = {
  '/': [],
  '/metrics': [],
  '/api/snapshot': ['window'],
  '/api/range': ['pool', 'from', 'to'],
  '/api/events': ['window'],
} as const satisfies Record<string, readonly string[]>;

type RoutePath = keyof typeof MONITORING_ROUTES;

/** A client error with its HTTP status; the message is sent to the client. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface SseClient {
  res: ServerResponse;
  window: WindowName;
}

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_HEADERS = 64;
const MAX_QUERY_PARAMS = 16;
const JSON_TYPE = 'application/json; charset=utf-8';

/** Parse a query string: only `allowed` names, each at most once. Throws {@link HttpError} 400. */
function parseQuery(query: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (query === '') return out;
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    throw new HttpError(400, 'malformed query string');
  }
  let n = 0;
  for (const [key, value] of params) {
    if (++n > MAX_QUERY_PARAMS) throw new HttpError(400, 'too many query parameters');
    if (!allowed.includes(key)) {
      const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
      throw new HttpError(400, allowed.length === 0 ? `this route takes no query parameters (got ${JSON.stringify(shown)})` : `unknown query parameter ${JSON.stringify(shown)} (allowed: ${allowed.join(', ')})`);
    }
    if (out.has(key)) throw new HttpError(400, `query parameter ${key} given more than once`);
    out.set(key, value);
  }
  return out;
}

/** The `window` parameter: `1m` (default), `5m` or `15m`. Throws {@link HttpError} 400. */
function parseWindow(value: string | undefined): WindowName {
  if (value === undefined) return '1m';
  if (isWindowName(value)) return value;
  throw new HttpError(400, `window must be one of ${SNAPSHOT_WINDOWS.join(', ')}`);
}

/** True when `year-month-day` is a day of the Gregorian calendar (`2024-02-30` is not). */
function isCalendarDate(year: number, month: number, day: number): boolean {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return days !== undefined && day >= 1 && day <= days;
}

/**
 * A time parameter of `/api/range`: milliseconds since the epoch (digits), or an ISO 8601
 * timestamp with a date and time. Throws {@link HttpError} 400.
 */
function parseTimeMs(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (/^\d{1,15}$/.test(value)) return Number(value);
  const date = value.length <= 40 ? /^(\d{4})-(\d\d)-(\d\d)T\d\d:\d\d/.exec(value) : null;
  if (date) {
    // Date.parse rolls an impossible day over into the next month (2024-02-30 is March 1st).
    if (!isCalendarDate(Number(date[1]), Number(date[2]), Number(date[3]))) {
      throw new HttpError(400, `${name} is not a calendar date: ${date[1]}-${date[2]}-${date[3]}`);
    }
    const t = Date.parse(value);
    if (Number.isFinite(t)) return t;
  }
  throw new HttpError(400, `${name} must be milliseconds since the epoch or an ISO 8601 timestamp`);
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** `GET /`: an index of the endpoints (the live web dashboard is a later issue). */
const INDEX_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dspex monitoring</title></head>
<body><h1>dspex monitoring</h1>
<ul>
<li><a href="/metrics">/metrics</a>: Prometheus exposition</li>
<li><a href="/api/snapshot">/api/snapshot</a>?window=1m|5m|15m: the monitoring snapshot (JSON)</li>
<li>/api/range?pool=NAME&amp;from=MS&amp;to=MS: per-second points of one pool (JSON)</li>
<li>/api/events?window=1m|5m|15m: a snapshot each second (Server-Sent Events, event <code>snapshot</code>)</li>
</ul></body></html>
`;

/**
 * The monitoring HTTP server.
 *
 * ```ts
 * const server = new MonitoringServer({ collector, pools: [pool], resources: monitor });
 * await server.start();          // 127.0.0.1:9568 unless told otherwise
 * console.log(server.url);       // http://127.0.0.1:9568
 * await server.stop();           // closes SSE streams and connections, releases every timer
 * ```
 */
export class MonitoringServer {
  private readonly sources: MonitoringSources;
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly token: string | null;
  private readonly maxSseClients: number;
  private readonly sseIntervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxConnections: number;
  private readonly maxSseBufferBytes: number;
  private readonly maxRangeSpanMs: number;
  private readonly logger: MonitoringServerLogger | null;

  private server: Server | null = null;
  private boundPort = 0;
  private readonly sse = new Set<SseClient>();
  private sseTimer: NodeJS.Timeout | null = null;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(options: MonitoringServerOptions) {
    const where = 'MonitoringServer';
    if (options === null || typeof options !== 'object') throw invalidOption(where, '(options)', 'must be an object');
    if (options.collector === null || typeof options.collector !== 'object') throw invalidOption(where, 'collector', 'is required (a MetricsCollector)');
    if (options.token !== undefined && options.token !== null && (typeof options.token !== 'string' || options.token.length === 0)) {
      throw invalidOption(where, 'token', 'must be a non-empty string');
    }
    if (options.host !== undefined && (typeof options.host !== 'string' || options.host.length === 0)) throw invalidOption(where, 'host', 'must be a non-empty string');
    const port = numberOption(where, 'port', options.port, DEFAULT_MONITORING_PORT, { min: 0, max: 65535 });
    this.sources = {
      collector: options.collector,
      pools: options.pools,
      resources: options.resources ?? null,
      alerts: options.alerts ?? null,
      recommendations: options.recommendations ?? null,
    };
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = port;
    this.token = options.token ?? null;
    this.maxSseClients = numberOption(where, 'maxSseClients', options.maxSseClients, 32, { min: 0, max: 10_000 });
    this.sseIntervalMs = numberOption(where, 'sseIntervalMs', options.sseIntervalMs, 1000, { min: 50, max: 3_600_000 });
    this.requestTimeoutMs = numberOption(where, 'requestTimeoutMs', options.requestTimeoutMs, 10_000, { min: 100, max: 3_600_000 });
    this.maxConnections = numberOption(where, 'maxConnections', options.maxConnections, 256, { min: 1, max: 1_000_000 });
    this.maxSseBufferBytes = numberOption(where, 'maxSseBufferBytes', options.maxSseBufferBytes, 4 * 1024 * 1024, { min: 64 * 1024, max: 2 ** 31 - 1 });
    this.maxRangeSpanMs = numberOption(where, 'maxRangeSpanMs', options.maxRangeSpanMs, 24 * 3600 * 1000, { min: 1000, max: 366 * 24 * 3600 * 1000 });
    this.logger = options.logger ?? null;
  }

  /** The bound address, e.g. `http://127.0.0.1:9568` (the real port when started with port 0). Throws before `start()`. */
  get url(): string {
    if (this.server === null || this.boundPort === 0) throw invalidState('MonitoringServer.url', 'the server is not started');
    return `http://${hostForUrl(this.host)}:${this.boundPort}`;
  }

  /** The bound port (0 before `start()`). */
  get port(): number {
    return this.boundPort;
  }

  /** True between a successful `start()` and `stop()`. */
  get listening(): boolean {
    return this.server !== null && this.boundPort !== 0;
  }

  /** SSE clients connected now. */
  get sseClientCount(): number {
    return this.sse.size;
  }

  /** Bind and listen. Rejects when the address is taken or not available. Idempotent while running. */
  start(): Promise<void> {
    if (this.stopping) return this.stopping.then(() => this.start());
    if (this.starting) return this.starting;
    const server = createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        requestTimeout: this.requestTimeoutMs,
        headersTimeout: this.requestTimeoutMs,
        // How often Node checks the two timeouts above (its default, 30 s, would let slow clients linger).
        connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(this.requestTimeoutMs / 4))),
        keepAliveTimeout: 5000,
      },
      (req, res) => this.handle(req, res),
    );
    server.maxHeadersCount = MAX_HEADERS;
    server.maxConnections = this.maxConnections;
    this.server = server;
    this.starting = new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = null;
        this.starting = null;
        reject(err);
      };
      server.once('error', onError);
      server.listen(this.requestedPort, this.host, () => {
        server.off('error', onError);
        server.on('error', (err) => this.logger?.warn({ err }, 'dspex monitoring server error'));
        this.boundPort = (server.address() as AddressInfo).port;
        resolve();
      });
    });
    return this.starting;
  }

  /** Close every SSE stream and connection, stop listening, release the timer. Idempotent. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    const server = this.server;
    const starting = this.starting;
    const stopping = (async () => {
      if (starting) await starting.catch(() => undefined);
      this.stopSseTimer();
      for (const c of this.sse) c.res.end();
      this.sse.clear();
      if (server !== null) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
      if (this.server === server) {
        this.server = null;
        this.boundPort = 0;
        this.starting = null;
      }
      this.stopping = null;
    })();
    this.stopping = stopping;
    return stopping;
  }

  // -------------------------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    try {
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const path = q < 0 ? raw : raw.slice(0, q);
      const query = q < 0 ? '' : raw.slice(q + 1);
      if (this.token !== null && !bearerTokenMatches(req.headers.authorization, this.token)) {
        throw new HttpError(401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer realm="dspex"' });
      }
      if (!Object.hasOwn(MONITORING_ROUTES, path)) throw new HttpError(404, 'not found');
      const route = path as RoutePath;
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed', { allow: 'GET, HEAD' });
      const params = parseQuery(query, MONITORING_ROUTES[route]);
      const head = req.method === 'HEAD';
      switch (route) {
        case '/':
          return this.send(res, 200, 'text/html; charset=utf-8', INDEX_HTML, head);
        case '/metrics':
          return this.send(res, 200, PROMETHEUS_CONTENT_TYPE, renderPrometheus(collectPrometheusInput(this.sources)), head);
        case '/api/snapshot': {
          const window = parseWindow(params.get('window'));
          return this.send(res, 200, JSON_TYPE, JSON.stringify(buildSnapshot(this.sources, window)), head);
        }
        case '/api/range':
          return this.send(res, 200, JSON_TYPE, JSON.stringify(this.range(params)), head);
        case '/api/events':
          return this.openSse(req, res, parseWindow(params.get('window')), head);
      }
    } catch (err) {
      if (err instanceof HttpError) {
        this.send(res, err.status, JSON_TYPE, JSON.stringify({ error: err.message, status: err.status }), req.method === 'HEAD', err.headers);
        return;
      }
      this.logger?.warn({ err, path: (req.url ?? '').slice(0, 200) }, 'dspex monitoring server: request failed');
      if (!res.headersSent) this.send(res, 500, JSON_TYPE, JSON.stringify({ error: 'internal error', status: 500 }), false);
      else res.destroy();
    }
  }

  private range(params: Map<string, string>): unknown {
    const pool = params.get('pool');
    if (pool === undefined || pool === '') throw new HttpError(400, 'pool is required');
    const now = Date.now();
    const toMs = parseTimeMs('to', params.get('to'), now);
    const fromMs = parseTimeMs('from', params.get('from'), toMs - 15 * 60 * 1000);
    if (fromMs > toMs) throw new HttpError(400, 'from must not be after to');
    if (toMs - fromMs > this.maxRangeSpanMs) throw new HttpError(400, `the range must not span more than ${this.maxRangeSpanMs} ms`);
    const found = resolvePools(this.sources).find((p) => p.name === pool);
    if (found === undefined) throw new HttpError(404, 'no pool with that name');
    const result = found.known ? safely(() => this.sources.collector.getMetricsRange(pool, fromMs, toMs), null) : null;
    return result ?? { pool, fromMs, toMs, resolutionS: 1, points: [] };
  }

  private send(res: ServerResponse, status: number, type: string, body: string, head: boolean, headers: Record<string, string> = {}): void {
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    });
    res.end(head ? undefined : body);
  }

  // ---- Server-Sent Events -------------------------------------------------------------------

  private openSse(req: IncomingMessage, res: ServerResponse, window: WindowName, head: boolean): void {
    if (this.sse.size >= this.maxSseClients) throw new HttpError(503, 'too many event-stream clients', { 'retry-after': '5' });
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    if (head) {
      res.end();
      return;
    }
    const client: SseClient = { res, window };
    this.sse.add(client);
    const drop = (): void => {
      this.sse.delete(client);
      if (this.sse.size === 0) this.stopSseTimer();
    };
    req.socket.setNoDelay(true);
    res.on('close', drop);
    res.write(`retry: ${this.sseIntervalMs}\n\n`);
    this.push(client, this.ssePayload(window));
    if (this.sseTimer === null) {
      this.sseTimer = setInterval(() => this.tick(), this.sseIntervalMs);
      this.sseTimer.unref();
    }
  }

  private ssePayload(window: WindowName): string {
    const snap = buildSnapshot(this.sources, window);
    return `event: snapshot\nid: ${snap.timestampMs}\ndata: ${JSON.stringify(snap)}\n\n`;
  }

  private push(client: SseClient, payload: string): void {
    const { res } = client;
    if (res.destroyed || res.writableEnded) return;
    if (res.writableLength > this.maxSseBufferBytes) {
      // The client stopped reading: drop it rather than buffer without bound.
      res.destroy();
      return;
    }
    res.write(payload);
  }

  private tick(): void {
    try {
      const payloads = new Map<WindowName, string>();
      for (const c of this.sse) {
        let p = payloads.get(c.window);
        if (p === undefined) {
          p = this.ssePayload(c.window);
          payloads.set(c.window, p);
        }
        this.push(c, p);
      }
    } catch (err) {
      this.logger?.warn({ err }, 'dspex monitoring server: SSE snapshot failed');
    }
  }

  private stopSseTimer(): void {
    if (this.sseTimer !== null) clearInterval(this.sseTimer);
    this.sseTimer = null;
  }
}
