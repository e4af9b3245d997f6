/**
 * Every command the README and the guides tell an operator to type must work: each `npx dspex …`,
 * `dspex …` and `node dist/cli/main.js …` line (in ```sh / ```bash blocks and in inline code) names
 * a real subcommand, and each of its `--flags` is one that subcommand declares
 * (src/cli/commands.ts, the tables the CLI parses with), with a value it accepts when the value is
 * written out; a line without placeholders or alternatives is parsed whole, as the CLI would
 * (`requires`, `check` rules and stray arguments included). Each `curl` URL of the monitoring server
 * (and each `GET /path` in inline code) is a route of the HTTP server (`MONITORING_ROUTES`, the
 * dashboard's files) with query parameters that route accepts.
 *
 * Placeholders (`URL`, `POOL`, `<pool>`, `$DSPEX_URL`, `…`) stand for any value; `a|b` and
 * `[--flag]` are synopsis notation: each alternative is checked, the line is not parsed whole.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands.js';
import { parseCommand, UsageError, validateValue, type CommandSpec, type FlagSpec } from '../../src/cli/spec.js';
import { MONITORING_ROUTES } from '../../src/exporters/http-server.js';
import { parsePoints, parseQuery, parseWindow } from '../../src/exporters/http-params.js';
import { WEB_ASSET_NAMES } from '../../src/exporters/web-assets.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = ['README.md', 'docs/MONITORING_GUIDE.md', 'docs/OPERATIONS_PLAYBOOK.md', 'docs/PERFORMANCE.md', 'docs/PHASE5_REPORT.md'];

/** A piece of shell the docs show: one logical line of a shell block, or one inline code span. */
export interface Snippet {
  file: string;
  line: number;
  text: string;
  /** A line of a shell block, or an inline code span. */
  kind: 'block' | 'inline';
}

const SHELL_FENCE = /^```(sh|bash|shell|console|zsh)\b/;

/** The shell lines (continuations joined, `$ ` prompts dropped) and inline code spans of a markdown file. Pure. */
export function snippets(file: string, markdown: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('```')) {
      const shell = SHELL_FENCE.test(l);
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) {
        if (!shell) continue;
        const start = i;
        let text = lines[i]!;
        while (text.endsWith('\\') && i + 1 < lines.length) text = text.slice(0, -1) + ' ' + lines[++i]!.trim();
        out.push({ file, line: start + 1, text: text.replace(/^\s*\$ /, ''), kind: 'block' });
      }
      continue;
    }
    // Inline code; `\|` is a pipe escaped for a table cell.
    for (const m of l.matchAll(/`([^`]+)`/g)) out.push({ file, line: i + 1, text: m[1]!.replace(/\\\|/g, '|'), kind: 'inline' });
  }
  return out;
}

/** One CLI invocation found in a snippet: the words after `dspex` (or `node dist/cli/main.js`). */
export interface Invocation extends Snippet {
  args: string[];
  /**
   * A command to type, parsed whole: every line of a shell block, and inline code that starts with
   * `npx ` or `node `. Inline `dspex monitor --url` without them names a command in prose: its
   * subcommand, flags and written values are checked, not its completeness.
   */
  whole: boolean;
}

const INVOKE = /(?:npx\s+dspex|node\s+(?:\S*\/)?dist\/cli\/main\.js|dspex)(?=\s|$)/g;
const ENV_ASSIGNMENT = /^[A-Z_][A-Z0-9_]*=\S*$/;
const COMMAND_PREFIX = new Set(['', ';', '|', '||', '&&', '(', '$(', 'do', 'then', 'else', 'sudo', 'exec', 'time', 'env']);

/** Split shell words on whitespace, keeping quoted strings whole (quotes dropped). Pure. */
export function words(text: string): string[] {
  return [...text.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Where the command starting at `text` ends: an unquoted `;`, `&&`, `||`, redirection, comment, `)` or a real pipe. */
function commandEnd(text: string): number {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === ';' || c === '>' || c === ')' || c === '`') return i;
    else if (c === '<') {
      // `<pool>` is a placeholder, not a redirection.
      const placeholder = /^<[A-Za-z][^<>\s]*>/.exec(text.slice(i));
      if (placeholder === null) return i;
      i += placeholder[0].length - 1;
    }
    else if (c === '&' && text[i + 1] === '&') return i;
    else if (c === '#' && /\s/.test(text[i - 1] ?? ' ')) return i;
    else if (c === '|' && /\s/.test(text[i - 1] ?? ' ') && /\s/.test(text[i + 1] ?? ' ')) {
      // `a | jq …` is a pipe; `[--file PATH] | --reference` is a synopsis' alternative.
      if (text[i + 1] === '|') return i;
      if (!/^\s*-/.test(text.slice(i + 1))) return i;
    }
  }
  return text.length;
}

