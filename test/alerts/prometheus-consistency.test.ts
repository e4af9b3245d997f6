/**
 * prometheus/dspex-alerts.yml and defaultAlertRules() agree: every default rule with a yml
 * counterpart has the same name, severity, `for`, window and threshold (converted to the exported
 * family's unit); the rules only one side has are exactly the ones the yml's header lists. The yml
 * is read with a small line parser for the subset it uses (no YAML package); promtool itself
 * checks its syntax (test/exporters/promtool.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultAlertRules, type AlertRule } from '../../src/alerts/index.js';

const YML = new URL('../../prometheus/dspex-alerts.yml', import.meta.url);

interface YmlRule {
  alert: string;
  expr: string;
  forMs: number;
  severity: string | null;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

function durationMs(text: string): number {
  const m = /^(\d+)([smh])$/.exec(text.trim());
  if (m === null) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** The alerting rules of the file: `- alert:` blocks with their `expr: |` block, `for:` and `severity:`. */
function parseRules(text: string): YmlRule[] {
  const lines = text.split('\n');
  const out: YmlRule[] = [];
  let cur: YmlRule | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const alert = /^\s*- alert:\s*(\S+)\s*$/.exec(line);
    if (alert !== null) {
      cur = { alert: alert[1]!, expr: '', forMs: 0, severity: null };
      out.push(cur);
      continue;
    }
    if (/^\s*- name:/.test(line)) cur = null;
    if (cur === null) continue;
    const expr = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (expr !== null) {
      if (expr[2] !== '|') cur.expr = expr[2]!;
      else {
        const indent = expr[1]!.length;
        const body: string[] = [];
        while (i + 1 < lines.length && (lines[i + 1]!.trim() === '' || lines[i + 1]!.search(/\S/) > indent)) body.push(lines[++i]!.trim());
        cur.expr = body.join('\n').trim();
      }
      continue;
    }
    const f = /^\s*for:\s*(\S+)\s*$/.exec(line);
    if (f !== null) cur.forMs = durationMs(f[1]!);
    const sev = /^\s*severity:\s*(\S+)\s*$/.exec(line);
    if (sev !== null) cur.severity = sev[1]!;
  }
  return out;
}

/** The names the header lists under a heading (`#   - Name: why`), up to the next heading. */
function listed(text: string, heading: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`# ${heading}`));
  if (start < 0) throw new Error(`heading not found: ${heading}`);
  const names: string[] = [];
  for (const l of lines.slice(start + 1)) {
    const m = /^#\s+- (\w+):/.exec(l);
    if (m === null) break;
    names.push(m[1]!);
  }
  return names;
}

/** The threshold of an expression: its last comparison with a number, ignoring an `and` guard clause. */
function threshold(expr: string): { op: string; value: number } {
  const main = expr.split(/\n\s*and\s/)[0]!;
  const all = [...main.matchAll(/(>=|<=|==|!=|>|<)\s*(-?\d[\d.e+]*)/g)];
  const last = all.at(-1);
  if (last === undefined) throw new Error(`no threshold in ${expr}`);
  return { op: last[1]!, value: Number(last[2]) };
}

type Cond = { op: string; value: number };
const same = (c: Cond): Cond => c;
const scale =
  (k: number) =>
  (c: Cond): Cond => ({ op: c.op, value: c.value * k });

/**
 * Every rule both sides have, with how the default's threshold reads over the exported family
 * (units: seconds where the signal is in µs or ms; the crash loop counts crashes in its window).
 */
const SHARED: Record<string, (c: Cond) => Cond> = {
  DspexHighErrorRate: same,
  DspexVeryHighErrorRate: same,
  DspexHighP99Latency: scale(1e-6),
  DspexQueueSaturation: same,
  DspexWorkerCrashLoop: scale(5), // per minute over 5m → crashes in 5m
  DspexWorkerCrashed: same,
  DspexPoolDown: (c) => (c.op === '<' && c.value === 1 ? { op: '==', value: 0 } : c), // pool.up is 0 or 1
  DspexNodeHeapNearLimit: same,
  DspexEventLoopDelayHigh: scale(1e-3),
  DspexNodeRssGrowing: same,
  DspexPythonWorkerRssHigh: same,
  DspexPythonRssLeakSuspect: same,
  DspexPythonFdsHigh: same,
  DspexOrphanProcess: same,
};

