/**
 * The pure evaluation: each rule kind fires and resolves at the right evaluation, forMs and
 * keepFiringForMs, one alert per fingerprint, series that disappear, the anomaly rule on steady
 * noisy series (fast-check: never fires) and on a step (fires), minSamples.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { prng } from '../../src/util/prng.js';
import type { AlertTransition } from '../../src/contract/alerts.js';
import { compileRule, evaluateRule, newRuleState, type SignalLookup } from '../../src/alerts/evaluate.js';
import { validateRule } from '../../src/alerts/validate.js';
import type { AlertRule } from '../../src/alerts/rule-types.js';
import { fingerprint } from '../../src/alerts/labels.js';
import type { SignalValue } from '../../src/alerts/signals.js';
import { BaselineRing, ringMedian, ringMedianMad, ringSlopePerS } from '../../src/alerts/baseline.js';

const T0 = 1_700_000_000_000;
const STEP = 5000;

/** Runs a rule over a scripted series: values[i] is the signal at evaluation i (null: series absent). */
function run(rule: AlertRule, values: readonly (number | null)[], labels: Record<string, string> = { pool: 'p' }): { transitions: AlertTransition[][]; states: string[] } {
  const compiled = compileRule(validateRule(rule));
  const state = newRuleState(120);
  const transitions: AlertTransition[][] = [];
  const states: string[] = [];
  const frozen = Object.freeze({ ...labels });
  values.forEach((v, i) => {
    const lookup: SignalLookup = () => (v === null ? [] : [{ labels: frozen, value: v }]);
    transitions.push(evaluateRule(compiled, lookup, state, T0 + i * STEP));
    const s = [...state.series.values()][0];
    states.push(s?.state ?? 'gone');
  });
  return { transitions, states };
}

const at = (r: ReturnType<typeof run>, to: string) => r.transitions.map((t, i) => (t.some((x) => x.to === to) ? i : -1)).filter((i) => i >= 0);