/** The CLI invocations of a snippet (not `import dspex`, not `dspex` inside a word). Pure. */
export function invocations(s: Snippet): Invocation[] {
  const out: Invocation[] = [];
  for (const m of s.text.matchAll(INVOKE)) {
    const before = s.text.slice(0, m.index);
    if (before !== '' && !/\s$|[;|&(]$/.test(before)) continue;
    const prev = before.trim().split(/\s+/).pop() ?? '';
    if (!COMMAND_PREFIX.has(prev) && !ENV_ASSIGNMENT.test(prev) && !/[;|&(]$/.test(prev)) continue;
    const rest = s.text.slice(m.index + m[0].length);
    out.push({ ...s, args: words(rest.slice(0, commandEnd(rest))), whole: s.kind === 'block' || /^(npx|node)\s/.test(s.text.trimStart()) });
  }
  return out;
}

/** A word that stands for any value: `URL`, `<pool>`, `$DSPEX_URL`, `…`. Pure. */
export function isPlaceholder(word: string): boolean {
  return /^(<[^>]+>|[A-Z][A-Z0-9_]*|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?.*|\.\.\.)$/.test(word) || word.includes('…');
}

const bySubcommand = new Map<string, CommandSpec>(commands.map((c) => [c.name, c as CommandSpec]));

/** A valid stand-in for a placeholder value of `flag` (for the whole-line parse). */
function standIn(flag: Exclude<FlagSpec, { kind: 'boolean' }>): string {
  if (flag.kind === 'number') return String(flag.min);
  if (flag.kind === 'choice') return flag.choices[0]!;
  return 'x';
}

/** What is wrong with one invocation, as messages (none: it works). Pure apart from reading the CLI tables. */
export function problemsOf(inv: Invocation): string[] {
  const problems: string[] = [];
  const [first, ...rest] = inv.args;
  if (first === undefined || first.startsWith('-')) {
    // The bare `dspex`: only -h / --help.
    for (const w of inv.args) if (w !== '-h' && w !== '--help') problems.push(`'dspex' takes no '${w}'`);
    return problems;
  }
  if (isPlaceholder(first)) return problems;
  const spec = bySubcommand.get(first);
  if (spec === undefined) return [`unknown subcommand '${first}' (one of ${[...bySubcommand.keys()].join(', ')})`];
  const synopsis = inv.args.some((w) => /[[\]|]/.test(w) || w.includes('…'));
  const argv: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!.replace(/^\[+|\]+$/g, '');
    if (w === '' || w === '|' || w === '…' || w === '...') continue;
    if (w === '-h' || w === '--help') {
      argv.push(w);
      continue;
    }
    if (w.startsWith('-')) {
      const eq = w.indexOf('=');
      const name = (eq < 0 ? w : w.slice(0, eq)).replace(/^--?/, '');
      const flag = w.startsWith('--') ? spec.flags[name] : undefined;
      if (flag === undefined) {
        problems.push(`'dspex ${spec.name}' has no flag '${eq < 0 ? w : w.slice(0, eq)}'`);
        continue;
      }
      if (flag.kind === 'boolean') {
        argv.push(`--${name}`);
        continue;
      }
      let value = eq < 0 ? rest[++i] : w.slice(eq + 1);
      value = value?.replace(/\]+$/, '');
      if (value === undefined) {
        if (inv.whole) problems.push(`--${name} needs a value`);
        continue;
      }
      if (isPlaceholder(value)) {
        argv.push(`--${name}`, standIn(flag));
        continue;
      }
      for (const alt of value.split('|')) {
        try {
          validateValue(spec.name, name, flag, alt);
        } catch (err) {
          if (!(err instanceof UsageError)) throw err;
          problems.push(err.message);
        }
      }
      argv.push(`--${name}`, value);
      continue;
    }
    positionals.push(w);
    const p = positionals.length === 1 ? spec.positional : positionals.length === 2 ? spec.second : undefined;
    if (p === undefined) {
      problems.push(`'dspex ${spec.name}' takes no argument '${w}'`);
      continue;
    }
    if (isPlaceholder(w)) {
      argv.push(p.choices?.[0] ?? (positionals.length === 2 ? '0' : 'x'));
      continue;
    }
    for (const alt of w.split('|')) if (p.choices && !isPlaceholder(alt) && !p.choices.includes(alt)) problems.push(`unknown ${p.label} '${alt}' (one of ${p.choices.join(', ')})`);
    argv.push(w);
  }
  if (problems.length === 0 && inv.whole && !synopsis) {
    try {
      parseCommand(spec, argv);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problems.push(`the CLI refuses it: ${err.message}`);
    }
  }
  return problems;
}

