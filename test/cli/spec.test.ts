/**
 * The pure parts of the CLI's argument handling: a declaration → `parseArgs` options, strict
 * parsing with one-line diagnoses, value validation and help rendering; and the real
 * declarations of `dspex` (commands.ts) against what the commands read.
 */
import { describe, expect, it } from 'vitest';
import { benchNames } from '../../src/bench/index.js';
import { benchCommand, commands, helpCommand, monitorCommand } from '../../src/cli/commands.js';
import {
  flagDescription,
  flagTerm,
  formatUsageError,
  parseArgsOptions,
  parseCommand,
  renderHelp,
  renderOverview,
  UsageError,
  validateValue,
  wrap,
  type CommandSpec,
} from '../../src/cli/spec.js';

const flags = {
  fast: { kind: 'boolean', help: 'go fast' },
  'no-color': { kind: 'boolean', help: 'no colors' },
  name: { kind: 'string', value: 'NAME', help: 'a name' },
  size: { kind: 'number', value: 'N', integer: true, min: 1, max: 8, default: 2, help: 'how many' },
  rate: { kind: 'number', value: 'R', min: 0, max: 1.5, help: 'how often', requires: ['fast'] },
  mode: { kind: 'choice', choices: ['a', 'b'], default: 'a', help: 'which mode' },
  knob: { kind: 'number', value: 'K', min: -10, max: 10, appliesTo: ['x'], help: 'only for x' },
} as const;

const spec = {
  name: 'demo',
  summary: 'a test command',
  usage: ['demo [options]'],
  flags,
  check: (v) => (v.name === 'forbidden' ? 'that name is taken' : undefined),
} as const satisfies CommandSpec<typeof flags>;

const withArg = {
  ...spec,
  name: 'run',
  positional: { name: 'WHAT', label: 'thing', help: 'the thing', required: true, choices: ['x', 'y'] },
} as const satisfies CommandSpec<typeof flags>;

/** The UsageError message `fn` throws (fails the test when it does not throw one). */
function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseArgsOptions', () => {
  it('maps each declared flag to a parseArgs option, plus -h/--help', () => {
    expect(parseArgsOptions(spec)).toEqual({
      help: { type: 'boolean', short: 'h' },
      fast: { type: 'boolean' },
      'no-color': { type: 'boolean' },
      name: { type: 'string' },
      size: { type: 'string' },
      rate: { type: 'string' },
      mode: { type: 'string' },
      knob: { type: 'string' },
    });
  });

  it('refuses a declared help flag', () => {
    expect(() => parseArgsOptions({ ...spec, flags: { help: { kind: 'boolean', help: 'x' } } })).toThrow(/implicit/);
  });
});

describe('validateValue', () => {
  it('converts numbers in range and accepts listed choices', () => {
    expect(validateValue('demo', 'size', flags.size, '8')).toBe(8);
    expect(validateValue('demo', 'rate', flags.rate, '0.25')).toBe(0.25);
    expect(validateValue('demo', 'mode', flags.mode, 'b')).toBe('b');
    expect(validateValue('demo', 'name', flags.name, 'n')).toBe('n');
  });

  it.each([
    ['size', '9', "--size must be an integer in 1..8, got '9'"],
    ['size', '1.5', "--size must be an integer in 1..8, got '1.5'"],
    ['size', 'abc', "--size must be an integer in 1..8, got 'abc'"],
    ['size', '0x4', "--size must be an integer in 1..8, got '0x4'"],
    ['size', '', "--size must be an integer in 1..8, got ''"],
    ['rate', '-1', "--rate must be a number in 0..1.5, got '-1'"],
    ['rate', '1e0', "--rate must be a number in 0..1.5, got '1e0'"],
    ['mode', 'c', "--mode must be one of a, b, got 'c'"],
    ['name', '', '--name needs a non-empty NAME'],
  ] as const)('--%s %j: %s', (name, raw, message) => {
    expect(usageError(() => validateValue('demo', name, flags[name], raw))).toBe(message);
  });
});

