/**
 * The request guards of the monitoring HTTP server (src/exporters/http-server.ts): which `Host`
 * headers it answers (DNS rebinding: see docs/MONITORING_GUIDE.md, "Host check, headers and
 * limits"), the key a client's connections are counted under, and the headers every response
 * carries. Pure functions and constants.
 *
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { invalidOption } from '../contract/errors.js';

/** The content type of every JSON answer, errors included. */
export const JSON_TYPE = 'application/json; charset=utf-8';

const LABEL = '(?!-)[a-z0-9_-]{1,63}(?<!-)';
const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`);

/**
 * A host name as compared with `Host` headers: lower case, an IPv6 address in brackets. Null when
 * `host` is neither a DNS name nor an IP address (a port, a scheme, a wildcard, a numeric last
 * label outside a dotted IPv4 address).
 */
export function normalizeHostName(host: string): string | null {
  const h = host.toLowerCase();
  if (isIPv6(h)) return `[${h}]`;
  if (h.startsWith('[') && h.endsWith(']') && isIPv6(h.slice(1, -1))) return h;
  if (isIPv4(h)) return h;
  // A name whose last label is a number is an IPv4 address to a browser (`127.1`, `0x7f.1`): not a name.
  if (h.length > 253 || !HOST_NAME.test(h) || /(?:^|\.)(?:\d+|0x[0-9a-f]*)\.?$/.test(h)) return null;
  return h;
}

/** The host name of a `Host` header value (lower case, IPv6 in brackets, port removed); null when malformed. */
export function hostHeaderName(value: string): string | null {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(value);
  if (m === null || (m[2] !== undefined && Number(m[2]) > 65535)) return null;
  return m[1]!.toLowerCase();
}

/** True for the loopback names: `localhost`, `[::1]` and the dotted IPv4 addresses of 127.0.0.0/8. */
export function isLoopbackHostName(name: string): boolean {
  return name === 'localhost' || name === '[::1]' || (isIPv4(name) && name.startsWith('127.'));
}

/**
 * The key a client's connections are counted under: its IPv4 address (IPv4-mapped IPv6 included),
 * or the /64 prefix of its IPv6 address (one subscriber's allocation, which it can spread
 * connections across). Null when the socket has no remote address (already closed).
 */
export function clientAddressKey(address: string | undefined): string | null {
  if (address === undefined || address === '') return null;
  const a = address.toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped !== null && isIPv4(mapped[1]!)) return mapped[1]!;
  if (isIPv4(a)) return a;
  if (!isIPv6(a)) return a;
  const split = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const width = (groups: string[]): number => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const gap = a.indexOf('::');
  const head = split(gap < 0 ? a : a.slice(0, gap));
  const tail = gap < 0 ? [] : split(a.slice(gap + 2));
  const groups = [...head, ...Array<string>(Math.max(0, 8 - width(head) - width(tail))).fill('0'), ...tail];
  return `${groups
    .slice(0, 4)
    .map((g) => (g.includes('.') ? '0' : parseInt(g, 16).toString(16)))
    .join(':')}::/64`;
}

/** The `allowedHosts` option, normalized ({@link normalizeHostName}); throws the typed invalid_options error naming it. */
export function allowedHostsOption(where: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidOption(where, 'allowedHosts', 'must be an array of host names');
  if (value.length > 1000) throw invalidOption(where, 'allowedHosts', 'must not list more than 1000 names');
  return value.map((entry: unknown, i) => {
    const name = typeof entry === 'string' ? normalizeHostName(entry) : null;
    if (name === null) {
      const shown = typeof entry === 'string' ? JSON.stringify(entry.length > 64 ? `${entry.slice(0, 64)}…` : entry) : typeof entry;
      throw invalidOption(where, 'allowedHosts', `entry ${i} (${shown}) must be a host name or an IP address, without scheme, port or wildcard`);
    }
    return name;
  });
}

/** Headers of every response (clientErrorResponse() writes the same ones by hand). */
export const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

/**
 * The headers of the web dashboard's page and files (`/dashboard`): scripts, styles and
 * connections from this origin only (no inline script or style, nothing from elsewhere), no
 * frames, forms that go nowhere, and no `Referer` leaving the page.
 */
export const DASHBOARD_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/** The answer to a request Node's parser rejected (Node's own would lack our headers), keyed by error code. */
const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'request headers too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Payload Too Large', 'chunk extensions too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'request not received in time'],
};

/** The raw HTTP/1.1 answer to a request Node's parser rejected (`err.code`), closing the connection. */
export function clientErrorResponse(code: string | undefined): string {
  const [status, reason, message] = code !== undefined && Object.hasOwn(CLIENT_ERRORS, code) ? CLIENT_ERRORS[code]! : [400, 'Bad Request', 'malformed request'];
  const body = JSON.stringify({ error: message, status });
  return (
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n${body}`
  );
}
