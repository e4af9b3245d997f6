/**
 * The declarations of the `dspex` commands: each table drives the command's strict parse and its
 * help (see {@link ./spec.ts}). Loaded for every invocation, so it imports no pool code (the
 * server and snapshot modules only for the default port and the window names).
 *
 * @module
 */
import { benchNames } from '../bench/index.js';
import { DEFAULT_MONITORING_PORT } from '../exporters/http-server.js';
import { SNAPSHOT_WINDOWS } from '../contract/snapshot.js';
import type { CommandSpec } from './spec.js';

const monitorFlags = {
  demo: {
    kind: 'boolean',
    help: 'run a demo: a pool of Python workers under a synthetic mixed load, with the monitoring server, shown in the dashboard',
  },
  url: { kind: 'string', value: 'URL', help: 'watch a pool in another process through its monitoring server, e.g. http://127.0.0.1:9568' },
  token: {
    kind: 'string',
    value: 'TOKEN',
    defaultText: '$DSPEX_TOKEN',
    requires: ['url'],
    help: 'bearer token of the monitoring server; prefer DSPEX_TOKEN=TOKEN, argv is readable by all users via /proc',
  },
  fleet: {
    kind: 'string',
    value: 'REDIS_URL',
    help: 'watch a fleet (dspex/fleet): per-host rows and fleet totals from the hosts\' metrics stream, e.g. redis://10.0.0.5:6379',
  },
  queue: { kind: 'string', value: 'NAME', defaultText: 'dspex', requires: ['fleet'], help: "the fleet's queue name" },
  once: { kind: 'boolean', help: 'print one frame to stdout and exit; 100x30 when stdout is not a terminal' },
  window: { kind: 'choice', choices: SNAPSHOT_WINDOWS, default: '1m', help: 'metrics window shown' },
  refresh: { kind: 'number', value: 'MS', min: 250, max: 60_000, default: 1000, help: 'dashboard refresh interval, ms' },
  'no-color': { kind: 'boolean', help: 'no colors, as NO_COLOR=1' },
  'pool-size': { kind: 'number', value: 'N', integer: true, min: 1, max: 256, default: 4, requires: ['demo'], help: 'Python workers in the demo pool' },
  load: { kind: 'number', value: 'OPS_PER_S', min: 0, max: 1_000_000, default: 300, requires: ['demo'], help: 'synthetic load, operations per second' },
  port: {
    kind: 'number',
    value: 'P',
    integer: true,
    min: 0,
    max: 65535,
    default: DEFAULT_MONITORING_PORT,
    requires: ['demo'],
    help: 'port of the demo monitoring server on 127.0.0.1, 0 for a free one; not served with --once',
  },
  headless: { kind: 'boolean', requires: ['demo'], help: 'no terminal UI: serve until SIGINT / SIGTERM, for a browser or a Prometheus' },
  warmup: { kind: 'number', value: 'MS', min: 0, max: 60_000, default: 2500, requires: ['demo', 'once'], help: 'load before the frame is taken, ms' },
} as const;

/** `dspex monitor`. */
export const monitorCommand = {
  name: 'monitor',
  summary: 'live dashboard of a pool: a demo (--demo), one in another process (--url URL) or a fleet (--fleet REDIS_URL)',
  usage: ['monitor --demo [--pool-size N] [--load OPS_PER_S] [--port P] [--headless] [options]', 'monitor --url URL [options]', 'monitor --fleet REDIS_URL [--queue NAME] [options]'],
  description:
    'The live terminal dashboard (docs/MONITORING_GUIDE.md). Pass exactly one of --demo, --url or --fleet. When stdout is not a terminal it prints one frame and exits.',
  flags: monitorFlags,
  notes: ['Dashboard keys: q quit, p pause, +/- refresh interval, 1/5/f window, s sort workers, h help, tab next pool, d Python stack of a worker.'],
  check: (v) => ([v.demo, v.url !== undefined, v.fleet !== undefined].filter(Boolean).length !== 1 ? 'pass exactly one of --demo, --url URL or --fleet REDIS_URL' : undefined),
} as const satisfies CommandSpec<typeof monitorFlags>;

