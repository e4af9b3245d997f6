/**
 * A small argument parser for the CLI (pure): `--flag`, `--key value`, `--key=value`, `--no-flag`.
 *
 * @module
 */

/** Parsed command line. */
export interface ParsedArgs {
  positionals: string[];
  /** `--key value` and `--key=value` pairs; bare `--flag` maps to 'true', `--no-flag` to 'false'. */
  flags: Record<string, string>;
}

/** Flags that never take a value (so `--once demo` keeps `demo` positional). */
const booleanFlags = new Set(['quick', 'once', 'demo', 'headless', 'no-color', 'help', 'color']);

/** Parse argv (without node and script). */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) {
        flags[a.slice(2, eq)] = a.slice(eq + 1);
        continue;
      }
      const key = a.slice(2);
      if (key.startsWith('no-') && !booleanFlags.has(key)) {
        flags[key.slice(3)] = 'false';
        continue;
      }
      const next = argv[i + 1];
      if (!booleanFlags.has(key) && next !== undefined && !next.startsWith('--')) {
        flags[key] = next;
        i++;
      } else {
        flags[key] = 'true';
      }
      continue;
    }
    positionals.push(a);
  }
  return { positionals, flags };
}

/** A numeric flag, validated: throws a message naming the flag when it is not a number in range. */
export function numberFlag(flags: Record<string, string>, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number in ${min}..${max}, got '${raw}'`);
  return n;
}
