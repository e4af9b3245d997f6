/**
 * `dspex/otel`: the pool's metrics and traces through OpenTelemetry, for services that already
 * run the OpenTelemetry SDK. `registerOpenTelemetry({ meterProvider, tracerProvider, pools })`
 * records operation durations, queue waits, operations, errors and pool gauges as metrics, and
 * each operation as a span whose W3C `traceparent` reaches the Python function (`dspex_context`).
 *
 * `@opentelemetry/api` is an optional peer dependency, loaded only by this subpath: `import 'dspex'`
 * never loads it.
 *
 * @module
 */
export { registerOpenTelemetry, type OpenTelemetryOptions, type OpenTelemetryRegistration, type OtelPool } from './otel/bridge.js';
export { OTEL_INSTRUMENTS, ATTR as OTEL_ATTRIBUTES, OTEL_OVERFLOW, formatTraceparent, parseTraceparent } from './otel/names.js';
