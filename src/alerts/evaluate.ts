/**
 * One rule's evaluation: (rule, signal values, rule state, now) → the rule state updated and the
 * transitions of this evaluation. Deterministic, no I/O, no clock: the caller owns the state (it
 * is updated in place, so a cycle allocates nothing for series that did not change).
 *
 * Semantics (Prometheus alerting rules):
 * - One alert per fingerprint: the rule's name and labels plus the signal series' labels.
 * - inactive → pending when the condition holds; pending → firing once it has held for `forMs`
 *   (with `forMs` 0, straight to firing); pending → inactive when it stops holding first.
 * - firing → resolved once it has not held for `keepFiringForMs` (0: at the first evaluation it
 *   does not hold); resolved → pending when it holds again (a new alert instance).
 * - A series that disappears (its pool or worker is gone) does not hold: it resolves like any
 *   other, and its state (baselines included) is dropped once inactive or resolved.
 * - Baselines (`dynamic`, `rate`, `anomaly`) are per series and condition, in a fixed ring; a
 *   value is compared with the history before it and then added to it.
 *
 * @module
 */
import type { AlertState, AlertTransition } from '../contract/alerts.js';
import type { WindowName } from '../contract/metrics.js';
import { BaselineRing, oldestSince, ringMedian, ringMedianMad, ringSlopePerS } from './baseline.js';
import { fingerprint, type Labels } from './labels.js';
import { conditionsOf } from './validate.js';
import type { ParsedAlertRule, ParsedCondition } from './rule-types.js';
import type { SignalName, SignalValue } from './signals.js';

/** A rule ready to evaluate: validated, its conditions resolved, its own labels built once. */
export interface CompiledRule {
  rule: ParsedAlertRule;
  conditions: ParsedCondition[];
  /** `alertname`, `severity` and the rule's labels. */
  ownLabels: Labels;
}

/** Compile a validated rule. Pure. */
export function compileRule(rule: ParsedAlertRule): CompiledRule {
  return { rule, conditions: conditionsOf(rule), ownLabels: Object.freeze({ ...rule.labels, alertname: rule.name, severity: rule.severity }) };
}

/** One alert series' state (one fingerprint). */
export interface SeriesState {
  fingerprint: string;
  /** Every label: the signal's, the rule's, `alertname`, `severity`. */
  labels: Labels;
  state: AlertState;
  activeSinceMs: number;
  firingSinceMs: number | null;
  resolvedAtMs: number | null;
  lastTrueMs: number;
  /** Set by the manager when it notifies. */
  lastNotifiedMs: number | null;
  value: number | null;
  /** Evaluation time it was last present at. */
  seenAtMs: number;
  /** Per condition, the history (null for conditions that need none). */
  baselines: (BaselineRing | null)[];
}

/** A rule's state between evaluations. */
export interface RuleState {
  series: Map<string, SeriesState>;
  /** Baseline ring capacity. */
  capacity: number;
  /** Most series kept; beyond, new label sets are not evaluated (counted). */
  maxSeries: number;
  droppedSeries: number;
  /** Series dropped by the last evaluation (gone and done): the caller reads then clears it. */
  removed: SeriesState[];
  /** Signal labels object → fingerprint (label objects are stable across evaluations). */
  fingerprints: WeakMap<Labels, string>;
}

/** A fresh rule state. */
export function newRuleState(capacity = 120, maxSeries = 1000): RuleState {
  return { series: new Map(), capacity, maxSeries, droppedSeries: 0, removed: [], fingerprints: new WeakMap() };
}

/** The signal values one evaluation sees: `(signal, window, pool?)` → its series. */
export type SignalLookup = (signal: SignalName, window: WindowName, pool: string | undefined) => readonly SignalValue[];

function compare(v: number, op: '>' | '>=' | '<' | '<=', limit: number): boolean {
  return op === '>' ? v > limit : op === '>=' ? v >= limit : op === '<' ? v < limit : v <= limit;
}

const mm = { median: 0, mad: 0 };

/** The smallest deviation scale of an anomaly condition, relative to the baseline's level. */
export const RELATIVE_SCALE_FLOOR = 1e-3;

