/**
 * What a soak run measures every interval ({@link SoakSample}) and how: {@link takeSample} reads
 * the Node process (after a forced GC when `--expose-gc` is on), the size of each monitoring
 * structure, the latency of a snapshot query (in process and over HTTP), the alert activity, the
 * Python workers' RSS from the resource monitor's latest sample and the load's counters.
 *
 * Alerts are read by name on `dspex:alert:firing` / `dspex:alert:resolved` ({@link AlertActivity}),
 * and from `monitoring.alerts.activeAlerts()` when the stack has an alert manager: the soak does
 * not depend on the alerting stage being there, so it runs (and counts zero) without it.
 *
 * @module
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { Monitoring } from '../config/create-monitoring.js';
import type { LoadStats } from '../demo/load.js';
import { fetchSnapshot } from '../exporters/client.js';

/** One Python worker's RSS in a sample. */
export interface WorkerRss {
  readonly workerId: number | null;
  readonly pid: number;
  readonly rssBytes: number;
}

/** One sample of a soak run. */
export interface SoakSample {
  /** Time since the load started, ms. */
  readonly tMs: number;
  readonly timestampMs: number;
  /** Node heap in use (after a forced GC when available: retained memory, not garbage). */
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
  /** Memory outside the V8 heap (typed-array backing stores: the collector's rings and sketches). */
  readonly externalBytes: number;
  /** `collector.memoryBytes()`, by construction. */
  readonly collectorBytes: number;
  /** The collector's designed bound for the watched pools. */
  readonly collectorBoundBytes: number;
  /** Python processes in the resource monitor's latest sample (0 without a monitor). */
  readonly trackedProcesses: number;
  /** Duration of the last tick of the resource monitor, ms (null without one). */
  readonly resourcesTickMs: number | null;
  /** SSE clients and open connections of the monitoring server. */
  readonly serverConnections: number;
  /** In-process query latency: the collector's performance summary and current metrics of every pool, ms. */
  readonly queryMs: number;
  /** `GET /api/snapshot` round trip, ms (null without a server, or when it failed). */
  readonly snapshotMs: number | null;
  /** Alerts fired / resolved since the run started (published on the alert channels). */
  readonly alertsFired: number;
  readonly alertsResolved: number;
  /** `monitoring.alerts.activeAlerts().length`, or null when the stack has no alert manager. */
  readonly alertsActive: number | null;
  /** `monitoring.health().status`. */
  readonly health: string;
  readonly workers: readonly WorkerRss[];
  /** Mean and max RSS of the Python workers, bytes (0 with none). */
  readonly pythonRssMeanBytes: number;
  readonly pythonRssMaxBytes: number;
  /** Replacements of the current workers' slots so far (the sum of their generations: crashes the load asked for). */
  readonly restarts: number;
  /** Workers in the pools' status (the size should hold). */
  readonly poolWorkers: number;
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
}

/** One alert event seen on the channels. */
export interface AlertEvent {
  readonly tMs: number;
  readonly kind: 'firing' | 'resolved';
  /** The rule or alert name when the payload has one. */
  readonly name: string;
}

/** The channel names the alert manager publishes on (issue 14). */
export const ALERT_CHANNELS = { firing: 'dspex:alert:firing', resolved: 'dspex:alert:resolved' } as const;

const MAX_ALERT_EVENTS = 1000;

function alertName(payload: unknown): string {
  if (typeof payload !== 'object' || payload === null) return 'alert';
  const o = payload as Record<string, unknown>;
  for (const k of ['rule', 'name', 'id']) if (typeof o[k] === 'string') return o[k];
  const alert = o['alert'];
  return alert !== payload ? alertName(alert) : 'alert';
}

/**
 * Counts alert events on the alert channels, by name (they need not exist yet). Keeps the first
 * {@link MAX_ALERT_EVENTS} events for the report; counts all. `stop()` unsubscribes.
 */
export class AlertActivity {
  fired = 0;
  resolved = 0;
  readonly events: AlertEvent[] = [];
  // Module-lifetime references keep the channels (and their subscribers) alive: nodejs/node#42170.
  private readonly channels = [diagnosticsChannel.channel(ALERT_CHANNELS.firing), diagnosticsChannel.channel(ALERT_CHANNELS.resolved)] as const;
  private readonly onFiring = (m: unknown): void => this.note('firing', m);
  private readonly onResolved = (m: unknown): void => this.note('resolved', m);
  private subscribed = false;

