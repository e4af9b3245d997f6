/**
 * Checkout: which worker a call gets, and where it waits when none is free. The dispatcher runs
 * what this module picks; this module never sends, settles or times anything.
 *
 * Where calls wait:
 * - the shared queue: anonymous calls, calls of sessions no worker holds, and (`prefer`) session
 *   calls free to move: any worker may serve them;
 * - one queue per worker: session calls waiting for the worker that holds their session's state;
 *   such a call never holds up calls that another worker could serve;
 * - (affinity `strict`) a line per session: a session's calls run one at a time, in submission
 *   order; the first is placed (on its worker, or in a queue), the rest wait behind it.
 * A freed worker takes the older head of its own queue and of the shared queue (FIFO overall).
 *
 * Affinity `strict` (the default): a session's calls go only to the worker that holds its state,
 * waiting for it when busy. When that worker is dead or being ended, `take` answers {@link LOST}:
 * the dispatcher rejects the call (and the calls behind it) with `worker`/`session_lost` and
 * forgets the session, whose next call starts it afresh on any worker.
 * Affinity `prefer`: the session's worker if idle, else any idle worker (the session moves and its
 * state is left behind), else the shared queue.
 * Either way a worker busy with the pool's own work (a session cleanup, a health ping) is waited
 * for, never moved away from: only a user call makes a worker busy for affinity.
 *
 * @module
 */
import { CallQueue, type Call, type CallWorker } from './call-queue.js';
import type { SessionRegistry } from './sessions.js';

/** `take`'s answer when the worker holding a strict session's state is gone. */
export const LOST: unique symbol = Symbol('dspex.session_lost');

/** A strict session's calls: `head` is placed or running, `pending` wait behind it in order. */
interface Line {
  head: Call;
  pending: Call[] | null;
}

/** The checkout settings of a pool. */
export interface CheckoutSettings {
  affinity: 'strict' | 'prefer';
  strategy: 'lifo' | 'fifo';
}

/** The idle workers and the waiting calls of one pool. */
export class Checkout {
  /** Idle workers, in release order. */
  readonly idle: CallWorker[] = [];
  /** Calls waiting, wherever they wait (queues and lines). */
  waiting = 0;
  readonly strict: boolean;

  private readonly lifo: boolean;
  private readonly shared = new CallQueue();
  private readonly own = new Map<CallWorker, CallQueue>();
  private readonly lines = new Map<string, Line>();

  /** `slots` is the supervisor's array, read only here. */
  constructor(
    private readonly slots: readonly (CallWorker | null)[],
    private readonly sessions: SessionRegistry,
    settings: CheckoutSettings,
  ) {
    this.strict = settings.affinity === 'strict';
    this.lifo = settings.strategy === 'lifo';
  }

  /** True while a strict session has a call waiting or running. */
  inUse(sessionId: string): boolean {
    return this.lines.has(sessionId);
  }

  /**
   * The worker `call` runs on now (taken out of the idle list), {@link LOST}, or null: it must
   * wait, and `call.waitQueue` says where (null: behind its session's line). On null nothing else
   * has changed: the caller either {@link wait}s or refuses the call.
   */
  take(call: Call): CallWorker | null | typeof LOST {
    const sessionId = call.sessionId;
    if (sessionId !== null && call.kind === 'user') {
      if (this.strict) return this.takeStrict(call, sessionId);
      const w = this.sessionWorker(sessionId);
      if (w !== null) {
        if (w.state === 'idle' && this.takeFromIdle(w)) return w;
        // Busy with the pool's own work: wait for it rather than lose the state.
        if (w.state === 'busy' && !busyWithUser(w)) {
          call.waitQueue = this.ownQueue(w);
          return null;
        }
      }
    }
    const w = this.takeAny();
    if (w === null) call.waitQueue = this.shared;
    return w;
  }

  private takeStrict(call: Call, sessionId: string): CallWorker | null | typeof LOST {
    const line = this.lines.get(sessionId);
    if (line !== undefined && line.head !== call) {
      call.waitQueue = null;
      return null;
    }
    const s = this.sessions.get(sessionId);
    let w: CallWorker | null;
    if (s !== undefined) {
      const held = this.slots[s.workerId];
      if (!held || held.pid !== s.pid || held.exited || held.endReason !== null) return LOST;
      if (held.state !== 'idle' || !this.takeFromIdle(held)) {
        call.waitQueue = this.ownQueue(held);
        return null;
      }
      w = held;
    } else {
      w = this.takeAny();
      if (w === null) {
        call.waitQueue = this.shared;
        return null;
      }
    }
    if (line === undefined) this.lines.set(sessionId, { head: call, pending: null });
    return w;
  }

  /** `call` (just refused by {@link take}) waits where `take` said; counts it as waiting. */
  wait(call: Call): void {
    this.waiting++;
    this.place(call, false);
  }

  /** Like {@link wait}, at the front of its queue (a call being retried goes first). */
  waitFront(call: Call): void {
    this.waiting++;
    this.place(call, true);
  }