/** Whether a condition holds for `value`, reading its baseline before adding the value to it. Pure but for the ring. */
export function conditionHolds(c: ParsedCondition, value: number, ring: BaselineRing | null, nowMs: number): boolean {
  let holds = false;
  switch (c.kind) {
    case 'threshold':
      return compare(value, c.op, c.value);
    case 'dynamic': {
      const r = ring!;
      if (r.count >= c.minSamples) {
        const base = ringMedian(r);
        holds = compare(value, c.op, c.multiple * base) && (c.minValue === undefined || compare(value, c.op, c.minValue));
      }
      r.push(nowMs, value, 0.1);
      return holds;
    }
    case 'rate': {
      const r = ring!;
      const since = nowMs - c.overMs;
      let change: number | null = null;
      if (c.mode === 'perSecond') change = ringSlopePerS(r, since, nowMs, value, c.overMs / 2);
      else {
        const idx = oldestSince(r, since);
        if (idx >= 0 && nowMs - r.times[idx]! >= c.overMs / 2) {
          const then = r.values[idx]!;
          change = c.mode === 'delta' ? value - then : then !== 0 ? value / then : value === 0 ? 1 : value > 0 ? Infinity : -Infinity;
        }
      }
      if (change !== null) holds = compare(change, c.op, c.value) && (c.minValue === undefined || value >= c.minValue);
      r.push(nowMs, value, 0.1);
      return holds;
    }
    default: {
      const r = ring!;
      if (r.seen >= c.minSamples && r.count > 0) {
        let dev: number;
        let scale: number;
        // A small baseline's spread is itself uncertain: a MAD (or EWMA deviation) from 20 values
        // comes out at half its true size now and then, and a steady series then "jumps". The
        // factor (1 + 1.5/√n) widens the band while the baseline is short (×1.34 at 20 values,
        // ×1.14 at 120), checked with the steady-noise property of test/alerts/evaluate.test.ts (4 × 3000 fast-check runs).
        if (c.method === 'mad') {
          ringMedianMad(r, mm);
          dev = value - mm.median;
          scale = 1.4826 * mm.mad * (1 + 1.5 / Math.sqrt(r.count));
        } else {
          dev = value - r.ewmaMean;
          scale = Math.sqrt(r.ewmaVar) * (1 + 1.5 / Math.sqrt(Math.min(r.seen, r.count)));
        }
        // A floor of 0.1% of the level: a series flat but for rounding (MAD 0) must not turn a
        // change in its 15th digit into an infinite z-score (found by the fast-check property).
        scale = Math.max(scale, RELATIVE_SCALE_FLOOR * Math.abs(value - dev));
        const z = scale > 0 ? dev / scale : dev === 0 ? 0 : dev > 0 ? Infinity : -Infinity;
        const up = z > c.threshold && dev > c.minDeviation;
        const down = z < -c.threshold && -dev > c.minDeviation;
        holds = c.direction === 'up' ? up : c.direction === 'down' ? down : up || down;
      }
      r.push(nowMs, value, c.alpha);
      return holds;
    }
  }
}

/**
 * The series of a label set seen before (the usual case), or undefined. Small enough to be inlined:
 * calling {@link seriesFor} for every series cost ~40 bytes each (the evaluation time boxed for
 * the call, measured), this costs none.
 */
function knownSeries(state: RuleState, signalLabels: Labels): SeriesState | undefined {
  const fp = state.fingerprints.get(signalLabels);
  return fp === undefined ? undefined : state.series.get(fp);
}

function seriesFor(rule: CompiledRule, state: RuleState, signalLabels: Labels, nowMs: number): SeriesState | null {
  let fp = state.fingerprints.get(signalLabels);
  let labels: Labels | null = null;
  if (fp === undefined) {
    labels = { ...signalLabels, ...rule.ownLabels };
    fp = fingerprint(labels);
    state.fingerprints.set(signalLabels, fp);
  }
  let s = state.series.get(fp);
  if (s === undefined) {
    if (state.series.size >= state.maxSeries) {
      state.droppedSeries++;
      return null;
    }
    labels ??= { ...signalLabels, ...rule.ownLabels };
    s = {
      fingerprint: fp,
      labels: Object.freeze(labels),
      state: 'inactive',
      activeSinceMs: nowMs,
      firingSinceMs: null,
      resolvedAtMs: null,
      lastTrueMs: -Infinity,
      lastNotifiedMs: null,
      value: null,
      seenAtMs: -1, // the caller marks it seen
      baselines: rule.conditions.map((c) => (c.kind === 'threshold' ? null : new BaselineRing(state.capacity))),
    };
    state.series.set(fp, s);
  }
  return s;
}

function transition(rule: CompiledRule, s: SeriesState, to: AlertState, nowMs: number, out: AlertTransition[]): void {
  out.push({ fingerprint: s.fingerprint, rule: rule.rule.name, severity: rule.rule.severity, from: s.state, to, atMs: nowMs, labels: s.labels, value: s.value });
  s.state = to;
}

