/**
 * The telemetry catalog: every `node:diagnostics_channel` channel dspex publishes, its group and
 * its payload, declared once in {@link telemetryCatalog}. Every other per-channel table (the
 * payload map, the names list, the channel objects, the group list, the masks, the option schema's
 * group enum) is computed from it.
 *
 * Anyone can subscribe without importing dspex:
 *
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.subscribe('dspex:worker:terminate', (msg) => console.log(msg));
 * diagnostics_channel.tracingChannel('dspex:pool:operation').subscribe({
 *   asyncEnd(ctx) { console.log(ctx.command, ctx.durationNs); },
 *   error(ctx) { console.log(ctx.error.category); },
 * });
 * ```
 *
 * Costs: an unobserved channel costs one `hasSubscribers` check; payloads are built only when a
 * channel has subscribers (see the `bench telemetry` figures in docs/PERFORMANCE.md).
 *
 * Throwing subscribers: Node catches an exception thrown by a subscriber, still calls the other
 * subscribers, and re-throws it on `process.nextTick` as an uncaught exception. The pool is not
 * disturbed (its state was already updated before publishing), but the process-level
 * `uncaughtException` still fires: a subscriber must not throw. Tested in test/telemetry.
 *
 * @module
 */
import type { ErrorCategory } from '../contract/errors.js';
import type { ResourceSample } from '../contract/resources.js';
import type { UserMetricChange } from '../contract/inside-python.js';
import type { TuningRecord } from '../contract/advice.js';
import type { AlertNotification, AlertTransition } from '../contract/alerts.js';

// ---------------------------------------------------------------------------------------------
// Payload types
// ---------------------------------------------------------------------------------------------

/** Fields every pool event carries. */
export interface PoolEventBase {
  /** The pool's name (unique per process by convention; metrics are keyed by it). */
  pool: string;
  /** Wall-clock time of the event, milliseconds since the epoch. */
  timestampMs: number;
}

/** Fields of events about one worker. */
export interface WorkerEventBase extends PoolEventBase {
  /** The worker slot, 0..maxSize-1. A replacement takes over the slot of the worker it replaces. */
  workerId: number;
  /** The Python process id (0 when the process never started). */
  pid: number;
  /** How many processes this slot has had before the current one (0 for the first). */
  generation: number;
}

/** `dspex:pool:init`: the pool is ready (all initial workers started, or the pool gave up on some). */
export interface PoolInitEvent extends PoolEventBase {
  /** The target size the pool started with. */
  size: number;
  /** Lower bound for `resize()`. */
  minSize: number;
  /** Upper bound for `resize()`. */
  maxSize: number;
  /** Workers that are ready. */
  ready: number;
  /** Time from `start()` to ready, in nanoseconds. */
  startDurationNs: number;
}

/** `dspex:pool:terminate`: the pool stopped. */
export interface PoolTerminateEvent extends PoolEventBase {
  /** How long the pool ran, in milliseconds. */
  uptimeMs: number;
  /** Calls that were rejected by the stop (in flight or queued). */
  rejected: number;
  /** Time the stop took, in nanoseconds. */
  stopDurationNs: number;
}

/** Why a worker was started. */
export type WorkerStartReason = 'initial' | 'replacement' | 'resize' | 'recycle';

/** `dspex:worker:init`: a Python process is ready to serve. */
export interface WorkerInitEvent extends WorkerEventBase {
  /** Why the worker was started. */
  reason: WorkerStartReason;
  /** Time from spawn to the ready frame, in nanoseconds. */
  startDurationNs: number;
}

/** Why a worker ended. `crash`: the process exited on its own; all others were the pool's decision. */
export type WorkerTerminateReason =
  | 'crash'
  | 'stop'
  | 'timeout'
  | 'aborted'
  | 'health_check'
  | 'resize'
  | 'protocol_error'
  | 'start_failed'
  | 'recycle';

/** `dspex:worker:terminate`: a Python process ended. */
export interface WorkerTerminateEvent extends WorkerEventBase {
  /** Why the process ended. */
  reason: WorkerTerminateReason;
  /** Exit code, or null when killed by a signal. */
  exitCode: number | null;
  /** The signal that ended it, or null. */
  signal: string | null;
  /** How long the process lived, in milliseconds. */
  uptimeMs: number;
  /** Operations the process served. */
  operations: number;
}

