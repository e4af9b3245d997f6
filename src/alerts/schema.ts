/**
 * Alert rules are data: this zod schema validates them and fills their defaults, and
 * `validateRule` (validate.ts) turns a bad rule into an `invalid_request` / `invalid_options`
 * PythonBridgeError naming the field path (`conditions.1.signal`) and the reason.
 *
 * Kinds (a rule is one condition, or `composite`: `all` / `any` of several):
 * - `threshold`: the signal compared with a fixed `value`.
 * - `dynamic`: the signal compared with `multiple` × the median of its own recent values (its
 *   baseline), where a fixed number would be wrong (latency that depends on the workload).
 * - `rate`: the change of the signal over `overMs`: `ratio` (now / then: ×3), `delta` (now − then)
 *   or `perSecond` (least-squares slope of the values within `overMs`).
 * - `anomaly`: deviation from the signal's own baseline: a robust z-score on median / MAD (`mad`)
 *   or an EWMA band (`ewma`), never before `minSamples` values of history.
 *
 * @module
 */
import { z } from 'zod';
import { signalNames, type SignalName } from './signals.js';
import type { AlertRule, ParsedAlertRule, ParsedCondition } from './rule-types.js';

export type { AlertRule, ParsedAlertRule, ParsedCondition } from './rule-types.js';

const signal = z.enum(signalNames as [SignalName, ...SignalName[]]);
const op = z.enum(['>', '>=', '<', '<=']);
const window = z.enum(['1m', '5m', '15m']);
const ms = z.number().int().min(0).max(366 * 24 * 3600 * 1000);
const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)');

/** The parts every condition has: the signal and, for pool signals, the window (the rule's by default). */
const conditionBase = { signal, window: window.optional() };

/** `threshold`: `signal op value`. */
export const thresholdCondition = z.object({ kind: z.literal('threshold'), ...conditionBase, op, value: z.number().finite() }).strict();

/** `dynamic`: `signal op multiple × median(baseline)`, and (when set) past the absolute `minValue`. */
export const dynamicCondition = z
  .object({
    kind: z.literal('dynamic'),
    ...conditionBase,
    op,
    multiple: z.number().finite().gt(0),
    /** Baseline values needed before it can hold. */
    minSamples: z.number().int().min(3).max(4096).default(20),
    /** The value must also be past this for `>`/`>=` (below it for `<`/`<=`), so a ×3 of nothing stays nothing. */
    minValue: z.number().finite().optional(),
  })
  .strict();

/** `rate`: the change over `overMs`, compared with `value`. */
export const rateCondition = z
  .object({
    kind: z.literal('rate'),
    ...conditionBase,
    mode: z.enum(['ratio', 'delta', 'perSecond']),
    op,
    value: z.number().finite(),
    overMs: ms.min(1000).default(300_000),
    /** For `ratio`: the current value must also reach this (a ratio of tiny values is noise). */
    minValue: z.number().finite().optional(),
  })
  .strict();

/** `anomaly`: a robust z-score (median / MAD) or an EWMA band, compared with `threshold`. */
export const anomalyCondition = z
  .object({
    kind: z.literal('anomaly'),
    ...conditionBase,
    method: z.enum(['mad', 'ewma']).default('mad'),
    /** Deviations (robust z-score, or EWMA standard deviations) beyond which it holds. */
    threshold: z.number().finite().gt(0).default(4),
    direction: z.enum(['up', 'down', 'both']).default('up'),
    /** Values of history needed before it can hold. */
    minSamples: z.number().int().min(3).max(4096).default(20),
    /** EWMA smoothing factor (`ewma`). */
    alpha: z.number().gt(0).max(1).default(0.1),
    /** The deviation must also exceed this absolute amount (a flat series has MAD 0). */
    minDeviation: z.number().finite().min(0).default(0),
  })
  .strict();

/** One leaf condition. */
export const condition = z.discriminatedUnion('kind', [thresholdCondition, dynamicCondition, rateCondition, anomalyCondition]);

const common = {
  name: z.string().min(1).max(200).regex(/^[A-Za-z_][\w:.-]*$/, 'must start with a letter or _ and hold only letters, digits, _ : . -'),
  severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  /** How long the condition must hold before the alert fires (pending until then). */
  forMs: ms.default(0),
  /** How long a firing alert keeps firing after its condition stopped holding (against flapping). */
  keepFiringForMs: ms.default(0),
  labels: z.record(labelName, z.string().max(1024)).default({}),
  annotations: z
    .object({ summary: z.string().max(2048).optional(), description: z.string().max(8192).optional(), runbook: z.string().max(2048).optional() })
    .strict()
    .default({}),
  /** The window of pool signals (conditions may name their own). */
  window: window.default('1m'),
  /** Only this pool's series (pool and python signals); default every pool. */
  pool: z.string().min(1).optional(),
};

/** A whole rule: one condition with the common fields, or `composite`. */
export const alertRuleSchema = z.discriminatedUnion('kind', [
  thresholdCondition.extend(common),
  dynamicCondition.extend(common),
  rateCondition.extend(common),
  anomalyCondition.extend(common),
  z.object({ kind: z.literal('composite'), op: z.enum(['all', 'any']), conditions: z.array(condition).min(1).max(16), ...common }).strict(),
]);

// The public types are written out in rule-types.ts (no zod in our declarations); these guards
// fail to compile when they and the schema drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const ruleTypesMatch: [Same<z.output<typeof alertRuleSchema>, ParsedAlertRule>, Same<z.output<typeof condition>, ParsedCondition>] = [true, true];
void ruleTypesMatch;
// Input: every written rule is accepted by the schema's input type, and vice versa.
const ruleInputMatches: [AlertRule extends z.input<typeof alertRuleSchema> ? true : false, z.input<typeof alertRuleSchema> extends AlertRule ? true : false] = [true, true];
void ruleInputMatches;

