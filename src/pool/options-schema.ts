/**
 * The pool's options: one zod schema with every option, its default and its bounds. An invalid
 * option throws a {@link PythonBridgeError} (`invalid_request` / `invalid_options`) whose message
 * names the option.
 *
 * @module
 */
import os from 'node:os';
import { z } from 'zod';
import { PythonBridgeError } from '../contract/errors.js';
import { telemetryGroups } from '../telemetry/telemetry.js';
import type { ConfigurablePoolOptions, PoolLogger, PoolOptions, ResolvedPoolOptions } from './options.js';


const loggerSchema = z.custom<PoolLogger>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    ['debug', 'info', 'warn', 'error'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
  { message: 'must have debug, info, warn and error methods' },
);

const cpus = (): number => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);

const ms = (min: number) => z.number().int().min(min);

/** A string that can go into argv or the environment of a process (no NUL byte). */
const processString = () => z.string().min(1).refine((v) => !v.includes('\0'), 'must not contain a NUL byte');

/** The schema of {@link PoolOptions} (internal: our declarations never expose zod's types). */
export const poolOptionsSchema = z
  .object({
    /** The pool's name: metrics, telemetry and Prometheus labels are keyed by it. */
    name: z.string().min(1).max(128).regex(/^[\w.:-]+$/, 'letters, digits, _ . : - only').optional(),
    /** Workers started by `start()`. Default: the CPU count. */
    size: z.number().int().min(1).max(1024).optional(),
    /** Lower bound for `resize()`. Default 1. */
    minSize: z.number().int().min(1).max(1024).optional(),
    /** Upper bound for `resize()`. Default: max(size, 2 × CPU count). */
    maxSize: z.number().int().min(1).max(1024).optional(),
    /** Calls allowed to wait for a worker; beyond it calls reject at once with `overloaded`. */
    maxQueue: z.number().int().min(0).max(10_000_000).default(1000),
    /** How long a call may wait for a worker before rejecting with `timeout`/`checkout`. */
    checkoutTimeoutMs: ms(1).default(5000),
    /** How long Python may take to answer a call without its own `timeoutMs`; then the worker is killed and replaced. */
    operationTimeoutMs: ms(1).default(30_000),
    /** How long a worker may finish an abandoned (aborted or per-call timed-out) call before it is killed; 0: at once. */
    abortGraceMs: ms(0).max(2 ** 31 - 1).default(1000),
    /** How often idle workers are pinged; 0 disables health checks. */
    healthCheckIntervalMs: ms(0).default(30_000),
    /** How long a ping may take before it counts as a failure. */
    healthCheckTimeoutMs: ms(1).default(5000),
    /** Failed health checks in a row before a worker is replaced. */
    maxHealthFailures: z.number().int().min(1).max(100).default(3),
    /** Which idle worker serves next: the most recently used (`lifo`, warm caches) or the least (`fifo`). */
    strategy: z.enum(['lifo', 'fifo']).default('lifo'),
    /** Session affinity: `strict` (wait for the session's worker; session_lost when it died) or `prefer` (move when busy). */
    affinity: z.enum(['strict', 'prefer']).default('strict'),
    /** Largest frame either way, in bytes (request or reply). */
    maxMessageBytes: z.number().int().min(1024).max(2 ** 31 - 1).default(16 * 1024 * 1024),
    /** The Python executable. */
    python: processString().default('python3'),
    /** Python modules imported at worker start; their public functions become `module.function` commands. */
    pythonModules: z.array(z.string().regex(/^[A-Za-z_][\w.]*$/, 'a Python module name')).default([]),
    /** Directories put first on PYTHONPATH (then `env.PYTHONPATH`, then the inherited one). */
    pythonPath: z.array(processString()).default([]),
    /** Extra environment variables for the Python processes (values never logged; names without `=` or NUL). */
    env: z
      .record(z.string(), z.string().refine((v) => !v.includes('\0'), 'must not contain a NUL byte'))
      .superRefine((env, ctx) => {
        for (const key of Object.keys(env)) {
          if (!/^[^=\0]+$/.test(key)) ctx.addIssue({ code: 'custom', message: `variable name ${JSON.stringify(key)} must be non-empty, without '=' or a NUL byte` });
        }
      })
      .default({}),
    /** Sessions idle longer than this are ended. */
    sessionTtlMs: ms(1).default(30 * 60_000),
    /** Most sessions tracked at once; beyond it the least recently used session is ended. */
    maxSessions: z.number().int().min(1).max(10_000_000).default(100_000),
    /** How long a worker may take to start (import modules) before it counts as failed. */
    startTimeoutMs: ms(1).default(30_000),
    /** Start attempts per worker during `start()` before the pool gives up. */
    startAttempts: z.number().int().min(1).max(100).default(3),
    /** Lines of Python output forwarded to the logger per second, sustained, per stream of each worker. */
    outputLinesPerSecond: z.number().int().min(1).max(1_000_000).default(1000),
    /** Lines a stream may print at once beyond the rate (its token bucket's size). */
    outputBurstLines: z.number().int().min(1).max(1_000_000).default(5000),
    /** Longest line of Python output forwarded, in bytes (longer: cut and marked); also bounds a partial line. */
    outputMaxLineBytes: z.number().int().min(64).max(1024 * 1024).default(16 * 1024),
    /** Warm spares: ready processes that take over a replaced worker's slot at once. */
    spares: z.number().int().min(0).max(64).default(0),
    /** Return Python's own execution time with each reply (the queue wait | bridge | Python split). */
    pythonTiming: z.boolean().default(true),
    /** Calls a worker process serves before it is recycled (replaced by a fresh one); 0: never. */
    maxCallsPerWorker: z.number().int().min(0).max(1_000_000_000).default(0),
    /** Resident memory of a worker process beyond which it is recycled, bytes; 0: never. */
    maxWorkerRssBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /** Each process's recycling limits are lowered by up to this fraction, at random, so workers do not recycle together. */
    recycleJitterRatio: z.number().min(0).max(0.5).default(0.1),
    /** How often worker RSS is read against `maxWorkerRssBytes`, ms. */
    recycleCheckIntervalMs: ms(100).max(2 ** 31 - 1).default(5000),
    /** Delay before the first restart of a worker slot whose start failed, ms; doubles per failure. */
    restartBackoffMs: ms(1).max(600_000).default(100),
    /** Longest delay between restarts of a failing worker slot, ms. */
    maxRestartBackoffMs: ms(1).max(3_600_000).default(5000),
    /** Where user prints and pool diagnostics go. Default: pino to stderr at level `info`, bounded (default-logger.ts). */
    logger: loggerSchema.optional(),
    /** Telemetry groups to switch off. */
    telemetry: z.object({ disabled: z.array(z.enum(telemetryGroups)).default([]) }).strict().default({ disabled: [] }),
  })
  .strict();

