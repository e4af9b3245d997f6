/**
 * `FleetClient`: the producer side of a fleet. `execute` / `executeInSession` enqueue a BullMQ job
 * and settle with its result — the same values and the same typed `PythonBridgeError`s (same
 * `category`, `type`, `code`) as a local `SessionPool`, with `details.host` naming the host.
 *
 * Delivery: a host publishes each reply on this client's pub/sub channel (the fast path); a
 * reconcile pass once a second reads the stored result of calls pending for over a second (a
 * reply published while this client was disconnected is not lost: the job keeps its result), and
 * notices jobs that vanished (Redis restarted without persistence: an idempotent call is enqueued
 * again, any other rejects with `pool_unavailable`/`job_lost`) and session hosts that died
 * (`worker`/`session_lost`).
 *
 * Session affinity: a session lives on one host incarnation (`<prefix>:<queue>:fleet:session:<id>`
 * → `<hostId> <incarnation>`, refreshed on every call). Its calls go to that host's own queue
 * while its host key (TTL renewed by the host) says the same incarnation is alive; when it is gone
 * the call rejects with `worker`/`session_lost` and the session starts afresh on a live host at its
 * next call — the local pool's strict-affinity semantics across hosts.
 *
 * Invariants: every call settles exactly once (`settle` removes it from `pending` first); nothing
 * is queued in memory while Redis is unreachable (the call rejects with
 * `pool_unavailable`/`queue_unreachable`); a job is only enqueued again when the call is
 * idempotent.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { invalidArgument, invalidOption, PythonBridgeError, type ErrorDetails } from '../contract/errors.js';
import { numberOption } from '../contract/options.js';
import { createRedis, describeConnection, type FleetConnection } from './connection.js';
import {
  checkName,
  checkSessionId,
  deserializeError,
  errorFromFailedReason,
  FleetKeys,
  parseHostRecord,
  parseReply,
  type FleetJobData,
  type FleetRetry,
  type HostRecord,
} from './wire.js';

/** Options of {@link FleetClient}. */
export interface FleetClientOptions {
  /** Redis: a URL or ioredis options. */
  connection: FleetConnection;
  /** The fleet's queue name (the hosts use the same). */
  queue: string;
  /** BullMQ key prefix (default `dspex`; a hash tag such as `{dspex}` on Redis Cluster). */
  prefix?: string;
  /** Deadline of a call without `timeoutMs`, ms (default 60000): no fleet call waits for ever. */
  defaultTimeoutMs?: number;
  /** A session not called for this long is forgotten (its mapping to a host expires), ms (default 3600000). */
  sessionTtlMs?: number;
  /** How often pending calls are reconciled with Redis, ms (default 1000). */
  reconcileIntervalMs?: number;
  /** Longest wait for the first connection in {@link FleetClient.start}, ms (default 5000). */
  connectTimeoutMs?: number;
}

/** Options of one fleet call (those of a local pool call). */
export interface FleetExecuteOptions {
  /** The caller's deadline, ms, from the call to its result, queue wait included. */
  timeoutMs?: number;
  /** Rejects the call with `aborted`: a queued job is removed, a running one is cancelled on its host. */
  signal?: AbortSignal;
  /** `'idempotent'`: the call may run again when its host died mid-call or its job was lost. */
  retry?: FleetRetry;
}

interface Pending {
  id: string;
  data: FleetJobData;
  queueName: string;
  hostId: string | null;
  resolve: (value: unknown) => void;
  reject: (err: PythonBridgeError) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
  enqueued: boolean;
  enqueuedAtMs: number;
}

/** Submits calls to a fleet. See the module note. */
export class FleetClient {
  /** This client's id (its reply channel). */
  readonly clientId = randomUUID();
  private readonly keys: FleetKeys;
  private readonly where = 'FleetClient';
  private readonly connection: FleetConnection;
  private readonly defaultTimeoutMs: number;
  private readonly sessionTtlMs: number;
  private readonly reconcileIntervalMs: number;
  private readonly connectTimeoutMs: number;
  private cmd: Redis | null = null;
  private sub: Redis | null = null;
  private readonly queues = new Map<string, Queue>();
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private rr = 0;
  private hostCache: { atMs: number; hosts: HostRecord[] } | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private reconciling = false;
  private startPromise: Promise<void> | null = null;
  private closed = false;
  /** Calls enqueued again after their job was lost (idempotent only). */
  resubmitted = 0;

