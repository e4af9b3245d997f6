import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stripAnsi } from '../../src/dashboard/ansi.js';
import { renderFrame } from '../../src/dashboard/frame.js';
import { emptySnapshot, sampleSnapshot } from '../../src/dashboard/sample.js';
import { initialViewState } from '../../src/dashboard/view-state.js';
import type { MonitoringSnapshot } from '../../src/contract/snapshot.js';
import { NOW, checkTerminalLines, hasEscapes, independentCheck, maxWidth } from './helpers.js';

const sizes = [
  { columns: 80, rows: 24 },
  { columns: 120, rows: 40 },
  { columns: 200, rows: 60 },
];

describe('renderFrame', () => {
  for (const size of sizes) {
    for (const color of [false, true]) {
      it(`is exactly ${size.rows} lines of at most ${size.columns} columns (64 workers, color ${color})`, () => {
        const snap = sampleSnapshot({ workers: 64, window: '5m' });
        for (const view of [initialViewState({ window: '5m' }), initialViewState({ window: '5m', help: true, paused: true, sort: 'p99' })]) {
          const lines = renderFrame(snap, view, size, color, { error: 'connect ECONNREFUSED 127.0.0.1:9568' });
          expect(lines).toHaveLength(size.rows);
          expect(maxWidth(lines)).toBeLessThanOrEqual(size.columns);
          expect(hasEscapes(lines)).toBe(color);
          // Measured independently of the width function renderFrame cuts with.
          const check = independentCheck(lines);
          expect(check.maxWidth).toBeLessThanOrEqual(size.columns);
          expect(check.controls).toEqual([]);
        }
      });
    }
  }

  it('holds for any size, worker count and data shape (property)', () => {
    const frames: { columns: number; lines: string[] }[] = [];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 260 }),
        fc.integer({ min: 0, max: 90 }),
        fc.integer({ min: 0, max: 80 }),
        fc.constantFrom('sample', 'empty', 'spike', 'zero', 'alerts'),
        fc.boolean(),
        (columns, rows, workers, kind, color) => {
          const snap: MonitoringSnapshot =
            kind === 'empty'
              ? emptySnapshot(NOW)
              : sampleSnapshot({
                  workers,
                  window: '1m',
                  spike: kind === 'spike',
                  throughputPerS: kind === 'zero' ? 0 : 1200,
                  alerts: kind === 'alerts' ? Array.from({ length: workers % 9 }, (_, i) => ({ name: `A${i}`, severity: 'critical' as const, pool: 'demo', message: 'x'.repeat(i * 20), sinceMs: NOW })) : [],
                  recommendations: kind === 'alerts' ? [{ title: 'Grow the pool', detail: 'y'.repeat(300), score: 0.9 }] : [],
                });
          const lines = renderFrame(snap, initialViewState(), { columns, rows }, color);
          expect(lines).toHaveLength(rows);
          expect(maxWidth(lines)).toBeLessThanOrEqual(columns);
          frames.push({ columns, lines });
        },
      ),
      { numRuns: 150 },
    );
    // The same frames, measured independently of the renderers' width function (one Python run).
    const checks = checkTerminalLines(frames.flatMap((f) => f.lines));
    let k = 0;
    for (const f of frames) {
      for (const line of f.lines) {
        const c = checks[k++]!;
        expect(c.width, JSON.stringify(line)).toBeLessThanOrEqual(f.columns);
        expect(c.controls).toEqual([]);
      }
    }
  });

  it("shows the selected pool's warm spares in the worker table's title, in both layouts", () => {
    const base = sampleSnapshot({ workers: 4 });
    const pool = base.pools[0]!;
    const snap: MonitoringSnapshot = { ...base, pools: [{ ...pool, status: { ...pool.status!, spares: { target: 2, ready: 1, starting: 1, workers: [] } } }] };
    for (const size of [{ columns: 120, rows: 40 }, { columns: 200, rows: 60 }]) {
      const text = renderFrame(snap, initialViewState(), size, false).join('\n');
      expect(text).toMatch(/Workers {2}4 .*spares 1\/2/);
      expect(renderFrame(base, initialViewState(), size, false).join('\n')).not.toContain('spares');
    }
  });

  it('shows a one-line message when smaller than 80x24', () => {
    for (const size of [{ columns: 79, rows: 30 }, { columns: 120, rows: 23 }, { columns: 30, rows: 5 }]) {
      const lines = renderFrame(sampleSnapshot(), initialViewState(), size, false);
      expect(lines).toHaveLength(size.rows);
      expect(lines[0]).toBe(`terminal too small (need 80x24, have ${size.columns}x${size.rows})`.slice(0, size.columns));
      expect(lines.slice(1).every((l) => l === '')).toBe(true);
    }
  });

  it('lays out the panels: header, charts, errors and resources, workers, alerts, footer', () => {
    const lines = renderFrame(sampleSnapshot({ workers: 4, window: '5m' }), initialViewState({ window: '5m' }), { columns: 100, rows: 30 }, false);
    const text = lines.join('\n');
    expect(lines[0]).toMatch(/^dspex {2}pool demo {2}running {2}window 5m/);
    for (const panel of ['Throughput ops/s', 'Latency', 'Errors', 'Resources', 'Workers', 'Alerts  none', 'Recommendations  none']) expect(text).toContain(panel);
    expect(lines[29]).toMatch(/^q quit {2}p pause/);
    // All four workers fit; the spare lines went to the charts.
    expect(text).not.toContain('more (sorted');
    expect(lines.filter((l) => /^ +\d+ +400\d\d /.test(l))).toHaveLength(4);
  });

  it('adapts: wider terminals get wider charts and taller ones taller charts', () => {
    const snap = sampleSnapshot({ workers: 64, window: '5m' });
    const chartRows = (size: { columns: number; rows: number }): number => renderFrame(snap, initialViewState(), size, false).filter((l) => /^ *[\d.]+k?┤/.test(l) || /^ +│/.test(l)).length;
    const chartWidth = (columns: number): number => (renderFrame(snap, initialViewState(), { columns, rows: 30 }, false).find((l) => l.includes('Throughput')) ?? '').indexOf('Latency');
    expect(chartWidth(140)).toBeGreaterThan(chartWidth(100));
    expect(chartRows({ columns: 100, rows: 50 })).toBeGreaterThan(chartRows({ columns: 100, rows: 24 }));
    const wide = renderFrame(snap, initialViewState(), { columns: 200, rows: 60 }, false);
    const titles = wide.find((l) => l.includes('Throughput')) ?? '';
    expect(titles).toContain('Latency');
    expect(titles).toContain('Errors'); // three charts side by side
    expect(wide.join('\n')).not.toContain('more (sorted'); // all 64 workers in two column groups
  });

  it('puts active alerts right under the header', () => {
    const snap = sampleSnapshot({ alerts: [{ name: 'HighErrorRate', severity: 'critical', pool: 'demo', message: 'error rate 6%', sinceMs: NOW - 60_000 }] });
    for (const columns of [100, 200]) {
      const lines = renderFrame(snap, initialViewState(), { columns, rows: 30 }, false);
      expect(lines[2]).toContain('Alerts  1 active, 1 critical');
      expect(lines[3]).toMatch(/^CRIT HighErrorRate {2}error rate 6%/);
    }
  });

  it('renders the help overlay instead of the panels', () => {
    const lines = renderFrame(sampleSnapshot(), initialViewState({ help: true }), { columns: 80, rows: 24 }, false);
    const text = lines.join('\n');
    expect(text).toContain('Help');
    expect(text).toContain('q, Ctrl-C');
    expect(text).toContain('heap/limit 70%/85%');
    expect(text).not.toContain('Throughput');
  });

  it('draws something sensible with no pool at all, and selects pools by index', () => {
    const empty = renderFrame(emptySnapshot(NOW), initialViewState(), { columns: 80, rows: 24 }, true).map(stripAnsi);
    expect(empty[0]).toContain('no pool yet');
    expect(empty.join('\n')).toContain('no data yet');
    const a = sampleSnapshot();
    const b = sampleSnapshot();
    const two: MonitoringSnapshot = { ...a, pools: [...a.pools, ...b.pools.map((p) => ({ ...p, name: 'second' }))] };
    expect(renderFrame(two, initialViewState({ poolIndex: 1 }), { columns: 100, rows: 30 }, false)[0]).toContain('pool second (2/2, tab)');
    expect(renderFrame(two, initialViewState({ poolIndex: 2 }), { columns: 100, rows: 30 }, false)[0]).toContain('pool demo (1/2, tab)');
  });

  it('marks a window that is still loading', () => {
    const lines = renderFrame(sampleSnapshot({ window: '1m' }), initialViewState({ window: '15m' }), { columns: 100, rows: 30 }, false);
    expect(lines[0]).toContain('window 15m (loading)');
  });
});