/** `dspex:worker:checkout`: a call got a worker. */
export interface WorkerCheckoutEvent extends WorkerEventBase {
  /** The command of the call. */
  command: string;
  /** The call's session, or null for an anonymous call. */
  sessionId: string | null;
  /** Time the call waited in the queue for a worker, in nanoseconds (0 when one was idle). */
  queueWaitNs: number;
  /** Calls still waiting after this checkout. */
  queueDepth: number;
  /** True when the session's previous worker served it again. */
  affinityHit: boolean;
  /**
   * True when the session had a worker and another one serves it now (affinity `'prefer'` only:
   * its worker was busy with a user call, or gone): its Python-side state was left behind.
   */
  sessionMoved: boolean;
}

/** How a checked-out worker came back. */
export type CheckinResult = 'ok' | 'python_error' | 'failed';

/** `dspex:worker:checkin`: a worker finished a call. */
export interface WorkerCheckinEvent extends WorkerEventBase {
  /** The command of the call. */
  command: string;
  /** The call's session, or null for an anonymous call. */
  sessionId: string | null;
  /**
   * `ok`, `python_error` (Python raised; the worker is fine) or `failed` (the call failed
   * otherwise: the worker crashed, broke the protocol or was killed, or the caller abandoned the
   * call, whose checkin then comes once the worker has finished it or was killed).
   */
  result: CheckinResult;
  /** Time the worker was busy with the call, in nanoseconds. */
  busyNs: number;
}

/** `dspex:worker:health_check`: a ping of an idle worker finished. */
export interface WorkerHealthCheckEvent extends WorkerEventBase {
  /** True when the worker answered in time. */
  ok: boolean;
  /** Time the ping took (or waited before timing out), in nanoseconds. */
  durationNs: number;
  /** Failures in a row, including this one (0 when ok). */
  consecutiveFailures: number;
}

/** `dspex:pool:queue:depth`: the number of waiting calls changed. */
export interface QueueDepthEvent extends PoolEventBase {
  /** Calls waiting for a worker now. */
  queueDepth: number;
  /** The pool's `maxQueue` option. */
  maxQueue: number;
}

/** `dspex:pool:queue:rejected`: a call was refused because the queue was full. */
export interface QueueRejectedEvent extends PoolEventBase {
  /** The command of the refused call. */
  command: string;
  /** The refused call's session, or null for an anonymous call. */
  sessionId: string | null;
  /** Calls waiting when it was refused. */
  queueDepth: number;
  /** The pool's `maxQueue` option. */
  maxQueue: number;
}

/** `dspex:pool:error`: any error a call rejected with, and failures of the pool's own work. */
export interface PoolErrorEvent extends PoolEventBase {
  /** The error's category (`PythonBridgeError.category`). */
  category: ErrorCategory;
  /** The error's type within its category (`PythonBridgeError.type`, the exception class for `python`). */
  type: string;
  /** The error message. */
  message: string;
  /** The worker slot involved, or null. */
  workerId: number | null;
  /** The Python pid involved, or null. */
  pid: number | null;
  /** The command of the failed call, or null for the pool's own work. */
  command: string | null;
  /** The failed call's session, or null. */
  sessionId: string | null;
}

/** `dspex:pool:recovery`: a failed worker was replaced by one that serves. */
export interface RecoveryEvent extends WorkerEventBase {
  /** What was recovered from. */
  failure: WorkerTerminateReason;
  /** The pid of the process that failed. */
  failedPid: number;
  /** Time from noticing the failure to the replacement being ready, in nanoseconds. */
  recoveryNs: number;
}

/** `dspex:pool:resize`: the target size changed. */
export interface ResizeEvent extends PoolEventBase {
  /** The previous target size. */
  from: number;
  /** The new target size. */
  to: number;
  /** Who asked: `manual` (`resize()`), `auto_tune`, … */
  reason: string;
}

