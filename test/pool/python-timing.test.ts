/**
 * Issue 19, where a call's time goes: the worker measures its handler with perf_counter_ns and
 * returns it in the reply; the operation context carries `pythonNs` and `bridgeNs`.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import diagnostics_channel from 'node:diagnostics_channel';
import { OPERATION_CHANNEL, type OperationContext } from '../../src/index.js';
import { readReplyPythonNs, readReplyTiming, type Frame } from '../../src/pool/protocol.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

/** Record the settled operation contexts of `pool` until the returned stop is called. */
function operations(pool: string): { ctxs: OperationContext[]; stop: () => void } {
  const ctxs: OperationContext[] = [];
  const tc = diagnostics_channel.tracingChannel(OPERATION_CHANNEL);
  const handlers = {
    start() {},
    end() {},
    asyncStart() {},
    error() {},
    asyncEnd(msg: unknown) {
      const c = msg as OperationContext;
      if (c.pool === pool) ctxs.push({ ...c });
    },
  };
  tc.subscribe(handlers);
  return { ctxs, stop: () => tc.unsubscribe(handlers) };
}

describe('timing split', () => {
  it('a 50 ms sleep after a heavy payload: pythonNs ≈ 50 ms, bridgeNs small and positive, the parts add up to the whole', async () => {
    const pool = await startPool({ size: 1, pythonModules: ['inside'] });
    const ops = operations(pool.name);
    // ~2 MB of JSON each way into Python: milliseconds of encoding, piping and decoding.
    const payload = Array.from({ length: 200_000 }, (_, i) => i * 7);
    try {
      for (let i = 0; i < 3; i++) expect(await pool.executeAnonymous('inside.sleep_after_payload', { payload, ms: 50 })).toBe(200_000);
    } finally {
      ops.stop();
    }
    expect(ops.ctxs).toHaveLength(3);
    for (const c of ops.ctxs) {
      expect(c.pythonNs).not.toBeNull();
      const py = c.pythonNs!;
      const bridge = c.bridgeNs!;
      expect(py).toBeGreaterThanOrEqual(50e6);
      expect(py).toBeLessThan(50e6 + 250e6); // a loaded 2-core machine may oversleep; never by this much
      expect(bridge).toBeGreaterThan(0);
      expect(c.queueWaitNs + py + bridge).toBeLessThanOrEqual(c.durationNs);
      // The bridge is what the payload costs: less than the call, more than nothing measurable.
      expect(bridge).toBeLessThan(c.durationNs - py + 1);
      expect(bridge).toBeGreaterThan(100_000);
    }
  });

  it('error replies carry timing too; a pool with pythonTiming off reports null', async () => {
    const pool = await startPool({ size: 1, pythonModules: ['inside'] });
    const off = await startPool({ size: 1, pythonTiming: false });
    const a = operations(pool.name);
    const b = operations(off.name);
    try {
      await expect(pool.executeAnonymous('fail', { type: 'ValueError', message: 'no' })).rejects.toThrow('ValueError');
      await off.executeAnonymous('sleep', { ms: 5 });
    } finally {
      a.stop();
      b.stop();
    }
    expect(a.ctxs[0]!.pythonNs).toBeGreaterThan(0);
    expect(a.ctxs[0]!.bridgeNs).toBeGreaterThanOrEqual(0);
    expect(b.ctxs[0]!.pythonNs).toBeNull();
    expect(b.ctxs[0]!.bridgeNs).toBeNull();
  });

  it('a reply with malformed timing is still a valid reply: the timing is ignored', async () => {
    const pool = await startPool({ size: 1, pythonModules: ['inside'] });
    const ops = operations(pool.name);
    try {
      expect(await pool.executeAnonymous('inside.malformed_timing')).toBe('x');
    } finally {
      ops.stop();
    }
    expect(ops.ctxs[0]!.pythonNs).toBeNull();
    expect(ops.ctxs[0]!.bridgeNs).toBeNull();
  });

  it('readReplyTiming / readReplyPythonNs accept only non-negative integers', () => {
    const f = (timing: unknown): Frame => ({ id: 1, timing });
    expect(readReplyTiming(f({ python_ns: 5, decode_ns: 1, encode_ns: 2 }))).toEqual({ pythonNs: 5, decodeNs: 1, encodeNs: 2 });
    for (const bad of [null, 'x', 3, [], { python_ns: -1 }, { python_ns: 1.5 }, { python_ns: '5' }, { python_ns: 1e30 }, { python_ns: Number.NaN }]) {
      expect(readReplyPythonNs(f(bad))).toBeNull();
      expect(readReplyTiming(f(bad))).toBeNull();
    }
    expect(readReplyPythonNs({ id: 1 })).toBeNull();
    expect(readReplyTiming(f({ python_ns: 5, decode_ns: 1 }))).toBeNull();
  });
});
