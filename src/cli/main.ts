#!/usr/bin/env node
/**
 * The `dspex` command: `monitor` (the main job), `advise`, `bench NAME`, `soak`, `stack`, `config` and `help [COMMAND]`. Every command
 * line is parsed strictly against its declaration in {@link ./commands.ts}; a usage error is one
 * line and a hint on stderr, exit code 2.
 *
 * @module
 */
import { runBench } from '../bench/index.js';
import { adviseCommand, benchCommand, commands, configCommand, helpCommand, monitorCommand, rootCommand, soakCommand, stackCommand, type CommandName } from './commands.js';
import { formatUsageError, parseCommand, renderHelp, renderOverview, UsageError, type CommandSpec, type FlagTable, type ParsedCommand } from './spec.js';

type Run = (argv: readonly string[]) => Promise<number>;

/** Parse `argv` against `spec`: print its help for `--help`, else hand the validated flags to `run`. */
function command<F extends FlagTable>(spec: CommandSpec<F>, run: (parsed: Extract<ParsedCommand<F>, { help: false }>) => Promise<number>): Run {
  return async (argv) => {
    const parsed = parseCommand(spec, argv);
    if (parsed.help) {
      process.stdout.write(renderHelp(spec));
      return 0;
    }
    return run(parsed);
  };
}

const overview = (): string => renderOverview(rootCommand, commands);

const handlers: Record<CommandName, Run> = {
  monitor: command(monitorCommand, async ({ values }) => {
    const { runMonitor } = await import('./monitor.js');
    return runMonitor(values);
  }),
  advise: command(adviseCommand, async ({ values }) => {
    const { runAdvise } = await import('./advise.js');
    return runAdvise({ url: values.url as string, token: values.token ?? process.env['DSPEX_TOKEN'] ?? null, json: values.json });
  }),
  bench: command(benchCommand, async ({ values, given, positional }) => {
    const raw = values as Record<string, unknown>;
    return runBench(positional ?? '', {
      quick: values.quick,
      jsonPath: values.json ?? null,
      flags: Object.fromEntries([...given].map((name) => [name, String(raw[name])])),
    });
  }),
  soak: command(soakCommand, async ({ values }) => {
    const { runSoakCommand } = await import('./soak.js');
    return runSoakCommand(values);
  }),
  config: command(configCommand, async ({ values }) => {
    const { runConfig } = await import('./config.js');
    return runConfig(values);
  }),
  stack: command(stackCommand, async ({ values, positional, second }) => {
    const { fetchStack } = await import('../exporters/client.js');
    const worker = Number(second);
    if (!/^\d{1,6}$/.test(second ?? '')) throw new UsageError('stack', `WORKER must be a worker slot (a non-negative integer), got '${second}'`);
    const token = values.token ?? process.env['DSPEX_TOKEN'] ?? null;
    try {
      const dump = await fetchStack(values.url!, positional!, worker, { token, timeoutMs: values.timeout });
      // Text from another process: control characters (escape sequences) never reach the terminal.
      // eslint-disable-next-line no-control-regex
      const clean = (t: string): string => t.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?');
      const text = clean(dump.stack);
      process.stdout.write(`# pool ${clean(dump.pool)}, worker ${dump.workerId}, pid ${dump.pid}, at ${new Date(dump.timestampMs).toISOString()}\n${text}${text.endsWith('\n') ? '' : '\n'}`);
      return 0;
    } catch (err) {
      process.stderr.write(`dspex stack: ${(err as Error).message}\n`);
      return 1;
    }
  }),
  help: command(helpCommand, ({ positional }) => {
    const target = commands.find((c) => c.name === positional);
    process.stdout.write(target ? renderHelp(target) : overview());
    return Promise.resolve(0);
  }),
};

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(handlers, name);
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first !== undefined && !first.startsWith('-')) {
    if (!isCommandName(first)) throw new UsageError('', `unknown command '${first}': one of ${commands.map((c) => c.name).join(', ')}`);
    return handlers[first](rest);
  }
  // `dspex`, `dspex --help`, `dspex --bogus`: only -h / --help is a flag of the bare command.
  if (parseCommand(rootCommand, argv).help) {
    process.stdout.write(overview());
    return 0;
  }
  process.stderr.write(overview());
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(formatUsageError(err));
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`dspex: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
