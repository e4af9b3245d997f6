/**
 * `createMonitoring(options)`: the whole monitoring stack around the given pools in one call —
 * the metrics collector, the resource monitor, the monitoring HTTP server — configured from one
 * validated configuration (defaults, `dspex.config.json` or `DSPEX_CONFIG`, `DSPEX_*` variables,
 * explicit options: see sources.ts), watched by a self-check, released by one `stop()`.
 *
 * ```ts
 * const monitoring = await createMonitoring({ pools: [pool], server: { port: 0 } });
 * monitoring.url;       // http://127.0.0.1:PORT (/metrics, /api/snapshot, /api/health, …)
 * monitoring.health();  // each component's state, event lag, memory against the cap
 * await monitoring.stop();
 * ```
 *
 * The configuration is validated before anything starts: a bad key throws one `invalid_options`
 * error naming every problem and its source, and nothing is left running. A component that fails
 * to start stops the ones started before it.
 *
 * Isolation: the stack only listens (diagnostics_channel subscribers that catch their own
 * errors, timers that reschedule after a throw, status reads wrapped in `safely`); nothing here
 * sits on the pool's call path, so a failing monitor costs figures, never calls.
 *
 * @module
 */
import { SessionPool } from '../pool/session-pool.js';
import type { PoolLogger } from '../pool/options.js';
import { MetricsCollector } from '../metrics/metrics-collector.js';
import { ResourceMonitor } from '../resources/resource-monitor.js';
import { MonitoringServer } from '../exporters/http-server.js';
import { buildSnapshot } from '../exporters/snapshot.js';
import type { MonitoringSources } from '../exporters/sources.js';
import type { MonitoringSnapshot } from '../contract/snapshot.js';
import type { WindowName } from '../contract/metrics.js';
import { OptimizationAdvisor } from '../advisor/optimization-advisor.js';
import { AutoTuner, latestTuning, type TuningRanges } from '../advisor/auto-tuner.js';
import { AlertManager } from '../alerts/alert-manager.js';
import { defaultAlertRules } from '../alerts/default-rules.js';
import type { AlertRule } from '../alerts/rule-types.js';
import { validateRule } from '../alerts/validate.js';
import type { ComponentHealth, MonitoringHealth, TickStats } from '../contract/health.js';
import { invalidState } from '../contract/errors.js';
import { judgeComponent, overallStatus } from './health.js';
import { configError, loadConfig, mergeRaw, type ConfigIssue } from './sources.js';
import { dspexConfigSchema } from './schema.js';
import { redactConfig, type MonitoringConfig, type ResolvedMonitoringConfig } from './types.js';

/** Options of {@link createMonitoring}: configuration keys, plus what cannot come from a file. */
export interface MonitoringOptions extends MonitoringConfig {
  /** The pools to watch. None: a pool is created from the `pool` section (and stopped by `stop()`); no section either, none. */
  pools?: readonly SessionPool[] | undefined;
  /** Where the stack reports its own problems (and the created pool logs). Default: the pool's default logger; none for the stack. */
  logger?: PoolLogger | undefined;
  /** The config file: a path, or `false` for none (default `DSPEX_CONFIG`, else `./dspex.config.json` when present). */
  configFile?: string | false | undefined;
  /** Environment to read `DSPEX_*` from (default `process.env`); `false`: none. */
  env?: Readonly<Record<string, string | undefined>> | false | undefined;
  /** Where a relative config path is resolved (default `process.cwd()`). */
  cwd?: string | undefined;
}

/** What {@link Monitoring.configure} did. */
export interface ConfigureResult {
  /** Keys applied at once. */
  readonly applied: readonly string[];
  /** Keys accepted but only effective after a restart of the stack (or of the pool). */
  readonly restartRequired: readonly string[];
}

