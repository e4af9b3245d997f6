/**
 * The fleet end to end, all real: a throwaway redis-server, three consumer processes (each a
 * FleetWorker around a pool of 2 Python workers, test/fleet/fixtures/consumer.mjs, the built
 * package) and a FleetClient in this process. Each consumer logs every job it takes, so the tests
 * can tell which host ran what and prove that no non-idempotent job ran twice.
 *
 * One Redis and one set of consumers for the whole file (starting them is most of the cost); the
 * tests run in order and each leaves the fleet as it found it (three live hosts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { FleetClient, FleetCollector, FleetWorker } from '../../src/fleet.js';
import { isPythonBridgeError, PythonBridgeError } from '../../src/index.js';
import { rejection } from '../helpers/errors.js';
import { FIXTURES } from '../helpers/pools.js';
import { workerPidsOwnedBy } from '../helpers/processes.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis.js';

const CONSUMER = fileURLToPath(new URL('./fixtures/consumer.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/fleet.js', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const HOSTS = ['h0', 'h1', 'h2'] as const;
const QUEUE = `fleet-${process.pid}`;

interface JobLine {
  host: string;
  pid: number;
  jobId: string;
  command: string;
  sessionId: string | null;
  retry: 'never' | 'idempotent';
  attempt: number;
  outcome: 'run' | 'refused';
}

let redis: TestRedis;
let logDir = '';
let client: FleetClient;
const consumers = new Map<string, ChildProcess>();
/** Every consumer process started: none may leave a Python worker behind. */
const consumerPids: number[] = [];

function jobLines(): JobLine[] {
  const out: JobLine[] = [];
  for (const h of HOSTS) {
    const f = join(logDir, `${h}.jsonl`);
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) if (line !== '') out.push(JSON.parse(line) as JobLine);
  }
  return out;
}

/** A mark of the job log now: `since(mark)` gives the lines written after it (the log is one file per host). */
function markLog(): Set<string> {
  return new Set(jobLines().map(lineKey));
}
const lineKey = (l: JobLine): string => `${l.host} ${l.pid} ${l.jobId} ${l.attempt}`;
function since(mark: Set<string>): JobLine[] {
  return jobLines().filter((l) => !mark.has(lineKey(l)));
}

async function startConsumer(host: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CONSUMER, redis.url, QUEUE, host, join(logDir, `${host}.jsonl`), FIXTURES], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(`ready ${host}`)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`consumer ${host} exited (${code}) before it was ready`)));
  });
  consumers.set(host, child);
  consumerPids.push(child.pid!);
  return child;
}

async function killConsumer(host: string, signal: NodeJS.Signals): Promise<void> {
  const c = consumers.get(host);
  if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    c.once('exit', () => resolve());
    c.kill(signal);
  });
  consumers.delete(host);
}

/** Settle every promise; the errors must all be PythonBridgeErrors. */
async function outcomes<T>(ps: Promise<T>[]): Promise<({ ok: true; value: T } | { ok: false; error: PythonBridgeError })[]> {
  return Promise.all(
    ps.map((p) =>
      p.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => {
          if (!(error instanceof PythonBridgeError)) throw error;
          return { ok: false as const, error };
        },
      ),
    ),
  );
}

const runIt = redisAvailable() && existsSync(DIST) ? describe : describe.skip;

