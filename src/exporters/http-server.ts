/**
 * size: over 600 lines because every route, the SSE streams and the connection limits share one
 * request loop; the guards, auth, stack route and snapshot assembly are already apart.
 *
 * The monitoring HTTP server: Prometheus `/metrics`, the JSON API the dashboards read
 * (`/api/snapshot`, `/api/range`) and a Server-Sent Events stream of snapshots (`/api/events`).
 * Plain `node:http`, bound to loopback by default, with an optional bearer token.
 *
 * Every client-controlled quantity is bounded: header size and count, time to send the headers and
 * the whole request, connections in all and per client address (a connection still waiting for
 * its request is closed to make room for a new one, so slow-header sockets cannot lock a scrape
 * out), SSE clients (beyond the limit: 503) and each SSE client's unsent output (a client that
 * stops reading is disconnected).
 *
 * The `Host` header is checked on every request, token or not: only loopback names, the bound
 * host and `allowedHosts` are served (421 otherwise). Without that check, DNS rebinding lets any
 * web page open in the user's browser read the API: the page's own host name is re-pointed at
 * 127.0.0.1, so the browser treats the server as same-origin and hands the page the answers
 * (pids, commands, error counts). Routes, parameters and status codes are documented in
 * docs/MONITORING_GUIDE.md (## Prometheus and the HTTP API).
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WindowName } from '../contract/metrics.js';
import type { MonitoringHealth } from '../contract/health.js';
import { invalidOption, invalidState } from '../contract/errors.js';
import { numberOption } from '../contract/options.js';
import { bearerTokenMatches } from './auth.js';
import {
  allowedHostsOption,
  clientAddressKey,
  clientErrorResponse,
  COMMON_HEADERS,
  DASHBOARD_HEADERS,
  hostHeaderName,
  isLoopbackHostName,
  JSON_TYPE,
  normalizeHostName,
} from './http-guards.js';
import { collectPrometheusInput, PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.js';
import { buildSnapshot } from './snapshot.js';
import { resolvePools, safely, type MonitoringSources } from './sources.js';
import { answerStack } from './stack-route.js';
import { webAsset } from './web-assets.js';
import { HttpError, parsePoints, parseQuery, parseTimeMs, parseWindow } from './http-params.js';

/** Where the server reports its own problems (a pino logger fits). Never receives the token. */
export interface MonitoringServerLogger {
  warn(obj: object, msg?: string): void;
}

/** Options of {@link MonitoringServer}: the sources it serves, and how it listens. */
export interface MonitoringServerOptions extends MonitoringSources {
  /** Interface to bind (default `127.0.0.1`: loopback only). A non-loopback host given here is also accepted in `Host` headers. */
  host?: string;
  /** Port (default 9568; 0 picks a free port, see {@link MonitoringServer.url}). */
  port?: number;
  /** When set, every request needs `Authorization: Bearer <token>` (compared in constant time). */
  token?: string | null;
  /** Most SSE clients at once; more get 503 (default 32, 0..10000). */
  maxSseClients?: number;
  /** Interval between SSE snapshots, ms (default 1000, 50..3600000). */
  sseIntervalMs?: number;
  /**
   * Host names (no port) accepted in the `Host` header besides the loopback ones (`localhost`,
   * 127.x.y.z, `[::1]`) and a non-loopback `host`; any other gets 421. Exact names, compared
   * case-insensitively: no wildcards. Default none. Needed when clients reach the server by a
   * name (a reverse proxy, `0.0.0.0` reached as `myhost:9568`).
   */
  allowedHosts?: readonly string[];
  /** Longest time a client may take to send its whole request, ms (default 10000, 100..3600000). */
  requestTimeoutMs?: number;
  /** Longest time a client may take to send the request line and headers, ms (default 5000 or `requestTimeoutMs` if less; 100..`requestTimeoutMs`). */
  headersTimeoutMs?: number;
  /**
   * Most open connections at once (default 256, at least 1). When full, the oldest connection still
   * waiting for a request (slow headers, idle keep-alive) is closed to admit the new one; when every
   * connection is serving a request or a stream, the new one is closed at once.
   */
  maxConnections?: number;
  /**
   * Most open connections from one client address (an IPv6 client's /64), default 64. Past it, that
   * address's oldest connection still waiting for a request is closed to admit the new one; when
   * all of them are busy the new connection is closed at once. Behind a reverse proxy every client
   * shares the proxy's address: raise it.
   */
  maxConnectionsPerAddress?: number;
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
  '/dashboard': [],
  '/metrics': [],
  '/api/snapshot': ['window', 'points'],
  '/api/range': ['pool', 'from', 'to'],
  '/api/events': ['window', 'points'],
  '/api/health': [],
  '/api/stack': ['pool', 'worker'],
} as const satisfies Record<string, readonly string[]>;

