/**
 * One schema for every option of the monitoring stack and of a pool created from configuration:
 * the shape of `dspex.config.json`, of the `DSPEX_*` environment variables (env.ts maps each to a
 * key) and of `createMonitoring`'s explicit options. Every key carries its documentation
 * (`.meta({ description })`), from which docs/MONITORING_GUIDE.md's configuration table is
 * generated ({@link configReference}); a test fails when the two drift.
 *
 * Sections are strict: an unknown key is an error naming it, never silently ignored. Defaults live
 * in the schema, so a source that leaves a key out takes the default, and sources are merged as raw
 * values before the one final parse (sources.ts): a later source overrides only what it sets.
 *
 * Internal: the public declarations are written out in types.ts (zod's types never reach a user's
 * `.d.ts`), with a compile-time guard there that fails when they drift from this schema.
 *
 * @module
 */
import { z } from 'zod';
import { poolOptionsSchema } from '../pool/options-schema.js';
import { telemetryGroups } from '../telemetry/telemetry.js';
import { SNAPSHOT_WINDOWS } from '../contract/snapshot.js';
import { alertRuleSchema } from '../alerts/schema.js';
import { channelConfigSchema } from '../alerts/channels/channel-schema.js';

const describe = <T extends z.ZodType>(schema: T, description: string): T => schema.meta({ description });
const ms = (min: number, max = 2 ** 31 - 1) => z.number().int().min(min).max(max);

/** A pool created by `createMonitoring` when it is given no pools (the pool's own options, minus the logger). */
const poolSection = poolOptionsSchema.omit({ logger: true });

const metricsSection = z
  .object({
    maxCommands: describe(z.number().int().min(1).max(100_000).default(64), 'distinct command names kept apart per pool; more share an overflow series'),
    maxWorkerSlots: describe(z.number().int().min(1).max(1024).default(32), 'worker slots kept apart per pool; more share an overflow slot'),
    maxErrorTypes: describe(z.number().int().min(1).max(100_000).default(64), 'distinct error types kept apart per pool'),
    maxPools: describe(z.number().int().min(1).max(10_000).default(32), 'pools kept at once; the untracked one heard from longest ago is dropped first'),
    forgetAfterS: describe(z.number().int().min(1).max(366 * 24 * 3600).default(900), 'an untracked pool not heard from for this long is forgotten, seconds'),
    memoryCapBytes: describe(
      z.number().int().min(1024 * 1024).max(2 ** 40).default(256 * 1024 * 1024),
      'hard cap on the bytes held by the metrics; above it detail is shed (per-worker, then per-command, then sampling) and an alert fires',
    ),
  })
  .strict();

const resourcesSection = z
  .object({
    enabled: describe(z.boolean().default(true), 'run the resource monitor (Node, machine and every Python process)'),
    intervalMs: describe(ms(100).default(5000), 'sampling period, ms'),
    trendWindowMs: describe(ms(1000).default(300_000), 'window of the per-worker RSS slope, ms'),
    scanProcesses: describe(z.boolean().default(true), 'scan the machine for workers outside the pools (orphans) on each tick'),
  })
  .strict();

const serverSection = z
  .object({
    enabled: describe(z.boolean().default(true), 'serve /metrics, /api/* and the dashboards over HTTP'),
    host: describe(z.string().min(1).default('127.0.0.1'), 'interface to bind; loopback unless set'),
    port: describe(z.number().int().min(0).max(65535).default(9568), 'port; 0 picks a free one (see `url`)'),
    token: describe(z.string().min(16).nullable().default(null), 'bearer token every request must carry (at least 16 characters); never logged or shown'),
    allowedHosts: describe(z.array(z.string().min(1)).default([]), 'host names accepted in the Host header besides loopback and `host`'),
    maxSseClients: describe(z.number().int().min(0).max(10_000).default(32), 'most live-event (SSE) clients at once'),
    sseIntervalMs: describe(ms(50, 3_600_000).default(1000), 'interval between live snapshots, ms'),
    maxConnections: describe(z.number().int().min(1).max(1_000_000).default(256), 'most open connections at once'),
  })
  .strict();

const dashboardSection = z
  .object({
    refreshMs: describe(ms(250, 60_000).default(1000), 'terminal dashboard refresh interval, ms'),
    window: describe(z.enum(SNAPSHOT_WINDOWS).default('1m'), 'metrics window the dashboards show first'),
  })
  .strict();

const healthSection = z
  .object({
    intervalMs: describe(ms(100, 3_600_000).default(5000), "period of the self-check that watches every component's ticks, ms"),
    stallAfterMs: describe(ms(1000).default(30_000), 'a component whose tick has not completed for this long (and at least 3 of its periods) is stalled, reported and restarted, ms'),
  })
  .strict();

const telemetrySection = z
  .object({
    disabled: describe(z.array(z.enum(telemetryGroups)).default([]), "telemetry groups the monitoring stack's own components do not publish"),
  })
  .strict();

