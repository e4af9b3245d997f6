/**
 * The signal table and the default-rule table of docs/MONITORING_GUIDE.md ("Alerts") are
 * generated from the code (ALERT_SIGNALS, defaultAlertRules()), between markers; this test fails when
 * they drift. Regenerate: `DSPEX_UPDATE_DOCS=1 npx vitest run test/alerts/docs-tables.test.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALERT_SIGNALS as SIGNALS, defaultAlertRules, type AlertRule, type AlertSignalName as SignalName } from '../../src/index.js';

const GUIDE = fileURLToPath(new URL('../../docs/MONITORING_GUIDE.md', import.meta.url));

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** The signal table, one row per signal in SIGNALS order. Pure. */
export function signalTable(): string {
  const rows = (Object.keys(SIGNALS) as SignalName[]).map((name) => {
    const d = SIGNALS[name];
    const labels = d.labels.length === 0 ? '—' : d.labels.map((l) => `\`${l}\``).join(', ');
    return `| \`${name}\` | ${d.unit} | ${labels} | ${d.windowed ? 'yes' : 'no'} | ${cell(d.description)} |`;
  });
  return ['| signal | unit | labels | windowed | meaning |', '|---|---|---|---|---|', ...rows, ''].join('\n');
}

function duration(ms: number): string {
  if (ms === 0) return '0';
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

function condition(r: AlertRule): string {
  if (r.kind === 'threshold') return `${r.op} ${r.value}${SIGNALS[r.signal].windowed ? ` over ${r.window ?? '1m'}` : ''}`;
  if (r.kind === 'rate') return `${r.mode} ${r.op} ${r.value} over ${duration(r.overMs ?? 300_000)}`;
  return r.kind;
}

/** The default-rule table, one row per rule of defaultAlertRules(). Pure. */
export function defaultRuleTable(): string {
  const rows = defaultAlertRules().map((r) => {
    const signal = r.kind === 'composite' ? '—' : `\`${r.signal}\``;
    return `| \`${r.name}\` | ${signal} | ${condition(r)} | ${duration(r.forMs ?? 0)} | ${r.severity ?? 'warning'} |`;
  });
  return ['| alert | signal | condition (default threshold) | for | severity |', '|---|---|---|---|---|', ...rows, ''].join('\n');
}

function between(text: string, marker: string): string | null {
  const m = new RegExp(`<!-- ${marker}:start -->\\n([\\s\\S]*?)<!-- ${marker}:end -->`).exec(text);
  return m ? m[1]! : null;
}

const tables = { 'alert-signals': signalTable, 'alert-default-rules': defaultRuleTable };

if (process.env['DSPEX_UPDATE_DOCS'] === '1') {
  let text = readFileSync(GUIDE, 'utf8');
  for (const [marker, make] of Object.entries(tables)) text = text.replace(new RegExp(`(<!-- ${marker}:start -->\\n)[\\s\\S]*?(<!-- ${marker}:end -->)`), (_m, a: string, b: string) => `${a}${make()}${b}`);
  writeFileSync(GUIDE, text);
}

describe('the alert tables of docs/MONITORING_GUIDE.md', () => {
  const guide = readFileSync(GUIDE, 'utf8');

  it('the signal table is the one generated from ALERT_SIGNALS', () => {
    const t = signalTable();
    expect(t.split('\n').length).toBe(Object.keys(SIGNALS).length + 3);
    expect(t).toContain('| `pool.errorRate` | ratio | `pool` | yes |');
    expect(between(guide, 'alert-signals'), 'markers alert-signals:start/end').toBe(t);
  });

  it('the default-rule table is the one generated from defaultAlertRules()', () => {
    const t = defaultRuleTable();
    expect(t).toContain('| `DspexHighErrorRate` | `pool.errorRate` | > 0.05 over 5m | 2m | warning |');
    expect(between(guide, 'alert-default-rules'), 'markers alert-default-rules:start/end').toBe(t);
  });
});
