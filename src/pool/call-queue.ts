/**
 * A call through the pool and the queue of calls waiting for a worker. Plain data: the pool
 * decides when a call runs, fails or settles.
 *
 * @module
 */
import type { PythonBridgeError } from '../contract/errors.js';
import type { PoolWorker } from './pool-worker.js';
import type { OperationContext } from '../telemetry/telemetry.js';

/**
 * Who a call is for: `user` calls come from `execute*`; `health` pings and `control` calls
 * (session ends) are the pool's own work.
 */
export type CallKind = 'user' | 'health' | 'control';

/** A worker as the pool sees it: its call in flight is a {@link Call}. */
export type CallWorker = PoolWorker<Call>;

/** One call through the pool. Internal: holds everything a settle path needs, no closures. */
export class Call {
  /** The request id of the current attempt (0 before the first dispatch). */
  id = 0;
  /** The worker running the call, or null while it is queued. */
  worker: CallWorker | null = null;
  /** Set once the call has settled; nothing may settle it again. */
  settled = false;
  /** True while the call waits for a worker (in a queue, or behind its session's call). */
  queued = false;
  /** The queue it waits in while queued (null: behind its session's call; see checkout.ts). */
  waitQueue: CallQueue | null = null;
  attempts = 0;
  enqueuedNs = 0;
  dispatchedNs = 0;
  /**
   * The checkout timer while queued, the call's own operation timer (see Dispatcher.run), or,
   * once abandoned, the grace timer that kills a worker still running it.
   */
  timer: NodeJS.Timeout | null = null;
  onAbort: (() => void) | null = null;
  /** True when the caller gave its own `timeoutMs`: its expiry abandons the call (not a hang guard). */
  ownTimeout = false;
  /**
   * True once the call was settled for its caller (aborted, or past its own `timeoutMs`) while its
   * request still runs in Python: it stays its worker's call in flight, so the worker takes no
   * other call, and its late reply (same id) is dropped.
   */
  abandoned = false;

  constructor(
    readonly kind: CallKind,
    readonly sessionId: string | null,
    readonly command: string,
    readonly commandJson: string,
    readonly argsJson: string,
    readonly timeoutMs: number,
    readonly signal: AbortSignal | null,
    readonly retry: boolean,
    readonly resolve: (value: unknown) => void,
    readonly reject: (err: PythonBridgeError) => void,
    readonly ctx: OperationContext | null,
  ) {}
}

/** Clear a settling call's timer and abort listener. */
export function disarmCall(call: Call): void {
  if (call.timer) clearTimeout(call.timer);
  call.timer = null;
  if (call.onAbort && call.signal) call.signal.removeEventListener('abort', call.onAbort);
  call.onAbort = null;
}

/** A FIFO of calls with lazy deletion (aborted calls stay until reached); O(1) push and shift. */
export class CallQueue {
  private items: (Call | null)[] = [];
  private head = 0;
  /** Live (unsettled) calls in the queue. */
  live = 0;

  /** Append a call. */
  push(call: Call): void {
    this.items.push(call);
    this.live++;
  }

  /** Put a call back at the front (a call being retried goes first). */
  unshift(call: Call): void {
    if (this.head > 0) this.items[--this.head] = call;
    else this.items.unshift(call);
    this.live++;
  }

  /** The next unsettled call, left in the queue (settled ones before it are dropped), or null. */
  peek(): Call | null {
    while (this.head < this.items.length) {
      const c = this.items[this.head];
      if (c && !c.settled) return c;
      this.items[this.head++] = null;
      if (c) this.dead = Math.max(0, this.dead - 1);
    }
    this.compact();
    return null;
  }

  /** The next unsettled call, or null. */
  shift(): Call | null {
    while (this.head < this.items.length) {
      const c = this.items[this.head];
      this.items[this.head++] = null;
      if (c && !c.settled) {
        this.live--;
        this.compact();
        return c;
      }
      if (c) this.dead = Math.max(0, this.dead - 1);
    }
    this.compact();
    return null;
  }

  /** Settled calls still in `items`, dropped lazily. */
  private dead = 0;

  /** Mark a queued call as gone (it was settled elsewhere). */
  forget(): void {
    this.live--;
    // Callers that abort while no worker frees up would otherwise pile settled calls (and their
    // args) up in the array: compact once the dead outnumber the live.
    if (++this.dead > 1024 && this.dead > this.live) {
      this.items = this.items.slice(this.head).filter((c) => c !== null && !c.settled);
      this.head = 0;
      this.dead = 0;
    }
  }

  /** Every unsettled call, emptying the queue. */
  drain(): Call[] {
    const out: Call[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const c = this.items[i];
      if (c && !c.settled) out.push(c);
    }
    this.items = [];
    this.head = 0;
    this.live = 0;
    this.dead = 0;
    return out;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