/** Move one series' state machine by one evaluation. Pure but for `s` and `out`. */
export function step(rule: CompiledRule, s: SeriesState, holds: boolean, nowMs: number, out: AlertTransition[]): void {
  const { forMs, keepFiringForMs } = rule.rule;
  switch (s.state) {
    case 'inactive':
    case 'resolved':
      if (!holds) return;
      s.activeSinceMs = nowMs;
      s.lastTrueMs = nowMs;
      s.resolvedAtMs = null;
      s.lastNotifiedMs = null;
      if (forMs === 0) {
        s.firingSinceMs = nowMs;
        transition(rule, s, 'firing', nowMs, out);
      } else {
        s.firingSinceMs = null;
        transition(rule, s, 'pending', nowMs, out);
      }
      return;
    case 'pending':
      if (!holds) {
        transition(rule, s, 'inactive', nowMs, out);
        return;
      }
      s.lastTrueMs = nowMs;
      if (nowMs - s.activeSinceMs >= forMs) {
        s.firingSinceMs = nowMs;
        transition(rule, s, 'firing', nowMs, out);
      }
      return;
    case 'firing':
      if (holds) s.lastTrueMs = nowMs;
      else if (nowMs - s.lastTrueMs >= keepFiringForMs) {
        s.resolvedAtMs = nowMs;
        transition(rule, s, 'resolved', nowMs, out);
      }
      return;
  }
}

/**
 * Evaluate `rule` at `nowMs`: read its signals through `lookup`, move every series' state, drop
 * the series that are gone and done. Appends this evaluation's transitions to `out` and returns it.
 */
export function evaluateRule(rule: CompiledRule, lookup: SignalLookup, state: RuleState, nowMs: number, out: AlertTransition[] = []): AlertTransition[] {
  const pool = rule.rule.pool;
  const conds = rule.conditions;
  // Distinct series present at this evaluation (new ones included).
  let seen = 0;
  if (conds.length === 1 && rule.rule.kind !== 'composite') {
    const c = conds[0]!;
    const values = lookup(c.signal, c.window ?? rule.rule.window, pool);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const s = knownSeries(state, v.labels) ?? seriesFor(rule, state, v.labels, nowMs);
      if (s === null) continue;
      if (s.seenAtMs !== nowMs) seen++;
      s.seenAtMs = nowMs;
      // Written only when it changed: a number stored in this field (it may hold null) is boxed.
      if (s.value !== v.value) s.value = v.value;
      step(rule, s, conditionHolds(c, v.value, s.baselines[0]!, nowMs), nowMs, out);
    }
  } else seen = evaluateComposite(rule, lookup, state, nowMs, out);
  // Every series was present (the usual case): none to sweep, no iterator.
  if (seen === state.series.size) return out;
  for (const s of state.series.values()) {
    if (s.seenAtMs === nowMs) continue;
    // Gone this evaluation: the condition does not hold.
    step(rule, s, false, nowMs, out);
    if (s.state === 'inactive' || s.state === 'resolved') {
      state.series.delete(s.fingerprint);
      state.removed.push(s);
    }
  }
  return out;
}

function subsetOf(a: Labels, b: Labels): boolean {
  for (const k in a) if (b[k] !== a[k]) return false;
  return true;
}

/**
 * `all` / `any`: evaluated per label set, the most specific ones the conditions' series have (a
 * set that is a strict subset of another's is joined into it). A condition holds for a set when
 * one of its series whose labels are all in the set holds; the alert's value is the first
 * condition's. Every condition reads (and feeds) its own baseline of the set's series.
 */
function evaluateComposite(rule: CompiledRule, lookup: SignalLookup, state: RuleState, nowMs: number, out: AlertTransition[]): number {
  const r = rule.rule;
  const perCond = rule.conditions.map((c) => lookup(c.signal, c.window ?? r.window, r.pool));
  const candidates: Labels[] = [];
  for (const values of perCond) {
    for (const v of values) {
      if (candidates.some((c) => c === v.labels || (subsetOf(v.labels, c) && Object.keys(c).length >= Object.keys(v.labels).length))) continue;
      for (let i = candidates.length - 1; i >= 0; i--) if (subsetOf(candidates[i]!, v.labels)) candidates.splice(i, 1);
      candidates.push(v.labels);
    }
  }
  const all = r.kind === 'composite' && r.op === 'all';
  let seen = 0;
  for (const labels of candidates) {
    const s = knownSeries(state, labels) ?? seriesFor(rule, state, labels, nowMs);
    if (s === null) continue;
    if (s.seenAtMs !== nowMs) seen++;
    s.seenAtMs = nowMs;
    let result = all;
    let first: number | null = null;
    for (let k = 0; k < perCond.length; k++) {
      const match = perCond[k]!.find((v) => subsetOf(v.labels, labels));
      let holds = false;
      if (match !== undefined) {
        if (k === 0) first = match.value;
        holds = conditionHolds(rule.conditions[k]!, match.value, s.baselines[k]!, nowMs);
      }
      result = all ? result && holds : result || holds;
    }
    s.value = first;
    step(rule, s, result, nowMs, out);
  }
  return seen;
}
