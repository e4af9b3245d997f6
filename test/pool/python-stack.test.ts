/**
 * Issue 19, the stack of a stuck worker: `pool.dumpStack` while the worker is busy in Python, and
 * the hang guard's error carrying the hung function's stack.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { PythonBridgeError } from '../../src/index.js';
import { recordingLogger, startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';
import { rejection } from '../helpers/errors.js';

afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

describe('dumpStack', () => {
  it('shows the frame of the function a busy worker is in, for every thread, and leaves the call undisturbed', async () => {
    const pool = await startPool({ size: 1, pythonModules: ['inside'] });
    const call = pool.executeAnonymous<number>('inside.with_helper_thread', { seconds: 1.5 });
    await vi.waitFor(() => expect(pool.status().busy).toBe(1), { timeout: 2000, interval: 5 });
    let dump = await pool.dumpStack(0);
    // The call may not have reached the function yet: ask again until it has.
    for (let i = 0; i < 20 && !dump.stack.includes('spin_in_known_function'); i++) dump = await pool.dumpStack(0);
    expect(dump.pool).toBe(pool.name);
    expect(dump.workerId).toBe(0);
    expect(dump.pid).toBe(pool.status().workers[0]!.pid);
    expect(dump.stack).toMatch(/Current thread 0x[0-9a-f]+ \(most recent call first\):/);
    expect(dump.stack).toMatch(/File ".*inside\.py", line \d+ in spin_in_known_function/);
    expect(dump.stack).toContain('in with_helper_thread');
    expect(dump.stack).toContain('in _helper_thread_body'); // the other thread
    expect(dump.stack).toContain('in watch'); // the worker's own watchdog thread
    // Two dumps at once share one signal and one text.
    const [a, b] = await Promise.all([pool.dumpStack(0), pool.dumpStack(0)]);
    expect(a.stack).toBe(b.stack);
    // The worker was not stopped or disturbed: the call completes normally.
    expect(await call).toBeGreaterThan(0);
    expect(pool.status().workers[0]!.generation).toBe(0);
    expect(await pool.executeAnonymous('echo', { ok: 1 })).toEqual({ ok: 1 });
  });

  it('an idle worker dumps too; bad slots and empty slots are typed errors', async () => {
    const pool = await startPool({ size: 1, maxSize: 2 });
    const idle = await pool.dumpStack(0);
    expect(idle.stack).toMatch(/in main/);
    const bad = await rejection(pool.dumpStack(1.5));
    expect(bad).toBeInstanceOf(PythonBridgeError);
    expect(bad).toMatchObject({ category: 'invalid_request', type: 'invalid_argument', details: { argument: 'workerId' } });
    await expect(pool.dumpStack(7)).rejects.toMatchObject({ type: 'invalid_argument' });
    await expect(pool.dumpStack(1)).rejects.toMatchObject({ category: 'worker', type: 'stack_unavailable' });
    await expect(pool.dumpStack(0, 0)).rejects.toMatchObject({ type: 'invalid_argument', details: { argument: 'timeoutMs' } });
  });
});

describe('operation timeout', () => {
  it("the hang guard's error and log carry the hung function's stack, taken before the kill", async () => {
    const logger = recordingLogger();
    const pool = await startPool({ size: 1, pythonModules: ['inside'], operationTimeoutMs: 400, logger });
    const pid = pool.status().workers[0]!.pid;
    const err = await rejection(pool.executeAnonymous('inside.hang_forever_in_python'));
    expect(err).toMatchObject({ category: 'timeout', type: 'operation', details: { pid } });
    const stack = err.details.pythonStack;
    expect(typeof stack).toBe('string');
    expect(stack).toMatch(/File ".*inside\.py", line \d+ in hang_forever_in_python/);
    const line = logger.lines.find((l) => l.level === 'error' && l.obj['pythonStack'] !== undefined);
    expect(line?.obj['pythonStack']).toBe(stack);
    expect(line?.msg).toContain('hang_forever_in_python');
    // The worker was still killed and replaced.
    await vi.waitFor(() => expect(pool.status().workers[0]?.generation).toBe(1), { timeout: 5000, interval: 20 });
    expect(await pool.executeAnonymous('echo', { ok: 2 })).toEqual({ ok: 2 });
  });
});
