/**
 * `FleetWorker`: one host of a fleet. It consumes BullMQ jobs around a local `SessionPool` — the
 * shared queue (anonymous calls, any host) and its own host queue (session calls that live here)
 * — with BullMQ concurrency = the pool's size on each, registers itself in Redis under a key with
 * a TTL it renews (so clients know it is alive and which incarnation holds its sessions), and
 * publishes its metrics once a second (see metrics-publisher.ts).
 *
 * Failure semantics (docs/MONITORING_GUIDE.md, "Fleet"):
 * - a job whose host died mid-job stalls (its lock is not renewed); another host's stalled check
 *   moves it back to wait, and the next host to take it runs it again only when the call was
 *   marked `retry: 'idempotent'`; otherwise it fails with `worker`/`crashed` without running, so a
 *   non-idempotent call never runs twice;
 * - a session call only runs on the incarnation that holds the session: anything else (the host
 *   restarted, the client declared the session lost) fails with `worker`/`session_lost`;
 * - a job taken after its caller's deadline fails with `timeout`/`checkout` without running;
 * - Redis going away: BullMQ's connections reconnect by themselves; the host key and metrics
 *   resume on the next renewal.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { invalidOption, invalidState, PythonBridgeError } from '../contract/errors.js';
import { numberOption } from '../contract/options.js';
import { MetricsCollector } from '../metrics/metrics-collector.js';
import { createRedis, type FleetConnection } from './connection.js';
import { MetricsPublisher } from './metrics-publisher.js';
import { checkJobData, checkName, failedReason, FleetKeys, serializeError, type FleetJobData, type FleetReply, type HostRecord } from './wire.js';

/** What a FleetWorker needs of its pool (the real `SessionPool` fits). */
export interface FleetPool {
  readonly name: string;
  executeInSession(sessionId: string, command: string, args?: unknown, opts?: { timeoutMs?: number; signal?: AbortSignal; retry?: 'never' | 'idempotent' }): Promise<unknown>;
  executeAnonymous(command: string, args?: unknown, opts?: { timeoutMs?: number; signal?: AbortSignal; retry?: 'never' | 'idempotent' }): Promise<unknown>;
  status(): { size: number; busy: number; idle: number; starting: number; queueDepth: number; maxSize?: number; lifecycle?: string };
}

/** Options of {@link FleetWorker}. */
export interface FleetWorkerOptions {
  /** Redis: a URL or ioredis options. */
  connection: FleetConnection;
  /** The fleet's queue name (clients use the same). */
  queue: string;
  /** The local pool that runs the calls (started by the caller; the worker never stops it). */
  pool: FleetPool;
  /** This host's id (default `<hostname>-<pid>`): letters, digits, `_ . -`. */
  hostId?: string;
  /** BullMQ key prefix (default `dspex`; a hash tag such as `{dspex}` on Redis Cluster). */
  prefix?: string;
  /** Jobs held per queue at once (default: the pool's size when started). */
  concurrency?: number;
  /** BullMQ lock of an active job, ms (default 10000): a dead host's jobs are noticed after about this long. */
  lockDurationMs?: number;
  /** How often this host checks for stalled jobs, ms (default 5000). */
  stalledIntervalMs?: number;
  /** TTL of the host key, ms (default 5000; renewed every third of it). */
  hostTtlMs?: number;
  /** Metrics to publish (default: a collector of its own, tracking `pool`). `false`: publish nothing. */
  collector?: MetricsCollector | false;
  /** Publish metrics every this many ms (default 1000). */
  publishIntervalMs?: number;
  /** Entries kept in the metrics stream, approximately (default 600: XADD MAXLEN ~). */
  metricsMaxLen?: number;
  /** Called for every job this host takes (before it runs): for tests and audit logs. */
  onJob?: (info: { jobId: string; command: string; sessionId: string | null; retry: 'never' | 'idempotent'; attempt: number; outcome: 'run' | 'refused' }) => void;
}

/** Options of {@link FleetWorker.stop}. */
export interface FleetWorkerStopOptions {
  /** Wait this long for in-flight jobs to finish, ms (default 10000); past it they are handed back (they stall and follow the failure semantics). */
  timeoutMs?: number;
}

/** A fleet host: consumes jobs for a local pool. See the module note. */
export class FleetWorker {
  /** This host's id. */
  readonly hostId: string;
  /** Random per start: sessions of an earlier incarnation are lost. */
  readonly incarnation = randomUUID();
  private readonly keys: FleetKeys;
  private readonly opts: Required<Pick<FleetWorkerOptions, 'lockDurationMs' | 'stalledIntervalMs' | 'hostTtlMs' | 'publishIntervalMs' | 'metricsMaxLen'>>;
  private readonly connection: FleetConnection;
  private readonly pool: FleetPool;
  private readonly onJob: FleetWorkerOptions['onJob'];
  private workers: Worker[] = [];
  /** The connections handed to BullMQ (it does not close connections it was given). */
  private conns: Redis[] = [];
  private cmd: Redis | null = null;
  private sub: Redis | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private publisher: MetricsPublisher | null = null;
  private ownCollector: MetricsCollector | null = null;
  private readonly collectorOption: MetricsCollector | false | undefined;
  private readonly concurrencyOption: number | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private startedAtMs = 0;
  /** Jobs run by this host since start (success or failure). */
  jobsRun = 0;
  /** Jobs refused without running (stalled non-idempotent, session lost, past deadline). */
  jobsRefused = 0;

