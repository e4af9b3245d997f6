/**
 * The public surface, as a user sees it: the built package imported by its name from a directory
 * outside the repository. The export lists are snapshotted, so adding or removing a public name is
 * a reviewed change (update with `npx vitest run test/api -u` and read the diff).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY_POINTS = ['dspex', 'dspex/prometheus', 'dspex/otel', 'dspex/testing', 'dspex/fleet'] as const;

let userDir = '';
beforeAll(() => {
  expect(existsSync(join(root, 'dist/index.js')), 'run `npm run build` first').toBe(true);
  userDir = mkdtempSync(join(tmpdir(), 'dspex-user-'));
  mkdirSync(join(userDir, 'node_modules'));
  symlinkSync(root, join(userDir, 'node_modules', 'dspex'), 'dir');
});
afterAll(() => {
  if (userDir !== '') rmSync(userDir, { recursive: true, force: true });
});

/** Run an ES module in the user's directory and parse the JSON it prints. */
function runAsUser(source: string): unknown {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', source], { cwd: userDir, encoding: 'utf8', timeout: 20_000 });
  return JSON.parse(out) as unknown;
}

describe('public surface', () => {
  for (const entry of ENTRY_POINTS) {
    it(`${entry}: the export list is the reviewed one`, () => {
      const names = runAsUser(`const m = await import(${JSON.stringify(entry)}); console.log(JSON.stringify(Object.keys(m).sort()));`);
      expect(names).toMatchSnapshot();
    });
  }

  it("import 'dspex' does not load prom-client; 'dspex/prometheus' does", () => {
    const loaded = (entry: string): unknown =>
      runAsUser(
        `import { createRequire } from 'node:module'; await import(${JSON.stringify(entry)});` +
          `const cache = createRequire(import.meta.url).cache; console.log(JSON.stringify(Object.keys(cache).some((k) => k.includes('/prom-client/'))));`,
      );
    expect(loaded('dspex')).toBe(false);
    expect(loaded('dspex/testing')).toBe(false);
    expect(loaded('dspex/prometheus')).toBe(true);
  });

  it("import 'dspex' does not load @opentelemetry/api; 'dspex/otel' does", () => {
    const loaded = (entry: string): unknown =>
      runAsUser(
        `import { createRequire } from 'node:module'; await import(${JSON.stringify(entry)});` +
          `const cache = createRequire(import.meta.url).cache; console.log(JSON.stringify(Object.keys(cache).some((k) => k.includes('/@opentelemetry/'))));`,
      );
    expect(loaded('dspex')).toBe(false);
    expect(loaded('dspex/testing')).toBe(false);
    // (dspex/prometheus is not checked: prom-client 15 itself depends on @opentelemetry/api.)
    expect(loaded('dspex/otel')).toBe(true);
  });

  it("import 'dspex' does not load bullmq or ioredis; 'dspex/fleet' does", () => {
    const loaded = (entry: string): unknown =>
      runAsUser(
        `import { createRequire } from 'node:module'; await import(${JSON.stringify(entry)});` +
          `const cache = createRequire(import.meta.url).cache; const keys = Object.keys(cache);` +
          `console.log(JSON.stringify([keys.some((k) => k.includes('/bullmq/')), keys.some((k) => k.includes('/ioredis/'))]));`,
      );
    expect(loaded('dspex')).toEqual([false, false]);
    expect(loaded('dspex/testing')).toEqual([false, false]);
    expect(loaded('dspex/prometheus')).toEqual([false, false]);
    expect(loaded('dspex/fleet')).toEqual([true, true]);
  });

  it('internal modules cannot be imported (only the declared subpaths)', () => {
    const attempt = runAsUser(
      `try { await import('dspex/dist/pool/protocol.js'); console.log('"imported"'); } catch (e) { console.log(JSON.stringify(e.code)); }`,
    );
    expect(attempt).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it("the declarations users compile against never mention zod (a zod major must not become ours)", () => {
    // Every .d.ts reachable from the entry points' declarations, following relative imports.
    const seen = new Set<string>();
    const queue = ['index.d.ts', 'prometheus.d.ts', 'otel.d.ts', 'testing.d.ts', 'fleet.d.ts'].map((f) => join(root, 'dist', f));
    const offenders: string[] = [];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      if (/from ['"]zod['"]|import\(['"]zod['"]\)/.test(text)) offenders.push(file.slice(root.length));
      for (const m of text.matchAll(/from ['"](\.{1,2}\/[^'"]+)\.js['"]/g)) queue.push(resolve(dirname(file), `${m[1] as string}.d.ts`));
    }
    expect(seen.size).toBeGreaterThan(5);
    expect(offenders).toEqual([]);
  });
});

describe('PythonBridgeError across two copies of the package', () => {
  it('instanceof holds for an error made by another copy; codes are stable', () => {
    const copy = mkdtempSync(join(tmpdir(), 'dspex-copy-'));
    try {
      // A second, independent copy of the errors module (as a bundled or duplicated dependency would be).
      mkdirSync(join(copy, 'contract'));
      const source = readFileSync(join(root, 'dist/contract/errors.js'), 'utf8');
      execFileSync('cp', [join(root, 'dist/contract/errors.js'), join(copy, 'contract/errors.js')]);
      expect(source).toContain('Symbol.for');
      const result = runAsUser(
        `import { PythonBridgeError, isPythonBridgeError } from 'dspex';` +
          `const other = await import(${JSON.stringify(join(copy, 'contract/errors.js'))});` +
          `const foreign = new other.PythonBridgeError('timeout', 'operation', 'late');` +
          `const ours = new PythonBridgeError('python', 'ValueError', 'bad');` +
          `console.log(JSON.stringify({ distinctClasses: other.PythonBridgeError !== PythonBridgeError, foreign: foreign instanceof PythonBridgeError,` +
          ` reverse: ours instanceof other.PythonBridgeError, guard: isPythonBridgeError(foreign, 'timeout'), plain: new Error('x') instanceof PythonBridgeError,` +
          ` nullish: null instanceof PythonBridgeError, codes: [foreign.code, ours.code], keys: Object.keys(ours), json: JSON.parse(JSON.stringify(ours)) }));`,
      );
      expect(result).toEqual({
        distinctClasses: true,
        foreign: true,
        reverse: true,
        guard: true,
        plain: false,
        nullish: false,
        codes: ['DSPEX_TIMEOUT_OPERATION', 'DSPEX_PYTHON_EXCEPTION'],
        keys: ['name', 'category', 'type', 'code', 'details'],
        json: { name: 'PythonBridgeError', category: 'python', type: 'ValueError', code: 'DSPEX_PYTHON_EXCEPTION', details: {} },
      });
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
