/**
 * The client side of `/api/snapshot`: what `dspex monitor --url` (the terminal dashboard watching
 * a pool in another process) uses to fetch snapshots from a {@link MonitoringServer}.
 *
 * @module
 */
import { invalidArgument } from '../contract/errors.js';
import type { WindowName } from '../contract/metrics.js';
import type { MonitoringSnapshot, SnapshotProvider } from '../contract/snapshot.js';
import type { PythonStack } from '../contract/inside-python.js';

/** Options of {@link fetchSnapshot}. */
export interface FetchSnapshotOptions {
  /** Window of the series, latency and errors (default `1m`). */
  window?: WindowName;
  /**
   * The server's bearer token, if it requires one (sent as `Authorization: Bearer …`, never shown
   * in errors). User info in the URL (`http://user:pass@host`, for a proxy doing Basic auth) is sent
   * as `Authorization: Basic …` instead, and never shown either; giving both is an error.
   */
  token?: string | null;
  /** Give up after this long, ms (default 5000). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A failed snapshot request: `status` is the HTTP status, or null when no response came. */
export class MonitoringHttpError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MonitoringHttpError';
  }
}

/**
 * `base` (a server URL, possibly with a path prefix) joined with a route path. User info in `base`
 * (`http://user:pass@host`) is kept; {@link fetchSnapshot} moves it into a header. Throws a
 * `PythonBridgeError` (`invalid_request` / `invalid_argument`) that does not echo `base` (it may hold credentials) when it is not a URL.
 */
export function apiUrl(base: string, route: string, query: Record<string, string> = {}): URL {
  let u: URL;
  try {
    u = new URL(route.replace(/^\//, ''), base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw invalidArgument('dspex monitoring client', 'url', 'not a valid http(s) URL (e.g. http://127.0.0.1:9568)');
  }
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u;
}

/** The longest server error message kept in a {@link MonitoringHttpError} (characters). */
const MAX_SERVER_MESSAGE = 200;

/**
 * Text from the other side made safe to print: C0 / C1 control characters and DEL (escape
 * sequences, line breaks) become `?`, and it is cut to `max` characters.
 */
function safeText(text: string, max = MAX_SERVER_MESSAGE): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** Any `scheme://user[:pass]@` in a text (an error message of the HTTP stack) with the user info removed. */
function redactUrls(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, '$1');
}

/**
 * Split user info off a URL: the URL without it, and the `Authorization: Basic …` value it
 * stands for (RFC 7617; percent-decoded), or null when there is none. `fetch` refuses URLs with
 * credentials, and its error message would echo them.
 */
function splitCredentials(u: URL): { url: URL; basic: string | null } {
  if (u.username === '' && u.password === '') return { url: u, basic: null };
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const basic = `Basic ${Buffer.from(`${decode(u.username)}:${decode(u.password)}`, 'utf8').toString('base64')}`;
  const url = new URL(u.href);
  url.username = '';
  url.password = '';
  return { url, basic };
}

function isSnapshot(v: unknown): v is MonitoringSnapshot {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o['timestampMs'] === 'number' && typeof o['window'] === 'string' && Array.isArray(o['pools']) && Array.isArray(o['alerts']) && Array.isArray(o['recommendations']);
}

/**
 * Fetch one snapshot from a monitoring server (`GET <url>/api/snapshot?window=…`). Rejects with a
 * {@link MonitoringHttpError} on a network failure, a timeout, a non-2xx status (with the server's
 * message) or a body that is not a snapshot.
 */
export async function fetchSnapshot(url: string, opts: FetchSnapshotOptions = {}): Promise<MonitoringSnapshot> {
  return fetchApi(url, '/api/snapshot', { window: opts.window ?? '1m' }, opts, isSnapshot, 'a monitoring snapshot');
}

/**
 * Fetch a worker's stack dump from a monitoring server (`GET <url>/api/stack?pool=…&worker=…`,
 * issue 19; what `dspex stack` prints). Rejects like {@link fetchSnapshot}; the server answers 404
 * for an unknown pool or a pool it cannot dump, 409 when the worker cannot dump now.
 */
export function fetchStack(url: string, pool: string, workerId: number, opts: Omit<FetchSnapshotOptions, 'window'> = {}): Promise<PythonStack> {
  return fetchApi(url, '/api/stack', { pool, worker: String(workerId) }, opts, isStack, 'a stack dump');
}

function isStack(v: unknown): v is PythonStack {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o['stack'] === 'string' && typeof o['pool'] === 'string' && typeof o['workerId'] === 'number' && typeof o['pid'] === 'number';
}

async function fetchApi<T>(url: string, route: string, query: Record<string, string>, opts: Omit<FetchSnapshotOptions, 'window'>, check: (v: unknown) => v is T, what: string): Promise<T> {
  const { url: target, basic } = splitCredentials(apiUrl(url, route, query));
  // Never the user info, never the query: what errors may show.
  const where = `GET ${target.origin}${target.pathname}`;
  if (basic && opts.token) {
    throw new MonitoringHttpError(`${where}: the URL has user info and a token was given; both would set the Authorization header, pass only one`, null);
  }
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 5000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (basic) headers['authorization'] = basic;
  else if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(target, { headers, signal });
  } catch (err) {
    // The cause is kept only as text, redacted: an error of the HTTP stack may quote a URL.
    const why = timeout.aborted ? 'timed out' : safeText(redactUrls(err instanceof Error ? describe(err) : String(err)), 300);
    throw new MonitoringHttpError(`${where}: ${why}`, null);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = res.statusText;
    try {
      const body = JSON.parse(text) as { error?: unknown };
      if (typeof body.error === 'string') message = body.error;
    } catch {
      // not JSON: keep the status text
    }
    throw new MonitoringHttpError(`${where}: ${res.status} ${safeText(redactUrls(message))}`, res.status);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new MonitoringHttpError(`${where}: the response is not JSON`, res.status);
  }
  if (!check(body)) throw new MonitoringHttpError(`${where}: the response is not ${what}`, res.status);
  return body;
}

/** `fetch failed` says little: add the cause's code or message (`ECONNREFUSED`, …). */
function describe(err: Error): string {
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return `${err.message} (${code ?? cause.message})`;
  }
  return err.message;
}

/** Options of {@link HttpSnapshotSource}. */
export interface HttpSnapshotSourceOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:9568`. */
  url: string;
  token?: string | null;
  timeoutMs?: number;
}

/** A snapshot source over HTTP, for the terminal dashboard: `new PerformanceDashboard({ source: new HttpSnapshotSource({ url }) })`. */
export class HttpSnapshotSource implements SnapshotProvider {
  constructor(private readonly opts: HttpSnapshotSourceOptions) {
    // Fail early on a malformed URL.
    apiUrl(opts.url, '/api/snapshot');
  }

  /** Fetch the snapshot for a window. */
  snapshot(window: WindowName): Promise<MonitoringSnapshot> {
    return fetchSnapshot(this.opts.url, { window, token: this.opts.token ?? null, timeoutMs: this.opts.timeoutMs ?? 5000 });
  }

  /** Fetch a worker's stack dump (`/api/stack`; the dashboard's `d` key). */
  stack(pool: string, workerId: number): Promise<PythonStack> {
    return fetchStack(this.opts.url, pool, workerId, { token: this.opts.token ?? null, timeoutMs: this.opts.timeoutMs ?? 5000 });
  }
}
