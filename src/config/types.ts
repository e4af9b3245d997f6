/**
 * The configuration as types, free of zod (schema.ts validates; this is what users compile
 * against). The guard at the end fails to compile when these and the schema drift apart.
 * Every key is documented in docs/MONITORING_GUIDE.md ("Configuration reference", generated).
 *
 * @module
 */
import type { z } from 'zod';
import type { PoolOptions, ResolvedPoolOptions } from '../pool/options.js';
import type { TelemetryGroup } from '../telemetry/telemetry.js';
import type { WindowName } from '../contract/metrics.js';
import type { dspexConfigSchema } from './schema.js';
import type { AlertRule, ParsedAlertRule } from '../alerts/rule-types.js';
import type { ChannelConfig } from '../alerts/channels/channel-config.js';
import type { DefaultAlertThresholds } from '../alerts/default-rules.js';

/** Limits of the metrics collector. */
export interface MetricsConfig {
  maxCommands?: number | undefined;
  maxWorkerSlots?: number | undefined;
  maxErrorTypes?: number | undefined;
  maxPools?: number | undefined;
  forgetAfterS?: number | undefined;
  /** Hard cap on the bytes the metrics hold; above it detail is shed. Default 256 MiB. */
  memoryCapBytes?: number | undefined;
}

/** The resource monitor. */
export interface ResourcesConfig {
  enabled?: boolean | undefined;
  intervalMs?: number | undefined;
  trendWindowMs?: number | undefined;
  scanProcesses?: boolean | undefined;
}

/** The monitoring HTTP server. */
export interface ServerConfig {
  enabled?: boolean | undefined;
  /** Default `127.0.0.1`. */
  host?: string | undefined;
  /** Default 9568; 0 picks a free port. */
  port?: number | undefined;
  /** Bearer token (at least 16 characters); never logged, never in `health()` or the config shown. */
  token?: string | null | undefined;
  allowedHosts?: string[] | undefined;
  maxSseClients?: number | undefined;
  sseIntervalMs?: number | undefined;
  maxConnections?: number | undefined;
}

/** The dashboards. */
export interface DashboardConfig {
  refreshMs?: number | undefined;
  window?: WindowName | undefined;
}

/** The self-check. */
export interface HealthConfig {
  intervalMs?: number | undefined;
  stallAfterMs?: number | undefined;
}

/** The optimization advisor. */
export interface AdvisorConfig {
  enabled?: boolean | undefined;
  targetUtilization?: number | undefined;
  minCoveredS?: number | undefined;
  minOps?: number | undefined;
  leakSlopeBytesPerS?: number | undefined;
  top?: number | undefined;
}

/** What the auto-tuner may change, and within which bounds. */
export type TunerRanges = Partial<Record<'size' | 'operationTimeoutMs' | 'checkoutTimeoutMs' | 'healthCheckIntervalMs' | 'maxCallsPerWorker' | 'maxWorkerRssBytes', [number, number]>>;

/** The auto-tuner (one per watched pool). */
export interface TunerConfig {
  enabled?: boolean | undefined;
  ranges?: TunerRanges | undefined;
  cooldownMs?: number | undefined;
  validationMs?: number | undefined;
  intervalMs?: number | undefined;
}

/** The alert manager. */
export interface AlertsConfig {
  enabled?: boolean | undefined;
  intervalMs?: number | undefined;
  repeatIntervalMs?: number | undefined;
  /** Start with `defaultAlertRules()` (default true). */
  defaultRules?: boolean | undefined;
  /** Thresholds of the default rules. */
  thresholds?: Partial<DefaultAlertThresholds> | undefined;
  rules?: AlertRule[] | undefined;
  channels?: ChannelConfig[] | undefined;
  historyLimit?: number | undefined;
}

/** Telemetry of the stack's own components. */
export interface TelemetryConfig {
  disabled?: TelemetryGroup[] | undefined;
}