const benchFlags = {
  quick: { kind: 'boolean', help: 'a short smoke version (seconds, not minutes), as make test runs it' },
  json: { kind: 'string', value: 'PATH', help: 'also write the figures as JSON to PATH' },
  'round-ms': {
    kind: 'number',
    value: 'MS',
    integer: true,
    min: 10,
    max: 600_000,
    defaultText: '500 (otel: 400; fleet and pool --only split: 2000); --quick: 150-300 and this flag ignored',
    appliesTo: ['pool', 'fleet', 'otel', 'monitoring', 'compare', 'scaling'],
    help: 'length of one measuring round, ms',
  },
  rounds: {
    kind: 'number',
    value: 'N',
    integer: true,
    min: 1,
    max: 1000,
    defaultText: 'pool: 10 (--only split: 6), otel: 30, monitoring: 20, compare: 12, scaling: 6, fleet: 3; --quick: a few and this flag ignored',
    appliesTo: ['pool', 'fleet', 'otel', 'monitoring', 'compare', 'scaling'],
    help: 'measuring rounds per case',
  },
  out: { kind: 'string', value: 'DIR', appliesTo: ['scaling'], help: 'write the scaling curves as SVG plots to DIR/perf/ (docs/PERFORMANCE.md embeds docs/perf/*.svg)' },
  breakdown: { kind: 'boolean', appliesTo: ['otel'], help: 'also measure the bridge with metrics only and with traces only' },
  only: { kind: 'choice', choices: ['split'], appliesTo: ['pool'], help: 'run one part only: split (the timing split against the same pool without it)' },
  procs: { kind: 'number', value: 'N', integer: true, min: 1, max: 1024, defaultText: '64, 16 with --quick', appliesTo: ['resources'], help: 'idle Python processes watched' },
  ticks: { kind: 'number', value: 'N', integer: true, min: 1, max: 100_000, defaultText: '300, 40 with --quick', appliesTo: ['resources'], help: 'sampling ticks measured' },
} as const;

/** `dspex bench NAME`. */
export const benchCommand = {
  name: 'bench',
  summary: `run a benchmark: ${benchNames().join(', ')}`,
  usage: ['bench NAME [--quick] [--json PATH] [options]'],
  description: 'Run one benchmark and print its table (figures and method: docs/PERFORMANCE.md).',
  positional: { name: 'NAME', label: 'bench', help: 'the benchmark', required: true, choices: benchNames() },
  flags: benchFlags,
} as const satisfies CommandSpec<typeof benchFlags>;

const configFlags = {
  file: { kind: 'string', value: 'PATH', help: 'the config file (default: $DSPEX_CONFIG, else ./dspex.config.json when present)' },
  reference: { kind: 'boolean', help: 'print the reference of every key (Markdown), as docs/MONITORING_GUIDE.md holds it' },
  'json-schema': { kind: 'boolean', help: "print the JSON Schema of dspex.config.json (for an editor's completion)" },
} as const;

/** `dspex config`. */
export const configCommand = {
  name: 'config',
  summary: 'check the configuration (file, DSPEX_* variables) and print it, the token redacted',
  usage: ['config [--file PATH]', 'config --reference', 'config --json-schema'],
  description:
    'Reads the configuration as createMonitoring does (defaults, the config file, DSPEX_* variables) and prints the result as JSON, or every problem with its source (exit code 1).',
  flags: configFlags,
  check: (v) => (v.reference === true && v['json-schema'] === true ? 'pass at most one of --reference or --json-schema' : undefined),
} as const satisfies CommandSpec<typeof configFlags>;
const stackFlags = {
  url: { kind: 'string', value: 'URL', help: 'the monitoring server of the process running the pool, e.g. http://127.0.0.1:9568' },
  token: {
    kind: 'string',
    value: 'TOKEN',
    defaultText: '$DSPEX_TOKEN',
    help: 'bearer token of the monitoring server; prefer DSPEX_TOKEN=TOKEN, argv is readable by all users via /proc',
  },
  timeout: { kind: 'number', value: 'MS', integer: true, min: 100, max: 60_000, default: 5000, help: 'give up after this long, ms' },
} as const;

/** `dspex stack --url URL POOL WORKER` (issue 19). */
export const stackCommand = {
  name: 'stack',
  summary: "print the Python stack of every thread of one worker, now, without stopping it",
  usage: ['stack --url URL POOL WORKER [--token TOKEN]'],
  description:
    "Asks the pool's monitoring server (GET /api/stack) for a faulthandler dump of the worker's threads, taken while it runs (busy or not), and prints it. Exit code 1 when the server cannot give one.",
  positional: { name: 'POOL', label: 'pool', help: 'the pool name', required: true },
  second: { name: 'WORKER', label: 'worker', help: 'the worker slot (workerId), 0..maxSize-1', required: true },
  flags: stackFlags,
  check: (v) => (v.url === undefined ? 'pass --url URL (the monitoring server of the process running the pool)' : undefined),
} as const satisfies CommandSpec<typeof stackFlags>;

