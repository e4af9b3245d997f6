import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  PerformanceDashboard,
  colorEnabled,
  renderOnce,
  startDashboard,
  stopDashboard,
  terminalSequences,
  type DashboardExitReason,
  type SnapshotSource,
} from '../../src/dashboard/performance-dashboard.js';
import { sampleSnapshot } from '../../src/dashboard/sample.js';
import type { MonitoringSnapshot } from '../../src/contract/snapshot.js';
import type { WindowName } from '../../src/contract/metrics.js';

class FakeStdin extends PassThrough {
  isTTY = true;
  rawCalls: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.rawCalls.push(mode);
    return this;
  }
}

class FakeStdout extends PassThrough {
  isTTY = true;
  columns = 100;
  rows = 30;
  written = '';
  override write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    this.written += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return super.write(chunk, ...(rest as []));
  }
}

function recordingSource(): SnapshotSource & { windows: WindowName[] } {
  const windows: WindowName[] = [];
  return {
    windows,
    snapshot(window: WindowName): MonitoringSnapshot {
      windows.push(window);
      return sampleSnapshot({ window });
    },
  };
}

function setup(overrides: { source?: SnapshotSource; refreshMs?: number; color?: boolean } = {}) {
  const stdin = new FakeStdin();
  const stdout = new FakeStdout();
  stdout.resume(); // drain what is written
  const exits: DashboardExitReason[] = [];
  const source = overrides.source ?? recordingSource();
  const dash = new PerformanceDashboard({ source, stdin, stdout, refreshMs: overrides.refreshMs ?? 250, color: overrides.color ?? false, handleProcessEvents: false, onExit: (r) => exits.push(r) });
  return { stdin, stdout, dash, exits, source };
}

afterEach(() => {
  stopDashboard();
});

