/**
 * The session registry: which worker served each session last (affinity), when it was last used
 * (TTL), and at most `maxSessions` of them (least recently used evicted first; under strict
 * affinity a session with a call waiting or running is never evicted nor expired). Ending a
 * session also drops its Python-side state on the worker that holds it, through the pool.
 *
 * @module
 */
import type { CallWorker } from './call-queue.js';
import { emitPoolEvent, type TelemetryMask } from '../telemetry/telemetry.js';

/** What the session registry keeps per session. */
export interface SessionInfo {
  id: string;
  /** The worker slot that served the session last. */
  workerId: number;
  /** The pid of that worker when it served the session. */
  pid: number;
  operations: number;
  createdAtMs: number;
  lastActivityAtMs: number;
}

/** What the registry needs from the pool to drop a session's state in Python. */
export interface SessionHost {
  /**
   * The worker in slot `workerId` if it is still process `pid`, alive, and the pool is running;
   * else null (the session's state died with that process, or soon will).
   */
  sessionWorker(workerId: number, pid: number): CallWorker | null;
  /** Run `session_end` for `sessionId` on `worker`, which is idle, if it is in the idle list. */
  endOnIdle(worker: CallWorker, sessionId: string): void;
  /** True while the session has a call waiting or running (strict affinity): it is not idle. */
  inUse(sessionId: string): boolean;
}

/** How a call's worker relates to its session's last one (see {@link SessionRegistry.touch}). */
export type SessionTouch = 'new' | 'hit' | 'moved';

/** The sessions of one pool. */
export class SessionRegistry {
  /** In least-recently-used order (re-inserted on every use): cheap expiry and eviction. */
  private readonly sessions = new Map<string, SessionInfo>();
  /**
   * The session last (re-)inserted, i.e. the Map's last entry. A call in the session that was
   * used last needs no re-insert: a delete + set per call leaves a deleted slot each time, and
   * V8 rehashes the Map every few calls to reclaim them (~130 bytes per call measured on a
   * single busy session).
   */
  private newest: SessionInfo | null = null;
  /** Session ends waiting for their (busy) worker's current call to finish. */
  private readonly pendingEnds = new Map<CallWorker, Set<string>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: SessionHost,
    private readonly pool: string,
    private readonly mask: TelemetryMask,
    private readonly maxSessions: number,
    private readonly ttlMs: number,
  ) {}

  /** Sessions registered. */
  get size(): number {
    return this.sessions.size;
  }

  /** The entry of a session, or undefined. */
  get(sessionId: string): SessionInfo | undefined {
    return this.sessions.get(sessionId);
  }

  /** Start expiring idle sessions (every half TTL, within 250 ms..60 s). */
  startExpiry(): void {
    this.timer = setInterval(() => this.expire(), Math.min(60_000, Math.max(250, Math.floor(this.ttlMs / 2))));
    this.timer.unref();
  }

  /** Stop expiring sessions. */
  stopExpiry(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Record that `worker` serves `sessionId`: `'hit'` when it served it last time too, `'moved'`
   * when another worker did (affinity `'prefer'` only: the state there is lost), `'new'` for a
   * session not registered.
   */
  touch(sessionId: string, worker: CallWorker): SessionTouch {
    const now = Date.now();
    let s = this.sessions.get(sessionId);
    let touch: SessionTouch = 'new';
    if (s) {
      touch = s.workerId === worker.workerId && s.pid === worker.pid ? 'hit' : 'moved';
      // The session moved (its worker was busy): its state on the old worker is stale now, and
      // would otherwise stay in that Python process for as long as it lives.
      if (touch === 'moved') this.clearPython(sessionId, s.workerId, s.pid);
      // Re-insert so the Map's order stays least-recently-used first (cheap expiry and eviction),
      // unless it is last already.
      if (s !== this.newest) this.sessions.delete(sessionId);
    } else {
      s = { id: sessionId, workerId: worker.workerId, pid: worker.pid, operations: 0, createdAtMs: now, lastActivityAtMs: now };
      if (this.sessions.size >= this.maxSessions) this.evict();
    }
    s.workerId = worker.workerId;
    s.pid = worker.pid;
    s.operations++;
    s.lastActivityAtMs = now;
    if (s !== this.newest) {
      this.sessions.set(sessionId, s);
      this.newest = s;
    }
    return touch;
  }

  /** Forget a session whose state died with its worker (nothing to clear in Python). */
  forget(sessionId: string): void {
    if (this.newest?.id === sessionId) this.newest = null;
    this.sessions.delete(sessionId);
  }

  /** Forget a session and clear its Python-side state; false when it was not registered. */
  end(sessionId: string): boolean {
    const s = this.sessions.get(sessionId);
    if (!s) return false;
    if (this.newest === s) this.newest = null;
    this.sessions.delete(sessionId);
    this.clearPython(sessionId, s.workerId, s.pid);
    return true;
  }

  /** A session end waiting for `worker` (now free), taken off its list; or null. */
  takePendingEnd(worker: CallWorker): string | null {
    const pending = this.pendingEnds.get(worker);
    if (!pending || pending.size === 0) return null;
    const sessionId = pending.values().next().value as string;
    pending.delete(sessionId);
    if (pending.size === 0) this.pendingEnds.delete(worker);
    return sessionId;
  }

  /** `worker` has exited: its pending session ends went with it. */
  forgetWorker(worker: CallWorker): void {
    this.pendingEnds.delete(worker);
  }

  /**
   * Drop a session's Python-side state on the worker that holds it: at once if that worker is
   * idle, else right after its current call. Pending ends are bounded by maxSessions per worker.
   */
  private clearPython(sessionId: string, workerId: number, pid: number): void {
    const w = this.host.sessionWorker(workerId, pid);
    if (w === null) return;
    if (w.state === 'idle') {
      this.host.endOnIdle(w, sessionId);
      return;
    }
    let set = this.pendingEnds.get(w);
    if (!set) this.pendingEnds.set(w, (set = new Set()));
    set.add(sessionId);
  }

  /**
   * End the least recently used sessions not in use until there is room for one more. Sessions in
   * use are skipped (their waiting calls would otherwise run on wiped state): while they fill the
   * registry it holds more than `maxSessions`.
   */
  private evict(): void {
    for (const id of this.sessions.keys()) {
      if (this.sessions.size < this.maxSessions) return;
      if (!this.host.inUse(id)) this.end(id);
    }
  }

  private expire(): void {
    const cutoff = Date.now() - this.ttlMs;
    for (const s of this.sessions.values()) {
      if (s.lastActivityAtMs > cutoff) break; // LRU order: the rest are younger
      if (this.host.inUse(s.id)) continue;
      this.end(s.id);
      emitPoolEvent(this.mask, 'dspex:session:expire', this.pool, { sessionId: s.id, idleMs: Date.now() - s.lastActivityAtMs, operations: s.operations });
    }
  }
}
