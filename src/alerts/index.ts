/**
 * Alerting: the AlertManager, its rule schema, signals, pure evaluation and default rules.
 * Notification channels live in ./channels/.
 *
 * @module
 */
export { AlertManager, type AlertCollector, type AlertedPool, type AlertLogger, type AlertManagerOptions, type DispatchStats, type RuleError, type Silence } from './alert-manager.js';
export { alertRuleSchema } from './schema.js';
export { validateRule, conditionsOf } from './validate.js';
export type { AlertRule, ParsedAlertRule, ParsedCondition, AlertCondition, ConditionOp, ThresholdCondition, DynamicCondition, RateCondition, AnomalyCondition, CompositeRule, AlertRuleCommon } from './rule-types.js';
export { SIGNALS, signalNames, readSignal, poolValue, LabelCache, type SignalDefinition, type SignalName, type SignalSource, type SignalValue, type PoolFacts, type SignalInputs } from './signals.js';
export { compileRule, evaluateRule, newRuleState, step, conditionHolds, type CompiledRule, type RuleState, type SeriesState, type SignalLookup } from './evaluate.js';
export { fingerprint, compileMatchers, matchesAll, fillTemplate, type Labels, type LabelMatcher, type MatchOp } from './labels.js';
export { inhibited, snapshotAlert } from './notifications.js';
export { BaselineRing } from './baseline.js';
export { defaultAlertRules, DEFAULT_ALERT_THRESHOLDS, type DefaultAlertRulesOptions, type DefaultAlertThresholds } from './default-rules.js';
