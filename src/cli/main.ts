#!/usr/bin/env node
/**
 * The `dspex` command: `monitor` (the main job), `bench NAME` and `help [COMMAND]`. Every command
 * line is parsed strictly against its declaration in {@link ./commands.ts}; a usage error is one
 * line and a hint on stderr, exit code 2.
 *
 * @module
 */
import { runBench } from '../bench/index.js';
import { adviseCommand, benchCommand, commands, helpCommand, monitorCommand, rootCommand, type CommandName } from './commands.js';
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
