/**
 * `GET /api/stack?pool=NAME&worker=ID` of the monitoring server (issue 19): every thread's Python
 * stack of one worker, taken now through the pool's `dumpStack`. Read-only (the worker answers a
 * signal without stopping) and, like every route, behind the server's token. At most one dump per
 * worker is in flight: the pool shares concurrent requests.
 *
 * @module
 */
import type { PythonStack } from '../contract/inside-python.js';
import { safely, type MonitoringSources, type StatusSource } from './sources.js';

/** The answer of the route: an HTTP status and a JSON body. */
export interface StackAnswer {
  status: number;
  body: PythonStack | { error: string; status: number };
}

/** Where the server reports a failure of a pool's dump (a pino logger fits). */
interface Warn {
  warn(obj: object, msg?: string): void;
}

const fail = (status: number, error: string): StackAnswer => ({ status, body: { error, status } });

/**
 * Answer `/api/stack` for `pool` and `worker` (the raw query values): 400 without a pool or with a
 * worker that is not a slot number, 404 for a pool the sources do not list (or that cannot dump),
 * 400 for a slot beyond the pool, 409 when the worker cannot dump now (no live worker there, no
 * faulthandler, no answer in time), 200 with the {@link PythonStack}. Never rejects.
 */
export async function answerStack(sources: MonitoringSources, pool: string | undefined, worker: string | undefined, logger: Warn | null): Promise<StackAnswer> {
  if (pool === undefined || pool === '') return fail(400, 'pool is required');
  if (worker === undefined || !/^\d{1,6}$/.test(worker)) return fail(400, 'worker must be a worker slot (a non-negative integer)');
  const listed = sources.pools;
  const iterable = typeof listed === 'function' ? safely(listed, []) : (listed ?? []);
  let source: StatusSource | undefined;
  for (const p of iterable) {
    if (p.name !== pool || typeof p.dumpStack !== 'function') continue;
    // The live one of two same-named pools (an old, stopped one and its successor).
    if (source === undefined || safely(() => p.status().lifecycle, 'stopped') !== 'stopped') source = p;
  }
  if (source === undefined) return fail(404, 'no pool with that name that can dump stacks');
  try {
    return { status: 200, body: await source.dumpStack!(Number(worker)) };
  } catch (err) {
    const e = err as { category?: unknown; type?: unknown; message?: unknown };
    if (e.type === 'invalid_argument') return fail(400, 'worker is not a slot of that pool');
    if (e.category === 'worker') return fail(409, typeof e.message === 'string' ? e.message : 'the worker cannot dump its stack now');
    logger?.warn({ err }, 'dspex monitoring server: stack dump failed');
    return fail(500, 'internal error');
  }
}
