/**
 * The request parameters of the monitoring HTTP server (src/exporters/http-server.ts): the query
 * string, windows, series lengths and times, each parsed strictly, and the client error they
 * throw (its message is sent to the client with the status). Pure functions.
 *
 * @module
 */
import type { WindowName } from '../contract/metrics.js';
import { isWindowName, SNAPSHOT_WINDOWS } from '../contract/snapshot.js';

/** A client error with its HTTP status; the message is sent to the client. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const MAX_QUERY_PARAMS = 16;

/** Parse a query string: only `allowed` names, each at most once. Throws {@link HttpError} 400. */
export function parseQuery(query: string, allowed: readonly string[]): Map<string, string> {
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
export function parseWindow(value: string | undefined): WindowName {
  if (value === undefined) return '1m';
  if (isWindowName(value)) return value;
  throw new HttpError(400, `window must be one of ${SNAPSHOT_WINDOWS.join(', ')}`);
}

/** Most series points `points` may ask for: a window's per-second series has at most 901. */
const MAX_SERIES_POINTS = 901;

/** The `points` parameter: newest series points per pool, an integer 0..901 (default: all). Throws {@link HttpError} 400. */
export function parsePoints(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d{1,4}$/.test(value) && Number(value) <= MAX_SERIES_POINTS) return Number(value);
  throw new HttpError(400, `points must be an integer from 0 to ${MAX_SERIES_POINTS}`);
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
export function parseTimeMs(name: string, value: string | undefined, fallback: number): number {
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