describe('parseCommand', () => {
  it('applies defaults and reports which flags were given', () => {
    const p = parseCommand(spec, []);
    expect(p).toEqual({ help: false, values: { fast: false, 'no-color': false, name: undefined, size: 2, rate: undefined, mode: 'a', knob: undefined }, given: new Set(), positional: undefined });
  });

  it('parses --key value, --key=value and booleans, including the declared --no-color', () => {
    const p = parseCommand(spec, ['--fast', '--size', '3', '--rate=1.5', '--mode', 'b', '--name=n', '--no-color']);
    if (p.help) throw new Error('unexpected help');
    expect(p.values).toEqual({ fast: true, 'no-color': true, name: 'n', size: 3, rate: 1.5, mode: 'b', knob: undefined });
    expect([...p.given].sort()).toEqual(['fast', 'mode', 'name', 'no-color', 'rate', 'size']);
  });

  it('--help or -h anywhere wins, even over other errors', () => {
    expect(parseCommand(spec, ['--help'])).toEqual({ help: true });
    expect(parseCommand(spec, ['--size', '3', '-h'])).toEqual({ help: true });
    expect(parseCommand(spec, ['--bogus', '--help'])).toEqual({ help: true });
  });

  it.each([
    [['--bogus'], "unknown flag '--bogus'"],
    [['--bogus=1'], "unknown flag '--bogus'"],
    [['-x'], "unknown flag '-x'"],
    [['--color'], "unknown flag '--color'"],
    [['--no-fast'], "unknown flag '--no-fast'"],
    [['--size'], 'missing value for --size (N)'],
    [['--mode'], 'missing value for --mode (a|b)'],
    [['--name', '--fast'], 'missing value for --name (NAME)'],
    [['--size', '-3'], "--size must be an integer in 1..8, got '-3'"],
    [['--knob', '-3'], "write a value starting with '-' as --knob=-3"],
    [['--fast=yes'], "--fast takes no value, got 'yes'"],
    [['stray'], "unexpected argument 'stray'"],
    [['--size', '3', 'stray'], "unexpected argument 'stray'"],
    [['--size', 'abc'], "--size must be an integer in 1..8, got 'abc'"],
    [['--rate', '1'], '--rate goes with --fast'],
    [['--name', 'forbidden'], 'that name is taken'],
  ])('%j: %s', (argv, message) => {
    expect(usageError(() => parseCommand(spec, argv))).toBe(message);
  });

  it('a negative number is a value when the range allows it (written --k=-3)', () => {
    const p = parseCommand(spec, ['--knob=-3']);
    expect(!p.help && p.values.knob).toBe(-3);
  });

  it('checks the positional: required, one of the choices, at most one', () => {
    const p = parseCommand(withArg, ['y', '--size', '4']);
    expect(!p.help && p.positional).toBe('y');
    expect(usageError(() => parseCommand(withArg, []))).toBe('missing thing WHAT: one of x, y');
    expect(usageError(() => parseCommand(withArg, ['z']))).toBe("unknown thing 'z': one of x, y");
    expect(usageError(() => parseCommand(withArg, ['x', 'y']))).toBe("unexpected argument 'y'");
  });

  it('rejects a flag for another positional (appliesTo)', () => {
    expect(parseCommand(withArg, ['x', '--knob', '2']).help).toBe(false);
    expect(usageError(() => parseCommand(withArg, ['y', '--knob', '2']))).toBe("--knob is only for 'run x', not 'run y'");
  });

  it('a UsageError names the command and hints at its help', () => {
    expect(formatUsageError(new UsageError('monitor', "unknown flag '--bogus'"))).toBe("dspex monitor: unknown flag '--bogus'\nrun 'dspex help monitor' for usage\n");
    expect(formatUsageError(new UsageError('', "unknown command 'x'"))).toBe("dspex: unknown command 'x'\nrun 'dspex help' for usage\n");
    expect(formatUsageError(new UsageError('help', "unknown command 'x'"))).toBe("dspex help: unknown command 'x'\nrun 'dspex help' for usage\n");
  });
});

