/**
 * The advisor's options: plain typed objects (optimization-advisor.ts) validated by zod schemas
 * here, so a later config layer can wrap them. A bad value throws `invalid_request` /
 * `invalid_options` naming the option.
 *
 * @module
 */
import { z } from 'zod';
import { PythonBridgeError } from '../contract/errors.js';

/** The schema of the advisor's own (non-object) options. */
export const advisorOptionsSchema = z.object({
  settings: z
    .object({
      targetUtilization: z.number().gt(0).max(1).optional(),
      minCoveredS: z.number().int().min(1).max(900).optional(),
      minOps: z.number().int().min(1).optional(),
      minRssPoints: z.number().int().min(3).max(10_000).optional(),
      minRssSpanMs: z.number().int().min(1).optional(),
      leakSlopeBytesPerS: z.number().gt(0).optional(),
    })
    .strict()
    .default({}),
  rssPoints: z.number().int().min(3).max(10_000).default(120),
  top: z.number().int().min(1).max(100).default(5),
});

/** Parse `input`'s fields of `schema` (other fields are left to the caller); throws naming the option. */
export function parseAdvisorOptions<S extends z.ZodObject>(schema: S, input: unknown, where = 'OptimizationAdvisor'): z.output<S> {
  const obj = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const k of Object.keys(schema.shape)) if (obj[k] !== undefined) picked[k] = obj[k];
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option = issue ? issue.path.map(String).join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : '(options)') : '(options)';
    throw new PythonBridgeError('invalid_request', 'invalid_options', `${where}: invalid option '${option}': ${issue?.message ?? 'invalid'}`, { details: { option } });
  }
  return parsed.data;
}
