/**
 * The AlertManager: evaluates alert rules every `intervalMs` over the collector's query API, the
 * pools' status and the resource monitor's latest sample; keeps one alert per fingerprint with
 * Prometheus' states; notifies channels once on firing, again every `repeatIntervalMs`, once on
 * resolution; applies silences and the inhibition rule (notifications.ts, {@link inhibited}).
 *
 * ```ts
 * const alerts = new AlertManager({ collector, resources, pools: [pool], rules: defaultAlertRules(), channels });
 * await alerts.start();
 * alerts.activeAlerts();
 * new MonitoringServer({ collector, alerts: () => alerts.snapshotAlerts() });
 * await alerts.stop();
 * ```
 *
 * Invariants:
 * - An evaluation never awaits: channels get notifications fire-and-forget, their results are
 *   counted when they settle. A hanging channel never delays evaluation or another channel.
 * - Each pool is queried once per evaluation (per window its rules read), each signal read once
 *   per (signal, window, pool), whatever the number of rules reading it (signal-reader.ts).
 * - Memory is bounded: series per rule (`maxSeriesPerRule`), baselines (a fixed ring each),
 *   history (`historyLimit`), silences (1000).
 * - A resolution is notified exactly when the firing was (even if muted since), so a receiver
 *   never keeps an alert that ended.
 *
 * @module
 */
import type { AlertChannel, AlertInstance, AlertNotification, AlertTransition, NotificationReason, NotifiedAlert, RestoredAlert } from '../contract/alerts.js';
import { systemClock, type MetricsClock } from '../contract/clock.js';
import { invalidArgument, PythonBridgeError } from '../contract/errors.js';
import type { TickStats } from '../contract/health.js';
import { windowSeconds } from '../contract/metrics.js';
import type { ResourceSample } from '../contract/resources.js';
import type { SnapshotAlert } from '../contract/snapshot.js';
import { numberOption } from '../contract/options.js';
import { channels as telemetry } from '../telemetry/telemetry.js';
import { BaselineRing } from './baseline.js';
import { compileRule, evaluateRule, newRuleState, type CompiledRule, type RuleState, type SeriesState } from './evaluate.js';
import { compileMatchers, matchesAll, type CompiledMatcher, type LabelMatcher } from './labels.js';
import { alertInstance, inhibited, makeNotification, notifiedAlert, snapshotAlert } from './notifications.js';
import { createChannel, type ChannelInput } from './channels/channel-config.js';
import { validateRule } from './validate.js';
import type { AlertRule, ParsedAlertRule } from './rule-types.js';
import { SignalReader, type AlertCollector, type AlertedPool } from './signal-reader.js';

export type { AlertCollector, AlertedPool } from './signal-reader.js';

/** Where the manager logs (a PoolLogger fits). */
export interface AlertLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Options of {@link AlertManager}. */
export interface AlertManagerOptions {
  collector: AlertCollector;
  /** The resource monitor (or anything with `getResources()`): node and python signals. */
  resources?: { getResources(): ResourceSample } | null;
  /** Pools whose status gives `pool.size` / `minSize` / `up` / `queueFillRatio` / `workersBelowMinSize`. */
  pools?: readonly AlertedPool[];
  /** Rules; a bad one is reported ({@link AlertManager.ruleErrors}, logged) and skipped. */
  rules?: readonly unknown[];
  /**
   * Where notifications go: channel configs (`{ type: 'log' | 'file' | 'webhook' | 'email', … }`,
   * validated; a bad one throws naming the field) or channel objects. None: alerts are kept,
   * shown and published on `dspex:alert:*`, but nobody is notified.
   */
  channels?: readonly ChannelInput[];
  /** Evaluation period, ms (default 5000). */
  intervalMs?: number;
  /** A still-firing alert is notified again after this, ms (default 4 h, Alertmanager's `repeat_interval`). */
  repeatIntervalMs?: number;
  /** Transitions `alertHistory()` keeps (default 1000). */
  historyLimit?: number;
  /** Points of each baseline ring (`dynamic`, `rate`, `anomaly`; default 120: 10 minutes at 5 s). */
  baselinePoints?: number;
  /** Most alert series per rule (default 1000). */
  maxSeriesPerRule?: number;
  clock?: MetricsClock;
  logger?: AlertLogger | null;
}

