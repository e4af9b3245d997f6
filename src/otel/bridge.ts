/**
 * The OpenTelemetry bridge: subscribes to the dspex diagnostics channels and records through the
 * OpenTelemetry API (metrics and traces), for services that already run the OpenTelemetry SDK.
 *
 * How a span reaches Python without the pool knowing OpenTelemetry: the pool publishes `start`
 * on the `dspex:pool:operation` tracing channel synchronously inside `execute*`, in the caller's
 * async context, before the request is built. The bridge's `start` subscriber opens the span there
 * (so `context.active()` is the caller's: the span is its child) and writes the span's W3C
 * `traceparent` into the operation context; the pool copies `ctx.traceparent` into the request
 * frame. With no subscriber the pool builds no context at all (one `hasSubscribers` check).
 *
 * Hot path (one operation): a span start and end, two histogram records with cached attribute
 * objects (one per pool × command, one per pool × command × error type; no per-call allocation on
 * our side), one integer increment, and one Map set/delete keyed by the context. The SDK hashes
 * the attribute set on every record (about 1 µs each in SDK 2.x, most of the metrics cost), so
 * `dspex.operations` is an observable counter read from those increments when the SDK collects,
 * not a `Counter.add` per call. Gauges, too, are read only when the SDK collects.
 *
 * @module
 */