const WINDOW_MS: Record<string, number> = { '1m': 60_000, '5m': 300_000, '15m': 900_000 };

function condOf(r: AlertRule): Cond & { rangeMs: number | null } {
  if (r.kind === 'threshold' || r.kind === 'rate') {
    const rangeMs = r.kind === 'rate' ? (r.overMs ?? null) : r.window === undefined ? null : WINDOW_MS[r.window]!;
    // A non-windowed signal's rule carries no window that a range could be compared with.
    return { op: r.op, value: r.value, rangeMs: r.kind === 'threshold' && !r.signal.startsWith('pool.') ? null : rangeMs };
  }
  throw new Error(`${r.name}: a ${r.kind} rule has no Prometheus counterpart in this table`);
}

describe('prometheus/dspex-alerts.yml and defaultAlertRules()', () => {
  const text = readFileSync(YML, 'utf8');
  const yml = parseRules(text);
  const defaults = defaultAlertRules();
  const byName = new Map(yml.map((r) => [r.alert, r]));

  it('the parser reads every rule of the file', () => {
    expect(yml.length).toBe((text.match(/^\s*- alert:/gm) ?? []).length);
    expect(yml.length).toBeGreaterThanOrEqual(17);
    for (const r of yml) {
      expect(r.expr, r.alert).not.toBe('');
      expect(r.severity, r.alert).toMatch(/^(info|warning|critical)$/);
    }
    expect(byName.get('DspexWorkerCrashLoop')!.expr).toBe('sum by (pool) (increase(dspex_pool_worker_crashes_total[5m])) >= 3');
    expect(byName.get('DspexHighP99Latency')!.forMs).toBe(300_000);
  });

  it('the shared rules are exactly the rules both sides have; the rest is what the header lists', () => {
    const defaultNames = defaults.map((r) => r.name);
    const ymlNames = yml.map((r) => r.alert);
    const both = defaultNames.filter((n) => ymlNames.includes(n));
    expect(both.sort()).toEqual(Object.keys(SHARED).sort());
    expect(defaultNames.filter((n) => !ymlNames.includes(n)).sort()).toEqual(listed(text, 'Only in defaultAlertRules()').sort());
    expect(ymlNames.filter((n) => !defaultNames.includes(n)).sort()).toEqual(listed(text, 'Only here').sort());
    expect(new Set(ymlNames).size).toBe(ymlNames.length);
  });

  it('every shared rule has the same severity, for, window and threshold', () => {
    for (const d of defaults) {
      const toYml = SHARED[d.name];
      const y = byName.get(d.name);
      if (toYml === undefined || y === undefined) continue;
      expect(y.severity, d.name).toBe(d.severity ?? 'warning');
      expect(y.forMs, d.name).toBe(d.forMs ?? 0);
      const c = condOf(d);
      const want = toYml(c);
      const got = threshold(y.expr);
      expect(got.op, d.name).toBe(want.op);
      expect(got.value, `${d.name}: ${y.expr}`).toBeCloseTo(want.value, 9);
      const ranges = [...y.expr.matchAll(/\[(\d+[smh])\]/g)].map((m) => durationMs(m[1]!));
      if (c.rangeMs !== null) {
        expect(ranges.length, `${d.name} has a range`).toBeGreaterThan(0);
        for (const r of ranges) expect(r, d.name).toBe(c.rangeMs);
      }
    }
  });

  it('the crash loop agrees: 3 crashes in 5 minutes on both sides', () => {
    const d = defaults.find((r) => r.name === 'DspexWorkerCrashLoop')!;
    expect(d).toMatchObject({ kind: 'threshold', signal: 'pool.workerCrashesPerMin', window: '5m', op: '>=', value: 0.6 });
    expect(threshold(byName.get('DspexWorkerCrashLoop')!.expr)).toEqual({ op: '>=', value: 3 });
  });
});
