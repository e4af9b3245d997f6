/**
 * Issue 19, metrics from Python code: `import dspex` in a worker, values batched with replies and
 * periodic frames, bounded and validated, counted exactly once across worker crashes.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MetricsCollector } from '../../src/metrics/metrics-collector.js';
import { renderMetrics } from '../../src/exporters/prometheus.js';
import { buildSnapshot } from '../../src/exporters/snapshot.js';
import { readUserMetrics } from '../../src/pool/protocol.js';
import { subscribe, type PythonMetricsEvent } from '../../src/telemetry/telemetry.js';
import type { UserMetricChange } from '../../src/contract/inside-python.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

const collectors: MetricsCollector[] = [];
afterEach(async () => {
  for (const c of collectors.splice(0)) c.stop();
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

function collector(): MetricsCollector {
  const c = new MetricsCollector();
  c.start();
  collectors.push(c);
  return c;
}

const series = (c: MetricsCollector, pool: string, name: string) => c.getUserMetrics(pool).find((m) => m.name === name)?.series ?? [];

describe('user metrics from Python', () => {
  it('counters and histograms equal what the code recorded, across a worker crash (nothing counted twice)', async () => {
    const c = collector();
    const pool = await startPool({ size: 2, pythonModules: ['inside'] });
    let expectedTokens = 0;
    for (let i = 1; i <= 20; i++) {
      await pool.executeAnonymous('inside.record', { tokens: i, seconds: 0.02 });
      expectedTokens += i;
    }
    // A worker records, then dies before replying: its delta never reached Node, so it never counts.
    await expect(pool.executeAnonymous('inside.record_then_crash', { tokens: 1000 })).rejects.toMatchObject({ type: 'crashed' });
    await vi.waitFor(() => expect(pool.status().idle).toBe(2), { timeout: 10_000, interval: 20 });
    for (let i = 0; i < 10; i++) {
      await pool.executeAnonymous('inside.record', { tokens: 7, model: 'small', seconds: 2, gauge: i });
    }
    const tokens = series(c, pool.name, 'tokens_total');
    expect(tokens.find((s) => s.labels['model'] === 'gpt')?.value).toBe(expectedTokens);
    expect(tokens.find((s) => s.labels['model'] === 'small')?.value).toBe(70);
    const hist = series(c, pool.name, 'retrieval_seconds')[0]!;
    expect(hist.histogram!.count).toBe(30);
    expect(hist.histogram!.sum).toBeCloseTo(20 * 0.02 + 10 * 2, 6);
    const le = hist.histogram!.bucketsLe;
    expect(hist.histogram!.cumulativeCounts[le.indexOf(0.025)]).toBe(20);
    expect(hist.histogram!.cumulativeCounts[le.indexOf(2.5)]).toBe(30);
    expect(series(c, pool.name, 'cache_entries')[0]?.value).toBe(9);

    const text = renderMetrics({ collector: c, pools: [pool] });
    expect(text).toContain('# TYPE dspex_user_tokens_total counter');
    expect(text).toContain(`dspex_user_tokens_total{pool="${pool.name}",model="gpt"} ${expectedTokens}`);
    expect(text).toContain(`dspex_user_retrieval_seconds_count{pool="${pool.name}"} 30`);
    expect(text).toContain(`dspex_user_cache_entries{pool="${pool.name}"} 9`);
    const snap = buildSnapshot({ collector: c, pools: [pool] }, '1m');
    expect(snap.pools[0]!.userMetrics!.map((m) => m.name)).toEqual(['cache_entries', 'retrieval_seconds', 'tokens_total']);
    expect(c.getUserMetricsDropped(pool.name)).toBe(0);
  });

  it('a long call reports in periodic frames before it ends', async () => {
    const c = collector();
    const events: PythonMetricsEvent[] = [];
    const pool = await startPool({ size: 1, pythonModules: ['inside'], env: { DSPEX_METRICS_INTERVAL_MS: '100' } });
    const off = subscribe('dspex:python:metrics', (e) => {
      if (e.pool === pool.name) events.push(e);
    });
    try {
      const call = pool.executeAnonymous('inside.record_slowly', { tokens: 5, seconds: 1.5 });
      await vi.waitFor(() => expect(series(c, pool.name, 'tokens_total')[0]?.value).toBe(5), { timeout: 1400, interval: 20 });
      expect(pool.status().busy).toBe(1); // still running
      await call;
      expect(series(c, pool.name, 'tokens_total')[0]?.value).toBe(5); // not again with the reply
      expect(events[0]).toMatchObject({ workerId: 0, pid: pool.status().workers[0]!.pid, droppedChanges: 0 });
    } finally {
      off();
    }
  });

  it('bad names raise a clear Python exception; name and label floods are capped', async () => {
    const c = collector();
    const pool = await startPool({ size: 1, pythonModules: ['inside'] });
    for (const bad of ['9lives', 'has-dash', '__dunder', 'overflow_x', 'x'.repeat(101)]) {
      const r = await pool.executeAnonymous<{ error: string; message: string; is_value_error: boolean }>('inside.bad_name', { name: bad });
      expect(r.error, bad).toBe('MetricError');
      expect(r.is_value_error).toBe(true);
      expect(r.message).toMatch(/metric name/);
    }
    await pool.executeAnonymous('inside.flood_names', { n: 500 });
    await pool.executeAnonymous('inside.flood_labels', { n: 500 });
    const metrics = c.getUserMetrics(pool.name);
    expect(metrics.length).toBeLessThanOrEqual(64 + 3);
    const overflow = metrics.find((m) => m.name === 'overflow_counter');
    const kept = metrics.filter((m) => m.name.startsWith('flood_')).length;
    // The names beyond the cap, then all of labelled_total (a new name past the cap, labels dropped).
    expect(kept).toBe(64);
    expect(overflow?.series[0]?.value).toBe(500 - kept + 500);
    expect(metrics.find((m) => m.name === 'labelled_total')).toBeUndefined();
    expect(c.memoryBytes(pool.name)).toBeLessThanOrEqual(c.memoryBoundPerPool(pool.name));
  });

  it('a label flood on one metric is capped at 32 label sets plus an (other) series holding the rest', async () => {
    const c = collector();
    const pool = await startPool({ size: 1, pythonModules: ['inside'] });
    await pool.executeAnonymous('inside.flood_labels', { n: 200 });
    const s = series(c, pool.name, 'labelled_total');
    expect(s).toHaveLength(33);
    expect(s.find((x) => x.labels['user'] === '(other)')?.value).toBe(200 - 32);
    expect(s.reduce((n, x) => n + x.value, 0)).toBe(200);
  });

  it('Node trusts no worker: malformed or out-of-bounds changes are dropped and counted', () => {
    const out: UserMetricChange[] = [];
    const dropped = readUserMetrics(
      [
        { n: 'ok_total', t: 'c', l: { a: 'x' }, v: 2 },
        { n: 'neg_total', t: 'c', l: {}, v: -1 },
        { n: 'bad name', t: 'c', l: {}, v: 1 },
        { n: 'g', t: 'g', l: { pool: 'x' }, v: 1 },
        { n: 'g', t: 'g', l: { a: 1 }, v: 1 },
        { n: 'g', t: 'z', l: {}, v: 1 },
        { n: 'h', t: 'h', l: {}, b: [1, 2], c: [1, 0, 0], s: 0.5, k: 1 },
        { n: 'h', t: 'h', l: {}, b: [2, 1], c: [1, 0, 0], s: 0.5, k: 1 },
        { n: 'h', t: 'h', l: {}, b: [1, 2], c: [1, 0], s: 0.5, k: 1 },
        { n: 'h', t: 'h', l: {}, b: [1, 2], c: [1, 0, 0], s: 0.5, k: 2 },
        { n: 'g', t: 'g', l: { a: 'b', c: 'd', e: 'f', g: 'h', i: 'j' }, v: 1 },
        'garbage',
        null,
      ],
      out,
    );
    expect(out.map((c) => c.name)).toEqual(['ok_total', 'h']);
    expect(dropped).toBe(11);
    expect(readUserMetrics('nope', [])).toBe(1);
    expect(readUserMetrics(undefined, [])).toBe(0);
  });
});
