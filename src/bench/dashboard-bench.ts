/**
 * `dspex bench dashboard`: what drawing the terminal dashboard costs.
 *
 * Full-frame render time ({@link renderFrame}, colors on: the heaviest path) for a 64-worker pool
 * at 200×60 and 80×24, against two baselines measured in the same run, interleaved render by
 * render: the same frame for a 4-worker pool, and a plain join of as many pre-built lines as the
 * frame has (the floor of producing any frame at all). Snapshots rotate over 8 seeds so the
 * renderer never sees the same input twice in a row. Target: ≤ 5 ms per full 64-worker frame (p99).
 *
 * @module
 */
import { renderFrame, type TerminalSize } from '../dashboard/frame.js';
import { sampleSnapshot } from '../dashboard/sample.js';
import { initialViewState } from '../dashboard/view-state.js';
import type { MonitoringSnapshot } from '../contract/snapshot.js';
import { summarizeSamples, type BenchOptions, type BenchReport, type BenchRow } from './report.js';
import { allocPerCall } from './measure.js';

interface Case {
  name: string;
  run: (i: number) => number;
}

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const iterations = opts.quick ? 300 : 3000;
  const warmup = opts.quick ? 50 : 300;
  const seeds = 8;
  const snaps = (workers: number): MonitoringSnapshot[] => Array.from({ length: seeds }, (_, s) => sampleSnapshot({ workers, window: '5m', seed: s + 1 }));
  const big = snaps(64);
  const small = snaps(4);
  const view = initialViewState({ window: '5m', sort: 'p99' });
  const large: TerminalSize = { columns: 200, rows: 60 };
  const min: TerminalSize = { columns: 80, rows: 24 };
  const joinLines = Array.from({ length: large.rows }, (_, i) => `${String(i).padStart(3)} ${'x'.repeat(large.columns - 4)}`);

  const frame = (s: MonitoringSnapshot[], size: TerminalSize) => (i: number): number => renderFrame(s[i % seeds] as MonitoringSnapshot, view, size, true).join('\n').length;
  const cases: Case[] = [
    { name: 'frame 64 workers 200x60', run: frame(big, large) },
    { name: 'frame 64 workers 80x24', run: frame(big, min) },
    { name: 'baseline: frame 4 workers 200x60', run: frame(small, large) },
    { name: 'baseline: join 60 prebuilt lines', run: () => joinLines.join('\n').length },
  ];
  const samples = cases.map(() => [] as number[]);
  const bytes = cases.map(() => 0);
  let sink = 0;
  for (let i = 0; i < warmup; i++) for (const c of cases) sink += c.run(i);
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < iterations; i++) {
    // Rotate the order each round so no case always runs first (interleaved comparison).
    for (let k = 0; k < cases.length; k++) {
      const idx = (i + k) % cases.length;
      const c = cases[idx] as Case;
      const t0 = performance.now();
      const n = c.run(i);
      const dt = performance.now() - t0;
      (samples[idx] as number[]).push(dt);
      bytes[idx] = n;
      sink += n;
    }
    if (i % 100 === 99) await new Promise((r) => setImmediate(r));
  }
  const heapAfter = process.memoryUsage().heapUsed;
  // Heap per full 64-worker 200x60 frame (the headline), seeds rotating as in the timed loop.
  let fi = 0;
  const frameAlloc = allocPerCall(() => (sink += cases[0]!.run(fi++)), opts.quick ? 10 : 30, 10);

  const stats = samples.map(summarizeSamples);
  const rows: BenchRow[] = cases.map((c, i) => ({
    case: c.name,
    'renders/s': 1000 / (stats[i]?.mean || Infinity),
    'p50 ms': stats[i]?.p50 ?? 0,
    'p99 ms': stats[i]?.p99 ?? 0,
    'frame bytes': bytes[i] ?? 0,
  }));
  const s = (i: number) => stats[i] ?? { p50: 0, p99: 0, mean: 0 };
  const p99Big = s(0).p99;
  const p99Min = s(1).p99;
  return {
    name: 'dashboard',
    rows,
    headline: { case: 'one full frame, 64 workers, 200x60, colors', opsPerS: 1000 / (s(0).mean || Infinity), p50Us: s(0).p50 * 1000, p99Us: p99Big * 1000, heapBytesPerOp: frameAlloc.perCall },
    ratios: {
      frame64_vs_frame4_200x60_p50: s(0).p50 / (s(2).p50 || Infinity),
      frame64_200x60_vs_join_p50: s(0).p50 / (s(3).p50 || Infinity),
      frame64_80x24_vs_frame4_200x60_p50: s(1).p50 / (s(2).p50 || Infinity),
    },
    targets: {
      'frame 64 workers 200x60, p99 ms': { target: '<= 5', value: p99Big, pass: p99Big <= 5 },
      'frame 64 workers 80x24, p99 ms': { target: '<= 5', value: p99Min, pass: p99Min <= 5 },
    },
    extra: { iterations, warmup, seeds, heapGrowthBytes: heapAfter - heapBefore, frameAlloc, sink },
  };
}
