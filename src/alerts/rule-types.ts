/**
 * Alert rules as types, free of zod: what users compile against (schema.ts validates them and
 * holds a compile-time guard that fails when the two drift apart). A zod major must never
 * become a breaking change of ours, so no public declaration names zod's types.
 *
 * @module
 */
import type { AlertSeverity } from '../contract/alerts.js';
import type { WindowName } from '../contract/metrics.js';
import type { SignalName } from './signals.js';

/** Comparison of a condition. */
export type ConditionOp = '>' | '>=' | '<' | '<=';

interface ConditionBase {
  signal: SignalName;
  /** The window of a pool signal (default: the rule's). */
  window?: WindowName | undefined;
}

/** `signal op value`. */
export interface ThresholdCondition extends ConditionBase {
  kind: 'threshold';
  op: ConditionOp;
  value: number;
}

/** `signal op multiple × median(baseline)`, and past `minValue` when set. */
export interface DynamicCondition extends ConditionBase {
  kind: 'dynamic';
  op: ConditionOp;
  multiple: number;
  /** Baseline values needed before it can hold (default 20). */
  minSamples?: number | undefined;
  minValue?: number | undefined;
}

/** The change of the signal over `overMs`: `ratio` (now / then), `delta` (now − then) or `perSecond` (slope). */
export interface RateCondition extends ConditionBase {
  kind: 'rate';
  mode: 'ratio' | 'delta' | 'perSecond';
  op: ConditionOp;
  value: number;
  /** Default 300 000 (5 minutes); at least 1000. */
  overMs?: number | undefined;
  minValue?: number | undefined;
}

/** Deviation from the signal's own baseline: robust z-score (`mad`) or an EWMA band (`ewma`). */
export interface AnomalyCondition extends ConditionBase {
  kind: 'anomaly';
  /** Default `mad`. */
  method?: 'mad' | 'ewma' | undefined;
  /** Deviations beyond which it holds (default 4). */
  threshold?: number | undefined;
  /** Default `up`. */
  direction?: 'up' | 'down' | 'both' | undefined;
  /** History needed before it can hold (default 20). */
  minSamples?: number | undefined;
  /** EWMA smoothing factor (default 0.1). */
  alpha?: number | undefined;
  /** The deviation must also exceed this absolute amount (default 0). */
  minDeviation?: number | undefined;
}

/** One leaf condition, as written. */
export type AlertCondition = ThresholdCondition | DynamicCondition | RateCondition | AnomalyCondition;

/** Fields every rule has. */
export interface AlertRuleCommon {
  /** Also the alert's `alertname`; letters, digits, `_ : . -`. */
  name: string;
  /** Default `warning`. */
  severity?: AlertSeverity | undefined;
  /** How long the condition must hold before it fires (default 0). */
  forMs?: number | undefined;
  /** How long it keeps firing once the condition stopped holding (default 0). */
  keepFiringForMs?: number | undefined;
  labels?: Record<string, string> | undefined;
  annotations?: { summary?: string | undefined; description?: string | undefined; runbook?: string | undefined } | undefined;
  /** Window of pool signals (default `1m`). */
  window?: WindowName | undefined;
  /** Only this pool's series. */
  pool?: string | undefined;
}

/** `all` / `any` of several conditions. */
export interface CompositeRule extends AlertRuleCommon {
  kind: 'composite';
  op: 'all' | 'any';
  conditions: AlertCondition[];
}

/** A rule as written (defaults optional): what `addRule`, the `rules` option and `alerts.rules` take. */
export type AlertRule = (AlertRuleCommon & (ThresholdCondition | DynamicCondition | RateCondition | AnomalyCondition)) | CompositeRule;

type Filled<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> };

/** A validated leaf condition, defaults filled. */
export type ParsedCondition =
  | ThresholdCondition
  | Filled<DynamicCondition, 'minSamples'>
  | Filled<RateCondition, 'overMs'>
  | Filled<AnomalyCondition, 'method' | 'threshold' | 'direction' | 'minSamples' | 'alpha' | 'minDeviation'>;

type ParsedCommon = Filled<AlertRuleCommon, 'severity' | 'forMs' | 'keepFiringForMs' | 'labels' | 'annotations' | 'window'>;

/** A validated rule, defaults filled. */
export type ParsedAlertRule =
  | (ParsedCommon & ThresholdCondition)
  | (ParsedCommon & Filled<DynamicCondition, 'minSamples'>)
  | (ParsedCommon & Filled<RateCondition, 'overMs'>)
  | (ParsedCommon & Filled<AnomalyCondition, 'method' | 'threshold' | 'direction' | 'minSamples' | 'alpha' | 'minDeviation'>)
  | (ParsedCommon & { kind: 'composite'; op: 'all' | 'any'; conditions: ParsedCondition[] });
