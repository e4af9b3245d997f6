/**
 * The names the OpenTelemetry bridge records under, and the pure helpers it uses: the W3C
 * `traceparent` of a span context, and the bounded label sets (the same caps and overflow value
 * as our own metrics, so a caller sending a million command names makes one `(other)` series, not
 * a million). Pure: no OpenTelemetry import, no state beyond the bounded sets' own.
 *
 * Naming follows OpenTelemetry's semantic-convention style: dotted lower-case names in the
 * `dspex.` namespace, durations as histograms in seconds (unit `s`), counts of events as
 * counters with `{annotation}` units, the standard `error.type` attribute for failures. The pool
 * metrics mirror the database connection-pool conventions (`db.client.connection.wait_time`).
 *
 * @module
 */
import { OVERFLOW_NAME } from '../contract/metrics.js';

/** The instrumentation scope name (the meter's and the tracer's). */
export const SCOPE_NAME = 'dspex';

/** Every instrument the bridge creates: name, kind, unit, description. */
export const OTEL_INSTRUMENTS = {
  operationDuration: {
    name: 'dspex.operation.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Duration of pool operations (execute* calls), from the call to its settlement, queue wait included.',
  },
  queueWaitTime: {
    name: 'dspex.queue.wait_time',
    kind: 'histogram',
    unit: 's',
    description: 'Time pool operations waited for a worker (0 when one was idle).',
  },
  operations: { name: 'dspex.operations', kind: 'counter', unit: '{operation}', description: 'Pool operations finished (succeeded or failed).' },
  errors: {
    name: 'dspex.errors',
    kind: 'counter',
    unit: '{error}',
    description: "Errors published on dspex:pool:error: every error a call rejected with, and failures of the pool's own work.",
  },
  poolSize: { name: 'dspex.pool.size', kind: 'gauge', unit: '{worker}', description: 'Workers of the pool (its target size when the pool is given in `pools`; else live workers).' },
  poolBusy: { name: 'dspex.pool.busy', kind: 'gauge', unit: '{worker}', description: 'Workers busy with a call.' },
  queueDepth: { name: 'dspex.queue.depth', kind: 'gauge', unit: '{operation}', description: 'Calls waiting for a worker.' },
  workerMemory: {
    name: 'dspex.worker.memory.usage',
    kind: 'gauge',
    unit: 'By',
    description: "Resident memory (RSS) of each Python worker process, from the resource monitor's latest sample.",
  },
} as const;

/** Attribute keys (on metrics and spans). */
export const ATTR = {
  pool: 'dspex.pool',
  command: 'dspex.command',
  errorType: 'error.type',
  errorCategory: 'dspex.error.category',
  sessionId: 'dspex.session.id',
  workerId: 'dspex.worker.id',
  workerPid: 'dspex.worker.pid',
  queueWait: 'dspex.queue.wait_time',
} as const;

/** The value every label beyond its cap is recorded under (the same as our own metrics'). */
export const OTEL_OVERFLOW = OVERFLOW_NAME;

/** The worker id label of worker slots beyond the cap (the contract's `OVERFLOW_WORKER_ID`). */
export const OVERFLOW_WORKER = -1;

/** Bucket bounds of the duration histograms, seconds: 100 µs to 60 s, as our Prometheus histograms. */
export const DURATION_BUCKETS_S: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60,
];

/** Longest label value kept (longer names are cut, as our metrics cut them). */
export const MAX_LABEL_LENGTH = 128;

/** Longest span status message: the first line of the error message, cut. */
export const MAX_STATUS_MESSAGE = 256;

/** The fields of a span context a traceparent is made of (the OpenTelemetry `SpanContext` fits). */
export interface TraceIds {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZEROS = /^0+$/;

/**
 * The W3C `traceparent` (version 00) of a span context, or undefined when its ids are not valid
 * (a no-op tracer's all-zero context): nothing is sent to Python then. Pure.
 */
export function formatTraceparent(ids: TraceIds): string | undefined {
  const { traceId, spanId } = ids;
  if (!HEX32.test(traceId) || !HEX16.test(spanId) || ZEROS.test(traceId) || ZEROS.test(spanId)) return undefined;
  return '00-' + traceId + '-' + spanId + ((ids.traceFlags & 1) === 1 ? '-01' : '-00');
}

/** The parts of a W3C `traceparent`, or null when it is not one (version ff, zero ids, bad hex). Pure. */
export function parseTraceparent(value: string): { traceId: string; spanId: string; sampled: boolean } | null {
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value);
  if (m === null || m[1] === 'ff' || ZEROS.test(m[2]!) || ZEROS.test(m[3]!)) return null;
  return { traceId: m[2]!, spanId: m[3]!, sampled: (parseInt(m[4]!, 16) & 1) === 1 };
}

/** A label value cut to {@link MAX_LABEL_LENGTH}. Pure. */
export function cutLabel(value: string): string {
  return value.length > MAX_LABEL_LENGTH ? value.slice(0, MAX_LABEL_LENGTH) : value;
}

/** The first line of an error message, cut to {@link MAX_STATUS_MESSAGE} (a crash message carries stderr below it). Pure. */
export function statusMessage(message: string): string {
  const nl = message.indexOf('\n');
  const line = nl === -1 ? message : message.slice(0, nl);
  return line.length > MAX_STATUS_MESSAGE ? line.slice(0, MAX_STATUS_MESSAGE - 1) + '…' : line;
}

/**
 * A map from label values to what the bridge keeps per value (cached attribute objects), holding
 * at most `cap` distinct values: a value first seen beyond the cap maps to the entry of
 * {@link OTEL_OVERFLOW}. Values are cut to {@link MAX_LABEL_LENGTH} before they are keyed.
 */
export class BoundedMap<V> {
  private readonly entries = new Map<string, V>();

  constructor(
    private readonly cap: number,
    private readonly make: (label: string) => V,
  ) {}

  /** The entry of `value` (created on first sight), or the overflow entry beyond the cap. */
  get(value: string): V {
    let e = this.entries.get(value);
    if (e !== undefined) return e;
    let label = cutLabel(value);
    e = this.entries.get(label);
    if (e !== undefined) return e;
    // The overflow entry itself does not count against the cap.
    if (this.entries.size >= this.cap) label = OTEL_OVERFLOW;
    e = this.entries.get(label);
    if (e === undefined) {
      e = this.make(label);
      this.entries.set(label, e);
    }
    return e;
  }

  /** Distinct values kept (the overflow entry included once it exists). */
  get size(): number {
    return this.entries.size;
  }

  /** Every entry, in insertion order. */
  values(): IterableIterator<V> {
    return this.entries.values();
  }
}