/** Prefix of the web dashboard's files (`/dashboard/app.js`, ...): see web-assets.ts. */
const DASHBOARD_FILES = '/dashboard/';

type RoutePath = keyof typeof MONITORING_ROUTES;

interface SseClient {
  res: ServerResponse;
  window: WindowName;
  /** Newest series points per pool in each event (undefined: the whole window). */
  points: number | undefined;
}

/** An open client connection. Waiting for a request (evictable) while `responses` is empty. */
interface Connection {
  socket: Socket;
  /** The client address it counts against ({@link clientAddressKey}). */
  key: string;
  /** Responses in progress on it (more than one when requests are pipelined). */
  responses: Set<ServerResponse>;
}

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_HEADERS = 64;

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}


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
  private readonly headersTimeoutMs: number;
  private readonly maxConnections: number;
  private readonly maxConnectionsPerAddress: number;
  /** Host names accepted besides the loopback ones: `allowedHosts` and a non-loopback bind host. */
  private readonly allowedHosts: ReadonlySet<string>;
  private readonly maxSseBufferBytes: number;
  private readonly maxRangeSpanMs: number;
  private readonly logger: MonitoringServerLogger | null;

  private server: Server | null = null;
  private boundPort = 0;
  private readonly sse = new Set<SseClient>();
  /** Open connections, oldest first. */
  private connections = new Map<Socket, Connection>();
  /** The same, by client address. */
  private connectionsByAddress = new Map<string, Set<Connection>>();
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
      tuning: options.tuning ?? null,
      health: options.health ?? null,
    };
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = port;
    this.token = options.token ?? null;
    this.maxSseClients = numberOption(where, 'maxSseClients', options.maxSseClients, 32, { min: 0, max: 10_000 });
    this.sseIntervalMs = numberOption(where, 'sseIntervalMs', options.sseIntervalMs, 1000, { min: 50, max: 3_600_000 });
    this.requestTimeoutMs = numberOption(where, 'requestTimeoutMs', options.requestTimeoutMs, 10_000, { min: 100, max: 3_600_000 });
    // Node requires headersTimeout <= requestTimeout.
    this.headersTimeoutMs = numberOption(where, 'headersTimeoutMs', options.headersTimeoutMs, Math.min(5000, this.requestTimeoutMs), { min: 100, max: this.requestTimeoutMs });
    this.maxConnections = numberOption(where, 'maxConnections', options.maxConnections, 256, { min: 1, max: 1_000_000 });
    this.maxConnectionsPerAddress = numberOption(where, 'maxConnectionsPerAddress', options.maxConnectionsPerAddress, 64, { min: 1, max: 1_000_000 });
    const allowed = allowedHostsOption(where, options.allowedHosts);
    const bound = normalizeHostName(this.host);
    if (bound !== null && !isLoopbackHostName(bound)) allowed.push(bound);
    this.allowedHosts = new Set(allowed);
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

  /** Client connections open now (SSE streams and idle keep-alive connections included). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Bind and listen. Rejects when the address is taken or not available. Idempotent while running. */
  start(): Promise<void> {
    if (this.stopping) return this.stopping.then(() => this.start());
    if (this.starting) return this.starting;
    const server = createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        requestTimeout: this.requestTimeoutMs,
        headersTimeout: this.headersTimeoutMs,
        // How often Node checks the two timeouts above (its default, 30 s, would let slow clients linger).
        connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(this.headersTimeoutMs / 4))),
        keepAliveTimeout: 5000,
        // A missing Host is answered by checkHost() (for HTTP/1.0 too), with the usual headers.
        requireHostHeader: false,
      },
      (req, res) => this.handle(req, res),
    );
    server.maxHeadersCount = MAX_HEADERS;
    // No server.maxConnections: Node would refuse the newest connection, which lets slow sockets
    // that got there first lock every scrape out. admit() evicts the oldest waiting one instead.
    this.connections = new Map();
    this.connectionsByAddress = new Map();
    server.on('connection', (socket: Socket) => this.admit(socket));
    server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => this.onClientError(err, socket));
    // An `Expect` other than 100-continue: answered by the routes like any request (Node's own 417 lacks our headers).
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => this.handle(req, res));
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

  /**
   * A new connection: count it against its address and the total. Past a limit, the oldest
   * connection of that address (or of all) still waiting for a request is closed to make room, so
   * a client that sends its request promptly always gets in; if every one is busy, the new
   * connection is closed.
   */
  private admit(socket: Socket): void {
    const key = clientAddressKey(socket.remoteAddress);
    if (key === null) {
      socket.destroy();
      return;
    }
    const group = this.connectionsByAddress.get(key);
    if (group !== undefined && group.size >= this.maxConnectionsPerAddress && !this.evictOldestWaiting(group.values())) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.maxConnections && !this.evictOldestWaiting(this.connections.values())) {
      socket.destroy();
      return;
    }
    const conn: Connection = { socket, key, responses: new Set() };
    this.connections.set(socket, conn);
    if (group !== undefined) group.add(conn);
    else this.connectionsByAddress.set(key, new Set([conn]));
    socket.once('close', () => this.forget(conn));
  }

  /** Close the first (oldest) connection waiting for a request; false when there is none. */
  private evictOldestWaiting(candidates: Iterable<Connection>): boolean {
    for (const c of candidates) {
      if (c.responses.size > 0) continue;
      this.forget(c);
      c.socket.destroy();
      return true;
    }
    return false;
  }

  private forget(conn: Connection): void {
    if (this.connections.get(conn.socket) === conn) this.connections.delete(conn.socket);
    const group = this.connectionsByAddress.get(conn.key);
    if (group?.delete(conn) === true && group.size === 0) this.connectionsByAddress.delete(conn.key);
  }

  /** A request Node's parser rejected (malformed, headers too large, too slow): answer like Node, with our headers. */
  private onClientError(err: Error & { code?: string }, socket: Duplex): void {
    const conn = this.connections.get(socket as Socket);
    const responding = conn !== undefined && [...conn.responses].some((r) => r.headersSent);
    // Never write into a response already on the wire; a reset peer gets nothing.
    if (err.code !== 'ECONNRESET' && socket.writable && !responding) socket.write(clientErrorResponse(err.code));
    socket.destroy();
  }

  /**
   * The `Host` check (before the token): 400 when missing, repeated or malformed, 421 unless it
   * names loopback, the bound host or one of `allowedHosts`. See the module comment (DNS rebinding).
   */
  private checkHost(req: IncomingMessage): void {
    const values = req.headersDistinct.host;
    if (values === undefined || values.length === 0 || values[0] === '') throw new HttpError(400, 'a Host header is required', { connection: 'close' });
    if (values.length > 1) throw new HttpError(400, 'more than one Host header', { connection: 'close' });
    const name = hostHeaderName(values[0]!);
    if (name === null) throw new HttpError(400, 'malformed Host header', { connection: 'close' });
    if (!isLoopbackHostName(name) && !this.allowedHosts.has(name)) {
      throw new HttpError(421, 'this server does not answer for that Host (allowed: loopback names, the bound host, the allowedHosts option)', { connection: 'close' });
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const conn = this.connections.get(req.socket);
    if (conn !== undefined) {
      conn.responses.add(res);
      res.once('close', () => conn.responses.delete(res));
    }
    try {
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const path = q < 0 ? raw : raw.slice(0, q);
      const query = q < 0 ? '' : raw.slice(q + 1);
      this.checkHost(req);
      // The page and its files hold no data: served without the token (see the module comment).
      if (path.startsWith(DASHBOARD_FILES)) return this.sendAsset(req, res, path.slice(DASHBOARD_FILES.length), query);
      const page = path === '/' || path === '/dashboard';
      if (!page && this.token !== null && !bearerTokenMatches(req.headers.authorization, this.token)) {
        throw new HttpError(401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer realm="dspex"' });
      }
      if (!Object.hasOwn(MONITORING_ROUTES, path)) throw new HttpError(404, 'not found');
      const route = path as RoutePath;
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed', { allow: 'GET, HEAD' });
      const params = parseQuery(query, MONITORING_ROUTES[route]);
      const head = req.method === 'HEAD';
      switch (route) {
        case '/':
          return this.send(res, 302, 'text/plain; charset=utf-8', 'see /dashboard\n', head, { location: '/dashboard' });
        case '/dashboard':
          return this.sendAsset(req, res, 'index.html', '');
        case '/metrics':
          return this.send(res, 200, PROMETHEUS_CONTENT_TYPE, renderPrometheus(collectPrometheusInput(this.sources)), head);
        case '/api/snapshot': {
          const window = parseWindow(params.get('window'));
          return this.send(res, 200, JSON_TYPE, JSON.stringify(buildSnapshot(this.sources, window, Date.now(), parsePoints(params.get('points')))), head);
        }
        case '/api/range':
          return this.send(res, 200, JSON_TYPE, JSON.stringify(this.range(params)), head);
        case '/api/events':
          return this.openSse(req, res, parseWindow(params.get('window')), parsePoints(params.get('points')), head);
        case '/api/health': {
          // 200 while healthy or degraded (still serving: a load balancer should keep it), 503 otherwise.
          const health = this.health();
          return this.send(res, health.status === 'unhealthy' ? 503 : 200, JSON_TYPE, JSON.stringify(health), head, { 'cache-control': 'no-store' });
        }
        case '/api/stack':
          // Asynchronous (the dump takes ~50 ms): answered when the pool has it (stack-route.ts).
          void answerStack(this.sources, params.get('pool'), params.get('worker'), this.logger).then(({ status, body }) => {
            if (!res.destroyed && !res.headersSent) this.send(res, status, JSON_TYPE, JSON.stringify(body), head);
          });
          return;
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

  /** The stack's health from its source; without one, the server itself answering is the whole report. */
  private health(): MonitoringHealth {
    const fallback: MonitoringHealth = {
      status: 'healthy',
      checkedAtMs: Date.now(),
      components: [{ name: 'server', state: 'running', reason: '', lastTickAgeMs: null, lastTickDurationMs: null, errors: 0, restarts: 0 }],
      eventLagMs: null,
      memory: { usedBytes: 0, capBytes: 0, degradation: 0 },
    };
    const source = this.sources.health;
    if (source === undefined || source === null) return fallback;
    try {
      return source();
    } catch (err) {
      this.logger?.warn({ err }, 'dspex monitoring server: the health source failed');
      return { ...fallback, status: 'unhealthy', components: [{ ...fallback.components[0]!, name: 'health', state: 'stalled', reason: 'the health source failed' }] };
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

  /** A file of the web dashboard (GET or HEAD, no query), with the page's CSP. */
  private sendAsset(req: IncomingMessage, res: ServerResponse, name: string, query: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed', { allow: 'GET, HEAD' });
    const asset = webAsset(name);
    if (asset === null) throw new HttpError(404, 'not found');
    parseQuery(query, []);
    res.writeHead(200, { 'content-type': asset.contentType, 'content-length': asset.body.byteLength, ...COMMON_HEADERS, ...DASHBOARD_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  private send(res: ServerResponse, status: number, type: string, body: string, head: boolean, headers: Record<string, string> = {}): void {
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      ...COMMON_HEADERS,
      ...headers,
    });
    res.end(head ? undefined : body);
  }

  // ---- Server-Sent Events -------------------------------------------------------------------

  private openSse(req: IncomingMessage, res: ServerResponse, window: WindowName, points: number | undefined, head: boolean): void {
    if (this.sse.size >= this.maxSseClients) throw new HttpError(503, 'too many event-stream clients', { 'retry-after': '5' });
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      ...COMMON_HEADERS,
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (head) {
      res.end();
      return;
    }
    const client: SseClient = { res, window, points };
    this.sse.add(client);
    const drop = (): void => {
      this.sse.delete(client);
      if (this.sse.size === 0) this.stopSseTimer();
    };
    req.socket.setNoDelay(true);
    res.on('close', drop);
    res.write(`retry: ${this.sseIntervalMs}\n\n`);
    this.push(client, this.ssePayload(window, points));
    if (this.sseTimer === null) {
      this.sseTimer = setInterval(() => this.tick(), this.sseIntervalMs);
      this.sseTimer.unref();
    }
  }

  private ssePayload(window: WindowName, points: number | undefined): string {
    const snap = buildSnapshot(this.sources, window, Date.now(), points);
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
      // One snapshot per (window, points) asked for, shared by every client asking the same.
      const payloads = new Map<string, string>();
      for (const c of this.sse) {
        const key = `${c.window}/${c.points ?? ''}`;
        let p = payloads.get(key);
        if (p === undefined) {
          p = this.ssePayload(c.window, c.points);
          payloads.set(key, p);
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
