/**
 * Command declarations for the CLI (pure): one table per subcommand drives both `node:util`
 * `parseArgs` (strict) and the help text, so a flag cannot be accepted without being documented
 * or documented without being accepted.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

interface FlagCommon {
  /** What the flag does, one sentence (the help adds range, default and constraints). */
  help: string;
  /** Other flags that must be given with this one (`--headless` needs `--demo`). */
  requires?: readonly string[];
  /** The positional values this flag is for (`--procs` only for `bench resources`). */
  appliesTo?: readonly string[];
}

/** A flag without a value. */
export interface BooleanFlag extends FlagCommon {
  kind: 'boolean';
}

/** A flag with a free-form value. */
export interface StringFlag extends FlagCommon {
  kind: 'string';
  /** The value's placeholder in the help (`URL`). */
  value: string;
  default?: string;
  /** The default as the help shows it, when it is not a fixed value (`$DSPEX_TOKEN`). */
  defaultText?: string;
}

/** A flag with a decimal number in `min..max`. */
export interface NumberFlag extends FlagCommon {
  kind: 'number';
  value: string;
  min: number;
  max: number;
  /** Only whole numbers. */
  integer?: boolean;
  default?: number;
  defaultText?: string;
}

/** A flag whose value is one of a fixed list. */
export interface ChoiceFlag extends FlagCommon {
  kind: 'choice';
  choices: readonly string[];
  default?: string;
}

export type FlagSpec = BooleanFlag | StringFlag | NumberFlag | ChoiceFlag;

/** Flags by name (without the leading `--`). */
export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** The parsed, validated value of each flag of a table, defaults applied. */
export type FlagValues<F extends FlagTable> = {
  -readonly [K in keyof F]: F[K] extends BooleanFlag
    ? boolean
    : F[K] extends NumberFlag
      ? F[K] extends { default: number }
        ? number
        : number | undefined
      : F[K] extends { kind: 'choice'; choices: readonly (infer C)[] }
        ? F[K] extends { default: string }
          ? C
          : C | undefined
        : F[K] extends { default: string }
          ? string
          : string | undefined;
};

/** The one positional argument a command may take. */
export interface PositionalSpec {
  /** Placeholder in the help (`NAME`). */
  name: string;
  /** What it names, for messages (`bench`: "unknown bench 'x'"). */
  label: string;
  help: string;
  required: boolean;
  choices?: readonly string[];
}

/** One subcommand (or the bare `dspex`). */
export interface CommandSpec<F extends FlagTable = FlagTable> {
  /** `monitor`; '' for the bare `dspex`. */
  name: string;
  /** One line, for the command list of `dspex --help`. */
  summary: string;
  /** Synopsis lines, each after `dspex ` (`monitor --demo [options]`). */
  usage: readonly string[];
  /** A paragraph under the synopsis. */
  description?: string;
  positional?: PositionalSpec;
  /** A second positional after the first (`stack POOL WORKER`); only with `positional`. */
  second?: PositionalSpec;
  flags: F;
  /** Lines after the flags. */
  notes?: readonly string[];
  /** Checks across flags once each is valid on its own: a message, or undefined when fine. */
  check?(values: FlagValues<F>): string | undefined;
}

/** The flag every command has (not declared in the tables). */
const HELP_FLAG = 'help';

/** A command line the user got wrong: exit code 2, a one-line message and a hint, no stack. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command it is about ('' for the bare `dspex`); the hint points to its help. */
  readonly command: string;
  constructor(command: string, message: string) {
    super(message);
    this.command = command;
  }
}

/** The two lines a {@link UsageError} prints on stderr. */
export function formatUsageError(err: UsageError): string {
  const prefix = err.command ? `dspex ${err.command}` : 'dspex';
  const helpFor = err.command && err.command !== 'help' ? `dspex help ${err.command}` : 'dspex help';
  return `${prefix}: ${err.message}\nrun '${helpFor}' for usage\n`;
}

/** The `parseArgs` options of a declaration (plus `-h, --help`). */
export function parseArgsOptions(spec: CommandSpec): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = { [HELP_FLAG]: { type: 'boolean', short: 'h' } };
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (name === HELP_FLAG) throw new Error(`'${HELP_FLAG}' is implicit; do not declare it`);
    options[name] = { type: flag.kind === 'boolean' ? 'boolean' : 'string' };
  }
  return options;
}

/** A number flag's range, as messages and the help show it (`250..60000`). */
function range(flag: NumberFlag): string {
  return `${flag.min}..${flag.max}`;
}

