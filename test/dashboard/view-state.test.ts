import { describe, expect, it } from 'vitest';
import { DEFAULT_REFRESH_MS, MIN_REFRESH_MS, MAX_REFRESH_MS, initialViewState, reduceKey, splitKeys, stepRefresh } from '../../src/dashboard/view-state.js';

describe('reduceKey', () => {
  const v0 = initialViewState();

  it('starts at 1m, running, 1 s, sorted by id, no help', () => {
    expect(v0).toEqual({ window: '1m', paused: false, refreshMs: DEFAULT_REFRESH_MS, sort: 'id', help: false, poolIndex: 0 });
  });

  it('quits on q, Q and Ctrl-C without changing the view', () => {
    for (const k of ['q', 'Q', '\u0003']) expect(reduceKey(v0, k)).toEqual({ view: v0, quit: true });
  });

  it('toggles pause on p (and space)', () => {
    const paused = reduceKey(v0, 'p').view;
    expect(paused.paused).toBe(true);
    expect(reduceKey(paused, 'p').view.paused).toBe(false);
    expect(reduceKey(v0, ' ').view.paused).toBe(true);
  });

  it('steps the refresh with + / - along 250..10000 ms, clamped', () => {
    expect(reduceKey(v0, '+').view.refreshMs).toBe(2000);
    expect(reduceKey(v0, '-').view.refreshMs).toBe(500);
    expect(reduceKey(reduceKey(reduceKey(v0, '-').view, '-').view, '-').view.refreshMs).toBe(MIN_REFRESH_MS);
    let v = v0;
    for (let i = 0; i < 10; i++) v = reduceKey(v, '+').view;
    expect(v.refreshMs).toBe(MAX_REFRESH_MS);
    expect(reduceKey(v0, '=').view.refreshMs).toBe(2000);
    expect(stepRefresh(300, 1)).toBe(500);
    expect(stepRefresh(300, -1)).toBe(250);
    expect(initialViewState({ refreshMs: 10 }).refreshMs).toBe(MIN_REFRESH_MS);
  });

  it('selects the window with 1, 5 and f', () => {
    expect(reduceKey(v0, '5').view.window).toBe('5m');
    expect(reduceKey(v0, 'f').view.window).toBe('15m');
    expect(reduceKey(reduceKey(v0, 'f').view, '1').view.window).toBe('1m');
  });

  it('cycles the sort with s', () => {
    const seen: string[] = [];
    let v = v0;
    for (let i = 0; i < 6; i++) {
      v = reduceKey(v, 's').view;
      seen.push(v.sort);
    }
    expect(seen).toEqual(['ops', 'p99', 'rss', 'cpu', 'id', 'ops']);
  });

  it('toggles help with h (and ?), Escape closes it', () => {
    const h = reduceKey(v0, 'h').view;
    expect(h.help).toBe(true);
    expect(reduceKey(h, 'h').view.help).toBe(false);
    expect(reduceKey(h, '\u001b').view.help).toBe(false);
    expect(reduceKey(v0, '?').view.help).toBe(true);
  });

  it('d opens the stack overlay on the first worker, moves to the next on each press; Esc and h close it', () => {
    const d1 = reduceKey(v0, 'd').view;
    expect(d1.stackWorker).toBe(0);
    const d2 = reduceKey(d1, 'd').view;
    expect(d2.stackWorker).toBe(1);
    expect(reduceKey(d2, '\u001b').view.stackWorker).toBeNull();
    const h = reduceKey(d2, 'h').view;
    expect(h.help).toBe(true);
    expect(h.stackWorker).toBeNull();
    expect(reduceKey(reduceKey(v0, 'h').view, 'd').view).toMatchObject({ help: false, stackWorker: 0 });
  });

  it('moves to the next pool with Tab, and ignores unknown keys (same object)', () => {
    expect(reduceKey(v0, '\t').view.poolIndex).toBe(1);
    for (const k of ['x', '\u001b[A', '\r', '9']) {
      const r = reduceKey(v0, k);
      expect(r.view).toBe(v0);
      expect(r.quit).toBe(false);
    }
  });
});

describe('splitKeys', () => {
  it('splits a chunk into keys, keeping escape sequences whole', () => {
    expect(splitKeys('p5q')).toEqual(['p', '5', 'q']);
    expect(splitKeys('\u001b[Ah\u001bOB')).toEqual(['\u001b[A', 'h', '\u001bOB']);
    expect(splitKeys('\u001b')).toEqual(['\u001b']);
  });
});
