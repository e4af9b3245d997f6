/**
 * The pure modules of the web dashboard (src/dashboard/web/*.js, plain browser ESM) under Node:
 * the bounded history, worker rows and sorting, the SSE parser and the formatters.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain browser JavaScript without declarations (checked by tsconfig.web.json)
import * as series from '../../src/dashboard/web/series.js';
// @ts-expect-error likewise
import * as sse from '../../src/dashboard/web/sse.js';
// @ts-expect-error likewise
import * as fmt from '../../src/dashboard/web/format.js';

/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access */

const point = (sec: number, ops = 10, extra: Record<string, unknown> = {}) => ({
  timestampMs: sec * 1000, ops, errors: 1, throughputPerS: ops, errorRate: 0.1, latencyP50Us: 100, latencyP90Us: 200, latencyP99Us: 300, queueDepth: 2, utilization: 0.5, errorsByCategory: { python: 1 }, ...extra,
});

describe('web dashboard history', () => {
  it('appends, overwrites a second it holds, skips older seconds, and keeps only the window', () => {
    const h = series.emptyHistory();
    for (let t = 1000; t < 1000 + 3600; t++) series.mergePoints(h, [point(t)], 60);
    expect(h.x.length).toBe(61); // an hour of ticks: bounded by the window
    expect(h.x[0]).toBe(1000 + 3600 - 1 - 60);
    series.mergePoints(h, [point(4599, 42)], 60);
    expect(h.throughput.at(-1)).toBe(42);
    expect(h.x.length).toBe(61);
    series.mergePoints(h, [point(10, 5)], 60); // older than held: skipped
    expect(h.x[0]).toBe(4539);
    expect(h.byCategory[series.ERROR_CATEGORIES.indexOf('python')].at(-1)).toBeCloseTo(1 / 42);
    series.mergePoints(h, [point(4600, 0)], 60);
    expect([h.p50.at(-1), h.p99.at(-1)]).toEqual([null, null]); // no operation: a gap, not zero
    expect(series.categoriesSeen(h)[series.ERROR_CATEGORIES.indexOf('python')]).toBe(true);
  });

  it('joins status, metrics and resources into worker rows and sorts them with nulls last', () => {
    const pool = {
      status: { workers: [
        { id: 0, pid: 30, state: 'busy', operations: 5, errors: 1, generation: 2 },
        { id: 1, pid: 10, state: 'idle', operations: 9, errors: 0, generation: 0, abandoned: true },
        { id: 2, pid: 0, state: 'starting', operations: 0, errors: 0, generation: 1 },
      ] },
      workers: [{ workerId: 0, latencyUs: { count: 3, p99: 1234 } }, { workerId: 1, latencyUs: { count: 0, p99: 0 } }],
    };
    const rows = series.workerRows(pool, { python: [{ pid: 30, rssBytes: 1e6, cpuPercent: 12 }, { pid: 10, rssBytes: 2e6, cpuPercent: null }] });
    expect(rows.map((r: { p99Us: number | null; rssBytes: number | null; cpuPercent: number | null; restarts: number; state: string }) => [r.p99Us, r.rssBytes, r.cpuPercent, r.restarts, r.state])).toEqual([
      [1234, 1e6, 12, 2, 'busy'],
      [null, 2e6, null, 0, 'idle (abandoned)'],
      [null, null, null, 1, 'starting'],
    ]);
    expect(series.sortRows(rows, 'pid', 'ascending').map((r: { id: number }) => r.id)).toEqual([2, 1, 0]);
    expect(series.sortRows(rows, 'p99Us', 'descending').map((r: { id: number }) => r.id)).toEqual([0, 1, 2]);
    expect(series.workerRows(null, null)).toEqual([]);
  });
});

describe('web dashboard SSE parser', () => {
  it('assembles events across chunks, CRLF and comments included', () => {
    const p = new sse.SseParser();
    expect(p.feed('retry: 1000\n\n: hi\nevent: snap')).toEqual([]);
    expect(p.feed('shot\r\nid: 7\ndata: {"a":\ndata: 1}\n')).toEqual([]);
    expect(p.feed('\nevent: snapshot\ndata: x\n\n')).toEqual([
      { event: 'snapshot', data: '{"a":\n1}', id: '7' },
      { event: 'snapshot', data: 'x', id: '7' },
    ]);
    expect(p.retryMs).toBe(1000);
  });
});

describe('web dashboard formatters', () => {
  it('chooses units', () => {
    expect([fmt.formatUs(850), fmt.formatUs(12_340), fmt.formatUs(1_500_000)]).toEqual(['850 µs', '12.3 ms', '1.50 s']);
    expect([fmt.formatPercent(0), fmt.formatPercent(0.1234), fmt.formatPercent(0.00001)]).toEqual(['0%', '12.3%', '<0.01%']);
    expect([fmt.formatBytes(512), fmt.formatBytes(1536), fmt.formatBytes(230 * 1024 ** 2)]).toEqual(['512 B', '1.5 KiB', '230 MiB']);
    expect([fmt.formatAge(45_000), fmt.formatAge(3 * 60_000), fmt.formatAge(125 * 60_000)]).toEqual(['45 s', '3 min', '2 h 5 min']);
  });
});