/** A rule the constructor skipped. */
export interface RuleError {
  index: number;
  name: string | null;
  error: PythonBridgeError;
}

/** A silence: alerts whose labels match every matcher are not notified until `untilMs`. */
export interface Silence {
  id: string;
  matchers: LabelMatcher[];
  untilMs: number;
  createdAtMs: number;
  comment: string;
}

/** Notification delivery counters of the manager (per channel figures: each channel's `stats()`). */
export interface DispatchStats {
  notifications: number;
  sent: number;
  failed: number;
  dropped: number;
  /** `send` promises not settled yet. */
  inFlight: number;
}

interface RuleEntry {
  compiled: CompiledRule;
  state: RuleState;
}

const MAX_SILENCES = 1000;
const transitionChannel = { pending: telemetry['dspex:alert:pending'], inactive: telemetry['dspex:alert:pending'], firing: telemetry['dspex:alert:firing'], resolved: telemetry['dspex:alert:resolved'] };
const notificationChannel = telemetry['dspex:alert:notification'];

/** Evaluates alert rules and notifies channels; see the module note. */
export class AlertManager {
  private readonly collector: AlertCollector;
  private readonly resources: { getResources(): ResourceSample } | null;
  private readonly pools: AlertedPool[];
  private readonly channels: AlertChannel[];
  private readonly clock: MetricsClock;
  private readonly logger: AlertLogger | null;
  readonly intervalMs: number;
  readonly repeatIntervalMs: number;
  private readonly historyLimit: number;
  private readonly baselinePoints: number;
  private readonly maxSeriesPerRule: number;
  private readonly rules = new Map<string, RuleEntry>();
  private readonly errors: RuleError[] = [];
  private readonly history: AlertTransition[] = [];
  private historyHead = 0;
  private readonly silenceList = new Map<string, Silence & { compiled: CompiledMatcher[] }>();
  private silenceSeq = 0;
  private readonly restored = new Map<string, RestoredAlert>();
  private readonly signals: SignalReader;
  /** This evaluation's transitions (cleared, not reallocated, each evaluation). */
  private readonly transitions: AlertTransition[] = [];
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private readonly dispatch: DispatchStats = { notifications: 0, sent: 0, failed: 0, dropped: 0, inFlight: 0 };
  private readonly tick = { ticks: 0, errors: 0, lastError: null as string | null, lastEndMs: null as number | null, lastDurationMs: null as number | null };
  private readonly criticalPools = new Set<string>();

  /** @throws PythonBridgeError `invalid_options` naming the option (a bad rule is skipped instead). */
  constructor(options: AlertManagerOptions) {
    const where = 'AlertManager';
    this.collector = options.collector;
    this.resources = options.resources ?? null;
    this.pools = [...(options.pools ?? [])];
    this.channels = (options.channels ?? []).map((c, i) => {
      try {
        return createChannel(c);
      } catch (err) {
        // Name the position: with several webhooks, "url" alone does not say which one.
        if (err instanceof PythonBridgeError) throw new PythonBridgeError('invalid_request', 'invalid_options', `${where}: channels.${i}: ${err.message}`, { cause: err, details: { ...err.details, option: `channels.${i}.${String(err.details?.['option'] ?? '')}` } });
        throw err;
      }
    });
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? null;
    this.signals = new SignalReader(this.collector, this.pools, this.clock);
    this.intervalMs = numberOption(where, 'intervalMs', options.intervalMs, 5000, { min: 10, max: 3_600_000 });
    this.repeatIntervalMs = numberOption(where, 'repeatIntervalMs', options.repeatIntervalMs, 4 * 3_600_000, { min: 0, max: 366 * 24 * 3_600_000 });
    this.historyLimit = numberOption(where, 'historyLimit', options.historyLimit, 1000, { min: 1, max: 1_000_000 });
    this.baselinePoints = numberOption(where, 'baselinePoints', options.baselinePoints, 120, { min: 3, max: 4096 });
    this.maxSeriesPerRule = numberOption(where, 'maxSeriesPerRule', options.maxSeriesPerRule, 1000, { min: 1, max: 100_000 });
    (options.rules ?? []).forEach((raw, index) => {
      try {
        this.addRule(raw as AlertRule, `rules.${index}`);
      } catch (err) {
        const error = err as PythonBridgeError;
        const name = typeof (raw as { name?: unknown })?.name === 'string' ? (raw as { name: string }).name : null;
        this.errors.push({ index, name, error });
        this.logger?.warn({ rule: name, index, option: error.details?.option }, `alert rule skipped: ${error.message}`);
      }
    });
  }

