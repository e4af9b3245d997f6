/** Shared helpers of the metrics tests: exact quantiles and value generators. */
import fc from 'fast-check';

/** The quantiles every accuracy test checks. */
export const QUANTILES: readonly number[] = [0.5, 0.9, 0.95, 0.99, 0.999];

/** The exact reference: rank floor(q*(n-1)) of the ascending values (the sketch's convention). */
export function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

/** Relative error of `got` against `exact` (0 when both are 0). */
export function relErr(got: number, exact: number): number {
  if (exact === 0) return got === 0 ? 0 : Infinity;
  return Math.abs(got - exact) / Math.abs(exact);
}

/** Standard normal from two uniforms in (0, 1] (Box-Muller). */
function normal(u: number, v: number): number {
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const unit = fc.double({ min: Number.EPSILON, max: 1, noNaN: true });

/** Durations in ns, 1 µs .. 1 s, uniform. */
const uniform = fc.array(fc.double({ min: 1e3, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 3000 });

/** Log-normal durations: median 2 ms, sigma 1.2 (latency-like, long right tail). */
const logNormal = fc
  .array(fc.tuple(unit, unit), { minLength: 1, maxLength: 3000 })
  .map((pairs) => pairs.map(([u, v]) => Math.min(1e12, 2e6 * Math.exp(1.2 * normal(u, v)))));

/** Bimodal: 70% around 150 µs (cache hits), 30% around 80 ms (cold path). */
const bimodal = fc
  .array(fc.tuple(unit, unit, fc.integer({ min: 0, max: 9 })), { minLength: 1, maxLength: 3000 })
  .map((xs) => xs.map(([u, v, k]) => (k < 3 ? 80e6 : 150e3) * Math.exp(0.3 * normal(u, v))));

/** The value generators of the accuracy properties. */
export const distributions = { uniform, 'log-normal': logNormal, bimodal } as const;

/** The benchmarks' deterministic PRNG, shared so tests and benches draw the same streams. */
export { prng } from '../../src/util/prng.js';

/** Log-normal durations from a PRNG: median `medianNs`, shape `sigma`. */
export function logNormalNs(rand: () => number, medianNs: number, sigma: number): number {
  return medianNs * Math.exp(sigma * normal(1 - rand(), rand()));
}