/**
 * `dspex:worker:recycle`: a worker is being recycled (a planned restart). Published once its
 * replacement is ready and the old process has been retired: it finishes its current call (if
 * any), then exits with reason `recycle`, and the replacement takes its slot. The worker fields are
 * the old process's.
 */
export interface WorkerRecycleEvent extends WorkerEventBase {
  /**
   * Why: `max_calls` (`maxCallsPerWorker`), `max_rss` (`maxWorkerRssBytes`), `manual` (the default
   * of `recycleWorker()`), or the reason its caller gave (`auto_tune`, ...).
   */
  reason: string;
  /** Operations the old process served. */
  operations: number;
  /** The old process's resident memory when the recycle was decided, bytes; null when not read. */
  rssBytes: number | null;
  /** The pid of the process that takes over the slot. */
  replacementPid: number;
}

/** One option changed by `configure()`. */
export interface OptionChange {
  option: string;
  from: number;
  to: number;
}

/** `dspex:pool:configure`: options were changed at run time (`pool.configure()`). */
export interface PoolConfigureEvent extends PoolEventBase {
  /** The options whose values changed (options given with their current value are not listed). */
  changes: OptionChange[];
  /** Who asked: `manual` (the default), `auto_tune`, `rollback`, … */
  reason: string;
}

/** `dspex:advisor:tuning`: the auto-tuner applied, validated or rolled back a change. */
export interface TuningEvent extends PoolEventBase {
  /** The tuning history entry, as it stands after this step. */
  record: TuningRecord;
}

/**
 * `dspex:alert:pending`, `dspex:alert:firing`, `dspex:alert:resolved`: an alert (one fingerprint)
 * changed state at an evaluation of the AlertManager. Also published for `pending → inactive`
 * (on `dspex:alert:pending`, with `to: 'inactive'`).
 */
export type AlertTransitionEvent = AlertTransition;

/** `dspex:alert:notification`: the AlertManager handed a notification to its channels. */
export interface AlertNotificationEvent {
  /** When it was dispatched, ms since the epoch. */
  timestampMs: number;
  notification: AlertNotification;
  /** The channels' display names it was handed to (never a secret). */
  channels: string[];
}

/** `dspex:session:expire`: a session idle beyond `sessionTtlMs` was dropped. */
export interface SessionExpireEvent extends PoolEventBase {
  /** The dropped session. */
  sessionId: string;
  /** How long it had been idle, in milliseconds. */
  idleMs: number;
  /** Calls the session made. */
  operations: number;
}

/**
 * `dspex:python:metrics`: metrics recorded by Python code through `import dspex` (issue 19), as
 * one worker reported them with a reply or in a periodic frame during a long call. Counter and
 * histogram changes are deltas since that process's previous report (add them up; a process that
 * dies loses what it had not reported, and nothing is reported twice); a gauge change is the value
 * now. Published only while someone subscribes: without a subscriber the reports are dropped.
 */
export interface PythonMetricsEvent extends WorkerEventBase {
  /** The valid changes, in the order Python sent them. */
  changes: UserMetricChange[];
  /** Entries of the report that were malformed or beyond the caps, and were dropped. */
  droppedChanges: number;
}

/** `dspex:resource:sample`: one sample of the resource monitor. */
export interface ResourceSampleEvent {
  /** The sample (`{ timestampMs, node, system, python[], vanished[], warnings[] }`). */
  sample: ResourceSample;
}

/**
 * The context object of the `dspex:pool:operation` tracing channel. The same object is passed to
 * `start`, `end`, `asyncStart`, `asyncEnd` and `error`; fields fill in as the call progresses.
 */