  /**
   * Add (or replace, by name) a rule. Its alerts start inactive.
   * @throws PythonBridgeError `invalid_request` / `invalid_options`, `details.option` naming the field.
   */
  addRule(rule: AlertRule, where = 'rule'): ParsedAlertRule {
    const parsed = validateRule(rule, where);
    this.rules.set(parsed.name, { compiled: compileRule(parsed), state: newRuleState(this.baselinePoints, this.maxSeriesPerRule) });
    return parsed;
  }

  /** Remove a rule. Its notified firing alerts are notified resolved (once); the others just end. True when it existed. */
  removeRule(name: string): boolean {
    const entry = this.rules.get(name);
    if (entry === undefined) return false;
    this.rules.delete(name);
    this.signals.forgetPoolSlots();
    const now = this.clock.nowMs();
    const alerts: NotifiedAlert[] = [];
    for (const s of entry.state.series.values()) {
      if (s.state !== 'firing' || s.lastNotifiedMs === null) continue;
      s.resolvedAtMs = now;
      alerts.push(notifiedAlert(entry.compiled, s, 'resolved'));
    }
    if (alerts.length > 0) this.send(makeNotification('resolved', alerts, now));
    return true;
  }

  /** The rules, validated (defaults filled). */
  listRules(): ParsedAlertRule[] {
    return [...this.rules.values()].map((r) => r.compiled.rule);
  }

  /** The constructor's rules that were skipped, and why. */
  ruleErrors(): readonly RuleError[] {
    return this.errors;
  }

  /**
   * Read the channels' kept state (`restore()`), then evaluate every `intervalMs` (timer unref'd).
   * An alert restored as firing whose condition still holds keeps firing without a new
   * notification; one whose condition no longer holds resolves (notified once). Idempotent.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const ch of this.channels) {
      if (ch.restore === undefined) continue;
      try {
        for (const a of await ch.restore()) if (a.status === 'firing') this.restored.set(a.fingerprint, a);
      } catch (err) {
        this.logger?.warn({ channel: ch.name }, `alert channel restore failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (!this.started) return;
    this.adoptRestored();
    this.schedule();
  }

  /** Stop evaluating, then close every channel (each flushes within its own deadline). Idempotent. */
  async stop(): Promise<void> {
    const wasStarted = this.started;
    this.started = false;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (wasStarted) await Promise.allSettled(this.channels.map((c) => c.close()));
  }

  /** Watch another pool's status (size, minSize, queue). */
  addPool(pool: AlertedPool): void {
    if (!this.pools.includes(pool)) this.pools.push(pool);
  }