import {
  context as otelContext,
  metrics as otelMetrics,
  trace as otelTrace,
  SpanKind,
  SpanStatusCode,
  ValueType,
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type ObservableCounter,
  type ObservableGauge,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { operationChannel, subscribe, type OperationContext, type PoolErrorEvent, type ResourceSampleEvent } from '../telemetry/telemetry.js';
import { invalidOption, PythonBridgeError } from '../contract/errors.js';
import { numberOption } from '../contract/options.js';
import {
  ATTR,
  BoundedMap,
  DURATION_BUCKETS_S,
  formatTraceparent,
  OTEL_INSTRUMENTS,
  OVERFLOW_WORKER,
  SCOPE_NAME,
  statusMessage,
} from './names.js';

/** What the bridge reads of a pool given in `pools` (a `SessionPool` fits). */
export interface OtelPool {
  readonly name: string;
  status(): { size: number; busy: number; queueDepth: number; lifecycle?: string };
}

/** Options of {@link registerOpenTelemetry}. */
export interface OpenTelemetryOptions {
  /** Where metrics go. Default: the global one (`metrics.getMeterProvider()`); `null`: no metrics. */
  meterProvider?: MeterProvider | null;
  /** Where spans go. Default: the global one (`trace.getTracerProvider()`); `null`: no spans (and no traceparent). */
  tracerProvider?: TracerProvider | null;
  /**
   * Pools whose gauges (size, busy, queue depth) are read exactly from `status()` at each
   * collection. Without it the gauges are estimated from worker and queue events for every pool
   * heard from (which subscribes to the per-call checkout/checkin events too).
   */
  pools?: readonly OtelPool[];
  /** Distinct pools kept apart (default 32); more are recorded as `(other)`. */
  maxPools?: number;
  /** Distinct commands kept apart per pool (default 64, as our own metrics); more are `(other)`. */
  maxCommands?: number;
  /** Distinct error types kept apart per pool (default 64); more are `(other)`. */
  maxErrorTypes?: number;
  /** Worker ids kept apart in the memory gauge per pool (default 32); higher ids are summed under -1. */
  maxWorkerIds?: number;
}

/** What {@link registerOpenTelemetry} returns. */
export interface OpenTelemetryRegistration {
  /**
   * Unsubscribe from every channel and remove the gauge callback: nothing is recorded afterwards.
   * Spans of calls still in flight are dropped unended (never exported). Idempotent.
   */
  stop(): void;
}

/** A resource sample older than this is not reported (the monitor stopped): 2 minutes. */
const RSS_MAX_AGE_MS = 120_000;

/** An attribute set and the operations finished under it (read by the `dspex.operations` callback). */
interface Counted {
  readonly attrs: Attributes;
  count: number;
}

/** Cached attribute sets of one command of one pool. */
interface CommandAttrs {
  /** `{dspex.pool, dspex.command}`: successes, queue waits. */
  readonly ok: Counted;
  /** Per `category:type`: the failure attributes (with `error.type`). */
  readonly failed: BoundedMap<Counted>;
}

/** What the bridge keeps per pool. */
interface PoolEntry {
  readonly label: string;
  readonly attrs: Attributes;
  readonly commands: BoundedMap<CommandAttrs>;
  /** `dspex:pool:error` attributes per `command \0 category:type` (command may be empty). */
  readonly errors: BoundedMap<Attributes>;
  /** Event estimates (used when the pool is not in `pools`). */
  size: number;
  busy: number;
  queueDepth: number;
  /** False once the pool stopped: its estimated gauges are no longer reported. */
  live: boolean;
}

const where = 'registerOpenTelemetry';

/**
 * Record dspex's pool operations, errors and gauges as OpenTelemetry metrics, and each operation
 * as a span (`dspex.execute <command>`, a child of the active context) whose `traceparent` is sent
 * to Python with the request. See docs/MONITORING_GUIDE.md ("OpenTelemetry") for every name.
 *
 * Costs nothing until called; `stop()` removes every subscription again.
 */
export function registerOpenTelemetry(options: OpenTelemetryOptions = {}): OpenTelemetryRegistration {
  if (typeof options !== 'object' || options === null) throw invalidOption(where, 'options', 'must be an object');
  const bridge = new OtelBridge(options);
  bridge.start();
  return { stop: () => bridge.stop() };
}

/** The state and subscriptions behind one {@link registerOpenTelemetry} call. */
class OtelBridge {
  private readonly tracer: Tracer | null;
  private readonly meter: Meter | null;
  private readonly pools: readonly OtelPool[] | null;
  private readonly maxCommands: number;
  private readonly maxErrorTypes: number;
  private readonly maxWorkerIds: number;
  private readonly entries: BoundedMap<PoolEntry>;
  /** Spans of operations in flight (bounded by the pools' in-flight and queued calls). */
  private readonly spans = new Map<OperationContext, Span>();
  private readonly offs: (() => void)[] = [];
  private lastPool: string | null = null;
  private lastEntry: PoolEntry | null = null;
  private lastSample: ResourceSampleEvent['sample'] | null = null;
  private running = false;

  private duration: Histogram | null = null;
  private queueWait: Histogram | null = null;
  private errorCount: Counter | null = null;
  private observables: { operations: ObservableCounter; size: ObservableGauge; busy: ObservableGauge; depth: ObservableGauge; memory: ObservableGauge } | null = null;
  private batchCallback: BatchObservableCallback | null = null;

  constructor(o: OpenTelemetryOptions) {
    const tp = checkProvider('tracerProvider', o.tracerProvider, 'getTracer');
    const mp = checkProvider('meterProvider', o.meterProvider, 'getMeter');
    this.tracer = tp === null ? null : (tp ?? otelTrace.getTracerProvider()).getTracer(SCOPE_NAME);
    this.meter = mp === null ? null : (mp ?? otelMetrics.getMeterProvider()).getMeter(SCOPE_NAME);
    if (o.pools !== undefined) {
      if (!Array.isArray(o.pools)) throw invalidOption(where, 'pools', 'must be an array of pools');
      o.pools.forEach((p: unknown, i) => {
        const ok = typeof p === 'object' && p !== null && typeof (p as OtelPool).name === 'string' && typeof (p as OtelPool).status === 'function';
        if (!ok) throw invalidOption(where, `pools[${i}]`, 'must be a pool (a name and a status() method)');
      });
    }
    this.pools = o.pools ?? null;
    const maxPools = numberOption(where, 'maxPools', o.maxPools, 32, { min: 1, max: 10_000 });
    this.maxCommands = numberOption(where, 'maxCommands', o.maxCommands, 64, { min: 1, max: 100_000 });
    this.maxErrorTypes = numberOption(where, 'maxErrorTypes', o.maxErrorTypes, 64, { min: 1, max: 100_000 });
    this.maxWorkerIds = numberOption(where, 'maxWorkerIds', o.maxWorkerIds, 32, { min: 1, max: 100_000 });
    this.entries = new BoundedMap(maxPools, (label) => this.newEntry(label));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const ch = operationChannel;
    if (this.tracer !== null) this.on(ch.start, this.onStart);
    if (this.tracer !== null || this.meter !== null) {
      this.on(ch.end, this.onEnd);
      this.on(ch.asyncEnd, this.onAsyncEnd);
    }
    if (this.meter !== null) this.startMetrics(this.meter);
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const off of this.offs.splice(0)) off();
    if (this.meter !== null && this.observables !== null && this.batchCallback !== null) {
      this.meter.removeBatchObservableCallback(this.batchCallback, Object.values(this.observables));
    }
    this.spans.clear();
    this.lastSample = null;
  }

  // -------------------------------------------------------------------------------------------
  // Operations: spans and the per-call metrics
  // -------------------------------------------------------------------------------------------

  private readonly onStart = (message: unknown): void => {
    const ctx = message as OperationContext;
    const tracer = this.tracer!;
    // A subscriber must not throw (Node re-throws it as an uncaught exception): a misbehaving
    // tracer costs the span, never the call.
    try {
      const attributes: Attributes = { [ATTR.pool]: ctx.pool, [ATTR.command]: ctx.command };
      if (ctx.sessionId !== null) attributes[ATTR.sessionId] = ctx.sessionId;
      const span = tracer.startSpan('dspex.execute ' + ctx.command, { kind: SpanKind.CLIENT, attributes }, otelContext.active());
      this.spans.set(ctx, span);
      const tp = formatTraceparent(span.spanContext());
      if (tp !== undefined) ctx.traceparent = tp;
    } catch {
      // nothing recorded for this call's span
    }
  };

  private readonly onEnd = (message: unknown): void => {
    const ctx = message as OperationContext;
    // A synchronous throw: no asyncEnd follows. (For async calls `error` is unset at `end`.)
    if (ctx.error !== undefined) this.finish(ctx);
  };

  private readonly onAsyncEnd = (message: unknown): void => {
    this.finish(message as OperationContext);
  };

  private finish(ctx: OperationContext): void {
    const err = ctx.error;
    const failed = err !== undefined;
    const category = failed ? errorCategory(err) : '';
    const type = failed ? errorType(err) : '';
    if (this.meter !== null) {
      const entry = this.entry(ctx.pool);
      const cmd = entry.commands.get(ctx.command);
      const counted = failed ? cmd.failed.get(category + ':' + type) : cmd.ok;
      counted.count++;
      this.duration!.record(ctx.durationNs / 1e9, counted.attrs);
      this.queueWait!.record(ctx.queueWaitNs / 1e9, cmd.ok.attrs);
    }
    const span = this.spans.get(ctx);
    if (span === undefined) return;
    this.spans.delete(ctx);
    try {
      if (ctx.workerId >= 0) {
        span.setAttribute(ATTR.workerId, ctx.workerId);
        span.setAttribute(ATTR.workerPid, ctx.pid);
      }
      span.setAttribute(ATTR.queueWait, ctx.queueWaitNs / 1e9);
      if (failed) {
        span.setAttribute(ATTR.errorType, type);
        span.setAttribute(ATTR.errorCategory, category);
        span.setStatus({ code: SpanStatusCode.ERROR, message: statusMessage(errorMessage(err)) });
      }
      span.end();
    } catch {
      // see onStart
    }
  }

  // -------------------------------------------------------------------------------------------
  // Metrics
  // -------------------------------------------------------------------------------------------

  private startMetrics(meter: Meter): void {
    const I = OTEL_INSTRUMENTS;
    const advice = { explicitBucketBoundaries: [...DURATION_BUCKETS_S] };
    this.duration = meter.createHistogram(I.operationDuration.name, { unit: I.operationDuration.unit, description: I.operationDuration.description, advice });
    this.queueWait = meter.createHistogram(I.queueWaitTime.name, { unit: I.queueWaitTime.unit, description: I.queueWaitTime.description, advice });
    this.errorCount = meter.createCounter(I.errors.name, { unit: I.errors.unit, description: I.errors.description, valueType: ValueType.INT });
    const gauge = (d: { name: string; unit: string; description: string }): ObservableGauge =>
      meter.createObservableGauge(d.name, { unit: d.unit, description: d.description, valueType: ValueType.INT });
    const operations = meter.createObservableCounter(I.operations.name, { unit: I.operations.unit, description: I.operations.description, valueType: ValueType.INT });
    const g = { operations, size: gauge(I.poolSize), busy: gauge(I.poolBusy), depth: gauge(I.queueDepth), memory: gauge(I.workerMemory) };
    this.observables = g;
    this.batchCallback = (result) => {
      if (!this.running) return;
      for (const e of this.entries.values()) {
        for (const cmd of e.commands.values()) {
          if (cmd.ok.count > 0) result.observe(operations, cmd.ok.count, cmd.ok.attrs);
          for (const f of cmd.failed.values()) result.observe(operations, f.count, f.attrs);
        }
      }
      if (this.pools !== null) {
        for (const pool of this.pools) {
          let st: ReturnType<OtelPool['status']>;
          try {
            st = pool.status();
          } catch {
            continue; // a failing pool must not break the collection of the others
          }
          if (st.lifecycle === 'stopped') continue;
          const attrs = this.entry(pool.name).attrs;
          result.observe(g.size, st.size, attrs);
          result.observe(g.busy, st.busy, attrs);
          result.observe(g.depth, st.queueDepth, attrs);
        }
      } else {
        for (const e of this.entries.values()) {
          if (!e.live) continue;
          result.observe(g.size, e.size, e.attrs);
          result.observe(g.busy, e.busy, e.attrs);
          result.observe(g.depth, e.queueDepth, e.attrs);
        }
      }
      this.observeMemory(result, g.memory);
    };
    meter.addBatchObservableCallback(this.batchCallback, Object.values(g));

    this.offs.push(
      subscribe('dspex:pool:error', this.onError),
      subscribe('dspex:resource:sample', (e) => {
        this.lastSample = e.sample;
      }),
    );
    if (this.pools !== null) return;
    // Event estimates of the gauges, for pools not given in `pools`.
    this.offs.push(
      subscribe('dspex:pool:init', (e) => {
        const p = this.entry(e.pool);
        p.live = true;
        p.size = e.ready;
      }),
      subscribe('dspex:worker:init', (e) => {
        const p = this.entry(e.pool);
        // Start-up workers are counted by pool:init (they come before it); later ones here.
        if (e.reason !== 'initial') p.size++;
      }),
      subscribe('dspex:worker:terminate', (e) => {
        const p = this.entry(e.pool);
        if (e.reason !== 'start_failed' && p.size > 0) p.size--;
      }),
      subscribe('dspex:worker:checkout', (e) => {
        this.entry(e.pool).busy++;
      }),
      subscribe('dspex:worker:checkin', (e) => {
        const p = this.entry(e.pool);
        if (p.busy > 0) p.busy--;
      }),
      subscribe('dspex:pool:queue:depth', (e) => {
        this.entry(e.pool).queueDepth = e.queueDepth;
      }),
      subscribe('dspex:pool:terminate', (e) => {
        const p = this.entry(e.pool);
        p.live = false;
        p.size = p.busy = p.queueDepth = 0;
      }),
    );
  }

  private readonly onError = (e: PoolErrorEvent): void => {
    const entry = this.entry(e.pool);
    const type = typeof e.type === 'string' ? e.type : 'unknown';
    this.errorCount!.add(1, entry.errors.get((e.command ?? '') + '\0' + e.category + ':' + type));
  };

  /** The RSS of each worker of the latest resource sample, per pool and worker id (bounded). */
  private observeMemory(result: Parameters<BatchObservableCallback>[0], gauge: ObservableGauge): void {
    const sample = this.lastSample;
    if (sample === null || Date.now() - sample.timestampMs > RSS_MAX_AGE_MS) return;
    // Summed per (pool, worker id): the overflow id sums the slots beyond the cap.
    const sums = new Map<PoolEntry, Map<number, number>>();
    for (const p of sample.python) {
      if (p.pool === null || p.workerId === null) continue;
      const entry = this.entry(p.pool);
      let byWorker = sums.get(entry);
      if (byWorker === undefined) sums.set(entry, (byWorker = new Map<number, number>()));
      const id = p.workerId >= 0 && p.workerId < this.maxWorkerIds ? p.workerId : OVERFLOW_WORKER;
      byWorker.set(id, (byWorker.get(id) ?? 0) + p.rssBytes);
    }
    for (const [entry, byWorker] of sums) {
      for (const [id, bytes] of byWorker) result.observe(gauge, bytes, { [ATTR.pool]: entry.label, [ATTR.workerId]: id });
    }
  }

  // -------------------------------------------------------------------------------------------

  private on(channel: { subscribe(fn: (message: unknown) => void): void; unsubscribe(fn: (message: unknown) => void): unknown }, fn: (message: unknown) => void): void {
    channel.subscribe(fn);
    this.offs.push(() => channel.unsubscribe(fn));
  }

  private entry(pool: string): PoolEntry {
    if (pool === this.lastPool && this.lastEntry !== null) return this.lastEntry;
    const e = this.entries.get(typeof pool === 'string' ? pool : String(pool));
    this.lastPool = pool;
    this.lastEntry = e;
    return e;
  }

  private newEntry(label: string): PoolEntry {
    const attrs: Attributes = { [ATTR.pool]: label };
    return {
      label,
      attrs,
      commands: new BoundedMap<CommandAttrs>(this.maxCommands, (command) => {
        const ok: Attributes = { [ATTR.pool]: label, [ATTR.command]: command };
        return {
          ok: { attrs: ok, count: 0 },
          failed: new BoundedMap<Counted>(this.maxErrorTypes, (key) => ({ attrs: errorAttrs(ok, key), count: 0 })),
        };
      }),
      errors: new BoundedMap<Attributes>(this.maxErrorTypes * 4, (key) => {
        const nul = key.indexOf('\0');
        const command = nul === -1 ? '' : key.slice(0, nul);
        const base: Attributes = command === '' ? { [ATTR.pool]: label } : { [ATTR.pool]: label, [ATTR.command]: command };
        return errorAttrs(base, nul === -1 ? key : key.slice(nul + 1));
      }),
      size: 0,
      busy: 0,
      queueDepth: 0,
      live: true,
    };
  }
}

/** `base` plus the error attributes of a `category:type` key (the overflow key has no category). */
function errorAttrs(base: Attributes, key: string): Attributes {
  const colon = key.indexOf(':');
  if (colon === -1) return { ...base, [ATTR.errorType]: key };
  return { ...base, [ATTR.errorType]: key.slice(colon + 1), [ATTR.errorCategory]: key.slice(0, colon) };
}

function errorCategory(err: unknown): string {
  return err instanceof PythonBridgeError ? err.category : 'unknown';
}

function errorType(err: unknown): string {
  if (err instanceof PythonBridgeError) return err.type;
  return err instanceof Error ? err.name : 'unknown';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The provider option: undefined (use the global), null (off), or an object with `method`. */
function checkProvider<T>(option: string, value: T | null | undefined, method: string): T | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'object' || typeof (value as Record<string, unknown>)[method] !== 'function') {
    throw invalidOption(where, option, `must be an OpenTelemetry ${option === 'meterProvider' ? 'MeterProvider' : 'TracerProvider'} (with ${method}()), or null`);
  }
  return value;
}
