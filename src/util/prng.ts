/**
 * A seeded pseudo-random number generator, shared by the benchmarks, the sample snapshots and the
 * tests (a leaf module: it imports nothing).
 *
 * @module
 */

/**
 * A deterministic PRNG (mulberry32, 32-bit state): the same seed always gives the same stream of
 * values in [0, 1), on every platform and run. So every method compared in a benchmark sees the
 * same inputs, a sample snapshot is a pure function of its options, and a failing test replays
 * exactly. Fast and small, not for anything that must be unpredictable.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