/** What a valued flag's value looks like in the help and in messages (`MS`, `1m|5m|15m`). */
function placeholder(flag: Exclude<FlagSpec, BooleanFlag>): string {
  return flag.kind === 'choice' ? flag.choices.join('|') : flag.value;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
const INTEGER = /^-?\d+$/;

/**
 * Validate and convert one flag's raw value: the number or choice, or a {@link UsageError}
 * naming the flag and what it allows.
 */
export function validateValue(command: string, name: string, flag: Exclude<FlagSpec, BooleanFlag>, raw: string): string | number {
  switch (flag.kind) {
    case 'number': {
      const n = Number(raw);
      const shape = flag.integer ? INTEGER : DECIMAL;
      if (!shape.test(raw) || n < flag.min || n > flag.max) {
        throw new UsageError(command, `--${name} must be ${flag.integer ? 'an integer' : 'a number'} in ${range(flag)}, got '${raw}'`);
      }
      return n;
    }
    case 'choice':
      if (!flag.choices.includes(raw)) throw new UsageError(command, `--${name} must be one of ${flag.choices.join(', ')}, got '${raw}'`);
      return raw;
    case 'string':
      if (raw === '') throw new UsageError(command, `--${name} needs a non-empty ${flag.value}`);
      return raw;
  }
}

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

/**
 * Why a strict parse failed, from the tokens of a lenient parse of the same argv: the first
 * unknown flag, missing or unexpected value, or unexpected positional. Undefined if none found.
 */
function diagnose(spec: CommandSpec, tokens: readonly Token[]): string | undefined {
  for (const t of tokens) {
    if (t.kind === 'positional') {
      if (!spec.positional) return `unexpected argument '${t.value}'`;
      continue;
    }
    if (t.kind !== 'option') continue;
    const flag = t.name === HELP_FLAG ? ({ kind: 'boolean', help: '' } as const) : spec.flags[t.name];
    if (!flag) return `unknown flag '${t.rawName}'`;
    if (flag.kind === 'boolean') {
      if (t.value !== undefined) return `${t.rawName} takes no value, got '${t.value}'`;
      continue;
    }
    if (t.value === undefined) return `missing value for ${t.rawName} (${placeholder(flag)})`;
    if (!t.inlineValue && t.value.startsWith('-')) {
      // parseArgs refuses `--refresh -5` as ambiguous; a number is checked as the user meant it.
      if (flag.kind !== 'number' || !DECIMAL.test(t.value)) return `missing value for ${t.rawName} (${placeholder(flag)})`;
      try {
        validateValue(spec.name, t.name, flag, t.value);
      } catch (err) {
        if (err instanceof UsageError) return err.message;
        throw err;
      }
      return `write a value starting with '-' as --${t.name}=${t.value}`;
    }
  }
  return undefined;
}

/** A parsed command line: `--help` asked for, or the validated flags and positional. */
export type ParsedCommand<F extends FlagTable> =
  | { help: true }
  | {
      help: false;
      values: FlagValues<F>;
      /** The flags given on the command line (not defaulted). */
      given: ReadonlySet<string>;
      positional: string | undefined;
      /** The second positional (see {@link CommandSpec.second}). */
      second: string | undefined;
    };

/**
 * Parse a subcommand's argv (after the subcommand's name) against its declaration, strictly:
 * unknown flags, missing or malformed values, bad choices, stray positionals and broken
 * `requires` / `appliesTo` / `check` rules throw a {@link UsageError}. `-h` / `--help` anywhere
 * (before `--`) wins over everything else.
 */
export function parseCommand<F extends FlagTable>(spec: CommandSpec<F>, argv: readonly string[]): ParsedCommand<F> {
  const options = parseArgsOptions(spec);
  const args = [...argv];
  const lenient = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  if (lenient.tokens.some((t) => t.kind === 'option' && t.name === HELP_FLAG)) return { help: true };

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: spec.positional !== undefined });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw err;
    throw new UsageError(spec.name, diagnose(spec, lenient.tokens) ?? (err as Error).message.split('\n')[0] ?? code);
  }

  const positional = checkPositional(spec, parsed.positionals);
  const second = spec.second ? checkOne(spec, spec.second, parsed.positionals[1]) : undefined;
  const values: Record<string, string | number | boolean | undefined> = {};
  const given = new Set<string>();
  for (const [name, flag] of Object.entries(spec.flags)) {
    const raw = parsed.values[name];
    if (raw === undefined) {
      values[name] = flag.kind === 'boolean' ? false : flag.default;
      continue;
    }
    given.add(name);
    values[name] = flag.kind === 'boolean' ? raw === true : validateValue(spec.name, name, flag, String(raw));
  }
  for (const name of given) {
    const flag = spec.flags[name] as FlagSpec;
    const missing = flag.requires?.filter((r) => !given.has(r)) ?? [];
    if (missing.length > 0) throw new UsageError(spec.name, `--${name} goes with ${missing.map((r) => `--${r}`).join(' and ')}`);
    if (flag.appliesTo && positional !== undefined && !flag.appliesTo.includes(positional)) {
      throw new UsageError(spec.name, `--${name} is only for ${flag.appliesTo.map((a) => `'${spec.name} ${a}'`).join(', ')}, not '${spec.name} ${positional}'`);
    }
  }
  const typed = values as FlagValues<F>;
  const problem = spec.check?.(typed);
  if (problem !== undefined) throw new UsageError(spec.name, problem);
  return { help: false, values: typed, given, positional, second };
}

