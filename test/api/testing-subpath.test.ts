/** `dspex/testing`: the leak checks a user's own tests call, against real pools. */
import { afterAll, describe, expect, it } from 'vitest';
import { PythonBridgeError } from '../../src/index.js';
import { waitForNoWorkers, workerPids } from '../../src/testing.js';
import { startPool, stopAll } from '../helpers/pools.js';

afterAll(async () => {
  await stopAll();
  await waitForNoWorkers();
});

describe('dspex/testing leak checks', () => {
  it('workerPids lists the live workers of this process; waitForNoWorkers waits for their exit', async () => {
    const pool = await startPool({ size: 2 });
    const pids = pool.status().workers.map((w) => w.pid).sort();
    expect(workerPids().sort()).toEqual(expect.arrayContaining(pids));
    expect(workerPids(1)).toEqual([]); // init owns no dspex worker
    const early = await waitForNoWorkers({ timeoutMs: 50 }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(early).toBeInstanceOf(PythonBridgeError);
    expect((early as PythonBridgeError).message).toContain(String(pids[0]));
    await pool.stop();
    await waitForNoWorkers({ timeoutMs: 5000 });
    expect(workerPids().filter((p) => pids.includes(p))).toEqual([]);
  });

  it('rejects bad arguments with a typed error naming them', async () => {
    await expect(waitForNoWorkers({ timeoutMs: -1 })).rejects.toMatchObject({ code: 'DSPEX_INVALID_REQUEST_INVALID_ARGUMENT', details: { argument: 'timeoutMs' } });
    await expect(waitForNoWorkers({ intervalMs: 0 })).rejects.toMatchObject({ details: { argument: 'intervalMs' } });
  });
});
