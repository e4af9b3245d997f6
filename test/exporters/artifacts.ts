/** The files users import (Grafana dashboard, alerting rules) and the PromQL inside them. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FAMILIES } from '../../src/exporters/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RULES = `${ROOT}prometheus/dspex-alerts.yml`;
export const RULE_TESTS = `${ROOT}test/exporters/fixtures/dspex-alerts.test.yml`;
export const DASHBOARD = `${ROOT}grafana/dspex-pool-dashboard.json`;

/** dspex family names a PromQL expression refers to (histogram series mapped to their family). */
export function familiesInExpr(expr: string): string[] {
  const out = new Set<string>();
  for (const m of expr.matchAll(/\bdspex_[a-z0-9_]+/g)) {
    let name = m[0];
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && FAMILIES[base as keyof typeof FAMILIES]?.type === 'histogram') name = base;
    }
    out.add(name);
  }
  return [...out];
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; datasource?: { type: string; uid: string } }[];
}

/** Every PromQL expression of the dashboard and of the alerting rules. */
export function dashboardExprs(): { title: string; expr: string }[] {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
}

/** The `expr` of every rule in the rules file (block scalars). */
export function ruleExprs(): { alert: string; expr: string }[] {
  const lines = readFileSync(RULES, 'utf8').split('\n');
  const out: { alert: string; expr: string }[] = [];
  let alert = '';
  for (let i = 0; i < lines.length; i++) {
    const a = /^\s*- alert: (\S+)/.exec(lines[i]!);
    if (a) alert = a[1]!;
    if (/^\s*expr: \|\s*$/.test(lines[i]!)) {
      const body: string[] = [];
      const indent = /^(\s*)/.exec(lines[i + 1] ?? '')![1]!.length;
      while (i + 1 < lines.length && (lines[i + 1]!.trim() === '' || /^(\s*)/.exec(lines[i + 1]!)![1]!.length >= indent)) {
        if (lines[i + 1]!.trim() === '') break;
        body.push(lines[++i]!.trim());
      }
      out.push({ alert, expr: body.join(' ') });
    }
  }
  return out;
}
