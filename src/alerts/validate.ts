/**
 * Rule validation and the leaf conditions of a rule: zod stays inside (schema.ts), so the
 * declarations of this module, which users compile against, never name zod's types.
 *
 * @module
 */
import { PythonBridgeError } from '../contract/errors.js';
import { alertRuleSchema } from './schema.js';
import type { ParsedAlertRule, ParsedCondition } from './rule-types.js';

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
