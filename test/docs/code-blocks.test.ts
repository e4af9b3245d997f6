/**
 * The docs cannot rot: every TypeScript block of the README and the guides is type-checked
 * against the built package (imported by its public name, `dspex` / `dspex/*`, as a user would),
 * every JavaScript block is parsed, and blocks whose fence says `runnable` are run.
 *
 * A block may use the names a snippet takes from its surroundings (`pool`, `collector`, …)
 * without declaring them: each is declared with its real type ahead of the block, unless the
 * block declares it itself. A fence with `no-check` opts a block out (none does today).
 *
 * A ```json dspex.config.json block is a configuration file: it must load with the configuration
 * loader `createMonitoring` uses (every key known, every value valid, alert rules included).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/sources.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

interface Block {
  file: string;
  line: number;
  lang: 'ts' | 'js';
  runnable: boolean;
  code: string;
}

/** The fenced code blocks of one markdown file. Pure. */
export function codeBlocks(file: string, text: string): Block[] {
  const out: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(ts|typescript|js|javascript|mjs)\b(.*)$/.exec(lines[i]!);
    if (!m) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !lines[i + 1]!.startsWith('```')) i++;
    const info = m[2] ?? '';
    if (/\bno-check\b/.test(info)) continue;
    out.push({ file, line: start + 1, lang: m[1]!.startsWith('t') ? 'ts' : 'js', runnable: /\brunnable\b/.test(info), code: lines.slice(start, i + 1).join('\n') });
    i++;
  }
  return out;
}

/** Names a snippet may take from its surroundings, with their types. */
const AMBIENT: Record<string, string> = {
  pool: "import('dspex').SessionPool",
  other: "import('dspex').SessionPool",
  collector: "import('dspex').MetricsCollector",
  monitoring: "import('dspex').Monitoring",
  resources: "import('dspex').ResourceMonitor",
  token: 'string',
  meterProvider: "import('@opentelemetry/api').MeterProvider",
  tracerProvider: "import('@opentelemetry/api').TracerProvider",
  app: '{ get(path: string, handler: (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void): void }',
  fastify: '{ get(path: string, handler: (req: { raw: import("node:http").IncomingMessage }, reply: { raw: import("node:http").ServerResponse; hijack(): void }) => void): void }',
  next: '(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void',
  http: 'typeof import("node:http")',
};

/** True when the block declares `name` itself (a binding, a parameter or an import). */
function declares(code: string, name: string): boolean {
  const n = `\\b${name}\\b`;
  return new RegExp(`\\b(const|let|var|function|class)\\s+${n}`).test(code) || new RegExp(`import\\s+(type\\s+)?(\\{[^}]*${n}[^}]*\\}|${n})`).test(code) || new RegExp(`import\\s+\\*\\s+as\\s+${n}`).test(code);
}

function preamble(code: string): string {
  return Object.entries(AMBIENT)
    .filter(([name]) => new RegExp(`\\b${name}\\b`).test(code) && !declares(code, name))
    .map(([name, type]) => `declare const ${name}: ${type};`)
    .join(' ');
}

const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const blocks = docs.flatMap((f) => codeBlocks(f, readFileSync(join(root, f), 'utf8')));
/** The ```json dspex.config.json blocks of one markdown file. Pure. */
export function configBlocks(file: string, text: string): { file: string; line: number; json: string }[] {
  const out: { file: string; line: number; json: string }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```json\s+dspex\.config\.json\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !lines[i + 1]!.startsWith('```')) i++;
    out.push({ file, line: start + 1, json: lines.slice(start, i + 1).join('\n') });
    i++;
  }
  return out;
}

// Inside the package, so `dspex` resolves to this package's built exports (self-reference).
const dir = join(root, '.tmp', 'doc-blocks');
const fileOf = (b: Block, ext: string): string => join(dir, `${b.file.replace(/[/.]/g, '_')}_L${b.line}.${ext}`);

describe('code blocks of the README and the guides', () => {
  it('finds the blocks (the extraction itself works)', () => {
    expect(codeBlocks('x.md', 'a\n```ts runnable\nconst a = 1;\n```\n```sh\nls\n```\n```js\nb()\n```\n')).toEqual([
      { file: 'x.md', line: 3, lang: 'ts', runnable: true, code: 'const a = 1;' },
      { file: 'x.md', line: 9, lang: 'js', runnable: false, code: 'b()' },
    ]);
    expect(blocks.filter((b) => b.lang === 'ts').length).toBeGreaterThanOrEqual(10);
    expect(blocks.some((b) => b.runnable)).toBe(true);
  });

  it('every TypeScript block type-checks against the built package', () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = blocks.filter((b) => b.lang === 'ts').map((b) => {
      const path = fileOf(b, 'mts');
      // The preamble goes on the block's first line, so reported lines match the markdown's.
      writeFileSync(path, `${preamble(b.code)} ${b.code}\nexport {};\n`);
      return { path, b };
    });
    const program = ts.createProgram(
      files.map((f) => f.path),
      { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, skipLibCheck: true, types: ['node'], lib: ['lib.es2023.d.ts'] },
    );
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const f = files.find((x) => x.path === d.file?.fileName);
      const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
      return `${f ? `${f.b.file}:${f.b.line + at}` : (d.file?.fileName ?? '?')}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  }, 60_000);

  it('every JavaScript block parses, and runnable blocks run', async () => {
    mkdirSync(dir, { recursive: true });
    for (const b of blocks) {
      if (b.lang === 'js') {
        const path = fileOf(b, 'mjs');
        writeFileSync(path, b.code + '\n');
        await expect(run(process.execPath, ['--check', path]), `${b.file}:${b.line}`).resolves.toBeDefined();
      }
      if (!b.runnable) continue;
      const js = b.lang === 'ts' ? ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText : b.code;
      const path = fileOf(b, 'run.mjs');
      writeFileSync(path, js);
      const { stderr } = await run(process.execPath, [path], { cwd: root, timeout: 30_000 });
      expect(stderr, `${b.file}:${b.line}`).toBe('');
    }
  }, 120_000);

  it('every dspex.config.json block is a configuration the loader accepts', () => {
    expect(configBlocks('x.md', '```json dspex.config.json\n{ "server": { "port": 0 } }\n```\n')).toEqual([{ file: 'x.md', line: 2, json: '{ "server": { "port": 0 } }' }]);
    const found = docs.flatMap((f) => configBlocks(f, readFileSync(join(root, f), 'utf8')));
    expect(found.length).toBeGreaterThanOrEqual(1);
    mkdirSync(dir, { recursive: true });
    const bad = join(dir, 'bad.config.json');
    writeFileSync(bad, '{ "alerts": { "rules": [{ "name": "X", "kind": "threshold", "signal": "pool.nope", "op": ">", "value": 1 }] } }');
    expect(() => loadConfig({ configFile: bad, env: false }), 'a bad rule is refused (so the check can fail)').toThrow(/alerts\.rules/);
    for (const b of found) {
      const path = join(dir, `${b.file.replace(/[/.]/g, '_')}_L${b.line}.config.json`);
      writeFileSync(path, b.json);
      expect(() => loadConfig({ configFile: path, env: false }), `${b.file}:${b.line}`).not.toThrow();
    }
  });
});
