// @ts-check
/**
 * Server-Sent Events over `fetch`, so the stream can carry the bearer token in an
 * `Authorization` header (an `EventSource` cannot send headers, and a token in the URL would end
 * up in history and logs). {@link SseParser} is the pure part (text in, events out: the
 * `text/event-stream` rules of the HTML standard that the monitoring server uses); {@link
 * readEventStream} reads one response with it. Reconnecting is the page's business (app.js): it
 * needs to reload history and show since when it is disconnected.
 *
 * @module
 */

/** @typedef {{ event: string, data: string, id: string | null }} SseEvent */

/** An incremental `text/event-stream` parser: feed it chunks of text, get the completed events. */
export class SseParser {
  constructor() {
    /** @private */ this.buffer = '';
    /** @private @type {string[]} */ this.data = [];
    /** @private */ this.event = '';
    /** @private @type {string | null} */ this.id = null;
    /** The last `retry:` the server sent, ms (null until one came). @type {number | null} */
    this.retryMs = null;
  }

  /**
   * Feed a chunk; returns the events it completed (an event ends at an empty line).
   * @param {string} chunk
   * @returns {SseEvent[]}
   */
  feed(chunk) {
    /** @type {SseEvent[]} */
    const out = [];
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\n', start);
      if (nl < 0) break;
      let line = this.buffer.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
        this.data = [];
        this.event = '';
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
      else if (field === 'id') this.id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }
}

/** Thrown when the server answers 401: the token is missing or wrong. */
export class AuthRequired extends Error {
  constructor() {
    super('the server needs a bearer token');
    this.name = 'AuthRequired';
  }
}

/**
 * Open `url` as an event stream and call `onEvent` for each event until the server ends it, the
 * signal aborts, or the connection fails. Resolves when the stream ends; rejects with
 * {@link AuthRequired} on 401 and with an Error on any other failure.
 * @param {string} url
 * @param {{ token: string | null, signal: AbortSignal, onEvent: (e: SseEvent) => void, onOpen?: () => void }} opts
 * @returns {Promise<void>}
 */
export async function readEventStream(url, opts) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'text/event-stream' };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(url, { headers, signal: opts.signal, cache: 'no-store', credentials: 'omit', redirect: 'error' });
  if (res.status === 401) throw new AuthRequired();
  if (!res.ok || res.body === null) throw new Error(`event stream: HTTP ${res.status}`);
  opts.onOpen?.();
  const parser = new SseParser();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      for (const e of parser.feed(value)) opts.onEvent(e);
    }
  } finally {
    reader.releaseLock();
  }
}