const advisorSection = z
  .object({
    enabled: describe(z.boolean().default(true), 'run the optimization advisor (recommendations in the dashboards, /api/snapshot and `dspex advise`)'),
    targetUtilization: describe(z.number().gt(0).max(1).default(0.7), "the busy share of workers sizing recommendations aim for (Little's law), 0..1"),
    minCoveredS: describe(z.number().int().min(1).max(900).default(20), 'seconds of a window that must be covered before a pool is analysed'),
    minOps: describe(z.number().int().min(1).default(30), 'calls a window must hold before a pool is analysed'),
    leakSlopeBytesPerS: describe(z.number().gt(0).default(64 * 1024), 'per-worker RSS growth above which a leak is suspected, bytes per second'),
    top: describe(z.number().int().min(1).max(100).default(5), 'recommendations shown at most'),
  })
  .strict();

const rangeTuple = z.tuple([z.number(), z.number()]).refine(([a, b]) => a <= b, 'min must not exceed max');

const tunerSection = z
  .object({
    enabled: describe(z.boolean().default(false), "let the auto-tuner apply the advisor's safe recommendations (off by default; every change is validated and rolled back on regression)"),
    ranges: describe(
      z.partialRecord(z.enum(['size', 'operationTimeoutMs', 'checkoutTimeoutMs', 'healthCheckIntervalMs', 'maxCallsPerWorker', 'maxWorkerRssBytes']), rangeTuple).default({}),
      "bounds the tuner stays within, e.g. `{ \"size\": [2, 8] }`; `size` defaults to the pool's minSize..maxSize",
    ),
    cooldownMs: describe(ms(1).default(120_000), 'least time between two changes, ms'),
    validationMs: describe(ms(1).default(60_000), 'how long a change is watched before it is kept (at most cooldownMs), ms'),
    intervalMs: describe(ms(10).default(5000), 'evaluation period, ms'),
  })
  .strict()
  .refine((t) => t.validationMs <= t.cooldownMs, { message: 'validationMs must not exceed cooldownMs', path: ['validationMs'] });

const positive = z.number().positive().finite();
const alertThresholds = z
  .object({
    errorRate: positive.max(1).optional(),
    errorRateCritical: positive.max(1).optional(),
    latencyP99Us: positive.optional(),
    queueFillRatio: positive.max(1).optional(),
    crashesPerMin: positive.optional(),
    heapUsedRatio: positive.max(1).optional(),
    eventLoopDelayP99Ms: positive.optional(),
    nodeRssGrowthBytesPerS: positive.optional(),
    pythonRssBytes: positive.optional(),
    pythonRssSlopeBytesPerS: positive.optional(),
    openFds: positive.optional(),
  })
  .strict();

const alertsSection = z
  .object({
    enabled: describe(z.boolean().default(true), 'run the alert manager (alerts in the dashboards, /api/snapshot, `dspex_alerts` and on `dspex:alert:*`)'),
    intervalMs: describe(ms(10, 3_600_000).default(5000), 'evaluation period, ms'),
    repeatIntervalMs: describe(ms(0).default(4 * 3_600_000), 'a still-firing alert is notified again after this, ms (Alertmanager’s repeat_interval)'),
    defaultRules: describe(z.boolean().default(true), 'start with `defaultAlertRules()` (docs/OPERATIONS_PLAYBOOK.md explains each); `rules` are added to them (a rule with a default’s name replaces it)'),
    thresholds: describe(alertThresholds.default({}), 'thresholds of the default rules, e.g. `{ "errorRate": 0.02, "latencyP99Us": 500000 }` (see `DEFAULT_ALERT_THRESHOLDS`)'),
    rules: describe(z.array(alertRuleSchema).default([]), 'your own rules (threshold, dynamic, rate, anomaly, composite; see "Alerts")'),
    channels: describe(z.array(channelConfigSchema).default([]), 'where notifications go: `log`, `file`, `webhook` (Alertmanager v4 body), `email`; none: alerts are shown, not sent'),
    historyLimit: describe(z.number().int().min(1).max(1_000_000).default(1000), 'transitions `alertHistory()` keeps'),
  })
  .strict();

/** Every key, with its default; `{}` is a complete, valid configuration. */
export const dspexConfigSchema = z
  .object({
    pool: describe(poolSection.optional(), 'a pool to create and watch when `createMonitoring` is given no pools (the pool options of the README)'),
    metrics: metricsSection.default(() => metricsSection.parse({})),
    resources: resourcesSection.default(() => resourcesSection.parse({})),
    server: serverSection.default(() => serverSection.parse({})),
    dashboard: dashboardSection.default(() => dashboardSection.parse({})),
    health: healthSection.default(() => healthSection.parse({})),
    advisor: advisorSection.default(() => advisorSection.parse({})),
    tuner: tunerSection.default(() => tunerSection.parse({})),
    alerts: alertsSection.default(() => alertsSection.parse({})),
    telemetry: telemetrySection.default(() => telemetrySection.parse({})),
  })
  .strict();

/** The sections of the configuration, in documentation order. */
export const CONFIG_SECTIONS = ['pool', 'metrics', 'resources', 'server', 'dashboard', 'health', 'advisor', 'tuner', 'alerts', 'telemetry'] as const;
