/**
 * Where the configuration comes from, in order: the schema's defaults, a config file
 * (`dspex.config.json` in the working directory, or the path in `DSPEX_CONFIG`), `DSPEX_*`
 * environment variables, then explicit options. Each source is validated on its own, so an
 * unknown key or a wrong type is reported with the source that holds it (the file and key, the
 * variable, or the option); the sources are then merged as raw values — a later source overrides
 * only the keys it sets — and parsed once, which fills the defaults. Every issue of every source
 * is reported at once, in one typed error, and nothing starts.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { PythonBridgeError } from '../contract/errors.js';
import { readEnv } from './env.js';
import { dspexConfigSchema } from './schema.js';

/** The configuration after every source, with every default filled (internal: see types.ts for the public shape). */
export type ParsedConfig = z.output<typeof dspexConfigSchema>;

/** Where a key's value came from. */
export type ConfigSourceName = 'default' | `file ${string}` | `env ${string}` | 'option';

/** One problem found in the configuration. */
export interface ConfigIssue {
  /** The dotted key (`server.port`), or `(file)` for a file that cannot be read. */
  readonly key: string;
  /** The source holding the bad value: `file PATH`, `env DSPEX_…`, `option`. */
  readonly source: string;
  readonly message: string;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Explicit options (the last source). */
  readonly explicit?: unknown;
  /** The environment to read `DSPEX_*` from (default `process.env`); `false`: none. */
  readonly env?: Readonly<Record<string, string | undefined>> | false;
  /**
   * The config file: a path, or `false` for none. Default: `DSPEX_CONFIG` when set (the file must
   * exist), else `dspex.config.json` in `cwd` when it exists.
   */
  readonly configFile?: string | false;
  /** Where a relative config path is resolved (default `process.cwd()`). */
  readonly cwd?: string;
}

/** The merged configuration, and the source of each key that was set (defaults are not listed). */
export interface LoadedConfig {
  readonly config: ParsedConfig;
  readonly sources: ReadonlyMap<string, string>;
  /** The config file read, if any. */
  readonly file: string | null;
}

type Raw = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Dotted keys → a nested object (`{ 'pool.size': 2 }` → `{ pool: { size: 2 } }`). */
export function nest(flat: Readonly<Record<string, unknown>>): Raw {
  const out: Raw = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    let at = out;
    for (const p of parts.slice(0, -1)) {
      const next = at[p];
      at = isPlainObject(next) ? next : (at[p] = {} as Raw);
    }
    at[parts[parts.length - 1]!] = value;
  }
  return out;
}

/** `b` over `a`: objects merge key by key; arrays and scalars replace. Neither input is modified. */
export function mergeRaw(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (!isPlainObject(a) || !isPlainObject(b)) return b;
  const out: Raw = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = mergeRaw(a[k], v);
  return out;
}

/** Every dotted key a raw object sets (leaves: scalars and arrays). */
function leafKeys(raw: unknown, prefix = ''): string[] {
  if (!isPlainObject(raw)) return prefix === '' ? [] : [prefix];
  const keys: string[] = [];
  for (const [k, v] of Object.entries(raw)) keys.push(...leafKeys(v, prefix === '' ? k : `${prefix}.${k}`));
  return keys;
}

function issuesOf(error: z.ZodError, sourceOf: (key: string) => string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const key = base === '' ? k : `${base}.${k}`;
        out.push({ key, source: sourceOf(key), message: 'unknown key' });
      }
    } else {
      const key = base === '' ? '(config)' : base;
      out.push({ key, source: sourceOf(key), message: issue.message });
    }
  }
  return out;
}

/** The one error every configuration problem becomes: `invalid_request` / `invalid_options`, every issue listed. */
export function configError(issues: readonly ConfigIssue[]): PythonBridgeError {
  const lines = issues.map((i) => `  ${i.key} (${i.source}): ${i.message}`);
  const first = issues[0];
  return new PythonBridgeError('invalid_request', 'invalid_options', `invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, {
    details: { option: first?.key, source: first?.source, issues: issues.map((i) => ({ ...i })) },
  });
}

function readConfigFile(path: string): { raw: unknown } | { issue: ConfigIssue } {
  const source = `file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { issue: { key: '(file)', source, message: code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(err)})` } };
  }
  try {
    const raw: unknown = JSON.parse(text);
    if (!isPlainObject(raw)) return { issue: { key: '(file)', source, message: 'must hold a JSON object' } };
    return { raw };
  } catch (err) {
    return { issue: { key: '(file)', source, message: `is not valid JSON: ${(err as Error).message}` } };
  }
}

/** Which config file to read, if any. */
function configPath(opts: LoadConfigOptions, env: Readonly<Record<string, string | undefined>>): { path: string } | null {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.configFile === false) return null;
  if (typeof opts.configFile === 'string') return { path: isAbsolute(opts.configFile) ? opts.configFile : resolve(cwd, opts.configFile) };
  const fromEnv = env['DSPEX_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return { path: isAbsolute(fromEnv) ? fromEnv : resolve(cwd, fromEnv) };
  const local = resolve(cwd, 'dspex.config.json');
  return existsSync(local) ? { path: local } : null;
}

/**
 * Defaults, file, environment, explicit options → one validated configuration. Throws one
 * `invalid_options` error listing every problem of every source (`details.issues`).
 */
export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const env = opts.env === false ? {} : (opts.env ?? process.env);
  const issues: ConfigIssue[] = [];
  const layers: { raw: unknown; sourceOf: (key: string) => string }[] = [];

  const where = configPath(opts, env);
  if (where !== null) {
    const read = readConfigFile(where.path);
    if ('issue' in read) issues.push(read.issue);
    else layers.push({ raw: read.raw, sourceOf: () => `file ${where.path}` });
  }
  if (opts.env !== false) {
    const reading = readEnv(env);
    for (const i of reading.issues) issues.push({ key: i.key ?? '(unknown)', source: `env ${i.variable}`, message: i.message });
    if (Object.keys(reading.values).length > 0) {
      layers.push({ raw: nest(reading.values), sourceOf: (key) => `env ${reading.variableOf.get(key) ?? 'DSPEX_*'}` });
    }
  }
  if (opts.explicit !== undefined) {
    if (!isPlainObject(opts.explicit)) issues.push({ key: '(config)', source: 'option', message: 'must be an object' });
    else layers.push({ raw: opts.explicit, sourceOf: () => 'option' });
  }

  // Each source on its own: its unknown keys and wrong types are named with it.
  for (const layer of layers) {
    const parsed = dspexConfigSchema.safeParse(layer.raw);
    if (!parsed.success) issues.push(...issuesOf(parsed.error, layer.sourceOf));
  }
  if (issues.length > 0) throw configError(issues);

  const sources = new Map<string, string>();
  let merged: unknown = {};
  for (const layer of layers) {
    merged = mergeRaw(merged, layer.raw);
    for (const key of leafKeys(layer.raw)) sources.set(key, layer.sourceOf(key));
  }
  const parsed = dspexConfigSchema.safeParse(merged);
  if (!parsed.success) {
    // Only a combination of sources can fail here; name the source that set the key last.
    throw configError(issuesOf(parsed.error, (key) => sources.get(key) ?? 'merged configuration'));
  }
  return { config: parsed.data, sources, file: where?.path ?? null };
}