  /**
   * Start the evaluation timer again (the monitoring self-check's remedy for a stalled tick):
   * alert state and channels are kept. Does nothing when stopped.
   */
  restartTimer(): void {
    if (!this.started) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.started) return;
      this.evaluate();
      if (this.started) this.schedule();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Restored firing alerts become firing series of their rule (matched by `alertname`). */
  private adoptRestored(): void {
    for (const [fp, a] of this.restored) {
      const entry = this.rules.get(a.alertname);
      if (entry === undefined) continue; // resolved at the next evaluation (see evaluate)
      if (entry.state.series.has(fp)) {
        this.restored.delete(fp);
        continue;
      }
      entry.state.series.set(fp, {
        fingerprint: fp,
        labels: Object.freeze({ ...a.labels }),
        state: 'firing',
        activeSinceMs: a.startsAtMs,
        firingSinceMs: a.startsAtMs,
        resolvedAtMs: null,
        // Held for its window (1 minute by default) as though true now: after a restart the
        // metrics start from zero (an error rate of an empty window is 0), and resolving on them
        // would notify a resolution and, as the errors come back, a second firing. If the
        // condition does hold meanwhile, this is overwritten by the real time it held.
        lastTrueMs: this.clock.nowMs() + restoreGraceMs(entry.compiled.rule) - entry.compiled.rule.keepFiringForMs,
        lastNotifiedMs: a.lastNotifiedMs,
        value: null,
        seenAtMs: -1,
        baselines: entry.compiled.conditions.map((c) => (c.kind === 'threshold' ? null : new BaselineRing(entry.state.capacity))),
      });
      this.restored.delete(fp);
    }
  }

  /**
   * One evaluation at `nowMs` (default: the clock): every rule, then notifications. Never throws
   * (a failure is counted in {@link tickStats}); returns this evaluation's transitions.
   */
  evaluate(nowMs = this.clock.nowMs()): AlertTransition[] {
    const t0 = performance.now();
    const out = this.transitions;
    out.length = 0;
    try {
      this.signals.begin(this.latestSample());
      const lookup = this.signals.lookup;
      for (const entry of this.rules.values()) {
        entry.state.removed.length = 0;
        evaluateRule(entry.compiled, lookup, entry.state, nowMs, out);
      }
      this.record(out);
      this.notify(nowMs, out);
      this.resolveOrphanedRestores(nowMs);
    } catch (err) {
      this.tick.errors++;
      this.tick.lastError = err instanceof Error ? err.message : String(err);
    }
    this.tick.ticks++;
    this.tick.lastEndMs = this.clock.nowMs();
    this.tick.lastDurationMs = performance.now() - t0;
    return out.slice();
  }

  /** The resource monitor's latest sample (null without one, or when it fails: node and python series are then absent). */
  private latestSample(): ResourceSample | null {
    if (this.resources === null) return null;
    try {
      return this.resources.getResources();
    } catch {
      return null;
    }
  }

  private record(transitions: readonly AlertTransition[]): void {
    for (const t of transitions) {
      if (this.history.length < this.historyLimit) this.history.push(t);
      else {
        this.history[this.historyHead] = t;
        this.historyHead = (this.historyHead + 1) % this.historyLimit;
      }
      const ch = transitionChannel[t.to];
      if (ch.hasSubscribers) ch.publish(t);
    }
  }

  private isSilenced(labels: Readonly<Record<string, string>>, nowMs: number): boolean {
    for (const s of this.silenceList.values()) if (s.untilMs > nowMs && matchesAll(s.compiled, labels)) return true;
    return false;
  }

  private isMuted(entry: RuleEntry, s: SeriesState, nowMs: number): boolean {
    return inhibited(entry.compiled.rule.severity, s.labels, this.criticalPools) || (this.silenceList.size > 0 && this.isSilenced(s.labels, nowMs));
  }

