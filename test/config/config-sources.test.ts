import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, mergeRaw, nest, type ConfigIssue } from '../../src/config/sources.js';
import { ENV_VARIABLES, nearestVariable, parseEnvValue, readEnv } from '../../src/config/env.js';
import { configJsonSchema, configKeys, configReferenceMarkdown } from '../../src/config/reference.js';
import { redactConfig } from '../../src/config/types.js';
import { isPythonBridgeError } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'dspex-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (err) {
    expect(isPythonBridgeError(err)).toBe(true);
    if (!isPythonBridgeError(err)) throw err;
    expect(err.code).toBe('DSPEX_INVALID_REQUEST_INVALID_OPTIONS');
    return err.details['issues'] as ConfigIssue[];
  }
  throw new Error('expected a configuration error');
}

describe('configuration sources', () => {
  it('{} is a complete configuration: every default filled, loopback server, no token', () => {
    const { config, sources, file } = loadConfig({ env: false, configFile: false });
    expect(config.server).toMatchObject({ enabled: true, host: '127.0.0.1', port: 9568, token: null });
    expect(config.metrics.memoryCapBytes).toBe(256 * 1024 * 1024);
    expect(config.pool).toBeUndefined();
    expect(sources.size).toBe(0);
    expect(file).toBeNull();
  });

  it('merges defaults < file < env < options, each key from the last source that sets it', () => {
    const path = join(dir, 'layers.json');
    writeFileSync(path, JSON.stringify({ server: { port: 1111, host: '127.0.0.2' }, resources: { intervalMs: 700 }, pool: { size: 3, maxQueue: 7 } }));
    const { config, sources } = loadConfig({
      configFile: path,
      env: { DSPEX_METRICS_PORT: '2222', DSPEX_POOL_SIZE: '4' },
      explicit: { server: { port: 3333 } },
    });
    expect(config.server.port).toBe(3333);
    expect(config.server.host).toBe('127.0.0.2');
    expect(config.resources.intervalMs).toBe(700);
    expect(config.pool?.size).toBe(4);
    expect(config.pool?.maxQueue).toBe(7);
    expect(sources.get('server.port')).toBe('option');
    expect(sources.get('server.host')).toBe(`file ${path}`);
    expect(sources.get('pool.size')).toBe('env DSPEX_POOL_SIZE');
    // A later source's defaults never override an earlier source's value.
    expect(config.dashboard.refreshMs).toBe(1000);
  });

  it('reads DSPEX_CONFIG, and ./dspex.config.json when present', () => {
    const path = join(dir, 'from-env.json');
    writeFileSync(path, JSON.stringify({ dashboard: { refreshMs: 2000 } }));
    expect(loadConfig({ env: { DSPEX_CONFIG: path } }).config.dashboard.refreshMs).toBe(2000);
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    writeFileSync(join(cwd, 'dspex.config.json'), JSON.stringify({ dashboard: { refreshMs: 3000 } }));
    const loaded = loadConfig({ env: {}, cwd });
    expect(loaded.config.dashboard.refreshMs).toBe(3000);
    expect(loaded.file).toBe(join(cwd, 'dspex.config.json'));
  });

  it('names the key and the source of every problem, all at once', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ server: { prot: 1 }, resources: { intervalMs: 'fast' } }));
    const issues = issuesOf(() =>
      loadConfig({ configFile: path, env: { DSPEX_METRICS_PORT: 'eighty', DSPEX_POOL_SIZ: '2' }, explicit: { metrics: { maxPools: 0 }, alertz: {} } }),
    );
    const text = issues.map((i) => `${i.key} @ ${i.source}: ${i.message}`);
    expect(text).toContainEqual(`server.prot @ file ${path}: unknown key`);
    expect(text.some((t) => t.startsWith(`resources.intervalMs @ file ${path}:`))).toBe(true);
    expect(text).toContainEqual('server.port @ env DSPEX_METRICS_PORT: expected an integer, got "eighty"');
    expect(text).toContainEqual('(unknown) @ env DSPEX_POOL_SIZ: unknown variable (did you mean DSPEX_POOL_SIZE?)');
    expect(text.some((t) => t.startsWith('metrics.maxPools @ option:'))).toBe(true);
    expect(text).toContainEqual('alertz @ option: unknown key');
    expect(issues).toHaveLength(6);
  });

  it('a missing or malformed file is an error naming it', () => {
    expect(issuesOf(() => loadConfig({ configFile: join(dir, 'nope.json'), env: false }))).toEqual([
      { key: '(file)', source: `file ${join(dir, 'nope.json')}`, message: 'no such file' },
    ]);
    const bad = join(dir, 'broken.json');
    writeFileSync(bad, '{ "server": ');
    expect(issuesOf(() => loadConfig({ configFile: bad, env: false }))[0]!.message).toMatch(/not valid JSON/);
    writeFileSync(bad, '[1, 2]');
    expect(issuesOf(() => loadConfig({ configFile: bad, env: false }))[0]!.message).toBe('must hold a JSON object');
    expect(issuesOf(() => loadConfig({ env: { DSPEX_CONFIG: join(dir, 'missing.json') } }))[0]!.message).toBe('no such file');
  });

  it('ignores the variables the pool sets for its workers, and DSPEX_CONFIG', () => {
    const r = readEnv({ DSPEX_WORKER_ID: '1', DSPEX_RUN_ID: 'x', DSPEX_OWNER_PID: '1', DSPEX_POOL: 'p', DSPEX_MODULES: '', DSPEX_TEST_X: '1', DSPEX_CONFIG: 'a', HOME: '/root' });
    expect(r.issues).toEqual([]);
    expect(r.values).toEqual({});
  });

  it('parses every kind of variable, and rejects what is not that kind', () => {
    expect(parseEnvValue('integer', ' 42 ')).toEqual({ value: 42 });
    expect(parseEnvValue('integer', '4.5')).toHaveProperty('error');
    expect(parseEnvValue('boolean', 'Yes')).toEqual({ value: true });
    expect(parseEnvValue('boolean', 'off')).toEqual({ value: false });
    expect(parseEnvValue('boolean', 'maybe')).toHaveProperty('error');
    expect(parseEnvValue('list', 'a, b,,c')).toEqual({ value: ['a', 'b', 'c'] });
    expect(parseEnvValue('path-list', '/a:/b')).toEqual({ value: ['/a', '/b'] });
    expect(parseEnvValue('number', '')).toHaveProperty('error');
    expect(nearestVariable('DSPEX_TOKN')).toBe('DSPEX_TOKEN');
    expect(nearestVariable('DSPEX_SOMETHING_ELSE_ENTIRELY')).toBeNull();
  });

  it('every documented variable sets a key of the schema', () => {
    const keys = new Set(configKeys().map((k) => k.key));
    for (const v of ENV_VARIABLES) expect(keys.has(v.key), v.name).toBe(true);
  });

  it('merge helpers: nested keys, objects merge, arrays replace, inputs untouched', () => {
    expect(nest({ 'a.b': 1, 'a.c': 2, d: 3 })).toEqual({ a: { b: 1, c: 2 }, d: 3 });
    const a = { x: { y: [1, 2], z: 1 } };
    expect(mergeRaw(a, { x: { y: [3] } })).toEqual({ x: { y: [3], z: 1 } });
    expect(a).toEqual({ x: { y: [1, 2], z: 1 } });
  });

  it('the token never shows in the configuration given back', () => {
    const { config } = loadConfig({ env: false, explicit: { server: { token: 'a-secret-token-of-length' } } });
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toContain('a-secret-token-of-length');
    expect(shown).toContain('[redacted]');
  });
});

describe('configuration reference', () => {
  it('docs/MONITORING_GUIDE.md holds the table generated from the schema (regenerate: node dist/cli/main.js config --reference)', () => {
    const guide = readFileSync(new URL('../../docs/MONITORING_GUIDE.md', import.meta.url), 'utf8');
    const m = /<!-- config-reference:start -->\n([\s\S]*?)<!-- config-reference:end -->/.exec(guide);
    expect(m, 'the guide has config-reference markers').not.toBeNull();
    expect(m![1]).toBe(configReferenceMarkdown());
  });

  it('documents every key with a meaning, and the JSON Schema rejects unknown keys', () => {
    for (const k of configKeys()) expect(k.description, k.key).not.toBe('');
    const schema = configJsonSchema() as { additionalProperties?: boolean; properties: Record<string, { additionalProperties?: boolean }> };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties['server']!.additionalProperties).toBe(false);
  });
});
