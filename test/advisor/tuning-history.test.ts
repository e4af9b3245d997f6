/**
 * The auto-tuner's history where on-call reads it (pure parts): `latestTuning` merges the tuners
 * newest first, the one-line form, `dspex advise`'s block and the terminal dashboard's tuner line
 * under the recommendations. The served path (createMonitoring → /api/snapshot → `dspex advise`)
 * and the web page are tested in test/config/create-monitoring.test.ts and
 * test/dashboard/web-dashboard.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { latestTuning } from '../../src/advisor/auto-tuner.js';
import { formatTuning } from '../../src/cli/advise.js';
import { formatTuningStep } from '../../src/dashboard/format.js';
import { renderRecommendations } from '../../src/dashboard/panels.js';
import { renderFrame } from '../../src/dashboard/frame.js';
import { sampleSnapshot } from '../../src/dashboard/sample.js';
import { initialViewState } from '../../src/dashboard/view-state.js';
import { stripAnsi } from '../../src/dashboard/ansi.js';
import { visibleWidth } from '../../src/dashboard/ansi.js';
import type { TuningRecord } from '../../src/contract/advice.js';
import type { SnapshotRecommendation } from '../../src/contract/snapshot.js';

const NOW = 1_000_000;
const step = (over: Partial<TuningRecord>): TuningRecord => ({
  id: 1, pool: 'p', parameter: 'size', from: 2, to: 4, recommendationId: 'grow_pool:p', reason: 'Grow pool', appliedAtMs: NOW - 90_000, status: 'kept',
  baseline: { latencyP99Us: 20_500, errorRate: 0.0123, throughputPerS: 150.26, ops: 9000 }, observed: { latencyP99Us: 9000, errorRate: 0, throughputPerS: 201, ops: 12_000 }, concludedAtMs: NOW - 30_000, outcome: null,
  ...over,
});

describe('tuning history', () => {
  it('latestTuning: every tuner merged, newest first by conclusion (or application while validating), at most n', () => {
    const a = { history: () => [step({ id: 1, concludedAtMs: NOW - 300_000 }), step({ id: 2, status: 'validating', concludedAtMs: null, appliedAtMs: NOW - 5000 })] };
    const b = { history: () => [step({ id: 1, pool: 'q', concludedAtMs: NOW - 60_000 })] };
    expect(latestTuning([a, b], 10).map((r) => `${r.pool}#${r.id}`)).toEqual(['p#2', 'q#1', 'p#1']);
    expect(latestTuning([a, b], 2)).toHaveLength(2);
    expect(latestTuning([], 5)).toEqual([]);
  });

  it('one line per step: kept, validating, rolled back with its reason, reverted, failed', () => {
    expect(formatTuningStep(step({}), NOW)).toBe('p: size 2 → 4 kept (-30s)');
    expect(formatTuningStep(step({ status: 'validating', concludedAtMs: null }), NOW)).toBe('p: size 2 → 4 validating (-1m30s)');
    expect(formatTuningStep(step({ status: 'rolled_back', outcome: 'p99 +41%' }), NOW)).toBe('p: size 2 → 4 rolled back (-30s): p99 +41%');
    expect(formatTuningStep(step({ status: 'reverted' }), NOW)).toBe('p: size 2 → 4 reverted by hand (-30s)');
    expect(formatTuningStep(step({ status: 'failed', outcome: 'resize refused' }), NOW)).toBe('p: size 2 → 4 failed (-30s): resize refused');
  });

  it('dspex advise: the step, why, and the figures before and after; nothing without steps', () => {
    expect(formatTuning([], NOW)).toBe('');
    expect(formatTuning([step({}), step({ id: 0, status: 'validating', observed: null, concludedAtMs: null, parameter: 'operationTimeoutMs', from: 300, to: 600 })], NOW)).toBe(
      [
        'auto-tuner, newest first:',
        '  #1 p: size 2 → 4 kept (-30s)',
        '      for grow_pool:p: Grow pool',
        '      before: p99 20.5 ms, errors 1.23%, 150.3/s; after: p99 9 ms, errors 0%, 201/s',
        '  #0 p: operationTimeoutMs 300 → 600 validating (-1m30s)',
        '      for grow_pool:p: Grow pool',
        '      before: p99 20.5 ms, errors 1.23%, 150.3/s',
        '',
      ].join('\n'),
    );
    // Terminal controls in a pool name are made visible, not obeyed.
    expect(formatTuning([step({ pool: 'p\u001b[2J' })], NOW)).not.toContain('\u001b');
  });

  it('the terminal panel: the newest step on a spare line under the recommendations, never instead of one', () => {
    const rec: SnapshotRecommendation = { title: 'Grow pool', detail: 'calls queue', score: 0.8 };
    const tuning = [step({ status: 'rolled_back', outcome: 'p99 +41%' }), step({ id: 0 })];
    const opts = { width: 60, color: false, tuning, nowMs: NOW };
    expect(renderRecommendations([rec], { ...opts, height: 3 }).slice(1)).toEqual(['▸ Grow pool — calls queue', 'tuner  p: size 2 → 4 rolled back (-30s): p99 +41%']);
    // No spare line: the recommendation keeps it.
    expect(renderRecommendations([rec], { ...opts, height: 2 }).slice(1)).toEqual(['▸ Grow pool — calls queue']);
    // Without recommendations, under the `none` title when there is a second line.
    expect(renderRecommendations([], { ...opts, height: 2 })).toHaveLength(2);
    expect(renderRecommendations([], { ...opts, height: 1 })).toHaveLength(1);
    expect(renderRecommendations([], { ...opts, height: 2, tuning: [] })).toHaveLength(1);
    for (const l of renderRecommendations([rec], { ...opts, width: 20, height: 3 })) expect(visibleWidth(l)).toBeLessThanOrEqual(20);
  });

  it('the whole frame shows the newest step wide and narrow, with and without recommendations and alerts', () => {
    const rec: SnapshotRecommendation = { title: 'Grow pool', detail: 'calls queue', score: 0.8 };
    const alert = { name: 'DspexHighLatency', severity: 'warning' as const, pool: 'p', message: 'p99 high', sinceMs: 0 };
    const missing: string[] = [];
    for (const [columns, rows] of [[120, 40], [159, 60], [200, 50], [200, 60], [100, 30]] as const) {
      for (const recs of [[], [rec], [rec, { ...rec, title: 'Shrink', score: 0.3 }]]) {
        for (const alerts of [[], [alert]]) {
          const snap = sampleSnapshot({ workers: 4, recommendations: recs, alerts });
          const lines = renderFrame({ ...snap, tuning: [step({ pool: 'tp', concludedAtMs: snap.timestampMs - 30_000 })] }, initialViewState({}), { columns, rows }, false).map(stripAnsi);
          expect(lines).toHaveLength(rows);
          if (!lines.some((l) => l.includes('tuner  tp: size 2 → 4 kept (-30s)'))) missing.push(`${columns}x${rows} recs ${recs.length} alerts ${alerts.length}`);
          // Every recommendation is still shown.
          for (const r of recs) expect(lines.some((l) => l.includes(r.title)), `${columns}x${rows}: ${r.title}`).toBe(true);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
