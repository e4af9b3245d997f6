import { execFile, spawnSync } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { MetricsCollector } from '../../src/metrics/index.js';
import { ResourceMonitor } from '../../src/resources/index.js';
import type { SessionPool } from '../../src/index.js';
import { MonitoringServer, type MonitoringServerOptions } from '../../src/exporters/index.js';
import { startPool, stopAll } from '../helpers/pools.js';
import type { PoolOptions } from '../../src/index.js';

/** A pool, a collector tracking it, an optional resource monitor and a server on a free loopback port. */
export interface Stack {
  pool: SessionPool;
  collector: MetricsCollector;
  resources: ResourceMonitor | null;
  server: MonitoringServer;
  /** Stop everything this stack started (idempotent). */
  stop(): Promise<void>;
}

/** Start a stack. Stop it with `stack.stop()` in afterEach / afterAll. */
export async function startStack(
  opts: { pool?: PoolOptions; server?: Partial<MonitoringServerOptions>; resources?: boolean } = {},
): Promise<Stack> {
  const collector = new MetricsCollector();
  collector.start();
  const pool = await startPool(opts.pool);
  collector.trackPool(pool);
  let resources: ResourceMonitor | null = null;
  if (opts.resources) {
    resources = new ResourceMonitor({ pools: [pool], intervalMs: 500, scanProcesses: false });
    resources.start();
  }
  const server = new MonitoringServer({ collector, pools: [pool], resources, port: 0, ...opts.server });
  await server.start();
  let stopped = false;
  return {
    pool,
    collector,
    resources,
    server,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      resources?.stop();
      collector.stop();
      await stopAll();
    },
  };
}

/** A raw HTTP response. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with node:http (no fetch normalisation: any method, any path, any header). */
export function request(url: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Send raw bytes on a TCP connection and collect what comes back until the server closes it. */
export function rawExchange(url: string, bytes: string, timeoutMs = 5000): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no close within the deadline'));
    }, timeoutMs);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

/** Run a command, resolving with its exit code and output (never rejects on a non-zero exit). */
export function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Fail with a clear message when a Debian tool is missing (it is installed by `make deps`). */
export function requireTool(cmd: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`]);
  if (r.status !== 0) throw new Error(`${cmd} is not installed: run \`make deps\` (Debian package prometheus)`);
}

/** Family names declared by `# TYPE` lines of an exposition. */
export function declaredFamilies(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** The value of the one sample line whose name and labels match exactly (labels rendered as in the text). */
export function sampleValue(text: string, nameWithLabels: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${nameWithLabels} `)) return Number(line.slice(nameWithLabels.length + 1));
  }
  return undefined;
}

/** Sum of every sample of `name` whose label block contains all of `mustContain`. */
export function sumSamples(text: string, name: string, mustContain: string[] = []): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!mustContain.every((s) => line.includes(s))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