  /** @throws PythonBridgeError `invalid_request`/`invalid_options` naming the bad option. */
  constructor(options: FleetClientOptions) {
    const where = this.where;
    if (typeof options !== 'object' || options === null) throw invalidOption(where, 'options', 'must be an object');
    if (options.connection === undefined) throw invalidOption(where, 'connection', 'is required (a redis:// URL or ioredis options)');
    this.connection = options.connection;
    this.keys = new FleetKeys(checkName(where, 'prefix', options.prefix ?? 'dspex'), checkName(where, 'queue', options.queue));
    this.defaultTimeoutMs = numberOption(where, 'defaultTimeoutMs', options.defaultTimeoutMs, 60_000, { min: 1, max: 2_147_483_647 });
    this.sessionTtlMs = numberOption(where, 'sessionTtlMs', options.sessionTtlMs, 3_600_000, { min: 1000, max: 2_147_483_647 });
    this.reconcileIntervalMs = numberOption(where, 'reconcileIntervalMs', options.reconcileIntervalMs, 1000, { min: 50, max: 3_600_000 });
    this.connectTimeoutMs = numberOption(where, 'connectTimeoutMs', options.connectTimeoutMs, 5000, { min: 1, max: 3_600_000 });
    // Validate the connection now (a bad URL is a constructor error, not a first-call surprise).
    createRedis(where, this.connection, 'producer').disconnect();
  }

  /**
   * Connect (called by the first call when not called before). Rejects with
   * `pool_unavailable`/`queue_unreachable` when Redis does not answer within `connectTimeoutMs`.
   */
  start(): Promise<void> {
    this.startPromise ??= this.connect().catch((err: unknown) => {
      this.startPromise = null;
      this.cmd?.disconnect();
      this.sub?.disconnect();
      this.cmd = this.sub = null;
      throw err;
    });
    return this.startPromise;
  }