// Compile-time guard: the written-out interfaces and the schema must agree both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type SchemaMatches = [
  Same<Required<PoolOptions>, Required<z.input<typeof poolOptionsSchema>>>,
  Same<Omit<ResolvedPoolOptions, 'name' | 'size' | 'minSize' | 'maxSize'>, Omit<z.output<typeof poolOptionsSchema>, 'name' | 'size' | 'minSize' | 'maxSize'>>,
];
const schemaMatches: SchemaMatches = [true, true];
void schemaMatches;

let anonymousPools = 0;

/** Validate options and fill defaults; throws `invalid_request`/`invalid_options` naming the option. */
export function resolvePoolOptions(input: unknown): ResolvedPoolOptions {
  const parsed = poolOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(options)';
    const msg = issue?.code === 'unrecognized_keys' ? `unknown option(s): ${issue.keys.join(', ')}` : (issue?.message ?? 'invalid');
    throw new PythonBridgeError('invalid_request', 'invalid_options', `invalid pool option '${issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : option}': ${msg}`, {
      details: { option: issue?.code === 'unrecognized_keys' ? issue.keys.join(',') : option },
    });
  }
  const o = parsed.data;
  const size = o.size ?? cpus();
  const minSize = o.minSize ?? 1;
  const maxSize = o.maxSize ?? Math.max(size, 2 * cpus());
  const bad = (option: string, message: string): never => {
    throw new PythonBridgeError('invalid_request', 'invalid_options', `invalid pool option '${option}': ${message}`, { details: { option } });
  };
  const sizes = { size, minSize, maxSize };
  const given = { size: o.size !== undefined, minSize: o.minSize !== undefined, maxSize: o.maxSize !== undefined };
  const show = (option: keyof typeof sizes): string => `${option} (${sizes[option]}${given[option] ? '' : ', the default'})`;
  /**
   * `low` must not be above `high`. The error names `blame` (the bound, not `size`; `maxSize`
   * against `minSize`), or the other option when `blame` was not given but defaulted.
   */
  const ordered = (low: keyof typeof sizes, high: keyof typeof sizes, blame: keyof typeof sizes): void => {
    if (sizes[low] <= sizes[high]) return;
    const option = given[blame] ? blame : blame === low ? high : low;
    bad(option, option === low ? `${show(low)} is larger than ${show(high)}` : `${show(high)} is smaller than ${show(low)}`);
  };
  // The bounds first: they contradict each other whatever the size.
  ordered('minSize', 'maxSize', 'maxSize');
  ordered('minSize', 'size', 'minSize');
  ordered('size', 'maxSize', 'maxSize');
  if (o.spares > maxSize) bad('spares', `spares (${o.spares}) is larger than maxSize (${maxSize})`);
  if (o.restartBackoffMs > o.maxRestartBackoffMs) bad('restartBackoffMs', `restartBackoffMs (${o.restartBackoffMs}) is larger than maxRestartBackoffMs (${o.maxRestartBackoffMs})`);
  return { ...o, name: o.name ?? `pool-${++anonymousPools}`, size, minSize, maxSize };
}