describe('PerformanceDashboard', () => {
  it('takes the terminal over, draws a frame in place, and restores everything on q', async () => {
    const { stdin, stdout, dash, exits } = setup();
    dash.start();
    expect(stdout.written.startsWith(terminalSequences.enter)).toBe(true);
    expect(stdin.rawCalls).toEqual([true]);
    await vi.waitFor(() => expect(stdout.written).toContain('pool demo'));
    expect(stdout.written).toContain('\u001b[1;1H'); // cursor positioning, line by line
    expect(stdout.written).toContain(terminalSequences.beginSync);
    expect(stdout.written).not.toContain('\u001b[2J'); // never clear-and-scroll
    expect(stdout.written).not.toMatch(/\n/);
    stdin.write('q');
    await vi.waitFor(() => expect(exits).toEqual(['quit']));
    expect(stdout.written.endsWith(terminalSequences.leave)).toBe(true);
    expect(terminalSequences.leave).toContain('\u001b[?25h'); // cursor shown
    expect(terminalSequences.leave).toContain('\u001b[0m'); // colors reset
    expect(terminalSequences.leave).toContain('\u001b[?1049l'); // main screen back
    expect(stdin.rawCalls).toEqual([true, false]);
    expect(stdin.listenerCount('data')).toBe(0);
    expect(stdout.listenerCount('resize')).toBe(0);
    expect(dash.running).toBe(false);
  });

  it('a badly shaped snapshot (e.g. from a hostile server) is reported, not fatal; the last good one stays', async () => {
    let n = 0;
    const source: SnapshotSource = {
      snapshot(window: WindowName): MonitoringSnapshot {
        n++;
        const good = sampleSnapshot({ window });
        return n === 1 ? good : ({ ...good, pools: [{ ...good.pools[0], series: 'not a list' }] } as unknown as MonitoringSnapshot);
      },
    };
    const { stdin, stdout, dash, exits } = setup({ source });
    dash.start();
    await vi.waitFor(() => expect(stdout.written).toContain('pool demo'));
    await vi.waitFor(() => expect(stdout.written).toContain('unusable snapshot'), { timeout: 3000 });
    expect(dash.running).toBe(true);
    expect(exits).toEqual([]);
    stdin.write('q');
    await vi.waitFor(() => expect(exits).toEqual(['quit']));
  });

  it('quits on Ctrl-C, and restores once even when stopped again', async () => {
    const { stdin, stdout, dash, exits } = setup();
    dash.start();
    stdin.write('\u0003');
    await vi.waitFor(() => expect(exits).toEqual(['quit']));
    dash.stop();
    expect(exits).toEqual(['quit']);
    expect(stdout.written.split(terminalSequences.leave)).toHaveLength(2);
  });

  it('restores on stop(), and on SIGTERM / an uncaught exception when it owns process events', () => {
    const { stdout, dash, exits } = setup();
    dash.start();
    dash.stop();
    expect(exits).toEqual(['stop']);
    expect(stdout.written.endsWith(terminalSequences.leave)).toBe(true);

    const before = { term: process.listenerCount('SIGTERM'), mon: process.listenerCount('uncaughtExceptionMonitor') };
    for (const [event, reason] of [['SIGTERM', 'signal'], ['uncaughtExceptionMonitor', 'crash']] as const) {
      const out = new FakeStdout();
      out.resume();
      const got: DashboardExitReason[] = [];
      const d = new PerformanceDashboard({ source: recordingSource(), stdin: new FakeStdin(), stdout: out, color: false, onExit: (r) => got.push(r) });
      d.start();
      if (event === 'SIGTERM') process.emit('SIGTERM', 'SIGTERM');
      else (process as NodeJS.EventEmitter).emit('uncaughtExceptionMonitor', new Error('boom'), 'uncaughtException');
      expect(got).toEqual([reason]);
      expect(out.written.endsWith(terminalSequences.leave)).toBe(true);
    }
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
    expect(process.listenerCount('uncaughtExceptionMonitor')).toBe(before.mon);
  });

  it('applies keys: window refetches, pause stops refreshing, sort, help and refresh re-render', async () => {
    vi.useFakeTimers();
    try {
      const source = recordingSource();
      const { stdout, dash } = setup({ source, refreshMs: 250 });
      dash.start();
      await vi.advanceTimersByTimeAsync(0);
      expect(source.windows).toEqual(['1m']);
      await vi.advanceTimersByTimeAsync(250);
      expect(source.windows).toEqual(['1m', '1m']);
      dash.handleKeys('5');
      expect(stdout.written).toContain('window 5m (loading)');
      await vi.advanceTimersByTimeAsync(0);
      expect(source.windows.at(-1)).toBe('5m');
      dash.handleKeys('p');
      expect(stdout.written).toContain('PAUSED');
      const fetched = source.windows.length;
      await vi.advanceTimersByTimeAsync(5000);
      expect(source.windows.length).toBe(fetched); // no refresh while paused
      dash.handleKeys('s');
      expect(dash.view.sort).toBe('ops');
      expect(stdout.written).toContain('ops▼');
      dash.handleKeys('h');
      expect(stdout.written).toContain('q, Ctrl-C');
      dash.handleKeys('hp'); // help off, resume: fetches at once
      await vi.advanceTimersByTimeAsync(0);
      expect(source.windows.length).toBe(fetched + 1);
      dash.handleKeys('+');
      expect(dash.view.refreshMs).toBe(500);
      await vi.advanceTimersByTimeAsync(300);
      expect(source.windows.length).toBe(fetched + 1);
      await vi.advanceTimersByTimeAsync(250);
      expect(source.windows.length).toBe(fetched + 2);
      dash.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('never has two snapshot requests in flight; shows a failing source and recovers', async () => {
    vi.useFakeTimers();
    try {
      let inFlight = 0;
      let maxInFlight = 0;
      let calls = 0;
      let fail = true;
      const resolvers: (() => void)[] = [];
      const source: SnapshotSource = {
        snapshot: async (window) => {
          calls++;
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise<void>((r) => resolvers.push(r));
          inFlight--;
          if (fail) throw new Error('connect ECONNREFUSED 127.0.0.1:9568');
          return sampleSnapshot({ window });
        },
      };
      const { stdout, dash } = setup({ source, refreshMs: 250 });
      dash.start();
      await vi.advanceTimersByTimeAsync(800);
      expect(calls).toBe(1);
      expect(dash.stats.skippedTicks).toBe(3);
      resolvers.shift()?.();
      await vi.advanceTimersByTimeAsync(0);
      expect(stdout.written).toContain('source error: connect ECONNREFUSED');
      fail = false;
      await vi.advanceTimersByTimeAsync(250);
      expect(calls).toBe(2);
      resolvers.shift()?.();
      await vi.advanceTimersByTimeAsync(0);
      expect(stdout.written).toContain('pool demo');
      expect(maxInFlight).toBe(1);
      dash.stop();
      resolvers.forEach((r) => r());
    } finally {
      vi.useRealTimers();
    }
  });

  it('redraws fully on resize, at the new size, and only changed lines otherwise', async () => {
    const { stdout, dash } = setup();
    dash.start();
    await vi.waitFor(() => expect(stdout.written).toContain('pool demo'));
    const renders = dash.stats.renders;
    stdout.written = '';
    stdout.columns = 80;
    stdout.rows = 24;
    stdout.emit('resize');
    expect(dash.stats.renders).toBe(renders + 1);
    expect(stdout.written).toContain('\u001b[24;1H');
    expect(stdout.written).not.toContain('\u001b[25;1H');
    stdout.written = '';
    dash.handleKeys('x'); // unknown key: nothing to draw
    expect(stdout.written).toBe('');
    stdout.columns = 60;
    stdout.emit('resize');
    expect(stdout.written).toContain('terminal too small (need 80x24, have 60x24)');
    dash.stop();
  });

  it('waits for drain when stdout pushes back', () => {
    const { stdout, dash } = setup();
    const write = vi.spyOn(stdout, 'write').mockImplementation(() => false);
    dash.start();
    const renders = dash.stats.renders;
    dash.handleKeys('s');
    dash.handleKeys('s');
    expect(dash.stats.renders).toBe(renders); // blocked: nothing written
    write.mockRestore();
    stdout.emit('drain');
    expect(dash.stats.renders).toBe(renders + 1); // one coalesced frame
    dash.stop();
  });

  it('startDashboard / stopDashboard run one dashboard at a time', () => {
    const stdin = new FakeStdin();
    const stdout = new FakeStdout();
    stdout.resume();
    const onExit = vi.fn();
    const d = startDashboard({ source: recordingSource(), stdin, stdout, color: false, handleProcessEvents: false, onExit });
    expect(d.running).toBe(true);
    expect(() => startDashboard({ source: recordingSource(), stdin, stdout, handleProcessEvents: false })).toThrow(/already running/);
    expect(stopDashboard()).toBe(true);
    expect(onExit).toHaveBeenCalledWith('stop', undefined);
    expect(stopDashboard()).toBe(false);
  });
});

describe('renderOnce and colorEnabled', () => {
  it('prints plain lines with no escape sequence when color is off', () => {
    const text = renderOnce(sampleSnapshot({ window: '5m' }), { columns: 100, rows: 30 });
    expect(text).not.toContain('\u001b');
    expect(text.split('\n')).toHaveLength(31);
    expect(text).toContain('window 5m');
    const colored = renderOnce(sampleSnapshot(), { columns: 100, rows: 30 }, { color: true });
    expect(colored).toContain('\u001b[');
    expect(colored).not.toContain('\u001b[?'); // no screen modes
    expect(colored).not.toMatch(/\[\d+;\d+H/); // no cursor moves
  });

  it('honors NO_COLOR, --no-color and FORCE_COLOR', () => {
    expect(colorEnabled({ env: {}, isTTY: true })).toBe(true);
    expect(colorEnabled({ env: {}, isTTY: false })).toBe(false);
    expect(colorEnabled({ env: { NO_COLOR: '1' }, isTTY: true })).toBe(false);
    expect(colorEnabled({ env: { NO_COLOR: '' }, isTTY: true })).toBe(true);
    expect(colorEnabled({ env: {}, isTTY: true, noColorFlag: true })).toBe(false);
    expect(colorEnabled({ env: { FORCE_COLOR: '1' }, isTTY: false })).toBe(true);
    expect(colorEnabled({ env: { FORCE_COLOR: '0' }, isTTY: true })).toBe(false);
  });
});