function checkPositional(spec: CommandSpec, positionals: readonly string[]): string | undefined {
  const p = spec.positional;
  if (!p) return undefined;
  const [value, extra, more] = positionals;
  const surplus = spec.second ? more : extra;
  if (surplus !== undefined) throw new UsageError(spec.name, `unexpected argument '${surplus}'`);
  return checkOne(spec, p, value);
}

function checkOne(spec: CommandSpec, p: PositionalSpec, value: string | undefined): string | undefined {
  const oneOf = p.choices ? `: one of ${p.choices.join(', ')}` : '';
  if (value === undefined) {
    if (p.required) throw new UsageError(spec.name, `missing ${p.label} ${p.name}${oneOf}`);
    return undefined;
  }
  if (p.choices && !p.choices.includes(value)) throw new UsageError(spec.name, `unknown ${p.label} '${value}'${oneOf}`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Help rendering

const WIDTH = 100;

/** Greedy word wrap of `text` to `width` columns (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

/** Two columns: terms padded to the widest, descriptions wrapped under their own column. */
function table(rows: readonly (readonly [string, string])[], indent = 2): string[] {
  const termWidth = Math.max(...rows.map(([term]) => term.length));
  const col = indent + termWidth + 2;
  const out: string[] = [];
  for (const [term, text] of rows) {
    const [first = '', ...rest] = wrap(text, WIDTH - col);
    out.push(`${' '.repeat(indent)}${term.padEnd(termWidth)}  ${first}`.trimEnd());
    for (const l of rest) out.push(' '.repeat(col) + l);
  }
  return out;
}

/** The term column of a flag: `--port P`, `--window 1m|5m|15m`. */
export function flagTerm(name: string, flag: FlagSpec): string {
  return flag.kind === 'boolean' ? `--${name}` : `--${name} ${placeholder(flag)}`;
}

/** The description column of a flag: its help, then allowed values, default and constraints. */
export function flagDescription(flag: FlagSpec): string {
  const facts: string[] = [];
  if (flag.kind === 'number') facts.push(`${flag.integer ? 'integer ' : ''}${range(flag)}`);
  if (flag.kind !== 'boolean') {
    const shown = (flag.kind === 'choice' ? undefined : flag.defaultText) ?? (flag.default === undefined ? undefined : String(flag.default));
    if (shown !== undefined) facts.push(`default ${shown}`);
  }
  if (flag.requires?.length) facts.push(`with ${flag.requires.map((r) => `--${r}`).join(' ')}`);
  if (flag.appliesTo?.length) facts.push(`only for ${flag.appliesTo.join(', ')}`);
  return facts.length ? `${flag.help} (${facts.join('; ')})` : flag.help;
}

/** Synopsis, description, `sections` (each a heading's lines), then the notes. */
function render(spec: CommandSpec, sections: readonly (readonly string[])[]): string {
  const out = spec.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}dspex ${u}`);
  if (spec.description) out.push('', ...wrap(spec.description, WIDTH));
  for (const section of sections) out.push('', ...section);
  if (spec.notes?.length) out.push('', ...spec.notes.flatMap((n) => wrap(n, WIDTH)));
  return `${out.join('\n')}\n`;
}

function optionRows(spec: CommandSpec): string[] {
  const rows: [string, string][] = Object.entries(spec.flags).map(([name, flag]) => [flagTerm(name, flag), flagDescription(flag)]);
  rows.push(['-h, --help', 'print this help and exit']);
  return ['options:', ...table(rows)];
}

/** The full help of one command: synopsis, description, positional, every flag, notes. */
export function renderHelp(spec: CommandSpec): string {
  const p = spec.positional;
  const sections = [optionRows(spec)];
  if (p) {
    const row = (q: PositionalSpec): [string, string] => {
      const text = q.choices ? `${q.help}: ${q.choices.join(', ')}` : q.help;
      return [q.name, q.required ? text : `${text} (optional)`];
    };
    sections.unshift(['arguments:', ...table(spec.second ? [row(p), row(spec.second)] : [row(p)])]);
  }
  return render(spec, sections);
}

/** A command as the command list shows it: `bench NAME`, `help [COMMAND]`. */
function commandTerm(spec: CommandSpec): string {
  const p = spec.positional;
  const term = (q: PositionalSpec): string => (q.required ? q.name : `[${q.name}]`);
  return p ? `${spec.name} ${term(p)}${spec.second ? ` ${term(spec.second)}` : ''}` : spec.name;
}

/** `dspex --help`: the bare command's synopsis and options, then every command with its summary. */
export function renderOverview(root: CommandSpec, commands: readonly CommandSpec[]): string {
  return render(root, [['commands:', ...table(commands.map((c) => [commandTerm(c), c.summary]))], optionRows(root)]);
}
