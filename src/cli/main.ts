#!/usr/bin/env node
/**
 * The `dspex` command. Subcommands: `monitor` (the main job) and `bench NAME`.
 *
 * @module
 */
import { parseArgs } from './args.js';
import { runBench, benchNames } from '../bench/index.js';

const usage = `usage: dspex <command> [options]

commands:
  monitor [--demo] [--url URL] [--once] ...   live dashboard (see docs/MONITORING_GUIDE.md)
  bench NAME [--quick] [--json PATH]          benchmarks: ${'${BENCHES}'}
  help                                        this text
`;

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const [command, ...rest] = args.positionals;
  switch (command) {
    case 'bench': {
      const name = rest[0];
      if (!name || !benchNames().includes(name)) {
        process.stderr.write(`dspex bench: name one of: ${benchNames().join(', ')}\n`);
        return 2;
      }
      return runBench(name, args);
    }
    case 'monitor': {
      const { runMonitor } = await import('./monitor.js');
      return runMonitor(args);
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(usage.replace('${BENCHES}', benchNames().join(', ')));
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`dspex: unknown command '${command}'\n` + usage.replace('${BENCHES}', benchNames().join(', ')));
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`dspex: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