  /** @throws PythonBridgeError `invalid_request`/`invalid_options` naming the bad option. */
  constructor(options: FleetWorkerOptions) {
    const where = 'FleetWorker';
    if (typeof options !== 'object' || options === null) throw invalidOption(where, 'options', 'must be an object');
    const queue = checkName(where, 'queue', options.queue);
    const prefix = checkName(where, 'prefix', options.prefix ?? 'dspex');
    this.hostId = checkName(where, 'hostId', options.hostId ?? `${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}-${process.pid}`);
    const pool = options.pool as FleetPool | undefined;
    if (typeof pool !== 'object' || pool === null || typeof pool.executeAnonymous !== 'function' || typeof pool.status !== 'function') {
      throw invalidOption(where, 'pool', 'must be a SessionPool (or have executeAnonymous, executeInSession and status)');
    }
    if (options.connection === undefined) throw invalidOption(where, 'connection', 'is required (a redis:// URL or ioredis options)');
    this.connection = options.connection;
    this.pool = pool;
    this.keys = new FleetKeys(prefix, queue);
    const lockDurationMs = numberOption(where, 'lockDurationMs', options.lockDurationMs, 10_000, { min: 500, max: 3_600_000 });
    this.opts = {
      lockDurationMs,
      stalledIntervalMs: numberOption(where, 'stalledIntervalMs', options.stalledIntervalMs, 5_000, { min: 100, max: 3_600_000 }),
      hostTtlMs: numberOption(where, 'hostTtlMs', options.hostTtlMs, 5_000, { min: 300, max: 3_600_000 }),
      publishIntervalMs: numberOption(where, 'publishIntervalMs', options.publishIntervalMs, 1_000, { min: 100, max: 3_600_000 }),
      metricsMaxLen: numberOption(where, 'metricsMaxLen', options.metricsMaxLen, 600, { min: 10, max: 10_000_000 }),
    };
    this.concurrencyOption = options.concurrency === undefined ? undefined : numberOption(where, 'concurrency', options.concurrency, 1, { min: 1, max: 10_000 });
    if (options.collector !== undefined && options.collector !== false && !(options.collector instanceof MetricsCollector)) {
      throw invalidOption(where, 'collector', 'must be a MetricsCollector or false');
    }
    this.collectorOption = options.collector;
    this.onJob = options.onJob;
  }

  /** True between {@link start} and {@link stop}. */
  get running(): boolean {
    return this.state === 'running';
  }

