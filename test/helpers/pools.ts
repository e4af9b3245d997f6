import { fileURLToPath } from 'node:url';
import { SessionPool, type PoolOptions, type PoolLogger } from '../../src/index.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/python', import.meta.url));

let n = 0;
/** A unique pool name per test (telemetry and metrics are keyed by name). */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${process.pid}-${++n}`;
}

/** A logger that records what it receives. */
export function recordingLogger(): PoolLogger & { lines: { level: string; obj: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '' });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const live = new Set<SessionPool>();

/** Start a pool with test defaults (fixtures on the path, a recording logger). Stop it with stopAll(). */
export async function startPool(opts: PoolOptions = {}): Promise<SessionPool> {
  const pool = new SessionPool({
    name: uniqueName(),
    size: 2,
    pythonPath: [FIXTURES],
    logger: recordingLogger(),
    healthCheckIntervalMs: 0,
    ...opts,
  });
  live.add(pool);
  await pool.start();
  return pool;
}

/** Stop every pool started by startPool. */
export async function stopAll(): Promise<void> {
  const pools = [...live];
  live.clear();
  await Promise.all(pools.map((p) => p.stop({ mode: 'reject' })));
}