runIt('fleet: FleetClient and FleetWorker on BullMQ with three consumer processes', () => {
  beforeAll(async () => {
    redis = await startRedis();
    logDir = mkdtempSync(join(tmpdir(), 'dspex-fleet-'));
    await Promise.all(HOSTS.map((h) => startConsumer(h)));
    client = new FleetClient({ connection: redis.url, queue: QUEUE, reconcileIntervalMs: 250 });
    await client.start();
    await vi.waitFor(async () => expect((await client.liveHosts()).map((h) => h.hostId)).toEqual([...HOSTS]), { timeout: 10_000 });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await Promise.all([...consumers.keys()].map((h) => killConsumer(h, 'SIGTERM')));
    await redis?.stop();
    // The pools of stopped consumers ended their workers; those of the killed one died with it.
    await vi.waitFor(() => expect(consumerPids.flatMap((p) => workerPidsOwnedBy(p))).toEqual([]), { timeout: 10_000 });
    if (logDir !== '') rmSync(logDir, { recursive: true, force: true });
  }, 30_000);

  it('spreads anonymous calls across the hosts and returns their results', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => client.execute<{ i: number }>('echo', { i, ms: 0 })));
    expect(results.map((r) => r.i)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    // Calls that hold a worker for a while cannot all be taken by one host (2 workers each).
    await Promise.all(Array.from({ length: 12 }, () => client.execute('sleep', { ms: 150 })));
    const hosts = new Set(jobLines().filter((l) => l.command === 'sleep').map((l) => l.host));
    expect([...hosts].sort()).toEqual([...HOSTS]);
  });

  it('rejects with the typed errors of a local pool, codes intact across the queue', async () => {
    const py = await rejection(client.execute('fail', { type: 'ValueError', message: 'boom' }));
    expect(py.category).toBe('python');
    expect(py.type).toBe('ValueError');
    expect(py.code).toBe('DSPEX_PYTHON_EXCEPTION');
    expect(py.message).toContain('boom');
    expect(HOSTS).toContain(py.details['host']);
    expect(String(py.details.traceback)).toContain('ValueError');
    const unknown = await rejection(client.execute('no_such_command'));
    expect(unknown.code).toBe('DSPEX_INVALID_REQUEST_UNKNOWN_COMMAND');
    const timeout = await rejection(client.execute('sleep', { ms: 3000 }, { timeoutMs: 300 }));
    expect(timeout.category).toBe('timeout');
    const ac = new AbortController();
    const aborted = client.execute('sleep', { ms: 3000 }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    expect((await rejection(aborted)).code).toBe('DSPEX_ABORTED');
    // Bad input: typed errors naming the argument; nothing was enqueued.
    expect((await rejection(client.execute(''))).details.argument).toBe('command');
    expect((await rejection(client.execute('echo', {}, { timeoutMs: -1 }))).details.argument).toBe('timeoutMs');
    expect((await rejection(client.execute('echo', {}, { retry: 'sometimes' as 'never' }))).details.argument).toBe('retry');
    expect((await rejection(client.executeInSession('', 'echo'))).details.argument).toBe('sessionId');
    expect(() => new FleetClient({ connection: 'http://nope', queue: 'q' })).toThrow(/connection/);
    expect(() => new FleetClient({ connection: redis.url, queue: 'a:b' })).toThrow(/queue/);
    expect(() => new FleetWorker({ connection: redis.url, queue: 'q', pool: {} as never })).toThrow(/pool/);
    // The fleet still serves (the aborted and timed-out calls were finished or cancelled on their hosts).
    expect(await client.execute('echo', { after: true })).toEqual({ after: true });
  });

  it('keeps a session on one host: its state is there at every call', async () => {
    const sessions = Array.from({ length: 6 }, (_, i) => `s-${process.pid}-${i}`);
    await Promise.all(sessions.map((s, i) => client.executeInSession(s, 'session_set', { key: 'k', value: i })));
    for (let round = 0; round < 3; round++) {
      const got = await Promise.all(sessions.map((s) => client.executeInSession(s, 'session_get', { key: 'k' })));
      expect(got).toEqual(sessions.map((_, i) => i));
    }
    const lines = jobLines().filter((l) => l.sessionId !== null && sessions.includes(l.sessionId));
    for (const s of sessions) {
      const hosts = new Set(lines.filter((l) => l.sessionId === s).map((l) => l.host));
      expect(hosts.size, `session ${s} ran on ${[...hosts].join(',')}`).toBe(1);
      expect([...hosts][0]).toBe(await client.sessionHost(s));
    }
    // Sessions are placed across hosts, not all on one.
    expect(new Set(lines.map((l) => l.host)).size).toBeGreaterThan(1);
  });

  it('kill -9 of a consumer mid-load: idempotent calls rerun elsewhere, the others fail typed and never run twice; the rest keep working; its return restores it', async () => {
    // A session living on the victim.
    let victimSession = '';
    for (let i = 0; victimSession === ''; i++) {
      const s = `victim-${process.pid}-${i}`;
      await client.executeInSession(s, 'session_set', { key: 'k', value: 1 });
      if ((await client.sessionHost(s)) === 'h0') victimSession = s;
    }
    const before = markLog();
    const idem: Promise<null>[] = [];
    const once: Promise<null>[] = [];
    for (let i = 0; i < 9; i++) {
      idem.push(client.execute<null>('sleep', { ms: 1500 }, { retry: 'idempotent', timeoutMs: 25_000 }));
      once.push(client.execute<null>('sleep', { ms: 1500 }, { timeoutMs: 25_000 }));
    }
    // Handlers attached now: some of them reject while the test waits below.
    const idemSettled = outcomes(idem);
    const onceSettled = outcomes(once);
    // Kill h0 once it runs both kinds (it holds 2 at a time; 18 calls need 3 rounds on 6 workers).
    await vi.waitFor(
      () => {
        const h0 = since(before).filter((l) => l.host === 'h0' && l.outcome === 'run');
        expect(new Set(h0.map((l) => l.retry)).size).toBe(2);
      },
      { timeout: 15_000, interval: 20 },
    );
    await killConsumer('h0', 'SIGKILL');
    // The others keep serving meanwhile.
    expect(await client.execute('echo', { alive: 1 }, { timeoutMs: 10_000 })).toEqual({ alive: 1 });
    const idemOut = await idemSettled;
    const onceOut = await onceSettled;
    expect(idemOut.filter((o) => !o.ok)).toEqual([]);
    const failed = onceOut.filter((o): o is { ok: false; error: PythonBridgeError } => !o.ok);
    expect(failed.length).toBeGreaterThan(0); // at least the one h0 ran when it died
    for (const f of failed) {
      expect(f.error.code).toBe('DSPEX_WORKER_CRASHED');
      expect(f.error.message).toMatch(/not marked idempotent/);
    }
    const lines = since(before);
    const runs = new Map<string, JobLine[]>();
    for (const l of lines) runs.set(l.jobId, [...(runs.get(l.jobId) ?? []), l]);
    let rerun = 0;
    for (const [, ls] of runs) {
      const ran = ls.filter((l) => l.outcome === 'run');
      if (ran.length > 1) {
        rerun++;
        // No non-idempotent job ran twice: every job that ran twice was an idempotent one.
        expect(ls.every((l) => l.retry === 'idempotent')).toBe(true);
      }
      // A non-idempotent job h0 held was refused by the next host, with attempt 2.
      if (ls.some((l) => l.outcome === 'refused')) expect(ls.map((l) => [l.retry, l.attempt > 1])).toContainEqual(['never', true]);
    }
    expect(rerun).toBeGreaterThan(0); // the idempotent calls h0 held ran again elsewhere
    expect(lines.filter((l) => l.outcome === 'refused').length).toBe(failed.length);
    // The session on h0 is lost (typed), then starts afresh on a live host.
    const lost = await rejection(client.executeInSession(victimSession, 'session_get', { key: 'k' }));
    expect(lost.code).toBe('DSPEX_WORKER_SESSION_LOST');
    expect(await client.executeInSession(victimSession, 'session_get', { key: 'k' })).toBeNull();
    expect(await client.sessionHost(victimSession)).not.toBe('h0');
    // Its return restores it: it registers and takes calls again.
    await startConsumer('h0');
    await vi.waitFor(async () => expect((await client.liveHosts()).map((h) => h.hostId)).toContain('h0'), { timeout: 10_000 });
    const mark = markLog();
    await vi.waitFor(
      async () => {
        await Promise.all(Array.from({ length: 8 }, () => client.execute('sleep', { ms: 100 })));
        expect(since(mark).some((l) => l.host === 'h0')).toBe(true);
      },
      { timeout: 15_000, interval: 50 },
    );
  }, 60_000);

  it('no non-idempotent job ever ran twice in the whole file', () => {
    const runs = new Map<string, number>();
    for (const l of jobLines()) if (l.outcome === 'run') runs.set(l.jobId, (runs.get(l.jobId) ?? 0) + 1);
    const twice = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
    expect(twice.length).toBeGreaterThan(0);
    for (const id of twice) expect(jobLines().filter((l) => l.jobId === id).every((l) => l.retry === 'idempotent')).toBe(true);
  });

  it('Redis restarted mid-load: calls settle with results or typed errors, producers and consumers reconnect', async () => {
    let stop = false;
    const settled: ({ ok: true } | { ok: false; error: PythonBridgeError })[] = [];
    const loop = async (): Promise<void> => {
      while (!stop) {
        try {
          await client.execute('echo', { x: 1 }, { retry: 'idempotent', timeoutMs: 20_000 });
          settled.push({ ok: true });
        } catch (err) {
          if (!(err instanceof PythonBridgeError)) throw err;
          settled.push({ ok: false, error: err });
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const loops = Array.from({ length: 4 }, () => loop());
    await vi.waitFor(() => expect(settled.length).toBeGreaterThan(20), { timeout: 10_000 });
    await redis.restart({ downMs: 500 });
    // After the restart: the hosts re-register and serve again.
    await vi.waitFor(async () => expect((await client.liveHosts()).map((h) => h.hostId).sort()).toEqual([...HOSTS]), { timeout: 15_000, interval: 100 });
    const okBefore = settled.filter((s) => s.ok).length;
    await vi.waitFor(() => expect(settled.filter((s) => s.ok).length).toBeGreaterThan(okBefore + 20), { timeout: 15_000 });
    stop = true;
    await Promise.all(loops);
    for (const s of settled) {
      if (!s.ok) expect(['DSPEX_POOL_UNAVAILABLE_QUEUE_UNREACHABLE', 'DSPEX_POOL_UNAVAILABLE_JOB_LOST'], s.error.message).toContain(s.error.code);
    }
    expect(client.pendingCount).toBe(0);
    // Every host serves again.
    const mark = markLog();
    await vi.waitFor(
      async () => {
        await Promise.all(Array.from({ length: 12 }, () => client.execute('sleep', { ms: 100 })));
        expect(new Set(since(mark).map((l) => l.host)).size).toBe(3);
      },
      { timeout: 15_000, interval: 50 },
    );
  }, 60_000);

  it('one view: the FleetCollector lists every host, fleet totals are the sum; the --once frame lists all hosts', async () => {
    const fc = new FleetCollector({ connection: redis.url, queue: QUEUE });
    await fc.start();
    try {
      await Promise.all(Array.from({ length: 12 }, () => client.execute('sleep', { ms: 50 })));
      await vi.waitFor(() => expect(fc.hosts().filter((h) => !h.stale).map((h) => h.hostId)).toEqual([...HOSTS]), { timeout: 10_000, interval: 100 });
      const snap = fc.snapshot('1m');
      expect(snap.fleet?.hosts.map((h) => h.host)).toEqual([...HOSTS]);
      const pool = snap.pools.find((p) => p.name === 'fleet-pool');
      const perHost = snap.fleet!.hosts.map((h) => h.pools.find((p) => p.name === 'fleet-pool')?.current?.totals.operations ?? 0);
      expect(pool?.current?.totals.operations).toBe(perHost.reduce((a, b) => a + b, 0));
    } finally {
      await fc.stop();
    }
    const out = execFileSync(process.execPath, [CLI, 'monitor', '--fleet', redis.url, '--queue', QUEUE, '--once', '--no-color'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, COLUMNS: '120', LINES: '40' } });
    for (const h of HOSTS) expect(out).toMatch(new RegExp(`^\\s*${h}\\s+live`, 'm'));
    expect(out).toMatch(/^\s*fleet\s/m);
  }, 40_000);

  it('Redis unreachable: the producer rejects at once with pool_unavailable/queue_unreachable', async () => {
    const lonely = new FleetClient({ connection: 'redis://127.0.0.1:1', queue: QUEUE, connectTimeoutMs: 500 });
    const e = await rejection(lonely.execute('echo', {}));
    expect(e.code).toBe('DSPEX_POOL_UNAVAILABLE_QUEUE_UNREACHABLE');
    expect(e.message).not.toMatch(/password/);
    await lonely.close();
    expect(isPythonBridgeError(await rejection(lonely.execute('echo')), 'pool_unavailable')).toBe(true);
  });
});