  /** Notifications of this evaluation: one per rule and reason (Alertmanager's grouping by alertname). */
  private notify(nowMs: number, transitions: readonly AlertTransition[]): void {
    for (const [id, s] of this.silenceList) if (s.untilMs <= nowMs) this.silenceList.delete(id);
    this.criticalPools.clear();
    for (const entry of this.rules.values()) {
      if (entry.compiled.rule.severity !== 'critical') continue;
      for (const s of entry.state.series.values()) if (s.state === 'firing' && s.labels.pool !== undefined) this.criticalPools.add(s.labels.pool);
    }
    // Resolutions of notified alerts (the series may already be gone from the rule's state).
    if (transitions.length > 0) {
      const resolvedByRule = new Map<string, NotifiedAlert[]>();
      for (const t of transitions) {
        if (t.to !== 'resolved') continue;
        const entry = this.rules.get(t.rule);
        const s = entry && this.findResolved(entry, t);
        if (entry === undefined || s === undefined || s.lastNotifiedMs === null) continue;
        let list = resolvedByRule.get(t.rule);
        if (list === undefined) resolvedByRule.set(t.rule, (list = []));
        list.push(notifiedAlert(entry.compiled, s, 'resolved'));
        s.lastNotifiedMs = null;
      }
      for (const alerts of resolvedByRule.values()) this.send(makeNotification('resolved', alerts, nowMs));
    }
    for (const entry of this.rules.values()) {
      let firing: NotifiedAlert[] | null = null;
      let repeat: NotifiedAlert[] | null = null;
      for (const s of entry.state.series.values()) {
        if (s.state !== 'firing') continue;
        let reason: NotificationReason | null = null;
        if (s.lastNotifiedMs === null) reason = 'firing';
        else if (nowMs - s.lastNotifiedMs >= this.repeatIntervalMs) reason = 'repeat';
        if (reason === null || this.isMuted(entry, s, nowMs)) continue;
        s.lastNotifiedMs = nowMs;
        const a = notifiedAlert(entry.compiled, s, 'firing');
        if (reason === 'firing') (firing ??= []).push(a);
        else (repeat ??= []).push(a);
      }
      if (firing !== null) this.send(makeNotification('firing', firing, nowMs));
      if (repeat !== null) this.send(makeNotification('repeat', repeat, nowMs));
    }
  }

  /** The series a `resolved` transition was about: still in the state until the cycle ends, or kept aside. */
  private findResolved(entry: RuleEntry, t: AlertTransition): SeriesState | undefined {
    const s = entry.state.series.get(t.fingerprint);
    if (s !== undefined) return s;
    return entry.state.removed.find((r) => r.fingerprint === t.fingerprint);
  }

  /** Restored firing alerts whose rule no longer exists: resolved, notified once. */
  private resolveOrphanedRestores(nowMs: number): void {
    if (this.restored.size === 0) return;
    const byName = new Map<string, NotifiedAlert[]>();
    for (const a of this.restored.values()) {
      if (this.rules.has(a.alertname)) continue;
      let list = byName.get(a.alertname);
      if (list === undefined) byName.set(a.alertname, (list = []));
      list.push({ fingerprint: a.fingerprint, alertname: a.alertname, status: 'resolved', severity: toSeverity(a.labels.severity), labels: { ...a.labels }, annotations: {}, startsAtMs: a.startsAtMs, endsAtMs: nowMs, value: null });
    }
    this.restored.clear();
    for (const alerts of byName.values()) this.send(makeNotification('resolved', alerts, nowMs));
  }