  private async connect(): Promise<void> {
    if (this.closed) throw this.stoppedError();
    const cmd = createRedis(this.where, this.connection, 'producer');
    const sub = createRedis(this.where, this.connection, 'consumer');
    this.cmd = cmd;
    this.sub = sub;
    cmd.on('error', () => {}); // surfaces as queue_unreachable on calls
    sub.on('error', () => {});
    cmd.on('ready', () => void this.reconcile());
    sub.on('message', (_channel: string, message: string) => this.onReply(message));
    const ready = (r: Redis): Promise<void> =>
      r.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(this.unreachable(null)), this.connectTimeoutMs);
            r.once('ready', () => {
              clearTimeout(timer);
              resolve();
            });
          });
    await Promise.all([ready(cmd), ready(sub)]);
    await sub.subscribe(this.keys.replyChannel(this.clientId));
    this.reconcileTimer = setInterval(() => void this.reconcile(), this.reconcileIntervalMs);
    this.reconcileTimer.unref();
  }

  /** Run `command` on any live host. @throws PythonBridgeError (rejects), as a local pool does. */
  execute<T = unknown>(command: string, args?: unknown, opts: FleetExecuteOptions = {}): Promise<T> {
    return this.submit(null, command, args, opts) as Promise<T>;
  }

  /**
   * Run `command` in a session, on the host that holds it (see the module note).
   * @throws PythonBridgeError (rejects): `worker`/`session_lost` when the session's host is gone.
   */
  executeInSession<T = unknown>(sessionId: string, command: string, args?: unknown, opts: FleetExecuteOptions = {}): Promise<T> {
    try {
      checkSessionId('FleetClient.executeInSession', sessionId);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.submit(sessionId, command, args, opts) as Promise<T>;
  }

  /** Forget a session's host (its next call starts afresh on any live host). */
  async endSession(sessionId: string): Promise<void> {
    checkSessionId('FleetClient.endSession', sessionId);
    await this.start();
    await this.cmd!.del(this.keys.sessionKey(sessionId));
  }

  /** The host a session lives on, or null. */
  async sessionHost(sessionId: string): Promise<string | null> {
    checkSessionId('FleetClient.sessionHost', sessionId);
    await this.start();
    const v = await this.cmd!.get(this.keys.sessionKey(sessionId));
    return v === null ? null : (v.split(' ')[0] ?? null);
  }

  /** Live hosts (their host key has not expired), by id. */
  async liveHosts(): Promise<HostRecord[]> {
    await this.start();
    return this.readHosts(true);
  }

  /** Calls waiting for their result. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Reject every pending call (`pool_unavailable`/`stopped`) and disconnect. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconcileTimer !== null) clearInterval(this.reconcileTimer);
    this.reconcileTimer = null;
    for (const p of [...this.pending.values()]) this.settle(p, this.stoppedError());
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
    this.queues.clear();
    this.cmd?.disconnect();
    this.sub?.disconnect();
  }

  // -------------------------------------------------------------------------------------------

  private async submit(sessionId: string | null, command: string, args: unknown, opts: FleetExecuteOptions): Promise<unknown> {
    const where = sessionId === null ? 'FleetClient.execute' : 'FleetClient.executeInSession';
    if (typeof command !== 'string' || command.length === 0) throw invalidArgument(where, 'command', 'must be a non-empty string');
    if (typeof opts !== 'object' || opts === null) throw invalidArgument(where, 'opts', 'must be an object');
    const { timeoutMs = this.defaultTimeoutMs, signal, retry = 'never' } = opts;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw invalidArgument(where, 'timeoutMs', 'must be a positive finite number of ms');
    if (retry !== 'never' && retry !== 'idempotent') throw invalidArgument(where, 'retry', "must be 'never' or 'idempotent'");
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgument(where, 'signal', 'must be an AbortSignal');
    const details: ErrorDetails = { command, sessionId };
    if (signal?.aborted) throw new PythonBridgeError('aborted', 'aborted', 'the call was aborted before it was enqueued', { details });
    if (this.closed) throw this.stoppedError();
    if (this.startPromise === null) await this.start();
    else await this.startPromise;
    const deadlineMs = Date.now() + timeoutMs;
    const cmd = this.cmd!;
    if (cmd.status !== 'ready') throw this.unreachable(details);
    let hostId: string | null = null;
    let incarnation: string | null = null;
    if (sessionId !== null) {
      try {
        [hostId, incarnation] = await this.sessionPlacement(sessionId, details);
      } catch (err) {
        if (err instanceof PythonBridgeError) throw err;
        throw this.unreachable(details, err);
      }
    }
    const id = `${this.clientId}.${++this.seq}`;
    const data: FleetJobData = { v: 1, command, args: args === undefined ? null : args, sessionId, retry, deadlineMs, replyTo: this.clientId, incarnation };
    const queueName = hostId === null ? this.keys.sharedQueue : this.keys.hostQueue(hostId);
    return new Promise<unknown>((resolve, reject) => {
      const p: Pending = {
        id,
        data,
        queueName,
        hostId,
        resolve,
        reject,
        timer: setTimeout(() => void this.giveUp(p, 'timeout'), Math.max(1, deadlineMs - Date.now())),
        signal,
        onAbort: null,
        enqueued: false,
        enqueuedAtMs: Date.now(),
      };
      if (signal !== undefined) {
        p.onAbort = () => void this.giveUp(p, 'abort');
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending.set(id, p);
      void this.enqueue(p);
    });
  }

  /** Add the job; a failure to reach Redis rejects the call (it may or may not have been enqueued). */
  private async enqueue(p: Pending): Promise<void> {
    try {
      await this.queue(p.queueName).add(p.data.command, p.data, {
        jobId: p.id,
        attempts: 1,
        removeOnComplete: { age: 300, count: 10_000 },
        removeOnFail: { age: 3600, count: 10_000 },
      });
      p.enqueued = true;
      p.enqueuedAtMs = Date.now();
    } catch (err) {
      this.settle(p, this.unreachable({ command: p.data.command, sessionId: p.data.sessionId }, err));
    }
  }

  /** Where a session's call goes: its host and incarnation (placing a new session on a live host). */
  private async sessionPlacement(sessionId: string, details: ErrorDetails): Promise<[string, string]> {
    const cmd = this.cmd!;
    const key = this.keys.sessionKey(sessionId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await cmd.get(key);
      if (current !== null) {
        const [hostId = '', incarnation = ''] = current.split(' ');
        const rec = parseHostRecord(await cmd.get(this.keys.hostKey(hostId)));
        if (rec === null || rec.incarnation !== incarnation) {
          // Compare-and-delete: only the mapping we read (another client may have placed it anew).
          await cmd.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end", 1, key, current);
          throw new PythonBridgeError('worker', 'session_lost', `session '${sessionId}' lived on host '${hostId}', which is gone: its state is lost (the next call starts it afresh)`, {
            details: { ...details, host: hostId },
          });
        }
        await cmd.pexpire(key, this.sessionTtlMs);
        return [hostId, incarnation];
      }
      const hosts = await this.readHosts(false);
      if (hosts.length === 0) throw new PythonBridgeError('pool_unavailable', 'no_host', `no live fleet host on queue '${this.keys.queue}'`, { details });
      const pick = hosts[this.rr++ % hosts.length]!;
      const set = await cmd.set(key, `${pick.hostId} ${pick.incarnation}`, 'PX', this.sessionTtlMs, 'NX');
      if (set === 'OK') return [pick.hostId, pick.incarnation];
      // Another client placed it meanwhile: read its placement.
    }
    throw new PythonBridgeError('pool_unavailable', 'no_host', `could not place session '${sessionId}'`, { details });
  }

  /** Live host records (cached for a second unless `fresh`); prunes ids whose key expired. */
  private async readHosts(fresh: boolean): Promise<HostRecord[]> {
    const now = Date.now();
    if (!fresh && this.hostCache !== null && now - this.hostCache.atMs < 1000) return this.hostCache.hosts;
    const cmd = this.cmd!;
    const ids = (await cmd.smembers(this.keys.hostsSet)).sort();
    const values = ids.length === 0 ? [] : await cmd.mget(ids.map((h) => this.keys.hostKey(h)));
    const hosts: HostRecord[] = [];
    const dead: string[] = [];
    ids.forEach((id, i) => {
      const rec = parseHostRecord(values[i] ?? null);
      if (rec === null) dead.push(id);
      else hosts.push(rec);
    });
    if (dead.length > 0) await cmd.srem(this.keys.hostsSet, ...dead).catch(() => 0);
    this.hostCache = { atMs: now, hosts };
    return hosts;
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (q === undefined) {
      q = new Queue(name, { connection: this.cmd!, prefix: this.keys.prefix });
      q.on('error', () => {});
      this.queues.set(name, q);
    }
    return q;
  }

  private onReply(message: string): void {
    const r = parseReply(message);
    if (r === null) return;
    const p = this.pending.get(r.id);
    if (p === undefined) return; // settled already (timeout, abort, reconcile)
    if (r.ok) this.settle(p, null, r.value);
    else this.settle(p, deserializeError(r.error, r.host));
  }

  /** The deadline passed or the signal fired: reject now; remove the job if still queued, else cancel it on its host. */
  private async giveUp(p: Pending, why: 'timeout' | 'abort'): Promise<void> {
    if (!this.pending.has(p.id)) return;
    const details: ErrorDetails = { command: p.data.command, sessionId: p.data.sessionId, timeoutMs: why === 'timeout' ? Math.max(0, (p.data.deadlineMs ?? 0) - p.enqueuedAtMs) : undefined };
    if (p.hostId !== null) details['host'] = p.hostId;
    // An abort settles at once; a timeout waits at most 200 ms for the removal's answer (it says
    // whether a host had taken the job), so the deadline holds within that whatever Redis does.
    let removed = false;
    const removal = p.enqueued && this.cmd?.status === 'ready' ? this.queue(p.queueName).remove(p.id).then((n) => n === 1, () => false) : Promise.resolve(false);
    if (why === 'abort') {
      this.settle(p, new PythonBridgeError('aborted', 'aborted', 'the fleet call was aborted', { details }));
    } else {
      removed = await Promise.race([removal, new Promise<boolean>((r) => setTimeout(() => r(false), 200).unref())]);
      this.settle(
        p,
        removed
          ? new PythonBridgeError('timeout', 'checkout', 'no fleet host took the call before its deadline', { details })
          : new PythonBridgeError('timeout', 'operation', 'the fleet call did not finish before its deadline', { details }),
      );
    }
    removed = await removal;
    if (!removed) await this.cmd?.publish(this.keys.cancelChannel, p.id).catch(() => 0);
  }

  /** Settle a pending call exactly once. */
  private settle(p: Pending, err: PythonBridgeError | null, value?: unknown): void {
    if (!this.pending.delete(p.id)) return;
    clearTimeout(p.timer);
    if (p.onAbort !== null) p.signal?.removeEventListener('abort', p.onAbort);
    if (err !== null) p.reject(err);
    else p.resolve(value);
  }

  /** Read the stored result of calls pending for over a second; fail session calls of dead hosts; resubmit lost idempotent jobs. */
  private async reconcile(): Promise<void> {
    const cmd = this.cmd;
    if (this.reconciling || cmd === null || cmd.status !== 'ready' || this.pending.size === 0) return;
    this.reconciling = true;
    try {
      const now = Date.now();
      const old = [...this.pending.values()].filter((p) => p.enqueued && now - p.enqueuedAtMs >= 1000).slice(0, 500);
      if (old.length > 0) {
        const pipe = cmd.pipeline();
        for (const p of old) pipe.hmget(`${this.keys.prefix}:${p.queueName}:${p.id}`, 'finishedOn', 'returnvalue', 'failedReason', 'data');
        const rows = (await pipe.exec()) ?? [];
        old.forEach((p, i) => {
          const [err, row] = rows[i] ?? [null, null];
          if (err !== null || !Array.isArray(row)) return;
          const [finishedOn, returnvalue, failed, data] = row as (string | null)[];
          if (finishedOn !== null && finishedOn !== undefined) {
            if (failed !== null && failed !== undefined && failed !== '') this.settle(p, errorFromFailedReason(failed, { command: p.data.command, sessionId: p.data.sessionId }));
            else this.settle(p, null, returnvalue === null || returnvalue === undefined ? null : (JSON.parse(returnvalue) as unknown));
          } else if (data === null || data === undefined) {
            this.jobLost(p);
          }
        });
      }
      const hostIds = new Set<string>();
      for (const p of this.pending.values()) if (p.hostId !== null) hostIds.add(p.hostId);
      if (hostIds.size > 0) {
        const ids = [...hostIds];
        const recs = await cmd.mget(ids.map((h) => this.keys.hostKey(h)));
        const alive = new Map<string, string>();
        ids.forEach((h, i) => {
          const r = parseHostRecord(recs[i] ?? null);
          if (r !== null) alive.set(h, r.incarnation);
        });
        for (const p of [...this.pending.values()]) {
          if (p.hostId === null || alive.get(p.hostId) === p.data.incarnation) continue;
          this.settle(
            p,
            new PythonBridgeError('worker', 'session_lost', `host '${p.hostId}' holding session '${p.data.sessionId}' is gone: the call's outcome and the session's state are lost`, {
              details: { command: p.data.command, sessionId: p.data.sessionId, host: p.hostId },
            }),
          );
          await this.queue(p.queueName).remove(p.id).catch(() => 0);
          const key = this.keys.sessionKey(p.data.sessionId!);
          const mapping = `${p.hostId} ${p.data.incarnation}`;
          await cmd.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end", 1, key, mapping).catch(() => 0);
        }
      }
    } catch {
      // Redis went away mid-pass: the next pass (or the reconnect) tries again.
    } finally {
      this.reconciling = false;
    }
  }

  /** The job vanished from Redis: enqueue it again when idempotent (anonymous calls), else reject. */
  private jobLost(p: Pending): void {
    if (p.data.retry === 'idempotent' && p.hostId === null) {
      this.resubmitted++;
      p.enqueued = false;
      void this.enqueue(p);
      return;
    }
    this.settle(
      p,
      new PythonBridgeError('pool_unavailable', 'job_lost', 'the fleet job vanished from Redis (restarted without persistence?): it may or may not have run', {
        details: { command: p.data.command, sessionId: p.data.sessionId, host: p.hostId },
      }),
    );
  }

  private unreachable(details: ErrorDetails | null, cause?: unknown): PythonBridgeError {
    return new PythonBridgeError('pool_unavailable', 'queue_unreachable', `Redis at ${describeConnection(this.connection)} is unreachable: the call was not enqueued`, {
      details: details ?? {},
      cause,
    });
  }

  private stoppedError(): PythonBridgeError {
    return new PythonBridgeError('pool_unavailable', 'stopped', 'the FleetClient was closed');
  }
}