describe('help rendering', () => {
  it('describes each flag with its value, range, default and constraints', () => {
    expect(flagTerm('size', flags.size)).toBe('--size N');
    expect(flagTerm('mode', flags.mode)).toBe('--mode a|b');
    expect(flagTerm('fast', flags.fast)).toBe('--fast');
    expect(flagDescription(flags.size)).toBe('how many (integer 1..8; default 2)');
    expect(flagDescription(flags.rate)).toBe('how often (0..1.5; with --fast)');
    expect(flagDescription(flags.mode)).toBe('which mode (default a)');
    expect(flagDescription(flags.knob)).toBe('only for x (-10..10; only for x)');
    expect(flagDescription(flags.fast)).toBe('go fast');
    expect(flagDescription({ kind: 'string', value: 'T', defaultText: '$T', help: 'token' })).toBe('token (default $T)');
  });

  it('renders the synopsis, the positional and every flag in declaration order, then --help', () => {
    const text = renderHelp(withArg);
    expect(text.startsWith('usage: dspex demo [options]\n')).toBe(true);
    expect(text).toContain('arguments:\n  WHAT  the thing: x, y\n');
    const lines = text.split('\n');
    const order = [...Object.keys(flags).map((f) => `  --${f}`), '  -h, --help'].map((prefix) => lines.findIndex((l) => l.startsWith(prefix)));
    expect(order.every((i) => i > 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(text).toMatch(/^ {2}--size N {2,}how many \(integer 1\.\.8; default 2\)$/m);
  });

  it('wraps long text under its column', () => {
    expect(wrap('aaa bbb ccc ddd', 8)).toEqual(['aaa bbb', 'ccc ddd']);
    expect(wrap('aaa bbbbbbbbbb c', 8)).toEqual(['aaa', 'bbbbbbbbbb', 'c']);
    expect(wrap('', 8)).toEqual(['']);
    const help = renderHelp({ ...spec, flags: { long: { kind: 'boolean', help: 'word '.repeat(40) } } });
    for (const l of help.split('\n')) expect(l.length).toBeLessThanOrEqual(100);
  });

  it('the overview lists every command with its summary', () => {
    const text = renderOverview({ name: '', summary: '', usage: ['<command>'], flags: {} }, [spec, withArg]);
    expect(text).toMatch(/^ {2}demo {4,}a test command$/m);
    expect(text).toMatch(/^ {2}run WHAT {2,}a test command$/m);
    expect(text).toContain('-h, --help');
  });
});

describe('the dspex declarations', () => {
  it('monitor declares every flag the command has always taken', () => {
    const historical = ['demo', 'url', 'token', 'once', 'headless', 'pool-size', 'load', 'port', 'refresh', 'window', 'no-color', 'warmup', 'fleet', 'queue'];
    expect(Object.keys(monitorCommand.flags).sort()).toEqual([...historical].sort());
  });

  it('monitor keeps its defaults and ranges', () => {
    const p = parseCommand(monitorCommand, ['--demo']);
    if (p.help) throw new Error('unexpected help');
    expect(p.values).toMatchObject({ demo: true, 'pool-size': 4, load: 300, port: 9568, refresh: 1000, window: '1m', warmup: 2500, once: false, headless: false, 'no-color': false });
    expect(usageError(() => parseCommand(monitorCommand, ['--demo', '--refresh', '249']))).toBe("--refresh must be a number in 250..60000, got '249'");
    expect(usageError(() => parseCommand(monitorCommand, ['--url', 'http://h', '--headless']))).toBe('--headless goes with --demo');
    expect(usageError(() => parseCommand(monitorCommand, []))).toBe('pass exactly one of --demo, --url URL or --fleet REDIS_URL');
  });

  it('bench takes exactly the registered benchmark names; its per-bench flags name real benchmarks', () => {
    expect(benchCommand.positional.choices).toEqual(benchNames());
    for (const flag of Object.values(benchCommand.flags)) {
      for (const name of 'appliesTo' in flag ? flag.appliesTo : []) expect(benchNames()).toContain(name);
    }
  });

  it('help takes the command names', () => {
    expect(helpCommand.positional.choices).toEqual(commands.map((c) => c.name));
    expect(commands.map((c) => c.name)).toEqual(['monitor', 'advise', 'bench', 'soak', 'stack', 'config', 'help']);
  });
});