  /** Hand a notification to every channel, without awaiting; count how each send ends. */
  private send(n: AlertNotification): void {
    const d = this.dispatch;
    d.notifications++;
    if (notificationChannel.hasSubscribers) notificationChannel.publish({ timestampMs: n.timestampMs, notification: n, channels: this.channels.map((c) => c.name) });
    for (const ch of this.channels) {
      d.inFlight++;
      let p: Promise<{ status: string }>;
      try {
        p = ch.send(n);
      } catch (err) {
        p = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      p.then(
        (r) => {
          d.inFlight--;
          if (r.status === 'sent') d.sent++;
          else if (r.status === 'failed') d.failed++;
          else d.dropped++;
        },
        () => {
          d.inFlight--;
          d.failed++;
        },
      );
    }
  }

  /**
   * Mute notifications of alerts whose labels match every matcher until `untilMs` (a record is
   * shorthand for `=` matchers). Returns the silence's id.
   * @throws PythonBridgeError `invalid_argument` for an empty matcher list, a bad regular
   *   expression, a time not in the future, or more than 1000 silences.
   */
  silence(matchers: readonly LabelMatcher[] | Readonly<Record<string, string>>, untilMs: number, comment = ''): string {
    const list: LabelMatcher[] = Array.isArray(matchers) ? [...(matchers as readonly LabelMatcher[])] : Object.entries(matchers).map(([name, value]) => ({ name, value: String(value) }));
    if (list.length === 0) throw invalidArgument('AlertManager.silence', 'matchers', 'must name at least one label');
    const now = this.clock.nowMs();
    if (!Number.isFinite(untilMs) || untilMs <= now) throw invalidArgument('AlertManager.silence', 'untilMs', 'must be a time in the future, ms since the epoch');
    if (this.silenceList.size >= MAX_SILENCES) throw invalidArgument('AlertManager.silence', 'matchers', `at most ${MAX_SILENCES} silences`);
    let compiled: CompiledMatcher[];
    try {
      compiled = compileMatchers(list);
    } catch (err) {
      throw invalidArgument('AlertManager.silence', 'matchers', `bad regular expression: ${(err as Error).message}`);
    }
    const id = `silence-${++this.silenceSeq}`;
    this.silenceList.set(id, { id, matchers: list, untilMs, createdAtMs: now, comment, compiled });
    return id;
  }

  /** End a silence. True when it existed. */
  unsilence(id: string): boolean {
    return this.silenceList.delete(id);
  }

  /** Silences in force. */
  silences(): Silence[] {
    const now = this.clock.nowMs();
    return [...this.silenceList.values()].filter((s) => s.untilMs > now).map(({ compiled: _c, ...s }) => ({ ...s, matchers: s.matchers.map((m) => ({ ...m })) }));
  }

  /** Pending and firing alerts, firing first, then by rule name. */
  activeAlerts(): AlertInstance[] {
    const now = this.clock.nowMs();
    const out: AlertInstance[] = [];
    for (const entry of this.rules.values()) {
      for (const s of entry.state.series.values()) {
        if (s.state !== 'pending' && s.state !== 'firing') continue;
        out.push(alertInstance(entry.compiled, s, this.isMuted(entry, s, now)));
      }
    }
    return out.sort((a, b) => (a.state === b.state ? (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0) : a.state === 'firing' ? -1 : 1));
  }

  /** Transitions, oldest first: those at or after `sinceMs`, the last `limit` of them. */
  alertHistory(query: { sinceMs?: number; limit?: number } = {}): AlertTransition[] {
    const ordered = this.history.length < this.historyLimit ? this.history : [...this.history.slice(this.historyHead), ...this.history.slice(0, this.historyHead)];
    const since = query.sinceMs ?? -Infinity;
    const matching = ordered.filter((t) => t.atMs >= since);
    const limit = query.limit ?? matching.length;
    return matching.slice(Math.max(0, matching.length - limit)).map((t) => ({ ...t, labels: { ...t.labels } }));
  }

  /** Firing alerts as the monitoring snapshot carries them (for `MonitoringSources.alerts`). */
  snapshotAlerts(): SnapshotAlert[] {
    return this.activeAlerts()
      .filter((a) => a.state === 'firing')
      .map(snapshotAlert);
  }

  /** Delivery counters. */
  dispatchStats(): DispatchStats {
    return { ...this.dispatch };
  }

  /** The evaluations (for the self-check of `createMonitoring`; see {@link TickStats}). */
  tickStats(): TickStats {
    return {
      running: this.started,
      intervalMs: this.intervalMs,
      lastTickEndMs: this.tick.lastEndMs,
      lastTickDurationMs: this.tick.lastDurationMs,
      ticks: this.tick.ticks,
      errors: this.tick.errors,
      lastError: this.tick.lastError,
    };
  }
}

/** How long a restored firing alert is held before its metrics may resolve it: its longest window. */
function restoreGraceMs(rule: ParsedAlertRule): number {
  let s = windowSeconds[rule.window];
  if (rule.kind === 'composite') for (const c of rule.conditions) s = Math.max(s, windowSeconds[c.window ?? rule.window]);
  return s * 1000;
}

function toSeverity(s: string | undefined): 'info' | 'warning' | 'critical' {
  return s === 'info' || s === 'critical' ? s : 'warning';
}