/** The running stack. */
export interface Monitoring {
  /** The configuration in effect (the token shown as `"[redacted]"`). */
  readonly config: ResolvedMonitoringConfig;
  /** The pools watched (created from the `pool` section when none were given). */
  readonly pools: readonly SessionPool[];
  readonly collector: MetricsCollector;
  /** Null when `resources.enabled` is false. */
  readonly resources: ResourceMonitor | null;
  /** Null when `advisor.enabled` is false. */
  readonly advisor: OptimizationAdvisor | null;
  /** Null when `alerts.enabled` is false. */
  readonly alerts: AlertManager | null;
  /** One auto-tuner per watched pool, by pool name (created with the advisor; enabled only when `tuner.enabled`). */
  readonly tuners: ReadonlyMap<string, AutoTuner>;
  /** Null when `server.enabled` is false. */
  readonly server: MonitoringServer | null;
  /** The server's base URL, or null without a server. */
  readonly url: string | null;
  /** What the server reads (collector, pools, resources, recommendations, alerts, health): for an in-process dashboard or a second exporter. */
  readonly sources: MonitoringSources;
  /** The picture the server's /api/snapshot gives, in process (the terminal dashboard's source). */
  snapshot(window: WindowName): MonitoringSnapshot;
  /** Each component's state, the event-processing lag, the metrics' memory against its cap. Never throws. */
  health(): MonitoringHealth;
  /** Watch another pool (collector, resources and server). */
  addPool(pool: SessionPool): void;
  /** Change configuration at run time; see {@link ConfigureResult}. Invalid input throws and changes nothing. */
  configure(partial: MonitoringConfig): ConfigureResult;
  /** Stop everything this call started: timers, sockets, subscriptions, and a pool it created. Idempotent. */
  stop(): Promise<void>;
}

/** One watched component: how to read its ticks and restart it. */
interface Watched {
  readonly name: string;
  stats(): TickStats | null;
  up?(): boolean;
  restart(): void;
  degraded?(): string | null;
  startedAtMs: number;
  errorsAtLastCheck: number;
  restarts: number;
}

/** Tuning steps the snapshot carries (`/api/snapshot` `tuning`, `dspex advise`). */
const TUNING_SHOWN = 10;

/** Keys `configure()` applies at once; every other valid key needs a restart. */
const LIVE_KEYS = new Set(['dashboard.refreshMs', 'dashboard.window', 'health.intervalMs', 'health.stallAfterMs', 'resources.intervalMs', 'resources.trendWindowMs', 'resources.scanProcesses', 'tuner.enabled', 'alerts.rules', 'alerts.defaultRules']);

function leafKeys(raw: unknown, prefix = ''): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return prefix === '' ? [] : [prefix];
  return Object.entries(raw).flatMap(([k, v]) => leafKeys(v, prefix === '' ? k : `${prefix}.${k}`));
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Wire the monitoring stack around `options.pools` (or a pool from the `pool` section). Resolves
 * once the server listens and a created pool is ready; rejects with `invalid_options` (every
 * configuration problem, with its source) before starting anything.
 */