/** The options `configure()` may change at run time. */
export const CONFIGURABLE_OPTIONS = [
  'operationTimeoutMs',
  'checkoutTimeoutMs',
  'healthCheckIntervalMs',
  'healthCheckTimeoutMs',
  'abortGraceMs',
  'restartBackoffMs',
  'maxRestartBackoffMs',
  'maxCallsPerWorker',
  'maxWorkerRssBytes',
  'recycleJitterRatio',
  'recycleCheckIntervalMs',
] as const satisfies readonly (keyof ConfigurablePoolOptions)[];

const configureSchema = poolOptionsSchema.pick(Object.fromEntries(CONFIGURABLE_OPTIONS.map((k) => [k, true])) as { [K in (typeof CONFIGURABLE_OPTIONS)[number]]: true }).partial().strict();

// Compile-time guard: the configurable options are exactly the written-out interface's keys.
type ConfigureMatches = Same<Required<ConfigurablePoolOptions>, Required<z.input<typeof configureSchema>>>;
const configureMatches: ConfigureMatches = true;
void configureMatches;

/**
 * Validate a `configure()` argument against the pool's own schema and `current` (the bounds that
 * involve two options); returns only the keys given. Throws `invalid_request`/`invalid_options`
 * naming the option.
 */
export function resolveConfigure(input: unknown, current: Readonly<ResolvedPoolOptions>): Partial<Pick<ResolvedPoolOptions, (typeof CONFIGURABLE_OPTIONS)[number]>> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new PythonBridgeError('invalid_request', 'invalid_options', 'configure() takes an object of options', { details: { option: '(options)' } });
  }
  const parsed = configureSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const unknown = issue?.code === 'unrecognized_keys';
    const option = unknown ? issue.keys.join(', ') : issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(options)';
    const msg = unknown ? `not configurable at run time (configurable: ${CONFIGURABLE_OPTIONS.join(', ')})` : (issue?.message ?? 'invalid');
    throw new PythonBridgeError('invalid_request', 'invalid_options', `invalid pool option '${option}': ${msg}`, { details: { option: unknown ? issue.keys.join(',') : option } });
  }
  // zod 4 fills defaults even under partial(): keep only what the caller gave.
  const given = new Set(Object.keys(input));
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsed.data)) if (given.has(k) && typeof v === 'number') out[k] = v;
  const next = { ...current, ...out };
  if (next.restartBackoffMs > next.maxRestartBackoffMs) {
    const option = 'restartBackoffMs' in out ? 'restartBackoffMs' : 'maxRestartBackoffMs';
    throw new PythonBridgeError('invalid_request', 'invalid_options', `invalid pool option '${option}': restartBackoffMs (${next.restartBackoffMs}) is larger than maxRestartBackoffMs (${next.maxRestartBackoffMs})`, {
      details: { option },
    });
  }
  return out;
}
