/**
 * Framing of the Node ↔ Python protocol (docs/PROTOCOL.md): a 4-byte big-endian length, then that
 * many bytes of UTF-8 JSON. Pure: no I/O, no timers.
 *
 * The decoder never concatenates the whole stream: a frame that lies inside one chunk is decoded
 * in place (`toString(start, end)`), and only a frame split across chunks is copied, once, into a
 * buffer of exactly its size.
 *
 * @module
 */
import { USER_METRIC_LIMITS, USER_METRIC_NAME, type UserMetricChange, type UserMetricKind } from '../contract/inside-python.js';

/** Why a byte stream is not valid protocol. */
export type FrameErrorKind = 'frame_too_large' | 'invalid_json' | 'not_an_object' | 'missing_id';

/** A violation of the protocol found while decoding. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly kind: FrameErrorKind,
    message: string,
    /** For `frame_too_large`: the announced length. */
    readonly announcedBytes = 0,
  ) {
    super(message);
  }
}

/** A decoded frame: a JSON object with a numeric `id`. */
export interface Frame {
  id: number;
  [key: string]: unknown;
}

/**
 * Encode one frame. `json` must be a JSON text; the header and body are written into a single
 * buffer so the pipe write is one syscall.
 */
export function encodeFrame(json: string): Buffer {
  const len = Buffer.byteLength(json, 'utf8');
  const buf = Buffer.allocUnsafe(4 + len);
  buf.writeUInt32BE(len, 0);
  buf.write(json, 4, len, 'utf8');
  return buf;
}

/**
 * Encode a request frame's JSON text without building an intermediate object. `traceparent` (a
 * W3C trace context, see docs/PROTOCOL.md) is added only when given: frames without it are
 * byte-for-byte the ones older workers read.
 */
export function requestJson(id: number, commandJson: string, argsJson: string, sessionId: string | null, traceparent?: string): string {
  return (
    '{"id":' +
    id +
    ',"command":' +
    commandJson +
    ',"args":' +
    argsJson +
    ',"session_id":' +
    (sessionId === null ? 'null' : JSON.stringify(sessionId)) +
    // Stringified, not pasted: a subscriber wrote it, and a quote in it must not break the frame.
    (traceparent === undefined ? '}' : ',"traceparent":' + JSON.stringify(traceparent) + '}')
  );
}

/**
 * Incremental frame decoder. Feed it chunks with {@link FrameDecoder.push}; it calls `onFrame` for
 * each complete frame's text and throws a {@link FrameError} when a header announces more than
 * `maxFrameBytes` (the stream can't be trusted after that: the caller must drop the connection).
 */
export class FrameDecoder {
  /** Bytes of a frame (or header) split across chunks. */
  private partial: Buffer | null = null;
  /** How many bytes of `partial` are filled. */
  private partialFilled = 0;
  /** Header bytes collected across chunks (at most 4). */
  private readonly header = Buffer.alloc(4);
  private headerFilled = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly onFrame: (text: string) => void,
  ) {}

  /** True when a frame is partly received (a stream that ends now was cut mid-frame). */
  get midFrame(): boolean {
    return this.partial !== null || this.headerFilled > 0;
  }

  /** Consume one chunk. */
  push(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.partial !== null) {
        // Continue a frame split across chunks.
        const need = this.partial.length - this.partialFilled;
        const take = Math.min(need, end - pos);
        chunk.copy(this.partial, this.partialFilled, pos, pos + take);
        this.partialFilled += take;
        pos += take;
        if (this.partialFilled === this.partial.length) {
          const text = this.partial.toString('utf8');
          this.partial = null;
          this.partialFilled = 0;
          this.onFrame(text);
        }
        continue;
      }
      let len: number;
      if (this.headerFilled > 0 || end - pos < 4) {
        // A header split across chunks.
        const take = Math.min(4 - this.headerFilled, end - pos);
        chunk.copy(this.header, this.headerFilled, pos, pos + take);
        this.headerFilled += take;
        pos += take;
        if (this.headerFilled < 4) return;
        this.headerFilled = 0;
        len = this.header.readUInt32BE(0);
      } else {
        len = chunk.readUInt32BE(pos);
        pos += 4;
      }
      if (len > this.maxFrameBytes) {
        throw new FrameError('frame_too_large', `frame of ${len} bytes exceeds maxMessageBytes (${this.maxFrameBytes})`, len);
      }
      if (end - pos >= len) {
        // The common case: the whole frame is in this chunk. Decode in place.
        const text = chunk.toString('utf8', pos, pos + len);
        pos += len;
        this.onFrame(text);
      } else {
        this.partial = Buffer.allocUnsafe(len);
        this.partialFilled = 0;
      }
    }
  }
}