  /** Register the host and start consuming. Resolves once Redis answered and both BullMQ workers run. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw invalidState('FleetWorker.start', `already ${this.state}`);
    this.state = 'running';
    this.startedAtMs = Date.now();
    const where = 'FleetWorker';
    const concurrency = this.concurrencyOption ?? Math.max(1, this.pool.status().size);
    this.cmd = createRedis(where, this.connection, 'consumer');
    this.cmd.on('error', () => {}); // reconnects by itself; errors surface as failed renewals
    this.sub = createRedis(where, this.connection, 'consumer');
    this.sub.on('error', () => {});
    this.sub.on('message', (_channel: string, jobId: string) => {
      for (const w of this.workers) w.cancelJob(jobId, 'cancelled by the caller');
    });
    await this.sub.subscribe(this.keys.cancelChannel);
    await this.renew();
    const processor = (job: Job, _token?: string, signal?: AbortSignal): Promise<unknown> => this.process(job, signal);
    for (const name of [this.keys.sharedQueue, this.keys.hostQueue(this.hostId)]) {
      const conn = createRedis(where, this.connection, 'consumer');
      conn.on('error', () => {});
      this.conns.push(conn);
      const w = new Worker(name, processor, {
        connection: conn,
        prefix: this.keys.prefix,
        concurrency,
        lockDuration: this.opts.lockDurationMs,
        stalledInterval: this.opts.stalledIntervalMs,
        // One recovery from a stall: the next host decides by the call's retry mode (process()).
        maxStalledCount: 1,
        removeOnComplete: { age: 300, count: 10_000 },
        removeOnFail: { age: 3600, count: 10_000 },
        autorun: false,
      });
      w.on('error', () => {}); // connection errors: BullMQ reconnects; job errors are ours
      this.workers.push(w);
      void w.run().catch(() => {});
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    this.renewTimer = setInterval(() => void this.renew().catch(() => {}), Math.max(100, Math.floor(this.opts.hostTtlMs / 3)));
    this.renewTimer.unref();
    if (this.collectorOption !== false) {
      let collector = this.collectorOption;
      if (collector === undefined) {
        collector = this.ownCollector = new MetricsCollector();
        collector.start();
        collector.trackPool(this.pool);
      }
      this.publisher = new MetricsPublisher({
        redis: this.cmd,
        stream: this.keys.metricsStream,
        hostId: this.hostId,
        incarnation: this.incarnation,
        collector,
        intervalMs: this.opts.publishIntervalMs,
        maxLen: this.opts.metricsMaxLen,
        hostTtlMs: this.opts.hostTtlMs,
      });
      this.publisher.start();
    }
  }

  /**
   * Stop consuming: no new jobs; in-flight jobs finish (up to `timeoutMs`, then they are handed
   * back: they stall and another host applies the failure semantics); the host key is removed so
   * clients fail this host's sessions over at once. The pool is left running (it is the caller's).
   */
  async stop(opts: FleetWorkerStopOptions = {}): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    const timeoutMs = opts.timeoutMs ?? 10_000;
    if (this.renewTimer !== null) clearInterval(this.renewTimer);
    this.renewTimer = null;
    this.publisher?.stop();
    this.ownCollector?.stop();
    if (wasRunning) {
      const graceful = Promise.all(this.workers.map((w) => w.close()));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
      });
      const r = await Promise.race([graceful.then(() => 'done' as const), late]);
      clearTimeout(timer);
      if (r === 'late') await Promise.all(this.workers.map((w) => w.close(true)));
      try {
        await this.cmd?.multi().del(this.keys.hostKey(this.hostId)).srem(this.keys.hostsSet, this.hostId).exec();
      } catch {
        // Redis away: the key expires by itself within hostTtlMs.
      }
    }
    this.workers = [];
    for (const c of this.conns.splice(0)) c.disconnect();
    this.sub?.disconnect();
    this.cmd?.disconnect();
    this.state = 'stopped';
  }

  /** Write the host key (TTL) and its entry in the hosts set. */
  private async renew(): Promise<void> {
    const cmd = this.cmd;
    if (cmd === null || this.state !== 'running') return;
    const record: HostRecord = { hostId: this.hostId, incarnation: this.incarnation, size: this.pool.status().size, startedAtMs: this.startedAtMs };
    await cmd.multi().set(this.keys.hostKey(this.hostId), JSON.stringify(record), 'PX', this.opts.hostTtlMs).sadd(this.keys.hostsSet, this.hostId).exec();
  }

  /** One job: refuse it when the semantics say so, else run it on the pool and reply. */
  private async process(job: Job, signal: AbortSignal | undefined): Promise<unknown> {
    const data = checkJobData(job.data);
    const jobId = job.id ?? '';
    const attempt = Math.max(job.attemptsStarted ?? 1, 1 + (job.stalledCounter ?? 0));
    const refusal = this.refusal(data, attempt);
    this.onJob?.({ jobId, command: data.command, sessionId: data.sessionId, retry: data.retry, attempt, outcome: refusal === null ? 'run' : 'refused' });
    if (refusal !== null) {
      this.jobsRefused++;
      await this.reply(data, { id: jobId, ok: false, error: serializeError(refusal), host: this.hostId });
      throw new UnrecoverableError(failedReason(serializeError(refusal)));
    }
    this.jobsRun++;
    const timeoutMs = data.deadlineMs === null ? undefined : Math.max(1, data.deadlineMs - Date.now());
    const opts = { timeoutMs, signal, retry: data.retry };
    try {
      const value = data.sessionId === null ? await this.pool.executeAnonymous(data.command, data.args, opts) : await this.pool.executeInSession(data.sessionId, data.command, data.args, opts);
      const v = value === undefined ? null : value;
      await this.reply(data, { id: jobId, ok: true, value: v, host: this.hostId });
      return v;
    } catch (err) {
      const e = serializeError(err);
      e.details['host'] = this.hostId;
      await this.reply(data, { id: jobId, ok: false, error: e, host: this.hostId });
      throw new UnrecoverableError(failedReason(e));
    }
  }

  /** Why a job must not run here (see the module note), or null. */
  private refusal(data: FleetJobData, attempt: number): PythonBridgeError | null {
    const details = { host: this.hostId, command: data.command, sessionId: data.sessionId };
    if (attempt > 1 && data.retry !== 'idempotent') {
      return new PythonBridgeError('worker', 'crashed', 'the fleet host running this call stopped mid-call; not run again: the call is not marked idempotent', { details: { ...details, attempt } });
    }
    if (data.deadlineMs !== null && Date.now() >= data.deadlineMs) {
      return new PythonBridgeError('timeout', 'checkout', 'no fleet host took the call before its deadline', { details });
    }
    if (data.sessionId !== null && data.incarnation !== this.incarnation) {
      return new PythonBridgeError('worker', 'session_lost', `session '${data.sessionId}' lived on an earlier incarnation of host '${this.hostId}': its state is gone`, { details });
    }
    return null;
  }

  private async reply(data: FleetJobData, reply: FleetReply): Promise<void> {
    try {
      await this.cmd?.publish(this.keys.replyChannel(data.replyTo), JSON.stringify(reply));
    } catch {
      // The client reconciles from the job's stored result.
    }
  }
}