const adviseFlags = {
  url: { kind: 'string', value: 'URL', help: 'the monitoring server of the process whose pools to advise on, e.g. http://127.0.0.1:9568' },
  token: {
    kind: 'string',
    value: 'TOKEN',
    defaultText: '$DSPEX_TOKEN',
    help: 'bearer token of the monitoring server; prefer DSPEX_TOKEN=TOKEN, argv is readable by all users via /proc',
  },
  json: { kind: 'boolean', help: 'print the recommendations as JSON (for scripts)' },
} as const;

/** `dspex advise --url URL`. */
export const adviseCommand = {
  name: 'advise',
  summary: "print the optimization advisor's recommendations of a running process, with their evidence, and what the auto-tuner did",
  usage: ['advise --url URL [--json]'],
  description:
    "Reads /api/snapshot of a monitoring server whose host program passes an OptimizationAdvisor's recommendations (docs/MONITORING_GUIDE.md, \"Advisor and auto-tuner\") and prints each with its priority, evidence and action, then the auto-tuner's latest steps (what it changed, kept or rolled back) when the server has tuners (createMonitoring). Exit code 0 also when there is none.",
  flags: adviseFlags,
  check: (v) => (v.url === undefined ? 'missing --url URL' : undefined),
} as const satisfies CommandSpec<typeof adviseFlags>;

const soakFlags = {
  duration: { kind: 'string', value: 'DURATION', default: '1h', help: 'how long the load runs, e.g. 2m, 90s, 1h, 1h30m' },
  out: { kind: 'string', value: 'DIR', default: 'docs', help: 'where SOAK_REPORT.md goes; the SVG plots go to DIR/soak/' },
  'ops-per-s': { kind: 'number', value: 'N', min: 1, max: 100_000, default: 200, help: 'the mixed load, calls per second' },
  'pool-size': { kind: 'number', value: 'N', integer: true, min: 1, max: 64, default: 4, help: 'Python workers in the pool' },
  'interval-s': { kind: 'number', value: 'S', min: 1, max: 600, default: 10, help: 'seconds between samples' },
  warmup: { kind: 'string', value: 'DURATION', defaultText: 'a quarter of the run, 30 s..10 min', help: 'time not judged for growth at the start' },
  json: { kind: 'string', value: 'PATH', help: 'also write the parameters, samples and analysis as JSON to PATH' },
} as const;

/** `dspex soak --duration 1h`. */
export const soakCommand = {
  name: 'soak',
  summary: 'run a pool with the full monitoring stack under steady load and write docs/SOAK_REPORT.md with plots',
  usage: ['soak [--duration DURATION] [--out DIR] [--ops-per-s N] [options]'],
  description:
    'A pool of Python workers under the demo\'s mixed load with createMonitoring (collector, resource monitor, server), sampled every interval: Node heap (after a forced GC) and RSS, the collector\'s memory, query latency, alerts, Python RSS, calls. Writes the report and SVG plots; exit code 1 when a component grows after the warm-up, an alert fires at steady state, latency grows or a call never settles (docs/PERFORMANCE.md, "Soak").',
  flags: soakFlags,
  notes: ['Runs itself again under node --expose-gc when started without it, so heap samples count retained memory only. Progress: one updating line on a terminal, nothing when piped or with CI set.'],
} as const satisfies CommandSpec<typeof soakFlags>;

/** `dspex help [COMMAND]`. */
export const helpCommand = {
  name: 'help',
  summary: 'print the help of a command, or this list',
  usage: ['help [COMMAND]'],
  positional: {
    name: 'COMMAND',
    label: 'command',
    help: 'the command',
    required: false,
    get choices(): readonly string[] {
      return commands.map((c) => c.name);
    },
  },
  flags: {},
} as const satisfies CommandSpec<Record<string, never>>;

/** The bare `dspex`. */
export const rootCommand = {
  name: '',
  summary: '',
  usage: ['<command> [options]'],
  description: 'A supervised pool of Python workers for Node.js, with monitoring.',
  flags: {},
  notes: ["run 'dspex help <command>' for the options of a command"],
} as const satisfies CommandSpec<Record<string, never>>;

/** Every subcommand, in the order the overview lists them. */
export const commands = [monitorCommand, adviseCommand, benchCommand, soakCommand, stackCommand, configCommand, helpCommand] as const;

export type CommandName = (typeof commands)[number]['name'];