  /** Put a call already counted as waiting where {@link take} said. */
  place(call: Call, front: boolean): void {
    const sessionId = call.sessionId;
    if (this.strict && sessionId !== null && call.kind === 'user') {
      const line = this.lines.get(sessionId);
      if (line === undefined) this.lines.set(sessionId, { head: call, pending: null });
      else if (line.head !== call) {
        (line.pending ??= []).push(call);
        return;
      }
    }
    const q = call.waitQueue ?? this.shared;
    call.waitQueue = q;
    if (front) q.unshift(call);
    else q.push(call);
  }

  /** A waiting call leaves without a worker (settled elsewhere: timeout, abort). */
  forget(call: Call): void {
    this.waiting--;
    const q = call.waitQueue;
    call.waitQueue = null;
    // In a line it is skipped when reached.
    if (q !== null) q.forget();
  }

  /** A waiting call was taken out of waiting by the caller (it runs, or is rejected, now). */
  leave(call: Call): void {
    this.waiting--;
    call.waitQueue = null;
  }

  /**
   * The call `worker` (just freed) should run next, taken out of waiting; or null. The older of
   * the heads of its own queue and of the shared queue.
   */
  next(worker: CallWorker): Call | null {
    const own = this.own.get(worker);
    const mine = own === undefined ? null : own.peek();
    let other = this.shared.peek();
    if (!this.strict) {
      // A prefer session whose worker is busy with the pool's own work waits for that worker.
      while (other !== null && other.sessionId !== null) {
        const w = this.sessionWorker(other.sessionId);
        if (w === null || w === worker || w.state !== 'busy' || busyWithUser(w)) break;
        this.shared.shift();
        other.waitQueue = this.ownQueue(w);
        other.waitQueue.push(other);
        other = this.shared.peek();
      }
    }
    let call: Call;
    if (mine !== null && (other === null || mine.enqueuedNs <= other.enqueuedNs)) {
      own!.shift();
      call = mine;
    } else if (other !== null) {
      this.shared.shift();
      call = other;
    } else return null;
    this.leave(call);
    return call;
  }

  /**
   * A strict session's call settled. When it was its line's head, the next live call behind it
   * becomes the head and is returned (still counted as waiting) for the caller to place; the
   * line ends when none is left.
   */
  lineDone(call: Call): Call | null {
    const sessionId = call.sessionId;
    if (sessionId === null) return null;
    const line = this.lines.get(sessionId);
    if (line === undefined || line.head !== call) return null;
    const pending = line.pending;
    while (pending !== null && pending.length > 0) {
      const next = pending.shift()!;
      if (next.settled) continue;
      line.head = next;
      return next;
    }
    this.lines.delete(sessionId);
    return null;
  }

  /** End a strict session's line: its calls behind the head, taken out of waiting. */
  endLine(sessionId: string): Call[] {
    const line = this.lines.get(sessionId);
    if (line === undefined) return [];
    this.lines.delete(sessionId);
    const out: Call[] = [];
    for (const c of line.pending ?? []) {
      if (c.settled) continue;
      this.leave(c);
      out.push(c);
    }
    return out;
  }

  /** `worker` has exited: the calls waiting for it, still counted as waiting (to route again). */
  workerGone(worker: CallWorker): Call[] {
    const q = this.own.get(worker);
    if (q === undefined) return [];
    this.own.delete(worker);
    const out = q.drain();
    for (const c of out) c.waitQueue = null;
    return out;
  }

  /** Every waiting call, emptying the queues and lines. */
  drain(): Call[] {
    const out = this.shared.drain();
    for (const q of this.own.values()) for (const c of q.drain()) out.push(c);
    for (const line of this.lines.values()) for (const c of line.pending ?? []) if (!c.settled) out.push(c);
    this.own.clear();
    this.lines.clear();
    this.waiting = 0;
    for (const c of out) c.waitQueue = null;
    return out;
  }

  /** Take `worker` out of the idle list; false when it was not there. */
  takeFromIdle(worker: CallWorker): boolean {
    const idle = this.idle;
    const i = idle.lastIndexOf(worker);
    if (i === -1) return false;
    idle.splice(i, 1);
    return true;
  }

  /** Any idle worker, per strategy. */
  private takeAny(): CallWorker | null {
    return (this.lifo ? this.idle.pop() : this.idle.shift()) ?? null;
  }

  /** The live worker holding a session's state, or null. */
  private sessionWorker(sessionId: string): CallWorker | null {
    const s = this.sessions.get(sessionId);
    if (s === undefined) return null;
    const w = this.slots[s.workerId];
    return w && w.pid === s.pid && !w.exited && w.endReason === null ? w : null;
  }

  private ownQueue(worker: CallWorker): CallQueue {
    let q = this.own.get(worker);
    if (q === undefined) this.own.set(worker, (q = new CallQueue()));
    return q;
  }
}

/** True when `worker` runs a user call (not the pool's own work). */
function busyWithUser(worker: CallWorker): boolean {
  const call = worker.inflight;
  return call !== null && call.kind === 'user';
}
