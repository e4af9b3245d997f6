/**
 * Alert rules are data: this zod schema validates them and fills their defaults, and
 * {@link validateRule} turns a bad rule into an `invalid_request` / `invalid_options`
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
import { PythonBridgeError } from '../contract/errors.js';
import { signalNames, type SignalName } from './signals.js';

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

/** A rule as written (defaults optional): what `addRule` and the `rules` option take. */
export type AlertRule = z.input<typeof alertRuleSchema>;
/** A validated rule, defaults filled. */
export type ParsedAlertRule = z.output<typeof alertRuleSchema>;
/** A validated leaf condition. */
export type ParsedCondition = z.output<typeof condition>;

/** The leaf conditions of a rule (itself, or a composite's), each with its window resolved. */
export function conditionsOf(rule: ParsedAlertRule): ParsedCondition[] {
  if (rule.kind === 'composite') return rule.conditions.map((c) => ({ ...c, window: c.window ?? rule.window }));
  const { kind } = rule;
  switch (kind) {
    case 'threshold':
      return [{ kind, signal: rule.signal, window: rule.window, op: rule.op, value: rule.value }];
    case 'dynamic':
      return [{ kind, signal: rule.signal, window: rule.window, op: rule.op, multiple: rule.multiple, minSamples: rule.minSamples, minValue: rule.minValue }];
    case 'rate':
      return [{ kind, signal: rule.signal, window: rule.window, mode: rule.mode, op: rule.op, value: rule.value, overMs: rule.overMs, minValue: rule.minValue }];
    default:
      return [
        {
          kind,
          signal: rule.signal,
          window: rule.window,
          method: rule.method,
          threshold: rule.threshold,
          direction: rule.direction,
          minSamples: rule.minSamples,
          alpha: rule.alpha,
          minDeviation: rule.minDeviation,
        },
      ];
  }
}

/**
 * Validate a rule and fill its defaults.
 * @throws PythonBridgeError `invalid_request` / `invalid_options`; `details.option` is the field
 *   path (`rules.2.conditions.0.op` with `where` `rules.2`), `details.reason` the reason.
 */
export function validateRule(input: unknown, where = 'rule'): ParsedAlertRule {
  const parsed = alertRuleSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  let path = issue ? issue.path.map(String).join('.') : '';
  if (issue?.code === 'unrecognized_keys') path = [path, issue.keys.join(',')].filter(Boolean).join('.');
  if (issue?.code === 'invalid_union' && path === '') path = 'kind';
  const field = path === '' ? where : `${where}.${path}`;
  const name = typeof input === 'object' && input !== null && typeof (input as { name?: unknown }).name === 'string' ? (input as { name: string }).name : undefined;
  const reason = issue?.code === 'unrecognized_keys' ? 'unknown field' : (issue?.message ?? 'invalid');
  return throwInvalid(field, reason, name);
}

function throwInvalid(field: string, reason: string, rule: string | undefined): never {
  throw new PythonBridgeError('invalid_request', 'invalid_options', `invalid alert rule${rule === undefined ? '' : ` '${rule}'`}: ${field}: ${reason}`, {
    details: { option: field, reason, ...(rule === undefined ? {} : { rule }) },
  });
}
