/**
 * `dspex bench all`: the design-target table reads the scenarios' own targets by name (a target
 * whose scenario did not run is "not measured", never "met"), and a real run of two scenarios in
 * child processes of the built CLI (one of them the cheap monitoring scenario with Python workers)
 * ends in one document with both headlines and no process left behind.
 */
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { DESIGN_TARGETS, combinedDoc, designTargetRows, headlineRows, runAll, type ScenarioDoc, type ScenarioOutcome } from '../../src/bench/all.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

afterAll(async () => {
  await expectNoLeakedWorkers();
});

function doc(name: string, targets: ScenarioDoc['targets'], ratios: Record<string, number> = {}): ScenarioOutcome {
  return { name, status: 'ok', seconds: 1, doc: { name, quick: false, ratios, targets, headline: { case: `${name} op`, opsPerS: 10, p50Us: 1, p99Us: 2, heapBytesPerOp: null } } };
}

describe('design targets', () => {
  it('every design target names a scenario that bench all runs', async () => {
    const { benchNames } = await import('../../src/bench/index.js');
    for (const d of DESIGN_TARGETS) expect(benchNames()).toContain(d.scenario);
  });

  it('reads figures by name, applies the looser design bound, and never calls a missing figure met', () => {
    const outcomes: ScenarioOutcome[] = [
      // The pool's own recovery target is 150 ms; the design's is 500 ms: 300 ms misses one and meets the other.
      doc('pool', { 'recovery p99, ms (kill -9 -> serving)': { target: '<= 150', value: 300, pass: false } }),
      doc('metrics', { 'record ns per operation event (via channel)': { target: '<= 100', value: 140, pass: false } }),
      { name: 'monitoring', status: 'failed', reason: 'exit code 3', seconds: 2 },
    ];
    const rows = designTargetRows(outcomes);
    const by = (what: string) => rows.find((r) => String(r['target']).startsWith(what));
    expect(by('recovery after kill -9, p99 (no spare)')).toMatchObject({ measured: 300, verdict: 'met' });
    expect(by('metric record through the channel')).toMatchObject({ measured: 140, verdict: 'MISSED' });
    expect(by('latency p50')).toMatchObject({ measured: null, verdict: 'not measured' });
    expect(rows).toHaveLength(DESIGN_TARGETS.length);
    expect(rows.filter((r) => r['verdict'] === 'met')).toHaveLength(1);
  });

  it('namespaces ratios by scenario and keeps why a scenario did not run', () => {
    const outcomes: ScenarioOutcome[] = [doc('otel', {}, { otel_vs_bare_throughput: 0.97 }), { name: 'fleet', status: 'skipped', reason: 'redis-server is not installed', seconds: 0 }];
    const d = combinedDoc(outcomes, false, '2026-12-02T00:00:00.000Z');
    expect(d['ratios']).toEqual({ 'otel.otel_vs_bare_throughput': 0.97 });
    expect((d['scenarios'] as Record<string, unknown>)['fleet']).toMatchObject({ status: 'skipped', reason: 'redis-server is not installed' });
    expect(headlineRows(outcomes)[1]).toMatchObject({ scenario: 'fleet', operation: 'skipped: redis-server is not installed' });
  });
});

describe('runAll for real', () => {
  const main = 'dist/cli/main.js';
  it.runIf(existsSync(main))(
    'runs each scenario in its own process and merges their documents',
    async () => {
      let text = '';
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          text += chunk.toString();
          cb();
        },
      });
      const { code, doc: all } = await runAll(['dashboard', 'monitoring'], { quick: true, jsonPath: null, flags: {} }, sink, main);
      expect(code).toBe(0);
      const scenarios = all['scenarios'] as Record<string, { status: string; headline: { opsPerS: number } | null }>;
      expect(scenarios['dashboard']?.status).toBe('ok');
      expect(scenarios['monitoring']?.status).toBe('ok');
      expect(scenarios['monitoring']?.headline?.opsPerS).toBeGreaterThan(0);
      const design = all['designTargets'] as { scenario: string; measured: number | null }[];
      for (const d of design.filter((r) => r.scenario === 'monitoring')) expect(Number.isFinite(d.measured)).toBe(true);
      expect(text).toContain('## Design targets');
    },
    120_000,
  );
});