export interface OperationContext {
  /** The pool's name. */
  pool: string;
  /** The command of the call. */
  command: string;
  /** The call's session, or null for an anonymous call. */
  sessionId: string | null;
  /** The worker slot that served the call; -1 until a worker was checked out. */
  workerId: number;
  /** The Python pid that served the call; 0 until checked out. */
  pid: number;
  /** Wall-clock start, milliseconds since the epoch. */
  timestampMs: number;
  /** Time spent waiting for a worker, in nanoseconds (set at checkout). */
  queueWaitNs: number;
  /** Total time of the call from `execute*` to settlement, in nanoseconds (set before asyncStart/error). */
  durationNs: number;
  /**
   * The handler's own execution time in Python (`time.perf_counter_ns` around the function,
   * returned in the reply), in nanoseconds; null when no reply carried one (the call never reached
   * Python, timed out, crashed, or the pool has `pythonTiming: false`). Set when the reply arrives;
   * always present (null first) on contexts the pool publishes, optional for hand-built ones.
   */
  pythonNs?: number | null;
  /**
   * The bridge's share: `durationNs − queueWaitNs − pythonNs` (JSON both ways, framing, pipes,
   * process scheduling, promise settlement), in nanoseconds, at least 0; null when `pythonNs` is.
   * Set with `durationNs`. Queue wait, bridge and Python add up to `durationNs`.
   */
  bridgeNs?: number | null;
  /**
   * A W3C `traceparent` (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`) for the call,
   * written by a `start` subscriber (the OpenTelemetry bridge, `dspex/otel`) while the call
   * begins; the pool sends it to Python in the request frame (docs/PROTOCOL.md). The pool starts
   * every context with `undefined` and never reads it when nobody subscribes.
   */
  traceparent?: string | undefined;
  /** The result, on success (set by Node). */
  result?: unknown;
  /** The PythonBridgeError, on failure (set by Node). */
  error?: unknown;
}

// ---------------------------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------------------------

/**
 * The `payload` of a catalog entry. It exists for its type, which names what the channel
 * publishes (see {@link TelemetryEventMap}); the value is always `undefined`.
 */
const typeOnly = <P>(): P | undefined => undefined;

/** The shape every catalog entry satisfies. */
interface CatalogEntry {
  /** The group that switches the channel off (`telemetry.disabled`). */
  readonly group: string;
  /** Present on tracing channels (`diagnostics_channel.tracingChannel`). */
  readonly tracing?: true;
  /** Type-only: the message type (the context object, for a tracing channel). */
  readonly payload: unknown;
}

/** The tracing channel of pool operations (start / end / asyncStart / asyncEnd / error). */
export const OPERATION_CHANNEL = 'dspex:pool:operation';

/**
 * Every channel dspex publishes: its group and (in the type) its payload. This is the one place a
 * channel is declared; the order is the documented order (docs/MONITORING_GUIDE.md), grouped, and
 * sets the order of {@link telemetryGroups}.
 */