  constructor(private readonly startMs: () => number) {}

  start(): void {
    if (this.subscribed) return;
    diagnosticsChannel.subscribe(ALERT_CHANNELS.firing, this.onFiring);
    diagnosticsChannel.subscribe(ALERT_CHANNELS.resolved, this.onResolved);
    this.subscribed = true;
  }

  stop(): void {
    if (!this.subscribed) return;
    diagnosticsChannel.unsubscribe(ALERT_CHANNELS.firing, this.onFiring);
    diagnosticsChannel.unsubscribe(ALERT_CHANNELS.resolved, this.onResolved);
    this.subscribed = false;
  }

  /** True while subscribed (the channels have a subscriber). */
  get listening(): boolean {
    return this.subscribed && this.channels.every((c) => c.hasSubscribers);
  }

  private note(kind: AlertEvent['kind'], payload: unknown): void {
    if (kind === 'firing') this.fired++;
    else this.resolved++;
    if (this.events.length < MAX_ALERT_EVENTS) this.events.push({ tMs: Date.now() - this.startMs(), kind, name: alertName(payload) });
  }
}

/** `monitoring.alerts.activeAlerts().length`, or null when the stack runs without an alert manager (`alerts.enabled: false`). */
export function activeAlertCount(monitoring: Monitoring): number | null {
  return monitoring.alerts === null ? null : monitoring.alerts.activeAlerts().filter((a) => a.state === 'firing').length;
}

/** What {@link takeSample} reads. */
export interface SampleSources {
  readonly monitoring: Monitoring;
  readonly load: LoadStats;
  readonly alerts: AlertActivity;
  /** When the load started, epoch ms. */
  readonly startMs: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** True when samples are taken after a forced GC (`node --expose-gc`). */
export const gcAvailable = typeof gc === 'function';

/** Take one sample (after a forced GC when available). Never throws for a failed HTTP query: `snapshotMs` is null then. */
export async function takeSample(src: SampleSources): Promise<SoakSample> {
  const { monitoring: m } = src;
  gc?.();
  const mem = process.memoryUsage();
  const now = Date.now();
  const pools = m.pools;

  const q0 = performance.now();
  for (const p of pools) {
    m.collector.getPerformanceSummary(p.name);
    m.collector.getCurrentMetrics(p.name);
  }
  const queryMs = performance.now() - q0;

  let snapshotMs: number | null = null;
  if (m.url !== null) {
    const h0 = performance.now();
    try {
      await fetchSnapshot(m.url, { timeoutMs: 5000 });
      snapshotMs = performance.now() - h0;
    } catch {
      snapshotMs = null;
    }
  }

  const names = new Set(pools.map((p) => p.name));
  const resources = m.resources;
  const latest = resources?.getResources() ?? null;
  const workers: WorkerRss[] = (latest?.python ?? []).filter((p) => p.pool !== null && names.has(p.pool) && !p.orphan).map((p) => ({ workerId: p.workerId, pid: p.pid, rssBytes: p.rssBytes }));
  const rss = workers.map((w) => w.rssBytes);
  let restarts = 0;
  let poolWorkers = 0;
  for (const p of pools) {
    const st = p.status();
    poolWorkers += st.workers.length;
    for (const w of st.workers) restarts += w.generation;
  }

  return {
    tMs: now - src.startMs,
    timestampMs: now,
    heapUsedBytes: mem.heapUsed,
    rssBytes: mem.rss,
    externalBytes: mem.external,
    collectorBytes: m.collector.memoryBytes(),
    collectorBoundBytes: pools.reduce((s, p) => s + m.collector.memoryBoundPerPool(p.name), 0),
    trackedProcesses: latest?.python.length ?? 0,
    resourcesTickMs: resources?.tickStats().lastTickDurationMs ?? null,
    serverConnections: m.server?.connectionCount ?? 0,
    queryMs,
    snapshotMs,
    alertsFired: src.alerts.fired,
    alertsResolved: src.alerts.resolved,
    alertsActive: activeAlertCount(m),
    health: m.health().status,
    workers,
    pythonRssMeanBytes: rss.length ? rss.reduce((a, b) => a + b, 0) / rss.length : 0,
    pythonRssMaxBytes: rss.length ? Math.max(...rss) : 0,
    restarts,
    poolWorkers,
    sent: src.load.sent,
    ok: src.load.ok,
    failed: src.load.failed,
    skipped: src.load.skipped,
  };
}