/** A reference to the monitoring server: path and query string. */
export interface RouteRef extends Snippet {
  path: string;
  query: string;
}

const SERVER_URL = /(?:https?:\/\/)?(?:127\.0\.0\.1|localhost|\[::1\]|\$\{?DSPEX_URL\}?)(?::(?:\d+|PORT|\$\{?\w+\}?))?(\/[^\s'"`)]*)?/g;

/** The monitoring-server paths a snippet reaches with curl, and a `GET /path` written in inline code. Pure. */
export function routeRefs(s: Snippet): RouteRef[] {
  const out: RouteRef[] = [];
  const split = (ref: string): { path: string; query: string } => {
    const q = ref.indexOf('?');
    return q < 0 ? { path: ref, query: '' } : { path: ref.slice(0, q), query: ref.slice(q + 1) };
  };
  const get = /^(?:GET|HEAD) (\/\S*)/.exec(s.text);
  if (get) out.push({ ...s, ...split(get[1]!) });
  if (!/(^|[\s;|&(])curl\s/.test(s.text)) return out;
  for (const m of s.text.matchAll(SERVER_URL)) out.push({ ...s, ...split(m[1] ?? '/') });
  return out;
}

/** What is wrong with one route reference (none: the server answers it). Pure. */
export function routeProblems(ref: RouteRef): string[] {
  if (ref.path.startsWith('/dashboard/')) {
    const name = ref.path.slice('/dashboard/'.length);
    return WEB_ASSET_NAMES.includes(name) ? [] : [`the dashboard serves no file '${name}'`];
  }
  if (!Object.hasOwn(MONITORING_ROUTES, ref.path)) return [`no route ${ref.path} (routes: ${Object.keys(MONITORING_ROUTES).join(', ')})`];
  const allowed = MONITORING_ROUTES[ref.path as keyof typeof MONITORING_ROUTES];
  const problems: string[] = [];
  // Placeholder values (`${1:-5m}`, `NAME`, `T`) stand for any value: only their names are checked.
  const literal = (v: string): boolean => v !== '' && !isPlaceholder(v) && !/[$<{]/.test(v) && !/^[A-Z]$/.test(v);
  try {
    const params = parseQuery(ref.query.replace(/=[^&]*/g, (v) => (literal(v.slice(1)) ? v : '=x')), allowed);
    // `window=1m|5m|15m`: each alternative.
    for (const w of params.get('window')?.split('|') ?? []) if (w !== 'x') parseWindow(w);
    for (const n of params.get('points')?.split('|') ?? []) if (n !== 'x') parsePoints(n);
  } catch (err) {
    problems.push(`${ref.path}?${ref.query}: ${(err as Error).message}`);
  }
  return problems;
}

const all = DOCS.flatMap((f) => snippets(f, readFileSync(join(root, f), 'utf8')));
const at = (s: Snippet): string => `${s.file}:${s.line}`;

describe('commands in the README and the guides', () => {
  it('finds invocations and judges them (so the checks below can fail)', () => {
    const one = (text: string, kind: Snippet['kind'] = 'block'): Invocation[] => invocations({ file: 'x.md', line: 1, text, kind });
    expect(one('npx dspex monitor --url $DSPEX_URL --once   # a frame').map((i) => i.args)).toEqual([['monitor', '--url', '$DSPEX_URL', '--once']]);
    expect(one('DSPEX_TOKEN=… dspex stack --url URL POOL 0 | head').map((i) => i.args)).toEqual([['stack', '--url', 'URL', 'POOL', '0']]);
    expect(one('npm run build && node dist/cli/main.js bench pool --quick').map((i) => i.args)).toEqual([['bench', 'pool', '--quick']]);
    expect(one("import dspex; python3 -c 'import dspex'")).toEqual([]);
    expect(one('the dspex_pool_up family')).toEqual([]);
    const judge = (text: string, kind: Snippet['kind'] = 'block'): string[] => one(text, kind).flatMap(problemsOf);
    expect(judge('npx dspex stack --url http://127.0.0.1:9568 <pool> <worker>', 'inline')).toEqual([]);
    expect(judge('dspex monitor --url', 'inline')).toEqual([]);
    expect(judge('npx dspex monitor --url', 'inline')[0]).toMatch(/--url needs a value/);
    expect(judge('dspex monitor --demo --windw', 'inline')[0]).toMatch(/no flag '--windw'/);
    expect(judge('npx dspex monitor --demo --headless --port 0')).toEqual([]);
    expect(judge('npx dspex config [--file PATH] | --reference | --json-schema')).toEqual([]);
    expect(judge('npx dspex bench pool|telemetry|…')).toEqual([]);
    expect(judge('npx dspex monitr --demo')[0]).toMatch(/unknown subcommand 'monitr'/);
    expect(judge('npx dspex monitor --url URL --windw 5m')[0]).toMatch(/no flag '--windw'/);
    expect(judge('npx dspex monitor --url URL --window 2m')[0]).toMatch(/--window must be one of/);
    expect(judge('npx dspex monitor --url URL --headless')[0]).toMatch(/refuses it: --headless goes with --demo/);
    expect(judge('npx dspex bench pools')[0]).toMatch(/unknown bench 'pools'/);
    expect(judge('npx dspex advise --url URL extra')[0]).toMatch(/takes no argument 'extra'/);
  });

  it('finds server routes and judges them (so the checks below can fail)', () => {
    const refs = (text: string): RouteRef[] => routeRefs({ file: 'x.md', line: 1, text, kind: 'inline' });
    expect(refs('curl -s -H "Authorization: Bearer $DSPEX_TOKEN" 127.0.0.1:9568/api/snapshot | jq .').map((r) => r.path)).toEqual(['/api/snapshot']);
    expect(refs('curl -sf "$DSPEX_URL/api/snapshot?window=${1:-5m}"').map((r) => [r.path, r.query])).toEqual([['/api/snapshot', 'window=${1:-5m}']]);
    expect(refs('open http://127.0.0.1:9568/nothing')).toEqual([]);
    const judge = (text: string): string[] => refs(text).flatMap(routeProblems);
    expect(judge('curl http://127.0.0.1:9568/metrics')).toEqual([]);
    expect(judge('GET /api/snapshot?window=1m|5m|15m&points=N')).toEqual([]);
    expect(judge('curl "http://127.0.0.1:9568/api/stack?pool=NAME&worker=ID"')).toEqual([]);
    expect(judge('curl http://127.0.0.1:9568/dashboard/app.js')).toEqual([]);
    expect(judge('curl http://127.0.0.1:9568/api/silences')[0]).toMatch(/no route \/api\/silences/);
    expect(judge('curl "http://127.0.0.1:9568/api/snapshot?windw=5m"')[0]).toMatch(/windw/);
    expect(judge('curl "http://127.0.0.1:9568/api/snapshot?window=2m"')[0]).toMatch(/window/);
    expect(judge('GET /api/alerts')[0]).toMatch(/no route/);
  });

  it('every dspex command line names a real subcommand with flags and values it accepts', () => {
    const found = all.flatMap(invocations);
    expect(found.length).toBeGreaterThanOrEqual(40);
    for (const name of ['monitor', 'stack', 'config', 'advise', 'bench', 'soak', 'help']) expect(found.some((i) => i.args[0] === name), name).toBe(true);
    const problems = found.flatMap((i) => problemsOf(i).map((p) => `${at(i)}: dspex ${i.args.join(' ')}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('every curl of the monitoring server reaches one of its routes with parameters it accepts', () => {
    const refs = all.flatMap(routeRefs);
    expect(refs.length).toBeGreaterThanOrEqual(15);
    const problems = refs.flatMap((r) => routeProblems(r).map((p) => `${at(r)}: ${p}`));
    expect(problems).toEqual([]);
  });
});