describe('threshold', () => {
  const rule: AlertRule = { name: 'High', kind: 'threshold', signal: 'pool.errorRate', op: '>', value: 0.05 };
  it('fires at the first true evaluation with forMs 0 and resolves at the first false one', () => {
    const r = run(rule, [0, 0.1, 0.2, 0.01, 0]);
    expect(at(r, 'firing')).toEqual([1]);
    expect(at(r, 'resolved')).toEqual([3]);
    expect(r.transitions[1]![0]).toMatchObject({ from: 'inactive', to: 'firing', rule: 'High', value: 0.1, labels: { pool: 'p', alertname: 'High', severity: 'warning' } });
  });
  it('waits out forMs in pending, and a dip back resets it', () => {
    const r = run({ ...rule, forMs: 10_000 }, [0.1, 0.1, 0, 0.1, 0.1, 0.1, 0.1]);
    expect(at(r, 'pending')).toEqual([0, 3]);
    expect(at(r, 'inactive')).toEqual([2]);
    expect(at(r, 'firing')).toEqual([5]); // 10 s after evaluation 3
    expect(r.states).toEqual(['pending', 'pending', 'inactive', 'pending', 'pending', 'firing', 'firing']);
  });
  it('keepFiringForMs holds a flapping alert firing, then resolves', () => {
    const r = run({ ...rule, keepFiringForMs: 10_000 }, [0.1, 0, 0.1, 0, 0, 0, 0]);
    expect(at(r, 'firing')).toEqual([0]);
    expect(at(r, 'resolved')).toEqual([4]); // last true at 2, 10 s later
  });
  it('resolves a series that disappears, and forgets it', () => {
    const r = run(rule, [0.1, 0.1, null, null]);
    expect(at(r, 'resolved')).toEqual([2]);
    expect(r.states).toEqual(['firing', 'firing', 'gone', 'gone']);
  });
  it('keeps one alert per fingerprint: two pools, two alerts; the same labels, one', () => {
    const compiled = compileRule(validateRule(rule));
    const state = newRuleState();
    const a = Object.freeze({ pool: 'a' });
    const b = Object.freeze({ pool: 'b' });
    const values: SignalValue[] = [{ labels: a, value: 0.2 }, { labels: b, value: 0.3 }, { labels: { pool: 'a' }, value: 0.2 }];
    const t = evaluateRule(compiled, () => values, state, T0);
    expect(t.filter((x) => x.to === 'firing').map((x) => x.labels.pool)).toEqual(['a', 'b']);
    expect(state.series.size).toBe(2);
    expect(evaluateRule(compiled, () => values, state, T0 + STEP)).toEqual([]);
    expect([...state.series.keys()]).toEqual([fingerprint({ pool: 'a', alertname: 'High', severity: 'warning' }), fingerprint({ severity: 'warning', alertname: 'High', pool: 'b' })]);
    expect(fingerprint({ pool: 'a', alertname: 'High', severity: 'warning' })).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('dynamic', () => {
  it('fires at 3× the baseline median once minSamples exist, and not below minValue', () => {
    const rule: AlertRule = { name: 'Slow', kind: 'dynamic', signal: 'pool.latencyP99Us', op: '>', multiple: 3, minSamples: 5, minValue: 1000 };
    const r = run(rule, [100, 110, 90, 100, 2000, 100, 105, 95, 100, 2000, 100]);
    // Index 4 has only 4 baseline values; index 9 has enough.
    expect(at(r, 'firing')).toEqual([9]);
    expect(at(r, 'resolved')).toEqual([10]);
    const low = run({ ...rule, minValue: 5000 }, [100, 110, 90, 100, 100, 100, 2000]);
    expect(at(low, 'firing')).toEqual([]);
  });
});

describe('rate', () => {
  it('ratio: error rate ×3 within 5 minutes', () => {
    const rule: AlertRule = { name: 'Up3', kind: 'rate', signal: 'pool.errorRate', mode: 'ratio', op: '>=', value: 3, overMs: 60_000, minValue: 0.01 };
    // 12 evaluations (60 s) at 0.01, then 0.04: ×4 compared with 60 s before.
    const r = run(rule, [...Array<number>(12).fill(0.01), 0.04, 0.04, 0.01]);
    expect(at(r, 'firing')).toEqual([12]);
    expect(at(r, 'resolved')).toEqual([14]);
  });
  it('cannot hold before history spans half of overMs', () => {
    const rule: AlertRule = { name: 'Jump', kind: 'rate', signal: 'pool.queueDepth', mode: 'delta', op: '>', value: 10, overMs: 60_000 };
    const r = run(rule, [0, 50, 50, 50, 50, 50, 50, 50]);
    expect(at(r, 'firing')).toEqual([6]); // 30 s after the first point
  });
  it('perSecond: a slope over the window', () => {
    const rule: AlertRule = { name: 'Grow', kind: 'rate', signal: 'node.rssBytes', mode: 'perSecond', op: '>', value: 1000, overMs: 60_000 };
    const growing = Array.from({ length: 20 }, (_, i) => 1e8 + i * STEP * 2); // 2000 bytes/s
    const r = run(rule, [...growing, ...Array<number>(20).fill(1e8 + 19 * STEP * 2)]);
    expect(at(r, 'firing')).toEqual([6]);
    expect(at(r, 'resolved').length).toBe(1);
  });
});

describe('anomaly', () => {
  const rule: AlertRule = { name: 'Odd', kind: 'anomaly', signal: 'pool.latencyP50Us', minSamples: 20 };
  it('fires on a step after minSamples, and never before them', () => {
    const noisy = (i: number) => 1000 + ((i * 7919) % 101) - 50;
    const r = run(rule, [...Array.from({ length: 30 }, (_, i) => noisy(i)), 5000, 5000]);
    expect(at(r, 'firing')).toEqual([30]);
    const early = run(rule, [...Array.from({ length: 10 }, (_, i) => noisy(i)), 5000, 5000, 5000]);
    expect(at(early, 'firing')).toEqual([]);
  });
  it('ewma band fires on a step', () => {
    const r = run({ ...rule, method: 'ewma', minSamples: 10 }, [...Array.from({ length: 30 }, (_, i) => 100 + (i % 5)), 400]);
    expect(at(r, 'firing')).toEqual([30]);
  });

  it('never fires on a steady noisy series (property), and fires on a large step (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.integer({ min: 40, max: 200 }),
        fc.integer(),
        fc.constantFrom('uniform' as const, 'triangular' as const),
        fc.constantFrom('mad' as const, 'ewma' as const),
        (base, relNoise, length, seed, shape, method) => {
          // i.i.d. bounded noise from a seeded generator: steady means the same distribution throughout.
          // (A hand-rolled hash here gave clustered first values for some seeds — a series that is
          // not steady — and the property "failed" on them; the project's mulberry32 is uniform.)
          const u = prng(seed);
          const n = () => (shape === 'uniform' ? 2 * u() - 1 : u() - u());
          const series = Array.from({ length }, () => base + base * relNoise * n());
          const r = run({ ...rule, method, direction: 'both' }, series);
          expect(at(r, 'firing')).toEqual([]);
          // A step of 20 noise amplitudes plus 1% of the level fires at once.
          const s = run({ ...rule, method }, [...series, base + base * relNoise * 20 + base * 0.01]);
          expect(at(s, 'firing')).toEqual([length]);
        },
      ),
      { numRuns: Number(process.env.PROP_RUNS ?? 400) },
    );
  });
});

describe('composite', () => {
  it('all: holds when both conditions hold for the same pool; any: either', () => {
    const allRule = compileRule(validateRule({ name: 'Both', kind: 'composite', op: 'all', conditions: [{ kind: 'threshold', signal: 'pool.errorRate', op: '>', value: 0.1 }, { kind: 'threshold', signal: 'pool.throughputPerS', op: '>', value: 10 }] }));
    const anyRule = compileRule(validateRule({ name: 'Either', kind: 'composite', op: 'any', conditions: allRule.rule.kind === 'composite' ? allRule.rule.conditions : [] }));
    const a = Object.freeze({ pool: 'a' });
    const b = Object.freeze({ pool: 'b' });
    const lookup: SignalLookup = (signal) =>
      signal === 'pool.errorRate' ? [{ labels: a, value: 0.5 }, { labels: b, value: 0.5 }] : [{ labels: a, value: 100 }, { labels: b, value: 1 }];
    const all = evaluateRule(allRule, lookup, newRuleState(), T0);
    expect(all.map((t) => `${t.labels.pool}:${t.to}`)).toEqual(['a:firing']);
    const any = evaluateRule(anyRule, lookup, newRuleState(), T0);
    expect(any.map((t) => `${t.labels.pool}:${t.to}`)).toEqual(['a:firing', 'b:firing']);
  });
  it('joins a pool-level condition onto worker series', () => {
    const rule = compileRule(validateRule({ name: 'Fat', kind: 'composite', op: 'all', conditions: [{ kind: 'threshold', signal: 'python.rssBytes', op: '>', value: 100 }, { kind: 'threshold', signal: 'pool.errorRate', op: '>', value: 0.1 }] }));
    const w1 = Object.freeze({ pool: 'a', workerId: '0', pid: '10' });
    const w2 = Object.freeze({ pool: 'a', workerId: '1', pid: '11' });
    const lookup: SignalLookup = (signal) => (signal === 'python.rssBytes' ? [{ labels: w1, value: 500 }, { labels: w2, value: 50 }] : [{ labels: Object.freeze({ pool: 'a' }), value: 0.5 }]);
    const t = evaluateRule(rule, lookup, newRuleState(), T0);
    expect(t.map((x) => `${x.labels.workerId}:${x.to}:${x.value}`)).toEqual(['0:firing:500']);
  });
});

describe('baseline ring', () => {
  it('is bounded, and its median / MAD / slope match a direct computation', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 3, max: 64 }), (xs, cap) => {
        const r = new BaselineRing(cap);
        xs.forEach((x, i) => r.push(i * 1000, x, 0.1));
        const kept = xs.slice(-cap);
        expect(r.count).toBe(kept.length);
        const sorted = [...kept].sort((p, q) => p - q);
        const n = sorted.length;
        const med = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
        expect(ringMedian(r)).toBeCloseTo(med, 6);
        const dev = kept.map((x) => Math.abs(x - med)).sort((p, q) => p - q);
        const mad = n % 2 ? dev[(n - 1) / 2]! : (dev[n / 2 - 1]! + dev[n / 2]!) / 2;
        expect(ringMedianMad(r, { median: 0, mad: 0 }).mad).toBeCloseTo(mad, 6);
      }),
    );
    const r = new BaselineRing(10);
    for (let i = 0; i < 10; i++) r.push(i * 1000, 5 * i, 0.1);
    expect(ringSlopePerS(r, 0, 10_000, 50, 1000)).toBeCloseTo(5, 9); // 5 per second
  });
});