export async function createMonitoring(options: MonitoringOptions = {}): Promise<Monitoring> {
  const { pools: givenPools, logger, configFile, env, cwd, ...explicit } = options;
  const loaded = loadConfig({ explicit, env: env ?? process.env, configFile: configFile ?? undefined, cwd });
  let config = loaded.config;

  const ownedPools: SessionPool[] = [];
  const pools: SessionPool[] = [...(givenPools ?? [])];
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        logger?.warn({ err: errorText(err) }, 'dspex monitoring: a component failed to stop');
      }
    }
  };

  try {
    if (givenPools === undefined && config.pool !== undefined) {
      const pool = new SessionPool({ ...config.pool, ...(logger ? { logger } : {}) });
      ownedPools.push(pool);
      pools.push(pool);
      cleanups.push(() => pool.stop());
      await pool.start();
    } else if (givenPools !== undefined && config.pool !== undefined) {
      logger?.info({ keys: leafKeys(explicit.pool ?? {}) }, 'dspex monitoring: pools were given, so the pool section of the configuration is not used');
    }

    const collector = new MetricsCollector({
      limits: { maxCommands: config.metrics.maxCommands, maxWorkerSlots: config.metrics.maxWorkerSlots, maxErrorTypes: config.metrics.maxErrorTypes },
      maxPools: config.metrics.maxPools,
      forgetAfterS: config.metrics.forgetAfterS,
      memoryCapBytes: config.metrics.memoryCapBytes,
    });
    collector.start();
    cleanups.push(() => collector.stop());
    for (const p of pools) collector.trackPool(p);

    const makeResources = (): ResourceMonitor =>
      new ResourceMonitor({
        pools,
        intervalMs: config.resources.intervalMs,
        trendWindowMs: config.resources.trendWindowMs,
        scanProcesses: config.resources.scanProcesses,
        telemetry: { disabled: config.telemetry.disabled },
      });
    let resources: ResourceMonitor | null = null;
    if (config.resources.enabled) {
      resources = makeResources();
      resources.start();
      cleanups.push(() => resources?.stop());
    }

    let advisor: OptimizationAdvisor | null = null;
    const tuners = new Map<string, AutoTuner>();
    if (config.advisor.enabled) {
      const { enabled: _on, top, ...settings } = config.advisor;
      void _on;
      const a = new OptimizationAdvisor({ collector, resources: resources === null ? null : { getResources: () => (resources as ResourceMonitor).getResources() }, pools, settings, top });
      advisor = a;
      a.start();
      cleanups.push(() => a.stop());
      for (const p of pools) addTuner(p);
      cleanups.push(() => {
        for (const t of tuners.values()) t.disable();
      });
    }
    function addTuner(pool: SessionPool): void {
      if (advisor === null || tuners.has(pool.name)) return;
      const { enabled, ranges, ...timing } = config.tuner;
      const status = pool.status();
      // Without explicit bounds the tuner may only resize, within the pool's own limits.
      const withSize: TuningRanges = { size: [status.minSize, status.maxSize], ...ranges };
      const t = new AutoTuner({ pool, collector, advisor, ranges: withSize, ...timing });
      tuners.set(pool.name, t);
      if (enabled) t.enable();
    }

    // Alerts: the default rules (thresholds from the config) with the user's rules on top.
    const alertRules = (): AlertRule[] => {
      const byName = new Map<string, AlertRule>();
      if (config.alerts.defaultRules) for (const r of defaultAlertRules({ thresholds: config.alerts.thresholds })) byName.set(r.name, r);
      for (const r of config.alerts.rules) byName.set(r.name, r);
      return [...byName.values()];
    };
    let alerts: AlertManager | null = null;
    if (config.alerts.enabled) {
      const am = new AlertManager({
        collector,
        resources: resources === null ? null : { getResources: () => (resources as ResourceMonitor).getResources() },
        pools,
        rules: alertRules(),
        channels: config.alerts.channels.map((c) => (c.type === 'log' && c.logger === undefined && logger ? { ...c, logger } : c)),
        intervalMs: config.alerts.intervalMs,
        repeatIntervalMs: config.alerts.repeatIntervalMs,
        historyLimit: config.alerts.historyLimit,
        logger: logger ?? null,
      });
      alerts = am;
      cleanups.push(() => am.stop());
      await am.start();
    }

    const watched: Watched[] = [];
    const now = Date.now();
    const watch = (w: Omit<Watched, 'startedAtMs' | 'errorsAtLastCheck' | 'restarts'>): void => {
      watched.push({ ...w, startedAtMs: now, errorsAtLastCheck: w.stats()?.errors ?? 0, restarts: 0 });
    };
    const memoryUsed = (): number => collector.memoryBytes();
    watch({
      name: 'collector',
      stats: () => collector.tickStats(),
      restart: () => {
        collector.stop();
        collector.start();
      },
      degraded: () => {
        const level = collector.degradation;
        if (level === 0) return null;
        const shed = ['', 'per-worker latency detail', 'per-worker and per-command detail', 'per-worker and per-command detail and untracked pools'][level];
        return `shedding ${shed} to stay under the metrics memory cap of ${collector.memoryCap} bytes (${memoryUsed()} held)`;
      },
    });
    if (resources !== null) {
      watch({
        name: 'resources',
        stats: () => resources?.tickStats() ?? null,
        restart: () => {
          resources?.stop();
          resources?.start();
        },
      });
    }

    if (alerts !== null) {
      const am = alerts;
      watch({
        name: 'alerts',
        stats: () => am.tickStats(),
        // Reschedules the evaluation timer; channels and alert state stay as they are.
        restart: () => am.restartTimer(),
      });
    }
    if (advisor !== null) {
      const a = advisor;
      watch({ name: 'advisor', stats: () => null, up: () => a.running, restart: () => a.start() });
    }

    let server: MonitoringServer | null = null;
    let monitoring: Monitoring | null = null;
    const sources: MonitoringSources = {
      collector,
      pools: () => pools,
      recommendations: advisor === null ? null : () => advisor.snapshotRecommendations(),
      tuning: advisor === null ? null : () => latestTuning(tuners.values(), TUNING_SHOWN),
      alerts: alerts === null ? null : () => (alerts).snapshotAlerts(),
      // Through a closure: configure() may replace the monitor.
      resources: resources === null ? null : { getResources: () => (resources as ResourceMonitor).getResources() },
      health: () => (monitoring === null ? fallbackHealth() : monitoring.health()),
    };
    if (config.server.enabled) {
      server = new MonitoringServer({
        ...sources,
        host: config.server.host,
        port: config.server.port,
        token: config.server.token,
        allowedHosts: config.server.allowedHosts,
        maxSseClients: config.server.maxSseClients,
        sseIntervalMs: config.server.sseIntervalMs,
        maxConnections: config.server.maxConnections,
        logger: logger ?? null,
      });
      await server.start();
      const s = server;
      cleanups.push(() => s.stop());
      watch({ name: 'server', stats: () => null, up: () => s.listening, restart: () => undefined });
    }

    // The self-check: judge each component; restart the stalled ones.
    let lastHealth: MonitoringHealth | null = null;
    const judge = (nowMs: number): ComponentHealth[] => watched.map((w) => judgeComponent({ ...w, stats: w.stats(), up: w.up?.() ?? true, degradedReason: w.degraded?.() ?? null }, nowMs, config.health.stallAfterMs));
    const check = (): void => {
      const nowMs = Date.now();
      const components = judge(nowMs);
      components.forEach((c, i) => {
        const w = watched[i]!;
        if (c.state === 'stalled' || (c.state === 'stopped' && w.name !== 'server')) {
          logger?.warn({ component: c.name, reason: c.reason }, 'dspex monitoring: component stalled; restarting it');
          try {
            w.restart();
            w.restarts++;
            w.startedAtMs = nowMs;
          } catch (err) {
            logger?.error({ component: c.name, err: errorText(err) }, 'dspex monitoring: restart failed');
          }
        }
        w.errorsAtLastCheck = w.stats()?.errors ?? 0;
      });
      lastHealth = buildHealth(nowMs, components);
    };
    const buildHealth = (nowMs: number, components: ComponentHealth[]): MonitoringHealth => {
      const rotated = collector.lastRotationMs;
      const used = memoryUsed();
      return {
        status: overallStatus(components),
        checkedAtMs: nowMs,
        components,
        eventLagMs: rotated === null ? null : Math.max(0, nowMs - rotated),
        memory: { usedBytes: used, capBytes: collector.memoryCap, degradation: collector.degradation },
      };
    };
    let healthTimer: NodeJS.Timeout | null = null;
    const scheduleCheck = (): void => {
      if (healthTimer !== null) clearInterval(healthTimer);
      healthTimer = setInterval(() => {
        try {
          check();
        } catch (err) {
          logger?.error({ err: errorText(err) }, 'dspex monitoring: the self-check failed');
        }
      }, config.health.intervalMs);
      healthTimer.unref();
    };
    scheduleCheck();
    cleanups.push(() => {
      if (healthTimer !== null) clearInterval(healthTimer);
      healthTimer = null;
    });

    let stopped = false;
    let stopping: Promise<void> | null = null;
    const url = server === null ? null : server.url;
    const m: Monitoring = {
      get config() {
        return redactConfig(config);
      },
      pools,
      collector,
      get resources() {
        return resources;
      },
      advisor,
      alerts,
      tuners,
      server,
      url,
      sources,
      snapshot: (window) => buildSnapshot(sources, window),
      health() {
        if (stopped) {
          const components = watched.map((w) => ({ name: w.name, state: 'stopped' as const, reason: 'monitoring stopped', lastTickAgeMs: null, lastTickDurationMs: null, errors: w.stats()?.errors ?? 0, restarts: w.restarts }));
          return { ...buildHealth(Date.now(), components), status: 'unhealthy' };
        }
        try {
          return buildHealth(Date.now(), judge(Date.now()));
        } catch (err) {
          return lastHealth ?? { ...fallbackHealth(), status: 'unhealthy', components: [{ name: 'health', state: 'stalled', reason: errorText(err), lastTickAgeMs: null, lastTickDurationMs: null, errors: 1, restarts: 0 }] };
        }
      },
      addPool(pool) {
        if (stopped) throw invalidState('Monitoring.addPool', 'monitoring was stopped');
        if (pools.includes(pool)) return;
        pools.push(pool);
        collector.trackPool(pool);
        resources?.addPool(pool);
        advisor?.addPool(pool);
        alerts?.addPool(pool);
        addTuner(pool);
      },
      configure(partial) {
        const issues: ConfigIssue[] = [];
        const parsedPartial = dspexConfigSchema.safeParse(partial);
        if (!parsedPartial.success) {
          for (const i of parsedPartial.error.issues) {
            const base = i.path.map(String).join('.');
            if (i.code === 'unrecognized_keys') for (const k of i.keys) issues.push({ key: base === '' ? k : `${base}.${k}`, source: 'configure()', message: 'unknown key' });
            else issues.push({ key: base === '' ? '(config)' : base, source: 'configure()', message: i.message });
          }
          throw configError(issues);
        }
        const keys = leafKeys(partial);
        const next = dspexConfigSchema.parse(mergeRaw(config, partial));
        const applied: string[] = [];
        const restartRequired: string[] = [];
        for (const k of keys) (LIVE_KEYS.has(k) || k.startsWith('alerts.thresholds.') ? applied : restartRequired).push(k);
        const prev = config;
        config = { ...next, server: { ...next.server, token: prev.server.token } };
        // Only live keys change what runs; the others are kept in `config` for the next start.
        for (const k of restartRequired) setKey(config, k, getKey(prev, k));
        if (applied.includes('health.intervalMs')) scheduleCheck();
        if (alerts !== null && applied.some((k) => k.startsWith('alerts.'))) {
          // Unchanged rules keep their alert state. A removed or changed rule is removed first, so
          // its notified firing alerts are notified resolved (a receiver never keeps a stale one);
          // a changed rule then starts afresh and fires again if its condition still holds.
          const next = alertRules();
          const current = new Map(alerts.listRules().map((r) => [r.name, JSON.stringify(r)]));
          const names = new Set(next.map((r) => r.name));
          for (const name of current.keys()) if (!names.has(name)) alerts.removeRule(name);
          for (const r of next) {
            const before = current.get(r.name);
            if (before === JSON.stringify(validateRule(r))) continue;
            if (before !== undefined) alerts.removeRule(r.name);
            alerts.addRule(r);
          }
        }
        if (applied.includes('tuner.enabled')) for (const t of tuners.values()) {
            if (config.tuner.enabled) t.enable();
            else t.disable();
          }
        if (resources !== null && applied.some((k) => k.startsWith('resources.'))) {
          resources.stop();
          resources = makeResources();
          resources.start();
          const w = watched.find((x) => x.name === 'resources');
          if (w) {
            w.startedAtMs = Date.now();
            w.errorsAtLastCheck = 0;
          }
        }
        return { applied, restartRequired };
      },
      stop() {
        if (stopping !== null) return stopping;
        stopped = true;
        stopping = stopAll();
        return stopping;
      },
    };
    monitoring = m;
    return m;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function getKey(obj: object, key: string): unknown {
  let at: unknown = obj;
  for (const p of key.split('.')) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[p] : undefined;
  return at;
}

function setKey(obj: object, key: string, value: unknown): void {
  const parts = key.split('.');
  let at = obj as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) {
    const next = at[p];
    if (typeof next !== 'object' || next === null) return;
    at[p] = { ...(next as Record<string, unknown>) };
    at = at[p] as Record<string, unknown>;
  }
  at[parts[parts.length - 1]!] = value;
}

function fallbackHealth(): MonitoringHealth {
  return { status: 'healthy', checkedAtMs: Date.now(), components: [], eventLagMs: null, memory: { usedBytes: 0, capBytes: 0, degradation: 0 } };
}
