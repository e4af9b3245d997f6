import { execFile, fork, spawnSync } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
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

/** A request from a chosen local address (127.0.0.0/8 on Linux), timed; rejects after `timeoutMs`. */
export function timedRequest(
  url: string,
  path: string,
  opts: { localAddress?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawResponse & { ms: number }> {
  const u = new URL(url);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers: opts.headers, localAddress: opts.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 5000, () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** What a {@link slowloris} attack did. */
export interface SlowlorisStats {
  /** Connections opened (reopenings included). */
  opened: number;
  /** Connections the server closed while the attack ran. */
  closedByServer: number;
  /** Most connections established at once. */
  maxOpen: number;
}

/** A running {@link slowloris} attack. */
export interface Slowloris {
  /** Settles once `sockets` connections have been established. */
  ready: Promise<void>;
  /** End the attack now (it also ends by itself): every socket is destroyed and the process exits. */
  stop(): Promise<SlowlorisStats>;
}

/**
 * A slowloris attack from a child process (test/exporters/fixtures/slowloris.mjs): `sockets`
 * connections that each send a request line and the start of a header, then one more byte of it
 * every `trickleMs`, never finishing; a closed one is opened again (`maxOpens` connections in all,
 * default 20 per socket). Local addresses (127.0.0.0/8) are taken in turn from `localAddresses`.
 * It stops by itself after `durationMs`.
 */
export function slowloris(
  url: string,
  opts: { sockets: number; durationMs: number; trickleMs?: number; localAddresses?: readonly string[]; maxOpens?: number },
): Slowloris {
  const u = new URL(url);
  const args = [
    u.hostname,
    u.port,
    opts.sockets,
    opts.durationMs,
    opts.trickleMs ?? 100,
    (opts.localAddresses ?? ['127.0.0.1']).join(','),
    opts.maxOpens ?? opts.sockets * 20,
  ].map(String);
  const child = fork(fileURLToPath(new URL('./fixtures/slowloris.mjs', import.meta.url)), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let stats: SlowlorisStats | null = null;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: { type: string; stats?: SlowlorisStats }) => {
      if (m.type === 'ready') resolve();
      if (m.type === 'done' && m.stats !== undefined) stats = m.stats;
    });
    void exited.then(() => reject(new Error('the attacker exited before all its sockets connected')));
  });
  ready.catch(() => undefined);
  const stop = async (): Promise<SlowlorisStats> => {
    if (child.connected) child.send({ type: 'stop' });
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    if (stats === null) throw new Error('the attacker did not report its stats');
    return stats;
  };
  return { ready, stop };
}
