/**
 * What the manager hands to channels and reports: notifications, alert instances, snapshot rows,
 * and the inhibition rule. Pure functions over series states.
 *
 * @module
 */
import type { AlertInstance, AlertNotification, NotificationReason, NotifiedAlert } from '../contract/alerts.js';
import type { SnapshotAlert } from '../contract/snapshot.js';
import type { CompiledRule, SeriesState } from './evaluate.js';
import { fillTemplate, type Labels } from './labels.js';

/** A rule's annotations with `{{value}}` and `{{labels.X}}` filled for one series. */
export function annotationsFor(rule: CompiledRule, labels: Labels, value: number | null): Record<string, string> {
  const out: Record<string, string> = {};
  const a = rule.rule.annotations;
  if (a.summary !== undefined) out.summary = fillTemplate(a.summary, labels, value);
  if (a.description !== undefined) out.description = fillTemplate(a.description, labels, value);
  if (a.runbook !== undefined) out.runbook = fillTemplate(a.runbook, labels, value);
  return out;
}

/** One alert as a notification carries it. */
export function notifiedAlert(rule: CompiledRule, s: SeriesState, status: 'firing' | 'resolved'): NotifiedAlert {
  return {
    fingerprint: s.fingerprint,
    alertname: rule.rule.name,
    status,
    severity: rule.rule.severity,
    labels: { ...s.labels },
    annotations: annotationsFor(rule, s.labels, s.value),
    startsAtMs: s.firingSinceMs ?? s.activeSinceMs,
    endsAtMs: status === 'resolved' ? (s.resolvedAtMs ?? 0) : 0,
    value: s.value === null || !Number.isFinite(s.value) ? null : s.value,
  };
}

/** The labels every alert of a group shares (at least `alertname`). Pure. */
export function commonLabels(alerts: readonly NotifiedAlert[]): Record<string, string> {
  const first = alerts[0];
  if (first === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first.labels)) if (alerts.every((a) => a.labels[k] === v)) out[k] = v;
  return out;
}

let seq = 0;
const bootId = `${Date.now().toString(36)}-${process.pid.toString(36)}`;

/** A notification of one rule's alerts that changed the same way in one evaluation. */
export function makeNotification(reason: NotificationReason, alerts: NotifiedAlert[], nowMs: number): AlertNotification {
  const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  const first = alerts[0];
  return {
    id: `${bootId}-${(++seq).toString(36)}`,
    reason,
    status,
    groupLabels: first === undefined ? {} : { alertname: first.alertname },
    alerts,
    timestampMs: nowMs,
  };
}

/** An alert as `activeAlerts()` / snapshots report it. */
export function alertInstance(rule: CompiledRule, s: SeriesState, muted: boolean): AlertInstance {
  return {
    fingerprint: s.fingerprint,
    rule: rule.rule.name,
    severity: rule.rule.severity,
    state: s.state,
    labels: { ...s.labels },
    annotations: annotationsFor(rule, s.labels, s.value),
    pool: s.labels.pool ?? null,
    activeSinceMs: s.activeSinceMs,
    firingSinceMs: s.firingSinceMs,
    resolvedAtMs: s.resolvedAtMs,
    lastNotifiedMs: s.lastNotifiedMs,
    value: s.value,
    muted,
  };
}

/** A firing alert as the monitoring snapshot carries it. */
export function snapshotAlert(a: AlertInstance): SnapshotAlert {
  const text = a.annotations.summary ?? a.rule;
  return { name: a.rule, severity: a.severity, pool: a.pool, message: a.muted ? `${text} (muted)` : text, sinceMs: a.firingSinceMs ?? a.activeSinceMs };
}

/**
 * The inhibition rule (Alertmanager's `inhibit_rules`, fixed here): a FIRING `critical` alert
 * carrying a `pool` label mutes every `warning` and `info` alert with the same `pool` label, so
 * "pool down" or "crash loop" pages once instead of with every symptom. Alerts without a `pool`
 * label (node, machine) are never inhibited; a silenced critical alert still inhibits (as in
 * Alertmanager). Returns whether `labels`/`severity` is inhibited given the pools with a firing
 * critical alert. Pure.
 */
export function inhibited(severity: string, labels: Labels, criticalPools: ReadonlySet<string>): boolean {
  if (severity === 'critical') return false;
  const pool = labels.pool;
  return pool !== undefined && criticalPools.has(pool);
}