/** Every configuration key, as a file, the environment or explicit options give it (all optional). */
export interface MonitoringConfig {
  /** A pool to create when `createMonitoring` is given no pools (a logger cannot come from a file: pass `logger`). */
  pool?: Omit<PoolOptions, 'logger'> | undefined;
  metrics?: MetricsConfig | undefined;
  resources?: ResourcesConfig | undefined;
  server?: ServerConfig | undefined;
  dashboard?: DashboardConfig | undefined;
  health?: HealthConfig | undefined;
  advisor?: AdvisorConfig | undefined;
  tuner?: TunerConfig | undefined;
  alerts?: AlertsConfig | undefined;
  telemetry?: TelemetryConfig | undefined;
}

/** A pool section after defaults: sizes stay optional (the pool derives them from the CPU count). */
export type ResolvedPoolConfig = Omit<ResolvedPoolOptions, 'logger' | 'name' | 'size' | 'minSize' | 'maxSize'> & Pick<PoolOptions, 'name' | 'size' | 'minSize' | 'maxSize'>;

type Filled<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };

/** The configuration after every source, every default filled. `server.token` is never shown: see {@link redactConfig}. */
export interface ResolvedMonitoringConfig {
  pool?: ResolvedPoolConfig | undefined;
  metrics: Filled<MetricsConfig>;
  resources: Filled<ResourcesConfig>;
  server: Filled<ServerConfig>;
  dashboard: Filled<DashboardConfig>;
  health: Filled<HealthConfig>;
  advisor: Filled<AdvisorConfig>;
  tuner: Filled<TunerConfig>;
  alerts: Omit<Filled<AlertsConfig>, 'rules'> & { rules: ParsedAlertRule[] };
  telemetry: Filled<TelemetryConfig>;
}

// Compile-time guard: the written-out input type and the schema's input must agree both ways, and
// the resolved sections (the pool's is checked against the pool schema's own guard).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Input = z.input<typeof dspexConfigSchema>;
type Output = z.output<typeof dspexConfigSchema>;
type ConfigMatches = [
  Same<Required<Omit<MonitoringConfig, 'pool'>>, Required<Omit<Input, 'pool'>>>,
  Same<Omit<ResolvedMonitoringConfig, 'pool'>, Omit<Output, 'pool'>>,
  Same<Required<ResolvedPoolConfig>, Required<NonNullable<Output['pool']>>>,
];
const configMatches: ConfigMatches = [true, true, true];
void configMatches;

/** A copy of `config` safe to log or show: the token replaced by `"[redacted]"`. */
export function redactConfig(config: ResolvedMonitoringConfig): ResolvedMonitoringConfig {
  return {
    ...config,
    server: { ...config.server, token: config.server.token === null ? null : '[redacted]' },
    alerts: { ...config.alerts, channels: config.alerts.channels.map(redactChannel) },
  };
}

/** A channel config without its secrets: bearer token, header values, SMTP password, and a webhook URL's credentials, path and query. */
function redactChannel(c: ChannelConfig): ChannelConfig {
  switch (c.type) {
    case 'webhook': {
      let url = '[redacted]';
      try {
        const u = new URL(c.url);
        url = `${u.protocol}//${u.host}${u.pathname.length > 1 || u.search !== '' ? '/[redacted]' : '/'}`;
      } catch {
        // keep '[redacted]'
      }
      return {
        ...c,
        url,
        ...(c.bearerToken !== undefined ? { bearerToken: '[redacted]' } : {}),
        ...(c.headers !== undefined ? { headers: Object.fromEntries(Object.keys(c.headers).map((k) => [k, '[redacted]'])) } : {}),
      };
    }
    case 'email':
      return c.smtp.auth === undefined ? c : { ...c, smtp: { ...c.smtp, auth: { ...c.smtp.auth, pass: '[redacted]' } } };
    default:
      return c;
  }
}
