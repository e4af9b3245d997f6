/**
 * The `DSPEX_*` environment variables: each one sets one configuration key. Pure: (environment) →
 * (raw values by key, issues). The table is the documentation: docs/MONITORING_GUIDE.md lists it
 * (generated, see reference.ts).
 *
 * An unknown `DSPEX_` variable is an error, with the nearest known name: a typo such as
 * `DSPEX_POOL_SIZ=8` must not leave the default in place silently. Variables the library sets for
 * its own Python workers (and `DSPEX_CONFIG`) are not configuration keys and are ignored.
 *
 * @module
 */
import { delimiter } from 'node:path';

/** How a variable's text becomes a value. */
export type EnvKind = 'integer' | 'number' | 'boolean' | 'string' | 'list' | 'path-list';

/** One documented variable. */
export interface EnvVariable {
  readonly name: string;
  /** The dotted configuration key it sets. */
  readonly key: string;
  readonly kind: EnvKind;
}

/** Every configuration variable, in documentation order. */
export const ENV_VARIABLES: readonly EnvVariable[] = [
  { name: 'DSPEX_POOL_NAME', key: 'pool.name', kind: 'string' },
  { name: 'DSPEX_POOL_SIZE', key: 'pool.size', kind: 'integer' },
  { name: 'DSPEX_POOL_MIN_SIZE', key: 'pool.minSize', kind: 'integer' },
  { name: 'DSPEX_POOL_MAX_SIZE', key: 'pool.maxSize', kind: 'integer' },
  { name: 'DSPEX_PYTHON', key: 'pool.python', kind: 'string' },
  { name: 'DSPEX_PYTHON_MODULES', key: 'pool.pythonModules', kind: 'list' },
  { name: 'DSPEX_PYTHON_PATH', key: 'pool.pythonPath', kind: 'path-list' },
  { name: 'DSPEX_MAX_QUEUE', key: 'pool.maxQueue', kind: 'integer' },
  { name: 'DSPEX_CHECKOUT_TIMEOUT_MS', key: 'pool.checkoutTimeoutMs', kind: 'integer' },
  { name: 'DSPEX_OPERATION_TIMEOUT_MS', key: 'pool.operationTimeoutMs', kind: 'integer' },
  { name: 'DSPEX_SPARES', key: 'pool.spares', kind: 'integer' },
  { name: 'DSPEX_METRICS_MEMORY_CAP_BYTES', key: 'metrics.memoryCapBytes', kind: 'integer' },
  { name: 'DSPEX_RESOURCES_ENABLED', key: 'resources.enabled', kind: 'boolean' },
  { name: 'DSPEX_RESOURCES_INTERVAL_MS', key: 'resources.intervalMs', kind: 'integer' },
  { name: 'DSPEX_SERVER_ENABLED', key: 'server.enabled', kind: 'boolean' },
  { name: 'DSPEX_METRICS_HOST', key: 'server.host', kind: 'string' },
  { name: 'DSPEX_METRICS_PORT', key: 'server.port', kind: 'integer' },
  { name: 'DSPEX_TOKEN', key: 'server.token', kind: 'string' },
  { name: 'DSPEX_ALLOWED_HOSTS', key: 'server.allowedHosts', kind: 'list' },
  { name: 'DSPEX_DASHBOARD_REFRESH_MS', key: 'dashboard.refreshMs', kind: 'integer' },
  { name: 'DSPEX_HEALTH_INTERVAL_MS', key: 'health.intervalMs', kind: 'integer' },
  { name: 'DSPEX_ADVISOR_ENABLED', key: 'advisor.enabled', kind: 'boolean' },
  { name: 'DSPEX_TUNER_ENABLED', key: 'tuner.enabled', kind: 'boolean' },
  { name: 'DSPEX_TELEMETRY_DISABLED', key: 'telemetry.disabled', kind: 'list' },
];

/** `DSPEX_` variables that are not configuration: the config file's path, and what the pool sets for its workers. */
const NOT_CONFIGURATION = new Set(['DSPEX_CONFIG', 'DSPEX_OWNER_PID', 'DSPEX_RUN_ID', 'DSPEX_WORKER_ID', 'DSPEX_POOL', 'DSPEX_MODULES']);
/** Prefixes kept for tests and for the Python side. */
const NOT_CONFIGURATION_PREFIXES = ['DSPEX_TEST_', 'DSPEX_PY_'];

/** One variable that could not be read. */
export interface EnvIssue {
  readonly variable: string;
  readonly key: string | null;
  readonly message: string;
}

/** Raw values by dotted key, the variable that set each, and what could not be read. */
export interface EnvReading {
  readonly values: Record<string, unknown>;
  readonly variableOf: ReadonlyMap<string, string>;
  readonly issues: readonly EnvIssue[];
}

const byName = new Map(ENV_VARIABLES.map((v) => [v.name, v]));

/** The text of `raw` as a value of `kind`, or an error message. */
export function parseEnvValue(kind: EnvKind, raw: string): { value: unknown } | { error: string } {
  const text = raw.trim();
  switch (kind) {
    case 'integer': {
      if (!/^[+-]?\d+$/.test(text)) return { error: `expected an integer, got ${JSON.stringify(raw)}` };
      return { value: Number(text) };
    }
    case 'number': {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) return { error: `expected a number, got ${JSON.stringify(raw)}` };
      return { value: n };
    }
    case 'boolean': {
      const t = text.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(t)) return { value: true };
      if (['0', 'false', 'no', 'off'].includes(t)) return { value: false };
      return { error: `expected true/false (or 1/0, yes/no, on/off), got ${JSON.stringify(raw)}` };
    }
    case 'string':
      return { value: raw };
    case 'list':
      return { value: text === '' ? [] : text.split(',').map((s) => s.trim()).filter((s) => s !== '') };
    case 'path-list':
      return { value: text === '' ? [] : text.split(delimiter).filter((s) => s !== '') };
  }
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The known variable nearest to `name`, when it is near enough to be a typo. */
export function nearestVariable(name: string): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const v of ENV_VARIABLES) {
    const d = distance(name, v.name);
    if (d < bestD) {
      bestD = d;
      best = v.name;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 5)) ? best : null;
}

/** Read the configuration variables of `env` (values by dotted key; unknown `DSPEX_` names are issues). */
export function readEnv(env: Readonly<Record<string, string | undefined>>): EnvReading {
  const values: Record<string, unknown> = {};
  const variableOf = new Map<string, string>();
  const issues: EnvIssue[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('DSPEX_')) continue;
    const raw = env[name];
    if (raw === undefined) continue;
    const v = byName.get(name);
    if (v === undefined) {
      if (NOT_CONFIGURATION.has(name) || NOT_CONFIGURATION_PREFIXES.some((p) => name.startsWith(p))) continue;
      const near = nearestVariable(name);
      issues.push({ variable: name, key: null, message: `unknown variable${near === null ? '' : ` (did you mean ${near}?)`}` });
      continue;
    }
    const parsed = parseEnvValue(v.kind, raw);
    if ('error' in parsed) issues.push({ variable: name, key: v.key, message: parsed.error });
    else {
      values[v.key] = parsed.value;
      variableOf.set(v.key, name);
    }
  }
  return { values, variableOf, issues };
}
