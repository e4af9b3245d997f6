/**
 * The client side of `/api/snapshot`: what `dspex monitor --url` (the terminal dashboard watching
 * a pool in another process) uses to fetch snapshots from a {@link MonitoringServer}.
 *
 * @module
 */
import type { WindowName } from '../metrics/types.js';
import type { MonitoringSnapshot, SnapshotProvider } from './snapshot.js';

/** Options of {@link fetchSnapshot}. */
export interface FetchSnapshotOptions {
  /** Window of the series, latency and errors (default `1m`). */
  window?: WindowName;
  /** The server's bearer token, if it requires one (sent as `Authorization: Bearer …`, never shown in errors). */
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

/** `base` (a server URL, possibly with a path prefix) joined with a route path. */
export function apiUrl(base: string, route: string, query: Record<string, string> = {}): URL {
  const u = new URL(route.replace(/^\//, ''), base.endsWith('/') ? base : `${base}/`);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u;
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
  const target = apiUrl(url, '/api/snapshot', { window: opts.window ?? '1m' });
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 5000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(target, { headers, signal });
  } catch (err) {
    const why = timeout.aborted ? 'timed out' : err instanceof Error ? err.message : String(err);
    throw new MonitoringHttpError(`GET ${target.origin}${target.pathname}: ${why}`, null, { cause: err });
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
    throw new MonitoringHttpError(`GET ${target.origin}${target.pathname}: ${res.status} ${message}`, res.status);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new MonitoringHttpError(`GET ${target.origin}${target.pathname}: the response is not JSON`, res.status, { cause: err });
  }
  if (!isSnapshot(body)) throw new MonitoringHttpError(`GET ${target.origin}${target.pathname}: the response is not a monitoring snapshot`, res.status);
  return body;
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
}