/** Parse a frame's text into a {@link Frame}, or throw a {@link FrameError}. */
export function parseFrame(text: string): Frame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FrameError('invalid_json', `reply is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FrameError('not_an_object', 'reply is not a JSON object');
  }
  const id = (value as { id?: unknown }).id;
  if (typeof id !== 'number' || !Number.isInteger(id)) {
    throw new FrameError('missing_id', 'reply has no integer id');
  }
  return value as Frame;
}

/** The error object of a failed reply (docs/PROTOCOL.md). */
export interface ReplyError {
  type: string;
  message: string;
  traceback: string;
  /** `exception`, `unknown_command`, `bad_args` or `serialization`; kept open: Python code could send anything. */
  kind: string;
}

/** Read a reply's `error` field defensively: Python code could send anything. */
export function readReplyError(value: unknown): ReplyError {
  const o = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const str = (v: unknown, d: string): string => (typeof v === 'string' ? v : d);
  return {
    type: str(o['type'], 'Error'),
    message: str(o['message'], ''),
    traceback: str(o['traceback'], ''),
    kind: str(o['kind'], 'exception'),
  };
}

// ---------------------------------------------------------------------------------------------
// Reply extras (issue 19): the timing split and user metrics. Read defensively: a malformed value
// is ignored (the reply itself stays valid), never a crash.
// ---------------------------------------------------------------------------------------------

/** Largest duration accepted from a worker: 30 days in ns (anything larger is not a measurement). */
const MAX_REPLY_NS = 30 * 24 * 3600 * 1e9;

function nsField(o: Record<string, unknown>, key: string): number | null {
  const v = o[key];
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_REPLY_NS ? v : null;
}

/**
 * The handler's own execution time (`timing.python_ns`) of a reply, in ns, or null when the reply
 * has no timing (a worker with `pythonTiming` off, an error raised before the handler ran) or
 * a malformed one (not an object, not a non-negative integer, absurdly large).
 */
export function readReplyPythonNs(frame: Frame): number | null {
  const t = frame['timing'];
  if (typeof t !== 'object' || t === null) return null;
  return nsField(t as Record<string, unknown>, 'python_ns');
}

/** The whole timing of a reply (docs/PROTOCOL.md), in ns, or null when absent or malformed. */
export interface ReplyTiming {
  /** The handler's execution time. */
  pythonNs: number;
  /** Decoding the request frame (JSON to objects) in Python. */
  decodeNs: number;
  /** Encoding the result (objects to UTF-8 JSON) in Python; 0 on error replies. */
  encodeNs: number;
}

/** Read a reply's `timing` object; null unless all three fields are valid. */
export function readReplyTiming(frame: Frame): ReplyTiming | null {
  const t = frame['timing'];
  if (typeof t !== 'object' || t === null) return null;
  const o = t as Record<string, unknown>;
  const pythonNs = nsField(o, 'python_ns');
  const decodeNs = nsField(o, 'decode_ns');
  const encodeNs = nsField(o, 'encode_ns');
  return pythonNs === null || decodeNs === null || encodeNs === null ? null : { pythonNs, decodeNs, encodeNs };
}

/**
 * Read the user metrics of a frame (`metrics`: a list of changes, docs/PROTOCOL.md) into `out`,
 * keeping only well-formed changes within {@link USER_METRIC_LIMITS}: a name and label names
 * matching {@link USER_METRIC_NAME}, string label values (cut to the limit), finite numbers, a
 * non-negative counter increase, histogram bounds ascending with one count per bucket plus
 * `+Inf`. Returns how many entries were dropped. Never throws: Python code could send anything.
 */
export function readUserMetrics(raw: unknown, out: UserMetricChange[]): number {
  if (!Array.isArray(raw)) return raw === undefined || raw === null ? 0 : 1;
  const L = USER_METRIC_LIMITS;
  let dropped = 0;
  const n = raw.length;
  for (let i = 0; i < n; i++) {
    if (out.length >= L.maxChangesPerFrame) {
      dropped += n - i;
      break;
    }
    const c = readChange(raw[i]);
    if (c === null) dropped++;
    else out.push(c);
  }
  return dropped;
}

const KINDS: Readonly<Record<string, UserMetricKind>> = { c: 'counter', g: 'gauge', h: 'histogram' };

function readChange(v: unknown): UserMetricChange | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const name = o['n'];
  const t = o['t'];
  const L = USER_METRIC_LIMITS;
  if (typeof name !== 'string' || name.length > L.maxNameLength || !USER_METRIC_NAME.test(name) || name.startsWith('__')) return null;
  const kind = typeof t === 'string' && Object.hasOwn(KINDS, t) ? KINDS[t]! : null;
  if (kind === null) return null;
  const labels = readLabels(o['l']);
  if (labels === null) return null;
  if (kind !== 'histogram') {
    const value = o['v'];
    if (typeof value !== 'number' || !Number.isFinite(value) || (kind === 'counter' && value < 0)) return null;
    return { name, kind, labels, value };
  }
  const b = o['b'];
  const counts = o['c'];
  const sum = o['s'];
  const count = o['k'];
  if (!Array.isArray(b) || !Array.isArray(counts) || b.length === 0 || b.length > L.maxBuckets || counts.length !== b.length + 1) return null;
  if (typeof sum !== 'number' || !Number.isFinite(sum) || typeof count !== 'number' || !Number.isInteger(count) || count < 0) return null;
  let total = 0;
  for (let i = 0; i < b.length; i++) {
    const x = b[i] as unknown;
    if (typeof x !== 'number' || !Number.isFinite(x) || (i > 0 && x <= (b[i - 1] as number))) return null;
  }
  for (const x of counts as unknown[]) {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) return null;
    total += x;
  }
  if (total !== count) return null;
  return { name, kind, labels, value: 0, bucketsLe: b as number[], bucketCounts: counts as number[], sum, count };
}

function readLabels(v: unknown): Record<string, string> | null {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) return null;
  const L = USER_METRIC_LIMITS;
  const keys = Object.keys(v);
  if (keys.length > L.maxLabels) return null;
  keys.sort();
  const out: Record<string, string> = {};
  for (const k of keys) {
    if (k.length > L.maxNameLength || !USER_METRIC_NAME.test(k) || k.startsWith('__') || RESERVED_LABELS.has(k)) return null;
    const value = (v as Record<string, unknown>)[k];
    if (typeof value !== 'string') return null;
    out[k] = value.length > L.maxLabelValueLength ? value.slice(0, L.maxLabelValueLength) : value;
  }
  return out;
}

/** Label names dspex sets itself (Prometheus `pool`, `worker_id`, `le`; `quantile`). */
const RESERVED_LABELS: ReadonlySet<string> = new Set(['pool', 'worker_id', 'le', 'quantile']);