export const telemetryCatalog = {
  /** Published when `start()` finished: every initial worker is ready, or the pool gave up on some. */
  'dspex:pool:init': { group: 'pool', payload: typeOnly<PoolInitEvent>() },
  /** Published when `stop()` finished. */
  'dspex:pool:terminate': { group: 'pool', payload: typeOnly<PoolTerminateEvent>() },
  /** Published when the target size changed (`resize()`, or a tuner). */
  'dspex:pool:resize': { group: 'pool', payload: typeOnly<ResizeEvent>() },
  /** Published when options changed at run time (`configure()`, or a tuner). */
  'dspex:pool:configure': { group: 'pool', payload: typeOnly<PoolConfigureEvent>() },
  /** Published when a failed worker's replacement is ready; the worker fields are the replacement's. */
  'dspex:pool:recovery': { group: 'pool', payload: typeOnly<RecoveryEvent>() },
  /** Published when a Python process is ready to serve. */
  'dspex:worker:init': { group: 'worker', payload: typeOnly<WorkerInitEvent>() },
  /** Published when a Python process ended, on its own (`crash`) or by the pool's decision. */
  'dspex:worker:terminate': { group: 'worker', payload: typeOnly<WorkerTerminateEvent>() },
  /** Published when a worker is recycled: its replacement is ready and the old process retires after its current call. */
  'dspex:worker:recycle': { group: 'worker', payload: typeOnly<WorkerRecycleEvent>() },
  /** Published when a call got a worker: once per call, the hottest channel. */
  'dspex:worker:checkout': { group: 'worker', payload: typeOnly<WorkerCheckoutEvent>() },
  /** Published when a worker finished a call. */
  'dspex:worker:checkin': { group: 'worker', payload: typeOnly<WorkerCheckinEvent>() },
  /** Published when a health-check ping of an idle worker finished or timed out. */
  'dspex:worker:health_check': { group: 'worker', payload: typeOnly<WorkerHealthCheckEvent>() },
  /**
   * The tracing channel of every `execute*` call: `start` when the call begins, `end` when the
   * pool's synchronous part returned, `asyncStart`/`asyncEnd` on settlement, `error` on failure,
   * all with the same {@link OperationContext}.
   */
  [OPERATION_CHANNEL]: { group: 'operation', tracing: true, payload: typeOnly<OperationContext>() },
  /** Published when the number of calls waiting for a worker changed. */
  'dspex:pool:queue:depth': { group: 'queue', payload: typeOnly<QueueDepthEvent>() },
  /** Published when a call was refused because the queue was full. */
  'dspex:pool:queue:rejected': { group: 'queue', payload: typeOnly<QueueRejectedEvent>() },
  /** Published for any error a call rejected with, and for failures of the pool's own work (a restart, a health check). */
  'dspex:pool:error': { group: 'error', payload: typeOnly<PoolErrorEvent>() },
  /** Published when a session idle beyond `sessionTtlMs` was dropped. */
  'dspex:session:expire': { group: 'session', payload: typeOnly<SessionExpireEvent>() },
  /** Published when the resource monitor took a sample. */
  'dspex:resource:sample': { group: 'resource', payload: typeOnly<ResourceSampleEvent>() },
  /** Published when a worker reported metrics recorded by Python code (`import dspex`; issue 19). */
  'dspex:python:metrics': { group: 'python', payload: typeOnly<PythonMetricsEvent>() },
  /** Published when the auto-tuner applied a change, validated it, or rolled it back. */
  'dspex:advisor:tuning': { group: 'advisor', payload: typeOnly<TuningEvent>() },
  /** Published when an alert became pending (or went back from pending to inactive). */
  'dspex:alert:pending': { group: 'alert', payload: typeOnly<AlertTransitionEvent>() },
  /** Published when an alert started firing. */
  'dspex:alert:firing': { group: 'alert', payload: typeOnly<AlertTransitionEvent>() },
  /** Published when a firing alert resolved. */
  'dspex:alert:resolved': { group: 'alert', payload: typeOnly<AlertTransitionEvent>() },
  /** Published when the alert manager dispatched a notification (firing, repeat, resolved) to its channels. */
  'dspex:alert:notification': { group: 'alert', payload: typeOnly<AlertNotificationEvent>() },
} as const satisfies { readonly [name: `dspex:${string}`]: CatalogEntry };

type Catalog = typeof telemetryCatalog;

/** Event groups that can be switched off per pool (`telemetry.disabled`). */
export type TelemetryGroup = Catalog[keyof Catalog]['group'];

/** Any channel's name, the tracing channel included. */
export type TelemetryChannelName = keyof Catalog;

/** The payload type a channel's catalog entry declares (the context object, for a tracing channel). */
export type TelemetryPayload<K extends TelemetryChannelName> = Exclude<Catalog[K]['payload'], undefined>;

/** Map from channel name to its payload type: the whole published surface (the tracing channel aside). */
export type TelemetryEventMap = {
  // `keyof Catalog` written out (not an alias) keeps the mapped type homomorphic, so each member
  // carries its catalog entry's TSDoc to editors.
  [K in keyof Catalog as Catalog[K] extends { readonly tracing: true } ? never : K]: TelemetryPayload<K>;
};

/** A plain channel's name. */
export type TelemetryEventName = keyof TelemetryEventMap;

/** Every channel name dspex publishes, with its group. The tracing channel is listed by its base name. */
export const telemetryEvents: readonly { name: TelemetryEventName | typeof OPERATION_CHANNEL; group: TelemetryGroup; tracing: boolean }[] = (
  Object.keys(telemetryCatalog) as TelemetryChannelName[]
).map((name) => {
  const entry: { readonly group: TelemetryGroup; readonly tracing?: true } = telemetryCatalog[name];
  return { name, group: entry.group, tracing: entry.tracing === true };
});

/** Every group, in catalog order (the order of their bits in a telemetry mask). */
export const telemetryGroups: readonly TelemetryGroup[] = [...new Set(telemetryEvents.map((e) => e.group))];
